//! MSNP8 login through the Passport 1.4 service, over real TCP, TLS and HTTP on 127.0.0.1:
//! the full login, every way a ticket or a login request can be wrong, the lenient HTTP
//! the era's clients need, and the TLS that Windows XP speaks.

mod common;

use std::time::Duration;

use common::web::{self, HttpReply};
use common::TestServer;
use msnd::protocol::Dialect;
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode, SslVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ALICE: &str = "alice@example.com";
const PASSWORD: &str = "correct horse, 100%";
/// PASSWORD as the official client sends it.
const PASSWORD_ENCODED: &str = "correct%20horse%2C%20100%25";
const BOB: &str = "bob@example.com";

async fn server_with_alice() -> TestServer {
    let server = TestServer::start().await;
    server.add_user_named(ALICE, "Alice Liddell", PASSWORD).await;
    server
}

/// A login2.srf request with `authorization` (if any) over HTTPS.
async fn login2(server: &TestServer, path: &str, authorization: Option<&[u8]>) -> HttpReply {
    let host = server.addrs.passport_https.to_string();
    let mut request = web::get(path, &host, &[]);
    if let Some(value) = authorization {
        request.truncate(request.len() - 2);
        request.extend_from_slice(b"Authorization: ");
        request.extend_from_slice(value);
        request.extend_from_slice(b"\r\n\r\n");
    }
    https_raw(server, &request).await
}

async fn https_raw(server: &TestServer, request: &[u8]) -> HttpReply {
    web::https(server.addrs.passport_https, &web::trusting(&server.cert_path()), request).await
}

fn assert_refused(reply: &HttpReply) {
    assert_eq!(reply.status, 401, "{reply:?}");
    assert!(reply.header("WWW-Authenticate").starts_with("Passport1.4 da-status=failed,"), "{reply:?}");
    assert_eq!(reply.header("Connection"), "close");
}

#[tokio::test]
async fn msnp8_login_end_to_end() {
    let server = server_with_alice().await;
    let mut ns = server.msnp8_challenge(ALICE).await;
    let challenge = ns.var("challenge");
    let ticket = server.passport_login(ALICE, PASSWORD, &challenge).await.expect("ticket");
    let token = ticket.strip_prefix("t=").unwrap().strip_suffix("&p=").unwrap();
    assert!(
        token.len() >= 22 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b"!*$".contains(&b)),
        "{token}"
    );

    ns.send(&format!("USR 7 TWN S {ticket}")).await;
    ns.transcript(&format!("S: USR 7 OK {ALICE} Alice%20Liddell 1 0")).await;
    let profile = ns.expect_payload("MSG Hotmail Hotmail ", "text/x-msmsgsprofile").await;
    let port = ns.local.port().swap_bytes();
    for field in
        [format!("MSPAuth: {token}\r\n"), "ClientIP: 127.0.0.1\r\n".into(), format!("ClientPort: {port}\r\n")]
    {
        assert!(profile.contains(&field), "profile lacks {field:?}:\n{profile}");
    }
    ns.recv_until_quiet().await;
    ns.transcript("C: SYN 8 0\nS: SYN 8 * 0 1\nS: GTC A\nS: BLP AL\nS: LSG 0 Other%20Contacts 0").await;
    ns.transcript("C: OUT\nS: (closed)").await;

    // MD5 logins (MSNP2-7) go on beside Passport, and the harness's MSNP8 login works.
    server.login(ALICE, PASSWORD, Dialect::MSNP7).await;
    server.login_msnp8(ALICE, PASSWORD).await;
}

#[tokio::test]
async fn wrong_password_and_unknown_account_get_the_same_401() {
    let server = server_with_alice().await;
    let ns = server.msnp8_challenge(ALICE).await;
    let challenge = ns.var("challenge");
    let wrong = server.passport_login(ALICE, "wrong", &challenge).await.unwrap_err();
    let unknown = server.passport_login("nobody@example.com", PASSWORD, &challenge).await.unwrap_err();
    let invalid = server.passport_login("not an e-mail", PASSWORD, &challenge).await.unwrap_err();
    for reply in [&wrong, &unknown, &invalid] {
        assert_refused(reply);
        assert!(reply.header("WWW-Authenticate").contains(",cbtxt=The%20e-mail%20address"), "{reply:?}");
    }
    assert_eq!(wrong.head, unknown.head);
    // The refused client never reaches the NS; a correct login still works.
    server.login_msnp8(ALICE, PASSWORD).await;
}

#[tokio::test]
async fn a_ticket_is_accepted_once() {
    let server = server_with_alice().await;
    let ns = server.msnp8_challenge(ALICE).await;
    let ticket = server.passport_login(ALICE, PASSWORD, &ns.var("challenge")).await.unwrap();
    let mut first = ns;
    first.send(&format!("USR 7 TWN S {ticket}")).await;
    first.transcript(&format!("S: USR 7 OK {ALICE} ...")).await;
    let mut replay = server.msnp8_challenge(ALICE).await;
    replay.transcript(&format!("C: USR 7 TWN S {ticket}\nS: 911 7\nS: (closed)")).await;
}

#[tokio::test]
async fn an_expired_ticket_is_refused() {
    let server = TestServer::start_with(|c| c.passport.ticket_ttl_secs = 1).await;
    server.add_user(ALICE, PASSWORD).await;
    let mut ns = server.msnp8_challenge(ALICE).await;
    let ticket = server.passport_login(ALICE, PASSWORD, &ns.var("challenge")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ns.transcript(&format!("C: USR 7 TWN S {ticket}\nS: 911 7\nS: (closed)")).await;
}

#[tokio::test]
async fn a_ticket_is_good_only_for_its_own_account() {
    let server = server_with_alice().await;
    server.add_user(BOB, "bobpw").await;
    let mut as_bob = server.msnp8_challenge(BOB).await;
    let alices = server.passport_login(ALICE, PASSWORD, &as_bob.var("challenge")).await.unwrap();
    as_bob.transcript(&format!("C: USR 7 TWN S {alices}\nS: 911 7\nS: (closed)")).await;
    // Presented for the wrong account, it is used up.
    let mut as_alice = server.msnp8_challenge(ALICE).await;
    as_alice.transcript(&format!("C: USR 7 TWN S {alices}\nS: 911 7\nS: (closed)")).await;
    // The bare token, or a forged one, is no better.
    let mut forged = server.msnp8_challenge(ALICE).await;
    forged.transcript("C: USR 7 TWN S t=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&p=\nS: 911 7\nS: (closed)").await;
}

#[tokio::test]
async fn malformed_login_requests_get_clear_answers() {
    let server = server_with_alice().await;
    assert_refused(&login2(&server, "/login2.srf", None).await);
    assert_refused(&login2(&server, "/login2.srf", Some(b"Basic YWxpY2U6cHc=")).await);
    assert_refused(&login2(&server, "/login2.srf", Some(b"\xff\xfe\x00\x80garbage")).await);
    assert_refused(&login2(&server, "/login2.srf", Some(b"Passport1.4 sign-in=%ff%fe,pwd=\xff")).await);
    for (header, named) in [(&b"Passport1.4 pwd=x"[..], "sign-in"), (b"Passport1.4 sign-in=a%40b.com", "pwd")]
    {
        let reply = login2(&server, "/login2.srf", Some(header)).await;
        assert_eq!(reply.status, 400, "{reply:?}");
        assert!(reply.body.contains(named), "{reply:?}");
    }
    let huge = [b"Passport1.4 sign-in=a%40b.com,pwd=".as_slice(), &[b'x'; 10_000]].concat();
    assert_eq!(login2(&server, "/login2.srf", Some(&huge)).await.status, 431);
    assert_eq!(https_raw(&server, b"\x16\x03\x01garbage\r\n\r\n").await.status, 400);
    assert_eq!(https_raw(&server, b"GET /login2.srf HTTP/1.1 extra\r\n\r\n").await.status, 400);
    // Unknown paths, other methods, a half request.
    assert_eq!(login2(&server, "/rdr/nothing.asp", None).await.status, 404);
    let post = https_raw(&server, b"POST /login2.srf HTTP/1.1\r\nContent-Length: 0\r\n\r\n").await;
    assert_eq!((post.status, post.header("Allow")), (405, "GET"));
    let tls = web::trusting(&server.cert_path());
    let addr = server.addrs.passport_https;
    let mut half = web::tls_connect(addr, &tls, "127.0.0.1", true).await.unwrap();
    half.write_all(b"GET /login2.srf HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    drop(half);
    // The service goes on, on every path alias.
    for path in ["/login2.srf", "/login.srf", "/ppsecure/login2.srf"] {
        let ns = server.msnp8_challenge(ALICE).await;
        let auth = format!("Passport1.4 sign-in={ALICE},pwd={PASSWORD_ENCODED},{}", ns.var("challenge"));
        let reply = login2(&server, path, Some(auth.as_bytes())).await;
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
        assert!(reply.header("Authentication-Info").starts_with("Passport1.4 da-status=success,"));
    }
}

#[tokio::test]
async fn http09_nexus_request_and_login_without_host() {
    let server = server_with_alice().await;
    let addr = server.addrs.passport_https;
    let nexus = https_raw(&server, b"GET /rdr/pprdr.asp\r\n\r\n").await;
    assert_eq!(nexus.status, 200, "{nexus:?}");
    let urls = nexus.header("PassportURLs");
    let dalogin = format!("DALogin=127.0.0.1:{}/login2.srf,DAReg=", addr.port());
    assert!(urls.starts_with("DARealm=Passport.Net,") && urls.contains(&dalogin), "{urls}");
    assert_eq!(nexus.header("Connection"), "close");
    // A client naming the Passport host is sent back to that name, port included.
    let named = https_raw(&server, &web::get("/rdr/pprdr.asp", "nexus.passport.com", &[])).await;
    assert_eq!(named.item("PassportURLs", "DALogin"), "nexus.passport.com/login2.srf");

    let mut ns = server.msnp8_challenge(ALICE).await;
    let auth =
        format!("Passport1.4 sign-in=alice%40example%2Ecom,pwd={PASSWORD_ENCODED},{}", ns.var("challenge"));
    let request = format!("GET /login2.srf HTTP/1.0\nAuthorization: {auth}\n\n");
    let reply = https_raw(&server, request.as_bytes()).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let info = reply.header("Authentication-Info");
    let ticket = info.split('\'').nth(1).unwrap();
    ns.transcript(&format!("C: USR 7 TWN S {ticket}\nS: USR 7 OK {ALICE} ...")).await;
}

/// Lenient where clients differ, exact where HTTP is: a version other than 1.0 or 1.1, or a
/// control byte on the request line, is a `400`, not a nexus answer.
#[tokio::test]
async fn request_lines_outside_the_grammar_get_400() {
    let server = server_with_alice().await;
    let addr = server.addrs.passport_http;
    for line in
        [&b"GET /rdr/pprdr.asp HTTP/1.1\0"[..], b"GET /rdr/pprdr.asp HTTP/7.7", b"GET /rdr/pprdr.asp\x1b"]
    {
        let reply = web::http(addr, &[line, b"\r\nHost: x\r\n\r\n"].concat()).await;
        assert_eq!(reply.status, 400, "{line:?}: {reply:?}");
    }
}

#[tokio::test]
async fn plain_http_serves_the_same_pages() {
    let server = server_with_alice().await;
    let addr = server.addrs.passport_http;
    let nexus = web::http(addr, &web::get("/rdr/pprdr.asp", &addr.to_string(), &[])).await;
    let dalogin = nexus.item("PassportURLs", "DALogin");
    assert_eq!(dalogin, format!("{addr}/login2.srf"));
    let no_host = web::http(addr, b"GET /rdr/pprdr.asp\r\n").await;
    assert_eq!(no_host.item("PassportURLs", "DALogin"), format!("{addr}/login2.srf"));

    let mut ns = server.msnp8_challenge(ALICE).await;
    let auth =
        format!("Passport1.4 sign-in=alice%40example.com,pwd={PASSWORD_ENCODED},{}", ns.var("challenge"));
    let reply =
        web::http(addr, &web::get("/login2.srf", &addr.to_string(), &[("Authorization", &auth)])).await;
    let ticket = reply.header("Authentication-Info").split('\'').nth(1).unwrap().to_owned();
    ns.transcript(&format!("C: USR 7 TWN S {ticket}\nS: USR 7 OK {ALICE} ...")).await;
}

#[tokio::test]
async fn a_configured_public_host_is_the_dalogin() {
    let server = TestServer::start_with(|c| c.passport.public_host = "msn.example.net".into()).await;
    let nexus = https_raw(&server, &web::get("/rdr/pprdr.asp", "nexus.passport.com", &[])).await;
    assert_eq!(nexus.item("PassportURLs", "DALogin"), "msn.example.net/login2.srf");
}

/// MSN Messenger 5.0 on Windows XP: TLS 1.0, 3DES only, no SNI. The system OpenSSL here
/// cannot even offer that; the vendored one, built with weak-crypto, can.
#[tokio::test]
async fn tls10_with_only_3des_and_no_sni_is_accepted() {
    let server = server_with_alice().await;
    let xp = web::like_windows_xp(&server.cert_path(), "DES-CBC3-SHA:@SECLEVEL=0");
    let stream =
        web::tls_connect(server.addrs.passport_https, &xp, "nexus.passport.com", false).await.unwrap();
    assert_eq!(stream.ssl().version_str(), "TLSv1");
    assert_eq!(stream.ssl().current_cipher().unwrap().name(), "DES-CBC3-SHA");
    let nexus =
        web::exchange(stream, b"GET /rdr/pprdr.asp HTTP/1.1\r\nHost: nexus.passport.com\r\n\r\n").await;
    assert_eq!(nexus.status, 200);
    // RC4, Windows' other choice, works too.
    let rc4 = web::like_windows_xp(&server.cert_path(), "RC4-SHA:RC4-MD5:@SECLEVEL=0");
    let stream =
        web::tls_connect(server.addrs.passport_https, &rc4, "nexus.passport.com", false).await.unwrap();
    assert!(stream.ssl().current_cipher().unwrap().name().starts_with("RC4"));
    // Modern clients get TLS 1.3.
    let modern = web::trusting(&server.cert_path());
    let stream = web::tls_connect(server.addrs.passport_https, &modern, "127.0.0.1", true).await.unwrap();
    assert_eq!(stream.ssl().version_str(), "TLSv1.3");
}

/// Internet Explorer 6 on Windows XP, with SSL 2.0 enabled as it is by default, opens with
/// an SSLv2-format ClientHello offering TLS 1.0; no extensions can follow it.
#[tokio::test]
async fn an_sslv2_format_client_hello_gets_tls10_with_3des() {
    let server = server_with_alice().await;
    let mut hello = vec![0x80, 28, 0x01, 0x03, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x0a];
    hello.extend_from_slice(&[0x5a; 16]);
    let mut tcp = TcpStream::connect(server.addrs.passport_https).await.unwrap();
    tcp.write_all(&hello).await.unwrap();
    // Record header (5), handshake header (4), version (2), random (32), session id.
    let mut answer = vec![0u8; 44];
    tokio::time::timeout(Duration::from_secs(10), tcp.read_exact(&mut answer)).await.unwrap().unwrap();
    assert_eq!(&answer[..3], &[0x16, 0x03, 0x01], "a TLS 1.0 handshake record: {answer:?}");
    assert_eq!((answer[5], &answer[9..11]), (0x02, &[0x03, 0x01][..]), "ServerHello, TLS 1.0");
    let mut rest = vec![0u8; usize::from(answer[43]) + 2];
    tcp.read_exact(&mut rest).await.unwrap();
    assert_eq!(&rest[rest.len() - 2..], &[0x00, 0x0a], "TLS_RSA_WITH_3DES_EDE_CBC_SHA");
}

/// Anonymous suites have no certificate: whoever sits between the client and msnd could read
/// the password. `HIGH` at `@SECLEVEL=0` includes them; they must never be agreed.
#[tokio::test]
async fn anonymous_and_null_suites_are_refused() {
    let server = server_with_alice().await;
    for suites in ["AECDH-AES128-SHA", "AECDH-AES256-SHA", "ADH-AES128-SHA", "NULL-SHA", "NULL-MD5"] {
        let mut builder = SslConnector::builder(SslMethod::tls_client()).unwrap();
        builder.set_min_proto_version(Some(SslVersion::TLS1)).unwrap();
        builder.set_max_proto_version(Some(SslVersion::TLS1)).unwrap();
        builder.set_cipher_list(&format!("{suites}:@SECLEVEL=0")).unwrap();
        builder.set_verify(SslVerifyMode::NONE);
        let client = builder.build();
        let agreed = web::tls_connect(server.addrs.passport_https, &client, "x", false).await;
        assert!(agreed.is_err(), "{suites} was agreed");
    }
    // The same client offering 3DES as well gets 3DES: the refusals above are the suites'.
    let mut builder = SslConnector::builder(SslMethod::tls_client()).unwrap();
    builder.set_max_proto_version(Some(SslVersion::TLS1)).unwrap();
    builder.set_cipher_list("AECDH-AES128-SHA:DES-CBC3-SHA:@SECLEVEL=0").unwrap();
    builder.set_verify(SslVerifyMode::NONE);
    let stream =
        web::tls_connect(server.addrs.passport_https, &builder.build(), "x", false).await.expect("3DES");
    assert_eq!(stream.ssl().current_cipher().unwrap().name(), "DES-CBC3-SHA");
}

#[tokio::test]
async fn modern_only_settings_refuse_tls10() {
    let server =
        TestServer::start_with(|c| c.passport.tls_min_version = msnd::config::TlsVersion::Tls12).await;
    let xp = web::like_windows_xp(&server.cert_path(), "DES-CBC3-SHA:@SECLEVEL=0");
    assert!(web::tls_connect(server.addrs.passport_https, &xp, "x", false).await.is_err());
}

#[tokio::test]
async fn a_configured_certificate_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = msnd::passport::tls::self_signed(&["msn.example.net".into()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::write(&cert_path, cert.to_pem().unwrap()).unwrap();
    std::fs::write(&key_path, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let server = TestServer::start_with(|c| (c.passport.cert, c.passport.key) = (cert_path, key_path)).await;
    let tls = web::trusting(&server.cert_path());
    let stream = web::tls_connect(server.addrs.passport_https, &tls, "msn.example.net", true).await.unwrap();
    assert_eq!(stream.ssl().peer_certificate().unwrap().to_der().unwrap(), cert.to_der().unwrap());
    // The generated certificate is for other names: a client checking them refuses it.
    let generated = TestServer::start().await;
    let err = web::tls_connect(generated.addrs.passport_https, &tls, "msn.example.net", true).await.err();
    assert!(err.is_some(), "an untrusted certificate is refused");
}

#[tokio::test]
async fn shutdown_does_not_wait_for_silent_passport_clients() {
    let mut server = server_with_alice().await;
    let _silent_tls = TcpStream::connect(server.addrs.passport_https).await.unwrap();
    let _silent_http = TcpStream::connect(server.addrs.passport_http).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    tokio::time::timeout(Duration::from_secs(5), server.stop()).await.expect("prompt shutdown");
}

/// A disabled account is refused by every login method, with the right password, and logs
/// in again once enabled.
#[tokio::test]
async fn a_disabled_account_cannot_log_in_by_any_method() {
    let server = TestServer::start().await;
    server.add_user("alice@example.com", "pa").await;
    let alice: msnd::protocol::Email = "alice@example.com".parse().unwrap();
    server.store.set_disabled(&alice, true).await.unwrap();

    let mut ns = server.notification().await;
    ns.transcript(
        "C: VER 1 MSNP7\nS: VER 1 MSNP7\nC: INF 2\nS: INF 2 MD5\n\
         C: USR 3 MD5 I alice@example.com\nS: USR 3 MD5 S {salt}",
    )
    .await;
    let response = msnd::credentials::md5_hex(&[ns.var("salt").as_bytes(), b"pa"]);
    ns.send(&format!("USR 4 MD5 S {response}")).await;
    ns.transcript("S: 911 4\nS: (closed)").await;

    let ns = server.msnp8_challenge("alice@example.com").await;
    let refused = server.passport_login("alice@example.com", "pa", &ns.var("challenge")).await;
    assert_eq!(refused.expect_err("Passport refuses a disabled account").status, 401);

    server.store.set_disabled(&alice, false).await.unwrap();
    server.login("alice@example.com", "pa", Dialect::MSNP7).await;
    server.login_msnp8("alice@example.com", "pa").await;
}
