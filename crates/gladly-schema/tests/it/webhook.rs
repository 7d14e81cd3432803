//! The generated `Webhook` against realistic subscription documents.

use gladly_schema::{EventType, Secret, Webhook, webhook};
use serde_json::{Value, json};

/// Parses `document` into a `Webhook` and serializes it back.
fn round_trip(document: &Value) -> Value {
    let webhook: Webhook = serde_json::from_value(document.clone()).unwrap();
    serde_json::to_value(&webhook).unwrap()
}

#[test]
fn all_fields_round_trip() {
    let document = json!({
        "id": "wh_01HZX3",
        "url": "https://hooks.example.com/gladly?tenant=acme",
        "events": ["CONVERSATION_CLOSED", "MESSAGE_CREATED"],
        "secret": "whsec_example_0123456789abcdef",
        "active": true,
        "createdAt": "2026-11-26T17:00:00Z",
        "modifiedAt": "2026-11-26T17:05:00.250Z"
    });
    assert_eq!(round_trip(&document), document);
}

#[test]
fn only_required_fields_round_trip() {
    let document = json!({
        "id": "wh_1",
        "url": "https://hooks.example.com/gladly",
        "events": []
    });
    assert_eq!(round_trip(&document), document);
}

#[test]
fn every_event_type_round_trips() {
    let names: Vec<String> = EventType::ALL.iter().map(ToString::to_string).collect();
    let document = json!({"id": "wh_1", "url": "https://h.example/x", "events": names});
    assert_eq!(round_trip(&document), document);
}

#[test]
fn event_type_display_and_from_str_use_wire_names() {
    assert_eq!(EventType::ALL.len(), 10);
    for event in EventType::ALL {
        let wire = event.to_string();
        assert_eq!(wire.parse::<EventType>().unwrap(), event);
        assert_eq!(serde_json::to_value(event).unwrap(), Value::String(wire));
    }
    assert_eq!(
        EventType::ConversationCreated.to_string(),
        "CONVERSATION_CREATED"
    );
    assert!("conversation_created".parse::<EventType>().is_err());
}

#[test]
fn event_type_all_follows_the_schema_enum() {
    let schema: Value = serde_json::from_str(webhook::SCHEMA).unwrap();
    let from_schema: Vec<&str> = schema["properties"]["events"]["items"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let ours: Vec<String> = EventType::ALL.iter().map(ToString::to_string).collect();
    assert_eq!(ours, from_schema);
}

#[test]
fn debug_never_shows_the_secret() {
    let webhook: Webhook = serde_json::from_value(json!({
        "id": "wh_1",
        "url": "https://hooks.example.com/gladly",
        "events": ["TASK_CLOSED"],
        "secret": "s3cr3t-value-that-must-not-leak"
    }))
    .unwrap();
    for rendered in [format!("{webhook:?}"), format!("{webhook:#?}")] {
        assert!(!rendered.contains("s3cr3t"), "{rendered}");
        assert!(rendered.contains("[REDACTED]"), "{rendered}");
    }
    assert_eq!(
        webhook.secret.as_ref().map(Secret::expose),
        Some("s3cr3t-value-that-must-not-leak")
    );
}

#[test]
fn schema_constants_match_the_vendored_file() {
    let vendored = include_str!("../../../../schemas/gladly-webhook-schema.json");
    assert_eq!(webhook::SCHEMA, vendored);
    assert_eq!(webhook::SCHEMA_SHA256.len(), 64);
}
