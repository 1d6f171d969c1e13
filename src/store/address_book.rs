//! MSNP10's view of the same lists: entries and groups found by GUID, an FL entry put in
//! and taken out of groups the way MSNP10 means it (group 0, which older versions show,
//! stands for "in no group"), and the pending list.

use sqlx::SqliteConnection;

use super::contacts::{find_user, ListError};
use super::groups::{group_exists, in_group};
use super::{bump, Store};
use crate::protocol::lists::{GroupId, List};
use crate::protocol::view::{Guid, UserId};
use crate::protocol::Email;

impl Store {
    /// The contact of my FL entry `guid`, and the name stored with it; `NotOnList` if I have
    /// none by that GUID.
    pub async fn contact_by_guid(&self, me: UserId, guid: &Guid) -> Result<(Email, String), ListError> {
        let found: Option<(String, String)> = sqlx::query_as(
            "SELECT u.email, c.name FROM contacts c JOIN users u ON u.id = c.contact_id
             WHERE c.owner_id = ? AND c.guid = ? AND c.lists & ?",
        )
        .bind(me)
        .bind(guid.as_str())
        .bind(List::Forward.bit())
        .fetch_optional(&self.read)
        .await?;
        let (email, name) = found.ok_or(ListError::NotOnList)?;
        Ok((email.parse().map_err(|_| ListError::NotOnList)?, name))
    }

    /// My group `guid`; `NoSuchGroup` if I have none (group 0 is never found: MSNP10 does
    /// not see it).
    pub async fn group_by_guid(&self, me: UserId, guid: &Guid) -> Result<GroupId, ListError> {
        let mut conn = self.read.acquire().await?;
        find_group(&mut conn, me, guid).await
    }

    /// `ADC FL C=entry group`: puts my FL entry in a group, out of "no group".
    /// `NotOnList`, `NoSuchGroup`, `AlreadyThere`. Returns my new version.
    pub async fn file(&self, me: UserId, entry: &Guid, group: &Guid) -> Result<u32, ListError> {
        let mut tx = self.begin_write().await?;
        let contact = find_entry(&mut tx, me, entry).await?;
        let group = find_group(&mut tx, me, group).await?;
        if in_group(&mut tx, me, contact, group).await? {
            return Err(ListError::AlreadyThere);
        }
        set_membership(&mut tx, me, contact, group, true).await?;
        set_membership(&mut tx, me, contact, GroupId(0), false).await?;
        let version = bump(&mut tx, me).await?;
        tx.commit().await?;
        Ok(version)
    }

    /// `REM FL entry group`: takes my FL entry out of a group; out of its last one, it is
    /// in "no group" (group 0 for older versions). `NotOnList`, `NoSuchGroup`, `NotInGroup`.
    pub async fn unfile(&self, me: UserId, entry: &Guid, group: &Guid) -> Result<u32, ListError> {
        let mut tx = self.begin_write().await?;
        let contact = find_entry(&mut tx, me, entry).await?;
        let group = find_group(&mut tx, me, group).await?;
        if !set_membership(&mut tx, me, contact, group, false).await? {
            return Err(ListError::NotInGroup);
        }
        let left: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM contact_groups WHERE owner_id = ? AND contact_id = ?)",
        )
        .bind(me)
        .bind(contact)
        .fetch_one(&mut *tx)
        .await?;
        if !left && group_exists(&mut tx, me, GroupId(0)).await? {
            set_membership(&mut tx, me, contact, GroupId(0), true).await?;
        }
        let version = bump(&mut tx, me).await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Takes `contact` off my PL: I have decided (`REM PL`, `ADC RL`). Returns whether it
    /// was pending; `NotOnList` if it is not on my RL.
    pub async fn settle(&self, me: UserId, contact: &Email) -> Result<bool, ListError> {
        let mut tx = self.begin_write().await?;
        let contact = find_user(&mut tx, contact).await?.ok_or(ListError::NotOnList)?;
        let was: Option<bool> = sqlx::query_scalar(
            "SELECT pending FROM contacts WHERE owner_id = ? AND contact_id = ? AND lists & ?",
        )
        .bind(me)
        .bind(contact)
        .bind(List::Reverse.bit())
        .fetch_optional(&mut *tx)
        .await?;
        let was = was.ok_or(ListError::NotOnList)?;
        if was {
            sqlx::query("UPDATE contacts SET pending = 0 WHERE owner_id = ? AND contact_id = ?")
                .bind(me)
                .bind(contact)
                .execute(&mut *tx)
                .await?;
            bump(&mut tx, me).await?;
        }
        tx.commit().await?;
        Ok(was)
    }
}

async fn find_entry(conn: &mut SqliteConnection, me: UserId, guid: &Guid) -> Result<UserId, ListError> {
    let contact =
        sqlx::query_scalar("SELECT contact_id FROM contacts WHERE owner_id = ? AND guid = ? AND lists & ?")
            .bind(me)
            .bind(guid.as_str())
            .bind(List::Forward.bit())
            .fetch_optional(conn)
            .await?;
    contact.ok_or(ListError::NotOnList)
}

async fn find_group(conn: &mut SqliteConnection, me: UserId, guid: &Guid) -> Result<GroupId, ListError> {
    let group =
        sqlx::query_scalar("SELECT group_id FROM groups WHERE owner_id = ? AND guid = ? AND group_id <> 0")
            .bind(me)
            .bind(guid.as_str())
            .fetch_optional(conn)
            .await?;
    group.ok_or(ListError::NoSuchGroup)
}

/// Puts an FL entry in a group or takes it out; whether that changed anything.
async fn set_membership(
    conn: &mut SqliteConnection,
    me: UserId,
    contact: UserId,
    group: GroupId,
    member: bool,
) -> Result<bool, sqlx::Error> {
    let statement = match member {
        true => "INSERT OR IGNORE INTO contact_groups (owner_id, contact_id, group_id) VALUES (?, ?, ?)",
        false => "DELETE FROM contact_groups WHERE owner_id = ? AND contact_id = ? AND group_id = ?",
    };
    let done = sqlx::query(statement).bind(me).bind(contact).bind(group).execute(conn).await?;
    Ok(done.rows_affected() > 0)
}
