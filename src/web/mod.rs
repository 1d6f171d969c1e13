//! The two HTTP services besides Passport (whose hand-written HTTP is for the old clients):
//! the public pages people use from a browser ([`pages`]: sign-up and their account) and
//! the operator's interface ([`admin`]: the admin page, the API `msnd admin` uses,
//! `/metrics` and `/healthz`), served by axum. Pages are plain HTML forms: they work
//! without JavaScript, and every form is protected against cross-site requests
//! ([`forms`]) and rate-limited per address.

pub mod admin;
mod forms;
mod layout;
mod listener;
pub mod pages;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::http::HeaderMap;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::accounts::Accounts;
use crate::admission::Closing;
use crate::config::Config;
use crate::credentials::random_token;
use crate::metrics::Metrics;
use crate::throttle::Throttle;
pub use listener::Remote;

/// What both HTTP services work with: built once by the server.
pub struct Context {
    pub config: Config,
    pub accounts: Accounts,
    pub metrics: Arc<Metrics>,
    /// Begun by a maintenance shutdown: logins are refused from then on.
    pub closing: Closing,
    /// Cancelled to stop the whole server (at the end of a maintenance shutdown).
    pub stop: CancellationToken,
    /// The admin credential, as read from (or first written to) its file.
    pub token: String,
    /// Form submissions per address (sign-up, account changes) and, apart, admin page
    /// log-ins: a flood of the one must not lock the operator out of the other.
    pub forms: Throttle<IpAddr>,
    pub admin_logins: Throttle<IpAddr>,
    /// Argon2 checks and hashes for the pages, a few at a time (each holds ~19 MiB).
    pub hashing: Semaphore,
    /// Checked for an unknown account, so that it costs what a wrong password does.
    pub stand_in_hash: String,
    pub admin_sessions: admin::Sessions,
    /// Numbers the operator's notices, so clients tell one from the next.
    pub notices: AtomicU32,
    pub started: SystemTime,
    /// Where the public pages are reached, for links to them.
    pub web_url: String,
}

/// What the HTTP services share with the rest of the server.
pub struct Shared {
    pub accounts: Accounts,
    pub metrics: Arc<Metrics>,
    pub closing: Closing,
    pub token: String,
    pub web_url: String,
}

impl Context {
    pub fn new(config: Config, shared: Shared) -> Context {
        let Shared { accounts, metrics, closing, token, web_url } = shared;
        let window = Duration::from_secs(config.web.form_window_secs);
        Context {
            forms: Throttle::new(config.web.forms_per_ip, window),
            admin_logins: Throttle::new(config.web.forms_per_ip, window),
            hashing: Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
            stand_in_hash: crate::credentials::passport_hash(&random_token()),
            web_url,
            admin_sessions: admin::Sessions::default(),
            notices: AtomicU32::new(1),
            started: SystemTime::now(),
            stop: CancellationToken::new(),
            closing,
            config,
            accounts,
            metrics,
            token,
        }
    }

    /// The address a request counts against: its connection's or, from one of
    /// `web.trusted_proxies`, the last one in its `X-Forwarded-For`.
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let ip = peer.ip().to_canonical();
        if !self.config.web.trusted_proxies.contains(&ip) {
            return ip;
        }
        let forwarded = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
        let last = forwarded.flat_map(|v| v.split(',')).last();
        last.and_then(|a| a.trim().parse::<IpAddr>().ok()).map_or(ip, |a| a.to_canonical())
    }
}

/// Serves `router` on `listener` until `stop` is cancelled, within `web.max_connections`
/// and `web.connection_secs`; `service` names it in the log and the metrics.
pub async fn serve(listener: TcpListener, router: axum::Router, ctx: &Context, service: &'static str) {
    let web = &ctx.config.web;
    let lifetime = Duration::from_secs(web.connection_secs);
    let capped = listener::Capped::new(listener, web.max_connections, lifetime, ctx.metrics.clone(), service);
    let app = router.into_make_service_with_connect_info::<Remote>();
    if let Err(e) = axum::serve(capped, app).with_graceful_shutdown(ctx.stop.clone().cancelled_owned()).await
    {
        warn!(error = %e, service, "HTTP service failed");
    }
}

/// The admin token in `file`: read, or created with a random one (mode 0600) if the file
/// does not exist. A token file others may read is named in the log.
pub fn admin_token(file: &Path) -> std::io::Result<String> {
    match std::fs::read_to_string(file) {
        Ok(text) => {
            warn_if_readable_by_others(file);
            let token = text.trim().to_owned();
            if token.len() < 16 {
                let why = format!("{}: an admin token must be at least 16 characters", file.display());
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, why));
            }
            Ok(token)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let token = random_token();
            write_private(file, &token)?;
            info!(file = %file.display(), "admin token created");
            Ok(token)
        }
        Err(e) => Err(std::io::Error::new(e.kind(), format!("cannot read {}: {e}", file.display()))),
    }
}

fn write_private(file: &Path, token: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options
        .open(file)
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot create {}: {e}", file.display())))?;
    writeln!(out, "{token}")
}

#[cfg(unix)]
fn warn_if_readable_by_others(file: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(file) {
        if meta.permissions().mode() & 0o077 != 0 {
            warn!(file = %file.display(), "the admin token file can be read by other users: chmod 600 it");
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &Path) {}

/// Seconds since the Unix epoch.
fn unix_secs(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
