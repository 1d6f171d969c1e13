//! Contact-list vocabulary: the four lists, privacy settings, groups, phone properties
//! and statuses, each with its wire spelling.

use std::fmt;
use std::str::FromStr;

use super::ProtocolError;

/// One of the four lists, or MSNP10's pending list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum List {
    /// FL: people whose presence I watch.
    Forward,
    /// AL: people explicitly allowed to see me.
    Allow,
    /// BL: people explicitly blocked.
    Block,
    /// RL: people who have me on their FL (kept by the server).
    Reverse,
    /// PL (MSNP10+): people on my RL I have not yet allowed or blocked.
    Pending,
}

impl List {
    /// The four lists of every version, in the order a pre-MSNP8 SYN sends them.
    pub const ALL: [List; 4] = [List::Forward, List::Allow, List::Block, List::Reverse];

    /// The list's bit in MSNP8's combined `LST` field (PL: MSNP10's).
    pub fn bit(self) -> u8 {
        match self {
            List::Forward => 1,
            List::Allow => 2,
            List::Block => 4,
            List::Reverse => 8,
            List::Pending => 16,
        }
    }

    /// AL and BL exclude each other.
    pub fn opposite(self) -> Option<List> {
        match self {
            List::Allow => Some(List::Block),
            List::Block => Some(List::Allow),
            _ => None,
        }
    }
}

impl FromStr for List {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "FL" => Ok(List::Forward),
            "AL" => Ok(List::Allow),
            "BL" => Ok(List::Block),
            "RL" => Ok(List::Reverse),
            "PL" => Ok(List::Pending),
            _ => Err(ProtocolError::InvalidValue),
        }
    }
}

impl fmt::Display for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            List::Forward => "FL",
            List::Allow => "AL",
            List::Block => "BL",
            List::Reverse => "RL",
            List::Pending => "PL",
        })
    }
}

/// A set of lists, as MSNP8's bit field (FL=1 AL=2 BL=4 RL=8), and MSNP10's PL=16.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct ListSet(pub u8);

impl ListSet {
    pub fn contains(self, list: List) -> bool {
        self.0 & list.bit() != 0
    }

    pub fn with(self, list: List) -> ListSet {
        ListSet(self.0 | list.bit())
    }

    pub fn without(self, list: List) -> ListSet {
        ListSet(self.0 & !list.bit())
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The bits as a version shows them: MSNP2–9 know only the four lists; MSNP10 shows
    /// an undecided RL entry as PL alone.
    pub fn shown(self, address_book: bool) -> u8 {
        match address_book {
            false => self.without(List::Pending).0,
            true if self.contains(List::Pending) => self.without(List::Reverse).0,
            true => self.0,
        }
    }
}

/// GTC: what the client does when someone adds me.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gtc {
    /// `A`: ask the user.
    Ask,
    /// `N`: allow silently.
    Never,
}

/// BLP: the default for people on neither AL nor BL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blp {
    /// `AL`: everyone not blocked may see me.
    Allow,
    /// `BL`: only people on my AL may.
    Block,
}

macro_rules! wire_enum {
    ($ty:ty { $($variant:path => $text:literal),+ $(,)? }) => {
        impl FromStr for $ty {
            type Err = ProtocolError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($variant),)+
                    _ => Err(ProtocolError::InvalidValue),
                }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self { $($variant => $text,)+ })
            }
        }
    };
}

wire_enum!(Gtc { Gtc::Ask => "A", Gtc::Never => "N" });
wire_enum!(Blp { Blp::Allow => "AL", Blp::Block => "BL" });

/// A personal property set with PRP (MSNP5+) and shown to contacts with BPR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Property {
    /// Home phone.
    Phh,
    /// Work phone.
    Phw,
    /// Mobile phone.
    Phm,
    /// `Y`/`N`: others may page me through MSN Mobile.
    Mob,
    /// `Y`/`N`: MSN Mobile enabled. Set by the server only.
    Mbe,
}

wire_enum!(Property {
    Property::Phh => "PHH",
    Property::Phw => "PHW",
    Property::Phm => "PHM",
    Property::Mob => "MOB",
    Property::Mbe => "MBE",
});

impl Property {
    /// In the order a pre-MSNP8 SYN lists them.
    pub const ALL: [Property; 5] =
        [Property::Phh, Property::Phw, Property::Phm, Property::Mob, Property::Mbe];
    /// The ones a contact's BPR lines carry.
    pub const SHARED: [Property; 4] = [Property::Phh, Property::Phw, Property::Phm, Property::Mob];
    /// Longest phone number, in bytes as sent (URL-encoded).
    pub const MAX_VALUE_BYTES: usize = 95;

    /// Whether the value is a `Y`/`N` flag rather than free text.
    pub fn is_flag(self) -> bool {
        matches!(self, Property::Mob | Property::Mbe)
    }
}

pub use super::view::GroupId;

/// Most groups an account may have (ids 0–29).
pub const MAX_GROUPS: usize = 30;

/// Longest group name, in bytes as sent (URL-encoded).
pub const MAX_GROUP_NAME_BYTES: usize = 61;

/// Longest friendly name the official clients accept, in characters.
pub const MAX_FRIENDLY_NAME_CHARS: usize = 129;

/// Whether `name` can be a friendly (or contact) name: 1 to 129 printable characters, not
/// all blank.
pub fn is_valid_friendly_name(name: &str) -> bool {
    !name.trim().is_empty()
        && name.chars().count() <= MAX_FRIENDLY_NAME_CHARS
        && !name.chars().any(char::is_control)
}

/// An online status, as set with CHG and shown with ILN/NLN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Online,
    Busy,
    Idle,
    BeRightBack,
    Away,
    OnThePhone,
    OutToLunch,
    /// Appear offline: watchers see FLN.
    Hidden,
}

wire_enum!(Status {
    Status::Online => "NLN",
    Status::Busy => "BSY",
    Status::Idle => "IDL",
    Status::BeRightBack => "BRB",
    Status::Away => "AWY",
    Status::OnThePhone => "PHN",
    Status::OutToLunch => "LUN",
    Status::Hidden => "HDN",
});

impl Status {
    /// Whether watchers see the user online.
    pub fn is_visible(self) -> bool {
        self != Status::Hidden
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_spellings_round_trip() {
        for list in List::ALL {
            assert_eq!(list.to_string().parse::<List>().unwrap(), list);
        }
        for prop in Property::ALL {
            assert_eq!(prop.to_string().parse::<Property>().unwrap(), prop);
        }
        assert_eq!("BRB".parse::<Status>().unwrap(), Status::BeRightBack);
        assert!("nln".parse::<Status>().is_err());
        assert!("FLN".parse::<Status>().is_err());
        assert_eq!("N".parse::<Gtc>().unwrap(), Gtc::Never);
        assert_eq!(Blp::Block.to_string(), "BL");
    }

    #[test]
    fn list_sets_are_the_msnp8_bits() {
        let set = ListSet::default().with(List::Forward).with(List::Allow).with(List::Reverse);
        assert_eq!(set.0, 11);
        assert!(set.contains(List::Allow) && !set.contains(List::Block));
        assert_eq!(set.without(List::Allow).0, 9);
    }
}
