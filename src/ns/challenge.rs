//! CHL/QRY (MSNP6+): the server challenges, the client proves it is a known build by
//! answering in time: `md5(challenge + private key)` up to MSNP10, the MSNP11 algorithm
//! keyed by its product id from MSNP11.

use tokio::time::Instant;
use tracing::info;

use crate::config::Challenges as Config;
use crate::conn::Outcome;
use crate::credentials::{md5_hex, msnp11_challenge_answer, random_digits};
use crate::protocol::{render, Dialect, ProtocolError, Reply, TrId};

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
    /// an unknown client id, or not asked for. MSNP11 and later accept an unknown product
    /// id (logged): which official build sends which id is not known for certain.
    pub fn answer(
        &mut self,
        tr: TrId,
        dialect: &Dialect,
        client_id: &str,
        response: &[u8],
        config: &Config,
    ) -> Result<Outcome, ProtocolError> {
        let (challenge, _) = self.outstanding.take().ok_or(ProtocolError::ChallengeFailed)?;
        let keys =
            if dialect.product_challenges { config.product_key(client_id) } else { config.key(client_id) };
        let Some(key) = keys else {
            info!(client_id, "challenge answered by an unknown client id");
            return match dialect.product_challenges {
                true => Ok(Outcome::reply(render::qry(tr))),
                false => Err(ProtocolError::ChallengeFailed),
            };
        };
        let expected = match dialect.product_challenges {
            true => msnp11_challenge_answer(&challenge, client_id, key),
            false => md5_hex(&[challenge.as_bytes(), key.as_bytes()]),
        };
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
