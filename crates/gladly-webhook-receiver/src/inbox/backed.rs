//! [`Inbox`] for the built-in backends, written once: writes are typed
//! jobs handed to the backend ([`Backed::submit`]), reads run on its read
//! pool.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use tokio::sync::{Notify, oneshot};

use super::backend::Pool;
use super::jobs::{Job, Reply};
use super::{
    BoxFuture, Claimed, HistoryEntry, Inbox, InboxError, Inserted, ListFilter, NewEvent, Outcome,
    RequeueRange, State, Stats, StoredEvent, reads,
};

/// A built-in backend: where its jobs go and what it reads from.
pub(crate) trait Backed: Send + Sync + 'static {
    /// Runs `job` (answering it through its reply), on its own or with
    /// the other jobs queued meanwhile.
    fn submit(&self, job: Job) -> BoxFuture<'_, ()>;

    /// The pool reads go through.
    fn reads(&self) -> &Pool;

    /// See [`Inbox::wakeups`].
    fn wakeups(&self) -> Option<Arc<Notify>> {
        None
    }
}

/// Submits the job `make` builds around a reply, and waits for the answer.
async fn ask<B: Backed + ?Sized, T>(
    backend: &B,
    make: impl FnOnce(Reply<T>) -> Job,
) -> Result<T, InboxError> {
    let (reply, answer) = oneshot::channel();
    backend.submit(make(reply)).await;
    answer.await.map_err(|_| InboxError::Closed)?
}

impl<B: Backed> Inbox for B {
    fn insert(&self, event: NewEvent) -> BoxFuture<'_, Result<Inserted, InboxError>> {
        Box::pin(ask(self, |reply| Job::Insert(event, reply)))
    }

    fn claim(&self, lease: Duration) -> BoxFuture<'_, Result<Option<Claimed>, InboxError>> {
        Box::pin(ask(self, move |reply| Job::Claim(lease, reply)))
    }

    fn extend_lease(
        &self,
        seq: i64,
        lease_token: i64,
        lease: Duration,
    ) -> BoxFuture<'_, Result<bool, InboxError>> {
        Box::pin(ask(self, move |reply| Job::Extend {
            seq,
            lease_token,
            lease,
            reply,
        }))
    }

    fn finish(
        &self,
        seq: i64,
        lease_token: i64,
        outcome: Outcome,
    ) -> BoxFuture<'_, Result<bool, InboxError>> {
        Box::pin(ask(self, move |reply| Job::Finish {
            seq,
            lease_token,
            outcome,
            reply,
        }))
    }

    fn requeue<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, InboxError>> {
        Box::pin(ask(self, |reply| Job::Requeue(key.to_string(), reply)))
    }

    fn requeue_all_dead(&self) -> BoxFuture<'_, Result<u64, InboxError>> {
        self.requeue_range(RequeueRange::all_dead())
    }

    fn requeue_range(&self, range: RequeueRange) -> BoxFuture<'_, Result<u64, InboxError>> {
        Box::pin(async move {
            if !matches!(range.state, State::Dead | State::Done) {
                return Err(InboxError::NotRequeueable(range.state));
            }
            if let Some(until) = range.until
                && until <= range.since
            {
                let rfc3339 = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
                return Err(InboxError::EmptyRange {
                    since: rfc3339(range.since),
                    until: rfc3339(until),
                });
            }
            ask(self, |reply| Job::RequeueRange(range, reply)).await
        })
    }

    fn rerun<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, InboxError>> {
        Box::pin(ask(self, |reply| Job::Rerun(key.to_string(), reply)))
    }

    fn cursor<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>, InboxError>> {
        Box::pin(reads::cursor(self.reads(), name))
    }

    fn set_cursor<'a>(
        &'a self,
        name: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<(), InboxError>> {
        Box::pin(ask(self, |reply| Job::SetCursor {
            name: name.to_string(),
            value: value.to_string(),
            reply,
        }))
    }

    fn purge(&self, retention: Duration) -> BoxFuture<'_, Result<u64, InboxError>> {
        Box::pin(ask(self, move |reply| Job::Purge(retention, reply)))
    }

    fn stats(&self) -> BoxFuture<'_, Result<Stats, InboxError>> {
        Box::pin(reads::stats(self.reads()))
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), InboxError>> {
        Box::pin(reads::ping(self.reads()))
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredEvent>, InboxError>> {
        Box::pin(reads::get(self.reads(), key))
    }

    fn history(&self, seq: i64) -> BoxFuture<'_, Result<Vec<HistoryEntry>, InboxError>> {
        Box::pin(reads::history(self.reads(), seq))
    }

    fn list(&self, filter: ListFilter) -> BoxFuture<'_, Result<Vec<StoredEvent>, InboxError>> {
        Box::pin(reads::list(self.reads(), filter))
    }

    fn wakeups(&self) -> Option<Arc<Notify>> {
        Backed::wakeups(self)
    }
}
