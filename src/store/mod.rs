//! The SQLite store, through sqlx, split by what it stores: [`users`](User) (accounts and
//! credentials), `contacts` (who is on which list), `groups`, `settings` (GTC, BLP, name,
//! phone properties) and `snapshot` (reading it all back for SYN); `import` loads
//! accounts in bulk. Every method commits before it returns, so whatever a client is told
//! is on disk.

mod address_book;
mod contacts;
mod groups;
mod import;
mod invites;
mod settings;
mod snapshot;
#[cfg(test)]
mod tests;
mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};

use crate::protocol::ProtocolError;

pub use crate::protocol::view::{ContactRecord, Group, GroupId, Guid, Properties, Snapshot, UserId};
pub use contacts::{Added, ListError, Removed};
pub use import::{Imported, NewAccount};
pub use settings::PropertyChanged;
pub use users::User;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create {path}: {source}")]
    Create { path: std::path::PathBuf, source: std::io::Error },
    #[error("an account with that e-mail address already exists")]
    Duplicate,
    #[error("no such account")]
    NotFound,
    #[error("there is no database at {}: is this the configuration the server uses?", .0.display())]
    Missing(std::path::PathBuf),
    #[error("{} already exists (or is not a usable file name): choose a new file", .0.display())]
    Exists(std::path::PathBuf),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A handle on the database; cloning is cheap and shares the pools.
///
/// SQLite allows one writer at a time. Every transaction that writes goes through `write`,
/// which has a single connection, so writers queue there instead of two deferred
/// transactions both trying to upgrade and one failing with `SQLITE_BUSY`. Plain queries
/// use `read`; in WAL mode they run beside the writer.
#[derive(Debug, Clone)]
pub struct Store {
    read: SqlitePool,
    write: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    /// A new database file is created readable by its owner only (mode 0600): it holds
    /// password equivalents (README, "How passwords are stored"). SQLite gives its `-wal`
    /// and `-shm` files the database file's mode.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?;
        if let Some(path) = file_of(&options) {
            create_private(path)?;
        }
        Store::connect(options, Schema::Migrate).await
    }

    /// Opens the database at `url` only if it exists: for commands that read it, which must
    /// not leave an empty database behind when pointed at the wrong place.
    pub async fn open_existing(url: &str) -> Result<Store, StoreError> {
        Store::must_exist(url)?;
        Store::connect(SqliteConnectOptions::from_str(url)?, Schema::Migrate).await
    }

    /// Opens the existing database at `url` as it is, its schema not upgraded: for a backup,
    /// which an operator takes before an upgrade.
    pub async fn open_as_is(url: &str) -> Result<Store, StoreError> {
        Store::must_exist(url)?;
        Store::connect(SqliteConnectOptions::from_str(url)?, Schema::AsIs).await
    }

    /// `Missing` unless the database file at `url` exists (an in-memory one always does).
    pub fn must_exist(url: &str) -> Result<(), StoreError> {
        let options = SqliteConnectOptions::from_str(url)?;
        match file_of(&options) {
            Some(path) if !path.exists() => Err(StoreError::Missing(path.to_owned())),
            _ => Ok(()),
        }
    }

    async fn connect(options: SqliteConnectOptions, schema: Schema) -> Result<Store, StoreError> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // A connection to a local file does not go stale: no `ping` before each use (with
        // sqlx's default, every acquire costs a round trip to the connection's thread).
        let pool = || SqlitePoolOptions::new().test_before_acquire(false);
        let write = pool().max_connections(1).connect_with(options.clone()).await?;
        if schema == Schema::Migrate {
            sqlx::migrate!().run(&write).await?;
        }
        let read = pool().max_connections(8).connect_with(options).await?;
        Ok(Store { read, write })
    }

    /// A write transaction. `BEGIN IMMEDIATE` takes the write lock up front, so a write by
    /// another process (the CLI) makes it wait up to the busy timeout instead of failing
    /// when a deferred transaction tries to upgrade.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.write.begin_with("BEGIN IMMEDIATE").await
    }

    /// The server's persistent 32-byte secret, created on first use.
    pub async fn server_secret(&self) -> Result<[u8; 32], StoreError> {
        let mut fresh = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut fresh);
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT OR IGNORE INTO server_state (key, value) VALUES ('secret', ?)")
            .bind(&fresh[..])
            .execute(&mut *tx)
            .await?;
        let stored: Vec<u8> = sqlx::query_scalar("SELECT value FROM server_state WHERE key = 'secret'")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        stored
            .try_into()
            .map_err(|_| sqlx::Error::Decode("server_state.secret is not 32 bytes".into()).into())
    }

    /// Writes a consistent copy of the database to `to` (SQLite's `VACUUM INTO`: one read
    /// transaction, so writers go on meanwhile and the copy holds everything committed
    /// before it began, including what is still in the `-wal` file). The copy is created
    /// mode 0600 like the database; a file already there is refused, never overwritten.
    pub async fn backup(&self, to: &std::path::Path) -> Result<(), StoreError> {
        let target = to.to_str().filter(|_| !to.exists()).ok_or_else(|| StoreError::Exists(to.to_owned()))?;
        create_private(to)?;
        if let Err(e) = sqlx::query("VACUUM INTO ?").bind(target).execute(&self.read).await {
            let _ = std::fs::remove_file(to);
            return Err(e.into());
        }
        Ok(())
    }

    /// Waits for queries in flight and closes the database cleanly.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// Whether opening the database brings its schema up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Schema {
    Migrate,
    AsIs,
}

/// The database's file; `None` for an in-memory database.
fn file_of(options: &SqliteConnectOptions) -> Option<&std::path::Path> {
    let path = options.get_filename();
    (!path.as_os_str().is_empty() && path.as_os_str() != ":memory:").then_some(path)
}

/// Creates a database file (or a backup's) with mode 0600 if it does not exist yet (SQLite
/// would create it with the umask's mode, usually world-readable).
fn create_private(path: &std::path::Path) -> Result<(), StoreError> {
    if path.exists() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        // Another process created it meanwhile: its mode is its creator's business.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::Create { path: path.to_owned(), source }),
    }
}

/// Adds one to an account's list version and returns the new one. Every list change does
/// it, for every account whose `SYN` output the change alters.
async fn bump(conn: &mut SqliteConnection, id: UserId) -> Result<u32, StoreError> {
    sqlx::query_scalar("UPDATE users SET list_version = list_version + 1 WHERE id = ? RETURNING list_version")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::NotFound)
}

/// The protocol's ids, stored as the integers they are. (`protocol` knows nothing of sqlx,
/// so the store teaches sqlx about them.)
macro_rules! stored_as {
    ($($id:ty => $repr:ty),*) => {$(
        impl sqlx::Type<Sqlite> for $id {
            fn type_info() -> SqliteTypeInfo {
                <$repr as sqlx::Type<Sqlite>>::type_info()
            }

            fn compatible(ty: &SqliteTypeInfo) -> bool {
                <$repr as sqlx::Type<Sqlite>>::compatible(ty)
            }
        }

        impl<'q> sqlx::Encode<'q, Sqlite> for $id {
            fn encode_by_ref(&self, args: &mut Vec<SqliteArgumentValue<'q>>) -> Result<IsNull, BoxDynError> {
                self.0.encode_by_ref(args)
            }
        }

        impl<'r> sqlx::Decode<'r, Sqlite> for $id {
            fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
                <$repr as sqlx::Decode<'r, Sqlite>>::decode(value).map(Self)
            }
        }
    )*};
}

stored_as!(UserId => i64, GroupId => u8);

/// Logs a database failure; the client is told only `500`.
pub fn internal(error: StoreError) -> ProtocolError {
    tracing::error!(%error, "database error");
    ProtocolError::Internal
}
