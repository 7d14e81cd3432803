//! The relay end to end in one process: deliveries in with Basic
//! credentials and a header, Standard Webhooks out to two consumers that
//! verify every request with the official `standardwebhooks` crate.

use crate::common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::run;
use gladly_webhook_relay::{ConfigError, Relay, RelayConfig};
use gladly_webhook_testkit::wait::wait_until;

const CRM_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OLD_SECRET: &str = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const ALL_SECRET: &str = "whsec_ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

/// What a consumer received: `(webhook-id, body)` of each verified request.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A consumer on loopback: verifies each request with the official library
/// (401 if it does not verify), answers `fail_first` requests 500 first.
struct Consumer {
    addr: SocketAddr,
    received: Received,
    refused: Arc<Mutex<u32>>,
}

#[derive(Clone)]
struct ConsumerState {
    verifier: Arc<standardwebhooks::Webhook>,
    received: Received,
    refused: Arc<Mutex<u32>>,
    fail_first: Arc<Mutex<u32>>,
}

async fn consume(
    State(state): State<ConsumerState>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if state.verifier.verify(&body, &headers).is_err() {
        *state.refused.lock().unwrap() += 1;
        return StatusCode::UNAUTHORIZED;
    }
    {
        let mut fail = state.fail_first.lock().unwrap();
        if *fail > 0 {
            *fail -= 1;
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    }
    let id = headers["webhook-id"].to_str().unwrap().to_string();
    state.received.lock().unwrap().push((id, body.to_vec()));
    StatusCode::NO_CONTENT
}

async fn consumer(secret: &str, fail_first: u32) -> Consumer {
    let state = ConsumerState {
        verifier: Arc::new(standardwebhooks::Webhook::new(secret).unwrap()),
        received: Received::default(),
        refused: Arc::default(),
        fail_first: Arc::new(Mutex::new(fail_first)),
    };
    let (received, refused) = (state.received.clone(), state.refused.clone());
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(consume))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Consumer {
        addr,
        received,
        refused,
    }
}

/// A REST API 1.0 event of `event_type` (`CONVERSATION/CLOSED` or
/// `CONTACT/ENDED`), as Gladly sends it.
fn event(id: &str, event_type: &str) -> String {
    format!(
        r#"{{"id":"{id}","type":"{event_type}","timestamp":"2026-12-07T10:00:00.07Z","initiator":{{"id":"agent_1","type":"AGENT"}},"content":{{"customerId":"cust_1","conversationId":"conv_1","contactId":"contact_1","channel":"CHAT","status":"ANSWERED","context":{{"assignee":{{"inboxId":"inbox_1"}}}}}}}}"#
    )
}

/// Writes the secret files the configurations name, in `dir`.
fn write_secrets(dir: &std::path::Path) {
    for (name, value) in [
        ("basic", "gladly:pa55word"),
        ("token", "tok_123"),
        ("crm", CRM_SECRET),
        ("old", OLD_SECRET),
        ("all", ALL_SECRET),
    ] {
        std::fs::write(dir.join(name), format!("{value}\n")).unwrap();
    }
}

fn config(dir: &std::path::Path, crm: SocketAddr, all: SocketAddr) -> RelayConfig {
    write_secrets(dir);
    let text = format!(
        r#"
[[input]]
path = "/gladly"
basic_auth = {{ file = "basic" }}
headers = {{ "X-Gladly-Token" = {{ file = "token" }} }}

[[destination]]
name = "crm"
url = "http://{crm}/hook"
events = ["CONVERSATION/*"]
secrets = [{{ file = "crm" }}, {{ file = "old" }}]
retry = ["50ms", "50ms", "50ms"]
allow_loopback = true

[[destination]]
name = "everything"
url = "http://{all}/hook"
secrets = [{{ file = "all" }}]
body = "envelope"
retry = ["50ms"]
allow_loopback = true

[dispatch]
max_in_flight = 4
"#
    );
    RelayConfig::parse(&text, dir).unwrap()
}

async fn post(client: &reqwest::Client, addr: SocketAddr, body: &str, auth: bool) -> u16 {
    let mut request = client
        .post(format!("http://{addr}/gladly"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if auth {
        request = request
            .basic_auth("gladly", Some("pa55word"))
            .header("X-Gladly-Token", "tok_123");
    }
    request.send().await.unwrap().status().as_u16()
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_exactly_their_destinations_verified() {
    let dir = tempfile::tempdir().unwrap();
    // The CRM fails its first two requests: retried, same webhook-id.
    let (crm, all) = (consumer(CRM_SECRET, 2).await, consumer(ALL_SECRET, 0).await);
    let config = config(dir.path(), crm.addr, all.addr);
    let store = gladly_webhook_hub::Store::open_sqlite(dir.path().join("relay.db"))
        .await
        .unwrap();
    let relay = Relay::with_store(store, &config).await.unwrap();
    let (dispatcher, addr) = run(&relay).await;
    let http = client();

    let closed = event("ev_closed", "CONVERSATION/CLOSED");
    let ended = event("ev_ended", "CONTACT/ENDED");
    assert_eq!(
        post(&http, addr, &closed, false).await,
        401,
        "no credentials"
    );
    assert_eq!(post(&http, addr, r#"{"type":"PING"}"#, true).await, 200);
    assert_eq!(post(&http, addr, &closed, true).await, 200);
    assert_eq!(post(&http, addr, &ended, true).await, 200);
    assert_eq!(
        post(&http, addr, &closed, true).await,
        200,
        "Gladly's retry"
    );
    assert_eq!(
        post(&http, addr, "not json", true).await,
        200,
        "kept, not sent"
    );

    let arrived = wait_until(Duration::from_secs(20), || {
        !crm.received.lock().unwrap().is_empty() && all.received.lock().unwrap().len() >= 2
    });
    if !arrived {
        for id in ["dst_crm", "dst_everything"] {
            let d = relay.store().deliveries(id, 10).await;
            eprintln!("{id}: {d:#?}");
        }
        eprintln!("{:?}", relay.store().backlog().await);
    }
    assert!(arrived, "deliveries arrive");
    // Nothing more is on its way: every delivery is finished.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let crm_got = crm.received.lock().unwrap().clone();
    assert_eq!(crm_got.len(), 1, "only CONVERSATION/*, once");
    assert_eq!(crm_got[0].0, "ev_closed", "webhook-id is Gladly's event id");
    assert_eq!(
        crm_got[0].1,
        closed.as_bytes(),
        "the body as Gladly sent it"
    );
    assert_eq!(*crm.refused.lock().unwrap(), 0, "every request verified");

    let mut all_got = all.received.lock().unwrap().clone();
    all_got.sort();
    assert_eq!(all_got.len(), 2);
    assert_eq!(all_got[0].0, "ev_closed");
    assert_eq!(all_got[1].0, "ev_ended");
    let envelope: serde_json::Value = serde_json::from_slice(&all_got[1].1).unwrap();
    assert_eq!(envelope["type"], "CONTACT/ENDED");
    assert_eq!(envelope["timestamp"], "2026-12-07T10:00:00.07Z");
    assert_eq!(
        envelope["data"],
        serde_json::from_str::<serde_json::Value>(&ended).unwrap()
    );

    let malformed = relay.store().malformed_events(10).await.unwrap();
    assert_eq!(malformed.len(), 1);
    assert_eq!(malformed[0].body, b"not json");
    dispatcher.shutdown(Duration::from_secs(2)).await;
}

#[test]
fn every_problem_is_reported_at_once_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    write_secrets(dir.path());
    let text = r#"
store = { env = "RELAY_TEST_NO_SUCH_VARIABLE" }

[[input]]
path = "gladly"

[[destination]]
name = "Bad Name"
url = "http://user:pw@crm.example/hook"
events = ["CONVERSATION/CLOSD", "CONV*ERSATION"]
secrets = [{ file = "basic" }]
body = "xml"
retry = ["soon"]
timeout = "10m"
allow_networks = ["10.0.0.0/33"]
"#;
    let Err(ConfigError::Invalid(problems)) = RelayConfig::parse(text, dir.path()) else {
        panic!("refused");
    };
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "store",
            "input[0].path",
            "input[0]",
            "destination[0].name",
            "destination[0].events[0]",
            "destination[0].events[1]",
            "destination[0].url",
            "destination[0].secrets[0]",
            "destination[0].body",
            "destination[0].retry",
            "destination[0].timeout",
            "destination[0].allow_networks[0]",
        ],
        "{problems:#?}"
    );
    let shown = ConfigError::Invalid(problems).to_string();
    assert!(
        !shown.contains("pa55word"),
        "no secret in a message: {shown}"
    );
    let inline = RelayConfig::parse("store = \"postgres://relay:s3cret@db/relay\"\n", dir.path());
    let Err(ConfigError::Invalid(problems)) = inline else {
        panic!("refused");
    };
    assert_eq!(problems[0].key, "store");
    assert!(!problems[0].message.contains("s3cret"));
    // A secret written inline by mistake is refused, and not repeated.
    let pasted = RelayConfig::parse(
        "[[destination]]\nname = \"a\"\nurl = \"https://a.example\"\nsecrets = [\"whsec_pasted_by_mistake\"]\n",
        dir.path(),
    );
    let Err(ConfigError::Syntax(message)) = pasted else {
        panic!("refused");
    };
    assert!(message.starts_with("line 4, column"), "{message}");
    assert!(!message.contains("pasted_by_mistake"), "{message}");
    let unknown = RelayConfig::parse("[[input]]\npath = \"/a\"\nbasic = 1\n", ".".as_ref());
    assert!(
        matches!(&unknown, Err(ConfigError::Syntax(m)) if m.contains("basic")),
        "{unknown:?}"
    );
}

/// A relay refuses a store that holds a hub's subscriptions: the tables
/// are the same, and each one's events would fan out to the other's.
#[tokio::test]
async fn a_hubs_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = gladly_webhook_hub::Store::open_sqlite(dir.path().join("hub.db"))
        .await
        .unwrap();
    let webhook = gladly_webhook_hub::store::StoredWebhook::new(
        "wh_1",
        "https://example.com/",
        ["TASK_CLOSED"],
        gladly_webhook_core::Secret::new("whsec_0123456789abcdef"),
        true,
        chrono::Utc::now(),
    );
    store.create_webhook(&webhook, 20).await.unwrap();
    let config = config(
        dir.path(),
        "127.0.0.1:1".parse().unwrap(),
        "127.0.0.1:2".parse().unwrap(),
    );
    let refused = Relay::with_store(store, &config).await;
    assert!(
        matches!(refused, Err(gladly_webhook_relay::RelayError::SharedStore)),
        "{refused:?}"
    );
}
