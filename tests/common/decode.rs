//! Decoding a stream of reads the way a connection does, shared by the property tests and
//! the codec fuzz target (which includes this file by path).

use bytes::BytesMut;
use msnd::codec::{Frame, MsnpCodec};
use tokio_util::codec::Decoder;

/// The frames a connection reads from `chunks`, as `FramedRead` would: decode until nothing
/// more is buffered, take the next read, and at the end `decode_eof`. The first error ends
/// the stream and is its last item (as its `Debug` text, since errors are not comparable).
pub fn decode_stream(codec: &mut MsnpCodec, chunks: &[&[u8]]) -> Vec<Result<Frame, String>> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(frame)) => out.push(Ok(frame)),
                Ok(None) => break,
                Err(e) => {
                    out.push(Err(format!("{e:?}")));
                    return out;
                }
            }
        }
    }
    loop {
        match codec.decode_eof(&mut buf) {
            Ok(Some(frame)) => out.push(Ok(frame)),
            Ok(None) => return out,
            Err(e) => {
                out.push(Err(format!("{e:?}")));
                return out;
            }
        }
    }
}
