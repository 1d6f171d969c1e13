//! The `Authorization: Passport1.4 ..` header of a login request (passport14.md §3):
//! comma-separated `key=value` items, of which only `sign-in` and `pwd` matter.
//!
//! Parsed leniently, as clients differ (client-quirks.md 14): the scheme and keys in any
//! case, items in any order with spaces around them, values %-encoded or raw, optionally
//! quoted. A raw password containing `,` cannot be told apart from the next item; that is
//! the format's limit.

use std::fmt;

const SCHEME: &[u8] = b"Passport1.4";

/// What a client signs in with.
pub struct SignIn {
    /// The account's handle as sent; not yet checked to be an e-mail address.
    pub handle: String,
    pub password: String,
}

impl fmt::Debug for SignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignIn").field("handle", &self.handle).field("password", &"***").finish()
    }
}

/// Why a header gave no credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no Authorization header")]
    Missing,
    #[error("the Authorization header is not Passport1.4")]
    NotPassport,
    #[error("the Passport1.4 credentials have no sign-in")]
    NoSignIn,
    #[error("the Passport1.4 credentials have no pwd")]
    NoPassword,
}

impl AuthError {
    /// Whether the client sent credentials at all (else it is asked for them: `401`).
    pub fn is_malformed(self) -> bool {
        matches!(self, AuthError::NoSignIn | AuthError::NoPassword)
    }
}

/// The credentials in an `Authorization` header's value, if it has any.
pub fn parse(header: Option<&[u8]>) -> Result<SignIn, AuthError> {
    let items = strip_scheme(header.ok_or(AuthError::Missing)?).ok_or(AuthError::NotPassport)?;
    let (mut handle, mut password) = (None, None);
    for item in items.split(|&b| b == b',') {
        let Some(eq) = item.iter().position(|&b| b == b'=') else { continue };
        let (key, value) = (trim(&item[..eq]), &item[eq + 1..]);
        if key.eq_ignore_ascii_case(b"sign-in") {
            handle.get_or_insert_with(|| decode(value));
        } else if key.eq_ignore_ascii_case(b"pwd") {
            password.get_or_insert_with(|| decode(value));
        }
    }
    let handle = handle.filter(|h| !h.is_empty()).ok_or(AuthError::NoSignIn)?;
    let password = password.ok_or(AuthError::NoPassword)?;
    Ok(SignIn { handle, password })
}

/// What follows `Passport1.4 ` (scheme in any case), or `None` for another scheme.
fn strip_scheme(header: &[u8]) -> Option<&[u8]> {
    let header = trim(header);
    let (scheme, rest) = header.split_at_checked(SCHEME.len())?;
    let separated = rest.first().is_none_or(|b| matches!(b, b' ' | b'\t'));
    (scheme.eq_ignore_ascii_case(SCHEME) && separated).then_some(rest)
}

/// A value: trimmed, unquoted and %-decoded. Bytes that are not UTF-8 are read as
/// Latin-1, the code page of the clients that send them.
fn decode(value: &[u8]) -> String {
    let bytes = percent_decode(unquote(trim(value)));
    String::from_utf8(bytes).unwrap_or_else(|e| e.into_bytes().into_iter().map(char::from).collect())
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays as it is.
fn percent_decode(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        let escaped = value.get(i + 1..i + 3).filter(|_| value[i] == b'%').and_then(hex_byte);
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(value[i]);
                i += 1;
            }
        }
    }
    out
}

fn hex_byte(digits: &[u8]) -> Option<u8> {
    let digit = |b: u8| char::from(b).to_digit(16);
    Some((digit(digits[0])? * 16 + digit(digits[1])?) as u8)
}

fn unquote(value: &[u8]) -> &[u8] {
    match value {
        [open @ (b'\'' | b'"'), inner @ .., close] if open == close => inner,
        _ => value,
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    let blank = |b: &u8| matches!(b, b' ' | b'\t');
    let start = bytes.iter().position(|b| !blank(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !blank(b)).map_or(start, |i| i + 1);
    &bytes[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(header: &str) -> (String, String) {
        let sign_in = parse(Some(header.as_bytes())).unwrap_or_else(|e| panic!("{header:?}: {e}"));
        (sign_in.handle, sign_in.password)
    }

    fn pair(handle: &str, password: &str) -> (String, String) {
        (handle.to_owned(), password.to_owned())
    }

    #[test]
    fn the_official_clients_header() {
        let header = "Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,\
                      sign-in=example%40hotmail.com,pwd=secret%21,lc=1033,id=507,tw=40,fs=1,\
                      ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1062764229,kpp=1,kv=5,\
                      ver=2.1.0173.1,tpf=43f8a4c8ed940c04e3740be46c4d1619";
        assert_eq!(credentials(header), pair("example@hotmail.com", "secret!"));
    }

    #[test]
    fn order_case_spaces_quotes_and_encodings_vary() {
        let cases = [
            ("passport1.4 pwd=pw,sign-in=a%40b.com", pair("a@b.com", "pw")),
            (
                "Passport1.4  OrgVerb=GET, SIGN-IN = alice%40example%2Ecom , Pwd=p%2cw",
                pair("alice@example.com", "p,w"),
            ),
            ("Passport1.4 sign-in=alice@example.com,pwd=p@ss w0rd", pair("alice@example.com", "p@ss w0rd")),
            ("Passport1.4 sign-in='alice%40example.com',pwd=\"quoted\"", pair("alice@example.com", "quoted")),
            ("Passport1.4 sign-in=a@b.com,pwd=100%,sign-in=ignored@b.com", pair("a@b.com", "100%")),
            ("Passport1.4 sign-in=a@b.com,pwd=%zz%4", pair("a@b.com", "%zz%4")),
            ("Passport1.4 sign-in=a@b.com,pwd=p%C3%A4ss", pair("a@b.com", "päss")),
            ("Passport1.4 sign-in=a@b.com,pwd=p%E4ss", pair("a@b.com", "päss")),
            ("Passport1.4 sign-in=a@b.com,pwd=", pair("a@b.com", "")),
        ];
        for (header, expected) in cases {
            assert_eq!(credentials(header), expected, "{header:?}");
        }
    }

    #[test]
    fn headers_without_credentials_are_named() {
        let cases: [(Option<&[u8]>, AuthError); 8] = [
            (None, AuthError::Missing),
            (Some(b""), AuthError::NotPassport),
            (Some(b"Basic YWxpY2U6cHc="), AuthError::NotPassport),
            (Some(b"Passport1.40 sign-in=a@b.com,pwd=x"), AuthError::NotPassport),
            (Some(b"\xff\xfe\x00garbage"), AuthError::NotPassport),
            (Some(b"Passport1.4"), AuthError::NoSignIn),
            (Some(b"Passport1.4 pwd=x,sign-in="), AuthError::NoSignIn),
            (Some(b"Passport1.4 sign-in=a@b.com,pw=x"), AuthError::NoPassword),
        ];
        for (header, expected) in cases {
            assert_eq!(parse(header).unwrap_err(), expected, "{header:?}");
        }
        assert!(AuthError::NoSignIn.is_malformed() && !AuthError::Missing.is_malformed());
    }

    #[test]
    fn raw_bytes_are_read_as_latin1() {
        let sign_in = parse(Some(b"Passport1.4 sign-in=\xe9@b.com,pwd=\x80\xff")).unwrap();
        assert_eq!(sign_in.handle, "é@b.com");
        assert_eq!(sign_in.password, "\u{80}ÿ");
        assert!(!format!("{sign_in:?}").contains('ÿ'), "Debug hides the password");
    }
}
