//! What an operator reads: the real binary's log on a pipe, as journald, `docker logs` and
//! fail2ban get it, from the configuration it runs with to who left why.

mod common;

use common::process::{add_user, login, loopback_config, ServerProcess};
use common::{tcp_from, Client};
use std::process::{Command, Stdio};

#[tokio::test]
async fn the_log_is_plain_text_and_says_who_left_why_and_after_how_long() {
    let dir = tempfile::tempdir().unwrap();
    let config = loopback_config(dir.path(), "[challenges]\nenabled = false\n");
    add_user(&config, "alice@example.com", "pa");
    add_user(&config, "bob@example.com", "pb");
    let server = ServerProcess::start(&config);
    let db = dir.path().join("msnd.db");
    server.wait_for_line(&[
        "configuration",
        &format!("config={}", config.display()),
        &db.display().to_string(),
    ]);
    let mut alice = login(&server, "alice@example.com", "pa").await;
    alice.transcript("C: OUT\nS: (closed)").await;
    let bob = login(&server, "bob@example.com", "pb").await;
    drop(bob);
    let signed_out = server.wait_for_line(&["session ended", "user=alice@example.com", "reason=signed out"]);
    let dropped =
        server.wait_for_line(&["session ended", "user=bob@example.com", "reason=closed by the client"]);
    for line in [&signed_out, &dropped] {
        assert!(line.contains(" INFO ") && line.contains(" secs="), "{line}");
    }
    assert!(!server.log().contains('\u{1b}'), "colour codes on a pipe:\n{}", server.log());
}

/// A refused connection is not one log line each: a flood of them is summarised, and the
/// others still get in meanwhile.
#[tokio::test]
async fn refused_connections_are_logged_as_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        loopback_config(dir.path(), "[limits]\nmax_connections_per_ip = 10\n[challenges]\nenabled = false\n");
    add_user(&config, "alice@example.com", "pa");
    let server = ServerProcess::start(&config);
    let flooder = std::net::IpAddr::from([127, 0, 0, 3]);
    let mut holders = Vec::new();
    for _ in 0..10 {
        holders.push(tcp_from(server.notification, flooder, None).await);
    }
    for _ in 0..500 {
        let mut refused = Client::over(tcp_from(server.notification, flooder, None).await);
        refused.expect_closed().await;
    }
    let mut alice = login(&server, "alice@example.com", "pa").await;
    alice.transcript("C: PNG\nS: QNG").await;
    server.wait_for_line(&["connections refused"]);
    let log = server.log();
    let reports = log.lines().filter(|l| l.contains("connections refused")).count();
    assert!((1..=3).contains(&reports), "{reports} log lines for 500 refusals:\n{log}");
}

/// Each cause is said once, and a database that cannot be opened is named.
#[test]
fn errors_are_said_once_and_name_the_file() {
    let msnd = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_msnd")).args(args).stdin(Stdio::null()).output().unwrap();
        assert!(!out.status.success(), "msnd {args:?} should fail");
        String::from_utf8(out.stderr).unwrap()
    };
    let missing = msnd(&["--config", "/nonexistent/msnd.toml", "user", "list"]);
    assert_eq!(missing.matches("No such file").count(), 1, "{missing}");
    assert!(missing.contains("/nonexistent/msnd.toml"), "{missing}");

    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, "").unwrap();
    let db = not_a_dir.join("msnd.db");
    let config = loopback_config(dir.path(), "");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        &format!("sqlite://{}", dir.path().join("msnd.db").display()),
        &format!("sqlite://{}", db.display()),
    );
    std::fs::write(&config, text).unwrap();
    for args in
        [&["--config", config.to_str().unwrap()][..], &["--config", config.to_str().unwrap(), "migrate"]]
    {
        let error = msnd(args);
        let last = error.lines().last().unwrap_or_default();
        assert!(last.contains(&db.display().to_string()), "the path is named: {error}");
        let words: Vec<&str> = last.split(": ").collect();
        let unique: std::collections::HashSet<&str> = words.iter().copied().collect();
        assert_eq!(words.len(), unique.len(), "a cause repeated: {last}");
    }
}
