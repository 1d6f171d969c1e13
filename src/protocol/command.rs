//! Client commands to the dispatch and notification servers, parsed but not yet checked
//! against the session's phase or version: arguments only some versions send are `Option`s.

use std::str::{FromStr, SplitAsciiWhitespace};

use bytes::Bytes;

use super::lists::{Blp, GroupId, Gtc, List, Property};
use super::view::{Guid, SessionId};
use super::Frame;
use super::{url_decode, Email, ProtocolError, TrId};

/// Whether a `USR` opens an authentication round or answers the server's challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthStep {
    /// `USR tr <pkg> I <handle>`
    Initial(Email),
    /// `USR tr <pkg> S <response>`: an MD5 digest or a Passport ticket.
    Subsequent(String),
}

/// What a client's `SYN` says it has cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cached {
    /// MSNP2–9: the list version (0: nothing).
    Version(u32),
    /// MSNP10+: the two timestamps of its last `SYN` (`0 0`: nothing).
    Stamps(String, String),
}

impl Cached {
    /// Whether the client has nothing cached (`SYN tr 0`, `SYN tr 0 0`).
    pub fn is_empty(&self) -> bool {
        match self {
            Cached::Version(version) => *version == 0,
            Cached::Stamps(first, _) => first == "0",
        }
    }

    /// Whether the client's cache is of list version `version`.
    pub fn is_of(&self, version: u32) -> bool {
        match self {
            Cached::Version(cached) => *cached == version,
            Cached::Stamps(lists, settings) => {
                let stamp = super::render::list_stamp(version);
                *lists == stamp && *settings == stamp
            }
        }
    }
}

/// An entry as a list command names it: by handle, or (MSNP10's FL) by GUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    Email(Email),
    Guid(Guid),
}

impl FromStr for Contact {
    type Err = ProtocolError;

    /// A GUID-shaped token is a GUID; anything else must be a handle.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.len() == 36 && !s.contains('@') {
            true => s.parse().map(Contact::Guid),
            false => s.parse().map(Contact::Email),
        }
    }
}

/// A group as a command names it: by number (MSNP7–9) or by GUID (MSNP10+).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupRef {
    Id(GroupId),
    Guid(Guid),
}

impl FromStr for GroupRef {
    type Err = ProtocolError;

    /// A GUID-shaped token is a GUID; anything else must be a number.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.len() == 36 {
            true => s.parse().map(GroupRef::Guid),
            false => number_of(s).map(GroupRef::Id),
        }
    }
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
    /// `SYN tr cached-version`, or MSNP10's `SYN tr ts1 ts2`
    Syn { tr: TrId, cached: Cached },
    /// `LST tr list`
    Lst { tr: TrId, list: List },
    /// `LSG tr`
    Lsg { tr: TrId },
    /// `ADD tr list handle name {group}`
    Add { tr: TrId, list: List, email: Email, name: String, group: Option<GroupId> },
    /// `REM tr list handle|guid {group}`
    Rem { tr: TrId, list: List, contact: Contact, group: Option<GroupRef> },
    /// MSNP10: `ADC tr list N=handle {F=name} {group}` or `ADC tr FL C=guid group`
    Adc { tr: TrId, list: List, contact: Contact, name: Option<String>, group: Option<Guid> },
    /// `ADG tr name {0}`
    Adg { tr: TrId, name: String },
    /// `RMG tr group`
    Rmg { tr: TrId, group: GroupRef },
    /// `REG tr group name {0}`
    Reg { tr: TrId, group: GroupRef, name: String },
    /// `GTC tr A|N`
    Gtc { tr: TrId, value: Gtc },
    /// `BLP tr AL|BL`
    Blp { tr: TrId, value: Blp },
    /// `REA tr handle name`
    Rea { tr: TrId, email: Email, name: String },
    /// `PRP tr property {value}`
    Prp { tr: TrId, property: Property, value: Option<String> },
    /// MSNP10: `PRP tr MFN name`, my own friendly name.
    Mfn { tr: TrId, name: String },
    /// MSNP10: `SBP tr guid property value ..`, a property stored with an FL entry (`MFN`:
    /// its name). `value` and `rest` as sent, for the echo.
    Sbp { tr: TrId, contact: Guid, property: String, value: String, rest: Vec<String> },
    /// `CHG tr status {caps}`; the status is checked by the handler (`FLN` differs by version).
    /// `CHG tr status {caps {msnobj}}`; the MSNObject is checked where the dialect has one.
    Chg { tr: TrId, status: String, caps: Option<u32>, object: Option<String> },
    /// `URL tr service {param}`
    Url { tr: TrId, service: String },
    /// `SND tr handle ..` (MSNP2–4 e-mail invitation)
    Snd { tr: TrId, email: Email },
    /// `SDC tr handle lcid lib codebase X X name len` + optional text
    Sdc { tr: TrId, email: Email },
    /// `FND tr fname=.. lname=.. ..`
    Fnd { tr: TrId },
    /// `IMS tr ON|OFF`
    Ims { tr: TrId, on: bool },
    /// `PAG tr handle len` + page
    Pag { tr: TrId, email: Email },
    /// `PGD tr handle type len` + page (MSNP9, in place of PAG)
    Pgd { tr: TrId },
    /// `XFR tr SB`: the client wants a switchboard.
    Xfr { tr: TrId, kind: String },
    /// `CHL tr`: the client asks for a challenge.
    Chl { tr: TrId },
    /// `QRY tr client-id 32` + the answer
    Qry { tr: TrId, client_id: String, response: Bytes },
    /// MSNP11: `UUX tr len` + `<Data>..</Data>`, my personal message.
    Uux { tr: TrId, payload: Bytes },
    /// MSNP11: `GCF tr file`, a client configuration document.
    Gcf { tr: TrId, file: String },
    /// `PNG`
    Png,
    /// `OUT`
    Out,
    /// Server-to-client commands (`MSG`, `NOT`, `QNG`) sent by a client: hang up.
    WrongDirection { name: String },
    /// A well-formed command this server does not implement: `name tr ..`.
    Unknown { name: String, tr: Option<TrId> },
}

impl Command {
    /// Parses one frame. The command name must be three upper-case letters or digits.
    pub fn parse(frame: &Frame) -> Result<Command, ProtocolError> {
        let mut args = Args::of(&frame.line)?;
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
            "SYN" => {
                let tr = args.parse()?;
                let first = args.next()?;
                let cached = match args.0.next() {
                    None => Cached::Version(number_of(first)?),
                    Some(second) => Cached::Stamps(first.to_owned(), second.to_owned()),
                };
                Command::Syn { tr, cached }
            }
            "LST" => Command::Lst { tr: args.parse()?, list: args.parse()? },
            "LSG" => Command::Lsg { tr: args.parse()? },
            "ADD" => Command::Add {
                tr: args.parse()?,
                list: args.parse()?,
                email: args.parse()?,
                name: args.text()?,
                group: args.optional_number()?,
            },
            "REM" => Command::Rem {
                tr: args.parse()?,
                list: args.parse()?,
                contact: args.parse()?,
                group: args.0.next().map(str::parse).transpose()?,
            },
            "ADC" => args.adc()?,
            "ADG" => {
                let command = Command::Adg { tr: args.parse()?, name: args.text()? };
                args.optional_zero()?;
                command
            }
            "RMG" => Command::Rmg { tr: args.parse()?, group: args.parse()? },
            "REG" => {
                let command = Command::Reg { tr: args.parse()?, group: args.parse()?, name: args.text()? };
                args.optional_zero()?;
                command
            }
            "GTC" => Command::Gtc { tr: args.parse()?, value: args.parse()? },
            "BLP" => Command::Blp { tr: args.parse()?, value: args.parse()? },
            "REA" => Command::Rea { tr: args.parse()?, email: args.parse()?, name: args.text()? },
            "PRP" => {
                let tr = args.parse()?;
                match args.0.clone().next() {
                    Some("MFN") => {
                        args.next()?;
                        Command::Mfn { tr, name: args.text()? }
                    }
                    _ => Command::Prp { tr, property: args.property()?, value: args.optional_text()? },
                }
            }
            "SBP" => Command::Sbp {
                tr: args.parse()?,
                contact: args.parse()?,
                property: args.next()?.to_owned(),
                value: args.next()?.to_owned(),
                rest: args.rest(),
            },
            "CHG" => Command::Chg {
                tr: args.parse()?,
                status: args.next()?.to_owned(),
                caps: args.optional_number()?,
                object: args.0.next().map(str::to_owned),
            },
            "URL" => {
                let command = Command::Url { tr: args.parse()?, service: args.next()?.to_ascii_uppercase() };
                args.rest(); // COMPOSE's address, PERSON's LCID: not used
                command
            }
            "SND" => {
                let command = Command::Snd { tr: args.parse()?, email: args.parse()? };
                args.rest(); // LCID, library, codebase
                command
            }
            "SDC" => {
                let command = Command::Sdc { tr: args.parse()?, email: args.parse()? };
                args.rest(); // LCID .. name, byte count; the text is the payload
                command
            }
            "FND" => {
                let command = Command::Fnd { tr: args.parse()? };
                args.rest();
                command
            }
            "IMS" => Command::Ims {
                tr: args.parse()?,
                on: match args.next()? {
                    "ON" => true,
                    "OFF" => false,
                    _ => return Err(ProtocolError::InvalidValue),
                },
            },
            "PAG" => {
                let command = Command::Pag { tr: args.parse()?, email: args.parse()? };
                args.rest(); // byte count
                command
            }
            "PGD" => {
                let command = Command::Pgd { tr: args.parse()? };
                args.rest(); // handle, type, byte count
                command
            }
            "XFR" => Command::Xfr { tr: args.parse()?, kind: args.next()?.to_owned() },
            "CHL" => Command::Chl { tr: args.parse()? },
            "QRY" => {
                let command = Command::Qry {
                    tr: args.parse()?,
                    client_id: args.next()?.to_owned(),
                    response: frame.payload.clone().unwrap_or_default(),
                };
                args.rest(); // byte count
                command
            }
            "UUX" => {
                let command =
                    Command::Uux { tr: args.parse()?, payload: frame.payload.clone().unwrap_or_default() };
                args.rest(); // byte count
                command
            }
            "GCF" => Command::Gcf { tr: args.parse()?, file: args.next()?.to_owned() },
            "PNG" => Command::Png,
            "OUT" => Command::Out,
            "MSG" | "NOT" | "QNG" | "IPG" | "UBX" | "SBS" => {
                return Ok(Command::WrongDirection { name: name.to_owned() })
            }
            _ => {
                let tr = args.next().ok().and_then(|t| t.parse().ok());
                return Ok(Command::Unknown { name: name.to_owned(), tr });
            }
        };
        args.finish()?;
        Ok(command)
    }

    /// Whether the command changes a contact list or group (each counts against the
    /// account's `limits.list_changes_per_minute`).
    pub fn changes_lists(&self) -> bool {
        matches!(
            self,
            Command::Add { .. }
                | Command::Adc { .. }
                | Command::Rem { .. }
                | Command::Adg { .. }
                | Command::Rmg { .. }
                | Command::Reg { .. }
        )
    }

    /// The command's name as on the wire.
    pub fn name(&self) -> &str {
        match self {
            Command::Ver { .. } => "VER",
            Command::Inf { .. } => "INF",
            Command::Cvr { .. } => "CVR",
            Command::Cvq { .. } => "CVQ",
            Command::Usr { .. } => "USR",
            Command::Syn { .. } => "SYN",
            Command::Lst { .. } => "LST",
            Command::Lsg { .. } => "LSG",
            Command::Add { .. } => "ADD",
            Command::Rem { .. } => "REM",
            Command::Adc { .. } => "ADC",
            Command::Adg { .. } => "ADG",
            Command::Rmg { .. } => "RMG",
            Command::Reg { .. } => "REG",
            Command::Gtc { .. } => "GTC",
            Command::Blp { .. } => "BLP",
            Command::Rea { .. } => "REA",
            Command::Prp { .. } | Command::Mfn { .. } => "PRP",
            Command::Sbp { .. } => "SBP",
            Command::Chg { .. } => "CHG",
            Command::Url { .. } => "URL",
            Command::Snd { .. } => "SND",
            Command::Sdc { .. } => "SDC",
            Command::Fnd { .. } => "FND",
            Command::Ims { .. } => "IMS",
            Command::Pag { .. } => "PAG",
            Command::Pgd { .. } => "PGD",
            Command::Xfr { .. } => "XFR",
            Command::Chl { .. } => "CHL",
            Command::Qry { .. } => "QRY",
            Command::Uux { .. } => "UUX",
            Command::Gcf { .. } => "GCF",
            Command::Png => "PNG",
            Command::Out => "OUT",
            Command::WrongDirection { name } | Command::Unknown { name, .. } => name,
        }
    }
}

/// How the sender of a switchboard `MSG` wants to hear about delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// `U`: never.
    Never,
    /// `N`: `NAK` if it failed.
    OnFailure,
    /// `A`: `ACK` or `NAK`.
    Always,
    /// `D` (MSNP9): P2P data (display pictures, file transfers), `ACK` or `NAK`; the
    /// sender's next chunk waits for the `ACK`.
    Data,
}

/// Whether a `MSG .. D` payload is what `D` is for: a MIME header naming
/// `application/x-msnmsgrp2p` and a `P2P-Dest`, then the binary part (msnp9-12.md 3.8).
/// Only the header is read; the rest is relayed as it came.
pub fn is_p2p(payload: &[u8]) -> bool {
    let Some(end) = payload.windows(4).position(|w| w == b"\r\n\r\n") else { return false };
    let Ok(head) = std::str::from_utf8(&payload[..end]) else { return false };
    let header = |name: &str| {
        let fields = head.split("\r\n").filter_map(|line| line.split_once(':'));
        fields.into_iter().find(|(n, _)| n.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.trim())
    };
    let p2p = header("Content-Type").is_some_and(|v| v.eq_ignore_ascii_case("application/x-msnmsgrp2p"));
    p2p && header("P2P-Dest").is_some_and(|v| !v.is_empty())
}

/// A switchboard command. The switchboard has no `VER`: the first command is `USR`
/// (the caller) or `ANS` (an invitee).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SbCommand {
    /// `USR tr handle cookie`
    Usr { tr: TrId, email: Email, cookie: String },
    /// `ANS tr handle cookie session`
    Ans { tr: TrId, email: Email, cookie: String, session: SessionId },
    /// `CAL tr handle`; `None` for a handle that is no e-mail address (`208`).
    Cal { tr: TrId, email: Option<Email> },
    /// `MSG tr U|N|A|D len` + payload
    Msg { tr: TrId, ack: Ack, payload: Bytes },
    /// `OUT`
    Out,
    /// Anything else, well-formed.
    Unknown { name: String },
}

impl SbCommand {
    pub fn parse(frame: &Frame) -> Result<SbCommand, ProtocolError> {
        let mut args = Args::of(&frame.line)?;
        let command = match args.next()? {
            "USR" => {
                SbCommand::Usr { tr: args.parse()?, email: args.parse()?, cookie: args.next()?.to_owned() }
            }
            "ANS" => SbCommand::Ans {
                tr: args.parse()?,
                email: args.parse()?,
                cookie: args.next()?.to_owned(),
                session: args.number()?,
            },
            "CAL" => SbCommand::Cal { tr: args.parse()?, email: args.next()?.parse().ok() },
            "MSG" => {
                let tr = args.parse()?;
                let ack = match args.next()? {
                    "U" => Ack::Never,
                    "N" => Ack::OnFailure,
                    "A" => Ack::Always,
                    "D" => Ack::Data,
                    // The official switchboard hung up without relaying.
                    _ => return Err(ProtocolError::Garbage),
                };
                args.rest(); // byte count
                SbCommand::Msg { tr, ack, payload: frame.payload.clone().unwrap_or_default() }
            }
            "OUT" => SbCommand::Out,
            name if name.len() == 3 && name.bytes().all(|b| b.is_ascii_uppercase()) => {
                return Ok(SbCommand::Unknown { name: name.to_owned() });
            }
            _ => return Err(ProtocolError::Garbage),
        };
        args.finish()?;
        Ok(command)
    }
}

/// The transaction id of a line that may not parse as a whole, for its error reply.
pub fn trid_of(line: &str) -> Option<TrId> {
    line.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// A number in plain decimal digits (no sign).
fn number_of<T: FromStr>(token: &str) -> Result<T, ProtocolError> {
    if !token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ProtocolError::Syntax);
    }
    token.parse().map_err(|_| ProtocolError::Syntax)
}

/// Whitespace-separated parameters; runs of spaces never make empty ones.
struct Args<'a>(SplitAsciiWhitespace<'a>);

impl<'a> Args<'a> {
    /// The parameters of `line`, which must hold no control characters (NUL, ESC, BEL..):
    /// no command has them, and parameters such as CVR's are echoed back to the client.
    fn of(line: &'a str) -> Result<Args<'a>, ProtocolError> {
        if line.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(ProtocolError::Syntax);
        }
        Ok(Args(line.split_ascii_whitespace()))
    }

    fn next(&mut self) -> Result<&'a str, ProtocolError> {
        self.0.next().ok_or(ProtocolError::Syntax)
    }

    fn parse<T: FromStr<Err = ProtocolError>>(&mut self) -> Result<T, ProtocolError> {
        self.next()?.parse()
    }

    fn number<T: FromStr>(&mut self) -> Result<T, ProtocolError> {
        number_of(self.next()?)
    }

    fn optional_number<T: FromStr>(&mut self) -> Result<Option<T>, ProtocolError> {
        match self.0.clone().next() {
            Some(_) => self.number().map(Some),
            None => Ok(None),
        }
    }

    /// A URL-encoded parameter, decoded.
    fn text(&mut self) -> Result<String, ProtocolError> {
        url_decode(self.next()?)
    }

    fn optional_text(&mut self) -> Result<Option<String>, ProtocolError> {
        match self.0.clone().next() {
            Some(_) => self.text().map(Some),
            None => Ok(None),
        }
    }

    /// The constant `0` that ADG and REG end with, if sent.
    fn optional_zero(&mut self) -> Result<(), ProtocolError> {
        match self.0.next() {
            None | Some("0") => Ok(()),
            Some(_) => Err(ProtocolError::Syntax),
        }
    }

    /// A PRP property: a name longer than three letters gets the client disconnected, an
    /// unknown one is only refused.
    fn property(&mut self) -> Result<Property, ProtocolError> {
        let name = self.next()?;
        if name.len() > 3 {
            return Err(ProtocolError::InvalidValue);
        }
        name.parse().map_err(|_| ProtocolError::NotExpected)
    }

    /// `ADC tr list` and its `N=`, `C=` and `F=` parameters in any order, then at most one
    /// group GUID.
    fn adc(&mut self) -> Result<Command, ProtocolError> {
        let (tr, list) = (self.parse()?, self.parse()?);
        let (mut contact, mut name, mut group) = (None, None, None);
        for token in self.0.by_ref() {
            let slot_was_empty = match token.split_at_checked(2) {
                Some(("N=", handle)) => contact.replace(Contact::Email(handle.parse()?)).is_none(),
                Some(("C=", guid)) => contact.replace(Contact::Guid(guid.parse()?)).is_none(),
                Some(("F=", text)) => name.replace(url_decode(text)?).is_none(),
                _ => group.replace(token.parse()?).is_none(),
            };
            if !slot_was_empty {
                return Err(ProtocolError::Syntax);
            }
        }
        Ok(Command::Adc { tr, list, contact: contact.ok_or(ProtocolError::Syntax)?, name, group })
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
            ("SYN 8 0", Command::Syn { tr: TrId(8), cached: Cached::Version(0) }),
            (
                "ADD 12 FL a@b.com %63%61%72 2",
                Command::Add {
                    tr: TrId(12),
                    list: List::Forward,
                    email: "a@b.com".parse().unwrap(),
                    name: "car".into(),
                    group: Some(GroupId(2)),
                },
            ),
            (
                "ADD 12 AL a@b.com a%40b.com",
                Command::Add {
                    tr: TrId(12),
                    list: List::Allow,
                    email: "a@b.com".parse().unwrap(),
                    name: "a@b.com".into(),
                    group: None,
                },
            ),
            (
                "REM 13 FL a@b.com",
                Command::Rem {
                    tr: TrId(13),
                    list: List::Forward,
                    contact: Contact::Email("a@b.com".parse().unwrap()),
                    group: None,
                },
            ),
            ("ADG 10 New%20Group%201 0", Command::Adg { tr: TrId(10), name: "New Group 1".into() }),
            (
                "REG 11 2 Cool%20People 0",
                Command::Reg { tr: TrId(11), group: GroupRef::Id(GroupId(2)), name: "Cool People".into() },
            ),
            ("PRP 2 PHW", Command::Prp { tr: TrId(2), property: Property::Phw, value: None }),
            (
                "PRP 2 PHH 123%20(4567)",
                Command::Prp { tr: TrId(2), property: Property::Phh, value: Some("123 (4567)".into()) },
            ),
            ("CHG 9 NLN", Command::Chg { tr: TrId(9), status: "NLN".into(), caps: None, object: None }),
            (
                "CHG 9 NLN 28",
                Command::Chg { tr: TrId(9), status: "NLN".into(), caps: Some(28), object: None },
            ),
            (
                "CHG 9 NLN 28 0",
                Command::Chg { tr: TrId(9), status: "NLN".into(), caps: Some(28), object: Some("0".into()) },
            ),
            ("URL 15 inbox", Command::Url { tr: TrId(15), service: "INBOX".into() }),
            ("LKP 3 12", Command::Unknown { name: "LKP".into(), tr: Some(TrId(3)) }),
            ("MSG 3 N 4", Command::WrongDirection { name: "MSG".into() }),
        ];
        for (line, expected) in table {
            assert_eq!(parse(line).unwrap(), expected, "{line}");
        }
    }

    #[test]
    fn switchboard_commands_parse() {
        let sb = |line: &str, payload: Option<&'static str>| {
            SbCommand::parse(&Frame {
                line: line.into(),
                payload: payload.map(|p: &'static str| Bytes::from_static(p.as_bytes())),
            })
        };
        let alice: Email = "alice@example.com".parse().unwrap();
        assert_eq!(
            sb("USR 1 alice@example.com 1a2b", None).unwrap(),
            SbCommand::Usr { tr: TrId(1), email: alice.clone(), cookie: "1a2b".into() }
        );
        assert_eq!(
            sb("ANS 1 alice@example.com 1a2b 11752099", None).unwrap(),
            SbCommand::Ans {
                tr: TrId(1),
                email: alice.clone(),
                cookie: "1a2b".into(),
                session: SessionId(11752099)
            }
        );
        assert_eq!(sb("CAL 2 @@a", None).unwrap(), SbCommand::Cal { tr: TrId(2), email: None });
        assert_eq!(
            sb("MSG 3 A 2", Some("hi")).unwrap(),
            SbCommand::Msg { tr: TrId(3), ack: Ack::Always, payload: Bytes::from_static(b"hi") }
        );
        assert_eq!(
            sb("MSG 3 D 2", Some("hi")),
            Ok(SbCommand::Msg { tr: TrId(3), ack: Ack::Data, payload: Bytes::from_static(b"hi") })
        );
        assert_eq!(sb("MSG 3 X 2", Some("hi")), Err(ProtocolError::Garbage));
        assert_eq!(sb("MSG 3 a 2", Some("hi")), Err(ProtocolError::Garbage));
        assert_eq!(sb("ANS 1 alice@example.com c x", None), Err(ProtocolError::Syntax));
    }

    #[test]
    fn address_book_commands_parse() {
        let guid = |s: &str| s.parse::<Guid>().unwrap();
        let (entry, group) = ("8F2C1D3E-5A6B-4C7D-9E0F-1A2B3C4D5E6F", "3c7e9a10-2b4d-4f6a-8c1e-5d7f9b2a4c6e");
        let bob = || Contact::Email("bob@hotmail.com".parse().unwrap());
        let table = [
            (
                "SYN 5 2005-03-01T10:20:30.4000000-08:00 2005-03-01T10:20:30.4000000-08:00".to_owned(),
                Command::Syn {
                    tr: TrId(5),
                    cached: Cached::Stamps(
                        "2005-03-01T10:20:30.4000000-08:00".into(),
                        "2005-03-01T10:20:30.4000000-08:00".into(),
                    ),
                },
            ),
            (
                "ADC 9 FL N=bob@hotmail.com F=Bob%20B".to_owned(),
                Command::Adc {
                    tr: TrId(9),
                    list: List::Forward,
                    contact: bob(),
                    name: Some("Bob B".into()),
                    group: None,
                },
            ),
            (
                format!("ADC 10 FL C={entry} {group}"),
                Command::Adc {
                    tr: TrId(10),
                    list: List::Forward,
                    contact: Contact::Guid(guid(entry)),
                    name: None,
                    group: Some(guid(group)),
                },
            ),
            (
                "ADC 7 AL N=bob@hotmail.com".to_owned(),
                Command::Adc { tr: TrId(7), list: List::Allow, contact: bob(), name: None, group: None },
            ),
            (
                format!("REM 13 FL {entry} {group}"),
                Command::Rem {
                    tr: TrId(13),
                    list: List::Forward,
                    contact: Contact::Guid(guid(entry)),
                    group: Some(GroupRef::Guid(guid(group))),
                },
            ),
            (
                "REM 8 PL bob@hotmail.com".to_owned(),
                Command::Rem { tr: TrId(8), list: List::Pending, contact: bob(), group: None },
            ),
            (format!("RMG 3 {group}"), Command::Rmg { tr: TrId(3), group: GroupRef::Guid(guid(group)) }),
            ("PRP 15 MFN Alice%20%3A%29".to_owned(), Command::Mfn { tr: TrId(15), name: "Alice :)".into() }),
            (
                format!("SBP 16 {entry} PHM tel:+15554444333 1"),
                Command::Sbp {
                    tr: TrId(16),
                    contact: guid(entry),
                    property: "PHM".into(),
                    value: "tel:+15554444333".into(),
                    rest: vec!["1".into()],
                },
            ),
        ];
        for (line, expected) in table {
            assert_eq!(parse(&line), Ok(expected), "{line}");
        }
        // GUIDs are kept in lower case.
        assert_eq!(guid(entry).as_str(), entry.to_ascii_lowercase());
        assert_eq!(parse("ADC 1 FL"), Err(ProtocolError::Syntax));
        assert_eq!(parse("ADC 1 FL N=a@b.com N=c@d.com"), Err(ProtocolError::Syntax));
        assert_eq!(parse("ADC 1 FL N=a@b"), Err(ProtocolError::InvalidParameter));
        assert_eq!(parse("ADC 1 FL C=not-a-guid"), Err(ProtocolError::InvalidValue));
        assert_eq!(parse("RMG 1 3c7e9a10-2b4d-4f6a-8c1e-5d7f9b2a4cXX"), Err(ProtocolError::InvalidValue));
        assert_eq!(parse("REM 1 FL 3c7e9a10_2b4d_4f6a_8c1e_5d7f9b2a4c6e"), Err(ProtocolError::InvalidValue));
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
        assert_eq!(parse("GTC 5 B"), Err(ProtocolError::InvalidValue));
        assert_eq!(parse("BLP 5 CL"), Err(ProtocolError::InvalidValue));
        assert_eq!(parse("ADD 5 XL a@b.com a"), Err(ProtocolError::InvalidValue));
        assert_eq!(parse("ADD 5 FL a@b a"), Err(ProtocolError::InvalidParameter));
        assert_eq!(parse("PRP 5 PHONE 1"), Err(ProtocolError::InvalidValue));
        assert_eq!(parse("PRP 5 XYZ 1"), Err(ProtocolError::NotExpected));
        assert_eq!(parse("IMS 5 MAYBE"), Err(ProtocolError::InvalidValue));
        assert_eq!(parse("ADG 5 name 1"), Err(ProtocolError::Syntax));
        assert_eq!(parse("RMG 5 -1"), Err(ProtocolError::Syntax));
        assert_eq!(trid_of("SYN 12 0"), Some(TrId(12)));
        assert_eq!(trid_of("SYN x"), None);
    }
}
