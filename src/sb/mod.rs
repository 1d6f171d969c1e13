//! The switchboard: where chats happen. A caller arrives with the cookie from `XFR SB`
//! (`USR`), invites others (`CAL`, which makes their notification session send `RNG`),
//! invitees arrive with theirs (`ANS`), and `MSG` is relayed to everyone else. The
//! protocol did not change between MSNP2 and MSNP8; MSNP9 added the `D` acknowledgement
//! for P2P data, which no older client sends. The switchboard has no `VER`, so nothing here
//! asks for a dialect: `D` is taken from anyone.

#[cfg(test)]
mod tests;

use std::sync::Arc;

use tracing::{debug, info};

use crate::chats::{Chat, Guest, InviteError, Participant, SbEvent, SessionId, Switchboards};
use crate::codec::Frame;
use crate::conn::{Outcome, Service};
use crate::mailbox::SessionHandle;
use crate::metrics::Metrics;
use crate::presence::{Event, Presence};
use crate::protocol::command::{is_p2p, trid_of, Ack, SbCommand};
use crate::protocol::{render, Email, ProtocolError, Reply, TrId};
use crate::store::{internal, Store};

/// What the switchboard works with: built once by the server, shared by its connections.
pub struct Context {
    pub store: Store,
    pub presence: Presence,
    pub chats: Arc<Switchboards>,
    pub metrics: Arc<Metrics>,
}

/// One switchboard connection.
pub struct Sb {
    ctx: Arc<Context>,
    handle: SessionHandle<SbEvent>,
    /// The session and who I am in it, once `USR` or `ANS` succeeded.
    joined: Option<(Chat, Participant)>,
}

impl Sb {
    pub fn new(ctx: Arc<Context>, handle: SessionHandle<SbEvent>) -> Sb {
        Sb { ctx, handle, joined: None }
    }

    async fn dispatch(&mut self, command: SbCommand) -> Result<Outcome, ProtocolError> {
        match (&self.joined, command) {
            (_, SbCommand::Out) => Ok(Outcome::hang_up(Vec::new(), "left the chat")),
            (None, SbCommand::Usr { tr, email, cookie }) => self.usr(tr, &email, &cookie),
            (None, SbCommand::Ans { tr, email, cookie, session }) => self.ans(tr, &email, &cookie, session),
            (None, _) => Err(ProtocolError::NotLoggedIn),
            (Some(_), SbCommand::Usr { .. } | SbCommand::Ans { .. }) => Err(ProtocolError::AlreadyLoggedIn),
            (Some(_), SbCommand::Cal { tr, email }) => self.cal(tr, email).await,
            (Some(_), SbCommand::Msg { ack: Ack::Data, payload, .. }) if !is_p2p(&payload) => {
                Err(ProtocolError::BadP2p)
            }
            (Some(_), SbCommand::Msg { tr, ack, payload }) => Ok(self.msg(tr, ack, payload)),
            (Some(_), SbCommand::Unknown { name }) => Err(ProtocolError::Unknown(name)),
        }
    }

    /// `USR tr handle cookie` → `USR tr OK handle name`: a new session with me in it.
    fn usr(&mut self, tr: TrId, email: &Email, cookie: &str) -> Result<Outcome, ProtocolError> {
        let boards = &self.ctx.chats;
        let (chat, me) = boards.open(email, cookie, self.handle.clone()).ok_or(ProtocolError::AuthFailed)?;
        info!(user = %me.who.email, session = %chat.id, "switchboard session opened");
        self.ctx.metrics.chats_opened.inc();
        self.ctx.metrics.chat_joins.inc();
        let reply = render::opened(tr, &me.who.email, &me.who.name);
        self.joined = Some((chat, me));
        Ok(Outcome::reply(reply))
    }

    /// `ANS tr handle cookie session` → `IRO` for everyone present, `ANS tr OK`; the
    /// others get `JOI`.
    fn ans(
        &mut self,
        tr: TrId,
        email: &Email,
        cookie: &str,
        session: SessionId,
    ) -> Result<Outcome, ProtocolError> {
        let boards = &self.ctx.chats;
        let (chat, roster, me) =
            boards.join(email, cookie, session, self.handle.clone()).ok_or(ProtocolError::AuthFailed)?;
        debug!(user = %me.who.email, %session, "joined a switchboard session");
        self.ctx.metrics.chat_joins.inc();
        let total = roster.len();
        let mut replies: Vec<Reply> = roster
            .iter()
            .enumerate()
            .map(|(i, p)| render::iro(tr, &me.dialect, i + 1, total, &p.who))
            .collect();
        replies.push(render::answered(tr));
        self.joined = Some((chat, me));
        Ok(Outcome::replies(replies))
    }

    /// `CAL tr handle` → `CAL tr RINGING session`, and the callee's notification session
    /// rings. Offline, hidden, not accepting and blocking all look the same: `217`.
    async fn cal(&mut self, tr: TrId, callee: Option<Email>) -> Result<Outcome, ProtocolError> {
        let (chat, me) = self.joined.as_ref().expect("CAL is dispatched only after joining");
        let callee = callee.ok_or(ProtocolError::InvalidUsername)?;
        if callee == me.who.email {
            return Err(ProtocolError::AlreadyThere);
        }
        let Some(user) = self.ctx.store.user(&callee).await.map_err(internal)? else {
            return Err(ProtocolError::NotAccepting);
        };
        let (boards, presence) = (&self.ctx.chats, &self.ctx.presence);
        let still_there = |user, conn| presence.is_session(user, conn);
        if boards.involves(chat, user.id, &still_there) {
            return Err(ProtocolError::AlreadyThere);
        }
        // An invitation would give a hidden caller away.
        if !presence.is_visible(me.user) {
            return Err(ProtocolError::NotAllowedWhenHidden);
        }
        let callee = presence.ringable(user.id, me.user).ok_or(ProtocolError::NotAccepting)?;
        let rung = callee.conn;
        let guest = Guest {
            user: user.id,
            email: user.email.clone(),
            name: user.friendly_name.clone(),
            caps: callee.caps,
            dialect: callee.dialect,
        };
        let cookie = boards.invite(chat, guest, rung, &still_there).map_err(|e| match e {
            InviteError::AlreadyThere => ProtocolError::AlreadyThere,
            InviteError::Full => ProtocolError::SwitchboardFailed,
        })?;
        let caller = me.who.email.clone();
        let ring = Event::Ring { session: chat.id, cookie, caller, caller_name: me.name.clone() };
        // Signed out (or stuck) since: the invitation is withdrawn, as if never made.
        if !presence.deliver_to(user.id, rung, ring) {
            boards.uninvite(chat, user.id);
            return Err(ProtocolError::NotAccepting);
        }
        debug!(callee = %user.email, session = %chat.id, "ringing");
        Ok(Outcome::reply(render::ringing(tr, chat.id)))
    }

    /// `MSG tr U|N|A|D len`: relayed, bytes as they came, to everyone else as `MSG handle
    /// name len`. `N` hears only of failure (`NAK`), `A` and `D` of both (`ACK`/`NAK`); a
    /// message to nobody failed.
    fn msg(&mut self, tr: TrId, ack: Ack, payload: bytes::Bytes) -> Outcome {
        let (chat, me) = self.joined.as_ref().expect("MSG is dispatched only after joining");
        let event = SbEvent::Message { from: me.who.clone(), payload };
        let delivery = self.ctx.chats.relay(chat, self.handle.conn, event);
        self.ctx.metrics.messages_relayed.inc_by(delivery.delivered as u64);
        let all = delivery.recipients > 0 && delivery.delivered == delivery.recipients;
        match (ack, all) {
            (Ack::Always | Ack::Data, true) => Outcome::reply(render::ack(tr)),
            (Ack::Always | Ack::Data | Ack::OnFailure, false) => Outcome::reply(render::nak(tr)),
            _ => Outcome::default(),
        }
    }
}

impl Service for Sb {
    type Event = SbEvent;

    async fn handle(&mut self, frame: Frame) -> Outcome {
        let result = match SbCommand::parse(&frame) {
            Ok(command) => self.dispatch(command).await,
            Err(error) => Err(error),
        };
        result.unwrap_or_else(|error| Outcome::rejected(trid_of(&frame.line), &error, self.joined.is_none()))
    }

    fn on_event(&mut self, event: SbEvent) -> Outcome {
        // Events reach only a participant's connection, which has joined.
        let Some((_, me)) = &self.joined else { return Outcome::default() };
        Outcome::reply(match event {
            SbEvent::Joined(who) => render::joined(&me.dialect, &who),
            SbEvent::Left(who) => render::left(&who.email),
            SbEvent::Message { from, payload } => render::message(&from.email, &from.name, payload),
            SbEvent::Closed(why) => return Outcome::hang_up(Vec::new(), why.reason()),
        })
    }

    fn authenticated(&self) -> bool {
        self.joined.is_some()
    }

    fn account(&self) -> Option<&Email> {
        self.joined.as_ref().map(|(_, me)| &me.who.email)
    }
}

/// Whether `frame` opens a switchboard connection (`USR tr handle cookie` or `ANS ..`), as
/// against a dispatch or notification login (`VER` first, or `USR tr pkg I handle`).
pub fn opens_session(frame: &Frame) -> bool {
    matches!(SbCommand::parse(frame), Ok(SbCommand::Usr { .. } | SbCommand::Ans { .. }))
}

impl Drop for Sb {
    /// Leaving on every way out: the others get `BYE`.
    fn drop(&mut self) {
        if let Some((chat, me)) = &self.joined {
            self.ctx.chats.leave(chat, self.handle.conn);
            debug!(user = %me.who.email, session = %chat.id, "left the switchboard session");
        }
    }
}
