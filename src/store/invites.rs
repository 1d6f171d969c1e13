//! Invitation codes for the sign-up page, and accounts created with one.

use super::{Store, StoreError, User};
use crate::credentials::Credentials;
use crate::protocol::Email;

impl Store {
    /// Records a new invitation `code`, valid until `expires_at` (unix seconds).
    pub async fn create_invite(&self, code: &str, now: u64, expires_at: u64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO invites (code, created_at, expires_at) VALUES (?, ?, ?)")
            .bind(code)
            .bind(now as i64)
            .bind(expires_at as i64)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Creates an account with an invitation code, in one transaction: the code is spent
    /// only if the account is created, and an account is created only with a code that is
    /// unused and current at `now`. `NotFound` for a code that is not.
    pub async fn create_invited_user(
        &self,
        code: &str,
        now: u64,
        email: &Email,
        friendly_name: &str,
        creds: &Credentials,
    ) -> Result<User, StoreError> {
        let mut tx = self.begin_write().await?;
        let spent = sqlx::query(
            "UPDATE invites SET used_by = ? WHERE code = ? AND used_by IS NULL AND expires_at > ?",
        )
        .bind(email.as_str())
        .bind(code)
        .bind(now as i64)
        .execute(&mut *tx)
        .await?;
        if spent.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let user = Store::insert_user(&mut tx, email, friendly_name, creds).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Whether the database answers a query.
    pub async fn healthy(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        sqlx::query("SELECT 1").execute(&self.write).await?;
        Ok(())
    }

    /// How many accounts there are.
    pub async fn count_users(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.read).await?)
    }
}
