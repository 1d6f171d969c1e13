//! My groups: ADG, RMG, REG, and the checks ADD and REM make against them.

use sqlx::{Sqlite, SqliteConnection, Transaction};

use super::contacts::ListError;
use super::{bump, Store};
use crate::protocol::lists::{GroupId, MAX_GROUPS};
use crate::protocol::view::UserId;

impl Store {
    /// ADG: a new group with the lowest free id 1..=29. `TooManyGroups` at 30 groups.
    /// Returns (version, id).
    pub async fn add_group(&self, me: UserId, name: &str) -> Result<(u32, GroupId), ListError> {
        let mut tx = self.begin_write().await?;
        let taken: Vec<GroupId> = sqlx::query_scalar("SELECT group_id FROM groups WHERE owner_id = ?")
            .bind(me)
            .fetch_all(&mut *tx)
            .await?;
        if taken.len() >= MAX_GROUPS {
            return Err(ListError::TooManyGroups);
        }
        let id =
            (1..=LAST_GROUP).map(GroupId).find(|id| !taken.contains(id)).ok_or(ListError::TooManyGroups)?;
        sqlx::query("INSERT INTO groups (owner_id, group_id, name) VALUES (?, ?, ?)")
            .bind(me)
            .bind(id)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let version = bump(&mut tx, me).await?;
        tx.commit().await?;
        Ok((version, id))
    }

    /// RMG: deletes a group; its members stay on FL. `GroupZero`, `NoSuchGroup`.
    pub async fn remove_group(&self, me: UserId, group: GroupId) -> Result<u32, ListError> {
        if group == GroupId(0) {
            return Err(ListError::GroupZero);
        }
        let mut tx = self.begin_write().await?;
        // Memberships go with it (ON DELETE CASCADE).
        let done = sqlx::query("DELETE FROM groups WHERE owner_id = ? AND group_id = ?")
            .bind(me)
            .bind(group)
            .execute(&mut *tx)
            .await?;
        group_changed(tx, me, done.rows_affected()).await
    }

    /// REG: renames a group (group 0 too). `NoSuchGroup`.
    pub async fn rename_group(&self, me: UserId, group: GroupId, name: &str) -> Result<u32, ListError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE groups SET name = ? WHERE owner_id = ? AND group_id = ?")
            .bind(name)
            .bind(me)
            .bind(group)
            .execute(&mut *tx)
            .await?;
        group_changed(tx, me, done.rows_affected()).await
    }
}

/// The highest group id.
const LAST_GROUP: u8 = (MAX_GROUPS - 1) as u8;

/// Ends a group change that touched `rows` groups: `NoSuchGroup` if none, else bumps my
/// version and commits.
async fn group_changed(
    mut tx: Transaction<'static, Sqlite>,
    me: UserId,
    rows: u64,
) -> Result<u32, ListError> {
    if rows == 0 {
        return Err(ListError::NoSuchGroup);
    }
    let version = bump(&mut tx, me).await?;
    tx.commit().await?;
    Ok(version)
}

pub(super) async fn group_exists(
    conn: &mut SqliteConnection,
    owner: UserId,
    group: GroupId,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM groups WHERE owner_id = ? AND group_id = ?)")
        .bind(owner)
        .bind(group)
        .fetch_one(conn)
        .await
}

pub(super) async fn in_group(
    conn: &mut SqliteConnection,
    owner: UserId,
    contact: UserId,
    group: GroupId,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM contact_groups WHERE owner_id = ? AND contact_id = ? AND group_id = ?)",
    )
    .bind(owner)
    .bind(contact)
    .bind(group)
    .fetch_one(conn)
    .await
}
