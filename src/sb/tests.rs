//! The switchboard's handlers without a socket: [`Sb`] connections over a context with a
//! database in a temporary directory, the invitee's notification session a mailbox.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::*;
use crate::conn::Service;
use crate::credentials::Credentials;
use crate::mailbox::{self, Receiver};
use crate::presence::{ConnId, Lists, Shown};
use crate::protocol::lists::{Blp, Status};
use crate::protocol::view::UserId;
use crate::protocol::{url_encode, Encoded};

struct World {
    ctx: Arc<Context>,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new(max_participants: usize) -> World {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}", dir.path().join("msnd.db").display())).await.unwrap();
        let chats = Arc::new(Switchboards::new(Duration::from_secs(60), max_participants));
        World {
            ctx: Arc::new(Context {
                store,
                presence: Presence::default(),
                chats,
                metrics: Default::default(),
            }),
            _dir: dir,
        }
    }

    /// An account signed in on notification connection `conn` and shown online to all.
    async fn online(&self, email: &str, conn: u64) -> (UserId, Receiver<Event>) {
        let creds = Credentials::new("pw");
        let user = self.ctx.store.create_user(&email.parse().unwrap(), email, &creds).await.unwrap();
        let (mailbox, rx) = mailbox::mailbox(16);
        let conn = ConnId(conn);
        let presence = &self.ctx.presence;
        presence.sign_in(
            user.id,
            SessionHandle::new(conn, mailbox, CancellationToken::new()),
            crate::presence::About::sample(),
        );
        presence.set_lists(user.id, conn, Lists::new(Blp::Allow, []));
        let shown = Shown {
            id: user.id,
            email: user.email,
            name: Encoded::new(email),
            status: Status::Online,
            caps: 0,
            object: None,
            personal: None,
        };
        presence.publish(user.id, conn, Arc::new(shown));
        (user.id, rx)
    }

    /// A switchboard connection numbered `conn`, and its mailbox.
    fn connection(&self, conn: u64) -> (Sb, Receiver<SbEvent>) {
        let (mailbox, rx) = mailbox::mailbox(16);
        (Sb::new(self.ctx.clone(), SessionHandle::new(ConnId(conn), mailbox, CancellationToken::new())), rx)
    }

    /// `email`'s connection `conn` opens a chat with the cookie `XFR SB` would give.
    async fn opened(&self, id: UserId, email: &str, conn: u64) -> (Sb, Receiver<SbEvent>) {
        let cookie = self.ctx.chats.cookie_to_open(Guest::plain(id, &email.parse().unwrap(), email));
        let (mut sb, rx) = self.connection(conn);
        assert_eq!(
            say(&mut sb, &format!("USR 1 {email} {cookie}")).await,
            (vec![format!("USR 1 OK {email} {}", url_encode(email))], false)
        );
        (sb, rx)
    }
}

async fn say(sb: &mut Sb, line: &str) -> (Vec<String>, bool) {
    say_with(sb, line, None).await
}

async fn say_with(sb: &mut Sb, line: &str, payload: Option<&'static [u8]>) -> (Vec<String>, bool) {
    let frame = Frame { line: line.to_owned(), payload: payload.map(bytes::Bytes::from_static) };
    let outcome = sb.handle(frame).await;
    (outcome.replies.iter().map(ToString::to_string).collect(), outcome.hang_up.is_some())
}

/// Alice opens a chat and calls Bob, whose notification session is rung; he answers.
/// Returns both switchboard connections with their mailboxes (Alice's holds the `JOI`).
async fn alice_and_bob(world: &World) -> ((Sb, Receiver<SbEvent>), (Sb, Receiver<SbEvent>)) {
    let (alice, _) = world.online("alice@example.com", 1).await;
    let (_, mut bob_ns) = world.online("bob@example.com", 2).await;
    let (mut alice_sb, alice_rx) = world.opened(alice, "alice@example.com", 10).await;
    let (rung, _) = say(&mut alice_sb, "CAL 2 bob@example.com").await;
    let sid = rung[0].strip_prefix("CAL 2 RINGING ").expect("ringing").to_owned();
    let Some(Event::Ring { session, cookie, caller, .. }) = bob_ns.try_recv() else { panic!("no RNG") };
    assert_eq!((session.to_string(), caller.as_str()), (sid.clone(), "alice@example.com"));
    let (mut bob_sb, bob_rx) = world.connection(11);
    let (joined, hang_up) = say(&mut bob_sb, &format!("ANS 1 bob@example.com {cookie} {sid}")).await;
    assert_eq!(joined, ["IRO 1 1 1 alice@example.com alice%40example.com", "ANS 1 OK"]);
    assert!(!hang_up && bob_sb.authenticated());
    ((alice_sb, alice_rx), (bob_sb, bob_rx))
}

#[tokio::test]
async fn a_cookie_opens_a_chat_once_and_for_its_account_only() {
    let world = World::new(4).await;
    let (alice, _rx) = world.online("alice@example.com", 1).await;
    let cookie =
        world.ctx.chats.cookie_to_open(Guest::plain(alice, &"alice@example.com".parse().unwrap(), "Alice"));
    let (mut thief, _t) = world.connection(10);
    assert_eq!(
        say(&mut thief, &format!("USR 1 mallory@example.com {cookie}")).await,
        (vec!["911 1".into()], true)
    );
    let (mut late, _l) = world.connection(11);
    assert_eq!(
        say(&mut late, &format!("USR 1 alice@example.com {cookie}")).await,
        (vec!["911 1".into()], true),
        "spent"
    );
    let (sb, _rx) = world.opened(alice, "alice@example.com", 12).await;
    assert_eq!(sb.account().map(Email::as_str), Some("alice@example.com"));
}

#[tokio::test]
async fn nothing_before_usr_or_ans() {
    let world = World::new(4).await;
    let (mut sb, _rx) = world.connection(1);
    assert_eq!(say_with(&mut sb, "MSG 1 A 2", Some(b"hi")).await, (vec!["302 1".into()], true));
    assert!(!sb.authenticated());
}

#[tokio::test]
async fn calling_rings_the_callee_who_answers_and_joins() {
    let world = World::new(4).await;
    let ((mut alice_sb, mut alice_rx), _bob) = alice_and_bob(&world).await;
    let joi = alice_sb.on_event(alice_rx.try_recv().expect("JOI")).replies[0].to_string();
    assert_eq!(joi, "JOI bob@example.com bob%40example.com");
}

#[tokio::test]
async fn offline_callees_get_217_and_yourself_215() {
    let world = World::new(4).await;
    let (alice, _a) = world.online("alice@example.com", 1).await;
    let creds = Credentials::new("pw");
    world.ctx.store.create_user(&"carol@example.com".parse().unwrap(), "Carol", &creds).await.unwrap();
    let (mut sb, _rx) = world.opened(alice, "alice@example.com", 10).await;
    assert_eq!(say(&mut sb, "CAL 2 carol@example.com").await, (vec!["217 2".into()], false));
    assert_eq!(say(&mut sb, "CAL 3 nobody@example.com").await, (vec!["217 3".into()], false));
    assert_eq!(say(&mut sb, "CAL 4 alice@example.com").await, (vec!["215 4".into()], false));
}

#[tokio::test]
async fn messages_are_relayed_and_acknowledged_as_asked() {
    let world = World::new(4).await;
    let (carol, _c) = world.online("carol@example.com", 3).await;
    let (mut alone, _rx) = world.opened(carol, "carol@example.com", 12).await;
    assert_eq!(say_with(&mut alone, "MSG 2 A 5", Some(b"alone")).await, (vec!["NAK 2".into()], false));
    let ((mut alice_sb, _alice_rx), (mut bob_sb, mut bob_rx)) = alice_and_bob(&world).await;
    assert_eq!(say_with(&mut alice_sb, "MSG 4 A 2", Some(b"hi")).await, (vec!["ACK 4".into()], false));
    assert_eq!(say_with(&mut alice_sb, "MSG 5 U 2", Some(b"hi")).await, (vec![], false));
    let relayed = bob_sb.on_event(bob_rx.try_recv().expect("relayed")).replies[0].to_string();
    assert_eq!(relayed, "MSG alice@example.com alice%40example.com 2");
    assert_eq!(say(&mut bob_sb, "OUT").await, (vec![], true));
}

#[tokio::test]
async fn leaving_tells_the_others() {
    let world = World::new(4).await;
    let ((mut alice_sb, mut alice_rx), (bob_sb, _bob_rx)) = alice_and_bob(&world).await;
    alice_rx.try_recv().expect("JOI");
    drop(bob_sb);
    let bye = alice_sb.on_event(alice_rx.try_recv().expect("BYE")).replies[0].to_string();
    assert_eq!(bye, "BYE bob@example.com");
}
