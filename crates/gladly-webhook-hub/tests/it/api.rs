//! The subscription API over loopback HTTP, on SQLite and PostgreSQL.

use crate::common;

use common::{TestHub, TestReceiver, event, hub, hub_configured, stores};
use gladly_webhook_hub::DispatcherOptions;
use serde_json::json;

/// A stream of `items`, for a chunked request body.
fn futures_stream<T: Unpin>(items: Vec<T>) -> impl futures_core::Stream<Item = T> {
    struct Items<T>(std::collections::VecDeque<T>);
    impl<T: Unpin> futures_core::Stream for Items<T> {
        type Item = T;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<T>> {
            std::task::Poll::Ready(self.0.pop_front())
        }
    }
    Items(items.into())
}

fn pointers(answer: &common::Answer) -> Vec<(String, String)> {
    answer.json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["pointer"].as_str().unwrap().to_string(),
                p["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_status_of_the_subscription_api() {
    for store in stores().await {
        let hub = hub(&store).await;
        let receiver = TestReceiver::start().await;
        let name = store.name;

        // 201: created active after a PING the receiver verifies with the
        // secret in the answer; the answer is the only one with the secret.
        let created = hub
            .call(
                "POST",
                "/api/v1/webhooks",
                Some(json!({"url": receiver.url, "events": ["CONVERSATION_CLOSED"]})),
            )
            .await;
        assert_eq!(created.status, 201, "{name}: {}", created.text);
        let id = created.json["id"].as_str().unwrap().to_string();
        let secret = created.json["secret"].as_str().unwrap().to_string();
        assert_eq!(
            created.headers["location"],
            format!("/api/v1/webhooks/{id}").as_str()
        );
        assert!(
            secret.starts_with("whsec_") && secret.len() >= 6 + 64,
            "{name}"
        );
        assert_eq!(created.json["active"], true);
        assert_eq!(created.json["createdAt"], created.json["modifiedAt"]);
        let pings = receiver.received();
        assert_eq!(pings.len(), 1, "{name}");
        assert_eq!(pings[0].json(), json!({"type": "PING"}));
        assert!(
            pings[0].verifies_with(&secret),
            "{name}: the PING is signed with the new secret"
        );

        // 200 without secrets.
        let list = hub.call("GET", "/api/v1/webhooks", None).await;
        assert_eq!(list.status, 200);
        assert_eq!(list.json.as_array().unwrap().len(), 1);
        let one = hub
            .call("GET", &format!("/api/v1/webhooks/{id}"), None)
            .await;
        assert_eq!(one.status, 200);
        let mut expected = created.json.clone();
        expected.as_object_mut().unwrap().remove("secret");
        assert_eq!(one.json, expected, "{name}");
        for text in [&list.text, &one.text] {
            assert!(
                !text.contains(&secret) && !text.contains("secret"),
                "{name}: {text}"
            );
        }

        // 404s.
        let missing = hub.call("GET", "/api/v1/webhooks/wh_nope", None).await;
        assert_eq!(
            (missing.status, missing.json["error"].as_str()),
            (404, Some("not_found"))
        );
        let route = hub.call("GET", "/api/v1/nothing-here", None).await;
        assert_eq!(
            (route.status, route.json["error"].as_str()),
            (404, Some("not_found"))
        );

        // 405 with the allowed methods.
        let put = hub
            .call("PUT", &format!("/api/v1/webhooks/{id}"), None)
            .await;
        assert_eq!(
            (put.status, put.json["error"].as_str()),
            (405, Some("method_not_allowed"))
        );
        assert!(
            put.headers["allow"].to_str().unwrap().contains("PATCH"),
            "{name}"
        );

        // 401: none, wrong token, unknown user; never echoing the token.
        let none = hub
            .raw(hub.client.get(format!("{}/api/v1/webhooks", hub.base)))
            .await;
        assert_eq!(
            (none.status, none.json["error"].as_str()),
            (401, Some("unauthorized"))
        );
        assert!(
            none.headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
        let wrong = hub
            .raw(
                hub.client
                    .get(format!("{}/api/v1/webhooks", hub.base))
                    .basic_auth(common::EMAIL, Some("tok_wrong_guess_0123456789")),
            )
            .await;
        assert_eq!(wrong.status, 401);
        assert!(!wrong.text.contains("tok_wrong_guess"));
        let other = hub
            .raw(
                hub.client
                    .get(format!("{}/api/v1/webhooks", hub.base))
                    .basic_auth("other@example.com", Some(common::TOKEN)),
            )
            .await;
        assert_eq!(other.status, 401, "{name}: a token is bound to its user");
        // The OpenAPI document needs no credentials.
        let doc = hub
            .raw(hub.client.get(format!("{}/api/v1/openapi.json", hub.base)))
            .await;
        assert_eq!(doc.status, 200);
        assert_eq!(doc.json["openapi"], "3.1.0");

        // 400 (not JSON), 413 (over 1 MiB).
        let bad = hub.post_body("/api/v1/webhooks", "{nope").await;
        assert_eq!(
            (bad.status, bad.json["error"].as_str()),
            (400, Some("invalid_json"))
        );
        // Exactly 1 MiB is read (and judged); one byte more is 413, whether
        // Content-Length says so or a chunked body runs over.
        let at_limit = format!(
            "{{\"type\": \"TASK_CLOSED\"{}}}",
            " ".repeat((1 << 20) - 23)
        );
        assert_eq!(at_limit.len(), 1 << 20);
        let judged = hub.post_body("/api/v1/events", at_limit.clone()).await;
        assert_eq!(judged.status, 422, "{name}: {}", judged.text);
        let over = format!("{at_limit} ");
        for path in ["/api/v1/webhooks", "/api/v1/events"] {
            let large = hub.post_body(path, over.clone()).await;
            assert_eq!(
                (large.status, large.json["error"].as_str()),
                (413, Some("body_too_large")),
                "{name} {path}"
            );
            let chunks: Vec<Result<String, std::io::Error>> =
                vec![Ok(at_limit.clone()), Ok(" ".to_string())];
            let chunked = hub
                .post_body(path, reqwest::Body::wrap_stream(futures_stream(chunks)))
                .await;
            assert_eq!(
                (chunked.status, chunked.json["error"].as_str()),
                (413, Some("body_too_large")),
                "{name} {path} chunked"
            );
        }

        // PATCH: partial, validated whole, modifiedAt moves, no PING when
        // neither the URL nor the activation changes.
        let patched = hub
            .patch(
                &id,
                json!({"events": ["CONVERSATION_CLOSED", "TASK_CLOSED"]}),
            )
            .await;
        assert_eq!(patched.status, 200, "{name}: {}", patched.text);
        assert_eq!(
            patched.json["events"],
            json!(["CONVERSATION_CLOSED", "TASK_CLOSED"])
        );
        assert_eq!(patched.json["url"], receiver.url.as_str());
        assert!(patched.json["modifiedAt"].as_str() > created.json["modifiedAt"].as_str());
        assert!(patched.json.get("secret").is_none());
        assert_eq!(
            receiver.received().len(),
            1,
            "{name}: no PING for a change of events"
        );
        let invalid = hub
            .patch(&id, json!({"events": ["NOPE"], "url": null}))
            .await;
        assert_eq!(invalid.status, 422);
        assert_eq!(
            pointers(&invalid),
            [
                ("".into(), "Required".into()),
                ("/events/0".into(), "Enum".into())
            ],
            "{name}"
        );
        let readonly = hub
            .patch(
                &id,
                json!({"secret": "whsec_mine_0123456789abcdef", "events": ["NOPE"]}),
            )
            .await;
        assert_eq!(readonly.status, 422);
        assert_eq!(
            pointers(&readonly),
            [
                ("/secret".into(), "ReadOnly".into()),
                ("/events/0".into(), "Enum".into())
            ]
        );

        // A URL change PINGs the new URL; refused when the PING fails,
        // and then nothing changes.
        let moved_to = TestReceiver::start().await;
        let moved = hub.patch(&id, json!({"url": moved_to.url})).await;
        assert_eq!(moved.status, 200, "{name}: {}", moved.text);
        assert_eq!(moved_to.received().len(), 1);
        assert!(moved_to.received()[0].verifies_with(&secret));
        let refusing = TestReceiver::start().await;
        refusing.answer(500);
        let refused = hub.patch(&id, json!({"url": refusing.url})).await;
        assert_eq!(
            (refused.status, refused.json["error"].as_str()),
            (422, Some("ping_failed")),
            "{name}"
        );
        assert!(
            refused.json["message"]
                .as_str()
                .unwrap()
                .contains("HTTP 500")
        );
        let after = hub
            .call("GET", &format!("/api/v1/webhooks/{id}"), None)
            .await;
        assert_eq!(
            after.json, moved.json,
            "{name}: a refused change changes nothing"
        );

        // Deactivate (no PING), re-activate (a PING).
        let off = hub.patch(&id, json!({"active": false})).await;
        assert_eq!((off.status, &off.json["active"]), (200, &json!(false)));
        let on = hub.patch(&id, json!({"active": true})).await;
        assert_eq!((on.status, &on.json["active"]), (200, &json!(true)));
        assert_eq!(moved_to.received().len(), 2, "{name}: re-activation PINGs");

        // Rotation: 201 with a new secret, used from then on.
        let rotated = hub
            .call("POST", &format!("/api/v1/webhooks/{id}/secret"), None)
            .await;
        assert_eq!(rotated.status, 201);
        let new_secret = rotated.json["secret"].as_str().unwrap().to_string();
        assert_ne!(new_secret, secret);
        hub.publish(event("TASK_CLOSED")).await;
        let got = moved_to.wait(|r| !r.is_empty()).await;
        assert!(
            got[0].verifies_with(&new_secret) && !got[0].verifies_with(&secret),
            "{name}"
        );

        // Deliveries: each with its attempts.
        let deliveries = hub
            .wait_deliveries(&id, |d| d.iter().all(|d| d["state"] == "delivered"))
            .await;
        assert_eq!(deliveries.len(), 1);
        assert_eq!(deliveries[0]["attempts"][0]["status"], 200);
        assert!(deliveries[0]["attempts"][0]["durationMs"].is_u64());
        assert_eq!(
            hub.call(
                "GET",
                &format!("/api/v1/webhooks/{id}/deliveries?limit=0"),
                None
            )
            .await
            .status,
            400
        );

        // DELETE: 204, then 404.
        let deleted = hub
            .call("DELETE", &format!("/api/v1/webhooks/{id}"), None)
            .await;
        assert_eq!((deleted.status, deleted.text.as_str()), (204, ""));
        for (method, rest) in [
            ("DELETE", ""),
            ("GET", ""),
            ("GET", "/deliveries"),
            ("POST", "/secret"),
        ] {
            let gone = hub
                .call(method, &format!("/api/v1/webhooks/{id}{rest}"), None)
                .await;
            assert_eq!(gone.status, 404, "{name}: {method} {rest} after DELETE");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_subscription_gets_every_problem_at_its_pointer() {
    for store in stores().await {
        let hub = hub(&store).await;
        let answer = hub
            .call(
                "POST",
                "/api/v1/webhooks",
                Some(json!({
                    "id": "wh_mine",
                    "secret": "s",
                    "url": "ftp://user:pw@example.com/x#frag",
                    "events": ["TASK_CLOSED", "NOPE", "TASK_CLOSED"],
                    "active": "yes",
                })),
            )
            .await;
        assert_eq!(
            (answer.status, answer.json["error"].as_str()),
            (422, Some("validation_failed")),
            "{}",
            answer.text
        );
        assert_eq!(
            pointers(&answer),
            [
                ("/id".into(), "ReadOnly".into()),
                ("/secret".into(), "ReadOnly".into()),
                ("/active".into(), "Type".into()),
                ("/events/1".into(), "Enum".into()),
                ("/events/2".into(), "DuplicateEvent".into()),
                ("/url".into(), "HttpsRequired".into()),
                ("/url".into(), "UserInfo".into()),
                ("/url".into(), "Fragment".into()),
            ],
            "{}: {}",
            store.name,
            answer.text
        );
        assert!(
            !answer.text.contains("pw@"),
            "the credential in the URL is not echoed"
        );
        assert!(
            hub.call("GET", "/api/v1/webhooks", None)
                .await
                .json
                .as_array()
                .unwrap()
                .is_empty()
        );

        // Not an object; https required without --allow-insecure-localhost
        // for anything but loopback.
        let array = hub.call("POST", "/api/v1/webhooks", Some(json!([1]))).await;
        assert_eq!(
            (array.status, pointers(&array)),
            (422, vec![("".into(), "Type".into())])
        );
        let plain = hub
            .call(
                "POST",
                "/api/v1/webhooks",
                Some(json!({"url": "http://example.com/h", "events": ["TASK_CLOSED"]})),
            )
            .await;
        assert_eq!(pointers(&plain), [("/url".into(), "HttpsRequired".into())]);
    }
}

/// Issue 39: a hub that serves several organizations holds more than
/// Gladly's 20 subscriptions when told to, and no more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_webhooks_raises_the_limit() {
    let store = stores().await.remove(0);
    let hub = hub_configured(&store, DispatcherOptions::default(), |hub| {
        hub.allow_insecure_localhost(true).unwrap().max_webhooks(25)
    })
    .await;
    let receiver = TestReceiver::start().await;
    for n in 0..25 {
        hub.create(&format!("{}/{n}", receiver.url), &["TASK_CLOSED"], false)
            .await;
    }
    let full = hub
        .call("POST", "/api/v1/webhooks", Some(json!({"url": format!("{}/25", receiver.url), "events": ["TASK_CLOSED"], "active": false})))
        .await;
    assert_eq!(
        (full.status, full.json["error"].as_str()),
        (409, Some("too_many_webhooks"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_21st_subscription_and_a_duplicate_url_are_refused() {
    for store in stores().await {
        let hub = hub(&store).await;
        let receiver = TestReceiver::start().await;
        for n in 0..20 {
            hub.create(&format!("{}/{n}", receiver.url), &["TASK_CLOSED"], false)
                .await;
        }
        let full = hub
            .call("POST", "/api/v1/webhooks", Some(json!({"url": format!("{}/20", receiver.url), "events": ["TASK_CLOSED"], "active": false})))
            .await;
        assert_eq!(
            (full.status, full.json["error"].as_str()),
            (409, Some("too_many_webhooks")),
            "{}",
            store.name
        );
        assert_eq!(
            hub.call("GET", "/api/v1/webhooks", None)
                .await
                .json
                .as_array()
                .unwrap()
                .len(),
            20
        );

        // The same URL, written differently, is a duplicate.
        let first = hub.call("GET", "/api/v1/webhooks", None).await.json[0].clone();
        hub.call(
            "DELETE",
            &format!("/api/v1/webhooks/{}", first["id"].as_str().unwrap()),
            None,
        )
        .await;
        let duplicate = hub
            .call("POST", "/api/v1/webhooks", Some(json!({"url": format!("{}/1", receiver.url).replace("http://", "HTTP://"), "events": ["TASK_CLOSED"], "active": false})))
            .await;
        assert_eq!(
            (duplicate.status, duplicate.json["error"].as_str()),
            (409, Some("duplicate_url")),
            "{}: {}",
            store.name,
            duplicate.text
        );
        // And a PATCH onto another subscription's URL.
        let list = hub.call("GET", "/api/v1/webhooks", None).await.json;
        let (a, b) = (&list[0], &list[1]);
        let clash = hub
            .patch(a["id"].as_str().unwrap(), json!({"url": b["url"]}))
            .await;
        assert_eq!(
            (clash.status, clash.json["error"].as_str()),
            (409, Some("duplicate_url"))
        );
        // 19 now: one more fits.
        hub.create(&format!("{}/new", receiver.url), &["TASK_CLOSED"], false)
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_ping_creates_nothing() {
    for store in stores().await {
        let hub = hub(&store).await;
        let receiver = TestReceiver::start().await;
        receiver.answer(401);
        let refused = hub
            .call(
                "POST",
                "/api/v1/webhooks",
                Some(json!({"url": receiver.url, "events": ["TASK_CLOSED"]})),
            )
            .await;
        assert_eq!(
            (refused.status, refused.json["error"].as_str()),
            (422, Some("ping_failed")),
            "{}",
            refused.text
        );
        let message = refused.json["message"].as_str().unwrap();
        assert!(
            message.contains("HTTP 401") && message.contains("\"active\": false"),
            "{message}"
        );
        assert_eq!(receiver.received().len(), 1);

        // Nothing listening: no answer.
        let gone = TestReceiver::start().await;
        gone.stop();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let unreachable = hub
            .call(
                "POST",
                "/api/v1/webhooks",
                Some(json!({"url": format!("{}?token=query-credential-42", gone.url), "events": ["TASK_CLOSED"]})),
            )
            .await;
        assert_eq!(
            unreachable.json["error"], "ping_failed",
            "{}",
            unreachable.text
        );
        assert!(
            !unreachable.text.contains("query-credential-42"),
            "a URL's query is never echoed: {}",
            unreachable.text
        );
        assert!(
            unreachable.json["message"]
                .as_str()
                .unwrap()
                .contains("got no answer")
        );

        assert!(
            hub.call("GET", "/api/v1/webhooks", None)
                .await
                .json
                .as_array()
                .unwrap()
                .is_empty(),
            "{}",
            store.name
        );
        // Inactive: no PING, created.
        hub.create(&receiver.url, &["TASK_CLOSED"], false).await;
        assert_eq!(receiver.received().len(), 1);
        // Activating it is refused while the PING fails, and allowed once it passes.
        let id = hub.call("GET", "/api/v1/webhooks", None).await.json[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let still = hub.patch(&id, json!({"active": true})).await;
        assert_eq!(still.status, 422);
        assert_eq!(
            hub.call("GET", &format!("/api/v1/webhooks/{id}"), None)
                .await
                .json["active"],
            false
        );
        // Only a 200 passes a PING, as Gladly requires (a 204 does not:
        // dispatch::a_ping_passes_only_with_200).
        receiver.answer(200);
        let on = hub.patch(&id, json!({"active": true})).await;
        assert_eq!(on.status, 200, "{}", on.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_validated_filled_and_published_once() {
    for store in stores().await {
        let hub: TestHub = hub(&store).await;
        let receiver = TestReceiver::start().await;
        let created = hub.create(&receiver.url, &["CUSTOMER_UPDATED"], true).await;

        // Filled id and timestamp; 202 with the delivery.
        let published = hub.publish(event("CUSTOMER_UPDATED")).await;
        let event_id = published["eventId"].as_str().unwrap().to_string();
        assert!(event_id.starts_with("evt_"));
        assert_eq!(published["deliveries"].as_array().unwrap().len(), 1);
        assert_eq!(published["deliveries"][0]["webhookId"], created["id"]);
        let got = receiver.wait(|r| !r.is_empty()).await;
        assert_eq!(got[0].event_id().as_deref(), Some(event_id.as_str()));
        assert!(got[0].json()["timestamp"].is_string());

        // Given id: kept; the same again is 200 and sends nothing more.
        let mut given = event("CUSTOMER_UPDATED");
        given["id"] = json!("evt_given_1");
        given["timestamp"] = json!("2026-11-26T17:00:00Z");
        assert_eq!(hub.publish(given.clone()).await["eventId"], "evt_given_1");
        let again = hub
            .call("POST", "/api/v1/events", Some(given.clone()))
            .await;
        assert_eq!((again.status, &again.json["created"]), (200, &json!(false)));
        assert_eq!(again.json["deliveries"].as_array().unwrap().len(), 1);
        given["content"]["customerId"] = json!("someone else");
        let reused = hub.call("POST", "/api/v1/events", Some(given)).await;
        assert_eq!(
            (reused.status, reused.json["error"].as_str()),
            (409, Some("duplicate_event_id"))
        );
        receiver.wait(|r| r.len() == 2).await;

        // The same event published 8 times at once: created once, delivered once.
        let mut same = event("CUSTOMER_UPDATED");
        same["id"] = json!("evt_concurrent_1");
        let hub = std::sync::Arc::new(hub);
        let racers: Vec<_> = (0..8)
            .map(|_| {
                let (hub, same) = (hub.clone(), same.clone());
                tokio::spawn(async move { hub.call("POST", "/api/v1/events", Some(same)).await })
            })
            .collect();
        let mut statuses = Vec::new();
        for racer in racers {
            let answer = racer.await.unwrap();
            assert_eq!(
                answer.json["deliveries"].as_array().map(Vec::len),
                Some(1),
                "{}",
                answer.text
            );
            statuses.push(answer.status);
        }
        statuses.sort();
        assert_eq!(
            statuses,
            [200, 200, 200, 200, 200, 200, 200, 202],
            "{}",
            store.name
        );
        receiver.wait(|r| r.len() == 3).await;

        // Invalid: each problem at its pointer; unknown types and PING refused.
        let mut broken = event("TASK_CLOSED");
        broken["content"]["taskId"] = json!(7);
        let answer = hub.call("POST", "/api/v1/events", Some(broken)).await;
        assert_eq!(answer.status, 422, "{}", answer.text);
        assert_eq!(answer.json["problems"][0]["pointer"], "/content/taskId");
        let unknown = hub
            .call(
                "POST",
                "/api/v1/events",
                Some(json!({"type": "NOT_A_TYPE"})),
            )
            .await;
        assert_eq!(
            (unknown.status, &unknown.json["problems"][0]["pointer"]),
            (422, &json!("/type"))
        );
        let ping = hub
            .call("POST", "/api/v1/events", Some(json!({"type": "PING"})))
            .await;
        assert_eq!(ping.status, 422);
        let untyped = hub
            .call("POST", "/api/v1/events", Some(json!({"id": "x"})))
            .await;
        assert_eq!(
            (untyped.status, &untyped.json["problems"][0]["pointer"]),
            (422, &json!("/type"))
        );
        // The root is `""` in the pointer field, as the CLI's JSON shows it,
        // and not repeated as "(root)" in the message (issue 21).
        let array = hub.call("POST", "/api/v1/events", Some(json!([1]))).await;
        assert_eq!(array.status, 422, "{}", array.text);
        assert_eq!(
            array.json["problems"][0],
            json!({
                "pointer": "",
                "code": "Type",
                "message": "expected an object, found an array"
            })
        );

        // No subscriber: stored, no delivery.
        let nobody = hub.publish(event("TASK_CLOSED")).await;
        assert_eq!(nobody["deliveries"], json!([]));
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(receiver.events().len(), 3, "{}", store.name);
    }
}
