//! Issue 36: operational events, on SQLite and PostgreSQL: a backlog past
//! its threshold, a deactivation with its exhausted delivery and a
//! re-enabled subscription, delivered to the operator's endpoint as
//! Standard Webhooks (verified with the official `standardwebhooks`
//! crate) and listed by the API; an operator endpoint that fails raises
//! nothing (no loop).

use crate::common;

use std::time::Duration;

use common::{TestReceiver, dispatch_options_in, event, hub_configured, stores};
use gladly_webhook_core::Secret;
use gladly_webhook_hub::alerts::AlertOptions;
use serde_json::{Value, json};

const OPERATOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operational_events_reach_the_operator_as_standard_webhooks() {
    common::concurrently(stores().await, |store| async move {
        let operator = TestReceiver::start().await;
        let mut alerts = AlertOptions::default();
        alerts.endpoints = vec![(operator.url.clone(), Secret::new(OPERATOR_SECRET))];
        alerts.max_pending = Some(2);
        alerts.check_every = Some(Duration::from_millis(100));
        // Gladly's schedule runs out in about 1.2 s.
        let mut options = dispatch_options_in(1);
        options.time_scale = 0.0002;
        let hub = hub_configured(&store, options, |hub| {
            hub.allow_insecure_localhost(true).unwrap().alerts(alerts)
        })
        .await;
        hub.store
            .set_operator_endpoints(&[(operator.url.clone(), Secret::new(OPERATOR_SECRET))])
            .await
            .unwrap();
        // The operator's endpoint is no subscription.
        let listed = hub.call("GET", "/api/v1/webhooks", None).await;
        assert_eq!(listed.json, json!([]), "{}", store.name);

        let failing = TestReceiver::start().await;
        let webhook = hub.create(&failing.url, &["TASK_CLOSED"], true).await;
        let id = webhook["id"].as_str().unwrap().to_string();
        let secret = webhook["secret"].as_str().unwrap().to_string();
        failing.answer(500);
        // Strict order: the first delivery's retries hold three behind it,
        // a backlog over 2.
        for _ in 0..3 {
            hub.publish(event("TASK_CLOSED")).await;
        }
        hub.wait_deliveries(&id, |d| d.iter().all(|d| d["state"] != "pending"))
            .await;
        failing.answer(200);
        assert_eq!(hub.patch(&id, json!({"active": true})).await.status, 200);

        let received = operator.wait(|r| r.len() >= 4).await;
        let official = standardwebhooks::Webhook::new(OPERATOR_SECRET).unwrap();
        let mut bodies = Vec::new();
        for delivery in &received {
            assert!(
                official.verify(&delivery.body, &delivery.headers).is_ok(),
                "{}: {:?}",
                store.name,
                delivery.headers
            );
            assert!(!delivery.headers.contains_key("gladly-authorization"));
            bodies.push(delivery.json());
        }
        let got = types(&bodies);
        for wanted in [
            "subscription.backlog",
            "subscription.deactivated",
            "delivery.exhausted",
            "subscription.reenabled",
        ] {
            assert!(got.iter().any(|t| t == wanted), "{}: {got:?}", store.name);
        }
        let deactivated = bodies
            .iter()
            .find(|b| b["type"] == "subscription.deactivated")
            .unwrap();
        assert_eq!(deactivated["data"]["webhookId"], id.as_str());
        assert!(
            deactivated["data"]["reason"]
                .as_str()
                .unwrap()
                .contains("HTTP 500"),
            "{deactivated}"
        );
        // Each delivery's webhook-id is its event's id, as listed.
        let listed = hub.call("GET", "/api/v1/operational-events", None).await;
        assert_eq!(listed.status, 200, "{}", listed.text);
        let listed = listed.json.as_array().unwrap().clone();
        assert_eq!(listed.len(), 4, "{}: {listed:?}", store.name);
        assert_eq!(listed[0]["type"], "subscription.reenabled", "newest first");
        for delivery in &received {
            let id = delivery.headers["webhook-id"].to_str().unwrap();
            assert!(listed.iter().any(|e| e["id"] == id), "{id}");
        }
        let all = serde_json::to_string(&listed).unwrap();
        assert!(
            !all.contains(&secret),
            "a subscription's secret in an event"
        );
        assert!(!all.contains(OPERATOR_SECRET));

        // The operator's endpoint fails every attempt of a new event: its
        // delivery runs out, and nothing more is raised.
        operator.answer(500);
        let before = operator.received().len();
        failing.answer(500);
        let another = TestReceiver::start().await;
        let second = hub.create(&another.url, &["TASK_CLOSED"], false).await;
        let second_id = second["id"].as_str().unwrap();
        assert_eq!(
            hub.patch(second_id, json!({"active": true})).await.status,
            200
        );
        // The re-enabled event is a new one (inactive to active).
        operator.wait(|r| r.len() >= before + 5).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = hub.call("GET", "/api/v1/operational-events", None).await;
        assert_eq!(
            after.json.as_array().unwrap().len(),
            5,
            "{}: {}",
            store.name,
            after.text
        );
    })
    .await;
}
