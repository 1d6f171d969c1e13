//! Presence: CHG and its ILN burst, NLN/FLN to watchers, the events other sessions send,
//! and signing out. Who sees whom follows `presence.md` §5: a watcher has me on their FL,
//! I allow them (BL wins, then AL, then BLP) and I am not hidden.

use std::sync::Arc;

use tracing::debug;

use super::Online;
use crate::conn::Outcome;
use crate::presence::{Event, Shown};
use crate::protocol::lists::{List, Status};
use crate::protocol::{render, ProtocolError, Reply, TrId};
use crate::store::UserId;

impl Online {
    /// `CHG tr status {caps}`. The first one also lists who is online (`ILN`) and, from
    /// MSNP6, brings the first challenge.
    pub(super) fn chg(
        &mut self,
        tr: TrId,
        status: &str,
        caps: Option<u32>,
    ) -> Result<Outcome, ProtocolError> {
        let new = match status.parse::<Status>() {
            Ok(status) => status,
            Err(_) if status == "FLN" && self.dialect.semi_offline => Status::Hidden,
            Err(_) if status == "FLN" => return Err(ProtocolError::InvalidParameter),
            Err(error) => return Err(error),
        };
        let first = self.status.is_none();
        let was_visible = self.status.is_some_and(Status::is_visible);
        self.status = Some(new);
        if self.dialect.client_caps {
            self.caps = caps.unwrap_or(0);
        }
        let mut replies = vec![render::chg(tr, &self.dialect, status, self.caps)];
        self.publish(was_visible || first);
        if first {
            let contacts: Vec<UserId> = self.lists.on(List::Forward).collect();
            let seen = self.shared.presence.seen_by(contacts, self.user.id);
            replies.extend(seen.iter().map(|shown| render::iln(tr, &self.dialect, shown)));
            let challenges = &self.shared.config.challenges;
            if self.dialect.challenges && challenges.enabled {
                replies.push(self.challenges.issue(TrId(0), challenges));
            }
        }
        Ok(Outcome::replies(replies))
    }

    /// After my friendly name changed: watchers see the new one at once.
    pub(super) fn name_changed(&mut self) {
        if self.status.is_some() {
            self.publish(false);
        }
    }

    /// Registers how I am shown and tells my watchers: `NLN` if visible, else `FLN` if
    /// they may have seen me online (`hide`).
    fn publish(&mut self, hide: bool) {
        let Some(shown) = self.shown() else { return };
        self.shared.presence.show(self.user.id, self.conn, shown.clone());
        let watchers = self.allowed_watchers();
        if shown.status.is_visible() {
            self.shared.presence.deliver(watchers, &Event::Online(shown));
        } else if hide {
            self.shared.presence.deliver(watchers, &self.offline_event());
        }
    }

    /// How I am shown now, once I have set a status.
    pub(super) fn shown(&self) -> Option<Arc<Shown>> {
        Some(Arc::new(Shown {
            id: self.user.id,
            email: self.user.email.clone(),
            name: self.user.friendly_name.clone(),
            status: self.status?,
            caps: self.caps,
        }))
    }

    pub(super) fn offline_event(&self) -> Event {
        Event::Offline { id: self.user.id, email: self.user.email.clone() }
    }

    /// Those with me on their FL whom I allow to see me.
    fn allowed_watchers(&self) -> Vec<UserId> {
        let privacy = self.lists.privacy();
        self.lists.on(List::Reverse).filter(|&id| privacy.allows(id)).collect()
    }

    /// Renders another session's news in my dialect; `None` if it does not concern me
    /// (any more).
    pub(super) fn contact_event(&mut self, event: Event) -> Option<Reply> {
        match event {
            Event::Online(shown) => {
                let watching = self.lists.contains(shown.id, List::Forward);
                watching.then(|| render::nln(&self.dialect, &shown))
            }
            Event::Offline { id, email } => {
                self.lists.contains(id, List::Forward).then(|| Reply::new("FLN").arg(email))
            }
            Event::AddedBy { id, email, name, version } => {
                self.lists.set(id, &email, List::Reverse, true);
                self.lists.advance(version);
                let name = crate::protocol::url_encode(&name);
                Some(Reply::to("ADD", TrId(0)).arg(List::Reverse).arg(version).arg(email).arg(name))
            }
            Event::RemovedBy { id, email, version } => {
                self.lists.set(id, &email, List::Reverse, false);
                self.lists.advance(version);
                Some(Reply::to("REM", TrId(0)).arg(List::Reverse).arg(version).arg(email))
            }
            Event::PropertyChanged { id, email, property, value, version } => {
                self.lists.advance(version);
                let watching = self.lists.contains(id, List::Forward);
                watching.then(|| render::bpr(version, &email, property, value.as_deref()))
            }
            Event::Ring { session, cookie, caller, caller_name } => {
                Some(self.rng(session, &cookie, &caller, &caller_name))
            }
            Event::LoggedInElsewhere => None,
        }
    }
}

impl Drop for Online {
    /// Signs out on every way a session ends: watchers who saw me online get `FLN`,
    /// unless a newer login of mine has already taken my place.
    fn drop(&mut self) {
        let presence = &self.shared.presence;
        if !presence.sign_out(self.user.id, self.conn) {
            return;
        }
        if self.status.is_some_and(Status::is_visible) {
            presence.deliver(self.allowed_watchers(), &self.offline_event());
        }
        debug!(user = %self.user.email, version = %self.dialect, "signed out");
    }
}
