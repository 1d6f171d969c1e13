//! CHL/QRY (MSNP6–8): the server challenges, the client proves it is a known build by
//! answering `md5(challenge + private key)` in time.

use tokio::time::Instant;
use tracing::info;

use crate::config::Challenges as Config;
use crate::conn::Outcome;
use crate::credentials::{md5_hex, random_digits};
use crate::protocol::{render, ProtocolError, Reply, TrId};

/// When a session is challenged next, and the challenge it has yet to answer.
#[derive(Debug, Default)]
pub(super) struct Schedule {
    /// The challenge awaiting an answer, and by when.
    outstanding: Option<(String, Instant)>,
    /// When to send the next periodic one.
    next: Option<Instant>,
}

impl Schedule {
    /// A fresh challenge (`CHL tr c`; `tr` 0 when the server starts it).
    pub fn issue(&mut self, tr: TrId, config: &Config) -> Reply {
        let challenge = random_digits(20);
        let now = Instant::now();
        self.outstanding = Some((challenge.clone(), now + config.timeout()));
        self.next = config.enabled.then(|| now + config.interval());
        render::chl(tr, &challenge)
    }

    /// `QRY tr client-id 32` + answer: `QRY tr` if right; `540` and hang up if wrong, from
    /// an unknown client id, or not asked for.
    pub fn answer(
        &mut self,
        tr: TrId,
        client_id: &str,
        response: &[u8],
        config: &Config,
    ) -> Result<Outcome, ProtocolError> {
        let (challenge, _) = self.outstanding.take().ok_or(ProtocolError::ChallengeFailed)?;
        let key = config.key(client_id).ok_or_else(|| {
            info!(client_id, "challenge answered by an unknown client id");
            ProtocolError::ChallengeFailed
        })?;
        let expected = md5_hex(&[challenge.as_bytes(), key.as_bytes()]);
        if !response.eq_ignore_ascii_case(expected.as_bytes()) {
            info!(client_id, "wrong challenge answer");
            return Err(ProtocolError::ChallengeFailed);
        }
        Ok(Outcome::reply(render::qry(tr)))
    }

    /// When something is due: an answer's deadline or the next challenge.
    pub fn deadline(&self) -> Option<Instant> {
        let answer_due = self.outstanding.as_ref().map(|(_, due)| *due);
        match (answer_due, self.next) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// An unanswered challenge ends the session (`OUT`); otherwise the next one is sent.
    pub fn on_timer(&mut self, config: &Config) -> Outcome {
        let now = Instant::now();
        if self.outstanding.as_ref().is_some_and(|(_, due)| *due <= now) {
            info!("challenge not answered in time");
            return Outcome::hang_up(vec![render::out()], "challenge not answered in time");
        }
        if self.next.is_some_and(|next| next <= now) {
            return Outcome::reply(self.issue(TrId(0), config));
        }
        Outcome::default()
    }
}
