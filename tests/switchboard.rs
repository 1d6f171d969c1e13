//! Chats on the switchboard between clients of different versions, over real TCP.

mod common;

use std::time::Duration;

use common::{answer, online, open_chat, Client, TestServer};
use msnd::protocol::Dialect;

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
const CAROL: &str = "carol@example.com";
const QUIET: Duration = Duration::from_millis(300);
const HELLO: &[u8] = b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Arial; EF=I; CO=0; CS=0; PF=22\r\n\r\nHello! How are you?";
const TYPING: &[u8] =
    b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: bob@example.com\r\n\r\n\r\n";

/// Alice, Bob and Carol, all mutual contacts.
async fn friends() -> TestServer {
    let server = TestServer::start_with(|c| c.challenges.enabled = false).await;
    let a = server.add_user_named(ALICE, "Alice", "pa").await;
    let b = server.add_user_named(BOB, "Bob", "pb").await;
    let c = server.add_user_named(CAROL, "Carol", "pc").await;
    server.befriend((a, ALICE), (b, BOB)).await;
    server.befriend((a, ALICE), (c, CAROL)).await;
    server.befriend((b, BOB), (c, CAROL)).await;
    server
}

/// Alice (in dialect `a`) opens a chat and invites Bob (in `b`), who joins.
struct Chat {
    alice_ns: Client,
    alice: Client,
    bob: Client,
}

async fn chat(server: &TestServer, a: Dialect, b: Dialect) -> Chat {
    let mut alice_ns = online(server, ALICE, "pa", a).await;
    let mut bob_ns = online(server, BOB, "pb", b).await;
    let mut alice = open_chat(&mut alice_ns, ALICE, "Alice").await;
    alice.transcript(&format!("C: CAL 2 {BOB}\nS: CAL 2 RINGING {{sid}}")).await;
    let bob = answer(&mut bob_ns, BOB, ALICE, "Alice", &[&format!("{ALICE} Alice")]).await;
    assert_eq!(bob_ns.var("sid"), alice.var("sid"));
    alice.transcript(&format!("S: JOI {BOB} Bob")).await;
    Chat { alice_ns, alice, bob }
}

#[tokio::test]
async fn msnp7_chats_with_msnp2() {
    let server = friends().await;
    let Chat { mut alice, mut bob, .. } = chat(&server, Dialect::MSNP7, Dialect::MSNP2).await;

    alice.send_payload("MSG 3 N", HELLO).await;
    let frame = bob.recv().await;
    assert_eq!(frame.line, format!("MSG {ALICE} Alice {}", HELLO.len()));
    assert_eq!(frame.payload.as_deref(), Some(HELLO));
    bob.send_payload("MSG 2 U", TYPING).await;
    let frame = alice.recv().await;
    assert_eq!(
        (frame.line.as_str(), frame.payload.as_deref()),
        (&*format!("MSG {BOB} Bob {}", TYPING.len()), Some(TYPING))
    );

    bob.transcript("C: OUT\nS: (closed)").await;
    alice.transcript(&format!("S: BYE {BOB}")).await;
    // Alone now: an acknowledged message cannot be delivered.
    alice.send_payload("MSG 4 A", HELLO).await;
    alice.transcript("S: NAK 4").await;
}

#[tokio::test]
async fn ack_modes() {
    let server = friends().await;
    let Chat { mut alice, mut bob, .. } = chat(&server, Dialect::MSNP6, Dialect::MSNP4).await;
    alice.send_payload("MSG 3 A", HELLO).await;
    alice.transcript("S: ACK 3").await;
    alice.send_payload("MSG 4 N", HELLO).await;
    alice.send_payload("MSG 5 U", HELLO).await;
    alice.expect_silence(QUIET).await;
    for _ in 0..3 {
        assert!(bob.recv().await.line.starts_with("MSG alice@example.com Alice"));
    }
    // MSNP9's `D` is for P2P data only: a text message so sent is refused, not relayed.
    alice.send_payload("MSG 6 D", HELLO).await;
    alice.transcript("S: 282 6").await;
    // An unknown ack mode: hung up on, nothing relayed.
    alice.send_payload("MSG 7 X", HELLO).await;
    alice.expect_closed().await;
    bob.transcript(&format!("S: BYE {ALICE}")).await;
}

#[tokio::test]
async fn three_way_chat() {
    let server = friends().await;
    let mut alice_ns = online(&server, ALICE, "pa", Dialect::MSNP7).await;
    let mut bob_ns = online(&server, BOB, "pb", Dialect::MSNP3).await;
    let mut carol_ns = online(&server, CAROL, "pc", Dialect::MSNP5).await;
    let mut alice = open_chat(&mut alice_ns, ALICE, "Alice").await;
    alice.transcript(&format!("C: CAL 2 {BOB}\nS: CAL 2 RINGING {{sid}}")).await;
    let mut bob = answer(&mut bob_ns, BOB, ALICE, "Alice", &[&format!("{ALICE} Alice")]).await;
    alice.transcript(&format!("S: JOI {BOB} Bob")).await;
    // Bob invites Carol into the running chat.
    bob.transcript(&format!("C: CAL 7 {CAROL}\nS: CAL 7 RINGING {}", alice.var("sid"))).await;
    let roster = [format!("{ALICE} Alice"), format!("{BOB} Bob")];
    let mut carol = answer(&mut carol_ns, CAROL, BOB, "Bob", &[&roster[0], &roster[1]]).await;
    alice.transcript(&format!("S: JOI {CAROL} Carol")).await;
    bob.transcript(&format!("S: JOI {CAROL} Carol")).await;

    carol.send_payload("MSG 2 A", b"hi all").await;
    carol.transcript("S: ACK 2").await;
    for peer in [&mut alice, &mut bob] {
        let frame = peer.recv().await;
        assert_eq!(frame.line, "MSG carol@example.com Carol 6");
        assert_eq!(frame.payload.as_deref(), Some(&b"hi all"[..]));
    }
    // Calling someone already there, or yourself.
    alice
        .transcript(&format!(
            "C: CAL 3 {CAROL}\nS: 215 3\nC: CAL 4 {ALICE}\nS: 215 4\nC: CAL 5 @@a\nS: 208 5"
        ))
        .await;
    // A vanished participant: the others get BYE.
    drop(bob);
    alice.transcript(&format!("S: BYE {BOB}")).await;
    carol.transcript(&format!("S: BYE {BOB}")).await;
}

#[tokio::test]
async fn offline_hidden_and_blocking_callees_all_look_offline() {
    let server = friends().await;
    let dave = server.add_user_named("dave@example.com", "Dave", "pd").await;
    server.put_on_list(dave, "BL", ALICE).await;
    let mut alice_ns = online(&server, ALICE, "pa", Dialect::MSNP7).await;
    let mut dave_ns = online(&server, "dave@example.com", "pd", Dialect::MSNP7).await;
    let mut carol_ns = online(&server, CAROL, "pc", Dialect::MSNP6).await;
    carol_ns.transcript("C: CHG 51 HDN\nS: CHG 51 HDN").await;
    let mut alice = open_chat(&mut alice_ns, ALICE, "Alice").await;
    alice
        .transcript(&format!(
            "C: CAL 2 {BOB}
             S: 217 2
             C: CAL 3 {CAROL}
             S: 217 3
             C: CAL 4 dave@example.com
             S: 217 4
             C: CAL 5 nobody@example.com
             S: 217 5"
        ))
        .await;
    dave_ns.expect_silence(QUIET).await;
    // IMS OFF turns invitations away the same way.
    let mut bob_ns = online(&server, BOB, "pb", Dialect::MSNP5).await;
    bob_ns.transcript("C: IMS 52 OFF\nS: IMS 52 0 OFF").await;
    alice.transcript(&format!("C: CAL 6 {BOB}\nS: 217 6")).await;
    // A hidden user cannot open a switchboard at all.
    carol_ns.transcript("C: XFR 53 SB\nS: 913 53\nC: XFR 54 NS\nS: 201 54").await;
    // Nor invite anyone from a chat opened before hiding: the RNG would give them away.
    alice_ns.transcript("C: CHG 55 HDN\nS: CHG 55 HDN").await;
    alice.transcript(&format!("C: CAL 7 {CAROL}\nS: 913 7")).await;
}

#[tokio::test]
async fn bad_reused_and_expired_cookies_are_refused() {
    let server = TestServer::start_with(|c| {
        c.challenges.enabled = false;
        c.switchboard.cookie_ttl_secs = 1;
    })
    .await;
    server.add_user_named(ALICE, "Alice", "pa").await;
    server.add_user_named(BOB, "Bob", "pb").await;
    let mut alice_ns = online(&server, ALICE, "pa", Dialect::MSNP7).await;
    let sb_addr = server.addrs.switchboard;

    let mut sb = Client::connect(sb_addr).await;
    sb.transcript(&format!("C: USR 1 {ALICE} 0123456789abcdef0123456789abcdef\nS: 911 1\nS: (closed)")).await;

    alice_ns.transcript("C: XFR 2 SB\nS: XFR 2 SB * CKI {cookie}").await;
    let cookie = alice_ns.var("cookie");
    let mut stolen = Client::connect(sb_addr).await;
    stolen.transcript(&format!("C: USR 1 {BOB} {cookie}\nS: 911 1\nS: (closed)")).await;
    let mut late = Client::connect(sb_addr).await;
    late.transcript(&format!("C: USR 1 {ALICE} {cookie}\nS: 911 1\nS: (closed)")).await;

    alice_ns.transcript("C: XFR 3 SB\nS: XFR 3 SB * CKI {fresh}").await;
    let fresh = alice_ns.var("fresh");
    let mut first = Client::connect(sb_addr).await;
    first.transcript(&format!("C: USR 1 {ALICE} {fresh}\nS: USR 1 OK {ALICE} Alice")).await;
    let mut replay = Client::connect(sb_addr).await;
    replay.transcript(&format!("C: USR 1 {ALICE} {fresh}\nS: 911 1\nS: (closed)")).await;

    alice_ns.transcript("C: XFR 4 SB\nS: XFR 4 SB * CKI {expiring}").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut expired = Client::connect(sb_addr).await;
    expired
        .transcript(&format!("C: USR 1 {ALICE} {}\nS: 911 1\nS: (closed)", alice_ns.var("expiring")))
        .await;

    // Commands before USR/ANS, and ANS with a forged cookie.
    let mut early = Client::connect(sb_addr).await;
    early.transcript("C: CAL 1 bob@example.com\nS: 302 1\nS: (closed)").await;
    let mut forged = Client::connect(sb_addr).await;
    forged
        .transcript(&format!(
            "C: ANS 1 {BOB} 0123456789abcdef0123456789abcdef 12345678\nS: 911 1\nS: (closed)"
        ))
        .await;
    first.transcript("C: CAL 2 bob@example.com\nS: 217 2").await;
}

#[tokio::test]
async fn oversized_message_closes_the_connection() {
    let server = friends().await;
    let Chat { mut alice, mut bob, .. } = chat(&server, Dialect::MSNP7, Dialect::MSNP7).await;
    let exactly = vec![b'x'; 1664];
    alice.send_payload("MSG 3 A", &exactly).await;
    alice.transcript("S: ACK 3").await;
    assert_eq!(bob.recv().await.payload.map(|p| p.len()), Some(1664));
    alice.send_payload("MSG 4 A", &[b'x'; 1665]).await;
    alice.expect_closed().await;
    bob.transcript(&format!("S: BYE {ALICE}")).await;
    bob.expect_silence(QUIET).await;
}

#[tokio::test]
async fn a_dropped_notification_connection_does_not_end_the_chat() {
    let server = friends().await;
    let Chat { alice_ns, mut alice, mut bob, .. } = chat(&server, Dialect::MSNP7, Dialect::MSNP7).await;
    drop(alice_ns);
    alice.send_payload("MSG 3 A", b"still here").await;
    alice.transcript("S: ACK 3").await;
    assert_eq!(bob.recv().await.payload.as_deref(), Some(&b"still here"[..]));
}

#[tokio::test]
async fn msnp7_chats_with_msnp8() {
    let server = friends().await;
    let Chat { mut alice, mut bob, .. } = chat(&server, Dialect::MSNP8, Dialect::MSNP7).await;
    alice.send_payload("MSG 3 A", HELLO).await;
    alice.transcript("S: ACK 3").await;
    assert_eq!(bob.recv().await.payload.as_deref(), Some(HELLO));
    bob.send_payload("MSG 4 N", b"hi").await;
    assert_eq!(alice.recv().await.line, format!("MSG {BOB} Bob 2"));
}

/// Clients of the era read the session id with `atoi()` or into a Java `int` and send it
/// back in `ANS`: every id must fit a signed 32-bit integer, with the official service's
/// 8 to 10 digits.
#[tokio::test]
async fn session_ids_fit_a_signed_32_bit_integer() {
    let server = friends().await;
    let mut alice_ns = online(&server, ALICE, "pa", Dialect::MSNP7).await;
    let mut bob_ns = online(&server, BOB, "pb", Dialect::MSNP7).await;
    let mut chats = Vec::new();
    for tr in 0..40 {
        alice_ns.transcript(&format!("C: XFR {tr} SB\nS: XFR {tr} SB {{sb}} CKI {{cookie{tr}}}")).await;
        let mut sb = Client::connect(alice_ns.var("sb").parse().unwrap()).await;
        let cookie = alice_ns.var(&format!("cookie{tr}"));
        sb.transcript(&format!("C: USR 1 {ALICE} {cookie}\nS: USR 1 OK {ALICE} Alice")).await;
        sb.transcript(&format!("C: CAL 2 {BOB}\nS: CAL 2 RINGING {{sid}}")).await;
        let sid = sb.var("sid");
        let parsed: i32 = sid.parse().unwrap_or_else(|_| panic!("session id {sid} is not a 32-bit int"));
        assert!((8..=10).contains(&sid.len()) && parsed > 0, "session id {sid}");
        bob_ns.transcript(&format!("S: RNG {sid} * CKI * {ALICE} Alice")).await;
        chats.push(sb);
    }
}

/// One client library dials the switchboard's host on its configured dispatch port: a
/// first command `USR tr handle cookie` or `ANS ..` on the dispatch port is a switchboard
/// connection, and everything else there is as before.
#[tokio::test]
async fn a_chat_works_through_the_dispatch_port() {
    let server = friends().await;
    let mut alice_ns = online(&server, ALICE, "pa", Dialect::MSNP7).await;
    let mut bob_ns = online(&server, BOB, "pb", Dialect::MSNP7).await;
    alice_ns.transcript("C: XFR 60 SB\nS: XFR 60 SB * CKI {cookie}").await;
    let mut alice = server.dispatch().await;
    alice
        .transcript(&format!("C: USR 1 {ALICE} {}\nS: USR 1 OK {ALICE} Alice", alice_ns.var("cookie")))
        .await;
    alice.transcript(&format!("C: CAL 2 {BOB}\nS: CAL 2 RINGING {{sid}}")).await;
    bob_ns.transcript("S: RNG {sid} * CKI {cookie} alice@example.com Alice").await;
    let mut bob = server.dispatch().await;
    bob.send(&format!("ANS 1 {BOB} {} {}", bob_ns.var("cookie"), bob_ns.var("sid"))).await;
    bob.transcript(&format!("S: IRO 1 1 1 {ALICE} Alice\nS: ANS 1 OK")).await;
    alice.transcript(&format!("S: JOI {BOB} Bob")).await;
    alice.send_payload("MSG 3 A", HELLO).await;
    alice.transcript("S: ACK 3").await;
    assert_eq!(bob.recv().await.payload.as_deref(), Some(HELLO));
    // A forged cookie there is refused as on the switchboard's own port.
    let mut forged = server.dispatch().await;
    forged
        .transcript(&format!("C: USR 1 {ALICE} 0123456789abcdef0123456789abcdef\nS: 911 1\nS: (closed)"))
        .await;
    // And the dispatch port still negotiates and hands off.
    let mut ds = server.dispatch().await;
    ds.transcript("C: VER 1 MSNP7 CVR0\nS: VER 1 MSNP7\nC: INF 2\nS: INF 2 MD5").await;
}

/// Clients never ping a switchboard, and a reader types nothing: what a participant
/// receives keeps them in the chat. Only a chat where nothing happens at all times out.
#[tokio::test]
async fn a_reader_stays_in_the_chat_and_a_quiet_chat_times_out() {
    let server = TestServer::start_with(|c| {
        c.challenges.enabled = false;
        c.limits.idle_timeout_secs = 2;
        c.switchboard.idle_timeout_secs = 2;
    })
    .await;
    let a = server.add_user_named(ALICE, "Alice", "pa").await;
    let b = server.add_user_named(BOB, "Bob", "pb").await;
    server.befriend((a, ALICE), (b, BOB)).await;
    let Chat { mut alice, mut bob, .. } = chat(&server, Dialect::MSNP7, Dialect::MSNP7).await;
    // Alice types for twice the timeout; Bob only reads.
    for tr in 0..8 {
        alice.send_payload(&format!("MSG {tr} U"), b"still typing").await;
        assert_eq!(bob.recv().await.payload.as_deref(), Some(&b"still typing"[..]));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    alice.send_payload("MSG 9 A", HELLO).await;
    alice.transcript("S: ACK 9").await;
    assert_eq!(bob.recv().await.payload.as_deref(), Some(HELLO));
    // Then nobody says anything: the chat ends for both.
    assert!(alice.closed_within(Duration::from_secs(5)).await, "a silent chat times out");
    assert!(bob.closed_within(Duration::from_secs(5)).await);
}

/// An invitation whose callee signed out before answering never reached anyone: it is
/// withdrawn, so calling them again rings again (not `215`), and it does not take a place.
#[tokio::test]
async fn an_invitation_to_someone_who_signed_out_is_withdrawn() {
    let server = TestServer::start_with(|c| {
        c.challenges.enabled = false;
        c.switchboard.max_participants = 2;
    })
    .await;
    let a = server.add_user_named(ALICE, "Alice", "pa").await;
    let b = server.add_user_named(BOB, "Bob", "pb").await;
    let c = server.add_user_named(CAROL, "Carol", "pc").await;
    server.befriend((a, ALICE), (b, BOB)).await;
    server.befriend((a, ALICE), (c, CAROL)).await;
    let mut alice_ns = online(&server, ALICE, "pa", Dialect::MSNP7).await;
    let mut alice = open_chat(&mut alice_ns, ALICE, "Alice").await;
    for round in 0..2 {
        let mut bob_ns = online(&server, BOB, "pb", Dialect::MSNP7).await;
        alice.transcript(&format!("C: CAL {round} {BOB}\nS: CAL {round} RINGING *")).await;
        bob_ns.transcript(&format!("S: RNG * * CKI * {ALICE} Alice")).await;
        // Signed out before answering (the session ends before the connection closes).
        bob_ns.transcript("C: OUT\nS: (closed)").await;
    }
    let mut carol_ns = online(&server, CAROL, "pc", Dialect::MSNP7).await;
    alice.transcript(&format!("C: CAL 5 {CAROL}\nS: CAL 5 RINGING *")).await;
    carol_ns.transcript(&format!("S: RNG * * CKI * {ALICE} Alice")).await;
}
