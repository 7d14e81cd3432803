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
