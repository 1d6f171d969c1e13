//! The tool's processes. The coordinator (the command a person runs) re-executes itself as
//! `msnd-load worker` children, so that the connections are spread over several processes,
//! each with its own open-files limit. Each child reads one [`Job`] line and then control
//! messages on stdin, and writes reports on stdout, all JSON lines.

use std::net::Ipv4Addr;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

use crate::accounts::Account;
use crate::client::Target;
use crate::procfs::Process;

/// What one worker is to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    /// This worker's number, from 0.
    pub worker: usize,
    pub target: Target,
    /// Source addresses to spread connections over (127.0.0.1, 127.0.0.2 ...).
    pub sources: Vec<Ipv4Addr>,
    /// This worker's accounts.
    pub accounts: Vec<Account>,
    /// The index of `accounts[0]` in the whole accounts list.
    pub first: usize,
    /// Seconds between pings of an idle session.
    pub ping_secs: u64,
    /// The scenario's own parameters.
    pub task: Value,
}

impl Job {
    /// The source address for the connection of the account at `global` index.
    pub fn source(&self, global: usize) -> Option<Ipv4Addr> {
        (!self.sources.is_empty()).then(|| self.sources[global % self.sources.len()])
    }
}

/// `count` loopback source addresses, 127.0.0.1 upwards.
pub fn sources(count: usize) -> Vec<Ipv4Addr> {
    (0..count.clamp(1, 250)).map(|i| Ipv4Addr::new(127, 0, 0, 1 + i as u8)).collect()
}

/// Splits `items` into `parts` contiguous shares as equal as possible; returns the ranges.
pub fn shares(items: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    let parts = parts.max(1);
    (0..parts).map(|p| (items * p / parts)..(items * (p + 1) / parts)).collect()
}

/// The running workers, seen from the coordinator.
pub struct Pool {
    children: Vec<Child>,
    inputs: Vec<ChildStdin>,
    reports: mpsc::UnboundedReceiver<(usize, Option<Value>)>,
}

impl Pool {
    /// Starts one worker per job, each running `scenario`'s worker side.
    pub async fn start(scenario: &str, jobs: Vec<Job>) -> anyhow::Result<Pool> {
        let exe = std::env::current_exe().context("cannot find the tool's own executable")?;
        let (tx, reports) = mpsc::unbounded_channel();
        let mut children = Vec::new();
        let mut inputs = Vec::new();
        for job in jobs {
            let worker = job.worker;
            let mut child = Command::new(&exe)
                .args(["worker", scenario])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .context("cannot start a worker process")?;
            let mut input = child.stdin.take().context("worker stdin")?;
            let output = child.stdout.take().context("worker stdout")?;
            let mut line = serde_json::to_vec(&job)?;
            line.push(b'\n');
            input.write_all(&line).await.context("cannot send a worker its job")?;
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(output).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    match serde_json::from_str(&line) {
                        Ok(value) => {
                            let _ = tx.send((worker, Some(value)));
                        }
                        Err(e) => eprintln!("worker {worker}: unreadable report ({e}): {line}"),
                    }
                }
                let _ = tx.send((worker, None));
            });
            children.push(child);
            inputs.push(input);
        }
        Ok(Pool { children, inputs, reports })
    }

    pub fn len(&self) -> usize {
        self.children.len()
    }

    /// The workers' processes, for their CPU time.
    pub fn processes(&self) -> Vec<Process> {
        self.children.iter().filter_map(|c| c.id()).map(Process).collect()
    }

    /// Sends a control message to one worker.
    pub async fn send(&mut self, worker: usize, message: &impl Serialize) -> anyhow::Result<()> {
        let mut line = serde_json::to_vec(message)?;
        line.push(b'\n');
        let input = self.inputs.get_mut(worker).ok_or_else(|| anyhow!("no worker {worker}"))?;
        input.write_all(&line).await.with_context(|| format!("worker {worker} is gone"))
    }

    /// Sends the same control message to every worker.
    pub async fn broadcast(&mut self, message: &impl Serialize) -> anyhow::Result<()> {
        for worker in 0..self.inputs.len() {
            self.send(worker, message).await?;
        }
        Ok(())
    }

    /// The next report from any worker, within `timeout`; a worker that exits is an error.
    pub async fn recv<T: DeserializeOwned>(
        &mut self,
        timeout: Duration,
    ) -> anyhow::Result<Option<(usize, T)>> {
        match tokio::time::timeout(timeout, self.reports.recv()).await {
            Err(_) => Ok(None),
            Ok(None) => bail!("every worker has exited"),
            Ok(Some((worker, None))) => bail!("worker {worker} exited early (see its messages above)"),
            Ok(Some((worker, Some(value)))) => {
                let report =
                    serde_json::from_value(value).with_context(|| format!("report from worker {worker}"))?;
                Ok(Some((worker, report)))
            }
        }
    }

    /// One report from every worker (the first each sends), within `timeout` in all.
    pub async fn gather<T: DeserializeOwned>(&mut self, timeout: Duration) -> anyhow::Result<Vec<T>> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut got: Vec<Option<T>> = (0..self.len()).map(|_| None).collect();
        while got.iter().any(Option::is_none) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.recv::<T>(left).await? {
                Some((worker, report)) => got[worker] = Some(report),
                None => bail!("workers did not report within {timeout:?}"),
            }
        }
        Ok(got.into_iter().flatten().collect())
    }

    /// Closes the workers' input (they end) and waits a little for them; kills stragglers.
    pub async fn shutdown(mut self) {
        self.inputs.clear();
        for child in &mut self.children {
            if tokio::time::timeout(Duration::from_secs(10), child.wait()).await.is_err() {
                let _ = child.kill().await;
            }
        }
    }
}

/// A worker's side of the pipes.
pub struct Link {
    controls: mpsc::UnboundedReceiver<Value>,
}

impl Link {
    /// Reads the job, then keeps reading control messages in the background.
    pub async fn open() -> anyhow::Result<(Job, Link)> {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        let first = lines.next_line().await?.context("no job on stdin")?;
        let job: Job = serde_json::from_str(&first).context("unreadable job")?;
        let (tx, controls) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                match serde_json::from_str(&line) {
                    Ok(value) => {
                        if tx.send(value).is_err() {
                            break;
                        }
                    }
                    Err(e) => eprintln!("worker: unreadable control message ({e})"),
                }
            }
        });
        Ok((job, Link { controls }))
    }

    /// The next control message; `None` when the coordinator has gone.
    pub async fn control<T: DeserializeOwned>(&mut self) -> anyhow::Result<Option<T>> {
        match self.controls.recv().await {
            Some(value) => Ok(Some(serde_json::from_value(value).context("unreadable control message")?)),
            None => Ok(None),
        }
    }

    /// Writes one report line.
    pub fn report(&self, report: &impl Serialize) {
        use std::io::Write;
        let Ok(mut line) = serde_json::to_vec(report) else { return };
        line.push(b'\n');
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(&line).and_then(|()| out.flush());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_everything_once() {
        assert_eq!(shares(10, 3), [0..3, 3..6, 6..10]);
        assert_eq!(shares(2, 4), [0..0, 0..1, 1..1, 1..2]);
        assert_eq!(
            sources(3),
            [Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::new(127, 0, 0, 2), Ipv4Addr::new(127, 0, 0, 3)]
        );
    }
}
