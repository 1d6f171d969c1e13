//! The public web pages over real TCP: sign-up in each registration mode, the cross-site
//! and rate checks every form passes, the account page, and the nexus's DAReg.

mod common;

use common::admin::{api, get_page, post_form};
use common::{online, TestServer};
use msnd::config::Registration;
use msnd::protocol::Dialect;

async fn start(registration: Registration) -> TestServer {
    TestServer::start_with(|c| {
        c.challenges.enabled = false;
        c.web.registration = registration;
    })
    .await
}

fn sign_up<'a>(email: &'a str, password: &'a str, again: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![("email", email), ("name", "Carol C"), ("password", password), ("again", again)]
}

#[tokio::test]
async fn open_sign_up_makes_an_account_that_logs_in() {
    let server = start(Registration::Open).await;
    let (csrf, page) = get_page(&server, "/register").await;
    assert!(page.body.contains("<form method=\"post\" action=\"/register\">"), "{}", page.body);
    assert!(!page.body.contains("name=\"invite\""), "no code in open mode");
    assert!(page.body.contains("name=\"viewport\""), "it renders on a phone");

    let created =
        post_form(&server, "/register", &sign_up("carol@example.com", "secret-pw", "secret-pw"), Some(&csrf))
            .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(created.body.contains("The account carol@example.com is ready"), "{}", created.body);
    let mut ns = online(&server, "carol@example.com", "secret-pw", Dialect::MSNP7).await;
    ns.transcript("C: PNG\nS: QNG").await;
    server.login_msnp8("carol@example.com", "secret-pw").await;

    let again =
        post_form(&server, "/register", &sign_up("Carol@example.com", "secret-pw", "secret-pw"), Some(&csrf))
            .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("already has an account"), "{}", again.body);
}

#[tokio::test]
async fn bad_forms_get_clear_errors_and_change_nothing() {
    let server = start(Registration::Open).await;
    let (csrf, _) = get_page(&server, "/register").await;
    let cases = [
        (sign_up("not-an-address", "secret-pw", "secret-pw"), 400, "valid e-mail address"),
        (sign_up("dave@example.com", "secret-pw", "other-pw"), 400, "not the same"),
        (sign_up("dave@example.com", "short", "short"), 400, "6 to 128 characters"),
    ];
    for (fields, status, says) in cases {
        let reply = post_form(&server, "/register", &fields, Some(&csrf)).await;
        assert_eq!(reply.status, status, "{fields:?}: {}", reply.body);
        assert!(reply.body.contains(says), "{fields:?}: {}", reply.body);
    }
    let cross_site =
        post_form(&server, "/register", &sign_up("dave@example.com", "secret-pw", "secret-pw"), None).await;
    assert_eq!(cross_site.status, 403, "no cookie, no token: {}", cross_site.body);
    assert!(server.store.user(&"dave@example.com".parse().unwrap()).await.unwrap().is_none());
}

#[tokio::test]
async fn forms_are_rate_limited_per_address() {
    let server = TestServer::start_with(|c| {
        c.web.registration = Registration::Open;
        c.web.forms_per_ip = 2;
    })
    .await;
    let (csrf, _) = get_page(&server, "/register").await;
    for _ in 0..2 {
        let reply =
            post_form(&server, "/register", &sign_up("x", "secret-pw", "secret-pw"), Some(&csrf)).await;
        assert_eq!(reply.status, 400);
    }
    let limited =
        post_form(&server, "/register", &sign_up("erin@example.com", "secret-pw", "secret-pw"), Some(&csrf))
            .await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(limited.body.contains("Too many attempts"), "{}", limited.body);
}

#[tokio::test]
async fn invite_mode_takes_each_code_once() {
    let server = start(Registration::Invite).await;
    let (csrf, page) = get_page(&server, "/register").await;
    assert!(page.body.contains("name=\"invite\""), "{}", page.body);
    let mut fields = sign_up("frank@example.com", "secret-pw", "secret-pw");
    let refused = post_form(&server, "/register", &fields, Some(&csrf)).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("invitation code is not valid"), "{}", refused.body);

    let made = api(&server, "POST", "/invites", "").await;
    assert_eq!(made.status, 200, "{made:?}");
    let code = made.body.split("\"code\":\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_owned();
    fields.push(("invite", &code));
    let created = post_form(&server, "/register", &fields, Some(&csrf)).await;
    assert_eq!(created.status, 200, "{}", created.body);
    fields[0] = ("email", "grace@example.com");
    let reused = post_form(&server, "/register", &fields, Some(&csrf)).await;
    assert_eq!(reused.status, 400, "a code is used once: {}", reused.body);
}

#[tokio::test]
async fn closed_sign_up_says_so_and_makes_nothing() {
    let server = start(Registration::Closed).await;
    let page = common::admin::request(server.addrs.web.unwrap(), "GET", "/register", &[], "").await;
    assert!(page.body.contains("Sign-up is closed") && !page.body.contains("name=\"password\""));
    let (csrf, _) = get_page(&server, "/account").await;
    let refused =
        post_form(&server, "/register", &sign_up("hank@example.com", "secret-pw", "secret-pw"), Some(&csrf))
            .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(server.store.user(&"hank@example.com".parse().unwrap()).await.unwrap().is_none());
}

#[tokio::test]
async fn the_account_page_changes_password_and_name() {
    let server = start(Registration::Closed).await;
    server.add_user_named("ivy@example.com", "Ivy", "old-password").await;
    let mut live = online(&server, "ivy@example.com", "old-password", Dialect::MSNP7).await;
    let (csrf, _) = get_page(&server, "/account").await;
    let change = |current: &'static str| {
        vec![
            ("email", "ivy@example.com"),
            ("current", current),
            ("password", "new-password"),
            ("again", "new-password"),
        ]
    };
    let wrong = post_form(&server, "/account/password", &change("not-it"), Some(&csrf)).await;
    assert_eq!(wrong.status, 403, "{}", wrong.body);
    assert!(wrong.body.contains("current password is wrong"), "{}", wrong.body);
    let changed = post_form(&server, "/account/password", &change("old-password"), Some(&csrf)).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    live.transcript("S: OUT\nS: (closed)").await;
    server.login("ivy@example.com", "new-password", Dialect::MSNP7).await;
    server.login_msnp8("ivy@example.com", "new-password").await;

    let rename = [("email", "ivy@example.com"), ("current", "new-password"), ("name", "Ivy the Second")];
    let renamed = post_form(&server, "/account/name", &rename, Some(&csrf)).await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let user = server.store.user(&"ivy@example.com".parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(user.friendly_name, "Ivy the Second");
}

async fn dareg(server: &TestServer) -> String {
    let tls = common::web::trusting(&server.cert_path());
    let nexus_host = server.addrs.passport_https.to_string();
    let request = common::web::get("/rdr/pprdr.asp", &nexus_host, &[]);
    let nexus = common::web::https(server.addrs.passport_https, &tls, &request).await;
    nexus.item("PassportURLs", "DAReg")
}

#[tokio::test]
async fn the_nexus_sends_sign_ups_to_the_sign_up_page() {
    let published = TestServer::start_with(|c| c.web.public_url = "https://msn.example.net/".into()).await;
    assert_eq!(dareg(&published).await, "https://msn.example.net/register");
    // On loopback and not published, the pages are out of clients' reach: DAReg says so.
    let private = start(Registration::Open).await;
    let said = dareg(&private).await;
    assert_eq!(said, format!("{}/register.srf", private.addrs.passport_https));
}

#[tokio::test]
async fn behind_a_proxy_forms_count_against_the_forwarded_address() {
    let server = TestServer::start_with(|c| {
        c.web.registration = Registration::Open;
        c.web.forms_per_ip = 1;
        c.web.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let (csrf, _) = get_page(&server, "/register").await;
    let cookie = format!("msnd_csrf={csrf}");
    let body = format!("email=x&password=secret-pw&again=secret-pw&csrf={csrf}");
    let from = |client: &'static str| {
        let (cookie, body) = (cookie.clone(), body.clone());
        let web = server.addrs.web.unwrap();
        async move {
            let headers = [
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Cookie", cookie.as_str()),
                ("X-Forwarded-For", client),
            ];
            common::admin::request(web, "POST", "/register", &headers, &body).await.status
        }
    };
    assert_eq!(from("10.1.1.1, 198.51.100.1").await, 400, "the first try of 198.51.100.1");
    assert_eq!(from("198.51.100.2").await, 400, "another address has its own count");
    assert_eq!(from("10.9.9.9, 198.51.100.1").await, 429, "the second of 198.51.100.1");
}

#[tokio::test]
async fn the_pages_hold_few_connections_and_none_for_long() {
    use tokio::io::AsyncReadExt;
    let server = TestServer::start_with(|c| {
        c.web.max_connections = 2;
        c.web.connection_secs = 1;
    })
    .await;
    let web = server.addrs.web.unwrap();
    let mut idle = Vec::new();
    for _ in 0..2 {
        idle.push(tokio::net::TcpStream::connect(web).await.unwrap());
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut third = tokio::net::TcpStream::connect(web).await.unwrap();
    let mut byte = [0u8; 1];
    let refused = tokio::time::timeout(std::time::Duration::from_millis(900), third.read(&mut byte)).await;
    assert!(matches!(refused, Ok(Ok(0)) | Ok(Err(_))), "a third connection is closed at once: {refused:?}");
    for mut stream in idle {
        let closed = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut byte)).await;
        assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "an idle connection is closed in time: {closed:?}");
    }
    let (_, page) = get_page(&server, "/account").await;
    assert!(page.body.contains("Your account"), "places are free again");
}
