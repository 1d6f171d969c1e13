//! msnd: an MSN Messenger server for protocol versions MSNP2 to MSNP9.
//!
//! The modules in floors, each using only those on its floor or below (`tests/floors.rs`
//! checks it, and that there is no import cycle):
//!
//! 1. [`protocol`]: the protocol as data, std and bytes only: commands and their vocabulary,
//!    how each version differs ([`protocol::Dialect`]), error codes, the typed ids and view
//!    types ([`protocol::view`]) the store fills, and [`protocol::render`], where every
//!    server line is built.
//! 2. [`codec`]: bytes to frames and back, with size limits; [`config`]: TOML with embedded
//!    defaults; [`credentials`]: what is stored instead of passwords; [`mailbox`]: a
//!    connection's queue of events and the handle others reach it by; [`throttle`]:
//!    counting per address or account; [`admission`]: connection caps and the maintenance
//!    flag; [`metrics`]: what the server counts, for Prometheus.
//! 3. [`conn`]: one connection's loop (deadlines, rate, shutdown), for any [`conn::Service`].
//! 4. The registries and the database: [`store`] (SQLite through sqlx, by what it stores),
//!    [`presence`] (who is online, and the one in-memory owner of their lists: who watches
//!    whom, who may see whom), [`chats`] (switchboard sessions and cookies), [`tickets`]
//!    (Passport tickets).
//! 5. [`accounts`]: what the operator does to an account, in the database and on its live
//!    sessions at once.
//! 6. The services, each with a context of its own: [`ns`] (dispatch and notification
//!    servers), [`sb`] (the switchboard), [`passport`] (Passport 1.4 and the RST login over
//!    HTTP(S)), [`web`] (the sign-up and account pages, and the operator's admin interface).
//! 7. [`server`]: binds the listeners, builds each service's context, admits connections,
//!    shuts down.
//! 8. [`cli`] and `main`: the `msnd` command line; [`import`]: `msnd user import`.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod admission;
pub mod chats;
pub mod cli;
pub mod codec;
pub mod config;
pub mod conn;
pub mod credentials;
pub mod import;
pub mod mailbox;
pub mod metrics;
pub mod ns;
pub mod passport;
pub mod presence;
pub mod protocol;
pub mod sb;
pub mod server;
pub mod store;
pub mod throttle;
pub mod tickets;
pub mod web;

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
