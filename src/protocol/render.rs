//! Replies whose shape differs by version: each asks the [`Dialect`] and nothing else.

use std::net::SocketAddr;

use super::lists::{List, Property};
use super::view::{ContactRecord, Group, Properties, Shown, Snapshot};
use super::{url_encode, Dialect, Email, Reply, TrId};

/// `XFR tr NS host:port {0} {current-host:port}`: the dispatch hand-off.
pub fn xfr_ns(tr: TrId, d: &Dialect, to: &str, from: &str) -> Reply {
    let mut reply = Reply::to("XFR", tr).arg("NS").arg(to);
    if d.xfr_trailing_zero {
        reply = reply.arg(0);
    }
    if d.xfr_from_server {
        reply = reply.arg(from);
    }
    reply
}

/// `USR tr OK handle name {verified} {restricted}`: exactly the version's fields, since
/// some clients count them.
pub fn usr_ok(tr: TrId, d: &Dialect, email: &Email, friendly_name: &str) -> Reply {
    let mut reply = Reply::to("USR", tr).arg("OK").arg(email).arg(url_encode(friendly_name));
    if d.usr_ok_verified {
        reply = reply.arg(1);
    }
    if d.usr_ok_restricted {
        reply = reply.arg(0);
    }
    reply
}

/// What the profile message says about the account and this login.
#[derive(Debug, Clone)]
pub struct Profile<'a> {
    pub login_time: u64,
    pub email: &'a Email,
    pub member_id: i64,
    /// The Passport cookie; for a TWN login the ticket the client presented.
    pub mspauth: &'a str,
    /// The client's address as this server sees it.
    pub client: SocketAddr,
}

/// The `text/x-msmsgsprofile` message sent right after `USR OK`: a header-only MIME
/// document (MSNP2 just `LoginTime`; MSNP3 the Passport fields; MSNP8 the client address).
pub fn profile(d: &Dialect, p: &Profile) -> Reply {
    let mut body = format!(
        "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile; charset=UTF-8\r\nLoginTime: {}\r\n",
        p.login_time
    );
    if d.passport_profile {
        body += &format!(
            "EmailEnabled: 1\r\nMemberIdHigh: {}\r\nMemberIdLow: {}\r\nlang_preference: 1033\r\n\
             PreferredEmail: {}\r\ncountry: US\r\nPostalCode: \r\nGender: \r\nKid: 0\r\nAge: \r\n\
             BDayPre: \r\nBirthday: \r\nWallet: \r\nFlags: 1027\r\nsid: 507\r\nkv: 11\r\nMSPAuth: {}\r\n",
            p.member_id >> 32,
            p.member_id as i32, // the low 32 bits, as the signed number clients expect
            p.email,
            p.mspauth,
        );
    }
    if d.profile_client_addr {
        // ClientPort is sent byte-swapped, as the official server did.
        body += &format!("ClientIP: {}\r\nClientPort: {}\r\n", p.client.ip(), p.client.port().swap_bytes());
    }
    body += "\r\n";
    hotmail_message(body)
}

/// The initial e-mail notification (MSNP3+). msnd keeps no mail, so the inbox is empty.
pub fn initial_email() -> Reply {
    hotmail_message(
        "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinitialemailnotification; charset=UTF-8\r\n\r\n\
         Inbox-Unread: 0\r\nFolders-Unread: 0\r\nInbox-URL: /cgi-bin/HoTMaiL\r\n\
         Folders-URL: /cgi-bin/folders\r\nPost-URL: http://www.hotmail.com\r\n\r\n"
            .to_owned(),
    )
}

/// The challenge string of `USR tr TWN S <challenge>`, appended verbatim by the client to
/// its Passport `Authorization` header. `tpf` is a per-login random token.
pub fn twn_challenge(now: u64, tpf: &str) -> String {
    format!(
        "lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct={now},kpp=1,kv=5,ver=2.1.0173.1,tpf={tpf}"
    )
}

/// The full `SYN` reply in the version's generation: MSNP2–4 lists only, MSNP5–6 with
/// phone properties, MSNP7 with groups, MSNP8 compact (one LST per contact, list bits).
pub fn syn(tr: TrId, d: &Dialect, snap: &Snapshot) -> Vec<Reply> {
    if d.compact_syn {
        return compact_syn(tr, snap);
    }
    let v = snap.version;
    let mut lines = vec![
        Reply::to("SYN", tr).arg(v),
        Reply::to("GTC", tr).arg(v).arg(snap.gtc),
        Reply::to("BLP", tr).arg(v).arg(snap.blp),
    ];
    if d.properties {
        for prop in Property::ALL {
            lines.push(with_value(Reply::to("PRP", tr).arg(v).arg(prop), full_value(&snap.properties, prop)));
        }
    }
    if d.groups {
        lines.extend(lsg(tr, v, &snap.groups));
    }
    for list in List::ALL {
        lines.extend(lst(tr, d, v, list, &snap.contacts, true));
    }
    lines
}

fn compact_syn(tr: TrId, snap: &Snapshot) -> Vec<Reply> {
    let mut lines = vec![
        Reply::to("SYN", tr).arg(snap.version).arg(snap.contacts.len()).arg(snap.groups.len()),
        Reply::new("GTC").arg(snap.gtc),
        Reply::new("BLP").arg(snap.blp),
    ];
    let set = |props: &Properties, names: &[Property]| {
        names.iter().filter_map(|&p| compact_value(props, p).map(|value| (p, value))).collect::<Vec<_>>()
    };
    for (prop, value) in set(&snap.properties, &Property::ALL) {
        lines.push(Reply::new("PRP").arg(prop).arg(value));
    }
    for group in &snap.groups {
        lines.push(Reply::new("LSG").arg(group.id).arg(url_encode(&group.name)).arg(0));
    }
    for contact in &snap.contacts {
        let mut line =
            Reply::new("LST").arg(&contact.email).arg(url_encode(&contact.name)).arg(contact.lists.0);
        let on_forward_list = contact.lists.contains(List::Forward);
        if on_forward_list {
            line = line.arg(group_list(contact));
        }
        lines.push(line);
        if on_forward_list {
            for (prop, value) in set(&contact.properties, &Property::SHARED) {
                lines.push(Reply::new("BPR").arg(prop).arg(value));
            }
        }
    }
    lines
}

/// `LSG tr ver idx total id name 0` for every group (MSNP7 form; also the LSG command).
pub fn lsg(tr: TrId, version: u32, groups: &[Group]) -> Vec<Reply> {
    let total = groups.len();
    groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            Reply::to("LSG", tr).arg(version).arg(i + 1).arg(total).arg(g.id).arg(url_encode(&g.name)).arg(0)
        })
        .collect()
}

/// `LST tr list ver idx total handle name {groups}` for one list (`.. 0 0` when empty);
/// with `bpr`, each FL entry is followed by its BPR lines (MSNP5+ SYN).
pub fn lst(
    tr: TrId,
    d: &Dialect,
    version: u32,
    list: List,
    contacts: &[ContactRecord],
    bpr: bool,
) -> Vec<Reply> {
    let on_list: Vec<&ContactRecord> = contacts.iter().filter(|c| c.lists.contains(list)).collect();
    let header = || Reply::to("LST", tr).arg(list).arg(version);
    if on_list.is_empty() {
        return vec![header().arg(0).arg(0)];
    }
    let total = on_list.len();
    let mut lines = Vec::with_capacity(total);
    for (i, contact) in on_list.into_iter().enumerate() {
        let mut line = header().arg(i + 1).arg(total).arg(&contact.email).arg(url_encode(&contact.name));
        if list == List::Forward && d.groups {
            line = line.arg(group_list(contact));
        }
        lines.push(line);
        if list == List::Forward && bpr && d.properties {
            for prop in Property::SHARED {
                let line = Reply::new("BPR").arg(version).arg(&contact.email).arg(prop);
                lines.push(with_value(line, full_value(&contact.properties, prop)));
            }
        }
    }
    lines
}

/// A contact's FL groups, comma-separated; a contact in no group shows in group 0.
fn group_list(contact: &ContactRecord) -> String {
    if contact.groups.is_empty() {
        return "0".to_owned();
    }
    contact.groups.iter().map(u8::to_string).collect::<Vec<_>>().join(",")
}

/// A property as pre-MSNP8 versions list it: flags always (`N` by default), phones if set.
fn full_value(props: &Properties, prop: Property) -> Option<String> {
    match props.get(prop) {
        Some(value) => Some(url_encode(value)),
        None if prop.is_flag() => Some("N".to_owned()),
        None => None,
    }
}

/// A property as MSNP8 lists it: only if set (flags only when `Y`).
fn compact_value(props: &Properties, prop: Property) -> Option<String> {
    let value = props.get(prop)?;
    (!prop.is_flag() || value == "Y").then(|| url_encode(value))
}

fn with_value(reply: Reply, value: Option<String>) -> Reply {
    match value {
        Some(value) => reply.arg(value),
        None => reply,
    }
}

/// `URL tr redirect login-url {site-id}` (the site id from MSNP3).
pub fn url(tr: TrId, d: &Dialect, redirect: &str, login: &str, site: u32) -> Reply {
    let reply = Reply::to("URL", tr).arg(redirect).arg(login);
    if d.url_site_id {
        reply.arg(site)
    } else {
        reply
    }
}

/// `BPR ver handle prop {value}`: a contact's property changed (outside SYN). Only
/// from MSNP5, which has properties.
pub fn bpr(d: &Dialect, version: u32, email: &Email, prop: Property, value: Option<&str>) -> Option<Reply> {
    d.properties
        .then(|| with_value(Reply::new("BPR").arg(version).arg(email).arg(prop), value.map(url_encode)))
}

/// `ADD 0 RL ver handle name`: someone put me on their FL.
pub fn reverse_list_added(version: u32, email: &Email, name: &str) -> Reply {
    Reply::to("ADD", TrId(0)).arg(List::Reverse).arg(version).arg(email).arg(url_encode(name))
}

/// `REM 0 RL ver handle`: someone took me off their FL.
pub fn reverse_list_removed(version: u32, email: &Email) -> Reply {
    Reply::to("REM", TrId(0)).arg(List::Reverse).arg(version).arg(email)
}

/// `ILN tr status handle name {caps}`: a contact's presence at login or ADD.
pub fn iln(tr: TrId, d: &Dialect, shown: &Shown) -> Reply {
    presence_line(Reply::to("ILN", tr), d, shown)
}

/// `NLN status handle name {caps}`: a contact's presence changed.
pub fn nln(d: &Dialect, shown: &Shown) -> Reply {
    presence_line(Reply::new("NLN"), d, shown)
}

fn presence_line(reply: Reply, d: &Dialect, shown: &Shown) -> Reply {
    let reply = reply.arg(shown.status).arg(&shown.email).arg(&shown.name);
    if d.client_caps {
        reply.arg(shown.caps)
    } else {
        reply
    }
}

/// `CHG tr status {caps}`: the echo of a status change. `status` is echoed as sent.
pub fn chg(tr: TrId, d: &Dialect, status: &str, caps: u32) -> Reply {
    let reply = Reply::to("CHG", tr).arg(status);
    if d.client_caps {
        reply.arg(caps)
    } else {
        reply
    }
}

fn hotmail_message(body: String) -> Reply {
    Reply::new("MSG").arg("Hotmail").arg("Hotmail").payload(body)
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::*;

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
        assert_eq!(payload_len(&initial_email()), 221);
    }

    #[test]
    fn msnp8_profile_swaps_the_client_port() {
        let mut buf = BytesMut::new();
        seed_profile(&Dialect::MSNP8, "t").encode(&mut buf);
        let text = String::from_utf8(buf.to_vec()).unwrap();
        assert!(text.contains("ClientIP: 192.168.1.111\r\nClientPort: 18183\r\n\r\n"), "{text}");
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
        ];
        for (d, xfr, ok) in cases {
            assert_eq!(xfr_ns(tr, &d, "10.0.0.5:1863", "10.0.0.1:1863").to_string(), xfr);
            assert_eq!(usr_ok(tr, &d, &email, "example user").to_string(), ok);
        }
    }
}
