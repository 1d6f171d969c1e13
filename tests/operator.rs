//! The operator's command line against a running server, both real processes: `msnd user
//! del/passwd/disable` take effect on live sessions, `msnd admin ..` sees and acts on the
//! server, `msnd invite` makes codes; with no server running, account commands work on the
//! database and `msnd admin` says there is nothing to talk to.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::process::{add_user, login, loopback_config, ServerProcess};

/// Runs `msnd --config CONFIG ARGS..` with `stdin`, to completion.
fn msnd(config: &Path, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_msnd"))
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run msnd");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// Runs it in a thread (it blocks on the server, which this test's runtime also drives).
async fn ok(config: &Path, args: &[&'static str], stdin: &'static str) -> String {
    let config = config.to_owned();
    let owned = args.to_vec();
    let out = tokio::task::spawn_blocking(move || msnd(&config, &owned, stdin)).await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "msnd {args:?} failed: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_commands_reach_live_sessions_of_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let config = loopback_config(dir.path(), "[challenges]\nenabled = false\n");
    for user in ["alice", "bob", "carol"] {
        add_user(&config, &format!("{user}@example.com"), "pw");
    }
    let server = ServerProcess::start(&config);
    let mut alice = login(&server, "alice@example.com", "pw").await;
    let mut bob = login(&server, "bob@example.com", "pw").await;
    let mut carol = login(&server, "carol@example.com", "pw").await;

    let sessions = ok(&config, &["admin", "sessions"], "").await;
    for user in ["alice", "bob", "carol"] {
        assert!(sessions.contains(&format!("{user}@example.com\tMSNP7\t")), "{sessions}");
    }
    assert!(ok(&config, &["admin", "stats"], "").await.contains("online 3\n"));

    let deleted = ok(&config, &["user", "del", "alice@example.com"], "").await;
    assert!(deleted.contains("delete: alice@example.com (ended: notification session yes"), "{deleted}");
    alice.transcript("S: OUT\nS: (closed)").await;

    let changed = ok(&config, &["user", "passwd", "bob@example.com", "--password-stdin"], "new-pw\n").await;
    assert!(changed.contains("password: bob@example.com (ended"), "{changed}");
    bob.transcript("S: OUT\nS: (closed)").await;
    let _bob_again = login(&server, "bob@example.com", "new-pw").await;

    let notice = ok(&config, &["admin", "broadcast", "Hello everyone"], "").await;
    assert!(notice.contains("notice sent to 2 online sessions"), "{notice}");
    carol.expect_payload("NOT", "<TEXT>Hello everyone</TEXT>").await;
    let kicked = ok(&config, &["admin", "kick", "carol@example.com"], "").await;
    assert!(kicked.contains("kicked carol@example.com"), "{kicked}");
    carol.transcript("S: OUT\nS: (closed)").await;
    server.wait_for_line(&["live sessions ended", "carol@example.com", "kicked by the operator"]);

    let code = ok(&config, &["invite"], "").await;
    assert_eq!(code.trim().len(), 32, "{code}");
}

#[tokio::test]
async fn without_a_server_accounts_change_in_the_database_and_admin_says_why_not() {
    let dir = tempfile::tempdir().unwrap();
    let config = loopback_config(dir.path(), "");
    add_user(&config, "alice@example.com", "pw");
    let disabled = ok(&config, &["user", "disable", "alice@example.com"], "").await;
    assert!(disabled.contains("disabled alice@example.com"), "{disabled}");
    let out = msnd(&config, &["admin", "sessions"], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("the server is not running here"), "{stderr}");

    // The server has run once (its token exists) but is stopped: the same.
    drop(ServerProcess::start(&config));
    let enabled = ok(&config, &["user", "enable", "alice@example.com"], "").await;
    assert!(enabled.contains("enabled alice@example.com"), "{enabled}");
    let out = msnd(&config, &["admin", "stats"], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("no server answers"), "{stderr}");
}
