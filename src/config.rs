//! Configuration: TOML whose every key is optional. The defaults are `config/msnd.toml`,
//! embedded in the binary, so the example file and the defaults cannot drift apart.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use crate::protocol::Dialect;

/// The example configuration, which is also the complete set of defaults.
pub const DEFAULTS: &str = include_str!("../config/msnd.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: {source}")]
    Parse { path: String, source: toml::de::Error },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where msnd keeps its files; empty is the working directory.
    pub data_dir: PathBuf,
    /// The database; [`Config::load`] fills in `msnd.db` in `data_dir` when it is empty.
    pub database_url: String,
    pub public_host: String,
    pub listen: Listen,
    pub limits: Limits,
    pub switchboard: Switchboard,
    pub passport: Passport,
    pub client: ClientVersion,
    pub challenges: Challenges,
    pub urls: Urls,
    pub web: Web,
    pub admin: Admin,
}

/// The pages people use from a browser: sign-up and their account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Web {
    /// Empty: no pages are served.
    pub listen: String,
    /// How browsers reach the pages (`https://host`), for the nexus's `DAReg`, the links in
    /// notices and the admin page; empty: the listener's port on the host the client asked
    /// the nexus for (none when the pages listen on loopback).
    pub public_url: String,
    /// Proxies whose requests count by the last address in their `X-Forwarded-For`
    /// header rather than their own.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub registration: Registration,
    /// Form submissions allowed per address within the window.
    pub forms_per_ip: u32,
    pub form_window_secs: u64,
    /// Days an invitation code stays valid.
    pub invite_days: u64,
    /// Connections each HTTP listener (pages, admin) holds at once, and how long one may
    /// stay open.
    pub max_connections: usize,
    pub connection_secs: u64,
    /// The sender's name and address that notices to MSNP2-4 clients show.
    pub notice_from: String,
    pub notice_address: String,
}

/// Who may create an account on the sign-up page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    Open,
    Invite,
    Closed,
}

/// The operator's interface to the running server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Admin {
    pub listen: SocketAddr,
    /// The file holding the admin token; empty: `admin-token` in the data directory,
    /// generated on first start.
    pub token_file: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listen {
    pub dispatch: SocketAddr,
    pub notification: SocketAddr,
    pub switchboard: SocketAddr,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub max_line_bytes: usize,
    pub max_payload_bytes: usize,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    pub idle_timeout_secs: u64,
    pub login_timeout_secs: u64,
    pub mailbox_size: usize,
    pub max_list_entries: usize,
    pub commands_per_sec: u32,
    pub command_burst: u32,
    pub login_failures_per_ip: u32,
    pub login_failure_window_secs: u64,
    pub max_unauthenticated: usize,
    pub first_command_timeout_secs: u64,
    pub command_timeout_secs: u64,
    pub list_changes_per_minute: u32,
    pub list_notices_per_minute: u32,
    pub passport_attempts_per_ip: u32,
    pub passport_attempts_per_account: u32,
    pub passport_attempt_window_secs: u64,
    pub passport_queue: usize,
    pub passport_queue_timeout_secs: u64,
}

impl Limits {
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }

    pub fn login_timeout(&self) -> Duration {
        Duration::from_secs(self.login_timeout_secs)
    }

    /// How long an MSNP9 client is told to wait before its next `PNG` (`QNG seconds`): a
    /// minute, or less when the idle timeout would not leave twice that.
    pub fn ping_interval(&self) -> Duration {
        (self.idle_timeout() / 2).clamp(Duration::from_secs(1), Duration::from_secs(60))
    }
}

/// Chats.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Switchboard {
    pub cookie_ttl_secs: u64,
    pub max_participants: usize,
    /// Seconds a chat may go without any message in either direction.
    pub idle_timeout_secs: u64,
}

/// The Passport 1.4 service: MSNP8 login over HTTPS (and plain HTTP).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Passport {
    pub http: SocketAddr,
    pub https: SocketAddr,
    /// `host[:port]` named as DALogin; empty: the `Host` the client asked for.
    pub public_host: String,
    pub ticket_ttl_secs: u64,
    /// PEM certificate (chain) and key; both empty: a generated self-signed pair.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Extra names (or IP addresses) for the generated certificate.
    pub cert_names: Vec<String>,
    pub tls_min_version: TlsVersion,
    pub tls_max_version: TlsVersion,
    /// OpenSSL cipher list for TLS 1.2 and older.
    pub ciphers: String,
    /// Largest request body read (an RST login's SOAP envelope); larger ones get `413`.
    pub max_body_bytes: usize,
}

/// A TLS protocol version, written `"1.0"` to `"1.3"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub enum TlsVersion {
    #[serde(rename = "1.0")]
    Tls10,
    #[serde(rename = "1.1")]
    Tls11,
    #[serde(rename = "1.2")]
    Tls12,
    #[serde(rename = "1.3")]
    Tls13,
}

impl Passport {
    /// The first thing wrong with these settings, if any.
    fn problem(&self) -> Option<&'static str> {
        let public_host_ok = self.public_host.is_empty() || is_host(&self.public_host);
        let names_ok = self.cert_names.iter().all(|n| is_host(n));
        let pair_ok = self.cert.as_os_str().is_empty() == self.key.as_os_str().is_empty();
        let checks = [
            (self.ticket_ttl_secs >= 1, "passport.ticket_ttl_secs must be at least 1"),
            (public_host_ok, "passport.public_host must be a host[:port], without spaces, commas or slashes"),
            (names_ok, "passport.cert_names must be host names or IP addresses"),
            (pair_ok, "passport.cert and passport.key must be set together"),
            (self.tls_min_version <= self.tls_max_version, "passport.tls_min_version is above the max"),
            (!self.ciphers.trim().is_empty(), "passport.ciphers must not be empty"),
            (
                (MIN_BODY_BYTES..=MAX_BODY_BYTES).contains(&self.max_body_bytes),
                "passport.max_body_bytes must be between 1024 and 1048576",
            ),
        ];
        checks.iter().find(|(ok, _)| !ok).map(|(_, message)| *message)
    }
}

/// Bounds of `passport.max_body_bytes`: an RST request is 2–3 KiB, and one body of this
/// size may be held per Passport connection.
const MIN_BODY_BYTES: usize = 1024;
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A host name or address, perhaps with a port: nothing that would break a header's list.
fn is_host(host: &str) -> bool {
    !host.is_empty() && !host.contains(|c: char| c.is_whitespace() || ",/'\"".contains(c))
}

/// What `CVR` and `CVQ` answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientVersion {
    pub download_url: String,
    pub info_url: String,
}

/// CHL/QRY challenges.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Challenges {
    pub enabled: bool,
    pub interval_secs: u64,
    pub timeout_secs: u64,
    /// Client ids whose answer is `md5(challenge + key)` (MSNP6–10).
    pub keys: Vec<ChallengeKey>,
    /// Product ids whose answer is [`crate::credentials::msnp11_challenge_answer`]
    /// (MSNP11 and 12).
    pub products: Vec<ChallengeKey>,
}

impl Challenges {
    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.interval_secs)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// The private key of a client id, if accepted (MSNP6–10).
    pub fn key(&self, client_id: &str) -> Option<&str> {
        find_key(&self.keys, client_id)
    }

    /// The product key of a product id, if accepted (MSNP11 and 12).
    pub fn product_key(&self, product_id: &str) -> Option<&str> {
        find_key(&self.products, product_id)
    }

    /// The first thing wrong with these settings, if any.
    fn problem(&self) -> Option<&'static str> {
        let checks = [
            (self.interval_secs >= 1, "challenges.interval_secs must be at least 1"),
            (self.timeout_secs >= 1, "challenges.timeout_secs must be at least 1"),
            (
                self.interval_secs > self.timeout_secs,
                "challenges.interval_secs must be longer than challenges.timeout_secs",
            ),
            (
                keys_ok(&self.keys),
                "challenges.keys: each id must be one word and each key non-empty, ids listed once",
            ),
            (
                keys_ok(&self.products),
                "challenges.products: each id must be one word and each key non-empty, ids listed once",
            ),
        ];
        checks.iter().find(|(ok, _)| !ok).map(|(_, message)| *message)
    }
}

fn find_key<'a>(keys: &'a [ChallengeKey], id: &str) -> Option<&'a str> {
    keys.iter().find(|k| k.id == id).map(|k| k.key.as_str())
}

/// Whether every id could be sent in `QRY` (one word) and is listed once, with a key.
fn keys_ok(keys: &[ChallengeKey]) -> bool {
    let one_word = |id: &str| !id.is_empty() && !id.contains(|c: char| c.is_whitespace() || c.is_control());
    keys.iter().enumerate().all(|(i, k)| {
        one_word(&k.id) && !k.key.is_empty() && keys[..i].iter().all(|earlier| earlier.id != k.id)
    })
}

/// A client (or product) id and the secret key its challenge answers are computed with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeKey {
    pub id: String,
    pub key: String,
}

/// The answers to `URL` requests.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Urls {
    pub login: String,
    pub services: BTreeMap<String, String>,
}

impl Default for Config {
    fn default() -> Self {
        Self::from_toml(DEFAULTS, "built-in defaults").expect("the embedded defaults are valid")
    }
}

impl Config {
    /// Reads `path` (or uses the defaults alone when there is none), with `data_dir` in
    /// place of the file's when given.
    pub fn load(path: Option<&Path>, data_dir: Option<&Path>) -> Result<Config, ConfigError> {
        let (text, name) = match path {
            Some(path) => {
                let name = path.display().to_string();
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: name.clone(), source })?;
                (text, name)
            }
            None => (String::new(), "built-in defaults".to_owned()),
        };
        let mut config = Self::parse(&text, &name)?;
        if let Some(dir) = data_dir {
            config.data_dir = dir.to_owned();
        }
        Ok(config.placed())
    }

    /// Where a file of msnd's own goes: in the data directory, or (when none is set) beside
    /// the database.
    pub fn data_file(&self, name: &str) -> PathBuf {
        match &self.data_dir {
            dir if dir.as_os_str().is_empty() => database_dir(&self.database_url).join(name),
            dir => dir.join(name),
        }
    }

    /// The admin token's file.
    pub fn admin_token_file(&self) -> PathBuf {
        match &self.admin.token_file {
            file if file.as_os_str().is_empty() => self.data_file("admin-token"),
            file => file.clone(),
        }
    }

    /// The web pages' address as browsers reach it.
    pub fn web_url(&self, bound: Option<SocketAddr>) -> String {
        match (self.web.public_url.as_str(), bound) {
            ("", Some(addr)) => format!("http://{addr}"),
            (url, _) => url.trim_end_matches('/').to_owned(),
        }
    }

    /// The database in the data directory unless configured elsewhere.
    fn placed(mut self) -> Config {
        if self.database_url.is_empty() {
            self.database_url = format!("sqlite://{}", self.data_dir.join("msnd.db").display());
        }
        self
    }

    /// Parses `text` laid over the defaults; `name` labels error messages.
    pub fn from_toml(text: &str, name: &str) -> Result<Config, ConfigError> {
        Ok(Self::parse(text, name)?.placed())
    }

    fn parse(text: &str, name: &str) -> Result<Config, ConfigError> {
        let parse_err = |source| ConfigError::Parse { path: name.to_owned(), source };
        let mut merged: toml::Table = DEFAULTS.parse().expect("the embedded defaults are TOML");
        overlay(&mut merged, text.parse().map_err(parse_err)?);
        let config: Config = toml::Value::Table(merged).try_into().map_err(parse_err)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        let checks = [
            (l.max_line_bytes >= 256, "limits.max_line_bytes must be at least 256"),
            (l.max_payload_bytes >= 32, "limits.max_payload_bytes must be at least 32"),
            (l.max_connections >= 1, "limits.max_connections must be at least 1"),
            (l.max_connections_per_ip >= 1, "limits.max_connections_per_ip must be at least 1"),
            (l.idle_timeout_secs >= 1, "limits.idle_timeout_secs must be at least 1"),
            (l.login_timeout_secs >= 1, "limits.login_timeout_secs must be at least 1"),
            (l.mailbox_size >= 1, "limits.mailbox_size must be at least 1"),
            (l.max_list_entries >= 1, "limits.max_list_entries must be at least 1"),
            (l.commands_per_sec >= 1, "limits.commands_per_sec must be at least 1"),
            (l.command_burst >= 1, "limits.command_burst must be at least 1"),
            (l.login_failures_per_ip >= 1, "limits.login_failures_per_ip must be at least 1"),
            (l.login_failure_window_secs >= 1, "limits.login_failure_window_secs must be at least 1"),
            (l.max_unauthenticated >= 1, "limits.max_unauthenticated must be at least 1"),
            (l.first_command_timeout_secs >= 1, "limits.first_command_timeout_secs must be at least 1"),
            (l.command_timeout_secs >= 1, "limits.command_timeout_secs must be at least 1"),
            (l.list_changes_per_minute >= 1, "limits.list_changes_per_minute must be at least 1"),
            (l.list_notices_per_minute >= 1, "limits.list_notices_per_minute must be at least 1"),
            (l.passport_attempts_per_ip >= 1, "limits.passport_attempts_per_ip must be at least 1"),
            (l.passport_attempts_per_account >= 1, "limits.passport_attempts_per_account must be at least 1"),
            (l.passport_attempt_window_secs >= 1, "limits.passport_attempt_window_secs must be at least 1"),
            (l.passport_queue >= 1, "limits.passport_queue must be at least 1"),
            (l.passport_queue_timeout_secs >= 1, "limits.passport_queue_timeout_secs must be at least 1"),
            (self.switchboard.idle_timeout_secs >= 1, "switchboard.idle_timeout_secs must be at least 1"),
            (self.switchboard.cookie_ttl_secs >= 1, "switchboard.cookie_ttl_secs must be at least 1"),
            (self.switchboard.max_participants >= 2, "switchboard.max_participants must be at least 2"),
            (!self.public_host.contains(char::is_whitespace), "public_host must not contain spaces"),
            (self.web.forms_per_ip >= 1, "web.forms_per_ip must be at least 1"),
            (self.web.form_window_secs >= 1, "web.form_window_secs must be at least 1"),
            (self.web.invite_days >= 1, "web.invite_days must be at least 1"),
            (self.web.max_connections >= 1, "web.max_connections must be at least 1"),
            (self.web.connection_secs >= 1, "web.connection_secs must be at least 1"),
            (
                self.web.listen.is_empty() || self.web.listen.parse::<SocketAddr>().is_ok(),
                "web.listen must be empty or an address:port",
            ),
        ];
        let problem = checks
            .iter()
            .find(|(ok, _)| !ok)
            .map(|(_, m)| *m)
            .or(self.passport.problem())
            .or(self.challenges.problem());
        if let Some(message) = problem {
            return Err(ConfigError::Invalid(message.to_owned()));
        }
        let known: Vec<&str> = Dialect::url_service_names().collect();
        match self.urls.services.keys().find(|s| !known.contains(&s.as_str())) {
            Some(unknown) => Err(ConfigError::Invalid(format!(
                "urls.services.{unknown} is not a URL service (known: {})",
                known.join(", ")
            ))),
            None => Ok(()),
        }
    }
}

/// An address a client on this machine reaches a listener at: a wildcard one is loopback.
pub fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port()))
        }
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, addr.port()))
        }
        _ => addr,
    }
}

/// The directory of an SQLite database URL's file ("" for the working directory).
fn database_dir(url: &str) -> PathBuf {
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok();
    let file = options.as_ref().map_or(Path::new(""), |o| o.get_filename());
    file.parent().unwrap_or(Path::new("")).to_path_buf()
}

/// Lays `top` over `base`, table by table; any other value replaces the default.
fn overlay(base: &mut toml::Table, top: toml::Table) {
    for (key, value) in top {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(value)) => overlay(inner, value),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_lives_in_the_data_directory_unless_named() {
        let in_dir = Config::from_toml("data_dir = \"/srv/msnd\"", "t").unwrap();
        assert_eq!(in_dir.database_url, "sqlite:///srv/msnd/msnd.db");
        let named =
            Config::from_toml("data_dir = \"/srv/msnd\"\ndatabase_url = \"sqlite://x.db\"", "t").unwrap();
        assert_eq!(named.database_url, "sqlite://x.db");
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = Config::default();
        assert_eq!(c.listen.dispatch.port(), 1863);
        assert_eq!(c.listen.notification.port(), 1864);
        assert_eq!(c.listen.switchboard.port(), 1865);
        assert_eq!(c.database_url, "sqlite://msnd.db");
        assert_eq!(c.limits.max_payload_bytes, 1664);
        assert_eq!(c.challenges.key("msmsgs@msnmsgr.com"), Some("Q1P7W2E4J9R8U3S5"));
        assert_eq!(c.challenges.key("PROD0038W!61ZTF9"), Some("VT6PX?UQTM4WM%YR"));
        let products = [
            ("PROD0090YUAUV{2B", "YMM8C_H7KCQ2S_KL"),
            ("PROD0101{0RM?UBW", "CFHUR$52U_{VIX5T"),
            ("PROD00974#MT*RC2", "LMCVO*18PQJ3H!K3"),
            ("PROD0104U6VVM{UJ", "VK67B}379XYM5}$T"),
        ];
        for (id, key) in products {
            assert_eq!(c.challenges.product_key(id), Some(key), "{id}");
        }
        assert_eq!(c.challenges.products.len(), 4);
        assert_eq!(c.challenges.key("PROD0090YUAUV{2B"), None, "MSNP11 ids answer differently");
        assert_eq!(c.challenges.product_key("msmsgs@msnmsgr.com"), None);
        for service in Dialect::url_service_names() {
            assert!(c.urls.services.contains_key(service), "{service} has no default URL");
        }
    }

    #[test]
    fn the_pages_and_the_admin_interface_listen_on_loopback_by_default() {
        let c = Config::default();
        let web: SocketAddr = c.web.listen.parse().unwrap();
        assert!(
            web.ip().is_loopback() && c.admin.listen.ip().is_loopback(),
            "passwords and tokens in the clear"
        );
        assert_eq!((web.port(), c.admin.listen.port()), (1880, 1868));
        assert_eq!(c.web.registration, Registration::Invite);
        assert_eq!(c.admin_token_file(), PathBuf::from("admin-token"));
        let placed = Config::from_toml("data_dir = \"/srv/msnd\"", "t").unwrap();
        assert_eq!(placed.admin_token_file(), PathBuf::from("/srv/msnd/admin-token"));
        let err = Config::from_toml("[web]\nregistration = \"maybe\"\n", "x.toml").unwrap_err();
        assert!(err.to_string().contains("maybe"), "{err}");
    }

    #[test]
    fn a_partial_file_overrides_only_its_keys() {
        let c = Config::from_toml("[limits]\nmax_connections = 5\n", "test").unwrap();
        assert_eq!(c.limits.max_connections, 5);
        assert_eq!(c.limits.max_line_bytes, 2048);
    }

    #[test]
    fn a_file_listing_challenge_pairs_replaces_the_defaults() {
        let file = "[[challenges.products]]\nid = \"PROD0113H11T8$X_\"\nkey = \"RG@XY*28Q5QHS%Q5\"\n";
        let c = Config::from_toml(file, "test").unwrap();
        assert_eq!(c.challenges.products.len(), 1);
        assert_eq!(c.challenges.product_key("PROD0113H11T8$X_"), Some("RG@XY*28Q5QHS%Q5"));
        assert_eq!(c.challenges.product_key("PROD0090YUAUV{2B"), None);
        assert_eq!(c.challenges.key("msmsgs@msnmsgr.com"), Some("Q1P7W2E4J9R8U3S5"), "keys untouched");
        let none = Config::from_toml("[challenges]\nproducts = []\nkeys = []\n", "test").unwrap();
        assert!(none.challenges.products.is_empty() && none.challenges.keys.is_empty());
        let bad = [
            ("products = [{ id = \"PROD 0090\", key = \"k\" }]", "challenges.products"),
            ("products = [{ id = \"\", key = \"k\" }]", "challenges.products"),
            ("products = [{ id = \"PROD0090YUAUV{2B\", key = \"\" }]", "challenges.products"),
            ("products = [{ id = \"a\", key = \"k\" }, { id = \"a\", key = \"l\" }]", "challenges.products"),
            ("products = [{ id = \"a\", secret = \"k\" }]", "secret"),
            ("keys = [{ id = \"a\\tb\", key = \"k\" }]", "challenges.keys"),
        ];
        for (toml, named) in bad {
            let err = Config::from_toml(&format!("[challenges]\n{toml}\n"), "x.toml").unwrap_err();
            assert!(err.to_string().contains(named), "{toml}: {err}");
        }
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let err = Config::from_toml("[limits]\nmax_conections = 5\n", "x.toml").unwrap_err();
        assert!(err.to_string().contains("max_conections"), "{err}");
        let err = Config::from_toml("colour = 1\n", "x.toml").unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        let err = Config::from_toml("[limits]\nmax_line_bytes = 3\n", "x.toml").unwrap_err();
        assert!(err.to_string().contains("max_line_bytes"), "{err}");
        let err = Config::from_toml("[urls.services]\nWEATHER = \"x\"\n", "x.toml").unwrap_err();
        assert!(err.to_string().contains("WEATHER"), "{err}");
        let err = Config::from_toml("[listen]\ndispatch = \"nowhere\"\n", "x.toml").unwrap_err();
        assert!(err.to_string().contains("x.toml"), "{err}");
    }

    #[test]
    fn passport_defaults_and_checks() {
        let p = Config::default().passport;
        assert_eq!((p.http.port(), p.https.port(), p.ticket_ttl_secs), (1866, 1867, 120));
        assert!(p.http.ip().is_loopback(), "passwords cross plain HTTP in the clear");
        assert_eq!((p.tls_min_version, p.tls_max_version), (TlsVersion::Tls10, TlsVersion::Tls13));
        assert!(p.ciphers.contains("DES-CBC3-SHA") && p.cert.as_os_str().is_empty());
        assert_eq!(p.max_body_bytes, 16 * 1024);
        let bad = [
            ("tls_min_version = \"1.2\"\ntls_max_version = \"1.1\"", "tls_min_version"),
            ("tls_min_version = \"3.0\"", "3.0"),
            ("cert = \"/etc/msnd/cert.pem\"", "passport.key"),
            ("public_host = \"https://msn.example.net\"", "passport.public_host"),
            ("cert_names = [\"a b\"]", "cert_names"),
            ("ticket_ttl_secs = 0", "ticket_ttl_secs"),
            ("max_body_bytes = 1023", "max_body_bytes"),
            ("max_body_bytes = 1048577", "max_body_bytes"),
        ];
        for (toml, named) in bad {
            let err = Config::from_toml(&format!("[passport]\n{toml}\n"), "x.toml").unwrap_err();
            assert!(err.to_string().contains(named), "{toml}: {err}");
        }
    }
}
