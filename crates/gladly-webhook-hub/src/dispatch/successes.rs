//! A window's successes on their way to the store, recorded in the
//! background while the window goes on sending.

use std::time::Duration;

use tokio::task::JoinSet;

use super::run::{BATCH, flush};
use crate::store::{AttemptRecord, Store};

/// The longest a successful attempt goes unrecorded while a run goes on.
pub(super) const FLUSH_AFTER: Duration = Duration::from_millis(100);

/// The most successes a window holds unrecorded while a record of earlier
/// ones is on its way; past it, the window waits for that record.
const MOST_UNRECORDED: usize = 4 * BATCH as usize;

/// A window's successes on their way to the store: recorded in the
/// background, one record at a time, while the window goes on sending. A
/// run ends only after [`Successes::settle`], so every success is recorded
/// (or the record failed, and those deliveries are sent again after the
/// lease) before the lease is given up.
pub(super) struct Successes {
    store: Store,
    webhook_id: String,
    token: i64,
    lease: Duration,
    /// Not yet handed to the store, and since when.
    waiting: Vec<(String, AttemptRecord)>,
    since: std::time::Instant,
    /// The record on its way (at most one).
    recording: JoinSet<bool>,
}

impl Successes {
    pub(super) fn new(store: &Store, webhook_id: &str, token: i64, lease: Duration) -> Self {
        Self {
            store: store.clone(),
            webhook_id: webhook_id.to_string(),
            token,
            lease,
            waiting: Vec::new(),
            since: std::time::Instant::now(),
            recording: JoinSet::new(),
        }
    }

    /// Whether successes wait to be handed to the store.
    pub(super) fn waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Whether a record is on its way.
    pub(super) fn recording(&self) -> bool {
        !self.recording.is_empty()
    }

    /// How long until the oldest waiting success must be recorded.
    pub(super) fn record_in(&self) -> Duration {
        FLUSH_AFTER.saturating_sub(self.since.elapsed())
    }

    /// Adds a success, and starts recording when a batch is full or its
    /// oldest has waited [`FLUSH_AFTER`]; waits for the record on its way
    /// when [`MOST_UNRECORDED`] wait. `false` when a record failed.
    pub(super) async fn push(&mut self, delivery_id: String, attempt: AttemptRecord) -> bool {
        if self.waiting.is_empty() {
            self.since = std::time::Instant::now();
        }
        self.waiting.push((delivery_id, attempt));
        let mut ok = true;
        if self.waiting.len() >= MOST_UNRECORDED && self.recording() {
            ok = self.recorded().await;
        }
        self.start_when_due();
        ok
    }

    /// Starts recording when a batch is full or has waited long enough.
    pub(super) fn start_when_due(&mut self) {
        if self.waiting.len() >= BATCH as usize || self.record_in().is_zero() {
            self.start();
        }
    }

    /// Starts recording what waits, unless a record is on its way.
    pub(super) fn start(&mut self) {
        if self.recording() || self.waiting.is_empty() {
            return;
        }
        let mut batch = std::mem::take(&mut self.waiting);
        let (store, webhook_id, token, lease) = (
            self.store.clone(),
            self.webhook_id.clone(),
            self.token,
            self.lease,
        );
        self.recording
            .spawn(async move { flush(&store, lease, &webhook_id, token, &mut batch).await });
    }

    /// Waits for the record on its way (if any): `false` when it failed.
    pub(super) async fn recorded(&mut self) -> bool {
        match self.recording.join_next().await {
            None | Some(Ok(true)) => true,
            Some(Ok(false)) => false,
            Some(Err(err)) => {
                tracing::error!(webhook_id = self.webhook_id, error = %err, "recording deliveries failed to run; they will be sent again after the lease");
                false
            }
        }
    }

    /// Records everything: waits for the record on its way, then records
    /// what waits and waits for that. `false` when a record failed.
    pub(super) async fn settle(&mut self) -> bool {
        let earlier = self.recorded().await;
        self.start();
        let rest = self.recorded().await;
        earlier && rest
    }
}
