//! `msnd backup` while the server runs and a client keeps changing its account: the copy is
//! consistent, private, holds every change acknowledged before the backup began, and a
//! server started on it serves the account. The command refuses to overwrite a file, and
//! refuses to back up a database that does not exist (creating nothing).

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::process::{add_user, login, loopback_config, ServerProcess};
use common::Client;

/// Runs `msnd --config CONFIG ARGS..` to completion.
fn msnd(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_msnd"))
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run msnd")
}

/// `REA tr handle NameN` for my own name; returns the list version it was acknowledged with.
async fn rename(ns: &mut Client, tr: u32, n: u32) -> u32 {
    ns.send(&format!("REA {tr} alice@example.com Name{n}")).await;
    let reply = ns.recv().await.line;
    let version: u32 = reply.split(' ').nth(2).and_then(|v| v.parse().ok()).expect("a version");
    assert_eq!(reply, format!("REA {tr} {version} alice@example.com Name{n}"));
    version
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_writes_is_consistent_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let config = loopback_config(dir.path(), "[challenges]\nenabled = false\n");
    add_user(&config, "alice@example.com", "pa");
    let server = ServerProcess::start(&config);
    let mut ns = login(&server, "alice@example.com", "pa").await;

    // Every rename bumps the list version by one: version = base + n for NameN.
    let base = rename(&mut ns, 10, 0).await;
    let mut acknowledged = base;
    for n in 1..20 {
        acknowledged = rename(&mut ns, 10 + n, n).await;
        assert_eq!(acknowledged, base + n);
    }
    let copy_dir = tempfile::tempdir().unwrap();
    let copy = copy_dir.path().join("msnd.db");
    let (config_for_backup, copy_arg) = (config.clone(), copy.to_str().unwrap().to_owned());
    let backup = std::thread::spawn(move || msnd(&config_for_backup, &["backup", &copy_arg]));
    let mut n = 20;
    while !backup.is_finished() {
        assert_eq!(rename(&mut ns, 10 + n, n).await, base + n, "renames go on during the backup");
        n += 1;
    }
    let out = backup.join().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("backed up"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the copy holds password equivalents");
    }
    let again = msnd(&config, &["backup", copy.to_str().unwrap()]);
    assert!(!again.status.success(), "an existing file is never overwritten");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    drop(ns);
    drop(server);

    // A server on the copy: alice logs in with her password and sees one consistent state,
    // at least as new as everything acknowledged before the backup began.
    let restored = loopback_config(copy_dir.path(), "[challenges]\nenabled = false\n");
    let server = ServerProcess::start(&restored);
    let mut ns = Client::connect(server.notification).await;
    ns.transcript("C: VER 1 MSNP7\nS: VER 1 MSNP7\nC: INF 2\nS: INF 2 MD5\nC: USR 3 MD5 I alice@example.com\nS: USR 3 MD5 S {salt}")
        .await;
    let response = msnd::credentials::md5_hex(&[ns.var("salt").as_bytes(), b"pa"]);
    ns.send(&format!("USR 4 MD5 S {response}")).await;
    let ok = ns.recv().await.line;
    ns.recv_until_quiet().await;
    ns.send("SYN 5 0").await;
    let syn = ns.recv().await.line;
    let version: u32 = syn.strip_prefix("SYN 5 ").expect("SYN").parse().unwrap();
    assert!(
        version >= acknowledged,
        "the copy has version {version}, {acknowledged} was acknowledged before it"
    );
    assert_eq!(ok, format!("USR 4 OK alice@example.com Name{} 1", version - base), "name and version agree");
}

#[test]
fn no_backup_of_a_database_that_is_not_there() {
    let dir = tempfile::tempdir().unwrap();
    let config = loopback_config(dir.path(), "");
    let out = msnd(&config, &["backup", dir.path().join("copy.db").to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no database"), "{out:?}");
    assert!(!dir.path().join("msnd.db").exists(), "no empty database left behind");
    assert!(!dir.path().join("copy.db").exists());
}
