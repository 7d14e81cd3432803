//! `gladly-webhook relay` into NATS JetStream, with its faults, on SQLite
//! and PostgreSQL, against a real `nats-server -js` of each test's own
//! (`.ci/start-nats` installs it): the server stopped for 10 s while
//! Gladly keeps delivering, then started again on its storage; the relay
//! SIGKILLed twice while it publishes. Every event the relay answered 200
//! for is in the stream exactly once.

use crate::common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Running, announced_port, databases, http};
use gladly_webhook_testkit::nats::{NatsServer, StoredMessage, read_stream};

const TOKEN: &str = "hdr_token_nats_0123456789";

fn write_config(dir: &std::path::Path, nats: &str) -> String {
    let path = dir.join("relay-nats.toml");
    let text = format!(
        r#"store = {{ env = "RELAY_DB" }}

[[input]]
path = "/gladly"
headers = {{ "X-Gladly-Token" = {{ env = "RELAY_TOKEN" }} }}

[[destination]]
name = "bus"
kind = "nats"
url = "{nats}"
timeout = "1s"
retry = ["250ms", "500ms", "1s", "2s", "2s", "2s", "2s", "2s", "2s", "2s", "2s", "2s"]
allow_loopback = true

[destination.stream]
name = "GLADLY"
create = true
duplicate_window = "10m"
"#
    );
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn relay(config: &str, db: &str) -> (Running, u16) {
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
        &[("RELAY_DB", db), ("RELAY_TOKEN", TOKEN)],
        "relaying on http://",
    );
    let port = announced_port(&running, "relaying on http://");
    (running, port)
}

fn event(id: &str) -> String {
    serde_json::json!({"id": id, "type": "CONVERSATION/CLOSED",
        "timestamp": "2026-12-07T10:00:00.000Z",
        "initiator": {"id": "a1", "type": "AGENT"},
        "content": {"customerId": "c1", "conversationId": id,
                    "context": {"assignee": {"inboxId": "i1"}}}})
    .to_string()
}

/// Posts `id` as Gladly would: its status (0 when nothing answered).
fn deliver(port: u16, id: &str) -> u16 {
    let headers = [("X-Gladly-Token", TOKEN)];
    std::panic::catch_unwind(|| http(port, "POST", "/gladly", &headers, &event(id)).0).unwrap_or(0)
}

fn stream(url: &str) -> Vec<StoredMessage> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(read_stream(url, "GLADLY"))
}

/// Waits until the stream holds every id of `accepted`, then checks that
/// it holds each exactly once and nothing else.
fn each_once(nats: &NatsServer, accepted: &BTreeSet<String>, relay: &Running) {
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut messages = stream(&nats.url());
    loop {
        let ids: BTreeSet<String> = messages.iter().filter_map(|m| m.msg_id.clone()).collect();
        if accepted.is_subset(&ids) || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        messages = stream(&nats.url());
    }
    let ids: Vec<String> = messages.iter().filter_map(|m| m.msg_id.clone()).collect();
    let distinct: BTreeSet<String> = ids.iter().cloned().collect();
    assert!(
        accepted.is_subset(&distinct),
        "lost: {:?}; relay said: {}",
        accepted.difference(&distinct).collect::<Vec<_>>(),
        relay.stderr()
    );
    assert_eq!(ids.len(), distinct.len(), "each id once in the stream");
    assert_eq!(&distinct, accepted, "nothing but what was answered 200");
}

#[test]
fn a_nats_outage_under_load_loses_nothing_answered_200() {
    let test = "a_nats_outage_under_load_loses_nothing_answered_200";
    let dir = tempfile::tempdir().unwrap();
    // Each store with a NATS server of its own, side by side.
    let runs: Vec<_> = databases(&dir.path().join("relay.db"), "store")
        .into_iter()
        .enumerate()
        .map(|(n, db)| {
            let dir = dir.path().join(format!("store{n}"));
            std::thread::spawn(move || {
                std::fs::create_dir_all(&dir).unwrap();
                let Some(nats) = NatsServer::start(test) else {
                    return;
                };
                outage_under_load(&dir, &db, nats, n);
            })
        })
        .collect();
    for run in runs {
        run.join().unwrap();
    }
}

/// Gladly delivers 20 events a second for 14 s; the server is away from
/// 2 s to 12 s; then every event answered 200 is in the stream once.
fn outage_under_load(dir: &std::path::Path, db: &str, mut nats: NatsServer, n: usize) {
    let config = write_config(dir, &nats.url());
    let (relay, port) = relay(&config, db);
    let accepted = Arc::new(Mutex::new(BTreeSet::new()));
    let done = Arc::new(AtomicBool::new(false));
    let load = {
        let (accepted, done) = (Arc::clone(&accepted), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut i = 0;
            while !done.load(Ordering::SeqCst) {
                let id = format!("evt_outage_{n}_{i}");
                if deliver(port, &id) == 200 {
                    accepted.lock().unwrap().insert(id);
                }
                i += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    std::thread::sleep(Duration::from_secs(2));
    nats.stop();
    std::thread::sleep(Duration::from_secs(10));
    nats.resume();
    std::thread::sleep(Duration::from_secs(2));
    done.store(true, Ordering::SeqCst);
    load.join().unwrap();
    let accepted = accepted.lock().unwrap().clone();
    assert!(accepted.len() > 200, "{} answered 200", accepted.len());
    each_once(&nats, &accepted, &relay);
}

#[test]
fn a_relay_killed_twice_mid_publish_loses_nothing() {
    let Some(nats) = NatsServer::start("a_relay_killed_twice_mid_publish_loses_nothing") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &nats.url());
    let mut accepted = BTreeSet::new();
    for (n, db) in databases(&dir.path().join("relay.db"), "store")
        .iter()
        .enumerate()
    {
        for round in 0..3 {
            let (mut relay, port) = relay(&config, db);
            for i in 0..40 {
                let id = format!("evt_kill_{n}_{round}_{i}");
                assert_eq!(deliver(port, &id), 200, "{}", relay.stderr());
                accepted.insert(id);
            }
            if round < 2 {
                // While it publishes: SIGKILL, as a crashed machine.
                relay.kill_hard();
                continue;
            }
            each_once(&nats, &accepted, &relay);
            // The inspector shows each attempt's acknowledgement.
            let ui = announced_port(&relay, "inspector page on http://");
            let (status, page) = http(ui, "GET", "/destinations/dst_bus", &[], "");
            assert_eq!(status, 200);
            assert!(
                page.contains("stream GLADLY, sequence ") && page.contains(">ack<"),
                "{page}"
            );
        }
    }
}
