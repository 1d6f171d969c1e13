//! The dispatch and notification servers. Both speak the same login dialogue; the dispatch
//! server answers `USR .. I` with an `XFR .. NS` hand-off where the notification server
//! goes on to authenticate. Which command is legal when is one table, in [`Ns::dispatch`].

mod login;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::{debug, error};

use crate::codec::Frame;
use crate::conn::{Outcome, Service};
use crate::presence::{Event, SessionHandle};
use crate::protocol::command::trid_of;
use crate::protocol::{Command, Dialect, ProtocolError, Reply, TrId};
use crate::server::{Peer, Shared};
use crate::store::{StoreError, User};

/// Which port the client reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Dispatch,
    Notification,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Dispatch => "dispatch",
            Role::Notification => "notification",
        }
    }
}

/// Where a session is in its life.
#[derive(Debug)]
enum Phase {
    /// Waiting for `VER`.
    Greeting,
    /// `VER` found no common dialect but the client offered `CVR0`: only `CVQ` remains.
    Cvr0,
    /// A dialect is agreed; authentication has not succeeded yet.
    Negotiated { dialect: Dialect, challenge: Option<login::Challenge> },
    /// Logged in.
    Online(Box<Online>),
}

/// A logged-in session's state.
#[derive(Debug)]
struct Online {
    dialect: Dialect,
    user: User,
}

/// One dispatch or notification connection.
pub struct Ns {
    shared: Arc<Shared>,
    role: Role,
    peer: Peer,
    session: SessionHandle,
    phase: Phase,
}

impl Ns {
    pub fn new(shared: Arc<Shared>, role: Role, peer: Peer, session: SessionHandle) -> Ns {
        Ns { shared, role, peer, session, phase: Phase::Greeting }
    }

    fn logged_in(&self) -> bool {
        matches!(self.phase, Phase::Online(_))
    }

    /// The legality table: which command each phase accepts.
    async fn dispatch(&mut self, command: Command) -> Result<Outcome, ProtocolError> {
        match (&self.phase, command) {
            (_, Command::Png) => Ok(Outcome::reply(Reply::new("QNG"))),
            (_, Command::Out) => Ok(Outcome::hang_up(vec![Reply::new("OUT")])),
            (Phase::Greeting, Command::Ver { tr, versions }) => Ok(self.ver(tr, &versions)),
            (Phase::Cvr0, Command::Cvq { tr, client_version }) => {
                Ok(Outcome::hang_up(vec![self.client_version_reply("CVQ", tr, &client_version)]))
            }
            (Phase::Negotiated { dialect, .. }, Command::Inf { tr }) => login::inf(tr, dialect),
            (Phase::Negotiated { .. } | Phase::Online(_), Command::Cvr { tr, client_version }) => {
                Ok(Outcome::reply(self.client_version_reply("CVR", tr, &client_version)))
            }
            (Phase::Negotiated { .. }, Command::Usr { tr, package, step }) => {
                self.usr(tr, &package, step).await
            }
            (Phase::Online(_), Command::Usr { .. }) => Err(ProtocolError::AlreadyLoggedIn),
            (Phase::Online(_), Command::Ver { .. } | Command::Inf { .. } | Command::Cvq { .. }) => {
                Err(ProtocolError::NotExpected)
            }
            (Phase::Online(_), Command::Unknown { name, .. }) => Err(ProtocolError::Unknown(name)),
            (_, _) => Err(ProtocolError::NotLoggedIn),
        }
    }

    /// `<code> <trid>` for a rejected command. Before login every error ends the
    /// connection, as the official servers did.
    fn reject(&self, tr: Option<TrId>, error: ProtocolError) -> Outcome {
        debug!(%error, "command rejected");
        let replies = error.code().map(|code| Reply::error(code, tr)).into_iter().collect();
        Outcome { replies, hang_up: error.hangs_up() || !self.logged_in() }
    }
}

impl Service for Ns {
    type Event = Event;

    async fn handle(&mut self, frame: Frame) -> Outcome {
        let result = match Command::parse(&frame) {
            Ok(command) => self.dispatch(command).await,
            Err(error) => Err(error),
        };
        result.unwrap_or_else(|error| self.reject(trid_of(&frame.line), error))
    }

    async fn on_event(&mut self, event: Event) -> Outcome {
        match event {
            Event::LoggedInElsewhere => Outcome::hang_up(vec![Reply::new("OUT").arg("OTH")]),
        }
    }

    fn silence_allowed(&self) -> Duration {
        let limits = &self.shared.config.limits;
        if self.logged_in() {
            limits.idle_timeout()
        } else {
            limits.login_timeout()
        }
    }

    async fn on_close(&mut self) {
        if let Phase::Online(online) = &self.phase {
            self.shared.presence.sign_out(&online.user.email, self.session.conn);
            debug!(user = %online.user.email, version = %online.dialect, "signed out");
        }
    }
}

/// Logs a database failure; the client is told only `500`.
fn internal(error: StoreError) -> ProtocolError {
    error!(%error, "database error");
    ProtocolError::Internal
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
