//! Floods that must not cost the server without limit, and shutdown under load, over real
//! TCP on 127.0.0.0/8 (each 127.0.0.x is another client address). Every flood runs beside a
//! bystander who keeps logging in and chatting: the flood may cost its sender, never them.

mod common;

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{answer, online, open_chat, tcp_from, Client, TestServer};
use msnd::protocol::Dialect;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BY1: &str = "by1@example.com";
const BY2: &str = "by2@example.com";

/// A server with the two bystanders, mutual contacts, and challenges off.
async fn server_with(adjust: impl FnOnce(&mut msnd::config::Config)) -> TestServer {
    let server = TestServer::start_with(|c| {
        c.challenges.enabled = false;
        adjust(c);
    })
    .await;
    let a = server.add_user_named(BY1, "By1", "p1").await;
    let b = server.add_user_named(BY2, "By2", "p2").await;
    server.befriend((a, BY1), (b, BY2)).await;
    server
}

/// The bystanders log in, open a chat and exchange an acknowledged message.
async fn bystanders_chat(server: &TestServer) {
    let mut one_ns = online(server, BY1, "p1", Dialect::MSNP7).await;
    let mut two_ns = online(server, BY2, "p2", Dialect::MSNP6).await;
    let mut one = open_chat(&mut one_ns, BY1, "By1").await;
    one.transcript(&format!("C: CAL 2 {BY2}\nS: CAL 2 RINGING *")).await;
    let mut two = answer(&mut two_ns, BY2, BY1, "By1", &[&format!("{BY1} By1")]).await;
    one.transcript(&format!("S: JOI {BY2} By2")).await;
    one.send_payload("MSG 3 A", b"still fine?").await;
    one.transcript("S: ACK 3").await;
    assert_eq!(two.recv().await.payload.as_deref(), Some(&b"still fine?"[..]));
}

fn loopback(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}

/// Writes `chunk` until the server closes the connection; false if it is still open after
/// `patience`.
async fn write_until_closed(mut stream: TcpStream, chunk: &[u8], patience: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + patience;
    while tokio::time::Instant::now() < deadline {
        match tokio::time::timeout_at(deadline, stream.write_all(chunk)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return true,
            Err(_) => return false,
        }
    }
    false
}

/// Blank lines count against the command rate like any other line: a connection sending
/// nothing else is closed as flooding instead of keeping a core busy.
#[tokio::test]
async fn a_blank_line_flood_is_closed() {
    let server = server_with(|_| {}).await;
    let blank_lines = "\r\n".repeat(4096);
    let flood = |stream| {
        let blank_lines = blank_lines.clone();
        async move { write_until_closed(stream, blank_lines.as_bytes(), Duration::from_secs(10)).await }
    };
    let before_login = tokio::spawn(flood(TcpStream::connect(server.addrs.notification).await.unwrap()));
    let mut ns = server.login(BY1, "p1", Dialect::MSNP7).await;
    ns.send_raw(b"PNG\r\n").await;
    ns.transcript("S: QNG").await;
    let after_login = tokio::spawn(flood(ns.into_stream()));
    bystanders_chat(&server).await;
    assert!(before_login.await.unwrap(), "a blank-line flood before login is closed");
    assert!(after_login.await.unwrap(), "and after login");
}

/// A command must arrive whole: a partial line (or payload) is not held for the idle
/// timeout but closed after `limits.command_timeout_secs`.
#[tokio::test]
async fn a_partial_command_is_not_held() {
    let server = server_with(|c| c.limits.command_timeout_secs = 1).await;
    server.add_user("partial@example.com", "pp").await;
    let mut line = server.login("partial@example.com", "pp", Dialect::MSNP7).await;
    line.send_raw(b"PNG").await;
    let mut payload = server.notification().await;
    payload.send_raw(b"VER 1 MSNP7\r\nQRY 2 msmsgs@msnmsgr.com 32\r\n0123").await;
    payload.transcript("S: VER 1 MSNP7").await;
    bystanders_chat(&server).await;
    assert!(line.closed_within(Duration::from_secs(5)).await, "a partial line is closed");
    assert!(payload.closed_within(Duration::from_secs(5)).await, "a partial payload too");
}

/// Connections that never send a byte, from many addresses, fill every place: they must
/// not keep logged-in users (or users logging in) out. Here they hold 3 times the total.
#[tokio::test]
async fn idle_sockets_do_not_lock_anyone_out() {
    let server = server_with(|c| {
        c.limits.max_connections = 60;
        c.limits.max_connections_per_ip = 40;
    })
    .await;
    let mut one_ns = online(&server, BY1, "p1", Dialect::MSNP7).await;
    let mut idle = Vec::new();
    for i in 0..180u8 {
        let addrs = [server.addrs.dispatch, server.addrs.notification, server.addrs.switchboard];
        idle.push(tcp_from(addrs[usize::from(i) % 3], loopback(2 + i % 6), None).await);
    }
    // Logged in before the flood: still online and chatting; logging in during it works.
    one_ns.transcript("C: PNG\nS: QNG").await;
    bystanders_chat(&server).await;
    bystanders_chat(&server).await;
    let mut dropped = 0;
    for stream in &mut idle {
        let mut byte = [0u8; 1];
        if matches!(
            tokio::time::timeout(Duration::from_millis(1), stream.read(&mut byte)).await,
            Ok(Ok(0) | Err(_))
        ) {
            dropped += 1;
        }
    }
    assert!(dropped >= 120, "the oldest idle sockets made room: {dropped} of 180 dropped");
}

/// Connections that send nothing are closed after `limits.first_command_timeout_secs`, well
/// before the login timeout.
#[tokio::test]
async fn a_connection_must_send_its_first_command_soon() {
    let server = server_with(|c| c.limits.first_command_timeout_secs = 1).await;
    let mut silent = server.dispatch().await;
    let mut blank = server.notification().await;
    blank.send_raw(b"\r\n\r\n").await;
    assert!(silent.closed_within(Duration::from_secs(5)).await);
    assert!(blank.closed_within(Duration::from_secs(5)).await, "blank lines are no command");
    bystanders_chat(&server).await;
}

/// Correct-password Passport sign-ins for one account from 20 addresses, 40 at a time from
/// each, each again a second after its answer: they are refused before any password check
/// once the account or address has had its share, so an honest MSNP8 login is not queued
/// behind them (before these limits it waited behind all 800).
#[tokio::test]
async fn one_account_cannot_starve_passport_logins() {
    let server = server_with(|_| {}).await;
    server.add_user("victim@example.com", "correct").await;
    server.add_user("honest@example.com", "mine").await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut floods = Vec::new();
    for address in 0..20u8 {
        for _ in 0..40 {
            let (stop, addr) = (stop.clone(), server.addrs.passport_http);
            floods.push(tokio::spawn(async move {
                let request = "GET /login2.srf HTTP/1.1\r\nHost: x\r\nAuthorization: Passport1.4 \
                               sign-in=victim%40example.com,pwd=correct\r\n\r\n";
                let mut answers = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    let mut stream = tcp_from(addr, loopback(10 + address), None).await;
                    let _ = stream.write_all(request.as_bytes()).await;
                    let mut answer = Vec::new();
                    let _ =
                        tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer)).await;
                    answers += 1;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                answers
            }));
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = tokio::time::Instant::now();
    let honest =
        tokio::time::timeout(Duration::from_secs(5), server.login_msnp8("honest@example.com", "mine"));
    assert!(honest.await.is_ok(), "an honest MSNP8 login completes during the flood");
    eprintln!("honest MSNP8 login during the flood: {:?}", started.elapsed());
    bystanders_chat(&server).await;
    stop.store(true, Ordering::Relaxed);
    let mut answered = 0;
    for flood in floods {
        answered += flood.await.unwrap();
    }
    eprintln!("flood requests answered: {answered}");
}

/// Adding and removing someone in a loop needs no consent and sends them `ADD 0 RL` with
/// the adder's longest name each time, enough to bury a slow link: the changes per account
/// (`800` beyond) and the notices per target are bounded.
#[tokio::test]
async fn list_change_loops_are_bounded_per_account_and_per_target() {
    let server = server_with(|c| {
        // The attackers are as fast as the database: the list limits are the test.
        c.limits.commands_per_sec = 1_000_000;
        c.limits.command_burst = 1_000_000;
    })
    .await;
    let long_name = "%E2%98%BA".repeat(129);
    server.add_user("victim@example.com", "pv").await;
    let mut attackers = Vec::new();
    for i in 0..6 {
        let email = format!("attacker{i}@example.com");
        server.add_user(&email, "pa").await;
        let mut ns = server.login(&email, "pa", Dialect::MSNP7).await;
        ns.transcript(&format!("C: REA 1 {email} {long_name}\nS: REA 1 * {email} {long_name}")).await;
        attackers.push(ns);
    }
    let mut victim = server.login("victim@example.com", "pv", Dialect::MSNP7).await;
    let mut loops = Vec::new();
    for mut ns in attackers {
        loops.push(tokio::spawn(async move {
            for round in 0..300u32 {
                let tr = 10 + round * 2;
                ns.send(&format!("ADD {tr} FL victim@example.com victim")).await;
                ns.send(&format!("REM {} FL victim@example.com", tr + 1)).await;
            }
            ns.recv_until_quiet().await
        }));
    }
    let (mut done, mut refused) = (0, 0);
    for handle in loops {
        let replies = handle.await.unwrap();
        done += replies.iter().filter(|f| f.line.starts_with("ADD ") || f.line.starts_with("REM ")).count();
        refused += replies.iter().filter(|f| f.line.starts_with("800 ")).count();
    }
    bystanders_chat(&server).await;
    let notices = victim.recv_until_quiet().await;
    victim.transcript("C: PNG\nS: QNG").await;
    let limits = &server.config.limits;
    assert!(done <= 6 * limits.list_changes_per_minute as usize, "{done} list changes went through");
    assert_eq!(done + refused, 6 * 600, "every change is answered, done or 800");
    assert!(notices.len() <= limits.list_notices_per_minute as usize, "{} notices sent", notices.len());
    assert!(!notices.is_empty(), "the first ones are sent");
}

/// At shutdown, busy clients get the reply to every command the server carried out, then
/// `OUT SSD`, then the close: a committed change is never left unanswered.
#[tokio::test]
async fn shutdown_answers_every_command_it_carried_out() {
    let mut server = server_with(|c| {
        c.limits.list_changes_per_minute = 1_000_000;
        c.limits.commands_per_sec = 1_000_000;
        c.limits.command_burst = 1_000_000;
    })
    .await;
    let mut storms = Vec::new();
    for i in 0..30 {
        let email = format!("busy{i}@example.com");
        server.add_user(&email, "pw").await;
        let mut ns = server.login(&email, "pw", Dialect::MSNP7).await;
        ns.transcript("C: SYN 1 0\nS: SYN 1 *").await;
        ns.recv_until_quiet().await;
        let (mut reader, mut writer) = ns.into_stream().into_split();
        let writing = tokio::spawn(async move {
            for tr in 10u32.. {
                let line =
                    if tr % 2 == 0 { format!("ADG {tr} g{tr} 0\r\n") } else { format!("GTC {tr} N\r\n") };
                if writer.write_all(line.as_bytes()).await.is_err() {
                    return;
                }
                tokio::task::yield_now().await;
            }
        });
        let reading = tokio::spawn(async move {
            let mut text = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(20), reader.read_to_end(&mut text)).await;
            String::from_utf8_lossy(&text).into_owned()
        });
        storms.push((writing, reading));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.stop().await;
    for (i, (writing, reading)) in storms.into_iter().enumerate() {
        let text = reading.await.unwrap();
        writing.abort();
        let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.last(), Some(&"OUT SSD"), "client {i} got no OUT SSD last: {:?}", lines.last());
        // Replies in order, without a gap: each command taken was answered.
        let trids: Vec<u32> = lines.iter().filter_map(|l| l.split(' ').nth(1)?.parse().ok()).collect();
        assert!(trids.windows(2).all(|w| w[1] == w[0] + 1), "client {i}: a reply is missing");
    }
}

/// A client that stopped reading must not hold shutdown up for the write timeout: `OUT
/// SSD` is best effort.
#[tokio::test]
async fn shutdown_does_not_wait_for_a_client_that_does_not_read() {
    let mut server = server_with(|c| {
        c.limits.commands_per_sec = 1_000_000;
        c.limits.command_burst = 1_000_000;
    })
    .await;
    server.add_user("deaf@example.com", "pw").await;
    let mut stuck = Vec::new();
    for i in 0..4u8 {
        let stream = tcp_from(server.addrs.notification, loopback(20 + i), Some(4096)).await;
        let mut deaf = Client::over(stream);
        deaf.transcript("C: VER 1 MSNP7\nS: VER 1 MSNP7").await;
        // Long replies it never reads, until the server's writes back up; the last batch
        // of pings stops in different states (mid-write, or written with the buffers full).
        let pings =
            "CVR 2 0x0409 win 4.10 i386 MSNMSGR 4.6.0082 MSMSGS\r\n".repeat(2000 + 500 * usize::from(i));
        let mut stream = deaf.into_stream();
        let _ = tokio::time::timeout(Duration::from_secs(2), stream.write_all(pings.as_bytes())).await;
        stuck.push(stream);
    }
    bystanders_chat(&server).await;
    let started = tokio::time::Instant::now();
    server.stop().await; // fails the test if it takes the harness's patience (10 s)
    eprintln!("shutdown with clients that do not read: {:?}", started.elapsed());
}
