//! MSNP11's personal message: the `<Data>` document a client sets with `UUX` and its
//! watchers are shown with `UBX` (msnp9-12.md 5.3, 5.4). Only `PSM` (the message) and
//! `CurrentMedia` (what is playing) are kept, each exactly as sent, still XML-escaped, so
//! what others receive is what the owner's client wrote; unknown elements are dropped.

use quick_xml::events::Event;
use quick_xml::name::QName;
use quick_xml::Reader;

use super::ProtocolError;

/// A valid personal message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonalMessage {
    psm: String,
    media: String,
}

impl PersonalMessage {
    /// Reads a `UUX` payload. Anything but well-formed XML with a `<Data>` root whose
    /// `PSM` and `CurrentMedia` hold text only (and no control characters, which would
    /// reach other clients) is `InvalidValue`: the official server hung up on it.
    pub fn parse(payload: &[u8]) -> Result<PersonalMessage, ProtocolError> {
        let text = std::str::from_utf8(payload).map_err(|_| ProtocolError::InvalidValue)?;
        read(text).ok_or(ProtocolError::InvalidValue)
    }

    /// The document `UBX` carries: `<Data><PSM>..</PSM><CurrentMedia>..</CurrentMedia></Data>`.
    pub fn document(&self) -> String {
        format!("<Data><PSM>{}</PSM><CurrentMedia>{}</CurrentMedia></Data>", self.psm, self.media)
    }

    /// Rebuilds one from a [`document`](Self::document) kept earlier.
    pub fn from_document(document: &str) -> Option<PersonalMessage> {
        read(document)
    }

    /// Whether there is neither a message nor media.
    pub fn is_empty(&self) -> bool {
        self.psm.is_empty() && self.media.is_empty()
    }
}

/// Where [`read`] is in a document: before, inside or after its `<Data>` element.
#[derive(Clone, Copy)]
enum Place {
    Before,
    Inside,
    After,
}

/// `None` unless `text` is a document [`PersonalMessage::parse`] accepts.
fn read(text: &str) -> Option<PersonalMessage> {
    let mut reader = Reader::from_str(text);
    let mut message = PersonalMessage::default();
    let mut place = Place::Before;
    loop {
        match (place, reader.read_event().ok()?) {
            (_, Event::Text(t)) if t.iter().all(u8::is_ascii_whitespace) => {}
            (Place::Before, Event::Decl(_)) | (_, Event::Comment(_)) => {}
            (Place::Before, Event::Start(e)) if e.name().as_ref() == b"Data" => place = Place::Inside,
            (Place::Inside, Event::Start(e)) => {
                let name = e.name().as_ref().to_vec();
                let start = usize::try_from(reader.buffer_position()).ok()?;
                let end = usize::try_from(reader.read_to_end(QName(&name)).ok()?.end).ok()?;
                let inner = text_only(text.get(start..end)?)?;
                if let Some(slot) = message.slot(&name) {
                    *slot = inner.to_owned();
                }
            }
            (Place::Inside, Event::Empty(_)) => {}
            (Place::Inside, Event::End(_)) => place = Place::After,
            (Place::After, Event::Eof) => return Some(message),
            _ => return None,
        }
    }
}

impl PersonalMessage {
    /// Where the text of child `name` of `<Data>` goes, if it is kept.
    fn slot(&mut self, name: &[u8]) -> Option<&mut String> {
        match name {
            b"PSM" => Some(&mut self.psm),
            b"CurrentMedia" => Some(&mut self.media),
            _ => None,
        }
    }
}

/// `inner` if it is escaped text and nothing else: no elements, no CDATA, only the five
/// predefined entities and character references to printable characters.
fn text_only(inner: &str) -> Option<&str> {
    let mut reader = Reader::from_str(inner);
    loop {
        match reader.read_event().ok()? {
            Event::Text(_) => {}
            Event::GeneralRef(r) if r.is_char_ref() => {
                r.resolve_char_ref().ok()?.filter(|c| !c.is_control())?;
            }
            Event::GeneralRef(r) if matches!(&*r, b"amp" | b"lt" | b"gt" | b"quot" | b"apos") => {}
            Event::Eof => break,
            _ => return None,
        }
    }
    (!inner.chars().any(char::is_control)).then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(doc: &str) -> Result<PersonalMessage, ProtocolError> {
        PersonalMessage::parse(doc.as_bytes())
    }

    #[test]
    fn the_documents_7_0_sends() {
        let empty = "<Data><PSM></PSM><CurrentMedia></CurrentMedia></Data>";
        assert_eq!(parsed(empty).unwrap().document(), empty);
        assert!(parsed(empty).unwrap().is_empty());
        let lunch = "<Data><PSM>out to lunch &amp; back at 2</PSM><CurrentMedia></CurrentMedia></Data>";
        assert_eq!(parsed(lunch).unwrap().document().len(), 81);
        let media = "<Data><PSM>example status message</PSM><CurrentMedia>\\0Music\\01\\0{0} - {1}\\0Song Title\\0Song Artist\\0Song Album\\0\\0</CurrentMedia></Data>";
        assert_eq!(parsed(media).unwrap().document(), media);
        assert_eq!(parsed(media).unwrap().document().len(), 137);
        let cafe = "<Data><PSM>café ☕</PSM><CurrentMedia></CurrentMedia></Data>";
        assert_eq!(parsed(cafe).unwrap().document().len(), 62);
    }

    #[test]
    fn later_and_looser_forms_are_normalised() {
        let wlm = "<?xml version=\"1.0\"?>\r\n<Data><PSM>hi</PSM><CurrentMedia/><MachineGuid>{F00}</MachineGuid></Data>";
        assert_eq!(
            parsed(wlm).unwrap().document(),
            "<Data><PSM>hi</PSM><CurrentMedia></CurrentMedia></Data>"
        );
        let only_psm = "<Data><PSM>&#65;&#x42;</PSM></Data>";
        assert_eq!(
            parsed(only_psm).unwrap().document(),
            "<Data><PSM>&#65;&#x42;</PSM><CurrentMedia></CurrentMedia></Data>"
        );
        let kept = parsed(wlm).unwrap();
        assert_eq!(PersonalMessage::from_document(&kept.document()), Some(kept));
    }

    #[test]
    fn anything_else_is_refused() {
        for doc in [
            "",
            "<Data>",
            "<Data><PSM>a</PSM>",
            "<Other><PSM>a</PSM></Other>",
            "<Data><PSM>a</PSM></Data><Data></Data>",
            "<Data><PSM>a</PSM></Data>trailing",
            "<Data><PSM><b>bold</b></PSM></Data>",
            "<Data><PSM>a &nbsp; b</PSM></Data>",
            "<Data><PSM>&#1;</PSM></Data>",
            "<Data><PSM>tab\there</PSM></Data>",
            "<Data><PSM><![CDATA[x]]></PSM></Data>",
            "<Data><PSM>a</CurrentMedia></Data>",
            "<Data><PSM>a < b</PSM></Data>",
        ] {
            assert_eq!(parsed(doc), Err(ProtocolError::InvalidValue), "{doc:?}");
        }
        assert_eq!(PersonalMessage::parse(b"<Data><PSM>\xff</PSM></Data>"), Err(ProtocolError::InvalidValue));
    }
}
