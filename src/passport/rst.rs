//! The RST login of MSN Messenger 7.5 (MSNP12) and of third-party MSNP11–12 clients
//! (msnp9-12-rst.md): `POST /RST.srf` (or `/RST2.srf`) with a SOAP envelope that carries the
//! user name, the password and a list of token requests. The answer has one response per
//! request; the `messenger.msn.com` one holds `t=<ticket>&p=`, the same single-use ticket
//! `login2.srf` issues, which the client hands the notification server in `USR tr TWN S`.
//!
//! The request is read by local names only, since prefixes and default namespaces differ
//! between clients; it is bounded in depth and in the number of token requests, and a
//! document type declaration is refused. The credentials go through the Passport 1.4
//! login's check (`super::sign_in`): same throttles, logs, metrics and tickets.
//!
//! Answers carry no whitespace between elements: libpurple steps from one token response to
//! the next sibling node, which whitespace could make a text node.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use quick_xml::escape::{escape, resolve_xml_entity};
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use rand::Rng;
use tracing::debug;

use super::auth::SignIn;
use super::http::{Request, Response};
use super::{Context, Endpoint, Granted, Refusal, Site};
use crate::store::UserId;

/// Most token requests read from one request; Windows Live Messenger 8 and later ask for
/// about half a dozen.
pub const MAX_TOKENS: usize = 16;
/// Deepest element nesting read; the request's deepest element, `Address`, is at 7.
pub const MAX_DEPTH: usize = 32;
/// The address of the Passport "DA" token, which gets an opaque legacy token, not a ticket.
const TB_ADDRESS: &str = "http://Passport.NET/tb";

const SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const PSF: &str = "http://schemas.microsoft.com/Passport/SoapServices/SOAPFault";
const WSSE: &str = "http://schemas.xmlsoap.org/ws/2003/06/secext";
const WST: &str = "http://schemas.xmlsoap.org/ws/2004/04/trust";
const WSU: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
const WSP: &str = "http://schemas.xmlsoap.org/ws/2002/12/policy";
const WSA: &str = "http://schemas.xmlsoap.org/ws/2004/03/addressing";
const SAML: &str = "urn:oasis:names:tc:SAML:1.0:assertion";
const XMLENC: &str = "http://www.w3.org/2001/04/xmlenc#";
const XMLDSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

/// What an RST request asks for.
#[derive(Default, PartialEq, Eq)]
pub struct RstRequest {
    /// The text of the first `Username`, entities decoded.
    pub username: Option<String>,
    /// The text of the first `Password`, entities decoded, not trimmed.
    pub password: Option<String>,
    /// Every `RequestSecurityToken`, in order.
    pub tokens: Vec<TokenRequest>,
}

impl fmt::Debug for RstRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RstRequest")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("tokens", &self.tokens)
            .finish()
    }
}

impl RstRequest {
    /// The sign-in, when the request has a user name (not blank) and a password.
    pub fn sign_in(&self) -> Option<SignIn> {
        let handle = self.username.as_deref().map(str::trim).filter(|h| !h.is_empty())?;
        Some(SignIn { handle: handle.to_owned(), password: self.password.clone()? })
    }
}

/// One `RequestSecurityToken`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// Its `Id` attribute: `RST0`, `RST1` ..
    pub id: Option<String>,
    /// The `Address` inside its `AppliesTo`, trimmed: `http://Passport.NET/tb`,
    /// `messenger.msn.com` ..
    pub address: String,
    /// The `URI` of its `PolicyReference`: `?` and the `USR TWN S` challenge. Not checked.
    pub policy: Option<String>,
}

impl TokenRequest {
    /// Whether it asks for the Passport "DA" token rather than a ticket.
    pub fn is_tb(&self) -> bool {
        self.address.eq_ignore_ascii_case(TB_ADDRESS)
    }

    /// The number in its answer's `Id` (`Compact<n>`): the digits of `RST<n>`, else its
    /// position in the request (libpurple matches the digits with its own request's).
    pub fn number(&self, position: usize) -> usize {
        let rst = |id: &&str| id.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("RST"));
        let digits = self.id.as_deref().filter(rst).and_then(|id| id.get(3..));
        digits
            .filter(|d| (1..=9).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse().ok())
            .unwrap_or(position)
    }
}

/// Why a body is no RST request.
#[derive(Debug, thiserror::Error)]
pub enum RstError {
    #[error("not UTF-8")]
    NotUtf8,
    #[error("not well-formed XML: {0}")]
    Xml(#[from] quick_xml::Error),
    #[error("not one complete SOAP Envelope")]
    NotEnvelope,
    #[error("a document type declaration")]
    Doctype,
    #[error("the undefined entity &{0};")]
    UnknownEntity(String),
    #[error("elements nested deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("more than {MAX_TOKENS} RequestSecurityToken elements")]
    TooManyTokens,
    #[error("a RequestSecurityToken without an AppliesTo Address")]
    NoAddress,
}

impl From<quick_xml::encoding::EncodingError> for RstError {
    fn from(e: quick_xml::encoding::EncodingError) -> RstError {
        RstError::Xml(e.into())
    }
}

/// Reads an RST request from a SOAP envelope (msnp9-12-rst.md §2). `Username` and
/// `Password` count wherever they are; `AppliesTo`, its `Address` and `PolicyReference`
/// only inside a `RequestSecurityToken`.
pub fn parse(body: &[u8]) -> Result<RstRequest, RstError> {
    let text = std::str::from_utf8(body).map_err(|_| RstError::NotUtf8)?;
    let mut reader = Reader::from_str(text);
    let mut walk = Walk::default();
    loop {
        match reader.read_event()? {
            Event::Start(element) => walk.open(&element)?,
            Event::Empty(element) => {
                walk.open(&element)?;
                walk.close()?;
            }
            Event::End(_) => walk.close()?,
            Event::Text(text) => walk.text(&text.xml10_content()?)?,
            Event::CData(text) => walk.text(&text.decode()?)?,
            Event::GeneralRef(reference) => walk.text(&resolve(&reference)?)?,
            Event::DocType(_) => return Err(RstError::Doctype),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => return walk.finish(),
        }
    }
}

/// The text an entity or character reference stands for; only XML's five entities are
/// defined, as no DTD is read.
fn resolve(reference: &BytesRef<'_>) -> Result<String, RstError> {
    if let Some(c) = reference.resolve_char_ref()? {
        return Ok(c.to_string());
    }
    let name = reference.decode()?;
    resolve_xml_entity(&name).map(str::to_owned).ok_or_else(|| RstError::UnknownEntity(name.into_owned()))
}

/// The elements the parser looks for, by local name; any other is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Name {
    Username,
    Password,
    Token,
    AppliesTo,
    Address,
    PolicyReference,
    Other,
}

impl Name {
    fn of(local: &[u8]) -> Name {
        match local {
            b"Username" => Name::Username,
            b"Password" => Name::Password,
            b"RequestSecurityToken" => Name::Token,
            b"AppliesTo" => Name::AppliesTo,
            b"Address" => Name::Address,
            b"PolicyReference" => Name::PolicyReference,
            _ => Name::Other,
        }
    }
}

/// Where the parser is in the document, and what it has found so far.
#[derive(Default)]
struct Walk {
    /// The open elements, outermost first, as far as they matter.
    open: Vec<Name>,
    /// Whether the root element has been opened.
    rooted: bool,
    /// The text being collected: for which element, its depth, the text so far.
    collecting: Option<(Name, usize, String)>,
    /// The `RequestSecurityToken` open now.
    token: Option<OpenToken>,
    found: RstRequest,
}

/// What a `RequestSecurityToken` has shown so far.
struct OpenToken {
    id: Option<String>,
    address: Option<String>,
    policy: Option<String>,
}

impl Walk {
    fn open(&mut self, element: &BytesStart<'_>) -> Result<(), RstError> {
        let local = element.local_name();
        if self.open.is_empty() {
            if self.rooted || local.as_ref() != b"Envelope" {
                return Err(RstError::NotEnvelope);
            }
            self.rooted = true;
        }
        if self.open.len() == MAX_DEPTH {
            return Err(RstError::TooDeep);
        }
        let in_token = self.token.is_some();
        let name = match Name::of(local.as_ref()) {
            Name::Token if in_token => Name::Other,
            Name::Token if self.found.tokens.len() == MAX_TOKENS => return Err(RstError::TooManyTokens),
            Name::Token => {
                self.token = Some(OpenToken { id: attribute(element, b"Id")?, address: None, policy: None });
                Name::Token
            }
            Name::AppliesTo | Name::PolicyReference if !in_token => Name::Other,
            Name::Address if !self.open.contains(&Name::AppliesTo) => Name::Other,
            Name::PolicyReference => {
                let uri = attribute(element, b"URI")?;
                if let Some(OpenToken { policy: policy @ None, .. }) = &mut self.token {
                    *policy = uri;
                }
                Name::PolicyReference
            }
            name => name,
        };
        self.open.push(name);
        if matches!(name, Name::Username | Name::Password | Name::Address) && self.collecting.is_none() {
            self.collecting = Some((name, self.open.len(), String::new()));
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), RstError> {
        let depth = self.open.len();
        let name = self.open.pop().ok_or(RstError::NotEnvelope)?;
        if let Some((field, _, text)) = self.collecting.take_if(|(_, at, _)| *at == depth) {
            match field {
                Name::Username => {
                    self.found.username.get_or_insert(text);
                }
                Name::Password => {
                    self.found.password.get_or_insert(text);
                }
                _ => {
                    if let Some(OpenToken { address: address @ None, .. }) = &mut self.token {
                        *address = Some(text.trim().to_owned());
                    }
                }
            }
        }
        if name == Name::Token {
            let OpenToken { id, address, policy } = self.token.take().ok_or(RstError::NotEnvelope)?;
            let address = address.filter(|a| !a.is_empty()).ok_or(RstError::NoAddress)?;
            self.found.tokens.push(TokenRequest { id, address, policy });
        }
        Ok(())
    }

    /// Text (or a decoded reference) inside the innermost open element.
    fn text(&mut self, text: &str) -> Result<(), RstError> {
        if self.open.is_empty() && !text.trim().is_empty() {
            return Err(RstError::NotEnvelope);
        }
        if let Some((_, depth, collected)) = &mut self.collecting {
            if *depth == self.open.len() {
                collected.push_str(text);
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<RstRequest, RstError> {
        if !self.rooted || !self.open.is_empty() {
            return Err(RstError::NotEnvelope);
        }
        Ok(self.found)
    }
}

/// The value of the attribute whose local name is `name` (a namespace declaration never
/// is), entities decoded.
fn attribute(element: &BytesStart<'_>, name: &[u8]) -> Result<Option<String>, RstError> {
    for attribute in element.attributes() {
        let attribute = attribute.map_err(quick_xml::Error::from)?;
        let key = attribute.key;
        if key.as_namespace_binding().is_none() && key.local_name().as_ref() == name {
            return Ok(Some(attribute.normalized_value(XmlVersion::Implicit1_0)?.into_owned()));
        }
    }
    Ok(None)
}

/// Answers an RST request: the token responses, or a SOAP fault (HTTP 200 but for an
/// internal error, as both working servers answer; msnp9-12-rst.md §4).
pub(super) async fn answer(request: &Request, site: Site, passport: &Context) -> Response {
    let label = Endpoint::Rst.label();
    let asked = match parse(&request.body) {
        Ok(asked) if !asked.tokens.is_empty() => asked,
        parsed => {
            let error = parsed.err().map_or_else(|| "it asks for no token".to_owned(), |e| e.to_string());
            debug!(error, "unusable RST request");
            passport.metrics.passport(label, "malformed");
            return Response::xml(200, fault(Fault::Client));
        }
    };
    for token in &asked.tokens {
        debug!(id = ?token.id, address = %token.address, policy = ?token.policy, "token requested");
    }
    let Some(sign_in) = asked.sign_in() else {
        debug!("RST request without a user name or password");
        passport.metrics.passport(label, "no_credentials");
        return Response::xml(200, fault(Fault::Client));
    };
    match super::sign_in(passport, site, Endpoint::Rst, sign_in).await {
        Ok(granted) => {
            let lifetime = Lifetime::from_now(SHOWN_LIFETIME_SECS);
            Response::xml(200, tokens(&asked.tokens, &granted, &lifetime))
        }
        Err(Refusal::Internal) => Response::xml(500, fault(Fault::Server)),
        Err(refusal) => Response::xml(200, fault(Fault::Refused(refusal))),
    }
}

/// How long `wst:LifeTime` says the tokens last: a day, as the official service said. The
/// client checks the window against its own clock (a PC clock a few minutes off must not
/// fail the sign-in, msnp9-12-rst.md §3); the ticket itself is redeemable only once and
/// only for `passport.ticket_ttl_secs`.
const SHOWN_LIFETIME_SECS: u64 = 24 * 3600;

/// When the tokens of an answer were made and when they expire, as `wst:LifeTime` says.
struct Lifetime {
    created: String,
    expires: String,
}

impl Lifetime {
    /// From now for `secs` (the tickets' lifetime).
    fn from_now(secs: u64) -> Lifetime {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Lifetime { created: utc(now), expires: utc(now.saturating_add(secs)) }
    }
}

/// The success answer (msnp9-12-rst.md §3): the `psf:pp` header, then one
/// `RequestSecurityTokenResponse` per token request, in their order. Every compact token
/// carries the one ticket: the notification server redeems one, so more would only be
/// further outstanding credentials.
fn tokens(requests: &[TokenRequest], granted: &Granted, lifetime: &Lifetime) -> String {
    let mut out = String::with_capacity(2048 + 1024 * requests.len());
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><S:Envelope xmlns:S=\"{SOAP}\"><S:Header>\
         <psf:pp xmlns:psf=\"{PSF}\"><psf:serverVersion>1</psf:serverVersion>\
         <psf:PUID>{}</psf:PUID><psf:configVersion>3.0.869.0</psf:configVersion>\
         <psf:uiVersion>3.0.869.0</psf:uiVersion><psf:authstate>0x48803</psf:authstate>\
         <psf:reqstatus>0x0</psf:reqstatus><psf:serverInfo Path=\"Live1\" \
         RollingUpgradeState=\"ExclusiveNew\" LocVersion=\"0\" ServerTime=\"{}\">msnd {}</psf:serverInfo>\
         <psf:cookies/><psf:response/></psf:pp></S:Header><S:Body>\
         <wst:RequestSecurityTokenResponseCollection xmlns:wst=\"{WST}\" xmlns:wsse=\"{WSSE}\" \
         xmlns:wsu=\"{WSU}\" xmlns:saml=\"{SAML}\" xmlns:wsp=\"{WSP}\" xmlns:psf=\"{PSF}\">",
        puid(granted.owner.user_id),
        esc(&lifetime.created),
        esc(env!("CARGO_PKG_VERSION")),
    );
    for (position, request) in requests.iter().enumerate() {
        let n = request.number(position);
        if request.is_tb() {
            legacy_token(&mut out, n, &request.address, lifetime);
        } else {
            compact_token(&mut out, n, &request.address, lifetime, &granted.ticket);
        }
    }
    out += "</wst:RequestSecurityTokenResponseCollection></S:Body></S:Envelope>";
    out
}

/// The answer to the `http://Passport.NET/tb` request: random bytes where Passport put its
/// encrypted "DA" token and the proof key; an MSNP12 client does not read them.
fn legacy_token(out: &mut String, n: usize, address: &str, lifetime: &Lifetime) {
    let cipher = random_base64(96);
    let secret = random_base64(24);
    response_head(out, "urn:passport:legacy", address, lifetime);
    let _ = write!(
        out,
        "<wst:RequestedSecurityToken><EncryptedData xmlns=\"{XMLENC}\" Id=\"BinaryDAToken{n}\" \
         Type=\"{XMLENC}Element\"><EncryptionMethod Algorithm=\"{XMLENC}tripledes-cbc\"/>\
         <ds:KeyInfo xmlns:ds=\"{XMLDSIG}\"><ds:KeyName>http://Passport.NET/STS</ds:KeyName></ds:KeyInfo>\
         <CipherData><CipherValue>{}</CipherValue></CipherData></EncryptedData></wst:RequestedSecurityToken>\
         <wst:RequestedTokenReference><wsse:KeyIdentifier ValueType=\"urn:passport\"/>\
         <wsse:Reference URI=\"#BinaryDAToken{n}\"/></wst:RequestedTokenReference>\
         <wst:RequestedProofToken><wst:BinarySecret>{}</wst:BinarySecret></wst:RequestedProofToken>\
         </wst:RequestSecurityTokenResponse>",
        esc(&cipher),
        esc(&secret),
    );
}

/// The answer to any other request: the ticket as a compact token `Compact<n>`.
fn compact_token(out: &mut String, n: usize, address: &str, lifetime: &Lifetime, ticket: &str) {
    response_head(out, "urn:passport:compact", address, lifetime);
    let _ = write!(
        out,
        "<wst:RequestedSecurityToken><wsse:BinarySecurityToken Id=\"Compact{n}\">{}</wsse:BinarySecurityToken>\
         </wst:RequestedSecurityToken><wst:RequestedTokenReference>\
         <wsse:KeyIdentifier ValueType=\"urn:passport:compact\"/><wsse:Reference URI=\"#Compact{n}\"/>\
         </wst:RequestedTokenReference></wst:RequestSecurityTokenResponse>",
        esc(&format!("t={ticket}&p=")),
    );
}

/// What every token response begins with: its type, the address it is for, its lifetime.
fn response_head(out: &mut String, token_type: &str, address: &str, lifetime: &Lifetime) {
    let _ = write!(
        out,
        "<wst:RequestSecurityTokenResponse><wst:TokenType>{token_type}</wst:TokenType>\
         <wsp:AppliesTo xmlns:wsa=\"{WSA}\"><wsa:EndpointReference><wsa:Address>{}</wsa:Address>\
         </wsa:EndpointReference></wsp:AppliesTo><wst:LifeTime><wsu:Created>{}</wsu:Created>\
         <wsu:Expires>{}</wsu:Expires></wst:LifeTime>",
        esc(address),
        esc(&lifetime.created),
        esc(&lifetime.expires),
    );
}

/// The faults an RST request can get (msnp9-12-rst.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Not an RST request, or one without credentials or tokens.
    Client,
    /// No ticket. A wrong password, unknown or disabled account is §4's
    /// `FailedAuthentication`. So, with its own `faultstring`, is every other refusal
    /// (maintenance, throttles, busy), as `login2.srf` gives them the same `401` as a wrong
    /// password with their own text: a client shows the text (emesene) or asks again.
    Refused(Refusal),
    /// The database failed.
    Server,
}

/// A fault envelope: the `psf:pp` header with the failure state, then `S:Fault` right after
/// the header, as Escargot sends it to the official clients.
fn fault(fault: Fault) -> String {
    let (code, text, reqstatus) = match fault {
        Fault::Client => ("S:Client", "Invalid Request", None),
        Fault::Refused(Refusal::Wrong) => {
            ("wsse:FailedAuthentication", "Authentication Failure", Some("0x80048823"))
        }
        Fault::Refused(refusal) => ("wsse:FailedAuthentication", refusal.message(), Some("0x80048823")),
        Fault::Server => ("S:Server", "Internal error.", None),
    };
    let reqstatus = reqstatus.map(|s| format!("<psf:reqstatus>{s}</psf:reqstatus>")).unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><S:Envelope xmlns:S=\"{SOAP}\" xmlns:wsse=\"{WSSE}\" \
         xmlns:psf=\"{PSF}\"><S:Header><psf:pp><psf:serverVersion>1</psf:serverVersion>\
         <psf:authstate>0x80048800</psf:authstate>{reqstatus}<psf:cookies/><psf:response/></psf:pp>\
         </S:Header><S:Fault><faultcode>{code}</faultcode><faultstring>{}</faultstring></S:Fault>\
         </S:Envelope>",
        esc(text),
    )
}

/// `text` with XML's special characters escaped, for element text and attribute values.
fn esc(text: &str) -> Cow<'_, str> {
    escape(text)
}

/// The account's Passport id (`psf:PUID`): its id as 16 hex digits.
fn puid(user: UserId) -> String {
    format!("{:016X}", user.0 as u64)
}

/// `bytes` random bytes in base64.
fn random_base64(bytes: usize) -> String {
    let mut random = vec![0u8; bytes];
    rand::thread_rng().fill(&mut random[..]);
    BASE64.encode(random)
}

/// A Unix time as UTC `YYYY-MM-DDThh:mm:ssZ`.
fn utc(unix: u64) -> String {
    let t = i64::try_from(unix)
        .ok()
        .and_then(|unix| time::OffsetDateTime::from_unix_timestamp(unix).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request of msnp9-12-rst.md §2.
    const EXAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext"
    xmlns:wsp="http://schemas.xmlsoap.org/ws/2002/12/policy"
    xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/03/addressing"
    xmlns:wst="http://schemas.xmlsoap.org/ws/2004/04/trust">
  <Header>
    <ps:AuthInfo xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="PPAuthInfo">
      <ps:HostingApp>{7108E71A-9926-4FCB-BCC9-9A9D3F32E423}</ps:HostingApp>
      <ps:BinaryVersion>4</ps:BinaryVersion>
      <ps:Cookies/>
    </ps:AuthInfo>
    <wsse:Security>
      <wsse:UsernameToken Id="user">
        <wsse:Username>alice@hotmail.com</wsse:Username>
        <wsse:Password>s3cr&amp;t</wsse:Password>
      </wsse:UsernameToken>
    </wsse:Security>
  </Header>
  <Body>
    <ps:RequestMultipleSecurityTokens xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="RSTS">
      <wst:RequestSecurityToken Id="RST0">
        <wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType>
        <wsp:AppliesTo><wsa:EndpointReference><wsa:Address>http://Passport.NET/tb</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>
      </wst:RequestSecurityToken>
      <wst:RequestSecurityToken Id="RST1">
        <wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType>
        <wsp:AppliesTo><wsa:EndpointReference><wsa:Address>messenger.msn.com</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>
        <wsse:PolicyReference URI="?ct=1&amp;rver=1&amp;wp=FS_40SEC_0_COMPACT&amp;lc=1033&amp;id=507"/>
      </wst:RequestSecurityToken>
    </ps:RequestMultipleSecurityTokens>
  </Body>
</Envelope>"#;

    fn token(id: &str, address: &str, policy: Option<&str>) -> TokenRequest {
        TokenRequest {
            id: Some(id.to_owned()),
            address: address.to_owned(),
            policy: policy.map(str::to_owned),
        }
    }

    fn envelope(inner: &str) -> String {
        format!("<Envelope>{inner}</Envelope>")
    }

    #[test]
    fn the_example_request() {
        let request = parse(EXAMPLE.as_bytes()).unwrap();
        assert_eq!(request.username.as_deref(), Some("alice@hotmail.com"));
        assert_eq!(request.password.as_deref(), Some("s3cr&t"));
        let policy = "?ct=1&rver=1&wp=FS_40SEC_0_COMPACT&lc=1033&id=507";
        assert_eq!(
            request.tokens,
            [token("RST0", TB_ADDRESS, None), token("RST1", "messenger.msn.com", Some(policy))]
        );
        assert!(request.tokens[0].is_tb() && !request.tokens[1].is_tb());
        let sign_in = request.sign_in().unwrap();
        assert_eq!((sign_in.handle.as_str(), sign_in.password.as_str()), ("alice@hotmail.com", "s3cr&t"));
        assert!(!format!("{request:?}").contains("s3cr"), "Debug hides the password");
    }

    #[test]
    fn names_count_by_local_name_whatever_the_prefix() {
        let body = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
            <soap:Header><Security xmlns="http://schemas.xmlsoap.org/ws/2003/06/secext">
              <UsernameToken><Username> bob@example.com </Username><Password> two words </Password></UsernameToken>
            </Security></soap:Header>
            <soap:Body><RequestMultipleSecurityTokens xmlns="http://schemas.microsoft.com/Passport/SoapServices/PPCRL">
              <RequestSecurityToken xmlns="http://schemas.xmlsoap.org/ws/2004/04/trust" Id="RST7">
                <x:AppliesTo xmlns:x="urn:other"><EndpointReference><Address>
                  messenger.msn.com
                </Address></EndpointReference></x:AppliesTo>
              </RequestSecurityToken>
            </RequestMultipleSecurityTokens></soap:Body></soap:Envelope>"#;
        let request = parse(body.as_bytes()).unwrap();
        let sign_in = request.sign_in().unwrap();
        assert_eq!((sign_in.handle.as_str(), sign_in.password.as_str()), ("bob@example.com", " two words "));
        assert_eq!(request.tokens, [token("RST7", "messenger.msn.com", None)]);
    }

    #[test]
    fn references_cdata_and_the_first_of_each_field() {
        let body = envelope(
            "<Username>a&#64;b.com</Username><Username>second@b.com</Username>\
             <Password><![CDATA[<&>]]>&lt;&#x26;&quot;&apos;&gt;<i>not this</i></Password>\
             <RequestSecurityToken wsu:Id='RST2'><AppliesTo><Address>one</Address><Address>two</Address>\
             </AppliesTo><PolicyReference URI='a&amp;b'/><PolicyReference URI='c'/></RequestSecurityToken>",
        );
        let request = parse(body.as_bytes()).unwrap();
        assert_eq!(request.username.as_deref(), Some("a@b.com"));
        assert_eq!(request.password.as_deref(), Some("<&><&\"'>"));
        assert_eq!(request.tokens, [token("RST2", "one", Some("a&b"))]);
    }

    #[test]
    fn missing_parts_are_not_credentials() {
        let no_name = parse(envelope("<Password>pw</Password>").as_bytes()).unwrap();
        assert!(no_name.sign_in().is_none() && no_name.tokens.is_empty());
        let blank = parse(envelope("<Username> </Username><Password>pw</Password>").as_bytes()).unwrap();
        assert!(blank.sign_in().is_none());
        let no_password = parse(envelope("<Username>a@b.com</Username>").as_bytes()).unwrap();
        assert!(no_password.sign_in().is_none());
        let empty = parse(envelope("<Username>a@b.com</Username><Password/>").as_bytes()).unwrap();
        assert_eq!(empty.sign_in().unwrap().password, "", "an empty password is still one");
    }

    #[test]
    fn what_is_no_rst_request() {
        let deep = envelope(&format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH)));
        let token =
            "<RequestSecurityToken><AppliesTo><Address>x</Address></AppliesTo></RequestSecurityToken>";
        let too_many = envelope(&token.repeat(MAX_TOKENS + 1));
        let cases: [(&[u8], &str); 15] = [
            (b"", "NotEnvelope"),
            (b"garbage", "NotEnvelope"),
            (b"\xff\xfe<\x00E\x00", "NotUtf8"),
            (b"<Other/>", "NotEnvelope"),
            (b"<Envelope/><Envelope/>", "NotEnvelope"),
            (b"<Envelope/>trailing", "NotEnvelope"),
            (b"<Envelope><Body>", "NotEnvelope"),
            (b"<Envelope></Body>", "Xml"),
            (b"<Envelope><Username>a & b</Username></Envelope>", "Xml"),
            (b"<Envelope><Username>&nbsp;</Username></Envelope>", "UnknownEntity"),
            (b"<!DOCTYPE x [<!ENTITY e 'boom'>]><Envelope>&e;</Envelope>", "Doctype"),
            (deep.as_bytes(), "TooDeep"),
            (too_many.as_bytes(), "TooManyTokens"),
            (b"<Envelope><RequestSecurityToken Id='RST0'/></Envelope>", "NoAddress"),
            (
                b"<Envelope><RequestSecurityToken><Address>x</Address></RequestSecurityToken></Envelope>",
                "NoAddress",
            ),
        ];
        for (body, expected) in cases {
            let err = parse(body).unwrap_err();
            assert!(format!("{err:?}").starts_with(expected), "{:?}: {err:?}", String::from_utf8_lossy(body));
        }
        assert_eq!(parse(envelope(&token.repeat(MAX_TOKENS)).as_bytes()).unwrap().tokens.len(), MAX_TOKENS);
        assert!(
            parse("\u{feff}<?xml version='1.0'?><!-- hi --><Envelope/>\n".as_bytes()).is_ok(),
            "BOM, comment"
        );
    }

    #[test]
    fn a_nested_token_request_is_part_of_the_outer_one() {
        let body = envelope(
            "<RequestSecurityToken Id='RST1'><RequestSecurityToken Id='RST9'/>\
             <AppliesTo><Address>messenger.msn.com</Address></AppliesTo></RequestSecurityToken>",
        );
        assert_eq!(parse(body.as_bytes()).unwrap().tokens, [token("RST1", "messenger.msn.com", None)]);
    }

    #[test]
    fn answer_ids_follow_the_request_ids() {
        let numbered = |id: Option<&str>, position| {
            TokenRequest { id: id.map(str::to_owned), address: String::new(), policy: None }.number(position)
        };
        assert_eq!(numbered(Some("RST1"), 0), 1);
        assert_eq!(numbered(Some("rst12"), 0), 12);
        assert_eq!(numbered(Some("RST"), 3), 3);
        assert_eq!(numbered(Some("RSTx"), 4), 4);
        assert_eq!(numbered(Some("RST-1"), 5), 5);
        assert_eq!(numbered(Some("RST1234567890"), 6), 6);
        assert_eq!(numbered(Some("PPToken1"), 7), 7);
        assert_eq!(numbered(Some("R"), 1), 1);
        assert_eq!(numbered(Some("RSTé"), 2), 2);
        assert_eq!(numbered(None, 8), 8);
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_129_652_142), "2005-10-18T16:15:42Z");
        assert_eq!(utc(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(utc(4_107_542_399), "2100-02-28T23:59:59Z");
        assert_eq!(puid(UserId(0x37FFE8B3A21C4)), "00037FFE8B3A21C4");
    }

    #[test]
    fn answers_escape_what_they_echo() {
        let granted = Granted {
            owner: crate::tickets::TicketOwner { user_id: UserId(1), email: "a@b.com".parse().unwrap() },
            ticket: "T0k$n".to_owned(),
        };
        let lifetime = Lifetime { created: utc(0), expires: utc(120) };
        let requests = [token("RST0", TB_ADDRESS, None), token("RST5", "<evil>&\"", None)];
        let xml = tokens(&requests, &granted, &lifetime);
        assert!(xml.contains("<wsa:Address>&lt;evil&gt;&amp;&quot;</wsa:Address>"), "{xml}");
        assert!(xml
            .contains("<wsse:BinarySecurityToken Id=\"Compact5\">t=T0k$n&amp;p=</wsse:BinarySecurityToken>"));
        assert!(xml.contains("Id=\"BinaryDAToken0\"") && xml.contains("<wsse:Reference URI=\"#Compact5\"/>"));
        assert!(xml.contains("<wst:LifeTime><wsu:Created>1970-01-01T00:00:00Z</wsu:Created><wsu:Expires>1970-01-01T00:02:00Z</wsu:Expires></wst:LifeTime>"));
        assert!(!xml.contains(">\n") && !xml.contains("> <"), "no whitespace between elements");
        let refused = fault(Fault::Refused(Refusal::Busy));
        assert!(
            refused.contains("<faultstring>The server is busy. Please try again in a moment.</faultstring>")
        );
    }
}
