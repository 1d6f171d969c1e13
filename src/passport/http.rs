//! Just enough HTTP/1.x for the Passport endpoints: a lenient, bounded request reader and
//! a response writer. The nexus and `login2.srf` are `GET` with tiny requests; the RST login
//! is a `POST` whose body is read by its `Content-Length`. Every answer closes the connection
//! (client-quirks.md 15), so there is no keep-alive, and no chunked body is accepted.
//!
//! Lenient because the era's clients are (client-quirks.md 14): an HTTP/0.9-style request
//! line without a version (`GET /rdr/pprdr.asp`) is complete by itself and still answered
//! with headers, since the client needs them; bare LF line ends, a missing `Host` and header
//! lines without a colon are accepted. Bounded: the head is at most `MAX_HEAD_BYTES` (8 KiB),
//! the body at most what the caller allows (`passport.max_body_bytes`).

use std::fmt::Write as _;

use tokio::io::{AsyncRead, AsyncReadExt};

/// The largest request head read; a Messenger login request is under 1 KiB.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;

/// A request line, headers and body.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    /// The target's path, without scheme, host or query.
    pub path: String,
    headers: Vec<(String, Vec<u8>)>,
    /// As many bytes as `Content-Length` said (none without one).
    pub body: Vec<u8>,
}

impl Request {
    /// The first header called `name` (in any case); values are bytes, as clients send.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("the request head is larger than {MAX_HEAD_BYTES} bytes")]
    TooLarge,
    #[error("the request body is larger than {0} bytes")]
    BodyTooLarge(usize),
    #[error("a {0} request needs a Content-Length (and no Transfer-Encoding)")]
    LengthRequired(String),
    #[error("the Content-Length is not one number")]
    BadLength,
    #[error("the request line is not `METHOD /path [HTTP/1.x]`")]
    BadRequestLine,
    #[error("the connection closed before a complete request")]
    Closed,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl HttpError {
    /// The status to answer with; `None` when there is no one left to answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Closed | HttpError::Io(_) => None,
            HttpError::TooLarge => Some(431),
            HttpError::BodyTooLarge(_) => Some(413),
            HttpError::LengthRequired(_) => Some(411),
            HttpError::BadLength | HttpError::BadRequestLine => Some(400),
        }
    }
}

/// Reads one request: its head, then a body of `Content-Length` bytes, at most `max_body`.
/// Bytes after the body are left unread (the connection closes after the answer).
pub async fn read_request<R: AsyncRead + Unpin>(io: &mut R, max_body: usize) -> Result<Request, HttpError> {
    let mut buf = Vec::with_capacity(1024);
    let (mut request, body_start) = loop {
        if let Some(head) = complete_head(&buf) {
            break (parse(&buf[head.start..head.end])?, head.body_start);
        }
        let room = MAX_HEAD_BYTES - buf.len();
        if room == 0 {
            return Err(HttpError::TooLarge);
        }
        read_some(io, &mut buf, room).await?;
    };
    let length = request.body_length(max_body)?;
    let mut body = buf.split_off(body_start.min(buf.len()));
    body.truncate(length);
    while body.len() < length {
        let missing = length - body.len();
        read_some(io, &mut body, missing).await?;
    }
    request.body = body;
    Ok(request)
}

/// Appends at most `room` (more than 0) bytes from one read to `buf`.
async fn read_some<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut Vec<u8>,
    room: usize,
) -> Result<(), HttpError> {
    let mut chunk = [0u8; 1024];
    let want = room.min(chunk.len());
    let n = io.read(&mut chunk[..want]).await?;
    if n == 0 {
        return Err(HttpError::Closed);
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

/// Where the head lies in the bytes read, and where the body begins.
struct Head {
    start: usize,
    end: usize,
    body_start: usize,
}

/// The request head in `buf` once it is complete: up to the empty line, or just the
/// request line when that has no HTTP version (HTTP/0.9 style).
fn complete_head(buf: &[u8]) -> Option<Head> {
    let start = buf.iter().position(|b| !matches!(b, b'\r' | b'\n'))?;
    let rest = &buf[start..];
    let first_end = rest.iter().position(|&b| b == b'\n')?;
    if rest[..first_end].split(u8::is_ascii_whitespace).filter(|t| !t.is_empty()).count() < 3 {
        let end = start + first_end;
        return Some(Head { start, end, body_start: end + 1 });
    }
    // Every piece but the last ends in LF; the head ends at the first empty one.
    let lines: Vec<&[u8]> = rest.split(|&b| b == b'\n').collect();
    let complete = &lines[..lines.len() - 1];
    let blank = complete.iter().position(|l| trim_cr(l).is_empty())?;
    let end = start + complete[..blank].iter().map(|l| l.len() + 1).sum::<usize>();
    Some(Head { start, end, body_start: end + complete[blank].len() + 1 })
}

fn parse(head: &[u8]) -> Result<Request, HttpError> {
    let mut lines = head.split(|&b| b == b'\n').map(trim_cr);
    let request_line =
        std::str::from_utf8(lines.next().unwrap_or_default()).map_err(|_| HttpError::BadRequestLine)?;
    let mut parts = request_line.split_ascii_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(HttpError::BadRequestLine);
    };
    // Lenient in what real clients vary, exact in the grammar: the version (if any) is 1.0
    // or 1.1, the method letters, and no control byte anywhere on the line.
    let version_ok = parts.next().is_none_or(|version| matches!(version, "HTTP/1.0" | "HTTP/1.1"));
    let method_ok = method.bytes().all(|b| b.is_ascii_alphabetic());
    let control = request_line.bytes().any(|b| b.is_ascii_control() && b != b'\t');
    if !version_ok || !method_ok || control || parts.next().is_some() {
        return Err(HttpError::BadRequestLine);
    }
    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    for line in lines.take_while(|l| !l.is_empty()) {
        match (line[0], headers.last_mut()) {
            // An obsolete folded line continues the previous value.
            (b' ' | b'\t', Some((_, value))) => {
                value.push(b' ');
                value.extend_from_slice(line.trim_ascii());
            }
            _ => {
                let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
                let name = String::from_utf8_lossy(line[..colon].trim_ascii()).into_owned();
                headers.push((name, line[colon + 1..].trim_ascii().to_vec()));
            }
        }
    }
    Ok(Request { method: method.to_owned(), path: path_of(target).to_owned(), headers, body: Vec::new() })
}

impl Request {
    /// The body's length by `Content-Length` (every one sent must agree): none without one,
    /// except that a POST must say.
    fn body_length(&self, max_body: usize) -> Result<usize, HttpError> {
        let needs_length = || HttpError::LengthRequired(self.method.clone());
        if self.header("transfer-encoding").is_some() {
            return Err(needs_length());
        }
        let mut length = None;
        let values = self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("content-length"));
        for item in values.flat_map(|(_, v)| v.split(|&b| b == b',')) {
            let item = item.trim_ascii();
            let digits = !item.is_empty() && item.len() <= 19 && item.iter().all(u8::is_ascii_digit);
            let value: u64 = std::str::from_utf8(item)
                .ok()
                .filter(|_| digits)
                .and_then(|d| d.parse().ok())
                .ok_or(HttpError::BadLength)?;
            if length.is_some_and(|l| l != value) {
                return Err(HttpError::BadLength);
            }
            length = Some(value);
        }
        match length {
            None if self.method.eq_ignore_ascii_case("POST") => Err(needs_length()),
            None => Ok(0),
            Some(n) => {
                usize::try_from(n).ok().filter(|&n| n <= max_body).ok_or(HttpError::BodyTooLarge(max_body))
            }
        }
    }
}

/// `/path` of an origin-form or absolute-form (`https://host/path?query`) target.
fn path_of(target: &str) -> &str {
    let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
    let after_scheme =
        ["http://", "https://"].iter().find(|s| lower.starts_with(*s)).map(|s| &target[s.len()..]);
    let path = match after_scheme {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => target,
    };
    path.split(['?', '#']).next().unwrap_or(path)
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// An answer; always `Connection: close`.
#[derive(Debug)]
pub struct Response {
    status: u16,
    headers: Vec<(&'static str, String)>,
    content_type: &'static str,
    body: String,
}

impl Response {
    /// An empty `text/html` answer, the form Passport used.
    pub fn new(status: u16) -> Response {
        Response { status, headers: Vec::new(), content_type: "text/html", body: String::new() }
    }

    /// A plain-text answer, for errors a person may read.
    pub fn text(status: u16, message: &str) -> Response {
        let body = format!("{message}\r\n");
        Response { status, headers: Vec::new(), content_type: "text/plain; charset=utf-8", body }
    }

    /// An XML document (a SOAP envelope).
    pub fn xml(status: u16, document: String) -> Response {
        Response { status, headers: Vec::new(), content_type: "text/xml; charset=utf-8", body: document }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (name, value) in &self.headers {
            let _ = write!(out, "{name}: {value}\r\n");
        }
        let _ = write!(
            out,
            "Content-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            self.content_type,
            self.body.len(),
            self.body
        );
        out.into_bytes()
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        _ => "Internal Server Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body limit of these tests.
    const MAX_BODY: usize = 64;

    async fn read(bytes: &[u8]) -> Result<Request, HttpError> {
        read_request(&mut &bytes[..], MAX_BODY).await
    }

    #[tokio::test]
    async fn a_full_request_with_headers() {
        let request = read(
            b"GET /login2.srf HTTP/1.1\r\nAuthorization: Passport1.4 sign-in=a\r\n  continued\r\n\
              host:  login.passport.com \r\nno colon here\r\nConnection: Keep-Alive\r\n\r\nleftover",
        )
        .await
        .unwrap();
        assert_eq!((request.method.as_str(), request.path.as_str()), ("GET", "/login2.srf"));
        assert_eq!(request.header("HOST"), Some(&b"login.passport.com"[..]));
        assert_eq!(request.header("authorization"), Some(&b"Passport1.4 sign-in=a continued"[..]));
        assert_eq!(request.header("no colon here"), None);
    }

    #[tokio::test]
    async fn http09_bare_lf_and_absolute_targets() {
        let request = read(b"GET /rdr/pprdr.asp\r\n").await.unwrap();
        assert_eq!(request.path, "/rdr/pprdr.asp");
        assert_eq!(request.header("host"), None);
        let request =
            read(b"\r\nGET https://Login.Passport.com/login2.srf?lc=1033 HTTP/1.0\nA: b\n\n").await.unwrap();
        assert_eq!((request.path.as_str(), request.header("a")), ("/login2.srf", Some(&b"b"[..])));
        assert_eq!(read(b"GET http://host HTTP/1.1\r\n\r\n").await.unwrap().path, "/");
    }

    #[tokio::test]
    async fn bad_incomplete_and_oversized_requests() {
        assert!(matches!(read(b"GET\r\n\r\n").await, Err(HttpError::BadRequestLine)));
        assert!(matches!(read(b"GET / SPDY/3\r\n\r\n").await, Err(HttpError::BadRequestLine)));
        assert!(matches!(read(b"GET / HTTP/1.1 extra\r\n\r\n").await, Err(HttpError::BadRequestLine)));
        for line in [
            &b"GET / HTTP/1.1\0"[..],
            b"GET / HTTP/2.0",
            b"GET / HTTP/1.10",
            b"G3T / HTTP/1.1",
            b"GET /\x07 HTTP/1.1",
        ] {
            let request = [line, b"\r\n\r\n"].concat();
            assert!(matches!(read(&request).await, Err(HttpError::BadRequestLine)), "{line:?}");
        }
        assert!(matches!(read(b"\xff\xfe / HTTP/1.1\r\n\r\n").await, Err(HttpError::BadRequestLine)));
        assert!(matches!(read(b"GET / HTTP/1.1\r\nHost: x\r\n").await, Err(HttpError::Closed)));
        let huge = [b"GET / HTTP/1.1\r\nX: ".as_slice(), &[b'a'; MAX_HEAD_BYTES]].concat();
        assert!(matches!(read(&huge).await, Err(HttpError::TooLarge)));
    }

    #[tokio::test]
    async fn a_body_is_read_by_its_content_length() {
        let request =
            read(b"POST /RST.srf HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello, and more").await.unwrap();
        assert_eq!((request.method.as_str(), &request.body[..]), ("POST", &b"hello"[..]));
        let bare_lf = read(b"POST /RST.srf HTTP/1.0\ncontent-length:  3 , 3\n\nabc").await.unwrap();
        assert_eq!(bare_lf.body, b"abc");
        let empty = read(b"POST /RST.srf HTTP/1.1\r\nContent-Length: 0\r\n\r\n").await.unwrap();
        assert!(empty.body.is_empty());
        let get = read(b"GET /login2.srf HTTP/1.1\r\n\r\nnot a body").await.unwrap();
        assert!(get.body.is_empty(), "no Content-Length, no body");
        let at_limit = [&b"POST / HTTP/1.1\r\nContent-Length: 64\r\n\r\n"[..], &[b'x'; MAX_BODY]].concat();
        assert_eq!(read(&at_limit).await.unwrap().body.len(), MAX_BODY);
    }

    #[tokio::test]
    async fn bodies_without_a_usable_length() {
        let cases: [(&[u8], u16); 9] = [
            (b"POST /RST.srf HTTP/1.1\r\nHost: x\r\n\r\n", 411),
            (b"POST /RST.srf\r\n", 411),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 411),
            (b"POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n", 413),
            (b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
            (b"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400),
        ];
        for (request, status) in cases {
            let err = read(request).await.unwrap_err();
            assert_eq!(err.status(), Some(status), "{:?}: {err}", String::from_utf8_lossy(request));
        }
        let short = read(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc").await;
        assert!(matches!(short, Err(HttpError::Closed)));
        assert_eq!(HttpError::Closed.status(), None);
    }

    #[test]
    fn responses_close_and_count_their_body() {
        let text =
            String::from_utf8(Response::new(200).header("PassportURLs", "DALogin=x").to_bytes()).unwrap();
        assert_eq!(
            text,
            "HTTP/1.1 200 OK\r\nPassportURLs: DALogin=x\r\nContent-Type: text/html\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let text = String::from_utf8(Response::text(404, "no such page").to_bytes()).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 404 Not Found\r\n")
                && text.ends_with("Content-Length: 14\r\nConnection: close\r\n\r\nno such page\r\n")
        );
        let text = String::from_utf8(Response::xml(200, "<a/>".into()).to_bytes()).unwrap();
        assert!(text.ends_with(
            "Content-Type: text/xml; charset=utf-8\r\nContent-Length: 4\r\nConnection: close\r\n\r\n<a/>"
        ));
    }
}
