//! What the server knows of accounts and lists, in the shapes the replies show it: the store
//! fills these, the presence registry holds [`Shown`], and [`super::render`] reads them.

use super::lists::{Blp, Gtc, ListSet, Property, Status};
use super::msnobj::MsnObject;
use super::{Email, Encoded};

/// Declares a number that names one kind of thing, so that two kinds cannot be swapped:
/// shown and parsed as the bare number.
macro_rules! id {
    ($(#[$doc:meta])* $name:ident($repr:ty)) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $repr);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }
    };
}

id! {
    /// A database row id of an account.
    UserId(i64)
}

id! {
    /// A contact group id (MSNP7+): 0 is "Other Contacts", at most 30 groups.
    GroupId(u8)
}

id! {
    /// A switchboard session's number, sent in `CAL .. RINGING` and `RNG` and back in `ANS`.
    SessionId(u32)
}

id! {
    /// One connection, for the life of the process; later connections get larger ids.
    ConnId(u64)
}

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
    /// MSNP9: the display picture's MSNObject, as its client sent it.
    pub object: Option<MsnObject>,
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
