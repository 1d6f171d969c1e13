//! Passport tickets: issued by `login2.srf` or `RST.srf` after a password check, redeemed
//! once by the notification server in `USR tr TWN S t=<ticket>&p=`. In memory only: a
//! ticket lives for seconds, and a restart merely makes a client log in again.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::protocol::Email;
use crate::store::UserId;

/// The characters of real Passport tokens; none needs escaping on an MSNP line or in a
/// URL-ish `t=..&p=..` string.
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*$";

/// Token length: 32 characters of a 65-letter alphabet carry about 192 random bits.
const TOKEN_CHARS: usize = 32;

/// The account a ticket was issued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketOwner {
    pub user_id: UserId,
    pub email: Email,
}

/// Outstanding tickets: unguessable, bound to one account, short-lived and single-use.
pub struct Tickets {
    ttl: Duration,
    issued: Mutex<HashMap<String, Issued>>,
}

struct Issued {
    owner: TicketOwner,
    expires: Instant,
}

impl Tickets {
    /// A registry whose tickets expire `ttl` after issue.
    pub fn new(ttl: Duration) -> Tickets {
        Tickets { ttl, issued: Mutex::default() }
    }

    /// Issues a fresh ticket for `owner` (and forgets expired ones).
    pub fn issue(&self, owner: TicketOwner) -> String {
        let now = Instant::now();
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        issued.retain(|_, ticket| ticket.expires > now);
        let token = loop {
            let token = new_token();
            if !issued.contains_key(&token) {
                break token;
            }
        };
        issued.insert(token.clone(), Issued { owner, expires: now + self.ttl });
        token
    }

    /// The owner of `token` if it was issued and has not expired; either way the token is
    /// used up.
    pub fn redeem(&self, token: &str) -> Option<TicketOwner> {
        let ticket = self.issued.lock().unwrap_or_else(|p| p.into_inner()).remove(token)?;
        (Instant::now() < ticket.expires).then_some(ticket.owner)
    }

    /// Withdraws every outstanding ticket of `user` (its password changed, or it was
    /// disabled or deleted).
    pub fn revoke(&self, user: UserId) {
        self.issued.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, t| t.owner.user_id != user);
    }

    fn len(&self) -> usize {
        self.issued.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Tickets are secrets: show only how many there are.
impl fmt::Debug for Tickets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tickets").field("ttl", &self.ttl).field("outstanding", &self.len()).finish()
    }
}

fn new_token() -> String {
    let mut rng = rand::thread_rng();
    (0..TOKEN_CHARS).map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())])).collect()
}

/// The ticket in the argument of `USR tr TWN S t=<ticket>&p=<profile>`: a leading `t=`
/// stripped, cut at `&`.
pub fn ticket_of(response: &str) -> &str {
    let token = response.strip_prefix("t=").unwrap_or(response);
    token.split('&').next().unwrap_or(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ticket_is_the_t_value() {
        assert_eq!(ticket_of("t=abc$$&p=def"), "abc$$");
        assert_eq!(ticket_of("t=abc"), "abc");
        assert_eq!(ticket_of("abc&p="), "abc");
        assert_eq!(ticket_of(""), "");
    }

    fn alice() -> TicketOwner {
        TicketOwner { user_id: UserId(1), email: "alice@example.com".parse().unwrap() }
    }

    #[test]
    fn tokens_are_long_random_and_safe_on_the_wire() {
        let tickets = Tickets::new(Duration::from_secs(60));
        let a = tickets.issue(alice());
        let b = tickets.issue(alice());
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_CHARS);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)), "{a}");
        assert!(!format!("{tickets:?}").contains(&a), "Debug shows no token");
    }

    #[test]
    fn a_ticket_is_redeemed_once() {
        let tickets = Tickets::new(Duration::from_secs(60));
        let token = tickets.issue(alice());
        assert_eq!(tickets.redeem("not-issued"), None);
        assert_eq!(tickets.redeem(&token), Some(alice()));
        assert_eq!(tickets.redeem(&token), None);
    }

    #[test]
    fn expired_tickets_are_refused_and_purged() {
        let tickets = Tickets::new(Duration::ZERO);
        let token = tickets.issue(alice());
        assert_eq!(tickets.redeem(&token), None);
        tickets.issue(alice());
        tickets.issue(alice());
        assert_eq!(tickets.len(), 1, "issuing purges the expired ones");
    }
}
