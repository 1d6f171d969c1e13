//! The command parsers: notification-server commands and switchboard commands, from frames.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use msnd::codec::Frame;
use msnd::protocol::{Command, SbCommand};

fn frame(line: &str) -> Frame {
    Frame { line: line.to_owned(), payload: None }
}

fn notification(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse/notification");
    for (name, line) in [
        ("VER", "VER 1 MSNP7 MSNP6 MSNP5 MSNP4 CVR0"),
        ("USR S", "USR 7 MD5 S f59af8f2fa91d38aff7c870c17f99903"),
        ("SYN", "SYN 8 0"),
        ("CHG", "CHG 9 NLN"),
        ("ADD", "ADD 10 FL someone@example.com Some%20One%20%28work%29 0"),
        ("REA", "REA 11 me@example.com My%20new%20name%20%E2%98%BA"),
        ("PNG", "PNG"),
    ] {
        let frame = frame(line);
        group.bench_function(name, |b| {
            b.iter(|| Command::parse(std::hint::black_box(&frame)).expect("valid"))
        });
    }
    let qry = Frame {
        line: "QRY 12 msmsgs@msnmsgr.com 32".to_owned(),
        payload: Some(Bytes::from_static(b"3b6666b60157322b6fc6e41a115968f5")),
    };
    group.bench_function("QRY", |b| b.iter(|| Command::parse(std::hint::black_box(&qry)).expect("valid")));
    group.finish();
}

fn switchboard(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse/switchboard");
    let msg = Frame { line: "MSG 5 A 98".to_owned(), payload: Some(Bytes::from_static(&[b'x'; 98])) };
    group.bench_function("MSG", |b| b.iter(|| SbCommand::parse(std::hint::black_box(&msg)).expect("valid")));
    let ans = frame("ANS 1 bob@example.com 1234567890abcdef1234567890abcdef 11752013");
    group.bench_function("ANS", |b| b.iter(|| SbCommand::parse(std::hint::black_box(&ans)).expect("valid")));
    group.finish();
}

criterion_group!(benches, notification, switchboard);
criterion_main!(benches);
