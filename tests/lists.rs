//! Contact lists, groups, SYN in every generation, list versions and persistence, over
//! real TCP.

mod common;

use common::{Client, TestServer};
use msnd::protocol::lists::Property;
use msnd::protocol::Dialect;

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";

/// Alice and Bob are mutual contacts with phone numbers; Alice has a group "Friends".
async fn friends_with_phones() -> TestServer {
    let server = TestServer::start_with(|c| c.challenges.enabled = false).await;
    let a = server.add_user_named(ALICE, "Alice", "pa").await;
    let b = server.add_user_named(BOB, "Bob", "pb").await;
    server.befriend((a, ALICE), (b, BOB)).await;
    server.store.set_property(a, Property::Phh, Some("123 (4567)")).await.unwrap();
    server.store.set_property(b, Property::Phh, Some("1 (222) 333 4444")).await.unwrap();
    server.store.add_group(a, "Friends").await.unwrap();
    server
}

/// Logs Alice in and returns her client and list version (from a `SYN` with a stale one).
async fn alice_syn(server: &TestServer, dialect: Dialect, expected: &str) -> Client {
    let mut alice = server.login(ALICE, "pa", dialect).await;
    alice.transcript(expected).await;
    alice
}

#[tokio::test]
async fn msnp3_syn_has_lists_only() {
    let server = friends_with_phones().await;
    alice_syn(
        &server,
        Dialect::MSNP3,
        "C: SYN 1 0
         S: SYN 1 {v}
         S: GTC 1 {v} A
         S: BLP 1 {v} AL
         S: LST 1 FL {v} 1 1 bob@example.com bob%40example.com
         S: LST 1 AL {v} 1 1 bob@example.com bob%40example.com
         S: LST 1 BL {v} 0 0
         S: LST 1 RL {v} 1 1 bob@example.com bob%40example.com
         C: PNG
         S: QNG",
    )
    .await;
}

#[tokio::test]
async fn msnp6_syn_adds_phone_properties() {
    let server = friends_with_phones().await;
    alice_syn(
        &server,
        Dialect::MSNP6,
        "C: SYN 1 0
         S: SYN 1 {v}
         S: GTC 1 {v} A
         S: BLP 1 {v} AL
         S: PRP 1 {v} PHH 123%20%284567%29
         S: PRP 1 {v} PHW
         S: PRP 1 {v} PHM
         S: PRP 1 {v} MOB N
         S: PRP 1 {v} MBE N
         S: LST 1 FL {v} 1 1 bob@example.com bob%40example.com
         S: BPR {v} bob@example.com PHH 1%20%28222%29%20333%204444
         S: BPR {v} bob@example.com PHW
         S: BPR {v} bob@example.com PHM
         S: BPR {v} bob@example.com MOB N
         S: LST 1 AL {v} 1 1 bob@example.com bob%40example.com
         S: LST 1 BL {v} 0 0
         S: LST 1 RL {v} 1 1 bob@example.com bob%40example.com
         C: PNG
         S: QNG",
    )
    .await;
}

#[tokio::test]
async fn msnp7_syn_adds_groups() {
    let server = friends_with_phones().await;
    alice_syn(
        &server,
        Dialect::MSNP7,
        "C: SYN 1 0
         S: SYN 1 {v}
         S: GTC 1 {v} A
         S: BLP 1 {v} AL
         S: PRP 1 {v} PHH 123%20%284567%29
         S: PRP 1 {v} PHW
         S: PRP 1 {v} PHM
         S: PRP 1 {v} MOB N
         S: PRP 1 {v} MBE N
         S: LSG 1 {v} 1 2 0 Other%20Contacts 0
         S: LSG 1 {v} 2 2 1 Friends 0
         S: LST 1 FL {v} 1 1 bob@example.com bob%40example.com 0
         S: BPR {v} bob@example.com PHH 1%20%28222%29%20333%204444
         S: BPR {v} bob@example.com PHW
         S: BPR {v} bob@example.com PHM
         S: BPR {v} bob@example.com MOB N
         S: LST 1 AL {v} 1 1 bob@example.com bob%40example.com
         S: LST 1 BL {v} 0 0
         S: LST 1 RL {v} 1 1 bob@example.com bob%40example.com
         C: SYN 2 {v}
         S: SYN 2 {v}
         C: PNG
         S: QNG",
    )
    .await;
}

#[tokio::test]
async fn phone_numbers_are_shown_only_to_the_allow_list() {
    let server = friends_with_phones().await;
    let carol = server.add_user_named("carol@example.com", "Carol", "pc").await;
    server.put_on_list(carol, "FL", ALICE).await;
    let mut carol = server.login("carol@example.com", "pc", Dialect::MSNP5).await;
    carol
        .transcript(
            "C: SYN 1 0
             S: SYN 1 {v}
             S: GTC 1 {v} A
             S: BLP 1 {v} AL
             S: PRP 1 {v} PHH
             S: PRP 1 {v} PHW
             S: PRP 1 {v} PHM
             S: PRP 1 {v} MOB N
             S: PRP 1 {v} MBE N
             S: LST 1 FL {v} 1 1 alice@example.com alice%40example.com
             S: BPR {v} alice@example.com PHH
             S: BPR {v} alice@example.com PHW
             S: BPR {v} alice@example.com PHM
             S: BPR {v} alice@example.com MOB N
             S: LST 1 AL {v} 0 0
             S: LST 1 BL {v} 0 0
             S: LST 1 RL {v} 0 0",
        )
        .await;
    // Bob (on Alice's AL, watching her) gets her new number, with his new list version.
    let mut bob = server.login(BOB, "pb", Dialect::MSNP7).await;
    bob.transcript("C: SYN 1 0\nS: SYN 1 {v} ...").await;
    bob.recv_until_quiet().await;
    let mut alice = server.login(ALICE, "pa", Dialect::MSNP6).await;
    alice.transcript("C: PRP 3 PHW 555%201234\nS: PRP 3 * PHW 555%201234").await;
    let bob_version: u32 = bob.var("v").parse().unwrap();
    loop {
        let frame = bob.recv().await;
        if frame.line.starts_with("BPR") {
            assert_eq!(frame.line, format!("BPR {} alice@example.com PHW 555%201234", bob_version + 1));
            break;
        }
    }
    carol.transcript("C: PNG\nS: QNG").await;
    alice
        .transcript(
            "C: PRP 4 PHW\nS: PRP 4 * PHW\nC: PRP 5 MBE Y\nS: 715 5\nC: PRP 6 MOB X\nS: 201 6\nS: (closed)",
        )
        .await;
}

#[tokio::test]
async fn list_changes_and_their_errors() {
    let server = TestServer::start_with(|c| {
        c.challenges.enabled = false;
        c.limits.max_list_entries = 2;
    })
    .await;
    server.add_user_named(ALICE, "Alice", "pa").await;
    for who in ["bob", "carol", "dave"] {
        server.add_user(&format!("{who}@example.com"), "x").await;
    }
    let mut alice = server.login(ALICE, "pa", Dialect::MSNP6).await;
    alice.transcript("C: SYN 1 0\nS: SYN 1 {v0}").await;
    alice.recv_until_quiet().await;
    alice
        .transcript(
            "C: ADD 2 FL bob@example.com %62%6F%62
             S: ADD 2 FL {v1} bob@example.com bob
             C: ADD 3 AL bob@example.com bob
             S: ADD 3 AL {v2} bob@example.com bob
             C: ADD 4 FL bob@example.com bob
             S: 215 4
             C: ADD 5 BL bob@example.com bob
             S: 219 5
             C: ADD 6 FL nobody@example.com nobody
             S: 205 6
             C: ADD 7 FL not-an-address nobody
             S: 201 7
             C: ADD 8 FL carol@example.com carol
             S: ADD 8 FL * carol@example.com carol
             C: ADD 9 FL dave@example.com dave
             S: 210 9
             C: REM 10 BL bob@example.com
             S: 216 10
             C: REM 11 FL carol@example.com
             S: REM 11 FL * carol@example.com
             C: GTC 12 N
             S: GTC 12 * N
             C: GTC 13 N
             S: 218 13
             C: ADD 14 FL dave@example.com dave 0
             S: 200 14
             C: ADG 15 Friends 0
             S: 200 15",
        )
        .await;
    let v: Vec<u32> = ["v0", "v1", "v2"].iter().map(|k| alice.var(k).parse().unwrap()).collect();
    assert!(v[0] < v[1] && v[1] < v[2], "versions increase: {v:?}");
    alice.transcript("C: ADD 16 RL bob@example.com bob\nS: 201 16\nS: (closed)").await;
}

#[tokio::test]
async fn groups_round_trip_in_msnp7() {
    let server = TestServer::start_with(|c| c.challenges.enabled = false).await;
    server.add_user_named(ALICE, "Alice", "pa").await;
    server.add_user_named(BOB, "Bob", "pb").await;
    let mut alice = server.login(ALICE, "pa", Dialect::MSNP7).await;
    alice
        .transcript(
            "C: ADG 10 New%20Group%201 0
             S: ADG 10 * New%20Group%201 1 0
             C: REG 11 1 Cool%20People 0
             S: REG 11 * 1 Cool%20People 0
             C: ADD 12 FL bob@example.com Bob 1
             S: ADD 12 FL * bob@example.com Bob 1
             C: ADD 13 FL bob@example.com Bob 0
             S: ADD 13 FL * bob@example.com Bob 0
             C: ADD 14 FL bob@example.com Bob 0
             S: 215 14
             C: ADD 140 AL bob@example.com bob%40example.com
             S: ADD 140 AL * bob@example.com bob%40example.com
             C: ADD 15 FL bob@example.com Bob 7
             S: 224 15
             C: LST 16 FL
             S: LST 16 FL * 1 1 bob@example.com Bob 0,1
             C: REM 160 FL bob@example.com 0
             S: REM 160 FL * bob@example.com 0
             C: ADD 161 FL bob@example.com Bob
             S: ADD 161 FL * bob@example.com Bob
             C: LST 162 FL
             S: LST 162 FL * 1 1 bob@example.com Bob 0,1
             C: REM 17 FL bob@example.com 1
             S: REM 17 FL * bob@example.com 1
             C: REM 18 FL bob@example.com 1
             S: 225 18
             C: ADD 19 FL bob@example.com Bob 1
             S: ADD 19 FL * bob@example.com Bob 1
             C: RMG 20 1
             S: RMG 20 * 1
             C: LST 21 FL
             S: LST 21 FL * 1 1 bob@example.com Bob 0
             C: RMG 22 0
             S: 230 22
             C: RMG 23 5
             S: 224 23
             C: REG 24 0 Everyone 0
             S: REG 24 * 0 Everyone 0
             C: LSG 25
             S: LSG 25 * 1 1 0 Everyone 0",
        )
        .await;
    alice.transcript(&format!("C: ADG 26 {} 0\nS: 229 26", "x".repeat(62))).await;
    for n in 1..30 {
        alice.transcript(&format!("C: ADG {n} g{n} 0\nS: ADG {n} * g{n} {n} 0")).await;
    }
    alice.transcript("C: ADG 30 one-too-many 0\nS: 223 30\nC: RMG 31 30\nS: 201 31\nS: (closed)").await;
}

#[tokio::test]
async fn lists_groups_names_and_versions_survive_a_restart() {
    let mut server = TestServer::start_with(|c| c.challenges.enabled = false).await;
    server.add_user_named(ALICE, "Alice", "pa").await;
    server.add_user_named(BOB, "Bob", "pb").await;
    let mut alice = server.login(ALICE, "pa", Dialect::MSNP7).await;
    alice
        .transcript(&format!(
            "C: ADG 1 Work 0
             S: ADG 1 * Work 1 0
             C: ADD 2 FL {BOB} Bobby 1
             S: ADD 2 FL * {BOB} Bobby 1
             C: BLP 3 BL
             S: BLP 3 * BL
             C: REA 4 {ALICE} Alice%20L.
             S: REA 4 {{v}} {ALICE} Alice%20L."
        ))
        .await;
    let version = alice.var("v");
    drop(alice);
    server.restart().await;

    let mut alice = server.login(ALICE, "pa", Dialect::MSNP7).await;
    alice.transcript(&format!("C: SYN 5 {version}\nS: SYN 5 {version}")).await;
    let mut alice = server.login(ALICE, "pa", Dialect::MSNP7).await;
    alice
        .transcript(&format!(
            "C: SYN 5 0
             S: SYN 5 {version}
             S: GTC 5 {version} A
             S: BLP 5 {version} BL
             S: PRP 5 {version} PHH
             S: PRP 5 {version} PHW
             S: PRP 5 {version} PHM
             S: PRP 5 {version} MOB N
             S: PRP 5 {version} MBE N
             S: LSG 5 {version} 1 2 0 Other%20Contacts 0
             S: LSG 5 {version} 2 2 1 Work 0
             S: LST 5 FL {version} 1 1 {BOB} Bobby 1
             S: BPR {version} {BOB} PHH
             S: BPR {version} {BOB} PHW
             S: BPR {version} {BOB} PHM
             S: BPR {version} {BOB} MOB N
             S: LST 5 AL {version} 0 0
             S: LST 5 BL {version} 0 0
             S: LST 5 RL {version} 0 0"
        ))
        .await;
    // The friendly name persisted too; Bob, who was offline, has Alice on his RL.
    let mut bob = server.login(BOB, "pb", Dialect::MSNP3).await;
    bob.transcript(&format!(
        "C: SYN 1 0
         S: SYN 1 {{bv}}
         S: GTC 1 {{bv}} A
         S: BLP 1 {{bv}} AL
         S: LST 1 FL {{bv}} 0 0
         S: LST 1 AL {{bv}} 0 0
         S: LST 1 BL {{bv}} 0 0
         S: LST 1 RL {{bv}} 1 1 {ALICE} Alice"
    ))
    .await;
    let mut ns = server.notification().await;
    ns.transcript(&format!(
        "C: VER 1 MSNP7\nS: VER 1 MSNP7\nC: USR 2 MD5 I {ALICE}\nS: USR 2 MD5 S {{salt}}"
    ))
    .await;
    let response = msnd::credentials::md5_hex(&[ns.var("salt").as_bytes(), b"pa"]);
    ns.transcript(&format!("C: USR 3 MD5 S {response}\nS: USR 3 OK {ALICE} Alice%20L. 1")).await;
}

#[tokio::test]
async fn someone_adding_you_while_you_are_online() {
    let server = TestServer::start_with(|c| c.challenges.enabled = false).await;
    server.add_user_named(ALICE, "Alice", "pa").await;
    server.add_user_named(BOB, "Bob", "pb").await;
    let mut bob = server.login(BOB, "pb", Dialect::MSNP7).await;
    bob.transcript("C: SYN 1 0\nS: SYN 1 {v} ...").await;
    bob.recv_until_quiet().await;
    let mut alice = server.login(ALICE, "pa", Dialect::MSNP2).await;
    alice.transcript(&format!("C: ADD 1 FL {BOB} Bob\nS: ADD 1 FL * {BOB} Bob")).await;
    bob.transcript(&format!(
        "S: ADD 0 RL {{rv}} {ALICE} Alice
         C: ADD 20 AL {ALICE} Alice
         S: ADD 20 AL * {ALICE} Alice
         C: ADD 21 FL {ALICE} Alice 0
         S: ADD 21 FL * {ALICE} Alice 0"
    ))
    .await;
    let first: u32 = bob.var("v").parse().unwrap();
    let added: u32 = bob.var("rv").parse().unwrap();
    assert!(added > first);
}

/// The lists read at login serve the first `SYN`, unless something happened meanwhile.
#[tokio::test]
async fn news_between_login_and_syn_reaches_the_syn() {
    let server = TestServer::start_with(|c| c.challenges.enabled = false).await;
    server.add_user_named(ALICE, "Alice", "pa").await;
    server.add_user_named(BOB, "Bob", "pb").await;
    let mut bob = server.login(BOB, "pb", Dialect::MSNP7).await;
    let mut alice = server.login(ALICE, "pa", Dialect::MSNP2).await;
    alice.transcript(&format!("C: ADD 1 FL {BOB} Bob\nS: ADD 1 FL * {BOB} Bob")).await;
    bob.transcript(&format!(
        "S: ADD 0 RL {{rv}} {ALICE} Alice
         C: SYN 1 0
         S: SYN 1 {{rv}}"
    ))
    .await;
    let rl = format!("LST 1 RL {} 1 1 {ALICE} Alice", bob.var("rv"));
    assert!(bob.recv_until_quiet().await.iter().any(|f| f.line == rl), "the SYN shows Alice on the RL");
}

#[tokio::test]
async fn msnp8_syn_is_compact() {
    let server = friends_with_phones().await;
    let carol = server.add_user_named("carol@example.com", "Carol", "pc").await;
    server.put_on_list(carol, "FL", ALICE).await;
    alice_syn(
        &server,
        Dialect::MSNP8,
        "C: SYN 1 0
         S: SYN 1 {v} 2 2
         S: GTC A
         S: BLP AL
         S: PRP PHH 123%20%284567%29
         S: LSG 0 Other%20Contacts 0
         S: LSG 1 Friends 0
         S: LST bob@example.com bob%40example.com 11 0
         S: BPR PHH 1%20%28222%29%20333%204444
         S: LST carol@example.com Carol 8
         C: SYN 2 {v}
         S: SYN 2 {v}
         C: PNG
         S: QNG",
    )
    .await;
}

#[tokio::test]
async fn groups_round_trip_in_msnp8() {
    let server = TestServer::start_with(|c| c.challenges.enabled = false).await;
    server.add_user_named(ALICE, "Alice", "pa").await;
    server.add_user_named(BOB, "Bob", "pb").await;
    let mut alice = server.login(ALICE, "pa", Dialect::MSNP8).await;
    alice
        .transcript(
            "C: ADG 10 Coworkers 0
             S: ADG 10 * Coworkers 1 0
             C: ADD 11 FL bob@example.com Bob 1
             S: ADD 11 FL * bob@example.com Bob 1
             C: ADD 12 AL bob@example.com Bob
             S: ADD 12 AL * bob@example.com Bob
             C: REG 13 1 Work 0
             S: REG 13 * 1 Work 0
             C: SYN 14 0
             S: SYN 14 {v} 1 2
             S: GTC A
             S: BLP AL
             S: LSG 0 Other%20Contacts 0
             S: LSG 1 Work 0
             S: LST bob@example.com Bob 3 1
             C: RMG 15 1
             S: RMG 15 * 1
             C: SYN 16 0
             S: SYN 16 * 1 1
             S: GTC A
             S: BLP AL
             S: LSG 0 Other%20Contacts 0
             S: LST bob@example.com Bob 3 0",
        )
        .await;
}

#[tokio::test]
async fn being_allowed_by_a_contact_refreshes_your_cached_lists() {
    let server = friends_with_phones().await;
    let carol = server.add_user_named("carol@example.com", "Carol", "pc").await;
    server.put_on_list(carol, "FL", ALICE).await;
    let mut carol = server.login("carol@example.com", "pc", Dialect::MSNP6).await;
    carol.transcript("C: SYN 1 0\nS: SYN 1 {v} ...").await;
    carol.recv_until_quiet().await;
    let mut alice = server.login(ALICE, "pa", Dialect::MSNP7).await;
    alice.transcript("C: ADD 1 AL carol@example.com Carol\nS: ADD 1 AL * carol@example.com Carol").await;
    // Carol's cached version is stale now: Alice's phone number became visible to her.
    let cached = carol.var("v");
    carol.transcript(&format!("C: SYN 2 {cached}\nS: SYN 2 {{v2}}")).await;
    assert_ne!(carol.var("v2"), cached);
    let rest = carol.recv_until_quiet().await;
    assert!(rest.iter().any(|f| f.line == format!("BPR {} {ALICE} PHH 123%20%284567%29", carol.var("v2"))));
}
