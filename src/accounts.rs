//! What the operator (or the user, on the account page) does to an account takes effect
//! everywhere at once: in the database first, so that a reconnect already meets the new
//! state, then on the account's live notification and switchboard sessions, which end.

use std::sync::Arc;

use tracing::info;

use crate::chats::Switchboards;
use crate::credentials::Credentials;
use crate::presence::{Ending, Presence};
use crate::protocol::Email;
use crate::store::{Store, StoreError, User};
use crate::tickets::Tickets;

/// The store and the registries of live sessions, for changes that concern both.
#[derive(Debug, Clone)]
pub struct Accounts {
    pub store: Store,
    pub presence: Presence,
    pub chats: Arc<Switchboards>,
    pub tickets: Arc<Tickets>,
}

/// The live sessions an operation ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ended {
    /// Whether the account had a notification session.
    pub notification: bool,
    /// Its switchboard connections (one per chat it was in).
    pub chats: usize,
}

impl Accounts {
    /// Ends the account's live sessions without changing it: it may log in again.
    pub async fn kick(&self, email: &Email) -> Result<Ended, StoreError> {
        let user = self.existing(email).await?;
        Ok(self.end(&user, Ending::Kicked))
    }

    /// Disables the account (no login of any kind) and ends its sessions, or enables it.
    pub async fn set_disabled(&self, email: &Email, disabled: bool) -> Result<Ended, StoreError> {
        let user = self.existing(email).await?;
        self.store.set_disabled(email, disabled).await?;
        Ok(if disabled { self.end(&user, Ending::Disabled) } else { Ended::default() })
    }

    /// Deletes the account and its lists, and ends its sessions.
    pub async fn delete(&self, email: &Email) -> Result<Ended, StoreError> {
        let user = self.existing(email).await?;
        self.store.delete_user(email).await?;
        Ok(self.end(&user, Ending::Deleted))
    }

    /// Gives the account a new password and ends its sessions, which logged in with the
    /// old one.
    pub async fn set_password(&self, email: &Email, creds: &Credentials) -> Result<Ended, StoreError> {
        let user = self.existing(email).await?;
        self.store.set_credentials(email, creds).await?;
        Ok(self.end(&user, Ending::NewPassword))
    }

    /// Ends every live session of `user`, and withdraws its Passport tickets (a login under
    /// way is refused too: the notification server reads the account again at `USR S`).
    fn end(&self, user: &User, why: Ending) -> Ended {
        self.tickets.revoke(user.id);
        let ended =
            Ended { notification: self.presence.end(user.id, why), chats: self.chats.end_for(user.id, why) };
        let (notification, chats) = (ended.notification, ended.chats);
        info!(user = %user.email, reason = why.reason(), notification, chats, "live sessions ended");
        ended
    }

    async fn existing(&self, email: &Email) -> Result<User, StoreError> {
        self.store.user(email).await?.ok_or(StoreError::NotFound)
    }
}
