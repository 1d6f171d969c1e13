//! The real `msnd` binary as a child process, for what only a process shows: its log on
//! standard error, and how it dies.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use super::Client;

/// How long the server may take to start or to log a line.
const PATIENCE: Duration = Duration::from_secs(15);

/// A configuration with every listener on 127.0.0.1 (port 0, but for the admin interface,
/// which the CLI must find: a port free a moment ago) and the database in `dir`, followed
/// by `extra` (keys of `[web]`, then any tables but those named here).
pub fn loopback_config(dir: &Path, extra: &str) -> PathBuf {
    let config = format!(
        "database_url = \"sqlite://{}\"\n\
         [listen]\n\
         dispatch = \"127.0.0.1:0\"\n\
         notification = \"127.0.0.1:0\"\n\
         switchboard = \"127.0.0.1:0\"\n\
         [passport]\n\
         http = \"127.0.0.1:0\"\n\
         https = \"127.0.0.1:0\"\n\
         [admin]\n\
         listen = \"127.0.0.1:{}\"\n\
         [web]\n\
         listen = \"127.0.0.1:0\"\n\
         {extra}",
        dir.join("msnd.db").display(),
        free_port(),
    );
    let path = dir.join("msnd.toml");
    std::fs::write(&path, config).expect("write config");
    path
}

/// A loopback port nothing listens on (at the moment of asking).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// Creates an account with the CLI, as an operator would.
pub fn add_user(config: &std::path::Path, email: &str, password: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_msnd"))
        .arg("--config")
        .arg(config)
        .args(["user", "add", email, "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
}

/// An MSNP7 login straight on the notification port.
pub async fn login(server: &ServerProcess, email: &str, password: &str) -> Client {
    let mut ns = Client::connect(server.notification).await;
    ns.transcript(&format!(
        "C: VER 1 MSNP7\nS: VER 1 MSNP7\nC: INF 2\nS: INF 2 MD5\nC: USR 3 MD5 I {email}\nS: USR 3 MD5 S {{salt}}"
    ))
    .await;
    let response = msnd::credentials::md5_hex(&[ns.var("salt").as_bytes(), password.as_bytes()]);
    ns.transcript(&format!("C: USR 4 MD5 S {response}\nS: USR 4 OK {email} ...")).await;
    ns.recv_until_quiet().await; // the profile and e-mail messages
    ns
}

/// The `msnd` binary serving a configuration; killed (SIGKILL) and reaped when dropped.
pub struct ServerProcess {
    child: Child,
    /// Standard error as raw lines, as an operator's log file would hold them.
    log: Arc<Mutex<Vec<String>>>,
    pub notification: SocketAddr,
}

impl ServerProcess {
    /// Starts the server and waits for its `listening` line, which names the ports it got.
    pub fn start(config: &Path) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_msnd"))
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start msnd");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (found, listening) = mpsc::channel();
        let lines = log.clone();
        // Read stderr to the end, or the server would block once the pipe is full.
        std::thread::spawn(move || {
            let mut reader = std::io::BufReader::new(stderr);
            let mut raw = Vec::new();
            while reader.read_until(b'\n', &mut raw).is_ok_and(|n| n > 0) {
                let line = String::from_utf8_lossy(&raw).trim_end().to_owned();
                if let Some(addr) = notification_addr(&line) {
                    let _ = found.send(addr);
                }
                lines.lock().unwrap().push(line);
                raw.clear();
            }
        });
        let mut server = ServerProcess { child, log, notification: "127.0.0.1:0".parse().unwrap() };
        match listening.recv_timeout(PATIENCE) {
            Ok(addr) => server.notification = addr,
            Err(_) => {
                server.kill();
                panic!("msnd did not report its ports:\n{}", server.log());
            }
        }
        server
    }

    /// SIGKILL, then waits for the process to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Everything logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits until a logged line contains every one of `needles`; returns it.
    pub fn wait_for_line(&self, needles: &[&str]) -> String {
        let deadline = std::time::Instant::now() + PATIENCE;
        while std::time::Instant::now() < deadline {
            let found =
                self.log.lock().unwrap().iter().find(|l| needles.iter().all(|n| l.contains(n))).cloned();
            if let Some(line) = found {
                return line;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no log line with {needles:?}:\n{}", self.log());
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The notification address in the `listening dispatch=... notification=...` line.
fn notification_addr(line: &str) -> Option<SocketAddr> {
    if !line.contains("listening") {
        return None;
    }
    line.split_whitespace().find_map(|field| field.strip_prefix("notification=")?.parse().ok())
}
