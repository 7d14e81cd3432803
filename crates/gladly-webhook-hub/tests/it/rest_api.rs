//! The hub as a local Gladly (`Hub::model(Model::RestApiV1)`): REST API
//! 1.0's webhook rules, deliveries with credentials and headers, the
//! retry limit, the rate limit, the Events API, and its OpenAPI document
//! agreeing with its router. On SQLite and PostgreSQL.

use crate::common;

use std::time::{Duration, Instant};

use common::{
    EMAIL, TOKEN, TestHub, TestReceiver, TestStore, dispatch_options, hub_configured, sqlite,
    stores,
};
use gladly_webhook_core::model::Model;
use gladly_webhook_hub::api::rest_openapi_document;
use serde_json::{Value, json};

async fn local_gladly(store: &TestStore, rate: u32) -> TestHub {
    hub_configured(store, dispatch_options(), |hub| {
        hub.allow_insecure_localhost(true)
            .unwrap()
            .model(Model::RestApiV1)
            .rate_limit(rate)
    })
    .await
}

/// A `NOUN/VERB` event without id and timestamp.
fn rest_event(event_type: &str) -> Value {
    let content = match event_type {
        "CONVERSATION/CLOSED" => json!({"customerId": "c1", "conversationId": "v1",
            "context": {"assignee": {"inboxId": "i1"}}}),
        "TASK/CLOSED" => json!({"customerId": "c1", "taskId": "t1",
            "context": {"createdAt": "2026-12-02T10:00:00Z"}}),
        other => panic!("no example for {other}"),
    };
    json!({"type": event_type, "initiator": {"id": "a1", "type": "AGENT"}, "content": content})
}

fn webhook_body(url: &str) -> Value {
    json!({
        "name": "CSAT integration",
        "url": url,
        "events": ["CONVERSATION/CLOSED"],
        "credentials": {"username": "gladly", "password": "pa:ss-word"},
        "headers": {"X-Gladly-Token": "tok_header_value"}
    })
}

/// Creates a webhook; its id, from `Location`.
async fn create(hub: &TestHub, body: Value) -> String {
    let answer = hub.call("POST", "/api/v1/webhooks", Some(body)).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert!(answer.text.is_empty(), "a 201 has no body: {}", answer.text);
    let location = answer.headers["location"].to_str().unwrap();
    location
        .strip_prefix("/api/v1/webhooks/")
        .unwrap()
        .to_string()
}

fn first_error(answer: &common::Answer) -> (String, String) {
    let error = &answer.json["errors"][0];
    (
        error["attr"].as_str().unwrap_or_default().to_string(),
        error["code"].as_str().unwrap().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_follow_the_rest_api_rules() {
    for store in stores().await {
        let hub = local_gladly(&store, 0).await;
        let receiver = TestReceiver::start().await;
        let id = create(&hub, webhook_body(&receiver.url)).await;
        assert!(
            receiver.received().is_empty(),
            "a disabled webhook is not PINGed"
        );

        // Write-only fields are never shown; what is set is.
        let one = hub
            .call("GET", &format!("/api/v1/webhooks/{id}"), None)
            .await;
        assert_eq!(one.status, 200);
        assert_eq!(one.json["enabled"], false);
        assert_eq!(one.json["name"], "CSAT integration");
        assert_eq!(one.json["hasCredentials"], true);
        assert_eq!(one.json["headerKeys"], json!(["X-Gladly-Token"]));
        assert!(one.json.get("credentials").is_none() && one.json.get("headers").is_none());
        assert!(!one.text.contains("pa:ss-word") && !one.text.contains("tok_header_value"));
        let listed = hub.call("GET", "/api/v1/webhooks", None).await;
        assert_eq!(listed.json, json!([one.json]));

        // Problems in Gladly's words, at their fields.
        let mut read_only = webhook_body("https://example.com/other");
        read_only["hasCredentials"] = json!(true);
        let refused = hub.call("POST", "/api/v1/webhooks", Some(read_only)).await;
        assert_eq!(refused.status, 400, "{}", refused.text);
        assert_eq!(first_error(&refused).0, "hasCredentials");
        let missing = hub
            .call(
                "POST",
                "/api/v1/webhooks",
                Some(json!({"events": ["TASK/CLOSED"]})),
            )
            .await;
        assert_eq!(
            first_error(&missing),
            ("url".to_string(), "blank".to_string())
        );
        let taken = hub
            .call(
                "POST",
                "/api/v1/webhooks",
                Some(webhook_body(&receiver.url)),
            )
            .await;
        assert_eq!(
            (taken.status, first_error(&taken)),
            (400, ("url".into(), "taken".into()))
        );

        // Enabling PINGs with the credentials and headers, unsigned; 204.
        let enabled = hub.patch(&id, json!({"enabled": true})).await;
        assert_eq!(enabled.status, 204, "{}", enabled.text);
        let ping = &receiver.received()[0];
        assert_eq!(ping.event_type(), "PING");
        assert_eq!(
            ping.headers["authorization"],
            "Basic Z2xhZGx5OnBhOnNzLXdvcmQ="
        );
        assert_eq!(ping.headers["x-gladly-token"], "tok_header_value");
        assert!(!ping.headers.contains_key("gladly-authorization"));
        let one = hub
            .call("GET", &format!("/api/v1/webhooks/{id}"), None)
            .await;
        assert_eq!(one.json["enabled"], true);
        assert!(one.json["updatedAt"].as_str() > one.json["createdAt"].as_str());

        // Moving an enabled webhook to a URL that does not answer 200 fails
        // and changes nothing.
        let elsewhere = TestReceiver::start().await;
        elsewhere.answer(204);
        let moved = hub.patch(&id, json!({"url": elsewhere.url})).await;
        assert_eq!(moved.status, 400, "{}", moved.text);
        assert_eq!(first_error(&moved), ("url".into(), "ping_failed".into()));
        let one = hub
            .call("GET", &format!("/api/v1/webhooks/{id}"), None)
            .await;
        assert_eq!(one.json["url"], receiver.url.as_str());

        // The fields given replace the stored ones; the others stay. The
        // schema has no `null`.
        let nulls = hub.patch(&id, json!({"credentials": null})).await;
        assert_eq!(
            (nulls.status, first_error(&nulls).0),
            (400, "credentials".to_string())
        );
        let replaced = hub
            .patch(&id, json!({"headers": {}, "name": "renamed"}))
            .await;
        assert_eq!(replaced.status, 204, "{}", replaced.text);
        let one = hub
            .call("GET", &format!("/api/v1/webhooks/{id}"), None)
            .await;
        assert_eq!(one.json["hasCredentials"], true);
        assert_eq!(one.json["name"], "renamed");
        assert!(one.json.get("headerKeys").is_none(), "{}", one.text);

        // An enabled webhook is not deleted.
        let refused = hub
            .call("DELETE", &format!("/api/v1/webhooks/{id}"), None)
            .await;
        assert_eq!(
            (refused.status, first_error(&refused).0),
            (400, "enabled".to_string())
        );
        assert_eq!(hub.patch(&id, json!({"enabled": false})).await.status, 204);
        let deleted = hub
            .call("DELETE", &format!("/api/v1/webhooks/{id}"), None)
            .await;
        assert_eq!(deleted.status, 204);
        let gone = hub
            .call("GET", &format!("/api/v1/webhooks/{id}"), None)
            .await;
        assert_eq!(
            (gone.status, first_error(&gone).1),
            (404, "not_found".to_string())
        );

        // At most 20.
        for n in 0..20 {
            create(
                &hub,
                json!({"url": format!("https://example.com/{n}"), "events": ["TASK/CLOSED"]}),
            )
            .await;
        }
        let over = hub
            .call(
                "POST",
                "/api/v1/webhooks",
                Some(json!({"url": "https://example.com/21", "events": ["TASK/CLOSED"]})),
            )
            .await;
        assert_eq!(
            (over.status, first_error(&over).1),
            (400, "too_many".to_string())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_carry_credentials_and_the_retry_limit_disables() {
    common::concurrently(stores().await, |store| async move {
        let hub = local_gladly(&store, 0).await;
        let receiver = TestReceiver::start().await;
        let mut body = webhook_body(&receiver.url);
        body["enabled"] = json!(true);
        let id = create(&hub, body).await;

        let published = hub.publish(rest_event("CONVERSATION/CLOSED")).await;
        let got = receiver.wait(|r| !r.is_empty()).await;
        assert_eq!(got[0].event_id().as_deref(), published["eventId"].as_str());
        assert_eq!(
            got[0].headers["authorization"],
            "Basic Z2xhZGx5OnBhOnNzLXdvcmQ="
        );
        assert_eq!(got[0].headers["x-gladly-token"], "tok_header_value");
        assert!(!got[0].headers.contains_key("gladly-authorization"));
        // An event of our user's model is not this API's.
        let foreign = hub
            .call("POST", "/api/v1/events", Some(common::event("TASK_CLOSED")))
            .await;
        assert_eq!(foreign.status, 400, "{}", foreign.text);

        // Every attempt fails: after Gladly's schedule (scaled), disabled.
        receiver.answer(503);
        hub.publish(rest_event("CONVERSATION/CLOSED")).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        let disabled = loop {
            let one = hub
                .call("GET", &format!("/api/v1/webhooks/{id}"), None)
                .await;
            if one.json["enabled"] == false {
                break one.json;
            }
            assert!(Instant::now() < deadline, "not disabled: {}", one.text);
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(receiver.events().len(), 1 + 5);
        let at = disabled["disabledAtDueToRetryLimit"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
        // Issue 36: the email Gladly sends its API users, recorded as an
        // operational event the local Gladly lists.
        let listed = hub.call("GET", "/api/v1/operational-events", None).await;
        assert_eq!(listed.status, 200, "{}", listed.text);
        let email = listed
            .json
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["type"] == "api_users.emailed")
            .unwrap_or_else(|| panic!("{}: no email in {}", store.name, listed.text))
            .clone();
        assert_eq!(email["data"]["webhookId"], id.as_str());
        assert!(
            email["data"]["subject"]
                .as_str()
                .unwrap()
                .contains("disabled"),
            "{email}"
        );
        assert!(!listed.text.contains("pa:ss-word") && !listed.text.contains("tok_header_value"));

        // Enabled again (its PING answered), the mark is gone.
        receiver.answer(200);
        assert_eq!(hub.patch(&id, json!({"enabled": true})).await.status, 204);
        let one = hub
            .call("GET", &format!("/api/v1/webhooks/{id}"), None)
            .await;
        assert!(
            one.json.get("disabledAtDueToRetryLimit").is_none(),
            "{}",
            one.text
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_api_streams_the_window_in_publish_order() {
    for store in stores().await {
        let hub = local_gladly(&store, 0).await;
        let start = chrono::Utc::now() - chrono::Duration::seconds(5);
        let mut published = Vec::new();
        for event_type in [
            "CONVERSATION/CLOSED",
            "TASK/CLOSED",
            "CONVERSATION/CLOSED",
            "TASK/CLOSED",
        ] {
            // No webhook receives them: the Events API has them all the same.
            published.push(hub.publish(rest_event(event_type)).await["eventId"].clone());
        }
        let since = start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let read = |query: String| {
            let hub = &hub;
            async move {
                let answer = hub
                    .call("GET", &format!("/api/v1/events?{query}"), None)
                    .await;
                let lines: Vec<Value> = answer
                    .text
                    .lines()
                    .filter_map(|line| serde_json::from_str(line).ok())
                    .collect();
                (answer, lines)
            }
        };
        let (answer, lines) = read(format!("startAt={since}")).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.headers["content-type"], "application/x-jsonlines");
        let ids: Vec<Value> = lines.iter().map(|l| l["id"].clone()).collect();
        assert_eq!(ids, published);

        let (_, tasks) = read(format!("startAt={since}&entities=TASK")).await;
        assert_eq!(tasks.len(), 2);
        assert!(tasks.iter().all(|l| l["type"] == "TASK/CLOSED"));
        let (_, both) = read(format!(
            "startAt={since}&entities=TASK&entities=CONVERSATION"
        ))
        .await;
        assert_eq!(both.len(), 4);
        let before = (start + chrono::Duration::seconds(1))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let (answer, none) = read(format!("startAt={since}&endAt={before}")).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert!(none.is_empty(), "{}", answer.text);

        for (query, attr) in [
            ("entities=TASK".to_string(), "startAt"),
            ("startAt=2020-01-01T00:00:00Z".to_string(), "startAt"),
            (format!("startAt={since}&entities=TASKS"), "entities"),
            (
                format!("startAt={since}&endAt=2020-01-01T00:00:00Z"),
                "endAt",
            ),
            (format!("startAt={since}&limit=5"), ""),
        ] {
            let (answer, _) = read(query.clone()).await;
            assert_eq!(answer.status, 400, "{query}: {}", answer.text);
            assert_eq!(first_error(&answer).0, attr, "{query}: {}", answer.text);
        }
    }
}

/// Issue 32: the Events API reads events by their `timestamp` ("when the
/// event was recorded"), not by when they were published, and streams them
/// in timestamp order; a real Gladly's smallest `CUSTOMER_PROFILE/CREATED`
/// (no `initiator`) is accepted at publication.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_api_reads_the_events_timestamps() {
    for store in stores().await {
        let hub = local_gladly(&store, 0).await;
        let now = chrono::Utc::now();
        let at = |minutes_ago: i64| {
            (now - chrono::Duration::minutes(minutes_ago))
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        };
        // Published in this order, recorded 2 h, 10 min and 30 min ago.
        for (id, minutes_ago) in [("evt_old", 120), ("evt_late", 10), ("evt_mid", 30)] {
            let event = json!({"id": id, "type": "CUSTOMER_PROFILE/CREATED",
                "timestamp": at(minutes_ago), "content": {"customerId": "c1"}});
            let answer = hub.call("POST", "/api/v1/events", Some(event)).await;
            assert_eq!(answer.status, 202, "{}", answer.text);
        }
        let ids = |query: String| {
            let hub = &hub;
            async move {
                let answer = hub
                    .call("GET", &format!("/api/v1/events?{query}"), None)
                    .await;
                assert_eq!(answer.status, 200, "{query}: {}", answer.text);
                answer
                    .text
                    .lines()
                    .map(|line| serde_json::from_str::<Value>(line).unwrap()["id"].clone())
                    .collect::<Vec<Value>>()
            }
        };
        assert_eq!(
            ids(format!("startAt={}", at(60))).await,
            [json!("evt_mid"), json!("evt_late")],
            "{}: the last hour by timestamp, oldest first",
            store.name
        );
        assert_eq!(
            ids(format!("startAt={}&endAt={}", at(180), at(20))).await,
            [json!("evt_old"), json!("evt_mid")],
            "{}",
            store.name
        );
    }
}

/// Issue 32: an events window past the calendar (a library user's
/// `Duration::MAX`; the CLI refuses more than 30 days at start) reads from
/// the first time there is: the Events API answers, it does not panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_events_window_past_the_calendar_still_answers() {
    let store = sqlite();
    let hub = hub_configured(&store, dispatch_options(), |hub| {
        hub.model(Model::RestApiV1)
            .rate_limit(0)
            .events_window(std::time::Duration::MAX)
    })
    .await;
    hub.publish(rest_event("TASK/CLOSED")).await;
    let answer = hub
        .call("GET", "/api/v1/events?startAt=1970-01-01T00:00:00Z", None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.text.lines().count(), 1, "{}", answer.text);
}

/// Issue 32: write-only `headers` that cannot be sent, or that the delivery
/// sets itself, are refused at create and at PATCH with 400 in Gladly's
/// error body, and nothing is stored or changed (they were stored, then
/// every delivery failed or was truncated).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsendable_and_reserved_headers_are_refused() {
    for store in stores().await {
        let hub = local_gladly(&store, 0).await;
        let name = store.name;
        for (headers, attr) in [
            (json!({"Content-Length": "3"}), "headers.Content-Length"),
            (
                json!({"Authorization": "Basic eDp5"}),
                "headers.Authorization",
            ),
            (
                json!({"Transfer-Encoding": "chunked"}),
                "headers.Transfer-Encoding",
            ),
            (json!({"Connection": "close"}), "headers.Connection"),
            (json!({"X Token": "t"}), "headers.X Token"),
            (json!({"X-Token": "a\r\nX-Injected: 1"}), "headers.X-Token"),
            (json!({"X-Token": "a\u{0}b"}), "headers.X-Token"),
        ] {
            let mut body = webhook_body("https://example.com/hooks");
            body["headers"] = headers.clone();
            let refused = hub.call("POST", "/api/v1/webhooks", Some(body)).await;
            assert_eq!(refused.status, 400, "{name}: {headers}: {}", refused.text);
            assert_eq!(
                first_error(&refused),
                (attr.to_string(), "invalid".to_string()),
                "{name}: {headers}"
            );
            assert!(!refused.text.contains("X-Injected"), "{}", refused.text);
        }
        let listed = hub.call("GET", "/api/v1/webhooks", None).await;
        assert_eq!(listed.json, json!([]), "{name}: nothing stored");

        let id = create(&hub, webhook_body("https://example.com/hooks")).await;
        let patched = hub
            .patch(&id, json!({"headers": {"Upgrade": "websocket"}}))
            .await;
        assert_eq!(patched.status, 400, "{name}: {}", patched.text);
        let one = hub
            .call("GET", &format!("/api/v1/webhooks/{id}"), None)
            .await;
        assert_eq!(
            one.json["headerKeys"],
            json!(["X-Gladly-Token"]),
            "{name}: unchanged"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_is_told_and_enforced() {
    let store = sqlite();
    let hub = local_gladly(&store, 3).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let answer = hub.call("GET", "/api/v1/webhooks", None).await;
        assert_eq!(answer.headers["ratelimit-limit-second"], "3");
        assert!(answer.headers.contains_key("ratelimit-remaining-second"));
        if answer.status == 429 {
            assert!(answer.headers.contains_key("retry-after"));
            assert_eq!(first_error(&answer).1, "too_many_requests");
            assert_eq!(answer.headers["ratelimit-remaining-second"], "0");
        }
        statuses.push(answer.status);
    }
    // Eight requests span at most two of the limit's seconds: six pass.
    assert!(
        statuses.iter().filter(|s| **s == 429).count() >= 2,
        "{statuses:?}"
    );
    // Publication, which is not Gladly's, is not counted.
    for _ in 0..8 {
        hub.publish(rest_event("TASK/CLOSED")).await;
    }
}

const METHODS: [&str; 5] = ["GET", "POST", "PATCH", "PUT", "DELETE"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_served_and_no_other() {
    let store = sqlite();
    let hub = local_gladly(&store, 0).await;
    let id = create(
        &hub,
        json!({"url": "https://example.com/a", "events": ["TASK/CLOSED"]}),
    )
    .await;
    let doc = rest_openapi_document();
    let served = hub
        .raw(hub.client.get(format!("{}/api/v1/openapi.json", hub.base)))
        .await;
    assert_eq!(served.json, doc);
    let since = (chrono::Utc::now() - chrono::Duration::minutes(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);

    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path.replace("{webhookId}", &id);
        for method in METHODS {
            let operation = &item[method.to_lowercase()];
            let body = matches!(method, "POST" | "PATCH" | "PUT").then(|| json!([]));
            let target = if method == "GET" && path == "/api/v1/events" {
                format!("{concrete}?startAt={since}")
            } else {
                concrete.clone()
            };
            let answer = hub.call(method, &target, body.clone()).await;
            if operation.is_null() {
                assert_eq!(
                    answer.status, 405,
                    "{method} {path} is not documented: {}",
                    answer.text
                );
                assert!(answer.json["errors"].is_array(), "{}", answer.text);
                continue;
            }
            let code = answer.status.to_string();
            assert!(
                operation["responses"].get(&code).is_some(),
                "{method} {path} answered {code}, which the document does not list: {}",
                answer.text
            );
            if answer.status >= 400 {
                assert!(answer.json["errors"].is_array(), "{}", answer.text);
            }
            let unknown = hub
                .call(method, &format!("{concrete}?limt=5"), body.clone())
                .await;
            assert_eq!(
                unknown.status, 400,
                "{method} {path}?limt=5: {}",
                unknown.text
            );
            assert!(operation["responses"].get("400").is_some());
            if !path.ends_with("openapi.json") {
                let anonymous = hub
                    .raw(
                        hub.client
                            .request(method.parse().unwrap(), format!("{}{target}", hub.base)),
                    )
                    .await;
                assert_eq!(anonymous.status, 401, "{method} {path} without credentials");
                assert!(operation["responses"].get("401").is_some());
            }
        }
    }
    // The webhooks the API returns fit the vendored REST webhook schema.
    let schema: Value =
        serde_json::from_str(gladly_webhook_core::gladly_schema::rest::webhook::SCHEMA).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let listed = hub.call("GET", "/api/v1/webhooks", None).await.json;
    for webhook in listed.as_array().unwrap() {
        let errors: Vec<String> = validator
            .iter_errors(webhook)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{webhook}: {errors:?}");
    }
    // Credentials are needed, and the login is the API user's.
    let wrong = hub
        .raw(
            hub.client
                .get(format!("{}/api/v1/webhooks", hub.base))
                .basic_auth(EMAIL, Some(format!("{TOKEN}x"))),
        )
        .await;
    assert_eq!(wrong.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_api_sees_its_own_model_in_a_shared_store() {
    let store = sqlite();
    let rest = local_gladly(&store, 0).await;
    let id = create(
        &rest,
        json!({"url": "https://example.com/r", "events": ["TASK/CLOSED"]}),
    )
    .await;
    let ours = common::hub(&store).await;
    assert_eq!(
        ours.call("GET", "/api/v1/webhooks", None).await.json,
        json!([])
    );
    for method in ["GET", "DELETE"] {
        let answer = ours
            .call(method, &format!("/api/v1/webhooks/{id}"), None)
            .await;
        assert_eq!(answer.status, 404, "{method}: {}", answer.text);
    }
    let theirs = ours
        .create("https://example.com/s", &["TASK_CLOSED"], false)
        .await;
    let listed = rest.call("GET", "/api/v1/webhooks", None).await.json;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let other = rest
        .call(
            "GET",
            &format!("/api/v1/webhooks/{}", theirs["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(other.status, 404);
}
