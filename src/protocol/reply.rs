//! Server-to-client lines. A payload's byte count is appended here, never written by hand.

use std::fmt::{self, Display, Write as _};

use bytes::{BufMut, Bytes, BytesMut};

use super::TrId;

/// One server line, optionally followed by a payload (`MSG`, `NOT`, `IPG`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    line: String,
    payload: Option<Bytes>,
}

impl Reply {
    /// A command without a transaction id (`QNG`, `OUT`, `NLN` ...).
    pub fn new(command: &str) -> Self {
        Reply { line: command.to_owned(), payload: None }
    }

    /// A command answering transaction `tr`.
    pub fn to(command: &str, tr: TrId) -> Self {
        Self::new(command).arg(tr)
    }

    /// `<code> <trid>`, or the bare code for errors not tied to a request.
    pub fn error(code: u16, tr: Option<TrId>) -> Self {
        let reply = Self::new(&code.to_string());
        match tr {
            Some(tr) => reply.arg(tr),
            None => reply,
        }
    }

    /// Appends one space-separated parameter. Callers URL-encode free text first.
    pub fn arg(mut self, arg: impl Display) -> Self {
        write!(self.line, " {arg}").expect("writing to a String cannot fail");
        self
    }

    /// Attaches a payload; its byte count becomes the last parameter on the wire.
    pub fn payload(mut self, body: impl Into<Bytes>) -> Self {
        self.payload = Some(body.into());
        self
    }

    /// Writes the wire form: line, byte count if any, CRLF, payload.
    pub fn encode(&self, dst: &mut BytesMut) {
        let payload = self.payload.as_deref().unwrap_or_default();
        dst.reserve(self.line.len() + 12 + payload.len());
        dst.put_slice(self.line.as_bytes());
        if self.payload.is_some() {
            dst.put_slice(format!(" {}", payload.len()).as_bytes());
        }
        dst.put_slice(b"\r\n");
        dst.put_slice(payload);
    }
}

/// The line as logged: the header and the byte count, never the payload itself.
impl Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line)?;
        match &self.payload {
            Some(body) => write!(f, " {}", body.len()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(reply: &Reply) -> Vec<u8> {
        let mut buf = BytesMut::new();
        reply.encode(&mut buf);
        buf.to_vec()
    }

    #[test]
    fn lines_and_payloads_encode_with_computed_lengths() {
        let usr = Reply::to("USR", TrId(7)).arg("OK").arg("a@b.com").arg("a%20b");
        assert_eq!(wire(&usr), b"USR 7 OK a@b.com a%20b\r\n");
        assert_eq!(wire(&Reply::error(911, Some(TrId(3)))), b"911 3\r\n");
        assert_eq!(wire(&Reply::new("QNG")), b"QNG\r\n");
        let msg = Reply::new("MSG").arg("Hotmail").arg("Hotmail").payload("héllo");
        assert_eq!(wire(&msg), "MSG Hotmail Hotmail 6\r\nhéllo".as_bytes());
        assert_eq!(msg.to_string(), "MSG Hotmail Hotmail 6");
    }
}
