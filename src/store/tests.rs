//! The list stores together: contacts, groups, settings and the snapshot that reads them
//! back, each test on a database of its own.

use sqlx::sqlite::SqliteConnectOptions;

use super::*;
use crate::credentials::Credentials;
use crate::protocol::lists::{Blp, GroupId, Gtc, List, ListSet, Property};
use crate::protocol::Email;

/// A store in a temporary directory, with accounts a@x.com, b@x.com, c@x.com.
struct Fixture {
    dir: tempfile::TempDir,
    store: Store,
    a: UserId,
    b: UserId,
    c: UserId,
}

fn url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}/t.db", dir.path().display())
}

fn email(s: &str) -> Email {
    s.parse().expect("test handle")
}

/// Fixed credentials: deriving real ones (Argon2) would slow the tests down.
fn creds() -> Credentials {
    Credentials {
        md5_salt: "1.2".into(),
        md5_digest: "d".into(),
        md5_digest_latin1: None,
        passport_hash: "h".into(),
    }
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&url(&dir)).await.expect("open");
    let mut ids = Vec::new();
    for name in ["a", "b", "c"] {
        let user = store.create_user(&email(&format!("{name}@x.com")), &format!("Mr {name}"), &creds()).await;
        ids.push(user.expect("create user").id);
    }
    Fixture { dir, store, a: ids[0], b: ids[1], c: ids[2] }
}

impl Fixture {
    async fn version(&self, id: UserId) -> u32 {
        self.store.snapshot(id).await.expect("snapshot").version
    }

    async fn add(
        &self,
        me: UserId,
        list: List,
        who: &str,
        group: Option<GroupId>,
    ) -> Result<Added, ListError> {
        self.store.add_to_list(me, list, &email(who), who, group, 150).await
    }

    async fn rem(
        &self,
        me: UserId,
        list: List,
        who: &str,
        group: Option<GroupId>,
    ) -> Result<Removed, ListError> {
        self.store.remove_from_list(me, list, &email(who), group).await
    }

    async fn entry(&self, me: UserId, who: &str) -> Option<ContactRecord> {
        let snapshot = self.store.snapshot(me).await.expect("snapshot");
        snapshot.contacts.into_iter().find(|c| c.email.as_str() == who)
    }

    async fn rows(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&self.store.read)
            .await
            .expect("count")
    }
}

fn lists(bits: &[List]) -> ListSet {
    bits.iter().fold(ListSet::default(), |set, &l| set.with(l))
}

#[tokio::test]
async fn adding_to_fl_puts_me_on_their_rl_and_bumps_both() {
    let f = fixture().await;
    let added = f.add(f.a, List::Forward, "b@x.com", None).await.unwrap();
    assert_eq!((added.version, added.contact, added.reverse_version), (2, f.b, Some(2)));
    assert_eq!((f.version(f.a).await, f.version(f.b).await, f.version(f.c).await), (2, 2, 1));

    let mine = f.entry(f.a, "b@x.com").await.unwrap();
    assert_eq!(
        (mine.lists, mine.groups, mine.name.as_str()),
        (lists(&[List::Forward]), vec![GroupId(0)], "b@x.com")
    );
    let theirs = f.entry(f.b, "a@x.com").await.unwrap();
    assert_eq!(
        (theirs.lists, theirs.groups, theirs.name.as_str()),
        (lists(&[List::Reverse, List::Pending]), vec![], "Mr a")
    );

    // Already on their AL: the RL bit joins that entry, which keeps its name.
    f.add(f.b, List::Allow, "c@x.com", None).await.unwrap();
    f.store.rename_contact(f.b, &email("c@x.com"), "Carol").await.unwrap();
    let added = f.add(f.c, List::Forward, "b@x.com", None).await.unwrap();
    assert_eq!(added.reverse_version, Some(5));
    let entry = f.entry(f.b, "c@x.com").await.unwrap();
    assert_eq!((entry.lists, entry.name.as_str()), (lists(&[List::Allow, List::Reverse]), "Carol"));
}

#[tokio::test]
async fn adding_myself_bumps_me_once() {
    let f = fixture().await;
    let added = f.add(f.a, List::Forward, "a@x.com", None).await.unwrap();
    assert_eq!((added.version, added.contact, added.reverse_version), (2, f.a, Some(2)));
    let entry = f.entry(f.a, "a@x.com").await.unwrap();
    let pending = lists(&[List::Forward, List::Reverse, List::Pending]);
    assert_eq!((entry.lists, entry.name.as_str()), (pending, "a@x.com"));

    let removed = f.rem(f.a, List::Forward, "a@x.com", None).await.unwrap();
    assert_eq!(removed, Removed { version: 3, contact: f.a, reverse_version: Some(3) });
    assert_eq!(f.rows("contacts").await, 0);
}

#[tokio::test]
async fn refused_adds() {
    let f = fixture().await;
    f.add(f.a, List::Forward, "b@x.com", None).await.unwrap();
    assert!(matches!(f.add(f.a, List::Forward, "b@x.com", None).await, Err(ListError::AlreadyThere)));
    assert!(matches!(
        f.add(f.a, List::Forward, "b@x.com", Some(GroupId(0))).await,
        Err(ListError::AlreadyThere)
    ));
    assert!(matches!(
        f.add(f.a, List::Forward, "b@x.com", Some(GroupId(7))).await,
        Err(ListError::NoSuchGroup)
    ));
    assert!(matches!(f.add(f.a, List::Forward, "nobody@x.com", None).await, Err(ListError::NoSuchUser)));

    f.add(f.a, List::Allow, "b@x.com", None).await.unwrap();
    assert!(matches!(f.add(f.a, List::Allow, "b@x.com", None).await, Err(ListError::AlreadyThere)));
    assert!(matches!(f.add(f.a, List::Block, "b@x.com", None).await, Err(ListError::InOppositeList)));
    f.add(f.a, List::Block, "c@x.com", None).await.unwrap();
    assert!(matches!(f.add(f.a, List::Allow, "c@x.com", None).await, Err(ListError::InOppositeList)));
    // Refusals change nothing.
    assert_eq!(f.version(f.a).await, 4);
}

#[tokio::test]
async fn lists_fill_up() {
    let f = fixture().await;
    let (b, c) = (email("b@x.com"), email("c@x.com"));
    let add = |list, who, group| f.store.add_to_list(f.a, list, who, "name", group, 1);
    add(List::Forward, &b, None).await.unwrap();
    assert!(matches!(add(List::Forward, &c, None).await, Err(ListError::ListFull)));
    // Each list counts its own entries, and a new group for an FL entry is no new entry.
    add(List::Allow, &c, None).await.unwrap();
    assert!(matches!(add(List::Allow, &b, None).await, Err(ListError::ListFull)));
    let group = f.store.add_group(f.a, "Work").await.unwrap().1.id;
    add(List::Forward, &b, Some(group)).await.unwrap();
}

#[tokio::test]
async fn al_and_bl_changes_bump_contacts_who_watch_me() {
    let f = fixture().await;
    f.add(f.b, List::Forward, "a@x.com", None).await.unwrap();
    let before = f.version(f.b).await;
    let added = f.add(f.a, List::Block, "b@x.com", None).await.unwrap();
    assert_eq!(added.reverse_version, None);
    assert_eq!(f.version(f.b).await, before + 1);
    f.rem(f.a, List::Block, "b@x.com", None).await.unwrap();
    assert_eq!(f.version(f.b).await, before + 2);
    // c does not have me on FL.
    f.add(f.a, List::Allow, "c@x.com", None).await.unwrap();
    assert_eq!(f.version(f.c).await, 1);
}

#[tokio::test]
async fn groups() {
    let f = fixture().await;
    let (store, a) = (&f.store, f.a);
    let added = |name| async move {
        let (version, group) = store.add_group(a, name).await.unwrap();
        (version, group.id)
    };
    assert_eq!(added("One").await, (2, GroupId(1)));
    assert_eq!(added("Two").await, (3, GroupId(2)));
    assert_eq!(added("Three").await, (4, GroupId(3)));
    let (version, two) = f.store.remove_group(f.a, GroupId(2)).await.unwrap();
    assert_eq!((version, two.name.as_str()), (5, "Two"));
    assert_eq!(added("Again").await, (6, GroupId(2)));
    let (version, zero) = f.store.rename_group(f.a, GroupId(0), "Friends").await.unwrap();
    assert_eq!((version, zero.id, zero.name.as_str()), (7, GroupId(0), "Friends"));
    // Each group has a GUID of its own; a new group 2 is not the old one.
    let snapshot = f.store.snapshot(f.a).await.unwrap();
    let mut guids: Vec<&Guid> = snapshot.groups.iter().map(|g| &g.guid).collect();
    assert!(!guids.contains(&&two.guid));
    guids.dedup();
    assert_eq!(guids.len(), 4);
    assert!(matches!(f.store.remove_group(f.a, GroupId(0)).await, Err(ListError::GroupZero)));
    assert!(matches!(f.store.remove_group(f.a, GroupId(9)).await, Err(ListError::NoSuchGroup)));
    assert!(matches!(f.store.rename_group(f.a, GroupId(9), "x").await, Err(ListError::NoSuchGroup)));

    let snapshot = f.store.snapshot(f.a).await.unwrap();
    let names: Vec<(GroupId, &str)> = snapshot.groups.iter().map(|g| (g.id, g.name.as_str())).collect();
    assert_eq!(
        names,
        [(GroupId(0), "Friends"), (GroupId(1), "One"), (GroupId(2), "Again"), (GroupId(3), "Three")]
    );

    for id in 4..30 {
        assert_eq!(f.store.add_group(f.a, "More").await.unwrap().1.id, GroupId(id));
    }
    assert!(matches!(f.store.add_group(f.a, "Too many").await, Err(ListError::TooManyGroups)));
    // Other accounts have their own ids.
    assert_eq!(f.store.add_group(f.b, "Mine").await.unwrap().1.id, GroupId(1));
}

#[tokio::test]
async fn removing_a_group_keeps_its_members_on_fl() {
    let f = fixture().await;
    let group = f.store.add_group(f.a, "Work").await.unwrap().1.id;
    f.add(f.a, List::Forward, "b@x.com", Some(group)).await.unwrap();
    f.store.remove_group(f.a, group).await.unwrap();
    let entry = f.entry(f.a, "b@x.com").await.unwrap();
    assert_eq!((entry.lists, entry.groups), (lists(&[List::Forward]), vec![]));
}

#[tokio::test]
async fn removing_from_a_group_keeps_the_fl_entry() {
    let f = fixture().await;
    let group = f.store.add_group(f.a, "Work").await.unwrap().1.id;
    f.add(f.a, List::Forward, "b@x.com", None).await.unwrap();
    f.add(f.a, List::Forward, "b@x.com", Some(group)).await.unwrap();
    assert_eq!(f.entry(f.a, "b@x.com").await.unwrap().groups, [GroupId(0), group]);
    let b_version = f.version(f.b).await;

    let removed = f.rem(f.a, List::Forward, "b@x.com", Some(GroupId(0))).await.unwrap();
    assert_eq!(removed, Removed { version: 5, contact: f.b, reverse_version: None });
    let entry = f.entry(f.a, "b@x.com").await.unwrap();
    assert_eq!((entry.lists, entry.groups), (lists(&[List::Forward]), vec![group]));
    assert_eq!(f.version(f.b).await, b_version);
    assert!(f.entry(f.b, "a@x.com").await.unwrap().lists.contains(List::Reverse));

    assert!(matches!(
        f.rem(f.a, List::Forward, "b@x.com", Some(GroupId(0))).await,
        Err(ListError::NotInGroup)
    ));
    assert!(matches!(
        f.rem(f.a, List::Forward, "b@x.com", Some(GroupId(5))).await,
        Err(ListError::NoSuchGroup)
    ));
    assert!(matches!(
        f.rem(f.a, List::Forward, "c@x.com", Some(GroupId(0))).await,
        Err(ListError::NotOnList)
    ));
    assert!(matches!(
        f.rem(f.a, List::Forward, "nobody@x.com", Some(GroupId(0))).await,
        Err(ListError::NotOnList)
    ));
}

#[tokio::test]
async fn removing_from_fl_takes_me_off_their_rl() {
    let f = fixture().await;
    f.add(f.a, List::Forward, "b@x.com", None).await.unwrap();
    f.add(f.a, List::Allow, "b@x.com", None).await.unwrap();
    f.add(f.a, List::Forward, "c@x.com", None).await.unwrap();
    f.add(f.c, List::Block, "a@x.com", None).await.unwrap();

    // c blocking me bumped my version too: c is on my FL.
    let removed = f.rem(f.a, List::Forward, "b@x.com", None).await.unwrap();
    assert_eq!(removed, Removed { version: 6, contact: f.b, reverse_version: Some(3) });
    // My entry keeps AL, without groups; b's entry for me was on RL only and is gone.
    let entry = f.entry(f.a, "b@x.com").await.unwrap();
    assert_eq!((entry.lists, entry.groups), (lists(&[List::Allow]), vec![]));
    assert_eq!(f.entry(f.b, "a@x.com").await, None);

    // c keeps me on BL.
    f.rem(f.a, List::Forward, "c@x.com", None).await.unwrap();
    assert_eq!(f.entry(f.a, "c@x.com").await, None);
    assert_eq!(f.entry(f.c, "a@x.com").await.unwrap().lists, lists(&[List::Block]));

    assert!(matches!(f.rem(f.a, List::Forward, "c@x.com", None).await, Err(ListError::NotOnList)));
    assert!(matches!(f.rem(f.a, List::Block, "b@x.com", None).await, Err(ListError::NotOnList)));
    f.rem(f.a, List::Allow, "b@x.com", None).await.unwrap();
    assert_eq!((f.rows("contacts").await, f.rows("contact_groups").await), (1, 0));
}

#[tokio::test]
async fn snapshot_shows_properties_only_to_allowed_contacts() {
    let f = fixture().await;
    f.store.set_gtc(f.a, Gtc::Never).await.unwrap();
    f.store.set_blp(f.a, Blp::Block).await.unwrap();
    f.store.set_property(f.a, Property::Phh, Some("555 1234")).await.unwrap();
    f.store.set_property(f.b, Property::Phw, Some("555 0000")).await.unwrap();
    f.store.set_property(f.c, Property::Mob, Some("Y")).await.unwrap();
    f.add(f.a, List::Forward, "c@x.com", None).await.unwrap();
    f.add(f.a, List::Forward, "b@x.com", None).await.unwrap();
    f.add(f.b, List::Allow, "a@x.com", None).await.unwrap();
    f.add(f.c, List::Block, "a@x.com", None).await.unwrap();

    let snapshot = f.store.snapshot(f.a).await.unwrap();
    assert_eq!((snapshot.version, snapshot.gtc, snapshot.blp), (8, Gtc::Never, Blp::Block));
    assert_eq!(snapshot.properties.get(Property::Phh), Some("555 1234"));
    let groups: Vec<(GroupId, &str)> = snapshot.groups.iter().map(|g| (g.id, g.name.as_str())).collect();
    assert_eq!(groups, [(GroupId(0), "Other Contacts")]);
    let emails: Vec<&str> = snapshot.contacts.iter().map(|c| c.email.as_str()).collect();
    assert_eq!(emails, ["b@x.com", "c@x.com"]);
    let b = &snapshot.contacts[0];
    assert_eq!(b.properties.get(Property::Phw), Some("555 0000"));
    assert_eq!(b.lists, lists(&[List::Forward]));
    assert_eq!(snapshot.contacts[1].properties, Properties::default());

    // The RL side: b sees me without my phone (I have not allowed b), and no groups.
    let snapshot = f.store.snapshot(f.b).await.unwrap();
    let a = &snapshot.contacts[0];
    assert_eq!((a.lists, a.groups.len()), (lists(&[List::Allow, List::Reverse]), 0));
    assert_eq!(a.properties, Properties::default());

    let summary = f.store.snapshot(f.a).await.unwrap();
    assert_eq!((summary.version, summary.gtc, summary.blp), (8, Gtc::Never, Blp::Block));
    let bits: Vec<(UserId, ListSet)> = summary.contacts.iter().map(|c| (c.id, c.lists)).collect();
    assert_eq!(bits, [(f.b, lists(&[List::Forward])), (f.c, lists(&[List::Forward]))]);
}

#[tokio::test]
async fn settings_refuse_the_current_value() {
    let f = fixture().await;
    assert!(matches!(f.store.set_gtc(f.a, Gtc::Ask).await, Err(ListError::Unchanged)));
    assert!(matches!(f.store.set_blp(f.a, Blp::Allow).await, Err(ListError::Unchanged)));
    f.add(f.b, List::Forward, "a@x.com", None).await.unwrap();
    assert_eq!(f.store.set_blp(f.a, Blp::Block).await.unwrap(), 3);
    assert_eq!(f.version(f.b).await, 3);
    assert_eq!(f.store.set_gtc(f.a, Gtc::Never).await.unwrap(), 4);
    assert_eq!(f.version(f.b).await, 3);
}

#[tokio::test]
async fn renames() {
    let f = fixture().await;
    assert_eq!(f.store.set_friendly_name(f.a, "Alice").await.unwrap(), 2);
    f.add(f.a, List::Forward, "b@x.com", None).await.unwrap();
    assert_eq!(f.entry(f.b, "a@x.com").await.unwrap().name, "Alice");
    assert_eq!(f.store.rename_contact(f.a, &email("b@x.com"), "Bob").await.unwrap(), 4);
    assert_eq!(f.entry(f.a, "b@x.com").await.unwrap().name, "Bob");
    assert!(matches!(f.store.rename_contact(f.a, &email("c@x.com"), "C").await, Err(ListError::NotOnList)));
    assert!(matches!(f.store.set_friendly_name(UserId(999), "x").await, Err(StoreError::NotFound)));
}

#[tokio::test]
async fn property_changes_bump_the_watchers() {
    let f = fixture().await;
    // b watches a (a on b's FL, b on a's AL); c has a on FL but is not allowed.
    f.add(f.b, List::Forward, "a@x.com", None).await.unwrap();
    f.add(f.a, List::Allow, "b@x.com", None).await.unwrap();
    f.add(f.c, List::Forward, "a@x.com", None).await.unwrap();
    let a_version = f.version(f.a).await;

    let changed = f.store.set_property(f.a, Property::Phm, Some("555")).await.unwrap();
    assert_eq!(changed, PropertyChanged { version: a_version + 1, watchers: vec![(f.b, 4)] });
    assert_eq!(f.version(f.c).await, 2);
    assert_eq!(f.entry(f.b, "a@x.com").await.unwrap().properties.get(Property::Phm), Some("555"));

    let changed = f.store.set_property(f.a, Property::Phm, None).await.unwrap();
    assert_eq!(changed.watchers, [(f.b, 5)]);
    assert_eq!(f.rows("properties").await, 0);
}

#[tokio::test]
async fn deleting_an_account_bumps_those_who_listed_it() {
    let f = fixture().await;
    f.add(f.a, List::Forward, "b@x.com", None).await.unwrap();
    f.add(f.c, List::Block, "a@x.com", None).await.unwrap();
    f.store.set_property(f.a, Property::Phh, Some("1")).await.unwrap();
    let (b, c) = (f.version(f.b).await, f.version(f.c).await);
    f.store.delete_user(&email("a@x.com")).await.unwrap();
    assert_eq!((f.version(f.b).await, f.version(f.c).await), (b + 1, c + 1));
    assert_eq!(f.entry(f.b, "a@x.com").await, None);
    for table in ["contacts", "contact_groups", "properties"] {
        assert_eq!(f.rows(table).await, 0, "{table}");
    }
    assert_eq!(f.rows("groups").await, 2);
}

#[tokio::test]
async fn versions_survive_reopening() {
    let f = fixture().await;
    f.add(f.a, List::Forward, "b@x.com", None).await.unwrap();
    f.store.add_group(f.a, "Work").await.unwrap();
    f.store.close().await;

    let store = Store::open(&url(&f.dir)).await.unwrap();
    let snapshot = store.snapshot(f.a).await.unwrap();
    assert_eq!((snapshot.version, snapshot.groups.len(), snapshot.contacts.len()), (3, 2, 1));
    assert_eq!(store.snapshot(f.b).await.unwrap().version, 2);
    store.close().await;
}

#[tokio::test]
async fn migrating_gives_existing_accounts_group_zero() {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteConnectOptions::from_str(&url(&dir)).unwrap().create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let mut first = sqlx::migrate!();
    first.migrations = first.migrations[..1].to_vec().into();
    first.run(&pool).await.unwrap();
    sqlx::query(
        "INSERT INTO users (email, friendly_name, md5_salt, md5_digest, passport_hash)
         VALUES ('old@x.com', 'Old', 's', 'd', 'h')",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let store = Store::open(&url(&dir)).await.unwrap();
    let old = store.user(&email("old@x.com")).await.unwrap().unwrap();
    let snapshot = store.snapshot(old.id).await.unwrap();
    assert_eq!((snapshot.version, snapshot.gtc, snapshot.blp), (1, Gtc::Ask, Blp::Allow));
    let groups: Vec<(GroupId, &str)> = snapshot.groups.iter().map(|g| (g.id, g.name.as_str())).collect();
    assert_eq!(groups, [(GroupId(0), "Other Contacts")]);
    store.close().await;
}

#[tokio::test]
async fn migrating_gives_entries_and_groups_guids_and_finds_who_is_pending() {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteConnectOptions::from_str(&url(&dir)).unwrap().create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let mut before = sqlx::migrate!();
    before.migrations = before.migrations[..6].to_vec().into();
    before.run(&pool).await.unwrap();
    for statement in [
        "INSERT INTO users (email, friendly_name, md5_salt, md5_digest, passport_hash)
         VALUES ('a@x.com', 'A', 's', 'd', 'h'), ('b@x.com', 'B', 's', 'd', 'h'), ('c@x.com', 'C', 's', 'd', 'h')",
        "INSERT INTO groups (owner_id, group_id, name) VALUES (1, 0, 'Other Contacts'), (1, 1, 'Work')",
        // b and c have a on their FL; a has allowed c, not yet b.
        "INSERT INTO contacts (owner_id, contact_id, lists, name) VALUES (1, 2, 9, 'B'), (1, 3, 10, 'C')",
        "INSERT INTO contact_groups VALUES (1, 2, 1)",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let store = Store::open(&url(&dir)).await.unwrap();
    let snapshot = store.snapshot(UserId(1)).await.unwrap();
    let lists: Vec<(&str, u8)> = snapshot.contacts.iter().map(|c| (c.email.as_str(), c.lists.0)).collect();
    assert_eq!(lists, [("b@x.com", 1 | 8 | 16), ("c@x.com", 2 | 8)]);
    let mut guids: Vec<String> = snapshot.groups.iter().map(|g| g.guid.to_string()).collect();
    guids.extend(snapshot.contacts.iter().map(|c| c.guid.to_string()));
    guids.sort();
    guids.dedup();
    assert_eq!(guids.len(), 4, "{guids:?}");
    assert!(guids.iter().all(|g| g.parse::<Guid>().is_ok() && g.as_bytes()[14] == b'4'), "{guids:?}");
    store.close().await;
}

#[tokio::test]
async fn concurrent_writers_do_not_fail() {
    let f = fixture().await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = f.store.clone();
            let me = [f.a, f.b, f.c][i % 3];
            tokio::spawn(async move { store.add_group(me, "g").await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let total = f.version(f.a).await + f.version(f.b).await + f.version(f.c).await;
    assert_eq!(total, 3 + 20);
}
