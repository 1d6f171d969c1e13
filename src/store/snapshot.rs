//! Reading the lists back: the list version, and everything a full SYN sends in one
//! statement.

use std::collections::HashMap;
use std::str::FromStr;

use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, Row as _};

use super::users::decode_email;
use super::{Store, StoreError};
use crate::protocol::lists::{Blp, GroupId, Gtc, List, ListSet, Property};
use crate::protocol::view::{ContactRecord, Group, Guid, Properties, Snapshot, UserId};

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
        let parts: Vec<Part> = sqlx::query_as(SNAPSHOT)
            .bind(me)
            .bind(List::Allow.bit())
            .bind(List::Pending.bit())
            .fetch_all(&self.read)
            .await?;
        let mut settings = None;
        let mut properties = Properties::default();
        let mut groups = Vec::new();
        let mut contacts = HashMap::new();
        let mut memberships = Vec::new();
        let mut shared = Vec::new();
        for part in parts {
            match part {
                Part::Settings { version, gtc, blp } => settings = Some((version, gtc, blp)),
                Part::Property { name, value } => {
                    properties.0.insert(name, value);
                }
                Part::Group(group) => groups.push(group),
                Part::Entry(record) => {
                    contacts.insert(record.id, record);
                }
                Part::Membership { contact, group } => memberships.push((contact, group)),
                Part::Shared { contact, name, value } => shared.push((contact, name, value)),
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
        for (contact, prop, value) in shared {
            if let Some(record) = contacts.get_mut(&contact) {
                record.properties.0.insert(prop, value);
            }
        }
        let mut contacts: Vec<ContactRecord> = contacts.into_values().collect();
        contacts.sort_by(|a, b| a.email.cmp(&b.email));
        Ok(Snapshot { version, gtc, blp, properties, groups, contacts })
    }
}

/// One row of [`SNAPSHOT`], named by its first column (the number in each comment).
#[derive(Debug, PartialEq, Eq)]
enum Part {
    /// 0: my list version, GTC and BLP.
    Settings { version: u32, gtc: Gtc, blp: Blp },
    /// 1: one of my properties.
    Property { name: Property, value: String },
    /// 2: one of my groups.
    Group(Group),
    /// 3: an entry on my lists, without its groups and properties.
    Entry(ContactRecord),
    /// 4: a group of one of my entries.
    Membership { contact: UserId, group: GroupId },
    /// 5: a property of a contact who has me on their AL.
    Shared { contact: UserId, name: Property, value: String },
}

impl FromRow<'_, SqliteRow> for Part {
    /// Columns: the part's number, then `id`, `a`, `b`, `n`, `c` as [`SNAPSHOT`] fills them.
    fn from_row(row: &SqliteRow) -> Result<Part, sqlx::Error> {
        let id = || Ok::<i64, sqlx::Error>(row.try_get::<Option<i64>, _>(1)?.unwrap_or_default());
        let text = |i| Ok::<String, sqlx::Error>(row.try_get::<Option<String>, _>(i)?.unwrap_or_default());
        let n = || Ok::<i64, sqlx::Error>(row.try_get::<Option<i64>, _>(4)?.unwrap_or_default());
        Ok(match row.try_get::<u8, _>(0)? {
            0 => Part::Settings { version: narrow(id()?)?, gtc: decode(&text(2)?)?, blp: decode(&text(3)?)? },
            1 => Part::Property { name: decode(&text(2)?)?, value: text(3)? },
            2 => Part::Group(Group { id: GroupId(narrow(id()?)?), guid: decode(&text(5)?)?, name: text(2)? }),
            3 => Part::Entry(ContactRecord {
                id: UserId(id()?),
                email: decode_email(&text(2)?)?,
                guid: decode::<Guid>(&text(5)?)?,
                name: text(3)?,
                lists: ListSet(narrow(n()?)?),
                groups: Vec::new(),
                properties: Properties::default(),
            }),
            4 => Part::Membership { contact: UserId(id()?), group: GroupId(narrow(n()?)?) },
            5 => Part::Shared { contact: UserId(id()?), name: decode(&text(2)?)?, value: text(3)? },
            other => return Err(sqlx::Error::Decode(format!("snapshot part {other} unknown").into())),
        })
    }
}

/// Everything of a snapshot, each row a [`Part`]: 0 settings (id = list version, a = GTC,
/// b = BLP); 1 properties (a = name, b = value); 2 groups (id, a = name, c = GUID); 3 entries
/// (id = contact, a = e-mail, b = name, n = list bits with PL, c = GUID); 4 memberships (id = contact,
/// n = group); 5 shared properties (id = contact, a = name, b = value; `CROSS JOIN` keeps
/// SQLite's order: my few entries, their usually absent properties, then the check, rather
/// than everyone who lists me).
const SNAPSHOT: &str = "
    SELECT 0, list_version, gtc, blp, NULL, NULL FROM users WHERE id = ?1
    UNION ALL SELECT 1, NULL, name, value, NULL, NULL FROM properties WHERE user_id = ?1
    UNION ALL SELECT 2, group_id, name, NULL, NULL, guid FROM groups WHERE owner_id = ?1
    UNION ALL SELECT 3, c.contact_id, u.email, c.name, c.lists | c.pending * ?3, c.guid
        FROM contacts c JOIN users u ON u.id = c.contact_id WHERE c.owner_id = ?1
    UNION ALL SELECT 4, contact_id, NULL, NULL, group_id, NULL FROM contact_groups WHERE owner_id = ?1
    UNION ALL SELECT 5, p.user_id, p.name, p.value, NULL, NULL
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

    /// The parts' numbers in the statement, in the order they appear: each must name the
    /// part whose columns that `SELECT` fills.
    #[test]
    fn the_statement_numbers_its_parts_in_order() {
        let numbers: Vec<&str> =
            SNAPSHOT.split("SELECT ").skip(1).map(|select| select.split(',').next().unwrap()).collect();
        assert_eq!(numbers, ["0", "1", "2", "3", "4", "5"]);
    }
}
