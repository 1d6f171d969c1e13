//! What the server knows of accounts and lists, in the shapes the replies show it: the store
//! fills these, the presence registry holds [`Shown`], and [`super::render`] reads them.

use super::lists::{Blp, GroupId, Gtc, ListSet, Property, Status};
use super::{Email, Encoded};

/// A database row id of an account.
pub type UserId = i64;

/// How an online account appears to those allowed to see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub id: UserId,
    pub email: Email,
    /// Friendly name, encoded once, sent to every watcher.
    pub name: Encoded,
    pub status: Status,
    /// MSNP8 client capabilities, relayed as sent.
    pub caps: u32,
}

/// Property values; `None` is unset. Flags (`MOB`, `MBE`) are `"Y"`/`"N"`, unset meaning `N`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties(pub std::collections::BTreeMap<Property, String>);

impl Properties {
    pub fn get(&self, prop: Property) -> Option<&str> {
        self.0.get(&prop).map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: GroupId,
    /// Decoded UTF-8.
    pub name: String,
}

/// One account on my lists, as `SYN` and `LST` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRecord {
    pub id: UserId,
    pub email: Email,
    /// The name stored with the entry (decoded); changed by ADD and REA.
    pub name: String,
    pub lists: ListSet,
    /// The FL groups, ascending; empty when not on FL (or on FL in no group).
    pub groups: Vec<GroupId>,
    /// The contact's properties, only if the contact has me on their AL; else empty.
    pub properties: Properties,
}

/// Everything a full `SYN` sends.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub version: u32,
    pub gtc: Gtc,
    pub blp: Blp,
    pub properties: Properties,
    /// Ascending by id; group 0 always exists.
    pub groups: Vec<Group>,
    /// Ordered by e-mail address.
    pub contacts: Vec<ContactRecord>,
}
