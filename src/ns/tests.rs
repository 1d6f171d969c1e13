//! The notification server's handlers without a socket: an [`Ns`] over a context with a
//! database in a temporary directory, fed frames and events, its answers read as lines.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::*;
use crate::chats::Switchboards;
use crate::conn::Service;
use crate::credentials::{md5_hex, Credentials};
use crate::mailbox::{self, Receiver};
use crate::protocol::Frame;

/// A context like the server's, on a fresh database; the directory lives as long as it.
async fn context(adjust: impl FnOnce(&mut Config)) -> (Arc<Context>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("msnd.db").display())).await.unwrap();
    let mut config = Config::default();
    config.challenges.enabled = false;
    adjust(&mut config);
    let l = &config.limits;
    let minute = Duration::from_secs(60);
    let context = Context {
        login_throttle: Arc::new(LoginThrottle::new(l.login_failures_per_ip, minute)),
        list_changes: Throttle::new(l.list_changes_per_minute, minute),
        list_notices: Throttle::new(l.list_notices_per_minute, minute),
        tickets: Arc::new(Tickets::new(minute)),
        chats: Arc::new(Switchboards::new(minute, 20)),
        presence: Presence::default(),
        ports: Ports { notification: 1864, switchboard: 1865 },
        secret: [7; 32],
        closing: Default::default(),
        metrics: Default::default(),
        store,
        config,
    };
    (Arc::new(context), dir)
}

/// A notification connection numbered `conn`, and its mailbox.
fn connection(ctx: &Arc<Context>, role: Role, conn: u64) -> (Ns, Receiver<Event>) {
    let (mailbox, rx) = mailbox::mailbox(64);
    let session = SessionHandle::new(ConnId(conn), mailbox, CancellationToken::new());
    let peer = Peer { remote: "192.0.2.7:40000".parse().unwrap(), local: "10.0.0.5:1864".parse().unwrap() };
    (Ns::new(ctx.clone(), role, peer, session), rx)
}

/// The lines `line` is answered with, and whether the connection ends.
async fn say(ns: &mut Ns, line: &str) -> (Vec<String>, bool) {
    let outcome = ns.handle(Frame { line: line.to_owned(), payload: None }).await;
    (outcome.replies.iter().map(ToString::to_string).collect(), outcome.hang_up.is_some())
}

/// The one line `line` is answered with (the connection goes on).
async fn answer(ns: &mut Ns, line: &str) -> String {
    let (replies, hang_up) = say(ns, line).await;
    assert!(!hang_up && replies.len() == 1, "{line:?} got {replies:?} (hang-up: {hang_up})");
    replies.into_iter().next().unwrap()
}

async fn add_user(ctx: &Context, email: &str, password: &str) -> UserId {
    let creds = Credentials::new(password);
    ctx.store.create_user(&email.parse().unwrap(), email, &creds).await.unwrap().id
}

/// An MSNP7 MD5 login on a notification connection; returns it logged in.
async fn logged_in(ctx: &Arc<Context>, conn: u64, email: &str, password: &str) -> (Ns, Receiver<Event>) {
    let (mut ns, rx) = connection(ctx, Role::Notification, conn);
    assert_eq!(answer(&mut ns, "VER 1 MSNP7 MSNP6 CVR0").await, "VER 1 MSNP7");
    assert_eq!(answer(&mut ns, "INF 2").await, "INF 2 MD5");
    let challenge = answer(&mut ns, &format!("USR 3 MD5 I {email}")).await;
    let salt = challenge.strip_prefix("USR 3 MD5 S ").expect("a salt");
    let response = md5_hex(&[salt.as_bytes(), password.as_bytes()]);
    let (replies, hang_up) = say(&mut ns, &format!("USR 4 MD5 S {response}")).await;
    assert!(!hang_up);
    assert_eq!(replies[0], format!("USR 4 OK {email} {} 1", crate::protocol::url_encode(email)));
    assert!(replies[1].starts_with("MSG Hotmail Hotmail "), "the profile: {replies:?}");
    (ns, rx)
}

#[tokio::test]
async fn the_dispatch_server_hands_off_to_the_notification_port() {
    let (ctx, _dir) = context(|_| {}).await;
    let (mut ns, _rx) = connection(&ctx, Role::Dispatch, 1);
    assert_eq!(answer(&mut ns, "VER 1 MSNP7").await, "VER 1 MSNP7");
    assert_eq!(answer(&mut ns, "INF 2").await, "INF 2 MD5");
    let (replies, hang_up) = say(&mut ns, "USR 3 MD5 I alice@example.com").await;
    assert_eq!((replies, hang_up), (vec!["XFR 3 NS 10.0.0.5:1864 0 10.0.0.5:1864".to_owned()], true));
}

#[tokio::test]
async fn a_login_is_authenticated_and_names_the_account() {
    let (ctx, _dir) = context(|_| {}).await;
    let id = add_user(&ctx, "alice@example.com", "secret").await;
    let (ns, _rx) = logged_in(&ctx, 1, "alice@example.com", "secret").await;
    assert!(ns.authenticated());
    assert_eq!(ns.account().map(Email::as_str), Some("alice@example.com"));
    assert!(ctx.presence.is_session(id, ConnId(1)), "registered as the account's session");
}

#[tokio::test]
async fn a_wrong_password_gets_911_and_counts_against_the_address() {
    let (ctx, _dir) = context(|c| c.limits.login_failures_per_ip = 1).await;
    add_user(&ctx, "alice@example.com", "secret").await;
    let (mut ns, _rx) = connection(&ctx, Role::Notification, 1);
    answer(&mut ns, "VER 1 MSNP7").await;
    answer(&mut ns, "USR 2 MD5 I alice@example.com").await;
    let (replies, hang_up) = say(&mut ns, "USR 3 MD5 S 00000000000000000000000000000000").await;
    assert_eq!((replies, hang_up), (vec!["911 3".to_owned()], true));
    assert!(!ctx.login_throttle.allows(&"192.0.2.7".parse().unwrap()), "one failure is the limit here");
}

#[tokio::test]
async fn before_login_only_the_login_dialogue_is_answered() {
    let (ctx, _dir) = context(|_| {}).await;
    let (mut ns, _rx) = connection(&ctx, Role::Notification, 1);
    assert_eq!(say(&mut ns, "SYN 1 0").await, (vec!["302 1".to_owned()], true));
    let (mut ns, _rx) = connection(&ctx, Role::Notification, 2);
    assert_eq!(say(&mut ns, "VER 1 MSNP99").await, (vec!["VER 1 0".to_owned()], true));
    let (mut ns, _rx) = connection(&ctx, Role::Notification, 3);
    assert_eq!(say(&mut ns, "OUT").await, (vec![], true), "OUT is not echoed");
}

#[tokio::test]
async fn adding_a_contact_tells_them_and_updates_who_watches_whom() {
    let (ctx, _dir) = context(|_| {}).await;
    let alice = add_user(&ctx, "alice@example.com", "pa").await;
    add_user(&ctx, "bob@example.com", "pb").await;
    let (mut a, mut a_rx) = logged_in(&ctx, 1, "alice@example.com", "pa").await;
    let (mut b, mut b_rx) = logged_in(&ctx, 2, "bob@example.com", "pb").await;
    assert_eq!(answer(&mut a, "CHG 9 NLN").await, "CHG 9 NLN");
    let added = answer(&mut a, "ADD 10 FL bob@example.com Bobby").await;
    assert!(added.starts_with("ADD 10 FL ") && added.ends_with(" bob@example.com Bobby"), "{added}");
    let notice = b_rx.try_recv().expect("Bob is told");
    assert!(matches!(&notice, Event::AddedBy { id, .. } if *id == alice), "{notice:?}");
    let told = b.on_event(notice).replies[0].to_string();
    assert!(
        told.starts_with("ADD 0 RL ") && told.ends_with(" alice@example.com alice%40example.com"),
        "{told}"
    );
    // Alice now watches Bob: his going online reaches her.
    assert_eq!(answer(&mut b, "CHG 5 NLN").await, "CHG 5 NLN");
    let online = a_rx.try_recv().expect("Alice is told");
    assert!(
        matches!(&online, Event::Online(shown) if shown.email.as_str() == "bob@example.com"),
        "{online:?}"
    );
    let nln = a.on_event(online).replies[0].to_string();
    assert_eq!(nln, "NLN NLN bob@example.com bob%40example.com");
}

#[tokio::test]
async fn list_changes_beyond_the_limit_get_800() {
    let (ctx, _dir) = context(|c| c.limits.list_changes_per_minute = 2).await;
    add_user(&ctx, "alice@example.com", "pa").await;
    let (mut a, _rx) = logged_in(&ctx, 1, "alice@example.com", "pa").await;
    assert!(answer(&mut a, "ADG 10 One 0").await.starts_with("ADG 10 "));
    assert!(answer(&mut a, "ADG 11 Two 0").await.starts_with("ADG 11 "));
    assert_eq!(answer(&mut a, "ADG 12 Three 0").await, "800 12");
    assert_eq!(answer(&mut a, "PNG").await, "QNG", "the session goes on");
}

#[tokio::test]
async fn a_second_login_ends_the_first_with_out_oth() {
    let (ctx, _dir) = context(|_| {}).await;
    add_user(&ctx, "alice@example.com", "pa").await;
    let (mut first, mut first_rx) = logged_in(&ctx, 1, "alice@example.com", "pa").await;
    let (_second, _rx) = logged_in(&ctx, 2, "alice@example.com", "pa").await;
    let kicked = first.on_event(first_rx.try_recv().expect("told"));
    assert_eq!(kicked.replies[0].to_string(), "OUT OTH");
    assert_eq!(kicked.hang_up, Some("logged in elsewhere"));
}

#[tokio::test]
async fn list_commands_change_who_sees_whom_at_once() {
    let (ctx, _dir) = context(|_| {}).await;
    add_user(&ctx, "alice@example.com", "pa").await;
    add_user(&ctx, "bob@example.com", "pb").await;
    let (mut a, mut a_rx) = logged_in(&ctx, 1, "alice@example.com", "pa").await;
    let (mut b, mut b_rx) = logged_in(&ctx, 2, "bob@example.com", "pb").await;
    answer(&mut a, "ADD 10 FL bob@example.com Bobby").await;
    answer(&mut a, "CHG 11 NLN").await;
    answer(&mut b, "CHG 12 NLN").await;
    let events = |rx: &mut Receiver<Event>| std::iter::from_fn(|| rx.try_recv()).collect::<Vec<_>>();
    assert!(matches!(events(&mut a_rx)[..], [Event::Online(_)]), "Alice sees Bob come online");
    events(&mut b_rx);
    answer(&mut b, "ADD 13 BL alice@example.com alice").await;
    assert!(matches!(events(&mut a_rx)[..], [Event::Offline { .. }]), "blocked: Bob vanishes");
    answer(&mut b, "CHG 14 BSY").await;
    assert!(events(&mut a_rx).is_empty(), "and stays hidden");
    answer(&mut b, "REM 15 BL alice@example.com").await;
    assert!(matches!(events(&mut a_rx)[..], [Event::Online(_)]), "unblocked: he appears");
    answer(&mut b, "BLP 16 BL").await;
    assert!(matches!(events(&mut a_rx)[..], [Event::Offline { .. }]), "BLP BL: not on his AL");
    answer(&mut b, "BLP 17 AL").await;
    assert!(matches!(events(&mut a_rx)[..], [Event::Online(_)]));
    answer(&mut a, "REM 18 FL bob@example.com").await;
    answer(&mut b, "CHG 19 NLN").await;
    assert!(events(&mut a_rx).is_empty(), "Alice no longer has Bob on her FL");
}
