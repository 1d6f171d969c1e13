//! Every server line is built here, in a function per line: each asks the [`Dialect`]
//! where versions differ and nothing else, and URL-encodes the free text it is given
//! (names already encoded arrive as [`Encoded`](super::Encoded)). Error lines are
//! [`Reply::error`].

mod chat;
mod lists;
mod login;
mod notice;
mod presence;

pub use chat::*;
pub use lists::*;
pub use login::*;
pub use notice::*;
pub use presence::*;

use super::{Dialect, Reply, TrId};

/// `URL tr redirect login-url {site-id}` (the site id from MSNP3).
pub fn url(tr: TrId, d: &Dialect, redirect: &str, login: &str, site: u32) -> Reply {
    let reply = Reply::to("URL", tr).arg(redirect).arg(login);
    if d.url_site_id {
        reply.arg(site)
    } else {
        reply
    }
}

/// `SND tr OK` or `SDC tr OK`: the invitation by e-mail was "sent" (msnd sends no mail).
pub fn mailed(command: &str, tr: TrId) -> Reply {
    Reply::to(command, tr).arg("OK")
}

fn hotmail_message(body: String) -> Reply {
    Reply::new("MSG").arg("Hotmail").arg("Hotmail").payload(body)
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::*;
    use crate::protocol::Email;

    fn payload_len(reply: &Reply) -> usize {
        let mut buf = BytesMut::new();
        reply.encode(&mut buf);
        let text = String::from_utf8(buf.to_vec()).unwrap();
        let (header, body) = text.split_once("\r\n").unwrap();
        let declared: usize = header.rsplit(' ').next().unwrap().parse().unwrap();
        assert_eq!(declared, body.len());
        declared
    }

    fn seed_profile(d: &Dialect, mspauth: &str) -> Reply {
        let email: Email = "example@hotmail.com".parse().unwrap();
        let p = Profile {
            login_time: 1726321960,
            email: &email,
            member_id: 2 | (1 << 32),
            mspauth,
            client: "192.168.1.111:1863".parse().unwrap(),
        };
        profile(d, &p)
    }

    #[test]
    fn profiles_have_the_seed_lengths() {
        assert_eq!(payload_len(&seed_profile(&Dialect::MSNP2, "x")), 95);
        let seed_auth = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA$$";
        assert_eq!(payload_len(&seed_profile(&Dialect::MSNP3, seed_auth)), 367);
        assert_eq!(payload_len(&seed_profile(&Dialect::MSNP7, seed_auth)), 367);
        let msnp8_auth = "whatever+t+is+in+your+passport+login+ticket+that+you+sent+for+USR+TWN+S$";
        let msnp8 = seed_profile(&Dialect::MSNP8, msnp8_auth);
        assert_eq!(payload_len(&msnp8), 448);
        assert_eq!(payload_len(&seed_profile(&Dialect::MSNP9, msnp8_auth)), 448);
        assert_eq!(payload_len(&seed_profile(&Dialect::MSNP10, msnp8_auth)), 465);
        assert_eq!(payload_len(&initial_email()), 221);
        assert_eq!(payload_len(&initial_mailbox(&Dialect::MSNP11)), 195);
        assert_eq!(payload_len(&gcf(TrId(6), "Shields.xml")), 145);
    }

    #[test]
    fn msnp8_profile_swaps_the_client_port() {
        let mut buf = BytesMut::new();
        seed_profile(&Dialect::MSNP8, "t").encode(&mut buf);
        let text = String::from_utf8(buf.to_vec()).unwrap();
        assert!(text.contains("ClientIP: 192.168.1.111\r\nClientPort: 18183\r\n\r\n"), "{text}");
    }

    #[test]
    fn list_stamps_count_seconds_from_2000() {
        assert_eq!(list_stamp(42), "2000-01-01T00:00:42.0000000-00:00");
        assert_eq!(list_stamp(86_400 * 366 + 3_661), "2001-01-01T01:01:01.0000000-00:00");
        assert_eq!(list_stamp(u32::MAX), "2136-02-07T06:28:15.0000000-00:00");
    }

    #[test]
    fn xfr_and_usr_ok_grow_per_version() {
        let tr = TrId(3);
        let email: Email = "example@hotmail.com".parse().unwrap();
        let cases = [
            (Dialect::MSNP2, "XFR 3 NS 10.0.0.5:1863", "USR 3 OK example@hotmail.com example%20user"),
            (Dialect::MSNP5, "XFR 3 NS 10.0.0.5:1863 0", "USR 3 OK example@hotmail.com example%20user"),
            (Dialect::MSNP6, "XFR 3 NS 10.0.0.5:1863 0", "USR 3 OK example@hotmail.com example%20user 1"),
            (
                Dialect::MSNP7,
                "XFR 3 NS 10.0.0.5:1863 0 10.0.0.1:1863",
                "USR 3 OK example@hotmail.com example%20user 1",
            ),
            (
                Dialect::MSNP8,
                "XFR 3 NS 10.0.0.5:1863 0 10.0.0.1:1863",
                "USR 3 OK example@hotmail.com example%20user 1 0",
            ),
            (Dialect::MSNP10, "XFR 3 NS 10.0.0.5:1863 0 10.0.0.1:1863", "USR 3 OK example@hotmail.com 1 0"),
        ];
        for (d, xfr, ok) in cases {
            assert_eq!(xfr_ns(tr, &d, "10.0.0.5:1863", "10.0.0.1:1863").to_string(), xfr);
            assert_eq!(usr_ok(tr, &d, &email, "example user").to_string(), ok);
        }
    }
}
