//! What the tool reads about the server process (and itself) from `/proc`: resident
//! memory, CPU time, open descriptors and the open-files limit.

use std::path::PathBuf;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

/// A process to watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Process(pub u32);

/// A snapshot of a process's cost.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Usage {
    /// Resident set size (VmRSS), KiB.
    pub rss_kib: u64,
    /// The part of it that maps files (RssFile): the executable, and a database read
    /// through `mmap` (SQLite's `mmap_size`; off in msnd), whose pages are the page cache.
    pub file_kib: u64,
    /// User plus system CPU time, seconds.
    pub cpu_secs: f64,
    /// Open file descriptors.
    pub fds: u64,
}

/// The open-files limit of a process.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct FdLimit {
    pub soft: u64,
    pub hard: u64,
}

impl Process {
    /// The process given by pid, or the one process whose command name is `name`.
    pub fn find(pid: Option<u32>, name: &str) -> anyhow::Result<Process> {
        if let Some(pid) = pid {
            let process = Process(pid);
            process.usage().with_context(|| format!("cannot read /proc/{pid}: is the server running?"))?;
            return Ok(process);
        }
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").context("cannot list /proc")? {
            let Ok(entry) = entry else { continue };
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            if comm.trim_end() == name {
                found.push(pid);
            }
        }
        match found.as_slice() {
            [pid] => Ok(Process(*pid)),
            [] => bail!("no process named {name:?}: start the server or give --server-pid"),
            many => bail!("several processes named {name:?} ({many:?}): give --server-pid"),
        }
    }

    fn path(&self, file: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/{file}", self.0))
    }

    /// Memory, CPU time and open descriptors now.
    pub fn usage(&self) -> anyhow::Result<Usage> {
        let status = std::fs::read_to_string(self.path("status"))?;
        let kib = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        };
        let rss_kib = kib("VmRSS:").context("no VmRSS in /proc/PID/status")?;
        let file_kib = kib("RssFile:").unwrap_or(0);
        let stat = std::fs::read_to_string(self.path("stat"))?;
        // Fields after the command name, which is in parentheses and may contain spaces.
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).context("malformed /proc/PID/stat")?;
        let fields: Vec<&str> = after.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
        let ticks: u64 = fields
            .get(11..13)
            .context("short /proc/PID/stat")?
            .iter()
            .filter_map(|f| f.parse::<u64>().ok())
            .sum();
        let cpu_secs = ticks as f64 / clock_ticks_per_sec();
        let fds = std::fs::read_dir(self.path("fd")).map(|d| d.count() as u64).unwrap_or(0);
        Ok(Usage { rss_kib, file_kib, cpu_secs, fds })
    }

    /// The process's open-files limit, from `/proc/PID/limits`.
    pub fn fd_limit(&self) -> anyhow::Result<FdLimit> {
        let limits = std::fs::read_to_string(self.path("limits"))?;
        let line = limits.lines().find(|l| l.starts_with("Max open files")).context("no open-files limit")?;
        let numbers: Vec<u64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        match numbers.as_slice() {
            [soft, hard, ..] => Ok(FdLimit { soft: *soft, hard: *hard }),
            _ => bail!("unreadable open-files limit: {line:?}"),
        }
    }
}

/// `sysconf(_SC_CLK_TCK)`: 100 on every Linux this tool targets.
fn clock_ticks_per_sec() -> f64 {
    100.0
}

/// This process's open-files limit after raising the soft limit to the hard one.
pub fn raise_own_fd_limit() -> FdLimit {
    let hard = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(0, |(_, hard)| hard);
    let soft = rlimit::increase_nofile_limit(hard).unwrap_or(0);
    FdLimit { soft, hard }
}

/// Cores and memory of this machine, for the results.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub memory_gib: f64,
    pub cpu: String,
    pub kernel: String,
}

impl Machine {
    pub fn read() -> Machine {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_default();
        let kernel =
            std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_owned();
        Machine { cores, memory_gib: (mem_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0, cpu, kernel }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_process() {
        let me = Process(std::process::id());
        let usage = me.usage().unwrap();
        assert!(usage.rss_kib > 0 && usage.fds > 0);
        let limit = me.fd_limit().unwrap();
        assert!(limit.soft > 0 && limit.soft <= limit.hard);
        assert!(Machine::read().cores >= 1);
    }
}
