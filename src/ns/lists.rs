//! SYN, LST, LSG, ADD, REM, ADG, RMG, REG, GTC, BLP, REA, PRP, and MSNP10's ADC, SBP and
//! `PRP MFN`. Every change is committed by the store before the reply is built; a change
//! to who is on which list, or to BLP, then goes to the presence registry, the one keeper
//! of online accounts' lists. MSNP10 names entries and groups by GUID: each is found in the
//! store, and the change made as the older versions' commands make it.

use tracing::{debug, info};

use super::Online;
use crate::conn::Outcome;
use crate::presence::{Event, ListChange};
use crate::protocol::command::{Cached, Contact, GroupRef};
use crate::protocol::lists::{is_valid_friendly_name, Blp, GroupId, Gtc, List, Property};
use crate::protocol::lists::{MAX_GROUPS, MAX_GROUP_NAME_BYTES};
use crate::protocol::view::Guid;
use crate::protocol::{render, url_decode, url_encode, Email, ProtocolError, Reply, TrId};
use crate::store::{internal, Added, ListError, Snapshot, UserId};

impl Online {
    /// `SYN tr v` (MSNP10: `SYN tr ts1 ts2`): just that if the client is up to date, else
    /// everything. Up to date means equal to the database's version: other accounts'
    /// changes (an AL that now shows me their phone numbers) bump it without telling this
    /// session. `held` is the snapshot read at login, when SYN is the first command after
    /// it and nothing has happened since (the usual case: no second read).
    pub(super) async fn syn(
        &mut self,
        tr: TrId,
        cached: Cached,
        held: Option<Box<Snapshot>>,
    ) -> Result<Outcome, ProtocolError> {
        if matches!(cached, Cached::Stamps(..)) != self.dialect.address_book {
            return Err(ProtocolError::Syntax);
        }
        let up_to_date = |version| Ok(Outcome::reply(render::syn_unchanged(tr, &self.dialect, version)));
        let snapshot = match held {
            Some(snapshot) => snapshot,
            None => {
                // A client without a cache gets everything, without asking the database
                // first (no list version is 0: they start at 1 and only grow).
                let store = &self.ctx.store;
                if !cached.is_empty() {
                    let version = store.list_version(self.user.id).await.map_err(internal)?;
                    if cached.is_of(version) {
                        return up_to_date(version);
                    }
                }
                Box::new(store.snapshot(self.user.id).await.map_err(internal)?)
            }
        };
        if cached.is_of(snapshot.version) {
            return up_to_date(snapshot.version);
        }
        Ok(Outcome::replies(render::syn(tr, &self.dialect, &snapshot, &self.user.friendly_name)))
    }

    /// `LST tr list`: one list, in the MSNP7 form (MSNP8 has no other).
    pub(super) async fn lst(&mut self, tr: TrId, list: List) -> Result<Outcome, ProtocolError> {
        let snapshot = self.ctx.store.snapshot(self.user.id).await.map_err(internal)?;
        Ok(Outcome::replies(render::lst(
            tr,
            &self.dialect,
            snapshot.version,
            list,
            &snapshot.contacts,
            false,
        )))
    }

    /// `LSG tr`: the groups.
    pub(super) async fn lsg(&mut self, tr: TrId) -> Result<Outcome, ProtocolError> {
        let snapshot = self.ctx.store.snapshot(self.user.id).await.map_err(internal)?;
        Ok(Outcome::replies(render::lsg(tr, snapshot.version, &snapshot.groups)))
    }

    /// `ADD tr list handle name {group}`.
    pub(super) async fn add(
        &mut self,
        tr: TrId,
        list: List,
        email: Email,
        name: String,
        group: Option<GroupId>,
    ) -> Result<Outcome, ProtocolError> {
        self.check_list_args(list, group)?;
        check_friendly_name(&name)?;
        // From MSNP7 every FL entry is in a group; a missing one means "Other Contacts".
        let in_group = match group {
            None if list == List::Forward && self.dialect.groups => Some(GroupId(0)),
            given => given,
        };
        let added = self.put_on(list, &email, &name, in_group).await.map_err(list_error)?;
        let reply = render::add(tr, list, added.version, &email, &name, group);
        Ok(Outcome::replies(self.added(tr, reply, &added)))
    }

    /// Puts `email` on one of my lists, in the store and then in the registry.
    async fn put_on(
        &self,
        list: List,
        email: &Email,
        name: &str,
        group: Option<GroupId>,
    ) -> Result<Added, ListError> {
        let limit = self.ctx.config.limits.max_list_entries;
        let adding = self.ctx.store.add_to_list(self.user.id, list, email, name, group, limit);
        let added = self.ctx.metrics.timed("list_change", adding).await?;
        self.apply(ListChange::Entry { contact: added.contact, list, on: true });
        Ok(added)
    }

    /// The reply to an addition, then: a new FL contact hears of it and, if I may see
    /// them, their presence follows with the command's transaction id.
    fn added(&self, tr: TrId, reply: Reply, added: &Added) -> Vec<Reply> {
        let mut replies = vec![reply];
        if let Some(version) = added.reverse_version {
            if added.contact != self.user.id {
                let event = Event::AddedBy {
                    id: self.user.id,
                    email: self.user.email.clone(),
                    name: self.user.friendly_name.clone(),
                    version,
                };
                self.notify(added.contact, &event);
            }
            let seen = self.ctx.presence.seen_by([added.contact], self.user.id);
            replies.extend(self.iln(tr, &seen));
        }
        replies
    }

    /// MSNP10's `ADC tr list ..`: onto the FL by handle (`N=`, maybe with a group in the
    /// same line), an FL entry into a group (`C=`), onto the AL or BL, or a pending
    /// adder accepted (`RL`). Anything else hangs up.
    pub(super) async fn adc(
        &mut self,
        tr: TrId,
        list: List,
        contact: Contact,
        name: Option<String>,
        group: Option<Guid>,
    ) -> Result<Outcome, ProtocolError> {
        let me = self.user.id;
        let store = &self.ctx.store;
        match (list, contact, group) {
            (List::Forward, Contact::Email(email), group) => {
                let name = name.unwrap_or_else(|| email.to_string());
                check_friendly_name(&name)?;
                let added = self.put_on(list, &email, &name, None).await.map_err(adc_error)?;
                // Into the group too, if it was named: the reply says what was done.
                let filed = match &group {
                    Some(group) => store.file(me, &added.guid, group).await.map(|_| group).ok(),
                    None => None,
                };
                let contact = Contact::Email(email);
                let reply = render::adc(tr, list, &contact, Some(&name), Some(&added.guid), filed);
                Ok(Outcome::replies(self.added(tr, reply, &added)))
            }
            (List::Forward, Contact::Guid(entry), Some(group)) => {
                store.file(me, &entry, &group).await.map_err(list_error)?;
                Ok(Outcome::reply(render::adc(tr, list, &Contact::Guid(entry), None, None, Some(&group))))
            }
            (List::Allow | List::Block, Contact::Email(email), None) => {
                let stored_name = name.clone().unwrap_or_else(|| email.to_string());
                self.put_on(list, &email, &stored_name, None).await.map_err(adc_error)?;
                Ok(Outcome::reply(render::adc(tr, list, &Contact::Email(email), name.as_deref(), None, None)))
            }
            // Accepting someone who is pending; for anyone else the official server hung up.
            (List::Reverse, Contact::Email(email), None) => match store.settle(me, &email).await {
                Ok(true) => Ok(Outcome::reply(render::adc(
                    tr,
                    list,
                    &Contact::Email(email),
                    name.as_deref(),
                    None,
                    None,
                ))),
                Ok(false) | Err(ListError::NotOnList) => Err(ProtocolError::InvalidValue),
                Err(e) => Err(list_error(e)),
            },
            _ => Err(ProtocolError::InvalidValue),
        }
    }

    /// Hands a committed change of my lists to the presence registry.
    fn apply(&self, change: ListChange) {
        self.ctx.presence.apply(self.user.id, self.conn, change);
    }

    /// Tells `contact` they were added or removed, unless they have been told too often this
    /// minute (`limits.list_notices_per_minute`): adding and removing someone in a loop would
    /// otherwise bury a slow link in notices. Their RL is right at their next SYN either way.
    fn notify(&self, contact: UserId, event: &Event) {
        if self.ctx.list_notices.take(contact) {
            self.ctx.presence.deliver([contact], event);
        } else {
            debug!(to = %contact, "list notice not sent: limits.list_notices_per_minute reached");
        }
    }

    /// `REM tr list handle {group}`; MSNP10 `REM tr FL guid {group-guid}`, `REM tr AL|BL|PL
    /// handle`.
    pub(super) async fn rem(
        &mut self,
        tr: TrId,
        list: List,
        contact: Contact,
        group: Option<GroupRef>,
    ) -> Result<Outcome, ProtocolError> {
        if self.dialect.address_book {
            return self.rem_entry(tr, list, contact, group).await;
        }
        let Contact::Email(email) = contact else { return Err(ProtocolError::InvalidParameter) };
        let group = match group {
            None => None,
            Some(GroupRef::Id(group)) => Some(group),
            Some(GroupRef::Guid(_)) => return Err(ProtocolError::Syntax),
        };
        self.check_list_args(list, group)?;
        let version = self.take_off(list, &email, group).await?;
        Ok(Outcome::reply(render::rem(tr, list, version, &email, group)))
    }

    async fn rem_entry(
        &mut self,
        tr: TrId,
        list: List,
        contact: Contact,
        group: Option<GroupRef>,
    ) -> Result<Outcome, ProtocolError> {
        let (me, store) = (self.user.id, &self.ctx.store);
        let group = match group {
            None => None,
            Some(GroupRef::Guid(group)) => Some(group),
            Some(GroupRef::Id(_)) => return Err(ProtocolError::InvalidValue),
        };
        match (list, &contact, &group) {
            (List::Forward, Contact::Guid(entry), None) => {
                let (email, _) = store.contact_by_guid(me, entry).await.map_err(list_error)?;
                self.take_off(list, &email, None).await?;
            }
            (List::Forward, Contact::Guid(entry), Some(group)) => {
                store.unfile(me, entry, group).await.map_err(list_error)?;
            }
            (List::Allow | List::Block, Contact::Email(email), None) => {
                self.take_off(list, email, None).await?;
            }
            // The adder was answered: off the PL, whether or not still on it.
            (List::Pending, Contact::Email(email), None) => {
                store.settle(me, email).await.map_err(list_error)?;
            }
            _ => return Err(ProtocolError::InvalidValue),
        }
        Ok(Outcome::reply(render::rem_entry(tr, list, &contact, group.as_ref())))
    }

    /// Takes `email` off one of my lists (or, with a group, out of that group only), in the
    /// store and then the registry; an FL contact hears of it. Returns my new version.
    async fn take_off(
        &self,
        list: List,
        email: &Email,
        group: Option<GroupId>,
    ) -> Result<u32, ProtocolError> {
        let removing = self.ctx.store.remove_from_list(self.user.id, list, email, group);
        let removed = self.ctx.metrics.timed("list_change", removing).await.map_err(list_error)?;
        // Out of one group only: still on the FL.
        if group.is_none() {
            self.apply(ListChange::Entry { contact: removed.contact, list, on: false });
        }
        if let Some(version) = removed.reverse_version.filter(|_| removed.contact != self.user.id) {
            let event = Event::RemovedBy { id: self.user.id, email: self.user.email.clone(), version };
            self.notify(removed.contact, &event);
        }
        Ok(removed.version)
    }

    /// The client may not touch its RL (the official server hung up); groups only on FL
    /// and only from MSNP7.
    fn check_list_args(&self, list: List, group: Option<GroupId>) -> Result<(), ProtocolError> {
        if list == List::Reverse {
            return Err(ProtocolError::InvalidValue);
        }
        match group {
            Some(_) if !self.dialect.groups => Err(ProtocolError::Syntax),
            Some(_) if list != List::Forward => Err(ProtocolError::InvalidParameter),
            Some(g) if usize::from(g.0) >= MAX_GROUPS => Err(ProtocolError::NoSuchGroup),
            _ => Ok(()),
        }
    }

    /// `ADG tr name 0` → `ADG tr ver name id 0`; MSNP10 `ADG tr name` → `ADG tr name guid`.
    pub(super) async fn adg(&mut self, tr: TrId, name: &str) -> Result<Outcome, ProtocolError> {
        check_group_name(name)?;
        let (version, group) = self.ctx.store.add_group(self.user.id, name).await.map_err(list_error)?;
        Ok(Outcome::reply(render::adg(tr, &self.dialect, version, name, &group)))
    }

    /// `RMG tr id` → `RMG tr ver id`; MSNP10 by GUID, no version. Members stay on the FL.
    pub(super) async fn rmg(&mut self, tr: TrId, group: GroupRef) -> Result<Outcome, ProtocolError> {
        let group = self.group_id(group).await?;
        let (version, group) = self.ctx.store.remove_group(self.user.id, group).await.map_err(list_error)?;
        Ok(Outcome::reply(render::rmg(tr, &self.dialect, version, &group)))
    }

    /// `REG tr id name 0` → `REG tr ver id name 0`; MSNP10 `REG tr guid name`, no version.
    pub(super) async fn reg(
        &mut self,
        tr: TrId,
        group: GroupRef,
        name: &str,
    ) -> Result<Outcome, ProtocolError> {
        let group = self.group_id(group).await?;
        check_group_name(name)?;
        let renaming = self.ctx.store.rename_group(self.user.id, group, name);
        let (version, group) = renaming.await.map_err(list_error)?;
        Ok(Outcome::reply(render::reg(tr, &self.dialect, version, &group)))
    }

    /// The group a command names, by number up to MSNP9 and by GUID from MSNP10 (the other
    /// kind hangs up, as ids beyond the 30 an account can have did).
    async fn group_id(&self, group: GroupRef) -> Result<GroupId, ProtocolError> {
        match (group, self.dialect.address_book) {
            (GroupRef::Id(id), false) if usize::from(id.0) < MAX_GROUPS => Ok(id),
            (GroupRef::Guid(guid), true) => {
                self.ctx.store.group_by_guid(self.user.id, &guid).await.map_err(list_error)
            }
            _ => Err(ProtocolError::InvalidValue),
        }
    }

    /// `GTC tr A|N` → `GTC tr ver A|N`; `218` if unchanged.
    pub(super) async fn gtc(&mut self, tr: TrId, value: Gtc) -> Result<Outcome, ProtocolError> {
        let version = self.ctx.store.set_gtc(self.user.id, value).await.map_err(list_error)?;
        Ok(Outcome::reply(render::gtc(tr, &self.dialect, version, value)))
    }

    /// `BLP tr AL|BL` → `BLP tr ver AL|BL`; `218` if unchanged. Watchers are re-checked.
    pub(super) async fn blp(&mut self, tr: TrId, value: Blp) -> Result<Outcome, ProtocolError> {
        let version = self.ctx.store.set_blp(self.user.id, value).await.map_err(list_error)?;
        self.apply(ListChange::Blp(value));
        Ok(Outcome::reply(render::blp(tr, &self.dialect, version, value)))
    }

    /// `REA tr handle name`: my own friendly name (seen by watchers at once), or the
    /// name stored with a contact.
    pub(super) async fn rea(
        &mut self,
        tr: TrId,
        email: Email,
        name: String,
    ) -> Result<Outcome, ProtocolError> {
        check_friendly_name(&name)?;
        let version = match email == self.user.email {
            true => self.rename_myself(&name).await?,
            false => self.ctx.store.rename_contact(self.user.id, &email, &name).await.map_err(list_error)?,
        };
        Ok(Outcome::reply(render::rea(tr, version, &email, &name)))
    }

    /// MSNP10's `PRP tr MFN name`: my friendly name, seen by watchers at once; `715` before.
    pub(super) async fn mfn(&mut self, tr: TrId, name: String) -> Result<Outcome, ProtocolError> {
        if !self.dialect.address_book {
            return Err(ProtocolError::NotExpected);
        }
        check_friendly_name(&name)?;
        self.rename_myself(&name).await?;
        Ok(Outcome::reply(render::mfn(tr, &name)))
    }

    async fn rename_myself(&mut self, name: &str) -> Result<u32, ProtocolError> {
        let version = self.ctx.store.set_friendly_name(self.user.id, name).await.map_err(internal)?;
        info!(user = %self.user.email, "friendly name changed");
        self.user.friendly_name = name.to_owned();
        self.name_changed();
        Ok(version)
    }

    /// MSNP10's `SBP tr guid prop value ..`, echoed: `MFN` is the name stored with the FL
    /// entry (a change counts against the list-change budget; clients send the same name
    /// again on every `NLN`, which changes nothing); other properties (MSNP11's phone
    /// number, blog flag) are not kept.
    pub(super) async fn sbp(
        &mut self,
        tr: TrId,
        entry: Guid,
        property: String,
        value: String,
        rest: Vec<String>,
    ) -> Result<Outcome, ProtocolError> {
        let store = &self.ctx.store;
        let (email, stored) = store.contact_by_guid(self.user.id, &entry).await.map_err(list_error)?;
        if property == "MFN" {
            let name = url_decode(&value)?;
            check_friendly_name(&name)?;
            if name != stored {
                if !self.ctx.list_changes.take(self.user.id) {
                    return Err(ProtocolError::TooFast);
                }
                store.rename_contact(self.user.id, &email, &name).await.map_err(list_error)?;
            }
        }
        Ok(Outcome::reply(render::sbp(tr, &entry, &property, &value, &rest)))
    }

    /// `PRP tr prop {value}` → `PRP tr ver prop {value}`; watchers who may see it get BPR.
    pub(super) async fn prp(
        &mut self,
        tr: TrId,
        property: Property,
        value: Option<String>,
    ) -> Result<Outcome, ProtocolError> {
        check_property(property, value.as_deref())?;
        let changed =
            self.ctx.store.set_property(self.user.id, property, value.as_deref()).await.map_err(internal)?;
        for (watcher, version) in changed.watchers {
            let event = Event::PropertyChanged {
                id: self.user.id,
                email: self.user.email.clone(),
                property,
                value: value.clone(),
                version,
            };
            self.ctx.presence.deliver_to_watcher(self.user.id, watcher, event);
        }
        Ok(Outcome::reply(render::prp(tr, &self.dialect, changed.version, property, value.as_deref())))
    }
}

/// A friendly or contact name: 1 to 129 printable characters.
fn check_friendly_name(name: &str) -> Result<(), ProtocolError> {
    if !is_valid_friendly_name(name) {
        return Err(ProtocolError::InvalidFriendlyName);
    }
    Ok(())
}

/// A group name: printable, at most 61 bytes once URL-encoded.
fn check_group_name(name: &str) -> Result<(), ProtocolError> {
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(ProtocolError::InvalidParameter);
    }
    if url_encode(name).len() > MAX_GROUP_NAME_BYTES {
        return Err(ProtocolError::GroupNameTooLong);
    }
    Ok(())
}

/// `MBE` is the server's; flags are `Y` or `N`; phone numbers at most 95 bytes encoded.
fn check_property(property: Property, value: Option<&str>) -> Result<(), ProtocolError> {
    match (property, value) {
        (Property::Mbe, _) => Err(ProtocolError::NotExpected),
        (Property::Mob, Some("Y" | "N")) => Ok(()),
        (Property::Mob, _) => Err(ProtocolError::InvalidValue),
        (_, Some(v))
            if url_encode(v).len() > Property::MAX_VALUE_BYTES || v.chars().any(char::is_control) =>
        {
            Err(ProtocolError::InvalidValue)
        }
        _ => Ok(()),
    }
}

/// `ADC` names an unknown account `208` (`ADD` said `205`).
fn adc_error(error: ListError) -> ProtocolError {
    match error {
        ListError::NoSuchUser => ProtocolError::InvalidUsername,
        other => list_error(other),
    }
}

/// The protocol's answer to a refused list change.
fn list_error(error: ListError) -> ProtocolError {
    match error {
        ListError::NoSuchUser => ProtocolError::UnknownUser,
        ListError::AlreadyThere => ProtocolError::AlreadyThere,
        ListError::InOppositeList => ProtocolError::InOppositeList,
        ListError::ListFull => ProtocolError::ListFull,
        ListError::NotOnList => ProtocolError::NotOnList,
        ListError::NoSuchGroup => ProtocolError::NoSuchGroup,
        ListError::NotInGroup => ProtocolError::NotInGroup,
        ListError::TooManyGroups => ProtocolError::TooManyGroups,
        ListError::GroupZero => ProtocolError::GroupZero,
        ListError::Unchanged => ProtocolError::AlreadyInMode,
        ListError::Store(e) => internal(e),
    }
}
