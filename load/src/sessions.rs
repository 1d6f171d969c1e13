//! Scenario `sessions`: ramp to as many concurrent logged-in sessions as the machine allows,
//! in steps, and read the server's resident memory after each; then hold them with pings.
//! The result says which limit stopped the ramp.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::{Failure, FailureKind};
use crate::clock::now_ns;
use crate::common::{self, round2, ServerArgs, ServerFacts};
use crate::procfs::{raise_own_fd_limit, FdLimit, Process};
use crate::session::{self, Counters, NoHooks, Session};
use crate::workers::{Job, Link, Pool};

#[derive(Debug, Clone, Args)]
pub struct SessionsArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Most sessions to open (default: one per account in the file).
    #[arg(long)]
    pub max: Option<usize>,
    /// Session counts at which memory is read after the ramp settles (and at the end).
    #[arg(long, default_value = "1000,2000,5000,10000,15000")]
    pub steps: String,
    /// Logins per second while ramping.
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// Logins in flight at once, over all workers.
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Seconds to let the server settle before each memory reading.
    #[arg(long, default_value_t = 2)]
    pub settle: u64,
    /// Seconds to hold every session at the end, pinging.
    #[arg(long, default_value_t = 30)]
    pub hold: u64,
    /// Give up after this many seconds in all.
    #[arg(long, default_value_t = 900)]
    pub time_limit: u64,
    /// Write the plot of memory against sessions to this SVG file.
    #[arg(long)]
    pub svg: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Task {
    rate: f64,
    concurrency: usize,
}

#[derive(Debug, Serialize, Deserialize)]
enum Control {
    /// Have this many of your accounts logged in.
    Target(usize),
    /// Report and end.
    Stop,
}

#[derive(Debug, Serialize, Deserialize)]
enum Report {
    Status {
        online: usize,
    },
    Reached {
        online: usize,
    },
    Stuck {
        online: usize,
        failure: Failure,
    },
    Done {
        alive: usize,
        lost: usize,
        last_loss: Option<String>,
        challenges: u64,
        errors: u64,
        fd_limit: FdLimit,
    },
}

/// One reading of the server.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sample {
    pub sessions: usize,
    pub rss_kib: u64,
    /// Of `rss_kib`, mapped files (the database): see [`crate::procfs::Usage::file_kib`].
    pub file_kib: u64,
    pub fds: u64,
    pub secs: f64,
}

impl Sample {
    fn of(sessions: usize, usage: &crate::procfs::Usage, secs: f64) -> Sample {
        Sample { sessions, rss_kib: usage.rss_kib, file_kib: usage.file_kib, fds: usage.fds, secs }
    }

    /// Anonymous memory: RSS without mapped files.
    fn anon_kib(&self) -> u64 {
        self.rss_kib.saturating_sub(self.file_kib)
    }
}

/// The coordinator.
pub async fn run(args: SessionsArgs) -> anyhow::Result<()> {
    let accounts = args.server.read_accounts()?;
    let max = args.max.unwrap_or(accounts.len()).min(accounts.len());
    let accounts = &accounts[..max];
    let server = args.server.server_process()?;
    let facts = ServerFacts::of(server);
    // Each worker holds its share of sessions plus transient dispatch connections: keep
    // every share well under a process's open-files limit.
    let own_limit = raise_own_fd_limit();
    let per_worker = (own_limit.soft.saturating_sub(200) as usize * 3 / 4).max(1000);
    let workers = args.server.workers.max(max.div_ceil(per_worker)).max(1);
    let task = Task { rate: args.rate / workers as f64, concurrency: args.concurrency.div_ceil(workers) };
    let jobs = args.server.jobs(accounts, workers, &task)?;
    let shares: Vec<usize> = jobs.iter().map(|j| j.accounts.len()).collect();
    let mut steps = common::parse_list(&args.steps)?;
    steps.retain(|&s| s > 0 && s < max);
    steps.sort_unstable();
    steps.dedup();
    steps.push(max);

    tokio::time::sleep(Duration::from_millis(500)).await;
    let baseline = common::usage_of(server);
    eprintln!(
        "server pid {} uses {} KiB with no sessions; ramping to {max} over {workers} workers",
        server.0, baseline.rss_kib
    );
    let mut pool = Pool::start("sessions", jobs).await?;
    let started = now_ns();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.time_limit);
    let secs = || (now_ns() - started) as f64 / 1e9;
    let mut series = vec![Sample::of(0, &baseline, 0.0)];
    let mut milestones = Vec::new();
    let mut online = vec![0usize; workers];
    let mut failures: Vec<(usize, Failure)> = Vec::new();
    let mut stopped_by = None;
    for &step in &steps {
        let targets = split(step, &shares);
        for (worker, target) in targets.iter().enumerate() {
            pool.send(worker, &Control::Target(*target)).await?;
        }
        let mut finished = vec![false; workers];
        let mut next_sample = tokio::time::Instant::now();
        while finished.iter().any(|f| !f) {
            let now = tokio::time::Instant::now();
            if now > deadline {
                stopped_by = Some(format!("time limit of {} s", args.time_limit));
                break;
            }
            if now >= next_sample {
                let usage = common::usage_of(server);
                let sessions = online.iter().sum();
                series.push(Sample::of(sessions, &usage, secs()));
                next_sample = now + SAMPLE_EVERY;
            }
            match pool.recv::<Report>(next_sample.saturating_duration_since(now)).await? {
                Some((w, Report::Status { online: n })) => online[w] = n,
                Some((w, Report::Reached { online: n })) => {
                    online[w] = n;
                    finished[w] = true;
                }
                Some((w, Report::Stuck { online: n, failure })) => {
                    online[w] = n;
                    finished[w] = true;
                    failures.push((w, failure));
                }
                Some((_, Report::Done { .. })) | None => {}
            }
        }
        tokio::time::sleep(Duration::from_secs(args.settle)).await;
        let usage = common::usage_of(server);
        let sessions: usize = online.iter().sum();
        series.push(Sample::of(sessions, &usage, secs()));
        milestones.push(Sample::of(sessions, &usage, secs()));
        eprintln!(
            "{sessions} sessions: server RSS {} KiB ({:.2} KiB per session; without mapped files {:.2}), {} open files",
            usage.rss_kib,
            per_session(baseline.rss_kib, usage.rss_kib, sessions),
            per_session(baseline.rss_kib - baseline.file_kib, usage.rss_kib - usage.file_kib, sessions),
            usage.fds
        );
        if stopped_by.is_some() || !failures.is_empty() {
            break;
        }
    }
    let peak: usize = online.iter().sum();
    let stopped_by = stopped_by.unwrap_or_else(|| explain(&failures, server, &facts, peak, max));
    eprintln!("ramp ended at {peak} sessions: {stopped_by}; holding {} s", args.hold);
    let hold_until = now_ns() + args.hold * 1_000_000_000;
    while now_ns() < hold_until {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let usage = common::usage_of(server);
        series.push(Sample::of(peak, &usage, secs()));
    }
    let held = common::usage_of(server);
    pool.broadcast(&Control::Stop).await?;
    let mut done = Vec::new();
    while done.len() < workers {
        match pool.recv::<Report>(Duration::from_secs(30)).await? {
            Some((_, report @ Report::Done { .. })) => done.push(report),
            Some(_) => {}
            None => anyhow::bail!("workers did not finish"),
        }
    }
    pool.shutdown().await;

    let mut alive = 0;
    let mut lost = 0;
    let mut losses = Vec::new();
    let mut challenges = 0;
    let mut errors = 0;
    let mut client_limits = Vec::new();
    for report in &done {
        if let Report::Done { alive: a, lost: l, last_loss, challenges: c, errors: e, fd_limit } = report {
            alive += a;
            lost += l;
            challenges += c;
            errors += e;
            losses.extend(last_loss.clone());
            client_limits.push(*fd_limit);
        }
    }
    let marginal: Vec<_> = milestones
        .windows(2)
        .map(|w| {
            let (a, b) = (w[0], w[1]);
            let added = b.sessions.saturating_sub(a.sessions);
            json!({"from": a.sessions, "to": b.sessions, "kib_per_session": per_session(a.rss_kib, b.rss_kib, added),
                   "anon_kib_per_session": per_session(a.anon_kib(), b.anon_kib(), added)})
        })
        .collect();
    let base_anon = baseline.rss_kib.saturating_sub(baseline.file_kib);
    let held_anon = held.rss_kib.saturating_sub(held.file_kib);
    let failure_kinds: BTreeMap<String, usize> = failures.iter().fold(BTreeMap::new(), |mut m, (_, f)| {
        *m.entry(format!("{:?}", f.kind)).or_default() += 1;
        m
    });
    let result = common::result(
        "sessions",
        &args.server.label,
        json!({
            "params": {"max": max, "steps": steps, "rate": args.rate, "concurrency": args.concurrency,
                       "workers": workers, "sources": args.server.sources, "protocol": args.server.protocol,
                       "hold_secs": args.hold, "ping_secs": args.server.ping},
            "server": facts,
            "client_fd_limits": client_limits,
            "baseline_rss_kib": baseline.rss_kib,
            "baseline_rss_file_kib": baseline.file_kib,
            "milestones": milestones.iter().map(|m| json!({
                "sessions": m.sessions, "rss_kib": m.rss_kib, "rss_file_kib": m.file_kib, "fds": m.fds,
                "kib_per_session": per_session(baseline.rss_kib, m.rss_kib, m.sessions),
                "anon_kib_per_session": per_session(base_anon, m.anon_kib(), m.sessions),
            })).collect::<Vec<_>>(),
            "marginal": marginal,
            "peak_sessions": peak,
            "stopped_by": stopped_by,
            "failures": failure_kinds,
            "first_failure": failures.first().map(|(w, f)| json!({"worker": w, "kind": f.kind, "detail": f.detail})),
            "held": {"secs": args.hold, "alive": alive, "lost": lost, "losses": losses, "rss_kib": held.rss_kib,
                     "rss_file_kib": held.file_kib,
                     "kib_per_session": per_session(baseline.rss_kib, held.rss_kib, alive),
                     "anon_kib_per_session": per_session(base_anon, held_anon, alive),
                     "challenges_answered": challenges, "errors": errors},
            "series": series,
        }),
    );
    let summary = format!(
        "sessions: peak {peak} ({stopped_by}); after {} s held {alive} alive, {lost} lost; server RSS {} KiB = {:.2} KiB per session over the idle {} KiB; without mapped files {:.2} KiB per session",
        args.hold,
        held.rss_kib,
        per_session(baseline.rss_kib, held.rss_kib, alive),
        baseline.rss_kib,
        per_session(base_anon, held_anon, alive),
    );
    common::emit(&result, &summary);
    if let Some(path) = &args.svg {
        crate::plot::write(path, &crate::plot::sessions(&[result]))?;
        eprintln!("plot written to {}", path.display());
    }
    Ok(())
}

/// How often the server is read during a ramp (workers report progress more often).
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// KiB of growth per session, two decimals.
fn per_session(before: u64, after: u64, sessions: usize) -> f64 {
    if sessions == 0 {
        return 0.0;
    }
    round2((after as f64 - before as f64) / sessions as f64)
}

/// Splits a total target over the workers in proportion to their shares.
fn split(total: usize, shares: &[usize]) -> Vec<usize> {
    let all: usize = shares.iter().sum();
    let total = total.min(all);
    let mut targets: Vec<usize> = shares.iter().map(|&s| (total * s).checked_div(all).unwrap_or(0)).collect();
    let mut left = total - targets.iter().sum::<usize>();
    for (t, &cap) in targets.iter_mut().zip(shares) {
        let more = (cap - *t).min(left);
        *t += more;
        left -= more;
    }
    targets
}

/// Which limit stopped the ramp, from the failures and the server's state.
fn explain(
    failures: &[(usize, Failure)],
    server: Process,
    facts: &ServerFacts,
    peak: usize,
    max: usize,
) -> String {
    let Some((worker, failure)) = failures.first() else {
        return format!("every account was logged in ({max}, raise --max or add accounts)");
    };
    let usage = common::usage_of(server);
    let limit = facts.fd_limit.soft;
    let server_full = limit > 0 && usage.fds + 16 >= limit;
    match failure.kind {
        FailureKind::ClientFdLimit => {
            format!("the tool's open-files limit (worker {worker}): {}", failure.detail)
        }
        FailureKind::ClientPorts => format!("the tool ran out of local ports: {}", failure.detail),
        _ if server_full => format!(
            "the server's open-files limit: {} of {limit} descriptors in use at {peak} sessions ({})",
            usage.fds, failure.detail
        ),
        FailureKind::Closed => format!(
            "the server closed new connections at {peak} sessions, with {} of {limit} descriptors in use: \
             its connection limits (limits.max_connections, max_connections_per_ip)? ({})",
            usage.fds, failure.detail
        ),
        FailureKind::Timeout => {
            format!("the server stopped answering in time at {peak} sessions ({})", failure.detail)
        }
        _ => format!("a failed login: {failure}"),
    }
}

/// A worker: ramps to each target it is given, keeps its sessions alive, reports.
pub async fn work(job: Job, mut link: Link) -> anyhow::Result<()> {
    let task: Task = serde_json::from_value(job.task.clone())?;
    let fd_limit = raise_own_fd_limit();
    let counters = Arc::new(Counters::default());
    let hooks: Arc<dyn session::Hooks> = Arc::new(NoHooks);
    let ping = Duration::from_secs(job.ping_secs.max(1));
    let mut sessions: Vec<Session> = Vec::new();
    let mut next = 0;
    while let Some(control) = link.control::<Control>().await? {
        match control {
            Control::Target(target) => {
                // Accounts whose login failed are skipped from then on.
                let range = next..target.min(job.accounts.len()).max(next);
                next = range.end;
                let before = sessions.len();
                let mut completed = 0;
                let mut last_status = now_ns();
                let (logged_in, failures) =
                    common::login_many(&job, range, task.rate, task.concurrency, |_| {
                        completed += 1;
                        if now_ns() - last_status > 100_000_000 {
                            last_status = now_ns();
                            link.report(&Report::Status { online: before + completed });
                        }
                    })
                    .await;
                for (_, session) in logged_in {
                    sessions.push(session::spawn(session.conn, hooks.clone(), counters.clone(), ping));
                }
                let online = sessions.len();
                match failures.into_iter().next() {
                    Some(failure) => link.report(&Report::Stuck { online, failure }),
                    None => link.report(&Report::Reached { online }),
                }
            }
            Control::Stop => break,
        }
    }
    let alive = counters.alive.load(std::sync::atomic::Ordering::Relaxed);
    let last_loss = counters.last_loss.lock().unwrap_or_else(|p| p.into_inner()).clone();
    link.report(&Report::Done {
        alive,
        lost: counters.lost.load(std::sync::atomic::Ordering::Relaxed),
        last_loss,
        challenges: counters.challenges.load(std::sync::atomic::Ordering::Relaxed),
        errors: counters.errors.load(std::sync::atomic::Ordering::Relaxed),
        fd_limit,
    });
    for session in &sessions {
        let _ = session.commands.send(session::Command::Out);
    }
    // A moment for the OUTs to go out; the server closes the rest when the process ends.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_in_proportion_and_spill_over() {
        assert_eq!(split(10, &[5, 5]), [5, 5]);
        assert_eq!(split(6, &[5, 5]), [3, 3]);
        assert_eq!(split(8, &[2, 10]), [2, 6]);
        assert_eq!(split(100, &[3, 4]), [3, 4]);
        assert_eq!(per_session(1000, 2024, 100), 10.24);
    }
}
