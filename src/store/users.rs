//! Accounts: handle, friendly name and stored credentials.

use sqlx::{Row, Sqlite, Transaction};

use super::{Store, StoreError, UserId};
use crate::credentials::Credentials;
use crate::protocol::Email;

/// One account as the servers need it.
#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    /// Decoded UTF-8; URL-encoded only on the wire.
    pub friendly_name: String,
    pub md5_salt: String,
    pub md5_digest: String,
    pub md5_digest_latin1: Option<String>,
    /// Argon2id PHC string; `None` for an account imported with `--md5-only`, which has no
    /// Passport login until its password is set again.
    pub passport_hash: Option<String>,
    /// Set by an operator: no login of any kind.
    pub disabled: bool,
    /// MSNP11: the personal message's `<Data>` document, as `UBX` shows it.
    pub personal_message: Option<String>,
}

/// The name of the group every account has, id 0.
pub(super) const DEFAULT_GROUP_NAME: &str = "Other Contacts";

const USER_COLUMNS: &str = "id, email, friendly_name, md5_salt, md5_digest, md5_digest_latin1, \
     passport_hash, disabled, personal_message";

impl User {
    fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<User, StoreError> {
        let email: String = row.try_get("email")?;
        Ok(User {
            id: row.try_get("id")?,
            email: decode_email(&email)?,
            friendly_name: row.try_get("friendly_name")?,
            md5_salt: row.try_get("md5_salt")?,
            md5_digest: row.try_get("md5_digest")?,
            md5_digest_latin1: row.try_get("md5_digest_latin1")?,
            passport_hash: row.try_get("passport_hash")?,
            disabled: row.try_get("disabled")?,
            personal_message: row.try_get("personal_message")?,
        })
    }
}

impl Store {
    /// Creates an account, with its group 0; `Duplicate` if the handle is taken.
    pub async fn create_user(
        &self,
        email: &Email,
        friendly_name: &str,
        creds: &Credentials,
    ) -> Result<User, StoreError> {
        let mut tx = self.begin_write().await?;
        let user = Store::insert_user(&mut tx, email, friendly_name, creds).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// The account with this handle, if any.
    pub async fn user(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?"))
            .bind(email.as_str())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(User::from_row).transpose()
    }

    /// Every account, ordered by handle.
    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY email"))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(User::from_row).collect()
    }

    /// Inserts an account and its group 0 within `tx`.
    pub(super) async fn insert_user(
        tx: &mut Transaction<'static, Sqlite>,
        email: &Email,
        friendly_name: &str,
        creds: &Credentials,
    ) -> Result<User, StoreError> {
        let row = sqlx::query(&format!(
            "INSERT INTO users (email, friendly_name, md5_salt, md5_digest, md5_digest_latin1, passport_hash)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING {USER_COLUMNS}"
        ))
        .bind(email.as_str())
        .bind(friendly_name)
        .bind(&creds.md5_salt)
        .bind(&creds.md5_digest)
        .bind(&creds.md5_digest_latin1)
        .bind(&creds.passport_hash)
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate,
            e => e.into(),
        })?;
        let user = User::from_row(&row)?;
        sqlx::query("INSERT INTO groups (owner_id, group_id, name) VALUES (?, 0, ?)")
            .bind(user.id)
            .bind(DEFAULT_GROUP_NAME)
            .execute(&mut **tx)
            .await?;
        Ok(user)
    }

    /// Replaces an account's password.
    pub async fn set_credentials(&self, email: &Email, creds: &Credentials) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE users SET md5_salt = ?, md5_digest = ?, md5_digest_latin1 = ?, passport_hash = ?
             WHERE email = ?",
        )
        .bind(&creds.md5_salt)
        .bind(&creds.md5_digest)
        .bind(&creds.md5_digest_latin1)
        .bind(&creds.passport_hash)
        .bind(email.as_str())
        .execute(&self.write)
        .await?;
        found(done.rows_affected())
    }

    /// Disables an account (no login of any kind) or enables it again.
    pub async fn set_disabled(&self, email: &Email, disabled: bool) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE users SET disabled = ? WHERE email = ?")
            .bind(disabled)
            .bind(email.as_str())
            .execute(&self.write)
            .await?;
        found(done.rows_affected())
    }

    /// Deletes an account and everything that belongs to it. Every account that had it on a
    /// list gets its list version bumped, since its `SYN` output changes.
    pub async fn delete_user(&self, email: &Email) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE users SET list_version = list_version + 1
             WHERE email <> ?1
               AND id IN (SELECT c.owner_id FROM contacts c JOIN users u ON u.id = c.contact_id
                          WHERE u.email = ?1)",
        )
        .bind(email.as_str())
        .execute(&mut *tx)
        .await?;
        let done =
            sqlx::query("DELETE FROM users WHERE email = ?").bind(email.as_str()).execute(&mut *tx).await?;
        found(done.rows_affected())?;
        tx.commit().await?;
        Ok(())
    }
}

/// A handle read back from the database; one that no longer parses is a decode error.
pub(super) fn decode_email(text: &str) -> Result<Email, sqlx::Error> {
    text.parse()
        .map_err(|_| sqlx::Error::Decode(format!("stored handle {text:?} is not an e-mail address").into()))
}

fn found(rows: u64) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
