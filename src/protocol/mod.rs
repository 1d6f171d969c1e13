//! The MSN Messenger protocol as data: identifiers, commands, replies, the per-version
//! [`Dialect`] and the error codes. Nothing here touches a socket, a database or the clock.

pub mod command;
pub mod dialect;
pub mod error;
pub mod lists;
pub mod msnobj;
pub mod personal;
pub mod render;
pub mod reply;
pub mod view;
pub mod vocabulary;

use std::fmt;
use std::str::FromStr;

use bytes::Bytes;

pub use command::{Command, SbCommand};
pub use dialect::Dialect;
pub use error::ProtocolError;
pub use reply::Reply;

/// One command as read off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The line without its line ending.
    pub line: String,
    /// The payload of a payload command (possibly empty), `None` for other commands.
    pub payload: Option<Bytes>,
}

/// A transaction id: chosen by the client, copied into every reply to that command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrId(pub u32);

impl FromStr for TrId {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // `u32::from_str` accepts a leading '+', which is no transaction id.
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ProtocolError::Syntax);
        }
        s.parse().map(TrId).map_err(|_| ProtocolError::Syntax)
    }
}

impl fmt::Display for TrId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An account handle: an e-mail address, stored and compared in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

/// Longest handle the protocol allows (draft §5.4).
pub const MAX_EMAIL_BYTES: usize = 129;

impl Email {
    /// The handle as sent on the wire and stored in the database.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Email {
    type Err = ProtocolError;
    /// Accepts `local@domain.tld` with a printable ASCII local part and a domain of
    /// letters, digits and hyphens in dot-separated labels.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (local, domain) = s.split_once('@').ok_or(ProtocolError::InvalidParameter)?;
        let local_ok = !local.is_empty()
            && local.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b'@' | b'%' | b',' | b'"'));
        let label_ok = |l: &str| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        let domain_ok = domain.contains('.') && domain.split('.').all(label_ok);
        if s.len() > MAX_EMAIL_BYTES || !local_ok || !domain_ok {
            return Err(ProtocolError::InvalidParameter);
        }
        Ok(Email(s.to_ascii_lowercase()))
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Free text as it goes on the wire: URL-encoded once, when made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded(String);

impl Encoded {
    pub fn new(text: &str) -> Encoded {
        Encoded(url_encode(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Encoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Percent-encodes every byte outside `A-Z a-z 0-9 . _ ~ -`, the safest form for every client.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (either case); other bytes pass through. The result must be UTF-8.
pub fn url_decode(text: &str) -> Result<String, ProtocolError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(ProtocolError::InvalidParameter)?;
            let hex = std::str::from_utf8(hex).map_err(|_| ProtocolError::InvalidParameter)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ProtocolError::InvalidParameter)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ProtocolError::InvalidParameter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoding_round_trips_the_reference_vectors() {
        let vectors = [
            ("another user", "another%20user"),
            ("Ünïcode ☺ 100%", "%C3%9Cn%C3%AFcode%20%E2%98%BA%20100%25"),
            ("example@hotmail.com", "example%40hotmail.com"),
            ("p@ss,w0rd!", "p%40ss%2Cw0rd%21"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(url_encode(plain), encoded);
            assert_eq!(url_decode(encoded).unwrap(), plain);
        }
        assert_eq!(url_decode("%c3%9cber").unwrap(), "Über");
        assert_eq!(url_decode("%63%61%72").unwrap(), "car");
        assert!(url_decode("bad%2").is_err());
        assert!(url_decode("bad%zz").is_err());
        assert!(url_decode("%ff").is_err());
    }

    #[test]
    fn emails_are_validated_and_lowercased() {
        assert_eq!("Alice@Example.COM".parse::<Email>().unwrap().as_str(), "alice@example.com");
        for bad in ["", "x@", "@example.com", "a@b", "a b@c.com", "a@-b.com", "a@b..com", "a@@b.com"] {
            assert!(bad.parse::<Email>().is_err(), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(MAX_EMAIL_BYTES));
        assert!(long.parse::<Email>().is_err());
    }

    #[test]
    fn transaction_ids_are_plain_decimal_u32() {
        assert_eq!("4294967295".parse::<TrId>().unwrap(), TrId(u32::MAX));
        for bad in ["", "+1", "-1", "4294967296", "1a"] {
            assert!(bad.parse::<TrId>().is_err(), "{bad:?}");
        }
    }
}
