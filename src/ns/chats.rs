//! The notification server's side of chats: `XFR SB` hands out a switchboard cookie,
//! and an invitation from a switchboard becomes `RNG`.

use tracing::debug;

use super::login::public_address;
use super::Online;
use crate::chats::Guest;
use crate::conn::Outcome;
use crate::protocol::view::SessionId;
use crate::protocol::{render, Email, ProtocolError, Reply, TrId};

impl Online {
    /// `XFR tr SB` → `XFR tr SB host:port CKI cookie`. Not while hidden or before the
    /// first status (`913`).
    pub(super) fn xfr(&self, tr: TrId, kind: &str) -> Result<Outcome, ProtocolError> {
        if kind != "SB" {
            return Err(ProtocolError::InvalidParameter);
        }
        if !self.status.is_some_and(|s| s.is_visible()) {
            return Err(ProtocolError::NotAllowedWhenHidden);
        }
        let boards = &self.ctx.chats;
        let guest = Guest {
            user: self.user.id,
            email: self.user.email.clone(),
            name: self.user.friendly_name.clone(),
            caps: self.caps,
            dialect: self.dialect,
        };
        let cookie = boards.cookie_to_open(guest);
        debug!("switchboard cookie issued");
        let address = public_address(&self.ctx, self.local, self.ctx.ports.switchboard);
        Ok(Outcome::reply(render::xfr_sb(tr, &address, &cookie)))
    }

    /// `RNG session host:port CKI cookie caller caller-name`.
    pub(super) fn rng(&self, session: SessionId, cookie: &str, caller: &Email, caller_name: &str) -> Reply {
        let address = public_address(&self.ctx, self.local, self.ctx.ports.switchboard);
        render::rng(session, &address, cookie, caller, caller_name)
    }
}
