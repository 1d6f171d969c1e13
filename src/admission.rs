//! Connection caps: in total, per source address, and for connections that have not
//! logged in yet. A connection that has not logged in must never keep a logged-in user
//! out, so when either cap is reached the oldest connection still waiting to log in is
//! dropped to make room; only when every place is taken by logged-in sessions is a new
//! connection refused.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio_util::sync::CancellationToken;

pub use crate::protocol::view::ConnId;

/// Whether a maintenance shutdown has begun: from then on nobody new logs in. Cloning
/// shares the flag.
#[derive(Debug, Clone, Default)]
pub struct Closing(Arc<AtomicBool>);

impl Closing {
    /// Begins it; false if it had begun already.
    pub fn begin(&self) -> bool {
        !self.0.swap(true, Ordering::AcqRel)
    }

    pub fn is_closing(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The caps, shared by every listener.
#[derive(Debug, Clone)]
pub struct Gate {
    state: Arc<Mutex<State>>,
    caps: Caps,
}

/// How many connections may be held at once.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub total: usize,
    pub per_ip: usize,
    /// Connections not (yet) logged in: Passport requests and logins in progress.
    pub unauthenticated: usize,
}

#[derive(Debug, Default)]
struct State {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
    /// Connections not logged in yet, oldest first, with the token that drops each.
    waiting: BTreeMap<ConnId, (IpAddr, CancellationToken)>,
    /// Connections dropped to make room: their places were already given back.
    evicted: HashSet<ConnId>,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The address holds `per_ip` connections already.
    PerAddress,
    /// Every place is held by a logged-in session.
    Full,
}

impl Refused {
    /// The reason as the connection metrics label it.
    pub fn label(self) -> &'static str {
        match self {
            Refused::PerAddress => "refused_per_address",
            Refused::Full => "refused_full",
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Refused::PerAddress => "limits.max_connections_per_ip reached",
            Refused::Full => "limits.max_connections reached by logged-in sessions",
        }
    }
}

/// A connection's place under the caps, given back when dropped.
#[derive(Debug)]
pub struct Admission {
    state: Arc<Mutex<State>>,
    conn: ConnId,
    ip: IpAddr,
}

impl Gate {
    pub fn new(caps: Caps) -> Gate {
        Gate { state: Arc::default(), caps }
    }

    /// Admits connection `conn` from `ip`, counted as not logged in; `kill` drops it if its
    /// place is needed later. May drop the oldest waiting connection to make room.
    pub fn admit(&self, conn: ConnId, ip: IpAddr, kill: CancellationToken) -> Result<Admission, Refused> {
        let mut state = lock(&self.state);
        if state.per_ip.get(&ip).copied().unwrap_or(0) >= self.caps.per_ip {
            return Err(Refused::PerAddress);
        }
        while state.total >= self.caps.total || state.waiting.len() >= self.caps.unauthenticated {
            let Some((oldest, (its_ip, its_kill))) = state.waiting.pop_first() else {
                return Err(Refused::Full);
            };
            its_kill.cancel();
            state.release(its_ip);
            state.evicted.insert(oldest);
        }
        state.total += 1;
        *state.per_ip.entry(ip).or_insert(0) += 1;
        state.waiting.insert(conn, (ip, kill));
        Ok(Admission { state: self.state.clone(), conn, ip })
    }

    /// Connections held now: (all, not logged in).
    pub fn counts(&self) -> (usize, usize) {
        let state = lock(&self.state);
        (state.total, state.waiting.len())
    }
}

impl Admission {
    /// The connection has logged in: it can no longer be dropped to make room.
    pub fn logged_in(&self) {
        lock(&self.state).waiting.remove(&self.conn);
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut state = lock(&self.state);
        if state.evicted.remove(&self.conn) {
            return;
        }
        state.waiting.remove(&self.conn);
        state.release(self.ip);
    }
}

impl State {
    fn release(&mut self, ip: IpAddr) {
        self.total -= 1;
        if let Some(count) = self.per_ip.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                self.per_ip.remove(&ip);
            }
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // Every change completes under the lock, so a poisoned state is still whole.
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn caps_count_in_total_and_per_address() {
        let gate = Gate::new(Caps { total: 3, per_ip: 2, unauthenticated: 3 });
        let token = CancellationToken::new;
        let first = gate.admit(ConnId(1), ip(1), token()).unwrap();
        let second = gate.admit(ConnId(2), ip(1), token()).unwrap();
        assert_eq!(gate.admit(ConnId(3), ip(1), token()).unwrap_err(), Refused::PerAddress);
        let third = gate.admit(ConnId(4), ip(2), token()).unwrap();
        for admission in [&first, &second, &third] {
            admission.logged_in();
        }
        assert_eq!(gate.admit(ConnId(5), ip(3), token()).unwrap_err(), Refused::Full, "all logged in");
        drop(first);
        assert!(gate.admit(ConnId(6), ip(1), token()).is_ok(), "a closed connection frees its place");
    }

    #[test]
    fn the_oldest_waiting_connection_makes_room() {
        let gate = Gate::new(Caps { total: 2, per_ip: 10, unauthenticated: 2 });
        let (idle_a, idle_b) = (CancellationToken::new(), CancellationToken::new());
        let a = gate.admit(ConnId(1), ip(1), idle_a.clone()).unwrap();
        let _b = gate.admit(ConnId(2), ip(1), idle_b.clone()).unwrap();
        let c = gate.admit(ConnId(3), ip(2), CancellationToken::new()).unwrap();
        assert!(idle_a.is_cancelled() && !idle_b.is_cancelled(), "full: the oldest waiting one goes");
        c.logged_in();
        let _d = gate.admit(ConnId(4), ip(2), CancellationToken::new()).unwrap();
        assert!(idle_b.is_cancelled(), "and then the next oldest, never a logged-in one");
        assert_eq!(gate.counts(), (2, 1));
        drop(a);
        assert_eq!(gate.counts(), (2, 1), "an evicted connection's place was already given back");
    }

    #[test]
    fn waiting_connections_have_a_cap_of_their_own() {
        let gate = Gate::new(Caps { total: 10, per_ip: 10, unauthenticated: 1 });
        let first = CancellationToken::new();
        let _x = gate.admit(ConnId(1), ip(1), first.clone()).unwrap();
        let _y = gate.admit(ConnId(2), ip(1), CancellationToken::new()).unwrap();
        assert!(first.is_cancelled());
        assert_eq!(gate.counts(), (1, 1));
    }
}
