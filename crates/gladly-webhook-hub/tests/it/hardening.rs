//! Issue 17 ("safe to expose"): each test here failed before its fix.

use crate::common;
use gladly_webhook_hub::testing::DispatcherSide;

use std::time::Duration;

use common::{dispatch_options, hub_configured, sqlite};
use serde_json::json;

/// SSRF: a hub that allows nothing beyond public addresses refuses, at
/// `/url`, every spelling of loopback, private, link-local, metadata and
/// mapped addresses (and `localhost` names) before any PING.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssrf_every_non_public_spelling_is_refused_at_create() {
    let store = sqlite();
    let hub = hub_configured(&store, dispatch_options(), |hub| hub).await;
    for host in gladly_webhook_testkit::hosts::NON_PUBLIC_HOSTS {
        let url = format!("https://{host}/hooks");
        let answer = hub
            .call(
                "POST",
                "/api/v1/webhooks",
                Some(json!({"url": url, "events": ["TASK_CLOSED"], "active": true})),
            )
            .await;
        assert_eq!(answer.status, 422, "{url}: {}", answer.text);
        let problems = answer.json["problems"].as_array().unwrap();
        assert!(
            problems
                .iter()
                .any(|p| p["pointer"] == "/url" && p["code"] == "AddressNotAllowed"),
            "{url}: {}",
            answer.text
        );
    }
    let list = hub.call("GET", "/api/v1/webhooks", None).await;
    assert_eq!(list.json, json!([]));
}

/// SSRF: a PATCH to a non-public URL is refused the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssrf_a_patch_to_a_private_address_is_refused() {
    let store = sqlite();
    let hub = hub_configured(&store, dispatch_options(), |hub| {
        hub.allow_network("203.0.113.0/24".parse().unwrap())
            .unwrap()
    })
    .await;
    let created = hub
        .create("https://203.0.113.7/hooks", &["TASK_CLOSED"], false)
        .await;
    let id = created["id"].as_str().unwrap();
    let answer = hub
        .patch(id, json!({"url": "https://192.168.0.10/hooks"}))
        .await;
    assert_eq!(answer.status, 422, "{}", answer.text);
    assert!(answer.text.contains("AddressNotAllowed"), "{}", answer.text);
}

/// A receiver on loopback that answers every request with `status` and a
/// body an attacker would like to read.
async fn leaky_receiver(status: u16) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(move || async move {
        (
            http::StatusCode::from_u16(status).unwrap(),
            "INTERNAL-ONLY: db_password=hunter2",
        )
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/hooks")
}

/// SSRF: a failed PING reports the status, never bytes of the answer; an
/// unreachable target reads "unreachable" whether the port is closed or
/// open to something that does not speak TLS (no port scanning).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssrf_a_failed_ping_reports_no_answer_bytes_and_no_port_state() {
    let store = sqlite();
    let hub = hub_configured(&store, dispatch_options(), |hub| {
        hub.allow_insecure_localhost(true).unwrap()
    })
    .await;
    let url = leaky_receiver(500).await;
    let answer = hub
        .call(
            "POST",
            "/api/v1/webhooks",
            Some(json!({"url": url, "events": ["TASK_CLOSED"]})),
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.text);
    assert!(answer.text.contains("HTTP 500"), "{}", answer.text);
    assert!(!answer.text.contains("INTERNAL-ONLY"), "{}", answer.text);
    assert!(!answer.text.contains("hunter2"), "{}", answer.text);

    // A closed port and an open port that does not speak TLS.
    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let open_plain = leaky_receiver(200).await.replace("http://", "https://");
    let mut messages = Vec::new();
    for url in [format!("https://{closed}/hooks"), open_plain] {
        let answer = hub
            .call(
                "POST",
                "/api/v1/webhooks",
                Some(json!({"url": url, "events": ["TASK_CLOSED"]})),
            )
            .await;
        assert_eq!(answer.status, 422, "{}", answer.text);
        let message = answer.json["message"].as_str().unwrap().to_string();
        assert!(message.ends_with("got no answer: unreachable"), "{message}");
        messages.push(message);
    }
    assert!(!messages.iter().any(|m| m.contains("INTERNAL-ONLY")));
}

/// SSRF: the dispatcher's sender applies the rule at connect time too: a
/// subscription whose host name resolves to loopback (here `localhost`,
/// stored before the hub's policy was tightened) gets no delivery, and its
/// attempts record only the rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssrf_the_dispatcher_refuses_a_name_that_resolves_to_loopback() {
    let store = sqlite();
    let receiver = common::TestReceiver::start().await;
    let url = format!("http://localhost:{}/hooks", receiver.addr.port());
    let id = {
        let open = hub_configured(&store, dispatch_options(), |hub| {
            hub.allow_insecure_localhost(true).unwrap()
        })
        .await;
        let created = open.create(&url, &["TASK_CLOSED"], true).await;
        created["id"].as_str().unwrap().to_string()
    };
    let before = receiver.received().len();
    let strict = hub_configured(&store, dispatch_options(), |hub| hub).await;
    strict.publish(common::event("TASK_CLOSED")).await;
    let deliveries = strict
        .wait_deliveries(&id, |d| {
            d.first()
                .and_then(|d| d["attempts"].as_array())
                .is_some_and(|a| !a.is_empty())
        })
        .await;
    let attempt = &deliveries[0]["attempts"][0];
    assert!(attempt["status"].is_null(), "{attempt}");
    assert!(
        attempt["error"]
            .as_str()
            .unwrap()
            .starts_with("refused by the address policy: a loopback address"),
        "{attempt}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.received().len(), before, "nothing reached it");
}

/// A receiver that answers 200 `delay` after each request arrives.
async fn slow_receiver(delay: Duration) -> common::TestReceiver {
    let receiver = common::TestReceiver::start().await;
    receiver.answer_after(delay);
    receiver
}

/// The change each after-change test makes, and what it forbids.
#[derive(Debug, Clone, Copy)]
enum Change {
    Delete,
    Deactivate,
    NewUrl,
    Rotate,
}

/// After the API answers a change, no delivery goes out that the change
/// forbids (issue 17, item 3): 30 events queued to a receiver that takes
/// 0.2 s each, the change made after the third arrived; then at most the
/// attempt already in flight may arrive (within 100 ms of the answer), and
/// nothing more in the next half second. Before the fix, 26-27 more went
/// out.
async fn after_change(store: &common::TestStore, change: Change, window: usize) {
    let hub = common::hub_with(store, common::dispatch_options_in(window)).await;
    let slow = slow_receiver(Duration::from_millis(200)).await;
    let other = slow_receiver(Duration::ZERO).await;
    let created = hub.create(&slow.url, &["TASK_CLOSED"], true).await;
    let id = created["id"].as_str().unwrap().to_string();
    let old_secret = created["secret"].as_str().unwrap().to_string();
    for _ in 0..30 {
        hub.publish(common::event("TASK_CLOSED")).await;
    }
    slow.wait(|r| r.len() >= 3).await;
    let answer = match change {
        Change::Delete => {
            hub.call("DELETE", &format!("/api/v1/webhooks/{id}"), None)
                .await
        }
        Change::Deactivate => hub.patch(&id, json!({"active": false})).await,
        Change::NewUrl => hub.patch(&id, json!({"url": other.url})).await,
        Change::Rotate => {
            hub.call("POST", &format!("/api/v1/webhooks/{id}/secret"), None)
                .await
        }
    };
    let answered = std::time::Instant::now();
    assert!(answer.status < 300, "{change:?}: {}", answer.text);
    tokio::time::sleep(Duration::from_millis(100)).await;
    // At most what was in flight (the window) may land just after.
    let in_flight = slow.events_after(answered).len();
    assert!(
        in_flight <= window,
        "{change:?}: {in_flight} arrived just after the answer (window {window})"
    );
    let settled = std::time::Instant::now();
    match change {
        Change::Delete | Change::Deactivate => {
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert_eq!(
                slow.events_after(settled).len(),
                0,
                "{change:?}: sent after the answer"
            );
        }
        Change::NewUrl => {
            other.wait(|r| !r.is_empty()).await;
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert_eq!(
                slow.events_after(settled).len(),
                0,
                "old URL used after the answer"
            );
        }
        Change::Rotate => {
            // One more event, so that one is surely sent after the answer
            // (the 30 may all have landed already on a busy machine).
            let next = slow.events().len() + 1;
            hub.publish(common::event("TASK_CLOSED")).await;
            slow.wait(|r| r.len() >= next).await;
            let new_secret = answer.json["secret"].as_str().unwrap().to_string();
            tokio::time::sleep(Duration::from_millis(500)).await;
            let after = slow.events_after(settled);
            assert!(!after.is_empty());
            for received in after {
                assert!(
                    !received.verifies_with(&old_secret),
                    "signed with the old secret"
                );
                assert!(received.verifies_with(&new_secret));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_delivery_after_a_change_is_answered() {
    // Each case has a store, a hub and receivers of its own; they mostly
    // wait on the slow receiver, so they run side by side.
    let mut cases = Vec::new();
    for window in common::WINDOWS {
        for change in [
            Change::Delete,
            Change::Deactivate,
            Change::NewUrl,
            Change::Rotate,
        ] {
            for store in common::stores().await {
                cases.push((store, change, window));
            }
        }
    }
    common::concurrently(cases, |(store, change, window)| async move {
        eprintln!("{}: {change:?}, window {window}", store.name);
        after_change(&store, change, window).await;
    })
    .await;
}

/// Item 4: the 1 MiB limit holds for the event as delivered. A valid
/// event of exactly 1 MiB without `id` and `timestamp` would be delivered
/// larger (receivers answer 413, then the subscription is deactivated): it
/// is refused with 413; with both given it is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_publication_limit_holds_for_the_body_as_delivered() {
    let store = sqlite();
    let hub = common::hub(&store).await;
    let sized = |prefix: String| {
        // prefix + `,"pad":"` + padding + `"}`
        let pad = (1 << 20) - prefix.len() - 10;
        format!("{prefix},\"pad\":\"{}\"}}", "x".repeat(pad))
    };
    let bare = sized(
        r#"{"type":"CUSTOMER_UPDATED","initiator":{"id":"a","type":"SYSTEM"},"content":{"customerId":"c"}"#
            .to_string(),
    );
    assert_eq!(bare.len(), 1 << 20);
    let answer = hub.post_body("/api/v1/events", bare).await;
    assert_eq!(answer.status, 413, "{}", answer.text);
    assert!(answer.text.contains("as delivered"), "{}", answer.text);
    let full = sized(
        r#"{"id":"evt_big","timestamp":"2026-11-26T17:00:00Z","type":"CUSTOMER_UPDATED","initiator":{"id":"a","type":"SYSTEM"},"content":{"customerId":"c"}"#
            .to_string(),
    );
    assert_eq!(full.len(), 1 << 20);
    let answer = hub.post_body("/api/v1/events", full).await;
    assert_eq!(answer.status, 202, "{}", answer.text);
}

/// Item 7: a blank event id, and a NUL in an id or a type, are refused with
/// 422 at their pointer (PostgreSQL cannot store a NUL; it answered 503 on
/// every try).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blank_ids_and_nul_characters_are_refused() {
    for store in common::stores().await {
        let hub = common::hub(&store).await;
        for (event, pointer) in [
            (json!({"id": "", "type": "CUSTOMER_UPDATED"}), "/id"),
            (json!({"id": "   ", "type": "CUSTOMER_UPDATED"}), "/id"),
            (
                json!({"id": "evt_\u{0}", "type": "CUSTOMER_UPDATED"}),
                "/id",
            ),
            (json!({"type": "CUSTOMER_\u{0}UPDATED"}), "/type"),
        ] {
            let answer = hub
                .call("POST", "/api/v1/events", Some(event.clone()))
                .await;
            assert_eq!(
                answer.status, 422,
                "{}: {event}: {}",
                store.name, answer.text
            );
            assert!(
                answer.json["problems"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["pointer"] == pointer),
                "{event}: {}",
                answer.text
            );
        }
    }
}

/// Item 5: with keys, secrets are sealed at rest (the row holds no
/// secret, the SQLite files hold no secret after sealing what was stored
/// plain), deliveries are still signed with the real secret, and a store
/// opened without the key says which key it needs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_sealed_at_rest() {
    use gladly_webhook_hub::store::SecretKeys;
    use gladly_webhook_hub::{ApiUsers, Hub};
    let key = "5e".repeat(32);
    let store = sqlite();
    // A subscription stored plain, before a key was given.
    let plain_secret = {
        let hub = common::hub(&store).await;
        let created = hub
            .create("https://example.com/hooks", &["TASK_CLOSED"], false)
            .await;
        created["secret"].as_str().unwrap().to_string()
    };
    let path = store.url.trim_start_matches("sqlite:").to_string();
    let files_hold = |needle: &str| {
        ["", "-wal", "-shm"].iter().any(|suffix| {
            std::fs::read(format!("{path}{suffix}"))
                .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
                .unwrap_or(false)
        })
    };
    assert!(
        files_hold(&plain_secret),
        "the plain secret should be on disk before sealing"
    );
    let sealed_store = store
        .open()
        .await
        .with_secret_keys(SecretKeys::parse(&key).unwrap());
    assert_eq!(sealed_store.seal_secrets().await.unwrap(), 1);
    assert_eq!(sealed_store.seal_secrets().await.unwrap(), 0);
    assert!(
        !files_hold(&plain_secret),
        "the plain secret lingers on disk"
    );
    let listed = sealed_store.list_webhooks().await.unwrap();
    assert_eq!(listed[0].secret.expose(), plain_secret);
    // Without the key: a clear error naming the key id.
    let err = store
        .open()
        .await
        .list_webhooks()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("sealed with key"), "{err}");
    assert!(!err.contains(&key));

    // A hub on the sealed store signs with the real secret.
    let users = ApiUsers::parse(&format!("{}:{}", common::EMAIL, common::TOKEN)).unwrap();
    let hub = Hub::new(sealed_store.clone(), users)
        .unwrap()
        .allow_insecure_localhost(true)
        .unwrap()
        .dispatcher_options(dispatch_options());
    let _dispatcher = hub.spawn_dispatcher();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = hub.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let receiver = common::TestReceiver::start().await;
    let created = common::client()
        .post(format!("{base}/api/v1/webhooks"))
        .basic_auth(common::EMAIL, Some(common::TOKEN))
        .header("content-type", "application/json")
        .body(json!({"url": receiver.url, "events": ["TASK_CLOSED"]}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: serde_json::Value = created.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(!files_hold(&secret), "a new secret was stored plain");
    let published = common::client()
        .post(format!("{base}/api/v1/events"))
        .basic_auth(common::EMAIL, Some(common::TOKEN))
        .header("content-type", "application/json")
        .body(common::event("TASK_CLOSED").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), 202);
    let received = receiver.wait(|r| !r.is_empty()).await;
    assert!(received[0].verifies_with(&secret));
}

/// Item 7: writes need `Content-Type: application/json` (415 otherwise:
/// browsers send text/plain, form and multipart bodies cross-site with
/// cached Basic credentials); a body of many mistakes gets at most 100
/// problems; URLs that differ only by an empty query, an escaped
/// unreserved character or a trailing dot in the host are duplicates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_need_json_problems_are_capped_and_urls_normalised() {
    let store = sqlite();
    let hub = common::hub(&store).await;
    let body = json!({"url": "https://example.com/h", "events": ["TASK_CLOSED"], "active": false})
        .to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
    ] {
        let mut request = hub
            .client
            .post(format!("{}/api/v1/webhooks", hub.base))
            .basic_auth(common::EMAIL, Some(common::TOKEN))
            .body(body.clone());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let answer = hub.raw(request).await;
        assert_eq!(answer.status, 415, "{content_type:?}: {}", answer.text);
    }
    let list = hub.call("GET", "/api/v1/webhooks", None).await;
    assert_eq!(list.json, json!([]));
    let request = hub
        .client
        .post(format!("{}/api/v1/webhooks", hub.base))
        .basic_auth(common::EMAIL, Some(common::TOKEN))
        .header("content-type", "application/json; charset=utf-8")
        .body(body);
    assert_eq!(hub.raw(request).await.status, 201);

    // 200,000 mistakes: 100 listed, the count in the message.
    let many = format!(
        r#"{{"url": "https://example.org/h", "events": [{}]}}"#,
        vec!["1"; 200_000].join(",")
    );
    let answer = hub.post_body("/api/v1/webhooks", many).await;
    assert_eq!(answer.status, 422);
    assert_eq!(answer.json["problems"].as_array().unwrap().len(), 100);
    assert!(answer.text.len() < 64 * 1024, "{} bytes", answer.text.len());
    assert!(
        answer.json["message"]
            .as_str()
            .unwrap()
            .contains("200000 problems"),
        "{}",
        answer.json["message"]
    );

    for twin in [
        "https://example.com/h?",
        "https://example.com/%68",
        "https://example.com./h",
        "https://EXAMPLE.com:443/h",
    ] {
        let answer = hub
            .call(
                "POST",
                "/api/v1/webhooks",
                Some(json!({"url": twin, "events": ["TASK_CLOSED"], "active": false})),
            )
            .await;
        assert_eq!(answer.status, 409, "{twin}: {}", answer.text);
        assert_eq!(answer.json["error"], "duplicate_url", "{twin}");
    }
}

/// Item 7: failed logins are throttled per peer: after 10, the peer gets
/// 429 with `Retry-After` (its right credentials too) until its bucket
/// refills; before, 2000 wrong tokens went through in 0.3 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_throttled_per_peer() {
    use gladly_webhook_hub::LoginThrottle;
    use gladly_webhook_hub::{ApiUsers, Hub};
    let store = sqlite();
    let users = ApiUsers::parse(&format!("{}:{}", common::EMAIL, common::TOKEN)).unwrap();
    let hub = Hub::new(store.open().await, users)
        .unwrap()
        .login_throttle(LoginThrottle::new(10, Duration::from_secs(2)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(gladly_webhook_server::serve(
        listener,
        hub.router(),
        gladly_webhook_server::Limits::default(),
        std::future::pending(),
    ));
    let client = common::client();
    let get = |token: &'static str| {
        client
            .get(format!("{base}/api/v1/webhooks"))
            .basic_auth(common::EMAIL, Some(token))
            .send()
    };
    let mut statuses = Vec::new();
    for _ in 0..40 {
        statuses.push(
            get("tok_wrong_0123456789abcdef")
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        30,
        "{statuses:?}"
    );
    let throttled = get(common::TOKEN).await.unwrap();
    assert_eq!(throttled.status(), 429);
    let retry: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    tokio::time::sleep(Duration::from_secs(retry)).await;
    assert_eq!(get(common::TOKEN).await.unwrap().status(), 200);
}

/// Item 7: what the dispatcher holds is bounded in bytes, not only in
/// count (a batch of 32 events of 1 MiB per subscription made 770 MiB for
/// 20 subscriptions); and an event no subscription receives keeps no body
/// (100 such publications of 1 MiB grew the store by 98 MiB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_bounded_in_bytes_and_undelivered_bodies_are_not_kept() {
    use chrono::Utc;
    for test_store in common::stores().await {
        let store = test_store.open().await;
        common::create_task_subscription(&store, "wh_big").await;
        let body = |id: &str, kind: &str, pad: usize| {
            format!(
                r#"{{"id":"{id}","type":"{kind}","content":{{"pad":"{}"}}}}"#,
                "x".repeat(pad)
            )
            .into_bytes()
        };
        for n in 0..10 {
            let id = format!("evt_big_{n}");
            let bytes = body(&id, "TASK_CLOSED", 900_000);
            store
                .publish(&id, "TASK_CLOSED", Utc::now(), &bytes, &bytes, Utc::now())
                .await
                .unwrap();
        }
        let claimed = store
            .claim_webhooks(
                Utc::now(),
                Duration::from_secs(10),
                10,
                gladly_webhook_hub::store::DeliveryOrder::Window,
            )
            .await
            .unwrap();
        let (id, token) = claimed.into_iter().next().unwrap();
        let batch = store.next_deliveries(&id, token, 32).await.unwrap();
        // 0, 0.9 and 1.8 MB come before them: three fit under 2 MiB.
        assert_eq!(batch.len(), 3, "{}", test_store.name);
        assert_eq!(batch[0].event_id, "evt_big_0");
        // The windowed read is bounded the same way, from any place.
        let due = store
            .due_deliveries_after(&id, token, batch[0].seq, Utc::now(), 32)
            .await
            .unwrap();
        assert_eq!(due.len(), 3, "{}", test_store.name);
        assert_eq!(due[0].event_id, "evt_big_1");

        // An event nobody subscribes to: its body is not kept.
        let bytes = body("evt_nobody", "CUSTOMER_UPDATED", 500_000);
        let published = store
            .publish(
                "evt_nobody",
                "CUSTOMER_UPDATED",
                Utc::now(),
                &bytes,
                &bytes,
                Utc::now(),
            )
            .await
            .unwrap();
        assert!(published.deliveries.is_empty());
        let again = store
            .publish(
                "evt_nobody",
                "CUSTOMER_UPDATED",
                Utc::now(),
                &bytes,
                &bytes,
                Utc::now(),
            )
            .await
            .unwrap();
        assert!(!again.created, "a republication is still recognised");
        let kept: i64 = match test_store.name {
            "sqlite" => {
                let pool = sqlx::SqlitePool::connect(&test_store.url).await.unwrap();
                sqlx::query_scalar(
                    "SELECT LENGTH(body) FROM hub_events WHERE event_id = 'evt_nobody'",
                )
                .fetch_one(&pool)
                .await
                .unwrap()
            }
            _ => {
                let pool = sqlx::PgPool::connect(&test_store.url).await.unwrap();
                let n: i32 = sqlx::query_scalar(
                    "SELECT LENGTH(body) FROM hub_events WHERE event_id = 'evt_nobody'",
                )
                .fetch_one(&pool)
                .await
                .unwrap();
                i64::from(n)
            }
        };
        assert_eq!(kept, 0, "{}", test_store.name);
    }
}
