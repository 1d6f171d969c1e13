//! SYN, LST, LSG, ADD, REM, ADG, RMG, REG, GTC, BLP, REA, PRP. Every change is committed
//! by the store before the reply is built; a change to who is on which list, or to BLP,
//! then goes to the presence registry, the one keeper of online accounts' lists.

use tracing::{debug, info};

use super::Online;
use crate::conn::Outcome;
use crate::presence::{Event, ListChange};
use crate::protocol::lists::{is_valid_friendly_name, Blp, GroupId, Gtc, List, Property};
use crate::protocol::lists::{MAX_GROUPS, MAX_GROUP_NAME_BYTES};
use crate::protocol::{render, url_encode, Email, ProtocolError, TrId};
use crate::store::{internal, ListError, Snapshot, UserId};

impl Online {
    /// `SYN tr v`: just `SYN tr v` if the client is up to date, else everything. Up to
    /// date means equal to the database's version: other accounts' changes (an AL that
    /// now shows me their phone numbers) bump it without telling this session. `held` is
    /// the snapshot read at login, when SYN is the first command after it and nothing has
    /// happened since (the usual case: no second read).
    pub(super) async fn syn(
        &mut self,
        tr: TrId,
        cached: u32,
        held: Option<Box<Snapshot>>,
    ) -> Result<Outcome, ProtocolError> {
        let up_to_date = || Ok(Outcome::reply(render::syn_unchanged(tr, cached)));
        let snapshot = match held {
            Some(snapshot) => snapshot,
            None => {
                // No list version is 0 (they start at 1 and only grow): a client without a
                // cache gets everything, without asking the database first.
                let store = &self.ctx.store;
                if cached != 0 && store.list_version(self.user.id).await.map_err(internal)? == cached {
                    return up_to_date();
                }
                Box::new(store.snapshot(self.user.id).await.map_err(internal)?)
            }
        };
        if snapshot.version == cached {
            return up_to_date();
        }
        Ok(Outcome::replies(render::syn(tr, &self.dialect, &snapshot)))
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
        let limit = self.ctx.config.limits.max_list_entries;
        // From MSNP7 every FL entry is in a group; a missing one means "Other Contacts".
        let in_group = match group {
            None if list == List::Forward && self.dialect.groups => Some(GroupId(0)),
            given => given,
        };
        let adding = self.ctx.store.add_to_list(self.user.id, list, &email, &name, in_group, limit);
        let added = self.ctx.metrics.timed("list_change", adding).await.map_err(list_error)?;
        self.apply(ListChange::Entry { contact: added.contact, list, on: true });
        let mut replies = vec![render::add(tr, list, added.version, &email, &name, group)];
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
            // Their presence, with the ADD's transaction id.
            let seen = self.ctx.presence.seen_by([added.contact], self.user.id);
            replies.extend(seen.iter().map(|shown| render::iln(tr, &self.dialect, shown)));
        }
        Ok(Outcome::replies(replies))
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

    /// `REM tr list handle {group}`.
    pub(super) async fn rem(
        &mut self,
        tr: TrId,
        list: List,
        email: Email,
        group: Option<GroupId>,
    ) -> Result<Outcome, ProtocolError> {
        self.check_list_args(list, group)?;
        let removing = self.ctx.store.remove_from_list(self.user.id, list, &email, group);
        let removed = self.ctx.metrics.timed("list_change", removing).await.map_err(list_error)?;
        // Out of one group only: still on the FL.
        if group.is_none() {
            self.apply(ListChange::Entry { contact: removed.contact, list, on: false });
        }
        if let Some(version) = removed.reverse_version.filter(|_| removed.contact != self.user.id) {
            let event = Event::RemovedBy { id: self.user.id, email: self.user.email.clone(), version };
            self.notify(removed.contact, &event);
        }
        Ok(Outcome::reply(render::rem(tr, list, removed.version, &email, group)))
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

    /// `ADG tr name 0` → `ADG tr ver name id 0`.
    pub(super) async fn adg(&mut self, tr: TrId, name: &str) -> Result<Outcome, ProtocolError> {
        check_group_name(name)?;
        let (version, id) = self.ctx.store.add_group(self.user.id, name).await.map_err(list_error)?;
        Ok(Outcome::reply(render::adg(tr, version, name, id)))
    }

    /// `RMG tr id` → `RMG tr ver id`. Members stay on the FL.
    pub(super) async fn rmg(&mut self, tr: TrId, group: GroupId) -> Result<Outcome, ProtocolError> {
        check_group_id(group)?;
        let version = self.ctx.store.remove_group(self.user.id, group).await.map_err(list_error)?;
        Ok(Outcome::reply(render::rmg(tr, version, group)))
    }

    /// `REG tr id name 0` → `REG tr ver id name 0`.
    pub(super) async fn reg(
        &mut self,
        tr: TrId,
        group: GroupId,
        name: &str,
    ) -> Result<Outcome, ProtocolError> {
        check_group_id(group)?;
        check_group_name(name)?;
        let version = self.ctx.store.rename_group(self.user.id, group, name).await.map_err(list_error)?;
        Ok(Outcome::reply(render::reg(tr, version, group, name)))
    }

    /// `GTC tr A|N` → `GTC tr ver A|N`; `218` if unchanged.
    pub(super) async fn gtc(&mut self, tr: TrId, value: Gtc) -> Result<Outcome, ProtocolError> {
        let version = self.ctx.store.set_gtc(self.user.id, value).await.map_err(list_error)?;
        Ok(Outcome::reply(render::gtc(tr, version, value)))
    }

    /// `BLP tr AL|BL` → `BLP tr ver AL|BL`; `218` if unchanged. Watchers are re-checked.
    pub(super) async fn blp(&mut self, tr: TrId, value: Blp) -> Result<Outcome, ProtocolError> {
        let version = self.ctx.store.set_blp(self.user.id, value).await.map_err(list_error)?;
        self.apply(ListChange::Blp(value));
        Ok(Outcome::reply(render::blp(tr, version, value)))
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
        let store = &self.ctx.store;
        let version = if email == self.user.email {
            let version = store.set_friendly_name(self.user.id, &name).await.map_err(internal)?;
            info!(user = %self.user.email, "friendly name changed");
            self.user.friendly_name = name.clone();
            self.name_changed();
            version
        } else {
            store.rename_contact(self.user.id, &email, &name).await.map_err(list_error)?
        };
        Ok(Outcome::reply(render::rea(tr, version, &email, &name)))
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
        Ok(Outcome::reply(render::prp(tr, changed.version, property, value.as_deref())))
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

/// Group ids beyond the 30 an account can have got the client disconnected.
fn check_group_id(group: GroupId) -> Result<(), ProtocolError> {
    if usize::from(group.0) >= MAX_GROUPS {
        return Err(ProtocolError::InvalidValue);
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
