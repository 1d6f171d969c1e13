//! My settings and what I show of myself: GTC, BLP, my friendly name, my phone
//! properties. Those who see a setting change get their list version bumped too.

use sqlx::SqliteConnection;

use super::contacts::ListError;
use super::{bump, Store, StoreError};
use crate::protocol::lists::{Blp, Gtc, List, Property};
use crate::protocol::view::UserId;

/// The result of a PRP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyChanged {
    pub version: u32,
    /// Accounts that have me on their FL and are on my AL (they see my properties), with
    /// their new list versions.
    pub watchers: Vec<(UserId, u32)>,
}

impl Store {
    /// GTC. `Unchanged` if already that value.
    pub async fn set_gtc(&self, me: UserId, gtc: Gtc) -> Result<u32, ListError> {
        let mut tx = self.begin_write().await?;
        set_setting(&mut tx, me, Setting::Gtc, &gtc.to_string()).await?;
        let version = bump(&mut tx, me).await?;
        tx.commit().await?;
        Ok(version)
    }

    /// BLP. `Unchanged` if already that value. Bumps everyone who has me on FL.
    pub async fn set_blp(&self, me: UserId, blp: Blp) -> Result<u32, ListError> {
        let mut tx = self.begin_write().await?;
        set_setting(&mut tx, me, Setting::Blp, &blp.to_string()).await?;
        sqlx::query(
            "UPDATE users SET list_version = list_version + 1
             WHERE id <> ?1 AND id IN (SELECT owner_id FROM contacts WHERE contact_id = ?1 AND lists & ?2)",
        )
        .bind(me)
        .bind(List::Forward.bit())
        .execute(&mut *tx)
        .await?;
        let version = bump(&mut tx, me).await?;
        tx.commit().await?;
        Ok(version)
    }

    /// UUX: my personal message's `<Data>` document (`None`: none). It is no part of the
    /// lists, so no version changes.
    pub async fn set_personal_message(&self, me: UserId, document: Option<&str>) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET personal_message = ? WHERE id = ?")
            .bind(document)
            .bind(me)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// REA of myself: the friendly name (decoded). Returns my new version.
    pub async fn set_friendly_name(&self, me: UserId, name: &str) -> Result<u32, StoreError> {
        // One statement: a transaction of its own.
        sqlx::query_scalar(
            "UPDATE users SET friendly_name = ?, list_version = list_version + 1 WHERE id = ?
             RETURNING list_version",
        )
        .bind(name)
        .bind(me)
        .fetch_optional(&self.write)
        .await?
        .ok_or(StoreError::NotFound)
    }

    /// PRP: sets (or with None clears) a property and bumps the versions of the watchers
    /// who see it.
    pub async fn set_property(
        &self,
        me: UserId,
        prop: Property,
        value: Option<&str>,
    ) -> Result<PropertyChanged, StoreError> {
        let mut tx = self.begin_write().await?;
        let query = match value {
            Some(value) => sqlx::query(
                "INSERT INTO properties (user_id, name, value) VALUES (?, ?, ?)
                 ON CONFLICT (user_id, name) DO UPDATE SET value = excluded.value",
            )
            .bind(me)
            .bind(prop.to_string())
            .bind(value),
            None => sqlx::query("DELETE FROM properties WHERE user_id = ? AND name = ?")
                .bind(me)
                .bind(prop.to_string()),
        };
        query.execute(&mut *tx).await?;
        // W watches my properties if W has me on FL and W is on my AL.
        let mut watchers: Vec<(UserId, u32)> = sqlx::query_as(
            "UPDATE users SET list_version = list_version + 1
             WHERE id <> ?1 AND id IN (
                 SELECT theirs.owner_id FROM contacts theirs
                 JOIN contacts mine ON mine.owner_id = ?1 AND mine.contact_id = theirs.owner_id
                 WHERE theirs.contact_id = ?1 AND theirs.lists & ?2 AND mine.lists & ?3)
             RETURNING id, list_version",
        )
        .bind(me)
        .bind(List::Forward.bit())
        .bind(List::Allow.bit())
        .fetch_all(&mut *tx)
        .await?;
        watchers.sort_unstable();
        let version = bump(&mut tx, me).await?;
        tx.commit().await?;
        Ok(PropertyChanged { version, watchers })
    }
}

/// The `users` column a GTC or BLP command sets.
#[derive(Clone, Copy)]
enum Setting {
    Gtc,
    Blp,
}

/// Stores a GTC or BLP value; `Unchanged` if it is already that.
async fn set_setting(
    conn: &mut SqliteConnection,
    me: UserId,
    setting: Setting,
    value: &str,
) -> Result<(), ListError> {
    let (select, update) = match setting {
        Setting::Gtc => ("SELECT gtc FROM users WHERE id = ?", "UPDATE users SET gtc = ? WHERE id = ?"),
        Setting::Blp => ("SELECT blp FROM users WHERE id = ?", "UPDATE users SET blp = ? WHERE id = ?"),
    };
    let current: String =
        sqlx::query_scalar(select).bind(me).fetch_optional(&mut *conn).await?.ok_or(StoreError::NotFound)?;
    if current == value {
        return Err(ListError::Unchanged);
    }
    sqlx::query(update).bind(value).bind(me).execute(&mut *conn).await?;
    Ok(())
}
