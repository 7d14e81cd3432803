//! The sender against receivers on loopback that fail in every way Gladly's
//! rules name.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gladly_webhook_core::{Verifier, parse_event};
use gladly_webhook_sender::{AddressPolicy, Failure, Outcome, Schedule, Sender};

const SECRET: &str = "whsec_example_0123456789abcdef";
const EVENT: &[u8] = include_bytes!("../../../../examples/events/conversation-closed.json");

/// What the test receiver saw, and how it answers attempt `n` (from 1).
#[derive(Clone)]
struct Script {
    seen: Arc<Mutex<Vec<http::Request<Vec<u8>>>>>,
    answer: Arc<dyn Fn(usize) -> Response + Send + Sync>,
}

impl Script {
    fn seen(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

async fn receive(State(script): State<Script>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap().to_vec();
    let n = {
        let mut seen = script.seen.lock().unwrap();
        seen.push(http::Request::from_parts(parts, body));
        seen.len()
    };
    (script.answer)(n)
}

async fn serve(answer: impl Fn(usize) -> Response + Send + Sync + 'static) -> (String, Script) {
    let script = Script {
        seen: Arc::default(),
        answer: Arc::new(answer),
    };
    let app = axum::Router::new()
        .route("/hooks/gladly", axum::routing::post(receive))
        .route(
            "/elsewhere",
            axum::routing::any(|| async { StatusCode::OK }),
        )
        .with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/hooks/gladly?tenant=acme",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, script)
}

/// A sender that may deliver to this machine (the tests' receivers).
fn local() -> Sender {
    Sender::new(SECRET)
        .unwrap()
        .address_policy(AddressPolicy::public_only().allow_loopback(true))
        .unwrap()
}

fn quick(delays: usize) -> Sender {
    local().schedule(Schedule::Delays(vec![Duration::from_millis(10); delays]))
}

#[tokio::test]
async fn failures_are_retried_with_the_same_id_and_a_fresh_signature() {
    const K: usize = 3;
    let (url, script) = serve(|n| {
        if n <= K {
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        } else {
            "ok".into_response()
        }
    })
    .await;
    let mut reported = Vec::new();
    // Gladly-Time has a resolution of one second: attempts a second apart
    // carry different times, and so different signatures.
    let report = local()
        .schedule(Schedule::Delays(vec![Duration::from_millis(1100); K]))
        .deliver(&url, EVENT, |a| reported.push(a.clone()))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Delivered);
    assert_eq!(report.attempts.len(), K + 1);
    assert_eq!(reported, report.attempts);
    assert_eq!(report.attempts[0].status, Some(500));
    assert_eq!(report.attempts[K].body, "ok");

    let seen = script.seen.lock().unwrap();
    assert_eq!(seen.len(), K + 1);
    let verifier = Verifier::new([SECRET]).unwrap();
    let mut signatures = std::collections::HashSet::new();
    for request in seen.iter() {
        verifier
            .verify_request(request)
            .expect("every attempt verifies");
        assert_eq!(request.headers()["content-type"], "application/json");
        assert_eq!(request.body(), EVENT, "the same body, byte for byte");
        assert_eq!(parse_event(request.body()).unwrap().id(), Some("evt_0001"));
        signatures.insert((
            request.headers()["gladly-time"].clone(),
            request.headers()["gladly-authorization"].clone(),
        ));
    }
    assert_eq!(
        signatures.len(),
        K + 1,
        "a fresh time and signature on every attempt"
    );
}

#[tokio::test]
async fn a_redirect_is_a_failure_and_is_not_followed() {
    let (url, script) =
        serve(|_| (StatusCode::FOUND, [(http::header::LOCATION, "/elsewhere")]).into_response())
            .await;
    let report = quick(2).deliver(&url, EVENT, |_| {}).await.unwrap();
    assert_eq!(report.outcome, Outcome::GaveUp);
    assert_eq!(report.attempts.len(), 3);
    assert!(report.attempts.iter().all(|a| a.status == Some(302)));
    assert_eq!(
        script.seen.lock().unwrap().len(),
        3,
        "only the hook was called"
    );
}

#[tokio::test]
async fn gone_stops_at_once() {
    let (url, script) = serve(|_| StatusCode::GONE.into_response()).await;
    let report = quick(4).deliver(&url, EVENT, |_| {}).await.unwrap();
    assert_eq!(report.outcome, Outcome::Gone);
    assert_eq!(report.attempts.len(), 1);
    assert_eq!(script.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn only_2xx_is_delivered() {
    for status in [StatusCode::NO_CONTENT, StatusCode::ACCEPTED] {
        let (url, _) = serve(move |_| status.into_response()).await;
        let report = quick(0).deliver(&url, EVENT, |_| {}).await.unwrap();
        assert_eq!(report.outcome, Outcome::Delivered, "{status}");
    }
    for status in [
        StatusCode::BAD_REQUEST,
        StatusCode::UNAUTHORIZED,
        StatusCode::NOT_MODIFIED,
    ] {
        let (url, _) = serve(move |_| status.into_response()).await;
        let report = quick(0).deliver(&url, EVENT, |_| {}).await.unwrap();
        assert_eq!(report.outcome, Outcome::GaveUp, "{status}");
    }
}

#[tokio::test]
async fn retry_after_is_honoured_and_capped() {
    // Asked to come back at once, while the schedule says 30 s: it does.
    let (url, _) = serve(|n| {
        if n == 1 {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(http::header::RETRY_AFTER, "0")],
            )
                .into_response()
        } else {
            StatusCode::OK.into_response()
        }
    })
    .await;
    let started = Instant::now();
    let sender = local().schedule(Schedule::Delays(vec![Duration::from_secs(30)]));
    let report = sender.deliver(&url, EVENT, |_| {}).await.unwrap();
    assert_eq!(report.outcome, Outcome::Delivered);
    assert_eq!(report.attempts[0].retry_after, Some(Duration::ZERO));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "Retry-After: 0 was not honoured"
    );

    // Asked to wait an hour, while the schedule's next wait is 100 ms: the
    // wait is capped at twice that.
    let (url, _) = serve(|n| {
        if n == 1 {
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(http::header::RETRY_AFTER, "3600")],
            )
                .into_response()
        } else {
            StatusCode::OK.into_response()
        }
    })
    .await;
    let started = Instant::now();
    let report = quick(0)
        .schedule(Schedule::Delays(vec![Duration::from_millis(100)]))
        .deliver(&url, EVENT, |_| {})
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Delivered);
    assert_eq!(
        report.attempts[0].retry_after,
        Some(Duration::from_secs(3600))
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(200),
        "waited the capped 200 ms: {took:?}"
    );
    assert!(
        took < Duration::from_secs(60),
        "capped, not an hour: {took:?}"
    );
}

#[tokio::test]
async fn an_attempt_that_does_not_answer_in_time_fails() {
    let (url, _) = serve(|_| {
        // Answers, but only after the sender has given up on the attempt.
        std::thread::sleep(Duration::from_millis(1500));
        StatusCode::OK.into_response()
    })
    .await;
    let report = quick(0)
        .timeout(Duration::from_millis(200))
        .deliver(&url, EVENT, |_| {})
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::GaveUp);
    assert_eq!(
        report.attempts[0].error.as_deref(),
        Some("no answer within 200 ms")
    );
    assert_eq!(report.attempts[0].status, None);
}

#[tokio::test]
async fn nothing_listening_is_a_reported_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    drop(listener);
    let report = quick(1).deliver(&url, EVENT, |_| {}).await.unwrap();
    assert_eq!(report.outcome, Outcome::GaveUp);
    assert!(report.attempts.iter().all(|a| a.error.is_some()));
    assert!(local().deliver("ftp://x/", EVENT, |_| {}).await.is_err());
}

/// Issue 17 (SSRF): by default a sender connects only to globally routable
/// addresses. Every spelling of loopback, and a name that resolves to it,
/// is refused before a packet is sent, with the rule in the error and
/// nothing of the target's answer.
#[tokio::test]
async fn the_default_policy_refuses_loopback_in_every_spelling_before_connecting() {
    let (url, script) = serve(|_| "secret internal answer".into_response()).await;
    let port = url::Url::parse(&url).unwrap().port().unwrap();
    let strict = Sender::new(SECRET).unwrap().schedule(Schedule::None);
    for host in [
        "127.0.0.1",
        "localhost",
        "127.1",
        "2130706433",
        "0x7f000001",
        "017700000001",
        "%31%32%37.0.0.1",
        "[::ffff:127.0.0.1]",
        "0.0.0.0",
    ] {
        let target = format!("http://{host}:{port}/hooks/gladly");
        let report = strict.deliver(&target, EVENT, |_| {}).await.unwrap();
        let attempt = &report.attempts[0];
        assert_eq!(report.outcome, Outcome::GaveUp, "{target}");
        assert!(
            matches!(attempt.failure, Some(Failure::Refused(_))),
            "{target}: {attempt:?}"
        );
        assert!(
            attempt.summary().contains("refused by the address policy"),
            "{target}: {}",
            attempt.summary()
        );
        assert!(!attempt.summary().contains("secret internal"));
    }
    assert_eq!(script.seen(), 0, "no request may reach the receiver");
    // The opt-in lets the same delivery through.
    let report = local().deliver(&url, EVENT, |_| {}).await.unwrap();
    assert_eq!(report.outcome, Outcome::Delivered);
    assert_eq!(script.seen(), 1);
}

/// Private networks stay refused when only loopback is allowed, and an
/// allowed network opens exactly that network.
#[tokio::test]
async fn allowed_networks_are_exactly_what_is_allowed() {
    let sender = local().schedule(Schedule::None);
    for target in [
        "http://10.0.0.1/h",
        "http://169.254.169.254/latest/meta-data",
        "http://[fd00:ec2::254]/h",
        "http://[64:ff9b::a9fe:a9fe]/h",
    ] {
        let report = sender.deliver(target, EVENT, |_| {}).await.unwrap();
        assert!(
            matches!(report.attempts[0].failure, Some(Failure::Refused(_))),
            "{target}"
        );
    }
    let sender = Sender::new(SECRET)
        .unwrap()
        .address_policy(AddressPolicy::public_only().allow_network("127.0.0.0/8".parse().unwrap()))
        .unwrap();
    let (url, script) = serve(|_| "ok".into_response()).await;
    let report = sender.deliver(&url, EVENT, |_| {}).await.unwrap();
    assert_eq!(report.outcome, Outcome::Delivered);
    assert_eq!(script.seen(), 1);
}

/// Issue 18: an unsigned sender sends Basic credentials and headers as a
/// REST API 1.0 webhook does; a signed one can send them too.
#[tokio::test]
async fn credentials_and_headers_as_gladly_rest_api_webhooks_send_them() {
    use gladly_webhook_core::Secret;
    let (url, script) = serve(|_| "ok".into_response()).await;
    let unsigned = Sender::unsigned()
        .unwrap()
        .address_policy(AddressPolicy::public_only().allow_loopback(true))
        .unwrap()
        .basic_auth("gladly", &Secret::new("pa:ss"))
        .unwrap()
        .secret_header("X-Gladly-Token", &Secret::new("tok_1"))
        .unwrap();
    assert!(!unsigned.signs());
    let report = unsigned.deliver(&url, EVENT, |_| {}).await.unwrap();
    assert_eq!(report.outcome, Outcome::Delivered);
    let both = local().basic_auth("gladly", &Secret::new("pa:ss")).unwrap();
    assert_eq!(
        both.deliver(&url, EVENT, |_| {}).await.unwrap().outcome,
        Outcome::Delivered
    );
    let seen = script.seen.lock().unwrap();
    let first = seen[0].headers();
    assert_eq!(first["authorization"], "Basic Z2xhZGx5OnBhOnNz");
    assert_eq!(first["x-gladly-token"], "tok_1");
    assert!(!first.contains_key("gladly-authorization"));
    let second = seen[1].headers();
    assert_eq!(second["authorization"], "Basic Z2xhZGx5OnBhOnNz");
    assert!(second.contains_key("gladly-authorization"));
    assert!(
        Sender::unsigned()
            .unwrap()
            .sign_header(http::HeaderName::from_static("x-request-id"))
            .is_err(),
        "nothing to sign with"
    );
}
