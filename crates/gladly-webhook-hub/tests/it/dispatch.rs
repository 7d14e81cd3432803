//! The dispatcher: fan-out, Gladly's schedule and deactivation, the window
//! of deliveries in flight and strict publish order; on SQLite and
//! PostgreSQL, each in both dispatch modes where both apply.

use crate::common;

use std::time::Duration;

use common::{TIME_SCALE, TestReceiver, WINDOWS, dispatch_options_in, event, hub_with, stores};
use gladly_webhook_sender::GLADLY_DELAYS;

/// Every store, each in both dispatch modes (the store is reused: each
/// test makes subscriptions of its own).
async fn stores_and_windows() -> Vec<(common::TestStore, usize)> {
    let mut all = Vec::new();
    for window in WINDOWS {
        for store in stores().await {
            all.push((store, window));
        }
    }
    all
}

/// Issue 23: in the window, a delivery that fails holds no other back: 19
/// events published behind one that fails are all delivered while it is
/// still being retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_delivery_holds_nothing_back_in_the_window() {
    for store in stores().await {
        let mut options = dispatch_options_in(8);
        // Retries after 2 s: the failing event is still pending when the
        // others are checked.
        options.schedule = gladly_webhook_sender::Schedule::Delays(vec![Duration::from_secs(2); 4]);
        options.time_scale = 1.0;
        let hub = hub_with(&store, options).await;
        let receiver = TestReceiver::start().await;
        let webhook = hub.create(&receiver.url, &["CUSTOMER_UPDATED"], true).await;
        let id = webhook["id"].as_str().unwrap().to_string();
        let mut failing = event("CUSTOMER_UPDATED");
        failing["id"] = "evt_fails".into();
        receiver.fail_event("evt_fails");
        let published = std::time::Instant::now();
        hub.publish(failing).await;
        for _ in 0..19 {
            hub.publish(event("CUSTOMER_UPDATED")).await;
        }
        let got = receiver
            .wait(|r| r.iter().filter(|r| r.status == 200).count() == 19)
            .await;
        let failed_tries = got
            .iter()
            .filter(|r| r.event_id().as_deref() == Some("evt_fails"))
            .count();
        assert!(
            failed_tries <= 2,
            "{}: 19 delivered only after {failed_tries} tries of the failing one ({:?})",
            store.name,
            published.elapsed()
        );
        // Recorded too (successes are recorded together, within 100 ms);
        // the failing one is still pending, waiting for its retry.
        let deliveries = hub
            .wait_deliveries(&id, |d| {
                d.iter().filter(|d| d["state"] == "delivered").count() == 19
            })
            .await;
        let pending: Vec<_> = deliveries
            .iter()
            .filter(|d| d["state"] == "pending")
            .collect();
        assert_eq!(pending.len(), 1, "{}: {deliveries:?}", store.name);
        assert_eq!(pending[0]["eventId"], "evt_fails");
    }
}

/// Issue 23: in the window, a retry comes due while publication goes on
/// and the subscription is never idle, and it is still made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_is_made_while_publication_goes_on() {
    for store in stores().await {
        let mut options = dispatch_options_in(8);
        options.schedule =
            gladly_webhook_sender::Schedule::Delays(vec![Duration::from_millis(300); 4]);
        options.time_scale = 1.0;
        let hub = hub_with(&store, options).await;
        let receiver = TestReceiver::start().await;
        // Slow answers and steady publication: something is always in
        // flight, so the dispatcher's run never ends on its own.
        receiver.answer_after(Duration::from_millis(100));
        hub.create(&receiver.url, &["CUSTOMER_UPDATED"], true).await;
        let mut failing = event("CUSTOMER_UPDATED");
        failing["id"] = "evt_retried".into();
        receiver.fail_event("evt_retried");
        hub.publish(failing).await;
        let tries = || {
            receiver
                .events()
                .iter()
                .filter(|r| r.event_id().as_deref() == Some("evt_retried"))
                .count()
        };
        let mut published = 0;
        while tries() < 2 && published < 300 {
            hub.publish(event("CUSTOMER_UPDATED")).await;
            published += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            tries() >= 2,
            "{}: the failing event was tried {} times while {published} more were published",
            store.name,
            tries()
        );
    }
}

/// Issue 23: a run that always has work (or waits for more) still makes
/// room: with room for one subscription at a time, one that is published
/// to without pause does not keep another waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_subscription_makes_room_for_another() {
    common::concurrently(stores_and_windows().await, |(store, window)| async move {
        let mut options = dispatch_options_in(window);
        options.concurrency = 1;
        let hub = hub_with(&store, options).await;
        let busy = TestReceiver::start().await;
        busy.answer_after(Duration::from_millis(10));
        let other = TestReceiver::start().await;
        hub.create(&busy.url, &["CUSTOMER_UPDATED"], true).await;
        hub.create(&other.url, &["TASK_CLOSED"], true).await;
        let mut published = 0;
        let mut task_published = false;
        while other.events().is_empty() && published < 400 {
            hub.publish(event("CUSTOMER_UPDATED")).await;
            published += 1;
            if published == 10 && !task_published {
                hub.publish(event("TASK_CLOSED")).await;
                task_published = true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            other.events().len(),
            1,
            "{} window {window}: the other subscription got nothing while {published} events went to the busy one",
            store.name
        );
    })
    .await;
}

/// Issue 23: the window bounds what is in flight to one subscription, and
/// strict order sends one at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_bounds_deliveries_in_flight() {
    common::concurrently(stores_and_windows().await, |(store, window)| async move {
        let hub = hub_with(&store, dispatch_options_in(window)).await;
        let receiver = TestReceiver::start().await;
        receiver.answer_after(Duration::from_millis(100));
        hub.create(&receiver.url, &["CUSTOMER_UPDATED"], true).await;
        for _ in 0..24 {
            hub.publish(event("CUSTOMER_UPDATED")).await;
        }
        receiver.wait(|r| r.len() == 24).await;
        let most = receiver.max_concurrent();
        assert!(
            most <= window as u64,
            "{} window {window}: {most} at once",
            store.name
        );
        if window > 1 {
            assert!(most > 1, "{}: the window was never used", store.name);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_reaches_exactly_the_matching_active_subscriptions() {
    for (store, window) in stores_and_windows().await {
        let hub = hub_with(&store, dispatch_options_in(window)).await;
        let (a, b, c) = (
            TestReceiver::start().await,
            TestReceiver::start().await,
            TestReceiver::start().await,
        );
        let wa = hub
            .create(&a.url, &["CONVERSATION_CLOSED", "TASK_CLOSED"], true)
            .await;
        let wb = hub.create(&b.url, &["TASK_CLOSED"], true).await;
        let wc = hub
            .create(&c.url, &["CONVERSATION_CLOSED", "TASK_CLOSED"], false)
            .await;
        let secrets = [&wa, &wb, &wc].map(|w| w["secret"].as_str().unwrap().to_string());

        let closed = hub.publish(event("CONVERSATION_CLOSED")).await;
        let task = hub.publish(event("TASK_CLOSED")).await;
        let targets = |p: &serde_json::Value| {
            let mut ids: Vec<String> = p["deliveries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["webhookId"].as_str().unwrap().to_string())
                .collect();
            ids.sort();
            ids
        };
        assert_eq!(
            targets(&closed),
            [wa["id"].as_str().unwrap().to_string()],
            "{}",
            store.name
        );
        let mut both = vec![
            wa["id"].as_str().unwrap().to_string(),
            wb["id"].as_str().unwrap().to_string(),
        ];
        both.sort();
        assert_eq!(targets(&task), both);

        let got_a = a.wait(|r| r.len() == 2).await;
        let got_b = b.wait(|r| r.len() == 1).await;
        let mut ids_a: Vec<String> = got_a.iter().map(|r| r.event_id().unwrap()).collect();
        let published = [
            closed["eventId"].as_str().unwrap(),
            task["eventId"].as_str().unwrap(),
        ];
        // Strict order keeps publish order; the window may not.
        if window > 1 {
            ids_a.sort_by_key(|id| published.iter().position(|p| p == id));
        }
        assert_eq!(ids_a, published, "{} window {window}", store.name);
        assert_eq!(got_b[0].event_id().as_deref(), task["eventId"].as_str());
        // Each verified with the secret its subscription was given, and no other.
        assert!(
            got_a
                .iter()
                .all(|r| r.verifies_with(&secrets[0]) && !r.verifies_with(&secrets[1]))
        );
        assert!(
            got_b
                .iter()
                .all(|r| r.verifies_with(&secrets[1]) && !r.verifies_with(&secrets[0]))
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(a.events().len(), 2);
        assert_eq!(b.events().len(), 1);
        assert!(
            c.received().is_empty(),
            "{}: the inactive subscription gets nothing, not even a PING",
            store.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_always_fails_is_deactivated_after_the_schedule() {
    // The four cases wait out the (scaled) schedule side by side.
    common::concurrently(stores_and_windows().await, |(store, window)| async move {
        let hub = hub_with(&store, dispatch_options_in(window)).await;
        let failing = TestReceiver::start().await;
        let healthy = TestReceiver::start().await;
        let webhook = hub.create(&failing.url, &["CUSTOMER_UPDATED"], true).await;
        hub.create(&healthy.url, &["CUSTOMER_UPDATED"], true).await;
        let id = webhook["id"].as_str().unwrap().to_string();
        failing.answer(500);

        let first = hub.publish(event("CUSTOMER_UPDATED")).await;
        let second = hub.publish(event("CUSTOMER_UPDATED")).await;
        let deliveries = hub
            .wait_deliveries(&id, |d| d.iter().any(|d| d["state"] == "failed"))
            .await;

        // In strict order, five attempts of the first event, the same id
        // each time; the second waited behind it. In the window, both were
        // tried on their own schedules. Either way the first to fail five
        // times deactivates the subscription and the other is cancelled.
        let (first_id, second_id) = (
            first["eventId"].as_str().unwrap(),
            second["eventId"].as_str().unwrap(),
        );
        let all = failing.events();
        let failed = deliveries
            .iter()
            .find(|d| d["state"] == "failed")
            .unwrap()
            .clone();
        let failed_id = failed["eventId"].as_str().unwrap();
        let cancelled_id = if failed_id == first_id {
            second_id
        } else {
            first_id
        };
        if window == 1 {
            assert_eq!(failed_id, first_id, "{}", store.name);
            assert!(
                all.iter()
                    .all(|r| r.event_id().as_deref() == Some(first_id))
            );
        } else {
            assert!(
                all.iter()
                    .any(|r| r.event_id().as_deref() == Some(second_id)),
                "{}: the second event waited behind the first",
                store.name
            );
        }
        let attempts: Vec<_> = all
            .iter()
            .filter(|r| r.event_id().as_deref() == Some(failed_id))
            .collect();
        assert_eq!(attempts.len(), 5, "{} window {window}", store.name);
        // The waits follow Gladly's schedule, scaled: each at most its
        // wait (30 s, 5, 30, 60 minutes × the scale) plus slack for a busy machine.
        for (k, pair) in attempts.windows(2).enumerate() {
            let gap = pair[1].at - pair[0].at;
            let bound = GLADLY_DELAYS[k].mul_f64(TIME_SCALE);
            assert!(
                gap <= bound + Duration::from_secs(2),
                "{}: wait {} was {gap:?}, bound {bound:?}",
                store.name,
                k + 1
            );
        }
        assert_eq!(failed["attempts"].as_array().unwrap().len(), 5);
        assert!(
            failed["attempts"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["status"] == 500)
        );
        let cancelled = deliveries
            .iter()
            .find(|d| d["eventId"] == cancelled_id)
            .unwrap();
        assert_eq!(
            (cancelled["state"].as_str(), cancelled["reason"].as_str()),
            (Some("cancelled"), Some("subscription deactivated"))
        );

        // Inactive, modifiedAt moved, recorded.
        let now = hub
            .call("GET", &format!("/api/v1/webhooks/{id}"), None)
            .await
            .json;
        assert_eq!(now["active"], false);
        assert!(now["modifiedAt"].as_str() > webhook["modifiedAt"].as_str());
        let deactivations = hub.call("GET", "/api/v1/deactivations", None).await.json;
        assert_eq!(deactivations.as_array().unwrap().len(), 1);
        assert_eq!(deactivations[0]["webhookId"], id.as_str());
        assert_eq!(deactivations[0]["eventId"], failed_id);
        assert!(
            deactivations[0]["reason"]
                .as_str()
                .unwrap()
                .contains("5 attempts failed"),
            "{deactivations}"
        );

        // No later event is sent to it; the healthy one got everything.
        failing.answer(200);
        let later = hub.publish(event("CUSTOMER_UPDATED")).await;
        assert_eq!(later["deliveries"].as_array().unwrap().len(), 1);
        healthy.wait(|r| r.len() == 3).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(failing.events().len(), all.len(), "{}", store.name);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_to_one_subscription_keep_publish_order_through_retries() {
    for store in stores().await {
        // Strict publish order: one delivery in flight.
        let mut options = dispatch_options_in(1);
        // Fixed waits, so the test also sees each wait is at least its delay.
        options.schedule =
            gladly_webhook_sender::Schedule::Delays(vec![Duration::from_millis(250); 4]);
        options.time_scale = 1.0;
        let hub = hub_with(&store, options).await;
        let receiver = TestReceiver::start().await;
        hub.create(&receiver.url, &["CUSTOMER_UPDATED"], true).await;
        receiver.answer(503);
        let mut published = Vec::new();
        for _ in 0..6 {
            published.push(
                hub.publish(event("CUSTOMER_UPDATED")).await["eventId"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        receiver.wait(|r| r.len() >= 2).await;
        receiver.answer(200);
        let got = receiver
            .wait(|r| r.iter().filter(|r| r.status == 200).count() == 6)
            .await;
        let sent: Vec<String> = got.iter().map(|r| r.event_id().unwrap()).collect();
        // The first event was tried until it passed; nothing overtook it.
        let mut order = sent.clone();
        order.dedup();
        assert_eq!(order, published, "{}: {sent:?}", store.name);
        for pair in got.windows(2).filter(|p| p[0].status != 200) {
            assert!(
                pair[1].at - pair[0].at >= Duration::from_millis(250),
                "{}: a retry came early",
                store.name
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_racing_publications_leaves_nothing_pending() {
    for (store, window) in stores_and_windows().await {
        let hub = std::sync::Arc::new(hub_with(&store, dispatch_options_in(window)).await);
        let receiver = TestReceiver::start().await;
        let webhook = hub.create(&receiver.url, &["CUSTOMER_UPDATED"], true).await;
        let id = webhook["id"].as_str().unwrap().to_string();
        let publishers: Vec<_> = (0..4)
            .map(|_| {
                let hub = hub.clone();
                tokio::spawn(async move {
                    for _ in 0..15 {
                        hub.publish(event("CUSTOMER_UPDATED")).await;
                    }
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(30)).await;
        let deleted = hub
            .call("DELETE", &format!("/api/v1/webhooks/{id}"), None)
            .await;
        assert_eq!(deleted.status, 204);
        for publisher in publishers {
            publisher.await.unwrap();
        }
        let deliveries = hub.store.deliveries(&id, 1000).await.unwrap();
        assert!(!deliveries.is_empty());
        for delivery in &deliveries {
            assert!(
                matches!(
                    delivery.state,
                    gladly_webhook_hub::store::DeliveryState::Delivered
                        | gladly_webhook_hub::store::DeliveryState::Cancelled
                ),
                "{}: {delivery:?}",
                store.name
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_deletes_what_finished_and_keeps_what_is_pending() {
    for store in stores().await {
        let mut options = common::dispatch_options();
        options.time_scale = 1.0; // a failed delivery stays pending for minutes
        let hub = hub_with(&store, options).await;
        let ok = TestReceiver::start().await;
        let failing = TestReceiver::start().await;
        let ok_id = hub.create(&ok.url, &["CUSTOMER_UPDATED"], true).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let failing_id = hub.create(&failing.url, &["CUSTOMER_UPDATED"], true).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        failing.answer(500);
        for _ in 0..3 {
            hub.publish(event("CUSTOMER_UPDATED")).await;
        }
        hub.wait_deliveries(&ok_id, |d| {
            d.len() == 3 && d.iter().all(|d| d["state"] == "delivered")
        })
        .await;
        hub.wait_deliveries(&failing_id, |d| {
            d.len() == 3 && !d[2]["attempts"].as_array().unwrap().is_empty()
        })
        .await;

        let later = chrono::Utc::now() + chrono::Duration::seconds(1);
        // The events stay: the failing subscription's deliveries still need them.
        assert_eq!(
            hub.store.purge(later).await.unwrap(),
            (3, 0),
            "{}",
            store.name
        );
        assert!(hub.store.deliveries(&ok_id, 100).await.unwrap().is_empty());
        let pending = hub.store.deliveries(&failing_id, 100).await.unwrap();
        assert_eq!(pending.len(), 3);
        assert_eq!(
            pending[2].attempts.len(),
            1,
            "{}: the pending delivery keeps its attempts",
            store.name
        );

        // Deleted, its deliveries are cancelled (finished): all goes.
        hub.call("DELETE", &format!("/api/v1/webhooks/{failing_id}"), None)
            .await;
        assert_eq!(
            hub.store.purge(later).await.unwrap(),
            (3, 3),
            "{}",
            store.name
        );
        assert!(
            hub.store
                .deliveries(&failing_id, 100)
                .await
                .unwrap()
                .is_empty()
        );
        // The attempts go with their deliveries (PostgreSQL has no foreign
        // key to delete them since migration 0011: the purge does).
        assert_eq!(
            common::count_rows(&store, "hub_attempts").await,
            0,
            "{}: attempts left after their deliveries",
            store.name
        );
    }
}

/// Gladly's rule (issue 18): a PING passes only when answered 200; a 204
/// (or any other 2xx) refuses the subscription.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_passes_only_with_200() {
    let store = common::sqlite();
    let hub = common::hub(&store).await;
    let receiver = TestReceiver::start().await;
    receiver.answer(204);
    let answer = hub
        .call(
            "POST",
            "/api/v1/webhooks",
            Some(serde_json::json!({"url": receiver.url, "events": ["TASK_CLOSED"]})),
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.text);
    assert_eq!(answer.json["error"], "ping_failed");
    assert!(answer.text.contains("HTTP 204, not 200"), "{}", answer.text);
    receiver.answer(200);
    hub.create(&receiver.url, &["TASK_CLOSED"], true).await;
}
