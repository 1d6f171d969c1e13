//! My groups: ADG, RMG, REG, and the checks ADD and REM make against them.

use sqlx::SqliteConnection;

use super::contacts::ListError;
use super::{bump, Store};
use crate::protocol::lists::{GroupId, MAX_GROUPS};
use crate::protocol::view::{Group, UserId};

impl Store {
    /// ADG: a new group with the lowest free id 1..=29 (and a new GUID). `TooManyGroups` at
    /// 30 groups. Returns (version, group).
    pub async fn add_group(&self, me: UserId, name: &str) -> Result<(u32, Group), ListError> {
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
        let group = read_group(&mut tx, me, id).await?;
        let version = bump(&mut tx, me).await?;
        tx.commit().await?;
        Ok((version, group))
    }

    /// RMG: deletes a group; its members stay on FL. `GroupZero`, `NoSuchGroup`. Returns
    /// (version, the group as it was).
    pub async fn remove_group(&self, me: UserId, group: GroupId) -> Result<(u32, Group), ListError> {
        if group == GroupId(0) {
            return Err(ListError::GroupZero);
        }
        let mut tx = self.begin_write().await?;
        let removed = read_group(&mut tx, me, group).await?;
        // Memberships go with it (ON DELETE CASCADE).
        sqlx::query("DELETE FROM groups WHERE owner_id = ? AND group_id = ?")
            .bind(me)
            .bind(group)
            .execute(&mut *tx)
            .await?;
        let version = bump(&mut tx, me).await?;
        tx.commit().await?;
        Ok((version, removed))
    }

    /// REG: renames a group (group 0 too). `NoSuchGroup`. Returns (version, the group).
    pub async fn rename_group(
        &self,
        me: UserId,
        group: GroupId,
        name: &str,
    ) -> Result<(u32, Group), ListError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE groups SET name = ? WHERE owner_id = ? AND group_id = ?")
            .bind(name)
            .bind(me)
            .bind(group)
            .execute(&mut *tx)
            .await?;
        let renamed = read_group(&mut tx, me, group).await?;
        let version = bump(&mut tx, me).await?;
        tx.commit().await?;
        Ok((version, renamed))
    }
}

/// The highest group id.
const LAST_GROUP: u8 = (MAX_GROUPS - 1) as u8;

/// One of my groups; `NoSuchGroup` if I have no such one.
async fn read_group(conn: &mut SqliteConnection, owner: UserId, group: GroupId) -> Result<Group, ListError> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT guid, name FROM groups WHERE owner_id = ? AND group_id = ?")
            .bind(owner)
            .bind(group)
            .fetch_optional(conn)
            .await?;
    let (guid, name) = row.ok_or(ListError::NoSuchGroup)?;
    let guid =
        guid.parse().map_err(|_| sqlx::Error::Decode(format!("stored GUID {guid:?} malformed").into()))?;
    Ok(Group { id: group, guid, name })
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
