//! Properties of the parsers that read network bytes, checked on generated input (proptest):
//! the codec frames any byte stream the same way however it is cut into reads, never panics,
//! and round-trips what msnd writes and what clients send; the command, Passport and RST
//! parsers never panic.
//! The fuzz targets in `fuzz/` check the same and more, for longer, outside CI.

#[path = "common/decode.rs"]
mod decode;

use bytes::{Bytes, BytesMut};
use msnd::codec::{Frame, MsnpCodec, Reading};
use msnd::conn::redact;
use msnd::passport::{auth, http, rst};
use msnd::protocol::command::{trid_of, Ack, SbCommand};
use msnd::protocol::{Command, Reply, TrId};
use proptest::prelude::*;
use tokio_util::codec::Encoder;

/// msnd's default limits (`config/msnd.toml`).
const MAX_LINE: usize = 2048;
const MAX_PAYLOAD: usize = 1664;

/// [`decode::decode_stream`] on a fresh codec with these limits.
fn decode_stream(
    reading: Reading,
    (max_line, max_payload): (usize, usize),
    chunks: &[&[u8]],
) -> Vec<Result<Frame, String>> {
    decode::decode_stream(&mut MsnpCodec::new(reading, max_line, max_payload), chunks)
}

/// `bytes` cut at the given points (taken modulo its length + 1); chunks may be empty.
fn cut<'a>(bytes: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = points.iter().map(|p| p % (bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for point in points {
        chunks.push(&bytes[start..point]);
        start = point;
    }
    chunks.push(&bytes[start..]);
    chunks
}

fn has_payload(reading: Reading, command: &str) -> bool {
    match reading {
        Reading::FromClient => matches!(command, "MSG" | "QRY" | "PAG" | "SDC"),
        Reading::FromServer => matches!(command, "MSG" | "NOT" | "IPG"),
    }
}

fn reading() -> impl Strategy<Value = Reading> {
    prop_oneof![Just(Reading::FromClient), Just(Reading::FromServer)]
}

/// Small limits, to reach the limit checks, or the defaults.
fn limits() -> impl Strategy<Value = (usize, usize)> {
    prop_oneof![(0..48usize, 0..48usize), Just((MAX_LINE, MAX_PAYLOAD))]
}

/// Byte streams that look enough like MSNP to get past the first line: command lines with
/// byte counts, line ends of both kinds, blank lines, spaces and raw bytes, concatenated.
fn msnp_ish() -> impl Strategy<Value = Vec<u8>> {
    let name = prop::sample::select(vec!["MSG", "QRY", "PAG", "SDC", "NOT", "IPG", "PNG", "USR", "CHL"]);
    let line = (name, prop::collection::vec("[!-~]{1,6}", 0..3), prop::option::of(0..24usize)).prop_map(
        |(name, args, count)| {
            let mut line = std::iter::once(name.to_owned()).chain(args).collect::<Vec<_>>().join(" ");
            if let Some(count) = count {
                line += &format!(" {count}");
            }
            line.into_bytes()
        },
    );
    let piece = prop_oneof![
        4 => line,
        2 => Just(b"\r\n".to_vec()),
        1 => Just(b"\n".to_vec()),
        1 => Just(b" \t".to_vec()),
        2 => prop::collection::vec(any::<u8>(), 0..12),
        2 => "[ -~]{0,12}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

/// Documents built of the pieces of an RST request, in any order and nesting.
fn xml_ish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(&b"<Envelope>"[..]),
        Just(&b"</Envelope>"[..]),
        Just(&b"<s:Envelope xmlns:s='x'>"[..]),
        Just(&b"<wsse:Username>"[..]),
        Just(&b"</wsse:Username>"[..]),
        Just(&b"<Password>"[..]),
        Just(&b"</Password>"[..]),
        Just(&b"<wst:RequestSecurityToken Id=\"RST1\">"[..]),
        Just(&b"</wst:RequestSecurityToken>"[..]),
        Just(&b"<AppliesTo>"[..]),
        Just(&b"</AppliesTo>"[..]),
        Just(&b"<wsa:Address>"[..]),
        Just(&b"</wsa:Address>"[..]),
        Just(&b"<PolicyReference URI='?a&amp;b'/>"[..]),
        Just(&b"&amp;"[..]),
        Just(&b"&#x26;"[..]),
        Just(&b"&#0;"[..]),
        Just(&b"<![CDATA[x]]>"[..]),
        Just(&b"<!DOCTYPE x>"[..]),
        Just(&b"<?xml version='1.0'?>"[..]),
    ]
    .prop_map(<[u8]>::to_vec);
    let piece = prop_oneof![6 => piece, 1 => prop::collection::vec(any::<u8>(), 0..8)];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

fn any_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![prop::collection::vec(any::<u8>(), 0..256), msnp_ish()]
}

/// Request heads that look enough like HTTP to reach the header parsing.
fn http_ish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(&b"GET /login2.srf HTTP/1.1"[..]),
        Just(&b"GET https://h/rdr/pprdr.asp?x#y"[..]),
        Just(&b"POST /RST.srf HTTP/1.1"[..]),
        Just(&b"Content-Length: 5"[..]),
        Just(&b"Content-Length: 99999999999999999999"[..]),
        Just(&b"Transfer-Encoding: chunked"[..]),
        Just(&b"Authorization: Passport1.4 sign-in=a%40b.com,pwd='p%2'"[..]),
        Just(&b"Host: x"[..]),
        Just(&b"\r\n"[..]),
        Just(&b"\n"[..]),
        Just(&b" "[..]),
        Just(&b"\t"[..]),
        Just(&b":"[..]),
    ]
    .prop_map(<[u8]>::to_vec);
    let piece = prop_oneof![4 => piece, 1 => prop::collection::vec(any::<u8>(), 0..12)];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

/// A reply as msnd builds one, with the line and payload it must come back as.
fn reply() -> impl Strategy<Value = (Reply, String, Option<Bytes>)> {
    let args = prop::collection::vec("[!-~]{1,12}", 0..6);
    let plain = (
        "[A-Z0-9]{3}".prop_filter("a payload command", |c| !has_payload(Reading::FromServer, c)),
        args.clone(),
    )
        .prop_map(|(command, args)| (command, args, None));
    let with_payload = (
        prop::sample::select(vec!["MSG", "NOT", "IPG"]).prop_map(str::to_owned),
        args,
        prop::collection::vec(any::<u8>(), 0..300).prop_map(Some),
    )
        .prop_map(|(command, args, payload)| (command, args, payload));
    prop_oneof![plain, with_payload].prop_map(|(command, args, payload)| {
        let mut reply = args.iter().fold(Reply::new(&command), |reply, arg| reply.arg(arg));
        let mut line = std::iter::once(command).chain(args).collect::<Vec<_>>().join(" ");
        if let Some(payload) = &payload {
            reply = reply.payload(payload.clone());
            line += &format!(" {}", payload.len());
        }
        (reply, line, payload.map(Bytes::from))
    })
}

/// Lines for the command parsers: anything at all, or a known command name with
/// parameters of the kinds they take.
fn command_line() -> impl Strategy<Value = String> {
    let names = vec![
        "VER", "INF", "CVR", "CVQ", "USR", "SYN", "LST", "LSG", "ADD", "REM", "ADG", "RMG", "REG", "GTC",
        "BLP", "REA", "PRP", "CHG", "URL", "SND", "SDC", "FND", "IMS", "PAG", "XFR", "CHL", "QRY", "PNG",
        "OUT", "MSG", "NOT", "QNG", "IPG", "ANS", "CAL", "CKI", "XYZ", "msg", "PN",
    ];
    let param = prop_oneof![
        "[0-9]{1,11}",
        "[A-Z]{1,3}",
        "[a-z]{1,8}@[a-z]{1,8}\\.com",
        "[!-~]{1,16}",
        "%[0-9A-Fa-f]{0,2}",
        "\\PC{1,8}",
    ];
    let structured = (prop::sample::select(names), prop::collection::vec(param, 0..10), " {1,3}").prop_map(
        |(name, params, gap)| std::iter::once(name.to_owned()).chain(params).collect::<Vec<_>>().join(&gap),
    );
    prop_oneof![any::<String>(), "[ -~]{0,40}", structured]
}

proptest! {
    /// Any bytes, any limits, either direction: no panic, and the frames (and the error that
    /// ends the stream, if any) are the same however the stream is cut into reads.
    #[test]
    fn the_codec_frames_any_bytes_the_same_in_any_chunking(
        bytes in any_bytes(),
        points in prop::collection::vec(any::<usize>(), 0..8),
        reading in reading(),
        limits in limits(),
    ) {
        let at_once = decode_stream(reading, limits, &[&bytes]);
        let chunked = decode_stream(reading, limits, &cut(&bytes, &points));
        prop_assert_eq!(&chunked, &at_once);
        let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
        prop_assert_eq!(&decode_stream(reading, limits, &bytewise), &at_once);

        let (max_line, max_payload) = limits;
        for frame in at_once.iter().filter_map(|f| f.as_ref().ok()) {
            prop_assert!(frame.line.len() <= max_line && !frame.line.contains('\n'), "{:?}", frame);
            let mut tokens = frame.line.split_ascii_whitespace();
            let command = tokens.next().unwrap_or_default();
            prop_assert_eq!(frame.payload.is_some(), has_payload(reading, command), "{:?}", frame);
            if let Some(payload) = &frame.payload {
                prop_assert!(payload.len() <= max_payload);
                prop_assert_eq!(tokens.next_back().and_then(|t| t.parse().ok()), Some(payload.len()));
            }
        }
    }

    /// Replies written by the codec's encoder read back, by a client-side codec, as the same
    /// lines (with the byte count msnd appended) and byte-exact payloads, in any chunking.
    #[test]
    fn replies_round_trip_through_the_codec(
        replies in prop::collection::vec(reply(), 1..8),
        points in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut encoder = MsnpCodec::new(Reading::FromClient, MAX_LINE, MAX_PAYLOAD);
        let mut wire = BytesMut::new();
        for (reply, _, _) in &replies {
            encoder.encode(reply.clone(), &mut wire).unwrap();
        }
        let expected: Vec<Result<Frame, String>> = replies
            .into_iter()
            .map(|(_, line, payload)| Ok(Frame { line, payload }))
            .collect();
        let frames = decode_stream(Reading::FromServer, (MAX_LINE, MAX_PAYLOAD), &cut(&wire, &points));
        prop_assert_eq!(frames, expected);
    }

    /// A client's `MSG tr U|N|A len` with any binary payload (CR, LF and all) is read with
    /// exactly that payload, the next command right after it, in any chunking; the
    /// switchboard parser gets the same bytes.
    #[test]
    fn a_client_msg_payload_is_read_byte_exact(
        tr in any::<u32>(),
        ack in prop::sample::select(vec![("U", Ack::Never), ("N", Ack::OnFailure), ("A", Ack::Always)]),
        payload in prop::collection::vec(prop_oneof![any::<u8>(), Just(b'\r'), Just(b'\n')], 0..=MAX_PAYLOAD),
        points in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let line = format!("MSG {tr} {} {}", ack.0, payload.len());
        let wire = [format!("{line}\r\n").as_bytes(), &payload, b"OUT\r\n"].concat();
        let frames = decode_stream(Reading::FromClient, (MAX_LINE, MAX_PAYLOAD), &cut(&wire, &points));
        let payload = Bytes::from(payload);
        let msg = Frame { line, payload: Some(payload.clone()) };
        prop_assert_eq!(&frames, &vec![Ok(msg.clone()), Ok(Frame { line: "OUT".into(), payload: None })]);
        prop_assert_eq!(SbCommand::parse(&msg), Ok(SbCommand::Msg { tr: TrId(tr), ack: ack.1, payload }));
    }

    /// The command parsers, `trid_of` and `redact` never panic on any line, and a parsed
    /// command is the one the line names.
    #[test]
    fn command_parsers_never_panic(line in command_line(), payload in prop::option::of(prop::collection::vec(any::<u8>(), 0..40))) {
        let frame = Frame { line, payload: payload.map(Bytes::from) };
        let first = frame.line.split_ascii_whitespace().next();
        if let Ok(command) = Command::parse(&frame) {
            prop_assert_eq!(Some(command.name()), first);
        }
        let _ = SbCommand::parse(&frame);
        if let Some(tr) = trid_of(&frame.line) {
            prop_assert_eq!(frame.line.split_ascii_whitespace().nth(1).map(str::parse::<u32>), Some(Ok(tr.0)));
        }
        let redacted = redact(&frame.line);
        prop_assert_eq!(redacted.split_ascii_whitespace().count(), frame.line.split_ascii_whitespace().count());
    }

    /// The Passport reader and `Authorization` parser never panic on any bytes.
    #[test]
    fn passport_parsers_never_panic(
        bytes in prop_oneof![any_bytes(), http_ish()],
        header in prop::option::of(prop_oneof![any_bytes(), http_ish()]),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        if let Ok(request) = runtime.block_on(http::read_request(&mut &bytes[..], 64)) {
            prop_assert!(request.body.len() <= 64);
            let _ = auth::parse(request.header("authorization"));
        }
        let _ = auth::parse(header.as_deref());
    }

    /// The RST parser never panics, and keeps to its bound on token requests.
    #[test]
    fn the_rst_parser_never_panics(body in prop_oneof![any_bytes(), xml_ish()]) {
        if let Ok(request) = rst::parse(&body) {
            prop_assert!(request.tokens.len() <= rst::MAX_TOKENS);
        }
    }
}
