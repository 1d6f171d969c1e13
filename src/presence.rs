//! Who is logged in: one entry per online account, each with a bounded mailbox. Events are
//! data, rendered by the receiving session in its own dialect. A session whose mailbox is
//! full is stuck; it is disconnected rather than waited for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::protocol::Email;

/// Identifies one connection for the life of the process.
pub type ConnId = u64;

/// Something that happened to an online account, for its session to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The account logged in elsewhere: send `OUT OTH` and hang up.
    LoggedInElsewhere,
}

/// How to reach one connection's session task.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    pub conn: ConnId,
    pub mailbox: mpsc::Sender<Event>,
    /// Cancelled to drop the connection without a word (a stuck client).
    pub kill: CancellationToken,
}

impl SessionHandle {
    /// Queues `event`; a full or closed mailbox gets the session dropped instead.
    pub fn deliver(&self, event: Event) -> bool {
        let delivered = self.mailbox.try_send(event).is_ok();
        if !delivered {
            self.kill.cancel();
        }
        delivered
    }
}

/// The registry of online sessions. Cloning is an `Arc` bump.
#[derive(Debug, Clone, Default)]
pub struct Presence(Arc<Mutex<HashMap<Email, SessionHandle>>>);

impl Presence {
    /// Registers `session` as `email`'s one notification session; an older session of the
    /// same account is told [`Event::LoggedInElsewhere`].
    pub fn sign_in(&self, email: &Email, session: SessionHandle) {
        let older = self.lock().insert(email.clone(), session);
        if let Some(older) = older {
            older.deliver(Event::LoggedInElsewhere);
        }
    }

    /// Removes `email` if `conn` is still its session (a kicked session must not remove
    /// the login that replaced it).
    pub fn sign_out(&self, email: &Email, conn: ConnId) {
        let mut online = self.lock();
        if online.get(email).is_some_and(|s| s.conn == conn) {
            online.remove(email);
        }
    }

    /// Number of accounts online.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Email, SessionHandle>> {
        // A panic elsewhere cannot leave the map half-updated: every change is one call.
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

    #[test]
    fn a_second_login_kicks_the_first_and_survives_its_sign_out() {
        let presence = Presence::default();
        let alice: Email = "alice@example.com".parse().unwrap();
        let (first, mut first_rx) = session(1, 4);
        let (second, _second_rx) = session(2, 4);
        presence.sign_in(&alice, first);
        presence.sign_in(&alice, second);
        assert_eq!(first_rx.try_recv().unwrap(), Event::LoggedInElsewhere);
        presence.sign_out(&alice, 1);
        assert_eq!(presence.len(), 1);
        presence.sign_out(&alice, 2);
        assert!(presence.is_empty());
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
