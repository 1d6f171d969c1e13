//! Listeners, connection limits and shutdown. Each accepted socket becomes one task that
//! runs [`conn::run`] with the service its port belongs to.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, info_span, warn, Instrument};

use crate::accounts::Accounts;
use crate::admission::{Admission, Caps, Closing, ConnId, Gate, Refused};
use crate::chats::Switchboards;
use crate::config::Config;
use crate::conn::{self, Connection, Deadlines, Peer, Signals};
use crate::mailbox::mailbox;
use crate::mailbox::SessionHandle;
use crate::metrics::Metrics;
use crate::ns::{self, Ns, Ports, Role};
use crate::passport;
use crate::presence::Presence;
use crate::sb::{self, Sb};
use crate::store::Store;
use crate::throttle::{LoginThrottle, Throttle};
use crate::tickets::Tickets;
use crate::web;

/// What the connections of each service work with: one context per service, built once.
struct Services {
    ns: Arc<ns::Context>,
    sb: Arc<sb::Context>,
    passport: Arc<passport::Context>,
    web: Arc<web::Context>,
    /// The notification and dispatch servers' deadlines, and the switchboard's (whose idle
    /// time is the chat's), worked out once from the configuration.
    ns_deadlines: Deadlines,
    sb_deadlines: Deadlines,
}

/// The addresses actually bound (a configured port 0 becomes a real one).
#[derive(Debug, Clone, Copy)]
pub struct Addrs {
    pub dispatch: SocketAddr,
    pub notification: SocketAddr,
    pub switchboard: SocketAddr,
    pub passport_http: SocketAddr,
    pub passport_https: SocketAddr,
    pub admin: SocketAddr,
    /// `None` when `web.listen` is empty.
    pub web: Option<SocketAddr>,
}

/// A bound but not yet running server.
pub struct Server {
    services: Arc<Services>,
    addrs: Addrs,
    listeners: Vec<(TcpListener, Listener)>,
    admin: TcpListener,
    web: Option<TcpListener>,
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
        let admin = bind(config.admin.listen, "admin").await?;
        let web = match config.web.listen.parse::<SocketAddr>() {
            Ok(addr) => Some(bind(addr, "web pages").await?),
            Err(_) => None,
        };
        let addrs = Addrs {
            dispatch: dispatch.local_addr()?,
            notification: notification.local_addr()?,
            switchboard: switchboard.local_addr()?,
            passport_http: passport_http.local_addr()?,
            passport_https: passport_https.local_addr()?,
            admin: admin.local_addr()?,
            web: web.as_ref().map(TcpListener::local_addr).transpose()?,
        };
        let services = Services::build(config, store, addrs).await?;
        let listeners = vec![
            (dispatch, Listener::Dispatch),
            (notification, Listener::Notification),
            (switchboard, Listener::Switchboard),
            (passport_http, Listener::PassportHttp),
            (passport_https, Listener::PassportHttps),
        ];
        Ok(Server { services: Arc::new(services), addrs, listeners, admin, web })
    }

    pub fn addrs(&self) -> Addrs {
        self.addrs
    }

    /// Serves until `shutdown` is cancelled (or a maintenance shutdown ends), then tells
    /// every client `OUT SSD`, waits for every session to finish and closes the database.
    pub async fn run(self, shutdown: CancellationToken) {
        let stop = self.services.web.stop.clone();
        let linked = stop.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = shutdown.cancelled() => linked.cancel(),
                () = linked.cancelled() => {}
            }
        });
        let shutdown = stop;
        let tracker = TaskTracker::new();
        let limits = &self.services.ns.config.limits;
        let gate = Gate::new(Caps {
            total: limits.max_connections,
            per_ip: limits.max_connections_per_ip,
            unauthenticated: limits.max_unauthenticated,
        });
        let refusals = Arc::new(Refusals::default());
        let addrs = &self.addrs;
        info!(dispatch = %addrs.dispatch, notification = %addrs.notification, switchboard = %addrs.switchboard, "listening");
        info!(https = %addrs.passport_https, http = %addrs.passport_http, "Passport listening");
        let web = &self.services.web;
        info!(admin = %addrs.admin, pages = %web.web_url, token = %web.config.admin_token_file().display(), "admin interface and web pages listening");
        let (admin, ctx) = (self.admin, web.clone());
        tracker.spawn(async move { web::serve(admin, web::admin::router(ctx.clone()), &ctx, "admin").await });
        if let Some(pages) = self.web {
            let ctx = web.clone();
            tracker
                .spawn(async move { web::serve(pages, web::pages::router(ctx.clone()), &ctx, "web").await });
        }
        for (listener, serves) in self.listeners {
            let accept = Acceptor {
                listener,
                serves,
                services: self.services.clone(),
                gate: gate.clone(),
                refusals: refusals.clone(),
                tracker: tracker.clone(),
                shutdown: shutdown.clone(),
            };
            tracker.spawn(accept.run());
        }
        shutdown.cancelled().await;
        let ns = &self.services.ns;
        info!(sessions = ns.presence.len(), chats = ns.chats.len(), "shutting down");
        tracker.close();
        tracker.wait().await;
        ns.store.close().await;
        info!("stopped");
    }
}

impl Services {
    /// Each service's context, and what they share: the store, who is online, the chats,
    /// Passport tickets, failed logins.
    async fn build(config: Config, store: Store, addrs: Addrs) -> std::io::Result<Services> {
        let l = &config.limits;
        let login_throttle = Arc::new(LoginThrottle::new(
            l.login_failures_per_ip,
            Duration::from_secs(l.login_failure_window_secs),
        ));
        let tickets = Arc::new(Tickets::new(Duration::from_secs(config.passport.ticket_ttl_secs)));
        let metrics = Arc::new(Metrics::default());
        let closing = Closing::default();
        let register = match (config.web.public_url.as_str(), addrs.web) {
            (_, None) => passport::Register::Nowhere,
            // Pages on loopback are for a proxy to publish: no client reaches them here.
            ("", Some(web)) if web.ip().is_loopback() => passport::Register::Nowhere,
            ("", Some(web)) => passport::Register::Port(web.port()),
            (_, Some(web)) => passport::Register::Url(format!("{}/register", config.web_url(Some(web)))),
        };
        let shared = passport::Shared {
            store: store.clone(),
            tickets: tickets.clone(),
            login_throttle: login_throttle.clone(),
            register,
            metrics: metrics.clone(),
            closing: closing.clone(),
        };
        let passport = passport::Context::new(&config, shared).await.map_err(std::io::Error::other)?;
        let token = web::admin_token(&config.admin_token_file())?;
        let secret = store.server_secret().await.map_err(std::io::Error::other)?;
        let sb = &config.switchboard;
        let chats = Arc::new(Switchboards::new(Duration::from_secs(sb.cookie_ttl_secs), sb.max_participants));
        let presence = Presence::default();
        let minute = Duration::from_secs(60);
        let ns_deadlines = Deadlines::of(l);
        let chat_idle = Duration::from_secs(sb.idle_timeout_secs);
        let sb_deadlines = Deadlines { idle: chat_idle, idle_counts_events: true, ..ns_deadlines };
        let ports = Ports { notification: addrs.notification.port(), switchboard: addrs.switchboard.port() };
        let sb = sb::Context {
            store: store.clone(),
            presence: presence.clone(),
            chats: chats.clone(),
            metrics: metrics.clone(),
        };
        let accounts = Accounts {
            store: store.clone(),
            presence: presence.clone(),
            chats: chats.clone(),
            tickets: tickets.clone(),
        };
        let web_url = config.web_url(addrs.web.map(crate::config::reachable));
        let shared =
            web::Shared { accounts, metrics: metrics.clone(), closing: closing.clone(), token, web_url };
        let web = web::Context::new(config.clone(), shared);
        let ns = ns::Context {
            list_changes: Throttle::new(l.list_changes_per_minute, minute),
            list_notices: Throttle::new(l.list_notices_per_minute, minute),
            config,
            store,
            presence,
            chats,
            tickets,
            ports,
            secret,
            login_throttle,
            closing,
            metrics,
        };
        let (ns, sb, passport, web) = (Arc::new(ns), Arc::new(sb), Arc::new(passport), Arc::new(web));
        Ok(Services { ns, sb, passport, web, ns_deadlines, sb_deadlines })
    }
}

/// One listener's accept loop.
struct Acceptor {
    listener: TcpListener,
    serves: Listener,
    services: Arc<Services>,
    gate: Gate,
    refusals: Arc<Refusals>,
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
        let conn = next_conn_id();
        let kill = self.shutdown.child_token();
        let metrics = &self.services.ns.metrics;
        let admission = match self.gate.admit(conn, addr.ip().to_canonical(), kill.clone()) {
            Ok(admission) => admission,
            Err(refused) => {
                metrics.connection(service, refused.label());
                return self.refusals.note(addr, service, refused);
            }
        };
        metrics.connection(service, "accepted");
        let Ok(peer) = Peer::of(&stream) else { return };
        let _ = stream.set_nodelay(true);
        let span = info_span!("conn", id = %conn, peer = %peer.remote, service);
        let accepted = Accepted { stream, peer, conn, kill, admission, shutdown: self.shutdown.clone() };
        let (services, serves) = (self.services.clone(), self.serves);
        self.tracker.spawn(
            async move {
                debug!("connected");
                serve(serves, accepted, &services).await;
            }
            .instrument(span),
        );
    }
}

/// An admitted connection and what its task needs to run it.
struct Accepted {
    stream: TcpStream,
    peer: Peer,
    conn: ConnId,
    /// Drops the connection: cancelled on shutdown, by a stuck mailbox or to make room.
    kill: CancellationToken,
    admission: Admission,
    shutdown: CancellationToken,
}

/// Runs one connection with the service its port belongs to. On the dispatch port, a first
/// command that opens a switchboard session (`USR tr handle cookie`, `ANS ..`) is served as
/// a switchboard connection: one client library of the era dials the switchboard's host on
/// its configured dispatch port, ignoring the port in `XFR SB`/`RNG` (client-quirks.md 12).
async fn serve(serves: Listener, accepted: Accepted, services: &Services) {
    let Accepted { stream, peer, conn, kill, admission, shutdown } = accepted;
    let limits = &services.ns.config.limits;
    let (ns_deadlines, sb_deadlines) = (&services.ns_deadlines, &services.sb_deadlines);
    let ns = |role: Role, connection: Connection, admission: Admission| {
        let (mailbox, rx) = mailbox(limits.mailbox_size);
        let session = SessionHandle::new(conn, mailbox, kill.clone());
        let ns = Ns::new(services.ns.clone(), role, peer, session);
        let signals = Signals { mailbox: rx, kill: kill.clone(), shutdown: shutdown.clone(), admission };
        conn::run(connection, ns, signals, ns_deadlines)
    };
    let sb = |connection: Connection, admission: Admission| {
        let (mailbox, rx) = mailbox(limits.mailbox_size);
        let sb = Sb::new(services.sb.clone(), SessionHandle::new(conn, mailbox, kill.clone()));
        let signals = Signals { mailbox: rx, kill: kill.clone(), shutdown: shutdown.clone(), admission };
        conn::run(connection, sb, signals, sb_deadlines)
    };
    // Each arm's future is boxed, so that a connection's task is the size of the service it
    // runs, not of the largest one (the task lives as long as the connection).
    match serves {
        Listener::Dispatch => {
            let mut connection = Connection::new(stream, limits);
            let Some(first) = connection.first_command(ns_deadlines, &kill).await else { return };
            if sb::opens_session(first) {
                debug!("a switchboard connection on the dispatch port");
                Box::pin(sb(connection, admission)).await;
            } else {
                Box::pin(ns(Role::Dispatch, connection, admission)).await;
            }
        }
        Listener::Notification => {
            Box::pin(ns(Role::Notification, Connection::new(stream, limits), admission)).await
        }
        Listener::Switchboard => Box::pin(sb(Connection::new(stream, limits), admission)).await,
        Listener::PassportHttp | Listener::PassportHttps => {
            let secure = serves == Listener::PassportHttps;
            Box::pin(passport::serve(stream, peer, secure, services.passport.clone(), kill.clone())).await;
            drop(admission);
        }
    }
}

/// Refused connections, summarised: the first is logged at once, then one line at most
/// every [`REFUSALS_EVERY`] with how many there were meanwhile, so that a flood of refused
/// connections cannot flood the log too.
#[derive(Debug, Default)]
struct Refusals(Mutex<(Option<Instant>, u64)>);

const REFUSALS_EVERY: Duration = Duration::from_secs(10);

impl Refusals {
    fn note(&self, peer: SocketAddr, service: &'static str, refused: Refused) {
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let (last, count) = &mut *state;
        *count += 1;
        if last.is_none_or(|at| at.elapsed() >= REFUSALS_EVERY) {
            warn!(%peer, service, reason = refused.reason(), count = *count, "connections refused (count: since the last such line)");
            (*last, *count) = (Some(Instant::now()), 0);
        }
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

fn next_conn_id() -> ConnId {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    ConnId(NEXT.fetch_add(1, Ordering::Relaxed))
}
