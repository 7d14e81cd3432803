//! Issue 36: recovering a window, on SQLite and PostgreSQL: a
//! subscription's failed and cancelled deliveries sent again, in publish
//! order, once; refused while it is inactive; the request's problems at
//! their pointers.

use crate::common;

use chrono::{SecondsFormat, Utc};
use common::{TestReceiver, dispatch_options_in, event, hub_with, stores};
use serde_json::{Value, json};

fn rfc3339(at: chrono::DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_of_failed_deliveries_is_sent_again_in_order_once() {
    common::concurrently(stores().await, |store| async move {
        // Strict order: the deliveries sent again arrive in publish order.
        let hub = hub_with(&store, dispatch_options_in(1)).await;
        let receiver = TestReceiver::start().await;
        let webhook = hub.create(&receiver.url, &["TASK_CLOSED"], true).await;
        let id = webhook["id"].as_str().unwrap().to_string();
        let recover = format!("/api/v1/webhooks/{id}/recover");
        receiver.answer(500);

        let before = Utc::now() - chrono::TimeDelta::seconds(1);
        let mut published = Vec::new();
        for _ in 0..3 {
            let answer = hub.publish(event("TASK_CLOSED")).await;
            published.push(answer["eventId"].as_str().unwrap().to_string());
        }
        // The first fails five times: the subscription is deactivated and
        // the other two are cancelled.
        hub.wait_deliveries(&id, |d| {
            d.len() == 3 && d.iter().all(|d| d["state"] != "pending")
        })
        .await;
        let sent_before = receiver.events().len();
        assert_eq!(sent_before, 5, "{}", store.name);

        // Inactive: refused, and says what to do.
        let answer = hub
            .call("POST", &recover, Some(json!({"since": rfc3339(before)})))
            .await;
        assert_eq!(answer.status, 409, "{}: {}", store.name, answer.text);
        assert_eq!(answer.json["error"], "inactive");
        assert!(answer.text.contains("re-activate"), "{}", answer.text);

        // Re-activated (the PING is answered 200), then recovered.
        receiver.answer(200);
        let patched = hub.patch(&id, json!({"active": true})).await;
        assert_eq!(patched.status, 200, "{}", patched.text);
        // A window after the publications holds nothing.
        let later = hub
            .call(
                "POST",
                &recover,
                Some(json!({"since": rfc3339(Utc::now())})),
            )
            .await;
        assert_eq!((later.status, &later.json), (200, &json!({"recovered": 0})));
        let answer = hub
            .call(
                "POST",
                &recover,
                Some(json!({"since": rfc3339(before), "until": rfc3339(Utc::now())})),
            )
            .await;
        assert_eq!(answer.status, 200, "{}: {}", store.name, answer.text);
        assert_eq!(answer.json, json!({"recovered": 3}), "{}", store.name);
        // Once: a second call finds them pending or delivered.
        let again = hub
            .call("POST", &recover, Some(json!({"since": rfc3339(before)})))
            .await;
        assert_eq!(again.json, json!({"recovered": 0}), "{}", store.name);

        let deliveries = hub
            .wait_deliveries(&id, |d| d.iter().all(|d| d["state"] == "delivered"))
            .await;
        let received = receiver.wait(|r| r.len() >= sent_before + 3).await;
        let resent: Vec<_> = received[sent_before..]
            .iter()
            .filter(|r| r.event_type() == "TASK_CLOSED")
            .map(|r| r.event_id().unwrap())
            .collect();
        assert_eq!(resent, published, "{}: publish order", store.name);
        // The failed one keeps its five attempts; the sixth is numbered on.
        let first = deliveries
            .iter()
            .find(|d| d["eventId"] == published[0].as_str())
            .unwrap();
        let numbers: Vec<_> = first["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["number"].as_u64().unwrap())
            .collect();
        assert_eq!(numbers.len(), 6, "{}: {first}", store.name);
        assert!(numbers.contains(&6) && numbers.contains(&1));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_request_is_checked() {
    let store = common::sqlite();
    let hub = hub_with(&store, dispatch_options_in(8)).await;
    let receiver = TestReceiver::start().await;
    let webhook = hub.create(&receiver.url, &["TASK_CLOSED"], true).await;
    let recover = format!(
        "/api/v1/webhooks/{}/recover",
        webhook["id"].as_str().unwrap()
    );
    let cases: [(Value, &str, &str); 5] = [
        (json!({}), "/since", "Required"),
        (json!({"since": "yesterday"}), "/since", "Format"),
        (json!({"since": 7}), "/since", "Format"),
        (
            json!({"since": "2026-12-07T10:00:00Z", "until": "2026-12-07T09:00:00Z"}),
            "/until",
            "Order",
        ),
        (
            json!({"since": "2026-12-07T10:00:00Z", "state": "failed"}),
            "/state",
            "Unknown",
        ),
    ];
    hub.assert_refused("POST", &recover, &cases).await;
    let missing = hub
        .call(
            "POST",
            "/api/v1/webhooks/wh_missing/recover",
            Some(json!({"since": "2026-12-07T10:00:00Z"})),
        )
        .await;
    assert_eq!(missing.status, 404, "{}", missing.text);
}
