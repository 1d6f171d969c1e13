//! The login dialogue and the session's end: VER, INF, CVR/CVQ, XFR NS, USR, the profile
//! and initial e-mail messages, OUT.

use std::net::SocketAddr;

use super::hotmail_message;
use crate::protocol::{url_encode, Dialect, Email, Reply, TrId};

/// `VER tr MSNPn`: the version agreed.
pub fn ver(tr: TrId, d: &Dialect) -> Reply {
    Reply::to("VER", tr).arg(d)
}

/// `VER tr CVR0`: no common version, but the client may still ask `CVQ`.
pub fn ver_cvr0(tr: TrId) -> Reply {
    Reply::to("VER", tr).arg("CVR0")
}

/// `VER tr 0`: no common version.
pub fn ver_none(tr: TrId) -> Reply {
    Reply::to("VER", tr).arg(0)
}

/// `INF tr MD5`: the authentication package (MSNP2–7).
pub fn inf(tr: TrId, d: &Dialect) -> Reply {
    Reply::to("INF", tr).arg(d.auth_package())
}

/// `CVR tr` or `CVQ tr` with the recommended, minimum and current versions (all the same)
/// and the download and information URLs.
pub fn client_version(command: &str, tr: TrId, version: &str, download: &str, info: &str) -> Reply {
    Reply::to(command, tr).arg(version).arg(version).arg(version).arg(download).arg(info)
}

/// `USR tr MD5|TWN S challenge`: the salt of an MD5 login, or the Passport challenge.
pub fn usr_challenge(tr: TrId, d: &Dialect, challenge: &str) -> Reply {
    Reply::to("USR", tr).arg(d.auth_package()).arg("S").arg(challenge)
}

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
    let mut reply = Reply::to("USR", tr).arg("OK").arg(email);
    // MSNP10 sends the name as `PRP MFN` in `SYN` instead.
    if !d.address_book {
        reply = reply.arg(url_encode(friendly_name));
    }
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
/// document (MSNP2 just `LoginTime`; MSNP3 the Passport fields; MSNP8 the client address;
/// MSNP10 `ABCHMigrated`).
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
    if d.address_book {
        // The lists are the address book's (GUIDs); 0 would select a numbered MSNP10 mode.
        body += "ABCHMigrated: 1\r\n";
    }
    body += "\r\n";
    hotmail_message(body)
}

/// The initial e-mail notification (MSNP3–10). msnd keeps no mail, so the inbox is empty.
pub fn initial_email() -> Reply {
    hotmail_message(
        "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinitialemailnotification; charset=UTF-8\r\n\r\n\
         Inbox-Unread: 0\r\nFolders-Unread: 0\r\nInbox-URL: /cgi-bin/HoTMaiL\r\n\
         Folders-URL: /cgi-bin/folders\r\nPost-URL: http://www.hotmail.com\r\n\r\n"
            .to_owned(),
    )
}

/// MSNP11's `SBS 0 null`, sent after `USR OK` (its meaning is not known).
pub fn sbs() -> Reply {
    Reply::to("SBS", TrId(0)).arg("null")
}

/// The initial mailbox message: MSNP3–10 the e-mail notification, MSNP11 the XML
/// `Mail-Data` one; both say the (absent) mailbox is empty.
pub fn initial_mailbox(d: &Dialect) -> Reply {
    if !d.mail_data {
        return initial_email();
    }
    hotmail_message(
        "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinitialmdatanotification; charset=UTF-8\r\n\r\n\
         Mail-Data: <MD><E><I>0</I><IU>0</IU><O>0</O><OU>0</OU></E><Q><QTM>409600</QTM><QNM>204800</QNM></Q></MD>\r\n"
            .to_owned(),
    )
}

/// MSNP11's `GCF tr file len` + the client configuration ("Shields") document, which
/// blocks no client build and no feature, whichever file was asked for.
pub fn gcf(tr: TrId, file: &str) -> Reply {
    Reply::to("GCF", tr).arg(file).payload(
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?><config><shield><cli maj=\"7\" min=\"0\" minbld=\"0\" \
         maxbld=\"9999\" deny=\" \" /></shield><block></block></config>",
    )
}

/// The challenge string of `USR tr TWN S <challenge>`, appended verbatim by the client to
/// its Passport `Authorization` header. `tpf` is a per-login random token.
pub fn twn_challenge(now: u64, tpf: &str) -> String {
    format!(
        "lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct={now},kpp=1,kv=5,ver=2.1.0173.1,tpf={tpf}"
    )
}

/// `OUT`: the client did not answer a challenge in time.
pub fn out() -> Reply {
    Reply::new("OUT")
}

/// `OUT OTH`: the account logged in elsewhere.
pub fn out_elsewhere() -> Reply {
    Reply::new("OUT").arg("OTH")
}

/// `OUT SSD`: the server is shutting down.
pub fn out_shutdown() -> Reply {
    Reply::new("OUT").arg("SSD")
}

/// `QNG`: the answer to a client's `PNG`.
pub fn qng() -> Reply {
    Reply::new("QNG")
}

/// `QNG seconds` (MSNP9): the answer to `PNG`, with when to send the next one.
pub fn qng_in(secs: u64) -> Reply {
    Reply::new("QNG").arg(secs)
}
