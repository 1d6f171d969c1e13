//! Bulk account creation for `msnd user import`: many accounts per transaction, and mutual
//! contact lists written with set-based SQL instead of one `ADD` at a time.

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::users::DEFAULT_GROUP_NAME;
use super::{Store, StoreError, UserId};
use crate::credentials::Md5Credentials;
use crate::protocol::lists::List;
use crate::protocol::Email;

/// One account to create.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: Email,
    /// Decoded UTF-8.
    pub friendly_name: String,
    pub md5: Md5Credentials,
    /// `None`: no Passport (MSNP8) login until the password is set again.
    pub passport_hash: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Imported {
    pub created: usize,
    /// Handles that already had an account; those accounts were left as they were.
    pub existing: usize,
}

/// Accounts per transaction: large enough that commits (one fsync each) do not dominate.
const ACCOUNTS_PER_TRANSACTION: usize = 5_000;
/// Rows per `INSERT` statement, well under SQLite's limit of 32766 bound parameters.
const ROWS_PER_STATEMENT: usize = 1_000;

impl Store {
    /// Creates the accounts that do not exist yet (each with its group 0), thousands per
    /// transaction; `progress` is called after each transaction with the count done.
    pub async fn import_accounts(
        &self,
        accounts: &[NewAccount],
        mut progress: impl FnMut(usize),
    ) -> Result<Imported, StoreError> {
        let mut imported = Imported::default();
        let mut done = 0;
        for batch in accounts.chunks(ACCOUNTS_PER_TRANSACTION) {
            let mut tx = self.begin_write().await?;
            for rows in batch.chunks(ROWS_PER_STATEMENT) {
                let created = insert_accounts(&mut tx, rows).await?;
                imported.created += created;
                imported.existing += rows.len() - created;
            }
            tx.commit().await?;
            done += batch.len();
            progress(done);
        }
        Ok(imported)
    }

    /// Makes every account in `ring` a mutual contact (on each other's FL and AL, so each
    /// on the other's RL) of its `per_side` neighbours on either side, the ring wrapping
    /// around: each account gets `2 * per_side` contacts when the ring is longer than that.
    /// New FL entries go into group 0 and every changed account's list version is bumped.
    /// A pair where either side has the other on its BL is left alone. Returns how many
    /// list entries were written (two per pair). One transaction, whatever the size.
    pub async fn befriend_ring(&self, ring: &[Email], per_side: usize) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let conn: &mut SqliteConnection = &mut tx;
        for statement in [
            "DROP TABLE IF EXISTS temp.ring_emails",
            "DROP TABLE IF EXISTS temp.ring",
            "DROP TABLE IF EXISTS temp.ring_pairs",
            "CREATE TEMP TABLE ring_emails (pos INTEGER PRIMARY KEY, email TEXT NOT NULL)",
            "CREATE TEMP TABLE ring (pos INTEGER PRIMARY KEY, id INTEGER NOT NULL)",
            "CREATE TEMP TABLE ring_pairs (owner_id INTEGER NOT NULL, contact_id INTEGER NOT NULL,
                 new_on_fl INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (owner_id, contact_id)) WITHOUT ROWID",
        ] {
            sqlx::query(statement).execute(&mut *conn).await?;
        }
        for (chunk_at, chunk) in ring.chunks(ROWS_PER_STATEMENT).enumerate() {
            let mut insert = QueryBuilder::<Sqlite>::new("INSERT INTO ring_emails (pos, email) ");
            insert.push_values(chunk.iter().enumerate(), |mut row, (i, email)| {
                let pos = i64::try_from(chunk_at * ROWS_PER_STATEMENT + i).unwrap_or(i64::MAX);
                row.push_bind(pos).push_bind(email.as_str());
            });
            insert.build().execute(&mut *conn).await?;
        }
        // Renumbered densely, so that a handle without an account does not leave a hole.
        sqlx::query(
            "INSERT INTO ring (pos, id)
             SELECT ROW_NUMBER() OVER (ORDER BY e.pos) - 1, u.id
             FROM ring_emails e JOIN users u ON u.email = e.email",
        )
        .execute(&mut *conn)
        .await?;
        let half = i64::try_from(per_side).unwrap_or(i64::MAX);
        sqlx::query(
            "WITH RECURSIVE side(d) AS (SELECT 1 WHERE ?1 > 0 UNION ALL SELECT d + 1 FROM side WHERE d < ?1),
                  size(n) AS (SELECT COUNT(*) FROM ring),
                  forward(a, b) AS (
                      SELECT r.id, s.id FROM ring r, side, size JOIN ring s ON s.pos = (r.pos + side.d) % size.n)
             INSERT OR IGNORE INTO ring_pairs (owner_id, contact_id)
             SELECT a, b FROM forward WHERE a <> b
             UNION ALL SELECT b, a FROM forward WHERE a <> b",
        )
        .bind(half)
        .execute(&mut *conn)
        .await?;
        let block = List::Block.bit();
        let forward = List::Forward.bit();
        for blocked in [
            "DELETE FROM ring_pairs WHERE EXISTS (SELECT 1 FROM contacts c
                 WHERE c.owner_id = ring_pairs.owner_id AND c.contact_id = ring_pairs.contact_id AND c.lists & ?)",
            "DELETE FROM ring_pairs WHERE EXISTS (SELECT 1 FROM contacts c
                 WHERE c.owner_id = ring_pairs.contact_id AND c.contact_id = ring_pairs.owner_id AND c.lists & ?)",
        ] {
            sqlx::query(blocked).bind(block).execute(&mut *conn).await?;
        }
        // A pair of the other direction was deleted above with its own: keep both or neither.
        sqlx::query(
            "DELETE FROM ring_pairs WHERE NOT EXISTS (SELECT 1 FROM ring_pairs r
                 WHERE r.owner_id = ring_pairs.contact_id AND r.contact_id = ring_pairs.owner_id)",
        )
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "UPDATE ring_pairs SET new_on_fl = 0 WHERE EXISTS (SELECT 1 FROM contacts c
                 WHERE c.owner_id = ring_pairs.owner_id AND c.contact_id = ring_pairs.contact_id AND c.lists & ?)",
        )
        .bind(forward)
        .execute(&mut *conn)
        .await?;
        // Friends both ways, each on the other's AL: nobody is pending any more.
        let bits = List::Forward.bit() | List::Allow.bit() | List::Reverse.bit();
        let written = sqlx::query(
            "INSERT INTO contacts (owner_id, contact_id, lists, name)
             SELECT p.owner_id, p.contact_id, ?, u.friendly_name
             FROM ring_pairs p JOIN users u ON u.id = p.contact_id WHERE true
             ON CONFLICT (owner_id, contact_id) DO UPDATE SET lists = lists | excluded.lists, pending = 0",
        )
        .bind(bits)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        sqlx::query(
            "INSERT OR IGNORE INTO contact_groups (owner_id, contact_id, group_id)
             SELECT owner_id, contact_id, 0 FROM ring_pairs WHERE new_on_fl",
        )
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "UPDATE users SET list_version = list_version + 1
             WHERE id IN (SELECT DISTINCT owner_id FROM ring_pairs)",
        )
        .execute(&mut *conn)
        .await?;
        for statement in ["DROP TABLE temp.ring_emails", "DROP TABLE temp.ring", "DROP TABLE temp.ring_pairs"]
        {
            sqlx::query(statement).execute(&mut *conn).await?;
        }
        tx.commit().await?;
        Ok(written)
    }
}

/// Inserts one statement's worth of accounts, skipping taken handles, and gives each new
/// account its group 0. Returns how many were created.
async fn insert_accounts(conn: &mut SqliteConnection, rows: &[NewAccount]) -> Result<usize, StoreError> {
    let mut insert = QueryBuilder::<Sqlite>::new(
        "INSERT INTO users (email, friendly_name, md5_salt, md5_digest, md5_digest_latin1, passport_hash) ",
    );
    insert.push_values(rows, |mut row, account| {
        row.push_bind(account.email.as_str())
            .push_bind(&account.friendly_name)
            .push_bind(&account.md5.md5_salt)
            .push_bind(&account.md5.md5_digest)
            .push_bind(&account.md5.md5_digest_latin1)
            .push_bind(&account.passport_hash);
    });
    insert.push(" ON CONFLICT (email) DO NOTHING RETURNING id");
    let ids: Vec<UserId> = insert.build_query_scalar().fetch_all(&mut *conn).await?;
    if !ids.is_empty() {
        let mut groups = QueryBuilder::<Sqlite>::new("INSERT INTO groups (owner_id, group_id, name) ");
        groups.push_values(&ids, |mut row, id| {
            row.push_bind(*id).push_bind(0).push_bind(DEFAULT_GROUP_NAME);
        });
        groups.build().execute(&mut *conn).await?;
    }
    Ok(ids.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::lists::{GroupId, ListSet};

    fn account(i: usize, passport: bool) -> NewAccount {
        NewAccount {
            email: format!("u{i}@example.com").parse().unwrap(),
            friendly_name: format!("User {i}"),
            md5: Md5Credentials::new("pw"),
            passport_hash: passport.then(|| "phc".to_owned()),
        }
    }

    async fn store(dir: &tempfile::TempDir) -> Store {
        Store::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap()
    }

    #[tokio::test]
    async fn imports_in_batches_and_skips_taken_handles() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        let accounts: Vec<NewAccount> = (0..2_500).map(|i| account(i, i % 2 == 0)).collect();
        let mut reported = Vec::new();
        let first = store.import_accounts(&accounts[..10], |n| reported.push(n)).await.unwrap();
        assert_eq!(first, Imported { created: 10, existing: 0 });
        let second = store.import_accounts(&accounts, |n| reported.push(n)).await.unwrap();
        assert_eq!(second, Imported { created: 2_490, existing: 10 });
        assert_eq!(reported, [10, 2_500]);
        let u0 = store.user(&accounts[0].email).await.unwrap().unwrap();
        let u1 = store.user(&accounts[1].email).await.unwrap().unwrap();
        assert_eq!((u0.passport_hash.as_deref(), u1.passport_hash), (Some("phc"), None));
        assert_eq!(u1.friendly_name, "User 1");
        let snapshot = store.snapshot(u1.id).await.unwrap();
        assert_eq!(snapshot.groups.len(), 1, "group 0 exists");
    }

    #[tokio::test]
    async fn a_ring_makes_neighbours_mutual_contacts() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        let accounts: Vec<NewAccount> = (0..7).map(|i| account(i, false)).collect();
        store.import_accounts(&accounts, |_| {}).await.unwrap();
        let ring: Vec<Email> = accounts.iter().map(|a| a.email.clone()).collect();
        assert_eq!(store.befriend_ring(&ring, 2).await.unwrap(), 7 * 4);
        let u0 = store.user(&ring[0]).await.unwrap().unwrap();
        let summary = store.snapshot(u0.id).await.unwrap();
        let mut contacts: Vec<&str> = summary.contacts.iter().map(|c| c.email.as_str()).collect();
        contacts.sort_unstable();
        assert_eq!(contacts, ["u1@example.com", "u2@example.com", "u5@example.com", "u6@example.com"]);
        let all = ListSet(List::Forward.bit() | List::Allow.bit() | List::Reverse.bit());
        assert!(summary.contacts.iter().all(|c| c.lists == all));
        assert_eq!(summary.version, 2);
        let snapshot = store.snapshot(u0.id).await.unwrap();
        assert!(snapshot.contacts.iter().all(|c| c.groups == [GroupId(0)]), "new FL entries are in group 0");
        // Again: nothing new, entries stay as they are.
        store.befriend_ring(&ring, 2).await.unwrap();
        assert_eq!(store.snapshot(u0.id).await.unwrap().contacts.len(), 4);
    }

    #[tokio::test]
    async fn making_the_passport_hash_optional_keeps_every_row() {
        // A database at migration 0002 with one of everything, then the real `Store::open`.
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old");
        std::fs::create_dir(&old).unwrap();
        let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        for file in ["0001_users.sql", "0002_lists.sql"] {
            std::fs::copy(migrations.join(file), old.join(file)).unwrap();
        }
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let options = url.parse::<sqlx::sqlite::SqliteConnectOptions>().unwrap();
        let pool =
            sqlx::SqlitePool::connect_with(options.create_if_missing(true).foreign_keys(true)).await.unwrap();
        sqlx::migrate::Migrator::new(old.as_path()).await.unwrap().run(&pool).await.unwrap();
        for statement in [
            "INSERT INTO users (id, email, friendly_name, md5_salt, md5_digest, passport_hash)
             VALUES (1, 'a@example.com', 'A', '1.2', 'd', 'h'), (2, 'b@example.com', 'B', '1.2', 'd', 'h')",
            "INSERT INTO groups VALUES (1, 0, 'Other Contacts'), (2, 0, 'Other Contacts'), (1, 1, 'G')",
            "INSERT INTO contacts VALUES (1, 2, 11, 'B'), (2, 1, 11, 'A')",
            "INSERT INTO contact_groups VALUES (1, 2, 0), (1, 2, 1), (2, 1, 0)",
            "INSERT INTO properties VALUES (1, 'PHH', '123')",
        ] {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        pool.close().await;

        let store = Store::open(&url).await.unwrap();
        let a = store.user(&"a@example.com".parse().unwrap()).await.unwrap().unwrap();
        assert_eq!(a.passport_hash.as_deref(), Some("h"));
        let snapshot = store.snapshot(a.id).await.unwrap();
        assert_eq!(snapshot.groups.len(), 2);
        assert_eq!(snapshot.contacts.len(), 1);
        assert_eq!(snapshot.contacts[0].groups, [GroupId(0), GroupId(1)]);
        assert_eq!(snapshot.properties.get(crate::protocol::lists::Property::Phh), Some("123"));
        store.import_accounts(&[account(3, false)], |_| {}).await.unwrap();
        store.delete_user(&"b@example.com".parse().unwrap()).await.unwrap();
        assert!(store.snapshot(a.id).await.unwrap().contacts.is_empty(), "deletes still cascade");
    }

    #[tokio::test]
    async fn a_blocked_pair_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        let accounts: Vec<NewAccount> = (0..3).map(|i| account(i, false)).collect();
        store.import_accounts(&accounts, |_| {}).await.unwrap();
        let ring: Vec<Email> = accounts.iter().map(|a| a.email.clone()).collect();
        let u0 = store.user(&ring[0]).await.unwrap().unwrap();
        store.add_to_list(u0.id, List::Block, &ring[1], "x", None, 150).await.unwrap();
        store.befriend_ring(&ring, 1).await.unwrap();
        let summary = store.snapshot(u0.id).await.unwrap();
        let on_fl: Vec<&str> = summary
            .contacts
            .iter()
            .filter(|c| c.lists.contains(List::Forward))
            .map(|c| c.email.as_str())
            .collect();
        assert_eq!(on_fl, ["u2@example.com"]);
        let u1 = store.user(&ring[1]).await.unwrap().unwrap();
        let theirs = store.snapshot(u1.id).await.unwrap();
        assert!(!theirs.contacts.iter().any(|c| c.id == u0.id), "u1 did not get u0 either");
    }
}
