//! Test harness: an in-process server on 127.0.0.1 with ephemeral ports and a temporary
//! database, and a client that plays transcripts written like the protocol notes.
//!
//! Transcript lines: `C: line` is sent; `S: line` is expected, where `*` matches any one
//! token, a final `...` any number of further tokens, and `{name}` captures a token (or
//! must equal an earlier capture); `| text` lines
//! after an `S:` payload command must each appear in its payload; `S: (closed)` expects the
//! server to hang up.
#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod admin;
pub mod process;
pub mod web;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use msnd::codec::{Frame, MsnpCodec, Reading};
use msnd::config::Config;
use msnd::credentials::Credentials;
use msnd::passport::tls::CertFiles;
use msnd::protocol::dialect::Login;
use msnd::protocol::{url_encode, Dialect, Reply};
use msnd::server::{Addrs, Server};
use msnd::store::{Store, UserId};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;

/// How long any single expected reply may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub addrs: Addrs,
    pub store: Store,
    pub config: Config,
    shutdown: CancellationToken,
    task: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Starts a server with the defaults on loopback, adjusted by `adjust`.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config {
            data_dir: dir.path().to_owned(),
            database_url: format!("sqlite://{}", dir.path().join("msnd.db").display()),
            ..Config::default()
        };
        config.listen.dispatch = "127.0.0.1:0".parse().unwrap();
        config.listen.notification = "127.0.0.1:0".parse().unwrap();
        config.listen.switchboard = "127.0.0.1:0".parse().unwrap();
        config.passport.http = "127.0.0.1:0".parse().unwrap();
        config.passport.https = "127.0.0.1:0".parse().unwrap();
        config.admin.listen = "127.0.0.1:0".parse().unwrap();
        config.web.listen = "127.0.0.1:0".into();
        adjust(&mut config);
        Self::start_in(dir, config).await
    }

    async fn start_in(dir: tempfile::TempDir, config: Config) -> TestServer {
        let (addrs, store, shutdown, task) = Self::launch(&config).await;
        TestServer { addrs, store, config, shutdown, task: Some(task), _dir: dir }
    }

    async fn launch(config: &Config) -> (Addrs, Store, CancellationToken, JoinHandle<()>) {
        let store = Store::open(&config.database_url).await.expect("open store");
        let server = Server::bind(config.clone(), store.clone()).await.expect("bind");
        let addrs = server.addrs();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(server.run(shutdown.clone()));
        (addrs, store, shutdown, task)
    }

    /// Stops the server and starts it again on the same database (on new ports).
    pub async fn restart(&mut self) {
        self.stop().await;
        let (addrs, store, shutdown, task) = Self::launch(&self.config).await;
        (self.addrs, self.store, self.shutdown, self.task) = (addrs, store, shutdown, Some(task));
    }

    /// Creates an account through the store, as `msnd user add` does; returns its id.
    pub async fn add_user(&self, email: &str, password: &str) -> UserId {
        self.add_user_named(email, email, password).await
    }

    pub async fn add_user_named(&self, email: &str, name: &str, password: &str) -> UserId {
        let creds = Credentials::new(password);
        self.store.create_user(&email.parse().unwrap(), name, &creds).await.expect("create user").id
    }

    /// Puts `contact` on `owner`'s `list` directly in the store (test set-up).
    pub async fn put_on_list(&self, owner: UserId, list: &str, contact: &str) {
        let list = list.parse().unwrap();
        let group = None;
        self.store
            .add_to_list(owner, list, &contact.parse().unwrap(), contact, group, 150)
            .await
            .expect("add to list");
    }

    /// `a` and `b` have each other on FL and AL.
    pub async fn befriend(&self, a: (UserId, &str), b: (UserId, &str)) {
        for ((owner, _), (_, contact)) in [(a, b), (b, a)] {
            self.put_on_list(owner, "FL", contact).await;
            self.put_on_list(owner, "AL", contact).await;
        }
    }

    /// Waits until the server has stopped by itself (a maintenance shutdown), at most `wait`.
    pub async fn stopped_within(&mut self, wait: Duration) -> bool {
        let Some(task) = self.task.as_mut() else { return true };
        let done = tokio::time::timeout(wait, task).await.is_ok();
        if done {
            self.task = None;
        }
        done
    }

    /// Stops the server as SIGTERM would and waits until it has finished.
    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            tokio::time::timeout(PATIENCE, task).await.expect("server stops in time").unwrap();
        }
    }

    pub async fn dispatch(&self) -> Client {
        Client::connect(self.addrs.dispatch).await
    }

    pub async fn notification(&self) -> Client {
        Client::connect(self.addrs.notification).await
    }

    /// A complete login the way the official client of `dialect` does it: dispatch,
    /// hand-off, notification login (MD5, or Passport for MSNP8), profile (and e-mail)
    /// messages.
    pub async fn login(&self, email: &str, password: &str, dialect: Dialect) -> Client {
        if dialect.login == Login::Twn {
            return self.twn_login(email, password, dialect).await;
        }
        self.md5_login(email, password, dialect, None).await
    }

    /// An MD5 login whose notification connection has a receive buffer of `recv_buffer`
    /// bytes if given: a client on a slow link.
    pub async fn md5_login(
        &self,
        email: &str,
        password: &str,
        dialect: Dialect,
        recv_buffer: Option<u32>,
    ) -> Client {
        let offer = dialect.client_offer();
        let mut ds = self.dispatch().await;
        ds.transcript(&format!(
            "C: VER 1 {offer}\nS: VER 1 {dialect}\nC: INF 2\nS: INF 2 MD5\n\
             C: USR 3 MD5 I {email}\nS: XFR 3 NS {{ns}} ...\nS: (closed)"
        ))
        .await;
        let ns_addr: SocketAddr = ds.var("ns").parse().expect("XFR address");
        let mut ns = Client::over(tcp_from(ns_addr, ns_addr.ip(), recv_buffer).await);
        ns.transcript(&format!(
            "C: VER 4 {offer}\nS: VER 4 {dialect}\nC: INF 5\nS: INF 5 MD5\n\
             C: USR 6 MD5 I {email}\nS: USR 6 MD5 S {{salt}}"
        ))
        .await;
        let response = msnd::credentials::md5_hex(&[ns.var("salt").as_bytes(), password.as_bytes()]);
        ns.send(&format!("USR 7 MD5 S {response}")).await;
        ns.transcript(&format!("S: USR 7 OK {} ...", email.to_ascii_lowercase())).await;
        ns.expect_payload("MSG Hotmail Hotmail", "text/x-msmsgsprofile").await;
        if dialect.initial_email {
            ns.expect_payload("MSG Hotmail Hotmail", "text/x-msmsgsinitialemailnotification").await;
        }
        ns
    }

    /// A complete MSNP8 login the way MSN Messenger 5.0 does it: dispatch, hand-off,
    /// `USR TWN I`, the nexus and login2.srf over HTTPS (trusting the server's
    /// certificate), `USR TWN S` with the ticket, `USR OK` and the profile.
    pub async fn login_msnp8(&self, email: &str, password: &str) -> Client {
        self.twn_login(email, password, Dialect::MSNP8).await
    }

    /// A Passport login in `dialect` (MSNP8 and later) as its official client makes it,
    /// through `USR OK` and the messages after it.
    pub async fn twn_login(&self, email: &str, password: &str, dialect: Dialect) -> Client {
        let mut ns = self.twn_challenge(email, dialect).await;
        let ticket =
            self.passport_login(email, password, &ns.var("challenge")).await.expect("Passport login");
        ns.send(&format!("USR 7 TWN S {ticket}")).await;
        let name = if dialect.address_book { "" } else { " *" };
        ns.transcript(&format!("S: USR 7 OK {}{name} 1 0", email.to_ascii_lowercase())).await;
        if dialect.sbs {
            ns.transcript("S: SBS 0 null").await;
        }
        let token = ticket.strip_prefix("t=").and_then(|t| t.split('&').next()).expect("t=<ticket>&p=");
        ns.expect_payload("MSG Hotmail Hotmail", &format!("\r\nMSPAuth: {token}\r\n")).await;
        let mailbox = match dialect.mail_data {
            true => "text/x-msmsgsinitialmdatanotification",
            false => "text/x-msmsgsinitialemailnotification",
        };
        ns.expect_payload("MSG Hotmail Hotmail", mailbox).await;
        ns
    }

    /// The MSNP8 login up to the Passport step: dispatch, `XFR`, then `VER`, `CVR` and
    /// `USR 6 TWN I` on the notification server, whose challenge is captured as `{challenge}`.
    pub async fn msnp8_challenge(&self, email: &str) -> Client {
        self.twn_challenge(email, Dialect::MSNP8).await
    }

    /// A Passport login in `dialect` up to the Passport step, as in [`Self::msnp8_challenge`].
    pub async fn twn_challenge(&self, email: &str, dialect: Dialect) -> Client {
        let cvr = format!("0x0409 winnt 5.1 i386 MSNMSGR 5.0.0540 MSMSGS {email}");
        let offer = dialect.client_offer();
        let mut ds = self.dispatch().await;
        ds.transcript(&format!(
            "C: VER 1 {offer}\nS: VER 1 {dialect}\nC: CVR 2 {cvr}\nS: CVR 2 ...\n\
             C: USR 3 TWN I {email}\nS: XFR 3 NS {{ns}} ...\nS: (closed)"
        ))
        .await;
        let mut ns = Client::connect(ds.var("ns").parse().expect("XFR address")).await;
        ns.transcript(&format!(
            "C: VER 4 {offer}\nS: VER 4 {dialect}\nC: CVR 5 {cvr}\nS: CVR 5 ...\n\
             C: USR 6 TWN I {email}\nS: USR 6 TWN S {{challenge}}"
        ))
        .await;
        ns
    }

    /// The Passport 1.4 exchange over HTTPS as MSN Messenger 5.0 does it: the nexus, then
    /// the login server its DALogin names. The `from-PP` ticket, or the refusing answer.
    pub async fn passport_login(
        &self,
        email: &str,
        password: &str,
        challenge: &str,
    ) -> Result<String, web::HttpReply> {
        let tls = web::trusting(&self.cert_path());
        let nexus_host = self.addrs.passport_https.to_string();
        let nexus =
            web::https(self.addrs.passport_https, &tls, &web::get("/rdr/pprdr.asp", &nexus_host, &[])).await;
        assert_eq!(nexus.status, 200, "{nexus:?}");
        let dalogin = nexus.item("PassportURLs", "DALogin");
        let (host, path) = dalogin.split_once('/').unwrap_or_else(|| panic!("DALogin {dalogin}"));
        let authorization = format!(
            "Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in={},pwd={},{challenge}",
            url_encode(email),
            url_encode(password)
        );
        let request = web::get(&format!("/{path}"), host, &[("Authorization", &authorization)]);
        let reply = web::https(host.parse().expect("DALogin host:port"), &tls, &request).await;
        if reply.status != 200 {
            return Err(reply);
        }
        let info = reply.header("Authentication-Info");
        let quoted = info.split_once("from-PP='").and_then(|(_, rest)| rest.split_once('\''));
        Ok(quoted.unwrap_or_else(|| panic!("no from-PP in {info}")).0.to_owned())
    }

    /// The PEM certificate the Passport service serves (generated beside the database
    /// unless configured).
    pub fn cert_path(&self) -> PathBuf {
        CertFiles::of(&self.config).cert
    }
}

/// A TCP connection to `addr` from the loopback address `from` (127.0.0.0/8 is all
/// loopback on Linux: each is another client address to the server), with a receive buffer
/// of `recv_buffer` bytes if given (a client on a slow link, or one that stops reading).
pub async fn tcp_from(addr: SocketAddr, from: std::net::IpAddr, recv_buffer: Option<u32>) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size).expect("SO_RCVBUF");
    }
    socket.bind(SocketAddr::new(from, 0)).expect("bind a loopback address");
    socket.connect(addr).await.expect("connect")
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A scripted protocol client.
pub struct Client {
    framed: Framed<TcpStream, MsnpCodec>,
    vars: HashMap<String, String>,
    /// Commands that `recv` passes over (e.g. presence noise in a chat test).
    ignored: Vec<&'static str>,
    pub local: SocketAddr,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        Client::over(TcpStream::connect(addr).await.expect("connect"))
    }

    /// A client on `stream`, however it was connected.
    pub fn over(stream: TcpStream) -> Client {
        let local = stream.local_addr().unwrap();
        let codec = MsnpCodec::new(Reading::FromServer, 64 * 1024, 64 * 1024);
        Client { framed: Framed::new(stream, codec), vars: HashMap::new(), ignored: Vec::new(), local }
    }

    /// The connection itself, for a test that goes on below the protocol.
    pub fn into_stream(self) -> TcpStream {
        self.framed.into_inner()
    }

    /// From now on, frames of these commands are skipped by `recv` and transcripts.
    pub fn ignore(&mut self, commands: &[&'static str]) {
        self.ignored = commands.to_vec();
    }

    /// A value captured by `{name}` in an earlier transcript line.
    pub fn var(&self, name: &str) -> String {
        self.vars.get(name).unwrap_or_else(|| panic!("nothing captured as {{{name}}}")).clone()
    }

    pub async fn send(&mut self, line: &str) {
        let line = self.substitute(line);
        self.send_raw(format!("{line}\r\n").as_bytes()).await;
    }

    /// Sends a payload command: `header` without its byte count, then `body`.
    pub async fn send_payload(&mut self, header: &str, body: &[u8]) {
        let mut bytes = format!("{} {}\r\n", self.substitute(header), body.len()).into_bytes();
        bytes.extend_from_slice(body);
        self.send_raw(&bytes).await;
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        let stream = self.framed.get_mut();
        stream.write_all(bytes).await.expect("send");
        stream.flush().await.expect("flush");
    }

    /// Sends a reply-built line (for symmetry with the server's encoder).
    pub async fn send_reply(&mut self, reply: Reply) {
        self.framed.send(reply).await.expect("send");
    }

    /// The next frame from the server; fails the test on timeout or hang-up.
    pub async fn recv(&mut self) -> Frame {
        match tokio::time::timeout(PATIENCE, self.framed.next()).await {
            Ok(Some(Ok(frame))) if self.ignored.iter().any(|c| frame.line.split(' ').next() == Some(c)) => {
                Box::pin(self.recv()).await
            }
            Ok(Some(Ok(frame))) => frame,
            Ok(Some(Err(e))) => panic!("bad frame from server: {e}"),
            Ok(None) => panic!("server closed the connection"),
            Err(_) => panic!("no reply within {PATIENCE:?}"),
        }
    }

    /// Expects the server to close the connection next.
    pub async fn expect_closed(&mut self) {
        match tokio::time::timeout(PATIENCE, self.framed.next()).await {
            Ok(None) | Ok(Some(Err(_))) => {}
            Ok(Some(Ok(frame))) => panic!("expected a hang-up, got {:?}", frame.line),
            Err(_) => panic!("server did not close the connection within {PATIENCE:?}"),
        }
    }

    /// Whether the server closes the connection within `wait` (frames before that are
    /// passed over).
    pub async fn closed_within(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.framed.next()).await {
                Ok(None) | Ok(Some(Err(_))) => return true,
                Ok(Some(Ok(_))) => continue,
                Err(_) => return false,
            }
        }
    }

    /// Reads and discards frames until the server has been quiet for a moment.
    pub async fn recv_until_quiet(&mut self) -> Vec<Frame> {
        let mut frames = Vec::new();
        while let Ok(Some(Ok(frame))) =
            tokio::time::timeout(Duration::from_millis(300), self.framed.next()).await
        {
            frames.push(frame);
        }
        frames
    }

    /// Expects nothing more for a short while (used where the protocol stays silent).
    pub async fn expect_silence(&mut self, wait: Duration) {
        if let Ok(next) = tokio::time::timeout(wait, self.framed.next()).await {
            panic!("expected silence, got {next:?}");
        }
    }

    /// Expects a payload command whose line starts with `prefix` and whose payload
    /// contains `needle`; returns the payload. The codec already checked the byte count.
    pub async fn expect_payload(&mut self, prefix: &str, needle: &str) -> String {
        let frame = self.recv().await;
        assert!(frame.line.starts_with(prefix), "expected {prefix}.., got {:?}", frame.line);
        let payload = String::from_utf8(frame.payload.expect("a payload").to_vec()).expect("UTF-8 payload");
        assert!(payload.contains(needle), "payload lacks {needle:?}:\n{payload}");
        payload
    }

    /// Plays a transcript (see the module docs).
    pub async fn transcript(&mut self, script: &str) {
        let mut last_payload: Option<String> = None;
        for raw in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Some(line) = raw.strip_prefix("C: ") {
                self.send(line).await;
            } else if raw == "S: (closed)" {
                self.expect_closed().await;
            } else if let Some(expected) = raw.strip_prefix("S: ") {
                let frame = self.recv().await;
                self.match_line(expected, &frame.line);
                last_payload = frame.payload.map(|p| String::from_utf8_lossy(&p).into_owned());
            } else if let Some(needle) = raw.strip_prefix("| ") {
                let payload = last_payload.as_deref().expect("a `|` line follows a payload command");
                assert!(payload.contains(needle), "payload lacks {needle:?}:\n{payload}");
            } else {
                panic!("bad transcript line {raw:?}");
            }
        }
    }

    fn match_line(&mut self, expected: &str, actual: &str) {
        let mut want: Vec<&str> = expected.split(' ').collect();
        let mut got: Vec<&str> = actual.split(' ').collect();
        let fail = || panic!("expected {expected:?}\n     got {actual:?}");
        if want.last() == Some(&"...") {
            want.pop();
            got.truncate(want.len());
        }
        if want.len() != got.len() {
            fail();
        }
        for (w, g) in want.iter().zip(&got) {
            if *w == "*" {
                continue;
            }
            // `{name}` captures a token, `C={name}` what follows a fixed prefix.
            let capture =
                w.split_once('{').and_then(|(prefix, rest)| Some((prefix, rest.strip_suffix('}')?)));
            if let Some((prefix, name)) = capture {
                let Some(g) = g.strip_prefix(prefix) else { fail() };
                match self.vars.get(name) {
                    Some(value) if value != g => fail(),
                    Some(_) => {}
                    None => {
                        self.vars.insert(name.to_owned(), g.to_owned());
                    }
                }
            } else if w != g {
                fail();
            }
        }
    }

    fn substitute(&self, line: &str) -> String {
        let mut line = line.to_owned();
        for (name, value) in &self.vars {
            line = line.replace(&format!("{{{name}}}"), value);
        }
        line
    }
}

/// Logs in and goes online, draining the ILN burst.
pub async fn online(server: &TestServer, email: &str, password: &str, dialect: Dialect) -> Client {
    let mut ns = server.login(email, password, dialect).await;
    let caps = if dialect.client_caps { " 0" } else { "" };
    ns.transcript(&format!("C: CHG 50 NLN\nS: CHG 50 NLN{caps}")).await;
    ns.ignore(&["ILN", "NLN", "FLN"]);
    ns
}

/// `XFR SB`, then `USR` on the switchboard it names.
pub async fn open_chat(ns: &mut Client, email: &str, name: &str) -> Client {
    ns.transcript("C: XFR 60 SB\nS: XFR 60 SB {sb} CKI {cookie}").await;
    let mut sb = Client::connect(ns.var("sb").parse().unwrap()).await;
    sb.transcript(&format!("C: USR 1 {email} {}\nS: USR 1 OK {email} {name}", ns.var("cookie"))).await;
    sb
}

/// Reads the `RNG` on `ns` and answers it; expects the roster in `iro` order.
pub async fn answer(
    ns: &mut Client,
    email: &str,
    caller: &str,
    caller_name: &str,
    roster: &[&str],
) -> Client {
    ns.transcript(&format!("S: RNG {{sid}} {{sb}} CKI {{cookie}} {caller} {caller_name}")).await;
    let mut sb = Client::connect(ns.var("sb").parse().unwrap()).await;
    sb.send(&format!("ANS 1 {email} {} {}", ns.var("cookie"), ns.var("sid"))).await;
    let total = roster.len();
    for (i, who) in roster.iter().enumerate() {
        sb.transcript(&format!("S: IRO 1 {} {total} {who}", i + 1)).await;
    }
    sb.transcript("S: ANS 1 OK").await;
    sb
}
