//! A NATS JetStream destination against a real `nats-server -js` of the
//! test's own (`.ci/start-nats` installs it), on SQLite and PostgreSQL:
//! each event is in the stream once, whether Gladly sent it twice, it was
//! recovered by range, or a backfill kept it again; the stream is created
//! or expected; a missing stream refuses to start.

use crate::common;

use std::net::SocketAddr;
use std::time::Duration;

use chrono::Utc;
use common::run;
use gladly_webhook_hub::Store;
use gladly_webhook_hub::store::{DeliveryState, Recovery};
use gladly_webhook_receiver::inbox::{Inserted, NewEvent, State};
use gladly_webhook_relay::{Relay, RelayConfig, RelayError};
use gladly_webhook_testkit::nats::{NatsServer, StoredMessage, read_stream};
use gladly_webhook_testkit::wait::eventually;

/// A REST API 1.0 event as Gladly sends it (`TASK/CREATED` has a task's
/// content, any other type a conversation's).
fn event(id: &str, event_type: &str) -> String {
    let content = if event_type == "TASK/CREATED" {
        r#"{"customerId":"cust_1","taskId":"task_1","context":{"createdAt":"2026-12-07T10:00:00Z"}}"#
    } else {
        r#"{"customerId":"cust_1","conversationId":"conv_1","contactId":"contact_1","channel":"CHAT","status":"ANSWERED","context":{"assignee":{"inboxId":"inbox_1"}}}"#
    };
    format!(
        r#"{{"id":"{id}","type":"{event_type}","timestamp":"2026-12-07T10:00:00.07Z","initiator":{{"id":"agent_1","type":"AGENT"}},"content":{content}}}"#
    )
}

fn config(dir: &std::path::Path, nats: &str, stream: &str) -> RelayConfig {
    std::fs::write(dir.join("token"), "tok_123\n").unwrap();
    let text = format!(
        r#"
[[input]]
path = "/gladly"
headers = {{ "X-Gladly-Token" = {{ file = "token" }} }}

[[destination]]
name = "bus"
kind = "nats"
url = "{nats}"
subject_prefix = "acme.gladly"
retry = ["50ms"]
timeout = "1s"
allow_loopback = true
{stream}
"#
    );
    RelayConfig::parse(&text, dir).unwrap()
}

const CREATED: &str = r#"
[destination.stream]
name = "GLADLY"
create = true
duplicate_window = "1h"
"#;

async fn post(addr: SocketAddr, body: &str) -> u16 {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
        .post(format!("http://{addr}/gladly"))
        .header("X-Gladly-Token", "tok_123")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn ids(messages: &[StoredMessage]) -> Vec<String> {
    let mut ids: Vec<String> = messages.iter().filter_map(|m| m.msg_id.clone()).collect();
    ids.sort();
    ids
}

async fn stream_holds(relay: &Relay, url: &str, count: usize) -> Vec<StoredMessage> {
    let url = url.to_string();
    let arrived = eventually(Duration::from_secs(20), || {
        let url = url.clone();
        async move { read_stream(&url, "GLADLY").await.len() >= count }
    })
    .await;
    let messages = read_stream(&url, "GLADLY").await;
    if !arrived {
        let deliveries = relay.store().deliveries("dst_bus", 20).await;
        panic!("{count} messages in the stream: {messages:#?}\ndeliveries: {deliveries:#?}");
    }
    messages
}

/// The whole exactly-once path on `store`.
async fn each_event_is_in_the_stream_once(store: Store) {
    let Some(mut nats) = NatsServer::start("each_event_is_in_the_stream_once") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::with_store(store, &config(dir.path(), &nats.url(), CREATED))
        .await
        .unwrap();
    let (dispatcher, addr) = run(&relay).await;

    // Gladly sends one event twice (its retry), and two others.
    let closed = event("ev_1", "CONVERSATION/CLOSED");
    for body in [
        &closed,
        &event("ev_2", "CONTACT/ENDED"),
        &closed,
        &event("ev_3", "Odd.Type/with space"),
    ] {
        assert_eq!(post(addr, body).await, 200);
    }
    let messages = stream_holds(&relay, &nats.url(), 3).await;
    assert_eq!(ids(&messages), ["ev_1", "ev_2", "ev_3"]);
    let first = messages
        .iter()
        .find(|m| m.msg_id.as_deref() == Some("ev_1"))
        .unwrap();
    assert_eq!(first.subject, "acme.gladly.CONVERSATION.CLOSED");
    assert_eq!(
        first.payload,
        closed.as_bytes(),
        "the event as Gladly sent it"
    );
    let header = |m: &StoredMessage, name: &str| {
        m.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        header(first, "Gladly-Event-Type").as_deref(),
        Some("CONVERSATION/CLOSED")
    );
    let received = header(first, "Gladly-Received-At").unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(&received).is_ok(),
        "{received}"
    );
    let odd = messages
        .iter()
        .find(|m| m.msg_id.as_deref() == Some("ev_3"))
        .unwrap();
    assert_eq!(odd.subject, "acme.gladly.Odd%2EType.with%20space");
    // The attempt records JetStream's acknowledgement.
    let deliveries = relay.store().deliveries("dst_bus", 10).await.unwrap();
    assert!(
        deliveries
            .iter()
            .all(|d| d.state == DeliveryState::Delivered)
    );
    let ack = deliveries[0].attempts[0].ack.clone().unwrap();
    assert!(ack.starts_with("stream GLADLY, sequence "), "{ack}");

    // The server goes away: ev_4's attempts fail (no acknowledgement), and
    // with its one retry spent the delivery is dead.
    nats.stop();
    assert_eq!(post(addr, &event("ev_4", "TASK/CREATED")).await, 200);
    let store = relay.store().clone();
    let dead = eventually(Duration::from_secs(20), || {
        let store = store.clone();
        async move {
            store.deliveries("dst_bus", 10).await.is_ok_and(|d| {
                d.iter()
                    .any(|d| d.event_id == "ev_4" && d.state == DeliveryState::Failed)
            })
        }
    })
    .await;
    assert!(dead, "ev_4 is dead while the server is away");

    // Back (its storage kept): a recovery by range sends ev_4 again. Its
    // earlier publishes may have reached the stream after all (the client
    // sends what it buffered when it reconnects): JetStream drops the
    // repeat by Nats-Msg-Id, and the stream holds it once.
    nats.resume();
    // The relay's client reconnects within its longest backoff (1 s):
    // recovered sooner, the delivery's two attempts could both fall before.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let since = Utc::now() - chrono::TimeDelta::hours(1);
    let recovered = relay
        .store()
        .recover("dst_bus", since, Utc::now(), Utc::now())
        .await
        .unwrap();
    assert!(
        matches!(recovered, Recovery::Requeued(1)),
        "only the dead delivery: {recovered:?}"
    );
    let messages = stream_holds(&relay, &nats.url(), 4).await;
    let delivered = eventually(Duration::from_secs(20), || {
        let store = store.clone();
        async move {
            store
                .deliveries("dst_bus", 10)
                .await
                .is_ok_and(|d| d.iter().all(|d| d.state == DeliveryState::Delivered))
        }
    })
    .await;
    assert!(delivered, "the recovered delivery is acknowledged");

    // A backfill from the Events API keeps the same events again: each is
    // recognised by its id, and nothing more is published.
    let keeper = relay.keeper();
    for (id, ty) in [("ev_1", "CONVERSATION/CLOSED"), ("ev_4", "TASK/CREATED")] {
        let again = NewEvent::new(
            event(id, ty).into_bytes(),
            Some(id.to_string()),
            ty.to_string(),
            State::Pending,
            None,
        );
        assert_eq!(keeper.keep(again).await.unwrap(), Inserted::Duplicate);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let messages_after = read_stream(&nats.url(), "GLADLY").await;
    assert_eq!(ids(&messages_after), ["ev_1", "ev_2", "ev_3", "ev_4"]);
    assert_eq!(messages_after, messages, "nothing was published again");
    dispatcher.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_is_in_the_stream_once_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(dir.path().join("relay.db"))
        .await
        .unwrap();
    each_event_is_in_the_stream_once(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_is_in_the_stream_once_on_postgres() {
    let Some(db) = gladly_webhook_testkit::TestDatabase::create("relay_nats", "store") else {
        return;
    };
    let store = Store::open(db.url()).await.unwrap();
    each_event_is_in_the_stream_once(store).await;
}

/// A stream that must exist and does not refuses the start, naming it; one
/// that does not capture the subjects too; one that exists is used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expected_stream_is_checked_at_start() {
    let Some(nats) = NatsServer::start("an_expected_stream_is_checked_at_start") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let open = |stream: &'static str| {
        let config = config(dir.path(), &nats.url(), stream);
        let path = dir.path().join(format!("{}.db", stream.len()));
        async move {
            let store = Store::open_sqlite(path).await.unwrap();
            Relay::with_store(store, &config).await
        }
    };
    let err = open("stream = \"GLADLY\"").await.unwrap_err();
    assert!(matches!(err, RelayError::Nats { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("the stream GLADLY does not exist") && text.contains("acme.gladly.>"),
        "{text}"
    );

    let client = async_nats::connect(nats.url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    js.create_stream(async_nats::jetstream::stream::Config {
        name: "GLADLY".to_string(),
        subjects: vec!["other.>".to_string()],
        ..Default::default()
    })
    .await
    .unwrap();
    let err = open("stream = \"GLADLY\"").await.unwrap_err().to_string();
    assert!(err.contains("captures [\"other.>\"]"), "{err}");

    js.update_stream(async_nats::jetstream::stream::Config {
        name: "GLADLY".to_string(),
        subjects: vec!["acme.>".to_string()],
        ..Default::default()
    })
    .await
    .unwrap();
    let relay = open("stream = \"GLADLY\"").await.unwrap();
    let (dispatcher, addr) = run(&relay).await;
    assert_eq!(post(addr, &event("ev_9", "TASK/CREATED")).await, 200);
    let messages = stream_holds(&relay, &nats.url(), 1).await;
    assert_eq!(messages[0].subject, "acme.gladly.TASK.CREATED");
    dispatcher.shutdown(Duration::from_secs(5)).await;
}

/// A server that does not answer at start is not a refusal: the relay
/// takes events, and publishes them once the server is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_away_at_start_is_waited_for() {
    let Some(mut nats) = NatsServer::start("a_server_away_at_start_is_waited_for") else {
        return;
    };
    nats.stop();
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), &nats.url(), CREATED);
    // A longer schedule than the others: the server comes back within it.
    config.destinations[0].schedule =
        gladly_webhook_sender::Schedule::Delays(vec![Duration::from_millis(300); 20]);
    let store = Store::open_sqlite(dir.path().join("relay.db"))
        .await
        .unwrap();
    let relay = Relay::with_store(store, &config).await.unwrap();
    let (dispatcher, addr) = run(&relay).await;
    assert_eq!(post(addr, &event("ev_5", "CONTACT/ENDED")).await, 200);
    tokio::time::sleep(Duration::from_secs(1)).await;
    nats.resume();
    let messages = stream_holds(&relay, &nats.url(), 1).await;
    assert_eq!(ids(&messages), ["ev_5"]);
    dispatcher.shutdown(Duration::from_secs(5)).await;
}

/// Every problem of a NATS destination at once, with its key; no secret
/// in the messages.
#[test]
fn a_nats_destinations_problems_are_reported_with_their_keys() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "tok_123\n").unwrap();
    let text = r#"
[[input]]
path = "/gladly"
headers = { "X-Gladly-Token" = { file = "token" } }

[[destination]]
name = "bus"
kind = "nats"
url = "nats://relay:s3cret@127.0.0.1:4222"
subject_prefix = "gladly.*"
secrets = [{ file = "token" }]
credentials = { token = { file = "token" }, nkey = { file = "token" } }
[destination.stream]
name = "GLA.DLY"
duplicate_window = "1h"
replicas = 2

[[destination]]
name = "web"
url = "https://example.com/hook"
secrets = [{ env = "RELAY_TEST_NO_SUCH_VARIABLE" }]
stream = "GLADLY"

[[destination]]
name = "mq"
kind = "kafka"
url = "kafka://127.0.0.1:9092"
"#;
    let Err(gladly_webhook_relay::ConfigError::Invalid(problems)) =
        RelayConfig::parse(text, dir.path())
    else {
        panic!("refused");
    };
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "destination[0].secrets",
            "destination[0].url",
            "destination[0].subject_prefix",
            "destination[0].credentials",
            "destination[0].stream.name",
            "destination[0].stream.duplicate_window",
            "destination[0].stream.replicas",
            "destination[0].stream.replicas",
            "destination[1].stream",
            "destination[1].secrets[0]",
            "destination[2].kind",
        ],
        "{problems:#?}"
    );
    let shown = gladly_webhook_relay::ConfigError::Invalid(problems).to_string();
    assert!(
        !shown.contains("s3cret") && !shown.contains("tok_123"),
        "{shown}"
    );
    assert!(shown.contains("only for an HTTP destination"), "{shown}");
    assert!(shown.contains("only with create = true"), "{shown}");
}
