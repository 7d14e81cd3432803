//! `gladly-webhook webhooks ...` against the local Gladly (`serve --api
//! gladly`, on SQLite and PostgreSQL): every command, the table and JSON
//! lines, credentials and header values sent but never shown, local
//! validation, Gladly's errors, a wrong token, exit codes. Backfill's
//! corner cases a real server cannot produce (a malformed line, events
//! dated in the past) run against a fake of Gladly
//! (`gladly_webhook_testkit::fake_gladly`); its whole story against the
//! local Gladly is `local_gladly.rs`.

use crate::common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::BIN;
use gladly_webhook_testkit::fake_gladly::FakeGladly;
use serde_json::Value;

const USER: &str = "ops@example.com:tok_cli_webhooks_0123456789";

/// Runs `webhooks ARGS --api BASE` with the API user in the environment:
/// (exit code, stdout, stderr).
fn webhooks(base: &str, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut command = Command::new(BIN);
    command
        .arg("webhooks")
        .args(args)
        .args(["--api", base])
        .env("GLADLY_API_USER", USER)
        .env("HOOK_BASIC", "gladly:pw_basic_0123456789")
        .env("HOOK_TOKEN", "hdr_token_0123456789")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `serve --api gladly` on `db`: it and its API's base URL.
fn local_gladly(db: &str) -> (common::Running, String) {
    let hub = common::Running::start(
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
        ],
        &[("HUB_USERS", USER)],
        "serving a local Gladly",
    );
    let port = common::announced_port(&hub, " on http://");
    (hub, format!("http://127.0.0.1:{port}"))
}

#[test]
fn every_command_against_the_local_gladly() {
    let dir = tempfile::tempdir().unwrap();
    for db in common::databases(&dir.path().join("hub.db"), "store") {
        let (_hub, base) = local_gladly(&db);
        let base = base.as_str();
        // A receiver on this machine answers the PINGs enabling sends.
        let inbox = format!("sqlite:{}", dir.path().join("inbox.db").display());
        let (_receiver, port) = common::listen_without_auth(&inbox);
        let receiver_url = format!("http://127.0.0.1:{port}/");

        // A body the validation refuses is never sent.
        let (code, _, err) = webhooks(
            base,
            &[
                "create",
                "--url",
                "http://hooks.example.com/",
                "--event",
                "CONVERSATION_CLOSED",
            ],
            None,
        );
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("nothing was sent"), "{err}");
        assert!(err.contains("/url: HttpsRequired"), "{err}");
        assert!(err.contains("/events/0: Enum"), "{err}");
        assert!(webhooks(base, &["list"], None).1.contains("(no webhook)"));

        // Create from flags; the credentials and header value go to the
        // API only.
        let (code, id, err) = webhooks(
            base,
            &[
                "create",
                "--allow-insecure-localhost",
                "--name",
                "CSAT integration",
                "--url",
                &receiver_url,
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
            ],
            None,
        );
        assert_eq!(code, 0, "{err}");
        let id = id.trim().to_string();
        let (code, out, err) = webhooks(base, &["get", &id], None);
        assert_eq!(code, 0, "{err}");
        let shown: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(shown["hasCredentials"], true);
        assert_eq!(shown["headerKeys"][0], "X-Gladly-Token");
        assert!(!out.contains("pw_basic") && !out.contains("hdr_token"));

        // Create from a file on standard input.
        let file = r#"{"url": "https://hooks.example.com/other", "events": ["TASK/CLOSED"]}"#;
        let (code, other, err) = webhooks(base, &["create", "--file", "-"], Some(file));
        assert_eq!(code, 0, "{err}");
        let other = other.trim().to_string();

        // Enabled (its PING answered 200).
        assert_eq!(webhooks(base, &["enable", &id], None).0, 0);

        // The table, and JSON lines.
        let (code, out, _) = webhooks(base, &["list"], None);
        assert_eq!(code, 0);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("ID  "), "{out}");
        assert!(
            lines[1].contains(&id)
                && lines[1].contains("CSAT integration")
                && lines[1].contains(" yes "),
            "{out}"
        );
        assert!(
            lines[1].contains("CONVERSATION/CLOSED,TASK/CREATED"),
            "{out}"
        );
        assert!(
            lines[2].contains(&other) && lines[2].contains(" no "),
            "{out}"
        );
        let (_, out, _) = webhooks(base, &["list", "--format", "json"], None);
        let ids: Vec<String> = out
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(ids, [id.clone(), other.clone()]);

        // Update; Gladly refuses to delete an enabled webhook.
        let (code, _, err) = webhooks(base, &["update", &id, "--name", "CSAT v2"], None);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            serde_json::from_str::<Value>(&webhooks(base, &["get", &id], None).1).unwrap()["name"],
            "CSAT v2"
        );
        let (code, _, err) = webhooks(base, &["update", &id], None);
        assert_eq!(code, 2, "{err}");
        let (code, _, err) = webhooks(base, &["delete", &id], None);
        assert_eq!(code, 1);
        assert!(
            err.starts_with("gladly-webhook: 400: enabled: disable the webhook"),
            "{err}"
        );
        assert_eq!(webhooks(base, &["disable", &id], None).0, 0);
        assert_eq!(webhooks(base, &["delete", &id], None).0, 0);
        let (code, _, err) = webhooks(base, &["get", &id], None);
        assert_eq!(code, 1);
        assert!(err.contains("404: "), "{err}");
        assert!(err.contains("no webhook has the id"), "{err}");
    }
}

#[test]
fn a_wrong_token_and_an_unreachable_api_say_so() {
    let fake = FakeGladly::start("ops@example.com:another_token_0123");
    let (code, out, err) = webhooks(&fake.base, &["list"], None);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, "gladly-webhook: 401: check the API user and token\n");
    assert!(!err.contains("tok_cli_webhooks"));
    drop(fake);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, _, err) = webhooks(&format!("http://127.0.0.1:{port}"), &["list"], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot reach the API at"), "{err}");
    let (code, _, err) = webhooks("http://acme.gladly.com", &["list"], None);
    assert_eq!(code, 2);
    assert!(err.contains("expected https"), "{err}");
}

/// Issue 32: Gladly's error text reaches the terminal escaped: an answer
/// whose `attr`, `code` and `detail` hold ESC sequences, an OSC title,
/// CR and LF (or whose body is not JSON) prints none of them raw, for a
/// 400, a 404 and an unexpected status alike.
#[test]
fn gladly_error_text_is_escaped_before_the_terminal() {
    use std::io::{Read, Write as _};
    let hostile = serde_json::json!({"errors": [{
        "attr": "url\u{1b}]0;owned\u{7}",
        "code": "in\r\nvalid",
        "detail": "\u{1b}[31mred\u{1b}[0m\ngladly-webhook: forged line"
    }]})
    .to_string();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let answers = [
        ("400 Bad Request", hostile.clone()),
        ("404 Not Found", hostile.clone()),
        (
            "502 Bad Gateway",
            "<html>\u{1b}[2J\u{1b}]2;x\u{7}\r\nbad</html>".to_string(),
        ),
    ];
    let server = std::thread::spawn(move || {
        for (status, body) in answers {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let answer = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(answer.as_bytes()).unwrap();
        }
    });
    for args in [
        &["get", "wh_1", "--allow-insecure-localhost"][..],
        &["get", "wh_2", "--allow-insecure-localhost"][..],
        &["list", "--allow-insecure-localhost"][..],
    ] {
        let (code, out, err) = webhooks(&base, args, None);
        assert_ne!(code, 0, "{args:?}");
        for raw in ['\u{1b}', '\u{7}', '\r'] {
            assert!(
                !err.contains(raw) && !out.contains(raw),
                "{args:?}: {err:?}"
            );
        }
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err:?}");
    }
    server.join().unwrap();
}

/// A REST API 1.0 event of `event_type` with `id`, `minutes` ago.
fn rest_event(event_type: &str, id: &str, minutes: i64) -> Value {
    let at = (chrono::Utc::now() - chrono::TimeDelta::minutes(minutes))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let content = if event_type.starts_with("CONVERSATION") {
        serde_json::json!({"customerId": "c1", "conversationId": "v1",
                           "context": {"assignee": {"inboxId": "i1", "agentId": "a1"}}})
    } else {
        serde_json::json!({"customerId": "c1", "taskId": "t1",
                           "context": {"assignee": {"inboxId": "i1"}, "createdAt": at}})
    };
    serde_json::json!({"id": id, "type": event_type, "timestamp": at,
                       "initiator": {"id": "a1", "type": "AGENT"}, "content": content})
}

fn backfill(base: &str, inbox: &str, args: &[&str]) -> (i32, Value, String) {
    let mut all = vec![
        "backfill", "--inbox", inbox, "--format", "json", "--api", base,
    ];
    all.extend_from_slice(args);
    let output = Command::new(BIN)
        .arg("inbox")
        .args(&all)
        .env("GLADLY_API_USER", USER)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    (
        output.status.code().unwrap_or(-1),
        serde_json::from_str(stdout.trim()).unwrap_or(Value::Null),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Backfill from the Events API: each event once whether it came by
/// webhook or not, the entities asked only, a malformed line counted, the
/// cursor resumed from, and a window beyond 24 hours refused.
#[test]
fn backfill_stores_each_missed_event_once() {
    let fake = FakeGladly::start(USER);
    let dir = tempfile::tempdir().unwrap();
    let inbox = format!("sqlite:{}", dir.path().join("inbox.db").display());

    // One event reached the receiver by webhook before it went down.
    let (listen, port) = common::listen_without_auth(&inbox);
    let received = rest_event("CONVERSATION/CLOSED", "evt_by_webhook", 50);
    let (status, body) = common::http(port, "POST", "/", &[], &received.to_string());
    assert_eq!((status, body.as_str()), (200, "stored"));
    drop(listen);

    // What Gladly holds: that one, three missed, another entity, a bad line.
    fake.publish(&received);
    for (i, minutes) in [40, 30, 20].into_iter().enumerate() {
        fake.publish(&rest_event(
            "CONVERSATION/CLOSED",
            &format!("evt_missed_{i}"),
            minutes,
        ));
    }
    fake.publish(&rest_event("TASK/CREATED", "evt_task_1", 10));
    let at = (chrono::Utc::now() - chrono::TimeDelta::minutes(5)).to_rfc3339();
    fake.publish_line(&at, "CONVERSATION/CLOSED", "{not json");

    let (code, report, err) = backfill(
        &fake.base,
        &inbox,
        &["--since", "1h", "--entity", "CONVERSATION"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        (
            &report["read"],
            &report["new"],
            &report["duplicate"],
            &report["malformed"]
        ),
        (&json(5), &json(3), &json(1), &json(1)),
        "{report}"
    );
    // Again, the whole window: nothing new.
    let (_, report, _) = backfill(&fake.base, &inbox, &["--since", "1h"]);
    assert_eq!(
        (&report["new"], &report["duplicate"]),
        (&json(1), &json(4)),
        "the task is new now: {report}"
    );

    // Resumed from the cursor: only what came since.
    fake.publish(&rest_event("CONVERSATION/CLOSED", "evt_later", 0));
    std::thread::sleep(std::time::Duration::from_millis(50));
    let (code, report, err) = backfill(
        &fake.base,
        &inbox,
        &["--until", &chrono::Utc::now().to_rfc3339()],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        (&report["read"], &report["new"]),
        (&json(1), &json(1)),
        "{report}"
    );

    // Every event is in the inbox exactly once.
    let output = Command::new(BIN)
        .args([
            "inbox", "list", "--inbox", &inbox, "--format", "json", "--limit", "100",
        ])
        .output()
        .unwrap();
    let mut ids: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "evt_by_webhook",
            "evt_later",
            "evt_missed_0",
            "evt_missed_1",
            "evt_missed_2",
            "evt_task_1"
        ]
    );

    // Beyond what the API keeps, and nothing to resume from: refused.
    let (code, _, err) = backfill(&fake.base, &inbox, &["--since", "30h"]);
    assert_eq!(code, 2);
    assert!(err.contains("keeps the last 24 hours"), "{err}");
    let other = format!("sqlite:{}", dir.path().join("other.db").display());
    let (code, _, err) = backfill(&fake.base, &other, &[]);
    assert_eq!(code, 2);
    assert!(err.contains("give --since"), "{err}");
}

fn json(n: u64) -> Value {
    Value::from(n)
}
