//! What every scenario shares: the command-line options for reaching a server, building the
//! workers' jobs, logging in many accounts at a steady rate, and printing a result (one
//! JSON line on stdout, a summary for a person on stderr).

use std::net::SocketAddr;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::accounts::{self, Account};
use crate::client::{self, Failure, LoggedIn, Target};
use crate::clock::{now_ns, sleep_until_ns};
use crate::passport;
use crate::procfs::{FdLimit, Machine, Process, Usage};
use crate::workers::{self, Job};

/// How to reach the server under test and spread the load.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// The dispatch server (host:port on 127.0.0.0/8; the tool talks to nothing else).
    #[arg(long, default_value = "127.0.0.1:1863")]
    pub server: SocketAddr,
    /// Accounts to log in as, in the file format of `msnd user import`.
    #[arg(long)]
    pub accounts: PathBuf,
    /// Protocol version spoken: 2 to 7 (the MD5 login) or 8 to 12 (Passport 1.4 at
    /// --passport; the accounts must be imported without --md5-only, and each login costs
    /// the server an Argon2id check, so these logins are far slower by design).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u8).range(2..=12))]
    pub protocol: u8,
    /// The Passport service over plain HTTP, for --protocol 8 to 12 (host:port on 127.0.0.0/8).
    #[arg(long, default_value_t = passport::DEFAULT_ADDR)]
    pub passport: SocketAddr,
    /// Worker processes the connections are spread over.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Source addresses 127.0.0.1 .. 127.0.0.N, each with its own ephemeral ports.
    #[arg(long, default_value_t = 16)]
    pub sources: usize,
    /// Seconds to wait for any one answer before counting a failure.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// Seconds between pings (PNG) of an idle session.
    #[arg(long, default_value_t = 30)]
    pub ping: u64,
    /// The server's process id, for its memory and CPU time (default: found by --server-name).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// The server's process name, when no --server-pid is given.
    #[arg(long, default_value = "msnd")]
    pub server_name: String,
    /// Free text stored with the result (e.g. what changed since the last run).
    #[arg(long, default_value = "")]
    pub label: String,
}

impl ServerArgs {
    pub fn target(&self) -> anyhow::Result<Target> {
        for (option, addr) in [("--server", self.server), ("--passport", self.passport)] {
            if !client::is_loopback(&addr) {
                bail!("{option} {addr}: the tool only talks to addresses on 127.0.0.0/8 or ::1");
            }
        }
        Ok(Target {
            dispatch: self.server,
            version: self.protocol,
            passport: self.passport,
            timeout: Duration::from_secs(self.timeout),
        })
    }

    pub fn read_accounts(&self) -> anyhow::Result<Vec<Account>> {
        let accounts = accounts::read(&self.accounts)?;
        if accounts.is_empty() {
            bail!("{} holds no accounts", self.accounts.display());
        }
        Ok(accounts)
    }

    pub fn server_process(&self) -> anyhow::Result<Process> {
        Process::find(self.server_pid, &self.server_name)
    }

    /// One job per worker over `accounts`, split into contiguous shares.
    pub fn jobs(
        &self,
        accounts: &[Account],
        workers: usize,
        task: &impl Serialize,
    ) -> anyhow::Result<Vec<Job>> {
        let target = self.target()?;
        let task = serde_json::to_value(task)?;
        let sources = workers::sources(self.sources);
        Ok(workers::shares(accounts.len(), workers)
            .into_iter()
            .enumerate()
            .map(|(worker, range)| Job {
                worker,
                target,
                sources: sources.clone(),
                accounts: accounts[range.clone()].to_vec(),
                first: range.start,
                ping_secs: self.ping,
                task: task.clone(),
            })
            .collect())
    }
}

/// Facts about the server process recorded with every result.
#[derive(Debug, Clone, Serialize)]
pub struct ServerFacts {
    pub pid: u32,
    pub fd_limit: FdLimit,
}

impl ServerFacts {
    pub fn of(process: Process) -> ServerFacts {
        ServerFacts { pid: process.0, fd_limit: process.fd_limit().unwrap_or_default() }
    }
}

/// CPU used by the server and by the tool's workers over a measurement.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct CpuShare {
    /// Cores' worth of CPU the server used (1.0 = one core busy all the time).
    pub server_cores: f64,
    /// The same for the tool's worker processes together.
    pub tool_cores: f64,
}

/// Measures [`CpuShare`] between `start` and `finish`.
pub struct CpuMeter {
    server: Process,
    tool: Vec<Process>,
    at: u64,
    server_cpu: f64,
    tool_cpu: f64,
}

impl CpuMeter {
    pub fn start(server: Process, tool: Vec<Process>) -> CpuMeter {
        let server_cpu = server.usage().map_or(0.0, |u| u.cpu_secs);
        let tool_cpu = tool.iter().filter_map(|p| p.usage().ok()).map(|u| u.cpu_secs).sum();
        CpuMeter { server, tool, at: now_ns(), server_cpu, tool_cpu }
    }

    pub fn finish(&self) -> CpuShare {
        let secs = (now_ns() - self.at) as f64 / 1e9;
        let server = self.server.usage().map_or(0.0, |u| u.cpu_secs) - self.server_cpu;
        let tool: f64 =
            self.tool.iter().filter_map(|p| p.usage().ok()).map(|u| u.cpu_secs).sum::<f64>() - self.tool_cpu;
        let round = |x: f64| (x / secs.max(1e-9) * 100.0).round() / 100.0;
        CpuShare { server_cores: round(server), tool_cores: round(tool) }
    }
}

/// The frame every result line shares; `fields` holds the scenario's own.
pub fn result(scenario: &str, label: &str, fields: Value) -> Value {
    let mut value = json!({
        "scenario": scenario,
        "label": label,
        "tool": concat!("msnd-load ", env!("CARGO_PKG_VERSION")),
        "unix_time": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        "machine": Machine::read(),
    });
    if let (Some(all), Value::Object(own)) = (value.as_object_mut(), fields) {
        all.extend(own);
    }
    value
}

/// Prints the result line on stdout and the summary on stderr.
pub fn emit(result: &Value, summary: &str) {
    println!("{result}");
    eprintln!("{summary}");
}

/// Reads a server usage, or zeros if the process is gone.
pub fn usage_of(process: Process) -> Usage {
    process.usage().unwrap_or_default()
}

/// Logs in `job.accounts[range]` (local indices) at `rate` per second (0: as fast as the
/// concurrency allows), at most `concurrency` at once. Launching stops at the first
/// failure; the logins in flight are still waited for. `done` is told each login's local
/// index as it completes.
pub async fn login_many(
    job: &Job,
    range: Range<usize>,
    rate: f64,
    concurrency: usize,
    mut done: impl FnMut(usize),
) -> (Vec<(usize, LoggedIn)>, Vec<Failure>) {
    let job = Arc::new(job.clone());
    let interval = if rate > 0.0 { 1e9 / rate } else { 0.0 };
    let start = now_ns();
    let first = range.start;
    let mut next = range.start;
    let mut running: JoinSet<(usize, Result<LoggedIn, Failure>)> = JoinSet::new();
    let mut sessions = Vec::new();
    let mut failures = Vec::new();
    loop {
        let may_launch = failures.is_empty() && next < range.end && running.len() < concurrency.max(1);
        let finished = if may_launch {
            let due = start + ((next - first) as f64 * interval) as u64;
            if now_ns() >= due {
                let (job, index) = (job.clone(), next);
                running.spawn(async move {
                    let global = job.first + index;
                    (index, client::login(&job.target, &job.accounts[index], job.source(global)).await)
                });
                next += 1;
                continue;
            }
            tokio::select! {
                () = sleep_until_ns(due) => continue,
                Some(finished) = running.join_next() => finished,
            }
        } else {
            match running.join_next().await {
                Some(finished) => finished,
                None => break,
            }
        };
        match finished {
            Ok((index, Ok(session))) => {
                done(index);
                sessions.push((index, session));
            }
            Ok((_, Err(failure))) => failures.push(failure),
            Err(e) => failures.push(Failure::new(client::FailureKind::Io, format!("login task failed: {e}"))),
        }
    }
    (sessions, failures)
}

/// Parses `1000,5000,10000`.
pub fn parse_list(text: &str) -> anyhow::Result<Vec<usize>> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse::<usize>().with_context(|| format!("{s:?} is not a number")))
        .collect()
}

/// Rounds to two decimals for the results.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
