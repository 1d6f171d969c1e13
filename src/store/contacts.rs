//! Who is on which of my lists: ADD, REM and the names stored with entries (REA of a
//! contact). An FL change also puts me on, or takes me off, the contact's RL.

use sqlx::SqliteConnection;

use super::groups::{group_exists, in_group};
use super::{bump, Store, StoreError};
use crate::protocol::lists::{GroupId, List, ListSet};
use crate::protocol::view::{Guid, UserId};
use crate::protocol::Email;

/// Why a list change was refused. Each maps to one protocol error.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("no such account")]
    NoSuchUser,
    #[error("already on that list (or in that group)")]
    AlreadyThere,
    #[error("on the opposite list")]
    InOppositeList,
    #[error("list full")]
    ListFull,
    #[error("not on that list")]
    NotOnList,
    #[error("no such group")]
    NoSuchGroup,
    #[error("contact not in that group")]
    NotInGroup,
    #[error("too many groups")]
    TooManyGroups,
    #[error("group 0 cannot be removed")]
    GroupZero,
    #[error("already set to that value")]
    Unchanged,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ListError {
    fn from(e: sqlx::Error) -> Self {
        ListError::Store(e.into())
    }
}

/// The result of an ADD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    /// My new list version.
    pub version: u32,
    pub contact: UserId,
    /// What MSNP10 calls my entry for the contact.
    pub guid: Guid,
    /// Set when this ADD put me on the contact's RL: the contact's new list version.
    pub reverse_version: Option<u32>,
}

/// The result of a REM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    pub version: u32,
    pub contact: UserId,
    /// Set when this REM took me off the contact's RL: the contact's new list version.
    pub reverse_version: Option<u32>,
}

impl Store {
    /// ADD to FL, AL or BL (never RL). `name` is stored with the entry (replacing an older
    /// one). FL: `group` None adds to FL in group 0 (`AlreadyThere` if already on FL);
    /// `Some(g)` needs group g (`NoSuchGroup`), adds to FL if needed and to g
    /// (`AlreadyThere` if already in g). Newly on FL: I go onto the contact's RL (name: my
    /// friendly name) and their version is bumped. AL/BL: `group` must be None;
    /// `InOppositeList` if on BL/AL; if the contact has me on their FL, their version is
    /// bumped (what they may see changed). `ListFull` when FL, AL or BL would exceed
    /// `max_entries`. `NoSuchUser` for an unknown handle.
    ///
    /// Panics if `list` is RL or PL: the protocol layer refuses those before they get here.
    pub async fn add_to_list(
        &self,
        me: UserId,
        list: List,
        contact: &Email,
        name: &str,
        group: Option<GroupId>,
        max_entries: usize,
    ) -> Result<Added, ListError> {
        assert!(kept_by_clients(list), "the server keeps the RL and PL; ADD {list} must not reach the store");
        let mut tx = self.begin_write().await?;
        let contact = find_user(&mut tx, contact).await?.ok_or(ListError::NoSuchUser)?;
        let version = match list {
            List::Forward => add_to_fl(&mut tx, me, contact, name, group, max_entries).await?,
            _ => add_to_al_or_bl(&mut tx, me, list, contact, name, max_entries).await?,
        };
        let guid = entry_guid(&mut tx, me, contact).await?;
        tx.commit().await?;
        let (version, reverse_version) = version;
        Ok(Added { version, contact, guid, reverse_version })
    }

    /// REM from FL, AL or BL (never RL). FL with `Some(g)`: only from group g
    /// (`NoSuchGroup`, `NotOnList`, `NotInGroup`); FL with None: off FL and all groups, and
    /// I leave the contact's RL (their version bumped). AL/BL: like ADD, bump the contact if
    /// they have me on FL. `NotOnList` if not there. An entry on no list is deleted.
    ///
    /// Panics if `list` is RL or PL, like [`Store::add_to_list`].
    pub async fn remove_from_list(
        &self,
        me: UserId,
        list: List,
        contact: &Email,
        group: Option<GroupId>,
    ) -> Result<Removed, ListError> {
        assert!(kept_by_clients(list), "the server keeps the RL and PL; REM {list} must not reach the store");
        let mut tx = self.begin_write().await?;
        let contact = find_user(&mut tx, contact).await?;
        let removed = match (list, group) {
            (List::Forward, Some(group)) => remove_from_group(&mut tx, me, contact, group).await?,
            (List::Forward, None) => remove_from_fl(&mut tx, me, contact).await?,
            _ => remove_from_al_or_bl(&mut tx, me, list, contact).await?,
        };
        tx.commit().await?;
        Ok(removed)
    }

    /// REA of a contact: the name stored with its entry. `NotOnList` if on none of my lists.
    pub async fn rename_contact(&self, me: UserId, contact: &Email, name: &str) -> Result<u32, ListError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE contacts SET name = ?
             WHERE owner_id = ? AND contact_id = (SELECT id FROM users WHERE email = ?)",
        )
        .bind(name)
        .bind(me)
        .bind(contact.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ListError::NotOnList);
        }
        let version = bump(&mut tx, me).await?;
        tx.commit().await?;
        Ok(version)
    }
}

async fn add_to_fl(
    conn: &mut SqliteConnection,
    me: UserId,
    contact: UserId,
    name: &str,
    group: Option<GroupId>,
    max_entries: usize,
) -> Result<(u32, Option<u32>), ListError> {
    let on_fl = lists_of(conn, me, contact).await?.contains(List::Forward);
    let group = match group {
        None if on_fl => return Err(ListError::AlreadyThere),
        None => GroupId(0),
        Some(group) if !group_exists(conn, me, group).await? => return Err(ListError::NoSuchGroup),
        Some(group) if in_group(conn, me, contact, group).await? => return Err(ListError::AlreadyThere),
        Some(group) => group,
    };
    if !on_fl {
        check_room(conn, me, List::Forward, max_entries).await?;
    }
    put_entry(conn, me, contact, List::Forward, name).await?;
    sqlx::query("INSERT INTO contact_groups (owner_id, contact_id, group_id) VALUES (?, ?, ?)")
        .bind(me)
        .bind(contact)
        .bind(group)
        .execute(&mut *conn)
        .await?;
    if on_fl {
        return Ok((bump(conn, me).await?, None));
    }
    put_reverse_entry(conn, contact, me).await?;
    let (version, theirs) = bump_both(conn, me, contact).await?;
    Ok((version, Some(theirs)))
}

async fn add_to_al_or_bl(
    conn: &mut SqliteConnection,
    me: UserId,
    list: List,
    contact: UserId,
    name: &str,
    max_entries: usize,
) -> Result<(u32, Option<u32>), ListError> {
    let current = lists_of(conn, me, contact).await?;
    if current.contains(list) {
        return Err(ListError::AlreadyThere);
    }
    if list.opposite().is_some_and(|opposite| current.contains(opposite)) {
        return Err(ListError::InOppositeList);
    }
    check_room(conn, me, list, max_entries).await?;
    put_entry(conn, me, contact, list, name).await?;
    // Allowed or blocked: no longer pending.
    sqlx::query("UPDATE contacts SET pending = 0 WHERE owner_id = ? AND contact_id = ?")
        .bind(me)
        .bind(contact)
        .execute(&mut *conn)
        .await?;
    Ok((bump_me_and_watcher(conn, me, contact).await?, None))
}

/// Whether clients change the list themselves (the server keeps the RL and PL).
fn kept_by_clients(list: List) -> bool {
    !matches!(list, List::Reverse | List::Pending)
}

/// What MSNP10 calls `owner`'s entry for `contact` (which must exist).
pub(super) async fn entry_guid(
    conn: &mut SqliteConnection,
    owner: UserId,
    contact: UserId,
) -> Result<Guid, sqlx::Error> {
    let text: String = sqlx::query_scalar("SELECT guid FROM contacts WHERE owner_id = ? AND contact_id = ?")
        .bind(owner)
        .bind(contact)
        .fetch_one(conn)
        .await?;
    text.parse().map_err(|_| sqlx::Error::Decode(format!("stored GUID {text:?} malformed").into()))
}

async fn remove_from_group(
    conn: &mut SqliteConnection,
    me: UserId,
    contact: Option<UserId>,
    group: GroupId,
) -> Result<Removed, ListError> {
    if !group_exists(conn, me, group).await? {
        return Err(ListError::NoSuchGroup);
    }
    let contact = on_list(conn, me, contact, List::Forward).await?;
    let done =
        sqlx::query("DELETE FROM contact_groups WHERE owner_id = ? AND contact_id = ? AND group_id = ?")
            .bind(me)
            .bind(contact)
            .bind(group)
            .execute(&mut *conn)
            .await?;
    if done.rows_affected() == 0 {
        return Err(ListError::NotInGroup);
    }
    let version = bump(conn, me).await?;
    Ok(Removed { version, contact, reverse_version: None })
}

async fn remove_from_fl(
    conn: &mut SqliteConnection,
    me: UserId,
    contact: Option<UserId>,
) -> Result<Removed, ListError> {
    let contact = on_list(conn, me, contact, List::Forward).await?;
    clear_bit(conn, me, contact, List::Forward).await?;
    clear_bit(conn, contact, me, List::Reverse).await?;
    let (version, theirs) = bump_both(conn, me, contact).await?;
    Ok(Removed { version, contact, reverse_version: Some(theirs) })
}

async fn remove_from_al_or_bl(
    conn: &mut SqliteConnection,
    me: UserId,
    list: List,
    contact: Option<UserId>,
) -> Result<Removed, ListError> {
    let contact = on_list(conn, me, contact, list).await?;
    clear_bit(conn, me, contact, list).await?;
    let version = bump_me_and_watcher(conn, me, contact).await?;
    Ok(Removed { version, contact, reverse_version: None })
}

/// Bumps me and the contact, once each even when the contact is me; returns both versions.
async fn bump_both(
    conn: &mut SqliteConnection,
    me: UserId,
    contact: UserId,
) -> Result<(u32, u32), StoreError> {
    let mine = bump(conn, me).await?;
    let theirs = if contact == me { mine } else { bump(conn, contact).await? };
    Ok((mine, theirs))
}

/// Bumps me, and the contact too if they have me on their FL (what they may see of me
/// changed). Returns my version.
async fn bump_me_and_watcher(
    conn: &mut SqliteConnection,
    me: UserId,
    contact: UserId,
) -> Result<u32, StoreError> {
    if contact != me && lists_of(conn, contact, me).await?.contains(List::Forward) {
        bump(conn, contact).await?;
    }
    bump(conn, me).await
}

pub(super) async fn find_user(
    conn: &mut SqliteConnection,
    email: &Email,
) -> Result<Option<UserId>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM users WHERE email = ?").bind(email.as_str()).fetch_optional(conn).await
}

/// The lists `owner` has `contact` on; empty if none.
async fn lists_of(
    conn: &mut SqliteConnection,
    owner: UserId,
    contact: UserId,
) -> Result<ListSet, sqlx::Error> {
    let lists: Option<u8> =
        sqlx::query_scalar("SELECT lists FROM contacts WHERE owner_id = ? AND contact_id = ?")
            .bind(owner)
            .bind(contact)
            .fetch_optional(conn)
            .await?;
    Ok(ListSet(lists.unwrap_or(0)))
}

/// The contact, if it exists and is on that list of mine; else `NotOnList`.
async fn on_list(
    conn: &mut SqliteConnection,
    me: UserId,
    contact: Option<UserId>,
    list: List,
) -> Result<UserId, ListError> {
    match contact {
        Some(contact) if lists_of(conn, me, contact).await?.contains(list) => Ok(contact),
        _ => Err(ListError::NotOnList),
    }
}

/// `ListFull` if `owner` already has `max_entries` accounts on `list`.
async fn check_room(
    conn: &mut SqliteConnection,
    owner: UserId,
    list: List,
    max_entries: usize,
) -> Result<(), ListError> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contacts WHERE owner_id = ? AND lists & ?")
        .bind(owner)
        .bind(list.bit())
        .fetch_one(conn)
        .await?;
    if usize::try_from(count).is_ok_and(|count| count < max_entries) {
        Ok(())
    } else {
        Err(ListError::ListFull)
    }
}

/// Puts `adder` on `owner`'s RL, and on the PL unless the owner has already allowed or
/// blocked them. A new entry is named with the adder's friendly name; an existing one keeps
/// its name.
async fn put_reverse_entry(
    conn: &mut SqliteConnection,
    owner: UserId,
    adder: UserId,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO contacts (owner_id, contact_id, lists, name, pending)
         SELECT ?1, id, ?3, friendly_name, 1 FROM users WHERE id = ?2
         ON CONFLICT (owner_id, contact_id) DO UPDATE SET lists = lists | excluded.lists,
             pending = lists & ?4 = 0",
    )
    .bind(owner)
    .bind(adder)
    .bind(List::Reverse.bit())
    .bind(List::Allow.bit() | List::Block.bit())
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes `contact` off one of `owner`'s lists (FL: out of every group too; RL: off the PL
/// too), deleting an entry left on no list.
async fn clear_bit(
    conn: &mut SqliteConnection,
    owner: UserId,
    contact: UserId,
    list: List,
) -> Result<(), sqlx::Error> {
    if list == List::Forward {
        sqlx::query("DELETE FROM contact_groups WHERE owner_id = ? AND contact_id = ?")
            .bind(owner)
            .bind(contact)
            .execute(&mut *conn)
            .await?;
    }
    // `lists` is never 0 (a CHECK): delete the entry if this was its only list, else clear the bit.
    sqlx::query("DELETE FROM contacts WHERE owner_id = ? AND contact_id = ? AND lists & ~? = 0")
        .bind(owner)
        .bind(contact)
        .bind(list.bit())
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE contacts SET lists = lists & ~?1, pending = pending AND ?1 <> ?4
         WHERE owner_id = ?2 AND contact_id = ?3",
    )
    .bind(list.bit())
    .bind(owner)
    .bind(contact)
    .bind(List::Reverse.bit())
    .execute(conn)
    .await?;
    Ok(())
}

/// Puts `contact` on one of `owner`'s lists with `name`; an FL entry's name replaces the
/// old one, an AL/BL entry names it only if it is not on the FL.
async fn put_entry(
    conn: &mut SqliteConnection,
    owner: UserId,
    contact: UserId,
    list: List,
    name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO contacts (owner_id, contact_id, lists, name) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (owner_id, contact_id) DO UPDATE SET lists = lists | excluded.lists,
             name = CASE WHEN excluded.lists = ?5 OR contacts.lists & ?5 = 0
                 THEN excluded.name ELSE contacts.name END",
    )
    .bind(owner)
    .bind(contact)
    .bind(list.bit())
    .bind(name)
    .bind(List::Forward.bit())
    .execute(conn)
    .await?;
    Ok(())
}
