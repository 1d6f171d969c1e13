//! One client connection: owns the framed socket and runs the loop that feeds commands and
//! mailbox events to a [`Service`] and writes what it answers. It never knows what a
//! command means; the service never touches the socket.

use std::borrow::Cow;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::{sleep_until, Instant};
use tokio_util::codec::{Framed, FramedParts};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, trace};

use crate::admission::Admission;
use crate::codec::{CodecError, Frame, MsnpCodec, Reading};
use crate::config::Limits;
use crate::mailbox;
use crate::protocol::vocabulary::{self, Secret};
use crate::protocol::{render, Email, ProtocolError, Reply, TrId};

/// The two ends of a client's connection, IPv4-mapped addresses unmapped.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    pub remote: SocketAddr,
    pub local: SocketAddr,
}

impl Peer {
    pub fn of(stream: &TcpStream) -> std::io::Result<Peer> {
        let canonical = |a: SocketAddr| SocketAddr::new(a.ip().to_canonical(), a.port());
        Ok(Peer { remote: canonical(stream.peer_addr()?), local: canonical(stream.local_addr()?) })
    }
}

/// What a service answers to one command or event.
#[derive(Debug, Default)]
pub struct Outcome {
    pub replies: Vec<Reply>,
    /// Close the connection once the replies are written, and why (for the log).
    pub hang_up: Option<&'static str>,
}

impl Outcome {
    pub fn reply(reply: Reply) -> Self {
        Outcome { replies: vec![reply], hang_up: None }
    }

    pub fn replies(replies: Vec<Reply>) -> Self {
        Outcome { replies, hang_up: None }
    }

    /// Writes `replies`, then closes the connection; `why` is logged.
    pub fn hang_up(replies: Vec<Reply>, why: &'static str) -> Self {
        Outcome { replies, hang_up: Some(why) }
    }

    /// `<code> <trid>` for a rejected command, where the protocol has a code. The
    /// connection ends if the error demands it or `before_login` (the official servers
    /// hung up on any mistake before authentication).
    pub fn rejected(tr: Option<TrId>, error: &ProtocolError, before_login: bool) -> Self {
        debug!(%error, "command rejected");
        let replies = error.code().map(|code| Reply::error(code, tr)).into_iter().collect();
        let hang_up = (error.hangs_up() || before_login).then_some("command rejected");
        Outcome { replies, hang_up }
    }
}

/// A protocol service (dispatch, notification, switchboard) behind one connection.
pub trait Service: Send {
    type Event: Send;
    /// Answers one command.
    fn handle(&mut self, frame: Frame) -> impl Future<Output = Outcome> + Send;
    /// Answers an event from another session. Synchronous: rendering an event needs no I/O,
    /// and this runs for every event a session receives.
    fn on_event(&mut self, event: Self::Event) -> Outcome;
    /// Whether the client has logged in (or joined its chat). Until then it has
    /// [`Deadlines::login`] from connecting; after, [`Deadlines::idle`] of silence.
    fn authenticated(&self) -> bool;
    /// The account behind the connection once authenticated, for the log.
    fn account(&self) -> Option<&Email>;
    /// When the service next wants [`Service::on_timer`] called, if ever.
    fn timer(&self) -> Option<Instant> {
        None
    }
    /// Runs when the time from [`Service::timer`] has come.
    fn on_timer(&mut self) -> impl Future<Output = Outcome> + Send {
        async { Outcome::default() }
    }
}

/// How long a connection may take, and stay quiet.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// From connecting to the first command (blank lines do not count).
    pub first_command: Duration,
    /// From connecting to logging in (or joining a chat).
    pub login: Duration,
    /// After login: how long the connection may go without activity.
    pub idle: Duration,
    /// Whether what the server sends counts as activity, not only what the client sends.
    /// On the switchboard it does: clients never ping there, and someone reading a chat
    /// sends nothing.
    pub idle_counts_events: bool,
    /// From the first byte of a command to its last.
    pub command: Duration,
}

impl Deadlines {
    /// The notification and dispatch servers' deadlines: idle means no command.
    pub fn of(limits: &Limits) -> Deadlines {
        Deadlines {
            first_command: Duration::from_secs(limits.first_command_timeout_secs),
            login: limits.login_timeout(),
            idle: limits.idle_timeout(),
            idle_counts_events: false,
            command: Duration::from_secs(limits.command_timeout_secs),
        }
    }
}

/// How a connection ended, for the log.
#[derive(Debug)]
enum Ended {
    ClientClosed,
    ServerHungUp(&'static str),
    Silent,
    Flooding,
    Killed,
    Shutdown,
}

/// A token bucket: `rate` commands a second on average, bursts of up to `burst`.
#[derive(Debug)]
struct RateLimit {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimit {
    fn new(limits: &Limits) -> RateLimit {
        let burst = limits.command_burst as f64;
        RateLimit { rate: limits.commands_per_sec as f64, burst, tokens: burst, last: Instant::now() }
    }

    /// Takes one token; false when the client is sending faster than allowed.
    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.last = now;
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

/// Everything a connection's loop reacts to besides the socket.
pub struct Signals<E> {
    pub mailbox: mailbox::Receiver<E>,
    /// Cancelled to drop this connection without a word.
    pub kill: CancellationToken,
    /// Cancelled when the server shuts down: the client is told `OUT SSD`.
    pub shutdown: CancellationToken,
    /// The connection's place under the connection caps, marked once it has logged in.
    pub admission: Admission,
}

/// A client's connection, framed; the first command may have been read already, so that a
/// listener can choose the service by it.
pub struct Connection {
    framed: Framed<TcpStream, MsnpCodec>,
    first: Option<Frame>,
    opened: Instant,
    rate: RateLimit,
    /// When the command being received began to arrive (its first bytes were readable).
    receiving_since: Option<Instant>,
}

impl Connection {
    pub fn new(stream: TcpStream, limits: &Limits) -> Connection {
        let codec = MsnpCodec::new(Reading::FromClient, limits.max_line_bytes, limits.max_payload_bytes);
        // Both buffers start empty (no allocation); see `next_frame` and `release_buffers`.
        let framed = Framed::from_parts(FramedParts::new::<Reply>(stream, codec));
        let rate = RateLimit::new(limits);
        Connection { framed, first: None, opened: Instant::now(), rate, receiving_since: None }
    }

    /// Reads the first command (blank lines before it count against the rate, nothing else),
    /// within the first-command deadline. `None` if the client closed, was too slow, too
    /// fast, sent something that is no command or `kill` came first; the reason is logged.
    pub async fn first_command(&mut self, deadlines: &Deadlines, kill: &CancellationToken) -> Option<&Frame> {
        let by = self.opened + deadlines.first_command.min(deadlines.login);
        let ended = loop {
            let next = tokio::select! {
                () = kill.cancelled() => break Ok(Ended::Killed),
                next = tokio::time::timeout_at(by, self.next_frame(deadlines.command)) => next,
            };
            match next {
                Ok(Some(Ok(_))) if !self.rate.take() => break Ok(Ended::Flooding),
                Ok(Some(Ok(frame))) if frame.line.is_empty() => continue,
                Ok(Some(Ok(frame))) => {
                    trace!(target: "msnd::wire", "C: {}", redact(&frame.line));
                    return Some(self.first.insert(frame));
                }
                Ok(None) => break Ok(Ended::ClientClosed),
                Ok(Some(Err(e))) => break Err(e),
                Err(_) => break Ok(Ended::Silent),
            }
        };
        log_end(None, &ended, self.opened);
        None
    }

    /// The next frame from the client. A connection with nothing buffered holds no read
    /// buffer (see [`release_buffers`]): it waits until the socket is readable and only then
    /// takes one. A command must arrive whole within `limit` of its first bytes. Cancel-safe,
    /// like `Framed::next`.
    async fn next_frame(&mut self, limit: Duration) -> Option<Result<Frame, CodecError>> {
        loop {
            if self.framed.read_buffer().capacity() == 0 {
                if let Err(e) = self.framed.get_ref().readable().await {
                    return Some(Err(e.into()));
                }
                self.framed.read_buffer_mut().reserve(READ_CHUNK);
            }
            let since = *self.receiving_since.get_or_insert_with(Instant::now);
            match tokio::time::timeout_at(since + limit, self.framed.next()).await {
                Ok(frame) => {
                    self.receiving_since = None;
                    return frame;
                }
                // Readable, but nothing came after all: wait afresh.
                Err(_) if self.framed.read_buffer().is_empty() && !self.framed.codec().mid_frame() => {
                    self.receiving_since = None;
                    *self.framed.read_buffer_mut() = BytesMut::new();
                }
                Err(_) => return Some(Err(CodecError::Incomplete { secs: limit.as_secs() })),
            }
        }
    }
}

/// Runs `service` on `conn` until either side ends it, then logs how it ended. The service
/// cleans up when dropped, so every way out (including a panic) is covered.
pub async fn run<S: Service>(
    mut conn: Connection,
    mut service: S,
    signals: Signals<S::Event>,
    deadlines: &Deadlines,
) {
    let ended = pump(&mut conn, &mut service, signals, deadlines).await;
    let account = service.account().cloned();
    drop(service);
    log_end(account.as_ref(), &ended, conn.opened);
}

/// Logs how a connection ended: at `info` for a session that had logged in or for input
/// that is no protocol, else at `debug` (port scanners, dispatch hand-offs).
fn log_end(account: Option<&Email>, ended: &Result<Ended, CodecError>, opened: Instant) {
    let secs = opened.elapsed().as_secs();
    let reason: Cow<'static, str> = match ended {
        Ok(Ended::ClientClosed) => "closed by the client".into(),
        Ok(Ended::ServerHungUp(why)) => (*why).into(),
        Ok(Ended::Silent) if account.is_some() => "idle".into(),
        Ok(Ended::Silent) => "not logged in in time".into(),
        Ok(Ended::Flooding) => "commands sent faster than limits.commands_per_sec".into(),
        Ok(Ended::Killed) if account.is_some() => "dropped: not reading what it is sent".into(),
        Ok(Ended::Killed) => "dropped to make room for other connections, or at shutdown".into(),
        Ok(Ended::Shutdown) => "server shutting down".into(),
        Err(CodecError::Io(e)) => format!("connection lost: {e}").into(),
        Err(e) => format!("malformed input: {e}").into(),
    };
    match account {
        Some(user) => info!(%user, %reason, secs, "session ended"),
        None if matches!(ended, Err(e) if !matches!(e, CodecError::Io(_))) => {
            info!(%reason, secs, "connection closed")
        }
        None if matches!(ended, Ok(Ended::Flooding)) => info!(%reason, secs, "connection closed"),
        None => debug!(%reason, secs, "connection closed"),
    }
}

async fn pump<S: Service>(
    conn: &mut Connection,
    service: &mut S,
    mut signals: Signals<S::Event>,
    deadlines: &Deadlines,
) -> Result<Ended, CodecError> {
    let login_deadline = conn.opened + deadlines.login;
    let first_deadline = conn.opened + deadlines.first_command.min(deadlines.login);
    let mut heard = conn.first.is_some();
    let mut logged_in = false;
    let mut last_active = Instant::now();
    // Waiting on the kill token and the two timers registers a waiter each; they live across
    // iterations instead of being registered anew for every command and event.
    let killed = signals.kill.cancelled();
    let timer_due = sleep_until(login_deadline);
    let silence = sleep_until(first_deadline);
    tokio::pin!(killed, timer_due, silence);
    loop {
        if !logged_in && service.authenticated() {
            logged_in = true;
            signals.admission.logged_in();
        }
        let timer = service.timer();
        if let Some(due) = timer.filter(|&due| due != timer_due.deadline()) {
            timer_due.as_mut().reset(due);
        }
        let give_up = match (logged_in, heard) {
            (true, _) => last_active + deadlines.idle,
            (false, true) => login_deadline,
            (false, false) => first_deadline,
        };
        if give_up != silence.deadline() {
            silence.as_mut().reset(give_up);
        }
        // The service's futures are boxed: a login's (database calls and all) is several KiB,
        // and unboxed it would sit in every connection's task for the connection's life.
        let outcome = if let Some(first) = conn.first.take() {
            Box::pin(service.handle(first)).await
        } else {
            tokio::select! {
                biased;
                () = &mut killed => {
                    if !signals.shutdown.is_cancelled() {
                        return Ok(Ended::Killed);
                    }
                    Outcome::hang_up(vec![render::out_shutdown()], "server shutting down")
                }
                Some(event) = signals.mailbox.recv() => {
                    if deadlines.idle_counts_events {
                        last_active = Instant::now();
                    }
                    let mut outcome = service.on_event(event);
                    // Events that queued up meanwhile go out in the same write: under a burst of
                    // presence changes, one system call instead of one per event.
                    for _ in 1..EVENT_BATCH {
                        if outcome.hang_up.is_some() {
                            break;
                        }
                        let Some(event) = signals.mailbox.try_recv() else { break };
                        let more = service.on_event(event);
                        outcome.replies.extend(more.replies);
                        outcome.hang_up = more.hang_up;
                    }
                    outcome
                }
                frame = conn.next_frame(deadlines.command) => match frame {
                    None => return Ok(Ended::ClientClosed),
                    Some(frame) => {
                        let frame = frame?;
                        trace!(target: "msnd::wire", "C: {}", redact(&frame.line));
                        // Every line counts, blank ones too: they cost as much to read.
                        if !conn.rate.take() {
                            return Ok(Ended::Flooding);
                        }
                        last_active = Instant::now();
                        if frame.line.is_empty() {
                            Outcome::default()
                        } else {
                            heard = true;
                            Box::pin(service.handle(frame)).await
                        }
                    }
                },
                () = &mut timer_due, if timer.is_some() => Box::pin(service.on_timer()).await,
                () = &mut silence => return Ok(Ended::Silent),
            }
        };
        if !outcome.replies.is_empty() {
            let shutting_down = {
                let send = write(&mut conn.framed, outcome.replies);
                tokio::pin!(send);
                tokio::select! {
                    biased;
                    written = &mut send => written.map(|()| false)?,
                    // Shutting down: what was answered is still said (the command was carried
                    // out), then `OUT SSD`, as far as the client takes them within the grace;
                    // a client that does not read never holds shutdown up.
                    () = signals.shutdown.cancelled() => {
                        match tokio::time::timeout(SHUTDOWN_GRACE, send).await {
                            Ok(written) => written.map(|()| true)?,
                            Err(_) => return Ok(Ended::Shutdown),
                        }
                    }
                    // A client that stops reading must not pin this task.
                    () = &mut killed => return Ok(Ended::Killed),
                }
            };
            if shutting_down {
                if outcome.hang_up.is_none() {
                    let out = write(&mut conn.framed, vec![render::out_shutdown()]);
                    let _ = tokio::time::timeout(SHUTDOWN_GRACE, out).await;
                }
                return Ok(Ended::Shutdown);
            }
        }
        if let Some(why) = outcome.hang_up {
            let shutting_down = signals.shutdown.is_cancelled();
            return Ok(if shutting_down { Ended::Shutdown } else { Ended::ServerHungUp(why) });
        }
        release_buffers(&mut conn.framed);
    }
}

/// Most mailbox events handled (and written) together.
const EVENT_BATCH: usize = 64;

/// Bytes read at a time once a client has something to say. Most commands are one short
/// line; a larger payload grows the buffer to fit (the codec reserves it).
const READ_CHUNK: usize = 512;

/// Frees the read buffer if it holds nothing and the write buffer once it is flushed, so
/// that an idle session costs no buffer memory at all. Tokio-util's defaults (8 KiB each,
/// kept for the connection's life) were most of a logged-in session's memory: BENCHMARKS.md.
fn release_buffers(framed: &mut Framed<TcpStream, MsnpCodec>) {
    if framed.read_buffer().is_empty() && framed.read_buffer().capacity() > 0 {
        *framed.read_buffer_mut() = BytesMut::new();
    }
    if framed.write_buffer().is_empty() && framed.write_buffer().capacity() > 0 {
        *framed.write_buffer_mut() = BytesMut::new();
    }
}

/// Longest a batch of replies may take to write before the client counts as stuck.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest the replies in hand and `OUT SSD` may take to write once shutdown has begun.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

async fn write(framed: &mut Framed<TcpStream, MsnpCodec>, replies: Vec<Reply>) -> Result<(), CodecError> {
    let send = async {
        for reply in replies {
            trace!(target: "msnd::wire", "S: {}", redact(&reply.to_string()));
            framed.feed(reply).await?;
        }
        framed.flush().await
    };
    let mut send = std::pin::pin!(send);
    // Usually the socket takes everything at once: no timer to arm and disarm then.
    if let Some(written) = send.as_mut().now_or_never() {
        return written;
    }
    match tokio::time::timeout(WRITE_TIMEOUT, send).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::from(std::io::ErrorKind::TimedOut).into()),
    }
}

/// Hides secrets in a wire-log line: the answer of `USR .. S`, switchboard cookies.
pub fn redact(line: &str) -> Cow<'_, str> {
    let tokens: Vec<&str> = line.split_ascii_whitespace().collect();
    let secret = tokens.first().and_then(|name| vocabulary::spec(name)).map_or(Secret::None, |s| s.secret);
    match secret.position(&tokens) {
        Some(i) => {
            let mut kept = tokens;
            kept[i] = "***";
            Cow::Owned(kept.join(" "))
        }
        _ => Cow::Borrowed(line),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_rate_limit_allows_bursts_then_the_average() {
        let limits =
            Limits { commands_per_sec: 10, command_burst: 3, ..crate::config::Config::default().limits };
        let mut rate = RateLimit::new(&limits);
        assert!(rate.take() && rate.take() && rate.take());
        assert!(!rate.take());
        tokio::time::advance(Duration::from_millis(100)).await;
        assert!(rate.take());
        assert!(!rate.take());
    }

    #[test]
    fn secrets_never_reach_the_wire_log() {
        let cases = [
            ("USR 7 MD5 S f59af8f2fa91d38aff7c870c17f99903", "USR 7 MD5 S ***"),
            ("USR 7 TWN S t=abc&p=def", "USR 7 TWN S ***"),
            ("USR 6 MD5 I a@b.com", "USR 6 MD5 I a@b.com"),
            ("USR 1 a@b.com 123.456", "USR 1 a@b.com ***"),
            ("ANS 1 a@b.com 123.456 99", "ANS 1 a@b.com *** 99"),
            ("XFR 10 SB 10.0.0.1:1865 CKI 12.34", "XFR 10 SB 10.0.0.1:1865 CKI ***"),
            ("PNG", "PNG"),
        ];
        for (line, logged) in cases {
            assert_eq!(redact(line), logged);
        }
    }
}
