//! A minimal HTTP(S) client for the Passport service: raw request bytes out, the answer
//! read until the server closes (it always does), over TCP or TLS on the vendored OpenSSL.

use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;

use openssl::ssl::{SslConnector, SslMethod, SslVersion};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

use super::PATIENCE;

/// A parsed answer.
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    /// Status line and headers, as received.
    pub head: String,
    pub body: String,
}

impl HttpReply {
    fn parse(raw: &[u8]) -> HttpReply {
        let text = String::from_utf8_lossy(raw);
        let (head, body) =
            text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no complete answer: {text:?}"));
        let status =
            head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{head:?}"));
        HttpReply { status, head: head.to_owned(), body: body.to_owned() }
    }

    /// The value of the header `name` (any case); fails the test if there is none.
    pub fn header(&self, name: &str) -> &str {
        self.head
            .lines()
            .skip(1)
            .filter_map(|line| line.split_once(':'))
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .unwrap_or_else(|| panic!("no {name} header in\n{}", self.head))
    }

    /// The `key=value` item `key` of a comma-separated header value.
    pub fn item(&self, header: &str, key: &str) -> String {
        let value = self.header(header);
        value
            .split(',')
            .find_map(|item| item.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
            .unwrap_or_else(|| panic!("no {key}= in {header}: {value}"))
            .to_owned()
    }
}

/// `GET path HTTP/1.1` with a Host header and `headers`.
pub fn get(path: &str, host: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n");
    for (name, value) in headers {
        request += &format!("{name}: {value}\r\n");
    }
    request += "Connection: Keep-Alive\r\n\r\n";
    request.into_bytes()
}

/// A TLS client that trusts only `cert` (a PEM file) and checks the host name or IP.
pub fn trusting(cert: &Path) -> SslConnector {
    let mut builder = SslConnector::builder(SslMethod::tls_client()).expect("TLS client");
    builder.set_ca_file(cert).expect("the server's certificate");
    builder.build()
}

/// A client like Windows XP's: TLS 1.0 only, `ciphers` only, no SNI; trusts `cert`.
pub fn like_windows_xp(cert: &Path, ciphers: &str) -> SslConnector {
    let mut builder = SslConnector::builder(SslMethod::tls_client()).expect("TLS client");
    builder.set_min_proto_version(Some(SslVersion::TLS1)).unwrap();
    builder.set_max_proto_version(Some(SslVersion::TLS1)).unwrap();
    builder.set_cipher_list(ciphers).unwrap();
    builder.set_ca_file(cert).expect("the server's certificate");
    builder.build()
}

/// Completes a TLS handshake with `addr` as `name` (SNI and name check as the connector's
/// configuration says), or returns OpenSSL's complaint.
pub async fn tls_connect(
    addr: SocketAddr,
    connector: &SslConnector,
    name: &str,
    sni: bool,
) -> Result<SslStream<TcpStream>, String> {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let ssl = connector
        .configure()
        .unwrap()
        .use_server_name_indication(sni)
        .verify_hostname(sni)
        .into_ssl(name)
        .unwrap();
    let mut stream = SslStream::new(ssl, tcp).unwrap();
    let handshake = tokio::time::timeout(PATIENCE, Pin::new(&mut stream).connect()).await;
    match handshake.expect("handshake in time") {
        Ok(()) => Ok(stream),
        Err(e) => Err(e.to_string()),
    }
}

/// Sends `request` over HTTPS to `addr` (verifying the certificate for `addr`'s IP).
pub async fn https(addr: SocketAddr, connector: &SslConnector, request: &[u8]) -> HttpReply {
    let stream = tls_connect(addr, connector, &addr.ip().to_string(), true).await.expect("TLS handshake");
    exchange(stream, request).await
}

/// Sends `request` over plain HTTP to `addr`.
pub async fn http(addr: SocketAddr, request: &[u8]) -> HttpReply {
    exchange(TcpStream::connect(addr).await.expect("connect"), request).await
}

/// Writes `request`, then reads until the server closes.
pub async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, request: &[u8]) -> HttpReply {
    stream.write_all(request).await.expect("send");
    let mut raw = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match tokio::time::timeout(PATIENCE, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => raw.extend_from_slice(&chunk[..n]),
            Err(_) => panic!("the server did not close the connection within {PATIENCE:?}"),
        }
    }
    HttpReply::parse(&raw)
}
