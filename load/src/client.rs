//! An MSNP client connection over real TCP: msnd's codec reading the server's side, the
//! login through the dispatch and the notification server (MD5 for MSNP2–7, Passport 1.4
//! for MSNP8, see `passport.rs`), and the answer a logged-in client owes (`QRY` to `CHL`). Nothing here panics on what a server sends: every
//! surprise is a [`Failure`] that says what happened.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures_util::StreamExt;
use msnd::codec::{CodecError, Frame, MsnpCodec, Reading};
use msnd::credentials::{md5_hex, msnp11_challenge_answer};
use msnd::protocol::dialect::Login;
use msnd::protocol::Dialect;
use rustix::io::Errno;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio_util::codec::Framed;

use crate::accounts::Account;
use crate::rx;

/// The official client's challenge id and key: `QRY` answers `md5(challenge + key)`.
pub const CHALLENGE_ID: &str = "msmsgs@msnmsgr.com";
pub const CHALLENGE_KEY: &str = "Q1P7W2E4J9R8U3S5";
/// The MSNP11 product id (and its key) the tool answers challenges with from MSNP11.
const PRODUCT_ID: &str = "PROD0090YUAUV{2B";
const PRODUCT_KEY: &str = "YMM8C_H7KCQ2S_KL";

/// Why an exchange with the server did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// This process has no file descriptor left (EMFILE, ENFILE).
    ClientFdLimit,
    /// No local port left for the source address (EADDRNOTAVAIL, EADDRINUSE).
    ClientPorts,
    /// Connection refused: nothing listening there.
    Refused,
    /// The server closed or reset the connection before the exchange was over.
    Closed,
    /// No answer in time (a server at its descriptor limit leaves connections unaccepted).
    Timeout,
    /// An answer that does not fit the protocol, an error code among them.
    Protocol,
    /// Any other I/O error.
    Io,
    /// The server named an address outside the loopback range, where the tool never goes.
    NotLoopback,
}

/// A failed exchange: what kind, and the details for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: FailureKind,
    pub detail: String,
}

impl Failure {
    pub fn new(kind: FailureKind, detail: impl Into<String>) -> Failure {
        Failure { kind, detail: detail.into() }
    }

    /// Classifies an I/O error by its errno.
    pub fn io(context: &str, e: &std::io::Error) -> Failure {
        use std::io::ErrorKind as K;
        let kind = match (Errno::from_io_error(e), e.kind()) {
            (Some(Errno::MFILE | Errno::NFILE), _) => FailureKind::ClientFdLimit,
            (_, K::AddrNotAvailable | K::AddrInUse) => FailureKind::ClientPorts,
            (_, K::ConnectionRefused) => FailureKind::Refused,
            (_, K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof) => {
                FailureKind::Closed
            }
            (_, K::TimedOut) => FailureKind::Timeout,
            _ => FailureKind::Io,
        };
        Failure::new(kind, format!("{context}: {e}"))
    }

    fn protocol(detail: impl Into<String>) -> Failure {
        Failure::new(FailureKind::Protocol, detail)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.detail)
    }
}

impl std::error::Error for Failure {}

/// Whether an address is on this machine's loopback.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

fn check_loopback(addr: SocketAddr) -> Result<SocketAddr, Failure> {
    if is_loopback(&addr) {
        Ok(addr)
    } else {
        Err(Failure::new(FailureKind::NotLoopback, format!("{addr} is not a loopback address")))
    }
}

/// A TCP connection from `source` (a 127.0.0.x address, so that each source has its own
/// ephemeral ports) to `addr`, which must be a loopback address.
pub async fn connect_tcp(addr: SocketAddr, source: Option<Ipv4Addr>) -> Result<TcpStream, Failure> {
    let addr = check_loopback(addr)?;
    let socket = match addr.ip() {
        IpAddr::V4(_) => TcpSocket::new_v4(),
        IpAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(|e| Failure::io("socket", &e))?;
    if let (Some(ip), IpAddr::V4(_)) = (source, addr.ip()) {
        socket.bind(SocketAddr::new(ip.into(), 0)).map_err(|e| Failure::io(&format!("bind {ip}"), &e))?;
    }
    socket.connect(addr).await.map_err(|e| Failure::io(&format!("connect {addr}"), &e))
}

/// One connection to a dispatch, notification or switchboard server.
pub struct Conn {
    framed: Framed<rx::Stream, MsnpCodec>,
    next_tr: u32,
    timeout: Duration,
    /// Whether `CHL` is answered with the MSNP11 algorithm (MSNP11 and later).
    product_challenges: bool,
}

impl Conn {
    /// Connects (see [`connect_tcp`]) within `timeout`.
    pub async fn connect(
        addr: SocketAddr,
        source: Option<Ipv4Addr>,
        timeout: Duration,
    ) -> Result<Conn, Failure> {
        let stream = match tokio::time::timeout(timeout, connect_tcp(addr, source)).await {
            Ok(connected) => connected?,
            Err(_) => return Err(Failure::new(FailureKind::Timeout, format!("connect {addr}: no answer"))),
        };
        let _ = stream.set_nodelay(true);
        let codec = MsnpCodec::new(Reading::FromServer, 64 * 1024, 64 * 1024);
        let framed = Framed::new(rx::Stream::new(stream), codec);
        Ok(Conn { framed, next_tr: 1, timeout, product_challenges: false })
    }

    /// From now on, [`Conn::arrived`] tells when each frame reached this machine.
    pub fn timestamp_arrivals(&mut self) -> Result<(), Failure> {
        self.framed.get_mut().timestamp_arrivals().map_err(|e| Failure::io("SO_TIMESTAMPNS", &e))
    }

    /// When the data of the last frame returned arrived at the socket (the kernel's
    /// timestamp), once [`Conn::timestamp_arrivals`] is on.
    pub fn arrived(&self) -> Option<u64> {
        self.framed.get_ref().arrived()
    }

    /// A fresh transaction id.
    pub fn tr(&mut self) -> u32 {
        let tr = self.next_tr;
        self.next_tr = self.next_tr.wrapping_add(1).max(1);
        tr
    }

    /// Sends one command line (CRLF added).
    pub async fn send(&mut self, line: &str) -> Result<(), Failure> {
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        self.send_raw(&bytes).await
    }

    /// Sends a payload command: `header len` CRLF, then `body`.
    pub async fn send_payload(&mut self, header: &str, body: &[u8]) -> Result<(), Failure> {
        let mut bytes = format!("{header} {}\r\n", body.len()).into_bytes();
        bytes.extend_from_slice(body);
        self.send_raw(&bytes).await
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        // Lines are written straight to the socket: the framed writer is never used, so
        // nothing can be queued in it ahead of them.
        self.framed.get_mut().write_all(bytes).await.map_err(|e| Failure::io("send", &e))
    }

    /// The next frame, or `None` when the server closed the connection.
    pub async fn next(&mut self) -> Option<Result<Frame, Failure>> {
        match self.framed.next().await? {
            Ok(frame) => Some(Ok(frame)),
            Err(CodecError::Io(e)) => Some(Err(Failure::io("receive", &e))),
            Err(e) => Some(Err(Failure::protocol(format!("unreadable input from the server: {e}")))),
        }
    }

    /// The next frame within the timeout.
    pub async fn recv(&mut self) -> Result<Frame, Failure> {
        match tokio::time::timeout(self.timeout, self.next()).await {
            Ok(Some(frame)) => frame,
            Ok(None) => Err(Failure::new(FailureKind::Closed, "the server closed the connection")),
            Err(_) => Err(Failure::new(FailureKind::Timeout, format!("no answer within {:?}", self.timeout))),
        }
    }

    /// Reads until the answer to transaction `tr`: a frame whose command is one of
    /// `commands`, or an error code (a failure). Challenges met on the way are answered;
    /// anything else unrelated is passed over.
    pub async fn reply(&mut self, commands: &[&str], tr: u32) -> Result<Frame, Failure> {
        let tr_text = tr.to_string();
        loop {
            let frame = self.recv().await?;
            let mut tokens = frame.line.split(' ');
            let command = tokens.next().unwrap_or_default();
            let frame_tr = tokens.next();
            if frame_tr == Some(tr_text.as_str()) {
                if commands.contains(&command) {
                    return Ok(frame);
                }
                if command.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(Failure::protocol(format!(
                        "the server answered {:?} to {}",
                        frame.line, commands[0]
                    )));
                }
            }
            match command {
                "CHL" => self.answer_challenge(&frame.line).await?,
                "OUT" => {
                    return Err(Failure::new(
                        FailureKind::Closed,
                        format!("the server said {:?}", frame.line),
                    ))
                }
                _ => {}
            }
        }
    }

    /// `CHL 0 challenge` → `QRY tr client-id 32` + `md5(challenge + key)`, or from MSNP11
    /// `QRY tr product-id 32` + the MSNP11 answer.
    pub async fn answer_challenge(&mut self, line: &str) -> Result<(), Failure> {
        let challenge =
            line.split(' ').nth(2).ok_or_else(|| Failure::protocol(format!("bad challenge {line:?}")))?;
        let (id, answer) = match self.product_challenges {
            true => (PRODUCT_ID, msnp11_challenge_answer(challenge, PRODUCT_ID, PRODUCT_KEY)),
            false => (CHALLENGE_ID, md5_hex(&[challenge.as_bytes(), CHALLENGE_KEY.as_bytes()])),
        };
        let tr = self.tr();
        self.send_payload(&format!("QRY {tr} {id}"), answer.as_bytes()).await
    }
}

/// Where and how to log in.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Target {
    /// The dispatch server (or a notification server that authenticates directly).
    pub dispatch: SocketAddr,
    /// MSNP version spoken, 2 to 7 (MD5 login) or 8 to 12 (Passport 1.4 login).
    pub version: u8,
    /// The Passport service over plain HTTP, for MSNP8 (a loopback address).
    pub passport: SocketAddr,
    /// Longest wait for any one answer.
    pub timeout: Duration,
}

/// A session after a complete login: SYN read, status NLN.
pub struct LoggedIn {
    pub conn: Conn,
    /// Handles on my forward list, from the SYN answer.
    pub forward: Vec<String>,
}

impl Target {
    /// What the spoken version does differently, from the one table that knows: msnd's.
    fn dialect(&self) -> Dialect {
        Dialect::SUPPORTED.into_iter().find(|d| d.version == self.version).unwrap_or(Dialect::MSNP7)
    }
}

/// The complete login: dispatch (`VER`, `INF` or MSNP8's `CVR`, `USR I` → `XFR NS`), then
/// the notification server (the same, `USR I` answered by a challenge, `USR S` with the MD5
/// answer or MSNP8's Passport ticket), `SYN 0` read to its end, and `CHG NLN` answered.
pub async fn login(
    target: &Target,
    account: &Account,
    source: Option<Ipv4Addr>,
) -> Result<LoggedIn, Failure> {
    let dialect = target.dialect();
    let package = dialect.auth_package();
    let mut conn = Conn::connect(target.dispatch, source, target.timeout).await?;
    conn.product_challenges = dialect.product_challenges;
    hello(&mut conn, &dialect, &account.email).await?;
    let tr = conn.tr();
    conn.send(&format!("USR {tr} {package} I {}", account.email)).await?;
    let answer = conn.reply(&["XFR", "USR"], tr).await?;
    let tokens: Vec<&str> = answer.line.split(' ').collect();
    let challenge = match tokens.as_slice() {
        ["XFR", _, "NS", address, ..] => {
            let ns: SocketAddr =
                address.parse().map_err(|_| Failure::protocol(format!("bad XFR address {address:?}")))?;
            drop(conn);
            conn = Conn::connect(ns, source, target.timeout).await?;
            conn.product_challenges = dialect.product_challenges;
            hello(&mut conn, &dialect, &account.email).await?;
            let tr = conn.tr();
            conn.send(&format!("USR {tr} {package} I {}", account.email)).await?;
            let answer = conn.reply(&["USR"], tr).await?;
            challenge_of(&answer.line, package)?
        }
        // A server without a separate dispatch step authenticates on the first connection.
        ["USR", ..] => challenge_of(&answer.line, package)?,
        _ => return Err(Failure::protocol(format!("unexpected answer {:?} to USR I", answer.line))),
    };
    let response = match dialect.login {
        Login::Twn => crate::passport::ticket(target, account, &challenge, source).await?,
        Login::Md5 => md5_hex(&[challenge.as_bytes(), account.password.as_bytes()]),
    };
    let tr = conn.tr();
    conn.send(&format!("USR {tr} {package} S {response}")).await?;
    let ok = conn.reply(&["USR"], tr).await?;
    if ok.line.split(' ').nth(2) != Some("OK") {
        return Err(Failure::protocol(format!("login refused: {:?}", ok.line)));
    }
    let forward = sync_lists(&mut conn, &dialect).await?;
    let tr = conn.tr();
    // MSNP8 clients add their capabilities: none here.
    let caps = if dialect.client_caps { " 0" } else { "" };
    conn.send(&format!("CHG {tr} NLN{caps}")).await?;
    conn.reply(&["CHG"], tr).await?;
    Ok(LoggedIn { conn, forward })
}

/// `VER`, then `INF` (the MD5 login agreed) or, from MSNP8, which has no INF, `CVR` with
/// MSN Messenger 5.0's details.
async fn hello(conn: &mut Conn, dialect: &Dialect, email: &str) -> Result<(), Failure> {
    let tr = conn.tr();
    conn.send(&format!("VER {tr} {}", dialect.client_offer())).await?;
    let ver = conn.reply(&["VER"], tr).await?;
    let wanted = dialect.name();
    if ver.line.split(' ').nth(2) != Some(wanted.as_str()) {
        return Err(Failure::protocol(format!("{wanted} not agreed: {:?}", ver.line)));
    }
    let tr = conn.tr();
    if !dialect.inf {
        conn.send(&format!("CVR {tr} 0x0409 winnt 5.1 i386 MSNMSGR 5.0.0540 MSMSGS {email}")).await?;
        conn.reply(&["CVR"], tr).await?;
        return Ok(());
    }
    conn.send(&format!("INF {tr}")).await?;
    let inf = conn.reply(&["INF"], tr).await?;
    if !inf.line.split(' ').any(|t| t == "MD5") {
        return Err(Failure::protocol(format!("no MD5 login: {:?}", inf.line)));
    }
    Ok(())
}

/// The challenge of `USR tr package S challenge`: the MD5 salt, or the Passport 1.4 string.
fn challenge_of(line: &str, package: &str) -> Result<String, Failure> {
    match line.split(' ').collect::<Vec<_>>().as_slice() {
        ["USR", _, p, "S", challenge] if *p == package => Ok((*challenge).to_owned()),
        _ => Err(Failure::protocol(format!("expected the {package} challenge, got {line:?}"))),
    }
}

/// `SYN tr 0` (MSNP10: `SYN tr 0 0`) read to its last line (MSNP2–7: the reverse list's
/// last `LST`; MSNP8 and later: the announced number of `LST`s); returns the forward list.
async fn sync_lists(conn: &mut Conn, dialect: &Dialect) -> Result<Vec<String>, Failure> {
    let tr = conn.tr();
    let nothing_cached = if dialect.address_book { "0 0" } else { "0" };
    conn.send(&format!("SYN {tr} {nothing_cached}")).await?;
    let syn = conn.reply(&["SYN"], tr).await?;
    if dialect.compact_syn {
        let mut lists = CompactSyn::new(&syn.line)?;
        while !lists.done() {
            let frame = conn.recv().await?;
            match frame.line.split(' ').next() {
                Some("CHL") => conn.answer_challenge(&frame.line).await?,
                _ => lists.take(&frame.line)?,
            }
        }
        return Ok(lists.forward);
    }
    let tr_text = tr.to_string();
    let mut forward = Vec::new();
    loop {
        let frame = conn.recv().await?;
        let tokens: Vec<&str> = frame.line.split(' ').collect();
        match tokens.as_slice() {
            ["LST", t, list, _version, index, total, rest @ ..] if *t == tr_text => {
                if *list == "FL" {
                    if let Some(email) = rest.first() {
                        forward.push((*email).to_owned());
                    }
                }
                if *list == "RL" && index == total {
                    return Ok(forward);
                }
            }
            [code, t, ..] if *t == tr_text && code.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(Failure::protocol(format!("the server answered {:?} to SYN", frame.line)));
            }
            ["CHL", ..] => conn.answer_challenge(&frame.line).await?,
            _ => {}
        }
    }
}

/// MSNP8's answer to `SYN` as it is read: `SYN tr version contacts groups` (just the
/// version when the client is up to date; MSNP10 has two timestamps in its place), then
/// lines without a transaction id (GTC, BLP, PRP, LSG) and exactly `contacts` lines
/// `LST handle name lists [groups]` (MSNP10: `LST N=handle F=name [C=guid] lists ..`), each
/// possibly followed by BPR lines.
#[derive(Debug)]
struct CompactSyn {
    /// `LST` lines still to come.
    due: usize,
    /// Handles whose list bits include the forward list's (1).
    forward: Vec<String>,
}

impl CompactSyn {
    fn new(syn: &str) -> Result<CompactSyn, Failure> {
        let due = match syn.split(' ').collect::<Vec<_>>().as_slice() {
            ["SYN", _, _] | ["SYN", _, _, _] => Some(0),
            ["SYN", _, _, contacts, _] | ["SYN", _, _, _, contacts, _] => contacts.parse().ok(),
            _ => None,
        };
        let due = due.ok_or_else(|| Failure::protocol(format!("unexpected MSNP8 SYN answer {syn:?}")))?;
        Ok(CompactSyn { due, forward: Vec::new() })
    }

    fn done(&self) -> bool {
        self.due == 0
    }

    /// Takes the next line; only `LST` lines count, an error code is a failure.
    fn take(&mut self, line: &str) -> Result<(), Failure> {
        match line.split(' ').collect::<Vec<_>>().as_slice() {
            ["LST", entry @ ..] => {
                let (email, lists) = match entry {
                    [handle, rest @ ..] if handle.starts_with("N=") => {
                        (&handle[2..], rest.iter().find(|t| !t.starts_with("F=") && !t.starts_with("C=")))
                    }
                    [email, _name, lists, ..] => (*email, Some(lists)),
                    _ => ("", None),
                };
                let lists: u8 = lists
                    .and_then(|bits| bits.parse().ok())
                    .ok_or_else(|| Failure::protocol(format!("bad list bits in {line:?}")))?;
                if lists & 1 != 0 {
                    self.forward.push((*email).to_owned());
                }
                self.due = self.due.saturating_sub(1);
            }
            [code, ..] if !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(Failure::protocol(format!("the server answered {line:?} during SYN")));
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified_by_errno() {
        let emfile = std::io::Error::from_raw_os_error(Errno::MFILE.raw_os_error());
        assert_eq!(Failure::io("socket", &emfile).kind, FailureKind::ClientFdLimit);
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(Failure::io("connect", &refused).kind, FailureKind::Refused);
        let ports = std::io::Error::from_raw_os_error(Errno::ADDRNOTAVAIL.raw_os_error());
        assert_eq!(Failure::io("connect", &ports).kind, FailureKind::ClientPorts);
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(Failure::io("receive", &reset).kind, FailureKind::Closed);
    }

    #[test]
    fn challenges_and_loopback() {
        let salt = challenge_of("USR 6 MD5 S 1234567890.123456789", "MD5").unwrap();
        assert_eq!(salt, "1234567890.123456789");
        assert!(challenge_of("USR 6 OK a@b.com", "MD5").is_err());
        let twn = "lc=1033,id=507,tw=40,fs=1,ct=1700000000,kpp=1,kv=5,ver=2.1.0173.1,tpf=abc";
        assert_eq!(challenge_of(&format!("USR 6 TWN S {twn}"), "TWN").unwrap(), twn);
        assert!(challenge_of(&format!("USR 6 TWN S {twn}"), "MD5").is_err());
        assert!(check_loopback("127.0.0.9:1863".parse().unwrap()).is_ok());
        assert!(check_loopback("[::1]:1863".parse().unwrap()).is_ok());
        assert_eq!(
            check_loopback("10.0.0.1:1863".parse().unwrap()).unwrap_err().kind,
            FailureKind::NotLoopback
        );
    }

    /// Feeds `lines` to a [`CompactSyn`] started by `syn`; the forward list once done.
    fn read_compact_syn(syn: &str, lines: &[&str]) -> Result<Option<Vec<String>>, Failure> {
        let mut lists = CompactSyn::new(syn)?;
        for line in lines {
            if lists.done() {
                break;
            }
            lists.take(line)?;
        }
        Ok(lists.done().then_some(lists.forward))
    }

    #[test]
    fn msnp8_syn_ends_after_the_announced_lst_lines() {
        let lines = [
            "GTC A",
            "BLP AL",
            "PRP PHH 555%20123",
            "LSG 0 Other%20Contacts 0",
            "LST a@b.com A 11 0",
            "BPR PHH 1",
            "LST c@d.com C 8",
            "LST e@f.com E 3 0,1",
            "NLN NLN x@y.com X 0",
        ];
        let forward = read_compact_syn("SYN 5 42 3 1", &lines).unwrap().unwrap();
        assert_eq!(forward, ["a@b.com", "e@f.com"]);
        assert_eq!(read_compact_syn("SYN 5 42 4 1", &lines).unwrap(), None, "one LST short");
        assert_eq!(read_compact_syn("SYN 5 1 0 0", &[]).unwrap(), Some(vec![]), "no contacts");
        assert_eq!(read_compact_syn("SYN 5 42", &[]).unwrap(), Some(vec![]), "up to date");
        assert!(read_compact_syn("SYN 5 42 x 1", &[]).is_err());
        assert!(read_compact_syn("SYN 5 42 1 1", &["LST a@b.com A FL 0"]).is_err());
        assert!(read_compact_syn("SYN 5 42 1 1", &["GTC A", "500 5"]).is_err());
    }

    #[test]
    fn msnp10_syn_names_entries_by_prefix() {
        let stamp = "2000-01-01T00:00:42.0000000-00:00";
        let lines = [
            "GTC A",
            "PRP MFN Me",
            "LSG Friends 3c7e9a10-2b4d-4f6a-8c1e-5d7f9b2a4c6e",
            "LST N=a@b.com F=A C=8f2c1d3e-5a6b-4c7d-9e0f-1a2b3c4d5e6f 11 1 3c7e9a10-2b4d-4f6a-8c1e-5d7f9b2a4c6e",
            "LST N=c@d.com F=C 16 1",
        ];
        let syn = format!("SYN 5 {stamp} {stamp} 2 1");
        assert_eq!(read_compact_syn(&syn, &lines).unwrap(), Some(vec!["a@b.com".to_owned()]));
        assert_eq!(read_compact_syn(&format!("SYN 5 {stamp} {stamp}"), &[]).unwrap(), Some(vec![]));
        assert!(read_compact_syn(&syn, &["LST N=a@b.com F=A C=x"]).is_err());
    }

    /// Complete MSNP8 to MSNP12 logins against msnd itself, in-process on ephemeral loopback
    /// ports with a temporary database: two friends see each other, a wrong password fails.
    #[tokio::test]
    async fn passport_logins_against_msnd() {
        for version in [8, 9, 10, 11, 12] {
            passport_login_against_msnd(version).await;
        }
    }

    async fn passport_login_against_msnd(version: u8) {
        use msnd::config::Config;
        use msnd::credentials::Credentials;
        use msnd::protocol::lists::List;
        use msnd::server::Server;
        use msnd::store::Store;

        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            database_url: format!("sqlite://{}", dir.path().join("msnd.db").display()),
            ..Config::default()
        };
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        (config.listen.dispatch, config.listen.notification, config.listen.switchboard) = (any, any, any);
        (config.passport.http, config.passport.https) = (any, any);
        (config.admin.listen, config.web.listen) = (any, any.to_string());
        let store = Store::open(&config.database_url).await.unwrap();
        let (alice, bob) = ("alice@example.com", "bob@example.com");
        for (email, password) in [(alice, "alice pw!"), (bob, "bob-pw")] {
            store.create_user(&email.parse().unwrap(), email, &Credentials::new(password)).await.unwrap();
        }
        for (owner, contact) in [(alice, bob), (bob, alice)] {
            let id = store.user(&owner.parse().unwrap()).await.unwrap().unwrap().id;
            for list in [List::Forward, List::Allow] {
                store.add_to_list(id, list, &contact.parse().unwrap(), contact, None, 150).await.unwrap();
            }
        }
        let server = Server::bind(config, store).await.unwrap();
        let addrs = server.addrs();
        let shutdown = tokio_util::sync::CancellationToken::new();
        let _stop = shutdown.clone().drop_guard();
        tokio::spawn(server.run(shutdown));

        let target = Target {
            dispatch: addrs.dispatch,
            version,
            passport: addrs.passport_http,
            timeout: Duration::from_secs(10),
        };
        let account =
            |email: &str, password: &str| Account { email: email.into(), password: password.into() };
        let mut bob_session = login(&target, &account(bob, "bob-pw"), None).await.unwrap();
        assert_eq!(bob_session.forward, [alice]);
        let alice_session = login(&target, &account(alice, "alice pw!"), None).await.unwrap();
        assert_eq!(alice_session.forward, [bob]);
        let nln = format!("NLN NLN {alice} ");
        while !bob_session.conn.recv().await.unwrap().line.starts_with(&nln) {}

        let wrong = login(&target, &account(alice, "wrong"), None).await.err().unwrap();
        assert_eq!(wrong.kind, FailureKind::Protocol, "{wrong}");
        assert!(wrong.detail.contains("401") || wrong.detail.contains("refused"), "{wrong}");
    }
}
