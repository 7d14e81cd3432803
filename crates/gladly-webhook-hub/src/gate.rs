//! [`ChangeGate`]: once the API has answered a change to a subscription
//! (deleted, deactivated, URL changed, secret rotated), no delivery goes
//! out that the change forbids.
//!
//! Each delivery attempt passes the gate of its subscription: it holds the
//! gate's read side while it checks, in the store, that the subscription
//! is still the one its batch was read for (active, same `modifiedAt`),
//! and while it sends. A change announces itself first (attempts in
//! flight are abandoned at once, not recorded, and stay pending), then
//! takes the write side, so it commits only when no attempt of that
//! subscription is in flight, and every later attempt sees it. An
//! abandoned attempt is made again under the new state (to the new URL,
//! with the new secret) or cancelled with its subscription: receivers
//! deduplicate by event `id`.
//!
//! The gate orders changes and attempts within one hub process. Between
//! hubs sharing a PostgreSQL store the check still holds, but a change
//! committed by another process while an attempt is in flight does not
//! abandon that attempt, and the store's answer is shared by the attempts
//! of one run for up to [`FRESH`] ([`CurrentCheck`]): a change another
//! hub committed holds back every attempt that starts that long after it.
//! A change made through this process is seen by the next attempt always.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{RwLock, watch};

use crate::store::Store;

/// How long the store's word that a subscription is unchanged serves the
/// attempts of one run (see [`CurrentCheck`]).
pub const FRESH: Duration = Duration::from_millis(25);

/// Orders changes to subscriptions against their deliveries in flight.
/// The API and the dispatcher of one hub share one (see
/// [`crate::dispatch::spawn_dispatcher`]).
#[derive(Debug, Clone, Default)]
pub struct ChangeGate {
    slots: Arc<Mutex<HashMap<String, Arc<Slot>>>>,
}

#[derive(Debug)]
struct Slot {
    lock: RwLock<()>,
    changes: watch::Sender<u64>,
}

/// What became of an attempt at the gate.
#[derive(Debug)]
pub(crate) enum Passage<T> {
    /// It was sent; its result.
    Sent(T),
    /// The subscription changed since the batch was read: nothing sent.
    Stale,
    /// A change arrived while it was in flight: abandoned, not recorded.
    Abandoned,
}

impl ChangeGate {
    /// A gate no one has passed yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn slot(&self, webhook_id: &str) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots
            .entry(webhook_id.to_string())
            .or_insert_with(|| {
                Arc::new(Slot {
                    lock: RwLock::new(()),
                    changes: watch::Sender::new(0),
                })
            })
            .clone()
    }

    /// Runs `commit` (a change to subscription `webhook_id`) once no attempt
    /// to it is in flight; attempts in flight are abandoned first.
    pub(crate) async fn change<T>(&self, webhook_id: &str, commit: impl Future<Output = T>) -> T {
        let slot = self.slot(webhook_id);
        slot.changes.send_modify(|n| *n = n.wrapping_add(1));
        let _alone = slot.lock.write().await;
        commit.await
    }

    /// How many changes to `webhook_id` this process has begun.
    fn generation(&self, webhook_id: &str) -> u64 {
        *self.slot(webhook_id).changes.borrow()
    }

    /// Forgets a deleted subscription's slot.
    pub(crate) fn forget(&self, webhook_id: &str) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.remove(webhook_id);
    }

    /// Sends an attempt to `webhook_id` if `current` (the store's word that
    /// the subscription has not changed) holds, abandoning it if a change
    /// arrives meanwhile.
    pub(crate) async fn pass<T>(
        &self,
        webhook_id: &str,
        current: impl Future<Output = bool>,
        send: impl Future<Output = T>,
    ) -> Passage<T> {
        let slot = self.slot(webhook_id);
        let mut changes = slot.changes.subscribe();
        let _sending = slot.lock.read().await;
        changes.borrow_and_update();
        if !current.await {
            return Passage::Stale;
        }
        tokio::select! {
            biased;
            _ = changes.changed() => Passage::Abandoned,
            sent = send => Passage::Sent(sent),
        }
    }
}

/// The store's word that a subscription is still the one a run read
/// (active, the same `modifiedAt`), asked once for the attempts that start
/// together and reused for [`FRESH`], unless this process began a change
/// to it meanwhile. A check per attempt cost a round trip each (44,000 in
/// a fan-out run on PostgreSQL, the largest share of its time).
#[derive(Debug)]
pub(crate) struct CurrentCheck {
    store: Store,
    gate: ChangeGate,
    webhook_id: String,
    /// When the store last said yes, for which `modifiedAt`, at which
    /// generation of the gate.
    last: tokio::sync::Mutex<Option<(Instant, DateTime<Utc>, u64)>>,
}

impl CurrentCheck {
    pub(crate) fn new(store: Store, gate: ChangeGate, webhook_id: &str) -> Self {
        Self {
            store,
            gate,
            webhook_id: webhook_id.to_string(),
            last: tokio::sync::Mutex::new(None),
        }
    }

    /// Whether the subscription is still as read at `modified_at`. Called
    /// inside [`ChangeGate::pass`] (holding the gate's read side, so a
    /// change of this process is either committed and counted, or not
    /// begun).
    pub(crate) async fn holds(&self, modified_at: DateTime<Utc>) -> bool {
        let generation = self.gate.generation(&self.webhook_id);
        // Attempts starting together wait for one answer.
        let mut last = self.last.lock().await;
        if let Some((at, read, seen)) = *last
            && read == modified_at
            && seen == generation
            && at.elapsed() < FRESH
        {
            return true;
        }
        let asked = Instant::now();
        let holds = self
            .store
            .still_current(&self.webhook_id, modified_at)
            .await
            .unwrap_or(false);
        *last = holds.then_some((asked, modified_at, generation));
        holds
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_shared_check_sees_a_change_of_this_process_at_once() {
        use crate::store::{StoredWebhook, WebhookChange};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path().join("hub.db")).await.unwrap();
        let at = chrono::Utc::now();
        let at = chrono::DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap();
        let webhook = StoredWebhook::new(
            "wh_1",
            "https://example.com/",
            ["TASK_CLOSED"],
            gladly_webhook_core::Secret::new("whsec_0123456789abcdef"),
            true,
            at,
        );
        store.create_webhook(&webhook, 20).await.unwrap();
        let gate = ChangeGate::new();
        let check = CurrentCheck::new(store.clone(), gate.clone(), "wh_1");
        assert!(check.holds(at).await);
        // Answered from memory now: the store is not asked again...
        assert!(check.holds(at).await);
        // ...until this process changes the subscription: the next check
        // asks the store, within FRESH or not.
        let later = at + chrono::Duration::milliseconds(1);
        let change = WebhookChange::new("https://example.com/", ["TASK_CLOSED"], false, later);
        gate.change("wh_1", store.update_webhook("wh_1", at, &change))
            .await
            .unwrap();
        assert!(!check.holds(at).await);
        assert!(!check.holds(later).await, "inactive now");
    }

    #[tokio::test]
    async fn a_change_abandons_the_attempt_in_flight_and_waits_for_it() {
        let gate = ChangeGate::new();
        let attempt = {
            let gate = gate.clone();
            tokio::spawn(async move {
                gate.pass("wh_1", async { true }, async {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = std::time::Instant::now();
        gate.change("wh_1", async {}).await;
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(matches!(attempt.await.unwrap(), Passage::Abandoned));
        // Another subscription's attempt is not disturbed.
        let other = gate.pass("wh_2", async { true }, async { 7 }).await;
        assert!(matches!(other, Passage::Sent(7)));
        let stale = gate.pass("wh_1", async { false }, async { 7 }).await;
        assert!(matches!(stale, Passage::Stale));
    }
}
