//! Dispatch, hand-off and notification login for every version, over real TCP.

mod common;

use std::time::Duration;

use common::{Client, TestServer};
use msnd::credentials::md5_hex;
use msnd::protocol::Dialect;

const ALICE: &str = "alice@example.com";
const PASSWORD: &str = "correct horse";

async fn server_with_alice() -> TestServer {
    let server = TestServer::start().await;
    server.add_user_named(ALICE, "Alice Liddell", PASSWORD).await;
    server
}

/// Dispatch → XFR → notification login → profile → OUT, for one MD5 version, checking the
/// exact shape of each reply.
async fn md5_login_transcript(dialect: Dialect, xfr_tail: &str, ok_tail: &str) {
    let server = server_with_alice().await;
    let ns_port = server.addrs.notification.port();
    let ds_port = server.addrs.dispatch.port();
    let offer = dialect.client_offer();
    let xfr_tail = xfr_tail.replace("{ds}", &format!("127.0.0.1:{ds_port}"));

    let mut ds = server.dispatch().await;
    ds.transcript(&format!(
        "C: VER 1 {offer}
         S: VER 1 {dialect}
         C: INF 2
         S: INF 2 MD5
         C: USR 3 MD5 I {ALICE}
         S: XFR 3 NS 127.0.0.1:{ns_port}{xfr_tail}
         S: (closed)"
    ))
    .await;

    let mut ns = server.notification().await;
    ns.transcript(&format!(
        "C: VER 4 {offer}
         S: VER 4 {dialect}
         C: INF 5
         S: INF 5 MD5
         C: USR 6 MD5 I {ALICE}
         S: USR 6 MD5 S {{salt}}"
    ))
    .await;
    let salt = ns.var("salt");
    assert!(salt.len() == 20 && salt.as_bytes()[10] == b'.', "salt {salt:?}");
    let response = md5_hex(&[salt.as_bytes(), PASSWORD.as_bytes()]);
    ns.send(&format!("USR 7 MD5 S {response}")).await;
    ns.transcript(&format!("S: USR 7 OK {ALICE} Alice%20Liddell{ok_tail}")).await;

    let profile = ns
        .expect_payload("MSG Hotmail Hotmail ", "Content-Type: text/x-msmsgsprofile; charset=UTF-8\r\n")
        .await;
    assert!(profile.starts_with("MIME-Version: 1.0\r\n"));
    assert!(profile.contains("\r\nLoginTime: "));
    assert!(profile.ends_with("\r\n\r\n"));
    assert_eq!(profile.contains(&format!("PreferredEmail: {ALICE}\r\n")), dialect.passport_profile);
    if dialect.initial_email {
        ns.transcript(
            "S: MSG Hotmail Hotmail *
             | Content-Type: text/x-msmsgsinitialemailnotification; charset=UTF-8
             | Inbox-Unread: 0",
        )
        .await;
    }
    ns.transcript("C: PNG\nS: QNG\nC: OUT\nS: (closed)").await;
}

#[tokio::test]
async fn msnp2_login() {
    md5_login_transcript(Dialect::MSNP2, "", "").await;
}

#[tokio::test]
async fn msnp3_login() {
    md5_login_transcript(Dialect::MSNP3, " 0", "").await;
}

#[tokio::test]
async fn msnp4_login() {
    md5_login_transcript(Dialect::MSNP4, " 0", "").await;
}

#[tokio::test]
async fn msnp5_login() {
    md5_login_transcript(Dialect::MSNP5, " 0", "").await;
}

#[tokio::test]
async fn msnp6_login() {
    md5_login_transcript(Dialect::MSNP6, " 0", " 1").await;
}

#[tokio::test]
async fn msnp7_login() {
    md5_login_transcript(Dialect::MSNP7, " 0 {ds}", " 1").await;
}

#[tokio::test]
async fn msnp8_dispatch_and_twn_challenge() {
    let server = server_with_alice().await;
    let (ns_port, ds_port) = (server.addrs.notification.port(), server.addrs.dispatch.port());
    let cvr = format!("0x0409 win 4.10 i386 MSNMSGR 5.0.0537 MSMSGS {ALICE}");
    let mut ds = server.dispatch().await;
    ds.transcript(&format!(
        "C: VER 1 MSNP8 CVR0
         S: VER 1 MSNP8
         C: CVR 2 {cvr}
         S: CVR 2 5.0.0537 5.0.0537 5.0.0537 * *
         C: USR 3 TWN I {ALICE}
         S: XFR 3 NS 127.0.0.1:{ns_port} 0 127.0.0.1:{ds_port}
         S: (closed)"
    ))
    .await;

    let mut ns = server.notification().await;
    ns.transcript(&format!(
        "C: VER 4 MSNP8 CVR0
         S: VER 4 MSNP8
         C: CVR 5 {cvr}
         S: CVR 5 5.0.0537 5.0.0537 5.0.0537 * *
         C: USR 6 TWN I {ALICE}
         S: USR 6 TWN S {{challenge}}"
    ))
    .await;
    let challenge = ns.var("challenge");
    assert!(challenge.starts_with("lc=1033,id=507,") && challenge.contains(",ct="), "{challenge}");
    // No Passport ticket was issued, so none is valid.
    ns.transcript("C: USR 7 TWN S t=forged&p=\nS: 911 7\nS: (closed)").await;
}

#[tokio::test]
async fn msnp8_rejects_md5_and_inf() {
    let server = server_with_alice().await;
    let mut ns = server.notification().await;
    ns.transcript("C: VER 1 MSNP8 CVR0\nS: VER 1 MSNP8\nC: INF 2\nS: 502 2\nS: (closed)").await;
    let mut ns = server.notification().await;
    ns.transcript(&format!(
        "C: VER 1 MSNP8 CVR0\nS: VER 1 MSNP8\nC: USR 2 MD5 I {ALICE}\nS: 502 2\nS: (closed)"
    ))
    .await;
}

#[tokio::test]
async fn wrong_password_and_unknown_account_look_the_same() {
    let server = server_with_alice().await;
    for (who, password) in [(ALICE, "wrong"), ("nobody@example.com", PASSWORD)] {
        let mut ns = server.notification().await;
        ns.transcript(&format!(
            "C: VER 1 MSNP7 MSNP6\nS: VER 1 MSNP7\nC: USR 2 MD5 I {who}\nS: USR 2 MD5 S {{salt}}"
        ))
        .await;
        let salt = ns.var("salt");
        assert!(salt.len() == 20 && salt.as_bytes()[10] == b'.', "salt {salt:?}");
        let response = md5_hex(&[salt.as_bytes(), password.as_bytes()]);
        ns.transcript(&format!("C: USR 3 MD5 S {response}\nS: 911 3\nS: (closed)")).await;
    }
    // An unknown account's salt is stable, as a real account's is.
    let mut salts = Vec::new();
    for _ in 0..2 {
        let mut ns = server.notification().await;
        ns.transcript(
            "C: VER 1 MSNP5\nS: VER 1 MSNP5\nC: USR 2 MD5 I ghost@example.com\nS: USR 2 MD5 S {salt}",
        )
        .await;
        salts.push(ns.var("salt"));
    }
    assert_eq!(salts[0], salts[1]);
    server.login(ALICE, PASSWORD, Dialect::MSNP7).await;
}

#[tokio::test]
async fn unsupported_versions_get_zero_or_the_cvr0_upgrade_path() {
    let server = server_with_alice().await;
    let mut ds = server.dispatch().await;
    ds.transcript("C: VER 1 DISREGARDANCE FOR A REAL PROTOCOL\nS: VER 1 0\nS: (closed)").await;
    let mut ds = server.dispatch().await;
    ds.transcript(
        "C: VER 1 MSNP13 CVR0
         S: VER 1 CVR0
         C: CVQ 2 0x0409 win 4.10 i386 MSMSGS 6.0.0602 MSMSGS
         S: CVQ 2 6.0.0602 6.0.0602 6.0.0602 * *
         S: (closed)",
    )
    .await;
    // Unknown tokens are ignored: the newest known dialect wins.
    let mut ds = server.dispatch().await;
    ds.transcript("C: VER 0 MSNP15 MSNP13 MSNP8 CVRO\nS: VER 0 MSNP8").await;
    server.login(ALICE, PASSWORD, Dialect::MSNP2).await;
}

#[tokio::test]
async fn a_second_login_kicks_the_first() {
    let server = server_with_alice().await;
    let mut first = server.login(ALICE, PASSWORD, Dialect::MSNP5).await;
    let mut second = server.login(ALICE, PASSWORD, Dialect::MSNP7).await;
    first.transcript("S: OUT OTH\nS: (closed)").await;
    second.transcript("C: PNG\nS: QNG").await;
    // The kicked session's sign-out must not remove the new one: a third login kicks it.
    let _third = server.login(ALICE, PASSWORD, Dialect::MSNP6).await;
    second.transcript("S: OUT OTH\nS: (closed)").await;
}

#[tokio::test]
async fn commands_before_login_are_refused_with_302() {
    let server = server_with_alice().await;
    let mut ns = server.notification().await;
    ns.transcript("C: VER 1 MSNP7\nS: VER 1 MSNP7\nC: SYN 2 0\nS: 302 2\nS: (closed)").await;
    let mut ns = server.notification().await;
    ns.transcript("C: INF 1\nS: 302 1\nS: (closed)").await;
    let mut ns = server.notification().await;
    ns.transcript("C: VER 1 MSNP7\nS: VER 1 MSNP7\nC: USR 2 MD5 S 0123\nS: 911 2\nS: (closed)").await;
    server.login(ALICE, PASSWORD, Dialect::MSNP7).await;
}

#[tokio::test]
async fn logged_in_mistakes_are_answered_without_hanging_up() {
    let server = server_with_alice().await;
    let mut ns = server.login(ALICE, PASSWORD, Dialect::MSNP6).await;
    ns.transcript(&format!(
        "C: USR 20 MD5 I {ALICE}
         S: 207 20
         C: VER 21 MSNP6
         S: 715 21
         C: ZZZ 22 whatever
         S: 200 22
         C: CVR 23 0x0409 win 4.10 i386 MSMSGS 3.6.0038 MSMSGS
         S: CVR 23 3.6.0038 3.6.0038 3.6.0038 * *
         C: PNG
         S: QNG"
    ))
    .await;
}

#[tokio::test]
async fn pipelined_login_is_answered_in_order() {
    let server = server_with_alice().await;
    let mut ns = server.notification().await;
    ns.send_raw(format!("VER 1 MSNP7 MSNP6\r\nINF 2\r\nUSR 3 MD5 I {ALICE}\r\nPNG\r\n").as_bytes()).await;
    ns.transcript("S: VER 1 MSNP7\nS: INF 2 MD5\nS: USR 3 MD5 S {salt}\nS: QNG").await;
}

#[tokio::test]
async fn bare_lf_and_space_runs_are_accepted() {
    let server = server_with_alice().await;
    let mut ns = server.notification().await;
    ns.send_raw(b"VER  1   MSNP5 MSNP4\nINF 2\n").await;
    ns.transcript("S: VER 1 MSNP5\nS: INF 2 MD5").await;
}

#[tokio::test]
async fn overlong_line_closes_only_that_connection() {
    let server = server_with_alice().await;
    let bystander = server.login(ALICE, PASSWORD, Dialect::MSNP7).await;
    let mut ns = server.notification().await;
    ns.send_raw(format!("VER 1 {}\r\n", "MSNP7 ".repeat(1000)).as_bytes()).await;
    ns.expect_closed().await;
    drop(bystander);
    server.login(ALICE, PASSWORD, Dialect::MSNP7).await;
}

#[tokio::test]
async fn oversized_payload_closes_the_connection() {
    let server = server_with_alice().await;
    let mut ns = server.login(ALICE, PASSWORD, Dialect::MSNP7).await;
    ns.send_raw(b"QRY 9 msmsgs@msnmsgr.com 100000\r\n").await;
    ns.expect_closed().await;
    server.login(ALICE, PASSWORD, Dialect::MSNP7).await;
}

#[tokio::test]
async fn garbage_bytes_close_the_connection() {
    let server = server_with_alice().await;
    let mut ns = server.notification().await;
    ns.send_raw(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n").await;
    ns.expect_closed().await;
    let mut ns = server.notification().await;
    ns.transcript("C: GET / HTTP/1.1\nS: 302\nS: (closed)").await;
    server.login(ALICE, PASSWORD, Dialect::MSNP4).await;
}

#[tokio::test]
async fn a_client_vanishing_mid_payload_harms_nobody() {
    let server = server_with_alice().await;
    let mut ns = server.login(ALICE, PASSWORD, Dialect::MSNP7).await;
    ns.send_raw(b"QRY 9 msmsgs@msnmsgr.com 32\r\n3b6666b6").await;
    drop(ns);
    let mut again = server.login(ALICE, PASSWORD, Dialect::MSNP7).await;
    again.transcript("C: PNG\nS: QNG").await;
}

#[tokio::test]
async fn connections_over_the_per_address_limit_are_closed() {
    let server = TestServer::start_with(|c| c.limits.max_connections_per_ip = 2).await;
    server.add_user(ALICE, PASSWORD).await;
    let mut a = server.notification().await;
    let mut b = server.notification().await;
    a.transcript("C: PNG\nS: QNG").await;
    b.transcript("C: PNG\nS: QNG").await;
    let mut c = server.notification().await;
    c.expect_closed().await;
    drop((a, b));
    // Places are given back when connections close.
    for _ in 0..50 {
        let mut d = server.notification().await;
        d.send("PNG").await;
        if tokio::time::timeout(Duration::from_secs(1), d.recv()).await.is_ok() {
            return;
        }
    }
    panic!("a freed place was never reused");
}

#[tokio::test]
async fn a_client_that_does_not_log_in_is_disconnected() {
    let server = TestServer::start_with(|c| c.limits.login_timeout_secs = 1).await;
    let mut silent = server.notification().await;
    silent.expect_closed().await;
    // Pinging does not extend the time to log in.
    let mut chatty = server.notification().await;
    for _ in 0..20 {
        chatty.send("PNG").await;
        if chatty.closed_within(Duration::from_millis(250)).await {
            return;
        }
    }
    panic!("a client that never logged in was still connected after 5 s");
}

#[tokio::test]
async fn shutdown_says_out_ssd_to_everyone() {
    let mut server = server_with_alice().await;
    server.add_user("bob@example.com", "bobpw").await;
    let mut alice = server.login(ALICE, PASSWORD, Dialect::MSNP7).await;
    let mut bob = server.login("bob@example.com", "bobpw", Dialect::MSNP2).await;
    let mut stranger = Client::connect(server.addrs.dispatch).await;
    stranger.transcript("C: VER 1 MSNP7\nS: VER 1 MSNP7").await;
    server.stop().await;
    alice.transcript("S: OUT SSD\nS: (closed)").await;
    bob.transcript("S: OUT SSD\nS: (closed)").await;
    stranger.transcript("S: OUT SSD\nS: (closed)").await;
}

#[tokio::test]
async fn handles_are_case_insensitive_and_names_url_encoded() {
    let server = TestServer::start().await;
    server.add_user_named("Carol@Example.com", "Carol & 100% ☺", "pw").await;
    let mut ns = server.notification().await;
    ns.transcript("C: VER 1 MSNP6\nS: VER 1 MSNP6\nC: USR 2 MD5 I CAROL@EXAMPLE.COM\nS: USR 2 MD5 S {salt}")
        .await;
    let response = md5_hex(&[ns.var("salt").as_bytes(), b"pw"]);
    ns.send(&format!("USR 3 MD5 S {response}")).await;
    ns.transcript("S: USR 3 OK carol@example.com Carol%20%26%20100%25%20%E2%98%BA 1").await;
}

#[tokio::test]
async fn a_flooding_client_is_disconnected() {
    let server = TestServer::start_with(|c| {
        c.limits.commands_per_sec = 1;
        c.limits.command_burst = 5;
    })
    .await;
    server.add_user(ALICE, PASSWORD).await;
    let mut ns = server.notification().await;
    ns.send_raw("PNG\r\n".repeat(50).as_bytes()).await;
    for _ in 0..5 {
        ns.transcript("S: QNG").await;
    }
    ns.expect_closed().await;
    server.login(ALICE, PASSWORD, Dialect::MSNP7).await;
}

#[tokio::test]
async fn an_unknown_accounts_salt_survives_a_restart() {
    let mut server = server_with_alice().await;
    let mut salts = Vec::new();
    for _ in 0..2 {
        let mut ns = server.notification().await;
        ns.transcript(
            "C: VER 1 MSNP7\nS: VER 1 MSNP7\nC: USR 2 MD5 I ghost@example.com\nS: USR 2 MD5 S {salt}",
        )
        .await;
        salts.push(ns.var("salt"));
        server.restart().await;
    }
    assert_eq!(salts[0], salts[1], "a changing salt would tell that the account does not exist");
}

#[tokio::test]
async fn password_guessing_is_cut_off_per_address() {
    let server = TestServer::start_with(|c| c.limits.login_failures_per_ip = 3).await;
    server.add_user(ALICE, PASSWORD).await;
    let attempt = |password: &'static str| {
        let server = &server;
        async move {
            let mut ns = server.notification().await;
            ns.transcript(&format!(
                "C: VER 1 MSNP7\nS: VER 1 MSNP7\nC: USR 2 MD5 I {ALICE}\nS: USR 2 MD5 S {{salt}}"
            ))
            .await;
            let response = md5_hex(&[ns.var("salt").as_bytes(), password.as_bytes()]);
            ns.send(&format!("USR 3 MD5 S {response}")).await;
            ns.recv().await.line
        }
    };
    for _ in 0..3 {
        assert_eq!(attempt("guess").await, "911 3");
    }
    // Even the right password is refused now, from this address.
    assert_eq!(attempt(PASSWORD).await, "911 3");
}

/// No command has control characters, and CVR's parameters are echoed back: a line with
/// NUL, ESC or BEL is an error (`200`), which before login also hangs up.
#[tokio::test]
async fn control_characters_are_an_error_not_an_echo() {
    let server = server_with_alice().await;
    let mut ns = server.notification().await;
    ns.transcript("C: VER 1 MSNP8 CVR0\nS: VER 1 MSNP8").await;
    ns.send_raw(b"CVR 2 0x0409 win 4.10 i386 MSNMSGR 5.0.0537\x1b[2J\x07 MSMSGS a\x00@b.com\r\n").await;
    ns.transcript("S: 200 2\nS: (closed)").await;
    // Logged in, the session goes on after the error.
    let mut ns = server.login(ALICE, PASSWORD, Dialect::MSNP7).await;
    ns.send_raw(b"URL 9 INBOX\x07\r\n").await;
    ns.transcript("S: 200 9\nC: PNG\nS: QNG").await;
}

/// A payload's byte count is digits only: `+3` is no count, and the connection closes.
#[tokio::test]
async fn a_signed_byte_count_is_no_byte_count() {
    let server = server_with_alice().await;
    let mut ns = server.login(ALICE, PASSWORD, Dialect::MSNP7).await;
    ns.send_raw(b"PAG 9 bob@example.com +3\r\nabc").await;
    ns.expect_closed().await;
}

/// The database holds password equivalents: it and its `-wal` and `-shm` files are
/// readable by their owner only.
#[cfg(unix)]
#[tokio::test]
async fn the_database_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let server = server_with_alice().await;
    server.login(ALICE, PASSWORD, Dialect::MSNP7).await;
    let db = server.config.database_url.strip_prefix("sqlite://").unwrap().to_owned();
    for file in [db.clone(), format!("{db}-wal"), format!("{db}-shm")] {
        let mode = std::fs::metadata(&file).unwrap_or_else(|e| panic!("{file}: {e}")).permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{file} has mode {:o}", mode & 0o777);
    }
}
