//! VER, INF, CVR/CVQ and USR: version negotiation, the dispatch hand-off and
//! authentication, ending in `USR OK`, the profile and the initial e-mail message.

use std::sync::Arc;
use std::time::SystemTime;

use tracing::{debug, info};

use super::challenge::Schedule;
use super::{unix_now, Context, Ns, Online, Phase, Role};
use crate::conn::Outcome;
use crate::credentials::{md5_hex, md5_response_matches, random_token};
use crate::presence::{About, Lists};
use crate::protocol::command::AuthStep;
use crate::protocol::dialect::{negotiate, Login, Negotiated};
use crate::protocol::render::{self, Profile};
use crate::protocol::{Dialect, Email, ProtocolError, Reply, TrId};
use crate::store::{internal, User};
use crate::tickets;

/// An authentication round in progress: `USR .. I` was answered, `USR .. S` is awaited.
#[derive(Debug)]
pub(super) struct Challenge {
    email: Email,
    /// `None` for an unknown account, which still gets a plausible challenge.
    user: Option<User>,
}

/// How a dialect logs in, as the login metrics name it.
fn method(dialect: &Dialect) -> &'static str {
    match dialect.login {
        Login::Md5 => "md5",
        Login::Twn => "twn",
    }
}

/// `INF tr` → `INF tr MD5`; MSNP8 has no INF.
pub(super) fn inf(tr: TrId, dialect: &Dialect) -> Result<Outcome, ProtocolError> {
    if !dialect.inf {
        return Err(ProtocolError::Disabled);
    }
    Ok(Outcome::reply(render::inf(tr, dialect)))
}

/// The answer to `CVR`/`CVQ`: the client's own version as recommended and minimum, so no
/// client is ever pushed to upgrade.
pub(super) fn client_version_reply(ctx: &Context, command: &str, tr: TrId, version: &str) -> Reply {
    let urls = &ctx.config.client;
    render::client_version(command, tr, version, &urls.download_url, &urls.info_url)
}

/// `host:port` for a client connected to `local`: `public_host` if configured, else the
/// address the client already reached.
pub(super) fn public_address(ctx: &Context, local: std::net::SocketAddr, port: u16) -> String {
    let host = match ctx.config.public_host.as_str() {
        "" => local.ip().to_string(),
        host => host.to_owned(),
    };
    match host.parse::<std::net::Ipv6Addr>() {
        Ok(_) => format!("[{host}]:{port}"),
        Err(_) => format!("{host}:{port}"),
    }
}

impl Ns {
    /// `VER tr dialects..` → the newest common dialect, `CVR0`, or `0` and hang up.
    pub(super) fn ver(&mut self, tr: TrId, versions: &[String]) -> Outcome {
        match negotiate(versions.iter().map(String::as_str)) {
            Negotiated::Dialect(dialect) => {
                self.phase = Phase::Negotiated { dialect, challenge: None };
                Outcome::reply(render::ver(tr, &dialect))
            }
            Negotiated::Cvr0 => {
                self.phase = Phase::Cvr0;
                Outcome::reply(render::ver_cvr0(tr))
            }
            Negotiated::Nothing => {
                info!(offered = versions.join(" "), "no common protocol version");
                Outcome::hang_up(vec![render::ver_none(tr)], "no common protocol version")
            }
        }
    }

    /// `USR tr pkg I|S ..`: the hand-off on the dispatch server, authentication here.
    pub(super) async fn usr(
        &mut self,
        tr: TrId,
        package: &str,
        step: AuthStep,
    ) -> Result<Outcome, ProtocolError> {
        let Phase::Negotiated { dialect, challenge } = &mut self.phase else {
            return Err(ProtocolError::NotLoggedIn);
        };
        let (dialect, challenge) = (*dialect, challenge.take());
        if package != dialect.auth_package() {
            return Err(ProtocolError::Disabled);
        }
        if self.ctx.closing.is_closing() {
            info!("login refused: the server is going down for maintenance");
            self.ctx.metrics.login(method(&dialect), "closed");
            return Err(ProtocolError::GoingDown);
        }
        match (step, challenge) {
            (AuthStep::Initial(_), None) if self.role == Role::Dispatch => {
                Ok(Outcome::hang_up(vec![self.xfr_ns(tr, &dialect)], "sent to the notification server"))
            }
            (AuthStep::Initial(email), None) => self.challenge(tr, dialect, email).await,
            (AuthStep::Subsequent(response), Some(challenge)) => {
                self.authenticate(tr, dialect, *challenge, &response).await
            }
            _ => Err(ProtocolError::AuthFailed),
        }
    }

    /// `XFR tr NS host:port ..` to this server's notification port.
    fn xfr_ns(&self, tr: TrId, dialect: &Dialect) -> Reply {
        let to = public_address(&self.ctx, self.peer.local, self.ctx.ports.notification);
        let from = public_address(&self.ctx, self.peer.local, self.peer.local.port());
        debug!(version = %dialect, to, "handed off to the notification server");
        render::xfr_ns(tr, dialect, &to, &from)
    }

    /// `USR tr MD5 I handle` → `USR tr MD5 S salt`; `USR tr TWN I handle` → the Passport
    /// challenge string. An unknown account gets a stand-in salt, stable per handle, so
    /// the answer does not tell whether the account exists.
    async fn challenge(
        &mut self,
        tr: TrId,
        dialect: Dialect,
        email: Email,
    ) -> Result<Outcome, ProtocolError> {
        let lookup = self.ctx.store.user(&email);
        let user = self.ctx.metrics.timed("account", lookup).await.map_err(internal)?;
        let challenge = match dialect.login {
            Login::Md5 => match &user {
                Some(user) => user.md5_salt.clone(),
                None => self.stand_in_salt(&email),
            },
            Login::Twn => render::twn_challenge(unix_now(), &random_token()),
        };
        self.phase = Phase::Negotiated { dialect, challenge: Some(Box::new(Challenge { email, user })) };
        let reply = render::usr_challenge(tr, &dialect, &challenge);
        Ok(Outcome::reply(reply))
    }

    fn stand_in_salt(&self, email: &Email) -> String {
        let digest = md5_hex(&[&self.ctx.secret, email.as_str().as_bytes()]);
        let digits: String = digest.bytes().take(19).map(|b| char::from(b'0' + b % 10)).collect();
        format!("{}.{}", &digits[..10], &digits[10..])
    }

    /// `USR tr pkg S response`: checks the response, then logs in or answers `911`.
    async fn authenticate(
        &mut self,
        tr: TrId,
        dialect: Dialect,
        challenge: Challenge,
        response: &str,
    ) -> Result<Outcome, ProtocolError> {
        let throttle = &self.ctx.login_throttle;
        let ip = self.peer.remote.ip();
        let metrics = &self.ctx.metrics;
        if !throttle.allows(&ip) {
            info!(user = %challenge.email, "login refused: too many failed logins from this address");
            metrics.login(method(&dialect), "throttled");
            return Err(ProtocolError::AuthFailed);
        }
        let (user, mspauth) = match dialect.login {
            Login::Md5 => {
                let digests =
                    |u: &User| md5_response_matches(response, &u.md5_digest, u.md5_digest_latin1.as_deref());
                (challenge.user.filter(digests), format!("{}$$", random_token()))
            }
            // A ticket from the Passport service, redeemed once, for the account of
            // `USR TWN I`; it is also the profile's MSPAuth.
            Login::Twn => {
                let ticket = tickets::ticket_of(response);
                let owner = self.ctx.tickets.redeem(ticket);
                let issued_to = |u: &User| owner.is_some_and(|o| o.user_id == u.id && o.email == u.email);
                (challenge.user.filter(issued_to), ticket.to_owned())
            }
        };
        // The account as it is now: deleted, disabled or given a new password since `USR I`
        // (the operator ending its sessions meanwhile), it is refused.
        let user = match user {
            Some(then) => {
                let lookup = self.ctx.store.user(&then.email);
                let now = metrics.timed("account", lookup).await.map_err(internal)?;
                now.filter(|u| {
                    u.id == then.id && u.md5_salt == then.md5_salt && u.md5_digest == then.md5_digest
                })
            }
            None => None,
        };
        match user {
            // The right password for a disabled account: refused like a wrong one.
            Some(user) if user.disabled => {
                info!(user = %user.email, version = %dialect, "login refused: account disabled");
                metrics.login(method(&dialect), "disabled");
                Err(ProtocolError::AuthFailed)
            }
            Some(user) => self.logged_in_as(tr, dialect, user, &mspauth).await,
            None => {
                info!(user = %challenge.email, version = %dialect, "login failed");
                metrics.login(method(&dialect), "failed");
                throttle.count(ip);
                Err(ProtocolError::AuthFailed)
            }
        }
    }

    /// Kicks an older session of the account, then `USR OK`, the profile and (MSNP3+) the
    /// initial e-mail notification.
    async fn logged_in_as(
        &mut self,
        tr: TrId,
        dialect: Dialect,
        user: User,
        mspauth: &str,
    ) -> Result<Outcome, ProtocolError> {
        // Registered before the lists are read, so news that races the login is queued
        // in this session's mailbox rather than lost.
        let presence = &self.ctx.presence;
        let about = About {
            email: user.email.clone(),
            dialect,
            client: self.client.take(),
            address: self.peer.remote,
            since: SystemTime::now(),
        };
        presence.sign_in(user.id, self.session.clone(), about);
        let metrics = &self.ctx.metrics;
        let snapshot = match metrics.timed("lists", self.ctx.store.snapshot(user.id)).await {
            Ok(snapshot) => snapshot,
            Err(e) => {
                presence.sign_out(user.id, self.session.conn);
                return Err(internal(e));
            }
        };
        presence.set_lists(user.id, self.session.conn, Lists::from(&snapshot));
        let profile = Profile {
            login_time: unix_now(),
            email: &user.email,
            member_id: user.id.0,
            mspauth,
            client: self.peer.remote,
        };
        let mut replies = vec![render::usr_ok(tr, &dialect, &user.email, &user.friendly_name)];
        if dialect.sbs {
            replies.push(render::sbs());
        }
        replies.push(render::profile(&dialect, &profile));
        if dialect.initial_email {
            replies.push(render::initial_mailbox(&dialect));
        }
        info!(user = %user.email, version = %dialect, "logged in");
        metrics.login(method(&dialect), "ok");
        let personal = user.personal_message.as_deref().map(Arc::from);
        self.phase = Phase::Online(Box::new(Online {
            ctx: self.ctx.clone(),
            conn: self.session.conn,
            local: self.peer.local,
            dialect,
            user,
            held: Some(Box::new(snapshot)),
            status: None,
            caps: 0,
            object: None,
            personal,
            challenges: Schedule::default(),
        }));
        Ok(Outcome::replies(replies))
    }
}
