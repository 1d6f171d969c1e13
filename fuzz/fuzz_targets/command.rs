//! `Command::parse` and `SbCommand::parse` on frames built from arbitrary input (a line and
//! an optional payload), with `trid_of` and `conn::redact` on the same line: they never
//! panic, and what they return is consistent with the line.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use msnd::codec::Frame;
use msnd::conn::redact;
use msnd::protocol::command::{trid_of, SbCommand};
use msnd::protocol::Command;

fuzz_target!(|data: &[u8]| {
    // Layout: a line, then (after the first NUL, if any) the payload. Lines come out of the
    // codec as UTF-8 without line feeds; anything else is fuzzed too, as it costs nothing.
    let (line, payload) = match data.iter().position(|&b| b == 0) {
        Some(nul) => (&data[..nul], Some(Bytes::copy_from_slice(&data[nul + 1..]))),
        None => (data, None),
    };
    let line = String::from_utf8_lossy(line).into_owned();
    let frame = Frame { line, payload };
    let first = frame.line.split_ascii_whitespace().next();

    if let Ok(command) = Command::parse(&frame) {
        assert_eq!(Some(command.name()), first, "parsed {command:?} from {:?}", frame.line);
        if let Command::Qry { response, .. } = &command {
            assert_eq!(response, &frame.payload.clone().unwrap_or_default());
        }
    }
    if let Ok(SbCommand::Msg { payload, .. }) = SbCommand::parse(&frame) {
        assert_eq!(first, Some("MSG"));
        assert_eq!(payload, frame.payload.clone().unwrap_or_default());
    }

    if let Some(tr) = trid_of(&frame.line) {
        let second = frame.line.split_ascii_whitespace().nth(1).expect("a transaction id was found");
        assert!(second.bytes().all(|b| b.is_ascii_digit()), "transaction id {second:?}");
        assert_eq!(second.parse::<u32>(), Ok(tr.0));
    }

    let redacted = redact(&frame.line);
    let before: Vec<&str> = frame.line.split_ascii_whitespace().collect();
    let after: Vec<&str> = redacted.split_ascii_whitespace().collect();
    assert_eq!(before.len(), after.len(), "redact changed the token count");
    let changed = before.iter().zip(&after).filter(|(b, a)| b != a).count();
    assert!(changed <= 1, "redact changed more than one token: {:?} -> {redacted:?}", frame.line);
    assert!(after.iter().zip(&before).all(|(a, b)| a == b || *a == "***"));
});
