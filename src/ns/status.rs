//! Presence: CHG and its ILN burst, NLN/FLN to watchers, IMS (accepting invitations), the
//! events other sessions send, and signing out. Who sees whom follows `presence.md` §5: a watcher has me on their FL,
//! I allow them (BL wins, then AL, then BLP) and I am not hidden.

use std::sync::Arc;

use tracing::debug;

use super::Online;
use crate::conn::Outcome;
use crate::presence::{Event, Shown};
use crate::protocol::lists::Status;
use crate::protocol::msnobj::MsnObject;
use crate::protocol::personal::PersonalMessage;
use crate::protocol::render::NoticeParts;
use crate::protocol::{render, Encoded, ProtocolError, Reply, TrId};
use crate::store::internal;

impl Online {
    /// `CHG tr status {caps {msnobj}}`. The first one also lists who is online (`ILN`) and,
    /// from MSNP6, brings the first challenge. From MSNP9 a `CHG` with the same status and
    /// a new picture is news for watchers like any other.
    pub(super) fn chg(
        &mut self,
        tr: TrId,
        status: &str,
        caps: Option<u32>,
        object: Option<String>,
    ) -> Result<Outcome, ProtocolError> {
        // Older dialects have no MSNObject: a fourth token there is passed over.
        let object = match object {
            Some(token) if self.dialect.msnobj => MsnObject::parse(&token)?,
            _ => None,
        };
        let new = match status.parse::<Status>() {
            Ok(status) => status,
            Err(_) if status == "FLN" && self.dialect.semi_offline => Status::Hidden,
            Err(_) if status == "FLN" => return Err(ProtocolError::InvalidParameter),
            Err(error) => return Err(error),
        };
        let first = self.status.is_none();
        self.status = Some(new);
        if self.dialect.client_caps {
            self.caps = caps.unwrap_or(0);
        }
        self.object = object;
        let mut replies = vec![render::chg(tr, &self.dialect, status, self.caps, self.object.as_ref())];
        self.publish();
        if first {
            let seen = self.ctx.presence.forward_list_seen_by(self.user.id);
            replies.extend(self.iln(tr, &seen));
            let challenges = &self.ctx.config.challenges;
            if self.dialect.challenges && challenges.enabled {
                replies.push(self.challenges.issue(TrId(0), challenges));
            }
        }
        Ok(Outcome::replies(replies))
    }

    /// `ILN` for each contact shown, each followed (MSNP11) by its personal message.
    pub(super) fn iln(&self, tr: TrId, seen: &[Arc<Shown>]) -> Vec<Reply> {
        let lines = seen
            .iter()
            .map(|shown| [Some(render::iln(tr, &self.dialect, shown)), render::ubx(&self.dialect, shown)]);
        lines.flatten().flatten().collect()
    }

    /// MSNP11's `UUX tr len` + `<Data>..</Data>`: my personal message, kept and shown to
    /// those who see me (`UBX`, no `NLN`). An empty one is none. The same one again (7.0
    /// sends it at every login) changes nothing; a new one counts against the account's
    /// `limits.list_changes_per_minute`, as it is written to the database.
    pub(super) async fn uux(&mut self, tr: TrId, payload: &[u8]) -> Result<Outcome, ProtocolError> {
        let message = PersonalMessage::parse(payload)?;
        let document = (!message.is_empty()).then(|| message.document());
        if document.as_deref() == self.personal.as_deref() {
            return Ok(Outcome::reply(render::uux(tr)));
        }
        if !self.ctx.list_changes.take(self.user.id) {
            return Err(ProtocolError::TooFast);
        }
        let store = &self.ctx.store;
        store.set_personal_message(self.user.id, document.as_deref()).await.map_err(internal)?;
        self.personal = document.map(Arc::from);
        if let Some(shown) = self.shown() {
            self.ctx.presence.publish_personal(self.user.id, self.conn, shown);
        }
        Ok(Outcome::reply(render::uux(tr)))
    }

    /// After my friendly name changed: watchers see the new one at once.
    pub(super) fn name_changed(&mut self) {
        self.publish();
    }

    /// Tells the registry, and through it my watchers, how I am shown now.
    fn publish(&self) {
        if let Some(shown) = self.shown() {
            self.ctx.presence.publish(self.user.id, self.conn, shown);
        }
    }

    /// `IMS tr ON|OFF` → `IMS tr 0 ON|OFF`: accept switchboard invitations or not.
    pub(super) fn ims(&mut self, tr: TrId, on: bool) -> Outcome {
        self.ctx.presence.set_accepting(self.user.id, self.conn, on);
        Outcome::reply(render::ims(tr, on))
    }

    /// How I am shown now, once I have set a status.
    pub(super) fn shown(&self) -> Option<Arc<Shown>> {
        Some(Arc::new(Shown {
            id: self.user.id,
            email: self.user.email.clone(),
            name: Encoded::new(&self.user.friendly_name),
            status: self.status?,
            caps: self.caps,
            object: self.object.clone(),
            personal: self.personal.clone(),
        }))
    }

    /// An operator's notice, addressed to me, in my dialect.
    fn notice(&self, id: u32, text: &str) -> Reply {
        let web = &self.ctx.config.web;
        let parts = NoticeParts {
            from: &web.notice_from,
            from_addr: &web.notice_address,
            site_url: &web.public_url,
            to: &self.user.email,
            member_id: self.user.id.0,
            id,
        };
        render::notice(&self.dialect, text, &parts)
    }

    /// Renders another session's news in my dialect (the registry has decided it concerns
    /// me); nothing where my dialect has no line for it.
    pub(super) fn contact_event(&mut self, event: Event) -> Vec<Reply> {
        let d = &self.dialect;
        match event {
            // MSNP11: the personal message after each NLN, so a watcher never misses one
            // set before the status.
            Event::Online(shown) => {
                self.ctx.metrics.presence_notifications.inc();
                [Some(render::nln(d, &shown)), render::ubx(d, &shown)].into_iter().flatten().collect()
            }
            Event::Personal(shown) => render::ubx(d, &shown).into_iter().collect(),
            Event::Offline { email, .. } => {
                self.ctx.metrics.presence_notifications.inc();
                vec![render::fln(&email)]
            }
            Event::AddedBy { email, name, version, .. } => {
                vec![render::reverse_list_added(d, version, &email, &name)]
            }
            Event::RemovedBy { email, version, .. } => vec![render::reverse_list_removed(d, version, &email)],
            Event::PropertyChanged { email, property, value, version, .. } => {
                render::bpr(d, version, &email, property, value.as_deref()).into_iter().collect()
            }
            Event::Ring { session, cookie, caller, caller_name } => {
                vec![self.rng(session, &cookie, &caller, &caller_name)]
            }
            Event::Notice { id, text } => vec![self.notice(id, &text)],
            Event::Maintenance { minutes } => vec![render::maintenance(minutes)],
            Event::LoggedInElsewhere | Event::Ended(_) => Vec::new(),
        }
    }
}

impl Drop for Online {
    /// Signs out on every way a session ends (watchers who saw me online get `FLN`),
    /// unless a newer login of mine has already taken my place.
    fn drop(&mut self) {
        self.ctx.presence.sign_out(self.user.id, self.conn);
        debug!(user = %self.user.email, version = %self.dialect, "signed out");
    }
}
