//! What the server knows of accounts and lists, in the shapes the replies show it: the store
//! fills these, the presence registry holds [`Shown`], and [`super::render`] reads them.

use std::fmt;
use std::str::FromStr;

use super::lists::{Blp, Gtc, ListSet, Property, Status};
use super::msnobj::MsnObject;
use super::{Email, Encoded, ProtocolError};

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

/// A GUID, as MSNP10 names groups and the entries of the FL: `8-4-4-4-12` hex digits with
/// hyphens, no braces. Kept in lower case; clients send either.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(String);

impl Guid {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Guid {
    type Err = ProtocolError;

    /// Anything else is refused as `InvalidValue`: the official server hung up on it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let shaped = s.len() == 36
            && s.bytes().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => b == b'-',
                _ => b.is_ascii_hexdigit(),
            });
        if !shaped {
            return Err(ProtocolError::InvalidValue);
        }
        Ok(Guid(s.to_ascii_lowercase()))
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
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
    /// MSNP11: the personal message's `<Data>` document, if one is set.
    pub personal: Option<std::sync::Arc<str>>,
}

/// Who someone in a chat is, as the others see them; made once per participant and shared
/// by every event about them.
#[derive(Debug, PartialEq, Eq)]
pub struct Who {
    pub email: Email,
    /// The friendly name, as `IRO`, `JOI` and `MSG` carry it.
    pub name: Encoded,
    /// The client's capabilities (MSNP12's `IRO` and `JOI` show them).
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
    /// What MSNP10+ call it.
    pub guid: Guid,
    /// Decoded UTF-8.
    pub name: String,
}

/// One account on my lists, as `SYN` and `LST` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRecord {
    pub id: UserId,
    pub email: Email,
    /// What MSNP10+ call the entry (shown only while it is on the FL).
    pub guid: Guid,
    /// The name stored with the entry (decoded); changed by ADD and REA.
    pub name: String,
    /// With PL (MSNP10+) when the contact put me on their FL and I have not decided yet.
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
    /// Ascending by id; group 0 always exists (MSNP10+ show it as "in no group").
    pub groups: Vec<Group>,
    /// Ordered by e-mail address.
    pub contacts: Vec<ContactRecord>,
}
