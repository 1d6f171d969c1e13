//! What the server counts, in Prometheus' text exposition (prometheus-client): one
//! [`Metrics`] per server, no global registry, so that two servers in one process (the
//! tests) count apart. Counters are bumped where things happen; the gauges of what is
//! online are read from the registries when scraped ([`Gauges`]), so they cannot drift.

use std::future::Future;
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Metric, Registry};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Login {
    /// `md5` or `twn` (the notification server's step of a Passport login).
    pub method: &'static str,
    /// `ok`, `failed`, `disabled`, `throttled` or `closed` (maintenance).
    pub result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Connection {
    pub service: &'static str,
    /// `accepted`, or why it was refused.
    pub result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Outcome {
    /// `nexus`, `login2` (Passport 1.4) or `rst` (the SOAP login).
    pub endpoint: &'static str,
    pub result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Tls {
    pub version: String,
    pub cipher: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Query {
    /// What the database was asked: `account` (the login's lookup), `lists` (read at
    /// login), `list_change` (ADD and REM), `health` (`/healthz`).
    pub query: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Version {
    pub version: String,
}

type Latency = Family<Query, Histogram, fn() -> Histogram>;

/// Every metric of one server.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// One scrape at a time: each sets the gauges, then encodes them.
    scraping: std::sync::Mutex<()>,
    pub logins: Family<Login, Counter>,
    pub connections: Family<Connection, Counter>,
    pub chats_opened: Counter,
    pub chat_joins: Counter,
    pub messages_relayed: Counter,
    pub presence_notifications: Counter,
    pub passport_requests: Family<Outcome, Counter>,
    pub tls_handshakes: Family<Tls, Counter>,
    pub database: Latency,
    sessions: Family<Version, Gauge>,
    chats: Gauge,
    participants: Gauge,
}

/// What is online at the moment of a scrape, as the registries count it.
#[derive(Debug, Default)]
pub struct Gauges {
    /// Notification sessions per protocol version (e.g. `MSNP8`).
    pub sessions: Vec<(String, i64)>,
    pub chats: i64,
    pub participants: i64,
}

/// Database latency buckets: 0.1 ms to about 3 s.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

/// `metric`, registered in `r` under `name` with `help`.
fn registered<M: Metric + Clone>(r: &mut Registry, name: &str, help: &str, metric: M) -> M {
    r.register(name, help, metric.clone());
    metric
}

impl Default for Metrics {
    fn default() -> Metrics {
        let r = &mut Registry::with_prefix("msnd");
        let latency = Family::new_with_constructor(latency as fn() -> Histogram);
        Metrics {
            logins: registered(
                r,
                "logins",
                "Notification-server logins by method and result",
                Family::default(),
            ),
            connections: registered(
                r,
                "connections",
                "Connections by service, accepted or refused (and why)",
                Family::default(),
            ),
            chats_opened: registered(r, "chats_opened", "Switchboard sessions opened", Counter::default()),
            chat_joins: registered(
                r,
                "chat_joins",
                "Participants who joined a chat, its opener included",
                Counter::default(),
            ),
            messages_relayed: registered(
                r,
                "messages_relayed",
                "Switchboard messages delivered to a participant",
                Counter::default(),
            ),
            presence_notifications: registered(
                r,
                "presence_notifications",
                "NLN and FLN lines sent to watchers",
                Counter::default(),
            ),
            passport_requests: registered(
                r,
                "passport_requests",
                "Passport requests by endpoint and result",
                Family::default(),
            ),
            tls_handshakes: registered(
                r,
                "tls_handshakes",
                "Completed TLS handshakes by version and cipher",
                Family::default(),
            ),
            database: registered(r, "database_seconds", "Database latency by query", latency),
            sessions: registered(
                r,
                "sessions",
                "Notification sessions online by protocol version",
                Family::default(),
            ),
            chats: registered(r, "chats", "Switchboard sessions running", Gauge::default()),
            participants: registered(
                r,
                "chat_participants",
                "Participants in all running chats",
                Gauge::default(),
            ),
            scraping: std::sync::Mutex::new(()),
            registry: std::mem::take(r),
        }
    }
}

impl Metrics {
    /// Counts a login's result.
    pub fn login(&self, method: &'static str, result: &'static str) {
        self.logins.get_or_create(&Login { method, result }).inc();
    }

    pub fn connection(&self, service: &'static str, result: &'static str) {
        self.connections.get_or_create(&Connection { service, result }).inc();
    }

    pub fn passport(&self, endpoint: &'static str, result: &'static str) {
        self.passport_requests.get_or_create(&Outcome { endpoint, result }).inc();
    }

    pub fn tls(&self, version: &str, cipher: &str) {
        let labels = Tls { version: version.to_owned(), cipher: cipher.to_owned() };
        self.tls_handshakes.get_or_create(&labels).inc();
    }

    /// Runs a database call, recording how long it took under `query`.
    pub async fn timed<T>(&self, query: &'static str, call: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let result = call.await;
        self.database.get_or_create(&Query { query }).observe(started.elapsed().as_secs_f64());
        result
    }

    /// The exposition text, with the gauges set to `now`.
    pub fn render(&self, now: Gauges) -> String {
        let _one = self.scraping.lock().unwrap_or_else(|p| p.into_inner());
        self.sessions.clear();
        for (version, count) in now.sessions {
            self.sessions.get_or_create(&Version { version }).set(count);
        }
        self.chats.set(now.chats);
        self.participants.set(now.participants);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_gauges_appear_in_the_exposition() {
        let m = Metrics::default();
        m.login("md5", "ok");
        m.login("md5", "ok");
        m.messages_relayed.inc();
        let text = m.render(Gauges { sessions: vec![("MSNP8".into(), 3)], chats: 1, participants: 2 });
        assert!(text.contains("msnd_logins_total{method=\"md5\",result=\"ok\"} 2"), "{text}");
        assert!(text.contains("msnd_messages_relayed_total 1"), "{text}");
        assert!(text.contains("msnd_sessions{version=\"MSNP8\"} 3"), "{text}");
        assert!(text.contains("msnd_chat_participants 2"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
