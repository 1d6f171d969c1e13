//! The Passport 1.4 step of the MSNP8 login, over plain HTTP/1.1 to the target's Passport
//! address: the nexus (`GET /rdr/pprdr.asp`) names the login page in `PassportURLs`, and the
//! login page trades the account's password and the notification server's challenge for a
//! ticket (`Authentication-Info: .. from-PP='t=..&p=..'`). A tiny client of its own: one
//! request per connection (`Connection: close`), bounded reads, the target's timeout; every
//! surprise is a [`Failure`].

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use msnd::protocol::url_encode;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::accounts::Account;
use crate::client::{self, Failure, FailureKind, Target};

/// msnd's plain-HTTP Passport listener in load/msnd-load.toml.
pub const DEFAULT_ADDR: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1866));

const NEXUS_PATH: &str = "/rdr/pprdr.asp";
/// The largest response head read; Passport's are under 1 KiB.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// The largest response body read; Passport's are empty or a line of text.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// How much of a body an error detail quotes.
const QUOTED_CHARS: usize = 200;

/// An HTTP answer.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    /// The first header called `name` (in any case).
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// `t=..&p=..` for `USR tr TWN S`: asks the nexus where to sign in, then signs in there
/// with the account and the challenge of `USR tr TWN S challenge`.
pub async fn ticket(
    target: &Target,
    account: &Account,
    challenge: &str,
    source: Option<Ipv4Addr>,
) -> Result<String, Failure> {
    let nexus = get(target, NEXUS_PATH, None, source).await?;
    let path = login_path(&nexus)?;
    let authorization = format!(
        "Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in={},pwd={},{challenge}",
        url_encode(&account.email),
        url_encode(&account.password)
    );
    let answer = get(target, &path, Some(&authorization), source).await?;
    from_pp(&answer)
}

/// `GET path` at the target's Passport address, with an `Authorization` header if given,
/// within the target's timeout.
async fn get(
    target: &Target,
    path: &str,
    authorization: Option<&str>,
    source: Option<Ipv4Addr>,
) -> Result<Response, Failure> {
    let addr = target.passport;
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n");
    if let Some(value) = authorization {
        request.push_str(&format!("Authorization: {value}\r\n"));
    }
    request.push_str("Connection: close\r\n\r\n");
    let exchange = async {
        let mut stream = client::connect_tcp(addr, source).await?;
        stream.write_all(request.as_bytes()).await.map_err(|e| Failure::io("send", &e))?;
        read_response(&mut stream).await
    };
    let answer = match tokio::time::timeout(target.timeout, exchange).await {
        Ok(answer) => answer,
        Err(_) => Err(Failure::new(FailureKind::Timeout, format!("no answer within {:?}", target.timeout))),
    };
    answer.map_err(|f| Failure::new(f.kind, format!("Passport http://{addr}{path}: {}", f.detail)))
}

/// Reads a response: the head up to the empty line, then `Content-Length` bytes of body, or
/// everything up to the end of the connection when no length is given.
async fn read_response<R: AsyncRead + Unpin>(io: &mut R) -> Result<Response, Failure> {
    let mut buf = Vec::with_capacity(1024);
    let head_len = loop {
        if let Some(len) = head_len(&buf) {
            break len;
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(protocol(format!("a response head larger than {MAX_HEAD_BYTES} bytes")));
        }
        if !read_more(io, &mut buf).await? {
            return Err(Failure::new(FailureKind::Closed, "closed before the end of the response head"));
        }
    };
    let mut body = buf.split_off(head_len);
    let mut response = parse_head(&buf)?;
    let length = content_length(&response)?;
    loop {
        if let Some(length) = length.filter(|&length| body.len() >= length) {
            body.truncate(length);
            break;
        }
        if body.len() > MAX_BODY_BYTES {
            return Err(protocol(format!("a response body larger than {MAX_BODY_BYTES} bytes")));
        }
        if !read_more(io, &mut body).await? {
            if length.is_some() {
                return Err(Failure::new(FailureKind::Closed, "closed before the end of the response body"));
            }
            break;
        }
    }
    response.body = body;
    Ok(response)
}

/// Appends what the connection has next; `false` at its end.
async fn read_more<R: AsyncRead + Unpin>(io: &mut R, buf: &mut Vec<u8>) -> Result<bool, Failure> {
    let mut chunk = [0u8; 4096];
    let n = io.read(&mut chunk).await.map_err(|e| Failure::io("receive", &e))?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n > 0)
}

/// The length of the head in `buf`, empty line included, once it is complete.
fn head_len(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// `HTTP/1.x status reason` and `Name: value` lines.
fn parse_head(head: &[u8]) -> Result<Response, Failure> {
    let text = std::str::from_utf8(head).map_err(|_| protocol("a response head that is not UTF-8"))?;
    let mut lines = text.split("\r\n").take_while(|line| !line.is_empty());
    let status_line = lines.next().unwrap_or_default();
    let status = match status_line.split(' ').collect::<Vec<_>>().as_slice() {
        [version, status, ..] if version.starts_with("HTTP/1.") && status.len() == 3 => status.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| protocol(format!("bad status line {status_line:?}")))?;
    let headers = lines
        .map(|line| {
            let (name, value) =
                line.split_once(':').ok_or_else(|| protocol(format!("bad header {line:?}")))?;
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        })
        .collect::<Result<_, Failure>>()?;
    Ok(Response { status, headers, body: Vec::new() })
}

/// The announced body length, if any, within [`MAX_BODY_BYTES`].
fn content_length(response: &Response) -> Result<Option<usize>, Failure> {
    let Some(value) = response.header("Content-Length") else { return Ok(None) };
    match value.parse::<usize>() {
        Ok(length) if length <= MAX_BODY_BYTES => Ok(Some(length)),
        _ => Err(protocol(format!("Content-Length {value:?} (at most {MAX_BODY_BYTES} is read)"))),
    }
}

/// The path of the nexus's `DALogin=[scheme://]host[:port]/path`: the login request goes to
/// the target's Passport address whatever host DALogin names.
fn login_path(nexus: &Response) -> Result<String, Failure> {
    if nexus.status != 200 {
        return Err(unexpected("the nexus", nexus));
    }
    let urls = nexus.header("PassportURLs").ok_or_else(|| protocol("the nexus sent no PassportURLs"))?;
    let dalogin = urls
        .split(',')
        .filter_map(|item| item.split_once('='))
        .find_map(|(key, value)| key.trim().eq_ignore_ascii_case("DALogin").then_some(value.trim()))
        .ok_or_else(|| protocol(format!("no DALogin in PassportURLs {urls:?}")))?;
    let after_scheme = dalogin.split_once("://").map_or(dalogin, |(_, rest)| rest);
    after_scheme
        .find('/')
        .map(|i| &after_scheme[i..])
        .filter(|path| path.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .ok_or_else(|| protocol(format!("DALogin {dalogin:?} has no usable path")))
}

/// The ticket `t=..&p=..` quoted in a successful login's `from-PP='..'`; a refusal (`401`)
/// or any other answer is a failure.
fn from_pp(answer: &Response) -> Result<String, Failure> {
    match answer.status {
        200 => {}
        401 => {
            let challenge = answer.header("WWW-Authenticate").unwrap_or_default();
            return Err(protocol(format!("Passport refused the sign-in: {challenge}")));
        }
        _ => return Err(unexpected("the login page", answer)),
    }
    let info = answer.header("Authentication-Info").unwrap_or_default();
    info.split_once("from-PP='")
        .and_then(|(_, rest)| rest.split_once('\''))
        .map(|(ticket, _)| ticket.to_owned())
        .filter(|ticket| !ticket.is_empty() && !ticket.contains([' ', '\r', '\n']))
        .ok_or_else(|| protocol(format!("no ticket in Authentication-Info {info:?}")))
}

/// `what` answered an unexpected status: the status and the start of the body.
fn unexpected(what: &str, answer: &Response) -> Failure {
    let body: String = String::from_utf8_lossy(&answer.body).trim().chars().take(QUOTED_CHARS).collect();
    protocol(format!("{what} answered {}: {body:?}", answer.status))
}

fn protocol(detail: impl Into<String>) -> Failure {
    Failure::new(FailureKind::Protocol, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(bytes: &[u8]) -> Result<Response, Failure> {
        read_response(&mut &bytes[..]).await
    }

    #[tokio::test]
    async fn bodies_end_at_their_length_or_at_the_end() {
        let response = read(b"HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\nX-A:  b \r\n\r\nhello and more")
            .await
            .unwrap();
        assert_eq!((response.status, response.header("x-a")), (404, Some("b")));
        assert_eq!(response.body, b"hello");
        let response = read(b"HTTP/1.0 200 OK\r\nPassportURLs: DALogin=x/y\r\n\r\nto the end").await.unwrap();
        assert_eq!((response.status, response.body.as_slice()), (200, &b"to the end"[..]));
        let response = read(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await.unwrap();
        assert!(response.headers.len() == 1 && response.body.is_empty());
    }

    #[tokio::test]
    async fn bad_and_cut_responses_are_failures() {
        let kind = |bytes: &'static [u8]| async move { read(bytes).await.unwrap_err().kind };
        assert_eq!(kind(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n").await, FailureKind::Closed);
        assert_eq!(kind(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort").await, FailureKind::Closed);
        assert_eq!(kind(b"").await, FailureKind::Closed);
        assert_eq!(kind(b"SPDY/3 200 OK\r\n\r\n").await, FailureKind::Protocol);
        assert_eq!(kind(b"HTTP/1.1 2000 OK\r\n\r\n").await, FailureKind::Protocol);
        assert_eq!(kind(b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n").await, FailureKind::Protocol);
        assert_eq!(kind(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").await, FailureKind::Protocol);
        assert_eq!(kind(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n").await, FailureKind::Protocol);
        let huge = [b"HTTP/1.1 200 OK\r\nX: ".as_slice(), &[b'a'; MAX_HEAD_BYTES + 1]].concat();
        assert!(read(&huge).await.unwrap_err().detail.contains("head larger"));
        let endless = [b"HTTP/1.1 200 OK\r\n\r\n".as_slice(), &[b'a'; MAX_BODY_BYTES + 4097]].concat();
        assert!(read(&endless).await.unwrap_err().detail.contains("body larger"));
    }

    #[tokio::test]
    async fn dalogin_gives_the_login_path() {
        let nexus = |urls: &str| {
            let head = format!("HTTP/1.1 200 OK\r\nPassportURLs: {urls}\r\nContent-Length: 0\r\n\r\n");
            async move { read(head.as_bytes()).await.unwrap() }
        };
        let path = |urls: &'static str| async move { login_path(&nexus(urls).await) };
        let msnd = "DARealm=Passport.Net,DALogin=127.0.0.1:1867/login2.srf,DAReg=127.0.0.1:1867/register.srf";
        assert_eq!(path(msnd).await.unwrap(), "/login2.srf");
        assert_eq!(
            path("dalogin=https://login.passport.com/ppsecure/login2.srf").await.unwrap(),
            "/ppsecure/login2.srf"
        );
        assert!(path("DALogin=login.passport.com").await.is_err());
        assert!(path("DARealm=Passport.Net").await.is_err());
        let refused = read(b"HTTP/1.1 500 Internal Server Error\r\n\r\nInternal error.\r\n").await.unwrap();
        let failure = login_path(&refused).unwrap_err();
        assert_eq!(failure.kind, FailureKind::Protocol);
        assert!(failure.detail.ends_with("answered 500: \"Internal error.\""), "{failure}");
    }

    #[tokio::test]
    async fn tickets_come_from_from_pp() {
        let ok = read(
            b"HTTP/1.1 200 OK\r\nAuthentication-Info: Passport1.4 da-status=success,tname=MSPAuth,\
              from-PP='t=abc$$&p=',ru=http://messenger.msn.com\r\nContent-Length: 0\r\n\r\n",
        )
        .await
        .unwrap();
        assert_eq!(from_pp(&ok).unwrap(), "t=abc$$&p=");
        let refused = read(
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Passport1.4 da-status=failed,cbtxt=No\r\n\r\n",
        )
        .await
        .unwrap();
        let failure = from_pp(&refused).unwrap_err();
        assert_eq!(failure.kind, FailureKind::Protocol);
        assert!(failure.detail.contains("da-status=failed"), "{failure}");
        let no_ticket =
            read(b"HTTP/1.1 200 OK\r\nAuthentication-Info: Passport1.4 da-status=success\r\n\r\n")
                .await
                .unwrap();
        assert_eq!(from_pp(&no_ticket).unwrap_err().kind, FailureKind::Protocol);
    }

    #[tokio::test]
    async fn only_loopback_is_reached() {
        let failure = client::connect_tcp("10.0.0.1:1866".parse().unwrap(), None).await.unwrap_err();
        assert_eq!(failure.kind, FailureKind::NotLoopback);
    }
}
