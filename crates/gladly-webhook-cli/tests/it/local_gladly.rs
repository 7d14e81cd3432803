//! The local Gladly end to end, on SQLite and PostgreSQL: `serve --api
//! gladly`, a webhook made with `webhooks create` (Basic credentials and a
//! header), `listen` receiving with them, an outage that runs a
//! delivery's retries out so Gladly's rules disable the webhook, events
//! published while it is disabled, the webhook moved to the receiver's
//! new address and enabled again, then `inbox backfill` from the Events
//! API: the inbox ends with every published event exactly once.

use crate::common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use common::{BIN, Running, announced_port, databases, http, listen_port, wait_until};
use serde_json::Value;

const USER: &str = "ops@example.com:tok_local_gladly_0123456789";
const HOOK_BASIC: &str = "gladly:pw_hook_0123456789";
const HOOK_TOKEN: &str = "hdr_token_0123456789";

fn serve(db: &str) -> Running {
    Running::start(
        &[
            "serve",
            "--api",
            "gladly",
            "--addr",
            "127.0.0.1:0",
            "--db",
            db,
            "--api-user-env",
            "HUB_USERS",
            "--allow-insecure-localhost",
            // Gladly's 30 s, 5 min, 30 min and 1 h become 6 ms to 720 ms.
            "--time-scale",
            "0.0002",
        ],
        &[("HUB_USERS", USER)],
        "serving a local Gladly",
    )
}

/// `listen` on loopback requiring the webhook's credentials and header.
fn listen(inbox: &str) -> (Running, u16) {
    let listen = Running::start(
        &[
            "listen",
            "--addr",
            "127.0.0.1:0",
            "--inbox",
            inbox,
            "--basic-auth-env",
            "LISTEN_BASIC",
            "--require-header",
            "X-Gladly-Token",
            "--header-value-env",
            "LISTEN_TOKEN",
        ],
        &[("LISTEN_BASIC", HOOK_BASIC), ("LISTEN_TOKEN", HOOK_TOKEN)],
        "listening on",
    );
    let port = listen_port(&listen);
    (listen, port)
}

/// Runs the binary with the API user and the webhook's secrets in the
/// environment: (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(BIN)
        .args(args)
        .env("GLADLY_API_USER", USER)
        .env("HOOK_BASIC", HOOK_BASIC)
        .env("HOOK_TOKEN", HOOK_TOKEN)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn get_webhook(api: &str, id: &str) -> Value {
    let (code, out, err) = run(&["webhooks", "get", id, "--api", api]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// Publishes `n` events through the local Gladly; their ids.
fn publish(port: u16, n: usize, tag: &str) -> Vec<String> {
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(USER)
    );
    (0..n)
        .map(|i| {
            let id = format!("evt_{tag}_{i}");
            let event_type = if i % 2 == 0 {
                "CONVERSATION/CLOSED"
            } else {
                "TASK/CREATED"
            };
            let content = if i % 2 == 0 {
                serde_json::json!({"customerId": "c1", "conversationId": format!("v{i}"),
                                   "context": {"assignee": {"inboxId": "i1"}}})
            } else {
                serde_json::json!({"customerId": "c1", "taskId": format!("t{i}"),
                                   "context": {"createdAt": "2026-12-02T10:00:00Z"}})
            };
            let event = serde_json::json!({"id": id, "type": event_type,
                "initiator": {"id": "a1", "type": "AGENT"}, "content": content});
            let (status, body) = http(
                port,
                "POST",
                "/api/v1/events",
                &[("Authorization", &auth)],
                &event.to_string(),
            );
            assert_eq!(status, 202, "{body}");
            id
        })
        .collect()
}

/// The event ids in the inbox.
fn inbox_ids(inbox: &str) -> Vec<String> {
    let (code, out, err) = run(&[
        "inbox", "list", "--inbox", inbox, "--format", "json", "--limit", "1000",
    ]);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["id"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_disabled_webhook_is_recovered_by_backfill() {
    let dir = tempfile::tempdir().unwrap();
    for db in databases(&dir.path().join("hub.db"), "store") {
        // The inbox shares the database (its tables are its own).
        let inbox = db.to_string();
        let hub = serve(&db);
        let port = announced_port(&hub, " on http://");
        let api = format!("http://127.0.0.1:{port}");
        let (mut receiver, receiver_port) = listen(&inbox);

        // The webhook, made as a team's provisioning would, enabled: its
        // PING reaches `listen` with the credentials and header.
        let url = format!("http://127.0.0.1:{receiver_port}/");
        let (code, out, err) = run(&[
            "webhooks",
            "create",
            "--api",
            &api,
            "--allow-insecure-localhost",
            "--name",
            "inbox",
            "--url",
            &url,
            "--event",
            "CONVERSATION/CLOSED",
            "--event",
            "TASK/CREATED",
            "--basic-auth-env",
            "HOOK_BASIC",
            "--header",
            "X-Gladly-Token",
            "--header-value-env",
            "HOOK_TOKEN",
            "--enabled",
            "true",
        ]);
        assert_eq!(code, 0, "{err}");
        let id = out.trim().to_string();
        let shown = get_webhook(&api, &id);
        assert_eq!(shown["enabled"], true);
        assert_eq!(shown["hasCredentials"], true);
        assert!(!shown.to_string().contains("pw_hook") && !shown.to_string().contains("hdr_token"));

        // Delivered, authenticated by Basic credentials and the header.
        let mut published = publish(port, 4, "before");
        assert!(
            wait_until(Duration::from_secs(60), || inbox_ids(&inbox).len() == 4),
            "{:?}; listen said: {}",
            inbox_ids(&inbox),
            receiver.stderr()
        );

        // The receiver goes down: the next delivery's retries run out and
        // the webhook is disabled, as Gladly does.
        receiver.stop();
        published.extend(publish(port, 1, "outage"));
        assert!(
            wait_until(
                Duration::from_secs(60),
                || get_webhook(&api, &id)["enabled"] == false
            ),
            "not disabled: {}",
            get_webhook(&api, &id)
        );
        let disabled = get_webhook(&api, &id);
        assert!(
            disabled["disabledAtDueToRetryLimit"].is_string(),
            "{disabled}"
        );
        let (_, table, _) = run(&["webhooks", "list", "--api", &api]);
        assert!(table.contains(&id) && table.contains(" no "), "{table}");

        // Published while it is disabled: nothing is sent.
        published.extend(publish(port, 3, "disabled"));

        // The receiver back at a new address; the webhook moved and
        // enabled (both PINGed); what comes next is delivered.
        let (_receiver, receiver_port) = listen(&inbox);
        let url = format!("http://127.0.0.1:{receiver_port}/");
        let (code, _, err) = run(&[
            "webhooks",
            "update",
            &id,
            "--api",
            &api,
            "--allow-insecure-localhost",
            "--url",
            &url,
            "--enabled",
            "true",
        ]);
        assert_eq!(code, 0, "{err}");
        assert!(
            get_webhook(&api, &id)
                .get("disabledAtDueToRetryLimit")
                .is_none()
        );
        published.extend(publish(port, 2, "after"));
        assert!(wait_until(Duration::from_secs(60), || inbox_ids(&inbox)
            .len()
            == 6));

        // Backfill: the four missed, each once. (`--until` now: the local
        // Gladly is not 15 s behind, as Gladly's Events API may be.)
        let now = chrono::Utc::now().to_rfc3339();
        let (code, out, err) = run(&[
            "inbox", "backfill", "--inbox", &inbox, "--api", &api, "--since", "1h", "--until",
            &now, "--format", "json",
        ]);
        assert_eq!(code, 0, "{err}");
        let report: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(
            (
                &report["read"],
                &report["new"],
                &report["duplicate"],
                &report["malformed"]
            ),
            (
                &Value::from(10),
                &Value::from(4),
                &Value::from(6),
                &Value::from(0)
            ),
            "{report}"
        );
        let ids = inbox_ids(&inbox);
        assert_eq!(ids.len(), 10, "each event once: {ids:?}");
        assert_eq!(
            ids.into_iter().collect::<BTreeSet<_>>(),
            published.into_iter().collect::<BTreeSet<_>>()
        );
    }
}

/// The resident memory of process `pid`, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

/// Issue 32: clients that never read their Events API answer pin little:
/// 10 stalled streams (two per API user) over 100 events of 1 MB raise
/// the local Gladly's resident memory by less than 100 MiB (each held a
/// 500-event page: over 200 events, 10 took it from 74 MiB to 3.2 GB; over
/// 100, a page of them all would still pin about 1 GB), and a user's fifth
/// stream in progress is answered 429.
#[test]
fn stalled_events_streams_pin_a_bounded_page() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("hub.db").display());
    let users: Vec<String> = (0..5)
        .map(|n| format!("user{n}@example.com:tok_stream_user_{n}_0123456789"))
        .collect();
    let hub = Running::start(
        &[
            "serve",
            "--api",
            "gladly",
            "--addr",
            "127.0.0.1:0",
            "--db",
            &db,
            "--api-user-env",
            "HUB_USERS",
            "--rate-limit",
            "0",
        ],
        &[("HUB_USERS", &users.join("\n"))],
        "serving a local Gladly",
    );
    let port = announced_port(&hub, " on http://");
    let auth = |n: usize| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(&users[n])
        )
    };
    let start = (chrono::Utc::now() - chrono::TimeDelta::minutes(5))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let filler = "x".repeat(1_000_000);
    for n in 0..100 {
        let event = serde_json::json!({"type": "CUSTOMER_PROFILE/UPDATED",
            "content": {"customerId": format!("c{n}"), "note": filler}});
        let (status, answer) = http(
            port,
            "POST",
            "/api/v1/events",
            &[("Authorization", &auth(0))],
            &event.to_string(),
        );
        assert_eq!(status, 202, "{answer}");
    }
    let before = rss(hub.pid());
    let request = |n: usize| {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            stream,
            "GET /api/v1/events?startAt={start} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\n\r\n",
            auth(n)
        )
        .unwrap();
        stream
    };
    // Two per user, never read.
    let stalled: Vec<std::net::TcpStream> = (0..10).map(|n| request(n % 5)).collect();
    std::thread::sleep(Duration::from_secs(3));
    let after = rss(hub.pid());
    let grown = after.saturating_sub(before);
    eprintln!(
        "10 stalled streams: {} MiB to {} MiB resident",
        before >> 20,
        after >> 20
    );
    assert!(
        grown < 100 * 1024 * 1024,
        "10 stalled streams grew the local Gladly by {} MiB ({} to {} MiB)",
        grown >> 20,
        before >> 20,
        after >> 20
    );
    // Two more for user 0 reach the cap of 4 in progress; a fifth is 429.
    let more: Vec<std::net::TcpStream> = (0..2).map(|_| request(0)).collect();
    std::thread::sleep(Duration::from_millis(500));
    let (status, answer) = http(
        port,
        "GET",
        &format!("/api/v1/events?startAt={start}"),
        &[("Authorization", &auth(0))],
        "",
    );
    let head: String = answer.chars().take(300).collect();
    assert_eq!(status, 429, "{head}");
    assert!(answer.contains("too_many_streams"), "{head}");
    drop((stalled, more));
}
