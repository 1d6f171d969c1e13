//! Switchboard sessions and their cookies, in memory. A cookie is 128 random bits, bound
//! to one account (and, for an invitation, one session), single-use and short-lived. A
//! session lives while it has participants.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use tokio::time::Instant;

use crate::credentials::random_token;
use crate::presence::{ConnId, SessionHandle};
use crate::protocol::Email;
use crate::store::UserId;

/// A session's number, sent in `CAL .. RINGING` and `RNG` (decimal: clients parse it).
pub type SessionId = u32;

/// Session ids are 8 to 10 digits, like the official service's, and fit a signed 32-bit
/// integer: clients of the era read them with `atoi()` or into a Java `int` and send them
/// back in `ANS`, so a larger id would come back negative. The id need not be secret (the
/// cookie is); it must only be unique among live sessions.
const SESSION_IDS: std::ops::RangeInclusive<SessionId> = 10_000_000..=i32::MAX as SessionId;

/// What a participant's connection is told about the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SbEvent {
    /// `JOI handle name`
    Joined { email: Email, name: String },
    /// `BYE handle`
    Left { email: Email },
    /// `MSG handle name len` + payload
    Message { email: Email, name: String, payload: Bytes },
}

/// Someone in a session.
#[derive(Debug, Clone)]
pub struct Participant {
    pub user: UserId,
    pub email: Email,
    /// Decoded friendly name.
    pub name: String,
    pub handle: SessionHandle<SbEvent>,
}

/// Who a cookie lets in, and where.
#[derive(Debug)]
struct Cookie {
    user: UserId,
    email: Email,
    name: String,
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
    sessions: HashMap<SessionId, Session>,
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

    /// `XFR SB`: a cookie that opens a new session for `user`.
    pub fn cookie_to_open(&self, user: UserId, email: &Email, name: &str) -> String {
        self.issue(&mut self.lock(), user, email, name, None)
    }

    /// `USR tr handle cookie`: opens a session with its first participant, or `None` if
    /// the cookie is unknown, expired, for someone else or for joining.
    pub fn open(
        &self,
        email: &Email,
        cookie: &str,
        handle: SessionHandle<SbEvent>,
    ) -> Option<(SessionId, Participant)> {
        let mut inner = self.lock();
        let cookie = redeem(&mut inner, cookie, email).filter(|c| c.session.is_none())?;
        let id = loop {
            let id = rand::thread_rng().gen_range(SESSION_IDS);
            if !inner.sessions.contains_key(&id) {
                break id;
            }
        };
        let me = Participant { user: cookie.user, email: cookie.email, name: cookie.name, handle };
        inner.sessions.insert(id, Session { participants: vec![me.clone()], invited: HashMap::new() });
        Some((id, me))
    }

    /// `CAL`: records the invitation, to be rung on the invitee's notification session
    /// `rung`, and returns the invitee's cookie.
    pub fn invite(
        &self,
        session: SessionId,
        invitee: (UserId, ConnId),
        email: &Email,
        name: &str,
        still_there: StillThere<'_>,
    ) -> Result<String, InviteError> {
        let (user, rung) = invitee;
        let mut inner = self.lock();
        let s = inner.sessions.get_mut(&session).expect("a participant's session exists while it is in it");
        s.expire_invitations(still_there);
        if s.involves(user) {
            return Err(InviteError::AlreadyThere);
        }
        if s.participants.len() + s.invited.len() >= self.max_participants {
            return Err(InviteError::Full);
        }
        s.invited.insert(user, Invitation { expires: Instant::now() + self.cookie_ttl, rung });
        Ok(self.issue(&mut inner, user, email, name, Some(session)))
    }

    /// Withdraws an invitation that could not be delivered.
    pub fn uninvite(&self, session: SessionId, user: UserId) {
        if let Some(s) = self.lock().sessions.get_mut(&session) {
            s.invited.remove(&user);
        }
    }

    /// `ANS tr handle cookie session`: joins, tells the others, and returns the roster
    /// as it was (for `IRO`) with the joiner; `None` for a bad cookie or a session
    /// that has ended.
    pub fn join(
        &self,
        email: &Email,
        cookie: &str,
        session: SessionId,
        handle: SessionHandle<SbEvent>,
    ) -> Option<(Vec<Participant>, Participant)> {
        let mut inner = self.lock();
        let cookie = redeem(&mut inner, cookie, email).filter(|c| c.session == Some(session))?;
        let s = inner.sessions.get_mut(&session)?;
        s.invited.remove(&cookie.user);
        let me = Participant { user: cookie.user, email: cookie.email, name: cookie.name, handle };
        let joined = SbEvent::Joined { email: me.email.clone(), name: me.name.clone() };
        for other in &s.participants {
            other.handle.deliver(joined.clone());
        }
        let roster = s.participants.clone();
        s.participants.push(me.clone());
        Some((roster, me))
    }

    /// Relays an event from `from` to every other participant.
    pub fn relay(&self, session: SessionId, from: ConnId, event: SbEvent) -> Delivery {
        let inner = self.lock();
        let others = inner.sessions.get(&session).map_or(&[][..], |s| &s.participants[..]);
        let mut delivery = Delivery { recipients: 0, delivered: 0 };
        for other in others.iter().filter(|p| p.handle.conn != from) {
            delivery.recipients += 1;
            if other.handle.deliver(event.clone()) {
                delivery.delivered += 1;
            }
        }
        delivery
    }

    /// Whether `user` is in `session`, or invited to it and the invitation still stands.
    pub fn involves(&self, session: SessionId, user: UserId, still_there: StillThere<'_>) -> bool {
        self.lock().sessions.get_mut(&session).is_some_and(|s| {
            s.expire_invitations(still_there);
            s.involves(user)
        })
    }

    /// A participant leaves (OUT or a dropped connection): the others get `BYE`; the
    /// session ends with its last participant.
    pub fn leave(&self, session: SessionId, conn: ConnId) {
        let mut inner = self.lock();
        let Some(s) = inner.sessions.get_mut(&session) else { return };
        let Some(at) = s.participants.iter().position(|p| p.handle.conn == conn) else { return };
        let gone = s.participants.remove(at);
        let bye = SbEvent::Left { email: gone.email };
        for other in &s.participants {
            other.handle.deliver(bye.clone());
        }
        if s.participants.is_empty() {
            inner.sessions.remove(&session);
        }
    }

    /// Number of sessions running.
    pub fn len(&self) -> usize {
        self.lock().sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn issue(
        &self,
        inner: &mut Inner,
        user: UserId,
        email: &Email,
        name: &str,
        session: Option<SessionId>,
    ) -> String {
        let now = Instant::now();
        if inner.cookies.len() >= inner.sweep_at {
            inner.cookies.retain(|_, c| c.expires > now);
            inner.sweep_at = (inner.cookies.len() * 2).max(256);
        }
        let token = random_token();
        let cookie = Cookie {
            user,
            email: email.clone(),
            name: name.to_owned(),
            session,
            expires: now + self.cookie_ttl,
        };
        inner.cookies.insert(token.clone(), cookie);
        token
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every change is one statement under the lock, so a poisoned map is still whole.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Takes a cookie out (single use) if it is current and issued to `email`. A wrong
/// handle spends it too: whoever holds it is not who it was issued to.
fn redeem(inner: &mut Inner, cookie: &str, email: &Email) -> Option<Cookie> {
    let found = inner.cookies.remove(cookie)?;
    (found.expires > Instant::now() && &found.email == email).then_some(found)
}

#[cfg(test)]
mod tests {
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::mailbox;

    fn handle(conn: ConnId) -> (SessionHandle<SbEvent>, mailbox::Receiver<SbEvent>) {
        let (mailbox, rx) = mailbox::mailbox(8);
        (SessionHandle::new(conn, mailbox, CancellationToken::new()), rx)
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
        let cookie = boards.cookie_to_open(1, &alice, "Alice");
        assert_eq!(cookie.len(), 32);
        assert!(boards.open(&email("mallory@example.com"), &cookie, handle(1).0).is_none());
        assert!(boards.open(&alice, &cookie, handle(1).0).is_none(), "spent by the wrong handle");
        let cookie = boards.cookie_to_open(1, &alice, "Alice");
        assert!(boards.open(&alice, &cookie, handle(1).0).is_some());
        assert!(boards.open(&alice, &cookie, handle(2).0).is_none(), "single use");
    }

    #[test]
    fn expired_cookies_are_refused() {
        let boards = Switchboards::new(Duration::ZERO, 4);
        let alice = email("alice@example.com");
        let cookie = boards.cookie_to_open(1, &alice, "Alice");
        assert!(boards.open(&alice, &cookie, handle(1).0).is_none());
    }

    #[test]
    fn an_invitation_lapses_with_its_cookie() {
        let alice = email("alice@example.com");
        let boards = Switchboards::new(Duration::from_secs(60), 2);
        let (id, _) = boards.open(&alice, &boards.cookie_to_open(1, &alice, "Alice"), handle(1).0).unwrap();
        let bob = email("bob@example.com");
        boards.invite(id, (2, 20), &bob, "Bob", THERE).unwrap();
        assert!(boards.involves(id, 2, THERE));
        boards.lock().sessions.get_mut(&id).unwrap().invited.get_mut(&2).unwrap().expires = Instant::now();
        assert!(!boards.involves(id, 2, THERE), "lapsed");
        assert!(boards.invite(id, (2, 20), &bob, "Bob", THERE).is_ok(), "and can be renewed");
    }

    #[test]
    fn an_invitation_rung_on_an_ended_session_is_withdrawn() {
        let alice = email("alice@example.com");
        let boards = Switchboards::new(Duration::from_secs(60), 2);
        let (id, _) = boards.open(&alice, &boards.cookie_to_open(1, &alice, "Alice"), handle(1).0).unwrap();
        boards.invite(id, (2, 20), &email("bob@example.com"), "Bob", THERE).unwrap();
        let signed_out: StillThere<'_> = &|user, conn| (user, conn) != (2, 20);
        assert!(!boards.involves(id, 2, signed_out), "Bob's session 20 has ended");
        let carol = email("c@example.com");
        assert!(boards.invite(id, (3, 30), &carol, "C", signed_out).is_ok(), "and Bob no longer counts");
    }

    #[test]
    fn joining_leaving_and_relaying() {
        let boards = Switchboards::new(Duration::from_secs(60), 3);
        let (alice, bob) = (email("alice@example.com"), email("bob@example.com"));
        let (a, mut a_rx) = handle(1);
        let (id, _) = boards.open(&alice, &boards.cookie_to_open(1, &alice, "Alice"), a).unwrap();
        let cookie = boards.invite(id, (2, 20), &bob, "Bob", THERE).unwrap();
        assert_eq!(boards.invite(id, (2, 20), &bob, "Bob", THERE), Err(InviteError::AlreadyThere));
        let (b, mut b_rx) = handle(2);
        let (roster, me) = boards.join(&bob, &cookie, id, b).unwrap();
        assert_eq!((roster.len(), me.name.as_str()), (1, "Bob"));
        assert_eq!(a_rx.try_recv().unwrap(), SbEvent::Joined { email: bob.clone(), name: "Bob".into() });
        let message =
            SbEvent::Message { email: alice.clone(), name: "Alice".into(), payload: Bytes::from("hi") };
        assert_eq!(boards.relay(id, 1, message.clone()), Delivery { recipients: 1, delivered: 1 });
        assert_eq!(b_rx.try_recv().unwrap(), message);
        let carol = email("c@example.com");
        let for_carol = boards.invite(id, (3, 30), &carol, "C", THERE).unwrap();
        assert!(boards.join(&carol, &for_carol, id.wrapping_add(1), handle(3).0).is_none(), "wrong session");
        assert_eq!(boards.invite(id, (4, 40), &email("d@example.com"), "D", THERE), Err(InviteError::Full));
        boards.leave(id, 1);
        assert_eq!(b_rx.try_recv().unwrap(), SbEvent::Left { email: alice });
        boards.leave(id, 2);
        assert!(boards.is_empty());
    }
}
