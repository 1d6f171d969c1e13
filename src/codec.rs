//! Framing: CRLF (or bare LF) lines, and for payload commands the byte count given as the
//! line's last parameter followed by exactly that many raw bytes. Both sizes are bounded:
//! an over-long line or payload is an error, never an unbounded buffer.

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

pub use crate::protocol::Frame;
use crate::protocol::{vocabulary, Reply};

/// Which side's commands are being read: the two directions carry different payload commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// A server reading client commands (`MSG`, `QRY`, `PAG`, `SDC` carry payloads).
    FromClient,
    /// A client reading server commands (`MSG`, `NOT`, `IPG` carry payloads).
    FromServer,
}

impl Reading {
    /// Whether `command`, read in this direction, is followed by a payload.
    pub fn has_payload(self, command: &str) -> bool {
        vocabulary::spec(command).is_some_and(|spec| match self {
            Reading::FromClient => spec.client_payload,
            Reading::FromServer => spec.server_payload,
        })
    }
}

/// Why a stream could not be framed. Every variant ends the connection.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("line longer than {limit} bytes")]
    LineTooLong { limit: usize },
    #[error("payload of {len} bytes exceeds the limit of {limit}")]
    PayloadTooLong { len: usize, limit: usize },
    #[error("payload command without a byte count")]
    BadLength,
    #[error("line is not UTF-8")]
    NotUtf8,
    #[error("a command still incomplete {secs} s after it began")]
    Incomplete { secs: u64 },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The MSNP line/payload codec.
#[derive(Debug)]
pub struct MsnpCodec {
    reading: Reading,
    max_line: usize,
    max_payload: usize,
    /// A header line whose payload has not fully arrived yet, with its length.
    pending: Option<(String, usize)>,
    /// How far the buffer has been searched for a line feed.
    scanned: usize,
}

impl MsnpCodec {
    pub fn new(reading: Reading, max_line: usize, max_payload: usize) -> Self {
        MsnpCodec { reading, max_line, max_payload, pending: None, scanned: 0 }
    }

    /// Whether a payload command's line has been read and its payload is still awaited
    /// (the buffer may be empty then, and yet a command is half received).
    pub fn mid_frame(&self) -> bool {
        self.pending.is_some()
    }

    /// Splits off the next line, without its CR LF, if a whole one is buffered.
    fn next_line(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, CodecError> {
        let limit = self.max_line;
        match src[self.scanned..].iter().position(|&b| b == b'\n') {
            Some(offset) => {
                let mut line = src.split_to(self.scanned + offset + 1);
                self.scanned = 0;
                line.truncate(line.len() - 1);
                if line.last() == Some(&b'\r') {
                    line.truncate(line.len() - 1);
                }
                if line.len() > limit {
                    return Err(CodecError::LineTooLong { limit });
                }
                Ok(Some(line))
            }
            // One byte of slack for the CR of a line that is exactly at the limit.
            None if src.len() > limit + 1 => Err(CodecError::LineTooLong { limit }),
            None => {
                self.scanned = src.len();
                Ok(None)
            }
        }
    }

    fn payload_length(&self, line: &str) -> Result<Option<usize>, CodecError> {
        let mut tokens = line.split_ascii_whitespace();
        let command = tokens.next().unwrap_or_default();
        if !self.reading.has_payload(command) {
            return Ok(None);
        }
        // Digits only: `usize::from_str` would also take a leading `+`.
        let len: usize = match tokens.next_back() {
            Some(count) if count.bytes().all(|b| b.is_ascii_digit()) => {
                count.parse().map_err(|_| CodecError::BadLength)?
            }
            _ => return Err(CodecError::BadLength),
        };
        if len > self.max_payload {
            return Err(CodecError::PayloadTooLong { len, limit: self.max_payload });
        }
        Ok(Some(len))
    }
}

impl Decoder for MsnpCodec {
    type Item = Frame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        loop {
            if let Some((_, len)) = &self.pending {
                if src.len() < *len {
                    src.reserve(*len - src.len());
                    return Ok(None);
                }
                let (line, len) = self.pending.take().expect("checked just above");
                return Ok(Some(Frame { line, payload: Some(src.split_to(len).freeze()) }));
            }
            let Some(raw) = self.next_line(src)? else { return Ok(None) };
            // A blank line is a frame of its own with an empty `line`: harmless to the
            // protocol, but it still counts against the sender's command rate.
            if raw.iter().all(|b| b.is_ascii_whitespace()) {
                return Ok(Some(Frame { line: String::new(), payload: None }));
            }
            let line = String::from_utf8(raw.to_vec()).map_err(|_| CodecError::NotUtf8)?;
            match self.payload_length(&line)? {
                Some(len) => self.pending = Some((line, len)),
                None => return Ok(Some(Frame { line, payload: None })),
            }
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        // A peer that vanishes mid-line or mid-payload just ends the stream: the
        // incomplete command was never acknowledged, so nothing is lost by dropping it.
        let frame = self.decode(src)?;
        if frame.is_none() {
            src.clear();
            self.pending = None;
        }
        Ok(frame)
    }
}

impl Encoder<Reply> for MsnpCodec {
    type Error = CodecError;

    fn encode(&mut self, reply: Reply, dst: &mut BytesMut) -> Result<(), CodecError> {
        reply.encode(dst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &[u8] = b"MSG Hotmail Hotmail 95\r\nMIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile; charset=UTF-8\r\nLoginTime: 1726321960\r\n\r\nCHL 0 11111111111111111111\r\n";

    fn client_side() -> MsnpCodec {
        MsnpCodec::new(Reading::FromServer, 1024, 2048)
    }

    fn decode_all(codec: &mut MsnpCodec, chunks: &[&[u8]]) -> Vec<Frame> {
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            while let Some(frame) = codec.decode(&mut buf).unwrap() {
                frames.push(frame);
            }
        }
        frames
    }

    #[test]
    fn a_payload_is_followed_directly_by_the_next_command() {
        let frames = decode_all(&mut client_side(), &[STREAM]);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].line, "MSG Hotmail Hotmail 95");
        assert_eq!(frames[0].payload.as_ref().unwrap().len(), 95);
        assert_eq!(frames[1], Frame { line: "CHL 0 11111111111111111111".into(), payload: None });
    }

    #[test]
    fn every_split_point_gives_the_same_frames() {
        let whole = decode_all(&mut client_side(), &[STREAM]);
        for cut in 0..=STREAM.len() {
            let (a, b) = STREAM.split_at(cut);
            assert_eq!(decode_all(&mut client_side(), &[a, b]), whole, "cut at {cut}");
        }
        let bytewise: Vec<&[u8]> = STREAM.chunks(1).collect();
        assert_eq!(decode_all(&mut client_side(), &bytewise), whole);
    }

    #[test]
    fn bare_lf_blank_lines_and_byte_counts() {
        let mut server = MsnpCodec::new(Reading::FromClient, 1024, 2048);
        let input: &[u8] = b"USR 7 MD5 S f59af8f2fa91d38aff7c870c17f99903\n\r\nQRY 10 msmsgs@msnmsgr.com 32\r\n3b6666b60157322b6fc6e41a115968f5PNG\r\n";
        let frames = decode_all(&mut server, &[input]);
        assert_eq!(frames[0].line, "USR 7 MD5 S f59af8f2fa91d38aff7c870c17f99903");
        assert_eq!(frames[1], Frame { line: String::new(), payload: None }, "a blank line is a frame");
        assert_eq!(&frames[2].payload.as_ref().unwrap()[..], b"3b6666b60157322b6fc6e41a115968f5");
        assert_eq!(frames[3].line, "PNG");
        let utf8 = decode_all(&mut server, &["MSG 1 U 6\r\nhéllo".as_bytes()]);
        assert_eq!(&utf8[0].payload.as_ref().unwrap()[..], "héllo".as_bytes());
    }

    #[test]
    fn limits_and_malformed_input_are_errors() {
        let mut codec = MsnpCodec::new(Reading::FromClient, 16, 8);
        let mut long = BytesMut::from(&b"PNG 0123456789abcdefghij"[..]);
        assert!(matches!(codec.decode(&mut long), Err(CodecError::LineTooLong { .. })));
        let mut codec = MsnpCodec::new(Reading::FromClient, 16, 8);
        let mut big = BytesMut::from(&b"MSG 1 U 9\r\n"[..]);
        assert!(matches!(codec.decode(&mut big), Err(CodecError::PayloadTooLong { .. })));
        let mut codec = MsnpCodec::new(Reading::FromClient, 16, 8);
        let mut no_len = BytesMut::from(&b"MSG 1 U x\r\n"[..]);
        assert!(matches!(codec.decode(&mut no_len), Err(CodecError::BadLength)));
        let mut codec = MsnpCodec::new(Reading::FromClient, 16, 8);
        let mut signed = BytesMut::from(&b"MSG 1 U +3\r\nabc"[..]);
        assert!(matches!(codec.decode(&mut signed), Err(CodecError::BadLength)));
        let mut codec = MsnpCodec::new(Reading::FromClient, 16, 8);
        let mut binary = BytesMut::from(&b"\xff\xfe\r\n"[..]);
        assert!(matches!(codec.decode(&mut binary), Err(CodecError::NotUtf8)));
    }

    #[test]
    fn a_line_exactly_at_the_limit_is_accepted() {
        let mut codec = MsnpCodec::new(Reading::FromClient, 8, 8);
        let frames = decode_all(&mut codec, &[b"PNG 1234", b"\r\n"]);
        assert_eq!(frames[0].line, "PNG 1234");
    }
}
