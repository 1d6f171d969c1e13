//! One client connection: owns the framed socket and runs the loop that feeds commands and
//! mailbox events to a [`Service`] and writes what it answers. It never knows what a
//! command means; the service never touches the socket.

use std::borrow::Cow;
use std::future::Future;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::{sleep_until, Instant};
use tokio_util::codec::{Framed, FramedParts};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, trace};

use crate::codec::{CodecError, Frame, MsnpCodec, Reading};
use crate::config::Limits;
use crate::mailbox;
use crate::protocol::{ProtocolError, Reply, TrId};

/// What a service answers to one command or event.
#[derive(Debug, Default)]
pub struct Outcome {
    pub replies: Vec<Reply>,
    /// Close the connection once the replies are written.
    pub hang_up: bool,
}

impl Outcome {
    pub fn reply(reply: Reply) -> Self {
        Outcome { replies: vec![reply], hang_up: false }
    }

    pub fn replies(replies: Vec<Reply>) -> Self {
        Outcome { replies, hang_up: false }
    }

    pub fn hang_up(replies: Vec<Reply>) -> Self {
        Outcome { replies, hang_up: true }
    }

    /// `<code> <trid>` for a rejected command, where the protocol has a code. The
    /// connection ends if the error demands it or `before_login` (the official servers
    /// hung up on any mistake before authentication).
    pub fn rejected(tr: Option<TrId>, error: &ProtocolError, before_login: bool) -> Self {
        debug!(%error, "command rejected");
        let replies = error.code().map(|code| Reply::error(code, tr)).into_iter().collect();
        Outcome { replies, hang_up: error.hangs_up() || before_login }
    }
}

/// A protocol service (dispatch, notification, switchboard) behind one connection.
pub trait Service: Send {
    type Event: Send;
    /// Answers one command.
    fn handle(&mut self, frame: Frame) -> impl Future<Output = Outcome> + Send;
    /// Answers an event from another session.
    fn on_event(&mut self, event: Self::Event) -> impl Future<Output = Outcome> + Send;
    /// Whether the client has logged in (or joined its chat). Until then it has
    /// `limits.login_timeout_secs` from connecting; after, `idle_timeout_secs` of silence.
    fn authenticated(&self) -> bool;
    /// When the service next wants [`Service::on_timer`] called, if ever.
    fn timer(&self) -> Option<Instant> {
        None
    }
    /// Runs when the time from [`Service::timer`] has come.
    fn on_timer(&mut self) -> impl Future<Output = Outcome> + Send {
        async { Outcome::default() }
    }
}

/// How a connection ended, for the log.
#[derive(Debug)]
enum Ended {
    ClientClosed,
    ServerHungUp,
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
}

/// Runs `service` on `stream` until either side ends it. The service cleans up when
/// dropped, so every way out (including a panic) is covered.
pub async fn run<S: Service>(stream: TcpStream, mut service: S, signals: Signals<S::Event>, limits: &Limits) {
    let codec = MsnpCodec::new(Reading::FromClient, limits.max_line_bytes, limits.max_payload_bytes);
    // Both buffers start empty (no allocation); see `next_frame` and `release_buffers`.
    let mut framed = Framed::from_parts(FramedParts::new::<Reply>(stream, codec));
    let ended = pump(&mut framed, &mut service, signals, limits).await;
    drop(service);
    match ended {
        Ok(Ended::Flooding) => info!("connection closed: commands sent faster than limits.commands_per_sec"),
        Ok(how) => debug!(?how, "connection closed"),
        Err(CodecError::Io(e)) => debug!(error = %e, "connection lost"),
        Err(e) => info!(error = %e, "connection closed: malformed input"),
    }
}

async fn pump<S: Service>(
    framed: &mut Framed<TcpStream, MsnpCodec>,
    service: &mut S,
    mut signals: Signals<S::Event>,
    limits: &Limits,
) -> Result<Ended, CodecError> {
    let mut rate = RateLimit::new(limits);
    let login_deadline = Instant::now() + limits.login_timeout();
    let mut last_heard = Instant::now();
    // Waiting on the kill token and the two timers registers a waiter each; they live across
    // iterations instead of being registered anew for every command and event.
    let killed = signals.kill.cancelled();
    let timer_due = sleep_until(login_deadline);
    let silence = sleep_until(login_deadline);
    tokio::pin!(killed, timer_due, silence);
    loop {
        let timer = service.timer();
        if let Some(due) = timer.filter(|&due| due != timer_due.deadline()) {
            timer_due.as_mut().reset(due);
        }
        let give_up =
            if service.authenticated() { last_heard + limits.idle_timeout() } else { login_deadline };
        if give_up != silence.deadline() {
            silence.as_mut().reset(give_up);
        }
        // The service's futures are boxed: a login's (database calls and all) is several KiB,
        // and unboxed it would sit in every connection's task for the connection's life.
        let outcome = tokio::select! {
            biased;
            () = &mut killed => {
                if !signals.shutdown.is_cancelled() {
                    return Ok(Ended::Killed);
                }
                Outcome::hang_up(vec![Reply::new("OUT").arg("SSD")])
            }
            Some(event) = signals.mailbox.recv() => {
                let mut outcome = Box::pin(service.on_event(event)).await;
                // Events that queued up meanwhile go out in the same write: under a burst of
                // presence changes, one system call instead of one per event.
                for _ in 1..EVENT_BATCH {
                    if outcome.hang_up {
                        break;
                    }
                    let Some(event) = signals.mailbox.try_recv() else { break };
                    let more = Box::pin(service.on_event(event)).await;
                    outcome.replies.extend(more.replies);
                    outcome.hang_up = more.hang_up;
                }
                outcome
            }
            frame = next_frame(framed) => match frame {
                None => return Ok(Ended::ClientClosed),
                Some(frame) => {
                    let frame = frame?;
                    trace!(target: "msnd::wire", "C: {}", redact(&frame.line));
                    if !rate.take() {
                        return Ok(Ended::Flooding);
                    }
                    last_heard = Instant::now();
                    Box::pin(service.handle(frame)).await
                }
            },
            () = &mut timer_due, if timer.is_some() => Box::pin(service.on_timer()).await,
            () = &mut silence => return Ok(Ended::Silent),
        };
        let hang_up = outcome.hang_up;
        tokio::select! {
            // A client that stops reading must not pin this task; on shutdown, say OUT SSD
            // only if it can be said at once.
            () = &mut killed, if !hang_up => return Ok(Ended::Killed),
            written = write(framed, outcome.replies) => written?,
        }
        if hang_up {
            let shutting_down = signals.shutdown.is_cancelled();
            return Ok(if shutting_down { Ended::Shutdown } else { Ended::ServerHungUp });
        }
        release_buffers(framed);
    }
}

/// Most mailbox events handled (and written) together.
const EVENT_BATCH: usize = 64;

/// Bytes read at a time once a client has something to say. Most commands are one short
/// line; a larger payload grows the buffer to fit (the codec reserves it).
const READ_CHUNK: usize = 512;

/// The next frame from the client. A connection with nothing buffered holds no read buffer
/// (see [`release_buffers`]): it waits until the socket is readable and only then takes
/// one. Cancel-safe, like `Framed::next`.
async fn next_frame(framed: &mut Framed<TcpStream, MsnpCodec>) -> Option<Result<Frame, CodecError>> {
    if framed.read_buffer().capacity() == 0 {
        if let Err(e) = framed.get_ref().readable().await {
            return Some(Err(e.into()));
        }
        framed.read_buffer_mut().reserve(READ_CHUNK);
    }
    framed.next().await
}

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
    let secret_at = match tokens.as_slice() {
        ["USR", _, _, "S", _, ..] => Some(4),
        ["USR", _, _, _] | ["ANS", _, _, _, ..] => Some(3),
        _ => tokens.iter().position(|t| *t == "CKI").map(|i| i + 1),
    };
    match secret_at {
        Some(i) if i < tokens.len() => {
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
