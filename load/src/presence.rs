//! Scenario `presence`: every user online with their contacts, status changes (`CHG`) at a
//! steady rate, and the time from each change being sent to its `NLN` arriving at every
//! watcher. Changes follow a schedule every worker knows, so a watcher in one process can
//! tell which change an `NLN` from a sender in another belongs to; the clock is the
//! machine's monotonic one, shared by all processes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::Failure;
use crate::clock::{now_ns, secs_ns, sleep_until_ns};
use crate::common::{self, round2, CpuMeter, ServerArgs, ServerFacts};
use crate::session::{self, Command, Counters, Hooks, Session};
use crate::stats::Latency;
use crate::workers::{Job, Link, Pool};

/// The statuses a user goes through, one per change: never the same twice running, and
/// each shown to watchers as `NLN <status>`.
pub const CYCLE: [&str; 7] = ["AWY", "BSY", "BRB", "PHN", "LUN", "IDL", "NLN"];

#[derive(Debug, Clone, Args)]
pub struct PresenceArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Users online (the first N accounts of the file; default all).
    #[arg(long)]
    pub users: Option<usize>,
    /// Status changes per second over all users.
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// Seconds of changes.
    #[arg(long, default_value_t = 20.0)]
    pub duration: f64,
    /// Logins per second while everyone logs in.
    #[arg(long, default_value_t = 1000.0)]
    pub login_rate: f64,
    /// Logins in flight at once, over all workers.
    #[arg(long, default_value_t = 128)]
    pub concurrency: usize,
    /// Seconds to wait after the last login before the first change.
    #[arg(long, default_value_t = 3.0)]
    pub warmup: f64,
}

/// Who changes when, and to what. Change `k` is due at `t0 + k * interval`, made by
/// user `(k mod n) * stride mod n` (a permutation, so consecutive changes come from users
/// far apart in the contact ring), to status `CYCLE[(k / n) mod 7]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub t0: u64,
    pub interval_ns: f64,
    pub n: u64,
    pub total: u64,
    pub stride: u64,
    pub inverse: u64,
}

impl Schedule {
    pub fn new(t0: u64, rate: f64, n: u64, total: u64) -> Schedule {
        let n = n.max(1);
        let mut stride = ((n as f64 * 0.618) as u64).max(1);
        while gcd(stride, n) != 1 {
            stride += 1;
        }
        let inverse = mod_inverse(stride % n, n);
        Schedule { t0, interval_ns: 1e9 / rate, n, total, stride, inverse }
    }

    pub fn user(&self, k: u64) -> u64 {
        (k % self.n) * self.stride % self.n
    }

    pub fn due(&self, k: u64) -> u64 {
        self.t0 + (k as f64 * self.interval_ns) as u64
    }

    pub fn status(&self, k: u64) -> &'static str {
        CYCLE[((k / self.n) % CYCLE.len() as u64) as usize]
    }

    /// The change an `NLN status` for `user` seen at `at` belongs to: the latest change by
    /// that user to that status due by then.
    pub fn change_seen(&self, user: u64, status: &str, at: u64) -> Option<u64> {
        let cycle = CYCLE.iter().position(|s| *s == status)? as u64;
        if at < self.t0 || user >= self.n {
            return None;
        }
        let position = user * self.inverse % self.n;
        let last_due = ((at - self.t0) as f64 / self.interval_ns).floor() as u64;
        let last_due = last_due.min(self.total.checked_sub(1)?);
        if last_due < position {
            return None;
        }
        let mut round = (last_due - position) / self.n;
        let len = CYCLE.len() as u64;
        // Back to the latest round whose status is the one seen.
        let back = (round % len + len - cycle) % len;
        round = round.checked_sub(back)?;
        Some(round * self.n + position)
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// `a⁻¹ mod n` for `a` coprime with `n`.
fn mod_inverse(a: u64, n: u64) -> u64 {
    let (mut t, mut new_t, mut r, mut new_r) = (0i128, 1i128, n as i128, a as i128);
    while new_r != 0 {
        let q = r / new_r;
        (t, new_t) = (new_t, t - q * new_t);
        (r, new_r) = (new_r, r - q * new_r);
    }
    t.rem_euclid(n as i128) as u64
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Task {
    login_rate: f64,
    concurrency: usize,
    /// Every user's handle, by index: who an `NLN` is about.
    users: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
enum Control {
    Start(Schedule),
    /// When each change was actually sent (0: not sent), by change number.
    Finish {
        sent: Vec<u64>,
    },
}

// Sent a few times per run: the histograms are not worth boxing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Serialize, Deserialize)]
enum Report {
    Ready {
        online: usize,
        failures: usize,
        first_failure: Option<Failure>,
        watchers: Vec<u32>,
    },
    Sent {
        sent: Vec<(u64, u64)>,
    },
    Result {
        latency: Latency,
        arrival: Latency,
        lag: Latency,
        delivered: u64,
        unmatched: u64,
        lost: usize,
        last_loss: Option<String>,
    },
}

pub async fn run(args: PresenceArgs) -> anyhow::Result<()> {
    let accounts = args.server.read_accounts()?;
    let n = args.users.unwrap_or(accounts.len()).min(accounts.len());
    let accounts = &accounts[..n];
    let server = args.server.server_process()?;
    let facts = ServerFacts::of(server);
    let workers = args.server.workers.max(1);
    let task = Task {
        login_rate: args.login_rate / workers as f64,
        concurrency: args.concurrency.div_ceil(workers),
        users: accounts.iter().map(|a| a.email.clone()).collect(),
    };
    let mut pool = Pool::start("presence", args.server.jobs(accounts, workers, &task)?).await?;
    eprintln!("logging in {n} users over {workers} workers");
    let login_wait = Duration::from_secs_f64(n as f64 / args.login_rate.max(1.0) + 60.0);
    let mut online = 0;
    let mut failures = 0;
    let mut first_failure = None;
    let mut watchers = vec![0u64; n];
    for report in pool.gather::<Report>(login_wait).await? {
        if let Report::Ready { online: o, failures: f, first_failure: ff, watchers: w } = report {
            online += o;
            failures += f;
            first_failure = first_failure.or(ff);
            for (total, w) in watchers.iter_mut().zip(w) {
                *total += u64::from(w);
            }
        }
    }
    let contacts = watchers.iter().sum::<u64>() as f64 / online.max(1) as f64;
    eprintln!("{online} online ({failures} failed), {contacts:.1} online contacts each; changing status at {}/s for {} s", args.rate, args.duration);
    let t0 = now_ns() + secs_ns(args.warmup);
    let total = (args.rate * args.duration) as u64;
    let schedule = Schedule::new(t0, args.rate, n as u64, total);
    pool.broadcast(&Control::Start(schedule)).await?;
    sleep_until_ns(t0).await;
    let meter = CpuMeter::start(server, pool.processes());
    let mut sent = vec![0u64; total as usize];
    let wait = Duration::from_secs_f64(args.duration + 60.0);
    for report in pool.gather::<Report>(wait).await? {
        if let Report::Sent { sent: pairs } = report {
            for (k, at) in pairs {
                if let Some(slot) = sent.get_mut(k as usize) {
                    *slot = at;
                }
            }
        }
    }
    let cpu = meter.finish();
    let changes = sent.iter().filter(|&&t| t > 0).count() as u64;
    let expected: u64 = sent
        .iter()
        .enumerate()
        .filter(|(_, &t)| t > 0)
        .map(|(k, _)| watchers[schedule.user(k as u64) as usize])
        .sum();
    pool.broadcast(&Control::Finish { sent }).await?;
    let mut latency = Latency::default();
    let mut arrival = Latency::default();
    let mut lag = Latency::default();
    let (mut delivered, mut unmatched, mut lost) = (0, 0, 0);
    let mut last_loss = None;
    for report in pool.gather::<Report>(Duration::from_secs(60)).await? {
        if let Report::Result {
            latency: l,
            arrival: a,
            lag: g,
            delivered: d,
            unmatched: u,
            lost: x,
            last_loss: ll,
        } = report
        {
            latency.merge(&l);
            arrival.merge(&a);
            lag.merge(&g);
            delivered += d;
            unmatched += u;
            lost += x;
            last_loss = last_loss.or(ll);
        }
    }
    pool.shutdown().await;
    let summary_latency = latency.summary();
    let summary_arrival = arrival.summary();
    let ratio = if expected > 0 { delivered as f64 / expected as f64 } else { 0.0 };
    let result = common::result(
        "presence",
        &args.server.label,
        json!({
            "params": {"users": n, "rate": args.rate, "duration_secs": args.duration, "workers": workers,
                       "protocol": args.server.protocol},
            "server": facts,
            "online": online,
            "login_failures": failures,
            "first_failure": first_failure,
            "contacts_per_user": round2(contacts),
            "changes": changes,
            "changes_per_sec": round2(changes as f64 / args.duration),
            "expected_deliveries": expected,
            "delivered": delivered,
            "delivery_ratio": (ratio * 10_000.0).round() / 10_000.0,
            "unmatched": unmatched,
            "sessions_lost": lost,
            "last_loss": last_loss,
            "latency": summary_latency,
            "arrival_latency": summary_arrival,
            "sender_lag": lag.summary(),
            "cpu": cpu,
        }),
    );
    let summary = format!(
        "presence ({online} users, {contacts:.0} contacts, {:.0} changes/s): {delivered} of {expected} NLN delivered; \
         CHG to NLN read {summary_latency}; to NLN arrived {summary_arrival}; CPU: server {:.2} cores, tool {:.2} cores",
        changes as f64 / args.duration,
        cpu.server_cores,
        cpu.tool_cores
    );
    common::emit(&result, &summary);
    Ok(())
}

/// A worker's view of the changes: which ones its watchers saw, and when.
#[derive(Default)]
struct Watch {
    users: HashMap<String, u64>,
    schedule: OnceLock<Schedule>,
    /// (change, read at, arrived at).
    seen: Mutex<Vec<(u64, u64, Option<u64>)>>,
    sent: Mutex<Vec<(u64, u64)>>,
    unmatched: AtomicU64,
}

impl Hooks for Watch {
    fn presence(&self, status: &str, email: &str, at: u64, arrived: Option<u64>) {
        // Before the first change: the last logins' own NLNs, not measured.
        let Some(schedule) = self.schedule.get().filter(|s| at >= s.t0) else { return };
        let change = self.users.get(email).and_then(|&user| schedule.change_seen(user, status, at));
        match change {
            Some(k) => self.seen.lock().unwrap_or_else(|p| p.into_inner()).push((k, at, arrived)),
            None => {
                if self.unmatched.fetch_add(1, Ordering::Relaxed) < 5
                    && std::env::var_os("MSND_LOAD_DEBUG").is_some()
                {
                    eprintln!("unmatched NLN {status} {email} at {at} (t0 {})", schedule.t0);
                }
            }
        }
    }

    fn sent(&self, key: u64, at: u64) {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).push((key, at));
    }
}

pub async fn work(job: Job, mut link: Link) -> anyhow::Result<()> {
    let task: Task = serde_json::from_value(job.task.clone())?;
    crate::procfs::raise_own_fd_limit();
    let users: HashMap<String, u64> =
        task.users.iter().enumerate().map(|(i, e)| (e.clone(), i as u64)).collect();
    let mut watchers = vec![0u32; task.users.len()];
    let (logged_in, failures) =
        common::login_many(&job, 0..job.accounts.len(), task.login_rate, task.concurrency, |_| {}).await;
    let watch = Arc::new(Watch { users, ..Watch::default() });
    let counters = Arc::new(Counters::default());
    let ping = Duration::from_secs(job.ping_secs.max(1));
    let mut sessions: HashMap<usize, Session> = HashMap::new();
    for (index, session) in logged_in {
        for email in &session.forward {
            if let Some(&user) = watch.users.get(email) {
                watchers[user as usize] += 1;
            }
        }
        let mut conn = session.conn;
        if let Err(e) = conn.timestamp_arrivals() {
            eprintln!("no arrival timestamps: {e}");
        }
        sessions.insert(index, session::spawn(conn, watch.clone(), counters.clone(), ping));
    }
    link.report(&Report::Ready {
        online: sessions.len(),
        failures: failures.len(),
        first_failure: failures.into_iter().next(),
        watchers,
    });
    let Some(Control::Start(schedule)) = link.control::<Control>().await? else { return Ok(()) };
    let _ = watch.schedule.set(schedule);
    let own = job.first as u64..(job.first + job.accounts.len()) as u64;
    for k in 0..schedule.total {
        let user = schedule.user(k);
        if !own.contains(&user) {
            continue;
        }
        let Some(session) = sessions.get(&((user - own.start) as usize)) else { continue };
        sleep_until_ns(schedule.due(k)).await;
        let line = format!("CHG {} {}", 1000 + k % 1_000_000, schedule.status(k));
        let _ = session.commands.send(Command::Timed { line, key: k });
    }
    // Let the last changes arrive everywhere.
    sleep_until_ns(schedule.due(schedule.total) + 3_000_000_000).await;
    let sent = std::mem::take(&mut *watch.sent.lock().unwrap_or_else(|p| p.into_inner()));
    let mut lag = Latency::default();
    for &(k, at) in &sent {
        lag.record_ns(at.saturating_sub(schedule.due(k)));
    }
    link.report(&Report::Sent { sent });
    let Some(Control::Finish { sent }) = link.control::<Control>().await? else { return Ok(()) };
    let mut latency = Latency::default();
    let mut arrival = Latency::default();
    let mut delivered = 0;
    let mut unmatched = watch.unmatched.load(Ordering::Relaxed);
    for &(k, at, arrived) in watch.seen.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        match sent.get(k as usize) {
            Some(&sent_at) if sent_at > 0 && at >= sent_at => {
                latency.record_ns(at - sent_at);
                // Stamped by the kernel, converted between clocks: never before the CHG.
                arrival.record_ns(arrived.unwrap_or(at).clamp(sent_at, at) - sent_at);
                delivered += 1;
            }
            _ => unmatched += 1,
        }
    }
    let last_loss = counters.last_loss.lock().unwrap_or_else(|p| p.into_inner()).clone();
    link.report(&Report::Result {
        latency,
        arrival,
        lag,
        delivered,
        unmatched,
        lost: counters.lost.load(Ordering::Relaxed),
        last_loss,
    });
    for session in sessions.values() {
        let _ = session.commands.send(Command::Out);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_is_a_permutation_and_every_change_is_found_again() {
        for n in [1u64, 2, 7, 10, 1000] {
            let s = Schedule::new(1_000_000, 1000.0, n, 5 * n + 3);
            let mut users: Vec<u64> = (0..n).map(|k| s.user(k)).collect();
            users.sort_unstable();
            assert_eq!(users, (0..n).collect::<Vec<_>>(), "n = {n}");
            for k in 0..s.total {
                // Seen a little after it was due, and just before the next change of that user.
                let found = s.change_seen(s.user(k), s.status(k), s.due(k) + 100);
                assert_eq!(found, Some(k), "n = {n}, k = {k}");
                let later = s.change_seen(s.user(k), s.status(k), s.due(k + n) - 1);
                assert_eq!(later, Some(k), "n = {n}, k = {k}");
            }
        }
    }

    #[test]
    fn nothing_is_matched_before_its_time_or_for_strangers() {
        let s = Schedule::new(1_000_000_000, 100.0, 10, 100);
        assert_eq!(s.change_seen(3, "AWY", 10), None, "before t0");
        assert_eq!(s.change_seen(99, "AWY", 2_000_000_000), None, "not a user");
        assert_eq!(s.change_seen(s.user(0), "FLN", 2_000_000_000), None, "not a status in the cycle");
        let k = 5;
        assert_eq!(s.change_seen(s.user(k), s.status(k), s.due(k) - 1), None, "not due yet");
        assert_eq!(mod_inverse(3, 10), 7);
    }
}
