//! The dispatch and notification servers. Both speak the same login dialogue; the dispatch
//! server answers `USR .. I` with an `XFR .. NS` hand-off where the notification server
//! goes on to authenticate. Which command is legal when is one table per phase:
//! `Ns::dispatch` before login, `Online::handle` after.

mod challenge;
mod chats;
mod elsewhere;
mod lists;
mod login;
mod status;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::admission::Closing;
use crate::chats::Switchboards;
use crate::codec::Frame;
use crate::config::Config;
use crate::conn::Peer;
use crate::conn::{Outcome, Service};
use crate::mailbox::SessionHandle;
use crate::metrics::Metrics;
use crate::presence::{ConnId, Event, Presence};
use crate::protocol::command::trid_of;
use crate::protocol::lists::Status;
use crate::protocol::msnobj::MsnObject;
use crate::protocol::{render, Command, Dialect, Email, ProtocolError, Reply};
use crate::store::{Snapshot, Store, User, UserId};
use crate::throttle::{LoginThrottle, Throttle};
use crate::tickets::Tickets;

/// What the dispatch and notification servers work with: built once by the server, shared
/// by their connections.
pub struct Context {
    pub config: Config,
    pub store: Store,
    pub presence: Presence,
    /// The switchboard's sessions, for the cookie of `XFR SB`.
    pub chats: Arc<Switchboards>,
    /// Passport tickets, redeemed at `USR TWN S`.
    pub tickets: Arc<Tickets>,
    /// The ports bound (a configured port 0 becomes a real one), for `XFR` and `RNG`.
    pub ports: Ports,
    /// Persistent random key, e.g. for the stand-in salt of an unknown account.
    pub secret: [u8; 32],
    /// Failed logins per address, shared with the Passport service.
    pub login_throttle: Arc<LoginThrottle>,
    /// Contact-list and group changes per account.
    pub list_changes: Throttle<UserId>,
    /// "Someone added or removed you" notices per receiving account.
    pub list_notices: Throttle<UserId>,
    /// Set by a maintenance shutdown: logins are refused from then on.
    pub closing: Closing,
    pub metrics: Arc<Metrics>,
}

/// The ports clients are sent to.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub notification: u16,
    pub switchboard: u16,
}

/// Which port the client reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Dispatch,
    Notification,
}

/// Where a session is in its life.
enum Phase {
    /// Waiting for `VER`.
    Greeting,
    /// `VER` found no common dialect but the client offered `CVR0`: only `CVQ` remains.
    Cvr0,
    /// A dialect is agreed; authentication has not succeeded yet.
    Negotiated { dialect: Dialect, challenge: Option<Box<login::Challenge>> },
    /// Logged in.
    Online(Box<Online>),
}

/// One dispatch or notification connection.
pub struct Ns {
    ctx: Arc<Context>,
    role: Role,
    peer: Peer,
    session: SessionHandle<Event>,
    phase: Phase,
    /// The client's version, as its `CVR` gave it.
    client: Option<String>,
}

/// A logged-in session: who, in which dialect, and how it is shown. Its lists are the
/// presence registry's.
/// Dropping it (on every way out) signs the account out.
struct Online {
    ctx: Arc<Context>,
    conn: ConnId,
    /// The address the client reached, for the addresses in `XFR SB` and `RNG`.
    local: std::net::SocketAddr,
    dialect: Dialect,
    user: User,
    /// The lists as read at login, kept for the `SYN` that clients send next; the first
    /// command or event drops it.
    held: Option<Box<Snapshot>>,
    /// `None` until the first CHG.
    status: Option<Status>,
    caps: u32,
    /// MSNP9: the display picture's MSNObject from the last `CHG`.
    object: Option<MsnObject>,
    /// MSNP11: the personal message's `<Data>` document, as stored.
    personal: Option<Arc<str>>,
    challenges: challenge::Schedule,
}

impl Ns {
    pub fn new(ctx: Arc<Context>, role: Role, peer: Peer, session: SessionHandle<Event>) -> Ns {
        Ns { ctx, role, peer, session, phase: Phase::Greeting, client: None }
    }

    fn logged_in(&self) -> bool {
        matches!(self.phase, Phase::Online(_))
    }

    /// Before login: VER, INF, CVR/CVQ, USR, PNG, OUT. Anything else gets `302`.
    async fn dispatch(&mut self, command: Command) -> Result<Outcome, ProtocolError> {
        if let Phase::Online(online) = &mut self.phase {
            return online.handle(command).await;
        }
        match (&self.phase, command) {
            (_, Command::Png) => Ok(Outcome::reply(render::qng())),
            (_, Command::Out) => Ok(signed_off()),
            (_, Command::WrongDirection { name }) => Err(ProtocolError::WrongDirection(name)),
            (Phase::Greeting, Command::Ver { tr, versions }) => Ok(self.ver(tr, &versions)),
            (Phase::Cvr0, Command::Cvq { tr, client_version }) => {
                let reply = login::client_version_reply(&self.ctx, "CVQ", tr, &client_version);
                Ok(Outcome::hang_up(vec![reply], "version check answered"))
            }
            (Phase::Negotiated { dialect, .. }, Command::Inf { tr }) => login::inf(tr, dialect),
            (Phase::Negotiated { .. }, Command::Cvr { tr, client_version }) => {
                let reply = login::client_version_reply(&self.ctx, "CVR", tr, &client_version);
                self.client = Some(client_version);
                Ok(Outcome::reply(reply))
            }
            (Phase::Negotiated { .. }, Command::Usr { tr, package, step }) => {
                self.usr(tr, &package, step).await
            }
            (_, _) => Err(ProtocolError::NotLoggedIn),
        }
    }
}

impl Online {
    /// After login: every command the dialect knows.
    async fn handle(&mut self, command: Command) -> Result<Outcome, ProtocolError> {
        let held = self.held.take();
        if !self.dialect.knows(command.name()) {
            return match command {
                Command::WrongDirection { name } => Err(ProtocolError::WrongDirection(name)),
                other => Err(ProtocolError::Unknown(other.name().to_owned())),
            };
        }
        if command.changes_lists() && !self.ctx.list_changes.take(self.user.id) {
            return Err(ProtocolError::TooFast);
        }
        match command {
            Command::Png => Ok(Outcome::reply(self.qng())),
            Command::Out => Ok(signed_off()),
            Command::Cvr { tr, client_version } => {
                Ok(Outcome::reply(login::client_version_reply(&self.ctx, "CVR", tr, &client_version)))
            }
            Command::Usr { .. } => Err(ProtocolError::AlreadyLoggedIn),
            Command::Ver { .. } | Command::Inf { .. } | Command::Cvq { .. } => {
                Err(ProtocolError::NotExpected)
            }
            Command::Syn { tr, cached } => self.syn(tr, cached, held).await,
            Command::Lst { .. } | Command::Lsg { .. } if !self.dialect.list_queries => {
                Err(ProtocolError::Removed(command.name().to_owned()))
            }
            Command::Lst { tr, list } => self.lst(tr, list).await,
            Command::Lsg { tr } => self.lsg(tr).await,
            // MSNP10 replaced them: the official server hung up on ADD, refused REA.
            Command::Add { .. } if self.dialect.address_book => Err(ProtocolError::Removed("ADD".into())),
            Command::Rea { .. } if self.dialect.address_book => Err(ProtocolError::Disabled),
            Command::Add { tr, list, email, name, group } => self.add(tr, list, email, name, group).await,
            Command::Adc { tr, list, contact, name, group } => self.adc(tr, list, contact, name, group).await,
            Command::Rem { tr, list, contact, group } => self.rem(tr, list, contact, group).await,
            Command::Adg { tr, name } => self.adg(tr, &name).await,
            Command::Rmg { tr, group } => self.rmg(tr, group).await,
            Command::Reg { tr, group, name } => self.reg(tr, group, &name).await,
            Command::Gtc { tr, value } => self.gtc(tr, value).await,
            Command::Blp { tr, value } => self.blp(tr, value).await,
            Command::Rea { tr, email, name } => self.rea(tr, email, name).await,
            Command::Prp { tr, property, value } => self.prp(tr, property, value).await,
            Command::Mfn { tr, name } => self.mfn(tr, name).await,
            Command::Sbp { tr, contact, property, value, rest } => {
                self.sbp(tr, contact, property, value, rest).await
            }
            Command::Chg { tr, status, caps, object } => self.chg(tr, &status, caps, object),
            Command::Uux { tr, payload } => self.uux(tr, &payload).await,
            Command::Gcf { tr, file } => Ok(Outcome::reply(render::gcf(tr, &file))),
            Command::Chl { tr } => Ok(Outcome::reply(self.challenges.issue(tr, &self.ctx.config.challenges))),
            Command::Qry { tr, client_id, response } => {
                self.challenges.answer(tr, &self.dialect, &client_id, &response, &self.ctx.config.challenges)
            }
            Command::Url { tr, service } => self.url(tr, &service),
            Command::Snd { tr, email } => Ok(self.invite_by_mail("SND", tr, &email)),
            Command::Sdc { tr, email } => Ok(self.invite_by_mail("SDC", tr, &email)),
            Command::Fnd { .. } => Err(ProtocolError::Disabled),
            Command::Ims { tr, on } => Ok(self.ims(tr, on)),
            Command::Pag { .. } if self.dialect.pgd => Err(ProtocolError::NotExpected),
            Command::Pag { email, .. } => self.pag(&email),
            // No mobile gateway: never advertised, so official clients do not offer paging.
            Command::Pgd { .. } => Err(ProtocolError::Disabled),
            Command::Xfr { tr, kind } => self.xfr(tr, &kind),
            Command::WrongDirection { name } => Err(ProtocolError::WrongDirection(name)),
            Command::Unknown { name, .. } => Err(ProtocolError::Unknown(name)),
        }
    }

    /// `QNG`, and from MSNP9 when to ping next: well within the idle timeout.
    fn qng(&self) -> Reply {
        match self.dialect.qng_interval {
            true => render::qng_in(self.ctx.config.limits.ping_interval().as_secs()),
            false => render::qng(),
        }
    }

    /// Answers an event from another session, in this session's dialect.
    fn on_event(&mut self, event: Event) -> Outcome {
        // Whatever happened may have changed my lists since they were read.
        self.held = None;
        match event {
            Event::LoggedInElsewhere => {
                Outcome::hang_up(vec![render::out_elsewhere()], "logged in elsewhere")
            }
            Event::Ended(why) => Outcome::hang_up(vec![render::out()], why.reason()),
            other => Outcome::replies(self.contact_event(other)),
        }
    }
}

impl Service for Ns {
    type Event = Event;

    async fn handle(&mut self, frame: Frame) -> Outcome {
        let result = match Command::parse(&frame) {
            Ok(command) => self.dispatch(command).await,
            Err(error) => Err(error),
        };
        result.unwrap_or_else(|error| Outcome::rejected(trid_of(&frame.line), &error, !self.logged_in()))
    }

    fn on_event(&mut self, event: Event) -> Outcome {
        match &mut self.phase {
            Phase::Online(online) => online.on_event(event),
            _ => Outcome::default(),
        }
    }

    fn authenticated(&self) -> bool {
        self.logged_in()
    }

    fn account(&self) -> Option<&Email> {
        match &self.phase {
            Phase::Online(online) => Some(&online.user.email),
            _ => None,
        }
    }

    fn timer(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Online(online) => online.challenges.deadline(),
            _ => None,
        }
    }

    async fn on_timer(&mut self) -> Outcome {
        match &mut self.phase {
            Phase::Online(online) => online.challenges.on_timer(&self.ctx.config.challenges),
            _ => Outcome::default(),
        }
    }
}

/// The client's `OUT`: the server closes without a word ("C: OUT / Client disconnects" in
/// the protocol notes; one client library of the era fails on an unexpected bare `OUT`).
fn signed_off() -> Outcome {
    Outcome::hang_up(Vec::new(), "signed out")
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
