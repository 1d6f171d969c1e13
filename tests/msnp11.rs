//! MSNP11 (MSN Messenger 7.0) and MSNP12 (7.5) over real TCP: the login with `SBS` and the
//! Mail-Data message, `GCF`, the MSNP11 challenge, personal messages between MSNP11+
//! watchers and kept from older ones, the network id in `LST`, and the switchboard's
//! roster with capabilities for MSNP12 participants only.

mod common;

use std::time::Duration;

use common::{answer, online, open_chat, Client, TestServer};
use msnd::credentials::{md5_hex, msnp11_challenge_answer};
use msnd::protocol::Dialect;

/// 7.0's and 7.5's capabilities.
const CAPS_7: u32 = 1_073_791_084;
const CAPS_75: u32 = 1_342_554_172;

fn caps(dialect: Dialect) -> u32 {
    if dialect.roster_caps {
        CAPS_75
    } else {
        CAPS_7
    }
}

/// Logs in (Passport 1.4, as 7.0 does; the ticket is the same as RST's), syncs and goes
/// online with the capabilities of its client.
async fn online_as(server: &TestServer, email: &str, password: &str, dialect: Dialect) -> Client {
    let mut ns = server.login(email, password, dialect).await;
    ns.send("SYN 8 0 0").await;
    let _ = ns.recv_until_quiet().await;
    let caps = caps(dialect);
    ns.transcript(&format!("C: CHG 9 NLN {caps}\nS: CHG 9 NLN {caps}")).await;
    ns
}

const EMPTY: &str = "<Data><PSM></PSM><CurrentMedia></CurrentMedia></Data>";
const LUNCH: &str = "<Data><PSM>out to lunch &amp; back at 2</PSM><CurrentMedia></CurrentMedia></Data>";

#[tokio::test]
async fn a_7_0_login_configuration_and_challenge() {
    let server = TestServer::start().await;
    let alice = server.add_user_named("alice@example.com", "Alice", "alice-pw").await;
    let bob = server.add_user_named("bob@example.com", "Bob", "bob-pw").await;
    server.befriend((alice, "alice@example.com"), (bob, "bob@example.com")).await;
    // `login` checks USR OK without the name, SBS, the profile and the Mail-Data message.
    let mut ns = server.login("alice@example.com", "alice-pw", Dialect::MSNP11).await;
    ns.transcript(
        "C: SYN 5 0 0\nS: SYN 5 * * 1 0\nS: GTC A\nS: BLP AL\nS: PRP MFN Alice\n\
         S: LST N=bob@example.com F=bob%40example.com C={bob} 11",
    )
    .await;
    ns.transcript("C: GCF 6 Shields.xml\nS: GCF 6 Shields.xml 145\n| <shield><cli maj=\"7\" min=\"0\"").await;
    // The first CHG brings the first challenge; 7.0 answers with the MSNP11 algorithm.
    ns.transcript(&format!("C: CHG 7 NLN {CAPS_7}\nS: CHG 7 NLN {CAPS_7}\nS: CHL 0 {{chl}}")).await;
    let chl = ns.var("chl");
    let right = msnp11_challenge_answer(&chl, "PROD0090YUAUV{2B", "YMM8C_H7KCQ2S_KL");
    ns.send_payload("QRY 8 PROD0090YUAUV{2B", right.as_bytes()).await;
    ns.transcript("S: QRY 8\nC: PNG\nS: QNG 60").await;

    // The MSNP6-10 answer is wrong here.
    let mut bob_ns = server.login("bob@example.com", "bob-pw", Dialect::MSNP11).await;
    bob_ns.transcript(&format!("C: CHG 7 NLN {CAPS_7}\nS: CHG 7 NLN {CAPS_7}\nS: ILN 7 NLN alice@example.com Alice {CAPS_7}\nS: CHL 0 {{chl}}")).await;
    let old = md5_hex(&[bob_ns.var("chl").as_bytes(), b"YMM8C_H7KCQ2S_KL"]);
    bob_ns.send_payload("QRY 8 PROD0090YUAUV{2B", old.as_bytes()).await;
    bob_ns.transcript("S: 540 8\nS: (closed)").await;
}

#[tokio::test]
async fn personal_messages_reach_msnp11_watchers_only() {
    let server = TestServer::start_with(|c| c.challenges.enabled = false).await;
    let alice = server.add_user_named("alice@example.com", "Alice", "alice-pw").await;
    let bob = server.add_user_named("bob@example.com", "Bob", "bob-pw").await;
    let carol = server.add_user_named("carol@example.com", "Carol", "carol-pw").await;
    let dave = server.add_user_named("dave@example.com", "Dave", "dave-pw").await;
    for (id, email) in [(bob, "bob@example.com"), (carol, "carol@example.com"), (dave, "dave@example.com")] {
        server.befriend((alice, "alice@example.com"), (id, email)).await;
    }
    let mut bob_ns = online_as(&server, "bob@example.com", "bob-pw", Dialect::MSNP12).await;
    let mut carol_ns = online_as(&server, "carol@example.com", "carol-pw", Dialect::MSNP10).await;
    let mut dave_ns = online(&server, "dave@example.com", "dave-pw", Dialect::MSNP9).await;
    let mut ns = online_as(&server, "alice@example.com", "alice-pw", Dialect::MSNP11).await;
    ns.ignore(&["ILN", "NLN", "FLN", "UBX"]);
    for watcher in [&mut bob_ns, &mut carol_ns] {
        watcher.transcript("S: NLN NLN alice@example.com Alice *").await;
    }
    dave_ns.ignore(&[]);
    let _ = dave_ns.recv_until_quiet().await;

    // 7.0 sends its (empty) message after the first CHG: taken, nothing to show.
    ns.send_payload("UUX 10", EMPTY.as_bytes()).await;
    ns.transcript("S: UUX 10 0").await;
    ns.send_payload("UUX 11", LUNCH.as_bytes()).await;
    ns.transcript("S: UUX 11 0").await;
    let ubx = bob_ns.expect_payload("UBX alice@example.com 81", "out to lunch").await;
    assert_eq!(ubx, LUNCH);
    carol_ns.expect_silence(Duration::from_millis(300)).await;
    dave_ns.expect_silence(Duration::from_millis(300)).await;

    // Kept: a later MSNP11 login sees it after Alice's ILN; a status change repeats it.
    bob_ns.send("OUT").await;
    let mut bob_ns = server.login("bob@example.com", "bob-pw", Dialect::MSNP11).await;
    bob_ns
        .transcript(&format!(
            "C: CHG 9 NLN {CAPS_7}\nS: CHG 9 NLN {CAPS_7}\nS: ILN 9 NLN alice@example.com Alice {CAPS_7}\n\
         S: UBX alice@example.com 81\n| back at 2"
        ))
        .await;
    ns.transcript(&format!("C: CHG 12 AWY {CAPS_7}\nS: CHG 12 AWY {CAPS_7}")).await;
    bob_ns
        .transcript(&format!("S: NLN AWY alice@example.com Alice {CAPS_7}\nS: UBX alice@example.com 81"))
        .await;
    carol_ns.transcript("S: NLN AWY alice@example.com Alice *").await;
    carol_ns.expect_silence(Duration::from_millis(300)).await;

    // Not XML, or no <Data>: the official server hung up.
    ns.send_payload("UUX 13", b"<Data><PSM>oops</Data>").await;
    ns.transcript("S: 201 13\nS: (closed)").await;
    // MSNP10 has no UUX.
    carol_ns.ignore(&["FLN"]);
    carol_ns.send_payload("UUX 14", LUNCH.as_bytes()).await;
    carol_ns.transcript("S: 200 14").await;
}

#[tokio::test]
async fn msnp12_lists_carry_the_network_and_rosters_the_capabilities() {
    let server = TestServer::start_with(|c| c.challenges.enabled = false).await;
    let alice = server.add_user_named("alice@example.com", "Alice", "alice-pw").await;
    let bob = server.add_user_named("bob@example.com", "Bob", "bob-pw").await;
    let carol = server.add_user_named("carol@example.com", "Carol", "carol-pw").await;
    server.befriend((alice, "alice@example.com"), (bob, "bob@example.com")).await;
    server.befriend((alice, "alice@example.com"), (carol, "carol@example.com")).await;

    let mut ns = server.login("alice@example.com", "alice-pw", Dialect::MSNP12).await;
    ns.transcript(
        "C: SYN 5 0 0\nS: SYN 5 * * 2 0\nS: GTC A\nS: BLP AL\nS: PRP MFN Alice\n\
         S: LST N=bob@example.com F=bob%40example.com C={bob} 11 1\n\
         S: LST N=carol@example.com F=carol%40example.com C={carol} 11 1",
    )
    .await;
    ns.transcript(&format!("C: CHG 6 NLN {CAPS_75}\nS: CHG 6 NLN {CAPS_75}")).await;
    let mut bob_ns = online_as(&server, "bob@example.com", "bob-pw", Dialect::MSNP12).await;
    let mut carol_ns = online_as(&server, "carol@example.com", "carol-pw", Dialect::MSNP11).await;
    ns.ignore(&["NLN", "ILN", "UBX"]);
    bob_ns.ignore(&["NLN", "ILN", "UBX"]);
    carol_ns.ignore(&["NLN", "ILN", "UBX"]);

    // Alice (7.5) calls Bob (7.5): JOI and IRO end with the capabilities.
    let mut sb = open_chat(&mut ns, "alice@example.com", "Alice").await;
    sb.transcript("C: CAL 2 bob@example.com\nS: CAL 2 RINGING {session}").await;
    let mut bob_sb = answer(
        &mut bob_ns,
        "bob@example.com",
        "alice@example.com",
        "Alice",
        &[&format!("alice@example.com Alice {CAPS_75}")],
    )
    .await;
    sb.transcript(&format!("S: JOI bob@example.com Bob {CAPS_75}")).await;
    // Carol (7.0) joins: her roster has no capabilities, the 7.5 clients' JOI has hers.
    sb.transcript("C: CAL 3 carol@example.com\nS: CAL 3 RINGING *").await;
    answer(
        &mut carol_ns,
        "carol@example.com",
        "alice@example.com",
        "Alice",
        &["alice@example.com Alice", "bob@example.com Bob"],
    )
    .await;
    sb.transcript(&format!("S: JOI carol@example.com Carol {CAPS_7}")).await;
    bob_sb.transcript(&format!("S: JOI carol@example.com Carol {CAPS_7}")).await;
}
