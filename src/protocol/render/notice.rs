//! What the operator tells everyone online: a notice, in each version's form, and the
//! warning before a maintenance shutdown.

use super::hotmail_message;
use crate::protocol::dialect::Notices;
use crate::protocol::{Dialect, Email, Reply};

/// The system message "the server is going down for maintenance in `minutes` minutes"
/// (misc-ns.md 8.5), understood by every version; `OUT SSD` follows when the time comes.
pub fn maintenance(minutes: u32) -> Reply {
    hotmail_message(format!(
        "MIME-Version: 1.0\r\nContent-Type: application/x-msmsgssystemmessage\r\n\r\n\
         Type: 1\r\nArg1: {minutes}\r\n\r\n"
    ))
}

/// Who an operator's notice comes from and goes to.
#[derive(Debug, Clone, Copy)]
pub struct NoticeParts<'a> {
    /// The server's name as the notice shows it, and the address it comes from.
    pub from: &'a str,
    pub from_addr: &'a str,
    /// Where a click on an alert leads.
    pub site_url: &'a str,
    pub to: &'a Email,
    pub member_id: i64,
    /// Tells one alert from the next.
    pub id: u32,
}

/// An operator's notice: a `NOT` alert from MSNP5, a new-mail notification with the
/// notice as its subject before that (the only server message those clients show as text).
pub fn notice(d: &Dialect, text: &str, parts: &NoticeParts) -> Reply {
    let line = one_line(text);
    let (content_type, id) = match d.notices {
        Notices::Alert => return Reply::new("NOT").payload(alert(&line, parts)),
        Notices::Mail2 => ("application/x-msmsgsemailnotification", ""),
        Notices::Mail3 => ("text/x-msmsgsemailnotification", "id: 2\r\n"),
    };
    hotmail_message(format!(
        "MIME-Version: 1.0\r\nContent-Type: {content_type}; charset=UTF-8\r\n\r\n\
         From: {}\r\nMessage-URL: /\r\nPost-URL: {}\r\nSubject: {line}\r\n\
         Dest-Folder: ACTIVE\r\nFrom-Addr: {}\r\n{id}\r\n",
        one_line(parts.from),
        one_line(parts.site_url),
        one_line(parts.from_addr),
    ))
}

/// The `NOTIFICATION` document of a `NOT`; `pid` is the member id as two hex halves.
fn alert(text: &str, p: &NoticeParts) -> String {
    let (high, low) = ((p.member_id >> 32) as u32, p.member_id as u32);
    format!(
        "<NOTIFICATION ver=\"1\" id=\"{}\" siteid=\"0\" siteurl=\"{}\">\r\n\
         <TO pid=\"0x{high:08x}:0x{low:08x}\" name=\"{}\" />\r\n\
         <MSG id=\"0\">\r\n<ACTION url=\"\" />\r\n<SUBSCR url=\"\" />\r\n\
         <BODY lang=\"1033\" icon=\"\">\r\n<TEXT>{}</TEXT>\r\n</BODY>\r\n</MSG>\r\n</NOTIFICATION>\r\n",
        p.id,
        xml_escape(p.site_url),
        xml_escape(p.to.as_str()),
        xml_escape(text),
    )
}

/// Line breaks would end a MIME header: a notice is one line.
fn one_line(text: &str) -> String {
    text.split(['\r', '\n']).filter(|part| !part.is_empty()).collect::<Vec<_>>().join(" ")
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(reply: &Reply) -> String {
        let mut buf = bytes::BytesMut::new();
        reply.encode(&mut buf);
        String::from_utf8(buf.to_vec()).unwrap()
    }

    #[test]
    fn the_maintenance_message_has_the_seed_length() {
        let text = body(&maintenance(5));
        assert!(text.starts_with("MSG Hotmail Hotmail 90\r\n"), "{text}");
        assert!(text.ends_with("Type: 1\r\nArg1: 5\r\n\r\n"));
    }

    #[test]
    fn a_notice_takes_each_versions_form() {
        let to: Email = "bob@example.com".parse().unwrap();
        let parts = NoticeParts {
            from: "msnd",
            from_addr: "notice@example.com",
            site_url: "http://example.com/",
            to: &to,
            member_id: (1 << 32) | 2,
            id: 7,
        };
        let alert = body(&notice(&Dialect::MSNP5, "Back <soon>\r\n& then", &parts));
        assert!(alert.starts_with("NOT "), "{alert}");
        assert!(alert.contains("<TEXT>Back &lt;soon&gt; &amp; then</TEXT>"), "{alert}");
        assert!(alert.contains("pid=\"0x00000001:0x00000002\" name=\"bob@example.com\""), "{alert}");
        let mail = body(&notice(&Dialect::MSNP3, "Back soon", &parts));
        assert!(mail.contains("text/x-msmsgsemailnotification") && mail.contains("\r\nid: 2\r\n"), "{mail}");
        assert!(mail.contains("Subject: Back soon\r\n"), "{mail}");
        let oldest = body(&notice(&Dialect::MSNP2, "Back soon", &parts));
        assert!(oldest.contains("application/x-msmsgsemailnotification") && !oldest.contains("id: 2"));
    }
}
