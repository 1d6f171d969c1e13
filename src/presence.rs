//! Who is logged in: one entry per online account with its shown status, its privacy
//! settings and a bounded mailbox. Events are data, rendered by the receiving session in
//! its own dialect. A session whose mailbox is full is stuck; it is disconnected rather
//! than waited for. The lock is a std mutex, never held across an `.await`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio_util::sync::CancellationToken;

use crate::mailbox;
use crate::protocol::lists::{Blp, Property};
pub use crate::protocol::view::Shown;
use crate::protocol::view::UserId;
use crate::protocol::Email;

pub use crate::admission::ConnId;

/// Who may see an account: BL always wins, then AL, then the BLP default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Privacy {
    pub blp: Blp,
    pub allow: HashSet<UserId>,
    pub block: HashSet<UserId>,
}

impl Privacy {
    pub fn allows(&self, viewer: UserId) -> bool {
        !self.block.contains(&viewer) && (self.blp == Blp::Allow || self.allow.contains(&viewer))
    }
}

/// Something that happened that an online session must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The account logged in elsewhere: `OUT OTH` and hang up.
    LoggedInElsewhere,
    /// A contact is now shown with this status (or name or capabilities): `NLN`.
    Online(Arc<Shown>),
    /// A contact is no longer shown online: `FLN`.
    Offline { id: UserId, email: Email },
    /// Someone put me on their FL: `ADD 0 RL`.
    AddedBy { id: UserId, email: Email, name: String, version: u32 },
    /// Someone took me off their FL: `REM 0 RL`.
    RemovedBy { id: UserId, email: Email, version: u32 },
    /// A contact changed a property I may see: `BPR`.
    PropertyChanged { id: UserId, email: Email, property: Property, value: Option<String>, version: u32 },
    /// An invitation to a switchboard session: `RNG`.
    Ring { session: u32, cookie: String, caller: Email, caller_name: String },
}

/// How to reach one connection's task: notification sessions get [`Event`]s,
/// switchboard participants their own kind. Copied into every fan-out, so a copy is one
/// reference count.
pub struct SessionHandle<E = Event> {
    pub conn: ConnId,
    reach: Arc<Reach<E>>,
}

struct Reach<E> {
    mailbox: mailbox::Sender<E>,
    /// Cancelled to drop the connection without a word (a stuck client).
    kill: CancellationToken,
}

impl<E> SessionHandle<E> {
    pub fn new(conn: ConnId, mailbox: mailbox::Sender<E>, kill: CancellationToken) -> SessionHandle<E> {
        SessionHandle { conn, reach: Arc::new(Reach { mailbox, kill }) }
    }

    /// Queues `event`; a full or closed mailbox gets the session dropped instead.
    pub fn deliver(&self, event: E) -> bool {
        let delivered = self.reach.mailbox.try_send(event).is_ok();
        if !delivered {
            self.reach.kill.cancel();
        }
        delivered
    }

    /// Whether the session has been dropped for not keeping up.
    pub fn is_dropped(&self) -> bool {
        self.reach.kill.is_cancelled()
    }
}

impl<E> Clone for SessionHandle<E> {
    fn clone(&self) -> Self {
        SessionHandle { conn: self.conn, reach: self.reach.clone() }
    }
}

impl<E> std::fmt::Debug for SessionHandle<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionHandle").field("conn", &self.conn).finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Entry {
    session: SessionHandle,
    /// `None` until the first CHG (of this login, or of the one it replaced).
    shown: Option<Arc<Shown>>,
    privacy: Arc<Privacy>,
    /// Who has this account on their FL (its RL): who may be told of its presence.
    watchers: HashSet<UserId>,
    /// `IMS OFF` turns switchboard invitations away.
    accepting: bool,
}

impl Entry {
    /// How `viewer` sees this account: only if visible-online and allowed.
    fn seen_by(&self, viewer: UserId) -> Option<&Arc<Shown>> {
        self.shown.as_ref().filter(|s| s.status.is_visible() && self.privacy.allows(viewer))
    }

    fn is_visible(&self) -> bool {
        self.shown.as_ref().is_some_and(|s| s.status.is_visible())
    }
    /// The watchers this account's privacy settings let see it.
    fn allowed_watchers(&self) -> Vec<UserId> {
        self.watchers.iter().copied().filter(|&w| self.privacy.allows(w)).collect()
    }
}

/// The registry of online sessions. Cloning is an `Arc` bump. All presence fan-out starts
/// here: who is told what is decided under the one lock, so it always matches the
/// registry, and the mailboxes are filled after it is released, so the lock is held for a
/// lookup per watcher, not for their deliveries. An account's changes all come from its
/// one session's task, so its watchers hear of them in order.
#[derive(Debug, Clone, Default)]
pub struct Presence(Arc<Mutex<HashMap<UserId, Entry>>>);

impl Presence {
    /// Registers `session` as the account's one notification session. An older session
    /// of the account is told [`Event::LoggedInElsewhere`]; the new one inherits how the
    /// account was shown, so watchers see no flicker, and who may see it until
    /// [`Presence::set_lists`] says otherwise. A new login is shown to nobody.
    pub fn sign_in(&self, id: UserId, session: SessionHandle) {
        let mut online = self.lock();
        let mut kicked = None;
        let entry = match online.remove(&id) {
            Some(older) => {
                kicked = Some(older.session.clone());
                Entry { session, ..older }
            }
            None => Entry {
                session,
                shown: None,
                privacy: Arc::new(Privacy { blp: Blp::Block, allow: HashSet::new(), block: HashSet::new() }),
                watchers: HashSet::new(),
                accepting: true,
            },
        };
        online.insert(id, entry);
        drop(online);
        if let Some(older) = kicked {
            older.deliver(Event::LoggedInElsewhere);
        }
    }

    /// Takes the account's privacy settings and reverse list from the database. Watchers
    /// are added to those already known (an ADD that raced the login stays counted; a
    /// watcher too many is harmless, its session drops news of non-contacts).
    pub fn set_lists(
        &self,
        id: UserId,
        conn: ConnId,
        privacy: Arc<Privacy>,
        watchers: impl IntoIterator<Item = UserId>,
    ) {
        if let Some(entry) = self.lock().get_mut(&id).filter(|e| e.session.conn == conn) {
            entry.privacy = privacy;
            entry.watchers.extend(watchers);
        }
    }

    /// Signs the account out if `conn` is still its session (a kicked session must not
    /// remove the login that replaced it). Watchers who saw it online are told `FLN`.
    pub fn sign_out(&self, id: UserId, conn: ConnId) {
        let mut online = self.lock();
        if online.get(&id).is_none_or(|e| e.session.conn != conn) {
            return;
        }
        let gone = online.remove(&id).expect("checked just above");
        if let Some(shown) = gone.shown.as_ref().filter(|s| s.status.is_visible()) {
            let event = Event::Offline { id, email: shown.email.clone() };
            let told = Deliveries::gather(&online, gone.allowed_watchers(), event);
            drop(online);
            told.send();
        }
    }

    /// Shows the account with a new status, name or capabilities: allowed watchers get
    /// `NLN`, or `FLN` when it goes from visible to hidden. Ignored from a session that
    /// has been replaced.
    pub fn publish(&self, id: UserId, conn: ConnId, shown: Arc<Shown>) {
        let mut online = self.lock();
        let Some(entry) = online.get_mut(&id).filter(|e| e.session.conn == conn) else { return };
        let was_visible = entry.is_visible();
        entry.shown = Some(shown.clone());
        let event = if shown.status.is_visible() {
            Event::Online(shown)
        } else if was_visible {
            Event::Offline { id, email: shown.email.clone() }
        } else {
            return;
        };
        let watchers = entry.allowed_watchers();
        let told = Deliveries::gather(&online, watchers, event);
        drop(online);
        told.send();
    }

    /// Replaces the account's privacy settings (after ADD/REM AL/BL, BLP); watchers whose
    /// permission changed see it appear (`NLN`) or vanish (`FLN`) at once.
    pub fn set_privacy(&self, id: UserId, conn: ConnId, privacy: Arc<Privacy>) {
        let mut online = self.lock();
        let Some(entry) = online.get_mut(&id).filter(|e| e.session.conn == conn) else { return };
        let before = std::mem::replace(&mut entry.privacy, privacy);
        let Some(shown) = entry.shown.clone().filter(|s| s.status.is_visible()) else { return };
        let (mut shown_to, mut hidden_from) = (Vec::new(), Vec::new());
        for &w in &entry.watchers {
            match (before.allows(w), entry.privacy.allows(w)) {
                (false, true) => shown_to.push(w),
                (true, false) => hidden_from.push(w),
                _ => {}
            }
        }
        let offline = Event::Offline { id, email: shown.email.clone() };
        let appear = Deliveries::gather(&online, shown_to, Event::Online(shown));
        let vanish = Deliveries::gather(&online, hidden_from, offline);
        drop(online);
        appear.send();
        vanish.send();
    }

    /// Records that `watcher` put `owner` on (or took it off) their FL.
    pub fn watch(&self, owner: UserId, watcher: UserId, watching: bool) {
        if let Some(entry) = self.lock().get_mut(&owner) {
            if watching {
                entry.watchers.insert(watcher);
            } else {
                entry.watchers.remove(&watcher);
            }
        }
    }

    /// Turns switchboard invitations on or off (`IMS`).
    pub fn set_accepting(&self, id: UserId, conn: ConnId, accepting: bool) {
        if let Some(entry) = self.lock().get_mut(&id).filter(|e| e.session.conn == conn) {
            entry.accepting = accepting;
        }
    }

    /// The callee's notification session if `caller` may invite them to a chat: they are
    /// online, visible to the caller and accepting invitations. A blocked caller gets the
    /// same answer as for an offline callee.
    pub fn ringable(&self, callee: UserId, caller: UserId) -> Option<ConnId> {
        let online = self.lock();
        let entry = online.get(&callee).filter(|e| e.accepting && e.seen_by(caller).is_some())?;
        Some(entry.session.conn)
    }

    /// Whether `conn` is the account's notification session now.
    pub fn is_session(&self, id: UserId, conn: ConnId) -> bool {
        self.lock().get(&id).is_some_and(|e| e.session.conn == conn)
    }

    /// Delivers `event` to the account's session if that is still `conn`; whether it was
    /// queued.
    pub fn deliver_to(&self, id: UserId, conn: ConnId, event: Event) -> bool {
        let session = self.lock().get(&id).filter(|e| e.session.conn == conn).map(|e| e.session.clone());
        session.is_some_and(|session| session.deliver(event))
    }

    /// Whether the account is online and not hidden.
    pub fn is_visible(&self, id: UserId) -> bool {
        self.lock().get(&id).is_some_and(Entry::is_visible)
    }

    /// How `viewer` sees each of `owners` that is online, visible and allows it.
    pub fn seen_by(&self, owners: impl IntoIterator<Item = UserId>, viewer: UserId) -> Vec<Arc<Shown>> {
        let online = self.lock();
        owners.into_iter().filter_map(|id| online.get(&id)?.seen_by(viewer).cloned()).collect()
    }

    /// Delivers `event` to each of `to` that is online.
    pub fn deliver(&self, to: impl IntoIterator<Item = UserId>, event: &Event) {
        let told = Deliveries::gather(&self.lock(), to, event.clone());
        told.send();
    }

    /// Number of accounts online.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<UserId, Entry>> {
        // Every change is one statement under the lock, so a poisoned map is still whole.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One event for the online sessions among some accounts, gathered under the registry's
/// lock and sent after it.
struct Deliveries {
    to: Vec<SessionHandle>,
    event: Event,
}

impl Deliveries {
    fn gather(
        online: &HashMap<UserId, Entry>,
        to: impl IntoIterator<Item = UserId>,
        event: Event,
    ) -> Deliveries {
        let to = to.into_iter().filter_map(|id| Some(online.get(&id)?.session.clone())).collect();
        Deliveries { to, event }
    }

    fn send(self) {
        for session in &self.to {
            session.deliver(self.event.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::lists::Status;

    fn session(conn: ConnId, capacity: usize) -> (SessionHandle, mailbox::Receiver<Event>) {
        let (mailbox, rx) = mailbox::mailbox(capacity);
        (SessionHandle::new(conn, mailbox, CancellationToken::new()), rx)
    }

    fn privacy(blp: Blp, allow: &[UserId], block: &[UserId]) -> Arc<Privacy> {
        Arc::new(Privacy {
            blp,
            allow: allow.iter().copied().collect(),
            block: block.iter().copied().collect(),
        })
    }

    fn shown(id: UserId, status: Status) -> Arc<Shown> {
        let email = format!("u{id}@example.com").parse().unwrap();
        Arc::new(Shown { id, email, name: "x".into(), status, caps: 0 })
    }

    /// Account 1, watched by accounts 2, 3 and 4 (all online), with `privacy`.
    fn watched(privacy: Arc<Privacy>) -> (Presence, Vec<mailbox::Receiver<Event>>) {
        let presence = Presence::default();
        let mut inboxes = Vec::new();
        for id in 1..=4 {
            let (handle, rx) = session(id as ConnId, 8);
            presence.sign_in(id, handle);
            inboxes.push(rx);
        }
        presence.set_lists(1, 1, privacy, [2, 3, 4]);
        (presence, inboxes)
    }

    fn drain(rx: &mut mailbox::Receiver<Event>) -> Vec<Event> {
        std::iter::from_fn(|| rx.try_recv()).collect()
    }

    #[test]
    fn a_second_login_kicks_the_first_and_inherits_its_state() {
        let (presence, mut inboxes) = watched(privacy(Blp::Allow, &[], &[]));
        presence.publish(1, 1, shown(1, Status::Online));
        let (second, _second_rx) = session(10, 4);
        presence.sign_in(1, second);
        assert_eq!(drain(&mut inboxes[0]), vec![Event::LoggedInElsewhere]);
        assert_eq!(presence.seen_by([1], 2).len(), 1, "still shown, no flicker");
        presence.sign_out(1, 1);
        assert_eq!(presence.len(), 4, "the old session cannot sign the new one out");
        presence.publish(1, 1, shown(1, Status::Away));
        assert_eq!(presence.seen_by([1], 2)[0].status, Status::Online, "nor publish for it");
        drain(&mut inboxes[1]);
        presence.sign_out(1, 10);
        assert_eq!(presence.len(), 3);
        assert!(matches!(drain(&mut inboxes[1])[..], [Event::Offline { id: 1, .. }]), "FLN when it ends");
    }

    #[test]
    fn fan_out_follows_status_and_privacy() {
        let (presence, mut inboxes) = watched(privacy(Blp::Allow, &[], &[3]));
        presence.publish(1, 1, shown(1, Status::Hidden));
        assert!(drain(&mut inboxes[1]).is_empty(), "hidden from the start: nothing to say");
        presence.publish(1, 1, shown(1, Status::Away));
        assert!(matches!(drain(&mut inboxes[1])[..], [Event::Online(_)]));
        assert!(drain(&mut inboxes[2]).is_empty(), "blocked: told nothing");
        drain(&mut inboxes[3]);
        assert_eq!(presence.seen_by([1, 99], 2).len(), 1);
        assert!(presence.seen_by([1], 3).is_empty());
        presence.set_privacy(1, 1, privacy(Blp::Block, &[2, 3], &[]));
        assert!(drain(&mut inboxes[1]).is_empty(), "still allowed: no news");
        assert!(matches!(drain(&mut inboxes[2])[..], [Event::Online(_)]), "newly allowed");
        assert!(matches!(drain(&mut inboxes[3])[..], [Event::Offline { .. }]), "BLP BL hides from the rest");
        assert_eq!((presence.ringable(1, 2), presence.ringable(1, 4)), (Some(1), None));
        presence.set_accepting(1, 1, false);
        assert_eq!(presence.ringable(1, 2), None, "IMS OFF");
        presence.publish(1, 1, shown(1, Status::Hidden));
        assert!(matches!(drain(&mut inboxes[1])[..], [Event::Offline { .. }]));
        assert!(presence.seen_by([1], 2).is_empty(), "hidden");
        presence.watch(1, 2, false);
        presence.publish(1, 1, shown(1, Status::Online));
        assert!(drain(&mut inboxes[1]).is_empty(), "no longer watching");
    }

    #[test]
    fn a_full_mailbox_gets_the_session_dropped() {
        let (handle, _rx) = session(1, 1);
        assert!(handle.deliver(Event::LoggedInElsewhere));
        assert!(!handle.is_dropped());
        assert!(!handle.deliver(Event::LoggedInElsewhere));
        assert!(handle.is_dropped());
    }
}
