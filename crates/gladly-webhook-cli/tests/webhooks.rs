//! `gladly-webhook webhooks ...` against a fake of Gladly's webhook API
//! on loopback (`gladly_webhook_testkit::fake_gladly`): every command, the
//! table and JSON lines, credentials and header values sent but never
//! shown, local validation, Gladly's errors, a wrong token, exit codes.

mod common;

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

#[test]
fn every_command_against_the_api() {
    let fake = FakeGladly::start(USER);
    let base = fake.base.as_str();

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
    assert_eq!(fake.requests(), 0);

    // Create from flags; the credentials and header value go to Gladly only.
    let (code, id, err) = webhooks(
        base,
        &[
            "create",
            "--name",
            "CSAT integration",
            "--url",
            "https://hooks.example.com/gladly",
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
    assert_eq!(id, "wh1");
    let (code, out, err) = webhooks(base, &["get", &id], None);
    assert_eq!(code, 0, "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["hasCredentials"], true);
    assert_eq!(shown["headerKeys"][0], "X-Gladly-Token");
    assert!(!out.contains("pw_basic") && !out.contains("hdr_token"));

    // Create from a file on standard input.
    let file =
        r#"{"url": "https://hooks.example.com/other", "events": ["TASK/CLOSED"], "enabled": true}"#;
    let (code, out, err) = webhooks(base, &["create", "--file", "-"], Some(file));
    assert_eq!((code, out.trim()), (0, "wh2"), "{err}");

    // The table, and JSON lines.
    let (code, out, _) = webhooks(base, &["list"], None);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("ID  "), "{out}");
    assert!(
        lines[1].contains("wh1")
            && lines[1].contains("CSAT integration")
            && lines[1].contains(" no "),
        "{out}"
    );
    assert!(
        lines[1].contains("CONVERSATION/CLOSED,TASK/CREATED"),
        "{out}"
    );
    assert!(
        lines[2].contains("wh2") && lines[2].contains(" yes "),
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
    assert_eq!(ids, ["wh1", "wh2"]);

    // Update, enable; Gladly refuses to delete an enabled webhook.
    let (code, _, err) = webhooks(base, &["update", &id, "--name", "CSAT v2"], None);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = webhooks(base, &["update", &id], None);
    assert_eq!(code, 2, "{err}");
    assert_eq!(webhooks(base, &["enable", &id], None).0, 0);
    let (code, _, err) = webhooks(base, &["delete", &id], None);
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        "gladly-webhook: 400: enabled: disable the webhook before deleting it (invalid)"
    );
    assert_eq!(webhooks(base, &["disable", &id], None).0, 0);
    assert_eq!(webhooks(base, &["delete", &id], None).0, 0);
    let (code, _, err) = webhooks(base, &["get", &id], None);
    assert_eq!(code, 1);
    assert!(
        err.contains("404: not found: webhookId: no such webhook"),
        "{err}"
    );
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
