//! `relay`: Gladly-style deliveries (signed, a fresh id each) into a relay
//! with `destinations` HTTP destinations on loopback, each answering 204 at
//! once. Per concurrency: the accepted events a second and the answer's
//! latency (the load generator's), then the time until every accepted
//! event reached every destination, and the latency from the request's
//! sending (in the event id) to each destination's handler.
//!
//! With `--nats URL` the one destination is a NATS JetStream stream of the
//! run's own (file storage, one replica) instead: delivered is what the
//! stream stored, and the latency runs from the request's sending to the
//! stream's storing it (the time JetStream stamps before its ack).
//!
//! The load generator, the relay and the destinations share this process
//! (and the machine's cores), as `fanout` shares them with its receivers;
//! the NATS server runs in its own.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gladly_webhook_hub::DispatcherOptions;
use gladly_webhook_hub::alerts::AlertOptions;
use gladly_webhook_hub::store::Store;
use gladly_webhook_relay::{Relay, RelayConfig};

use crate::load::{self, LoadPlan, Scheme};

/// What to run.
#[derive(Debug, Clone)]
pub struct RelayPlan {
    /// Concurrent connections of each run.
    pub connections: Vec<usize>,
    /// Seconds of load per run.
    pub seconds: f64,
    /// HTTP destinations, each receiving every event.
    pub destinations: usize,
    /// PostgreSQL instead of a SQLite file in a temporary folder.
    pub database_url: Option<String>,
    /// The signing secret of the input.
    pub secret: String,
    /// Start the dispatcher only once each run's load has ended: what
    /// accepting alone costs, then how fast the backlog drains.
    pub accept_only: bool,
    /// A NATS server: the one destination is a JetStream stream on it.
    pub nats: Option<String>,
}

/// One run's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RelayResult {
    /// `relay sqlite` or `relay postgres`, and `accept only` when the
    /// dispatcher waited for the load to end.
    pub label: String,
    /// Concurrent connections.
    pub connections: usize,
    /// Events answered 200.
    pub accepted: u64,
    /// Answers other than 2xx.
    pub non_2xx: u64,
    /// Accepted events a second.
    pub accepted_per_second: f64,
    /// The answer's median latency, microseconds.
    pub answer_p50_us: u64,
    /// The answer's 99th percentile, microseconds.
    pub answer_p99_us: u64,
    /// Destinations.
    pub destinations: usize,
    /// Deliveries that reached a destination.
    pub delivered: u64,
    /// From the end of the load to the last delivery, milliseconds.
    pub drained_after_ms: u64,
    /// Deliveries a second while draining (accept only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drain_deliveries_per_second: Option<f64>,
    /// From a request's sending to a destination's handler: median, ms.
    pub e2e_p50_ms: f64,
    /// ... 99th percentile, ms.
    pub e2e_p99_ms: f64,
}

/// Where the deliveries go: HTTP destinations, or a stream.
enum Output {
    Http(Arc<Sinks>),
    Nats(Box<crate::nats_sink::NatsSink>),
}

impl Output {
    async fn delivered(&self) -> u64 {
        match self {
            Output::Http(sinks) => sinks.delivered.load(Ordering::Relaxed),
            Output::Nats(sink) => sink.count().await,
        }
    }

    /// The run's latencies (its deliveries after the first `before`),
    /// microseconds, sorted.
    async fn latencies(&self, before: u64, count: u64) -> Result<Vec<u64>, String> {
        let mut latencies = match self {
            Output::Http(sinks) => {
                let mut all = sinks.latencies.lock().map_err(|e| e.to_string())?;
                std::mem::take(&mut *all)
            }
            Output::Nats(sink) => sink.latencies(before + 1, count).await?,
        };
        latencies.sort_unstable();
        Ok(latencies)
    }
}

/// What the destinations saw: deliveries, and each one's latency in µs.
#[derive(Default)]
struct Sinks {
    delivered: AtomicU64,
    latencies: Mutex<Vec<u64>>,
}

/// A destination: answers 204 at once, recording the delivery's latency
/// from the send time the load generator wrote in the event id
/// (`evt_<connection>_<n>_<unix ns>`).
async fn sink(sinks: Arc<Sinks>) -> Result<u16, String> {
    let app = axum::Router::new()
        .fallback(
            |axum::extract::State(sinks): axum::extract::State<Arc<Sinks>>,
             headers: http::HeaderMap| async move {
                let sent = headers
                    .get("webhook-id")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|id| id.rsplit('_').next())
                    .and_then(|ns| ns.parse::<i64>().ok());
                if let (Some(sent), Some(now)) = (sent, chrono::Utc::now().timestamp_nanos_opt()) {
                    let micros = u64::try_from((now - sent) / 1000).unwrap_or(0);
                    sinks
                        .latencies
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(micros);
                }
                sinks.delivered.fetch_add(1, Ordering::Relaxed);
                http::StatusCode::NO_CONTENT
            },
        )
        .with_state(sinks);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(port)
}

/// The relay's configuration: one signed input, `ports` destinations.
pub(crate) fn config(dir: &Path, ports: &[u16], secret: &str) -> Result<RelayConfig, String> {
    std::fs::write(dir.join("input_secret"), secret).map_err(|e| e.to_string())?;
    std::fs::write(
        dir.join("destination_secret"),
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    )
    .map_err(|e| e.to_string())?;
    let mut text = String::from(
        "[[input]]\npath = \"/hooks/gladly\"\nsigning_secrets = [{ file = \"input_secret\" }]\n",
    );
    for (n, port) in ports.iter().enumerate() {
        text.push_str(&format!(
            "\n[[destination]]\nname = \"d{n}\"\nurl = \"http://127.0.0.1:{port}/hook\"\n\
             secrets = [{{ file = \"destination_secret\" }}]\nallow_loopback = true\n"
        ));
    }
    RelayConfig::parse(&text, dir).map_err(|e| e.to_string())
}

/// The relay's configuration with one NATS destination: `sink`'s stream,
/// created by the relay (file storage, one replica).
fn nats_config(
    dir: &Path,
    url: &str,
    sink: &crate::nats_sink::NatsSink,
    secret: &str,
) -> Result<RelayConfig, String> {
    std::fs::write(dir.join("input_secret"), secret).map_err(|e| e.to_string())?;
    let text = format!(
        "[[input]]\npath = \"/hooks/gladly\"\nsigning_secrets = [{{ file = \"input_secret\" }}]\n\n\
         [[destination]]\nname = \"bus\"\nkind = \"nats\"\nurl = \"{url}\"\n\
         subject_prefix = \"{}\"\nallow_loopback = true\n\n\
         [destination.stream]\nname = \"{}\"\ncreate = true\n",
        sink.prefix, sink.stream
    );
    RelayConfig::parse(&text, dir).map_err(|e| e.to_string())
}

fn quantile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// Runs the plan: one result per concurrency.
pub async fn run(plan: RelayPlan) -> Result<Vec<RelayResult>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (output, config, destinations) = match &plan.nats {
        Some(url) => {
            let sink = crate::nats_sink::NatsSink::connect(url).await?;
            let config = nats_config(dir.path(), url, &sink, &plan.secret)?;
            (Output::Nats(Box::new(sink)), config, 1)
        }
        None => {
            let sinks = Arc::new(Sinks::default());
            let mut ports = Vec::new();
            for _ in 0..plan.destinations {
                ports.push(sink(Arc::clone(&sinks)).await?);
            }
            let config = config(dir.path(), &ports, &plan.secret)?;
            (Output::Http(sinks), config, plan.destinations)
        }
    };
    let (store, label) = match &plan.database_url {
        Some(url) => (Store::open(url).await, "relay postgres"),
        None => (
            Store::open_sqlite(dir.path().join("relay.db")).await,
            "relay sqlite",
        ),
    };
    let store = store.map_err(|e| e.to_string())?;
    let relay = Relay::with_store(store, &config)
        .await
        .map_err(|e| e.to_string())?;
    let start = || {
        relay
            .spawn_dispatcher(DispatcherOptions::default(), AlertOptions::default())
            .map_err(|e| e.to_string())
    };
    let mut dispatcher = if plan.accept_only {
        None
    } else {
        Some(start()?)
    };
    let label = match (&output, plan.accept_only) {
        (Output::Nats(_), true) => format!("{label} to NATS JetStream, accept only"),
        (Output::Nats(_), false) => format!("{label} to NATS JetStream"),
        (Output::Http(_), true) => format!("{label}, accept only"),
        (Output::Http(_), false) => label.to_string(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let app = relay.router();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut results = Vec::new();
    for &connections in &plan.connections {
        let before = output.delivered().await;
        output.latencies(0, 0).await?;
        let load = load::run(LoadPlan {
            addr,
            path: "/hooks/gladly".to_string(),
            connections,
            duration: Duration::from_secs_f64(plan.seconds),
            max_requests: 2_000_000,
            body_size: 1024,
            scheme: Scheme::Gladly,
            secret: plan.secret.clone(),
        })
        .await?;
        let accepted = load.requests - load.non_2xx;
        let expected = before + accepted * destinations as u64;
        if plan.accept_only {
            dispatcher = Some(start()?);
        }
        let ended = Instant::now();
        while output.delivered().await < expected && ended.elapsed() < Duration::from_secs(300) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let drained_after_ms = ended.elapsed().as_millis() as u64;
        let delivered = output.delivered().await - before;
        if plan.accept_only
            && let Some(dispatcher) = dispatcher.take()
        {
            dispatcher.shutdown(Duration::from_secs(5)).await;
        }
        let latencies = output.latencies(before, delivered).await?;
        results.push(RelayResult {
            label: label.clone(),
            connections,
            accepted,
            non_2xx: load.non_2xx,
            accepted_per_second: accepted as f64 / load.seconds,
            answer_p50_us: load.p50_us,
            answer_p99_us: load.p99_us,
            destinations,
            delivered,
            drained_after_ms,
            drain_deliveries_per_second: plan
                .accept_only
                .then(|| delivered as f64 / (drained_after_ms.max(1) as f64 / 1000.0)),
            e2e_p50_ms: quantile(&latencies, 0.50),
            e2e_p99_ms: quantile(&latencies, 0.99),
        });
    }
    if let Some(dispatcher) = dispatcher {
        dispatcher.shutdown(Duration::from_secs(5)).await;
    }
    Ok(results)
}
