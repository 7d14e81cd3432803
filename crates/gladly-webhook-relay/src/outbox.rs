//! Where the relay keeps what its inputs verified: the hub's store, each
//! event with one delivery per destination that receives its type,
//! committed before Gladly is answered.

use chrono::{DateTime, Utc};
use gladly_webhook_hub::store::PublishError;
use gladly_webhook_hub::{Store, Waker};
use gladly_webhook_receiver::inbox::{BoxFuture, Inserted, NewEvent, State};
use gladly_webhook_receiver::{BoxError, Keeper};

/// How long an answer waits for the store: past it the delivery is answered
/// 503 and Gladly retries (measured: with PostgreSQL down, a publication
/// failed only after 25 s of connection attempts and its retry alone). A
/// publication that commits after this is recognised when Gladly retries:
/// answered 200, kept once.
pub(crate) const KEEP_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

/// The relay's [`Keeper`]: a verified event is published to the store
/// (group-committed with the others arriving meanwhile) and the dispatcher
/// woken; a repeat of an id is recognised; an authentic delivery that is
/// not a well-formed event is kept for inspection and sent nowhere.
pub(crate) struct Outbox {
    pub(crate) store: Store,
    pub(crate) waker: Waker,
}

impl Keeper for Outbox {
    fn keep(&self, event: NewEvent) -> BoxFuture<'_, Result<Inserted, BoxError>> {
        Box::pin(async move {
            if event.state == State::Dead {
                let reason = event.error.as_deref().unwrap_or("not a well-formed event");
                tracing::warn!(
                    key = %event.dedup_key,
                    reason,
                    "an authentic delivery is not a well-formed event: kept, sent nowhere"
                );
                let kept = self.store.keep_malformed(
                    &event.dedup_key,
                    &event.event_type,
                    &event.body,
                    reason,
                );
                let new = tokio::time::timeout(KEEP_DEADLINE, kept)
                    .await
                    .map_err(|_| "the store did not answer in time".to_string())??;
                return Ok(if new {
                    Inserted::New
                } else {
                    Inserted::Duplicate
                });
            }
            let now = Utc::now();
            let occurred = timestamp_of(&event.body).unwrap_or(now);
            let publication = self.store.publish(
                &event.dedup_key,
                &event.event_type,
                occurred,
                &event.body,
                &event.body,
                now,
            );
            let Ok(published) = tokio::time::timeout(KEEP_DEADLINE, publication).await else {
                return Err(format!(
                    "the store did not answer within {} s",
                    KEEP_DEADLINE.as_secs()
                )
                .into());
            };
            match published {
                Ok(published) if published.created => {
                    if !published.deliveries.is_empty() {
                        self.waker.wake();
                    }
                    Ok(Inserted::New)
                }
                Ok(_) => Ok(Inserted::Duplicate),
                // Answered 200 all the same: a 4xx would make Gladly retry
                // and then disable the webhook, for an event already kept.
                Err(PublishError::IdReused) => {
                    tracing::warn!(
                        event_id = %event.dedup_key,
                        "Gladly sent an event id again with another body: the first is kept and sent, this one is not"
                    );
                    Ok(Inserted::Duplicate)
                }
                Err(err) => Err(Box::new(err) as BoxError),
            }
        })
    }
}

/// The event's `timestamp`, if it has an RFC 3339 one.
fn timestamp_of(body: &[u8]) -> Option<DateTime<Utc>> {
    #[derive(serde::Deserialize)]
    struct Stamp {
        timestamp: Option<String>,
    }
    let stamp: Stamp = serde_json::from_slice(body).ok()?;
    DateTime::parse_from_rfc3339(&stamp.timestamp?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
