//! The codec: framing a client's command stream (lines and MSG payloads), a client-side
//! read of the server's stream, and encoding replies.

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use msnd::codec::{MsnpCodec, Reading};
use msnd::protocol::{Reply, TrId};
use tokio_util::codec::{Decoder, Encoder};

/// What a chatting MSNP7 client sends: pings, status changes and messages.
fn client_stream() -> Vec<u8> {
    let body = "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\
                X-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n\r\nHello there, how are you?";
    let mut stream = Vec::new();
    for tr in 0..100 {
        stream.extend_from_slice(format!("MSG {tr} A {}\r\n{body}", body.len()).as_bytes());
        stream.extend_from_slice(format!("CHG {tr} NLN\r\nPNG\r\n").as_bytes());
    }
    stream
}

/// What a client reads from its notification server: presence and a profile message.
fn server_stream() -> Vec<u8> {
    let profile = "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile; charset=UTF-8\r\nLoginTime: 1726321960\r\n\r\n";
    let mut stream = Vec::new();
    for i in 0..100 {
        stream.extend_from_slice(format!("NLN AWY user{i}@example.com User%20{i}\r\n").as_bytes());
        stream.extend_from_slice(format!("MSG Hotmail Hotmail {}\r\n{profile}", profile.len()).as_bytes());
    }
    stream
}

fn decode_all(reading: Reading, stream: &[u8]) -> usize {
    let mut codec = MsnpCodec::new(reading, 2048, 1664);
    let mut buf = BytesMut::from(stream);
    let mut frames = 0;
    while let Some(frame) = codec.decode(&mut buf).expect("well-formed stream") {
        frames += 1;
        std::hint::black_box(frame);
    }
    frames
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec/decode");
    for (name, reading, stream) in [
        ("client stream (MSG, CHG, PNG)", Reading::FromClient, client_stream()),
        ("server stream (NLN, MSG)", Reading::FromServer, server_stream()),
    ] {
        group.throughput(Throughput::Bytes(stream.len() as u64));
        group.bench_function(name, |b| b.iter(|| decode_all(reading, &stream)));
    }
    // The worst split: one byte at a time, as a slow link delivers it.
    let stream = client_stream();
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.bench_function("client stream, byte by byte", |b| {
        b.iter(|| {
            let mut codec = MsnpCodec::new(Reading::FromClient, 2048, 1664);
            let mut buf = BytesMut::new();
            let mut frames = 0;
            for byte in &stream {
                buf.extend_from_slice(std::slice::from_ref(byte));
                while let Some(frame) = codec.decode(&mut buf).expect("well-formed stream") {
                    frames += 1;
                    std::hint::black_box(frame);
                }
            }
            frames
        })
    });
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec/encode");
    let payload =
        Bytes::from_static(b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nHello");
    group.bench_function("NLN line", |b| {
        b.iter_batched(
            || Reply::new("NLN").arg("AWY").arg("user1@example.com").arg("User%201"),
            |reply| {
                let mut dst = BytesMut::new();
                MsnpCodec::new(Reading::FromClient, 2048, 1664).encode(reply, &mut dst).expect("encodes");
                dst
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("MSG with payload", |b| {
        b.iter_batched(
            || Reply::new("MSG").arg("user1@example.com").arg("User%201").payload(payload.clone()),
            |reply| {
                let mut dst = BytesMut::new();
                MsnpCodec::new(Reading::FromClient, 2048, 1664).encode(reply, &mut dst).expect("encodes");
                dst
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("build and encode ACK", |b| {
        b.iter(|| {
            let mut dst = BytesMut::new();
            Reply::to("ACK", TrId(12345)).encode(&mut dst);
            dst
        })
    });
    group.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
