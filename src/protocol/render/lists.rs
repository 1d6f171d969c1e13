//! The lists: SYN in each generation, LST, LSG, the answers to the commands that change
//! lists and settings, and the news of them (ADD/REM RL, BPR).

use crate::protocol::lists::{Blp, GroupId, Gtc, List, Property};
use crate::protocol::view::{ContactRecord, Group, Properties, Snapshot};
use crate::protocol::{url_encode, Dialect, Email, Reply, TrId};

/// `SYN tr ver`: the client's lists are up to date.
pub fn syn_unchanged(tr: TrId, version: u32) -> Reply {
    Reply::to("SYN", tr).arg(version)
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

/// `ADG tr ver name id 0`.
pub fn adg(tr: TrId, version: u32, name: &str, group: GroupId) -> Reply {
    Reply::to("ADG", tr).arg(version).arg(url_encode(name)).arg(group).arg(0)
}

/// `RMG tr ver id`.
pub fn rmg(tr: TrId, version: u32, group: GroupId) -> Reply {
    Reply::to("RMG", tr).arg(version).arg(group)
}

/// `REG tr ver id name 0`.
pub fn reg(tr: TrId, version: u32, group: GroupId, name: &str) -> Reply {
    Reply::to("REG", tr).arg(version).arg(group).arg(url_encode(name)).arg(0)
}

/// `GTC tr ver A|N`.
pub fn gtc(tr: TrId, version: u32, value: Gtc) -> Reply {
    Reply::to("GTC", tr).arg(version).arg(value)
}

/// `BLP tr ver AL|BL`.
pub fn blp(tr: TrId, version: u32, value: Blp) -> Reply {
    Reply::to("BLP", tr).arg(version).arg(value)
}

/// `REA tr ver handle name`.
pub fn rea(tr: TrId, version: u32, email: &Email, name: &str) -> Reply {
    Reply::to("REA", tr).arg(version).arg(email).arg(url_encode(name))
}

/// `PRP tr ver prop {value}`.
pub fn prp(tr: TrId, version: u32, prop: Property, value: Option<&str>) -> Reply {
    with_value(Reply::to("PRP", tr).arg(version).arg(prop), value.map(url_encode))
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
