//! A logged-in notification session kept alive in its own task: it pings, answers
//! challenges, sends what the scenario asks, and hands what the scenario watches for
//! (`NLN`) to its hooks.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::mpsc;

use crate::client::{Conn, Failure, FailureKind};
use crate::clock::now_ns;

/// Counters shared by every session of a worker.
#[derive(Debug, Default)]
pub struct Counters {
    /// Sessions whose task is running.
    pub alive: AtomicUsize,
    /// Sessions the server ended (`OUT`, close or error) while the tool wanted them.
    pub lost: AtomicUsize,
    pub challenges: AtomicU64,
    /// Error codes received after login.
    pub errors: AtomicU64,
    /// Why the last lost session ended.
    pub last_loss: std::sync::Mutex<Option<String>>,
}

/// Where a session reports what it sees.
pub trait Hooks: Send + Sync + 'static {
    /// `NLN status handle ..` was read at time `at`; it reached the socket at `arrived`
    /// (the kernel's timestamp, if the connection keeps them).
    fn presence(&self, _status: &str, _email: &str, _at: u64, _arrived: Option<u64>) {}
    /// A [`Command::Timed`] line keyed `key` was written at time `at`.
    fn sent(&self, _key: u64, _at: u64) {}
}

/// Hooks that watch nothing.
pub struct NoHooks;
impl Hooks for NoHooks {}

/// What the scenario can ask of a session.
#[derive(Debug)]
pub enum Command {
    /// A line whose sending time the scenario wants ([`Hooks::sent`]).
    Timed { line: String, key: u64 },
    /// `OUT`, then close.
    Out,
}

/// A running session; dropping this handle ends it (`OUT`).
pub struct Session {
    pub commands: mpsc::UnboundedSender<Command>,
}

/// Runs `conn` in a task until the scenario drops its [`Session`] or the server ends it.
pub fn spawn(conn: Conn, hooks: Arc<dyn Hooks>, counters: Arc<Counters>, ping_every: Duration) -> Session {
    let (commands, rx) = mpsc::unbounded_channel();
    counters.alive.fetch_add(1, Ordering::Relaxed);
    tokio::spawn(async move {
        let ended = run(conn, &*hooks, &counters, rx, ping_every).await;
        counters.alive.fetch_sub(1, Ordering::Relaxed);
        if let Err(why) = ended {
            counters.lost.fetch_add(1, Ordering::Relaxed);
            *counters.last_loss.lock().unwrap_or_else(|p| p.into_inner()) = Some(why.to_string());
        }
    });
    Session { commands }
}

/// `Ok` when the scenario ended the session; `Err` when the server did.
async fn run(
    mut conn: Conn,
    hooks: &dyn Hooks,
    counters: &Counters,
    mut commands: mpsc::UnboundedReceiver<Command>,
    ping_every: Duration,
) -> Result<(), Failure> {
    // Kept across iterations, so that waiting does not register a new timer every time.
    let ping = tokio::time::sleep(ping_every);
    tokio::pin!(ping);
    loop {
        tokio::select! {
            biased;
            frame = conn.next() => {
                on_frame(&mut conn, frame, hooks, counters).await?;
                // Frames already read are handled before anything else is looked at.
                while let Some(frame) = conn.next().now_or_never() {
                    on_frame(&mut conn, frame, hooks, counters).await?;
                }
            }
            command = commands.recv() => match command {
                Some(Command::Timed { line, key }) => {
                    // Taken before writing: a watcher in another process may see the
                    // effect before this task runs again.
                    hooks.sent(key, now_ns());
                    conn.send(&line).await?;
                }
                Some(Command::Out) | None => {
                    let _ = conn.send("OUT").await;
                    return Ok(());
                }
            },
            () = &mut ping => {
                conn.send("PNG").await?;
                ping.as_mut().reset(tokio::time::Instant::now() + ping_every);
            }
        }
    }
}

/// Acts on one frame from the server; `Err` when the session is over.
async fn on_frame(
    conn: &mut Conn,
    frame: Option<Result<msnd::codec::Frame, Failure>>,
    hooks: &dyn Hooks,
    counters: &Counters,
) -> Result<(), Failure> {
    let frame = match frame {
        Some(frame) => frame?,
        None => return Err(Failure::new(FailureKind::Closed, "closed by the server")),
    };
    let at = now_ns();
    let mut tokens = frame.line.split(' ');
    match tokens.next().unwrap_or_default() {
        "NLN" => {
            if let (Some(status), Some(email)) = (tokens.next(), tokens.next()) {
                hooks.presence(status, email, at, conn.arrived());
            }
        }
        "CHL" => {
            conn.answer_challenge(&frame.line).await?;
            counters.challenges.fetch_add(1, Ordering::Relaxed);
        }
        "OUT" => {
            let why = format!("the server said {:?}", frame.line);
            return Err(Failure::new(FailureKind::Closed, why));
        }
        code if !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit()) => {
            counters.errors.fetch_add(1, Ordering::Relaxed);
        }
        _ => {}
    }
    Ok(())
}
