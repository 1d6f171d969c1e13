//! The MSNObject an MSNP9 client sends with `CHG` to describe its display picture
//! (msnp9-12.md 3.1-3.3). The server never fetches the picture; it keeps the token exactly
//! as sent and repeats it in `ILN`/`NLN`. Since that puts one client's XML into other
//! clients' streams, a token is taken only if it is a well-formed `<msnobj .../>` element of
//! bounded size.

use super::{url_decode, ProtocolError};

/// Longest token taken, URL-encoded (the official client's are 230-300 bytes).
pub const MAX_MSNOBJ_BYTES: usize = 1024;

/// Attributes every display picture's object has.
const REQUIRED: [&str; 3] = ["Creator", "Type", "SHA1D"];

/// A display picture's MSNObject, as the client sent it (URL-encoded); cloning is an `Arc`
/// bump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsnObject(std::sync::Arc<str>);

impl MsnObject {
    /// The object in `token`, `None` for the "no picture" some clients send (`0`), or `201`
    /// for anything else.
    pub fn parse(token: &str) -> Result<Option<MsnObject>, ProtocolError> {
        if token == "0" {
            return Ok(None);
        }
        if token.len() > MAX_MSNOBJ_BYTES || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ProtocolError::InvalidParameter);
        }
        // url_decode leaves `+` as it is: the official client has it raw in base64 values.
        check(&url_decode(token)?)?;
        Ok(Some(MsnObject(token.into())))
    }

    /// The token as the client sent it, to be relayed byte for byte.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `<msnobj name="value" .../>`: attribute names alphanumeric and each once, values free
/// of markup (`<`, `>`, `&`, quotes, control characters), the required ones present and
/// `Type` and `Size` numbers.
fn check(xml: &str) -> Result<(), ProtocolError> {
    let bad = || ProtocolError::InvalidParameter;
    let body = xml.strip_prefix("<msnobj").and_then(|rest| rest.strip_suffix("/>")).ok_or_else(bad)?;
    if !body.starts_with(char::is_whitespace) {
        return Err(bad());
    }
    let mut seen: Vec<(&str, &str)> = Vec::new();
    let mut rest = body.trim_start();
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").ok_or_else(bad)?;
        let (value, after) = after.split_once('"').ok_or_else(bad)?;
        let name_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric());
        let value_ok = !value.chars().any(|c| c.is_control() || "<>&'".contains(c));
        if !name_ok || !value_ok || seen.iter().any(|(n, _)| *n == name) {
            return Err(bad());
        }
        seen.push((name, value));
        if !(after.is_empty() || after.starts_with(char::is_whitespace)) {
            return Err(bad());
        }
        rest = after.trim_start();
    }
    let value = |name: &str| seen.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    let number = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
    let required = REQUIRED.iter().all(|name| value(name).is_some_and(|v| !v.is_empty()));
    if !required || !value("Type").is_some_and(number) || !value("Size").is_none_or(number) {
        return Err(bad());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference's MSNP9 example (msnp9-12.md 3.1), as 6.0 sends it.
    const OFFICIAL: &str = "%3Cmsnobj%20Creator%3D%22alice%40hotmail.com%22%20Size%3D%225120%22%20Type%3D%223%22%20Location%3D%22TFR1A.tmp%22%20Friendly%3D%22AAA%3D%22%20SHA1D%3D%221kekYtXeHKpNc6XmtGWrUSTBzdw%3D%22%20SHA1C%3D%22a3YhziTvtmnvpctnNBLXpFM7Apw%3D%22%2F%3E";

    #[test]
    fn a_real_object_is_kept_exactly_as_sent() {
        let object = MsnObject::parse(OFFICIAL).unwrap().unwrap();
        assert_eq!(object.as_str(), OFFICIAL);
        let raw_plus = OFFICIAL.replace("1kekYtXeHKpNc6XmtGWrUSTBzdw", "vP1ppB+xiFQ8");
        assert_eq!(MsnObject::parse(&raw_plus).unwrap().unwrap().as_str(), raw_plus, "`+` stays raw");
        assert_eq!(MsnObject::parse("0").unwrap(), None, "no picture");
    }

    #[test]
    fn anything_but_a_well_formed_object_is_refused() {
        let encode = |xml: &str| super::super::url_encode(xml);
        let bad = [
            encode("<script>alert(1)</script>"),
            encode("<msnobj Creator=\"a@b.com\" Type=\"3\"/>"),
            encode("<msnobj Creator=\"a@b.com\" Type=\"x\" SHA1D=\"q\"/>"),
            encode("<msnobj Creator=\"a@b.com\" Type=\"3\" Type=\"3\" SHA1D=\"q\"/>"),
            encode("<msnobj Creator=\"a@b.com\" Type=\"3\" SHA1D=\"q\"><x/></msnobj>"),
            encode("<msnobj Creator=\"<a>\" Type=\"3\" SHA1D=\"q\"/>"),
            encode("<msnobj Creator=\"a\r\nb\" Type=\"3\" SHA1D=\"q\"/>"),
            encode("<msnobjCreator=\"a@b.com\" Type=\"3\" SHA1D=\"q\"/>"),
            "%3Cmsnobj%2".to_owned(),
            "%FF%FE".to_owned(),
            format!("{OFFICIAL}{}", "A".repeat(MAX_MSNOBJ_BYTES)),
        ];
        for token in bad {
            assert_eq!(MsnObject::parse(&token), Err(ProtocolError::InvalidParameter), "{token}");
        }
        let minimal = encode("<msnobj Creator=\"a@b.com\" Type=\"3\" SHA1D=\"q\"/>");
        assert!(MsnObject::parse(&minimal).unwrap().is_some());
    }
}
