//! The client against a fake of Gladly's webhook API on loopback
//! (`gladly_webhook_testkit::fake_gladly`), for what a real server cannot
//! be made to do or to count: nothing sent when a body is not valid, a
//! given number of 429s retried then given up, a redirect to another host
//! not followed, lines over 1 MiB and CRLF endings. The routes themselves
//! are tested against the local Gladly (`local_gladly.rs`).

use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use futures_util::StreamExt as _;
use gladly_webhook_client::{ApiUser, Client, ClientError, RetryPolicy};
use gladly_webhook_testkit::fake_gladly::FakeGladly;
use serde_json::json;

const USER: &str = "ops@example.com:tok_client_test_0123456789";

async fn start(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn fake() -> (FakeGladly, String) {
    let fake = FakeGladly::start(USER);
    let base = fake.base.clone();
    (fake, base)
}

fn client(base: &str) -> Client {
    Client::new(base, USER.parse().unwrap())
        .unwrap()
        .retry_policy(
            RetryPolicy::default().backoff(Duration::from_millis(5), Duration::from_millis(20)),
        )
}

#[tokio::test]
async fn bodies_are_validated_before_anything_is_sent() {
    let (fake, base) = fake();
    let client = client(&base);
    let refused = client
        .create_json(&json!({"url": "http://hooks.example.com/", "events": ["CONVERSATION_CLOSED", "TASK/CREATED", "TASK/CREATED"]}))
        .await
        .unwrap_err();
    let ClientError::Invalid(report) = &refused else {
        panic!("{refused:?}")
    };
    let pointers: Vec<&str> = report.errors().iter().map(|e| e.pointer.as_str()).collect();
    assert_eq!(pointers, ["/events/0", "/url", "/events/2"], "{report}");
    assert!(refused.to_string().contains("nothing was sent"));
    let refused = client
        .update("wh1", &json!({"id": "mine", "enabled": "yes"}))
        .await
        .unwrap_err();
    assert!(matches!(refused, ClientError::Invalid(_)), "{refused:?}");
    assert_eq!(fake.requests(), 0);
}

#[tokio::test]
async fn a_429_is_retried_with_backoff_then_given_up() {
    let (fake, base) = fake();
    let client = client(&base);
    fake.throttle_next(2);
    assert!(
        client.list().await.unwrap().is_empty(),
        "two 429s, then the answer"
    );
    assert_eq!(fake.requests(), 3);
    let impatient = client.clone().retry_policy(
        RetryPolicy::default()
            .max_retries(1)
            .backoff(Duration::from_millis(5), Duration::from_millis(20)),
    );
    fake.throttle_next(5);
    let err = impatient.list().await.unwrap_err();
    assert!(
        matches!(err, ClientError::RateLimited { retries: 1, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "429: the rate limit was still exceeded after 1 retries"
    );
}

#[tokio::test]
async fn a_wrong_token_says_so() {
    let (_fake, base) = fake();
    let client = Client::new(
        &base,
        "ops@example.com:wrong_token".parse::<ApiUser>().unwrap(),
    )
    .unwrap();
    let err = client.list().await.unwrap_err();
    assert_eq!(err.to_string(), "401: check the API user and token");
    assert!(!format!("{err:?}").contains("wrong_token"));
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed() {
    let (fake, elsewhere) = fake();
    let target = format!("{elsewhere}/api/v1/webhooks");
    let app =
        Router::new().route(
            "/api/v1/webhooks",
            get(move || {
                let target = target.clone();
                async move {
                    (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, target)]).into_response()
                }
            }),
        );
    let base = start(app).await;
    let err = client(&base).list().await.unwrap_err();
    assert!(
        matches!(err, ClientError::Status { status: 307, .. }),
        "{err:?}"
    );
    assert_eq!(fake.requests(), 0, "the credentials went nowhere else");
}

#[tokio::test]
async fn an_unreachable_api_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = client(&base).list().await.unwrap_err();
    assert!(matches!(err, ClientError::Transport { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with(&format!("cannot reach the API at {base}")),
        "{err}"
    );
}

/// The Events API is read a line at a time: events in order, an empty
/// line skipped, a line over 1 MiB reported once and skipped whole, CRLF
/// endings and a last line without a newline read.
#[tokio::test]
async fn events_are_read_line_by_line() {
    use gladly_webhook_client::{EventLine, EventsQuery, MAX_EVENT_LINE};
    let (fake, base) = fake();
    let now = chrono::Utc::now();
    let at = |minutes: i64| (now - chrono::TimeDelta::minutes(minutes)).to_rfc3339();
    fake.publish_line(&at(30), "TASK/CREATED", r#"{"id":"e1"}"#);
    fake.publish_line(&at(29), "TASK/CREATED", "");
    let long = format!(
        r#"{{"id":"e2","pad":"{}"}}"#,
        "x".repeat(MAX_EVENT_LINE + 10)
    );
    fake.publish_line(&at(28), "TASK/CREATED", &long);
    fake.publish_line(&at(27), "TASK/CREATED", "{\"id\":\"e3\"}\r");
    fake.publish_line(&at(26), "CONVERSATION/CLOSED", r#"{"id":"e4"}"#);
    let client = client(&base);
    let mut stream = client
        .events(
            &EventsQuery::since(now - chrono::TimeDelta::hours(1)).entities(["TASK".to_string()]),
        )
        .await
        .unwrap();
    let mut lines = Vec::new();
    while let Some(line) = stream.next().await.unwrap() {
        lines.push(match line {
            EventLine::Event(bytes) => String::from_utf8(bytes).unwrap(),
            EventLine::TooLong => "(too long)".to_string(),
            _ => "(other)".to_string(),
        });
    }
    assert_eq!(lines, [r#"{"id":"e1"}"#, "(too long)", r#"{"id":"e3"}"#]);
}

/// An Events API that streams `events` lines from `startAt` on (each a
/// `CUSTOMER_PROFILE/CREATED`, a millisecond apart from an hour ago, in
/// timestamp order) in chunks of `chunk` lines, `gap` apart. With
/// `cut_first`, its first answer breaks after that many lines, as a run
/// killed halfway would stop; later answers are whole.
async fn paced_events(
    events: usize,
    chunk: usize,
    gap: Duration,
    cut_first: Option<usize>,
) -> String {
    let first_at = chrono::Utc::now() - chrono::TimeDelta::hours(1);
    let cut = std::sync::Arc::new(std::sync::Mutex::new(cut_first));
    let app = Router::new().route(
        "/api/v1/events",
        get(move |axum::extract::RawQuery(query): axum::extract::RawQuery| {
            let cut = cut.lock().unwrap().take();
            async move {
                let start_at = url_start_at(query.as_deref());
                let from = usize::try_from((start_at - first_at).num_milliseconds().max(0))
                    .unwrap_or(usize::MAX)
                    .min(events);
                let chunks = (from..events).step_by(chunk).map(move |first| {
                    let lines: String = (first..(first + chunk).min(events))
                        .map(|n| {
                            let at = first_at + chrono::TimeDelta::milliseconds(n as i64);
                            format!(
                                "{{\"id\":\"evt_{n:05}\",\"type\":\"CUSTOMER_PROFILE/CREATED\",\"timestamp\":\"{}\",\"content\":{{\"customerId\":\"c{n}\"}}}}\n",
                                at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                            )
                        })
                        .collect();
                    (first, lines)
                });
                let body = futures_util::stream::iter(chunks).then(move |(first, lines)| async move {
                    tokio::time::sleep(gap).await;
                    match cut {
                        Some(cut) if first >= cut => Err(std::io::Error::other("cut")),
                        _ => Ok::<_, std::io::Error>(lines),
                    }
                });
                (
                    [(header::CONTENT_TYPE, "application/x-jsonlines")],
                    axum::body::Body::from_stream(body),
                )
                    .into_response()
            }
        }),
    );
    start(app).await
}

/// The `startAt` of an Events API query.
fn url_start_at(query: Option<&str>) -> chrono::DateTime<chrono::Utc> {
    let text = query
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("startAt="))
        .expect("startAt");
    let text = text.replace("%3A", ":").replace("%2B", "+");
    chrono::DateTime::parse_from_rfc3339(&text)
        .expect("an RFC 3339 startAt")
        .with_timezone(&chrono::Utc)
}

async fn sqlite_inbox(dir: &tempfile::TempDir) -> gladly_webhook_receiver::inbox::SqliteInbox {
    gladly_webhook_receiver::inbox::SqliteInbox::open(dir.path().join("inbox.db"))
        .await
        .unwrap()
}

/// Issue 32: a stream longer than the client's timeout, with no pause
/// longer than it, is read whole: 30,000 events in one run (the timeout
/// covered the whole stream and the inserts, and a run of that size failed
/// every time at ~23,000 with no cursor saved). A pause longer than the
/// timeout is reported as the stream's idle timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_events_stream_is_bounded_per_read_not_whole() {
    use gladly_webhook_client::backfill::{Backfill, Window};
    let dir = tempfile::tempdir().unwrap();
    let inbox = sqlite_inbox(&dir).await;
    let since = chrono::Utc::now() - chrono::TimeDelta::hours(2);
    let timeout = Duration::from_millis(700);
    // 30 chunks 60 ms apart: about 2 s in all, nearly 3 times the timeout.
    let base = paced_events(30_000, 1_000, Duration::from_millis(60), None).await;
    let client = Client::with_timeout(&base, USER.parse().unwrap(), timeout).unwrap();
    let report = Backfill::new(&client, &inbox)
        .run(Window::since(since))
        .await
        .unwrap();
    assert_eq!(
        (report.read, report.new, report.malformed),
        (30_000, 30_000, 0),
        "{report}"
    );

    let silent = paced_events(10, 5, Duration::from_millis(1500), None).await;
    let client = Client::with_timeout(&silent, USER.parse().unwrap(), timeout).unwrap();
    let err = Backfill::new(&client, &inbox)
        .run(Window::since(since))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sent nothing for 0.7 s (its idle timeout"),
        "{err}"
    );
}

/// Issue 32: a run that stops halfway (its stream broken after 12,000 of
/// 20,000 events) has checkpointed its cursor as it stored them; the next
/// run without a start resumes from the checkpoint, reads only the rest
/// (from the last checkpointed instant on), and the inbox holds each event
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stopped_halfway_resumes_from_its_checkpoint() {
    use gladly_webhook_client::backfill::{Backfill, CHECKPOINT_EVERY, Window};
    use gladly_webhook_receiver::inbox::Inbox as _;
    let dir = tempfile::tempdir().unwrap();
    let inbox = sqlite_inbox(&dir).await;
    let since = chrono::Utc::now() - chrono::TimeDelta::hours(2);
    let base = paced_events(20_000, 1_000, Duration::from_millis(5), Some(12_000)).await;
    let client = Client::new(&base, USER.parse().unwrap()).unwrap();
    let stopped = Backfill::new(&client, &inbox)
        .run(Window::since(since))
        .await;
    assert!(stopped.is_err(), "{stopped:?}");
    assert_eq!(inbox.stats().await.unwrap().pending, 12_000);

    let resumed = Backfill::new(&client, &inbox)
        .run(Window::resume())
        .await
        .unwrap();
    assert_eq!(resumed.new, 8_000, "{resumed}");
    assert!(
        resumed.read <= 8_000 + CHECKPOINT_EVERY,
        "from the checkpoint, not the start: {resumed}"
    );
    assert_eq!(inbox.stats().await.unwrap().pending, 20_000);
}
