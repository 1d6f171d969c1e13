//! Errors a client is told about: each maps to one numeric code (`errors.md`) and says
//! whether the connection survives it.

/// A rejected client command.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    /// Bytes that are no protocol command, or a value the official server hung up on
    /// without a word (a switchboard `MSG` with an unknown ack mode).
    #[error("not a protocol command")]
    Garbage,
    /// A server-to-client command (`MSG`, `NOT`, `QNG`) sent by a client: hang up.
    #[error("command {0} is not for the server")]
    WrongDirection(String),
    #[error("syntax error")]
    Syntax,
    #[error("unknown command {0}")]
    Unknown(String),
    #[error("invalid parameter")]
    InvalidParameter,
    /// A value outside the command's enumeration (`GTC 5 B`, `ADD .. RL`): the official
    /// server hung up on these.
    #[error("invalid value")]
    InvalidValue,
    #[error("no such account")]
    UnknownUser,
    #[error("invalid friendly name")]
    InvalidFriendlyName,
    #[error("list is full")]
    ListFull,
    #[error("already there")]
    AlreadyThere,
    #[error("not on that list")]
    NotOnList,
    #[error("invalid user name")]
    InvalidUsername,
    #[error("not accepting instant messages")]
    NotAccepting,
    #[error("already in that mode")]
    AlreadyInMode,
    #[error("already on the opposite list")]
    InOppositeList,
    #[error("too many groups")]
    TooManyGroups,
    #[error("no such group")]
    NoSuchGroup,
    #[error("contact not in that group")]
    NotInGroup,
    #[error("group name too long")]
    GroupNameTooLong,
    #[error("group 0 cannot be removed")]
    GroupZero,
    #[error("already logged in")]
    AlreadyLoggedIn,
    #[error("command requires login")]
    NotLoggedIn,
    #[error("switchboard failed")]
    SwitchboardFailed,
    #[error("internal server error")]
    Internal,
    #[error("command disabled")]
    Disabled,
    #[error("command not expected now")]
    NotExpected,
    #[error("malformed client version report")]
    BadClientVersion,
    #[error("challenge answer wrong or unsolicited")]
    ChallengeFailed,
    #[error("the page could not be delivered")]
    PageFailed,
    #[error("changes sent faster than allowed")]
    TooFast,
    #[error("not allowed while hidden")]
    NotAllowedWhenHidden,
    #[error("authentication failed")]
    AuthFailed,
    #[error("the server is going down: no new logins")]
    GoingDown,
    #[error("{0} is not a command of this version any more")]
    Removed(String),
    #[error("a MSG D that is no P2P message")]
    BadP2p,
}

impl ProtocolError {
    /// The numeric code sent as `<code> <trid>`, if the protocol has one.
    pub fn code(&self) -> Option<u16> {
        Some(match self {
            Self::Garbage | Self::WrongDirection(_) | Self::Removed(_) => return None,
            Self::Syntax | Self::Unknown(_) => 200,
            Self::InvalidParameter | Self::InvalidValue => 201,
            Self::UnknownUser => 205,
            Self::InvalidFriendlyName => 209,
            Self::ListFull => 210,
            Self::AlreadyThere => 215,
            Self::NotOnList => 216,
            Self::InvalidUsername => 208,
            Self::NotAccepting => 217,
            Self::AlreadyInMode => 218,
            Self::InOppositeList => 219,
            Self::TooManyGroups => 223,
            Self::NoSuchGroup => 224,
            Self::NotInGroup => 225,
            Self::GroupNameTooLong => 229,
            Self::GroupZero => 230,
            Self::AlreadyLoggedIn => 207,
            Self::NotLoggedIn => 302,
            Self::SwitchboardFailed => 280,
            Self::Internal => 500,
            Self::Disabled => 502,
            Self::NotExpected => 715,
            Self::BadClientVersion => 731,
            Self::ChallengeFailed => 540,
            Self::PageFailed | Self::TooFast => 800,
            Self::NotAllowedWhenHidden => 913,
            Self::AuthFailed => 911,
            // 600 "server busy": 604 ("going down") is not in every version's list.
            Self::GoingDown => 600,
            Self::BadP2p => 282,
        })
    }

    /// Whether the server closes the connection after answering, even when logged in.
    pub fn hangs_up(&self) -> bool {
        matches!(
            self,
            Self::Garbage
                | Self::WrongDirection(_)
                | Self::InvalidValue
                | Self::BadClientVersion
                | Self::AuthFailed
                | Self::ChallengeFailed
                | Self::GoingDown
                | Self::Removed(_)
        )
    }
}
