//! The inbox conformance suite: the same checks, through the `Inbox`
//! trait, on SQLite and on PostgreSQL.

use crate::common;

use std::time::Duration;

use chrono::Utc;
use common::*;
use gladly_webhook_receiver::inbox::{
    Inbox, InboxError, Inserted, ListFilter, NewEvent, Outcome, RequeueRange, State,
};

async fn state(inbox: &dyn Inbox, key: &str) -> (State, u32) {
    let row = inbox.get(key).await.unwrap().unwrap();
    (row.state, row.attempts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insert_dedups_by_id_and_by_body_hash() {
    for backend in backends().await {
        let inbox = backend.inbox.as_ref();
        assert_eq!(inbox.insert(new_event("a")).await.unwrap(), Inserted::New);
        assert_eq!(
            inbox.insert(new_event("a")).await.unwrap(),
            Inserted::Duplicate
        );
        let no_id = |body: &[u8]| {
            NewEvent::new(
                body.to_vec(),
                None,
                String::new(),
                State::Dead,
                Some("no id".into()),
            )
        };
        assert_eq!(inbox.insert(no_id(b"x")).await.unwrap(), Inserted::New);
        assert_eq!(
            inbox.insert(no_id(b"x")).await.unwrap(),
            Inserted::Duplicate
        );
        assert_eq!(inbox.insert(no_id(b"y")).await.unwrap(), Inserted::New);
        let rows = inbox.list(ListFilter::default()).await.unwrap();
        assert_eq!(rows.len(), 3, "{}", backend.name);
        // Dead on arrival is in the history.
        let dead = inbox
            .get(&gladly_webhook_receiver::inbox::dedup_key(None, b"x"))
            .await
            .unwrap()
            .unwrap();
        let history = inbox.history(dead.seq).await.unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(
            (history[0].outcome.as_str(), history[0].detail.as_deref()),
            ("dead", Some("no id"))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_hold_a_lease_that_expires_and_is_claimed_again() {
    for backend in backends().await {
        let (name, inbox) = (backend.name, backend.inbox.as_ref());
        inbox.insert(new_event("a")).await.unwrap();
        let lease = Duration::from_millis(400);
        let first = inbox.claim(lease).await.unwrap().expect("a pending row");
        assert_eq!(
            (first.event_id.as_deref(), first.attempt),
            (Some("a"), 1),
            "{name}"
        );
        assert_eq!(first.body, event("a"));
        assert!(
            inbox.claim(lease).await.unwrap().is_none(),
            "{name}: held by the first claim"
        );
        assert_eq!(state(inbox, "a").await, (State::Running, 1));
        // A live run renews its lease and keeps the row.
        assert!(
            inbox
                .extend_lease(first.seq, first.lease_token, lease)
                .await
                .unwrap()
        );

        tokio::time::sleep(lease + Duration::from_millis(100)).await;
        let second = inbox
            .claim(lease)
            .await
            .unwrap()
            .expect("the lease expired");
        assert_eq!(second.attempt, 2, "{name}");
        assert_ne!(second.lease_token, first.lease_token);
        // The first run lost its lease: it can neither renew nor finish.
        assert!(
            !inbox
                .extend_lease(first.seq, first.lease_token, lease)
                .await
                .unwrap(),
            "{name}"
        );
        assert!(
            !inbox
                .finish(first.seq, first.lease_token, Outcome::Done)
                .await
                .unwrap(),
            "{name}"
        );
        assert_eq!(state(inbox, "a").await, (State::Running, 2));
        assert!(
            inbox
                .finish(second.seq, second.lease_token, Outcome::Done)
                .await
                .unwrap()
        );
        assert_eq!(state(inbox, "a").await, (State::Done, 2), "{name}");
        assert!(
            inbox.claim(lease).await.unwrap().is_none(),
            "{name}: done rows are not claimed"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_runs_back_off_then_die_and_requeue_brings_them_back() {
    for backend in backends().await {
        let (name, inbox) = (backend.name, backend.inbox.as_ref());
        inbox.insert(new_event("a")).await.unwrap();
        inbox.insert(new_event("b")).await.unwrap();
        let lease = Duration::from_secs(30);
        let run = inbox.claim(lease).await.unwrap().unwrap();
        assert_eq!(run.event_id.as_deref(), Some("a"), "{name}: oldest first");
        let retry_at = Utc::now() + chrono::TimeDelta::milliseconds(400);
        let retry = Outcome::Retry {
            error: "timeout talking to CRM".into(),
            retry_at,
        };
        assert!(inbox.finish(run.seq, run.lease_token, retry).await.unwrap());
        let row = inbox.get("a").await.unwrap().unwrap();
        assert_eq!((row.state, row.attempts), (State::Pending, 1));
        assert_eq!(row.last_error.as_deref(), Some("timeout talking to CRM"));
        assert_eq!(
            row.next_run_at.timestamp_millis(),
            retry_at.timestamp_millis()
        );

        // Not due yet: the other row comes first.
        let other = inbox.claim(lease).await.unwrap().unwrap();
        assert_eq!(other.event_id.as_deref(), Some("b"), "{name}");
        assert!(
            inbox.claim(lease).await.unwrap().is_none(),
            "{name}: a is backing off"
        );
        tokio::time::sleep(Duration::from_millis(450)).await;
        let again = inbox.claim(lease).await.unwrap().unwrap();
        assert_eq!(
            (again.event_id.as_deref(), again.attempt),
            (Some("a"), 2),
            "{name}"
        );
        let dead = Outcome::Dead {
            error: "still failing".into(),
        };
        assert!(
            inbox
                .finish(again.seq, again.lease_token, dead)
                .await
                .unwrap()
        );
        assert_eq!(state(inbox, "a").await, (State::Dead, 2));
        assert!(
            inbox.claim(lease).await.unwrap().is_none(),
            "{name}: dead rows are not claimed"
        );

        let history: Vec<(String, u32)> = inbox
            .history(again.seq)
            .await
            .unwrap()
            .into_iter()
            .map(|h| (h.outcome, h.attempt))
            .collect();
        assert_eq!(
            history,
            [("failed".to_string(), 1), ("dead".to_string(), 2)],
            "{name}"
        );

        assert!(
            !inbox.requeue("b").await.unwrap(),
            "{name}: only dead rows are requeued"
        );
        assert!(inbox.requeue("a").await.unwrap(), "{name}");
        assert_eq!(state(inbox, "a").await, (State::Pending, 0));
        let replay = inbox.claim(lease).await.unwrap().unwrap();
        assert_eq!(
            (replay.event_id.as_deref(), replay.attempt),
            (Some("a"), 1),
            "{name}"
        );
        assert!(
            inbox
                .finish(
                    replay.seq,
                    replay.lease_token,
                    Outcome::Dead { error: "x".into() }
                )
                .await
                .unwrap()
        );
        assert!(
            inbox
                .finish(
                    other.seq,
                    other.lease_token,
                    Outcome::Dead { error: "y".into() }
                )
                .await
                .unwrap()
        );
        assert_eq!(inbox.requeue_all_dead().await.unwrap(), 2, "{name}");
        assert_eq!(inbox.stats().await.unwrap().pending, 2);
    }
}

/// Issue 36: a window of dead (or done) rows, of one type or all, back to
/// pending with a line in each history; once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requeue_range_takes_a_window_a_type_and_a_state() {
    for backend in backends().await {
        let (inbox, name) = (backend.inbox.as_ref(), backend.name);
        let now = Utc::now();
        let ago = |minutes: i64| now - chrono::TimeDelta::minutes(minutes);
        let dead = |id: &str, event_type: &str, minutes: i64| {
            let mut event = NewEvent::new(
                id.as_bytes().to_vec(),
                Some(id.to_string()),
                event_type.to_string(),
                State::Dead,
                Some("handler failed".into()),
            );
            event.received_at = ago(minutes);
            event
        };
        for event in [
            dead("old", "TASK_CLOSED", 120),
            dead("task", "TASK_CLOSED", 60),
            dead("conv", "CONVERSATION_CLOSED", 50),
            dead("new", "TASK_CLOSED", 1),
        ] {
            inbox.insert(event).await.unwrap();
        }
        let mut done = new_event("done");
        done.received_at = ago(55);
        inbox.insert(done).await.unwrap();
        let run = inbox.claim(Duration::from_secs(30)).await.unwrap().unwrap();
        assert!(
            inbox
                .finish(run.seq, run.lease_token, Outcome::Done)
                .await
                .unwrap()
        );

        // The hour from 90 to 30 minutes ago, TASK_CLOSED only.
        let range = RequeueRange::since(ago(90))
            .until(ago(30))
            .event_type("TASK_CLOSED");
        assert_eq!(
            inbox.requeue_range(range.clone()).await.unwrap(),
            1,
            "{name}"
        );
        assert_eq!(state(inbox, "task").await, (State::Pending, 0), "{name}");
        for id in ["old", "conv", "new"] {
            assert_eq!(state(inbox, id).await.0, State::Dead, "{name}: {id}");
        }
        assert_eq!(inbox.requeue_range(range).await.unwrap(), 0, "{name}: once");
        // Every type in the window; done rows only when asked.
        let window = RequeueRange::since(ago(90)).until(ago(30));
        assert_eq!(inbox.requeue_range(window.clone()).await.unwrap(), 1);
        assert_eq!(state(inbox, "conv").await.0, State::Pending, "{name}");
        assert_eq!(state(inbox, "done").await.0, State::Done, "{name}");
        let replay = window.state(State::Done);
        assert_eq!(inbox.requeue_range(replay).await.unwrap(), 1, "{name}");
        let row = inbox.get("done").await.unwrap().unwrap();
        assert_eq!(row.state, State::Pending);
        let history = inbox.history(row.seq).await.unwrap();
        assert_eq!(history.last().unwrap().outcome, "rerun", "{name}");
        let row = inbox.get("task").await.unwrap().unwrap();
        let history = inbox.history(row.seq).await.unwrap();
        assert_eq!(history.last().unwrap().outcome, "requeued", "{name}");
        // Until now by default.
        let rest = RequeueRange::since(ago(180));
        assert_eq!(inbox.requeue_range(rest).await.unwrap(), 2, "{name}");

        // Refused before anything is written.
        let pending = RequeueRange::since(ago(90)).state(State::Pending);
        assert!(matches!(
            inbox.requeue_range(pending).await,
            Err(InboxError::NotRequeueable(State::Pending))
        ));
        let empty = RequeueRange::since(now).until(ago(1));
        let err = inbox.requeue_range(empty).await.unwrap_err();
        assert!(err.to_string().contains("must be after"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_released_run_does_not_count_as_an_attempt() {
    for backend in backends().await {
        let inbox = backend.inbox.as_ref();
        inbox.insert(new_event("a")).await.unwrap();
        let run = inbox.claim(Duration::from_secs(30)).await.unwrap().unwrap();
        assert!(
            inbox
                .finish(run.seq, run.lease_token, Outcome::Released)
                .await
                .unwrap()
        );
        assert_eq!(
            state(inbox, "a").await,
            (State::Pending, 0),
            "{}",
            backend.name
        );
        let again = inbox.claim(Duration::from_secs(30)).await.unwrap().unwrap();
        assert_eq!(again.attempt, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_keeps_rows_inside_the_retention() {
    for backend in backends().await {
        let (name, inbox) = (backend.name, backend.inbox.as_ref());
        for id in ["done1", "done2", "waiting", "dead"] {
            inbox.insert(new_event(id)).await.unwrap();
        }
        for _ in 0..3 {
            let run = inbox.claim(Duration::from_secs(30)).await.unwrap().unwrap();
            let outcome = match run.event_id.as_deref() {
                Some("waiting") => Outcome::Retry {
                    error: "later".into(),
                    retry_at: Utc::now() + chrono::TimeDelta::hours(1),
                },
                _ => Outcome::Done,
            };
            inbox
                .finish(run.seq, run.lease_token, outcome)
                .await
                .unwrap();
        }
        let last = inbox.claim(Duration::from_secs(30)).await.unwrap().unwrap();
        assert_eq!(last.event_id.as_deref(), Some("dead"));
        inbox
            .finish(
                last.seq,
                last.lease_token,
                Outcome::Dead { error: "no".into() },
            )
            .await
            .unwrap();
        assert!(
            inbox
                .claim(Duration::from_secs(30))
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
        assert_eq!(
            inbox.purge(Duration::from_secs(3600)).await.unwrap(),
            0,
            "{name}: inside the retention"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            inbox.purge(Duration::from_millis(10)).await.unwrap(),
            2,
            "{name}: only done rows"
        );
        assert!(inbox.get("done1").await.unwrap().is_none());
        assert!(inbox.get("waiting").await.unwrap().is_some());
        assert!(inbox.get("dead").await.unwrap().is_some());
        // A purged id is new again: its dedup memory is gone, as intended
        // once Gladly's retries are long over.
        assert_eq!(
            inbox.insert(new_event("done1")).await.unwrap(),
            Inserted::New
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_list_and_get() {
    for backend in backends().await {
        let (name, inbox) = (backend.name, backend.inbox.as_ref());
        let empty = inbox.stats().await.unwrap();
        assert_eq!(
            (empty.pending, empty.done, empty.oldest_pending_age),
            (0, 0, None),
            "{name}"
        );
        inbox.insert(new_event("a")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let age = inbox.stats().await.unwrap().oldest_pending_age.unwrap();
        assert!(age >= Duration::from_millis(40), "{name}: {age:?}");
        inbox.insert(new_event("b")).await.unwrap();
        let mut task = new_event("t");
        task.event_type = "TASK_CLOSED".into();
        inbox.insert(task).await.unwrap();
        let run = inbox.claim(Duration::from_secs(30)).await.unwrap().unwrap();
        let stats = inbox.stats().await.unwrap();
        assert_eq!(
            (stats.pending, stats.running, stats.done, stats.dead),
            (2, 1, 0, 0),
            "{name}"
        );
        assert!(stats.oldest_pending_age.is_some(), "{name}: {stats:?}");
        inbox
            .finish(run.seq, run.lease_token, Outcome::Done)
            .await
            .unwrap();

        let all = inbox.list(ListFilter::default()).await.unwrap();
        let ids: Vec<_> = all.iter().map(|r| r.dedup_key.as_str()).collect();
        assert_eq!(ids, ["t", "b", "a"], "{name}: newest first");
        let mut filter = ListFilter::default();
        filter.state = Some(State::Pending);
        assert_eq!(inbox.list(filter.clone()).await.unwrap().len(), 2);
        filter.event_type = Some("TASK_CLOSED".into());
        assert_eq!(inbox.list(filter.clone()).await.unwrap().len(), 1);
        let mut limited = ListFilter::default();
        limited.limit = Some(1);
        assert_eq!(inbox.list(limited).await.unwrap().len(), 1);
        let row = inbox.get("b").await.unwrap().unwrap();
        assert_eq!(
            (row.event_id.as_deref(), row.state),
            (Some("b"), State::Pending)
        );
        assert!(inbox.get("nope").await.unwrap().is_none());
    }
}
