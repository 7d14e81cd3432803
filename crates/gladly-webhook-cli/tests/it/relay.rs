//! `gladly-webhook relay` end to end: the local Gladly (`serve --api
//! gladly`) delivers to the relay with Basic credentials and a header; two
//! consumers (one filtered) receive exactly their events as Standard
//! Webhooks, each request verified by the official Rust crate, and all of
//! them again by the official Python package (v1) and `cryptography`
//! (ed25519, v1a). Then the faults: the relay SIGKILLed three times while
//! forwarding, a destination down longer than a retry: every event the
//! relay answered 200 reaches every matching destination, none lost.

use crate::common;

use std::collections::BTreeSet;
use std::io::{BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use common::{BIN, Running, announced_port, databases, http, wait_until};
use gladly_webhook_core::standard_webhooks::StandardSigningKey;
use gladly_webhook_testkit::http1::read_request_with_headers;
use gladly_webhook_testkit::standard_webhooks::{Captured, verify_with_python};

const USER: &str = "ops@example.com:tok_local_gladly_0123456789";
const HOOK_BASIC: &str = "gladly:pw_hook_0123456789";
const HOOK_TOKEN: &str = "hdr_token_0123456789";
const CRM_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ALL_SECRET: &str = "whsec_ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

/// A consumer on loopback: each request verified with the official
/// `standardwebhooks` crate (401 when it does not verify), answered 503
/// while it is down, else after `delay`, 204.
struct Consumer {
    port: u16,
    down: Arc<AtomicBool>,
    /// Verified requests answered 204.
    received: Arc<Mutex<Vec<Captured>>>,
    /// Requests that did not verify.
    refused: Arc<Mutex<u32>>,
}

impl Consumer {
    fn start(secret: &'static str, public_keys: Vec<String>, delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let consumer = Self {
            port,
            down: Arc::default(),
            received: Arc::default(),
            refused: Arc::default(),
        };
        let verifier = Arc::new(standardwebhooks::Webhook::new(secret).unwrap());
        let (down, received, refused) = (
            consumer.down.clone(),
            consumer.received.clone(),
            consumer.refused.clone(),
        );
        let (secret, keys) = (secret.to_string(), public_keys);
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (verifier, down, received, refused) = (
                    verifier.clone(),
                    down.clone(),
                    received.clone(),
                    refused.clone(),
                );
                let (secret, keys) = (secret.clone(), keys.clone());
                std::thread::spawn(move || {
                    let mut writer = stream.try_clone().unwrap();
                    let mut reader = BufReader::new(stream);
                    while let Some((_, headers, body)) = read_request_with_headers(&mut reader) {
                        let mut map = http::HeaderMap::new();
                        for (name, value) in &headers {
                            if let (Ok(name), Ok(value)) = (
                                http::HeaderName::try_from(name.as_str()),
                                http::HeaderValue::try_from(value.as_str()),
                            ) {
                                map.append(name, value);
                            }
                        }
                        let status = if verifier.verify(&body, &map).is_err() {
                            *refused.lock().unwrap() += 1;
                            "401 Unauthorized"
                        } else if down.load(Ordering::SeqCst) {
                            "503 Service Unavailable"
                        } else {
                            std::thread::sleep(delay);
                            received.lock().unwrap().push(Captured {
                                secret: secret.clone(),
                                public_keys: keys.clone(),
                                headers,
                                body,
                            });
                            "204 No Content"
                        };
                        let answer = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
                        if writer.write_all(answer.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        consumer
    }

    /// The `webhook-id`s received, each once.
    fn ids(&self) -> BTreeSet<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter_map(|c| {
                c.headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("webhook-id"))
                    .map(|(_, v)| v.clone())
            })
            .collect()
    }
}

/// The relay's configuration for `db`, to the two consumers: the CRM takes
/// `CONVERSATION/*` signed with its secret and an ed25519 key, the other
/// everything in the specification's envelope.
fn write_config(dir: &std::path::Path, crm: u16, all: u16, retry: &str) -> String {
    let path = dir.join("relay.toml");
    let text = format!(
        r#"
store = {{ env = "RELAY_DB" }}

[[input]]
path = "/gladly"
basic_auth = {{ env = "RELAY_BASIC" }}
headers = {{ "X-Gladly-Token" = {{ env = "RELAY_TOKEN" }} }}

[[destination]]
name = "crm"
url = "http://127.0.0.1:{crm}/hooks"
events = ["CONVERSATION/*"]
secrets = [{{ env = "RELAY_CRM_SECRET" }}]
signing_key = {{ env = "RELAY_CRM_KEY" }}
retry = {retry}
allow_loopback = true

[[destination]]
name = "analytics"
url = "http://127.0.0.1:{all}/hooks"
secrets = [{{ env = "RELAY_ALL_SECRET" }}]
body = "envelope"
retry = {retry}
allow_loopback = true
"#
    );
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// The CRM's ed25519 key: `whsk_` and its `whpk_`.
fn crm_key() -> (String, String) {
    let seed = [42u8; 32];
    let secret = StandardSigningKey::encode(&seed).unwrap();
    let public = StandardSigningKey::from_seed(&seed).unwrap().public_key();
    (secret, public)
}

fn relay(config: &str, db: &str) -> (Running, u16) {
    let (key, _) = crm_key();
    let running = Running::start(
        &[
            "relay",
            "--config",
            config,
            "--addr",
            "127.0.0.1:0",
            "--lease",
            "1s",
            "--ui-addr",
            "127.0.0.1:0",
        ],
        &[
            ("RELAY_DB", db),
            ("RELAY_BASIC", HOOK_BASIC),
            ("RELAY_TOKEN", HOOK_TOKEN),
            ("RELAY_CRM_SECRET", CRM_SECRET),
            ("RELAY_CRM_KEY", &key),
            ("RELAY_ALL_SECRET", ALL_SECRET),
        ],
        "relaying on http://",
    );
    let port = announced_port(&running, "relaying on http://");
    (running, port)
}

/// A REST API 1.0 event: `CONVERSATION/CLOSED` for even `i`, `TASK/CREATED`
/// for odd.
fn event(id: &str, i: usize) -> serde_json::Value {
    let (event_type, content) = if i.is_multiple_of(2) {
        (
            "CONVERSATION/CLOSED",
            serde_json::json!({"customerId": "c1", "conversationId": format!("v{i}"),
                               "context": {"assignee": {"inboxId": "i1"}}}),
        )
    } else {
        (
            "TASK/CREATED",
            serde_json::json!({"customerId": "c1", "taskId": format!("t{i}"),
                               "context": {"createdAt": "2026-12-02T10:00:00Z"}}),
        )
    };
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    serde_json::json!({"id": id, "type": event_type, "timestamp": now,
        "initiator": {"id": "a1", "type": "AGENT"}, "content": content})
}

fn basic(pair: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// Checks every delivery `consumers` received with the Python packages.
fn python_verifies(consumers: &[&Consumer]) {
    let captured: Vec<Captured> = consumers
        .iter()
        .flat_map(|c| c.received.lock().unwrap().clone())
        .collect();
    if let Some(result) = verify_with_python(&captured) {
        let report = result.unwrap_or_else(|failures| panic!("{failures}"));
        eprintln!("{report}");
        assert!(
            report.contains(&format!("verified {} deliveries", captured.len())),
            "{report}"
        );
    }
}

#[test]
fn the_local_gladly_relays_to_two_verifying_consumers() {
    let dir = tempfile::tempdir().unwrap();
    for db in databases(&dir.path().join("relay.db"), "store") {
        let (_, public) = crm_key();
        let crm = Consumer::start(CRM_SECRET, vec![public], Duration::ZERO);
        let all = Consumer::start(ALL_SECRET, Vec::new(), Duration::ZERO);
        let config = write_config(dir.path(), crm.port, all.port, r#""standard""#);
        let (relay, relay_port) = relay(&config, &db);

        // The local Gladly, on a store of its own.
        let hub_db = format!("sqlite:{}", dir.path().join("gladly.db").display());
        let _ = std::fs::remove_file(dir.path().join("gladly.db"));
        let hub = Running::start(
            &[
                "serve",
                "--api",
                "gladly",
                "--addr",
                "127.0.0.1:0",
                "--db",
                &hub_db,
                "--api-user-env",
                "HUB_USERS",
                "--allow-insecure-localhost",
            ],
            &[("HUB_USERS", USER)],
            "serving a local Gladly",
        );
        let hub_port = announced_port(&hub, " on http://");
        let url = format!("http://127.0.0.1:{relay_port}/gladly");
        let api = format!("http://127.0.0.1:{hub_port}");
        // Made as a team's provisioning would: its PING reaches the relay
        // with the credentials and the header, and is answered 200.
        let made = std::process::Command::new(BIN)
            .args([
                "webhooks",
                "create",
                "--api",
                &api,
                "--allow-insecure-localhost",
                "--name",
                "relay",
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
            ])
            .env("GLADLY_API_USER", USER)
            .env("HOOK_BASIC", HOOK_BASIC)
            .env("HOOK_TOKEN", HOOK_TOKEN)
            .output()
            .unwrap();
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );

        let ids: Vec<String> = (0..6).map(|i| format!("evt_{i}")).collect();
        for (i, id) in ids.iter().enumerate() {
            let (status, body) = http(
                hub_port,
                "POST",
                "/api/v1/events",
                &[("Authorization", &basic(USER))],
                &event(id, i).to_string(),
            );
            assert_eq!(status, 202, "{body}");
        }
        let conversations: BTreeSet<String> = ids.iter().step_by(2).cloned().collect();
        let everything: BTreeSet<String> = ids.iter().cloned().collect();
        assert!(
            wait_until(Duration::from_secs(60), || crm.ids() == conversations
                && all.ids() == everything),
            "crm {:?}, analytics {:?}; relay said: {}",
            crm.ids(),
            all.ids(),
            relay.stderr()
        );
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(crm.received.lock().unwrap().len(), 3, "each once");
        assert_eq!(
            *crm.refused.lock().unwrap() + *all.refused.lock().unwrap(),
            0
        );
        // The envelope carries Gladly's event, byte for byte, as `data`.
        let first = all.received.lock().unwrap()[0].body.clone();
        let envelope: serde_json::Value = serde_json::from_slice(&first).unwrap();
        assert!(envelope["type"].is_string() && envelope["data"]["id"].is_string());
        python_verifies(&[&crm, &all]);
        assert!(!relay.stderr().contains(HOOK_TOKEN) && !relay.stderr().contains("pw_hook"));

        // A gap: an event the webhook does not take reaches the relay only
        // by backfill from the Events API; the six it has are not sent again.
        let contact = serde_json::json!({"id": "evt_contact", "type": "CONTACT/ENDED",
            "timestamp": chrono::Utc::now().to_rfc3339(), "initiator": {"id": "a1", "type": "AGENT"},
            "content": {"customerId": "c1", "conversationId": "v1", "contactId": "k1",
                        "channel": "CHAT", "status": "ANSWERED",
                        "context": {"assignee": {"inboxId": "i1"}}}});
        let (status, body) = http(
            hub_port,
            "POST",
            "/api/v1/events",
            &[("Authorization", &basic(USER))],
            &contact.to_string(),
        );
        assert_eq!(status, 202, "{body}");
        let now = chrono::Utc::now().to_rfc3339();
        let filled = std::process::Command::new(BIN)
            .args([
                "relay", "backfill", "--config", &config, "--api", &api, "--since", "1h",
                "--until", &now, "--format", "json",
            ])
            .env("GLADLY_API_USER", USER)
            .env("RELAY_DB", db.to_string())
            .env("RELAY_BASIC", HOOK_BASIC)
            .env("RELAY_TOKEN", HOOK_TOKEN)
            .env("RELAY_CRM_SECRET", CRM_SECRET)
            .env("RELAY_CRM_KEY", crm_key().0)
            .env("RELAY_ALL_SECRET", ALL_SECRET)
            .output()
            .unwrap();
        assert!(
            filled.status.success(),
            "{}",
            String::from_utf8_lossy(&filled.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&filled.stdout).unwrap();
        assert_eq!(
            (&report["new"], &report["duplicate"]),
            (&1.into(), &6.into()),
            "{report}"
        );
        let mut everything = everything.clone();
        everything.insert("evt_contact".to_string());
        assert!(
            wait_until(Duration::from_secs(30), || all.ids() == everything),
            "{:?}",
            all.ids()
        );
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(all.received.lock().unwrap().len(), 7, "each event once");
        assert_eq!(crm.ids(), conversations, "CONTACT/ENDED is not the CRM's");

        // The inspector page: both destinations, each delivery's attempts.
        let ui = announced_port(&relay, "inspector page on http://");
        let (status, index) = http(ui, "GET", "/", &[], "");
        assert_eq!(status, 200, "{index}");
        assert!(index.contains("crm") && index.contains("analytics") && index.contains("in force"));
        let (status, crm_page) = http(ui, "GET", "/destinations/dst_crm", &[], "");
        assert_eq!(status, 200);
        assert!(crm_page.matches("evt_").count() >= 3, "{crm_page}");
        assert!(crm_page.contains("delivered") && !crm_page.contains("TASK/CREATED"));
    }
}

#[test]
fn a_relay_killed_while_forwarding_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for db in databases(&dir.path().join("relay.db"), "store") {
        let (_, public) = crm_key();
        // Slow consumers keep deliveries in flight when the relay dies.
        let crm = Consumer::start(CRM_SECRET, vec![public], Duration::from_millis(15));
        let all = Consumer::start(ALL_SECRET, Vec::new(), Duration::from_millis(15));
        // The CRM is down longer than its first retry.
        crm.down.store(true, Ordering::SeqCst);
        let config = write_config(
            dir.path(),
            crm.port,
            all.port,
            r#"["500ms", "1s", "2s", "4s", "8s"]"#,
        );
        let mut accepted = Vec::new();
        let auth = basic(HOOK_BASIC);
        for round in 0..4 {
            let (mut relay, port) = relay(&config, &db);
            for i in 0..12 {
                let id = format!("evt_r{round}_{i}");
                let (status, body) = http(
                    port,
                    "POST",
                    "/gladly",
                    &[("Authorization", &auth), ("X-Gladly-Token", HOOK_TOKEN)],
                    &event(&id, i).to_string(),
                );
                assert_eq!(status, 200, "{body}");
                accepted.push((id, i));
            }
            if round == 1 {
                crm.down.store(false, Ordering::SeqCst);
            }
            if round < 3 {
                // While forwarding: SIGKILL, as a crashed machine.
                relay.kill_hard();
                continue;
            }
            let conversations: BTreeSet<String> = accepted
                .iter()
                .filter(|(_, i)| i.is_multiple_of(2))
                .map(|(id, _)| id.clone())
                .collect();
            let everything: BTreeSet<String> = accepted.iter().map(|(id, _)| id.clone()).collect();
            assert!(
                wait_until(Duration::from_secs(90), || crm.ids() == conversations
                    && all.ids() == everything),
                "lost: crm {:?}, analytics {:?}; relay said: {}",
                conversations.difference(&crm.ids()).collect::<Vec<_>>(),
                everything.difference(&all.ids()).collect::<Vec<_>>(),
                relay.stderr()
            );
        }
        assert_eq!(
            *crm.refused.lock().unwrap() + *all.refused.lock().unwrap(),
            0
        );
        python_verifies(&[&crm, &all]);
    }
}

/// SIGHUP: a changed configuration is applied without a restart (a new
/// destination gets what comes next, not what came before); a broken one
/// is refused and the one in force stays.
#[test]
fn sighup_applies_a_changed_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("relay.db").display());
    let (_, public) = crm_key();
    let crm = Consumer::start(CRM_SECRET, vec![public], Duration::ZERO);
    let all = Consumer::start(ALL_SECRET, Vec::new(), Duration::ZERO);
    let config = write_config(dir.path(), crm.port, all.port, r#""standard""#);
    // At first the CRM only: the analytics destination is left out.
    let full = std::fs::read_to_string(&config).unwrap();
    let crm_only = &full[..full.rfind("[[destination]]").unwrap()];
    std::fs::write(&config, crm_only).unwrap();
    let (relay, port) = relay(&config, &db);
    let auth = basic(HOOK_BASIC);
    let post = |id: &str| {
        let (status, body) = http(
            port,
            "POST",
            "/gladly",
            &[("Authorization", &auth), ("X-Gladly-Token", HOOK_TOKEN)],
            &event(id, 0).to_string(),
        );
        assert_eq!(status, 200, "{body}");
    };
    let hangup = |relay: &Running| {
        let sent = std::process::Command::new("kill")
            .args(["-HUP", &relay.pid().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    };
    post("evt_before");
    assert!(wait_until(Duration::from_secs(20), || crm.ids().len() == 1));

    // A broken file is refused; the CRM still gets what comes.
    std::fs::write(
        &config,
        format!("{crm_only}\n[[destination]]\nname = \"x\"\n"),
    )
    .unwrap();
    hangup(&relay);
    assert!(
        wait_until(Duration::from_secs(20), || relay
            .stderr()
            .contains("the configuration is refused")),
        "{}",
        relay.stderr()
    );
    post("evt_during");
    assert!(wait_until(Duration::from_secs(20), || crm.ids().len() == 2));

    // The whole file: analytics gets what comes next.
    std::fs::write(&config, &full).unwrap();
    hangup(&relay);
    assert!(
        wait_until(Duration::from_secs(20), || relay
            .stderr()
            .contains("configuration applied (1 input(s), 2 destination(s))")),
        "{}",
        relay.stderr()
    );
    post("evt_after");
    // A hub is not started on a relay's store (the tables are the same).
    let hub = std::process::Command::new(BIN)
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--db",
            &db,
            "--api-user-env",
            "HUB_USERS",
        ])
        .env("HUB_USERS", USER)
        .output()
        .unwrap();
    assert_eq!(hub.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&hub.stderr).contains("holds a relay's destinations"));
    let after: BTreeSet<String> = ["evt_after".to_string()].into();
    assert!(
        wait_until(Duration::from_secs(20), || all.ids() == after
            && crm.ids().len() == 3),
        "analytics {:?}, crm {:?}",
        all.ids(),
        crm.ids()
    );
}

/// A PostgreSQL server of this test's own (`.ci/start-postgres`), which it
/// stops and starts; stopped for good when dropped.
struct OwnServer {
    url: String,
    stop: String,
    start: String,
}

impl OwnServer {
    /// Starts one, when PostgreSQL is tested at all (`None`, noted, when
    /// not; under `CI`, a failure).
    fn start() -> Option<Self> {
        gladly_webhook_testkit::admin_url("store of the relay's outage test")?;
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/start-postgres");
        let output = std::process::Command::new("bash")
            .arg(script)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).unwrap();
        let value = |name: &str| {
            let line = text
                .lines()
                .find_map(|l| l.strip_prefix(&format!("export {name}=")))
                .unwrap_or_else(|| panic!("{name} in {text}"));
            line.trim_matches('\'').to_string()
        };
        Some(Self {
            url: value("GLADLY_TEST_DATABASE_URL"),
            stop: value("GLADLY_TEST_PG_STOP"),
            start: value("GLADLY_TEST_PG_START"),
        })
    }

    fn run(command: &str) {
        let done = std::process::Command::new("bash")
            .args(["-c", command])
            .output()
            .unwrap();
        assert!(
            done.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .args(["-c", &self.stop])
            .output();
    }
}

/// A PostgreSQL outage under a running relay: deliveries that came while
/// the store was down are answered 503 (Gladly retries them), never 200;
/// once it is back, every event answered 200, before, during or after,
/// reaches every matching destination.
#[test]
fn a_postgresql_outage_loses_nothing_answered_200() {
    let Some(server) = OwnServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_, public) = crm_key();
    let crm = Consumer::start(CRM_SECRET, vec![public], Duration::ZERO);
    let all = Consumer::start(ALL_SECRET, Vec::new(), Duration::ZERO);
    let config = write_config(
        dir.path(),
        crm.port,
        all.port,
        r#"["200ms", "500ms", "1s", "2s", "4s", "8s"]"#,
    );
    let (relay, port) = relay(&config, &server.url);
    let auth = basic(HOOK_BASIC);
    let post = |id: &str, i: usize| {
        http(
            port,
            "POST",
            "/gladly",
            &[("Authorization", &auth), ("X-Gladly-Token", HOOK_TOKEN)],
            &event(id, i).to_string(),
        )
        .0
    };
    let mut accepted = BTreeSet::new();
    let mut conversations = BTreeSet::new();
    let mut keep = |id: String, i: usize, status: u16| {
        if status == 200 {
            if i.is_multiple_of(2) {
                conversations.insert(id.clone());
            }
            accepted.insert(id);
        }
    };
    for i in 0..10 {
        let id = format!("evt_up_{i}");
        keep(id.clone(), i, post(&id, i));
    }
    OwnServer::run(&server.stop);
    // Together: each waits for the store's 5 s connection timeout.
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let posts: Vec<_> = (0..4)
            .map(|i| scope.spawn(move || post(&format!("evt_down_{i}"), i)))
            .collect();
        posts.into_iter().map(|p| p.join().unwrap()).collect()
    });
    assert!(
        statuses.iter().all(|&s| s == 503),
        "{statuses:?}: answered other than 503 with the store down"
    );
    let refused = statuses.len();
    OwnServer::run(&server.start);
    // Gladly's retries of what was refused, and new events: each until it
    // is answered 200, as Gladly would.
    for (prefix, n) in [("evt_down", 4), ("evt_back", 10)] {
        for i in 0..n {
            let id = format!("{prefix}_{i}");
            assert!(
                wait_until(Duration::from_secs(30), || {
                    let status = post(&id, i);
                    keep(id.clone(), i, status);
                    status == 200
                }),
                "{id} never answered 200; relay said: {}",
                relay.stderr()
            );
        }
    }
    assert_eq!((refused, accepted.len()), (4, 24));
    assert!(
        wait_until(Duration::from_secs(60), || crm.ids() == conversations
            && all.ids() == accepted),
        "lost: crm {:?}, analytics {:?}; relay said: {}",
        conversations.difference(&crm.ids()).collect::<Vec<_>>(),
        accepted.difference(&all.ids()).collect::<Vec<_>>(),
        relay.stderr()
    );
    assert_eq!(
        *crm.refused.lock().unwrap() + *all.refused.lock().unwrap(),
        0
    );
}

/// A dead delivery (its one attempt failed, `retry = "none"`) is sent
/// again by `relay recover`; an authentic delivery that is not an event is
/// listed by `relay malformed`.
#[test]
fn recover_resends_a_dead_delivery_and_malformed_lists_what_was_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("relay.db").display());
    let (key, public) = crm_key();
    let crm = Consumer::start(CRM_SECRET, vec![public], Duration::ZERO);
    let all = Consumer::start(ALL_SECRET, Vec::new(), Duration::ZERO);
    crm.down.store(true, Ordering::SeqCst);
    let config = write_config(dir.path(), crm.port, all.port, r#""none""#);
    let (relay, port) = relay(&config, &db);
    let auth = basic(HOOK_BASIC);
    let headers = [
        ("Authorization", auth.as_str()),
        ("X-Gladly-Token", HOOK_TOKEN),
    ];
    let (status, _) = http(
        port,
        "POST",
        "/gladly",
        &headers,
        &event("evt_dead", 0).to_string(),
    );
    assert_eq!(status, 200);
    let (status, _) = http(port, "POST", "/gladly", &headers, "{\"id\": 7}");
    assert_eq!(status, 200, "authentic, malformed: kept");
    let run = |args: &[&str]| {
        let output = std::process::Command::new(BIN)
            .args(args)
            .args(["--config", &config])
            .env("RELAY_DB", &db)
            .env("RELAY_BASIC", HOOK_BASIC)
            .env("RELAY_TOKEN", HOOK_TOKEN)
            .env("RELAY_CRM_SECRET", CRM_SECRET)
            .env("RELAY_CRM_KEY", &key)
            .env("RELAY_ALL_SECRET", ALL_SECRET)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    // The analytics destination has it; the CRM's one attempt failed.
    assert!(wait_until(Duration::from_secs(20), || all.ids().len() == 1));
    assert!(
        wait_until(Duration::from_secs(20), || {
            let (_, out, _) = run(&["relay", "recover", "--destination", "crm", "--since", "1h"]);
            crm.down.store(false, Ordering::SeqCst);
            out.trim() == "recovered 1"
        }),
        "{}",
        relay.stderr()
    );
    assert!(
        wait_until(Duration::from_secs(20), || crm.ids().contains("evt_dead")),
        "{}",
        relay.stderr()
    );
    let (code, out, err) = run(&["relay", "malformed"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    // Keyed by its body (no string id), with why it was not sent.
    assert!(out.contains("\tsha256:"), "{out}");
    assert!(
        out.contains("expected a string naming the event type"),
        "{out}"
    );
    let (code, _, err) = run(&["relay", "recover", "--destination", "nope", "--since", "1h"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("no destination nope"), "{err}");
}
