//! The admin interface of a running server, over real TCP: account changes end live
//! notification and switchboard sessions, kicks, notices in every version's form, the
//! maintenance shutdown, metrics and the health check.

mod common;

use std::time::Duration;

use common::admin::{api, metrics, request, sample, token};
use common::{answer, online, open_chat, Client, TestServer};
use msnd::protocol::Dialect;

async fn start() -> TestServer {
    TestServer::start_with(|c| c.challenges.enabled = false).await
}

/// The MD5 login of `email` is refused with 911 and a hang-up.
async fn md5_refused(server: &TestServer, email: &str, password: &str) {
    let mut ns = server.notification().await;
    ns.transcript(&format!(
        "C: VER 1 MSNP7\nS: VER 1 MSNP7\nC: INF 2\nS: INF 2 MD5\nC: USR 3 MD5 I {email}\nS: USR 3 MD5 S {{salt}}"
    ))
    .await;
    let response = msnd::credentials::md5_hex(&[ns.var("salt").as_bytes(), password.as_bytes()]);
    ns.send(&format!("USR 4 MD5 S {response}")).await;
    ns.transcript("S: 911 4\nS: (closed)").await;
}

/// The Passport login of `email` is refused with 401.
async fn passport_refused(server: &TestServer, email: &str, password: &str) {
    let ns = server.msnp8_challenge(email).await;
    let refused = server.passport_login(email, password, &ns.var("challenge")).await;
    assert_eq!(refused.expect_err("Passport refuses the account").status, 401);
}

/// Neither login of `email` takes `password`: MD5 `911`, Passport `401`.
async fn cannot_log_in(server: &TestServer, email: &str, password: &str) {
    md5_refused(server, email, password).await;
    passport_refused(server, email, password).await;
}

/// Alice (MSNP7) and Bob (MSNP8), friends, online and in one chat that Alice opened.
struct Chatting {
    alice_ns: Client,
    alice_sb: Client,
    bob_ns: Client,
    bob_sb: Client,
}

async fn chatting(server: &TestServer) -> Chatting {
    let alice = server.add_user_named("alice@example.com", "Alice", "alice-pw").await;
    let bob = server.add_user_named("bob@example.com", "Bob", "bob-pw").await;
    server.befriend((alice, "alice@example.com"), (bob, "bob@example.com")).await;
    let mut alice_ns = online(server, "alice@example.com", "alice-pw", Dialect::MSNP7).await;
    let mut bob_ns = online(server, "bob@example.com", "bob-pw", Dialect::MSNP8).await;
    let mut alice_sb = open_chat(&mut alice_ns, "alice@example.com", "Alice").await;
    alice_sb.transcript("C: CAL 2 bob@example.com\nS: CAL 2 RINGING {sid}").await;
    let bob_sb =
        answer(&mut bob_ns, "bob@example.com", "alice@example.com", "Alice", &["alice@example.com Alice"])
            .await;
    alice_sb.transcript("S: JOI bob@example.com Bob").await;
    Chatting { alice_ns, alice_sb, bob_ns, bob_sb }
}

/// Alice's notification session is told `OUT` and closed, her chat connection closed, and
/// Bob sees her leave the chat and go offline.
async fn alice_is_gone(c: &mut Chatting) {
    c.alice_ns.transcript("S: OUT\nS: (closed)").await;
    c.alice_sb.expect_closed().await;
    c.bob_sb.transcript("S: BYE alice@example.com").await;
    c.bob_ns.ignore(&[]);
    c.bob_ns.transcript("S: FLN alice@example.com").await;
}

#[tokio::test]
async fn a_disabled_account_loses_its_live_sessions_and_cannot_log_in() {
    let server = start().await;
    let mut c = chatting(&server).await;
    let reply = api(&server, "POST", "/accounts/alice@example.com/disable", "{}").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(
        reply.body.contains("\"notification\":true") && reply.body.contains("\"chats\":1"),
        "{}",
        reply.body
    );
    alice_is_gone(&mut c).await;
    cannot_log_in(&server, "alice@example.com", "alice-pw").await;
    let reply = api(&server, "POST", "/accounts/alice@example.com/enable", "{}").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    server.login("alice@example.com", "alice-pw", Dialect::MSNP7).await;
}

#[tokio::test]
async fn a_deleted_account_loses_its_live_sessions_and_cannot_log_in() {
    let server = start().await;
    let mut c = chatting(&server).await;
    let reply = api(&server, "POST", "/accounts/alice@example.com/delete", "{}").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    alice_is_gone(&mut c).await;
    cannot_log_in(&server, "alice@example.com", "alice-pw").await;
    let again = api(&server, "POST", "/accounts/alice@example.com/delete", "{}").await;
    assert_eq!(again.status, 404, "{again:?}");
    assert!(again.body.contains("no such account"), "{}", again.body);
}

#[tokio::test]
async fn a_new_password_ends_the_live_sessions_and_the_old_one_no_longer_works() {
    let server = start().await;
    let mut c = chatting(&server).await;
    let reply =
        api(&server, "POST", "/accounts/alice@example.com/password", r#"{"password":"new-pw"}"#).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    alice_is_gone(&mut c).await;
    cannot_log_in(&server, "alice@example.com", "alice-pw").await;
    server.login("alice@example.com", "new-pw", Dialect::MSNP7).await;
    server.login_msnp8("alice@example.com", "new-pw").await;
}

#[tokio::test]
async fn a_kicked_session_ends_and_may_log_in_again() {
    let server = start().await;
    let mut c = chatting(&server).await;
    let reply = api(&server, "POST", "/accounts/alice@example.com/kick", "{}").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    alice_is_gone(&mut c).await;
    let _back = online(&server, "alice@example.com", "alice-pw", Dialect::MSNP7).await;
    let sessions = api(&server, "GET", "/sessions", "").await;
    assert!(
        sessions.body.contains("\"email\":\"alice@example.com\",\"version\":\"MSNP7\""),
        "{}",
        sessions.body
    );
    assert!(
        sessions.body.contains("\"email\":\"bob@example.com\",\"version\":\"MSNP8\",\"client\":\"5.0.0540\""),
        "{}",
        sessions.body
    );
}

#[tokio::test]
async fn the_api_wants_the_token() {
    let server = start().await;
    for (method, path) in [("GET", "/api/sessions"), ("POST", "/api/broadcast"), ("GET", "/metrics")] {
        let none = request(server.addrs.admin, method, path, &[], "").await;
        assert_eq!(none.status, 401, "{path}: {none:?}");
        let wrong = request(
            server.addrs.admin,
            method,
            path,
            &[("Authorization", "Bearer 0123456789abcdef0123456789abcdef")],
            "",
        )
        .await;
        assert_eq!(wrong.status, 401, "{path}: {wrong:?}");
    }
    let file = server.config.admin_token_file();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert_eq!(token(&server).len(), 32);
}

#[tokio::test]
async fn a_notice_reaches_every_version_in_its_form() {
    let server = start().await;
    let mut clients = Vec::new();
    for d in [Dialect::MSNP2, Dialect::MSNP3, Dialect::MSNP4, Dialect::MSNP5, Dialect::MSNP7, Dialect::MSNP8]
    {
        let email = format!("user{}@example.com", d.version);
        server.add_user(&email, "pw").await;
        clients.push((d, online(&server, &email, "pw", d).await));
    }
    let reply = api(&server, "POST", "/broadcast", r#"{"text":"Back in <5> minutes & more"}"#).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(reply.body.contains("\"reached\":6"), "{}", reply.body);
    for (d, client) in &mut clients {
        match d.version {
            2 => client.expect_payload("MSG Hotmail Hotmail", "application/x-msmsgsemailnotification").await,
            3 | 4 => {
                let body =
                    client.expect_payload("MSG Hotmail Hotmail", "text/x-msmsgsemailnotification").await;
                assert!(body.contains("Subject: Back in <5> minutes & more\r\n"), "{body}");
                body
            }
            _ => client.expect_payload("NOT", "<TEXT>Back in &lt;5&gt; minutes &amp; more</TEXT>").await,
        };
    }
    let empty = api(&server, "POST", "/broadcast", r#"{"text":"  "}"#).await;
    assert_eq!(empty.status, 400, "{empty:?}");
    let control = api(&server, "POST", "/broadcast", r#"{"text":"bell \u0007"}"#).await;
    assert_eq!(control.status, 400, "{control:?}");
    let not_json = api(&server, "POST", "/broadcast", "text=hello").await;
    assert_eq!(not_json.status, 400, "{not_json:?}");
    assert!(not_json.body.starts_with("{\"error\":"), "{}", not_json.body);
}

#[tokio::test]
async fn maintenance_warns_refuses_logins_and_ends_with_out_ssd() {
    let mut server = start().await;
    server.add_user("alice@example.com", "pw").await;
    server.add_user("bob@example.com", "pw").await;
    let mut alice = online(&server, "alice@example.com", "pw", Dialect::MSNP7).await;
    let reply = api(&server, "POST", "/maintenance", r#"{"minutes":1,"secs":3}"#).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let warning = alice.expect_payload("MSG Hotmail Hotmail", "application/x-msmsgssystemmessage").await;
    assert!(warning.contains("Type: 1\r\nArg1: 1\r\n"), "{warning}");

    let mut late = server.notification().await;
    late.transcript("C: VER 1 MSNP7\nS: VER 1 MSNP7\nC: INF 2\nS: INF 2 MD5\nC: USR 3 MD5 I bob@example.com\nS: 600 3\nS: (closed)")
        .await;
    let stats = api(&server, "GET", "/stats", "").await;
    assert!(stats.body.contains("\"closing\":true"), "{}", stats.body);
    let twice = api(&server, "POST", "/maintenance", r#"{"minutes":1}"#).await;
    assert_eq!(twice.status, 409, "{twice:?}");
    let ticket = server.passport_login("bob@example.com", "pw", "lc=1033,id=507,tw=40").await;
    assert_eq!(ticket.expect_err("no tickets during maintenance").status, 401);

    alice.transcript("S: OUT SSD\nS: (closed)").await;
    assert!(server.stopped_within(Duration::from_secs(10)).await, "the server stops by itself");
}

#[tokio::test]
async fn metrics_move_with_logins_and_messages() {
    let server = start().await;
    let before = metrics(&server).await;
    assert!(before.ends_with("# EOF\n"), "{before}");
    let logins = "msnd_logins_total{method=\"md5\",result=\"ok\"}";
    let relayed = "msnd_messages_relayed_total";
    let mut c = chatting(&server).await;
    c.alice_sb.send_payload("MSG 3 N", b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhello").await;
    c.bob_sb.expect_payload("MSG alice@example.com", "hello").await;
    let after = metrics(&server).await;
    assert_eq!(sample(&after, logins) - sample(&before, logins), 1.0, "{after}");
    assert_eq!(sample(&after, "msnd_logins_total{method=\"twn\",result=\"ok\"}"), 1.0, "{after}");
    assert_eq!(
        sample(&after, "msnd_passport_requests_total{endpoint=\"login2\",result=\"issued\"}"),
        1.0,
        "{after}"
    );
    assert_eq!(sample(&after, relayed) - sample(&before, relayed), 1.0, "{after}");
    assert_eq!(sample(&after, "msnd_sessions{version=\"MSNP7\"}"), 1.0, "{after}");
    assert_eq!(sample(&after, "msnd_sessions{version=\"MSNP8\"}"), 1.0, "{after}");
    assert_eq!(sample(&after, "msnd_chats"), 1.0, "{after}");
    assert_eq!(sample(&after, "msnd_chat_participants"), 2.0, "{after}");
    assert_eq!(sample(&after, "msnd_presence_notifications_total"), 1.0, "Alice hears NLN Bob: {after}");
    assert!(
        sample(&after, "msnd_connections_total{service=\"notification\",result=\"accepted\"}") >= 2.0,
        "{after}"
    );
    assert!(after.contains("msnd_tls_handshakes_total{version=\"TLSv1.3\""), "{after}");
    assert!(sample(&after, "msnd_database_seconds_count{query=\"lists\"}") >= 2.0, "{after}");
}

#[tokio::test]
async fn the_health_check_fails_when_the_database_does() {
    let server = start().await;
    let ok = request(server.addrs.admin, "GET", "/healthz", &[], "").await;
    assert_eq!((ok.status, ok.body.as_str()), (200, "ok\n"));
    server.store.close().await;
    let failing = request(server.addrs.admin, "GET", "/healthz", &[], "").await;
    assert_eq!((failing.status, failing.body.as_str()), (503, "database unavailable\n"), "{failing:?}");
}

#[tokio::test]
async fn a_login_under_way_is_refused_once_the_account_changes() {
    let server = start().await;
    server.add_user("alice@example.com", "alice-pw").await;
    server.add_user("bob@example.com", "bob-pw").await;
    // MD5: the salt was handed out before the account was disabled.
    let mut ns = server.notification().await;
    ns.transcript(
        "C: VER 1 MSNP7\nS: VER 1 MSNP7\nC: INF 2\nS: INF 2 MD5\nC: USR 3 MD5 I alice@example.com\nS: USR 3 MD5 S {salt}",
    )
    .await;
    let response = msnd::credentials::md5_hex(&[ns.var("salt").as_bytes(), b"alice-pw"]);
    assert_eq!(api(&server, "POST", "/accounts/alice@example.com/disable", "{}").await.status, 200);
    ns.send(&format!("USR 4 MD5 S {response}")).await;
    ns.transcript("S: 911 4\nS: (closed)").await;
    // Passport: the ticket was issued before the password changed.
    let ns = server.msnp8_challenge("bob@example.com").await;
    let ticket = server.passport_login("bob@example.com", "bob-pw", &ns.var("challenge")).await.unwrap();
    let mut ns = ns;
    let changed =
        api(&server, "POST", "/accounts/bob@example.com/password", r#"{"password":"new-pw"}"#).await;
    assert_eq!(changed.status, 200);
    ns.send(&format!("USR 7 TWN S {ticket}")).await;
    ns.transcript("S: 911 7\nS: (closed)").await;
}
