//! Creating and changing subscriptions: the limit, one subscription per
//! URL, the PING on enabling or moving, the change gate.

use chrono::{DateTime, Utc};
use gladly_webhook_core::Secret;

use super::{SubscriptionError, Subscriptions};
use crate::ping::ping;
use crate::store::{StoredWebhook, WebhookChange, url_key};

/// A subscription as a request describes it: every field it will have.
/// Each dialect fills one from its body ([`Draft::new`] for a creation,
/// [`Draft::of`] then its fields for a change).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Draft {
    /// Where its events go.
    pub url: String,
    /// The event types it receives, as the model names them.
    pub events: Vec<String>,
    /// Whether events are delivered to it.
    pub active: bool,
    /// A label (REST API 1.0 `name`).
    pub name: Option<String>,
    /// What authenticates its deliveries, when it is set or changes: the
    /// signing secret, or a REST API 1.0 webhook's credentials and headers
    /// (as JSON). `None` keeps the current one, or, for a
    /// new subscription, draws a signing secret.
    pub secret: Option<Secret>,
    /// The names of the headers its deliveries carry, with `secret`.
    pub header_keys: Option<Vec<String>>,
}

impl Draft {
    /// A new subscription's draft: no name, the hub draws its secret.
    pub fn new(url: impl Into<String>, events: Vec<String>, active: bool) -> Self {
        Self {
            url: url.into(),
            events,
            active,
            name: None,
            secret: None,
            header_keys: None,
        }
    }

    /// A draft of `current` as it stands, its secret kept.
    pub fn of(current: &StoredWebhook) -> Self {
        Self {
            url: current.url.clone(),
            events: current.events.clone(),
            active: current.active,
            name: current.name.clone(),
            secret: None,
            header_keys: None,
        }
    }
}

impl Subscriptions {
    /// Creates a subscription of the served model from `draft`: refused
    /// past the limit or for a URL taken, PINGed when active (the PING
    /// must be answered 200), then stored (the store checks the limit and
    /// the URL again, in the insert's transaction).
    pub async fn create(&self, draft: Draft) -> Result<StoredWebhook, SubscriptionError> {
        // Fail fast, before the PING.
        if self.store.count_webhooks().await? >= self.max {
            return Err(SubscriptionError::TooMany { max: self.max });
        }
        if let Some(existing) = self.store.find_by_url(&draft.url).await? {
            return Err(SubscriptionError::DuplicateUrl { existing });
        }
        let secret = match draft.secret {
            Some(secret) => secret,
            None => crate::ids::secret()?,
        };
        let stored = StoredWebhook::new(
            crate::ids::webhook_id()?,
            draft.url,
            draft.events,
            secret,
            draft.active,
            now_millis(),
        )
        .in_model(
            self.rules.model,
            draft.name,
            draft.header_keys.unwrap_or_default(),
        );
        if stored.active {
            ping(&self.sender, stored.model, &stored.url, &stored.secret).await?;
        }
        self.store.create_webhook(&stored, self.max).await?;
        tracing::info!(
            webhook_id = stored.id,
            active = stored.active,
            "subscription created"
        );
        Ok(stored)
    }

    /// Changes `current` to `draft`: PINGed when it becomes active or an
    /// active one moves (with the secret it will have), then committed once
    /// no attempt to it is in flight, so no delivery goes out that the
    /// change forbids; [`SubscriptionError::Conflict`] when it changed since
    /// `current` was read.
    pub async fn update(
        &self,
        current: &StoredWebhook,
        draft: Draft,
    ) -> Result<StoredWebhook, SubscriptionError> {
        let url_changed = url_key(&draft.url) != url_key(&current.url);
        if draft.active && (!current.active || url_changed) {
            let secret = draft.secret.as_ref().unwrap_or(&current.secret);
            ping(&self.sender, current.model, &draft.url, secret).await?;
        }
        let change = WebhookChange {
            url: draft.url,
            events: draft.events,
            active: draft.active,
            secret: draft.secret,
            modified_at: next_modified(current.modified_at),
            name: draft.name,
            header_keys: draft.header_keys,
        };
        let update = self
            .store
            .update_webhook(&current.id, current.modified_at, &change);
        let updated = self.gate.change(&current.id, update).await?;
        tracing::info!(
            webhook_id = current.id,
            active = updated.active,
            url_changed,
            "subscription changed"
        );
        if updated.active && !current.active {
            self.tell_operator(crate::alerts::reenabled(&updated)).await;
        }
        Ok(updated)
    }

    /// Gives subscription `id` a new signing secret (our user's model);
    /// the answer holds it.
    pub async fn rotate_secret(&self, id: &str) -> Result<StoredWebhook, SubscriptionError> {
        let current = self.find(id).await?;
        let mut draft = Draft::of(&current);
        draft.secret = Some(crate::ids::secret()?);
        let updated = self.update(&current, draft).await?;
        tracing::info!(webhook_id = id, "secret rotated");
        Ok(updated)
    }

    /// Re-activates subscription `id` (after the dispatcher deactivated it):
    /// PINGed, then active again.
    pub async fn activate(&self, id: &str) -> Result<StoredWebhook, SubscriptionError> {
        let current = self.find(id).await?;
        let mut draft = Draft::of(&current);
        draft.active = true;
        self.update(&current, draft).await
    }
}

impl Subscriptions {
    /// Records an operational event (the change it is about stands
    /// whatever becomes of it: a failure is logged).
    async fn tell_operator(&self, alert: Result<crate::store::Alert, crate::store::StoreError>) {
        let recorded = match alert {
            Ok(alert) => self.store.record_alerts(&[alert]).await,
            Err(err) => Err(err),
        };
        match recorded {
            Ok(()) => self.waker.wake(),
            Err(err) => tracing::warn!(error = %err, "could not record an operational event"),
        }
    }
}

/// Now, to the millisecond the store keeps.
pub(crate) fn now_millis() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

/// A `modifiedAt` after `previous`, even when the clock says otherwise.
fn next_modified(previous: DateTime<Utc>) -> DateTime<Utc> {
    now_millis().max(previous + chrono::Duration::milliseconds(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modified_at_always_moves() {
        let future = Utc::now() + chrono::Duration::hours(1);
        assert!(next_modified(future) > future);
    }
}
