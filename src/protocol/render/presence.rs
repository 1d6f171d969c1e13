//! Presence: the CHG echo, ILN and NLN/FLN, IMS, and the CHL/QRY challenge.

use crate::protocol::msnobj::MsnObject;
use crate::protocol::view::Shown;
use crate::protocol::{Dialect, Email, Reply, TrId};

/// `ILN tr status handle name {caps {msnobj}}`: a contact's presence at login or ADD.
pub fn iln(tr: TrId, d: &Dialect, shown: &Shown) -> Reply {
    presence_line(Reply::to("ILN", tr), d, shown)
}

/// `NLN status handle name {caps {msnobj}}`: a contact's presence changed.
pub fn nln(d: &Dialect, shown: &Shown) -> Reply {
    presence_line(Reply::new("NLN"), d, shown)
}

/// MSNP11: `UBX handle len` + the contact's personal message, after its `ILN` or when it
/// changes; `None` for older versions and for a contact that has none.
pub fn ubx(d: &Dialect, shown: &Shown) -> Option<Reply> {
    let document = shown.personal.as_ref().filter(|_| d.personal_message)?;
    Some(Reply::new("UBX").arg(&shown.email).payload(document.to_string()))
}

/// MSNP11: `UUX tr 0`, my personal message taken.
pub fn uux(tr: TrId) -> Reply {
    Reply::to("UUX", tr).arg(0)
}

fn presence_line(reply: Reply, d: &Dialect, shown: &Shown) -> Reply {
    let reply = reply.arg(shown.status).arg(&shown.email).arg(&shown.name);
    with_caps(reply, d, shown.caps, shown.object.as_ref())
}

/// `CHG tr status {caps {msnobj}}`: the echo of a status change. `status` is echoed as
/// sent, and the MSNObject exactly as received.
pub fn chg(tr: TrId, d: &Dialect, status: &str, caps: u32, object: Option<&MsnObject>) -> Reply {
    with_caps(Reply::to("CHG", tr).arg(status), d, caps, object)
}

/// The capabilities (MSNP8) and the MSNObject (MSNP9, when there is one) that end a
/// presence line.
fn with_caps(reply: Reply, d: &Dialect, caps: u32, object: Option<&MsnObject>) -> Reply {
    match (d.client_caps, object.filter(|_| d.msnobj)) {
        (false, _) => reply,
        (true, None) => reply.arg(caps),
        (true, Some(object)) => reply.arg(caps).arg(object.as_str()),
    }
}

/// `FLN handle`: a contact is no longer shown online.
pub fn fln(email: &Email) -> Reply {
    Reply::new("FLN").arg(email)
}

/// `IMS tr 0 ON|OFF`: switchboard invitations accepted or not.
pub fn ims(tr: TrId, on: bool) -> Reply {
    Reply::to("IMS", tr).arg(0).arg(if on { "ON" } else { "OFF" })
}

/// `CHL tr challenge`.
pub fn chl(tr: TrId, challenge: &str) -> Reply {
    Reply::to("CHL", tr).arg(challenge)
}

/// `QRY tr`: the challenge was answered.
pub fn qry(tr: TrId) -> Reply {
    Reply::to("QRY", tr)
}
