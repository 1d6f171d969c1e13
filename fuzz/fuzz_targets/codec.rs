//! `MsnpCodec` on arbitrary bytes in arbitrary chunks, reading either direction: it never
//! panics, every frame respects the limits and the framing rules, and the frames (and the
//! error that ends the stream, if any) do not depend on where the chunks are cut.

#![no_main]

#[path = "../../tests/common/decode.rs"]
mod decode;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use msnd::codec::{MsnpCodec, Reading};

/// What the input asks for: a direction, limits and the stream in chunks.
struct Case<'a> {
    reading: Reading,
    max_line: usize,
    max_payload: usize,
    chunks: Vec<&'a [u8]>,
}

fn case<'a>(u: &mut Unstructured<'a>) -> Result<Case<'a>> {
    let reading = if u.arbitrary()? { Reading::FromClient } else { Reading::FromServer };
    // Small limits reach the limit checks; msnd's defaults the rest.
    let (max_line, max_payload) =
        if u.arbitrary()? { (u.int_in_range(0..=64)?, u.int_in_range(0..=64)?) } else { (2048, 1664) };
    let chunks = u.arbitrary()?;
    Ok(Case { reading, max_line, max_payload, chunks })
}

fuzz_target!(|data: &[u8]| {
    let Ok(Case { reading, max_line, max_payload, chunks }) = case(&mut Unstructured::new(data)) else {
        return;
    };
    let chunked = decode::decode_stream(&mut MsnpCodec::new(reading, max_line, max_payload), &chunks);
    let whole: Vec<u8> = chunks.concat();
    let at_once = decode::decode_stream(&mut MsnpCodec::new(reading, max_line, max_payload), &[&whole]);
    assert_eq!(chunked, at_once, "the chunking changed the frames");

    for frame in chunked.iter().filter_map(|f| f.as_ref().ok()) {
        assert!(frame.line.len() <= max_line, "line over the limit: {frame:?}");
        assert!(!frame.line.contains('\n'), "line with a line feed: {frame:?}");
        let mut tokens = frame.line.split_ascii_whitespace();
        let command = tokens.next().unwrap_or_default();
        match &frame.payload {
            Some(payload) => {
                assert!(reading.has_payload(command), "payload on a non-payload command: {frame:?}");
                assert!(payload.len() <= max_payload, "payload over the limit: {frame:?}");
                let count = tokens.next_back().and_then(|t| t.parse::<usize>().ok());
                assert_eq!(count, Some(payload.len()), "payload length is not the byte count: {frame:?}");
            }
            None => assert!(!reading.has_payload(command), "payload command without payload: {frame:?}"),
        }
    }
});
