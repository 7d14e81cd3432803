//! Workers on each backend: exclusive runs across two worker sets (two
//! pools, as two processes would have), retries to `dead`, a worker dropped
//! mid-run, lease renewal and graceful shutdown.

use crate::common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use gladly_webhook_core::event::ParsedEvent;
use gladly_webhook_core::gladly_schema::event::ConversationClosed;
use gladly_webhook_receiver::inbox::{Inbox, ListFilter, NewEvent, PgInbox, SqliteInbox, State};
use gladly_webhook_receiver::{
    Delivery, Handlers, RetryPolicy, WorkerOptions, Workers, spawn_workers,
};

fn fast() -> WorkerOptions {
    WorkerOptions::default()
        .poll_interval(Duration::from_millis(20))
        .retry(RetryPolicy::new(
            3,
            Duration::from_millis(10),
            Duration::from_millis(50),
        ))
}

/// A second handle on the same store, as another process would open it.
async fn second_handle(backend: &TestInbox) -> Arc<dyn Inbox> {
    let url = backend.url.clone().unwrap();
    match backend.name {
        "sqlite" => Arc::new(SqliteInbox::open(url).await.unwrap()),
        _ => Arc::new(PgInbox::connect(&url).await.unwrap()),
    }
}

async fn all_done(inbox: &dyn Inbox, n: u64) -> bool {
    let stats = inbox.stats().await.unwrap();
    stats.done == n
}

/// Records runs: how many per id, and any overlap of two runs of one id.
#[derive(Default)]
struct Runs {
    running: Mutex<HashSet<String>>,
    count: Mutex<HashMap<String, u32>>,
    overlaps: Mutex<Vec<String>>,
}

impl Runs {
    fn handlers(self: &Arc<Self>) -> Handlers {
        let runs = Arc::clone(self);
        Handlers::new().on(move |closed: Delivery<ConversationClosed>| {
            let runs = Arc::clone(&runs);
            async move {
                let id = closed.event_id.clone().unwrap();
                if !runs.running.lock().unwrap().insert(id.clone()) {
                    runs.overlaps.lock().unwrap().push(id.clone());
                }
                tokio::time::sleep(Duration::from_millis(fastrand::u64(0..5))).await;
                *runs.count.lock().unwrap().entry(id.clone()).or_default() += 1;
                runs.running.lock().unwrap().remove(&id);
                Ok(())
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_sets_never_run_one_event_at_once_and_each_runs_once() {
    for backend in backends().await {
        let name = backend.name;
        let other = second_handle(&backend).await;
        const EVENTS: usize = 200;
        for i in 0..EVENTS {
            backend
                .inbox
                .insert(new_event(&format!("evt_{i:03}")))
                .await
                .unwrap();
        }
        let runs = Arc::new(Runs::default());
        let first = spawn_workers(Arc::clone(&backend.inbox), runs.handlers(), 4, fast());
        let second = spawn_workers(Arc::clone(&other), runs.handlers(), 4, fast());
        assert!(
            eventually(Duration::from_secs(60), || all_done(
                backend.inbox.as_ref(),
                EVENTS as u64
            ))
            .await,
            "{name}: {:?}",
            backend.inbox.stats().await
        );
        first.shutdown(Duration::from_secs(5)).await;
        second.shutdown(Duration::from_secs(5)).await;
        assert!(
            runs.overlaps.lock().unwrap().is_empty(),
            "{name}: overlapping runs"
        );
        let count = runs.count.lock().unwrap();
        assert_eq!(count.len(), EVENTS, "{name}");
        assert!(
            count.values().all(|&n| n == 1),
            "{name}: an event ran twice"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_retry_with_backoff_then_die_keeping_the_error() {
    for backend in backends().await {
        let inbox = Arc::clone(&backend.inbox);
        inbox.insert(new_event("evt_fail")).await.unwrap();
        let handlers = Handlers::new().on(|closed: Delivery<ConversationClosed>| async move {
            Err(format!("attempt {} failed", closed.attempt).into())
        });
        let workers = spawn_workers(Arc::clone(&inbox), handlers, 2, fast());
        assert!(
            eventually(Duration::from_secs(30), || async {
                inbox.get("evt_fail").await.unwrap().unwrap().state == State::Dead
            })
            .await
        );
        let row = inbox.get("evt_fail").await.unwrap().unwrap();
        assert_eq!(
            row.attempts, 3,
            "{}: RetryPolicy::max_attempts",
            backend.name
        );
        assert_eq!(row.last_error.as_deref(), Some("attempt 3 failed"));
        let outcomes: Vec<String> = inbox
            .history(row.seq)
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.outcome)
            .collect();
        assert_eq!(outcomes, ["failed", "failed", "dead"]);
        workers.shutdown(Duration::from_secs(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_dropped_mid_run_loses_its_lease_and_the_event_runs_again() {
    for backend in backends().await {
        let inbox = Arc::clone(&backend.inbox);
        inbox.insert(new_event("evt_slow")).await.unwrap();
        let started = Arc::new(tokio::sync::Notify::new());
        let starts = Arc::new(Mutex::new(0u32));
        let handlers = {
            let (started, starts) = (Arc::clone(&started), Arc::clone(&starts));
            Handlers::new().on(move |_: Delivery<ConversationClosed>| {
                let (started, starts) = (Arc::clone(&started), Arc::clone(&starts));
                async move {
                    let first = {
                        let mut n = starts.lock().unwrap();
                        *n += 1;
                        *n == 1
                    };
                    started.notify_one();
                    if first {
                        // The first run hangs until its worker is dropped.
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    Ok(())
                }
            })
        };
        let options = fast().lease(Duration::from_millis(600));
        let doomed: Workers =
            spawn_workers(Arc::clone(&inbox), handlers.clone(), 1, options.clone());
        started.notified().await;
        drop(doomed);
        assert_eq!(
            inbox.get("evt_slow").await.unwrap().unwrap().state,
            State::Running
        );

        let rescuer = spawn_workers(Arc::clone(&inbox), handlers, 1, options);
        assert!(
            eventually(Duration::from_secs(30), || all_done(inbox.as_ref(), 1)).await,
            "{}",
            backend.name
        );
        let row = inbox.get("evt_slow").await.unwrap().unwrap();
        assert_eq!(
            row.attempts, 2,
            "{}: claimed again after the lease",
            backend.name
        );
        assert_eq!(*starts.lock().unwrap(), 2);
        rescuer.shutdown(Duration::from_secs(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_handler_keeps_its_lease() {
    for backend in backends().await {
        let inbox = Arc::clone(&backend.inbox);
        let other = second_handle(&backend).await;
        inbox.insert(new_event("evt_long")).await.unwrap();
        let runs = Arc::new(Mutex::new(0u32));
        let handlers = {
            let runs = Arc::clone(&runs);
            Handlers::new().on(move |_: Delivery<ConversationClosed>| {
                let runs = Arc::clone(&runs);
                async move {
                    *runs.lock().unwrap() += 1;
                    // Three leases long: renewed every third of a lease.
                    tokio::time::sleep(Duration::from_millis(1500)).await;
                    Ok(())
                }
            })
        };
        let options = fast().lease(Duration::from_millis(500));
        let first = spawn_workers(Arc::clone(&inbox), handlers.clone(), 1, options.clone());
        let second = spawn_workers(other, handlers, 1, options);
        assert!(eventually(Duration::from_secs(30), || all_done(inbox.as_ref(), 1)).await);
        assert_eq!(
            *runs.lock().unwrap(),
            1,
            "{}: never claimed while it ran",
            backend.name
        );
        assert_eq!(inbox.get("evt_long").await.unwrap().unwrap().attempts, 1);
        first.shutdown(Duration::from_secs(5)).await;
        second.shutdown(Duration::from_secs(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_short_runs_finish_and_releases_long_ones() {
    for backend in backends().await {
        let inbox = Arc::clone(&backend.inbox);
        inbox.insert(new_event("evt_short")).await.unwrap();
        inbox.insert(new_event("evt_stuck")).await.unwrap();
        let started = Arc::new(tokio::sync::Semaphore::new(0));
        let handlers = {
            let started = Arc::clone(&started);
            Handlers::new().on(move |closed: Delivery<ConversationClosed>| {
                let started = Arc::clone(&started);
                async move {
                    started.add_permits(1);
                    let long = closed.event_id.as_deref() == Some("evt_stuck");
                    let wait = if long { 3_600_000 } else { 200 };
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                    Ok(())
                }
            })
        };
        let workers = spawn_workers(Arc::clone(&inbox), handlers, 2, fast());
        let _both = started.acquire_many(2).await.unwrap();
        let report = workers.shutdown(Duration::from_millis(800)).await;
        assert_eq!(report.released, 1, "{}", backend.name);
        let short = inbox.get("evt_short").await.unwrap().unwrap();
        assert_eq!(
            short.state,
            State::Done,
            "{}: finished within the grace",
            backend.name
        );
        let stuck = inbox.get("evt_stuck").await.unwrap().unwrap();
        assert_eq!(
            (stuck.state, stuck.attempts),
            (State::Pending, 0),
            "{}: released, not counted",
            backend.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_types_go_to_on_unknown_and_everything_to_on_any() {
    let backend = sqlite().await;
    let inbox = Arc::clone(&backend.inbox);
    inbox.insert(new_event("evt_known")).await.unwrap();
    let body = br#"{"id":"evt_newer","type":"CONVERSATION_REOPENED","content":{"x":1}}"#.to_vec();
    inbox
        .insert(NewEvent::new(
            body,
            Some("evt_newer".into()),
            "CONVERSATION_REOPENED".into(),
            State::Pending,
            None,
        ))
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let handlers = {
        let (a, b) = (Arc::clone(&seen), Arc::clone(&seen));
        Handlers::new()
            .on_unknown(move |unknown| {
                let seen = Arc::clone(&a);
                async move {
                    seen.lock()
                        .unwrap()
                        .push(format!("unknown {}", unknown.content.event_type));
                    Ok(())
                }
            })
            .on_any(move |any: Delivery<ParsedEvent>| {
                let seen = Arc::clone(&b);
                async move {
                    seen.lock().unwrap().push(format!("any {}", any.event_type));
                    Ok(())
                }
            })
    };
    let workers = spawn_workers(Arc::clone(&inbox), handlers, 1, fast());
    assert!(eventually(Duration::from_secs(30), || all_done(inbox.as_ref(), 2)).await);
    workers.shutdown(Duration::from_secs(5)).await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            "any CONVERSATION_CLOSED",
            "unknown CONVERSATION_REOPENED",
            "any CONVERSATION_REOPENED"
        ]
    );
    assert_eq!(inbox.list(ListFilter::default()).await.unwrap().len(), 2);
}

/// A receiver and workers in separate processes: the workers learn of new
/// work from PostgreSQL's NOTIFY, not from their next poll (set here to
/// ten minutes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_in_another_process_are_woken_by_the_database() {
    let Some(backend) = postgres().await else {
        return;
    };
    let other = second_handle(&backend).await;
    assert!(other.wakeups().is_some() && sqlite().await.inbox.wakeups().is_none());
    let runs = Arc::new(Runs::default());
    let options = fast().poll_interval(Duration::from_secs(600));
    let workers = spawn_workers(Arc::clone(&other), runs.handlers(), 1, options);
    // Let the worker find nothing and settle into its wait.
    tokio::time::sleep(Duration::from_millis(500)).await;
    backend.inbox.insert(new_event("evt_far")).await.unwrap();
    assert!(
        eventually(Duration::from_secs(60), || all_done(
            backend.inbox.as_ref(),
            1
        ))
        .await,
        "{:?}",
        backend.inbox.stats().await
    );
    workers.shutdown(Duration::from_secs(5)).await;
}
