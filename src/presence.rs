//! Who is logged in: one entry per online account with its shown status, its privacy
//! settings and a bounded mailbox. Events are data, rendered by the receiving session in
//! its own dialect. A session whose mailbox is full is stuck; it is disconnected rather
//! than waited for. The lock is a std mutex, never held across an `.await`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::protocol::lists::{Blp, Property, Status};
use crate::protocol::Email;
use crate::store::UserId;

/// Identifies one connection for the life of the process.
pub type ConnId = u64;

/// How an online account appears to those allowed to see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub id: UserId,
    pub email: Email,
    /// Decoded friendly name.
    pub name: String,
    pub status: Status,
    /// MSNP8 client capabilities, relayed as sent.
    pub caps: u32,
}

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
/// switchboard participants their own kind.
#[derive(Debug, Clone)]
pub struct SessionHandle<E = Event> {
    pub conn: ConnId,
    pub mailbox: mpsc::Sender<E>,
    /// Cancelled to drop the connection without a word (a stuck client).
    pub kill: CancellationToken,
}

impl<E> SessionHandle<E> {
    /// Queues `event`; a full or closed mailbox gets the session dropped instead.
    pub fn deliver(&self, event: E) -> bool {
        let delivered = self.mailbox.try_send(event).is_ok();
        if !delivered {
            self.kill.cancel();
        }
        delivered
    }
}

#[derive(Debug)]
struct Entry {
    session: SessionHandle,
    /// `None` until the first CHG.
    shown: Option<Arc<Shown>>,
    privacy: Arc<Privacy>,
    /// `IMS OFF` turns switchboard invitations away.
    accepting: bool,
}

impl Entry {
    /// How `viewer` sees this account: only if visible-online and allowed.
    fn seen_by(&self, viewer: UserId) -> Option<&Arc<Shown>> {
        self.shown.as_ref().filter(|s| s.status.is_visible() && self.privacy.allows(viewer))
    }
}

/// The registry of online sessions. Cloning is an `Arc` bump.
#[derive(Debug, Clone, Default)]
pub struct Presence(Arc<Mutex<HashMap<UserId, Entry>>>);

impl Presence {
    /// Registers `session` as the account's one notification session, not yet shown
    /// online; an older session of the account is told [`Event::LoggedInElsewhere`].
    pub fn sign_in(&self, id: UserId, session: SessionHandle, privacy: Arc<Privacy>) {
        let older = self.lock().insert(id, Entry { session, shown: None, privacy, accepting: true });
        if let Some(older) = older {
            older.session.deliver(Event::LoggedInElsewhere);
        }
    }

    /// Removes the account if `conn` is still its session (a kicked session must not
    /// remove the login that replaced it); tells whether it did.
    pub fn sign_out(&self, id: UserId, conn: ConnId) -> bool {
        let mut online = self.lock();
        let current = online.get(&id).is_some_and(|e| e.session.conn == conn);
        if current {
            online.remove(&id);
        }
        current
    }

    /// Sets how the account is shown (after CHG, REA).
    pub fn show(&self, id: UserId, conn: ConnId, shown: Arc<Shown>) {
        if let Some(entry) = self.lock().get_mut(&id).filter(|e| e.session.conn == conn) {
            entry.shown = Some(shown);
        }
    }

    /// Replaces the account's privacy settings (after ADD/REM AL/BL, BLP).
    pub fn set_privacy(&self, id: UserId, conn: ConnId, privacy: Arc<Privacy>) {
        if let Some(entry) = self.lock().get_mut(&id).filter(|e| e.session.conn == conn) {
            entry.privacy = privacy;
        }
    }

    /// Turns switchboard invitations on or off (`IMS`).
    pub fn set_accepting(&self, id: UserId, conn: ConnId, accepting: bool) {
        if let Some(entry) = self.lock().get_mut(&id).filter(|e| e.session.conn == conn) {
            entry.accepting = accepting;
        }
    }

    /// Whether `caller` may invite `callee` to a chat: the callee is online, visible to the
    /// caller and accepting invitations. A blocked caller gets the same answer as for an
    /// offline callee.
    pub fn may_invite(&self, callee: UserId, caller: UserId) -> bool {
        self.lock().get(&callee).is_some_and(|e| e.accepting && e.seen_by(caller).is_some())
    }

    /// How `viewer` sees each of `owners` that is online, visible and allows it.
    pub fn seen_by(&self, owners: impl IntoIterator<Item = UserId>, viewer: UserId) -> Vec<Arc<Shown>> {
        let online = self.lock();
        owners.into_iter().filter_map(|id| online.get(&id)?.seen_by(viewer).cloned()).collect()
    }

    /// Delivers `event` to each of `to` that is online.
    pub fn deliver(&self, to: impl IntoIterator<Item = UserId>, event: &Event) {
        let online = self.lock();
        for id in to {
            if let Some(entry) = online.get(&id) {
                entry.session.deliver(event.clone());
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn session(conn: ConnId, capacity: usize) -> (SessionHandle, mpsc::Receiver<Event>) {
        let (mailbox, rx) = mpsc::channel(capacity);
        (SessionHandle { conn, mailbox, kill: CancellationToken::new() }, rx)
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

    #[test]
    fn a_second_login_kicks_the_first_and_survives_its_sign_out() {
        let presence = Presence::default();
        let (first, mut first_rx) = session(1, 4);
        let (second, _second_rx) = session(2, 4);
        presence.sign_in(7, first, privacy(Blp::Allow, &[], &[]));
        presence.sign_in(7, second, privacy(Blp::Allow, &[], &[]));
        assert_eq!(first_rx.try_recv().unwrap(), Event::LoggedInElsewhere);
        assert!(!presence.sign_out(7, 1));
        assert_eq!(presence.len(), 1);
        assert!(presence.sign_out(7, 2));
        assert!(presence.is_empty());
    }

    #[test]
    fn visibility_follows_status_and_privacy() {
        let presence = Presence::default();
        let (handle, _rx) = session(1, 4);
        presence.sign_in(1, handle, privacy(Blp::Allow, &[], &[3]));
        assert!(presence.seen_by([1], 2).is_empty(), "not shown before the first CHG");
        presence.show(1, 1, shown(1, Status::Away));
        assert_eq!(presence.seen_by([1, 99], 2).len(), 1);
        assert!(presence.seen_by([1], 3).is_empty(), "blocked");
        presence.set_privacy(1, 1, privacy(Blp::Block, &[2], &[]));
        assert_eq!(presence.seen_by([1], 2).len(), 1, "allowed explicitly");
        assert!(presence.seen_by([1], 4).is_empty(), "BLP BL hides from the rest");
        assert!(presence.may_invite(1, 2) && !presence.may_invite(1, 4));
        presence.set_accepting(1, 1, false);
        assert!(!presence.may_invite(1, 2), "IMS OFF");
        presence.show(1, 1, shown(1, Status::Hidden));
        assert!(presence.seen_by([1], 2).is_empty(), "hidden");
    }

    #[test]
    fn a_full_mailbox_gets_the_session_dropped() {
        let (handle, _rx) = session(1, 1);
        assert!(handle.deliver(Event::LoggedInElsewhere));
        assert!(!handle.kill.is_cancelled());
        assert!(!handle.deliver(Event::LoggedInElsewhere));
        assert!(handle.kill.is_cancelled());
    }
}
