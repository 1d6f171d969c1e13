//! The lists: SYN in each generation, LST, LSG, the answers to the commands that change
//! lists and settings, and the news of them (ADD/REM RL, BPR). From MSNP10 no line carries
//! the list version; `SYN` shows it as two timestamps.

use crate::protocol::command::Contact;
use crate::protocol::lists::{Blp, GroupId, Gtc, List, Property};
use crate::protocol::view::{ContactRecord, Group, Guid, Properties, Snapshot};
use crate::protocol::{url_encode, Dialect, Email, Reply, TrId};

/// MSNP10's list timestamp for a list version: the version as seconds after the start of
/// 2000 (UTC), `2000-01-01T00:00:42.0000000-00:00` for version 42. Clients keep the text
/// and send it back, so equal text means an equal version; every change bumps both.
pub fn list_stamp(version: u32) -> String {
    let t = time::OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(946_684_800 + i64::from(version));
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.0000000-00:00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `SYN tr ver`, or MSNP10's `SYN tr ts1 ts2`: the client's lists are up to date.
pub fn syn_unchanged(tr: TrId, d: &Dialect, version: u32) -> Reply {
    match d.address_book {
        true => Reply::to("SYN", tr).arg(list_stamp(version)).arg(list_stamp(version)),
        false => Reply::to("SYN", tr).arg(version),
    }
}

/// The full `SYN` reply in the version's generation: MSNP2–4 lists only, MSNP5–6 with
/// phone properties, MSNP7 with groups, MSNP8 compact (one LST per contact, list bits),
/// MSNP10 the address book (`me` is my friendly name, which it lists as `PRP MFN`).
pub fn syn(tr: TrId, d: &Dialect, snap: &Snapshot, me: &str) -> Vec<Reply> {
    if d.address_book {
        return address_book_syn(tr, d, snap, me);
    }
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
    lines.extend(set_properties(&snap.properties, &Property::ALL, "PRP"));
    for group in &snap.groups {
        lines.push(Reply::new("LSG").arg(group.id).arg(url_encode(&group.name)).arg(0));
    }
    for contact in &snap.contacts {
        let mut line = Reply::new("LST")
            .arg(&contact.email)
            .arg(url_encode(&contact.name))
            .arg(contact.lists.shown(false));
        let on_forward_list = contact.lists.contains(List::Forward);
        if on_forward_list {
            line = line.arg(group_list(contact));
        }
        lines.push(line);
        if on_forward_list {
            lines.extend(set_properties(&contact.properties, &Property::SHARED, "BPR"));
        }
    }
    lines
}

/// MSNP10: `SYN tr ts1 ts2 contacts groups`, `GTC`, `BLP`, `PRP MFN` and the set
/// properties, `LSG name guid` for every group but group 0 (which stands for "in no
/// group"), and `LST N= F= {C=} bits {guids}` per entry, each FL entry followed by its `BPR`s.
fn address_book_syn(tr: TrId, d: &Dialect, snap: &Snapshot, me: &str) -> Vec<Reply> {
    let groups: Vec<&Group> = snap.groups.iter().filter(|g| g.id != GroupId(0)).collect();
    let stamp = list_stamp(snap.version);
    let mut lines = vec![
        Reply::to("SYN", tr).arg(&stamp).arg(&stamp).arg(snap.contacts.len()).arg(groups.len()),
        Reply::new("GTC").arg(snap.gtc),
        Reply::new("BLP").arg(snap.blp),
        Reply::new("PRP").arg("MFN").arg(url_encode(me)),
    ];
    lines.extend(set_properties(&snap.properties, &Property::ALL, "PRP"));
    lines.extend(groups.iter().map(|g| Reply::new("LSG").arg(url_encode(&g.name)).arg(&g.guid)));
    for contact in &snap.contacts {
        let on_forward_list = contact.lists.contains(List::Forward);
        let mut line = Reply::new("LST").arg(format!("N={}", contact.email));
        line = line.arg(format!("F={}", url_encode(&contact.name)));
        if on_forward_list {
            line = line.arg(format!("C={}", contact.guid));
        }
        line = line.arg(contact.lists.shown(true));
        if d.lst_network_id {
            // 1: an MSN Messenger account, the only kind this server has.
            line = line.arg(1);
        }
        let guids = group_guids(contact, &groups);
        if on_forward_list && !guids.is_empty() {
            line = line.arg(guids);
        }
        lines.push(line);
        if on_forward_list {
            lines.extend(set_properties(&contact.properties, &Property::SHARED, "BPR"));
        }
    }
    lines
}

/// `PRP` or `BPR` lines for the properties MSNP8 lists: those set (flags only when `Y`).
fn set_properties<'a>(
    props: &'a Properties,
    names: &'a [Property],
    command: &'static str,
) -> impl Iterator<Item = Reply> + 'a {
    names
        .iter()
        .filter_map(move |&p| compact_value(props, p).map(|value| Reply::new(command).arg(p).arg(value)))
}

/// An entry's groups as MSNP10 names them, comma-separated; group 0 is "no group".
fn group_guids(contact: &ContactRecord, groups: &[&Group]) -> String {
    let guid = |id: &GroupId| groups.iter().find(|g| g.id == *id).map(|g| g.guid.as_str());
    contact.groups.iter().filter_map(guid).collect::<Vec<_>>().join(",")
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
    contact.groups.iter().map(GroupId::to_string).collect::<Vec<_>>().join(",")
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

fn with_value(reply: Reply, value: Option<impl std::fmt::Display>) -> Reply {
    match value {
        Some(value) => reply.arg(value),
        None => reply,
    }
}

/// `ADD tr list ver handle name {group}`.
pub fn add(tr: TrId, list: List, version: u32, email: &Email, name: &str, group: Option<GroupId>) -> Reply {
    with_value(Reply::to("ADD", tr).arg(list).arg(version).arg(email).arg(url_encode(name)), group)
}

/// `REM tr list ver handle {group}`.
pub fn rem(tr: TrId, list: List, version: u32, email: &Email, group: Option<GroupId>) -> Reply {
    with_value(Reply::to("REM", tr).arg(list).arg(version).arg(email), group)
}

/// `ADC tr list N=handle {F=name} {C=guid} {group}` (MSNP10, for the ways the FL entry
/// was named: `C=` alone when it was put in a group by GUID).
pub fn adc(
    tr: TrId,
    list: List,
    contact: &Contact,
    name: Option<&str>,
    guid: Option<&Guid>,
    group: Option<&Guid>,
) -> Reply {
    let mut reply = Reply::to("ADC", tr).arg(list);
    if let Contact::Email(email) = contact {
        reply = reply.arg(format!("N={email}"));
    }
    if let Some(name) = name {
        reply = reply.arg(format!("F={}", url_encode(name)));
    }
    if let Some(guid) = guid.or(match contact {
        Contact::Guid(guid) => Some(guid),
        Contact::Email(_) => None,
    }) {
        reply = reply.arg(format!("C={guid}"));
    }
    with_value(reply, group)
}

/// MSNP10's `REM tr list handle|guid {group}`: no version.
pub fn rem_entry(tr: TrId, list: List, contact: &Contact, group: Option<&Guid>) -> Reply {
    let reply = Reply::to("REM", tr).arg(list);
    let reply = match contact {
        Contact::Email(email) => reply.arg(email),
        Contact::Guid(guid) => reply.arg(guid),
    };
    with_value(reply, group)
}

/// `ADG tr ver name id 0`; MSNP10 `ADG tr name guid`.
pub fn adg(tr: TrId, d: &Dialect, version: u32, name: &str, group: &Group) -> Reply {
    match d.address_book {
        true => Reply::to("ADG", tr).arg(url_encode(name)).arg(&group.guid),
        false => Reply::to("ADG", tr).arg(version).arg(url_encode(name)).arg(group.id).arg(0),
    }
}

/// `RMG tr ver id`; MSNP10 `RMG tr guid`.
pub fn rmg(tr: TrId, d: &Dialect, version: u32, group: &Group) -> Reply {
    match d.address_book {
        true => Reply::to("RMG", tr).arg(&group.guid),
        false => Reply::to("RMG", tr).arg(version).arg(group.id),
    }
}

/// `REG tr ver id name 0`; MSNP10 `REG tr guid name`.
pub fn reg(tr: TrId, d: &Dialect, version: u32, group: &Group) -> Reply {
    match d.address_book {
        true => Reply::to("REG", tr).arg(&group.guid).arg(url_encode(&group.name)),
        false => Reply::to("REG", tr).arg(version).arg(group.id).arg(url_encode(&group.name)).arg(0),
    }
}

/// `command tr {ver}`: the list version, which MSNP10 dropped from every reply.
fn versioned(command: &str, tr: TrId, d: &Dialect, version: u32) -> Reply {
    match d.address_book {
        true => Reply::to(command, tr),
        false => Reply::to(command, tr).arg(version),
    }
}

/// `GTC tr {ver} A|N`.
pub fn gtc(tr: TrId, d: &Dialect, version: u32, value: Gtc) -> Reply {
    versioned("GTC", tr, d, version).arg(value)
}

/// `BLP tr {ver} AL|BL`.
pub fn blp(tr: TrId, d: &Dialect, version: u32, value: Blp) -> Reply {
    versioned("BLP", tr, d, version).arg(value)
}

/// `REA tr ver handle name`.
pub fn rea(tr: TrId, version: u32, email: &Email, name: &str) -> Reply {
    Reply::to("REA", tr).arg(version).arg(email).arg(url_encode(name))
}

/// `PRP tr {ver} prop {value}`.
pub fn prp(tr: TrId, d: &Dialect, version: u32, prop: Property, value: Option<&str>) -> Reply {
    with_value(versioned("PRP", tr, d, version).arg(prop), value.map(url_encode))
}

/// MSNP10's `PRP tr MFN name`: my friendly name.
pub fn mfn(tr: TrId, name: &str) -> Reply {
    Reply::to("PRP", tr).arg("MFN").arg(url_encode(name))
}

/// `SBP tr guid property value ..`, the request echoed.
pub fn sbp(tr: TrId, contact: &Guid, property: &str, value: &str, rest: &[String]) -> Reply {
    rest.iter()
        .fold(Reply::to("SBP", tr).arg(contact).arg(property).arg(value), |reply, extra| reply.arg(extra))
}

/// `BPR {ver} handle prop {value}`: a contact's property changed (outside SYN). Only
/// from MSNP5, which has properties.
pub fn bpr(d: &Dialect, version: u32, email: &Email, prop: Property, value: Option<&str>) -> Option<Reply> {
    let reply = match d.address_book {
        true => Reply::new("BPR"),
        false => Reply::new("BPR").arg(version),
    };
    d.properties.then(|| with_value(reply.arg(email).arg(prop), value.map(url_encode)))
}

/// `ADD 0 RL ver handle name`, MSNP10 `ADC 0 RL N=handle F=name`: someone put me on their FL.
pub fn reverse_list_added(d: &Dialect, version: u32, email: &Email, name: &str) -> Reply {
    match d.address_book {
        true => adc(TrId(0), List::Reverse, &Contact::Email(email.clone()), Some(name), None, None),
        false => Reply::to("ADD", TrId(0)).arg(List::Reverse).arg(version).arg(email).arg(url_encode(name)),
    }
}

/// `REM 0 RL {ver} handle`: someone took me off their FL.
pub fn reverse_list_removed(d: &Dialect, version: u32, email: &Email) -> Reply {
    let reply = Reply::to("REM", TrId(0)).arg(List::Reverse);
    match d.address_book {
        true => reply.arg(email),
        false => reply.arg(version).arg(email),
    }
}
