//! Client commands to the dispatch and notification servers, parsed but not yet checked
//! against the session's phase or version: arguments only some versions send are `Option`s.

use std::str::{FromStr, SplitAsciiWhitespace};

use bytes::Bytes;

use super::{Email, ProtocolError, TrId};
use crate::codec::Frame;

/// Whether a `USR` opens an authentication round or answers the server's challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthStep {
    /// `USR tr <pkg> I <handle>`
    Initial(Email),
    /// `USR tr <pkg> S <response>`: an MD5 digest or a Passport ticket.
    Subsequent(String),
}

/// A notification-server (or dispatch) command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `VER tr dialect..`
    Ver { tr: TrId, versions: Vec<String> },
    /// `INF tr`
    Inf { tr: TrId },
    /// `CVR tr lcid os os-ver arch lib client-ver {codebase} {handle}`
    Cvr { tr: TrId, client_version: String },
    /// `CVQ tr ..`, the same shape as CVR, only after `VER tr CVR0`.
    Cvq { tr: TrId, client_version: String },
    /// `USR tr package I|S value`
    Usr { tr: TrId, package: String, step: AuthStep },
    /// `PNG`
    Png,
    /// `OUT`
    Out,
    /// A well-formed command this server does not implement: `name tr ..`.
    Unknown { name: String, tr: Option<TrId>, payload: Option<Bytes> },
}

impl Command {
    /// Parses one frame. The command name must be three upper-case letters or digits.
    pub fn parse(frame: &Frame) -> Result<Command, ProtocolError> {
        let mut args = Args(frame.line.split_ascii_whitespace());
        let name = args.next()?;
        if name.len() != 3 || !name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
            return Err(ProtocolError::Garbage);
        }
        let command = match name {
            "VER" => Command::Ver { tr: args.parse()?, versions: args.rest() },
            "INF" => Command::Inf { tr: args.parse()? },
            "CVR" => Command::Cvr { tr: args.parse()?, client_version: args.client_version()? },
            "CVQ" => Command::Cvq { tr: args.parse()?, client_version: args.client_version()? },
            "USR" => {
                let tr = args.parse()?;
                let package = args.next()?.to_ascii_uppercase();
                let step = match args.next()? {
                    "I" => AuthStep::Initial(args.parse()?),
                    "S" => AuthStep::Subsequent(args.next()?.to_owned()),
                    _ => return Err(ProtocolError::Syntax),
                };
                Command::Usr { tr, package, step }
            }
            "PNG" => Command::Png,
            "OUT" => Command::Out,
            _ => {
                let tr = args.next().ok().and_then(|t| t.parse().ok());
                return Ok(Command::Unknown { name: name.to_owned(), tr, payload: frame.payload.clone() });
            }
        };
        args.finish()?;
        Ok(command)
    }

    /// The command's name as on the wire, for logs.
    pub fn name(&self) -> &str {
        match self {
            Command::Ver { .. } => "VER",
            Command::Inf { .. } => "INF",
            Command::Cvr { .. } => "CVR",
            Command::Cvq { .. } => "CVQ",
            Command::Usr { .. } => "USR",
            Command::Png => "PNG",
            Command::Out => "OUT",
            Command::Unknown { name, .. } => name,
        }
    }
}

/// The transaction id of a line that may not parse as a whole, for its error reply.
pub fn trid_of(line: &str) -> Option<TrId> {
    line.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// Whitespace-separated parameters; runs of spaces never make empty ones.
struct Args<'a>(SplitAsciiWhitespace<'a>);

impl<'a> Args<'a> {
    fn next(&mut self) -> Result<&'a str, ProtocolError> {
        self.0.next().ok_or(ProtocolError::Syntax)
    }

    fn parse<T: FromStr<Err = ProtocolError>>(&mut self) -> Result<T, ProtocolError> {
        self.next()?.parse()
    }

    fn rest(&mut self) -> Vec<String> {
        self.0.by_ref().map(str::to_owned).collect()
    }

    /// CVR and CVQ: six fixed parameters, of which the sixth is the client's version,
    /// then the optional codebase (MSNP4+) and handle (MSNP8).
    fn client_version(&mut self) -> Result<String, ProtocolError> {
        let params = self.rest();
        if !(6..=8).contains(&params.len()) {
            return Err(ProtocolError::BadClientVersion);
        }
        Ok(params[5].clone())
    }

    /// Leftover parameters are an error, not silently ignored.
    fn finish(mut self) -> Result<(), ProtocolError> {
        match self.0.next() {
            Some(_) => Err(ProtocolError::Syntax),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Command, ProtocolError> {
        Command::parse(&Frame { line: line.into(), payload: None })
    }

    #[test]
    fn login_commands_parse() {
        let email: Email = "example@hotmail.com".parse().unwrap();
        let table = [
            (
                "VER 1 MSNP7 MSNP6  MSNP5 CVR0",
                Command::Ver {
                    tr: TrId(1),
                    versions: vec!["MSNP7".into(), "MSNP6".into(), "MSNP5".into(), "CVR0".into()],
                },
            ),
            ("INF 2", Command::Inf { tr: TrId(2) }),
            (
                "CVR 2 0x0409 win 4.10 i386 MSNMSGR 5.0.0537 MSMSGS example@hotmail.com",
                Command::Cvr { tr: TrId(2), client_version: "5.0.0537".into() },
            ),
            (
                "CVQ 2 0x0409 win 4.10 i386 MSMSGS 1.0.0863",
                Command::Cvq { tr: TrId(2), client_version: "1.0.0863".into() },
            ),
            (
                "USR 6 MD5 I Example@Hotmail.com",
                Command::Usr { tr: TrId(6), package: "MD5".into(), step: AuthStep::Initial(email) },
            ),
            (
                "USR 7 md5 S f59af8f2fa91d38aff7c870c17f99903",
                Command::Usr {
                    tr: TrId(7),
                    package: "MD5".into(),
                    step: AuthStep::Subsequent("f59af8f2fa91d38aff7c870c17f99903".into()),
                },
            ),
            ("PNG", Command::Png),
            ("OUT", Command::Out),
            ("SYN 8 0", Command::Unknown { name: "SYN".into(), tr: Some(TrId(8)), payload: None }),
        ];
        for (line, expected) in table {
            assert_eq!(parse(line).unwrap(), expected, "{line}");
        }
    }

    #[test]
    fn malformed_commands_are_rejected() {
        assert_eq!(parse("hello there"), Err(ProtocolError::Garbage));
        assert_eq!(parse("VERY 1 MSNP8"), Err(ProtocolError::Garbage));
        assert_eq!(parse("VER x MSNP8"), Err(ProtocolError::Syntax));
        assert_eq!(parse("INF 2 extra"), Err(ProtocolError::Syntax));
        assert_eq!(parse("USR 3 MD5 X a@b.com"), Err(ProtocolError::Syntax));
        assert_eq!(parse("USR 3 MD5 I not-an-email"), Err(ProtocolError::InvalidParameter));
        assert_eq!(parse("CVR 2 0x0409 win"), Err(ProtocolError::BadClientVersion));
        assert_eq!(trid_of("SYN 12 0"), Some(TrId(12)));
        assert_eq!(trid_of("SYN x"), None);
    }
}
