//! `fanout`: the hub's delivery throughput and latency. One hub (API and
//! dispatcher, in this process, on a SQLite file or PostgreSQL), N
//! receivers (`Receiver::inline`, each verifying with its subscription's
//! secret) subscribed to the same event type, and publishers posting
//! events to the API; measured until every receiver has every event.
//!
//! The run is shaped like a hub in production: `--prefill` finished
//! deliveries are made first (through the same API and dispatcher), then a
//! warm-up, then `ANALYZE`, so the planner has statistics, as a hub that
//! has run for a while does; only then is the measured batch published.
//! Each delivery's latency is from the publisher's 202 to the receiver's
//! handler.
//!
//! With `--receivers-apart` the receivers run in a child process
//! (`fanout-receivers`) and answer `200` at once without verifying: the
//! setup in which issue 39 measured the hub beside Svix's server. The hub's
//! process then holds the API, the dispatcher and the publishers only.
//!
//! # Checking the outbox's plans on PostgreSQL
//!
//! A PostgreSQL run leaves its database behind, analyzed. To see where the
//! time goes and how each outbox query is planned with statistics (the
//! state of a hub that has run a while), start a server with
//! `pg_stat_statements` preloaded (`-c
//! shared_preload_libraries=pg_stat_statements`), then:
//!
//! ```text
//! psql "$SERVER/postgres" -c 'CREATE DATABASE bench'
//! psql "$SERVER/bench" -c 'CREATE EXTENSION pg_stat_statements'
//! gladly-webhook-bench fanout --receivers 20 --events 2000 --publishers 16 \
//!     --prefill 200000 --database-url "$SERVER/bench"
//! psql "$SERVER/bench" -c "SELECT calls, mean_exec_time, shared_blks_hit / calls,
//!     left(query, 80) FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 10"
//! psql "$SERVER/bench" -c "EXPLAIN (ANALYZE, BUFFERS) ..."   # a query, its $n filled in
//! ```
//!
//! (`$SERVER` is `postgres://USER@HOST:PORT`.)
//!
//! What to look for: every read of a subscription's deliveries scans
//! `hub_deliveries_queue` with `webhook_id` (and `event_seq`) as its index
//! condition; the claim probes `hub_deliveries_webhook_due` once per
//! subscription (a `SubPlan`, not a hash semi-join); every write keyed by a
//! delivery's id is a `hub_deliveries_pkey` lookup; nothing walks an index
//! of every delivery. Before issue 23 the next-deliveries read went through
//! a global index of pending deliveries by due time once `ANALYZE` had
//! run (31 ms a call, 56 s of PostgreSQL time for 40,000 deliveries), and
//! later merged with the events along the index of `event_seq` (38 ms);
//! through the subscription's range it is about 1 ms with a backlog.
//! `mean_exec_time` and `shared_blks_hit / calls` of each statement tell
//! a plan gone wrong at once: thousands of buffers a call.

pub mod apart;
mod receivers;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use gladly_webhook_hub::{ApiUsers, DispatcherOptions, Hub, Store};
use serde::Serialize;
use serde_json::{Value, json};

use receivers::{Clock, Receivers};

const USER: &str = "bench@example.com";
const TOKEN: &str = "tok_bench_0123456789abcdef";
/// The event the failing receiver refuses, with `--fail-one`.
const FAILING_EVENT: &str = "evt_bench_fails";

/// What to run.
#[derive(Debug, Clone)]
pub struct FanoutPlan {
    /// Events to publish (measured).
    pub events: u64,
    /// Concurrent publishers.
    pub publishers: usize,
    /// Receivers (subscriptions), each getting every event.
    pub receivers: usize,
    /// PostgreSQL instead of a SQLite file in a temporary folder.
    pub database_url: Option<String>,
    /// Give up after this long.
    pub max: Duration,
    /// How long each receiver takes to answer.
    pub receiver_delay: Duration,
    /// The first receiver refuses (500) the first measured event, always:
    /// the rest must not wait behind it.
    pub fail_one: bool,
    /// Finished deliveries made before the warm-up.
    pub prefill: u64,
    /// Events of the warm-up, delivered before `ANALYZE`.
    pub warmup: u64,
    /// Deliveries in flight per subscription (1: strict publish order).
    pub max_in_flight: usize,
    /// Publish at most this many events a second (all publishers
    /// together); as fast as they can without.
    pub rate: Option<f64>,
    /// Run `ANALYZE` after the warm-up (the planner's statistics, as a hub
    /// that has run a while has them); without, the tables are fresh (the
    /// planner's defaults, unless autovacuum analyzes them meanwhile).
    pub analyze: bool,
    /// The receivers in a process of their own, answering at once without
    /// verifying (how issue 39 measured the hub beside Svix); in this
    /// process, verifying each signature, without.
    pub receivers_apart: bool,
}

/// What was measured.
#[derive(Debug, Serialize)]
pub struct FanoutResult {
    store: &'static str,
    events: u64,
    receivers: usize,
    publishers: usize,
    max_in_flight: usize,
    receiver_delay_ms: u128,
    fail_one: bool,
    /// Finished deliveries in the store before the measured batch.
    prefilled_deliveries: u64,
    /// Whether `ANALYZE` ran before the measured batch.
    analyzed: bool,
    /// Whether the receivers ran in a process of their own.
    receivers_apart: bool,
    /// Events accepted (202) per second by the API.
    published_per_second: f64,
    /// Events delivered to every receiver, per second, from the first
    /// publication to the last delivery.
    events_per_second: f64,
    /// Deliveries (event × receiver) per second, over the same time.
    deliveries_per_second: f64,
    publish_seconds: f64,
    total_seconds: f64,
    /// Publish-to-delivery latency of the measured deliveries (the failing
    /// one aside), milliseconds.
    latency_p50_ms: f64,
    latency_p99_ms: f64,
    latency_max_ms: f64,
}

pub async fn run(plan: FanoutPlan) -> Result<FanoutResult, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (store_name, url) = match &plan.database_url {
        Some(url) => ("postgres", url.clone()),
        None => (
            "sqlite",
            format!("sqlite:{}", dir.path().join("hub.db").display()),
        ),
    };
    let store = Store::open(&url).await.map_err(|e| e.to_string())?;
    let users = ApiUsers::parse(&format!("{USER}:{TOKEN}")).map_err(|e| e.to_string())?;
    let mut options = DispatcherOptions::default();
    options.max_in_flight = plan.max_in_flight.max(1);
    options.concurrency = options.concurrency.max(plan.receivers);
    // The failing event is retried every 2 s, never given up on within a run.
    if plan.fail_one {
        options.schedule =
            gladly_webhook_sender::Schedule::Delays(vec![Duration::from_secs(2); 1000]);
    }
    let hub = Hub::new(store, users)
        .map_err(|e| e.to_string())?
        .allow_insecure_localhost(true)
        .map_err(|e| e.to_string())?
        .max_webhooks(plan.receivers.max(gladly_webhook_hub::MAX_WEBHOOKS))
        .dispatcher_options(options);
    let api = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let base = format!("http://{}", api.local_addr().map_err(|e| e.to_string())?);
    let router = hub.router();
    tokio::spawn(async move { axum::serve(api, router).await });
    let dispatcher = hub.spawn_dispatcher();
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;

    let clock = Arc::new(Clock::default());
    let receivers = Receivers::start(&plan, &client, &base).await?;
    let measured = measure(&plan, &client, &base, &url, &clock, &receivers).await;
    receivers.stop().await;
    dispatcher.shutdown(Duration::from_secs(5)).await;
    let (published, total, expected, mut latencies) = measured?;

    latencies.sort_by(f64::total_cmp);
    let percentile = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let rank = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
        latencies[rank - 1]
    };
    let events = plan.events as f64;
    let deliveries: u64 = expected.iter().sum();
    let width = plan.receivers.max(1) as u64;
    Ok(FanoutResult {
        store: store_name,
        events: plan.events,
        receivers: plan.receivers,
        publishers: plan.publishers,
        max_in_flight: plan.max_in_flight,
        receiver_delay_ms: plan.receiver_delay.as_millis(),
        fail_one: plan.fail_one,
        prefilled_deliveries: plan.prefill.div_ceil(width) * width,
        analyzed: plan.analyze,
        receivers_apart: plan.receivers_apart,
        published_per_second: events / published.as_secs_f64(),
        events_per_second: events / total.as_secs_f64(),
        deliveries_per_second: deliveries as f64 / total.as_secs_f64(),
        publish_seconds: published.as_secs_f64(),
        total_seconds: total.as_secs_f64(),
        latency_p50_ms: percentile(0.50),
        latency_p99_ms: percentile(0.99),
        latency_max_ms: percentile(1.0),
    })
}

/// What [`measure`] found: the time to publish, the time to the last
/// delivery, the deliveries expected per receiver, each latency (ms).
type Measured = (Duration, Duration, Vec<u64>, Vec<f64>);

/// Prefill and warm-up through the same path, `ANALYZE`, then the
/// measured batch until every receiver has it.
async fn measure(
    plan: &FanoutPlan,
    client: &reqwest::Client,
    base: &str,
    url: &str,
    clock: &Arc<Clock>,
    receivers: &Receivers,
) -> Result<Measured, String> {
    let width = plan.receivers.max(1) as u64;
    for (events, what) in [
        (plan.prefill.div_ceil(width), "prefill"),
        (plan.warmup, "warm-up"),
    ] {
        if events == 0 {
            continue;
        }
        let before = receivers.counts().await?;
        publish(plan, client, base, events, None, false).await?;
        receivers
            .wait_all(
                &before,
                &vec![events; before.len()],
                Instant::now() + plan.max,
            )
            .await
            .map_err(|e| format!("{what}: {e}"))?;
    }
    if plan.analyze {
        analyze(url).await?;
    }
    receivers.forget_handled();

    let before = receivers.counts().await?;
    let started = Instant::now();
    publish(plan, client, base, plan.events, Some(clock), plan.fail_one).await?;
    let published = started.elapsed();
    // With --fail-one, the first receiver never gets the failing event.
    let mut expected = vec![plan.events; before.len()];
    if plan.fail_one && !expected.is_empty() {
        expected[0] -= 1;
    }
    receivers
        .wait_all(&before, &expected, started + plan.max)
        .await
        .map_err(|_| format!("not every event was delivered within {:?}", plan.max))?;
    let total = started.elapsed();

    let handled = receivers.handled().await?;
    let published_at = clock.published.lock().map_err(|e| e.to_string())?;
    let latencies = handled
        .iter()
        .filter_map(|(id, at)| {
            published_at
                .get(id)
                .map(|p| at.duration_since(*p).unwrap_or_default())
        })
        .map(|d| d.as_secs_f64() * 1000.0)
        .collect();
    Ok((published, total, expected, latencies))
}

/// Publishes `total` events from the plan's publishers (at the plan's rate,
/// if any), recording each 202 in `clock`; with `fail_one` the first is
/// the event the first receiver refuses.
async fn publish(
    plan: &FanoutPlan,
    client: &reqwest::Client,
    base: &str,
    total: u64,
    clock: Option<&Arc<Clock>>,
    fail_one: bool,
) -> Result<(), String> {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut publishers = Vec::new();
    for _ in 0..plan.publishers.max(1) {
        let (client, next, base, clock, rate) = (
            client.clone(),
            next.clone(),
            base.to_string(),
            clock.cloned(),
            plan.rate,
        );
        publishers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                if let Some(rate) = rate {
                    let at = started + Duration::from_secs_f64(n as f64 / rate);
                    tokio::time::sleep_until(at.into()).await;
                }
                let mut event = json!({"type": "CUSTOMER_UPDATED",
                    "initiator": {"id": "agent_42", "type": "AGENT"},
                    "content": {"customerId": "cust_7"}});
                if fail_one && n == 0 {
                    event["id"] = FAILING_EVENT.into();
                }
                let answer =
                    api_call(&client, "POST", &format!("{base}/api/v1/events"), event).await?;
                if let (Some(clock), Some(id)) = (&clock, answer["eventId"].as_str())
                    && let Ok(mut published) = clock.published.lock()
                {
                    published.insert(id.to_string(), SystemTime::now());
                }
            }
            Ok::<(), String>(())
        }));
    }
    for publisher in publishers {
        publisher.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}

/// Makes a new database on the server `url` names (connecting to the
/// database it names) and returns the URL of the new one.
pub async fn fresh_database(url: &str) -> Result<String, String> {
    use sqlx::Connection;
    let mut parsed = url::Url::parse(url).map_err(|e| format!("--database-url: {e}"))?;
    let name = format!(
        "gladly_fanout_{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_nanos()
    );
    let mut admin = sqlx::PgConnection::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .map_err(|e| e.to_string())?;
    parsed.set_path(&format!("/{name}"));
    Ok(parsed.to_string())
}

/// `ANALYZE`: the planner's statistics, as a hub that has run for a while
/// has them (autovacuum's first pass on PostgreSQL; SQLite's own table).
async fn analyze(url: &str) -> Result<(), String> {
    if url.starts_with("postgres") {
        analyze_on::<sqlx::PgConnection>(url).await
    } else {
        analyze_on::<sqlx::SqliteConnection>(url).await
    }
}

async fn analyze_on<C>(url: &str) -> Result<(), String>
where
    C: sqlx::Connection,
    for<'c> &'c mut C: sqlx::Executor<'c, Database = C::Database>,
{
    let mut connection = C::connect(url).await.map_err(|e| e.to_string())?;
    sqlx::raw_sql("ANALYZE")
        .execute(&mut connection)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

async fn api_call(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    body: Value,
) -> Result<Value, String> {
    let method: reqwest::Method = method.parse().map_err(|_| "bad method".to_string())?;
    let response = client
        .request(method, url)
        .basic_auth(USER, Some(TOKEN))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let text = response.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{url}: {status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| e.to_string())
}
