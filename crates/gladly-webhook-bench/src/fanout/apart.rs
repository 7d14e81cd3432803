//! `fanout-receivers`: the receivers of `fanout --receivers-apart`, in a
//! process of their own. Each answers `200` at once (after `--delay`, if
//! any) without verifying, as the peer comparison of issue 39 measured
//! Svix and the hub; the first refuses `--refuse ID` with `500`.
//!
//! It prints one line, `receivers URL,URL,... control URL`, then serves
//! until its standard input closes (the `fanout` run that started it ended
//! or died) or `--max-seconds` pass. The control address answers
//! `GET /counts` (each receiver's count of requests answered `200`, as a
//! JSON array) and `GET /handled` (`[event id, Unix time in nanoseconds]`
//! of each, for the latency).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use std::io::Read as _;

/// What the child is asked to serve.
#[derive(Debug, Clone)]
pub struct ApartPlan {
    /// Receivers, each on a port of its own.
    pub count: usize,
    /// How long each takes to answer.
    pub delay: Duration,
    /// The event id the first receiver refuses.
    pub refuse: Option<String>,
    /// Stop after this long whatever happens.
    pub max: Duration,
}

/// What the receivers share with the control address.
struct Shared {
    counts: Vec<AtomicU64>,
    handled: Mutex<Vec<(String, u128)>>,
    delay: Duration,
    refuse: Option<String>,
}

/// Only the event's id is read from a delivery's body.
#[derive(serde::Deserialize)]
struct EventId {
    id: Option<String>,
}

/// Serves the receivers and the control address until stdin closes.
pub async fn serve(plan: ApartPlan) -> Result<(), String> {
    let shared = Arc::new(Shared {
        counts: (0..plan.count).map(|_| AtomicU64::new(0)).collect(),
        handled: Mutex::new(Vec::new()),
        delay: plan.delay,
        refuse: plan.refuse.clone(),
    });
    let mut urls = Vec::new();
    for index in 0..plan.count {
        let listener = bind().await?;
        urls.push(format!(
            "http://{}/hooks",
            listener.local_addr().map_err(|e| e.to_string())?
        ));
        let router = Router::new()
            .route("/hooks", post(hook))
            .with_state((shared.clone(), index));
        tokio::spawn(async move { axum::serve(listener, router).await });
    }
    let control = bind().await?;
    let control_url = format!(
        "http://{}",
        control.local_addr().map_err(|e| e.to_string())?
    );
    let router = Router::new()
        .route("/counts", get(counts))
        .route("/handled", get(handled))
        .with_state(shared);
    tokio::spawn(async move { axum::serve(control, router).await });
    println!("receivers {} control {control_url}", urls.join(","));
    // A thread of its own reads stdin (the process ends without waiting
    // for it); its end is the parent's.
    let (closed, on_close) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut sink = [0u8; 64];
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        let _ = closed.send(());
    });
    let _ = tokio::time::timeout(plan.max, on_close).await;
    Ok(())
}

async fn bind() -> Result<tokio::net::TcpListener, String> {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())
}

async fn hook(State((shared, index)): State<(Arc<Shared>, usize)>, body: Bytes) -> StatusCode {
    if !shared.delay.is_zero() {
        tokio::time::sleep(shared.delay).await;
    }
    let id = serde_json::from_slice::<EventId>(&body)
        .ok()
        .and_then(|event| event.id)
        .unwrap_or_default();
    if index == 0 && shared.refuse.as_deref() == Some(id.as_str()) {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    if let Ok(mut handled) = shared.handled.lock() {
        handled.push((id, at));
    }
    shared.counts[index].fetch_add(1, Ordering::Relaxed);
    StatusCode::OK
}

async fn counts(State(shared): State<Arc<Shared>>) -> axum::Json<Vec<u64>> {
    axum::Json(
        shared
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect(),
    )
}

async fn handled(State(shared): State<Arc<Shared>>) -> axum::Json<Vec<(String, u128)>> {
    axum::Json(shared.handled.lock().map(|h| h.clone()).unwrap_or_default())
}
