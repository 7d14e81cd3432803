//! `fanout`: the hub's delivery throughput. One hub (API and dispatcher,
//! in this process, on a SQLite file or PostgreSQL), three receivers
//! (`Receiver::inline`, each verifying with its subscription's secret)
//! subscribed to the same event type, and publishers posting events to
//! the API; measured until every receiver has every event.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gladly_webhook_core::Verifier;
use gladly_webhook_hub::{ApiUsers, DispatcherOptions, Hub, Store};
use gladly_webhook_receiver::{Handlers, Receiver};
use serde::Serialize;
use serde_json::{Value, json};

const USER: &str = "bench@example.com";
const TOKEN: &str = "tok_bench_0123456789abcdef";

/// What to run.
#[derive(Debug, Clone)]
pub struct FanoutPlan {
    /// Events to publish.
    pub events: u64,
    /// Concurrent publishers.
    pub publishers: usize,
    /// Receivers (subscriptions), each getting every event.
    pub receivers: usize,
    /// PostgreSQL instead of a SQLite file in a temporary folder.
    pub database_url: Option<String>,
    /// Give up after this long.
    pub max: Duration,
}

/// What was measured.
#[derive(Debug, Serialize)]
pub struct FanoutResult {
    store: &'static str,
    events: u64,
    receivers: usize,
    publishers: usize,
    /// Events accepted (202) per second by the API.
    published_per_second: f64,
    /// Events delivered to every receiver, per second, from the first
    /// publication to the last delivery.
    events_per_second: f64,
    /// Deliveries (event × receiver) per second, over the same time.
    deliveries_per_second: f64,
    publish_seconds: f64,
    total_seconds: f64,
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
    let hub = Hub::new(store, users)
        .map_err(|e| e.to_string())?
        .allow_insecure_localhost(true)
        .map_err(|e| e.to_string())?
        .dispatcher_options(DispatcherOptions::default());
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

    // Receivers: bound first, subscribed inactive, served with the secret,
    // then activated (the hub PINGs each).
    let mut counters = Vec::new();
    for _ in 0..plan.receivers {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let url = format!(
            "http://{}/hooks",
            listener.local_addr().map_err(|e| e.to_string())?
        );
        let created = api_call(
            &client,
            "POST",
            &format!("{base}/api/v1/webhooks"),
            json!({"url": url, "events": ["CUSTOMER_UPDATED"], "active": false}),
        )
        .await?;
        let secret = created["secret"]
            .as_str()
            .ok_or("no secret in the answer")?
            .to_string();
        let id = created["id"]
            .as_str()
            .ok_or("no id in the answer")?
            .to_string();
        let count = Arc::new(AtomicU64::new(0));
        let counted = count.clone();
        let handlers = Handlers::new().on_any(move |_| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
        });
        let verifier = Verifier::new([secret.as_str()]).map_err(|e| e.to_string())?;
        let router = Receiver::inline(verifier, handlers).router("/hooks");
        tokio::spawn(async move { axum::serve(listener, router).await });
        api_call(
            &client,
            "PATCH",
            &format!("{base}/api/v1/webhooks/{id}"),
            json!({"active": true}),
        )
        .await?;
        counters.push(count);
    }
    let pings: Vec<u64> = counters.iter().map(|c| c.load(Ordering::Relaxed)).collect();

    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let mut publishers = Vec::new();
    for _ in 0..plan.publishers.max(1) {
        let (client, next, base, total) = (client.clone(), next.clone(), base.clone(), plan.events);
        publishers.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let event = json!({"type": "CUSTOMER_UPDATED",
                    "initiator": {"id": "agent_42", "type": "AGENT"},
                    "content": {"customerId": "cust_7"}});
                api_call(&client, "POST", &format!("{base}/api/v1/events"), event).await?;
            }
            Ok::<(), String>(())
        }));
    }
    for publisher in publishers {
        publisher.await.map_err(|e| e.to_string())??;
    }
    let published = started.elapsed();
    let deadline = started + plan.max;
    loop {
        let done = counters
            .iter()
            .zip(&pings)
            .all(|(c, ping)| c.load(Ordering::Relaxed) - ping >= plan.events);
        if done {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "not every event was delivered within {:?}",
                plan.max
            ));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let total = started.elapsed();
    dispatcher.shutdown(Duration::from_secs(5)).await;
    let events = plan.events as f64;
    Ok(FanoutResult {
        store: store_name,
        events: plan.events,
        receivers: plan.receivers,
        publishers: plan.publishers,
        published_per_second: events / published.as_secs_f64(),
        events_per_second: events / total.as_secs_f64(),
        deliveries_per_second: events * plan.receivers as f64 / total.as_secs_f64(),
        publish_seconds: published.as_secs_f64(),
        total_seconds: total.as_secs_f64(),
    })
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
