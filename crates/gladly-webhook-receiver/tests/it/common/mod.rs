//! What the receiver's tests share: inboxes on both backends, a signed
//! request, a raw HTTP/1.1 client, a server on loopback, and payloads
//! made from an event schema.

#![allow(dead_code)]

pub mod payloads;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use gladly_webhook_core::{Signer, Verifier};
use gladly_webhook_receiver::inbox::{Inbox, PgInbox, SqliteInbox, SqliteOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const SECRET: &str = "whsec_example_0123456789abcdef";

/// A backend under test, with what keeps it alive.
pub struct TestInbox {
    pub name: &'static str,
    pub inbox: Arc<dyn Inbox>,
    /// For PostgreSQL: the database's URL (to open a second pool).
    pub url: Option<String>,
    _dir: Option<tempfile::TempDir>,
    _database: Option<gladly_webhook_testkit::TestDatabase>,
}

/// A SQLite inbox in a new temporary folder.
pub async fn sqlite() -> TestInbox {
    sqlite_with(SqliteOptions::default()).await
}

pub async fn sqlite_with(options: SqliteOptions) -> TestInbox {
    let dir = tempfile::tempdir().unwrap();
    let inbox = SqliteInbox::open_with(dir.path().join("inbox.db"), options)
        .await
        .unwrap();
    TestInbox {
        name: "sqlite",
        inbox: Arc::new(inbox),
        url: Some(dir.path().join("inbox.db").display().to_string()),
        _dir: Some(dir),
        _database: None,
    }
}

/// The test server's URL, or `None` (see the testkit: a note says the
/// PostgreSQL inbox is not tested; under CI it is a failure).
pub fn pg_admin_url() -> Option<String> {
    gladly_webhook_testkit::admin_url("inbox")
}

/// A PostgreSQL inbox in a fresh database (dropped with the `TestInbox`),
/// when a server is configured.
pub async fn postgres() -> Option<TestInbox> {
    let database = gladly_webhook_testkit::TestDatabase::create("gladly_test", "inbox")?;
    let inbox = PgInbox::connect(database.url()).await.unwrap();
    Some(TestInbox {
        name: "postgres",
        inbox: Arc::new(inbox),
        url: Some(database.url().to_string()),
        _dir: None,
        _database: Some(database),
    })
}

/// Every backend this run can test.
pub async fn backends() -> Vec<TestInbox> {
    let mut all = vec![sqlite().await];
    all.extend(postgres().await);
    all
}

pub fn verifier() -> Verifier {
    Verifier::new([SECRET]).unwrap()
}

/// A delivery of `body` to `path`, signed now with the example secret.
pub fn signed(path: &str, body: &[u8]) -> http::Request<Vec<u8>> {
    signed_at(path, body, Utc::now(), SECRET)
}

pub fn signed_at(
    path: &str,
    body: &[u8],
    at: DateTime<Utc>,
    secret: &str,
) -> http::Request<Vec<u8>> {
    let mut request = http::Request::post(path)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .unwrap();
    Signer::new(secret)
        .unwrap()
        .sign_request_at(&mut request, at)
        .unwrap();
    request
}

/// An event of a known type, with id `id`.
pub fn event(id: &str) -> Vec<u8> {
    format!(
        r#"{{"id":"{id}","type":"CONVERSATION_CLOSED","timestamp":"2026-11-26T17:00:00Z","initiator":{{"id":"agent_42","type":"AGENT"}},"content":{{"customerId":"cust_7","conversationId":"conv_{id}","context":{{"assignee":{{"inboxId":"inbox_1"}}}}}}}}"#
    )
    .into_bytes()
}

/// Serves `app` on a free loopback port until the test ends.
pub async fn serve(app: axum::Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// What a server answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// Sends `request` as raw HTTP/1.1 bytes with `Connection: close` (and a
/// `Content-Length` unless `chunked`), and reads the answer.
pub async fn send(addr: SocketAddr, request: &http::Request<Vec<u8>>, chunked: bool) -> Answer {
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n",
        request.method(),
        request.uri()
    );
    for (name, value) in request.headers() {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    let mut bytes = Vec::new();
    if chunked {
        head.push_str("Transfer-Encoding: chunked\r\n\r\n");
        bytes.extend_from_slice(head.as_bytes());
        for chunk in request.body().chunks(64 * 1024) {
            bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            bytes.extend_from_slice(chunk);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"0\r\n\r\n");
    } else {
        head.push_str(&format!("Content-Length: {}\r\n\r\n", request.body().len()));
        bytes.extend_from_slice(head.as_bytes());
        bytes.extend_from_slice(request.body());
    }
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may answer (413) and close before reading everything.
    let _ = stream.write_all(&bytes).await;
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut response)).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Answer { status, body }
}

pub use gladly_webhook_testkit::wait::eventually;

/// The row counts per state: pending, running, done, dead.
pub async fn counts(inbox: &dyn Inbox) -> (u64, u64, u64, u64) {
    let stats = inbox.stats().await.unwrap();
    (stats.pending, stats.running, stats.done, stats.dead)
}

/// A pending delivery of [`event`] `id`, ready to insert.
pub fn new_event(id: &str) -> gladly_webhook_receiver::inbox::NewEvent {
    use gladly_webhook_receiver::inbox::{NewEvent, State};
    NewEvent::new(
        event(id),
        Some(id.to_string()),
        "CONVERSATION_CLOSED".into(),
        State::Pending,
        None,
    )
}
