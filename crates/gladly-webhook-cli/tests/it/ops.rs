//! Operating the long-running commands, as built binaries on loopback:
//! Prometheus metrics that move with the traffic, health and readiness
//! (with the database stopped), logs in both formats with no secret in any
//! line under load, graceful shutdown on SIGTERM, and the conditions of
//! the container image (a non-root user, a read-only root, a data volume).

use crate::common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{BIN, Running, announced_port, free_port, http, listen_port, wait_until};
use serde_json::{Value, json};

const USERS: &str = "ops@example.com:tok_ops_test_0123456789abcdef";
/// base64 of [`USERS`].
const AUTH: &str = "Basic b3BzQGV4YW1wbGUuY29tOnRva19vcHNfdGVzdF8wMTIzNDU2Nzg5YWJjZGVm";
const KEY: &str = "5e3f0a1b2c3d4e5f60718293a4b5c6d7e8f9011223344556677889aabbccddee";
const WRONG_SECRET: &str = "whsec_wrong_secret_for_the_401_000000";
/// Events the hub publishes to `listen` in the load test.
const LOAD: usize = 40;

/// The port a command announced for its metrics.
fn metrics_port(running: &Running) -> u16 {
    announced_port(running, "metrics on http://")
}

/// A scrape of `/metrics`.
fn scrape(port: u16) -> String {
    let (status, body) = http(port, "GET", "/metrics", &[], "");
    assert_eq!(status, 200, "{body}");
    body
}

/// The value of one series (`name{labels}` exactly as rendered), if any.
fn value(scrape: &str, series: &str) -> Option<f64> {
    scrape.lines().find_map(|line| {
        line.strip_prefix(series)
            .and_then(|rest| rest.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
    })
}

/// Waits until `series` reads `expected` on `port`'s metrics.
fn wait_for(port: u16, series: &str, expected: f64) {
    let reached = wait_until(Duration::from_secs(60), || {
        value(&scrape(port), series) == Some(expected)
    });
    assert!(
        reached,
        "{series} did not reach {expected}:\n{}",
        scrape(port)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn call(port: u16, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let (status, answer) = http(port, method, path, &[("Authorization", AUTH)], &body);
    (status, serde_json::from_str(&answer).unwrap_or(Value::Null))
}

fn event(customer: &str) -> Value {
    json!({"type": "CONVERSATION_CLOSED", "initiator": {"id": "agent_42", "type": "AGENT"},
           "content": {"customerId": customer, "conversationId": "conv_9",
                       "context": {"assignee": {"inboxId": "inbox_1", "agentId": "agent_42"}}}})
}

fn serve(db: &str, format: &str, extra: &[&str]) -> Running {
    let mut args = vec![
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--db",
        db,
        "--api-user-env",
        "HUB_USERS",
        "--secret-key-env",
        "HUB_KEYS",
        "--allow-insecure-localhost",
        "--time-scale",
        "0.001",
        "--metrics-addr",
        "127.0.0.1:0",
        "--log-format",
        format,
    ];
    args.extend_from_slice(extra);
    Running::start(
        &args,
        &[
            ("HUB_USERS", USERS),
            ("HUB_KEYS", KEY),
            ("RUST_LOG", "trace"),
        ],
        "serving the hub API",
    )
}

/// The port `serve` announced.
fn api_port(hub: &Running) -> u16 {
    announced_port(hub, "hub API on http://")
}

/// Every line of `log` free of `secrets`; with format `json`, every line
/// is a JSON object with a level, the banner and stop lines included
/// (issue 32).
fn check_log(what: &str, log: &str, format: &str, secrets: &[&str]) {
    assert!(!log.is_empty(), "{what}: no log at all");
    for line in log.lines() {
        for secret in secrets {
            assert!(
                !line.contains(secret),
                "{what}: a secret in a log line: {line}"
            );
        }
        if format == "json" {
            let parsed: Value = serde_json::from_str(line)
                .unwrap_or_else(|err| panic!("{what}: not a JSON line ({err}): {line}"));
            assert!(parsed["level"].is_string(), "{what}: {line}");
        }
    }
}

/// `serve` delivering a load to `listen --exec`: both export metrics that
/// move with the traffic, answer their health routes, log in the format
/// asked without a secret even at `RUST_LOG=trace`, and stop on SIGTERM.
#[test]
fn metrics_health_and_logs_follow_the_traffic_on_each_backend() {
    let dir = tempfile::tempdir().unwrap();
    let stores = common::databases(&dir.path().join("hub.db"), "ops_store");
    let inboxes = common::databases(&dir.path().join("inbox.db"), "ops_inbox");
    for (n, (store, inbox)) in stores.iter().zip(&inboxes).enumerate() {
        // Both formats for both commands, one each run.
        let (hub_format, listen_format) = if n % 2 == 0 {
            ("text", "json")
        } else {
            ("json", "text")
        };
        let mut hub = serve(store, hub_format, &[]);
        let (hub_api, hub_metrics) = (api_port(&hub), metrics_port(&hub));
        let listen_port = free_port();
        let (status, created) = call(
            hub_api,
            "POST",
            "/api/v1/webhooks",
            &json!({"url": format!("http://127.0.0.1:{listen_port}/hooks"),
                    "events": ["CONVERSATION_CLOSED"], "active": false}),
        );
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_str().unwrap().to_string();
        let secret = created["secret"].as_str().unwrap().to_string();

        // The command writes on both its streams: as JSON lines too.
        let handler = r#"body=$(cat); echo "out $GLADLY_EVENT_ID"; echo "err $GLADLY_EVENT_ID" >&2; case "$body" in *cust_dead*) exit 3 ;; esac"#;
        let listen_addr = format!("127.0.0.1:{listen_port}");
        let mut listen = Running::start(
            &[
                "listen",
                "--addr",
                &listen_addr,
                "--path",
                "/hooks",
                "--secret-env",
                "HOOK_SECRET",
                "--inbox",
                inbox,
                "--exec",
                handler,
                "--max-attempts",
                "1",
                "--metrics-addr",
                "127.0.0.1:0",
                "--health-routes",
                "--log-format",
                listen_format,
            ],
            &[("HOOK_SECRET", &secret), ("RUST_LOG", "trace")],
            "listening on",
        );
        let listen_metrics = metrics_port(&listen);

        // Health on the metrics addresses and on listen's main address.
        for port in [hub_metrics, listen_metrics, listen_port] {
            assert_eq!(http(port, "GET", "/healthz", &[], "").0, 200);
            let (status, body) = http(port, "GET", "/readyz", &[], "");
            assert_eq!((status, body.as_str()), (200, "ready\n"), "{port}");
        }
        // Before any traffic (issue 37): every counter is there, at 0, so
        // an alert sees a 0 rather than "no data".
        let before = scrape(listen_metrics);
        for series in [
            r#"gladly_receiver_deliveries_total{verdict="stored",reason="stored",status="200"}"#,
            r#"gladly_receiver_deliveries_total{verdict="rejected",reason="signature_mismatch",status="401"}"#,
            r#"gladly_receiver_deliveries_total{verdict="unavailable",reason="inbox_unavailable",status="503"}"#,
            r#"gladly_worker_runs_total{outcome="dead"}"#,
            "gladly_worker_leases_lost_total",
        ] {
            assert_eq!(value(&before, series), Some(0.0), "{series}\n{before}");
        }
        let hub_before = scrape(hub_metrics);
        for series in [
            "gladly_hub_events_published_total",
            r#"gladly_hub_attempts_total{outcome="exhausted",status_class="5xx"}"#,
            "gladly_hub_deactivations_total",
            r#"gladly_hub_pings_total{result="failed"}"#,
            "gladly_hub_login_failures_total",
        ] {
            assert_eq!(
                value(&hub_before, series),
                Some(0.0),
                "{series}\n{hub_before}"
            );
        }

        // Activation PINGs listen; then the load, one event its handler
        // fails, one failed login and one delivery signed wrongly.
        let (status, _) = call(
            hub_api,
            "PATCH",
            &format!("/api/v1/webhooks/{id}"),
            &json!({"active": true}),
        );
        assert_eq!(status, 200);
        for i in 0..LOAD {
            let (status, answer) = call(
                hub_api,
                "POST",
                "/api/v1/events",
                &event(&format!("cust_{i}")),
            );
            assert_eq!(status, 202, "{answer}");
        }
        assert_eq!(
            call(hub_api, "POST", "/api/v1/events", &event("cust_dead")).0,
            202
        );
        let (status, _) = http(
            hub_api,
            "GET",
            "/api/v1/webhooks",
            &[("Authorization", "Basic d3Jvbmc6d3Jvbmc=")],
            "",
        );
        assert_eq!(status, 401);
        let output = Command::new(BIN)
            .args([
                "trigger",
                "CONVERSATION_CLOSED",
                "--to",
                &format!("http://127.0.0.1:{listen_port}/hooks"),
                "--secret-env",
                "WRONG",
            ])
            .env("WRONG", WRONG_SECRET)
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("401")
                || String::from_utf8_lossy(&output.stderr).contains("401"),
            "{output:?}"
        );

        // The receiver's side.
        let total = (LOAD + 1) as f64;
        wait_for(
            listen_metrics,
            r#"gladly_worker_runs_total{outcome="done"}"#,
            LOAD as f64,
        );
        wait_for(
            listen_metrics,
            r#"gladly_worker_runs_total{outcome="dead"}"#,
            1.0,
        );
        let text = scrape(listen_metrics);
        for (series, expected) in [
            (
                r#"gladly_receiver_deliveries_total{verdict="stored",reason="stored",status="200"}"#,
                total,
            ),
            (
                r#"gladly_receiver_deliveries_total{verdict="ping",reason="ping",status="200"}"#,
                1.0,
            ),
            (
                r#"gladly_receiver_deliveries_total{verdict="rejected",reason="signature_mismatch",status="401"}"#,
                1.0,
            ),
            (
                r#"gladly_receiver_request_duration_seconds_count{verdict="stored"}"#,
                total,
            ),
            (
                r#"gladly_worker_run_duration_seconds_count{outcome="done"}"#,
                LOAD as f64,
            ),
            (r#"gladly_inbox_events{state="done"}"#, LOAD as f64),
            (r#"gladly_inbox_events{state="dead"}"#, 1.0),
            (r#"gladly_inbox_events{state="pending"}"#, 0.0),
            ("gladly_inbox_oldest_pending_age_seconds", 0.0),
            ("gladly_store_up", 1.0),
        ] {
            assert_eq!(
                value(&text, series),
                Some(expected),
                "{store}: {series}\n{text}"
            );
        }
        assert!(text.contains("# TYPE gladly_receiver_request_duration_seconds histogram"));
        assert!(text.contains(
            r#"gladly_receiver_request_duration_seconds_bucket{verdict="stored",le="0.001"}"#
        ));

        // The hub's side: every success is recorded a batch at a time.
        wait_for(
            hub_metrics,
            r#"gladly_hub_attempts_total{outcome="delivered",status_class="2xx"}"#,
            total,
        );
        wait_for(
            hub_metrics,
            &format!(r#"gladly_hub_subscription_backlog{{subscription="{id}",active="true"}}"#),
            0.0,
        );
        let text = scrape(hub_metrics);
        for (series, expected) in [
            ("gladly_hub_events_published_total", total),
            ("gladly_hub_delivery_latency_seconds_count", total),
            ("gladly_hub_attempt_duration_seconds_count", total),
            (r#"gladly_hub_pings_total{result="ok"}"#, 1.0),
            ("gladly_hub_login_failures_total", 1.0),
            (
                r#"gladly_hub_api_requests_total{route="/api/v1/events",method="POST",status="202"}"#,
                total,
            ),
            (
                r#"gladly_hub_api_requests_total{route="/api/v1/webhooks/{id}",method="PATCH",status="200"}"#,
                1.0,
            ),
            (
                r#"gladly_hub_api_requests_total{route="/api/v1/webhooks",method="GET",status="401"}"#,
                1.0,
            ),
            ("gladly_hub_deliveries_pending", 0.0),
            ("gladly_store_up", 1.0),
        ] {
            assert_eq!(
                value(&text, series),
                Some(expected),
                "{store}: {series}\n{text}"
            );
        }
        // The subscription appears by id, never by URL.
        assert!(!text.contains(&format!("127.0.0.1:{listen_port}")));

        // SIGTERM: both stop cleanly; their logs hold no secret.
        assert_eq!(listen.stop(), 0, "{}", listen.stderr());
        assert_eq!(hub.stop(), 0, "{}", hub.stderr());
        let secrets = [
            secret.as_str(),
            "tok_ops_test_0123456789abcdef",
            KEY,
            WRONG_SECRET,
        ];
        check_log("serve", &hub.stderr(), hub_format, &secrets);
        check_log("listen", &listen.stderr(), listen_format, &secrets);
        let banner = |log: String| {
            log.lines()
                .filter(|l| l.contains("listening on http://"))
                .count()
        };
        assert_eq!(banner(listen.stderr()), 1, "{}", listen.stderr());
        assert!(listen.stderr().contains("stopped"), "{}", listen.stderr());
        if listen_format == "json" {
            let said = listen
                .stderr()
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .filter(|l| {
                    l["fields"]["stream"] == "stderr"
                        && l["fields"]["line"]
                            .as_str()
                            .is_some_and(|t| t.starts_with("err evt_"))
                })
                .count();
            assert!(
                said > LOAD,
                "the command's stderr, line by line: {}",
                listen.stderr()
            );
        }
        // Under load: a line per delivery on each side, at least.
        let lines = |log: String, what: &str| log.lines().filter(|l| l.contains(what)).count();
        assert!(lines(listen.stderr(), "delivery answered") > LOAD);
        assert!(lines(hub.stderr(), "delivered") > LOAD);
        // Spans carry the ids: a delivery's in listen, an attempt's in serve.
        assert!(
            listen.stderr().contains("gladly.delivery"),
            "{}",
            listen.stderr()
        );
        assert!(hub.stderr().contains("gladly.attempt"), "{}", hub.stderr());
        assert!(hub.stderr().contains(&id));
    }
}

/// A subscription whose receiver fails every delivery: the attempts are
/// counted by outcome and status class until the deactivation.
#[test]
fn failed_attempts_and_a_deactivation_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("hub.db").display());
    let receiver = TestReceiver::start("503 Service Unavailable", Duration::ZERO);
    let mut hub = serve(&db, "text", &[]);
    let (hub_api, hub_metrics) = (api_port(&hub), metrics_port(&hub));
    let (status, created) = call(
        hub_api,
        "POST",
        "/api/v1/webhooks",
        &json!({"url": format!("http://127.0.0.1:{}/hooks", receiver.port),
                "events": ["CONVERSATION_CLOSED"], "active": true}),
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        call(hub_api, "POST", "/api/v1/events", &event("cust_1")).0,
        202
    );
    // Gladly's schedule: four retries after the first attempt, scaled by
    // 0.001 (30 ms ... 3.6 s).
    wait_for(hub_metrics, "gladly_hub_deactivations_total", 1.0);
    let text = scrape(hub_metrics);
    assert_eq!(
        value(
            &text,
            r#"gladly_hub_attempts_total{outcome="retry",status_class="5xx"}"#
        ),
        Some(4.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            r#"gladly_hub_attempts_total{outcome="exhausted",status_class="5xx"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&text, r#"gladly_hub_pings_total{result="ok"}"#),
        Some(1.0)
    );
    assert_eq!(
        value(&text, "gladly_hub_delivery_latency_seconds_count"),
        None
    );
    assert_eq!(hub.stop(), 0);
}

/// A receiver on loopback: PINGs are answered 200 at once, every other
/// delivery with `status` after `delay`; it counts those deliveries.
struct TestReceiver {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl TestReceiver {
    fn start(status: &'static str, delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let counted = counted.clone();
                std::thread::spawn(move || answer_once(stream, status, delay, &counted));
            }
        });
        Self { port, hits }
    }
}

/// Reads one request (head and `Content-Length` body) and answers it.
fn answer_once(mut stream: TcpStream, status: &str, delay: Duration, hits: &AtomicUsize) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut buf) else { return };
        if n == 0 {
            return;
        }
        request.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&request).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if body.len() >= length {
                let status = if body.contains("\"PING\"") {
                    "200 OK"
                } else {
                    hits.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(delay);
                    status
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                return;
            }
        }
    }
}

/// A TCP proxy to PostgreSQL that a test can stop (closing every
/// connection, as a stopped server does) and start again on the same port.
struct Proxy {
    port: u16,
    target: String,
    running: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn new(target: String) -> Self {
        let mut proxy = Self {
            port: 0,
            target,
            running: Arc::new(AtomicBool::new(false)),
            streams: Arc::default(),
        };
        proxy.start();
        proxy
    }

    fn start(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        self.port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let running = Arc::new(AtomicBool::new(true));
        self.running = running.clone();
        let (target, streams) = (self.target.clone(), self.streams.clone());
        std::thread::spawn(move || {
            while running.load(Ordering::SeqCst) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let _ = client.set_nonblocking(false);
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let mut kept = streams.lock().unwrap();
                kept.push(client.try_clone().unwrap());
                kept.push(server.try_clone().unwrap());
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
            }
        });
    }

    /// Stops accepting and closes every connection.
    fn stop(&mut self) {
        self.running.store(false, Ordering::SeqCst);
        for stream in self.streams.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
        // The accept loop notices within 10 ms and drops the listener.
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `postgres://user:pass@host:port/db?query` with `host:port` replaced,
/// and the `host:port` it named.
fn through(url: &str, port: u16) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (credentials, rest) = rest.rsplit_once('@').unwrap();
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let target = rest[..end].to_string();
    (
        format!("{scheme}://{credentials}@127.0.0.1:{port}{}", &rest[end..]),
        target,
    )
}

/// `/readyz` answers 503 within its deadline while PostgreSQL is stopped
/// and 200 once it is back, for `listen` and `serve`; `/healthz` stays
/// 200 and a scrape says `gladly_store_up 0`.
#[test]
fn readiness_follows_a_stopped_database() {
    let Some(database) = common::pg_database("ops_ready") else {
        eprintln!(
            "skipped: readiness with the database stopped needs PostgreSQL (GLADLY_TEST_DATABASE_URL)"
        );
        return;
    };
    let (_, target) = through(&database, 0);
    let mut proxy = Proxy::new(target);
    let (url, _) = through(&database, proxy.port);
    let mut listen = Running::start(
        &[
            "listen",
            "--addr",
            "127.0.0.1:0",
            "--no-auth",
            "--inbox",
            &url,
            "--metrics-addr",
            "127.0.0.1:0",
        ],
        &[],
        "listening on",
    );
    let mut hub = serve(&url, "text", &[]);
    let ports = [metrics_port(&listen), metrics_port(&hub)];
    for port in ports {
        assert_eq!(http(port, "GET", "/readyz", &[], "").0, 200);
    }

    // Both processes at once: each check waits out a store that does not
    // answer.
    let each = |check: fn(u16)| {
        std::thread::scope(|both| {
            for port in ports {
                both.spawn(move || check(port));
            }
        })
    };
    proxy.stop();
    each(|port| {
        let started = Instant::now();
        let (status, body) = http(port, "GET", "/readyz", &[], "");
        assert_eq!(
            (status, body.as_str()),
            (503, "not ready: the store did not answer\n")
        );
        // The deadline is 2 s; a slow machine gets slack, not a hang.
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(http(port, "GET", "/healthz", &[], "").0, 200);
        assert_eq!(value(&scrape(port), "gladly_store_up"), Some(0.0));
    });

    proxy.start();
    each(|port| {
        assert!(
            wait_until(Duration::from_secs(60), || http(
                port,
                "GET",
                "/readyz",
                &[],
                ""
            )
            .0 == 200),
            "ready again once the database is back"
        );
        assert_eq!(value(&scrape(port), "gladly_store_up"), Some(1.0));
    });
    assert_eq!(listen.stop(), 0);
    assert_eq!(hub.stop(), 0);
}

/// SIGTERM to `listen --exec` with a command running: `/readyz` answers
/// 503 at once while the command gets its grace (`--shutdown-grace 2s`:
/// the process waits that long, not the default 20 s), then the run is
/// released to `pending` and the process exits 0; the metrics address
/// serves to the end.
#[test]
fn sigterm_drains_then_releases_what_runs() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = format!("sqlite:{}", dir.path().join("inbox.db").display());
    let mut listen = Running::start(
        &[
            "listen",
            "--addr",
            "127.0.0.1:0",
            "--path",
            "/hooks",
            "--no-auth",
            "--inbox",
            &inbox,
            "--exec",
            "sleep 60",
            "--metrics-addr",
            "127.0.0.1:0",
            "--shutdown-grace",
            "2s",
        ],
        &[],
        "listening on",
    );
    let metrics = metrics_port(&listen);
    let url = format!("http://127.0.0.1:{}/hooks", listen_port(&listen));
    // `gladly-webhook health`, as a container's health check runs it.
    let health = |port: u16| {
        let output = Command::new(BIN)
            .args(["health", &format!("http://127.0.0.1:{port}/readyz")])
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).trim().to_string(),
        )
    };
    assert_eq!(health(metrics), (0, "200 ready".to_string()));
    let output = Command::new(BIN)
        .args(["trigger", "TASK_CLOSED", "--to", &url, "--no-auth"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    wait_for(metrics, r#"gladly_inbox_events{state="running"}"#, 1.0);

    let killed = std::time::Instant::now();
    let _ = Command::new("kill")
        .args(["-TERM", &listen.pid().to_string()])
        .status();
    assert!(
        wait_until(Duration::from_secs(10), || {
            http(metrics, "GET", "/readyz", &[], "")
                == (503, "not ready: shutting down\n".to_string())
        }),
        "readyz says it is shutting down"
    );
    assert_eq!(health(metrics).0, 1, "not ready while draining");
    assert_eq!(listen.wait(), 0, "{}", listen.stderr());
    let took = killed.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(8),
        "stopped {took:?} after SIGTERM with --shutdown-grace 2s"
    );
    assert_eq!(health(metrics).0, 2, "nothing answers once it stopped");
    assert!(
        listen
            .stderr()
            .contains("1 running command(s) stopped at shutdown; their events are pending again"),
        "{}",
        listen.stderr()
    );
    let output = Command::new(BIN)
        .args(["inbox", "stats", "--inbox", &inbox, "--format", "json"])
        .output()
        .unwrap();
    let stats: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (stats["pending"].as_u64(), stats["running"].as_u64()),
        (Some(1), Some(0)),
        "{stats}"
    );

    // `inbox work` takes it from there, with its own metrics.
    let mut work = Running::start(
        &[
            "inbox",
            "work",
            "--inbox",
            &inbox,
            "--exec",
            "cat > /dev/null",
            "--metrics-addr",
            "127.0.0.1:0",
            "--log-format",
            "json",
        ],
        &[],
        "worker(s) running",
    );
    let metrics = metrics_port(&work);
    wait_for(metrics, r#"gladly_worker_runs_total{outcome="done"}"#, 1.0);
    wait_for(metrics, r#"gladly_inbox_events{state="done"}"#, 1.0);
    assert_eq!(http(metrics, "GET", "/readyz", &[], "").0, 200);
    assert_eq!(work.stop(), 0, "{}", work.stderr());
    check_log("inbox work", &work.stderr(), "json", &[]);
}

/// SIGTERM while work is in flight: `listen` answers a request whose body
/// was still arriving, and `serve` finishes the attempt it is making and
/// records it, so the event is not sent again after a restart.
#[test]
fn sigterm_finishes_requests_and_attempts_in_flight() {
    let dir = tempfile::tempdir().unwrap();

    // listen: half a body sent, then SIGTERM, then the rest.
    let inbox = format!("sqlite:{}", dir.path().join("inbox.db").display());
    let (mut listen, port) = common::listen_without_auth(&inbox);
    let body = r#"{"type":"TASK_CLOSED","id":"evt_in_flight","content":{"taskId":"t1"}}"#;
    let (first, rest) = body.split_at(20);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let _ = Command::new("kill")
        .args(["-TERM", &listen.pid().to_string()])
        .status();
    assert!(
        wait_until(Duration::from_secs(10), || listen
            .stderr()
            .contains("stopping: finishing what is in flight")),
        "{}",
        listen.stderr()
    );
    stream.write_all(rest.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Kept (as `dead` for a body that is not a valid TASK_CLOSED: what
    // matters here is that it was read to its end and stored).
    assert!(answer.contains("\r\n\r\nstored"), "{answer}");
    assert_eq!(listen.wait(), 0, "{}", listen.stderr());
    let output = Command::new(BIN)
        .args([
            "inbox",
            "show",
            "evt_in_flight",
            "--inbox",
            &inbox,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");

    // serve: an attempt to a receiver that answers after 1.5 s.
    let receiver = TestReceiver::start("200 OK", Duration::from_millis(1500));
    let db = format!("sqlite:{}", dir.path().join("hub.db").display());
    let mut hub = serve(&db, "text", &[]);
    let api = api_port(&hub);
    let (status, created) = call(
        api,
        "POST",
        "/api/v1/webhooks",
        &json!({"url": format!("http://127.0.0.1:{}/hooks", receiver.port),
                "events": ["CONVERSATION_CLOSED"], "active": true}),
    );
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(call(api, "POST", "/api/v1/events", &event("cust_1")).0, 202);
    assert!(wait_until(Duration::from_secs(30), || receiver
        .hits
        .load(Ordering::SeqCst)
        == 1));
    assert_eq!(hub.stop(), 0, "{}", hub.stderr());
    let hub = serve(&db, "text", &[]);
    let api = api_port(&hub);
    let (status, deliveries) = call(
        api,
        "GET",
        &format!("/api/v1/webhooks/{id}/deliveries"),
        &Value::Null,
    );
    assert_eq!(status, 200);
    assert_eq!(deliveries[0]["state"], "delivered", "{deliveries}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(receiver.hits.load(Ordering::SeqCst), 1, "not sent again");
}

/// The container's conditions, simulated: the binary runs as a user that
/// owns nothing but the data volume, from a read-only directory, with no
/// writable home; `serve` and `listen` start, keep their stores on the
/// volume and answer; a volume they cannot write is a clear error.
#[test]
fn runs_unprivileged_with_only_a_data_volume_writable() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let bin_dir = root.join("bin");
    let data = root.join("data");
    let readonly = root.join("readonly");
    for d in [&bin_dir, &data, &readonly] {
        std::fs::create_dir(d).unwrap();
    }
    let bin = bin_dir.join("gladly-webhook");
    std::fs::copy(BIN, &bin).unwrap();
    let mode = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    mode(root, 0o755);
    mode(&bin_dir, 0o555);
    mode(&bin, 0o555);
    mode(&readonly, 0o555);
    // As root (CI): an unprivileged user, as the image's `USER`. As
    // anyone else: that user, with the same directories.
    let root_user = current_uid() == 0;
    if root_user {
        let status = Command::new("chown")
            .args(["65532:65532", data.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(status.success());
    }
    let unprivileged = |args: &[&str]| {
        let mut command = Command::new(&bin);
        command
            .args(args)
            .current_dir(&readonly)
            .env_clear()
            .env("HOME", "/nonexistent")
            .env("HUB_USERS", USERS);
        if root_user {
            command.uid(65532).gid(65532);
        }
        command
    };

    let hub_db = format!("sqlite:{}", data.join("hub.db").display());
    let mut hub = Running::spawn(
        unprivileged(&[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--db",
            &hub_db,
            "--api-user-env",
            "HUB_USERS",
            "--metrics-addr",
            "127.0.0.1:0",
        ]),
        "serving the hub API",
    );
    let inbox = format!("sqlite:{}", data.join("inbox.db").display());
    let mut listen = Running::spawn(
        unprivileged(&[
            "listen",
            "--addr",
            "127.0.0.1:0",
            "--no-auth",
            "--inbox",
            &inbox,
            "--health-routes",
        ]),
        "listening on",
    );
    let hub_api = api_port(&hub);
    assert_eq!(http(metrics_port(&hub), "GET", "/readyz", &[], "").0, 200);
    let (status, answer) = call(hub_api, "GET", "/api/v1/webhooks", &Value::Null);
    assert_eq!(status, 200, "{answer}");
    let listen_port = listen_port(&listen);
    assert_eq!(http(listen_port, "GET", "/readyz", &[], "").0, 200);
    assert_eq!(
        http(listen_port, "POST", "/", &[], r#"{"type":"PING"}"#).0,
        200
    );
    assert_eq!(hub.stop(), 0, "{}", hub.stderr());
    assert_eq!(listen.stop(), 0, "{}", listen.stderr());
    // Everything written is on the volume.
    let written: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(written.iter().any(|f| f == "hub.db"), "{written:?}");
    assert!(written.iter().any(|f| f == "inbox.db"), "{written:?}");
    assert_eq!(std::fs::read_dir(&readonly).unwrap().count(), 0);

    // A store outside the volume: refused with a message, not a panic.
    let outside = format!("sqlite:{}", readonly.join("hub.db").display());
    let output = unprivileged(&[
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--db",
        &outside,
        "--api-user-env",
        "HUB_USERS",
    ])
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot open the store"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn current_uid() -> u32 {
    let output = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap()
}

/// The deployment files cannot be built here (no container runtime): what
/// can be checked is. Every `command:` of deploy/compose.yaml parses with
/// this binary (its flags and values; `--help` ends the parse before the
/// required ones are looked for), the variables it sets are the ones the
/// binary reads, and the image's user is the one the test above runs as.
#[test]
fn the_deployment_files_agree_with_the_binary() {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    let compose = std::fs::read_to_string(deploy.join("compose.yaml")).unwrap();
    let commands: Vec<Vec<String>> = compose
        .lines()
        .filter_map(|l| l.trim().strip_prefix("command: "))
        .map(|list| serde_json::from_str(list).expect("a command is a JSON-style list"))
        .collect();
    assert_eq!(commands.len(), 3, "serve, listen and relay");
    // The health checks run the binary too.
    let checks: Vec<Vec<String>> = compose
        .lines()
        .filter_map(|l| l.trim().strip_prefix("test: "))
        .filter(|list| list.contains("gladly-webhook"))
        .map(|list| serde_json::from_str(list).expect("a health check is a JSON-style list"))
        .collect();
    assert_eq!(checks.len(), 3, "serve, listen and relay");
    for check in &checks {
        assert_eq!(
            check[..3],
            ["CMD", "/usr/local/bin/gladly-webhook", "health"]
        );
        let output = Command::new(BIN)
            .args(&check[2..])
            .arg("--help")
            .output()
            .unwrap();
        assert!(output.status.success(), "{check:?}");
    }
    for command in &commands {
        let output = Command::new(BIN)
            .args(command)
            .arg("--help")
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{command:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let variable = match command[0].as_str() {
            "serve" => "GLADLY_HUB_DB",
            // Its store is named by its configuration, checked below.
            "relay" => continue,
            _ => "GLADLY_INBOX",
        };
        assert!(help.contains(&format!("[env: {variable}")), "{help}");
        assert!(compose.contains(&format!("{variable}: postgres://")));
    }
    // The relay's configuration is checked whole, its secret files stood in
    // for by ones of the same shape.
    let dir = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(deploy.join("relay.toml"))
        .unwrap()
        .replace("/run/secrets/", &format!("{}/", dir.path().display()))
        .replace(
            "sqlite:/data/",
            &format!("sqlite:{}/", dir.path().display()),
        );
    std::fs::write(dir.path().join("relay_basic"), "gladly:pw\n").unwrap();
    std::fs::write(
        dir.path().join("crm_whsec"),
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("relay.toml"), config).unwrap();
    let checked = Command::new(BIN)
        .args(["relay", "check", "--config"])
        .arg(dir.path().join("relay.toml"))
        .env("NATS_TOKEN", "a-token-as-compose-passes-it")
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(compose.contains("./relay.toml:/etc/gladly/relay.toml:ro"));
    // The NATS server the relay publishes to: its configuration where the
    // image reads it, JetStream on, the token both sides hold.
    assert!(compose.contains("./nats.conf:/etc/nats/nats-server.conf:ro"));
    let nats = std::fs::read_to_string(deploy.join("nats.conf")).unwrap();
    assert!(nats.contains("jetstream {") && nats.contains("token: $NATS_TOKEN"));
    assert_eq!(compose.matches("NATS_TOKEN: ${NATS_TOKEN:?").count(), 2);
    let dockerfile = std::fs::read_to_string(deploy.join("Dockerfile")).unwrap();
    assert!(dockerfile.contains("\nUSER 65532:65532\n"));
    assert!(dockerfile.contains("-o 65532 -g 65532"));
    assert!(dockerfile.contains("ENTRYPOINT [\"/usr/local/bin/gladly-webhook\"]"));
}

/// Issue 32: a flood of idle connections from one peer fills the metrics
/// address's cap (64) and the main address's (`--max-connections 8`);
/// `/readyz` and `/healthz` are still answered 200 on both, 60 times of 60
/// (they were 503: busy), while anything else past the cap is still 503.
#[test]
fn health_routes_stay_answerable_under_a_connection_flood() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = format!("sqlite:{}", dir.path().join("inbox.db").display());
    let mut listen = Running::start(
        &[
            "listen",
            "--no-auth",
            "--addr",
            "127.0.0.1:0",
            "--inbox",
            &inbox,
            "--metrics-addr",
            "127.0.0.1:0",
            "--health-routes",
            "--max-connections",
            "8",
        ],
        &[],
        "listening on",
    );
    let main = listen_port(&listen);
    let metrics = metrics_port(&listen);
    let mut flood = Vec::new();
    for (port, cap) in [(metrics, 64), (main, 8)] {
        for _ in 0..cap {
            flood.push(TcpStream::connect(("127.0.0.1", port)).unwrap());
        }
    }
    // The cap is reached: a request that is not a probe is refused.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(http(metrics, "GET", "/metrics", &[], "").0, 503);
    for port in [metrics, main] {
        let ready = (0..60)
            .filter(|n| {
                let path = if n % 2 == 0 { "/readyz" } else { "/healthz" };
                http(port, "GET", path, &[], "").0 == 200
            })
            .count();
        assert_eq!(ready, 60, "port {port}");
    }
    drop(flood);
    assert_eq!(listen.stop(), 0, "{}", listen.stderr());
}
