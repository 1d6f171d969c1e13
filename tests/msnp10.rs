//! MSNP10 (MSN Messenger 6.1 and 6.2) over real TCP: the address-book login and `SYN`, the
//! list commands by GUID, and one store shared with the older dialects: lists an MSNP7
//! session made are what MSNP10 sees, and the other way round, at the next `SYN` and live.

mod common;

use common::{online, Client, TestServer};
use msnd::protocol::Dialect;

async fn start() -> TestServer {
    TestServer::start_with(|c| c.challenges.enabled = false).await
}

/// A 6.2-style capabilities number (MSNC3).
const CAPS: u32 = 0x3000_002C;

/// The MSNP10 login of MSN Messenger 6.2 through `USR OK` (without the friendly name) and
/// the profile, which says the lists are the address book's.
async fn login10(server: &TestServer, email: &str, password: &str) -> Client {
    let mut ns = server.twn_challenge(email, Dialect::MSNP10).await;
    let ticket = server.passport_login(email, password, &ns.var("challenge")).await.expect("a ticket");
    ns.send(&format!("USR 7 TWN S {ticket}")).await;
    ns.transcript(&format!("S: USR 7 OK {email} 1 0")).await;
    ns.expect_payload("MSG Hotmail Hotmail", "\r\nABCHMigrated: 1\r\n\r\n").await;
    ns.expect_payload("MSG Hotmail Hotmail", "text/x-msmsgsinitialemailnotification").await;
    ns
}

/// Logs in by MSNP10, syncs and goes online, draining presence news.
async fn online10(server: &TestServer, email: &str, password: &str) -> Client {
    let mut ns = login10(server, email, password).await;
    ns.send("SYN 8 0 0").await;
    let _ = ns.recv_until_quiet().await;
    ns.transcript(&format!("C: CHG 9 NLN {CAPS}\nS: CHG 9 NLN {CAPS}")).await;
    ns.ignore(&["ILN", "NLN", "FLN"]);
    ns
}

/// The `SYN` dump as lines, after `SYN tr 0 0`.
async fn dump(ns: &mut Client, tr: u32) -> Vec<String> {
    ns.send(&format!("SYN {tr} 0 0")).await;
    ns.recv_until_quiet().await.into_iter().map(|f| f.line).collect()
}

/// The value after `prefix` in the one `line` that starts with `starts`.
fn field(lines: &[String], starts: &str, prefix: &str) -> String {
    let line =
        lines.iter().find(|l| l.starts_with(starts)).unwrap_or_else(|| panic!("no {starts}: {lines:#?}"));
    let token = line.split(' ').find_map(|t| t.strip_prefix(prefix)).unwrap_or_else(|| panic!("{line}"));
    token.to_owned()
}

#[tokio::test]
async fn an_msnp10_login_syncs_the_lists_an_msnp7_session_made() {
    let server = start().await;
    server.add_user_named("alice@example.com", "Alice", "alice-pw").await;
    server.add_user_named("bob@example.com", "Bob", "bob-pw").await;
    server.add_user_named("carol@example.com", "Carol", "carol-pw").await;
    server.add_user_named("dave@example.com", "Dave", "dave-pw").await;
    // Alice's lists, made by MSN Messenger 4.x: a group with Bob in it, Carol in group 0.
    let mut old = online(&server, "alice@example.com", "alice-pw", Dialect::MSNP7).await;
    old.transcript(
        "C: ADG 10 Friends 0\nS: ADG 10 * Friends 1 0\n\
         C: ADD 11 FL bob@example.com Bob 1\nS: ADD 11 FL * bob@example.com Bob 1\n\
         C: ADD 12 AL bob@example.com Bob\nS: ADD 12 AL * bob@example.com Bob\n\
         C: ADD 13 FL carol@example.com Carol\nS: ADD 13 FL * carol@example.com Carol\n\
         C: ADD 14 AL carol@example.com Carol\nS: ADD 14 AL * carol@example.com Carol\n\
         C: PRP 15 PHH 555%201234\nS: PRP 15 * PHH 555%201234",
    )
    .await;
    old.send("OUT").await;
    old.expect_closed().await;
    // Bob has Alice back; Dave added her and she has not answered.
    let bob = server.store.user(&"bob@example.com".parse().unwrap()).await.unwrap().unwrap();
    server.put_on_list(bob.id, "FL", "alice@example.com").await;
    let dave = server.store.user(&"dave@example.com".parse().unwrap()).await.unwrap().unwrap();
    server.put_on_list(dave.id, "FL", "alice@example.com").await;

    let mut ns = login10(&server, "alice@example.com", "alice-pw").await;
    ns.transcript(
        "C: SYN 8 0 0\nS: SYN 8 {ts1} {ts2} 3 1\nS: GTC A\nS: BLP AL\nS: PRP MFN Alice\nS: PRP PHH 555%201234\n\
         S: LSG Friends {friends}\n\
         S: LST N=bob@example.com F=Bob C={bob} 11 {friends}\n\
         S: LST N=carol@example.com F=Carol C={carol} 3\n\
         S: LST N=dave@example.com F=Dave 16",
    )
    .await;
    let stamp = ns.var("ts1");
    assert_eq!(stamp, ns.var("ts2"));
    assert_eq!(stamp.len(), "2000-01-01T00:00:00.0000000-00:00".len(), "{stamp}");
    assert_ne!(ns.var("bob"), ns.var("carol"));
    // Nothing changed: the short answer.
    ns.transcript(&format!("C: SYN 9 {stamp} {stamp}\nS: SYN 9 {stamp} {stamp}")).await;
    ns.transcript(&format!("C: CHG 10 NLN {CAPS}\nS: CHG 10 NLN {CAPS}\nC: PNG\nS: QNG 60")).await;
}

#[tokio::test]
async fn the_list_commands_of_msnp10_by_guid() {
    let server = start().await;
    let alice = server.add_user_named("alice@example.com", "Alice", "alice-pw").await;
    let bob = server.add_user_named("bob@example.com", "Bob", "bob-pw").await;
    let carol = server.add_user_named("carol@example.com", "Carol", "carol-pw").await;
    let dave = server.add_user_named("dave@example.com", "Dave", "dave-pw").await;
    server.add_user_named("erin@example.com", "Erin", "erin-pw").await;
    server.befriend((bob, "bob@example.com"), (alice, "alice@example.com")).await;
    server.put_on_list(carol, "FL", "alice@example.com").await;
    server.put_on_list(dave, "FL", "alice@example.com").await;
    server.put_on_list(alice, "FL", "carol@example.com").await;

    let mut erin = online(&server, "erin@example.com", "erin-pw", Dialect::MSNP7).await;
    erin.transcript("C: CHG 51 BRB\nS: CHG 51 BRB").await;
    let mut carol_ns = online10(&server, "carol@example.com", "carol-pw").await;
    let mut bob_ns = online10(&server, "bob@example.com", "bob-pw").await;
    let mut ns = online10(&server, "alice@example.com", "alice-pw").await;
    let lines = dump(&mut ns, 20).await;
    let carol_guid = field(&lines, "LST N=carol", "C=");
    // From here on Alice sees presence lines, Bob sees everything.
    ns.ignore(&["NLN", "FLN"]);
    let _ = bob_ns.recv_until_quiet().await;
    bob_ns.ignore(&[]);

    // Dave is pending: allowed, then taken off the PL.
    ns.transcript(
        "C: ADC 21 AL N=dave@example.com\nS: ADC 21 AL N=dave@example.com\n\
         C: REM 22 PL dave@example.com\nS: REM 22 PL dave@example.com",
    )
    .await;
    // A new contact: its GUID, its presence with the ADC's id, the news on its side.
    ns.transcript(
        "C: ADC 23 FL N=erin@example.com F=erin@example.com\n\
         S: ADC 23 FL N=erin@example.com F=erin%40example.com C={erin}\n\
         S: ILN 23 BRB erin@example.com Erin 0",
    )
    .await;
    erin.transcript("S: ADD 0 RL * alice@example.com Alice").await;
    // Into a new group, out again (still on the FL, in no group), into it again.
    ns.transcript(
        "C: ADG 24 Family\nS: ADG 24 Family {family}\n\
         C: ADC 25 FL C={erin} {family}\nS: ADC 25 FL C={erin} {family}\n\
         C: ADC 26 FL C={erin} {family}\nS: 215 26\n\
         C: REM 27 FL {erin} {family}\nS: REM 27 FL {erin} {family}\n\
         C: REM 28 FL {erin} {family}\nS: 225 28\n\
         C: ADC 29 FL C={erin} {family}\nS: ADC 29 FL C={erin} {family}\n\
         C: REG 30 {family} Close%20Family\nS: REG 30 {family} Close%20Family",
    )
    .await;
    // My own name, seen at once by those who see me; a contact's stored name.
    ns.send("PRP 31 MFN Alice%20%3A%29").await;
    ns.transcript("S: PRP 31 MFN Alice%20%3A%29").await;
    bob_ns.transcript(&format!("S: NLN NLN alice@example.com Alice%20%3A%29 {CAPS}")).await;
    ns.transcript(&format!(
        "C: SBP 32 {carol_guid} MFN Carrie\nS: SBP 32 {carol_guid} MFN Carrie\n\
         C: SBP 33 {carol_guid} PHM tel:+15554444333 1\nS: SBP 33 {carol_guid} PHM tel:+15554444333 1"
    ))
    .await;
    // Off the FL: the other side hears it.
    ns.transcript(&format!("C: REM 34 FL {carol_guid}\nS: REM 34 FL {carol_guid}")).await;
    carol_ns.transcript("S: REM 0 RL alice@example.com").await;
    // Bob adds Carol: she sees it in her dialect.
    bob_ns.transcript("C: ADC 35 FL N=carol@example.com F=Carol\nS: ADC 35 FL N=carol@example.com F=Carol C={c}\nS: ILN 35 NLN carol@example.com Carol *").await;
    carol_ns.transcript("S: ADC 0 RL N=bob@example.com F=Bob").await;

    let lines = dump(&mut ns, 36).await;
    let family = ns.var("family");
    assert!(lines.contains(&format!("LSG Close%20Family {family}")), "{lines:#?}");
    assert!(
        lines.contains(&format!(
            "LST N=erin@example.com F=erin%40example.com C={} 1 {family}",
            ns.var("erin")
        )),
        "{lines:#?}"
    );
    assert!(lines.contains(&"LST N=dave@example.com F=dave%40example.com 10".to_owned()), "{lines:#?}");
    assert!(lines.contains(&"PRP MFN Alice%20%3A%29".to_owned()), "{lines:#?}");
    // Carol still has me on her FL, and I have not decided about her.
    assert!(lines.contains(&"LST N=carol@example.com F=Carrie 16".to_owned()), "{lines:#?}");

    // Groups go; their members stay on the FL.
    ns.transcript(&format!("C: RMG 37 {family}\nS: RMG 37 {family}\nC: RMG 38 {family}\nS: 224 38")).await;
    let lines = dump(&mut ns, 39).await;
    assert!(
        lines.contains(&format!("LST N=erin@example.com F=erin%40example.com C={} 1", ns.var("erin"))),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn msnp10_refuses_what_it_replaced() {
    let server = start().await;
    server.add_user_named("alice@example.com", "Alice", "alice-pw").await;
    server.add_user_named("bob@example.com", "Bob", "bob-pw").await;
    let mut ns = online10(&server, "alice@example.com", "alice-pw").await;
    ns.transcript(
        "C: ADC 20 FL N=nobody@example.com F=x\nS: 208 20\n\
         C: ADC 21 FL N=not-an-address F=x\nS: 201 21\n\
         C: ADC 22 FL N=bob@example.com F=Bob\nS: ADC 22 FL N=bob@example.com F=Bob C={bob}\n\
         C: ADC 23 FL N=bob@example.com F=Bob\nS: 215 23\n\
         C: ADC 24 FL C=0d9e8f7a-6b5c-4d3e-8f1a-2b3c4d5e6f70 5b1e0c9a-7d2f-4e63-9a8b-3c4d5e6f7081\nS: 216 24\n\
         C: ADC 25 FL C={bob} 5b1e0c9a-7d2f-4e63-9a8b-3c4d5e6f7081\nS: 224 25\n\
         C: REM 26 FL 0d9e8f7a-6b5c-4d3e-8f1a-2b3c4d5e6f70\nS: 216 26\n\
         C: RMG 27 5b1e0c9a-7d2f-4e63-9a8b-3c4d5e6f7081\nS: 224 27\n\
         C: REA 28 bob@example.com Robert\nS: 502 28\n\
         C: GTC 29 N\nS: GTC 29 N\n\
         C: BLP 30 BL\nS: BLP 30 BL\n\
         C: PRP 31 PHH 555\nS: PRP 31 PHH 555",
    )
    .await;
    // No one is pending: accepting one hangs up, as ADD does now.
    ns.transcript("C: ADC 32 RL N=bob@example.com\nS: 201 32\nS: (closed)").await;
    let mut ns = online10(&server, "alice@example.com", "alice-pw").await;
    ns.transcript("C: ADD 33 FL carol@example.com carol\nS: (closed)").await;
    let mut ns = online10(&server, "alice@example.com", "alice-pw").await;
    ns.transcript("C: RMG 34 1\nS: 201 34\nS: (closed)").await;
    // MSNP9 has no PRP MFN.
    let mut nine = online(&server, "bob@example.com", "bob-pw", Dialect::MSNP9).await;
    nine.transcript("C: PRP 35 MFN Bobby\nS: 715 35").await;
}

#[tokio::test]
async fn msnp7_and_msnp10_sessions_of_one_account_share_lists_and_groups() {
    let server = start().await;
    server.add_user_named("alice@example.com", "Alice", "alice-pw").await;
    server.add_user_named("bob@example.com", "Bob", "bob-pw").await;
    server.add_user_named("carol@example.com", "Carol", "carol-pw").await;

    // MSNP10: a group, Bob in it, Carol in none.
    let mut ten = online10(&server, "alice@example.com", "alice-pw").await;
    ten.transcript(
        "C: ADG 20 Work\nS: ADG 20 Work {work}\n\
         C: ADC 21 FL N=bob@example.com F=Bob\nS: ADC 21 FL N=bob@example.com F=Bob C={bob}\n\
         C: ADC 22 FL C={bob} {work}\nS: ADC 22 FL C={bob} {work}\n\
         C: ADC 23 FL N=carol@example.com F=Carol\nS: ADC 23 FL N=carol@example.com F=Carol C={carol}",
    )
    .await;
    let (work, bob, carol) = (ten.var("work"), ten.var("bob"), ten.var("carol"));
    ten.send("OUT").await;
    ten.expect_closed().await;

    // MSNP7 sees group 1 with Bob, Carol in group 0; moves Carol into Work and renames it.
    let mut seven = server.login("alice@example.com", "alice-pw", Dialect::MSNP7).await;
    seven.send("SYN 30 0").await;
    let lines: Vec<String> = seven.recv_until_quiet().await.into_iter().map(|f| f.line).collect();
    assert!(
        lines.iter().any(|l| l.starts_with("LSG 30 ") && l.ends_with(" 1 2 0 Other%20Contacts 0")),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|l| l.starts_with("LSG 30 ") && l.ends_with(" 2 2 1 Work 0")), "{lines:#?}");
    assert!(
        lines.iter().any(|l| l.starts_with("LST 30 FL ") && l.ends_with(" bob@example.com Bob 1")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("LST 30 FL ") && l.ends_with(" carol@example.com Carol 0")),
        "{lines:#?}"
    );
    seven
        .transcript(
            "C: ADD 31 FL carol@example.com Carol 1\nS: ADD 31 FL * carol@example.com Carol 1\n\
         C: REM 32 FL carol@example.com 0\nS: REM 32 FL * carol@example.com 0\n\
         C: REG 33 1 Office 0\nS: REG 33 * 1 Office 0\n\
         C: REM 34 FL bob@example.com 1\nS: REM 34 FL * bob@example.com 1\n\
         C: OUT\nS: (closed)",
        )
        .await;

    // MSNP10 again: the same GUIDs, the changes made by MSNP7.
    let mut ten = login10(&server, "alice@example.com", "alice-pw").await;
    let lines = dump(&mut ten, 40).await;
    assert!(lines.contains(&format!("LSG Office {work}")), "{lines:#?}");
    assert!(lines.contains(&format!("LST N=carol@example.com F=Carol C={carol} 1 {work}")), "{lines:#?}");
    assert!(lines.contains(&format!("LST N=bob@example.com F=Bob C={bob} 1")), "{lines:#?}");
    assert!(!lines.iter().any(|l| l.contains("Other%20Contacts")), "{lines:#?}");
}

#[tokio::test]
async fn list_news_crosses_dialects_live() {
    let server = start().await;
    server.add_user_named("alice@example.com", "Alice", "alice-pw").await;
    server.add_user_named("bob@example.com", "Bob", "bob-pw").await;
    let mut alice = online10(&server, "alice@example.com", "alice-pw").await;
    alice.ignore(&["NLN", "FLN"]);
    let mut bob = online(&server, "bob@example.com", "bob-pw", Dialect::MSNP7).await;
    // MSNP7 adds MSNP10: `ADC 0 RL`, and at the next SYN Bob is pending.
    bob.transcript("C: ADD 20 FL alice@example.com Alice\nS: ADD 20 FL * alice@example.com Alice").await;
    alice.transcript("S: ADC 0 RL N=bob@example.com F=Bob").await;
    let lines = dump(&mut alice, 21).await;
    assert!(lines.contains(&"LST N=bob@example.com F=Bob 16".to_owned()), "{lines:#?}");
    // MSNP10 adds MSNP7 back and then removes him: `ADD 0 RL` then `REM 0 RL`, with versions.
    alice.transcript(
        "C: ADC 22 FL N=bob@example.com F=Bob\nS: ADC 22 FL N=bob@example.com F=Bob C={bob}\nS: ILN 22 NLN bob@example.com Bob 0",
    )
    .await;
    bob.transcript("S: ADD 0 RL {v1} alice@example.com Alice").await;
    alice.transcript(&format!("C: REM 23 FL {}\nS: REM 23 FL {}", alice.var("bob"), alice.var("bob"))).await;
    bob.transcript("S: REM 0 RL {v2} alice@example.com").await;
    assert!(bob.var("v2").parse::<u32>().unwrap() > bob.var("v1").parse::<u32>().unwrap());
}
