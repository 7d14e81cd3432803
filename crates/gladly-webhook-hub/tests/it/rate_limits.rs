//! Issue 36: rate limits and back-pressure per subscription, on SQLite and
//! PostgreSQL: a subscription's rate kept by two hubs on one store, in
//! both dispatch modes, and a receiver's `429` with `Retry-After` pausing
//! its subscription.

use crate::common;

use std::time::Duration;

use common::{TestReceiver, WINDOWS, dispatch_options_in, event, hub_with, stores};
use serde_json::json;

/// Two hubs deliver to one subscription limited to 10 a second: every two
/// attempts are at least 100 ms apart (less a margin for the loopback's
/// jitter), in both dispatch modes, though each hub takes turns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_holds_across_two_hubs_on_one_store() {
    for store in stores().await {
        for window in WINDOWS {
            let mut options = dispatch_options_in(window);
            options.lease = Duration::from_millis(600);
            let first = hub_with(&store, options.clone()).await;
            let second = hub_with(&store, options).await;
            let receiver = TestReceiver::start().await;
            let webhook = first.create(&receiver.url, &["TASK_CLOSED"], true).await;
            let id = webhook["id"].as_str().unwrap();
            let path = format!("/api/v1/webhooks/{id}/rate-limit");
            // 10.0 is a whole number, as JSON Schema's `integer` says.
            let set = first
                .call("PUT", &path, Some(json!({"perSecond": 10.0})))
                .await;
            assert_eq!(set.status, 200, "{}", set.text);
            assert_eq!(set.json, json!({"perSecond": 10, "pausedUntil": null}));
            let read = second.call("GET", &path, None).await;
            assert_eq!(read.json["perSecond"], 10);

            for n in 0..10 {
                let hub = if n % 2 == 0 { &first } else { &second };
                hub.publish(event("TASK_CLOSED")).await;
            }
            let received = receiver.wait(|r| r.len() == 10).await;
            let at: Vec<_> = received.iter().map(|r| r.at).collect();
            for pair in at.windows(2) {
                let gap = pair[1] - pair[0];
                assert!(
                    gap >= Duration::from_millis(75),
                    "{} window {window}: two attempts {gap:?} apart",
                    store.name
                );
            }
            let span = at[9] - at[0];
            assert!(span >= Duration::from_millis(850), "{span:?}");

            // Lifted: null.
            let lifted = first
                .call("PUT", &path, Some(json!({"perSecond": null})))
                .await;
            assert_eq!(lifted.json["perSecond"], serde_json::Value::Null);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_request_is_checked() {
    let store = common::sqlite();
    let hub = hub_with(&store, dispatch_options_in(8)).await;
    let receiver = TestReceiver::start().await;
    let webhook = hub.create(&receiver.url, &["TASK_CLOSED"], true).await;
    let path = format!(
        "/api/v1/webhooks/{}/rate-limit",
        webhook["id"].as_str().unwrap()
    );
    let cases = [
        (json!({}), "/perSecond", "Required"),
        (json!({"perSecond": 0}), "/perSecond", "Range"),
        (json!({"perSecond": 10_001}), "/perSecond", "Range"),
        (json!({"perSecond": 2.5}), "/perSecond", "Type"),
        (json!({"perSecond": "5"}), "/perSecond", "Type"),
        (json!({"perSecond": 5, "burst": 2}), "/burst", "Unknown"),
    ];
    hub.assert_refused("PUT", &path, &cases).await;
    let missing = hub
        .call(
            "PUT",
            "/api/v1/webhooks/wh_missing/rate-limit",
            Some(json!({"perSecond": 5})),
        )
        .await;
    assert_eq!(missing.status, 404);
}

/// A `429` with `Retry-After: 60` (1.2 s at the tests' time scale of 0.02):
/// the subscription gets no attempt before then, not even of an event
/// published meanwhile, and the API shows the pause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_pauses_the_subscription() {
    for store in stores().await {
        let mut options = dispatch_options_in(8);
        options.time_scale = 0.02;
        let hub = hub_with(&store, options).await;
        let receiver = TestReceiver::start().await;
        let webhook = hub.create(&receiver.url, &["TASK_CLOSED"], true).await;
        let id = webhook["id"].as_str().unwrap();
        receiver.answer(429);
        receiver.retry_after(Some("60"));
        hub.publish(event("TASK_CLOSED")).await;
        let refused = receiver.wait(|r| r.len() == 1).await;
        receiver.answer(200);
        receiver.retry_after(None);
        hub.publish(event("TASK_CLOSED")).await;
        // The receiver saw the 429 before the hub read it and recorded the
        // pause: the API shows it within the pause, not at once.
        let shown_by = std::time::Instant::now() + Duration::from_secs(1);
        let paused = loop {
            let paused = hub
                .call("GET", &format!("/api/v1/webhooks/{id}/rate-limit"), None)
                .await;
            if paused.json["pausedUntil"].is_string() || std::time::Instant::now() > shown_by {
                break paused;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(
            paused.json["pausedUntil"].is_string(),
            "{}: {}",
            store.name,
            paused.text
        );

        let all = receiver.wait(|r| r.len() == 3).await;
        for later in &all[1..] {
            let waited = later.at - refused[0].at;
            assert!(
                waited >= Duration::from_millis(1_150),
                "{}: an attempt {waited:?} after the 429",
                store.name
            );
        }
        hub.wait_deliveries(id, |d| d.iter().all(|d| d["state"] == "delivered"))
            .await;
    }
}
