//! Issue 36: `--otlp-endpoint`. A small OTLP/HTTP collector runs on
//! loopback inside the test and decodes what `serve` and `listen` export:
//! a delivery's spans are there (the hub's `gladly.attempt` a child of its
//! `gladly.run`, the receiver's `gladly.delivery`), and no attribute holds
//! a secret.

use crate::common;

use std::io::{BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Running, announced_port, wait_until};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{Value, json};

const USERS: &str = "ops@example.com:tok_otlp_test_0123456789";

/// The spans a collector received, with the service of each.
type Received = Arc<Mutex<Vec<(String, Span)>>>;

/// Serves OTLP/HTTP on loopback: every `POST /v1/traces` body decoded as
/// an `ExportTraceServiceRequest`, answered 200. Its port and what came.
fn collector() -> (u16, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let received: Received = Arc::default();
    let store = Arc::clone(&received);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let store = Arc::clone(&store);
            std::thread::spawn(move || serve_connection(stream, &store));
        }
    });
    (port, received)
}

/// Answers the requests of one connection (kept alive by the exporter).
fn serve_connection(stream: std::net::TcpStream, store: &Received) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    while let Some((request_line, body)) = gladly_webhook_testkit::http1::read_request(&mut reader)
    {
        let path_ok = request_line.starts_with("POST /v1/traces ");
        if path_ok && let Ok(request) = ExportTraceServiceRequest::decode(body.as_slice()) {
            let mut spans = store.lock().unwrap();
            for resource in request.resource_spans {
                let service = resource
                    .resource
                    .iter()
                    .flat_map(|r| &r.attributes)
                    .find(|a| a.key == "service.name")
                    .map(|a| text(a.value.as_ref().and_then(|v| v.value.as_ref())))
                    .unwrap_or_default();
                for scope in resource.scope_spans {
                    for span in scope.spans {
                        spans.push((service.clone(), span));
                    }
                }
            }
        }
        let status = if path_ok { "200 OK" } else { "404 Not Found" };
        let answer = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

fn text(value: Option<&AnyValue>) -> String {
    match value {
        Some(AnyValue::StringValue(s)) => s.clone(),
        Some(AnyValue::IntValue(n)) => n.to_string(),
        Some(AnyValue::BoolValue(b)) => b.to_string(),
        Some(AnyValue::DoubleValue(d)) => d.to_string(),
        _ => String::new(),
    }
}

/// A span's attribute as text.
fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .map(|a| text(a.value.as_ref().and_then(|v| v.value.as_ref())))
}

/// Every attribute value of a span and of its events.
fn every_value(span: &Span) -> Vec<String> {
    let own = span.attributes.iter();
    let events = span.events.iter().flat_map(|e| e.attributes.iter());
    own.chain(events)
        .map(|a| text(a.value.as_ref().and_then(|v| v.value.as_ref())))
        .collect()
}

fn call(port: u16, method: &str, path: &str, body: &Value) -> (u16, Value) {
    use base64::Engine as _;
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(USERS)
    );
    let (status, answer) = common::http(
        port,
        method,
        path,
        &[("Authorization", &auth)],
        &body.to_string(),
    );
    (status, serde_json::from_str(&answer).unwrap_or(Value::Null))
}

#[test]
fn serve_and_listen_export_a_deliverys_spans_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let (collector_port, received) = collector();
    let endpoint = format!("http://127.0.0.1:{collector_port}");
    let inbox = format!("sqlite:{}", dir.path().join("inbox.db").display());
    let mut listen = Running::start(
        &[
            "listen",
            "--addr",
            "127.0.0.1:0",
            "--no-auth",
            "--inbox",
            &inbox,
            "--otlp-endpoint",
            &endpoint,
        ],
        &[],
        "listening on",
    );
    let listen_port = announced_port(&listen, "listening on http://");
    let db = format!("sqlite:{}", dir.path().join("hub.db").display());
    let mut serve = Running::start(
        &[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--db",
            &db,
            "--api-user-env",
            "USERS",
            "--allow-insecure-localhost",
            "--otlp-endpoint",
            &endpoint,
        ],
        &[("USERS", USERS)],
        "serving the hub API",
    );
    let hub = announced_port(&serve, "on http://");

    let subscription = json!({"url": format!("http://127.0.0.1:{listen_port}/"),
                              "events": ["CONVERSATION_CLOSED"], "active": true});
    let (status, created) = call(hub, "POST", "/api/v1/webhooks", &subscription);
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_string();
    let event = json!({"type": "CONVERSATION_CLOSED", "initiator": {"id": "agent_42", "type": "AGENT"},
                       "content": {"customerId": "cust_7", "conversationId": "conv_9",
                                   "context": {"assignee": {"inboxId": "inbox_1", "agentId": "agent_42"}}}});
    let (status, published) = call(hub, "POST", "/api/v1/events", &event);
    assert_eq!(status, 202, "{published}");
    let event_id = published["eventId"].as_str().unwrap().to_string();
    let delivered = wait_until(Duration::from_secs(30), || {
        let (_, list) = call(
            hub,
            "GET",
            &format!(
                "/api/v1/webhooks/{}/deliveries",
                created["id"].as_str().unwrap()
            ),
            &Value::Null,
        );
        list[0]["state"] == "delivered"
    });
    assert!(delivered, "{}", serve.stderr());
    // A graceful stop sends the last batch.
    assert_eq!(serve.stop(), 0, "{}", serve.stderr());
    assert_eq!(listen.stop(), 0, "{}", listen.stderr());

    let spans = received.lock().unwrap().clone();
    let named = |service: &str, name: &str| -> Vec<Span> {
        spans
            .iter()
            .filter(|(s, span)| s == service && span.name == name)
            .map(|(_, span)| span.clone())
            .collect()
    };
    let attempts: Vec<Span> = named("gladly-webhook serve", "gladly.attempt")
        .into_iter()
        .filter(|s| attribute(s, "event_id").as_deref() == Some(event_id.as_str()))
        .collect();
    assert_eq!(attempts.len(), 1, "{spans:#?}");
    let runs = named("gladly-webhook serve", "gladly.run");
    let run = runs
        .iter()
        .find(|r| r.span_id == attempts[0].parent_span_id)
        .unwrap_or_else(|| panic!("the attempt's parent is no run: {runs:#?}"));
    assert_eq!(run.trace_id, attempts[0].trace_id);
    assert_eq!(
        attribute(run, "webhook_id").as_deref(),
        created["id"].as_str()
    );
    let deliveries: Vec<Span> = named("gladly-webhook listen", "gladly.delivery")
        .into_iter()
        .filter(|s| attribute(s, "event_id").as_deref() == Some(event_id.as_str()))
        .collect();
    assert_eq!(deliveries.len(), 1, "{spans:#?}");
    assert_eq!(attribute(&deliveries[0], "status").as_deref(), Some("200"));

    for (_, span) in &spans {
        for value in every_value(span) {
            assert!(
                !value.contains(&secret) && !value.contains("tok_otlp_test"),
                "a secret in span {}: {value}",
                span.name
            );
        }
    }
}
