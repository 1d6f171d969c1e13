//! Presence and privacy between clients of different versions, challenges, and the
//! remaining notification-server commands, over real TCP.

mod common;

use std::time::Duration;

use common::TestServer;
use msnd::credentials::md5_hex;
use msnd::protocol::Dialect;

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
const CAROL: &str = "carol@example.com";
const QUIET: Duration = Duration::from_millis(300);

/// Alice and Bob are mutual contacts; Carol has Alice on her FL but is on no list of hers.
async fn three_users() -> TestServer {
    let server = TestServer::start_with(|c| c.challenges.enabled = false).await;
    let a = server.add_user_named(ALICE, "Alice", "pa").await;
    let b = server.add_user_named(BOB, "Bob", "pb").await;
    let c = server.add_user_named(CAROL, "Carol", "pc").await;
    server.befriend((a, ALICE), (b, BOB)).await;
    server.put_on_list(c, "FL", ALICE).await;
    server
}

#[tokio::test]
async fn mutual_contacts_see_each_other_in_their_own_dialect() {
    let server = three_users().await;
    let mut alice = server.login(ALICE, "pa", Dialect::MSNP7).await;
    alice.transcript("C: CHG 9 NLN\nS: CHG 9 NLN").await;

    let mut bob = server.login(BOB, "pb", Dialect::MSNP2).await;
    bob.transcript(&format!("C: CHG 9 BSY\nS: CHG 9 BSY\nS: ILN 9 NLN {ALICE} Alice")).await;
    alice.transcript(&format!("S: NLN BSY {BOB} Bob")).await;

    bob.transcript("C: CHG 10 AWY\nS: CHG 10 AWY").await;
    alice.transcript(&format!("S: NLN AWY {BOB} Bob")).await;
    alice.transcript("C: CHG 10 LUN\nS: CHG 10 LUN").await;
    bob.transcript(&format!("S: NLN LUN {ALICE} Alice")).await;

    // A clean OUT, then a connection that just drops: FLN both times.
    bob.transcript("C: OUT\nS: (closed)").await;
    alice.transcript(&format!("S: FLN {BOB}")).await;
    let mut bob = server.login(BOB, "pb", Dialect::MSNP4).await;
    bob.transcript("C: CHG 3 NLN\nS: CHG 3 NLN\nS: ILN 3 LUN alice@example.com Alice").await;
    alice.transcript(&format!("S: NLN NLN {BOB} Bob")).await;
    drop(bob);
    alice.transcript(&format!("S: FLN {BOB}")).await;
}

#[tokio::test]
async fn a_replaced_login_does_not_flash_offline() {
    let server = three_users().await;
    let mut alice = server.login(ALICE, "pa", Dialect::MSNP7).await;
    alice.transcript("C: CHG 1 NLN\nS: CHG 1 NLN").await;
    let mut bob = server.login(BOB, "pb", Dialect::MSNP6).await;
    bob.transcript(&format!("C: CHG 1 NLN\nS: CHG 1 NLN\nS: ILN 1 NLN {ALICE} Alice")).await;
    alice.transcript(&format!("S: NLN NLN {BOB} Bob")).await;
    let mut bob_again = server.login(BOB, "pb", Dialect::MSNP7).await;
    bob.transcript("S: OUT OTH\nS: (closed)").await;
    bob_again.transcript(&format!("C: CHG 2 BRB\nS: CHG 2 BRB\nS: ILN 2 NLN {ALICE} Alice")).await;
    alice.transcript(&format!("S: NLN BRB {BOB} Bob")).await;
}

#[tokio::test]
async fn hidden_users_look_offline_but_still_watch() {
    let server = three_users().await;
    let mut alice = server.login(ALICE, "pa", Dialect::MSNP5).await;
    alice.transcript("C: CHG 1 NLN\nS: CHG 1 NLN").await;
    let mut bob = server.login(BOB, "pb", Dialect::MSNP7).await;
    // Hidden from the start: Alice hears nothing, but Bob gets her ILN.
    bob.transcript(&format!("C: CHG 1 HDN\nS: CHG 1 HDN\nS: ILN 1 NLN {ALICE} Alice")).await;
    alice.expect_silence(QUIET).await;
    alice.transcript("C: CHG 2 BRB\nS: CHG 2 BRB").await;
    bob.transcript(&format!("S: NLN BRB {ALICE} Alice")).await;
    bob.transcript("C: CHG 2 NLN\nS: CHG 2 NLN").await;
    alice.transcript(&format!("S: NLN NLN {BOB} Bob")).await;
    bob.transcript("C: CHG 3 HDN\nS: CHG 3 HDN").await;
    alice.transcript(&format!("S: FLN {BOB}")).await;
    // MSNP2–7 treat CHG FLN as hidden; going offline that way is silent to Alice again.
    bob.transcript("C: CHG 4 FLN\nS: CHG 4 FLN").await;
    alice.expect_silence(QUIET).await;
}

#[tokio::test]
async fn a_blocked_user_sees_nothing() {
    let server = three_users().await;
    let mut bob = server.login(BOB, "pb", Dialect::MSNP3).await;
    bob.transcript("C: CHG 1 NLN\nS: CHG 1 NLN").await;
    let mut alice = server.login(ALICE, "pa", Dialect::MSNP7).await;
    alice.transcript(&format!("C: CHG 1 NLN\nS: CHG 1 NLN\nS: ILN 1 NLN {BOB} Bob")).await;
    bob.transcript(&format!("S: NLN NLN {ALICE} Alice")).await;

    alice.transcript(&format!("C: ADD 2 BL {BOB} Bob\nS: 219 2")).await;
    alice.transcript(&format!("C: REM 3 AL {BOB}\nS: REM 3 AL * {BOB}")).await;
    alice.transcript(&format!("C: ADD 4 BL {BOB} Bob\nS: ADD 4 BL * {BOB} Bob")).await;
    bob.transcript(&format!("S: FLN {ALICE}")).await;
    alice.transcript("C: CHG 5 AWY\nS: CHG 5 AWY").await;
    bob.expect_silence(QUIET).await;

    // Blocking is one-way: Alice still sees Bob.
    bob.transcript("C: CHG 2 BSY\nS: CHG 2 BSY").await;
    alice.transcript(&format!("S: NLN BSY {BOB} Bob")).await;

    // A blocked user logging in gets no ILN for the blocker.
    drop(bob);
    alice.transcript(&format!("S: FLN {BOB}")).await;
    let mut bob = server.login(BOB, "pb", Dialect::MSNP7).await;
    bob.transcript("C: CHG 1 NLN\nS: CHG 1 NLN").await;
    bob.expect_silence(QUIET).await;
    alice.transcript(&format!("S: NLN NLN {BOB} Bob")).await;

    // Unblocking shows Alice again at once.
    alice.transcript(&format!("C: REM 6 BL {BOB}\nS: REM 6 BL * {BOB}")).await;
    bob.transcript(&format!("S: NLN AWY {ALICE} Alice")).await;
}

#[tokio::test]
async fn blp_bl_shows_you_only_to_your_allow_list() {
    let server = three_users().await;
    let mut alice = server.login(ALICE, "pa", Dialect::MSNP6).await;
    alice.transcript("C: CHG 1 NLN\nS: CHG 1 NLN").await;
    let mut carol = server.login(CAROL, "pc", Dialect::MSNP7).await;
    carol.transcript(&format!("C: CHG 1 NLN\nS: CHG 1 NLN\nS: ILN 1 NLN {ALICE} Alice")).await;
    let mut bob = server.login(BOB, "pb", Dialect::MSNP2).await;
    bob.transcript(&format!("C: CHG 1 NLN\nS: CHG 1 NLN\nS: ILN 1 NLN {ALICE} Alice")).await;
    alice.transcript(&format!("S: NLN NLN {BOB} Bob")).await;

    alice.transcript("C: BLP 2 BL\nS: BLP 2 * BL\nC: BLP 3 BL\nS: 218 3").await;
    carol.transcript(&format!("S: FLN {ALICE}")).await;
    alice.transcript("C: CHG 4 BRB\nS: CHG 4 BRB").await;
    bob.transcript(&format!("S: NLN BRB {ALICE} Alice")).await;
    carol.expect_silence(QUIET).await;

    alice.transcript("C: BLP 5 AL\nS: BLP 5 * AL").await;
    carol.transcript(&format!("S: NLN BRB {ALICE} Alice")).await;
}

#[tokio::test]
async fn adding_an_online_contact_shows_their_status_with_the_add_trid() {
    let server = three_users().await;
    let d = server.add_user_named("dave@example.com", "Dave", "pd").await;
    let _ = d;
    let mut dave = server.login("dave@example.com", "pd", Dialect::MSNP7).await;
    dave.transcript("C: CHG 1 PHN\nS: CHG 1 PHN").await;
    let mut bob = server.login(BOB, "pb", Dialect::MSNP4).await;
    bob.transcript("C: CHG 1 NLN\nS: CHG 1 NLN").await;
    bob.transcript(
        "C: ADD 2 FL dave@example.com Dave
         S: ADD 2 FL * dave@example.com Dave
         S: ILN 2 PHN dave@example.com Dave",
    )
    .await;
    dave.transcript(&format!("S: ADD 0 RL * {BOB} Bob")).await;
    // Dave has not allowed Bob explicitly, but BLP AL lets everyone unblocked see him.
    dave.transcript("C: CHG 2 NLN\nS: CHG 2 NLN").await;
    bob.transcript("S: NLN NLN dave@example.com Dave").await;
    bob.transcript("C: REM 3 FL dave@example.com\nS: REM 3 FL * dave@example.com").await;
    dave.transcript(&format!("S: REM 0 RL * {BOB}")).await;
    dave.transcript("C: CHG 3 BSY\nS: CHG 3 BSY").await;
    bob.expect_silence(QUIET).await;
}

#[tokio::test]
async fn renaming_yourself_is_seen_by_watchers() {
    let server = three_users().await;
    let mut bob = server.login(BOB, "pb", Dialect::MSNP2).await;
    bob.transcript("C: CHG 1 NLN\nS: CHG 1 NLN").await;
    let mut alice = server.login(ALICE, "pa", Dialect::MSNP7).await;
    alice.transcript(&format!("C: CHG 1 NLN\nS: CHG 1 NLN\nS: ILN 1 NLN {BOB} Bob")).await;
    bob.transcript(&format!("S: NLN NLN {ALICE} Alice")).await;
    alice
        .transcript(&format!(
            "C: REA 2 {ALICE} Alice%20in%20Wonderland\nS: REA 2 * {ALICE} Alice%20in%20Wonderland"
        ))
        .await;
    bob.transcript(&format!("S: NLN NLN {ALICE} Alice%20in%20Wonderland")).await;
    // Renaming a contact changes only my list.
    bob.transcript(&format!("C: REA 2 {ALICE} My%20Alice\nS: REA 2 * {ALICE} My%20Alice")).await;
    bob.transcript(&format!("C: REA 3 {CAROL} Nobody\nS: 216 3")).await;
    bob.transcript(&format!("C: REA 4 {BOB} {}\nS: 209 4", "x".repeat(130))).await;
    alice.expect_silence(QUIET).await;
}

#[tokio::test]
async fn invalid_statuses() {
    let server = three_users().await;
    let mut alice = server.login(ALICE, "pa", Dialect::MSNP7).await;
    alice.transcript("C: CHG 1 HOT\nS: 201 1\nS: (closed)").await;
    let mut alice = server.login(ALICE, "pa", Dialect::MSNP7).await;
    alice.transcript("C: CHG 1 nln\nS: 201 1\nS: (closed)").await;
}

async fn challenged(server: &TestServer, dialect: Dialect) -> (common::Client, String) {
    let mut alice = server.login(ALICE, "pa", dialect).await;
    alice.transcript("C: CHG 9 NLN\nS: CHG 9 NLN\nS: CHL 0 {challenge}").await;
    let challenge = alice.var("challenge");
    assert!(challenge.len() == 20 && challenge.bytes().all(|b| b.is_ascii_digit()), "{challenge}");
    (alice, challenge)
}

#[tokio::test]
async fn challenges_accept_the_right_answers() {
    let server = TestServer::start().await;
    server.add_user_named(ALICE, "Alice", "pa").await;
    for (id, key) in [("msmsgs@msnmsgr.com", "Q1P7W2E4J9R8U3S5"), ("PROD0038W!61ZTF9", "VT6PX?UQTM4WM%YR")] {
        let (mut alice, challenge) = challenged(&server, Dialect::MSNP6).await;
        let answer = md5_hex(&[challenge.as_bytes(), key.as_bytes()]);
        alice.send_payload(&format!("QRY 10 {id}"), answer.as_bytes()).await;
        alice.transcript("S: QRY 10\nC: PNG\nS: QNG").await;
        // A client may also ask for a challenge itself.
        alice.transcript("C: CHL 11\nS: CHL 11 {again}").await;
        let answer = md5_hex(&[alice.var("again").as_bytes(), key.as_bytes()]);
        alice.send_payload(&format!("QRY 12 {id}"), answer.as_bytes()).await;
        alice.transcript("S: QRY 12").await;
    }
    // No challenges for MSNP5, which has none.
    let mut old = server.login(ALICE, "pa", Dialect::MSNP5).await;
    old.transcript("C: CHG 9 NLN\nS: CHG 9 NLN").await;
    old.expect_silence(QUIET).await;
}

#[tokio::test]
async fn wrong_unknown_or_unsolicited_answers_disconnect() {
    let server = TestServer::start().await;
    server.add_user_named(ALICE, "Alice", "pa").await;
    let (mut alice, _) = challenged(&server, Dialect::MSNP7).await;
    alice.send_payload("QRY 10 msmsgs@msnmsgr.com", b"00000000000000000000000000000000").await;
    alice.transcript("S: 540 10\nS: (closed)").await;

    let (mut alice, challenge) = challenged(&server, Dialect::MSNP7).await;
    let answer = md5_hex(&[challenge.as_bytes(), b"Q1P7W2E4J9R8U3S5"]);
    alice.send_payload("QRY 10 someone@else.com", answer.as_bytes()).await;
    alice.transcript("S: 540 10\nS: (closed)").await;

    let mut alice = server.login(ALICE, "pa", Dialect::MSNP6).await;
    alice.send_payload("QRY 10 msmsgs@msnmsgr.com", b"00000000000000000000000000000000").await;
    alice.transcript("S: 540 10\nS: (closed)").await;
}

#[tokio::test]
async fn an_unanswered_challenge_disconnects() {
    let server = TestServer::start_with(|c| c.challenges.timeout_secs = 1).await;
    server.add_user_named(ALICE, "Alice", "pa").await;
    let (mut alice, _) = challenged(&server, Dialect::MSNP6).await;
    alice.transcript("S: OUT\nS: (closed)").await;
}

#[tokio::test]
async fn the_rest_of_the_notification_server() {
    let server = three_users().await;
    let mut old = server.login(ALICE, "pa", Dialect::MSNP2).await;
    old.transcript(
        "C: URL 1 PASSWORD
         S: URL 1 /cgi-bin/password https://loginnet.passport.com/ppsecure/md5auth.srf?lc=1033
         C: SND 2 friend@example.com
         S: SND 2 OK
         C: FND 3 fname=A lname=B city=* state=* country=*
         S: 502 3
         C: IMS 4 OFF
         S: 200 4
         C: PRP 5 PHH 1
         S: 200 5
         C: PNG
         S: QNG",
    )
    .await;
    let mut alice = server.login(ALICE, "pa", Dialect::MSNP7).await;
    alice
        .transcript(
            "C: URL 1 INBOX
             S: URL 1 /cgi-bin/HoTMaiL https://loginnet.passport.com/ppsecure/md5auth.srf?lc=1033 2
             C: URL 2 CHAT 0x0409
             S: URL 2 http://chat.msn.com/Messenger.msnw?lc=1033 * 2260
             C: URL 3 PASSWORD
             S: 201 3
             C: IMS 4 OFF
             S: IMS 4 0 OFF
             C: IMS 5 ON
             S: IMS 5 0 ON",
        )
        .await;
    alice.send_payload("SDC 6 friend@example.com 0x0409 MSMSGS MSMSGS X X Alice", b"Join me!").await;
    alice.transcript("S: SDC 6 OK").await;
    alice.send_payload(&format!("PAG 7 {BOB}"), b"<TEXT xml:space=\"preserve\">hi</TEXT>").await;
    alice.transcript("S: 800 7\nC: XYZ 8\nS: 200 8\nC: PNG\nS: QNG").await;
    // A client sending MSG to the notification server is hung up on.
    alice.send_payload("MSG 9 N", b"hello").await;
    alice.expect_closed().await;
}

#[tokio::test]
async fn msnp8_carries_client_capabilities_and_msnp2_does_not() {
    let server = three_users().await;
    let mut alice = server.login(ALICE, "pa", Dialect::MSNP8).await;
    // Without the capabilities number (BitlBee, Twisted): accepted as 0 and echoed.
    alice.transcript("C: CHG 9 NLN\nS: CHG 9 NLN 0").await;
    let mut bob = server.login(BOB, "pb", Dialect::MSNP2).await;
    bob.transcript(&format!("C: CHG 9 NLN\nS: CHG 9 NLN\nS: ILN 9 NLN {ALICE} Alice")).await;
    alice.transcript(&format!("S: NLN NLN {BOB} Bob 0")).await;
    alice.transcript("C: CHG 10 AWY 268435500\nS: CHG 10 AWY 268435500").await;
    bob.transcript(&format!("S: NLN AWY {ALICE} Alice")).await;
    let mut bob8 = server.login(BOB, "pb", Dialect::MSNP8).await;
    bob.transcript("S: OUT OTH\nS: (closed)").await;
    bob8.transcript(&format!("C: CHG 1 BSY 28\nS: CHG 1 BSY 28\nS: ILN 1 AWY {ALICE} Alice 268435500")).await;
    alice.transcript(&format!("S: NLN BSY {BOB} Bob 28")).await;
    // MSNP8 answers the draft's CHG FLN with 201 and keeps the session.
    alice.transcript("C: CHG 11 FLN\nS: 201 11\nC: PNG\nS: QNG").await;
}

#[tokio::test]
async fn msnp8_clients_are_challenged_too() {
    let server = TestServer::start().await;
    server.add_user_named(ALICE, "Alice", "pa").await;
    let (mut alice, challenge) = challenged8(&server).await;
    let answer = md5_hex(&[challenge.as_bytes(), b"Q1P7W2E4J9R8U3S5"]);
    alice.send_payload("QRY 10 msmsgs@msnmsgr.com", answer.as_bytes()).await;
    alice.transcript("S: QRY 10").await;
}

async fn challenged8(server: &TestServer) -> (common::Client, String) {
    let mut alice = server.login(ALICE, "pa", Dialect::MSNP8).await;
    alice.transcript("C: CHG 9 NLN 0\nS: CHG 9 NLN 0\nS: CHL 0 {chl}").await;
    let challenge = alice.var("chl");
    (alice, challenge)
}

#[tokio::test]
async fn a_replacing_login_that_drops_before_its_first_chg_still_signs_out() {
    let server = three_users().await;
    let mut alice = server.login(ALICE, "pa", Dialect::MSNP7).await;
    alice.transcript("C: CHG 1 NLN\nS: CHG 1 NLN").await;
    let mut bob = server.login(BOB, "pb", Dialect::MSNP6).await;
    bob.transcript(&format!("C: CHG 1 NLN\nS: CHG 1 NLN\nS: ILN 1 NLN {ALICE} Alice")).await;
    alice.transcript(&format!("S: NLN NLN {BOB} Bob")).await;
    let bob_again = server.login(BOB, "pb", Dialect::MSNP7).await;
    bob.transcript("S: OUT OTH\nS: (closed)").await;
    alice.expect_silence(QUIET).await;
    drop(bob_again);
    alice.transcript(&format!("S: FLN {BOB}")).await;
}
