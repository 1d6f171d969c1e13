//! Switchboard sessions (chats) and their cookies, in memory. A cookie is 128 random bits,
//! bound to one account (and, for an invitation, one session), single-use and short-lived.
//! A session lives while it has participants. Each chat has a lock of its own: relaying a
//! message takes only its chat's, never the one over all chats and cookies.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use tokio::time::Instant;

use crate::credentials::random_token;
use crate::mailbox::SessionHandle;
use crate::presence::{ConnId, Ending};
use crate::protocol::{Dialect, Email, Encoded};
use crate::store::UserId;

pub use crate::protocol::view::{SessionId, Who};

/// Session ids are 8 to 10 digits, like the official service's, and fit a signed 32-bit
/// integer: clients of the era read them with `atoi()` or into a Java `int` and send them
/// back in `ANS`, so a larger id would come back negative. The id need not be secret (the
/// cookie is); it must only be unique among live sessions.
const SESSION_IDS: std::ops::RangeInclusive<u32> = 10_000_000..=i32::MAX as u32;

/// Whom a cookie admits, as their notification session knows them. The switchboard has no
/// `VER`: each participant's dialect comes from there.
#[derive(Debug, Clone)]
pub struct Guest {
    pub user: UserId,
    pub email: Email,
    /// Decoded friendly name.
    pub name: String,
    pub caps: u32,
    pub dialect: Dialect,
}

#[cfg(test)]
impl Guest {
    /// An MSNP8 guest without capabilities, as most tests need one.
    pub fn plain(user: UserId, email: &Email, name: &str) -> Guest {
        Guest { user, email: email.clone(), name: name.to_owned(), caps: 0, dialect: Dialect::MSNP8 }
    }
}

/// What a participant's connection is told about the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SbEvent {
    /// `JOI handle name`
    Joined(Arc<Who>),
    /// `BYE handle`
    Left(Arc<Who>),
    /// `MSG handle name len` + payload
    Message { from: Arc<Who>, payload: Bytes },
    /// The operator ended this participant's account sessions: hang up.
    Closed(Ending),
}

/// Someone in a session.
#[derive(Debug, Clone)]
pub struct Participant {
    pub user: UserId,
    pub who: Arc<Who>,
    /// Decoded friendly name (for the `RNG` of an invitation, rendered by the callee).
    pub name: String,
    /// How this participant is told of the others.
    pub dialect: Dialect,
    pub handle: SessionHandle<SbEvent>,
}

/// One running chat: its id and its own lock.
#[derive(Debug, Clone)]
pub struct Chat {
    pub id: SessionId,
    room: Arc<Mutex<Session>>,
}

impl Chat {
    fn lock(&self) -> MutexGuard<'_, Session> {
        // Every change is one statement under the lock, so a poisoned chat is still whole.
        self.room.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Who a cookie lets in, and where.
#[derive(Debug)]
struct Cookie {
    guest: Guest,
    /// `None`: open a new session (XFR SB); `Some`: join this one (RNG).
    session: Option<SessionId>,
    expires: Instant,
}

/// Why an invitation was not sent.
#[derive(Debug, PartialEq, Eq)]
pub enum InviteError {
    /// Already a participant, or already invited.
    AlreadyThere,
    /// The session is at its participant limit.
    Full,
}

#[derive(Debug, Default)]
struct Session {
    participants: Vec<Participant>,
    /// Invited and not yet joined, until their cookie expires.
    invited: HashMap<UserId, Invitation>,
    /// The last participant has left and the chat is gone: nobody may join it any more.
    ended: bool,
}

/// An invitation sent as `RNG` to one notification session.
#[derive(Debug, Clone, Copy)]
struct Invitation {
    expires: Instant,
    rung: ConnId,
}

/// Whether a notification session (of an account) is still the one it is signed in with:
/// an invitation rung on a session that has ended never reached anyone.
pub type StillThere<'a> = &'a dyn Fn(UserId, ConnId) -> bool;

impl Session {
    /// Forgets invitations whose cookie has expired (the invitee never came) and those rung
    /// on a session that has ended since (the invitee signed out before answering): they
    /// no longer count, and the same person can be invited again.
    fn expire_invitations(&mut self, still_there: StillThere<'_>) {
        let now = Instant::now();
        self.invited.retain(|&user, i| i.expires > now && still_there(user, i.rung));
    }

    fn involves(&self, user: UserId) -> bool {
        self.invited.contains_key(&user) || self.participants.iter().any(|p| p.user == user)
    }
}

#[derive(Debug, Default)]
struct Inner {
    cookies: HashMap<String, Cookie>,
    sessions: HashMap<SessionId, Chat>,
    /// Cookie count at which expired ones are next swept out.
    sweep_at: usize,
}

/// Every switchboard session of this server.
#[derive(Debug)]
pub struct Switchboards {
    inner: Mutex<Inner>,
    cookie_ttl: Duration,
    max_participants: usize,
}

/// The outcome of relaying one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub recipients: usize,
    pub delivered: usize,
}

impl Switchboards {
    pub fn new(cookie_ttl: Duration, max_participants: usize) -> Switchboards {
        Switchboards { inner: Mutex::default(), cookie_ttl, max_participants }
    }

    /// `XFR SB`: a cookie that opens a new session for `guest`.
    pub fn cookie_to_open(&self, guest: Guest) -> String {
        self.issue(&mut self.lock(), guest, None)
    }

    /// `USR tr handle cookie`: opens a session with its first participant, or `None` if
    /// the cookie is unknown, expired, for someone else or for joining.
    pub fn open(
        &self,
        email: &Email,
        cookie: &str,
        handle: SessionHandle<SbEvent>,
    ) -> Option<(Chat, Participant)> {
        let mut inner = self.lock();
        let cookie = redeem(&mut inner, cookie, email).filter(|c| c.session.is_none())?;
        let id = loop {
            let id = SessionId(rand::thread_rng().gen_range(SESSION_IDS));
            if !inner.sessions.contains_key(&id) {
                break id;
            }
        };
        let me = cookie.participant(handle);
        let session = Session { participants: vec![me.clone()], ..Session::default() };
        let chat = Chat { id, room: Arc::new(Mutex::new(session)) };
        inner.sessions.insert(id, chat.clone());
        Some((chat, me))
    }

    /// `CAL`: records the invitation, to be rung on the invitee's notification session
    /// `rung`, and returns the invitee's cookie.
    pub fn invite(
        &self,
        chat: &Chat,
        invitee: Guest,
        rung: ConnId,
        still_there: StillThere<'_>,
    ) -> Result<String, InviteError> {
        let user = invitee.user;
        {
            let mut s = chat.lock();
            s.expire_invitations(still_there);
            if s.involves(user) {
                return Err(InviteError::AlreadyThere);
            }
            if s.participants.len() + s.invited.len() >= self.max_participants {
                return Err(InviteError::Full);
            }
            s.invited.insert(user, Invitation { expires: Instant::now() + self.cookie_ttl, rung });
        }
        Ok(self.issue(&mut self.lock(), invitee, Some(chat.id)))
    }

    /// Withdraws an invitation that could not be delivered.
    pub fn uninvite(&self, chat: &Chat, user: UserId) {
        chat.lock().invited.remove(&user);
    }

    /// `ANS tr handle cookie session`: joins, tells the others, and returns the chat, the
    /// roster as it was (for `IRO`) and the joiner; `None` for a bad cookie or a session
    /// that has ended.
    pub fn join(
        &self,
        email: &Email,
        cookie: &str,
        session: SessionId,
        handle: SessionHandle<SbEvent>,
    ) -> Option<(Chat, Vec<Participant>, Participant)> {
        // The lock over all chats is held until the joiner is in: an account ended meanwhile
        // (`end_for`) either voided the cookie first or finds the joiner in the chat.
        let mut inner = self.lock();
        let cookie = redeem(&mut inner, cookie, email).filter(|c| c.session == Some(session))?;
        let chat = inner.sessions.get(&session)?.clone();
        let me = cookie.participant(handle);
        let mut s = chat.lock();
        if s.ended {
            return None;
        }
        s.invited.remove(&me.user);
        let joined = SbEvent::Joined(me.who.clone());
        for other in &s.participants {
            other.handle.deliver(joined.clone());
        }
        let roster = s.participants.clone();
        s.participants.push(me.clone());
        drop(s);
        Some((chat, roster, me))
    }

    /// Relays an event from `from` to every other participant.
    pub fn relay(&self, chat: &Chat, from: ConnId, event: SbEvent) -> Delivery {
        let s = chat.lock();
        let mut delivery = Delivery { recipients: 0, delivered: 0 };
        for other in s.participants.iter().filter(|p| p.handle.conn != from) {
            delivery.recipients += 1;
            if other.handle.deliver(event.clone()) {
                delivery.delivered += 1;
            }
        }
        delivery
    }

    /// Whether `user` is in the chat, or invited to it and the invitation still stands.
    pub fn involves(&self, chat: &Chat, user: UserId, still_there: StillThere<'_>) -> bool {
        let mut s = chat.lock();
        s.expire_invitations(still_there);
        s.involves(user)
    }

    /// A participant leaves (OUT or a dropped connection): the others get `BYE`; the
    /// session ends with its last participant.
    pub fn leave(&self, chat: &Chat, conn: ConnId) {
        let mut s = chat.lock();
        let Some(at) = s.participants.iter().position(|p| p.handle.conn == conn) else { return };
        let gone = s.participants.remove(at);
        let bye = SbEvent::Left(gone.who);
        for other in &s.participants {
            other.handle.deliver(bye.clone());
        }
        if !s.participants.is_empty() {
            return;
        }
        drop(s);
        // The chat's lock is taken after the one over all chats, never before it.
        let mut inner = self.lock();
        let mut s = chat.lock();
        if s.participants.is_empty() {
            s.ended = true;
            inner.sessions.remove(&chat.id);
        }
    }

    /// Ends `user`'s part in every chat: their connections are told to hang up (and leave
    /// as any participant does), their cookies and invitations are void. How many
    /// connections were told.
    pub fn end_for(&self, user: UserId, why: Ending) -> usize {
        let mut inner = self.lock();
        inner.cookies.retain(|_, c| c.guest.user != user);
        let mut told = 0;
        for chat in inner.sessions.values() {
            let mut s = chat.lock();
            s.invited.remove(&user);
            for p in s.participants.iter().filter(|p| p.user == user) {
                p.handle.deliver(SbEvent::Closed(why));
                told += 1;
            }
        }
        told
    }

    /// How many chats each account takes part in, and the participants in all.
    pub fn census(&self) -> (HashMap<UserId, usize>, usize) {
        let inner = self.lock();
        let (mut per_user, mut participants) = (HashMap::new(), 0);
        for chat in inner.sessions.values() {
            let s = chat.lock();
            participants += s.participants.len();
            for p in &s.participants {
                *per_user.entry(p.user).or_insert(0) += 1;
            }
        }
        (per_user, participants)
    }

    /// Number of sessions running.
    pub fn len(&self) -> usize {
        self.lock().sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn issue(&self, inner: &mut Inner, guest: Guest, session: Option<SessionId>) -> String {
        let now = Instant::now();
        if inner.cookies.len() >= inner.sweep_at {
            inner.cookies.retain(|_, c| c.expires > now);
            inner.sweep_at = (inner.cookies.len() * 2).max(256);
        }
        let token = random_token();
        let cookie = Cookie { guest, session, expires: now + self.cookie_ttl };
        inner.cookies.insert(token.clone(), cookie);
        token
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every change is one statement under the lock, so a poisoned map is still whole.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Cookie {
    fn participant(self, handle: SessionHandle<SbEvent>) -> Participant {
        let Guest { user, email, name, caps, dialect } = self.guest;
        let who = Arc::new(Who { email, name: Encoded::new(&name), caps });
        Participant { user, who, name, dialect, handle }
    }
}

/// Takes a cookie out (single use) if it is current and issued to `email`. A wrong
/// handle spends it too: whoever holds it is not who it was issued to.
fn redeem(inner: &mut Inner, cookie: &str, email: &Email) -> Option<Cookie> {
    let found = inner.cookies.remove(cookie)?;
    (found.expires > Instant::now() && &found.guest.email == email).then_some(found)
}

#[cfg(test)]
mod tests {
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::mailbox;

    fn handle(conn: u64) -> (SessionHandle<SbEvent>, mailbox::Receiver<SbEvent>) {
        let (mailbox, rx) = mailbox::mailbox(8);
        (SessionHandle::new(ConnId(conn), mailbox, CancellationToken::new()), rx)
    }

    fn email(s: &str) -> Email {
        s.parse().unwrap()
    }

    /// Every invitee's notification session is still there.
    const THERE: StillThere<'static> = &|_, _| true;

    #[test]
    fn cookies_are_single_use_and_bound_to_their_account() {
        let boards = Switchboards::new(Duration::from_secs(60), 4);
        let alice = email("alice@example.com");
        let cookie = boards.cookie_to_open(Guest::plain(UserId(1), &alice, "Alice"));
        assert_eq!(cookie.len(), 32);
        assert!(boards.open(&email("mallory@example.com"), &cookie, handle(1).0).is_none());
        assert!(boards.open(&alice, &cookie, handle(1).0).is_none(), "spent by the wrong handle");
        let cookie = boards.cookie_to_open(Guest::plain(UserId(1), &alice, "Alice"));
        assert!(boards.open(&alice, &cookie, handle(1).0).is_some());
        assert!(boards.open(&alice, &cookie, handle(2).0).is_none(), "single use");
    }

    #[test]
    fn expired_cookies_are_refused() {
        let boards = Switchboards::new(Duration::ZERO, 4);
        let alice = email("alice@example.com");
        let cookie = boards.cookie_to_open(Guest::plain(UserId(1), &alice, "Alice"));
        assert!(boards.open(&alice, &cookie, handle(1).0).is_none());
    }

    #[test]
    fn an_invitation_lapses_with_its_cookie() {
        let alice = email("alice@example.com");
        let boards = Switchboards::new(Duration::from_secs(60), 2);
        let (chat, _) = boards
            .open(&alice, &boards.cookie_to_open(Guest::plain(UserId(1), &alice, "Alice")), handle(1).0)
            .unwrap();
        let bob = email("bob@example.com");
        boards.invite(&chat, Guest::plain(UserId(2), &bob, "Bob"), ConnId(20), THERE).unwrap();
        assert!(boards.involves(&chat, UserId(2), THERE));
        chat.lock().invited.get_mut(&UserId(2)).unwrap().expires = Instant::now();
        assert!(!boards.involves(&chat, UserId(2), THERE), "lapsed");
        assert!(
            boards.invite(&chat, Guest::plain(UserId(2), &bob, "Bob"), ConnId(20), THERE).is_ok(),
            "and can be renewed"
        );
    }

    #[test]
    fn an_invitation_rung_on_an_ended_session_is_withdrawn() {
        let alice = email("alice@example.com");
        let boards = Switchboards::new(Duration::from_secs(60), 2);
        let (chat, _) = boards
            .open(&alice, &boards.cookie_to_open(Guest::plain(UserId(1), &alice, "Alice")), handle(1).0)
            .unwrap();
        boards
            .invite(&chat, Guest::plain(UserId(2), &email("bob@example.com"), "Bob"), ConnId(20), THERE)
            .unwrap();
        let signed_out: StillThere<'_> = &|user, conn| (user, conn) != (UserId(2), ConnId(20));
        assert!(!boards.involves(&chat, UserId(2), signed_out), "Bob's session 20 has ended");
        let carol = email("c@example.com");
        assert!(
            boards.invite(&chat, Guest::plain(UserId(3), &carol, "C"), ConnId(30), signed_out).is_ok(),
            "and Bob no longer counts"
        );
    }

    #[test]
    fn ending_an_account_closes_its_chats_and_voids_its_cookies() {
        let boards = Switchboards::new(Duration::from_secs(60), 4);
        let (alice, bob) = (email("alice@example.com"), email("bob@example.com"));
        let (a, mut a_rx) = handle(1);
        let (chat, _) =
            boards.open(&alice, &boards.cookie_to_open(Guest::plain(UserId(1), &alice, "A")), a).unwrap();
        let cookie = boards.invite(&chat, Guest::plain(UserId(2), &bob, "B"), ConnId(20), THERE).unwrap();
        let (b, mut b_rx) = handle(2);
        boards.join(&bob, &cookie, chat.id, b).unwrap();
        let unused = boards.cookie_to_open(Guest::plain(UserId(1), &alice, "A"));
        assert_eq!(boards.census(), (HashMap::from([(UserId(1), 1), (UserId(2), 1)]), 2));
        assert_eq!(boards.end_for(UserId(1), Ending::Deleted), 1);
        assert!(matches!(a_rx.try_recv(), Some(SbEvent::Joined(_))));
        assert_eq!(a_rx.try_recv(), Some(SbEvent::Closed(Ending::Deleted)));
        assert!(b_rx.try_recv().is_none(), "Bob hears BYE when Alice's connection leaves");
        assert!(boards.open(&alice, &unused, handle(3).0).is_none(), "her cookies are void");
    }

    #[test]
    fn joining_leaving_and_relaying() {
        let boards = Switchboards::new(Duration::from_secs(60), 3);
        let (alice, bob) = (email("alice@example.com"), email("bob@example.com"));
        let (a, mut a_rx) = handle(1);
        let (chat, me) = boards
            .open(&alice, &boards.cookie_to_open(Guest::plain(UserId(1), &alice, "Alice A")), a)
            .unwrap();
        assert_eq!(me.who.name.as_str(), "Alice%20A", "encoded once, for every event about her");
        let cookie = boards.invite(&chat, Guest::plain(UserId(2), &bob, "Bob"), ConnId(20), THERE).unwrap();
        assert_eq!(
            boards.invite(&chat, Guest::plain(UserId(2), &bob, "Bob"), ConnId(20), THERE),
            Err(InviteError::AlreadyThere)
        );
        let (b, mut b_rx) = handle(2);
        let (_, roster, bob_in) = boards.join(&bob, &cookie, chat.id, b).unwrap();
        assert_eq!((roster.len(), bob_in.name.as_str()), (1, "Bob"));
        assert_eq!(a_rx.try_recv().unwrap(), SbEvent::Joined(bob_in.who.clone()));
        let message = SbEvent::Message { from: me.who.clone(), payload: Bytes::from("hi") };
        assert_eq!(boards.relay(&chat, ConnId(1), message.clone()), Delivery { recipients: 1, delivered: 1 });
        assert_eq!(b_rx.try_recv().unwrap(), message);
        let carol = email("c@example.com");
        let for_carol =
            boards.invite(&chat, Guest::plain(UserId(3), &carol, "C"), ConnId(30), THERE).unwrap();
        assert!(
            boards.join(&carol, &for_carol, SessionId(chat.id.0.wrapping_add(1)), handle(3).0).is_none(),
            "wrong session"
        );
        assert_eq!(
            boards.invite(&chat, Guest::plain(UserId(4), &email("d@example.com"), "D"), ConnId(40), THERE),
            Err(InviteError::Full)
        );
        boards.leave(&chat, ConnId(1));
        assert_eq!(b_rx.try_recv().unwrap(), SbEvent::Left(me.who));
        boards.leave(&chat, ConnId(2));
        assert!(boards.is_empty());
    }
}
