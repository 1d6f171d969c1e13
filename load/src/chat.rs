//! Scenarios `chat` and `relay-baseline`: two-party switchboard chats exchanging `MSG`s.
//! In each chat one side sends and the other echoes every message back; a round trip is
//! the time from a message being sent to its echo arriving. `relay-baseline` runs the same
//! clients against [`crate::relay`], a minimal tokio relay, to show what this machine can
//! do at all.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::task::JoinSet;

use crate::client::{self, Conn, Failure, FailureKind, LoggedIn};
use crate::clock::{now_ns, secs_ns, sleep_until_ns};
use crate::common::{self, round2, CpuMeter, ServerArgs, ServerFacts};
use crate::procfs::Process;
use crate::session::{self, Counters, NoHooks, Session};
use crate::stats::Latency;
use crate::workers::{Job, Link, Pool};

/// What the chats do, for both scenarios.
#[derive(Debug, Clone, Args)]
pub struct ChatOptions {
    /// Concurrent two-party chats (each needs two accounts).
    #[arg(long, default_value_t = 1000)]
    pub chats: usize,
    /// Messages per second offered over all chats, both directions counted; 0: each chat
    /// keeps --window round trips in flight, as fast as they go.
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Round trips in flight per chat when --rate is 0.
    #[arg(long, default_value_t = 1)]
    pub window: usize,
    /// Seconds of measurement.
    #[arg(long, default_value_t = 20.0)]
    pub duration: f64,
    /// Bytes per message payload (MIME header and text, as a client sends them).
    #[arg(long, default_value_t = 160)]
    pub size: usize,
    /// Acknowledgement mode of every MSG: A (ACK or NAK), N (NAK only), U (none).
    #[arg(long, default_value = "A", value_parser = ["A", "N", "U"])]
    pub ack: String,
    /// Logins (or relay joins) per second while the chats are set up.
    #[arg(long, default_value_t = 1000.0)]
    pub login_rate: f64,
}

#[derive(Debug, Clone, Args)]
pub struct ChatArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub chat: ChatOptions,
}

#[derive(Debug, Clone, Args)]
pub struct RelayArgs {
    #[command(flatten)]
    pub chat: ChatOptions,
    /// Worker processes of the tool.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Source addresses 127.0.0.1 .. 127.0.0.N.
    #[arg(long, default_value_t = 16)]
    pub sources: usize,
    /// Seconds to wait for any one answer.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// Free text stored with the result.
    #[arg(long, default_value = "")]
    pub label: String,
}

/// Where the chats happen.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
enum Venue {
    /// A real server: log in, `XFR SB`, `USR`, `CAL`, `RNG`, `ANS`.
    Server,
    /// The tool's relay: both sides `USR tr handle chat-key`.
    Relay(SocketAddr),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Task {
    venue: Venue,
    /// Round trips per second per chat; 0 for the window mode.
    round_trips_per_chat: f64,
    window: usize,
    duration_ns: u64,
    size: usize,
    ack: String,
    login_rate: f64,
    /// All chats over all workers, to spread the rate mode's send times.
    chats_total: usize,
}

#[derive(Debug, Serialize, Deserialize)]
enum Control {
    Start { at: u64 },
}

#[derive(Debug, Serialize, Deserialize)]
enum Report {
    Ready { chats: usize, failures: usize, first_failure: Option<Failure> },
    Result(Tally),
}

/// What one worker's chats did in the measured window.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Tally {
    /// Messages that arrived (at either end) in the window.
    messages: u64,
    round_trips: u64,
    acks: u64,
    naks: u64,
    latency: Latency,
    /// Chats that broke (closed, BYE, error) before the end.
    broken: u64,
    first_break: Option<String>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.messages += other.messages;
        self.round_trips += other.round_trips;
        self.acks += other.acks;
        self.naks += other.naks;
        self.latency.merge(&other.latency);
        self.broken += other.broken;
        self.first_break = self.first_break.take().or(other.first_break);
    }
}

pub async fn run(args: ChatArgs) -> anyhow::Result<()> {
    let accounts = args.server.read_accounts()?;
    let server = args.server.server_process()?;
    let needed = args.chat.chats * 2;
    if accounts.len() < needed {
        anyhow::bail!("{} chats need {needed} accounts; the file has {}", args.chat.chats, accounts.len());
    }
    let workers = args.server.workers.max(1);
    let task = task(&args.chat, Venue::Server, workers);
    let jobs = args.server.jobs(&accounts[..needed], workers, &task)?;
    let result = measure(jobs, &args.chat, server, "chat", &args.server.label).await?;
    let _ = result;
    Ok(())
}

/// `relay-baseline`: starts the relay as a child process and runs the same chats on it.
pub async fn run_relay(args: RelayArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let mut relay = tokio::process::Command::new(exe)
        .args(["relay-server", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = relay.stdout.take().ok_or_else(|| anyhow::anyhow!("relay stdout"))?;
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let first = tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await??.unwrap_or_default();
    let addr: SocketAddr = first.trim().parse().map_err(|_| anyhow::anyhow!("relay said {first:?}"))?;
    let process = Process(relay.id().ok_or_else(|| anyhow::anyhow!("relay exited"))?);
    let workers = args.workers.max(1);
    let needed = args.chat.chats * 2;
    let accounts: Vec<crate::accounts::Account> = (0..needed)
        .map(|i| crate::accounts::Account { email: format!("relay{i}@relay.example"), password: "-".into() })
        .collect();
    let target = client::Target {
        dispatch: addr,
        version: 7,
        passport: crate::passport::DEFAULT_ADDR,
        timeout: Duration::from_secs(args.timeout),
    };
    let task = serde_json::to_value(task(&args.chat, Venue::Relay(addr), workers))?;
    let sources = crate::workers::sources(args.sources);
    let jobs = crate::workers::shares(needed, workers)
        .into_iter()
        .enumerate()
        .map(|(worker, range)| Job {
            worker,
            target,
            sources: sources.clone(),
            accounts: accounts[range.clone()].to_vec(),
            first: range.start,
            ping_secs: 30,
            task: task.clone(),
        })
        .collect();
    let outcome = measure(jobs, &args.chat, process, "relay-baseline", &args.label).await;
    let _ = relay.kill().await;
    outcome.map(|_| ())
}

fn task(chat: &ChatOptions, venue: Venue, _workers: usize) -> Task {
    Task {
        venue,
        round_trips_per_chat: chat.rate / 2.0 / chat.chats.max(1) as f64,
        window: chat.window.max(1),
        duration_ns: secs_ns(chat.duration),
        size: chat.size,
        ack: chat.ack.clone(),
        login_rate: chat.login_rate,
        chats_total: chat.chats,
    }
}

/// Runs the workers through set-up and measurement and prints the result.
async fn measure(
    mut jobs: Vec<Job>,
    chat: &ChatOptions,
    server: Process,
    scenario: &str,
    label: &str,
) -> anyhow::Result<serde_json::Value> {
    // Chats are pairs of consecutive accounts: keep every share even.
    let total: usize = jobs.iter().map(|j| j.accounts.len()).sum();
    let workers = jobs.len();
    let mut all: Vec<_> = jobs.iter_mut().flat_map(|j| std::mem::take(&mut j.accounts)).collect();
    let mut start = 0;
    for (w, job) in jobs.iter_mut().enumerate() {
        let pairs = (total / 2) * (w + 1) / workers - (total / 2) * w / workers;
        job.first = start;
        job.accounts = all.drain(..pairs * 2).collect();
        start += pairs * 2;
        let mut task: Task = serde_json::from_value(job.task.clone())?;
        task.login_rate /= workers as f64;
        job.task = serde_json::to_value(task)?;
    }
    let facts = ServerFacts::of(server);
    let mut pool = Pool::start("chat", jobs).await?;
    eprintln!("{scenario}: setting up {} chats over {workers} workers", chat.chats);
    let setup_wait = Duration::from_secs_f64(chat.chats as f64 * 2.0 / chat.login_rate.max(1.0) + 120.0);
    let (mut ready, mut failures, mut first_failure) = (0, 0, None);
    for report in pool.gather::<Report>(setup_wait).await? {
        if let Report::Ready { chats, failures: f, first_failure: ff } = report {
            ready += chats;
            failures += f;
            first_failure = first_failure.or(ff);
        }
    }
    eprintln!("{ready} chats ready ({failures} failed to set up); measuring for {} s", chat.duration);
    let at = now_ns() + 1_000_000_000;
    pool.broadcast(&Control::Start { at }).await?;
    sleep_until_ns(at).await;
    let meter = CpuMeter::start(server, pool.processes());
    let wait = Duration::from_secs_f64(chat.duration + 60.0);
    let reports = pool.gather::<Report>(wait).await?;
    let cpu = meter.finish();
    let rss = common::usage_of(server).rss_kib;
    pool.shutdown().await;
    let mut tally = Tally::default();
    for report in reports {
        if let Report::Result(t) = report {
            tally.add(t);
        }
    }
    let per_sec = round2(tally.messages as f64 / chat.duration);
    let latency = tally.latency.summary();
    let mode = if chat.rate > 0.0 {
        format!("{} msgs/s offered", chat.rate)
    } else {
        format!("window {}", chat.window)
    };
    let result = common::result(
        scenario,
        label,
        json!({
            "params": {"chats": chat.chats, "rate": chat.rate, "window": chat.window, "duration_secs": chat.duration,
                       "size": chat.size, "ack": chat.ack, "workers": workers},
            "server": facts,
            "chats_ready": ready,
            "setup_failures": failures,
            "first_failure": first_failure,
            "messages_per_sec": per_sec,
            "messages": tally.messages,
            "round_trips": tally.round_trips,
            "acks": tally.acks,
            "naks": tally.naks,
            "broken_chats": tally.broken,
            "first_break": tally.first_break,
            "round_trip": latency,
            "cpu": cpu,
            "server_rss_kib": rss,
        }),
    );
    let summary = format!(
        "{scenario} ({ready} chats, {mode}): {per_sec} messages/s, round trip {latency}; {} broken; \
         CPU: server {:.2} cores, tool {:.2} cores",
        tally.broken, cpu.server_cores, cpu.tool_cores
    );
    common::emit(&result, &summary);
    Ok(result)
}

/// Both ends of one chat, ready to talk.
struct Chat {
    index: usize,
    sender: Conn,
    echoer: Conn,
    /// The notification sessions, kept alive while the chat runs (server venue only).
    _sessions: Vec<Session>,
}

pub async fn work(job: Job, mut link: Link) -> anyhow::Result<()> {
    let task: Task = serde_json::from_value(job.task.clone())?;
    crate::procfs::raise_own_fd_limit();
    let job = Arc::new(job);
    let pairs = job.accounts.len() / 2;
    let (chats, failures) = match task.venue {
        Venue::Server => set_up_on_server(&job, &task, pairs).await,
        Venue::Relay(addr) => set_up_on_relay(&job, &task, pairs, addr).await,
    };
    link.report(&Report::Ready {
        chats: chats.len(),
        failures: failures.len(),
        first_failure: failures.into_iter().next(),
    });
    let Some(Control::Start { at }) = link.control::<Control>().await? else { return Ok(()) };
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut running = JoinSet::new();
    for chat in chats {
        let (task, tally) = (task.clone(), tally.clone());
        let global = job.first / 2 + chat.index;
        running.spawn(async move { converse(chat, &task, at, global, &tally).await });
    }
    while running.join_next().await.is_some() {}
    let tally = std::mem::take(&mut *tally.lock().unwrap_or_else(|p| p.into_inner()));
    link.report(&Report::Result(tally));
    Ok(())
}

/// Logs everyone in, then opens each chat: the sender asks for a switchboard (`XFR SB`),
/// joins it (`USR`) and calls the echoer (`CAL`), who is rung (`RNG`) and answers (`ANS`).
async fn set_up_on_server(job: &Arc<Job>, task: &Task, pairs: usize) -> (Vec<Chat>, Vec<Failure>) {
    let (logged_in, mut failures) = common::login_many(job, 0..pairs * 2, task.login_rate, 64, |_| {}).await;
    let mut sessions: HashMap<usize, LoggedIn> = logged_in.into_iter().collect();
    let mut opening = JoinSet::new();
    let mut chats = Vec::new();
    let counters = Arc::new(Counters::default());
    let ping = Duration::from_secs(job.ping_secs.max(1));
    for pair in 0..pairs {
        let (Some(a), Some(b)) = (sessions.remove(&(2 * pair)), sessions.remove(&(2 * pair + 1))) else {
            continue;
        };
        while opening.len() >= 32 {
            collect(opening.join_next().await, &mut chats, &mut failures, &counters, ping);
        }
        let job = job.clone();
        opening.spawn(async move { open_chat(&job, pair, a, b).await });
    }
    while let Some(done) = opening.join_next().await {
        collect(Some(done), &mut chats, &mut failures, &counters, ping);
    }
    (chats, failures)
}

type Opened = Result<(usize, Conn, Conn, LoggedIn, LoggedIn), Failure>;

fn collect(
    done: Option<Result<Opened, tokio::task::JoinError>>,
    chats: &mut Vec<Chat>,
    failures: &mut Vec<Failure>,
    counters: &Arc<Counters>,
    ping: Duration,
) {
    match done {
        Some(Ok(Ok((index, sender, echoer, a, b)))) => {
            let hooks: Arc<dyn session::Hooks> = Arc::new(NoHooks);
            let sessions = vec![
                session::spawn(a.conn, hooks.clone(), counters.clone(), ping),
                session::spawn(b.conn, hooks, counters.clone(), ping),
            ];
            chats.push(Chat { index, sender, echoer, _sessions: sessions });
        }
        Some(Ok(Err(failure))) => failures.push(failure),
        Some(Err(e)) => failures.push(Failure::new(FailureKind::Io, format!("set-up task failed: {e}"))),
        None => {}
    }
}

async fn open_chat(job: &Job, pair: usize, mut a: LoggedIn, mut b: LoggedIn) -> Opened {
    let (a_index, b_index) = (2 * pair, 2 * pair + 1);
    let (a_email, b_email) = (&job.accounts[a_index].email, &job.accounts[b_index].email);
    let tr = a.conn.tr();
    a.conn.send(&format!("XFR {tr} SB")).await?;
    let xfr = a.conn.reply(&["XFR"], tr).await?;
    let (address, cookie) = match xfr.line.split(' ').collect::<Vec<_>>().as_slice() {
        ["XFR", _, "SB", address, "CKI", cookie, ..] => (address.to_string(), cookie.to_string()),
        _ => return Err(Failure::new(FailureKind::Protocol, format!("unexpected {:?}", xfr.line))),
    };
    let address = parse_address(&address)?;
    let mut sender = Conn::connect(address, job.source(job.first + a_index), job.target.timeout).await?;
    let tr = sender.tr();
    sender.send(&format!("USR {tr} {a_email} {cookie}")).await?;
    sender.reply(&["USR"], tr).await?;
    let tr = sender.tr();
    sender.send(&format!("CAL {tr} {b_email}")).await?;
    sender.reply(&["CAL"], tr).await?;
    let ring = wait_for(&mut b.conn, "RNG").await?;
    let (session, address, cookie) = match ring.split(' ').collect::<Vec<_>>().as_slice() {
        ["RNG", session, address, "CKI", cookie, ..] => {
            (session.to_string(), address.to_string(), cookie.to_string())
        }
        _ => return Err(Failure::new(FailureKind::Protocol, format!("unexpected {ring:?}"))),
    };
    let address = parse_address(&address)?;
    let mut echoer = Conn::connect(address, job.source(job.first + b_index), job.target.timeout).await?;
    let tr = echoer.tr();
    echoer.send(&format!("ANS {tr} {b_email} {cookie} {session}")).await?;
    echoer.reply(&["ANS"], tr).await?;
    wait_for(&mut sender, "JOI").await?;
    Ok((pair, sender, echoer, a, b))
}

/// Both sides join the relay under one key; the first is told `JOI` when the second comes.
async fn set_up_on_relay(
    job: &Arc<Job>,
    task: &Task,
    pairs: usize,
    addr: SocketAddr,
) -> (Vec<Chat>, Vec<Failure>) {
    let mut chats = Vec::new();
    let mut failures = Vec::new();
    let interval = 1e9 / task.login_rate.max(1.0);
    let start = now_ns();
    let mut opening = JoinSet::new();
    for pair in 0..pairs {
        sleep_until_ns(start + (2.0 * pair as f64 * interval) as u64).await;
        while opening.len() >= 64 {
            relay_collect(opening.join_next().await, &mut chats, &mut failures);
        }
        let job = job.clone();
        opening.spawn(async move {
            let key = format!("chat-{}", job.first / 2 + pair);
            let (a, b) = (&job.accounts[2 * pair].email, &job.accounts[2 * pair + 1].email);
            let mut sender =
                Conn::connect(addr, job.source(job.first + 2 * pair), job.target.timeout).await?;
            sender.send(&format!("USR 1 {a} {key}")).await?;
            sender.reply(&["USR"], 1).await?;
            let mut echoer =
                Conn::connect(addr, job.source(job.first + 2 * pair + 1), job.target.timeout).await?;
            echoer.send(&format!("USR 1 {b} {key}")).await?;
            echoer.reply(&["USR"], 1).await?;
            wait_for(&mut sender, "JOI").await?;
            Ok::<_, Failure>(Chat { index: pair, sender, echoer, _sessions: Vec::new() })
        });
    }
    while let Some(done) = opening.join_next().await {
        relay_collect(Some(done), &mut chats, &mut failures);
    }
    (chats, failures)
}

fn relay_collect(
    done: Option<Result<Result<Chat, Failure>, tokio::task::JoinError>>,
    chats: &mut Vec<Chat>,
    failures: &mut Vec<Failure>,
) {
    match done {
        Some(Ok(Ok(chat))) => chats.push(chat),
        Some(Ok(Err(failure))) => failures.push(failure),
        Some(Err(e)) => failures.push(Failure::new(FailureKind::Io, format!("set-up task failed: {e}"))),
        None => {}
    }
}

fn parse_address(text: &str) -> Result<SocketAddr, Failure> {
    text.parse().map_err(|_| Failure::new(FailureKind::Protocol, format!("bad address {text:?}")))
}

/// Reads until a line starting with `command` (answering challenges on the way).
async fn wait_for(conn: &mut Conn, command: &str) -> Result<String, Failure> {
    loop {
        let frame = conn.recv().await?;
        let first = frame.line.split(' ').next().unwrap_or_default();
        if first == command {
            return Ok(frame.line);
        }
        match first {
            "CHL" => conn.answer_challenge(&frame.line).await?,
            "BYE" | "OUT" => {
                return Err(Failure::new(
                    FailureKind::Closed,
                    format!("{:?} while waiting for {command}", frame.line),
                ))
            }
            _ => {}
        }
    }
}

/// The MIME header of a plain-text message, as the official clients send it.
const HEADER: &str = "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\
                      X-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n\r\n";

/// A message body carrying its send time: the header, `t=<ns>;`, then padding to `size`.
fn message(size: usize, sent: u64) -> Vec<u8> {
    let mut body = format!("{HEADER}t={sent};").into_bytes();
    body.resize(size.max(body.len()), b'x');
    body
}

/// The send time carried by a message body.
fn sent_time(body: &[u8]) -> Option<u64> {
    let at = body.windows(6).position(|w| w == b"\r\n\r\nt=")? + 6;
    let digits = body[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&body[at..at + digits]).ok()?.parse().ok()
}

/// Runs one chat from `at` for the task's duration and adds what it saw to `tally`.
async fn converse(mut chat: Chat, task: &Task, at: u64, global: usize, tally: &Mutex<Tally>) {
    let end = at + task.duration_ns;
    let mut own = Tally::default();
    let window_mode = task.round_trips_per_chat <= 0.0;
    let interval = if window_mode { 0.0 } else { 1e9 / task.round_trips_per_chat };
    // Spread the chats' send times over one interval.
    let mut next_due = at + (interval * global as f64 / task.chats_total.max(1) as f64) as u64;
    let mut in_flight = 0usize;
    let mut tr = 1u32;
    sleep_until_ns(at).await;
    let outcome: Result<(), String> = async {
        if window_mode {
            for _ in 0..task.window {
                send(&mut chat.sender, &mut tr, &task.ack, task.size).await?;
                in_flight += 1;
            }
        }
        loop {
            let now = now_ns();
            if now >= end && (in_flight == 0 || now >= end + 2_000_000_000) {
                return Ok(());
            }
            let wake = if !window_mode && next_due < end { next_due } else { end.max(now) + 100_000_000 };
            tokio::select! {
                frame = chat.sender.next() => {
                    let frame = frame.ok_or("the sender's switchboard closed")?.map_err(|f| f.to_string())?;
                    let arrived = now_ns();
                    match frame.line.split(' ').next().unwrap_or_default() {
                        "MSG" => {
                            in_flight = in_flight.saturating_sub(1);
                            if arrived <= end {
                                own.messages += 1;
                                own.round_trips += 1;
                                if let Some(sent) = frame.payload.as_deref().and_then(sent_time) {
                                    own.latency.record_ns(arrived.saturating_sub(sent));
                                }
                            }
                            if window_mode && arrived < end {
                                send(&mut chat.sender, &mut tr, &task.ack, task.size).await?;
                                in_flight += 1;
                            }
                        }
                        "ACK" => own.acks += 1,
                        "NAK" => own.naks += 1,
                        "BYE" => return Err(format!("{:?} at the sender", frame.line)),
                        _ => {}
                    }
                }
                frame = chat.echoer.next() => {
                    let frame = frame.ok_or("the echoer's switchboard closed")?.map_err(|f| f.to_string())?;
                    match frame.line.split(' ').next().unwrap_or_default() {
                        "MSG" => {
                            if now_ns() <= end {
                                own.messages += 1;
                            }
                            let body = frame.payload.unwrap_or_default();
                            let header = format!("MSG {tr} {}", task.ack);
                            tr = tr.wrapping_add(1).max(1);
                            chat.echoer.send_payload(&header, &body).await.map_err(|f| f.to_string())?;
                        }
                        "ACK" => own.acks += 1,
                        "NAK" => own.naks += 1,
                        "BYE" => return Err(format!("{:?} at the echoer", frame.line)),
                        _ => {}
                    }
                }
                () = sleep_until_ns(wake) => {
                    if !window_mode && next_due < end && now_ns() >= next_due {
                        send(&mut chat.sender, &mut tr, &task.ack, task.size).await?;
                        in_flight += 1;
                        next_due += interval as u64;
                    }
                }
            }
        }
    }
    .await;
    if let Err(why) = outcome {
        own.broken += 1;
        own.first_break = Some(why);
    }
    let _ = chat.sender.send("OUT").await;
    let _ = chat.echoer.send("OUT").await;
    tally.lock().unwrap_or_else(|p| p.into_inner()).add(own);
}

async fn send(conn: &mut Conn, tr: &mut u32, ack: &str, size: usize) -> Result<(), String> {
    let header = format!("MSG {tr} {ack}");
    *tr = tr.wrapping_add(1).max(1);
    conn.send_payload(&header, &message(size, now_ns())).await.map_err(|f| f.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_their_send_time() {
        let body = message(160, 123_456_789);
        assert_eq!(body.len(), 160);
        assert_eq!(sent_time(&body), Some(123_456_789));
        assert!(body.starts_with(b"MIME-Version: 1.0\r\n"));
        assert_eq!(sent_time(b"no time here"), None);
        assert!(message(10, 1).len() > 10, "never cut below the header");
    }
}
