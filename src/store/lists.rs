//! Contact lists, groups, privacy settings and phone properties, with the per-account list
//! version. Every change is one transaction that also bumps the version of every account
//! whose `SYN` output it changes, and commits before returning.

use std::collections::HashMap;
use std::str::FromStr;

use sqlx::{Sqlite, SqliteConnection, Transaction};

use super::users::decode_email;
use super::{Store, StoreError};
use crate::protocol::lists::{Blp, GroupId, Gtc, List, ListSet, Property, MAX_GROUPS};
use crate::protocol::view::{ContactRecord, Group, Properties, Snapshot, UserId};
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

/// A contact as a session keeps it in memory: enough for presence and privacy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactBits {
    pub id: UserId,
    pub email: Email,
    pub lists: ListSet,
}

/// The result of an ADD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    /// My new list version.
    pub version: u32,
    pub contact: UserId,
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

/// The result of a PRP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyChanged {
    pub version: u32,
    /// Accounts that have me on their FL and are on my AL (they see my properties), with
    /// their new list versions.
    pub watchers: Vec<(UserId, u32)>,
}

impl Store {
    /// My current list version: what a client's cached lists must match.
    pub async fn list_version(&self, me: UserId) -> Result<u32, StoreError> {
        let version: i64 = sqlx::query_scalar("SELECT list_version FROM users WHERE id = ?")
            .bind(me)
            .fetch_one(&self.read)
            .await?;
        Ok(u32::try_from(version).map_err(|e| sqlx::Error::Decode(e.into()))?)
    }

    /// Everything a full SYN sends, in one statement: one consistent read and one round trip
    /// to the connection's thread, whatever the lists' sizes.
    pub async fn snapshot(&self, me: UserId) -> Result<Snapshot, StoreError> {
        let rows: Vec<SnapshotRow> =
            sqlx::query_as(SNAPSHOT).bind(me).bind(List::Allow.bit()).fetch_all(&self.read).await?;
        let mut settings = None;
        let mut properties = Properties::default();
        let mut groups = Vec::new();
        let mut contacts = HashMap::new();
        let mut memberships = Vec::new();
        let mut visible = Vec::new();
        for (kind, id, a, b, n) in rows {
            let id = id.unwrap_or_default();
            let (a, b, n) = (a.unwrap_or_default(), b.unwrap_or_default(), n.unwrap_or_default());
            match kind {
                0 => settings = Some((narrow(id)?, decode(&a)?, decode(&b)?)),
                1 => {
                    properties.0.insert(decode(&a)?, b);
                }
                2 => groups.push(Group { id: narrow(id)?, name: a }),
                3 => {
                    let lists = ListSet(narrow(n)?);
                    let email = decode_email(&a)?;
                    let (groups, properties) = (Vec::new(), Properties::default());
                    contacts.insert(id, ContactRecord { id, email, name: b, lists, groups, properties });
                }
                4 => memberships.push((id, narrow(n)?)),
                _ => visible.push((id, decode(&a)?, b)),
            }
        }
        let (version, gtc, blp) = settings.ok_or(StoreError::NotFound)?;
        groups.sort_by_key(|g| g.id);
        memberships.sort_unstable();
        for (contact, group) in memberships {
            if let Some(record) = contacts.get_mut(&contact).filter(|r| r.lists.contains(List::Forward)) {
                record.groups.push(group);
            }
        }
        for (contact, prop, value) in visible {
            if let Some(record) = contacts.get_mut(&contact) {
                record.properties.0.insert(prop, value);
            }
        }
        let mut contacts: Vec<ContactRecord> = contacts.into_values().collect();
        contacts.sort_by(|a, b| a.email.cmp(&b.email));
        Ok(Snapshot { version, gtc, blp, properties, groups, contacts })
    }

    /// ADD to FL, AL or BL (never RL). `name` is stored with the entry (replacing an older
    /// one). FL: `group` None adds to FL in group 0 (`AlreadyThere` if already on FL);
    /// `Some(g)` needs group g (`NoSuchGroup`), adds to FL if needed and to g
    /// (`AlreadyThere` if already in g). Newly on FL: I go onto the contact's RL (name: my
    /// friendly name) and their version is bumped. AL/BL: `group` must be None;
    /// `InOppositeList` if on BL/AL; if the contact has me on their FL, their version is
    /// bumped (what they may see changed). `ListFull` when FL, AL or BL would exceed
    /// `max_entries`. `NoSuchUser` for an unknown handle.
    ///
    /// Panics if `list` is RL: the protocol layer refuses that before it gets here.
    pub async fn add_to_list(
        &self,
        me: UserId,
        list: List,
        contact: &Email,
        name: &str,
        group: Option<GroupId>,
        max_entries: usize,
    ) -> Result<Added, ListError> {
        assert_ne!(list, List::Reverse, "the RL is kept by the server; ADD RL must not reach the store");
        let mut tx = self.begin_write().await?;
        let contact = find_user(&mut tx, contact).await?.ok_or(ListError::NoSuchUser)?;
        let added = match list {
            List::Forward => add_to_fl(&mut tx, me, contact, name, group, max_entries).await?,
            _ => add_to_al_or_bl(&mut tx, me, list, contact, name, max_entries).await?,
        };
        tx.commit().await?;
        Ok(added)
    }

    /// REM from FL, AL or BL (never RL). FL with `Some(g)`: only from group g
    /// (`NoSuchGroup`, `NotOnList`, `NotInGroup`); FL with None: off FL and all groups, and
    /// I leave the contact's RL (their version bumped). AL/BL: like ADD, bump the contact if
    /// they have me on FL. `NotOnList` if not there. An entry on no list is deleted.
    ///
    /// Panics if `list` is RL, like [`Store::add_to_list`].
    pub async fn remove_from_list(
        &self,
        me: UserId,
        list: List,
        contact: &Email,
        group: Option<GroupId>,
    ) -> Result<Removed, ListError> {
        assert_ne!(list, List::Reverse, "the RL is kept by the server; REM RL must not reach the store");
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
        let id = (1..=LAST_GROUP).find(|id| !taken.contains(id)).ok_or(ListError::TooManyGroups)?;
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
        if group == 0 {
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

/// The highest group id.
const LAST_GROUP: GroupId = (MAX_GROUPS - 1) as GroupId;

// Mutations. Each takes the open write transaction and leaves committing to the caller.

async fn add_to_fl(
    conn: &mut SqliteConnection,
    me: UserId,
    contact: UserId,
    name: &str,
    group: Option<GroupId>,
    max_entries: usize,
) -> Result<Added, ListError> {
    let on_fl = lists_of(conn, me, contact).await?.contains(List::Forward);
    let group = match group {
        None if on_fl => return Err(ListError::AlreadyThere),
        None => 0,
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
        let version = bump(conn, me).await?;
        return Ok(Added { version, contact, reverse_version: None });
    }
    put_reverse_entry(conn, contact, me).await?;
    let (version, theirs) = bump_both(conn, me, contact).await?;
    Ok(Added { version, contact, reverse_version: Some(theirs) })
}

async fn add_to_al_or_bl(
    conn: &mut SqliteConnection,
    me: UserId,
    list: List,
    contact: UserId,
    name: &str,
    max_entries: usize,
) -> Result<Added, ListError> {
    let current = lists_of(conn, me, contact).await?;
    if current.contains(list) {
        return Err(ListError::AlreadyThere);
    }
    if list.opposite().is_some_and(|opposite| current.contains(opposite)) {
        return Err(ListError::InOppositeList);
    }
    check_room(conn, me, list, max_entries).await?;
    put_entry(conn, me, contact, list, name).await?;
    let version = bump_me_and_watcher(conn, me, contact).await?;
    Ok(Added { version, contact, reverse_version: None })
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

// Row-level helpers.

/// Adds one to an account's list version and returns the new one.
async fn bump(conn: &mut SqliteConnection, id: UserId) -> Result<u32, StoreError> {
    sqlx::query_scalar("UPDATE users SET list_version = list_version + 1 WHERE id = ? RETURNING list_version")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::NotFound)
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

async fn find_user(conn: &mut SqliteConnection, email: &Email) -> Result<Option<UserId>, sqlx::Error> {
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

async fn group_exists(
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

async fn in_group(
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

/// Puts `contact` on one of `owner`'s lists with `name`, replacing the entry's old name.
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

async fn put_entry(
    conn: &mut SqliteConnection,
    owner: UserId,
    contact: UserId,
    list: List,
    name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO contacts (owner_id, contact_id, lists, name) VALUES (?, ?, ?, ?)
         ON CONFLICT (owner_id, contact_id) DO UPDATE SET lists = lists | excluded.lists,
             name = CASE WHEN excluded.lists = 1 OR contacts.lists & 1 = 0 THEN excluded.name ELSE contacts.name END",
    )
    .bind(owner)
    .bind(contact)
    .bind(list.bit())
    .bind(name)
    .execute(conn)
    .await?;
    Ok(())
}

/// Puts `adder` on `owner`'s RL. A new entry is named with the adder's friendly name; an
/// existing one keeps its name.
async fn put_reverse_entry(
    conn: &mut SqliteConnection,
    owner: UserId,
    adder: UserId,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO contacts (owner_id, contact_id, lists, name)
         SELECT ?1, id, ?3, friendly_name FROM users WHERE id = ?2
         ON CONFLICT (owner_id, contact_id) DO UPDATE SET lists = lists | excluded.lists",
    )
    .bind(owner)
    .bind(adder)
    .bind(List::Reverse.bit())
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes `contact` off one of `owner`'s lists (FL: out of every group too), deleting an
/// entry left on no list.
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
    sqlx::query("UPDATE contacts SET lists = lists & ~? WHERE owner_id = ? AND contact_id = ?")
        .bind(list.bit())
        .bind(owner)
        .bind(contact)
        .execute(conn)
        .await?;
    Ok(())
}

// The snapshot's one statement.

/// `(kind, id, a, b, n)`; which columns a kind uses is in [`SNAPSHOT`].
type SnapshotRow = (u8, Option<i64>, Option<String>, Option<String>, Option<i64>);

/// Kind 0: my settings (id = list version, a = GTC, b = BLP); 1: my properties (a = name,
/// b = value); 2: my groups (id, a = name); 3: my entries (id = contact, a = e-mail,
/// b = name, n = list bits); 4: my FL entries' groups (id = contact, n = group); 5: the
/// properties of contacts that have me on their AL (id = contact, a = name, b = value;
/// `CROSS JOIN` keeps SQLite's order: my few entries, their usually absent properties,
/// then the check, rather than everyone who lists me).
const SNAPSHOT: &str = "
    SELECT 0, list_version, gtc, blp, NULL FROM users WHERE id = ?1
    UNION ALL SELECT 1, NULL, name, value, NULL FROM properties WHERE user_id = ?1
    UNION ALL SELECT 2, group_id, name, NULL, NULL FROM groups WHERE owner_id = ?1
    UNION ALL SELECT 3, c.contact_id, u.email, c.name, c.lists
        FROM contacts c JOIN users u ON u.id = c.contact_id WHERE c.owner_id = ?1
    UNION ALL SELECT 4, contact_id, NULL, NULL, group_id FROM contact_groups WHERE owner_id = ?1
    UNION ALL SELECT 5, p.user_id, p.name, p.value, NULL
        FROM contacts mine CROSS JOIN properties p CROSS JOIN contacts theirs
        WHERE mine.owner_id = ?1 AND p.user_id = mine.contact_id
            AND theirs.owner_id = mine.contact_id AND theirs.contact_id = ?1 AND theirs.lists & ?2";

/// A stored integer into the narrower type it was written from.
fn narrow<T: TryFrom<i64>>(value: i64) -> Result<T, sqlx::Error> {
    T::try_from(value).map_err(|_| sqlx::Error::Decode(format!("stored value {value} out of range").into()))
}

/// Parses a stored wire spelling (GTC, BLP, property name); one that fails is a decode error.
fn decode<T: FromStr>(text: &str) -> Result<T, sqlx::Error> {
    text.parse().map_err(|_| sqlx::Error::Decode(format!("unexpected stored value {text:?}").into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqliteConnectOptions;

    use crate::credentials::Credentials;

    /// A store in a temporary directory, with accounts a@x.com, b@x.com, c@x.com.
    struct Fixture {
        dir: tempfile::TempDir,
        store: Store,
        a: UserId,
        b: UserId,
        c: UserId,
    }

    fn url(dir: &tempfile::TempDir) -> String {
        format!("sqlite://{}/t.db", dir.path().display())
    }

    fn email(s: &str) -> Email {
        s.parse().expect("test handle")
    }

    /// Fixed credentials: deriving real ones (Argon2) would slow the tests down.
    fn creds() -> Credentials {
        Credentials {
            md5_salt: "1.2".into(),
            md5_digest: "d".into(),
            md5_digest_latin1: None,
            passport_hash: "h".into(),
        }
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&url(&dir)).await.expect("open");
        let mut ids = Vec::new();
        for name in ["a", "b", "c"] {
            let user =
                store.create_user(&email(&format!("{name}@x.com")), &format!("Mr {name}"), &creds()).await;
            ids.push(user.expect("create user").id);
        }
        Fixture { dir, store, a: ids[0], b: ids[1], c: ids[2] }
    }

    impl Fixture {
        async fn version(&self, id: UserId) -> u32 {
            self.store.snapshot(id).await.expect("snapshot").version
        }

        async fn add(
            &self,
            me: UserId,
            list: List,
            who: &str,
            group: Option<GroupId>,
        ) -> Result<Added, ListError> {
            self.store.add_to_list(me, list, &email(who), who, group, 150).await
        }

        async fn rem(
            &self,
            me: UserId,
            list: List,
            who: &str,
            group: Option<GroupId>,
        ) -> Result<Removed, ListError> {
            self.store.remove_from_list(me, list, &email(who), group).await
        }

        async fn entry(&self, me: UserId, who: &str) -> Option<ContactRecord> {
            let snapshot = self.store.snapshot(me).await.expect("snapshot");
            snapshot.contacts.into_iter().find(|c| c.email.as_str() == who)
        }

        async fn rows(&self, table: &str) -> i64 {
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&self.store.read)
                .await
                .expect("count")
        }
    }

    fn lists(bits: &[List]) -> ListSet {
        bits.iter().fold(ListSet::default(), |set, &l| set.with(l))
    }

    #[tokio::test]
    async fn adding_to_fl_puts_me_on_their_rl_and_bumps_both() {
        let f = fixture().await;
        let added = f.add(f.a, List::Forward, "b@x.com", None).await.unwrap();
        assert_eq!(added, Added { version: 2, contact: f.b, reverse_version: Some(2) });
        assert_eq!((f.version(f.a).await, f.version(f.b).await, f.version(f.c).await), (2, 2, 1));

        let mine = f.entry(f.a, "b@x.com").await.unwrap();
        assert_eq!(
            (mine.lists, mine.groups, mine.name.as_str()),
            (lists(&[List::Forward]), vec![0], "b@x.com")
        );
        let theirs = f.entry(f.b, "a@x.com").await.unwrap();
        assert_eq!(
            (theirs.lists, theirs.groups, theirs.name.as_str()),
            (lists(&[List::Reverse]), vec![], "Mr a")
        );

        // Already on their AL: the RL bit joins that entry, which keeps its name.
        f.add(f.b, List::Allow, "c@x.com", None).await.unwrap();
        f.store.rename_contact(f.b, &email("c@x.com"), "Carol").await.unwrap();
        let added = f.add(f.c, List::Forward, "b@x.com", None).await.unwrap();
        assert_eq!(added.reverse_version, Some(5));
        let entry = f.entry(f.b, "c@x.com").await.unwrap();
        assert_eq!((entry.lists, entry.name.as_str()), (lists(&[List::Allow, List::Reverse]), "Carol"));
    }

    #[tokio::test]
    async fn adding_myself_bumps_me_once() {
        let f = fixture().await;
        let added = f.add(f.a, List::Forward, "a@x.com", None).await.unwrap();
        assert_eq!(added, Added { version: 2, contact: f.a, reverse_version: Some(2) });
        let entry = f.entry(f.a, "a@x.com").await.unwrap();
        assert_eq!((entry.lists, entry.name.as_str()), (lists(&[List::Forward, List::Reverse]), "a@x.com"));

        let removed = f.rem(f.a, List::Forward, "a@x.com", None).await.unwrap();
        assert_eq!(removed, Removed { version: 3, contact: f.a, reverse_version: Some(3) });
        assert_eq!(f.rows("contacts").await, 0);
    }

    #[tokio::test]
    async fn refused_adds() {
        let f = fixture().await;
        f.add(f.a, List::Forward, "b@x.com", None).await.unwrap();
        assert!(matches!(f.add(f.a, List::Forward, "b@x.com", None).await, Err(ListError::AlreadyThere)));
        assert!(matches!(f.add(f.a, List::Forward, "b@x.com", Some(0)).await, Err(ListError::AlreadyThere)));
        assert!(matches!(f.add(f.a, List::Forward, "b@x.com", Some(7)).await, Err(ListError::NoSuchGroup)));
        assert!(matches!(f.add(f.a, List::Forward, "nobody@x.com", None).await, Err(ListError::NoSuchUser)));

        f.add(f.a, List::Allow, "b@x.com", None).await.unwrap();
        assert!(matches!(f.add(f.a, List::Allow, "b@x.com", None).await, Err(ListError::AlreadyThere)));
        assert!(matches!(f.add(f.a, List::Block, "b@x.com", None).await, Err(ListError::InOppositeList)));
        f.add(f.a, List::Block, "c@x.com", None).await.unwrap();
        assert!(matches!(f.add(f.a, List::Allow, "c@x.com", None).await, Err(ListError::InOppositeList)));
        // Refusals change nothing.
        assert_eq!(f.version(f.a).await, 4);
    }

    #[tokio::test]
    async fn lists_fill_up() {
        let f = fixture().await;
        let (b, c) = (email("b@x.com"), email("c@x.com"));
        let add = |list, who, group| f.store.add_to_list(f.a, list, who, "name", group, 1);
        add(List::Forward, &b, None).await.unwrap();
        assert!(matches!(add(List::Forward, &c, None).await, Err(ListError::ListFull)));
        // Each list counts its own entries, and a new group for an FL entry is no new entry.
        add(List::Allow, &c, None).await.unwrap();
        assert!(matches!(add(List::Allow, &b, None).await, Err(ListError::ListFull)));
        let (_, group) = f.store.add_group(f.a, "Work").await.unwrap();
        add(List::Forward, &b, Some(group)).await.unwrap();
    }

    #[tokio::test]
    async fn al_and_bl_changes_bump_contacts_who_watch_me() {
        let f = fixture().await;
        f.add(f.b, List::Forward, "a@x.com", None).await.unwrap();
        let before = f.version(f.b).await;
        let added = f.add(f.a, List::Block, "b@x.com", None).await.unwrap();
        assert_eq!(added.reverse_version, None);
        assert_eq!(f.version(f.b).await, before + 1);
        f.rem(f.a, List::Block, "b@x.com", None).await.unwrap();
        assert_eq!(f.version(f.b).await, before + 2);
        // c does not have me on FL.
        f.add(f.a, List::Allow, "c@x.com", None).await.unwrap();
        assert_eq!(f.version(f.c).await, 1);
    }

    #[tokio::test]
    async fn groups() {
        let f = fixture().await;
        assert_eq!(f.store.add_group(f.a, "One").await.unwrap(), (2, 1));
        assert_eq!(f.store.add_group(f.a, "Two").await.unwrap(), (3, 2));
        assert_eq!(f.store.add_group(f.a, "Three").await.unwrap(), (4, 3));
        assert_eq!(f.store.remove_group(f.a, 2).await.unwrap(), 5);
        assert_eq!(f.store.add_group(f.a, "Again").await.unwrap(), (6, 2));
        assert_eq!(f.store.rename_group(f.a, 0, "Friends").await.unwrap(), 7);
        assert!(matches!(f.store.remove_group(f.a, 0).await, Err(ListError::GroupZero)));
        assert!(matches!(f.store.remove_group(f.a, 9).await, Err(ListError::NoSuchGroup)));
        assert!(matches!(f.store.rename_group(f.a, 9, "x").await, Err(ListError::NoSuchGroup)));

        let snapshot = f.store.snapshot(f.a).await.unwrap();
        let names: Vec<(GroupId, &str)> = snapshot.groups.iter().map(|g| (g.id, g.name.as_str())).collect();
        assert_eq!(names, [(0, "Friends"), (1, "One"), (2, "Again"), (3, "Three")]);

        for id in 4..30 {
            assert_eq!(f.store.add_group(f.a, "More").await.unwrap().1, id);
        }
        assert!(matches!(f.store.add_group(f.a, "Too many").await, Err(ListError::TooManyGroups)));
        // Other accounts have their own ids.
        assert_eq!(f.store.add_group(f.b, "Mine").await.unwrap().1, 1);
    }

    #[tokio::test]
    async fn removing_a_group_keeps_its_members_on_fl() {
        let f = fixture().await;
        let (_, group) = f.store.add_group(f.a, "Work").await.unwrap();
        f.add(f.a, List::Forward, "b@x.com", Some(group)).await.unwrap();
        f.store.remove_group(f.a, group).await.unwrap();
        let entry = f.entry(f.a, "b@x.com").await.unwrap();
        assert_eq!((entry.lists, entry.groups), (lists(&[List::Forward]), vec![]));
    }

    #[tokio::test]
    async fn removing_from_a_group_keeps_the_fl_entry() {
        let f = fixture().await;
        let (_, group) = f.store.add_group(f.a, "Work").await.unwrap();
        f.add(f.a, List::Forward, "b@x.com", None).await.unwrap();
        f.add(f.a, List::Forward, "b@x.com", Some(group)).await.unwrap();
        assert_eq!(f.entry(f.a, "b@x.com").await.unwrap().groups, [0, group]);
        let b_version = f.version(f.b).await;

        let removed = f.rem(f.a, List::Forward, "b@x.com", Some(0)).await.unwrap();
        assert_eq!(removed, Removed { version: 5, contact: f.b, reverse_version: None });
        let entry = f.entry(f.a, "b@x.com").await.unwrap();
        assert_eq!((entry.lists, entry.groups), (lists(&[List::Forward]), vec![group]));
        assert_eq!(f.version(f.b).await, b_version);
        assert!(f.entry(f.b, "a@x.com").await.unwrap().lists.contains(List::Reverse));

        assert!(matches!(f.rem(f.a, List::Forward, "b@x.com", Some(0)).await, Err(ListError::NotInGroup)));
        assert!(matches!(f.rem(f.a, List::Forward, "b@x.com", Some(5)).await, Err(ListError::NoSuchGroup)));
        assert!(matches!(f.rem(f.a, List::Forward, "c@x.com", Some(0)).await, Err(ListError::NotOnList)));
        assert!(matches!(
            f.rem(f.a, List::Forward, "nobody@x.com", Some(0)).await,
            Err(ListError::NotOnList)
        ));
    }

    #[tokio::test]
    async fn removing_from_fl_takes_me_off_their_rl() {
        let f = fixture().await;
        f.add(f.a, List::Forward, "b@x.com", None).await.unwrap();
        f.add(f.a, List::Allow, "b@x.com", None).await.unwrap();
        f.add(f.a, List::Forward, "c@x.com", None).await.unwrap();
        f.add(f.c, List::Block, "a@x.com", None).await.unwrap();

        // c blocking me bumped my version too: c is on my FL.
        let removed = f.rem(f.a, List::Forward, "b@x.com", None).await.unwrap();
        assert_eq!(removed, Removed { version: 6, contact: f.b, reverse_version: Some(3) });
        // My entry keeps AL, without groups; b's entry for me was on RL only and is gone.
        let entry = f.entry(f.a, "b@x.com").await.unwrap();
        assert_eq!((entry.lists, entry.groups), (lists(&[List::Allow]), vec![]));
        assert_eq!(f.entry(f.b, "a@x.com").await, None);

        // c keeps me on BL.
        f.rem(f.a, List::Forward, "c@x.com", None).await.unwrap();
        assert_eq!(f.entry(f.a, "c@x.com").await, None);
        assert_eq!(f.entry(f.c, "a@x.com").await.unwrap().lists, lists(&[List::Block]));

        assert!(matches!(f.rem(f.a, List::Forward, "c@x.com", None).await, Err(ListError::NotOnList)));
        assert!(matches!(f.rem(f.a, List::Block, "b@x.com", None).await, Err(ListError::NotOnList)));
        f.rem(f.a, List::Allow, "b@x.com", None).await.unwrap();
        assert_eq!((f.rows("contacts").await, f.rows("contact_groups").await), (1, 0));
    }

    #[tokio::test]
    async fn snapshot_shows_properties_only_to_allowed_contacts() {
        let f = fixture().await;
        f.store.set_gtc(f.a, Gtc::Never).await.unwrap();
        f.store.set_blp(f.a, Blp::Block).await.unwrap();
        f.store.set_property(f.a, Property::Phh, Some("555 1234")).await.unwrap();
        f.store.set_property(f.b, Property::Phw, Some("555 0000")).await.unwrap();
        f.store.set_property(f.c, Property::Mob, Some("Y")).await.unwrap();
        f.add(f.a, List::Forward, "c@x.com", None).await.unwrap();
        f.add(f.a, List::Forward, "b@x.com", None).await.unwrap();
        f.add(f.b, List::Allow, "a@x.com", None).await.unwrap();
        f.add(f.c, List::Block, "a@x.com", None).await.unwrap();

        let snapshot = f.store.snapshot(f.a).await.unwrap();
        assert_eq!((snapshot.version, snapshot.gtc, snapshot.blp), (8, Gtc::Never, Blp::Block));
        assert_eq!(snapshot.properties.get(Property::Phh), Some("555 1234"));
        assert_eq!(snapshot.groups, [Group { id: 0, name: "Other Contacts".into() }]);
        let emails: Vec<&str> = snapshot.contacts.iter().map(|c| c.email.as_str()).collect();
        assert_eq!(emails, ["b@x.com", "c@x.com"]);
        let b = &snapshot.contacts[0];
        assert_eq!(b.properties.get(Property::Phw), Some("555 0000"));
        assert_eq!(b.lists, lists(&[List::Forward]));
        assert_eq!(snapshot.contacts[1].properties, Properties::default());

        // The RL side: b sees me without my phone (I have not allowed b), and no groups.
        let snapshot = f.store.snapshot(f.b).await.unwrap();
        let a = &snapshot.contacts[0];
        assert_eq!((a.lists, a.groups.len()), (lists(&[List::Allow, List::Reverse]), 0));
        assert_eq!(a.properties, Properties::default());

        let summary = f.store.snapshot(f.a).await.unwrap();
        assert_eq!((summary.version, summary.gtc, summary.blp), (8, Gtc::Never, Blp::Block));
        let bits: Vec<(UserId, ListSet)> = summary.contacts.iter().map(|c| (c.id, c.lists)).collect();
        assert_eq!(bits, [(f.b, lists(&[List::Forward])), (f.c, lists(&[List::Forward]))]);
    }

    #[tokio::test]
    async fn settings_refuse_the_current_value() {
        let f = fixture().await;
        assert!(matches!(f.store.set_gtc(f.a, Gtc::Ask).await, Err(ListError::Unchanged)));
        assert!(matches!(f.store.set_blp(f.a, Blp::Allow).await, Err(ListError::Unchanged)));
        f.add(f.b, List::Forward, "a@x.com", None).await.unwrap();
        assert_eq!(f.store.set_blp(f.a, Blp::Block).await.unwrap(), 3);
        assert_eq!(f.version(f.b).await, 3);
        assert_eq!(f.store.set_gtc(f.a, Gtc::Never).await.unwrap(), 4);
        assert_eq!(f.version(f.b).await, 3);
    }

    #[tokio::test]
    async fn renames() {
        let f = fixture().await;
        assert_eq!(f.store.set_friendly_name(f.a, "Alice").await.unwrap(), 2);
        f.add(f.a, List::Forward, "b@x.com", None).await.unwrap();
        assert_eq!(f.entry(f.b, "a@x.com").await.unwrap().name, "Alice");
        assert_eq!(f.store.rename_contact(f.a, &email("b@x.com"), "Bob").await.unwrap(), 4);
        assert_eq!(f.entry(f.a, "b@x.com").await.unwrap().name, "Bob");
        assert!(matches!(
            f.store.rename_contact(f.a, &email("c@x.com"), "C").await,
            Err(ListError::NotOnList)
        ));
        assert!(matches!(f.store.set_friendly_name(999, "x").await, Err(StoreError::NotFound)));
    }

    #[tokio::test]
    async fn property_changes_bump_the_watchers() {
        let f = fixture().await;
        // b watches a (a on b's FL, b on a's AL); c has a on FL but is not allowed.
        f.add(f.b, List::Forward, "a@x.com", None).await.unwrap();
        f.add(f.a, List::Allow, "b@x.com", None).await.unwrap();
        f.add(f.c, List::Forward, "a@x.com", None).await.unwrap();
        let a_version = f.version(f.a).await;

        let changed = f.store.set_property(f.a, Property::Phm, Some("555")).await.unwrap();
        assert_eq!(changed, PropertyChanged { version: a_version + 1, watchers: vec![(f.b, 4)] });
        assert_eq!(f.version(f.c).await, 2);
        assert_eq!(f.entry(f.b, "a@x.com").await.unwrap().properties.get(Property::Phm), Some("555"));

        let changed = f.store.set_property(f.a, Property::Phm, None).await.unwrap();
        assert_eq!(changed.watchers, [(f.b, 5)]);
        assert_eq!(f.rows("properties").await, 0);
    }

    #[tokio::test]
    async fn deleting_an_account_bumps_those_who_listed_it() {
        let f = fixture().await;
        f.add(f.a, List::Forward, "b@x.com", None).await.unwrap();
        f.add(f.c, List::Block, "a@x.com", None).await.unwrap();
        f.store.set_property(f.a, Property::Phh, Some("1")).await.unwrap();
        let (b, c) = (f.version(f.b).await, f.version(f.c).await);
        f.store.delete_user(&email("a@x.com")).await.unwrap();
        assert_eq!((f.version(f.b).await, f.version(f.c).await), (b + 1, c + 1));
        assert_eq!(f.entry(f.b, "a@x.com").await, None);
        for table in ["contacts", "contact_groups", "properties"] {
            assert_eq!(f.rows(table).await, 0, "{table}");
        }
        assert_eq!(f.rows("groups").await, 2);
    }

    #[tokio::test]
    async fn versions_survive_reopening() {
        let f = fixture().await;
        f.add(f.a, List::Forward, "b@x.com", None).await.unwrap();
        f.store.add_group(f.a, "Work").await.unwrap();
        f.store.close().await;

        let store = Store::open(&url(&f.dir)).await.unwrap();
        let snapshot = store.snapshot(f.a).await.unwrap();
        assert_eq!((snapshot.version, snapshot.groups.len(), snapshot.contacts.len()), (3, 2, 1));
        assert_eq!(store.snapshot(f.b).await.unwrap().version, 2);
        store.close().await;
    }

    #[tokio::test]
    async fn migrating_gives_existing_accounts_group_zero() {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::from_str(&url(&dir)).unwrap().create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        let mut first = sqlx::migrate!();
        first.migrations = first.migrations[..1].to_vec().into();
        first.run(&pool).await.unwrap();
        sqlx::query(
            "INSERT INTO users (email, friendly_name, md5_salt, md5_digest, passport_hash)
             VALUES ('old@x.com', 'Old', 's', 'd', 'h')",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;

        let store = Store::open(&url(&dir)).await.unwrap();
        let old = store.user(&email("old@x.com")).await.unwrap().unwrap();
        let snapshot = store.snapshot(old.id).await.unwrap();
        assert_eq!((snapshot.version, snapshot.gtc, snapshot.blp), (1, Gtc::Ask, Blp::Allow));
        assert_eq!(snapshot.groups, [Group { id: 0, name: "Other Contacts".into() }]);
        store.close().await;
    }

    #[tokio::test]
    async fn concurrent_writers_do_not_fail() {
        let f = fixture().await;
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let store = f.store.clone();
                let me = [f.a, f.b, f.c][i % 3];
                tokio::spawn(async move { store.add_group(me, "g").await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let total = f.version(f.a).await + f.version(f.b).await + f.version(f.c).await;
        assert_eq!(total, 3 + 20);
    }
}
