//! The Passport HTTP request reader on arbitrary bytes arriving in arbitrary chunks (with
//! reads that are not ready in between): it never panics, never reads past its bound, and
//! gives the same answer however the bytes are cut. A request it accepts goes on to the
//! `Authorization` parser and its body to the RST parser, as in the service.

#![no_main]

use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use msnd::passport::http::{read_request, HttpError, Request, MAX_HEAD_BYTES};
use msnd::passport::{auth, rst};
use tokio::io::{AsyncRead, ReadBuf};

/// Serves its chunks one read at a time; an empty chunk is a read that is not ready yet.
struct Chunked<'a> {
    chunks: std::vec::IntoIter<&'a [u8]>,
    current: &'a [u8],
}

impl AsyncRead for Chunked<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.current.is_empty() {
            match self.chunks.next() {
                None => return Poll::Ready(Ok(())), // end of stream
                Some([]) => {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Some(chunk) => self.current = chunk,
            }
        }
        let n = self.current.len().min(buf.remaining());
        buf.put_slice(&self.current[..n]);
        self.current = &self.current[n..];
        Poll::Ready(Ok(()))
    }
}

/// The smallest executor: the readers here never wait on anything, so polling again at
/// once is right. Bounded, so that a future that never finishes is a finding, not a hang.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000_000 {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
    panic!("read_request did not finish on a reader that never blocks");
}

/// The body limit here: small, so that it is reached.
const MAX_BODY: usize = 256;

fn outcome(result: &Result<Request, HttpError>) -> String {
    format!("{result:?}")
}

fuzz_target!(|data: &[u8]| {
    let Ok(chunks) = Unstructured::new(data).arbitrary::<Vec<&[u8]>>() else { return };
    let whole = chunks.concat();

    let at_once = block_on(read_request(&mut &whole[..], MAX_BODY));
    let chunked = block_on(read_request(&mut Chunked { chunks: chunks.into_iter(), current: &[] }, MAX_BODY));
    assert_eq!(outcome(&at_once), outcome(&chunked), "the chunking changed the request");

    match &at_once {
        Ok(request) => {
            assert!(
                !request.method.is_empty() && !request.method.contains(|c: char| c.is_ascii_whitespace())
            );
            assert!(!request.path.contains(['?', '#']), "path {:?} kept its query", request.path);
            assert!(request.body.len() <= MAX_BODY);
            let _ = auth::parse(request.header("authorization"));
            if let Ok(asked) = rst::parse(&request.body) {
                assert!(asked.tokens.len() <= rst::MAX_TOKENS);
            }
        }
        Err(HttpError::TooLarge) => assert!(whole.len() >= MAX_HEAD_BYTES),
        Err(HttpError::Closed) => assert!(whole.len() < MAX_HEAD_BYTES + MAX_BODY),
        Err(
            HttpError::BadRequestLine
            | HttpError::BadLength
            | HttpError::BodyTooLarge(_)
            | HttpError::LengthRequired(_),
        ) => {}
        Err(HttpError::Io(e)) => panic!("I/O error from a slice: {e}"),
    }
});
