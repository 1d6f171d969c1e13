//! msnd: an MSN Messenger server for protocol versions MSNP2 to MSNP8.
//!
//! - [`protocol`]: the protocol as data (commands, replies, per-version [`protocol::Dialect`]).
//! - [`codec`]: bytes to frames and back, with size limits.
//! - [`conn`]: one connection's loop; [`admission`]: connection caps; [`server`]: listeners,
//!   shutdown.
//! - [`ns`]: the dispatch and notification servers; [`sb`]: the switchboard (chats).
//! - [`passport`]: the Passport 1.4 HTTPS service that issues MSNP8 login tickets.
//! - [`presence`]: who is online; [`mailbox`]: each connection's queue of events.
//! - [`store`]: SQLite through sqlx; [`credentials`]: what is stored instead of passwords.
//! - [`config`]: TOML with embedded defaults; [`cli`]: the `msnd` command line;
//!   [`import`]: bulk account creation (`msnd user import`).
#![forbid(unsafe_code)]

pub mod admission;
pub mod chats;
pub mod cli;
pub mod codec;
pub mod config;
pub mod conn;
pub mod credentials;
pub mod import;
pub mod mailbox;
pub mod ns;
pub mod passport;
pub mod presence;
pub mod protocol;
pub mod sb;
pub mod server;
pub mod store;
pub mod throttle;
pub mod tickets;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::server::Server;
use crate::store::Store;

/// Raises the open-files limit, opens the database, binds every listener and serves until
/// `shutdown` is cancelled.
pub async fn serve(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    server::raise_open_files_limit();
    let url = &config.database_url;
    let store = Store::open(url).await.with_context(|| format!("cannot open database {url}"))?;
    let server = Server::bind(config, store).await?;
    server.run(shutdown).await;
    Ok(())
}
