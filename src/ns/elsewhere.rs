//! URL, SND/SDC and PAG: what the official network ran outside Messenger (web pages,
//! e-mail invitations, pages to phones), answered the way a server without them should.

use tracing::info;

use super::Online;
use crate::conn::Outcome;
use crate::protocol::{render, Email, ProtocolError, TrId};

impl Online {
    /// `URL tr service {param}` → `URL tr redirect login-url {site-id}`, from the config.
    pub(super) fn url(&self, tr: TrId, service: &str) -> Result<Outcome, ProtocolError> {
        let site = self.dialect.url_service(service).ok_or(ProtocolError::InvalidParameter)?;
        let urls = &self.ctx.config.urls;
        let redirect = urls.services.get(service).ok_or(ProtocolError::InvalidParameter)?;
        Ok(Outcome::reply(render::url(tr, &self.dialect, redirect, &urls.login, site)))
    }

    /// `SND`/`SDC`: invite someone to Messenger by e-mail. msnd sends no mail; the request
    /// is acknowledged and logged.
    pub(super) fn invite_by_mail(&self, command: &str, tr: TrId, email: &Email) -> Outcome {
        info!(user = %self.user.email, invitee = %email, "e-mail invitation requested (msnd sends no mail)");
        Outcome::reply(render::mailed(command, tr))
    }

    /// `PAG`: a page to a mobile phone. msnd has no paging gateway, so it cannot be
    /// delivered (`800`, the protocol's answer to a failed page).
    pub(super) fn pag(&self, email: &Email) -> Result<Outcome, ProtocolError> {
        info!(user = %self.user.email, to = %email, "page not delivered: no paging gateway");
        Err(ProtocolError::PageFailed)
    }
}
