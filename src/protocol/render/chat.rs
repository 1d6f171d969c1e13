//! Chats: the notification server's XFR SB and RNG, and every switchboard line.

use bytes::Bytes;

use crate::protocol::view::{SessionId, Who};
use crate::protocol::{url_encode, Dialect, Email, Encoded, Reply, TrId};

/// `XFR tr SB host:port CKI cookie`: where to open a chat.
pub fn xfr_sb(tr: TrId, address: &str, cookie: &str) -> Reply {
    Reply::to("XFR", tr).arg("SB").arg(address).arg("CKI").arg(cookie)
}

/// `RNG session host:port CKI cookie caller caller-name`: an invitation.
pub fn rng(session: SessionId, address: &str, cookie: &str, caller: &Email, caller_name: &str) -> Reply {
    Reply::new("RNG")
        .arg(session)
        .arg(address)
        .arg("CKI")
        .arg(cookie)
        .arg(caller)
        .arg(url_encode(caller_name))
}

/// `USR tr OK handle name`: the chat is open for its caller.
pub fn opened(tr: TrId, email: &Email, name: &Encoded) -> Reply {
    Reply::to("USR", tr).arg("OK").arg(email).arg(name)
}

/// `IRO tr index total handle name {caps}`: one of those already in the chat, for who
/// answers (the capabilities from MSNP12, by the receiver's dialect).
pub fn iro(tr: TrId, d: &Dialect, index: usize, total: usize, who: &Who) -> Reply {
    with_roster_caps(Reply::to("IRO", tr).arg(index).arg(total).arg(&who.email).arg(&who.name), d, who)
}

/// `ANS tr OK`: the invitation answered, after the IROs.
pub fn answered(tr: TrId) -> Reply {
    Reply::to("ANS", tr).arg("OK")
}

/// `CAL tr RINGING session`.
pub fn ringing(tr: TrId, session: SessionId) -> Reply {
    Reply::to("CAL", tr).arg("RINGING").arg(session)
}

/// `ACK tr`: a message delivered.
pub fn ack(tr: TrId) -> Reply {
    Reply::to("ACK", tr)
}

/// `NAK tr`: a message not delivered.
pub fn nak(tr: TrId) -> Reply {
    Reply::to("NAK", tr)
}

/// `JOI handle name {caps}`: someone joined.
pub fn joined(d: &Dialect, who: &Who) -> Reply {
    with_roster_caps(Reply::new("JOI").arg(&who.email).arg(&who.name), d, who)
}

fn with_roster_caps(reply: Reply, d: &Dialect, who: &Who) -> Reply {
    match d.roster_caps {
        true => reply.arg(who.caps),
        false => reply,
    }
}

/// `BYE handle`: someone left.
pub fn left(email: &Email) -> Reply {
    Reply::new("BYE").arg(email)
}

/// `MSG handle name len` and the message, relayed as sent.
pub fn message(email: &Email, name: &Encoded, payload: Bytes) -> Reply {
    Reply::new("MSG").arg(email).arg(name).payload(payload)
}
