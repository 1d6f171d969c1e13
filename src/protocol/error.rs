//! Errors a client is told about: each maps to one numeric code (`errors.md`) and says
//! whether the connection survives it.

/// A rejected client command.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    /// Bytes that are no protocol command at all: no code exists for them, so hang up.
    #[error("not a protocol command")]
    Garbage,
    #[error("syntax error")]
    Syntax,
    #[error("unknown command {0}")]
    Unknown(String),
    #[error("invalid parameter")]
    InvalidParameter,
    #[error("already logged in")]
    AlreadyLoggedIn,
    #[error("command requires login")]
    NotLoggedIn,
    #[error("internal server error")]
    Internal,
    #[error("command disabled")]
    Disabled,
    #[error("command not expected now")]
    NotExpected,
    #[error("malformed client version report")]
    BadClientVersion,
    #[error("authentication failed")]
    AuthFailed,
}

impl ProtocolError {
    /// The numeric code sent as `<code> <trid>`, if the protocol has one.
    pub fn code(&self) -> Option<u16> {
        Some(match self {
            Self::Garbage => return None,
            Self::Syntax | Self::Unknown(_) => 200,
            Self::InvalidParameter => 201,
            Self::AlreadyLoggedIn => 207,
            Self::NotLoggedIn => 302,
            Self::Internal => 500,
            Self::Disabled => 502,
            Self::NotExpected => 715,
            Self::BadClientVersion => 731,
            Self::AuthFailed => 911,
        })
    }

    /// Whether the server closes the connection after answering, even when logged in.
    pub fn hangs_up(&self) -> bool {
        matches!(self, Self::Garbage | Self::BadClientVersion | Self::AuthFailed)
    }
}
