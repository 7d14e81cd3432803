//! The client against the local Gladly (`gladly_webhook_hub` serving REST
//! API 1.0, as `gladly-webhook serve --api gladly` does) on SQLite and
//! PostgreSQL: the typed routes, the PING that enabling sends, the write-only
//! fields, Gladly's errors, the rate limit's headers and 429 retried with
//! backoff, and the Events API. What a real server cannot be made to do (a
//! line over 1 MiB, a redirect, a 429 on demand) is in `client.rs`, against a
//! fake.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::post;
use gladly_webhook_client::{ApiUser, Client, ClientError, EventLine, EventsQuery, RetryPolicy};
use gladly_webhook_core::model::Model;
use gladly_webhook_core::validate::Policy;
use gladly_webhook_hub::{ApiUsers, Hub, Store};
use serde_json::json;

const USER: &str = "ops@example.com:tok_client_test_0123456789";

/// A local Gladly on a fresh store, serving on loopback until dropped.
struct LocalGladly {
    base: String,
    server: tokio::task::JoinHandle<()>,
    _dir: Option<tempfile::TempDir>,
    _database: Option<gladly_webhook_testkit::TestDatabase>,
}

impl Drop for LocalGladly {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// One local Gladly per store this run can test.
async fn local_gladlies(rate: u32) -> Vec<LocalGladly> {
    let dir = tempfile::tempdir().unwrap();
    let mut stores = vec![(
        format!("sqlite:{}", dir.path().join("hub.db").display()),
        Some(dir),
        None,
    )];
    if let Some(database) =
        gladly_webhook_testkit::TestDatabase::create("gladly_client_test", "store")
    {
        stores.push((database.url().to_string(), None, Some(database)));
    }
    let mut all = Vec::new();
    for (url, dir, database) in stores {
        let store = Store::open(&url).await.unwrap();
        let hub = Hub::new(store, ApiUsers::parse(USER).unwrap())
            .unwrap()
            .allow_insecure_localhost(true)
            .unwrap()
            .model(Model::RestApiV1)
            .rate_limit(rate);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = hub.router();
        let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        all.push(LocalGladly {
            base,
            server,
            _dir: dir,
            _database: database,
        });
    }
    all
}

/// A receiver on loopback answering 200, keeping each request's headers.
async fn receiver() -> (String, Arc<Mutex<Vec<HeaderMap>>>) {
    let seen: Arc<Mutex<Vec<HeaderMap>>> = Arc::default();
    let kept = seen.clone();
    let app = Router::new().route(
        "/hooks",
        post(move |headers: HeaderMap| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push(headers);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

fn client(base: &str) -> Client {
    Client::new(base, USER.parse().unwrap())
        .unwrap()
        .validation(Policy::strict().allow_insecure_localhost(true))
        .retry_policy(
            RetryPolicy::default()
                .max_retries(8)
                .backoff(Duration::from_millis(100), Duration::from_secs(1)),
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typed_routes_against_the_local_gladly() {
    for gladly in local_gladlies(10).await {
        let (url, seen) = receiver().await;
        let client = client(&gladly.base);
        let id = client
            .create_json(&json!({
                "name": "CSAT integration",
                "url": url,
                "events": ["CONVERSATION/CLOSED", "TASK/CREATED"],
                "credentials": {"username": "gladly", "password": "pw_0123456789"},
                "headers": {"X-Gladly-Token": "token_0123456789"}
            }))
            .await
            .unwrap();
        let webhook = client.get(&id).await.unwrap();
        assert_eq!(webhook.id.as_deref(), Some(id.as_str()));
        assert_eq!(webhook.url, url);
        assert_eq!(webhook.events.len(), 2);
        assert_eq!(webhook.has_credentials, Some(true));
        assert_eq!(webhook.header_keys, ["X-Gladly-Token"]);
        assert!(webhook.credentials.is_none() && webhook.headers.is_empty());
        assert!(!webhook.enabled, "a new webhook is disabled");
        assert!(seen.lock().unwrap().is_empty());

        // Enabling PINGs the receiver with the credentials and headers.
        client.enable(&id).await.unwrap();
        {
            let seen = seen.lock().unwrap();
            assert_eq!(seen.len(), 1);
            assert_eq!(seen[0]["x-gladly-token"], "token_0123456789");
            assert!(
                seen[0]["authorization"]
                    .to_str()
                    .unwrap()
                    .starts_with("Basic ")
            );
        }
        assert!(client.list().await.unwrap()[0].enabled);

        let refused = client.delete(&id).await.unwrap_err();
        let ClientError::BadRequest(errors) = &refused else {
            panic!("{refused:?}")
        };
        assert_eq!(errors.errors[0].attr.as_deref(), Some("enabled"));
        assert!(
            refused
                .to_string()
                .starts_with("400: enabled: disable the webhook"),
            "{refused}"
        );
        // A taken URL is the server's business: its error names the field.
        let ClientError::BadRequest(taken) = client
            .create_json(&json!({"url": url, "events": ["TASK/CREATED"]}))
            .await
            .unwrap_err()
        else {
            panic!()
        };
        assert_eq!(taken.errors[0].attr.as_deref(), Some("url"));
        assert_eq!(taken.errors[0].code.as_deref(), Some("taken"));

        client.disable(&id).await.unwrap();
        client.delete(&id).await.unwrap();
        assert!(matches!(
            client.get(&id).await,
            Err(ClientError::NotFound(_))
        ));
        let limit = client.rate_limit().unwrap();
        assert_eq!(limit.limit, Some(10));
        assert!(limit.remaining.is_some());

        let wrong = Client::new(
            &gladly.base,
            "ops@example.com:wrong".parse::<ApiUser>().unwrap(),
        )
        .unwrap();
        assert_eq!(
            wrong.list().await.unwrap_err().to_string(),
            "401: check the API user and token"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_is_told_met_and_waited_for() {
    for gladly in local_gladlies(2).await {
        // A client that knows none remain waits for the next second: six
        // calls at 2 a second all succeed.
        let paced = client(&gladly.base).retry_policy(RetryPolicy::default().max_retries(0));
        for _ in 0..6 {
            paced.list().await.unwrap();
        }
        // One that does not know (others spent the second) gets a 429:
        // without retries it says so; with them it gets its answer.
        let (user, token) = USER.split_once(':').unwrap();
        let raw = reqwest::Client::builder().no_proxy().build().unwrap();
        let mut refused = None;
        for _ in 0..10 {
            for _ in 0..3 {
                raw.get(format!("{}/api/v1/webhooks", gladly.base))
                    .basic_auth(user, Some(token))
                    .send()
                    .await
                    .unwrap();
            }
            let fresh = client(&gladly.base).retry_policy(RetryPolicy::default().max_retries(0));
            if let Err(err) = fresh.list().await {
                refused = Some(err);
                break;
            }
        }
        let refused = refused.expect("a 429 within ten tries");
        assert!(
            matches!(refused, ClientError::RateLimited { retries: 0, .. }),
            "{refused:?}"
        );
        for _ in 0..3 {
            raw.get(format!("{}/api/v1/webhooks", gladly.base))
                .basic_auth(user, Some(token))
                .send()
                .await
                .unwrap();
        }
        client(&gladly.base).list().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_api_is_read_in_publish_order() {
    for gladly in local_gladlies(0).await {
        let start = chrono::Utc::now() - chrono::TimeDelta::seconds(5);
        let base = gladly.base.clone();
        let mut published = Vec::new();
        for (n, event_type) in ["TASK/CREATED", "CONVERSATION/CLOSED", "TASK/CREATED"]
            .iter()
            .enumerate()
        {
            published.push(publish(&base, n, event_type).await);
        }
        let client = client(&base);
        let mut stream = client
            .events(&EventsQuery::since(start).entities(["TASK".to_string()]))
            .await
            .unwrap();
        let mut ids = Vec::new();
        while let Some(line) = stream.next().await.unwrap() {
            let EventLine::Event(bytes) = line else {
                panic!("{line:?}")
            };
            let event: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            ids.push(event["id"].as_str().unwrap().to_string());
        }
        assert_eq!(ids, [published[0].clone(), published[2].clone()]);
    }
}

/// Publishes through the local Gladly's `POST /api/v1/events` (Gladly
/// has no such route: the client has no call for it); the event's id.
async fn publish(base: &str, n: usize, event_type: &str) -> String {
    let id = format!("evt_client_{n}");
    let content = if event_type.starts_with("TASK") {
        json!({"customerId": "c1", "taskId": "t1", "context": {"createdAt": "2026-12-02T10:00:00Z"}})
    } else {
        json!({"customerId": "c1", "conversationId": "v1", "context": {"assignee": {"inboxId": "i1"}}})
    };
    let (user, token) = USER.split_once(':').unwrap();
    let answer = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{base}/api/v1/events"))
        .basic_auth(user, Some(token))
        .header("content-type", "application/json")
        .body(
            json!({"id": id, "type": event_type,
                "initiator": {"id": "a1", "type": "AGENT"}, "content": content})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    id
}
