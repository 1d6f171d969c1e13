//! Who is logged in: one entry per online account with its shown status, its lists and a
//! bounded mailbox. The registry is the one place that knows, in memory, who is on whose
//! lists: a session holds no copy, and every committed list change reaches it through
//! [`Presence::apply`]. Events are data, rendered by the receiving session in its own
//! dialect. A session whose mailbox is full is stuck; it is disconnected rather than
//! waited for. The lock is a std mutex, never held across an `.await`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

pub use crate::admission::ConnId;
use crate::mailbox::SessionHandle;
use crate::protocol::lists::{Blp, List, ListSet, Property, Status};
pub use crate::protocol::view::Shown;
use crate::protocol::view::{SessionId, Snapshot, UserId};
use crate::protocol::{Dialect, Email};

/// An online account's lists: which of its lists each contact is on, and the BLP default.
/// Its RL says who to tell of its presence; whoever is told must also still have it on
/// their FL, so an RL entry that outlived a race costs nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lists {
    blp: Blp,
    contacts: HashMap<UserId, ListSet>,
}

impl Lists {
    pub fn new(blp: Blp, contacts: impl IntoIterator<Item = (UserId, ListSet)>) -> Lists {
        Lists { blp, contacts: contacts.into_iter().collect() }
    }

    pub fn contains(&self, id: UserId, list: List) -> bool {
        self.contacts.get(&id).is_some_and(|lists| lists.contains(list))
    }

    /// The accounts on `list`.
    pub fn on(&self, list: List) -> impl Iterator<Item = UserId> + '_ {
        self.contacts.iter().filter(move |(_, lists)| lists.contains(list)).map(|(&id, _)| id)
    }

    /// Whether `viewer` may see this account: BL always wins, then AL, then the BLP default.
    pub fn allows(&self, viewer: UserId) -> bool {
        !self.contains(viewer, List::Block) && (self.blp == Blp::Allow || self.contains(viewer, List::Allow))
    }

    fn set(&mut self, id: UserId, list: List, on: bool) {
        let lists = self.contacts.entry(id).or_default();
        *lists = if on { lists.with(list) } else { lists.without(list) };
        if lists.is_empty() {
            self.contacts.remove(&id);
        }
    }
}

impl Default for Lists {
    /// Before the lists are read: nobody on them, nobody allowed.
    fn default() -> Lists {
        Lists::new(Blp::Block, [])
    }
}

impl From<&Snapshot> for Lists {
    fn from(snapshot: &Snapshot) -> Lists {
        Lists::new(snapshot.blp, snapshot.contacts.iter().map(|c| (c.id, c.lists)))
    }
}

/// A list change the store has committed, as the registry applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a committed list change must reach the registry (Presence::apply)"]
pub enum ListChange {
    /// `contact` is now on (or off) one of my lists; FL changes put me on or take me off
    /// their RL too.
    Entry { contact: UserId, list: List, on: bool },
    /// A new BLP default.
    Blp(Blp),
}

/// Something that happened that an online session must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The account logged in elsewhere: `OUT OTH` and hang up.
    LoggedInElsewhere,
    /// A contact is now shown with this status (or name or capabilities): `NLN`.
    Online(Arc<Shown>),
    /// A contact's personal message changed (MSNP11): `UBX`.
    Personal(Arc<Shown>),
    /// A contact is no longer shown online: `FLN`.
    Offline { id: UserId, email: Email },
    /// Someone put me on their FL: `ADD 0 RL`.
    AddedBy { id: UserId, email: Email, name: String, version: u32 },
    /// Someone took me off their FL: `REM 0 RL`.
    RemovedBy { id: UserId, email: Email, version: u32 },
    /// A contact changed a property I may see: `BPR`.
    PropertyChanged { id: UserId, email: Email, property: Property, value: Option<String>, version: u32 },
    /// An invitation to a switchboard session: `RNG`.
    Ring { session: SessionId, cookie: String, caller: Email, caller_name: String },
    /// The operator ended the session (kicked, or the account was disabled, deleted or
    /// given a new password): `OUT` and hang up.
    Ended(Ending),
    /// A notice from the operator to everyone online; `id` tells one from the next.
    Notice { id: u32, text: Arc<str> },
    /// The server goes down for maintenance in this many minutes.
    Maintenance { minutes: u32 },
}

/// Why the operator ended a session, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Kicked,
    Disabled,
    Deleted,
    NewPassword,
}

impl Ending {
    pub fn reason(self) -> &'static str {
        match self {
            Ending::Kicked => "kicked by the operator",
            Ending::Disabled => "account disabled",
            Ending::Deleted => "account deleted",
            Ending::NewPassword => "password changed",
        }
    }
}

/// A session an invitation may ring, and what the switchboard needs of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ringable {
    pub conn: ConnId,
    pub dialect: Dialect,
    pub caps: u32,
}

/// What the operator sees of an online session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct About {
    pub email: Email,
    pub dialect: Dialect,
    /// What the client said of itself in `CVR`, if it did.
    pub client: Option<String>,
    pub address: SocketAddr,
    pub since: SystemTime,
}

#[cfg(test)]
impl About {
    /// A session as unit tests need one: nobody in particular.
    pub fn sample() -> About {
        About {
            email: "someone@example.com".parse().expect("an address"),
            dialect: Dialect::MSNP8,
            client: None,
            address: SocketAddr::from(([127, 0, 0, 1], 1)),
            since: SystemTime::UNIX_EPOCH,
        }
    }
}

/// An online session as [`Presence::sessions`] lists it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: UserId,
    pub about: Arc<About>,
    /// The status it is shown with (`None` before its first `CHG`).
    pub status: Option<Status>,
}

#[derive(Debug)]
struct Entry {
    session: SessionHandle<Event>,
    about: Arc<About>,
    /// `None` until the first CHG (of this login, or of the one it replaced).
    shown: Option<Arc<Shown>>,
    /// Whether this login has sent its first CHG: before it, its ILN burst will cover
    /// presence news, so none is sent to it.
    status_set: bool,
    lists: Lists,
    /// Whether this login's lists have been read ([`Presence::set_lists`]); until then
    /// `lists` is empty or the replaced login's.
    loaded: bool,
    /// `IMS OFF` turns switchboard invitations away.
    accepting: bool,
}

impl Entry {
    /// How `viewer` sees this account: only if visible-online and allowed.
    fn seen_by(&self, viewer: UserId) -> Option<&Arc<Shown>> {
        self.shown.as_ref().filter(|s| s.status.is_visible() && self.lists.allows(viewer))
    }

    fn is_visible(&self) -> bool {
        self.shown.as_ref().is_some_and(|s| s.status.is_visible())
    }

    /// The accounts on this one's RL that its lists let see it.
    fn allowed_watchers(&self) -> Vec<UserId> {
        self.lists.on(List::Reverse).filter(|&w| self.lists.allows(w)).collect()
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
    /// account was shown and its lists, so watchers see no flicker, until
    /// [`Presence::set_lists`] brings the stored ones. A new login is shown to nobody.
    pub fn sign_in(&self, id: UserId, session: SessionHandle<Event>, about: About) {
        let mut online = self.lock();
        let mut kicked = None;
        let about = Arc::new(about);
        let entry = match online.remove(&id) {
            Some(older) => {
                kicked = Some(older.session.clone());
                // Its picture is the new login's to set (its first CHG), not the old one's.
                let shown = older.shown.map(|s| Arc::new(Shown { object: None, ..(*s).clone() }));
                Entry { session, about, shown, status_set: false, loaded: false, ..older }
            }
            None => Entry {
                session,
                about,
                shown: None,
                status_set: false,
                lists: Lists::default(),
                loaded: false,
                accepting: true,
            },
        };
        online.insert(id, entry);
        drop(online);
        if let Some(older) = kicked {
            older.deliver(Event::LoggedInElsewhere);
        }
    }

    /// Takes the account's lists as stored. RL entries already known are kept: someone who
    /// added the account while its lists were being read is counted.
    pub fn set_lists(&self, id: UserId, conn: ConnId, mut lists: Lists) {
        if let Some(entry) = self.lock().get_mut(&id).filter(|e| e.session.conn == conn) {
            for watcher in entry.lists.on(List::Reverse) {
                lists.set(watcher, List::Reverse, true);
            }
            entry.lists = lists;
            entry.loaded = true;
        }
    }

    /// Applies a list change of `owner`'s, just committed by the session `conn`: to their
    /// lists, to the contact's RL when it is an FL change, and to what watchers see when
    /// it changes who may see `owner` (they see it appear, `NLN`, or vanish, `FLN`).
    pub fn apply(&self, owner: UserId, conn: ConnId, change: ListChange) {
        let mut online = self.lock();
        if let ListChange::Entry { contact, list: List::Forward, on } = change {
            if let Some(theirs) = online.get_mut(&contact) {
                theirs.lists.set(owner, List::Reverse, on);
            }
        }
        let Some(entry) = online.get_mut(&owner).filter(|e| e.session.conn == conn) else { return };
        let concerned: Vec<UserId> = match change {
            ListChange::Entry { contact, list: List::Allow | List::Block, .. } => vec![contact],
            ListChange::Entry { .. } => Vec::new(),
            ListChange::Blp(_) => entry.lists.on(List::Reverse).collect(),
        };
        let before: Vec<bool> = concerned.iter().map(|&w| entry.lists.allows(w)).collect();
        match change {
            ListChange::Entry { contact, list, on } => entry.lists.set(contact, list, on),
            ListChange::Blp(blp) => entry.lists.blp = blp,
        }
        let Some(shown) = entry.shown.clone().filter(|s| s.status.is_visible()) else { return };
        let (mut shown_to, mut hidden_from) = (Vec::new(), Vec::new());
        for (&w, was_allowed) in concerned.iter().zip(before) {
            match (was_allowed, entry.lists.allows(w)) {
                (false, true) => shown_to.push(w),
                (true, false) => hidden_from.push(w),
                _ => {}
            }
        }
        let offline = Event::Offline { id: owner, email: shown.email.clone() };
        let appear = Deliveries::to_watchers(&online, owner, shown_to, Event::Online(shown));
        let vanish = Deliveries::to_watchers(&online, owner, hidden_from, offline);
        drop(online);
        appear.send();
        vanish.send();
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
            let told = Deliveries::to_watchers(&online, id, gone.allowed_watchers(), event);
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
        entry.status_set = true;
        let event = if shown.status.is_visible() {
            Event::Online(shown)
        } else if was_visible {
            Event::Offline { id, email: shown.email.clone() }
        } else {
            return;
        };
        let watchers = entry.allowed_watchers();
        let told = Deliveries::to_watchers(&online, id, watchers, event);
        drop(online);
        told.send();
    }

    /// A new personal message (MSNP11): watchers who see the account get
    /// [`Event::Personal`], and no `NLN`, since nothing else changed.
    pub fn publish_personal(&self, id: UserId, conn: ConnId, shown: Arc<Shown>) {
        let mut online = self.lock();
        let Some(entry) = online.get_mut(&id).filter(|e| e.session.conn == conn) else { return };
        entry.shown = Some(shown.clone());
        if !shown.status.is_visible() {
            return;
        }
        let watchers = entry.allowed_watchers();
        let told = Deliveries::to_watchers(&online, id, watchers, Event::Personal(shown));
        drop(online);
        told.send();
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
    pub fn ringable(&self, callee: UserId, caller: UserId) -> Option<Ringable> {
        let online = self.lock();
        let entry = online.get(&callee).filter(|e| e.accepting && e.seen_by(caller).is_some())?;
        let caps = entry.shown.as_ref().map_or(0, |shown| shown.caps);
        Some(Ringable { conn: entry.session.conn, dialect: entry.about.dialect, caps })
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

    /// How `viewer` sees the contacts on its FL that are online, visible and allow it: the
    /// `ILN` burst of the first `CHG`.
    pub fn forward_list_seen_by(&self, viewer: UserId) -> Vec<Arc<Shown>> {
        let online = self.lock();
        let Some(entry) = online.get(&viewer) else { return Vec::new() };
        entry.lists.on(List::Forward).filter_map(|id| online.get(&id)?.seen_by(viewer).cloned()).collect()
    }

    /// Delivers `event` to each of `to` that is online.
    pub fn deliver(&self, to: impl IntoIterator<Item = UserId>, event: &Event) {
        let told = Deliveries::gather(&self.lock(), to, event.clone());
        told.send();
    }

    /// Delivers news of `owner` to `watcher` if it is online and has `owner` on its FL (or
    /// its lists are still being read: the caller found `owner` on its stored FL).
    pub fn deliver_to_watcher(&self, owner: UserId, watcher: UserId, event: Event) {
        let online = self.lock();
        let watching =
            online.get(&watcher).is_some_and(|w| !w.loaded || w.lists.contains(owner, List::Forward));
        let told = Deliveries::gather(&online, watching.then_some(watcher), event);
        drop(online);
        told.send();
    }

    /// Every online session, for the operator.
    pub fn sessions(&self) -> Vec<Listed> {
        let online = self.lock();
        let status = |e: &Entry| e.shown.as_ref().map(|s| s.status);
        online.iter().map(|(&id, e)| Listed { id, about: e.about.clone(), status: status(e) }).collect()
    }

    /// Ends the account's session, if it is online: it is told `OUT` and hangs up (and
    /// signs out as any session does). Whether there was one.
    pub fn end(&self, id: UserId, why: Ending) -> bool {
        let session = self.lock().get(&id).map(|e| e.session.clone());
        session.is_some_and(|session| {
            session.deliver(Event::Ended(why));
            true
        })
    }

    /// Delivers `event` to every online session; how many were reached.
    pub fn broadcast(&self, event: &Event) -> usize {
        let sessions: Vec<SessionHandle<Event>> = self.lock().values().map(|e| e.session.clone()).collect();
        sessions.into_iter().filter(|session| session.deliver(event.clone())).count()
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
    to: Vec<SessionHandle<Event>>,
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

    /// Presence news of `owner`, for those of `to` that watch it now: online, with a
    /// status set by this login (before its first CHG a session's ILN burst covers
    /// everything) and `owner` on their FL.
    fn to_watchers(
        online: &HashMap<UserId, Entry>,
        owner: UserId,
        to: impl IntoIterator<Item = UserId>,
        event: Event,
    ) -> Deliveries {
        let watching = |w: &&Entry| w.status_set && w.lists.contains(owner, List::Forward);
        let to = to.into_iter().filter_map(|id| Some(online.get(&id).filter(watching)?.session.clone()));
        Deliveries { to: to.collect(), event }
    }

    fn send(self) {
        for session in &self.to {
            session.deliver(self.event.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::mailbox::{self, Receiver};

    fn session(conn: u64, capacity: usize) -> (SessionHandle<Event>, Receiver<Event>) {
        let (mailbox, rx) = mailbox::mailbox(capacity);
        (SessionHandle::new(ConnId(conn), mailbox, CancellationToken::new()), rx)
    }

    fn shown(id: i64, status: Status) -> Arc<Shown> {
        let email = format!("u{id}@example.com").parse().unwrap();
        let name = crate::protocol::Encoded::new("x");
        Arc::new(Shown { id: UserId(id), email, name, status, caps: 0, object: None, personal: None })
    }

    fn entry(list: List) -> ListSet {
        ListSet::default().with(list)
    }

    /// Account 1 with `blp`, `allow` and `block`, watched by accounts 2, 3 and 4: all
    /// online, all with a status set and 1 on their FL.
    fn watched(blp: Blp, allow: &[i64], block: &[i64]) -> (Presence, Vec<Receiver<Event>>) {
        let presence = Presence::default();
        let mut inboxes = Vec::new();
        for id in 1..=4 {
            let (handle, rx) = session(id as u64, 8);
            presence.sign_in(UserId(id), handle, About::sample());
            inboxes.push(rx);
        }
        let mut contacts: HashMap<UserId, ListSet> =
            (2..=4).map(|w| (UserId(w), entry(List::Reverse))).collect();
        for &id in allow {
            contacts.insert(UserId(id), contacts[&UserId(id)].with(List::Allow));
        }
        for &id in block {
            contacts.insert(UserId(id), contacts[&UserId(id)].with(List::Block));
        }
        presence.set_lists(UserId(1), ConnId(1), Lists::new(blp, contacts));
        for w in 2..=4 {
            presence.set_lists(
                UserId(w),
                ConnId(w as u64),
                Lists::new(Blp::Allow, [(UserId(1), entry(List::Forward))]),
            );
            presence.publish(UserId(w), ConnId(w as u64), shown(w, Status::Online));
        }
        (presence, inboxes)
    }

    fn drain(rx: &mut Receiver<Event>) -> Vec<Event> {
        std::iter::from_fn(|| rx.try_recv()).collect()
    }

    #[test]
    fn the_operator_lists_ends_and_tells_every_session() {
        let (presence, mut inboxes) = watched(Blp::Allow, &[], &[]);
        inboxes.iter_mut().for_each(|rx| drop(drain(rx)));
        let mut listed: Vec<(UserId, Option<Status>)> =
            presence.sessions().into_iter().map(|s| (s.id, s.status)).collect();
        listed.sort_by_key(|(id, _)| id.0);
        assert_eq!(listed[0], (UserId(1), None), "no status before the first CHG");
        assert_eq!(listed[1], (UserId(2), Some(Status::Online)));
        assert_eq!(presence.broadcast(&Event::Maintenance { minutes: 5 }), 4);
        assert!(inboxes.iter_mut().all(|rx| drain(rx) == [Event::Maintenance { minutes: 5 }]));
        assert!(presence.end(UserId(3), Ending::Disabled));
        assert_eq!(drain(&mut inboxes[2]), [Event::Ended(Ending::Disabled)]);
        assert!(!presence.end(UserId(9), Ending::Kicked), "not online: nothing to end");
    }

    #[test]
    fn a_second_login_kicks_the_first_and_inherits_its_state() {
        let (presence, mut inboxes) = watched(Blp::Allow, &[], &[]);
        presence.publish(UserId(1), ConnId(1), shown(1, Status::Online));
        let (second, _second_rx) = session(10, 4);
        presence.sign_in(UserId(1), second, About::sample());
        assert_eq!(drain(&mut inboxes[0]), vec![Event::LoggedInElsewhere]);
        assert_eq!(presence.seen_by([UserId(1)], UserId(2)).len(), 1, "still shown, no flicker");
        presence.sign_out(UserId(1), ConnId(1));
        assert_eq!(presence.len(), 4, "the old session cannot sign the new one out");
        presence.publish(UserId(1), ConnId(1), shown(1, Status::Away));
        assert_eq!(presence.seen_by([UserId(1)], UserId(2))[0].status, Status::Online, "nor publish for it");
        drain(&mut inboxes[1]);
        presence.sign_out(UserId(1), ConnId(10));
        assert_eq!(presence.len(), 3);
        assert!(
            matches!(drain(&mut inboxes[1])[..], [Event::Offline { id: UserId(1), .. }]),
            "FLN when it ends"
        );
    }

    #[test]
    fn fan_out_follows_status_and_privacy() {
        let (presence, mut inboxes) = watched(Blp::Allow, &[], &[3]);
        presence.publish(UserId(1), ConnId(1), shown(1, Status::Hidden));
        assert!(drain(&mut inboxes[1]).is_empty(), "hidden from the start: nothing to say");
        presence.publish(UserId(1), ConnId(1), shown(1, Status::Away));
        assert!(matches!(drain(&mut inboxes[1])[..], [Event::Online(_)]));
        assert!(drain(&mut inboxes[2]).is_empty(), "blocked: told nothing");
        drain(&mut inboxes[3]);
        assert_eq!(presence.seen_by([UserId(1), UserId(99)], UserId(2)).len(), 1);
        assert!(presence.seen_by([UserId(1)], UserId(3)).is_empty());
        presence.apply(
            UserId(1),
            ConnId(1),
            ListChange::Entry { contact: UserId(2), list: List::Allow, on: true },
        );
        assert!(drain(&mut inboxes[1]).is_empty(), "still allowed: no news");
        presence.apply(
            UserId(1),
            ConnId(1),
            ListChange::Entry { contact: UserId(3), list: List::Block, on: false },
        );
        presence.apply(
            UserId(1),
            ConnId(1),
            ListChange::Entry { contact: UserId(3), list: List::Allow, on: true },
        );
        assert!(matches!(drain(&mut inboxes[2])[..], [Event::Online(_)]), "newly allowed");
        presence.apply(UserId(1), ConnId(1), ListChange::Blp(Blp::Block));
        assert!(drain(&mut inboxes[1]).is_empty(), "on the AL: still allowed");
        assert!(matches!(drain(&mut inboxes[3])[..], [Event::Offline { .. }]), "BLP BL hides from the rest");
        assert_eq!(
            (
                presence.ringable(UserId(1), UserId(2)).map(|r| r.conn),
                presence.ringable(UserId(1), UserId(4))
            ),
            (Some(ConnId(1)), None)
        );
        presence.set_accepting(UserId(1), ConnId(1), false);
        assert_eq!(presence.ringable(UserId(1), UserId(2)), None, "IMS OFF");
        presence.publish(UserId(1), ConnId(1), shown(1, Status::Hidden));
        assert!(matches!(drain(&mut inboxes[1])[..], [Event::Offline { .. }]));
        assert!(presence.seen_by([UserId(1)], UserId(2)).is_empty(), "hidden");
    }

    #[test]
    fn watchers_follow_forward_list_changes_on_either_side() {
        let (presence, mut inboxes) = watched(Blp::Allow, &[], &[]);
        presence.publish(UserId(1), ConnId(1), shown(1, Status::Online));
        inboxes.iter_mut().for_each(|rx| drop(drain(rx)));
        presence.apply(
            UserId(2),
            ConnId(2),
            ListChange::Entry { contact: UserId(1), list: List::Forward, on: false },
        );
        presence.publish(UserId(1), ConnId(1), shown(1, Status::Busy));
        assert!(drain(&mut inboxes[1]).is_empty(), "no longer watching");
        assert_eq!(drain(&mut inboxes[2]).len(), 1, "the others still are");
        presence.apply(
            UserId(2),
            ConnId(2),
            ListChange::Entry { contact: UserId(1), list: List::Forward, on: true },
        );
        presence.publish(UserId(1), ConnId(1), shown(1, Status::Online));
        assert_eq!(drain(&mut inboxes[1]).len(), 1, "watching again: 1's RL has 2 back");
        assert_eq!(presence.forward_list_seen_by(UserId(2)).len(), 1);
        assert!(presence.forward_list_seen_by(UserId(1)).is_empty(), "1 has nobody on its FL");
    }

    #[test]
    fn an_add_that_races_the_login_is_kept() {
        let presence = Presence::default();
        let (handle, _rx) = session(1, 4);
        presence.sign_in(UserId(1), handle, About::sample());
        let (handle, mut rx2) = session(2, 4);
        presence.sign_in(UserId(2), handle, About::sample());
        presence.publish(UserId(2), ConnId(2), shown(2, Status::Online));
        presence.apply(
            UserId(2),
            ConnId(2),
            ListChange::Entry { contact: UserId(1), list: List::Forward, on: true },
        );
        // 1's lists, read before the ADD committed.
        presence.set_lists(UserId(1), ConnId(1), Lists::new(Blp::Allow, []));
        presence.publish(UserId(1), ConnId(1), shown(1, Status::Online));
        assert!(matches!(drain(&mut rx2)[..], [Event::Online(_)]), "2 is on 1's RL all the same");
    }

    #[test]
    fn a_session_before_its_first_status_is_told_nothing() {
        let presence = Presence::default();
        let (one, _rx1) = session(1, 4);
        let (two, mut rx2) = session(2, 4);
        presence.sign_in(UserId(1), one, About::sample());
        presence.sign_in(UserId(2), two, About::sample());
        presence.set_lists(UserId(1), ConnId(1), Lists::new(Blp::Allow, [(UserId(2), entry(List::Reverse))]));
        presence.set_lists(UserId(2), ConnId(2), Lists::new(Blp::Allow, [(UserId(1), entry(List::Forward))]));
        presence.publish(UserId(1), ConnId(1), shown(1, Status::Online));
        assert!(drain(&mut rx2).is_empty(), "its ILN burst will say it");
    }

    #[test]
    fn a_second_login_is_told_nothing_before_its_own_first_status() {
        let (presence, _inboxes) = watched(Blp::Allow, &[], &[]);
        let (again, mut again_rx) = session(20, 8);
        presence.sign_in(UserId(2), again, About::sample());
        presence.set_lists(
            UserId(2),
            ConnId(20),
            Lists::new(Blp::Allow, [(UserId(1), entry(List::Forward))]),
        );
        presence.publish(UserId(1), ConnId(1), shown(1, Status::Online));
        assert!(
            drain(&mut again_rx).iter().all(|e| *e == Event::LoggedInElsewhere),
            "its ILN burst will say it"
        );
        presence.publish(UserId(2), ConnId(20), shown(2, Status::Online));
        presence.publish(UserId(1), ConnId(1), shown(1, Status::Busy));
        assert!(matches!(drain(&mut again_rx)[..], [Event::Online(_)]), "after its CHG it is told");
    }

    #[test]
    fn property_news_reaches_a_login_whose_lists_are_being_read() {
        let presence = Presence::default();
        let (handle, mut rx) = session(2, 4);
        presence.sign_in(UserId(2), handle, About::sample());
        let news = || Event::PropertyChanged {
            id: UserId(1),
            email: "u1@example.com".parse().unwrap(),
            property: Property::Phh,
            value: None,
            version: 7,
        };
        presence.deliver_to_watcher(UserId(1), UserId(2), news());
        assert_eq!(drain(&mut rx).len(), 1, "the store found 1 on 2's FL; the registry cannot know yet");
        presence.set_lists(UserId(2), ConnId(2), Lists::new(Blp::Allow, []));
        presence.deliver_to_watcher(UserId(1), UserId(2), news());
        assert!(drain(&mut rx).is_empty(), "once read, its own FL decides");
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
