//! What the hub's tests share: stores on both backends, a hub serving on
//! loopback, an API client, and receivers that record what they get.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use gladly_webhook_core::Verifier;
use gladly_webhook_hub::{ApiUsers, Dispatcher, DispatcherOptions, Hub, Store};
use serde_json::Value;

pub const EMAIL: &str = "ops@example.com";
pub const TOKEN: &str = "tok_test_0123456789abcdef";

/// A store under test, with what keeps it alive.
pub struct TestStore {
    pub name: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    _database: Option<gladly_webhook_testkit::TestDatabase>,
}

impl TestStore {
    pub async fn open(&self) -> Store {
        Store::open(&self.url).await.unwrap()
    }
}

pub fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    TestStore {
        name: "sqlite",
        url: format!("sqlite:{}", dir.path().join("hub.db").display()),
        _dir: Some(dir),
        _database: None,
    }
}

/// The test server's URL, or `None` (see the testkit: a note says the
/// PostgreSQL store is not tested; under CI it is a failure).
pub fn pg_admin_url() -> Option<String> {
    gladly_webhook_testkit::admin_url("store")
}

/// A fresh database on the test server, dropped with the `TestStore`.
pub async fn postgres() -> Option<TestStore> {
    let database = gladly_webhook_testkit::TestDatabase::create("gladly_hub_test", "store")?;
    Some(TestStore {
        name: "postgres",
        url: database.url().to_string(),
        _dir: None,
        _database: Some(database),
    })
}

/// Every store this run can test.
pub async fn stores() -> Vec<TestStore> {
    let mut all = vec![sqlite()];
    all.extend(postgres().await);
    all
}

/// The rows of `table` in the store, read with a connection of the test's
/// own.
pub async fn count_rows(store: &TestStore, table: &str) -> i64 {
    use sqlx::Connection as _;
    let query = format!("SELECT COUNT(*) FROM {table}");
    if store.url.starts_with("postgres") {
        let mut db = sqlx::PgConnection::connect(&store.url).await.unwrap();
        sqlx::query_scalar(sqlx::AssertSqlSafe(query))
            .fetch_one(&mut db)
            .await
            .unwrap()
    } else {
        let mut db = sqlx::SqliteConnection::connect(&store.url).await.unwrap();
        sqlx::query_scalar(sqlx::AssertSqlSafe(query))
            .fetch_one(&mut db)
            .await
            .unwrap()
    }
}

/// Runs `case` for every item at once and waits for all: the cases of a
/// test that mostly waits (schedules, slow receivers) overlap instead of
/// adding up. A case's panic fails the test.
pub async fn concurrently<T, F, Fut>(items: impl IntoIterator<Item = T>, case: F)
where
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    futures_util::future::join_all(items.into_iter().map(case)).await;
}

/// A hub serving on loopback, with its dispatcher.
pub struct TestHub {
    pub base: String,
    pub client: reqwest::Client,
    pub dispatcher: Option<Dispatcher>,
    pub store: Store,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestHub {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Fast schedules for tests: Gladly's waits times this.
pub const TIME_SCALE: f64 = 0.0005;

pub async fn hub(store: &TestStore) -> TestHub {
    hub_with(store, dispatch_options()).await
}

pub fn dispatch_options() -> DispatcherOptions {
    let mut options = DispatcherOptions::default();
    options.time_scale = TIME_SCALE;
    options.poll = Duration::from_millis(200);
    options
}

/// The dispatch modes the dispatch tests run in: the default window of 8
/// deliveries in flight per subscription, and strict publish order.
pub const WINDOWS: [usize; 2] = [8, 1];

/// [`dispatch_options`] with `window` deliveries in flight per subscription.
pub fn dispatch_options_in(window: usize) -> DispatcherOptions {
    let mut options = dispatch_options();
    options.max_in_flight = window;
    options
}

pub async fn hub_with(store: &TestStore, options: DispatcherOptions) -> TestHub {
    hub_configured(store, options, |hub| {
        hub.allow_insecure_localhost(true).unwrap()
    })
    .await
}

/// A hub as `configure` makes it (from [`Hub::new`] with a 5 s timeout and
/// `options`; nothing allowed beyond public addresses).
pub async fn hub_configured(
    store: &TestStore,
    options: DispatcherOptions,
    configure: impl FnOnce(Hub) -> Hub,
) -> TestHub {
    let store = store.open().await;
    let users = ApiUsers::parse(&format!(
        "{EMAIL}:{TOKEN}\nother@example.com:tok_other_0123456789abcdef"
    ))
    .unwrap();
    let hub = Hub::new(store.clone(), users)
        .unwrap()
        .timeout(Duration::from_secs(5))
        .dispatcher_options(options);
    let hub = configure(hub);
    let dispatcher = hub.spawn_dispatcher();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = hub.router();
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    TestHub {
        base: format!("http://{addr}"),
        client: client(),
        dispatcher: Some(dispatcher),
        store,
        server,
    }
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// An answer: status, headers and body as JSON (`Null` when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl TestHub {
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let mut request = self
            .client
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .basic_auth(EMAIL, Some(TOKEN));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        answer(request.send().await.unwrap()).await
    }

    /// PATCHes the subscription `id` with `body`.
    pub async fn patch(&self, id: &str, body: Value) -> Answer {
        self.call("PATCH", &format!("/api/v1/webhooks/{id}"), Some(body))
            .await
    }

    /// POSTs `body` as given (any bytes, any framing) with credentials.
    pub async fn post_body(&self, path: &str, body: impl Into<reqwest::Body>) -> Answer {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .basic_auth(EMAIL, Some(TOKEN))
            .header("content-type", "application/json")
            .body(body);
        answer(request.send().await.unwrap()).await
    }

    pub async fn raw(&self, request: reqwest::RequestBuilder) -> Answer {
        answer(request.send().await.unwrap()).await
    }

    /// Creates a subscription; panics unless 201.
    pub async fn create(&self, url: &str, events: &[&str], active: bool) -> Value {
        let answer = self
            .call(
                "POST",
                "/api/v1/webhooks",
                Some(serde_json::json!({"url": url, "events": events, "active": active})),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        answer.json
    }

    /// Publishes an event; panics unless 202.
    pub async fn publish(&self, event: Value) -> Value {
        let answer = self.call("POST", "/api/v1/events", Some(event)).await;
        assert_eq!(answer.status, 202, "{}", answer.text);
        answer.json
    }

    /// Sends each body of `cases` with `method` to `path`: each must be
    /// refused with 422, its first problem at the pointer and of the code
    /// given.
    pub async fn assert_refused(&self, method: &str, path: &str, cases: &[(Value, &str, &str)]) {
        for (body, pointer, code) in cases {
            let answer = self.call(method, path, Some(body.clone())).await;
            assert_eq!(answer.status, 422, "{body}: {}", answer.text);
            let problem = &answer.json["problems"][0];
            assert_eq!(
                (problem["pointer"].as_str(), problem["code"].as_str()),
                (Some(*pointer), Some(*code)),
                "{body}: {}",
                answer.text
            );
        }
    }

    /// Waits until `done` holds of the subscription's deliveries.
    pub async fn wait_deliveries(&self, id: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let answer = self
                .call("GET", &format!("/api/v1/webhooks/{id}/deliveries"), None)
                .await;
            assert_eq!(answer.status, 200, "{}", answer.text);
            let deliveries = answer.json.as_array().unwrap().clone();
            if done(&deliveries) {
                return deliveries;
            }
            assert!(
                Instant::now() < deadline,
                "timed out; deliveries: {deliveries:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::Null)
    };
    Answer {
        status,
        headers,
        text,
        json,
    }
}

/// Makes an active subscription `id` to `TASK_CLOSED` in `store`, straight
/// through the store (no API, no PING).
pub async fn create_task_subscription(store: &Store, id: &str) {
    let webhook = gladly_webhook_hub::store::StoredWebhook::new(
        id,
        "https://example.com/hooks",
        vec![gladly_webhook_core::EventType::TaskClosed],
        gladly_webhook_core::Secret::new("whsec_test_0123456789abcdef"),
        true,
        chrono::Utc::now(),
    );
    store.create_webhook(&webhook, 20).await.unwrap();
}

/// An event of `event_type` without id and timestamp (the hub fills them).
pub fn event(event_type: &str) -> Value {
    let content = match event_type {
        "CONVERSATION_CLOSED" | "CONVERSATION_CREATED" => serde_json::json!({
            "customerId": "cust_7", "conversationId": "conv_9",
            "context": {"assignee": {"inboxId": "inbox_1", "agentId": "agent_42"}}
        }),
        "TASK_CLOSED" => serde_json::json!({
            "customerId": "cust_7", "taskId": "task_3",
            "context": {"createdAt": "2026-11-26T16:00:00Z"}
        }),
        "CUSTOMER_UPDATED" => serde_json::json!({"customerId": "cust_7"}),
        other => panic!("no example for {other}"),
    };
    serde_json::json!({
        "type": event_type,
        "initiator": {"id": "agent_42", "type": "AGENT"},
        "content": content,
    })
}

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub method: http::Method,
    pub uri: http::Uri,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    /// The status it was answered with.
    pub status: u16,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn event_type(&self) -> String {
        self.json()["type"].as_str().unwrap().to_string()
    }

    pub fn event_id(&self) -> Option<String> {
        self.json()["id"].as_str().map(str::to_string)
    }

    /// Whether it verifies with `secret`.
    pub fn verifies_with(&self, secret: &str) -> bool {
        Verifier::new([secret])
            .unwrap()
            .verify_parts(&self.method, &self.uri, &self.headers, &self.body)
            .is_ok()
    }
}

/// A receiver on loopback that records every request when it arrives and
/// answers with a status the test sets (200 at first), after a delay the
/// test sets (none at first).
#[derive(Clone)]
pub struct TestReceiver {
    pub url: String,
    pub addr: SocketAddr,
    status: Arc<AtomicU16>,
    delay_ms: Arc<AtomicU64>,
    failing: Arc<Mutex<Vec<String>>>,
    concurrency: Arc<(AtomicU64, AtomicU64)>,
    received: Arc<Mutex<Vec<Received>>>,
    retry_after: Arc<Mutex<Option<String>>>,
    server: Arc<tokio::task::JoinHandle<()>>,
}

impl TestReceiver {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let status = Arc::new(AtomicU16::new(200));
        let delay_ms = Arc::new(AtomicU64::new(0));
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let failing: Arc<Mutex<Vec<String>>> = Arc::default();
        let concurrency: Arc<(AtomicU64, AtomicU64)> = Arc::default();
        let retry_after: Arc<Mutex<Option<String>>> = Arc::default();
        let (s, d, r, f, c, ra) = (
            status.clone(),
            delay_ms.clone(),
            received.clone(),
            failing.clone(),
            concurrency.clone(),
            retry_after.clone(),
        );
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let (s, d, r, f, c) = (s.clone(), d.clone(), r.clone(), f.clone(), c.clone());
            let ra = ra.clone();
            async move {
                let now = c.0.fetch_add(1, Ordering::SeqCst) + 1;
                c.1.fetch_max(now, Ordering::SeqCst);
                let (parts, body) = request.into_parts();
                let body = http_body_util::BodyExt::collect(body)
                    .await
                    .unwrap()
                    .to_bytes();
                let id = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|v| v["id"].as_str().map(str::to_string));
                let status = match id {
                    Some(id) if f.lock().unwrap().contains(&id) => 500,
                    _ => s.load(Ordering::SeqCst),
                };
                r.lock().unwrap().push(Received {
                    at: Instant::now(),
                    method: parts.method,
                    uri: parts.uri,
                    headers: parts.headers,
                    body,
                    status,
                });
                tokio::time::sleep(Duration::from_millis(d.load(Ordering::SeqCst))).await;
                c.0.fetch_sub(1, Ordering::SeqCst);
                let mut headers = http::HeaderMap::new();
                if let Some(wait) = ra.lock().unwrap().clone() {
                    headers.insert(http::header::RETRY_AFTER, wait.parse().unwrap());
                }
                (http::StatusCode::from_u16(status).unwrap(), headers)
            }
        });
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            url: format!("http://{addr}/hooks"),
            addr,
            status,
            delay_ms,
            failing,
            concurrency,
            received,
            retry_after,
            server: Arc::new(server),
        }
    }

    /// Answers 500 to every delivery of the event `event_id`.
    pub fn fail_event(&self, event_id: &str) {
        self.failing.lock().unwrap().push(event_id.to_string());
    }

    /// The most requests it was answering at once.
    pub fn max_concurrent(&self) -> u64 {
        self.concurrency.1.load(Ordering::SeqCst)
    }

    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// Answers with `Retry-After: value` (`None`: without it).
    pub fn retry_after(&self, value: Option<&str>) {
        *self.retry_after.lock().unwrap() = value.map(str::to_string);
    }

    /// Answers each request `delay` after it arrived.
    pub fn answer_after(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// The requests other than PINGs that arrived after `instant`.
    pub fn events_after(&self, instant: Instant) -> Vec<Received> {
        self.events()
            .into_iter()
            .filter(|r| r.at > instant)
            .collect()
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The requests other than PINGs.
    pub fn events(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.event_type() != "PING")
            .collect()
    }

    pub fn stop(&self) {
        self.server.abort();
    }

    /// Waits until `done` holds of what it received.
    pub async fn wait(&self, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let received = self.events();
            if done(&received) {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "timed out; received {} events",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
