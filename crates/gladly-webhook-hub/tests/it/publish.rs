//! Publication under concurrency (issue 23): on SQLite, publications queued
//! together share one transaction (group commit), and each still gets its
//! own answer: a republication is recognised, an id reused with another
//! body is refused alone, and nothing else in its transaction is lost. The
//! same holds on PostgreSQL, where a batch's events and deliveries are
//! written by one statement each, and a batch that fails is written again
//! publication by publication.

use crate::common;
use gladly_webhook_hub::testing::DispatcherSide;

use chrono::Utc;
use gladly_webhook_hub::store::PublishError;

fn body(id: &str, note: &str) -> Vec<u8> {
    format!(r#"{{"id":"{id}","type":"TASK_CLOSED","content":{{"note":"{note}"}}}}"#).into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publications_each_get_their_own_answer() {
    for test_store in common::stores().await {
        let store = test_store.open().await;
        common::create_task_subscription(&store, "wh_many").await;
        let first = store
            .publish(
                "evt_dup",
                "TASK_CLOSED",
                Utc::now(),
                &body("evt_dup", "a"),
                &body("evt_dup", "a"),
                Utc::now(),
            )
            .await
            .unwrap();
        assert!(first.created);

        // 100 new events, 10 republications and 5 reuses of one id with
        // another body, all at once.
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..115 {
            let store = store.clone();
            tasks.spawn(async move {
                let (id, note) = match n {
                    0..100 => (format!("evt_{n}"), "a"),
                    100..110 => ("evt_dup".to_string(), "a"),
                    _ => ("evt_dup".to_string(), "another"),
                };
                let bytes = body(&id, note);
                let result = store
                    .publish(&id, "TASK_CLOSED", Utc::now(), &bytes, &bytes, Utc::now())
                    .await;
                (n, result)
            });
        }
        let mut new_deliveries = std::collections::HashSet::new();
        while let Some(joined) = tasks.join_next().await {
            let (n, result) = joined.unwrap();
            let name = test_store.name;
            match n {
                0..100 => {
                    let published = result.unwrap_or_else(|e| panic!("{name}: evt_{n}: {e}"));
                    assert!(published.created, "{name}: evt_{n}");
                    assert_eq!(published.deliveries.len(), 1, "{name}: evt_{n}");
                    new_deliveries.insert(published.deliveries[0].id.clone());
                }
                100..110 => {
                    let published = result.unwrap_or_else(|e| panic!("{name}: republication: {e}"));
                    assert!(!published.created, "{name}: a republication is recognised");
                    assert_eq!(
                        published.deliveries[0].id, first.deliveries[0].id,
                        "{name}: a republication answers the first publication's deliveries"
                    );
                }
                _ => assert!(
                    matches!(result, Err(PublishError::IdReused)),
                    "{name}: an id reused with another body: {result:?}"
                ),
            }
        }
        assert_eq!(new_deliveries.len(), 100, "{}", test_store.name);

        // All of it is stored, once: the first event and the 100 new ones.
        let stored = store.deliveries("wh_many", 1000).await.unwrap();
        assert_eq!(stored.len(), 101, "{}", test_store.name);
        // And read back by a store opened anew (the commits are durable,
        // not only in this handle's connection).
        drop(store);
        let reopened = test_store.open().await;
        let stored = reopened.deliveries("wh_many", 1000).await.unwrap();
        assert_eq!(stored.len(), 101, "{}", test_store.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_new_id_published_at_once_is_created_once() {
    for test_store in common::stores().await {
        let name = test_store.name;
        let store = test_store.open().await;
        common::create_task_subscription(&store, "wh_twins").await;
        // Ten publications of a new id with one body, three with another,
        // and an event no subscription receives, all at once: they may
        // share a batch, and the first of an id in it is the one created.
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..14 {
            let store = store.clone();
            tasks.spawn(async move {
                let (id, kind, note) = match n {
                    0..10 => ("evt_twin", "TASK_CLOSED", "a"),
                    10..13 => ("evt_twin", "TASK_CLOSED", "another"),
                    _ => ("evt_nobody", "CONTACT_ENDED", "a"),
                };
                let bytes =
                    format!(r#"{{"id":"{id}","type":"{kind}","content":{{"note":"{note}"}}}}"#);
                let result = store
                    .publish(
                        id,
                        kind,
                        Utc::now(),
                        bytes.as_bytes(),
                        bytes.as_bytes(),
                        Utc::now(),
                    )
                    .await;
                (note, id, result)
            });
        }
        let mut created = Vec::new();
        let mut republished = Vec::new();
        let (mut reused, mut nobody) = (0, 0);
        while let Some(joined) = tasks.join_next().await {
            let (note, id, result) = joined.unwrap();
            match result {
                Ok(published) if id == "evt_nobody" => {
                    assert!(
                        published.created && published.deliveries.is_empty(),
                        "{name}"
                    );
                    nobody += 1;
                }
                Ok(published) if published.created => created.push((note, published)),
                Ok(published) => republished.push((note, published)),
                Err(PublishError::IdReused) => reused += 1,
                Err(err) => panic!("{name}: {err}"),
            }
        }
        assert_eq!(nobody, 1, "{name}");
        assert_eq!(created.len(), 1, "{name}: one of them creates the event");
        let (first_note, first) = &created[0];
        assert_eq!(first.deliveries.len(), 1, "{name}");
        // Whichever body came first, the others with it are republications
        // answered with its delivery, and those with the other are refused.
        let same = if *first_note == "a" { 9 } else { 2 };
        assert_eq!(republished.len(), same, "{name}");
        assert_eq!(reused, 12 - same, "{name}");
        for (note, published) in &republished {
            assert_eq!(note, first_note, "{name}");
            assert_eq!(published.deliveries[0].id, first.deliveries[0].id, "{name}");
        }
        let stored = store.deliveries("wh_twins", 100).await.unwrap();
        assert_eq!(stored.len(), 1, "{name}: one delivery in all");
    }
}

/// The dispatcher's successes of several subscriptions, recorded at once,
/// share a batch: each subscription's deliveries are marked delivered
/// only where its run still holds its lease, and every attempt is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn successes_recorded_together_count_only_where_the_lease_is_held() {
    use gladly_webhook_hub::store::{AttemptRecord, DeliveryOrder, DeliveryState, StoredWebhook};
    use std::time::Duration;

    for test_store in common::stores().await {
        let name = test_store.name;
        let store = test_store.open().await;
        for n in 0..4 {
            let webhook = StoredWebhook::new(
                format!("wh_rec_{n}"),
                format!("https://example.com/hooks/{n}"),
                vec![gladly_webhook_core::EventType::TaskClosed],
                gladly_webhook_core::Secret::new("whsec_test_0123456789abcdef"),
                true,
                Utc::now(),
            );
            store.create_webhook(&webhook, 20).await.unwrap();
        }
        for n in 0..5 {
            let id = format!("evt_rec_{n}");
            let bytes = body(&id, "a");
            store
                .publish(&id, "TASK_CLOSED", Utc::now(), &bytes, &bytes, Utc::now())
                .await
                .unwrap();
        }
        let lease = Duration::from_secs(60);
        let claimed = store
            .claim_webhooks(Utc::now(), lease, 10, DeliveryOrder::Window)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 4, "{name}");

        // Every subscription records its five successes at once; the
        // run of `wh_rec_3` lost its lease (another token holds it).
        let mut tasks = tokio::task::JoinSet::new();
        for (webhook_id, token) in claimed {
            let store = store.clone();
            tasks.spawn(async move {
                let due = store.next_deliveries(&webhook_id, token, 10).await.unwrap();
                assert_eq!(due.len(), 5);
                // Successes at different attempts (a retry that went
                // through) are recorded together too.
                let delivered: Vec<(String, AttemptRecord)> = due
                    .into_iter()
                    .map(|d| {
                        let number = attempt_number(&d.event_id);
                        (
                            d.id,
                            AttemptRecord::new(number, Utc::now(), Some(200), None, 3),
                        )
                    })
                    .collect();
                let token = if webhook_id == "wh_rec_3" {
                    token.wrapping_add(1)
                } else {
                    token
                };
                store
                    .record_delivered(&webhook_id, token, lease, &delivered)
                    .await
                    .unwrap();
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined.unwrap();
        }

        for n in 0..4 {
            let webhook_id = format!("wh_rec_{n}");
            let deliveries = store.deliveries(&webhook_id, 10).await.unwrap();
            assert_eq!(deliveries.len(), 5, "{name}: {webhook_id}");
            let expected = if n == 3 {
                DeliveryState::Pending
            } else {
                DeliveryState::Delivered
            };
            for delivery in &deliveries {
                assert_eq!(
                    delivery.state, expected,
                    "{name}: {webhook_id}: {}",
                    delivery.id
                );
                assert_eq!(
                    delivery.attempts.len(),
                    1,
                    "{name}: {webhook_id}: {}",
                    delivery.id
                );
                assert_eq!(
                    delivery.attempts[0].status,
                    Some(200),
                    "{name}: {webhook_id}"
                );
                assert_eq!(
                    delivery.attempts[0].number,
                    attempt_number(&delivery.event_id),
                    "{name}: {webhook_id}: {}",
                    delivery.id
                );
            }
        }
    }
}

/// The attempt at which `successes_recorded_together_...` has an event's
/// deliveries succeed: 1, 2 or 3 by the event's number.
fn attempt_number(event_id: &str) -> u32 {
    let n: u32 = event_id.trim_start_matches("evt_rec_").parse().unwrap();
    n % 3 + 1
}
