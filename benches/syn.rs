//! The SYN renderer: a full 150-contact list in the MSNP7 form (one LST line per list entry,
//! with groups and BPR phone lines), the MSNP8 compact form and MSNP10's address book.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use msnd::protocol::lists::{Blp, Gtc, List, ListSet, Property};
use msnd::protocol::render;
use msnd::protocol::{Dialect, TrId};
use msnd::store::{ContactRecord, Group, GroupId, Guid, Properties, Snapshot, UserId};

/// A GUID made from a number (the renderer only copies it).
fn guid(n: u64) -> Guid {
    format!("00000000-0000-4000-8000-{n:012x}").parse().expect("valid GUID")
}

/// 150 contacts on FL, AL and RL in five groups, every tenth with a phone number visible.
fn snapshot() -> Snapshot {
    let groups = (0..5)
        .map(|id| Group { id: GroupId(id), guid: guid(u64::from(id)), name: format!("Group {id}") })
        .collect();
    let all = ListSet(List::Forward.bit() | List::Allow.bit() | List::Reverse.bit());
    let contacts = (0..150)
        .map(|i| {
            let mut properties = Properties::default();
            if i % 10 == 0 {
                properties.0.insert(Property::Phh, "+1 555 0100".to_owned());
            }
            ContactRecord {
                id: UserId(i + 2),
                email: format!("contact{i:03}@example.com").parse().expect("valid handle"),
                guid: guid(1000 + i as u64),
                name: format!("Contact {i} (friend)"),
                lists: all,
                groups: vec![GroupId((i % 5) as u8)],
                properties,
            }
        })
        .collect();
    Snapshot {
        version: 1234,
        gtc: Gtc::Ask,
        blp: Blp::Allow,
        properties: Properties::default(),
        groups,
        contacts,
    }
}

fn syn(c: &mut Criterion) {
    let snapshot = snapshot();
    let mut group = c.benchmark_group("render/syn 150 contacts");
    for dialect in [Dialect::MSNP7, Dialect::MSNP8, Dialect::MSNP10] {
        let lines = render::syn(TrId(8), &dialect, &snapshot, "Me").len();
        group.throughput(Throughput::Elements(lines as u64));
        group.bench_function(dialect.name(), |b| {
            b.iter(|| render::syn(TrId(8), &dialect, std::hint::black_box(&snapshot), "Me"))
        });
    }
    group.finish();
}

criterion_group!(benches, syn);
criterion_main!(benches);
