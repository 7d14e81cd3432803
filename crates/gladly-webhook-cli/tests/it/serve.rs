//! `serve` end to end, as built binaries on loopback, for both stores: the
//! README's flow (`serve`, `listen`, a subscription made over the API, an
//! event published and stored by `listen`), and the crash test: `serve`
//! killed with SIGKILL while deliveries are pending, then restarted.

use crate::common;

use common::{BIN, Running, free_port, wait_until};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

const USERS: &str = "ops@example.com:tok_serve_test_0123456789";
const AUTH: &str = "b3BzQGV4YW1wbGUuY29tOnRva19zZXJ2ZV90ZXN0XzAxMjM0NTY3ODk="; // base64 of USERS

/// One HTTP/1.1 call to the hub: (status, body as JSON or `Null`).
fn call(port: u16, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let body = body.map(Value::to_string).unwrap_or_default();
    let (status, answer) = common::http(
        port,
        method,
        path,
        &[("Authorization", &format!("Basic {AUTH}"))],
        &body,
    );
    (status, serde_json::from_str(&answer).unwrap_or(Value::Null))
}

/// The store URLs to test: SQLite always, PostgreSQL when configured.
fn stores(dir: &Path) -> Vec<common::Database> {
    common::databases(&dir.join("hub.db"), "store")
}

fn serve(db: &str, port: u16, time_scale: &str) -> Running {
    let addr = format!("127.0.0.1:{port}");
    Running::start(
        &[
            "serve",
            "--addr",
            &addr,
            "--db",
            db,
            "--api-user-env",
            "HUB_USERS",
            "--time-scale",
            time_scale,
            "--allow-insecure-localhost",
            "--lease",
            "1s",
            // This test checks strict publish order through a crash.
            "--ordered",
        ],
        &[("HUB_USERS", USERS)],
        "serving the hub API",
    )
}

fn listen(port: u16, secret: &str, inbox: &str) -> Running {
    let addr = format!("127.0.0.1:{port}");
    Running::start(
        &[
            "listen",
            "--addr",
            &addr,
            "--path",
            "/hooks",
            "--secret-env",
            "HOOK_SECRET",
            "--inbox",
            inbox,
        ],
        &[("HOOK_SECRET", secret)],
        "listening on",
    )
}

/// The event ids stored in an inbox.
fn stored_ids(inbox: &str) -> Vec<String> {
    let output = Command::new(BIN)
        .args([
            "inbox", "list", "--inbox", inbox, "--format", "json", "--limit", "1000",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["id"].as_str().map(str::to_string))
        .collect()
}

/// Creates an inactive subscription to `port`; its id and secret.
fn subscribe(hub: u16, port: u16) -> (String, String) {
    let (status, created) = call(
        hub,
        "POST",
        "/api/v1/webhooks",
        Some(
            &json!({"url": format!("http://127.0.0.1:{port}/hooks"), "events": ["CONVERSATION_CLOSED"], "active": false}),
        ),
    );
    assert_eq!(status, 201, "{created}");
    (
        created["id"].as_str().unwrap().to_string(),
        created["secret"].as_str().unwrap().to_string(),
    )
}

fn closed_event() -> Value {
    json!({"type": "CONVERSATION_CLOSED", "initiator": {"id": "agent_42", "type": "AGENT"},
           "content": {"customerId": "cust_7", "conversationId": "conv_9",
                       "context": {"assignee": {"inboxId": "inbox_1", "agentId": "agent_42"}}}})
}

#[test]
fn serve_and_listen_end_to_end_then_sigkill_loses_no_delivery() {
    let dir = tempfile::tempdir().unwrap();
    for (n, db) in stores(dir.path()).into_iter().enumerate() {
        let hub_port = free_port();
        let mut hub = serve(&db, hub_port, "0.01");

        // The README's flow: an inactive subscription, `listen` with its
        // secret, then activation (a PING `listen` verifies).
        let (port_a, port_b) = (free_port(), free_port());
        let (id_a, secret_a) = subscribe(hub_port, port_a);
        let (id_b, secret_b) = subscribe(hub_port, port_b);
        let inbox_a = format!("sqlite:{}", dir.path().join(format!("a{n}.db")).display());
        let inbox_b = format!("sqlite:{}", dir.path().join(format!("b{n}.db")).display());
        let mut listen_a = listen(port_a, &secret_a, &inbox_a);
        let mut listen_b = listen(port_b, &secret_b, &inbox_b);
        for id in [&id_a, &id_b] {
            let (status, body) = call(
                hub_port,
                "PATCH",
                &format!("/api/v1/webhooks/{id}"),
                Some(&json!({"active": true})),
            );
            assert_eq!(status, 200, "{db}: {body}");
        }
        let (status, first) = call(hub_port, "POST", "/api/v1/events", Some(&closed_event()));
        assert_eq!(status, 202, "{first}");
        let first_id = first["eventId"].as_str().unwrap().to_string();
        assert!(
            wait_until(Duration::from_secs(30), || stored_ids(&inbox_a)
                .contains(&first_id)),
            "{db}: listen stored the event"
        );
        // What listen printed (read by a thread, so waited for).
        let printed = |line: String| {
            wait_until(Duration::from_secs(10), || {
                listen_a.stdout().iter().any(|l| l.contains(&line))
            })
        };
        assert!(
            printed(" 200 ping PING".to_string()),
            "{:?}",
            listen_a.stdout()
        );
        assert!(
            printed(format!(" 200 stored CONVERSATION_CLOSED {first_id}")),
            "{:?}",
            listen_a.stdout()
        );

        // The crash: receivers down, ten events pending on retries, one
        // subscription deleted, then SIGKILL.
        listen_a.kill_hard();
        listen_b.kill_hard();
        let mut published = vec![first_id];
        for _ in 0..10 {
            let (status, answer) = call(hub_port, "POST", "/api/v1/events", Some(&closed_event()));
            assert_eq!(
                (status, answer["deliveries"].as_array().unwrap().len()),
                (202, 2),
                "{answer}"
            );
            published.push(answer["eventId"].as_str().unwrap().to_string());
        }
        std::thread::sleep(Duration::from_millis(300)); // a first failed attempt or two
        let (status, _) = call(
            hub_port,
            "DELETE",
            &format!("/api/v1/webhooks/{id_b}"),
            None,
        );
        assert_eq!(status, 204);
        let before_kill = stored_ids(&inbox_b).len();
        hub.kill_hard();
        let log = hub.stderr();
        for secret in [&secret_a, &secret_b] {
            assert!(
                !log.contains(secret.as_str()),
                "{db}: a secret in serve's log"
            );
        }

        // Back: both receivers up, `serve` restarted on the same store.
        let listen_a = listen(port_a, &secret_a, &inbox_a);
        let listen_b = listen(port_b, &secret_b, &inbox_b);
        let hub = serve(&db, hub_port, "0.01");
        let mut expected = published.clone();
        expected.sort();
        assert!(
            wait_until(Duration::from_secs(60), || {
                let mut ids = stored_ids(&inbox_a);
                ids.sort();
                ids == expected
            }),
            "{db}: every delivery completed: {:?} of {expected:?}",
            stored_ids(&inbox_a)
        );
        // The hub records successes a batch at a time, after it sent them:
        // wait for its records too.
        let records = || {
            let (_, deliveries) = call(
                hub_port,
                "GET",
                &format!("/api/v1/webhooks/{id_a}/deliveries"),
                None,
            );
            deliveries.as_array().cloned().unwrap_or_default()
        };
        assert!(
            wait_until(Duration::from_secs(30), || {
                let deliveries = records();
                deliveries.len() == 11 && deliveries.iter().all(|d| d["state"] == "delivered")
            }),
            "{db}: {:?}",
            records()
        );
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(
            stored_ids(&inbox_b).len(),
            before_kill,
            "{db}: nothing went to the deleted subscription"
        );
        assert!(
            listen_b
                .stdout()
                .iter()
                .all(|l| !l.contains("CONVERSATION_CLOSED")),
            "{db}: {:?}",
            listen_b.stdout()
        );
        // Publish order held through the crash: listen A stored them in order.
        let stored_lines = || -> Vec<String> {
            listen_a
                .stdout()
                .iter()
                .filter(|l| l.contains(" 200 stored "))
                .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
                .collect()
        };
        wait_until(Duration::from_secs(10), || stored_lines().len() >= 10);
        let order = stored_lines();
        let mut deduped = order.clone();
        deduped.dedup();
        assert_eq!(deduped, published[1..], "{db}");
        // A failed login is logged with the user it claimed and the
        // peer, never the token (issue 17, item 7).
        {
            use std::io::{Read, Write};
            let wrong = "b3BzQGV4YW1wbGUuY29tOnRva193cm9uZ19zZWNyZXRfdG9rZW4="; // ops@example.com:tok_wrong_secret_token
            let mut stream = std::net::TcpStream::connect(("127.0.0.1", hub_port)).unwrap();
            write!(
                stream,
                "GET /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {wrong}\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
            assert!(wait_until(Duration::from_secs(10), || hub
                .stderr()
                .contains("failed login")));
            let log = hub.stderr();
            assert!(
                log.contains("ops@example.com") && log.contains("127.0.0.1"),
                "{log}"
            );
            assert!(!log.contains("tok_wrong_secret_token"), "{log}");
        }
        // SIGTERM stops serve gracefully; its log never held a secret.
        let mut hub = hub;
        assert_eq!(hub.stop(), 0, "{db}: {}", hub.stderr());
        // (Its output is read by a thread: wait for the last line.)
        assert!(wait_until(Duration::from_secs(10), || hub
            .stderr()
            .ends_with("gladly-webhook: stopped")));
        let log = hub.stderr();
        assert!(log.contains("delivered"), "{db}: {log}");
        for secret in [&secret_a, &secret_b] {
            assert!(
                !log.contains(secret.as_str()),
                "{db}: a secret in serve's log"
            );
        }
    }
}

/// Runs `gladly-webhook hub ...` to its end: (exit code, stdout, stderr).
fn hub_command(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(BIN).arg("hub").args(args).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Issue 36: `hub recover` after a receiver's outage, on each store: the
/// subscription's deliveries failed and it was deactivated; recovering is
/// refused until it is re-activated, then both events arrive, once. Then
/// `hub rate-limit`.
#[test]
fn hub_recover_and_rate_limit_through_the_store() {
    let dir = tempfile::tempdir().unwrap();
    // The stores side by side: each case waits on its schedule.
    std::thread::scope(|cases| {
        for (n, db) in stores(dir.path()).into_iter().enumerate() {
            let dir = dir.path();
            cases.spawn(move || recover_and_rate_limit(dir, n, &db));
        }
    });
}

/// One store's case of [`hub_recover_and_rate_limit_through_the_store`].
fn recover_and_rate_limit(dir: &Path, n: usize, db: &str) {
    let hub_port = free_port();
    let hub = serve(db, hub_port, "0.0002");
    let port = free_port();
    let (id, secret) = subscribe(hub_port, port);
    let inbox = format!("sqlite:{}", dir.join(format!("r{n}.db")).display());
    let mut receiver = listen(port, &secret, &inbox);
    let activate = || {
        let path = format!("/api/v1/webhooks/{id}");
        call(hub_port, "PATCH", &path, Some(&json!({"active": true})))
    };
    assert_eq!(activate().0, 200, "{db}");

    // The outage: both deliveries run out of attempts.
    receiver.kill_hard();
    let mut published = Vec::new();
    for _ in 0..2 {
        let (status, answer) = call(hub_port, "POST", "/api/v1/events", Some(&closed_event()));
        assert_eq!(status, 202, "{answer}");
        published.push(answer["eventId"].as_str().unwrap().to_string());
    }
    let deliveries = format!("/api/v1/webhooks/{id}/deliveries");
    assert!(
        wait_until(Duration::from_secs(60), || {
            let (_, list) = call(hub_port, "GET", &deliveries, None);
            let list = list.as_array().cloned().unwrap_or_default();
            list.len() == 2 && list.iter().all(|d| d["state"] != "pending")
        }),
        "{db}: the deliveries ran out"
    );

    let recover = ["recover", &id, "--since", "1h", "--db", db];
    let (code, _, err) = hub_command(&recover);
    assert_eq!(code, 1, "{db}: {err}");
    assert!(
        err.contains("inactive") && err.contains("re-activate"),
        "{err}"
    );
    let (code, _, err) = hub_command(&["recover", "wh_nope", "--since", "1h", "--db", db]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no subscription"), "{err}");

    let _receiver = listen(port, &secret, &inbox);
    assert_eq!(activate().0, 200, "{db}");
    let (code, out, err) = hub_command(&[&recover[..], &["--format", "json"]].concat());
    assert_eq!(
        (code, out.as_str()),
        (0, "{\"recovered\":2}\n"),
        "{db}: {err}"
    );
    let (code, out, _) = hub_command(&recover);
    assert_eq!((code, out.as_str()), (0, "recovered 0\n"), "{db}: once");
    assert!(
        wait_until(Duration::from_secs(30), || {
            let ids = stored_ids(&inbox);
            published.iter().all(|id| ids.contains(id))
        }),
        "{db}: the recovered events arrived"
    );

    // A rate limit set through the store shows in the API.
    let (code, out, err) = hub_command(&["rate-limit", &id, "--per-second", "5", "--db", db]);
    assert_eq!(code, 0, "{err}");
    assert!(out.ends_with(": at most 5 deliveries a second\n"), "{out}");
    let (status, limit) = call(
        hub_port,
        "GET",
        &format!("/api/v1/webhooks/{id}/rate-limit"),
        None,
    );
    assert_eq!((status, &limit["perSecond"]), (200, &json!(5)), "{db}");
    let (code, _, err) = hub_command(&["rate-limit", &id, "--per-second", "0", "--db", db]);
    assert_eq!(code, 2, "{err}");
    drop(hub);
}
