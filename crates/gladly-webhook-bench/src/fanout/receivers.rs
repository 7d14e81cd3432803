//! The receivers a `fanout` run delivers to: in the hub's process
//! (`Receiver::inline`, verifying each signature), or apart, in a child
//! process answering at once ([`super::apart`]).

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gladly_webhook_core::Verifier;
use gladly_webhook_receiver::{Delivery, Handlers, Receiver};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::{FAILING_EVENT, FanoutPlan, api_call};

/// When each event was accepted (by id). Wall-clock times, so that a
/// child process's can be compared with them.
#[derive(Default)]
pub struct Clock {
    pub published: Mutex<std::collections::HashMap<String, SystemTime>>,
}

/// The receivers of a run, subscribed and active.
pub enum Receivers {
    /// In this process: a counter each, and when each event was handled.
    Here {
        counters: Vec<Arc<AtomicU64>>,
        handled: Arc<Mutex<Vec<(String, SystemTime)>>>,
    },
    /// In a child process, asked through its control address.
    Apart {
        child: tokio::process::Child,
        control: String,
        client: reqwest::Client,
    },
}

impl Receivers {
    /// Starts the plan's receivers and subscribes each (inactive, then
    /// activated once it serves).
    pub async fn start(
        plan: &FanoutPlan,
        client: &reqwest::Client,
        base: &str,
    ) -> Result<Self, String> {
        if plan.receivers_apart {
            return start_apart(plan, client, base).await;
        }
        let handled = Arc::new(Mutex::new(Vec::new()));
        let mut counters = Vec::new();
        for index in 0..plan.receivers {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| e.to_string())?;
            let url = format!(
                "http://{}/hooks",
                listener.local_addr().map_err(|e| e.to_string())?
            );
            let (id, secret) = subscribe(client, base, &url).await?;
            let count = Arc::new(AtomicU64::new(0));
            let (counted, handled, delay) = (count.clone(), handled.clone(), plan.receiver_delay);
            let refuses = plan.fail_one && index == 0;
            let handlers = Handlers::new().on_any(
                move |delivery: Delivery<gladly_webhook_core::ParsedEvent>| {
                    let (counted, handled) = (counted.clone(), handled.clone());
                    async move {
                        if !delay.is_zero() {
                            tokio::time::sleep(delay).await;
                        }
                        let id = delivery.event_id.clone().unwrap_or_default();
                        if refuses && id == FAILING_EVENT {
                            return Err("this receiver refuses the failing event".into());
                        }
                        if let Ok(mut handled) = handled.lock() {
                            handled.push((id, SystemTime::now()));
                        }
                        counted.fetch_add(1, Ordering::Relaxed);
                        Ok(())
                    }
                },
            );
            let verifier = Verifier::new([secret.as_str()]).map_err(|e| e.to_string())?;
            let router = Receiver::inline(verifier, handlers).router("/hooks");
            tokio::spawn(async move { axum::serve(listener, router).await });
            activate(client, base, &id).await?;
            counters.push(count);
        }
        Ok(Self::Here { counters, handled })
    }

    /// Each receiver's count of events handled (PINGs included).
    pub async fn counts(&self) -> Result<Vec<u64>, String> {
        match self {
            Self::Here { counters, .. } => {
                Ok(counters.iter().map(|c| c.load(Ordering::Relaxed)).collect())
            }
            Self::Apart {
                control, client, ..
            } => get_json(client, &format!("{control}/counts")).await,
        }
    }

    /// Each event handled, with when.
    pub async fn handled(&self) -> Result<Vec<(String, SystemTime)>, String> {
        match self {
            Self::Here { handled, .. } => Ok(handled.lock().map_err(|e| e.to_string())?.clone()),
            Self::Apart {
                control, client, ..
            } => {
                let handled: Vec<(String, u128)> =
                    get_json(client, &format!("{control}/handled")).await?;
                Ok(handled
                    .into_iter()
                    .map(|(id, nanos)| {
                        let nanos = u64::try_from(nanos).unwrap_or(u64::MAX);
                        (id, UNIX_EPOCH + Duration::from_nanos(nanos))
                    })
                    .collect())
            }
        }
    }

    /// Forgets what was handled so far (the warm-up's), in this process;
    /// a child's are told apart by id.
    pub fn forget_handled(&self) {
        if let Self::Here { handled, .. } = self
            && let Ok(mut handled) = handled.lock()
        {
            handled.clear();
        }
    }

    /// How often to look at the counts while waiting: a child is asked
    /// over HTTP, so less often.
    fn poll_every(&self) -> Duration {
        match self {
            Self::Here { .. } => Duration::from_millis(2),
            Self::Apart { .. } => Duration::from_millis(5),
        }
    }

    /// Waits until each receiver has handled its `expected` count more
    /// than `before`.
    pub async fn wait_all(
        &self,
        before: &[u64],
        expected: &[u64],
        deadline: Instant,
    ) -> Result<(), String> {
        loop {
            let counts = self.counts().await?;
            if counts
                .iter()
                .zip(before)
                .zip(expected)
                .all(|((c, b), want)| c - b >= *want)
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("not every event was delivered in time".to_string());
            }
            tokio::time::sleep(self.poll_every()).await;
        }
    }

    /// Stops a child (closing its input ends it; it is killed if not).
    pub async fn stop(self) {
        if let Self::Apart { mut child, .. } = self {
            drop(child.stdin.take());
            if tokio::time::timeout(Duration::from_secs(5), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
    }
}

/// Starts `gladly-webhook-bench fanout-receivers` and subscribes each
/// receiver it serves.
async fn start_apart(
    plan: &FanoutPlan,
    client: &reqwest::Client,
    base: &str,
) -> Result<Receivers, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut command = tokio::process::Command::new(exe);
    command
        .args(["fanout-receivers", "--count", &plan.receivers.to_string()])
        .args(["--delay", &format!("{}ms", plan.receiver_delay.as_millis())])
        .args(["--max-seconds", &(plan.max.as_secs() * 4 + 60).to_string()]);
    if plan.fail_one {
        command.args(["--refuse", FAILING_EVENT]);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start the receivers' process: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout from the receivers")?;
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        BufReader::new(stdout).read_line(&mut line),
    )
    .await
    .map_err(|_| "the receivers' process did not say where it listens".to_string())?
    .map_err(|e| e.to_string())?;
    let (urls, control) = line
        .trim()
        .strip_prefix("receivers ")
        .and_then(|rest| rest.split_once(" control "))
        .ok_or_else(|| format!("unexpected line from the receivers: {line}"))?;
    for url in urls.split(',') {
        let (id, _secret) = subscribe(client, base, url).await?;
        activate(client, base, &id).await?;
    }
    Ok(Receivers::Apart {
        child,
        control: control.to_string(),
        client: client.clone(),
    })
}

/// Creates an inactive subscription of `url`; its id and secret.
async fn subscribe(
    client: &reqwest::Client,
    base: &str,
    url: &str,
) -> Result<(String, String), String> {
    let created = api_call(
        client,
        "POST",
        &format!("{base}/api/v1/webhooks"),
        json!({"url": url, "events": ["CUSTOMER_UPDATED"], "active": false}),
    )
    .await?;
    let field = |name: &str| {
        created[name]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("no {name} in the answer"))
    };
    Ok((field("id")?, field("secret")?))
}

async fn activate(client: &reqwest::Client, base: &str, id: &str) -> Result<(), String> {
    api_call(
        client,
        "PATCH",
        &format!("{base}/api/v1/webhooks/{id}"),
        json!({"active": true}),
    )
    .await
    .map(drop)
}

async fn get_json<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
) -> Result<T, String> {
    let response = client.get(url).send().await.map_err(|e| e.to_string())?;
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    serde_json::from_slice(&body).map_err(|e| e.to_string())
}
