//! `msnd user import`: an accounts file is read and checked whole before anything is
//! written, the credentials are derived on every core, and the accounts (and optionally
//! a ring of mutual contacts) are written in bulk by [`Store::import_accounts`] and
//! [`Store::befriend_ring`].
//!
//! The file has one account a line, `email<TAB or space>password[<TAB>friendly name]`;
//! blank lines and lines starting with `#` are skipped. Without a name, the handle is the
//! friendly name, as with `msnd user add`.

use std::sync::Arc;

use tokio::task::JoinSet;

use crate::credentials::{passport_hash, Md5Credentials};
use crate::protocol::lists::{is_valid_friendly_name, MAX_FRIENDLY_NAME_CHARS};
use crate::protocol::Email;
use crate::store::{Imported, NewAccount, Store, StoreError};

/// How to import.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Skip the Passport (Argon2id) hash, which costs ~20 ms a password: the accounts log in
    /// with MD5 (MSNP2–7) only, until `msnd user passwd` gives them a Passport hash.
    pub md5_only: bool,
    /// Make each account a mutual contact of this many neighbours in the file (half before,
    /// half after, wrapping around). Must be even and within `max_list_entries`.
    pub contacts: Option<usize>,
    pub max_list_entries: usize,
}

/// One account as read from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub email: Email,
    pub password: String,
    pub name: String,
}

/// Why an import did not happen (nothing is written after a file error).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("line {line}: {reason}")]
    Line { line: usize, reason: String },
    #[error("--contacts {0}: must be even (half the neighbours on each side)")]
    OddContacts(usize),
    #[error("--contacts {contacts} exceeds limits.max_list_entries ({max})")]
    TooManyContacts { contacts: usize, max: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where an import is, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Hashed { done: usize, total: usize },
    Written { done: usize, total: usize },
    Contacts { accounts: usize },
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub accounts: Imported,
    /// Contact-list entries written (two per pair of contacts).
    pub list_entries: u64,
}

/// Parses a whole accounts file; the first bad line is an error that names it.
pub fn parse(text: &str) -> Result<Vec<Entry>, ImportError> {
    let mut entries = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let bad = |reason: &str| ImportError::Line { line, reason: reason.to_owned() };
        let raw = raw.trim_end_matches('\r');
        if raw.trim().is_empty() || raw.starts_with('#') {
            continue;
        }
        let (email, rest) = raw.split_once(['\t', ' ']).ok_or_else(|| bad("no password"))?;
        let (password, name) = match rest.split_once('\t') {
            Some((password, name)) => (password, Some(name)),
            None => (rest, None),
        };
        let email: Email =
            email.parse().map_err(|_| bad(&format!("{email:?} is not a valid e-mail address")))?;
        if password.is_empty() {
            return Err(bad("empty password"));
        }
        let name = name.map_or_else(|| email.to_string(), str::to_owned);
        if !is_valid_friendly_name(&name) {
            return Err(bad(&format!(
                "the friendly name must be 1 to {MAX_FRIENDLY_NAME_CHARS} printable characters"
            )));
        }
        if let Some(first) = seen.insert(email.clone(), line) {
            return Err(bad(&format!("{email} is already on line {first}")));
        }
        entries.push(Entry { email, password: password.to_owned(), name });
    }
    Ok(entries)
}

/// Imports `entries`: derives credentials on every core, writes the accounts in large
/// transactions (skipping handles that exist), then the contact ring if asked for.
pub async fn import(
    store: &Store,
    entries: Vec<Entry>,
    options: Options,
    mut progress: impl FnMut(Progress),
) -> Result<Report, ImportError> {
    if let Some(contacts) = options.contacts {
        if contacts % 2 != 0 {
            return Err(ImportError::OddContacts(contacts));
        }
        if contacts > options.max_list_entries {
            return Err(ImportError::TooManyContacts { contacts, max: options.max_list_entries });
        }
    }
    let ring: Vec<Email> = entries.iter().map(|e| e.email.clone()).collect();
    let accounts = derive(entries, options.md5_only, &mut progress).await;
    let total = accounts.len();
    let imported =
        store.import_accounts(&accounts, |done| progress(Progress::Written { done, total })).await?;
    let mut list_entries = 0;
    if let Some(contacts) = options.contacts.filter(|&k| k > 0) {
        progress(Progress::Contacts { accounts: ring.len() });
        list_entries = store.befriend_ring(&ring, contacts / 2).await?;
    }
    Ok(Report { accounts: imported, list_entries })
}

/// Accounts per blocking task: small enough for steady progress, large enough to be cheap.
const CHUNK: usize = 64;

/// Derives every account's stored credentials, in file order, on all cores.
async fn derive(entries: Vec<Entry>, md5_only: bool, progress: &mut impl FnMut(Progress)) -> Vec<NewAccount> {
    let total = entries.len();
    let entries = Arc::new(entries);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut chunks = (0..total).step_by(CHUNK);
    let mut running = JoinSet::new();
    let mut done: Vec<Option<Vec<NewAccount>>> = (0..total.div_ceil(CHUNK)).map(|_| None).collect();
    let mut hashed = 0;
    loop {
        while running.len() < workers {
            let Some(start) = chunks.next() else { break };
            let entries = entries.clone();
            running.spawn_blocking(move || {
                let end = (start + CHUNK).min(entries.len());
                let accounts = entries[start..end].iter().map(|e| derive_one(e, md5_only)).collect();
                (start / CHUNK, accounts)
            });
        }
        let Some(finished) = running.join_next().await else { break };
        let (index, accounts): (usize, Vec<NewAccount>) =
            finished.expect("deriving credentials does not panic");
        hashed += accounts.len();
        done[index] = Some(accounts);
        progress(Progress::Hashed { done: hashed, total });
    }
    done.into_iter().flatten().flatten().collect()
}

fn derive_one(entry: &Entry, md5_only: bool) -> NewAccount {
    NewAccount {
        email: entry.email.clone(),
        friendly_name: entry.name.clone(),
        md5: Md5Credentials::new(&entry.password),
        passport_hash: (!md5_only).then(|| passport_hash(&entry.password)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_on_tabs_or_a_space() {
        let text =
            "# comment\n\na@example.com\tpw one\tAlice A\r\nB@Example.com pw2\nc@example.com pw3\tCee\n";
        let entries = parse(text).unwrap();
        let got: Vec<(&str, &str, &str)> =
            entries.iter().map(|e| (e.email.as_str(), e.password.as_str(), e.name.as_str())).collect();
        assert_eq!(
            got,
            [
                ("a@example.com", "pw one", "Alice A"),
                ("b@example.com", "pw2", "b@example.com"),
                ("c@example.com", "pw3", "Cee"),
            ]
        );
    }

    #[test]
    fn bad_lines_are_named() {
        for (text, line, needle) in [
            ("a@example.com\n", 1, "no password"),
            ("a@example.com pw\nnot-an-address pw\n", 2, "not a valid"),
            ("a@example.com pw\nA@example.com pw\n", 2, "already on line 1"),
            ("a@example.com pw\t\u{7}\n", 1, "printable"),
            ("a@example.com \n", 1, "empty password"),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.starts_with(&format!("line {line}:")) && err.contains(needle), "{text:?}: {err}");
        }
    }

    #[tokio::test]
    async fn md5_only_accounts_get_no_passport_hash_and_a_ring() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
        let text: String = (0..200).map(|i| format!("u{i}@example.com\tpw{i}\n")).collect();
        let options = Options { md5_only: true, contacts: Some(4), max_list_entries: 150 };
        let mut seen = Vec::new();
        let report = import(&store, parse(&text).unwrap(), options, |p| seen.push(p)).await.unwrap();
        assert_eq!(report.accounts, Imported { created: 200, existing: 0 });
        assert_eq!(report.list_entries, 800);
        assert!(seen.contains(&Progress::Hashed { done: 200, total: 200 }));
        assert!(seen.contains(&Progress::Written { done: 200, total: 200 }));
        let user = store.user(&"u7@example.com".parse().unwrap()).await.unwrap().unwrap();
        assert!(user.passport_hash.is_none());
        let salt_digest = crate::credentials::md5_hex(&[user.md5_salt.as_bytes(), b"pw7"]);
        assert_eq!(user.md5_digest, salt_digest);
        assert_eq!(store.snapshot(user.id).await.unwrap().contacts.len(), 4);
        let odd = Options { contacts: Some(3), ..options };
        assert!(matches!(import(&store, Vec::new(), odd, |_| {}).await, Err(ImportError::OddContacts(3))));
    }
}
