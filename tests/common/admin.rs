//! Requests to a test server's admin interface and web pages, over plain HTTP/1.1 with
//! `Connection: close`, so that each answer ends when the server closes.

use std::net::SocketAddr;

use super::web::{exchange, HttpReply};
use super::TestServer;

/// The admin token the server wrote to its data directory on start.
pub fn token(server: &TestServer) -> String {
    std::fs::read_to_string(server.config.admin_token_file()).expect("the admin token file").trim().to_owned()
}

/// A request to `addr`: `method path`, the given headers and a body (sent with its
/// `Content-Type` as given in `headers`).
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> HttpReply {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        text += &format!("{name}: {value}\r\n");
    }
    text += &format!("Content-Length: {}\r\n\r\n{body}", body.len());
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    exchange(stream, text.as_bytes()).await
}

/// An authenticated API call: `method /api{path}` with a JSON body.
pub async fn api(server: &TestServer, method: &str, path: &str, json: &str) -> HttpReply {
    let bearer = format!("Bearer {}", token(server));
    let headers = [("Authorization", bearer.as_str()), ("Content-Type", "application/json")];
    request(server.addrs.admin, method, &format!("/api{path}"), &headers, json).await
}

/// `GET /metrics` with the token: the exposition text.
pub async fn metrics(server: &TestServer) -> String {
    let bearer = format!("Bearer {}", token(server));
    let reply = request(server.addrs.admin, "GET", "/metrics", &[("Authorization", &bearer)], "").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.body
}

/// The value of one sample in Prometheus text (`name{labels} value`); 0 when absent.
pub fn sample(exposition: &str, series: &str) -> f64 {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// A form post to the web pages, with a browser's cross-site cookie and field.
pub async fn post_form(
    server: &TestServer,
    path: &str,
    fields: &[(&str, &str)],
    csrf: Option<&str>,
) -> HttpReply {
    let web = server.addrs.web.expect("the web pages listen");
    let mut body: Vec<String> =
        fields.iter().map(|(k, v)| format!("{k}={}", msnd::protocol::url_encode(v))).collect();
    let cookie = csrf.map(|token| format!("msnd_csrf={token}"));
    if let Some(token) = csrf {
        body.push(format!("csrf={token}"));
    }
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some(cookie) = &cookie {
        headers.push(("Cookie", cookie));
    }
    request(web, "POST", path, &headers, &body.join("&")).await
}

/// `GET path` on the web pages; the cross-site token it sets, and the page.
pub async fn get_page(server: &TestServer, path: &str) -> (String, HttpReply) {
    let web = server.addrs.web.expect("the web pages listen");
    let reply = request(web, "GET", path, &[], "").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let set = reply.header("Set-Cookie").to_owned();
    let token = set
        .strip_prefix("msnd_csrf=")
        .and_then(|r| r.split(';').next())
        .expect("msnd_csrf cookie")
        .to_owned();
    assert!(reply.body.contains(&format!("name=\"csrf\" value=\"{token}\"")), "{}", reply.body);
    (token, reply)
}
