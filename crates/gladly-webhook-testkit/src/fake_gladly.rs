//! A fake of Gladly's webhook API (REST API 1.0, `/api/v1/webhooks`) on
//! loopback, for the client's and the CLI's tests: Basic auth, `201` with
//! `Location`, write-only `credentials` and `headers` (answers carry
//! `hasCredentials` and `headerKeys`), a unique URL, `400` for deleting an
//! enabled webhook, Gladly's error body, `Ratelimit-*` headers, and `429`
//! for the next N requests on demand. It runs on a thread of its own and
//! stops when dropped.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use serde_json::{Value, json};

#[derive(Default)]
struct Fake {
    auth: String,
    webhooks: Mutex<Vec<Value>>,
    /// The Events API's events: (time, type, the line as served).
    events: Mutex<Vec<(String, String, String)>>,
    requests: AtomicU32,
    /// The next requests answered 429.
    throttle: AtomicU32,
}

type Shared = State<Arc<Fake>>;

/// The fake, running; stopped when dropped.
pub struct FakeGladly {
    /// Its base URL (`http://127.0.0.1:PORT`).
    pub base: String,
    fake: Arc<Fake>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeGladly {
    /// Starts a fake that accepts the API user `email:token`.
    pub fn start(user: &str) -> Self {
        let fake = Arc::new(Fake {
            auth: format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(user)
            ),
            ..Fake::default()
        });
        let app = Router::new()
            .route("/api/v1/webhooks", get(list).post(create))
            .route("/api/v1/events", get(events))
            .route(
                "/api/v1/webhooks/{id}",
                get(one).patch(patch).delete(delete),
            )
            .with_state(fake.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        listener
            .set_nonblocking(true)
            .expect("a non-blocking socket");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        Self {
            base,
            fake,
            stop: Some(stop),
        }
    }

    /// Requests received so far.
    pub fn requests(&self) -> u32 {
        self.fake.requests.load(Ordering::SeqCst)
    }

    /// Adds `event` to what the Events API serves (at its `timestamp`).
    pub fn publish(&self, event: &Value) {
        let at = event["timestamp"].as_str().unwrap_or_default().to_string();
        let event_type = event["type"].as_str().unwrap_or_default().to_string();
        self.publish_line(&at, &event_type, &event.to_string());
    }

    /// Adds a raw line (of any content) at `at`, of type `event_type`.
    pub fn publish_line(&self, at: &str, event_type: &str, line: &str) {
        self.fake
            .events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((at.to_string(), event_type.to_string(), line.to_string()));
    }

    /// Answers the next `n` requests 429.
    pub fn throttle_next(&self, n: u32) {
        self.fake.throttle.store(n, Ordering::SeqCst);
    }
}

impl Drop for FakeGladly {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn answer(status: StatusCode, body: Value) -> Response {
    (
        status,
        [
            ("ratelimit-limit-second", "10"),
            ("ratelimit-remaining-second", "7"),
        ],
        axum::Json(body),
    )
        .into_response()
}

fn errors(status: StatusCode, attr: &str, code: &str, detail: &str) -> Response {
    answer(
        status,
        json!({"errors": [{"attr": attr, "code": code, "detail": detail}]}),
    )
}

/// Counts, throttles and checks Basic auth; `None` lets the call through.
fn gate(fake: &Fake, headers: &HeaderMap) -> Option<Response> {
    fake.requests.fetch_add(1, Ordering::SeqCst);
    if fake
        .throttle
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        let mut response = errors(
            StatusCode::TOO_MANY_REQUESTS,
            "",
            "rate_limited",
            "slow down",
        );
        response.headers_mut().insert(
            "ratelimit-remaining-second",
            axum::http::HeaderValue::from_static("0"),
        );
        return Some(response);
    }
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(fake.auth.as_str())
    {
        return Some(errors(
            StatusCode::UNAUTHORIZED,
            "",
            "unauthorized",
            "bad credentials",
        ));
    }
    None
}

/// What Gladly answers for a stored webhook: no credentials, no header
/// values.
fn shown(stored: &Value) -> Value {
    let mut shown = stored.clone();
    if let Some(object) = shown.as_object_mut() {
        let has_credentials = object.remove("credentials").is_some();
        let keys: Vec<String> = object
            .remove("headers")
            .and_then(|h| h.as_object().map(|h| h.keys().cloned().collect()))
            .unwrap_or_default();
        object.insert("hasCredentials".into(), json!(has_credentials));
        object.insert("headerKeys".into(), json!(keys));
    }
    shown
}

fn lock(fake: &Fake) -> std::sync::MutexGuard<'_, Vec<Value>> {
    fake.webhooks.lock().unwrap_or_else(|p| p.into_inner())
}

async fn list(State(fake): Shared, headers: HeaderMap) -> Response {
    if let Some(refused) = gate(&fake, &headers) {
        return refused;
    }
    let all: Vec<Value> = lock(&fake).iter().map(shown).collect();
    answer(StatusCode::OK, json!(all))
}

async fn create(State(fake): Shared, headers: HeaderMap, body: String) -> Response {
    if let Some(refused) = gate(&fake, &headers) {
        return refused;
    }
    let Ok(mut webhook) = serde_json::from_str::<Value>(&body) else {
        return errors(StatusCode::BAD_REQUEST, "", "invalid", "not JSON");
    };
    let mut all = lock(&fake);
    if all.iter().any(|w| w["url"] == webhook["url"]) {
        return errors(
            StatusCode::BAD_REQUEST,
            "url",
            "taken",
            "url is already taken",
        );
    }
    let id = format!("wh{}", all.len() + 1);
    webhook["id"] = json!(id);
    webhook["enabled"] = json!(webhook["enabled"].as_bool().unwrap_or(false));
    all.push(webhook);
    (
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/webhooks/{id}"))],
    )
        .into_response()
}

async fn one(State(fake): Shared, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Some(refused) = gate(&fake, &headers) {
        return refused;
    }
    match lock(&fake).iter().find(|w| w["id"] == id) {
        Some(w) => answer(StatusCode::OK, shown(w)),
        None => errors(
            StatusCode::NOT_FOUND,
            "webhookId",
            "not_found",
            "no such webhook",
        ),
    }
}

async fn patch(
    State(fake): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(refused) = gate(&fake, &headers) {
        return refused;
    }
    let Ok(Value::Object(changes)) = serde_json::from_str::<Value>(&body) else {
        return errors(StatusCode::BAD_REQUEST, "", "invalid", "not a JSON object");
    };
    let mut all = lock(&fake);
    let Some(w) = all.iter_mut().find(|w| w["id"] == id) else {
        return errors(
            StatusCode::NOT_FOUND,
            "webhookId",
            "not_found",
            "no such webhook",
        );
    };
    for (k, v) in changes {
        w[k] = v;
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn delete(State(fake): Shared, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Some(refused) = gate(&fake, &headers) {
        return refused;
    }
    let mut all = lock(&fake);
    match all.iter().position(|w| w["id"] == id) {
        Some(i) if all[i]["enabled"] == json!(true) => errors(
            StatusCode::BAD_REQUEST,
            "enabled",
            "invalid",
            "disable the webhook before deleting it",
        ),
        Some(i) => {
            all.remove(i);
            StatusCode::NO_CONTENT.into_response()
        }
        None => errors(
            StatusCode::NOT_FOUND,
            "webhookId",
            "not_found",
            "no such webhook",
        ),
    }
}

/// `GET /api/v1/events?startAt&endAt&entities=...`: JSON lines, the
/// events with `startAt <= timestamp < endAt`, of the entities asked.
async fn events(
    State(fake): Shared,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    if let Some(refused) = gate(&fake, &headers) {
        return refused;
    }
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let time = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| chrono::DateTime::parse_from_rfc3339(v).ok())
    };
    let Some(start) = time("startAt") else {
        return errors(
            StatusCode::BAD_REQUEST,
            "startAt",
            "blank",
            "startAt is required",
        );
    };
    let end = time("endAt");
    let entities: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "entities")
        .map(|(_, v)| v.as_str())
        .collect();
    let mut body = String::new();
    for (at, event_type, line) in fake.events.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        let Ok(at) = chrono::DateTime::parse_from_rfc3339(at) else {
            continue;
        };
        let entity = event_type.split('/').next().unwrap_or_default();
        if at >= start
            && end.is_none_or(|end| at < end)
            && (entities.is_empty() || entities.contains(&entity))
        {
            body.push_str(line);
            body.push('\n');
        }
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-jsonlines")],
        body,
    )
        .into_response()
}
