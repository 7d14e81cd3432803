//! What the store keeps and returns.

use std::fmt;

use chrono::{DateTime, Utc};
use gladly_webhook_core::gladly_schema::EventType;
use gladly_webhook_core::model::Model;
use gladly_webhook_core::{Secret, Webhook};
use serde::Serialize;

/// A subscription as stored, of either model. `Debug` never shows the
/// secret.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StoredWebhook {
    /// The server-assigned id.
    pub id: String,
    /// The model it belongs to: our user's subscription (signed
    /// deliveries) or a REST API 1.0 webhook (credentials and headers).
    pub model: Model,
    /// A free label (REST API 1.0 `name`).
    pub name: Option<String>,
    /// Where its events are POSTed.
    pub url: String,
    /// The event types it receives, as the model names them.
    pub events: Vec<String>,
    /// What authenticates its deliveries: the signing secret (subscription
    /// model), or the webhook's credentials and header values
    /// (REST API 1.0: the credentials and headers, as JSON).
    pub secret: Secret,
    /// The names of the headers its deliveries carry (REST API 1.0
    /// `headerKeys`; their values are in `secret`).
    pub header_keys: Vec<String>,
    /// Whether events are delivered to it (`active` / `enabled`).
    pub active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed (`modifiedAt` / `updatedAt`).
    pub modified_at: DateTime<Utc>,
    /// When the dispatcher deactivated it because its retries ran out,
    /// until it is enabled again.
    pub disabled_at_retry_limit: Option<DateTime<Utc>>,
    /// The most deliveries a second to it, when limited
    /// ([`Store::set_rate_limit`](super::Store::set_rate_limit)).
    pub rate_limit: Option<u32>,
    /// Until when its receiver asked for no delivery (`429` or `503` with
    /// `Retry-After`, in our user's model).
    pub paused_until: Option<DateTime<Utc>>,
}

impl StoredWebhook {
    /// A subscription of our user's model created at `at` (its
    /// `modifiedAt` too).
    pub fn new<T: ToString>(
        id: impl Into<String>,
        url: impl Into<String>,
        events: impl IntoIterator<Item = T>,
        secret: Secret,
        active: bool,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: id.into(),
            model: Model::Subscription,
            name: None,
            url: url.into(),
            events: events.into_iter().map(|t| t.to_string()).collect(),
            secret,
            header_keys: Vec::new(),
            active,
            created_at: at,
            modified_at: at,
            disabled_at_retry_limit: None,
            rate_limit: None,
            paused_until: None,
        }
    }

    /// The same subscription in `model`, named `name`, its deliveries
    /// carrying headers named `header_keys`.
    pub fn in_model(
        mut self,
        model: Model,
        name: Option<String>,
        header_keys: Vec<String>,
    ) -> Self {
        self.model = model;
        self.name = name;
        self.header_keys = header_keys;
        self
    }

    /// The subscription as our user's schema's [`Webhook`]; the secret only
    /// when `with_secret` (the answers to a create and a rotation). An
    /// event name the schema does not know is left out.
    pub fn to_webhook(&self, with_secret: bool) -> Webhook {
        Webhook {
            id: self.id.clone(),
            url: self.url.clone(),
            events: self
                .events
                .iter()
                .filter_map(|t| t.parse::<EventType>().ok())
                .collect(),
            secret: with_secret.then(|| self.secret.clone()),
            active: Some(self.active),
            created_at: Some(self.created_at),
            modified_at: Some(self.modified_at),
        }
    }

    /// Whether it receives events of `event_type`.
    pub fn subscribes_to(&self, event_type: &str) -> bool {
        subscribes_to(&self.events, event_type)
    }
}

/// Whether a subscription or destination to `patterns` receives an event
/// of `event_type`: a pattern is a type name, matched exactly, or ends in
/// `*`, matching every type that starts with what comes before it
/// (`CONVERSATION/*`, `CONVERSATION_*`; `*` alone is every type). Type
/// names never hold a `*`, so a subscription's names match only
/// themselves.
///
/// ```
/// use gladly_webhook_hub::store::subscribes_to;
/// let patterns = ["CONVERSATION/*".to_string(), "TASK/CLOSED".to_string()];
/// assert!(subscribes_to(&patterns, "CONVERSATION/CLOSED"));
/// assert!(subscribes_to(&patterns, "TASK/CLOSED"));
/// assert!(!subscribes_to(&patterns, "TASK/CREATED"));
/// assert!(!subscribes_to(&patterns, "CONVERSATION"));
/// ```
pub fn subscribes_to(patterns: &[String], event_type: &str) -> bool {
    patterns
        .iter()
        .any(|pattern| match pattern.strip_suffix('*') {
            Some("") => true,
            Some(prefix) => event_type.len() > prefix.len() && event_type.starts_with(prefix),
            None => pattern == event_type,
        })
}

/// A change to a subscription: every field it will have.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WebhookChange {
    /// The URL.
    pub url: String,
    /// The event types.
    pub events: Vec<String>,
    /// Whether it is active.
    pub active: bool,
    /// A new secret (or, REST API 1.0, new credentials and headers).
    pub secret: Option<Secret>,
    /// The new `modifiedAt`.
    pub modified_at: DateTime<Utc>,
    /// The name (REST API 1.0).
    pub name: Option<String>,
    /// The header names (REST API 1.0), when they change with `secret`.
    pub header_keys: Option<Vec<String>>,
}

impl WebhookChange {
    /// A change to these fields, the secret, name and headers kept.
    pub fn new<T: ToString>(
        url: impl Into<String>,
        events: impl IntoIterator<Item = T>,
        active: bool,
        modified_at: DateTime<Utc>,
    ) -> Self {
        Self {
            url: url.into(),
            events: events.into_iter().map(|t| t.to_string()).collect(),
            active,
            secret: None,
            modified_at,
            name: None,
            header_keys: None,
        }
    }

    /// The same change, with a new secret.
    pub fn with_secret(mut self, secret: Secret) -> Self {
        self.secret = Some(secret);
        self
    }

    /// The same change, with this name (`None` removes it).
    pub fn with_name(mut self, name: Option<String>) -> Self {
        self.name = name;
        self
    }

    /// The same change, with new credentials and headers (REST API 1.0):
    /// their sealed form and the headers' names.
    pub fn with_rest_secrets(mut self, secret: Secret, header_keys: Vec<String>) -> Self {
        self.secret = Some(secret);
        self.header_keys = Some(header_keys);
        self
    }
}

/// The state of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// A 2xx answer came.
    Delivered,
    /// Every attempt failed; the subscription was deactivated.
    Failed,
    /// Not to be sent: the subscription was deleted or deactivated.
    Cancelled,
}

impl DeliveryState {
    /// The state as the API writes it: `pending`, `delivered`, `failed`, `cancelled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// The state a row holds.
    pub(crate) fn read(text: &str) -> Result<Self, super::StoreError> {
        Ok(match text {
            "pending" => Self::Pending,
            "delivered" => Self::Delivered,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            _ => {
                return Err(super::StoreError::Corrupt(format!(
                    "delivery state {text:?}"
                )));
            }
        })
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AttemptRecord {
    /// 1 for the first attempt.
    pub number: u32,
    /// When it started.
    pub at: DateTime<Utc>,
    /// The HTTP status, when an answer came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// What went wrong when no answer came (refused, timed out...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// What a destination that is not HTTP acknowledged, in a few words
    /// (a JetStream stream and sequence): the attempt succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack: Option<String>,
    /// The wait a `429` or `503` asked for with `Retry-After` (not kept in
    /// the store: it acts once, on the subscription's pause).
    #[serde(skip)]
    pub retry_after: Option<std::time::Duration>,
}

impl AttemptRecord {
    /// An attempt record.
    pub fn new(
        number: u32,
        at: DateTime<Utc>,
        status: Option<u16>,
        error: Option<String>,
        duration_ms: u64,
    ) -> Self {
        Self {
            number,
            at,
            status,
            error,
            duration_ms,
            ack: None,
            retry_after: None,
        }
    }

    /// A successful attempt of a destination that acknowledges with `ack`
    /// (such as "stream GLADLY, sequence 42") instead of an HTTP status.
    pub fn acknowledged(number: u32, at: DateTime<Utc>, ack: String, duration_ms: u64) -> Self {
        let mut record = Self::new(number, at, None, None, duration_ms);
        record.ack = Some(ack);
        record
    }

    /// Whether the destination took it: a 2xx answer, or an
    /// acknowledgement.
    pub fn succeeded(&self) -> bool {
        self.ack.is_some() || self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// The attempt's result in a few words: the status, or what went
    /// wrong.
    pub fn summary(&self) -> String {
        if let Some(ack) = &self.ack {
            return ack.clone();
        }
        match (self.status, &self.error) {
            (Some(status), _) => format!("HTTP {status}"),
            (None, Some(error)) => error.clone(),
            (None, None) => "no answer".to_string(),
        }
    }
}

/// A delivery (one event to one subscription) with its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DeliveryRecord {
    /// The delivery's id.
    pub id: String,
    /// The subscription it goes to.
    pub webhook_id: String,
    /// The event's id.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// When it was created (the event's publication).
    pub created_at: DateTime<Utc>,
    /// When the next attempt is due, while pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When it was delivered, failed or cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it was cancelled or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Its attempts, in order.
    pub attempts: Vec<AttemptRecord>,
}

/// A delivery just created by a publication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct NewDelivery {
    /// The delivery's id.
    pub id: String,
    /// The subscription it goes to.
    pub webhook_id: String,
    /// The subscription's URL.
    pub url: String,
    /// Where it stands.
    pub state: DeliveryState,
}

/// What a publication stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Published {
    /// `false` when the same event had been published before: nothing new
    /// was stored and `deliveries` are the first publication's.
    pub created: bool,
    /// When the event was first published.
    pub published_at: DateTime<Utc>,
    /// One per subscription the event goes to.
    pub deliveries: Vec<NewDelivery>,
}

/// Where a read of the Events API stands: after the event with this
/// `timestamp` (in milliseconds since the epoch) and store sequence number.
/// [`EventsCursor::START`] reads from the first event of the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventsCursor {
    /// The last event's `timestamp`, in milliseconds since the epoch.
    pub occurred_at_ms: i64,
    /// The last event's sequence number in the store.
    pub seq: i64,
}

impl EventsCursor {
    /// Before every event.
    pub const START: Self = Self {
        occurred_at_ms: i64::MIN,
        seq: i64::MIN,
    };
}

/// Which of a subscription's pending deliveries a dispatcher may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryOrder {
    /// Strictly in publish order: a subscription is due when its oldest
    /// pending delivery is, and a delivery waiting for a retry holds every
    /// later one back.
    Publish,
    /// Any due delivery, several at once: one waiting for a retry holds
    /// nothing back.
    Window,
}

/// A pending delivery a dispatcher is to send, with what sending needs.
#[derive(Clone)]
#[non_exhaustive]
pub struct DueDelivery {
    /// The delivery's id.
    pub id: String,
    /// The subscription.
    pub webhook_id: String,
    /// Its place in publish order (the event's sequence number).
    pub seq: i64,
    /// The event's id.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// How many of those were made before the schedule in force began (0
    /// unless the delivery was recovered: its waits start again).
    pub schedule_from: u32,
    /// When the next attempt is due.
    pub next_attempt_at: DateTime<Utc>,
    /// When the event was published.
    pub published_at: DateTime<Utc>,
    /// The event as it is sent.
    pub body: Vec<u8>,
    /// The subscription's URL.
    pub url: String,
    /// Who receives it, so how it is authenticated: a subscription of a
    /// model, or one of the operator's endpoints.
    pub recipient: Recipient,
    /// The subscription's secret (see [`StoredWebhook::secret`]).
    pub secret: Secret,
    /// The subscription's `modifiedAt` when this was read: an attempt goes
    /// out only while it is unchanged (the change gate).
    pub webhook_modified_at: DateTime<Utc>,
}

impl fmt::Debug for DueDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DueDelivery")
            .field("id", &self.id)
            .field("webhook_id", &self.webhook_id)
            .field("event_id", &self.event_id)
            .field("event_type", &self.event_type)
            .field("attempts", &self.attempts)
            .field("schedule_from", &self.schedule_from)
            .field("next_attempt_at", &self.next_attempt_at)
            .field("published_at", &self.published_at)
            .field("body_bytes", &self.body.len())
            .field("url", &gladly_webhook_core::echo::redact_url(&self.url))
            .field("recipient", &self.recipient)
            .field("secret", &self.secret)
            .field("webhook_modified_at", &self.webhook_modified_at)
            .finish()
    }
}

/// A subscription's pending deliveries, as [`crate::Store::backlog`]
/// reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Backlog {
    /// The subscription.
    pub webhook_id: String,
    /// Whether it is active (an inactive one's deliveries were cancelled).
    pub active: bool,
    /// Its pending deliveries.
    pub pending: u64,
    /// When the earliest of them is due.
    pub oldest_due: Option<DateTime<Utc>>,
    /// When the oldest of them (in publish order) was published.
    pub oldest_pending_since: Option<DateTime<Utc>>,
}

/// Who a delivery goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recipient {
    /// A subscription of this model: signed with its secret (our user's
    /// model) or carrying its credentials and headers (REST API 1.0).
    Subscriber(Model),
    /// One of the operator's endpoints: an operational event, signed as
    /// Standard Webhooks do.
    Operator,
    /// A relay's destination: an event passed on as Standard Webhooks, by
    /// the rules of its [`Destination`](crate::destinations::Destination).
    Destination,
}

impl Recipient {
    /// The name the store's `model` column holds for the operator's
    /// endpoints.
    pub const OPERATOR: &'static str = "operator";
    /// The name the store's `model` column holds for a relay's
    /// destinations.
    pub const DESTINATION: &'static str = "destination";

    /// The recipient the `model` column names.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            Self::OPERATOR => Some(Self::Operator),
            Self::DESTINATION => Some(Self::Destination),
            other => Model::from_name(other).map(Self::Subscriber),
        }
    }
}

/// A subscription the dispatcher deactivated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Deactivation {
    /// The subscription.
    pub webhook_id: String,
    /// Its URL then.
    pub url: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The delivery whose attempts ran out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<String>,
    /// That delivery's event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Why.
    pub reason: String,
}
