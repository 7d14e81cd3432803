//! Cost per request, side by side with the floor and the peers, in one run.
//!
//! `cargo bench -p gladly-webhook-core` runs every group; `cargo xtask
//! bench-report` runs them and writes `BENCHMARKS.md` with the ratios.
//!
//! - verify: ours (`Verifier::verify`, five signed headers) against the floor
//!   (one HMAC-SHA256 over the body) and `standardwebhooks` (the Standard
//!   Webhooks scheme's Rust library), 256 B to 1 MiB;
//! - sign: ours against the same floor;
//! - validate: `validate_json` (schema and strict) against
//!   `serde_json::Value` + a compiled `jsonschema` validator, and the floor,
//!   a typed `serde_json::from_slice::<Webhook>` with no checks;
//! - parse_event: ours against `serde_json::from_slice::<Value>`.

use std::hint::black_box;
use std::time::Duration;

use chrono::Utc;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gladly_webhook_core::validate::{Policy, validate_json};
use gladly_webhook_core::{Signer, Verifier, Webhook, parse_event};
use hmac::{Hmac, Mac};
use http::HeaderName;
use http::request::Parts;
use serde_json::Value;
use sha2::Sha256;

const SECRET: &[u8] = b"whsec_example_0123456789abcdef";
const EVENT: &str = include_str!("../../../examples/events/conversation-closed.json");
/// The smallest conversation event (233 bytes compacted), the base of every body.
const BODY_EVENT: &str = include_str!("../../../examples/events/conversation-created.json");

/// A realistic event body of exactly `size` bytes: the example event,
/// compacted, with a padding property for the large sizes.
fn body(size: usize) -> Vec<u8> {
    let mut event: Value = serde_json::from_str(BODY_EVENT).unwrap();
    let base = serde_json::to_vec(&event).unwrap().len();
    let overhead = r#","padding":"""#.len();
    assert!(
        size >= base + overhead,
        "{size} is too small for the example event"
    );
    event["padding"] = Value::String("x".repeat(size - base - overhead));
    let bytes = serde_json::to_vec(&event).unwrap();
    assert_eq!(bytes.len(), size);
    bytes
}

fn label(size: usize) -> String {
    match size {
        s if s >= 1 << 20 => format!("{}MiB", s >> 20),
        s if s >= 1 << 10 => format!("{}KiB", s >> 10),
        s => format!("{s}B"),
    }
}

/// A delivery signed now with five signed headers.
fn signed_request(body: &[u8]) -> Parts {
    let (mut parts, ()) = http::Request::post("https://hooks.example.com/hooks/gladly?tenant=acme")
        .header("host", "hooks.example.com")
        .header("content-type", "application/json")
        .header("user-agent", "Gladly-Webhooks/1.0")
        .header("x-request-id", "req-0123456789abcdef")
        .body(())
        .unwrap()
        .into_parts();
    signer()
        .sign_parts_at(&mut parts, body, Utc::now())
        .unwrap();
    parts
}

fn signer() -> Signer {
    Signer::new(SECRET)
        .unwrap()
        .sign_header(HeaderName::from_static("host"))
        .unwrap()
        .sign_header(HeaderName::from_static("user-agent"))
        .unwrap()
        .sign_header(HeaderName::from_static("x-request-id"))
        .unwrap()
}

fn floor(body: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
    mac.update(body);
    mac.finalize().into_bytes().into()
}

fn verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify");
    for size in [256, 1 << 10, 64 << 10, 1 << 20] {
        let body = body(size);
        group.throughput(Throughput::Bytes(size as u64));

        let parts = signed_request(&body);
        let verifier = Verifier::new([SECRET]).unwrap();
        assert!(verifier.verify(&parts, &body).is_ok());
        group.bench_with_input(BenchmarkId::new("ours", label(size)), &body, |b, body| {
            b.iter(|| verifier.verify(black_box(&parts), black_box(body)).unwrap())
        });

        group.bench_with_input(BenchmarkId::new("floor", label(size)), &body, |b, body| {
            b.iter(|| floor(black_box(body)))
        });

        let peer = standardwebhooks::Webhook::from_bytes(SECRET.to_vec()).unwrap();
        let now = Utc::now().timestamp();
        let signature = peer.sign("msg_0123456789abcdef", now, &body).unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert("webhook-id", "msg_0123456789abcdef".parse().unwrap());
        headers.insert("webhook-timestamp", now.to_string().parse().unwrap());
        headers.insert("webhook-signature", signature.parse().unwrap());
        headers.insert("content-type", "application/json".parse().unwrap());
        assert!(peer.verify(&body, &headers).is_ok());
        group.bench_with_input(
            BenchmarkId::new("standardwebhooks", label(size)),
            &body,
            |b, body| b.iter(|| peer.verify(black_box(body), black_box(&headers)).unwrap()),
        );
    }
    group.finish();
}

fn sign(c: &mut Criterion) {
    let mut group = c.benchmark_group("sign");
    let signer = signer();
    for size in [1 << 10, 64 << 10] {
        let body = body(size);
        group.throughput(Throughput::Bytes(size as u64));
        let mut parts = signed_request(&body);
        let at = Utc::now();
        group.bench_with_input(BenchmarkId::new("ours", label(size)), &body, |b, body| {
            b.iter(|| {
                signer
                    .sign_parts_at(black_box(&mut parts), black_box(body), at)
                    .unwrap()
            })
        });
        group.bench_with_input(BenchmarkId::new("floor", label(size)), &body, |b, body| {
            b.iter(|| floor(black_box(body)))
        });
    }
    group.finish();
}

const VALID: &[u8] = include_bytes!("../../../examples/subscription.json");
const THREE_PROBLEMS: &[u8] = br#"{
  "id": "wh_01HZX3",
  "url": "https://hooks.example.com/gla dly",
  "events": ["CONVERSATION_CLOSED", "MESSAGE_SENT", "TASK_CLOSED"],
  "secret": "whsec_example_0123456789abcdef",
  "active": "yes",
  "createdAt": "2026-11-20T09:00:00Z",
  "modifiedAt": "2026-11-26T17:00:00Z"
}"#;

fn validate(c: &mut Criterion) {
    let mut group = c.benchmark_group("validate");
    let schema: Value = serde_json::from_str(gladly_schema::webhook::SCHEMA).unwrap();
    let peer = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    for (name, doc) in [("valid", VALID), ("three_problems", THREE_PROBLEMS)] {
        let valid = name == "valid";
        group.throughput(Throughput::Bytes(doc.len() as u64));
        assert_eq!(validate_json(doc, &Policy::schema()).is_ok(), valid);
        assert_eq!(
            validate_json(doc, &Policy::schema())
                .map_err(|r| r.len())
                .err(),
            (!valid).then_some(3)
        );
        group.bench_with_input(BenchmarkId::new("ours_schema", name), doc, |b, doc| {
            b.iter(|| validate_json(black_box(doc), &Policy::schema()))
        });
        group.bench_with_input(BenchmarkId::new("ours_strict", name), doc, |b, doc| {
            b.iter(|| validate_json(black_box(doc), &Policy::strict()))
        });
        // The peer reports every error too: iter_errors, counted.
        assert_eq!(
            peer.iter_errors(&serde_json::from_slice::<Value>(doc).unwrap())
                .count(),
            if valid { 0 } else { 3 }
        );
        group.bench_with_input(BenchmarkId::new("jsonschema", name), doc, |b, doc| {
            b.iter(|| {
                let value: Value = serde_json::from_slice(black_box(doc)).unwrap();
                peer.iter_errors(&value).count()
            })
        });
        if valid {
            group.bench_with_input(BenchmarkId::new("floor", name), doc, |b, doc| {
                b.iter(|| serde_json::from_slice::<Webhook>(black_box(doc)).unwrap())
            });
        }
    }
    group.finish();
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_event");
    let event = EVENT.as_bytes();
    group.throughput(Throughput::Bytes(event.len() as u64));
    group.bench_with_input(
        BenchmarkId::new("ours", "conversation_closed"),
        event,
        |b, event| b.iter(|| parse_event(black_box(event)).unwrap()),
    );
    group.bench_with_input(
        BenchmarkId::new("value", "conversation_closed"),
        event,
        |b, event| b.iter(|| serde_json::from_slice::<Value>(black_box(event)).unwrap()),
    );
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(200)
}

criterion_group! {
    name = benches;
    config = config();
    targets = verify, sign, validate, parse
}
criterion_main!(benches);
