//! Listeners, connection limits and shutdown. Each accepted socket becomes one task that
//! runs [`conn::run`] with the service its port belongs to.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, info_span, warn, Instrument};

use crate::config::Config;
use crate::conn::{self, Signals};
use crate::mailbox::mailbox;
use crate::ns::{Ns, Role};
use crate::passport;
use crate::presence::{Presence, SessionHandle};
use crate::sb::sessions::Switchboards;
use crate::sb::Sb;
use crate::store::Store;
use crate::throttle::LoginThrottle;

/// State every session shares.
#[derive(Debug)]
pub struct Shared {
    pub config: Config,
    pub store: Store,
    pub presence: Presence,
    pub switchboards: Switchboards,
    /// The Passport service, and the tickets it issues for `USR TWN`.
    pub passport: passport::Service,
    /// The addresses actually bound (a configured port 0 becomes a real one).
    pub addrs: Addrs,
    /// Persistent random key, e.g. for the stand-in salt of an unknown account.
    pub secret: [u8; 32],
    /// Failed logins per address, shared by the MD5 and Passport logins.
    pub login_throttle: LoginThrottle,
}

#[derive(Debug, Clone, Copy)]
pub struct Addrs {
    pub dispatch: SocketAddr,
    pub notification: SocketAddr,
    pub switchboard: SocketAddr,
    pub passport_http: SocketAddr,
    pub passport_https: SocketAddr,
}

/// The two ends of a client's connection, IPv4-mapped addresses unmapped.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    pub remote: SocketAddr,
    pub local: SocketAddr,
}

impl Peer {
    fn of(stream: &TcpStream) -> std::io::Result<Peer> {
        let canonical = |a: SocketAddr| SocketAddr::new(a.ip().to_canonical(), a.port());
        Ok(Peer { remote: canonical(stream.peer_addr()?), local: canonical(stream.local_addr()?) })
    }
}

/// A bound but not yet running server.
pub struct Server {
    shared: Arc<Shared>,
    listeners: Vec<(TcpListener, Listener)>,
}

/// What a listening port serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listener {
    Dispatch,
    Notification,
    Switchboard,
    PassportHttp,
    PassportHttps,
}

impl Listener {
    fn name(self) -> &'static str {
        match self {
            Listener::Dispatch => "dispatch",
            Listener::Notification => "notification",
            Listener::Switchboard => "switchboard",
            Listener::PassportHttp => "passport-http",
            Listener::PassportHttps => "passport-https",
        }
    }
}

impl Server {
    /// Binds every listener, so that a port in use fails here and not later.
    pub async fn bind(config: Config, store: Store) -> std::io::Result<Server> {
        let bind = |addr: SocketAddr, what: &'static str| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr} ({what}): {e}")))
        };
        let dispatch = bind(config.listen.dispatch, "dispatch").await?;
        let notification = bind(config.listen.notification, "notification").await?;
        let switchboard = bind(config.listen.switchboard, "switchboard").await?;
        let passport_http = bind(config.passport.http, "passport http").await?;
        let passport_https = bind(config.passport.https, "passport https").await?;
        let passport = passport::Service::new(&config).await.map_err(std::io::Error::other)?;
        let addrs = Addrs {
            dispatch: dispatch.local_addr()?,
            notification: notification.local_addr()?,
            switchboard: switchboard.local_addr()?,
            passport_http: passport_http.local_addr()?,
            passport_https: passport_https.local_addr()?,
        };
        let secret = store.server_secret().await.map_err(std::io::Error::other)?;
        let sb = &config.switchboard;
        let switchboards = Switchboards::new(Duration::from_secs(sb.cookie_ttl_secs), sb.max_participants);
        let l = &config.limits;
        let login_throttle =
            LoginThrottle::new(l.login_failures_per_ip, Duration::from_secs(l.login_failure_window_secs));
        let presence = Presence::default();
        let shared =
            Shared { config, store, presence, switchboards, passport, addrs, secret, login_throttle };
        let listeners = vec![
            (dispatch, Listener::Dispatch),
            (notification, Listener::Notification),
            (switchboard, Listener::Switchboard),
            (passport_http, Listener::PassportHttp),
            (passport_https, Listener::PassportHttps),
        ];
        Ok(Server { shared: Arc::new(shared), listeners })
    }

    pub fn addrs(&self) -> Addrs {
        self.shared.addrs
    }

    /// Serves until `shutdown` is cancelled, then tells every client `OUT SSD`, waits for
    /// every session to finish and closes the database.
    pub async fn run(self, shutdown: CancellationToken) {
        let tracker = TaskTracker::new();
        let limits = &self.shared.config.limits;
        let limiter = Limiter::new(limits.max_connections, limits.max_connections_per_ip);
        let addrs = &self.shared.addrs;
        info!(dispatch = %addrs.dispatch, notification = %addrs.notification, switchboard = %addrs.switchboard, "listening");
        info!(https = %addrs.passport_https, http = %addrs.passport_http, "Passport listening");
        for (listener, serves) in self.listeners {
            let accept = Acceptor {
                listener,
                serves,
                shared: self.shared.clone(),
                limiter: limiter.clone(),
                tracker: tracker.clone(),
                shutdown: shutdown.clone(),
            };
            tracker.spawn(accept.run());
        }
        shutdown.cancelled().await;
        info!(sessions = self.shared.presence.len(), chats = self.shared.switchboards.len(), "shutting down");
        tracker.close();
        tracker.wait().await;
        self.shared.store.close().await;
        info!("stopped");
    }
}

/// One listener's accept loop.
struct Acceptor {
    listener: TcpListener,
    serves: Listener,
    shared: Arc<Shared>,
    limiter: Limiter,
    tracker: TaskTracker,
    shutdown: CancellationToken,
}

impl Acceptor {
    async fn run(self) {
        loop {
            let accepted = tokio::select! {
                () = self.shutdown.cancelled() => return,
                accepted = self.listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, addr)) => self.admit(stream, addr),
                Err(e) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    warn!(error = %e, service = self.serves.name(), "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    fn admit(&self, stream: TcpStream, addr: SocketAddr) {
        let service = self.serves.name();
        let Some(admission) = self.limiter.admit(addr.ip()) else {
            warn!(peer = %addr, service, "connection refused: connection limit reached");
            return;
        };
        let Ok(peer) = Peer::of(&stream) else { return };
        let _ = stream.set_nodelay(true);
        let conn = next_conn_id();
        let span = info_span!("conn", id = conn, peer = %peer.remote, service);
        let (shared, shutdown, serves) = (self.shared.clone(), self.shutdown.clone(), self.serves);
        self.tracker.spawn(
            async move {
                debug!("connected");
                serve(serves, stream, peer, conn, shared, shutdown).await;
                drop(admission);
            }
            .instrument(span),
        );
    }
}

/// Runs one connection with the service its port belongs to.
async fn serve(
    serves: Listener,
    stream: TcpStream,
    peer: Peer,
    conn: u64,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) {
    let limits = &shared.config.limits;
    let kill = shutdown.child_token();
    // Each arm's future is boxed, so that a connection's task is the size of the service it
    // runs, not of the largest one (the task lives as long as the connection).
    match serves {
        Listener::Dispatch | Listener::Notification => {
            let (mailbox, rx) = mailbox(limits.mailbox_size);
            let session = SessionHandle { conn, mailbox, kill: kill.clone() };
            let role = if serves == Listener::Dispatch { Role::Dispatch } else { Role::Notification };
            let ns = Ns::new(shared.clone(), role, peer, session);
            Box::pin(conn::run(stream, ns, Signals { mailbox: rx, kill, shutdown }, limits)).await;
        }
        Listener::Switchboard => {
            let (mailbox, rx) = mailbox(limits.mailbox_size);
            let sb = Sb::new(shared.clone(), SessionHandle { conn, mailbox, kill: kill.clone() });
            Box::pin(conn::run(stream, sb, Signals { mailbox: rx, kill, shutdown }, limits)).await;
        }
        Listener::PassportHttp => Box::pin(passport::serve(stream, peer, false, shared, shutdown)).await,
        Listener::PassportHttps => Box::pin(passport::serve(stream, peer, true, shared, shutdown)).await,
    }
}

/// Raises the soft limit on open files to the hard limit (every connection is a file
/// descriptor) and logs both. A failure is logged, not fatal: the server runs with what it has.
pub fn raise_open_files_limit() {
    let (soft, hard) = match rlimit::getrlimit(rlimit::Resource::NOFILE) {
        Ok(limits) => limits,
        Err(e) => {
            warn!(error = %e, "cannot read the open-files limit");
            return;
        }
    };
    match rlimit::increase_nofile_limit(hard) {
        Ok(raised) => info!(soft = raised, hard, was = soft, "open-files limit (one file per connection)"),
        Err(e) => warn!(error = %e, soft, hard, "cannot raise the open-files limit"),
    }
}

fn next_conn_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Caps connections in total and per source address.
#[derive(Clone)]
struct Limiter {
    total: Arc<Semaphore>,
    per_ip: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max_per_ip: usize,
}

/// A connection's place under the limits, given back when dropped.
struct Admission {
    _permit: OwnedSemaphorePermit,
    per_ip: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl Limiter {
    fn new(max_total: usize, max_per_ip: usize) -> Limiter {
        Limiter { total: Arc::new(Semaphore::new(max_total)), per_ip: Arc::default(), max_per_ip }
    }

    fn admit(&self, ip: IpAddr) -> Option<Admission> {
        let permit = self.total.clone().try_acquire_owned().ok()?;
        let mut per_ip = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        let count = per_ip.entry(ip).or_insert(0);
        if *count >= self.max_per_ip {
            return None;
        }
        *count += 1;
        Some(Admission { _permit: permit, per_ip: self.per_ip.clone(), ip })
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut per_ip = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = per_ip.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_in_total_and_per_address() {
        let limiter = Limiter::new(3, 2);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let first = limiter.admit(a).unwrap();
        let _second = limiter.admit(a).unwrap();
        assert!(limiter.admit(a).is_none(), "per-address cap");
        let _third = limiter.admit(b).unwrap();
        assert!(limiter.admit(b).is_none(), "total cap");
        drop(first);
        assert!(limiter.admit(a).is_some(), "a closed connection frees its place");
    }
}
