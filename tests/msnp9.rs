//! MSNP9 (MSN Messenger 6.0) over real TCP: its login as the official client does it,
//! display pictures to MSNP9 and MSNP8 watchers, `QNG` with seconds, what MSNP9 removed,
//! a chat with an MSNP2 client, and P2P data (`MSG .. D`) relayed byte-exact and acknowledged.

mod common;

use common::{answer, online, open_chat, Client, TestServer};
use msnd::protocol::{url_encode, Dialect};

async fn start() -> TestServer {
    TestServer::start_with(|c| c.challenges.enabled = false).await
}

/// MSN Messenger 6.0's `CVR` details.
fn cvr(email: &str) -> String {
    format!("0x0409 winnt 5.1 i386 MSNMSGR 6.0.0602 MSMSGS {email}")
}

/// The login exactly as MSN Messenger 6.0 makes it: dispatch, hand-off, the notification
/// server, Passport 1.4, then `SYN` and the first `CHG` (with `caps` and, if given, a
/// picture's MSNObject).
async fn login9(server: &TestServer, email: &str, name: &str, password: &str) -> Client {
    let mut ds = server.dispatch().await;
    ds.transcript(&format!(
        "C: VER 1 MSNP9 MSNP8 CVR0\nS: VER 1 MSNP9\nC: CVR 2 {}\nS: CVR 2 6.0.0602 6.0.0602 6.0.0602 ...\n\
         C: USR 3 TWN I {email}\nS: XFR 3 NS {{ns}} 0 ...\nS: (closed)",
        cvr(email)
    ))
    .await;
    let mut ns = Client::connect(ds.var("ns").parse().unwrap()).await;
    ns.transcript(&format!(
        "C: VER 4 MSNP9 MSNP8 CVR0\nS: VER 4 MSNP9\nC: CVR 5 {}\nS: CVR 5 6.0.0602 ...\n\
         C: USR 6 TWN I {email}\nS: USR 6 TWN S {{challenge}}",
        cvr(email)
    ))
    .await;
    let ticket = server.passport_login(email, password, &ns.var("challenge")).await.expect("a ticket");
    ns.send(&format!("USR 7 TWN S {ticket}")).await;
    ns.transcript(&format!("S: USR 7 OK {email} {} 1 0", url_encode(name))).await;
    ns.expect_payload("MSG Hotmail Hotmail", "text/x-msmsgsprofile").await;
    ns.expect_payload("MSG Hotmail Hotmail", "text/x-msmsgsinitialemailnotification").await;
    ns
}

/// An MSNObject for `email`'s picture, URL-encoded as 6.0 sends it; `sha` tells pictures apart.
fn picture(email: &str, sha: &str) -> String {
    url_encode(&format!(
        "<msnobj Creator=\"{email}\" Size=\"5120\" Type=\"3\" Location=\"TFR1A.tmp\" Friendly=\"AAA=\" SHA1D=\"{sha}\" SHA1C=\"a3YhziTvtmnvpctnNBLXpFM7Apw=\"/>"
    ))
}

/// 6.0's capabilities: MSNC1 in the top nibble.
const CAPS: u32 = 0x1000_002C;

#[tokio::test]
async fn an_msnp9_login_as_messenger_6_syncs_and_goes_online() {
    let server = start().await;
    let alice = server.add_user_named("alice@example.com", "Alice", "alice-pw").await;
    let bob = server.add_user_named("bob@example.com", "Bob", "bob-pw").await;
    server.befriend((alice, "alice@example.com"), (bob, "bob@example.com")).await;
    let mut ns = login9(&server, "alice@example.com", "Alice", "alice-pw").await;
    ns.transcript(
        "C: SYN 8 0\nS: SYN 8 * 1 1\nS: GTC A\nS: BLP AL\nS: LSG 0 Other%20Contacts 0\n\
         S: LST bob@example.com bob%40example.com 11 0",
    )
    .await;
    ns.transcript(&format!("C: CHG 9 NLN {CAPS}\nS: CHG 9 NLN {CAPS}\nC: PNG\nS: QNG 60")).await;
}

#[tokio::test]
async fn watchers_see_a_display_picture_each_in_their_dialect() {
    let server = start().await;
    let alice = server.add_user_named("alice@example.com", "Alice", "alice-pw").await;
    let bob = server.add_user_named("bob@example.com", "Bob", "bob-pw").await;
    let carol = server.add_user_named("carol@example.com", "Carol", "carol-pw").await;
    server.befriend((alice, "alice@example.com"), (bob, "bob@example.com")).await;
    server.befriend((alice, "alice@example.com"), (carol, "carol@example.com")).await;
    let mut bob_ns = login9(&server, "bob@example.com", "Bob", "bob-pw").await;
    bob_ns.transcript(&format!("C: CHG 9 NLN {CAPS}\nS: CHG 9 NLN {CAPS}")).await;
    let mut carol_ns = online(&server, "carol@example.com", "carol-pw", Dialect::MSNP8).await;
    carol_ns.ignore(&[]);

    let mut alice_ns = login9(&server, "alice@example.com", "Alice", "alice-pw").await;
    let first = picture("alice@example.com", "1kekYtXeHKpNc6XmtGWrUSTBzdw=");
    alice_ns.send(&format!("CHG 9 NLN {CAPS} {first}")).await;
    alice_ns.transcript(&format!("S: CHG 9 NLN {CAPS} {first}")).await;
    alice_ns.ignore(&["ILN", "NLN", "FLN"]);
    bob_ns.transcript(&format!("S: NLN NLN alice@example.com Alice {CAPS} {first}")).await;
    carol_ns.transcript(&format!("S: NLN NLN alice@example.com Alice {CAPS}")).await;

    // A new picture with the same status is news too.
    let second = picture("alice@example.com", "vP1ppB+xiFQ8SqdkU1o0NaZ8s/w=");
    alice_ns.send(&format!("CHG 10 NLN {CAPS} {second}")).await;
    alice_ns.transcript(&format!("S: CHG 10 NLN {CAPS} {second}")).await;
    bob_ns.transcript(&format!("S: NLN NLN alice@example.com Alice {CAPS} {second}")).await;
    carol_ns.transcript(&format!("S: NLN NLN alice@example.com Alice {CAPS}")).await;

    // Whoever logs in later finds it in the ILN burst.
    drop(bob_ns);
    let mut bob_again = login9(&server, "bob@example.com", "Bob", "bob-pw").await;
    bob_again
        .transcript(&format!(
            "C: CHG 5 NLN {CAPS}\nS: CHG 5 NLN {CAPS}\nS: ILN 5 NLN alice@example.com Alice {CAPS} {second}"
        ))
        .await;

    // What is not an MSNObject is refused and relayed to nobody; "0" is no picture.
    let script = url_encode("<script>alert(1)</script>");
    alice_ns.transcript(&format!("C: CHG 11 NLN {CAPS} {script}\nS: 201 11")).await;
    alice_ns.transcript(&format!("C: CHG 12 BSY {CAPS} 0\nS: CHG 12 BSY {CAPS}")).await;
    bob_again.transcript(&format!("S: NLN BSY alice@example.com Alice {CAPS}")).await;
}

#[tokio::test]
async fn msnp9_drops_the_pager_and_the_list_queries_msnp8_keeps() {
    let server = start().await;
    server.add_user_named("alice@example.com", "Alice", "alice-pw").await;
    let mut ns = login9(&server, "alice@example.com", "Alice", "alice-pw").await;
    ns.send_payload("PAG 5 bob@example.com", b"<TEXT xml:space=\"preserve\" enc=\"utf-8\">hi</TEXT>").await;
    ns.transcript("S: 715 5").await;
    ns.send_payload("PGD 6 bob@example.com 1", b"<TEXT xml:space=\"preserve\" enc=\"utf-8\">hi</TEXT>").await;
    ns.transcript("S: 502 6\nC: LSG 7\nS: (closed)").await;

    let mut old = online(&server, "alice@example.com", "alice-pw", Dialect::MSNP8).await;
    old.transcript("C: PNG\nS: QNG\nC: LSG 7\nS: LSG 7 ...").await;
}

#[tokio::test]
async fn an_msnp9_client_chats_with_an_msnp2_client() {
    let server = start().await;
    let alice = server.add_user_named("alice@example.com", "Alice", "alice-pw").await;
    let dave = server.add_user_named("dave@example.com", "Dave", "dave-pw").await;
    server.befriend((alice, "alice@example.com"), (dave, "dave@example.com")).await;
    let mut dave_ns = online(&server, "dave@example.com", "dave-pw", Dialect::MSNP2).await;
    let mut alice_ns = login9(&server, "alice@example.com", "Alice", "alice-pw").await;
    alice_ns
        .transcript(&format!(
            "C: CHG 9 NLN {CAPS}\nS: CHG 9 NLN {CAPS}\nS: ILN 9 NLN dave@example.com Dave 0"
        ))
        .await;
    let mut alice_sb = open_chat(&mut alice_ns, "alice@example.com", "Alice").await;
    alice_sb.transcript("C: CAL 2 dave@example.com\nS: CAL 2 RINGING {sid}").await;
    let mut dave_sb =
        answer(&mut dave_ns, "dave@example.com", "alice@example.com", "Alice", &["alice@example.com Alice"])
            .await;
    alice_sb.transcript("S: JOI dave@example.com Dave").await;
    let text = b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nhello from 6.0";
    alice_sb.send_payload("MSG 3 A", text).await;
    alice_sb.transcript("S: ACK 3").await;
    dave_sb.expect_payload("MSG alice@example.com Alice", "hello from 6.0").await;
    dave_sb
        .send_payload("MSG 2 N", b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhello from 1.0")
        .await;
    alice_sb.expect_payload("MSG dave@example.com Dave", "hello from 1.0").await;
}

#[tokio::test]
async fn p2p_data_is_relayed_byte_exact_and_acknowledged() {
    let server = start().await;
    let alice = server.add_user_named("alice@example.com", "Alice", "alice-pw").await;
    let bob = server.add_user_named("bob@example.com", "Bob", "bob-pw").await;
    server.befriend((alice, "alice@example.com"), (bob, "bob@example.com")).await;
    let mut bob_ns = login9(&server, "bob@example.com", "Bob", "bob-pw").await;
    bob_ns.transcript(&format!("C: CHG 9 NLN {CAPS}\nS: CHG 9 NLN {CAPS}")).await;
    let mut alice_ns = login9(&server, "alice@example.com", "Alice", "alice-pw").await;
    alice_ns
        .transcript(&format!(
            "C: CHG 9 NLN {CAPS}\nS: CHG 9 NLN {CAPS}\nS: ILN 9 NLN bob@example.com Bob {CAPS}"
        ))
        .await;
    bob_ns.ignore(&["NLN"]);
    let mut alice_sb = open_chat(&mut alice_ns, "alice@example.com", "Alice").await;
    alice_sb.transcript("C: CAL 2 bob@example.com\nS: CAL 2 RINGING {sid}").await;
    let mut bob_sb =
        answer(&mut bob_ns, "bob@example.com", "alice@example.com", "Alice", &["alice@example.com Alice"])
            .await;
    alice_sb.transcript("S: JOI bob@example.com Bob").await;

    // A full chunk: the MIME header, the 48-byte binary header, 1202 data bytes of every
    // value (NUL, CR, LF, invalid UTF-8 among them) and the 4-byte footer.
    let mut chunk =
        b"MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: bob@example.com\r\n\r\n"
            .to_vec();
    chunk.extend((0..48u32).map(|i| (i * 7) as u8));
    chunk.extend((0..1202u32).map(|i| (i % 256) as u8));
    chunk.extend([0, 0, 0, 1]);
    assert!(chunk.len() <= 1664);
    alice_sb.send_payload("MSG 3 D", &chunk).await;
    alice_sb.transcript("S: ACK 3").await;
    let relayed = bob_sb.recv().await;
    assert_eq!(relayed.line, format!("MSG alice@example.com Alice {}", chunk.len()));
    assert_eq!(relayed.payload.as_deref(), Some(&chunk[..]), "byte for byte");

    // `D` is for P2P data only.
    alice_sb.send_payload("MSG 4 D", b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhi").await;
    alice_sb.transcript("S: 282 4").await;
    bob_sb.expect_silence(std::time::Duration::from_millis(300)).await;
}
