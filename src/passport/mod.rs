//! The Passport service MSNP8 and later clients log in through. Passport 1.4 (passport14.md,
//! client-quirks.md 13–17): the nexus, `GET /rdr/pprdr.asp`, names the login server; the
//! login server, `GET /login2.srf`, checks the password and issues the ticket the client
//! then hands the notification server in `USR tr TWN S`. The RST login of MSN Messenger 7.5
//! (msnp9-12-rst.md, [`rst`]), `POST /RST.srf`, issues the same ticket for a SOAP request.
//! Both logins check credentials in one place, `sign_in`: maintenance, throttles, the
//! queue of password checks, the ticket, the log and the metrics. Served over HTTPS (what
//! MSN Messenger 5.0 uses, see [`tls`]) and over plain HTTP (for patched clients), on
//! listeners of its own.
//!
//! One request per connection, read by the lenient reader in [`http`] rather than hyper,
//! which refuses the version-less nexus request one client sends. Every answer closes the
//! connection.

/// Public for the fuzz targets in `fuzz/`.
pub mod auth;
/// Public for the fuzz targets in `fuzz/`.
pub mod http;
/// Public for the property tests.
pub mod rst;
pub mod tls;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use openssl::provider::Provider;
use openssl::ssl::{Ssl, SslContext};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::timeout;
use tokio_openssl::SslStream;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info};

use self::auth::SignIn;
use self::http::{Request, Response};
use crate::admission::Closing;
use crate::config::Config;
use crate::conn::Peer;
use crate::credentials::{passport_password_matches, random_token, Credentials};
use crate::metrics::Metrics;
use crate::protocol::{url_encode, Email};
use crate::store::Store;
use crate::store::StoreError;
use crate::throttle::{LoginThrottle, Throttle};
use crate::tickets::{TicketOwner, Tickets};

/// Time a client has for the TLS handshake, and again for sending its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Time for writing the answer.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long input still arriving after the answer is drained: closing a socket with unread
/// input resets the connection, and the client might lose the answer.
const LINGER: Duration = Duration::from_secs(2);

const NEXUS_PATH: &str = "/rdr/pprdr.asp";
/// The login server's path as DALogin names it, and the ones clients hard-code.
const LOGIN_PATHS: [&str; 3] = ["/login2.srf", "/login.srf", "/ppsecure/login2.srf"];
/// The RST login's paths (msnp9-12-rst.md §1): MSN Messenger 7.5's, and WLM 2009's.
const RST_PATHS: [&str; 2] = ["/RST.srf", "/RST2.srf"];

/// What a path serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Nexus,
    /// The Passport 1.4 login, `login2.srf`.
    Login,
    /// The SOAP login of MSN Messenger 7.5 ([`rst`]).
    Rst,
}

impl Endpoint {
    /// The endpoint at `path` (in any case).
    fn of(path: &str) -> Option<Endpoint> {
        let is = |p: &&str| path.eq_ignore_ascii_case(p);
        if is(&NEXUS_PATH) {
            Some(Endpoint::Nexus)
        } else if LOGIN_PATHS.iter().any(is) {
            Some(Endpoint::Login)
        } else {
            RST_PATHS.iter().any(is).then_some(Endpoint::Rst)
        }
    }

    /// The one method it answers.
    fn method(self) -> &'static str {
        match self {
            Endpoint::Nexus | Endpoint::Login => "GET",
            Endpoint::Rst => "POST",
        }
    }

    /// Its `endpoint` on `passport_requests`.
    fn label(self) -> &'static str {
        match self {
            Endpoint::Nexus => "nexus",
            Endpoint::Login => "login2",
            Endpoint::Rst => "rst",
        }
    }
}

/// The Passport service: what its connections share. Built once by the server.
pub struct Context {
    config: Config,
    store: Store,
    /// Tickets issued here, redeemed by the notification server.
    tickets: Arc<Tickets>,
    /// Failed logins per address, shared with the notification server's MD5 login.
    login_throttle: Arc<LoginThrottle>,
    tls: SslContext,
    /// Checked when the account is unknown, so that costs what a wrong password does.
    dummy_hash: String,
    /// Password checks running at once; each Argon2 check holds about 19 MiB.
    hashing: Semaphore,
    /// Sign-ins admitted to wait for `hashing` (and those running); more are shed.
    queue: Semaphore,
    /// Longest a sign-in waits for a password check before it is shed.
    queue_timeout: Duration,
    /// Sign-in attempts per address and per account, successful ones included: one valid
    /// account used from many addresses must not keep the password checks busy.
    attempts_by_ip: Throttle<IpAddr>,
    attempts_by_account: Throttle<String>,
    /// Where the nexus's `DAReg` sends people to sign up.
    register: Register,
    metrics: Arc<Metrics>,
    closing: Closing,
    /// Keeps RC4 available to `tls` (see [`tls::legacy_provider`]).
    _legacy: Option<Provider>,
}

/// The sign-up page, as the nexus names it (`DAReg`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Register {
    /// `web.public_url` is set: its `/register`.
    Url(String),
    /// The pages listen on this port of the host the client asked the nexus for.
    Port(u16),
    /// No pages: the Passport host's `/register.srf`, which answers that accounts come from
    /// the operator.
    Nowhere,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context").field("tickets", &self.tickets).finish_non_exhaustive()
    }
}

impl Context {
    /// Loads (or creates) the certificate and sets up TLS; slow work runs off the runtime.
    pub async fn new(config: &Config, shared: Shared) -> Result<Context, tls::TlsError> {
        let config = config.clone();
        tokio::task::spawn_blocking(move || Context::build(config, shared))
            .await
            .expect("setting up the Passport service does not panic")
    }

    fn build(config: Config, shared: Shared) -> Result<Context, tls::TlsError> {
        let Shared { store, tickets, login_throttle, register, metrics, closing } = shared;
        let legacy = tls::legacy_provider();
        let identity = tls::load_or_create(&config)?;
        let checks = std::thread::available_parallelism().map_or(2, |n| n.get());
        let l = &config.limits;
        let window = Duration::from_secs(l.passport_attempt_window_secs);
        Ok(Context {
            tls: tls::context(&config.passport, &identity)?,
            dummy_hash: Credentials::new(&random_token()).passport_hash,
            hashing: Semaphore::new(checks),
            queue: Semaphore::new(checks + l.passport_queue),
            queue_timeout: Duration::from_secs(l.passport_queue_timeout_secs),
            attempts_by_ip: Throttle::new(l.passport_attempts_per_ip, window),
            attempts_by_account: Throttle::new(l.passport_attempts_per_account, window),
            _legacy: legacy,
            register,
            metrics,
            closing,
            config,
            store,
            tickets,
            login_throttle,
        })
    }
}

/// What the Passport service shares with the rest of the server.
pub struct Shared {
    pub store: Store,
    pub tickets: Arc<Tickets>,
    pub login_throttle: Arc<LoginThrottle>,
    pub register: Register,
    pub metrics: Arc<Metrics>,
    /// Set by a maintenance shutdown: no more tickets.
    pub closing: Closing,
}

/// Where a connection arrived.
#[derive(Debug, Clone, Copy)]
struct Site {
    local: SocketAddr,
    remote: IpAddr,
    secure: bool,
}

/// Serves one connection (over TLS if `secure`): one request, one answer, close.
pub async fn serve(
    stream: TcpStream,
    peer: Peer,
    secure: bool,
    passport: Arc<Context>,
    shutdown: CancellationToken,
) {
    let site = Site { local: peer.local, remote: peer.remote.ip(), secure };
    let served = async {
        if secure {
            serve_tls(stream, site, &passport).await;
        } else {
            exchange(stream, site, &passport).await;
        }
    };
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = served => {}
    }
}

async fn serve_tls(stream: TcpStream, site: Site, passport: &Context) {
    let mut stream = match Ssl::new(&passport.tls).and_then(|ssl| SslStream::new(ssl, stream)) {
        Ok(stream) => stream,
        Err(e) => {
            error!(error = %e, "cannot set up TLS");
            return;
        }
    };
    match timeout(REQUEST_TIMEOUT, Pin::new(&mut stream).accept()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return debug!(error = %e, "TLS handshake failed"),
        Err(_) => return debug!("TLS handshake timed out"),
    }
    let ssl = stream.ssl();
    let cipher = ssl.current_cipher().map_or("none", |c| c.name());
    debug!(version = ssl.version_str(), cipher, "TLS handshake done");
    passport.metrics.tls(ssl.version_str(), cipher);
    exchange(stream, site, passport).await;
}

/// Reads the request, answers it and closes.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, site: Site, passport: &Context) {
    let max_body = passport.config.passport.max_body_bytes;
    let response = match timeout(REQUEST_TIMEOUT, http::read_request(&mut stream, max_body)).await {
        Ok(Ok(request)) => answer(&request, site, passport).await,
        Ok(Err(e)) => match e.status() {
            Some(status) => Response::text(status, &e.to_string()),
            None => return,
        },
        Err(_) => Response::text(408, "no complete request in time"),
    };
    debug!(status = response.status(), "answered");
    let sent = timeout(WRITE_TIMEOUT, async {
        stream.write_all(&response.to_bytes()).await?;
        stream.shutdown().await
    });
    if let Ok(Ok(())) = sent.await {
        let mut sink = [0u8; 1024];
        let drain = async { while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {} };
        let _ = timeout(LINGER, drain).await;
    }
}

/// Routes by path, then method: unknown paths `404`, another method than the path's `405`.
async fn answer(request: &Request, site: Site, passport: &Context) -> Response {
    debug!(method = request.method, path = request.path, "request");
    let Some(endpoint) = Endpoint::of(&request.path) else {
        return Response::text(
            404,
            "Not found. This is msnd's Passport service; accounts are made by its operator.",
        );
    };
    let method = endpoint.method();
    if !request.method.eq_ignore_ascii_case(method) {
        return Response::text(405, &format!("Only {method} is served here.")).header("Allow", method);
    }
    match endpoint {
        Endpoint::Nexus => {
            passport.metrics.passport(endpoint.label(), "answered");
            nexus(request, site, passport)
        }
        Endpoint::Login => login(request, site, passport).await,
        Endpoint::Rst => rst::answer(request, site, passport).await,
    }
}

/// `200` with `PassportURLs` naming this server's login page: DALogin without a scheme
/// (client-quirks.md 13), DAReg right after it (one client's parser expects it there).
fn nexus(request: &Request, site: Site, passport: &Context) -> Response {
    let host = login_host(request, site, &passport.config.passport.public_host);
    let register = match &passport.register {
        Register::Url(url) => url.clone(),
        Register::Port(port) => format!("http://{}:{port}/register", without_port(&host)),
        Register::Nowhere => format!("{host}/register.srf"),
    };
    let urls = format!("DARealm=Passport.Net,DALogin={host}/login2.srf,DAReg={register},ConfigVersion=15");
    Response::new(200).header("Cache-Control", "private").header("PassportURLs", urls)
}

/// `host` of `host[:port]` (an IPv6 address keeps its brackets).
fn without_port(host: &str) -> &str {
    match host.rfind(':') {
        Some(at) if !host[at..].contains(']') => &host[..at],
        _ => host,
    }
}

/// `host[:port]` of the login server: `passport.public_host` if set, else the `Host` the
/// client asked for, else the address it reached (with the port unless it is the default).
fn login_host(request: &Request, site: Site, public_host: &str) -> String {
    if !public_host.is_empty() {
        return public_host.to_owned();
    }
    let valid = |h: &&[u8]| {
        !h.is_empty()
            && h.len() <= 255
            && h.iter().all(|&b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
    };
    if let Some(host) = request.header("host").filter(valid) {
        return String::from_utf8_lossy(host).into_owned();
    }
    let ip = site.local.ip();
    let host = if ip.is_ipv6() { format!("[{ip}]") } else { ip.to_string() };
    match (site.secure, site.local.port()) {
        (true, 443) | (false, 80) => host,
        (_, port) => format!("{host}:{port}"),
    }
}

/// Checks the credentials; `200` with a ticket, `401` for a wrong or unknown account,
/// `400` for a header that has credentials but lacks a part.
async fn login(request: &Request, site: Site, passport: &Context) -> Response {
    let label = Endpoint::Login.label();
    let sign_in = match auth::parse(request.header("authorization")) {
        Ok(sign_in) => sign_in,
        Err(e) if e.is_malformed() => {
            debug!(error = %e, "malformed Passport credentials");
            passport.metrics.passport(label, "malformed");
            return Response::text(400, &e.to_string());
        }
        Err(e) => {
            debug!(error = %e, "no Passport credentials");
            passport.metrics.passport(label, "no_credentials");
            return refused("Please sign in with your e-mail address and password.");
        }
    };
    match self::sign_in(passport, site, Endpoint::Login, sign_in).await {
        Ok(granted) => issued(&granted.ticket),
        Err(Refusal::Internal) => Response::text(500, "Internal error."),
        Err(refusal) => refused(refusal.message()),
    }
}

/// A ticket, and the account it was issued to.
struct Granted {
    owner: TicketOwner,
    ticket: String,
}

/// Why a sign-in got no ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// A maintenance shutdown is under way.
    Closing,
    /// Too many failed logins from the address (`limits.login_failures_per_ip`).
    FailedLogins,
    /// Too many sign-ins from the address or for the account (`limits.passport_attempts_*`).
    Attempts,
    /// A wrong password, or an unknown or disabled account: one answer for all.
    Wrong,
    /// Shed: the password checks are busy (`limits.passport_queue`).
    Busy,
    /// The database failed.
    Internal,
}

impl Refusal {
    /// What the person signing in is told.
    fn message(self) -> &'static str {
        match self {
            Refusal::Closing => "The server is going down for maintenance. Please try again later.",
            Refusal::FailedLogins => "Too many failed sign-ins. Please try again later.",
            Refusal::Attempts => "Too many sign-in attempts. Please wait a minute and try again.",
            Refusal::Wrong => "The e-mail address or password is incorrect.",
            Refusal::Busy => "The server is busy. Please try again in a moment.",
            Refusal::Internal => "Internal error.",
        }
    }

    /// What the operator's log says.
    fn reason(self) -> &'static str {
        match self {
            Refusal::Closing => "the server is going down for maintenance",
            Refusal::FailedLogins => "too many failed logins from this address",
            Refusal::Attempts => "too many sign-in attempts (limits.passport_attempts_*)",
            Refusal::Wrong => "wrong e-mail address or password, or a disabled account",
            Refusal::Busy => "shed, the password checks are busy (limits.passport_queue)",
            Refusal::Internal => "database error",
        }
    }

    /// Its `result` on `passport_requests`.
    fn result(self) -> &'static str {
        match self {
            Refusal::Closing => "closed",
            Refusal::FailedLogins | Refusal::Attempts => "throttled",
            Refusal::Wrong => "refused",
            Refusal::Busy => "busy",
            Refusal::Internal => "error",
        }
    }
}

/// Checks a sign-in and issues a ticket: the one place the Passport 1.4 and the RST login
/// do so, with the same maintenance refusal, throttles, password check, log and metrics.
async fn sign_in(
    passport: &Context,
    site: Site,
    endpoint: Endpoint,
    sign_in: SignIn,
) -> Result<Granted, Refusal> {
    let handle = sign_in.handle.clone();
    let label = endpoint.label();
    let checked = check(passport, site, sign_in).await;
    match &checked {
        Ok(granted) => info!(user = %granted.owner.email, endpoint = label, "Passport ticket issued"),
        Err(Refusal::Internal) => {} // logged as an error where it happened
        Err(refusal) => {
            info!(user = ?handle, endpoint = label, "Passport login refused: {}", refusal.reason())
        }
    }
    passport.metrics.passport(label, checked.as_ref().map_or_else(|r| r.result(), |_| "issued"));
    checked
}

/// What [`sign_in`] decides, in order: maintenance, the failed-login throttle, the attempt
/// throttles (which count this attempt), then the password; a wrong one counts as failed.
async fn check(passport: &Context, site: Site, sign_in: SignIn) -> Result<Granted, Refusal> {
    if passport.closing.is_closing() {
        return Err(Refusal::Closing);
    }
    let throttle = &passport.login_throttle;
    if !throttle.allows(&site.remote) {
        return Err(Refusal::FailedLogins);
    }
    let account = sign_in.handle.to_lowercase();
    if !passport.attempts_by_ip.take(site.remote) || !passport.attempts_by_account.take(account) {
        return Err(Refusal::Attempts);
    }
    match verify(passport, sign_in).await {
        Ok(Checked::Valid(owner)) => Ok(Granted { ticket: passport.tickets.issue(owner.clone()), owner }),
        Ok(Checked::Invalid) => {
            throttle.count(site.remote);
            Err(Refusal::Wrong)
        }
        Ok(Checked::Busy) => Err(Refusal::Busy),
        Err(e) => {
            error!(error = %e, "database error");
            Err(Refusal::Internal)
        }
    }
}

/// What a password check found.
enum Checked {
    Valid(TicketOwner),
    Invalid,
    /// Not checked: too many sign-ins wait already, or this one waited too long.
    Busy,
}

/// The account if the password is right. An unknown or malformed handle is checked
/// against a stand-in hash, so that it takes as long as a wrong password. A sign-in waits
/// for a check only while few others do, and not for long: under a flood, honest sign-ins
/// get a quick "busy" instead of a timeout.
async fn verify(passport: &Context, sign_in: SignIn) -> Result<Checked, StoreError> {
    let Ok(_place) = passport.queue.try_acquire() else { return Ok(Checked::Busy) };
    let user = match sign_in.handle.parse::<Email>() {
        Ok(email) => passport.store.user(&email).await?,
        Err(_) => None,
    };
    // An account without a Passport hash (imported `--md5-only`) has no Passport login, and
    // a disabled one no login at all; each is checked against the stand-in hash all the
    // same, so that it takes as long as any refusal.
    let user = user.filter(|u| u.passport_hash.is_some() && !u.disabled);
    let hash =
        user.as_ref().and_then(|u| u.passport_hash.clone()).unwrap_or_else(|| passport.dummy_hash.clone());
    let Ok(Ok(_permit)) = timeout(passport.queue_timeout, passport.hashing.acquire()).await else {
        return Ok(Checked::Busy);
    };
    let password = sign_in.password;
    let matches = tokio::task::spawn_blocking(move || passport_password_matches(&password, &hash))
        .await
        .unwrap_or_else(|e| {
            error!(error = %e, "password check failed");
            false
        });
    Ok(match user.filter(|_| matches) {
        Some(u) => Checked::Valid(TicketOwner { user_id: u.id, email: u.email }),
        None => Checked::Invalid,
    })
}

/// `200` with the ticket in `from-PP`, single-quoted, and `ru` after it (passport14.md §3.1).
fn issued(token: &str) -> Response {
    let info = format!(
        "Passport1.4 da-status=success,tname=MSPAuth,tname=MSPProf,tname=MSPSec,\
         from-PP='t={token}&p=',ru=http://messenger.msn.com"
    );
    Response::new(200).header("Authentication-Info", info)
}

/// `401` with the Passport challenge; clients show `cbtxt` (passport14.md §3.2).
fn refused(message: &str) -> Response {
    let challenge = format!(
        "Passport1.4 da-status=failed,srealm=Passport.NET,ts=-3,prompt,\
         cburl=http://messenger.msn.com,cbtxt={}",
        url_encode(message)
    );
    Response::new(401).header("WWW-Authenticate", challenge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dalogin_prefers_the_configured_host_then_host_then_the_socket() {
        let request = |raw: &'static [u8]| async move { http::read_request(&mut &raw[..], 0).await.unwrap() };
        let remote = "127.0.0.1".parse().unwrap();
        let https = Site { local: "10.0.0.5:443".parse().unwrap(), remote, secure: true };
        let http = Site { local: "[::1]:1866".parse().unwrap(), remote, secure: false };
        let with_host = request(b"GET /rdr/pprdr.asp HTTP/1.1\r\nHost: nexus.passport.com\r\n\r\n").await;
        let bad_host = request(b"GET /rdr/pprdr.asp HTTP/1.1\r\nHost: a,DALogin=evil\r\n\r\n").await;
        let no_host = request(b"GET /rdr/pprdr.asp\r\n").await;
        assert_eq!(login_host(&with_host, https, "msn.example.net:8443"), "msn.example.net:8443");
        assert_eq!(login_host(&with_host, https, ""), "nexus.passport.com");
        assert_eq!(login_host(&bad_host, https, ""), "10.0.0.5");
        assert_eq!(login_host(&no_host, http, ""), "[::1]:1866");
        assert_eq!(without_port("[::1]:1866"), "[::1]");
        assert_eq!((without_port("[::1]"), without_port("a.example:443")), ("[::1]", "a.example"));
    }

    #[test]
    fn answers_have_the_documented_shapes() {
        let ok = String::from_utf8(issued("abc").to_bytes()).unwrap();
        assert!(ok.contains("Authentication-Info: Passport1.4 da-status=success,"), "{ok}");
        assert!(ok.contains(",from-PP='t=abc&p=',ru=http://messenger.msn.com\r\n"), "{ok}");
        let failed = String::from_utf8(refused("No way.").to_bytes()).unwrap();
        assert!(failed.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{failed}");
        assert!(failed.contains("WWW-Authenticate: Passport1.4 da-status=failed,"), "{failed}");
        assert!(failed.contains(",cbtxt=No%20way.\r\n"), "{failed}");
    }
}
