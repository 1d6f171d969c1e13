//! Scenario `logins`: complete logins (dispatch → XFR → MD5 or Passport login → SYN →
//! CHG NLN), each followed by `OUT`, either offered at a fixed rate (latency counted from the
//! moment each login was due, so a slow server cannot hide its queue) or as fast as a fixed
//! number of concurrent clients can go.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::task::JoinSet;

use crate::client::{self, Failure, LoggedIn};
use crate::clock::{now_ns, secs_ns, sleep_until_ns};
use crate::common::{self, round2, CpuMeter, ServerArgs, ServerFacts};
use crate::stats::Latency;
use crate::workers::{Job, Link, Pool};

#[derive(Debug, Clone, Args)]
pub struct LoginsArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Logins offered per second over all workers; 0: as fast as --concurrency allows.
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Logins in flight at once, over all workers.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Seconds of measurement.
    #[arg(long, default_value_t = 20.0)]
    pub duration: f64,
    /// Milliseconds each session stays logged in before `OUT`.
    #[arg(long, default_value_t = 0)]
    pub hold_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Task {
    rate: f64,
    concurrency: usize,
    duration_ns: u64,
    hold_ms: u64,
}

#[derive(Debug, Serialize, Deserialize)]
enum Control {
    Start { at: u64 },
}

#[derive(Debug, Serialize, Deserialize)]
enum Report {
    Ready,
    Result(Tally),
}

/// What one worker saw.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Tally {
    /// Logins completed within the measured window.
    completed: u64,
    /// Logins completed after it (those started late in the window).
    completed_after: u64,
    failures: BTreeMap<String, u64>,
    first_failure: Option<Failure>,
    latency: Latency,
    /// Forward-list entries over all completed logins.
    contacts: u64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.completed += other.completed;
        self.completed_after += other.completed_after;
        for (kind, n) in other.failures {
            *self.failures.entry(kind).or_default() += n;
        }
        self.first_failure = self.first_failure.take().or(other.first_failure);
        self.latency.merge(&other.latency);
        self.contacts += other.contacts;
    }
}

pub async fn run(args: LoginsArgs) -> anyhow::Result<()> {
    let accounts = args.server.read_accounts()?;
    let server = args.server.server_process()?;
    let facts = ServerFacts::of(server);
    let workers = args.server.workers.max(1);
    if args.concurrency > accounts.len() / 2 {
        anyhow::bail!(
            "--concurrency {} needs at least twice as many accounts ({} in the file)",
            args.concurrency,
            accounts.len()
        );
    }
    let task = Task {
        rate: args.rate / workers as f64,
        concurrency: args.concurrency.div_ceil(workers),
        duration_ns: secs_ns(args.duration),
        hold_ms: args.hold_ms,
    };
    let mut pool = Pool::start("logins", args.server.jobs(&accounts, workers, &task)?).await?;
    pool.gather::<Report>(Duration::from_secs(30)).await?;
    let meter = CpuMeter::start(server, pool.processes());
    let at = now_ns() + 500_000_000;
    pool.broadcast(&Control::Start { at }).await?;
    let wait = Duration::from_secs_f64(args.duration + 2.0 * args.server.timeout as f64 + 30.0);
    let reports = pool.gather::<Report>(wait).await?;
    let cpu = meter.finish();
    pool.shutdown().await;
    let mut tally = Tally::default();
    for report in reports {
        if let Report::Result(t) = report {
            tally.add(t);
        }
    }
    let per_sec = round2(tally.completed as f64 / args.duration);
    let latency = tally.latency.summary();
    let contacts =
        if tally.latency.count() > 0 { tally.contacts as f64 / tally.latency.count() as f64 } else { 0.0 };
    let mode = if args.rate > 0.0 {
        format!("{} offered/s", args.rate)
    } else {
        format!("{} concurrent", args.concurrency)
    };
    let result = common::result(
        "logins",
        &args.server.label,
        json!({
            "params": {"rate": args.rate, "concurrency": args.concurrency, "duration_secs": args.duration,
                       "hold_ms": args.hold_ms, "workers": workers, "protocol": args.server.protocol},
            "server": facts,
            "logins_per_sec": per_sec,
            "completed": tally.completed,
            "completed_after_window": tally.completed_after,
            "failures": tally.failures,
            "first_failure": tally.first_failure,
            "latency": latency,
            "contacts_per_login": round2(contacts),
            "cpu": cpu,
        }),
    );
    let failed: u64 = tally.failures.values().sum();
    let summary = format!(
        "logins ({mode}, {contacts:.0} contacts each): {per_sec} logins/s, {failed} failed; latency {latency}; \
         CPU: server {:.2} cores, tool {:.2} cores",
        cpu.server_cores, cpu.tool_cores
    );
    common::emit(&result, &summary);
    Ok(())
}

pub async fn work(job: Job, mut link: Link) -> anyhow::Result<()> {
    let task: Task = serde_json::from_value(job.task.clone())?;
    crate::procfs::raise_own_fd_limit();
    link.report(&Report::Ready);
    let Some(Control::Start { at }) = link.control::<Control>().await? else { return Ok(()) };
    let end = at + task.duration_ns;
    let job = Arc::new(job);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut running = JoinSet::new();
    sleep_until_ns(at).await;
    if task.rate > 0.0 {
        // Open loop: login i is due at `at + i / rate`, whatever happened to the others.
        let interval = 1e9 / task.rate;
        let mut i: u64 = 0;
        loop {
            let due = at + (i as f64 * interval) as u64;
            if due >= end {
                break;
            }
            while running.len() >= task.concurrency.max(1) {
                running.join_next().await;
            }
            sleep_until_ns(due).await;
            let (job, tally) = (job.clone(), tally.clone());
            let account = (i as usize) % job.accounts.len();
            running.spawn(async move {
                one_login(&job, account, due, end, task.hold_ms, &tally).await;
            });
            i += 1;
        }
    } else {
        // Closed loop: `concurrency` clients, each logging in again as soon as it is done.
        let stride = task.concurrency.max(1);
        for client in 0..stride {
            let (job, tally) = (job.clone(), tally.clone());
            running.spawn(async move {
                let mut account = client % job.accounts.len();
                while now_ns() < end {
                    if !one_login(&job, account, now_ns(), end, task.hold_ms, &tally).await {
                        // Do not hammer a server that refuses.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    account = (account + stride) % job.accounts.len();
                }
            });
        }
    }
    while running.join_next().await.is_some() {}
    let tally = std::mem::take(&mut *tally.lock().unwrap_or_else(|p| p.into_inner()));
    link.report(&Report::Result(tally));
    Ok(())
}

/// One login of the account at local index `account`, timed from `since`; then logs out
/// in the background. Tells whether it succeeded.
async fn one_login(
    job: &Job,
    account: usize,
    since: u64,
    end: u64,
    hold_ms: u64,
    tally: &Mutex<Tally>,
) -> bool {
    let result = client::login(&job.target, &job.accounts[account], job.source(job.first + account)).await;
    let finished = now_ns();
    {
        let mut tally = tally.lock().unwrap_or_else(|p| p.into_inner());
        match &result {
            Ok(session) => {
                if finished <= end {
                    tally.completed += 1;
                } else {
                    tally.completed_after += 1;
                }
                tally.latency.record_ns(finished.saturating_sub(since));
                tally.contacts += session.forward.len() as u64;
            }
            Err(failure) => {
                *tally.failures.entry(format!("{:?}", failure.kind)).or_default() += 1;
                if tally.first_failure.is_none() {
                    tally.first_failure = Some(failure.clone());
                }
            }
        }
    }
    match result {
        Ok(session) => {
            tokio::spawn(log_out(session, hold_ms));
            true
        }
        Err(_) => false,
    }
}

/// Stays `hold_ms`, sends `OUT` and waits (briefly) for the server to close, so that the
/// server, not the tool, holds the closed connection's TIME_WAIT.
async fn log_out(mut session: LoggedIn, hold_ms: u64) {
    if hold_ms > 0 {
        tokio::time::sleep(Duration::from_millis(hold_ms)).await;
    }
    if session.conn.send("OUT").await.is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(_)) = session.conn.next().await {}
        })
        .await;
    }
}
