//! Bodies for Gladly's webhook routes (REST API 1.0, `/api/v1/webhooks`):
//! the vendored REST webhook schema walked over the body, then, under
//! [`Level::Strict`], the same URL and event rules as our user's model.
//! The report is the one [`super::validate_json`] gives.

use std::sync::OnceLock;

use serde_json::Value;

use super::rules::{Problems, check_delivery_url};
use super::{ErrorCode, Level, Policy, ValidationReport};
use crate::echo;
use crate::event::diagnose::diagnose_document;
use crate::model::Model;

/// Which request the body is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RestBody {
    /// `POST /api/v1/webhooks`: `url` and `events` are required.
    Create,
    /// `PATCH /api/v1/webhooks/{id}`: any subset of the fields.
    Update,
}

/// The properties an answer carries and a request may not set.
const READ_ONLY: &[&str] = &[
    "id",
    "createdAt",
    "updatedAt",
    "hasCredentials",
    "headerKeys",
    "disabledAtDueToRetryLimit",
];

/// Headers a webhook's `headers` may not set: the delivery sets them itself
/// (its length, framing, connection and host, its JSON content type, the
/// Basic `credentials`), and another value would break or forge every
/// delivery.
pub const RESERVED_HEADERS: &[&str] = &[
    "authorization",
    "connection",
    "content-length",
    "content-type",
    "expect",
    "host",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// A problem with each header of `headers` that cannot be sent on a
/// delivery. Values are write-only secrets: a message names the header,
/// never its value.
fn check_headers(problems: &mut Problems, headers: &serde_json::Map<String, Value>) {
    for (name, value) in headers {
        let pointer = format!("/headers/{}", name.replace('~', "~0").replace('/', "~1"));
        match http::HeaderName::from_bytes(name.as_bytes()) {
            Err(_) => problems.add(
                (0, 0),
                pointer.clone(),
                ErrorCode::HeaderName,
                format!(
                    "expected an HTTP header name (letters, digits and !#$%&'*+-.^_`|~), found {}",
                    echo::quote(name)
                ),
            ),
            Ok(parsed) if RESERVED_HEADERS.contains(&parsed.as_str()) => problems.add(
                (0, 0),
                pointer.clone(),
                ErrorCode::HeaderName,
                format!(
                    "expected a header the delivery does not set itself, found {} (reserved: {})",
                    echo::quote(name),
                    RESERVED_HEADERS.join(", ")
                ),
            ),
            Ok(_) => {}
        }
        if let Some(text) = value.as_str()
            && http::HeaderValue::from_str(text).is_err()
        {
            problems.add(
                (0, 0),
                pointer,
                ErrorCode::HeaderValue,
                "expected a header value of visible characters, spaces and tabs, found one with a NUL, CR, LF or another control character (the value is not shown)".to_string(),
            );
        }
    }
}

fn schema(body: RestBody) -> &'static Value {
    static CREATE: OnceLock<Value> = OnceLock::new();
    static UPDATE: OnceLock<Value> = OnceLock::new();
    let parsed = || -> Value {
        serde_json::from_str(Model::RestApiV1.webhook_schema_text())
            .expect("the vendored REST webhook schema is JSON")
    };
    match body {
        RestBody::Create => CREATE.get_or_init(parsed),
        RestBody::Update => UPDATE.get_or_init(|| {
            let mut schema = parsed();
            if let Some(object) = schema.as_object_mut() {
                object.remove("required");
            }
            schema
        }),
    }
}

/// Checks a body for Gladly's webhook routes: `Ok` with the body as JSON,
/// or every problem at its JSON pointer. Read-only properties (`id`,
/// `createdAt`, `hasCredentials`...) are refused: Gladly sets them.
///
/// ```
/// use gladly_webhook_core::validate::{Policy, RestBody, validate_rest_webhook};
///
/// let ok = br#"{"name": "CSAT", "url": "https://example.com/gladly",
///              "events": ["CONVERSATION/CLOSED"], "headers": {"X-Gladly-Token": "t"}}"#;
/// assert!(validate_rest_webhook(ok, &Policy::strict(), RestBody::Create).is_ok());
///
/// let bad = br#"{"url": "http://example.com/", "events": ["CONVERSATION_CLOSED"], "headers": {"X": 1}}"#;
/// let report = validate_rest_webhook(bad, &Policy::strict(), RestBody::Create).unwrap_err();
/// let pointers: Vec<&str> = report.errors().iter().map(|e| e.pointer.as_str()).collect();
/// assert_eq!(pointers, ["/events/0", "/headers/X", "/url"]);
///
/// // A PATCH may name any subset.
/// assert!(validate_rest_webhook(br#"{"enabled": true}"#, &Policy::strict(), RestBody::Update).is_ok());
/// ```
pub fn validate_rest_webhook(
    bytes: &[u8],
    policy: &Policy,
    body: RestBody,
) -> Result<Value, ValidationReport> {
    if bytes.len() > policy.size_limit() {
        return Err(ValidationReport::single(
            "",
            ErrorCode::TooLarge,
            format!(
                "expected a document of at most {} bytes, found {} bytes",
                policy.size_limit(),
                bytes.len()
            ),
        ));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|err| super::not_json(&err))?;
    let mut problems = Problems::default();
    let Some(object) = value.as_object() else {
        return Err(ValidationReport::single(
            "",
            ErrorCode::Type,
            "expected an object".to_string(),
        ));
    };
    for name in READ_ONLY {
        if object.contains_key(*name) {
            problems.add(
                (0, 0),
                format!("/{name}"),
                ErrorCode::Type,
                format!("expected no {name}: Gladly sets it"),
            );
        }
    }
    for found in diagnose_document(schema(body), &value) {
        problems.add((0, 0), found.pointer, found.code, found.message);
    }
    if let Some(headers) = object.get("headers").and_then(Value::as_object) {
        check_headers(&mut problems, headers);
    }
    if policy.level() == Level::Strict {
        if let Some(text) = object.get("url").and_then(Value::as_str)
            && let Ok(uri) = fluent_uri::Uri::parse(text)
        {
            check_delivery_url(&mut problems, 0, text, &uri, policy);
        }
        if let Some(events) = object.get("events").and_then(Value::as_array) {
            if events.is_empty() {
                problems.add(
                    (0, 0),
                    "/events",
                    ErrorCode::EmptyEvents,
                    "expected at least one event type, found an empty array".to_string(),
                );
            }
            for (i, event) in events.iter().enumerate() {
                if let Some(first) = events[..i].iter().position(|e| e == event) {
                    problems.add(
                        (0, i),
                        format!("/events/{i}"),
                        ErrorCode::DuplicateEvent,
                        format!(
                            "expected each event type once, found {} again (first at /events/{first})",
                            echo::quote(event.as_str().unwrap_or_default())
                        ),
                    );
                }
            }
        }
    }
    problems.finish()?;
    Ok(value)
}
