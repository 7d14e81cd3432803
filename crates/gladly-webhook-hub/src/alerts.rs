//! Operational events: what the hub tells its operator about itself, as
//! Standard Webhooks (`{"type", "timestamp", "data"}`, signed `v1`) sent to
//! the operator's endpoints by the same dispatcher, listed at
//! `GET /api/v1/operational-events` and on the inspector.
//!
//! | type | when |
//! |---|---|
//! | `subscription.deactivated` | a delivery's last attempt failed: the subscription is deactivated (`data.reason`: the last failure) |
//! | `delivery.exhausted` | the same moment, about the delivery; for a relay's destination (never deactivated), its dead event |
//! | `subscription.backlog` | a subscription's pending deliveries or its oldest pending one's age crossed [`AlertOptions`]' threshold (once per crossing, whichever hub sees it) |
//! | `subscription.reenabled` | a deactivated subscription was made active again |
//! | `api_users.emailed` | the local Gladly (REST API 1.0): the email Gladly sends its API users when a webhook is disabled |
//!
//! An operator endpoint is never deactivated and its own failures raise no
//! event, so nothing loops. No event holds a secret: URLs are shown
//! redacted (no credentials, no query).

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use gladly_webhook_core::Secret;
use gladly_webhook_core::echo::redact_url;
use serde_json::json;
use tokio::sync::watch;

use crate::rules::Rules;
use crate::store::{
    Alert, AttemptRecord, Backlog, DueDelivery, Recipient, Store, StoreError, StoredWebhook,
};

/// `subscription.deactivated`.
pub const DEACTIVATED: &str = "subscription.deactivated";
/// `delivery.exhausted`.
pub const EXHAUSTED: &str = "delivery.exhausted";
/// `subscription.backlog`.
pub const BACKLOG: &str = "subscription.backlog";
/// `subscription.reenabled`.
pub const REENABLED: &str = "subscription.reenabled";
/// `api_users.emailed`.
pub const EMAILED: &str = "api_users.emailed";

/// Where operational events go and when a backlog is worth one.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct AlertOptions {
    /// The operator's endpoints: each URL with its Standard Webhooks secret
    /// (`whsec_...`).
    pub endpoints: Vec<(String, Secret)>,
    /// A subscription with more pending deliveries than this raises
    /// `subscription.backlog`.
    pub max_pending: Option<u64>,
    /// A subscription whose oldest pending delivery was published longer
    /// ago than this raises `subscription.backlog`.
    pub max_pending_age: Option<Duration>,
    /// How often backlogs are looked at (default 10 s).
    pub check_every: Option<Duration>,
}

impl std::fmt::Debug for AlertOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let urls: Vec<String> = self.endpoints.iter().map(|(u, _)| redact_url(u)).collect();
        f.debug_struct("AlertOptions")
            .field("endpoints", &urls)
            .field("max_pending", &self.max_pending)
            .field("max_pending_age", &self.max_pending_age)
            .field("check_every", &self.check_every)
            .finish()
    }
}

impl AlertOptions {
    /// Whether backlogs are watched.
    fn watches_backlogs(&self) -> bool {
        self.max_pending.is_some() || self.max_pending_age.is_some()
    }
}

/// The last failure of `attempt`, as events show it.
fn failure(attempt: &AttemptRecord) -> serde_json::Value {
    json!({
        "attempt": attempt.number,
        "at": attempt.at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "status": attempt.status,
        "error": attempt.error,
    })
}

/// `delivery.exhausted`, about `due` whose last attempt was `attempt`.
fn exhausted(due: &DueDelivery, attempt: &AttemptRecord) -> Result<Alert, StoreError> {
    Alert::new(
        EXHAUSTED,
        json!({
            "deliveryId": due.id, "webhookId": due.webhook_id, "eventId": due.event_id,
            "eventType": due.event_type, "attempts": attempt.number,
            "lastFailure": failure(attempt),
        }),
    )
}

/// What the last failed attempt of `due` raises: the deactivation and the
/// exhausted delivery, and in a model whose service emails its API users,
/// that email. None for an operator endpoint's delivery.
pub(crate) fn on_exhausted(
    due: &DueDelivery,
    attempt: &AttemptRecord,
) -> Result<Vec<Alert>, StoreError> {
    let model = match due.recipient {
        Recipient::Subscriber(model) => model,
        Recipient::Destination => return Ok(vec![exhausted(due, attempt)?]),
        _ => return Ok(Vec::new()),
    };
    let url = redact_url(&due.url);
    let reason = crate::store::exhausted_reason(attempt);
    let mut alerts = vec![
        Alert::new(
            DEACTIVATED,
            json!({
                "webhookId": due.webhook_id, "url": url, "reason": reason,
                "deliveryId": due.id, "eventId": due.event_id, "eventType": due.event_type,
                "lastFailure": failure(attempt),
            }),
        )?,
        exhausted(due, attempt)?,
    ];
    if Rules::of(model).emails_api_users_on_disable {
        alerts.push(Alert::new(
            EMAILED,
            json!({
                "to": "the organization's API users",
                "subject": format!("Gladly webhook {} disabled", due.webhook_id),
                "text": format!(
                    "Your webhook {} to {url} was disabled after its retries ran out ({reason}). \
                     Fix the endpoint, then enable the webhook again.",
                    due.webhook_id
                ),
                "webhookId": due.webhook_id,
            }),
        )?);
    }
    Ok(alerts)
}

/// `subscription.reenabled` for `webhook`, made active again.
pub(crate) fn reenabled(webhook: &StoredWebhook) -> Result<Alert, StoreError> {
    Alert::new(
        REENABLED,
        json!({"webhookId": webhook.id, "url": redact_url(&webhook.url)}),
    )
}

/// Whether `backlog` is over a threshold of `options` at `now`.
fn over(options: &AlertOptions, backlog: &Backlog, now: DateTime<Utc>) -> bool {
    let too_many = options.max_pending.is_some_and(|max| backlog.pending > max);
    let too_old = match (options.max_pending_age, backlog.oldest_pending_since) {
        (Some(max), Some(since)) => (now - since).to_std().unwrap_or_default() > max,
        _ => false,
    };
    too_many || too_old
}

/// Looks at every subscription's backlog: one over a threshold raises
/// `subscription.backlog` once (the store's mark says whether a hub did
/// already); one back under clears the mark.
pub(crate) async fn check_backlogs(
    store: &Store,
    options: &AlertOptions,
) -> Result<(), StoreError> {
    let now = Utc::now();
    for backlog in store.backlog().await? {
        if !over(options, &backlog, now) {
            if backlog.pending == 0 || !backlog.active {
                store.clear_backlog_alert(&backlog.webhook_id).await?;
            }
            continue;
        }
        if store.mark_backlog_alerted(&backlog.webhook_id, now).await? {
            let since = backlog
                .oldest_pending_since
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true));
            let alert = Alert::new(
                BACKLOG,
                json!({
                    "webhookId": backlog.webhook_id, "pending": backlog.pending,
                    "oldestPendingSince": since,
                    "thresholds": {
                        "pending": options.max_pending,
                        "oldestPendingSeconds": options.max_pending_age.map(|d| d.as_secs()),
                    },
                }),
            )?;
            store.record_alerts(&[alert]).await?;
            tracing::warn!(
                webhook_id = backlog.webhook_id,
                pending = backlog.pending,
                "a subscription's backlog crossed its threshold"
            );
        }
    }
    Ok(())
}

/// Checks backlogs every `options.check_every` until `stopped` turns true.
pub(crate) async fn watch_backlogs(
    store: Store,
    options: AlertOptions,
    mut stopped: watch::Receiver<bool>,
) {
    if !options.watches_backlogs() {
        return;
    }
    let every = options.check_every.unwrap_or(Duration::from_secs(10));
    loop {
        if let Err(err) = check_backlogs(&store, &options).await {
            tracing::warn!(error = %err, "could not check the backlogs; trying again");
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stopped.changed() => return,
        }
        if *stopped.borrow() {
            return;
        }
    }
}
