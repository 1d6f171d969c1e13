//! Durability: a server killed with SIGKILL in the middle of a storm of list changes from
//! several clients loses nothing it acknowledged.
//!
//! The real binary runs as a child process on a database in a temporary directory. Six
//! MSNP7 clients log in, read their lists with `SYN 0` and then pipeline ADD/REM (FL with
//! and without groups, AL, BL), REA (themselves and their contacts), ADG/RMG/REG, GTC and
//! BLP. Each client predicts every reply from a model of its own account (whether a list
//! change succeeds depends only on the account's own lists, never on other accounts), so
//! every reply is checked as it arrives. After 1200 replies (a few seconds) the server is
//! killed while the clients are still sending, started again on the same database, and
//! every client logs in again and reads its lists with `SYN 0`.
//!
//! A connection's commands run one at a time and in order, so what the database holds for
//! an account is its state before the storm, then every acknowledged command, then some
//! prefix (possibly empty) of the commands that were sent but not answered. The test
//! requires the restarted server's lists, groups, names, GTC and BLP of each account to be
//! exactly one of those states, the reverse lists to agree with the forward lists, and the
//! list version to be at least the highest one the client was told.

mod common;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::process::{loopback_config, ServerProcess};
use futures_util::StreamExt;
use msnd::codec::{Frame, MsnpCodec, Reading};
use msnd::protocol::{url_decode, url_encode};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_util::codec::Framed;

/// Accounts in the database; the first `CLIENTS` of them take part in the storm, the
/// others are only contacts.
const ACCOUNTS: usize = 16;
const CLIENTS: usize = 6;
/// Every account starts as a mutual contact (FL and AL) of this many neighbours.
const RING_CONTACTS: usize = 4;
/// Commands each client keeps in flight.
const WINDOW: usize = 24;
/// Replies (over all clients) after which the server is killed.
const KILL_AFTER: usize = 1200;
/// `limits.max_list_entries` as configured (the pool never fills it; kept for the model).
const MAX_LIST_ENTRIES: usize = 150;
/// How long any one reply, startup or exit may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(15);

const FL: u8 = 1;
const AL: u8 = 2;
const BL: u8 = 4;
const RL: u8 = 8;
const MAX_GROUPS: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_storm_of_list_changes_loses_nothing_acknowledged() {
    let test_began = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(dir.path());
    let accounts: Vec<(String, String)> =
        (0..ACCOUNTS).map(|i| (format!("user{i:02}@example.com"), format!("pw{i}"))).collect();
    import_accounts(&config, dir.path(), &accounts);

    let mut server = ServerProcess::start(&config);
    let mut initial = Vec::new();
    let mut conns = Vec::new();
    for (email, password) in &accounts[..CLIENTS] {
        let (conn, synced) = login_and_syn(server.notification, email, password).await;
        initial.push(synced);
        conns.push(conn);
    }

    let shared =
        Arc::new(Shared { acks: AtomicUsize::new(0), killed: AtomicBool::new(false), enough: Notify::new() });
    let mut clients = tokio::task::JoinSet::new();
    for (i, conn) in conns.into_iter().enumerate() {
        let me = accounts[i].0.clone();
        let pool: Vec<String> = accounts.iter().map(|(e, _)| e.clone()).filter(|e| *e != me).collect();
        let model = Model::from_synced(&initial[i]);
        let seed = 0x5eed_0000 + i as u64;
        clients.spawn(storm(conn, i, me, pool, model, seed, shared.clone()));
    }
    let storm_began = Instant::now();
    tokio::select! {
        () = shared.enough.notified() => {}
        ended = clients.join_next() => match ended {
            Some(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            _ => panic!("a client stopped before the server was killed"),
        },
        () = tokio::time::sleep(Duration::from_secs(30)) => {
            panic!("fewer than {KILL_AFTER} replies within 30 s:\n{}", server.log())
        }
    }
    shared.killed.store(true, Ordering::SeqCst);
    server.kill();
    let storm_time = storm_began.elapsed();
    let mut logs = Vec::new();
    while let Some(ended) = clients.join_next().await {
        logs.push(ended.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())));
    }
    logs.sort_by_key(|log| log.client);
    drop(server);

    let server = ServerProcess::start(&config);
    let mut after = Vec::new();
    for (email, password) in &accounts[..CLIENTS] {
        after.push(login_and_syn(server.notification, email, password).await.1);
    }

    let mut summary = String::new();
    for (i, log) in logs.iter().enumerate() {
        let committed = check_account(log, &initial[i], &after[i]);
        let acked_version = log.highest_version;
        writeln!(
            summary,
            "{}: {} sent, {} acknowledged, {} of the {} unanswered committed, version {} >= {acked_version}",
            log.me,
            log.acked.len() + log.tail.len(),
            log.acked.len(),
            committed,
            log.tail.len(),
            after[i].version
        )
        .unwrap();
    }
    check_reverse_lists(&accounts, &initial, &after);
    let acked: usize = logs.iter().map(|l| l.acked.len()).sum();
    let sent: usize = logs.iter().map(|l| l.acked.len() + l.tail.len()).sum();
    assert!(acked >= KILL_AFTER, "{acked} acknowledged");
    let mut kinds = BTreeMap::<&str, usize>::new();
    for (_, _, reply) in logs.iter().flat_map(|l| &l.acked) {
        let kind = reply.split(' ').next().unwrap();
        *kinds.entry(if kind.as_bytes()[0].is_ascii_digit() { "errors" } else { kind }).or_default() += 1;
    }
    println!(
        "{sent} commands sent, {acked} answered in {storm_time:.2?} before SIGKILL ({kinds:?}); \
         the whole test took {:.2?}\n{summary}",
        test_began.elapsed()
    );
}

// The server process.

/// Everything on 127.0.0.1, no challenges and no command or list-change throttling.
fn write_config(dir: &Path) -> PathBuf {
    let extra = format!(
        "[limits]\n\
         commands_per_sec = 1000000\n\
         command_burst = 1000000\n\
         mailbox_size = 100000\n\
         list_changes_per_minute = 1000000\n\
         list_notices_per_minute = 1000000\n\
         max_list_entries = {MAX_LIST_ENTRIES}\n\
         [challenges]\n\
         enabled = false\n"
    );
    loopback_config(dir, &extra)
}

/// `msnd user import --md5-only --contacts K`: the accounts, each a mutual contact of its
/// neighbours.
fn import_accounts(config: &Path, dir: &Path, accounts: &[(String, String)]) {
    let file = dir.join("accounts.txt");
    let lines: String =
        accounts.iter().enumerate().map(|(i, (email, pw))| format!("{email}\t{pw}\tUser {i}\n")).collect();
    std::fs::write(&file, lines).expect("write accounts");
    let contacts = RING_CONTACTS.to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_msnd"))
        .arg("--config")
        .arg(config)
        .args(["user", "import", "--md5-only", "--contacts", &contacts])
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .expect("run msnd user import");
    assert!(out.status.success(), "msnd user import failed: {}", String::from_utf8_lossy(&out.stderr));
}

// A client connection.

struct Conn {
    framed: Framed<TcpStream, MsnpCodec>,
}

impl Conn {
    async fn connect(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).await.expect("connect");
        Conn { framed: Framed::new(stream, MsnpCodec::new(Reading::FromServer, 64 * 1024, 64 * 1024)) }
    }

    /// Writes `text` (CRLF-terminated lines); false if the connection is gone.
    async fn write(&mut self, text: &str) -> bool {
        let stream = self.framed.get_mut();
        stream.write_all(text.as_bytes()).await.is_ok() && stream.flush().await.is_ok()
    }

    /// The next frame, or None once the connection is closed or broken.
    async fn next(&mut self) -> Option<Frame> {
        match tokio::time::timeout(PATIENCE, self.framed.next()).await {
            Ok(Some(Ok(frame))) => Some(frame),
            Ok(_) => None,
            Err(_) => panic!("no frame from the server within {PATIENCE:?}"),
        }
    }

    /// The next frame that is not an `MSG` (login messages); the connection must be up.
    async fn expect(&mut self, what: &str) -> String {
        loop {
            let frame = self.next().await.unwrap_or_else(|| panic!("connection closed waiting for {what}"));
            if !frame.line.starts_with("MSG ") {
                return frame.line;
            }
        }
    }
}

/// What `SYN 0` and the login say about an account.
#[derive(Debug, Clone, Default)]
struct Synced {
    /// URL-encoded, from `USR OK`.
    friendly_name: String,
    version: u32,
    gtc: String,
    blp: String,
    /// Group id to URL-encoded name.
    groups: BTreeMap<u8, String>,
    /// Every entry, RL-only ones too, by handle.
    entries: BTreeMap<String, SyncedEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct SyncedEntry {
    lists: u8,
    /// URL-encoded.
    name: String,
    /// The FL groups as listed (`0` for a contact in no group).
    groups: BTreeSet<u8>,
}

/// MD5 login with MSNP7 on the notification port, then `SYN 0`.
async fn login_and_syn(addr: SocketAddr, email: &str, password: &str) -> (Conn, Synced) {
    let mut conn = Conn::connect(addr).await;
    conn.write(&format!("VER 1 MSNP7 MSNP6 MSNP5 MSNP4 CVR0\r\nINF 2\r\nUSR 3 MD5 I {email}\r\n")).await;
    assert_eq!(conn.expect("VER").await, "VER 1 MSNP7");
    assert_eq!(conn.expect("INF").await, "INF 2 MD5");
    let usr = conn.expect("USR S").await;
    let salt = usr.strip_prefix("USR 3 MD5 S ").unwrap_or_else(|| panic!("{email}: {usr}"));
    let response = msnd::credentials::md5_hex(&[salt.as_bytes(), password.as_bytes()]);
    conn.write(&format!("USR 4 MD5 S {response}\r\nSYN 5 0\r\n")).await;
    let ok = conn.expect("USR OK").await;
    let fields: Vec<&str> = ok.split(' ').collect();
    assert!(fields.len() == 6 && fields[..3] == ["USR", "4", "OK"] && fields[3] == email, "{email}: {ok}");
    let mut synced = Synced { friendly_name: fields[4].to_owned(), ..Synced::default() };
    let syn = conn.expect("SYN").await;
    synced.version =
        syn.strip_prefix("SYN 5 ").and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{syn}"));
    let v = synced.version.to_string();
    loop {
        let line = conn.expect("the SYN's lines").await;
        let t: Vec<&str> = line.split(' ').collect();
        match t[0] {
            "BPR" | "PRP" => continue,
            "GTC" | "BLP" | "LSG" | "LST" => {
                assert!(t.len() > 3 && t[1] == "5", "{email}: {line}");
            }
            _ => panic!("{email}: unexpected {line:?} in the SYN"),
        }
        let version = if t[0] == "LST" { t[3] } else { t[2] };
        assert_eq!(version, v, "{email}: {line} in SYN {v}");
        match t[0] {
            "GTC" => synced.gtc = t[3].to_owned(),
            "BLP" => synced.blp = t[3].to_owned(),
            "LSG" => {
                assert!(t.len() == 8 && t[7] == "0", "{email}: {line}");
                let fresh = synced.groups.insert(t[5].parse().expect("group id"), t[6].to_owned()).is_none();
                assert!(fresh, "{email}: group listed twice: {line}");
            }
            _ => {
                let list = list_bit(t[2]);
                let (index, total) = (t[4], t.get(5).copied().unwrap_or_default());
                let last = index == total;
                if index != "0" {
                    assert!(t.len() == if list == FL { 9 } else { 8 }, "{email}: {line}");
                    let entry = synced.entries.entry(t[6].to_owned()).or_default();
                    assert_eq!(entry.lists & list, 0, "{email}: listed twice: {line}");
                    assert!(entry.lists == 0 || entry.name == t[7], "{email}: a second name in {line}");
                    entry.lists |= list;
                    entry.name = t[7].to_owned();
                    if list == FL {
                        entry.groups = t[8].split(',').map(|g| g.parse().expect("group id")).collect();
                    }
                }
                if list == RL && last {
                    break;
                }
            }
        }
    }
    (conn, synced)
}

fn list_bit(list: &str) -> u8 {
    match list {
        "FL" => FL,
        "AL" => AL,
        "BL" => BL,
        "RL" => RL,
        _ => panic!("unknown list {list}"),
    }
}

fn list_name(bit: u8) -> &'static str {
    match bit {
        FL => "FL",
        AL => "AL",
        BL => "BL",
        _ => "RL",
    }
}

// The model of one account, and the commands that change it.

#[derive(Debug, Clone)]
enum Cmd {
    Add {
        list: u8,
        email: String,
        name: String,
        group: Option<u8>,
    },
    Rem {
        list: u8,
        email: String,
        group: Option<u8>,
    },
    /// My own friendly name when `email` is mine, else a contact's name.
    Rea {
        email: String,
        name: String,
    },
    Adg {
        name: String,
    },
    Rmg {
        id: u8,
    },
    Reg {
        id: u8,
        name: String,
    },
    Gtc(&'static str),
    Blp(&'static str),
}

impl Cmd {
    fn line(&self, tr: u32) -> String {
        let group = |g: &Option<u8>| g.map(|g| format!(" {g}")).unwrap_or_default();
        match self {
            Cmd::Add { list, email, name, group: g } => {
                format!("ADD {tr} {} {email} {}{}", list_name(*list), url_encode(name), group(g))
            }
            Cmd::Rem { list, email, group: g } => {
                format!("REM {tr} {} {email}{}", list_name(*list), group(g))
            }
            Cmd::Rea { email, name } => format!("REA {tr} {email} {}", url_encode(name)),
            Cmd::Adg { name } => format!("ADG {tr} {} 0", url_encode(name)),
            Cmd::Rmg { id } => format!("RMG {tr} {id}"),
            Cmd::Reg { id, name } => format!("REG {tr} {id} {} 0", url_encode(name)),
            Cmd::Gtc(value) => format!("GTC {tr} {value}"),
            Cmd::Blp(value) => format!("BLP {tr} {value}"),
        }
    }

    /// The reply the server must give, `*` standing for the list version: the command
    /// with the version after the list (ADD, REM) or the transaction id, and ADG with the new
    /// group's id. `outcome` is what [`Model::apply`] said.
    fn reply(&self, tr: u32, outcome: Result<Option<u8>, u16>) -> String {
        let new_group = match outcome {
            Err(code) => return format!("{code} {tr}"),
            Ok(new_group) => new_group,
        };
        let line = self.line(tr);
        let mut tokens: Vec<&str> = line.split(' ').collect();
        let at = if matches!(self, Cmd::Add { .. } | Cmd::Rem { .. }) { 3 } else { 2 };
        tokens.insert(at, "*");
        let id = new_group.map(|id| id.to_string());
        if let Some(id) = &id {
            tokens.insert(tokens.len() - 1, id);
        }
        tokens.join(" ")
    }
}

/// What an account's own commands decide: everything but the RL (kept by the server from
/// other accounts' FLs) and the names of entries only on the RL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Model {
    friendly_name: String,
    gtc: String,
    blp: String,
    /// Group id to decoded name; group 0 always exists.
    groups: BTreeMap<u8, String>,
    /// Entries on at least one of FL, AL, BL, by handle.
    entries: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// FL, AL and BL bits only.
    lists: u8,
    /// Decoded.
    name: String,
    /// The FL groups as stored (a contact in no group is listed in group 0).
    groups: BTreeSet<u8>,
}

/// The part of an account that the model predicts, as `SYN` shows it (names encoded).
#[derive(Debug, Clone, PartialEq, Eq)]
struct View {
    friendly_name: String,
    gtc: String,
    blp: String,
    groups: BTreeMap<u8, String>,
    entries: BTreeMap<String, SyncedEntry>,
}

fn decode(text: &str) -> String {
    url_decode(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

impl Model {
    fn from_synced(s: &Synced) -> Model {
        let entries = s
            .entries
            .iter()
            .filter(|(_, e)| e.lists & (FL | AL | BL) != 0)
            .map(|(email, e)| {
                let groups = if e.lists & FL != 0 { e.groups.clone() } else { BTreeSet::new() };
                (email.clone(), Entry { lists: e.lists & (FL | AL | BL), name: decode(&e.name), groups })
            })
            .collect();
        Model {
            friendly_name: decode(&s.friendly_name),
            gtc: s.gtc.clone(),
            blp: s.blp.clone(),
            groups: s.groups.iter().map(|(id, name)| (*id, decode(name))).collect(),
            entries,
        }
    }

    fn view(&self) -> View {
        let entries = self
            .entries
            .iter()
            .map(|(email, e)| {
                let groups = match e.lists & FL {
                    0 => BTreeSet::new(),
                    _ if e.groups.is_empty() => BTreeSet::from([0]),
                    _ => e.groups.clone(),
                };
                (email.clone(), SyncedEntry { lists: e.lists, name: url_encode(&e.name), groups })
            })
            .collect();
        View {
            friendly_name: url_encode(&self.friendly_name),
            gtc: self.gtc.clone(),
            blp: self.blp.clone(),
            groups: self.groups.iter().map(|(id, name)| (*id, url_encode(name))).collect(),
            entries,
        }
    }

    fn count(&self, list: u8) -> usize {
        self.entries.values().filter(|e| e.lists & list != 0).count()
    }

    fn lists_of(&self, email: &str) -> u8 {
        self.entries.get(email).map_or(0, |e| e.lists)
    }

    /// Applies `cmd` as msnd does (src/store/lists.rs): Ok (with the new group's id for
    /// ADG) or the error code, leaving the model unchanged on an error.
    fn apply(&mut self, me: &str, cmd: &Cmd) -> Result<Option<u8>, u16> {
        match cmd {
            Cmd::Add { list: FL, email, name, group } => {
                // From MSNP7 an ADD to FL without a group puts the contact in group 0.
                let group = group.unwrap_or(0);
                if !self.groups.contains_key(&group) {
                    return Err(224);
                }
                let on_fl = self.lists_of(email) & FL != 0;
                if self.entries.get(email).is_some_and(|e| e.groups.contains(&group)) {
                    return Err(215);
                }
                if !on_fl && self.count(FL) >= MAX_LIST_ENTRIES {
                    return Err(210);
                }
                let entry = self.entry(email, name);
                entry.lists |= FL;
                entry.name = name.clone();
                entry.groups.insert(group);
            }
            Cmd::Add { list, email, name, group: None } => {
                let current = self.lists_of(email);
                let opposite = if *list == AL { BL } else { AL };
                if current & list != 0 {
                    return Err(215);
                }
                if current & opposite != 0 {
                    return Err(219);
                }
                if self.count(*list) >= MAX_LIST_ENTRIES {
                    return Err(210);
                }
                let entry = self.entry(email, name);
                entry.lists |= list;
                // The name is the FL entry's when there is one.
                if current & FL == 0 {
                    entry.name = name.clone();
                }
            }
            Cmd::Add { .. } => unreachable!("groups only on FL"),
            Cmd::Rem { list: FL, email, group: Some(group) } => {
                if !self.groups.contains_key(group) {
                    return Err(224);
                }
                let entry = self.entries.get_mut(email).filter(|e| e.lists & FL != 0).ok_or(216u16)?;
                if !entry.groups.remove(group) {
                    return Err(225);
                }
            }
            Cmd::Rem { list, email, group: _ } => {
                let entry = self.entries.get_mut(email).filter(|e| e.lists & list != 0).ok_or(216u16)?;
                entry.lists &= !list;
                if *list == FL {
                    entry.groups.clear();
                }
                if entry.lists == 0 {
                    self.entries.remove(email);
                }
            }
            Cmd::Rea { email, name } if email == me => self.friendly_name = name.clone(),
            Cmd::Rea { email, name } => {
                self.entries.get_mut(email).expect("REA only for my own entries").name = name.clone();
            }
            Cmd::Adg { name } => {
                if self.groups.len() >= MAX_GROUPS {
                    return Err(223);
                }
                let id = (1..MAX_GROUPS as u8).find(|id| !self.groups.contains_key(id)).expect("a free id");
                self.groups.insert(id, name.clone());
                return Ok(Some(id));
            }
            Cmd::Rmg { id } => {
                if *id == 0 {
                    return Err(230);
                }
                self.groups.remove(id).ok_or(224u16)?;
                for entry in self.entries.values_mut() {
                    entry.groups.remove(id);
                }
            }
            Cmd::Reg { id, name } => *self.groups.get_mut(id).ok_or(224u16)? = name.clone(),
            Cmd::Gtc(value) | Cmd::Blp(value) => {
                let setting = if matches!(cmd, Cmd::Gtc(_)) { &mut self.gtc } else { &mut self.blp };
                if setting == value {
                    return Err(218);
                }
                *setting = (*value).to_owned();
            }
        }
        Ok(None)
    }

    fn entry(&mut self, email: &str, name: &str) -> &mut Entry {
        self.entries.entry(email.to_owned()).or_insert_with(|| Entry {
            lists: 0,
            name: name.to_owned(),
            groups: BTreeSet::new(),
        })
    }

    /// A random command, mostly one that changes something.
    fn pick(&self, rng: &mut StdRng, me: &str, pool: &[String], tr: u32) -> Cmd {
        let contact = |rng: &mut StdRng, want: &dyn Fn(u8) -> bool| -> String {
            let fitting: Vec<&String> = pool.iter().filter(|c| want(self.lists_of(c))).collect();
            match fitting.choose(rng) {
                Some(c) if rng.gen_bool(0.85) => (*c).clone(),
                _ => pool.choose(rng).unwrap().clone(),
            }
        };
        let any_group = |rng: &mut StdRng| **self.groups.keys().collect::<Vec<_>>().choose(rng).unwrap();
        let list = |rng: &mut StdRng| if rng.gen_bool(0.6) { AL } else { BL };
        match rng.gen_range(0..100) {
            0..=13 => Cmd::Add {
                list: FL,
                email: contact(rng, &|l| l & FL == 0),
                name: format!("Pal {tr}"),
                group: None,
            },
            14..=23 => {
                let group =
                    if rng.gen_bool(0.9) { any_group(rng) } else { rng.gen_range(0..MAX_GROUPS as u8) };
                let email = contact(rng, &|l| l & FL != 0);
                Cmd::Add { list: FL, email, name: format!("Mate {tr}"), group: Some(group) }
            }
            24..=35 => {
                let list = list(rng);
                Cmd::Add {
                    list,
                    email: contact(rng, &|l| l & (AL | BL) == 0),
                    name: format!("Ally {tr}"),
                    group: None,
                }
            }
            36..=45 => Cmd::Rem { list: FL, email: contact(rng, &|l| l & FL != 0), group: None },
            46..=51 => {
                let email = contact(rng, &|l| l & FL != 0);
                let group =
                    match self.entries.get(&email).map(|e| e.groups.iter().copied().collect::<Vec<_>>()) {
                        Some(groups) if !groups.is_empty() && rng.gen_bool(0.8) => {
                            *groups.choose(rng).unwrap()
                        }
                        _ => any_group(rng),
                    };
                Cmd::Rem { list: FL, email, group: Some(group) }
            }
            52..=61 => {
                let list = list(rng);
                Cmd::Rem { list, email: contact(rng, &|l| l & list != 0), group: None }
            }
            62..=69 => Cmd::Rea { email: me.to_owned(), name: format!("Me {me} #{tr}") },
            70..=75 => match self.entries.keys().collect::<Vec<_>>().choose(rng) {
                Some(email) => Cmd::Rea { email: (*email).clone(), name: format!("Renamed {tr}") },
                None => Cmd::Rea { email: me.to_owned(), name: format!("Me again {tr}") },
            },
            76..=84 => Cmd::Adg { name: format!("Group {tr}") },
            85..=90 => {
                let id = if rng.gen_bool(0.9) { any_group(rng) } else { rng.gen_range(0..MAX_GROUPS as u8) };
                Cmd::Rmg { id }
            }
            91..=95 => Cmd::Reg { id: any_group(rng), name: format!("Renamed group {tr}") },
            96..=97 => Cmd::Gtc(if rng.gen_bool(0.5) { "A" } else { "N" }),
            _ => Cmd::Blp(if rng.gen_bool(0.5) { "AL" } else { "BL" }),
        }
    }
}

// The storm.

struct Shared {
    acks: AtomicUsize,
    killed: AtomicBool,
    /// Notified once `KILL_AFTER` replies have arrived.
    enough: Notify,
}

/// What one client sent and was told.
struct StormLog {
    client: usize,
    me: String,
    /// Answered commands in order: transaction id, command, reply.
    acked: Vec<(u32, Cmd, String)>,
    /// Commands sent after the last answered one, with their transaction ids.
    tail: Vec<(u32, Cmd)>,
    /// The highest list version of mine that the server reported (replies and `ADD 0 RL` /
    /// `REM 0 RL` notifications).
    highest_version: u32,
}

/// Sends commands, `WINDOW` in flight, until the server dies; checks every reply.
async fn storm(
    mut conn: Conn,
    client: usize,
    me: String,
    pool: Vec<String>,
    mut model: Model,
    seed: u64,
    shared: Arc<Shared>,
) -> StormLog {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut log =
        StormLog { client, me: me.clone(), acked: Vec::new(), tail: Vec::new(), highest_version: 0 };
    // (trid, command, expected reply) for every command not answered yet.
    let mut in_flight: VecDeque<(u32, Cmd, String)> = VecDeque::new();
    let mut next_tr = 10;
    let mut last_own_version = 0;
    let mut open = true;
    loop {
        if open && in_flight.len() < WINDOW / 2 {
            let mut batch = String::new();
            while in_flight.len() < WINDOW {
                let tr = next_tr;
                next_tr += 1;
                let cmd = model.pick(&mut rng, &me, &pool, tr * 10 + client as u32);
                let outcome = model.apply(&me, &cmd);
                batch += &cmd.line(tr);
                batch += "\r\n";
                in_flight.push_back((tr, cmd.clone(), cmd.reply(tr, outcome)));
            }
            open = conn.write(&batch).await;
        }
        let Some(frame) = conn.next().await else { break };
        let line = frame.line;
        let t: Vec<&str> = line.split(' ').collect();
        if matches!(t[..], ["ADD" | "REM", "0", "RL", _, ..]) {
            let version: u32 = t[3].parse().unwrap_or_else(|_| panic!("{me}: {line}"));
            log.highest_version = log.highest_version.max(version);
            continue;
        }
        let Some((tr, cmd, expected)) = in_flight.pop_front() else { panic!("{me}: unexpected {line:?}") };
        assert_eq!(
            t.get(1).copied(),
            Some(tr.to_string().as_str()),
            "{me}: {line:?} out of order, expected {expected:?}"
        );
        let version = matches_reply(&expected, &line).unwrap_or_else(|| {
            panic!("{me}: to {:?} the server said {line:?}, the model expected {expected:?}", cmd.line(tr))
        });
        if let Some(version) = version {
            assert!(version > last_own_version, "{me}: version {version} after {last_own_version}: {line}");
            last_own_version = version;
            log.highest_version = log.highest_version.max(version);
        }
        log.acked.push((tr, cmd, line));
        if shared.acks.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER {
            shared.enough.notify_one();
        }
    }
    assert!(shared.killed.load(Ordering::SeqCst), "{me}: the connection ended before the server was killed");
    log.tail = in_flight.into_iter().map(|(tr, cmd, _)| (tr, cmd)).collect();
    log
}

/// Whether `line` is the `expected` reply (`*` is the version); then the version, if any.
fn matches_reply(expected: &str, line: &str) -> Option<Option<u32>> {
    let (want, got): (Vec<&str>, Vec<&str>) = (expected.split(' ').collect(), line.split(' ').collect());
    if want.len() != got.len() {
        return None;
    }
    let mut version = None;
    for (w, g) in want.iter().zip(&got) {
        if *w == "*" {
            version = Some(g.parse().ok()?);
        } else if w != g {
            return None;
        }
    }
    Some(version)
}

// The comparison after the restart.

/// Checks one account after the restart; returns how many unanswered commands had been
/// committed (the one prefix of them whose state matches).
fn check_account(log: &StormLog, initial: &Synced, after: &Synced) -> usize {
    let me = &log.me;
    let mut model = Model::from_synced(initial);
    for (_, cmd, _) in &log.acked {
        let _ = model.apply(me, cmd);
    }
    let mut candidates = vec![model.view()];
    for (_, cmd) in &log.tail {
        let _ = model.apply(me, cmd);
        candidates.push(model.view());
    }
    let observed = Model::from_synced(after).view();
    let version =
        format!("list version {} after the restart, {} acknowledged", after.version, log.highest_version);
    let Some(committed) = candidates.iter().position(|c| *c == observed) else {
        panic!("{}{version}", explain(log, &candidates[0], &observed));
    };
    assert!(after.version >= log.highest_version, "{me}: {version}");
    committed
}

/// What differs between the state of every acknowledged command and what the restarted
/// server has, with the acknowledged replies that concern it.
fn explain(log: &StormLog, expected: &View, observed: &View) -> String {
    let mut out = format!(
        "{}: after the restart the lists match no state between the last acknowledged reply and \
         the last command sent ({} acknowledged, {} unanswered).\nDifferences from the acknowledged state:\n",
        log.me,
        log.acked.len(),
        log.tail.len()
    );
    let mut topics = Vec::new();
    for (what, want, got) in [
        ("friendly name", &expected.friendly_name, &observed.friendly_name),
        ("GTC", &expected.gtc, &observed.gtc),
        ("BLP", &expected.blp, &observed.blp),
    ] {
        if want != got {
            writeln!(out, "  {what}: acknowledged {want:?}, found {got:?}").unwrap();
            topics.push(what.split(' ').next().unwrap().to_uppercase());
        }
    }
    if expected.groups != observed.groups {
        writeln!(
            out,
            "  groups: acknowledged {:?}\n          found        {:?}",
            expected.groups, observed.groups
        )
        .unwrap();
        topics.extend(["ADG", "RMG", "REG"].map(String::from));
    }
    let handles: BTreeSet<&String> = expected.entries.keys().chain(observed.entries.keys()).collect();
    for handle in handles {
        let (want, got) = (expected.entries.get(handle), observed.entries.get(handle));
        if want != got {
            writeln!(
                out,
                "  {handle}: acknowledged {want:?}\n  {:width$}  found        {got:?}",
                "",
                width = handle.len()
            )
            .unwrap();
            topics.push(handle.clone());
        }
    }
    out += "Acknowledged replies concerning them (last 10 each):\n";
    for topic in &topics {
        let replies: Vec<&String> = log
            .acked
            .iter()
            .map(|(_, _, reply)| reply)
            .filter(|reply| {
                let own_rea = reply.starts_with("REA") && reply.split(' ').nth(3) == Some(log.me.as_str());
                reply.split(' ').any(|t| t == topic) || (topic == "FRIENDLY" && own_rea)
            })
            .collect();
        for reply in &replies[replies.len().saturating_sub(10)..] {
            writeln!(out, "  {reply}").unwrap();
        }
    }
    out += "Unanswered commands:\n";
    for (tr, cmd) in &log.tail {
        writeln!(out, "  {}", cmd.line(*tr)).unwrap();
    }
    out
}

/// Everyone's RL after the restart is exactly who has them on their FL: the storm clients
/// as their own SYN shows it, the other accounts as before (they never changed).
fn check_reverse_lists(accounts: &[(String, String)], initial: &[Synced], after: &[Synced]) {
    for (i, synced) in after.iter().enumerate() {
        let me = &accounts[i].0;
        let on_rl = |s: &Synced| -> BTreeSet<String> {
            s.entries.iter().filter(|(_, e)| e.lists & RL != 0).map(|(h, _)| h.clone()).collect()
        };
        let passive: BTreeSet<String> = on_rl(&initial[i])
            .into_iter()
            .filter(|h| !accounts[..CLIENTS].iter().any(|(a, _)| a == h))
            .collect();
        let active: BTreeSet<String> = (0..CLIENTS)
            .filter(|&j| after[j].entries.get(me).is_some_and(|e| e.lists & FL != 0))
            .map(|j| accounts[j].0.clone())
            .collect();
        let expected: BTreeSet<String> = passive.union(&active).cloned().collect();
        assert_eq!(on_rl(synced), expected, "{me}: the RL does not match the others' FLs");
    }
}
