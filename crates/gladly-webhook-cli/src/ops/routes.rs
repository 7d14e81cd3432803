//! `/metrics`, `/healthz` and `/readyz`: what a scraper, a load balancer
//! and an orchestrator ask a running command.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gladly_webhook_hub::Store;
use gladly_webhook_receiver::inbox::Inbox;
use http::{StatusCode, header};

use super::metrics::{Gauge, render};

/// How long the store has to answer a readiness check or a scrape's
/// queries.
pub const STORE_DEADLINE: Duration = Duration::from_secs(2);

/// The store a command depends on: readiness asks it a trivial query; a
/// scrape reads its gauges.
#[derive(Clone)]
pub enum Probe {
    /// `listen` and `inbox work`: the inbox.
    Inbox(Arc<dyn Inbox>),
    /// `serve`: the hub's store.
    Hub(Store),
}

impl Probe {
    /// `Ok` when the store answered within [`STORE_DEADLINE`]; otherwise
    /// why not (logged; the answer says only "not ready").
    async fn ready(&self) -> Result<(), String> {
        let check = async {
            match self {
                Self::Inbox(inbox) => inbox.ping().await.map_err(|err| err.to_string()),
                Self::Hub(store) => store.ping().await.map_err(|err| err.to_string()),
            }
        };
        match tokio::time::timeout(STORE_DEADLINE, check).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "the store did not answer within {}",
                humantime::format_duration(STORE_DEADLINE)
            )),
        }
    }

    /// Appends the gauges read from the store now; `false` when it did not
    /// answer in time.
    async fn gauges(&self, out: &mut String) -> bool {
        match self {
            Self::Inbox(inbox) => {
                let Ok(Ok(stats)) = tokio::time::timeout(STORE_DEADLINE, inbox.stats()).await
                else {
                    return false;
                };
                let mut events =
                    Gauge::new(out, "gladly_inbox_events", "Events in the inbox, by state.");
                for (state, n) in [
                    ("pending", stats.pending),
                    ("running", stats.running),
                    ("done", stats.done),
                    ("dead", stats.dead),
                ] {
                    events.sample(&[("state", state)], n as f64);
                }
                Gauge::new(
                    out,
                    "gladly_inbox_oldest_pending_age_seconds",
                    "How long the oldest pending event has waited since it was received (0 when none is pending).",
                )
                .sample(
                    &[],
                    stats.oldest_pending_age.map_or(0.0, |age| age.as_secs_f64()),
                );
                true
            }
            Self::Hub(store) => {
                let Ok(Ok(backlog)) = tokio::time::timeout(STORE_DEADLINE, store.backlog()).await
                else {
                    return false;
                };
                let total: u64 = backlog.iter().map(|b| b.pending).sum();
                Gauge::new(
                    out,
                    "gladly_hub_deliveries_pending",
                    "Deliveries waiting for a successful attempt, over all subscriptions.",
                )
                .sample(&[], total as f64);
                let mut per = Gauge::new(
                    out,
                    "gladly_hub_subscription_backlog",
                    "Pending deliveries per subscription (labelled by id, never by URL).",
                );
                for b in &backlog {
                    let active = if b.active { "true" } else { "false" };
                    per.sample(
                        &[("subscription", &b.webhook_id), ("active", active)],
                        b.pending as f64,
                    );
                }
                let now = chrono::Utc::now();
                let mut waiting = Gauge::new(
                    out,
                    "gladly_hub_subscription_overdue_seconds",
                    "How long the earliest pending delivery of each subscription has been due (0 when none is).",
                );
                for b in &backlog {
                    let overdue = b
                        .oldest_due
                        .and_then(|due| (now - due).to_std().ok())
                        .map_or(0.0, |d| d.as_secs_f64());
                    waiting.sample(&[("subscription", &b.webhook_id)], overdue);
                }
                true
            }
        }
    }
}

#[derive(Clone)]
struct Shared {
    probe: Probe,
    draining: Arc<AtomicBool>,
}

/// The probe paths, answered past a server's connection cap on
/// [`PROBE_CONNECTIONS`] connections of their own, so that a flood of idle
/// connections cannot make a healthy command look dead.
pub const PROBE_PATHS: &[&str] = &["/healthz", "/readyz"];
/// Connections kept past the cap for [`PROBE_PATHS`].
pub const PROBE_CONNECTIONS: usize = 8;

/// `/metrics`, `/healthz` and `/readyz`, for the metrics address.
pub fn metrics_routes(probe: Probe, draining: Arc<AtomicBool>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .merge(health_routes(probe.clone(), draining.clone()))
        .fallback(not_found)
        .with_state(Shared { probe, draining })
}

/// `/healthz` and `/readyz` alone, to merge into a command's main router.
pub fn health_routes<S>(probe: Probe, draining: Arc<AtomicBool>) -> Router<S> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(Shared { probe, draining })
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

async fn not_found() -> Response {
    text(
        StatusCode::NOT_FOUND,
        "not found: this address serves /metrics, /healthz and /readyz\n".to_string(),
    )
}

/// The process is up and answering.
async fn healthz() -> Response {
    text(StatusCode::OK, "ok\n".to_string())
}

/// The store answers within the deadline and no shutdown has begun.
async fn readyz(State(shared): State<Shared>) -> Response {
    if shared.draining.load(Ordering::SeqCst) {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: shutting down\n".to_string(),
        );
    }
    match shared.probe.ready().await {
        Ok(()) => text(StatusCode::OK, "ready\n".to_string()),
        Err(cause) => {
            tracing::warn!(cause, "not ready: the store did not answer");
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the store did not answer\n".to_string(),
            )
        }
    }
}

async fn metrics(State(shared): State<Shared>) -> Response {
    let mut out = render();
    let up = shared.probe.gauges(&mut out).await;
    Gauge::new(
        &mut out,
        "gladly_store_up",
        "1 when the store answered this scrape's queries within 2 s, else 0.",
    )
    .sample(&[], if up { 1.0 } else { 0.0 });
    Gauge::new(
        &mut out,
        "gladly_build_info",
        "The running version of gladly-webhook (always 1).",
    )
    .sample(&[("version", env!("CARGO_PKG_VERSION"))], 1.0);
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        out,
    )
        .into_response()
}
