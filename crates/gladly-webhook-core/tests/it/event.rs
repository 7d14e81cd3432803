//! Typed events: every example payload parses, agrees with the event schema
//! (checked by the `jsonschema` crate), and the two schemas stay in step.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use gladly_webhook_core::event::{EventError, ParsedEvent, event_types, parse_event};
use gladly_webhook_core::{Event, EventType};
use serde_json::{Value, json};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/events")
}

/// Every example event: (file name, bytes).
fn examples() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(examples_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn event_schema() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(gladly_schema::event::SCHEMA).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

/// A validator for the `oneOf` branch of `event_type` alone: the whole
/// schema's `oneOf` reports its failures at the root, a branch at their
/// places.
fn branch_schema(event_type: &str) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(gladly_schema::event::SCHEMA).unwrap();
    let mut branch = schema["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["properties"]["type"]["const"] == event_type)
        .unwrap()
        .clone();
    branch["$defs"] = schema["$defs"].clone();
    branch["$schema"] = schema["$schema"].clone();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&branch)
        .unwrap()
}

/// The JSON pointers at which `jsonschema` rejects `payload` (empty: valid).
fn schema_errors(validator: &jsonschema::Validator, payload: &Value) -> BTreeSet<String> {
    validator
        .iter_errors(payload)
        .map(|e| e.instance_path().as_str().to_string())
        .collect()
}

#[test]
fn there_is_one_example_per_event_type_and_all_fit_the_schema() {
    let validator = event_schema();
    let mut seen = BTreeSet::new();
    for (name, bytes) in examples() {
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        assert!(
            validator.is_valid(&value),
            "{name}: {:?}",
            schema_errors(&validator, &value)
        );
        let parsed = parse_event(&bytes).unwrap();
        let ParsedEvent::Known(event) = &parsed else {
            panic!("{name} parsed as unknown")
        };
        assert_eq!(event.event_type(), value["type"], "{name}");
        assert_eq!(
            name,
            format!(
                "{}.json",
                event.event_type().to_lowercase().replace('_', "-")
            )
        );
        seen.insert(event.event_type().to_string());
    }
    let all: BTreeSet<String> = event_types().map(str::to_string).collect();
    assert_eq!(seen, all, "an example for every event type");
}

#[test]
fn examples_round_trip_through_the_typed_event() {
    for (name, bytes) in examples() {
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        let ParsedEvent::Known(event) = parse_event(&bytes).unwrap() else {
            panic!("{name}")
        };
        assert_eq!(serde_json::to_value(&event).unwrap(), value, "{name}");
    }
}

#[test]
fn event_schema_types_match_the_subscription_enum() {
    let from_event_schema: Vec<&str> = event_types().filter(|t| *t != "PING").collect();
    let from_subscription: Vec<String> = EventType::ALL.iter().map(ToString::to_string).collect();
    assert_eq!(from_event_schema, from_subscription);
}

#[test]
fn envelope_accessors() {
    let bytes = fs::read(examples_dir().join("conversation-closed.json")).unwrap();
    let parsed = parse_event(&bytes).unwrap();
    assert_eq!(parsed.event_type(), "CONVERSATION_CLOSED");
    assert_eq!(parsed.id(), Some("evt_0001"));
    assert_eq!(
        parsed.timestamp().unwrap().to_rfc3339(),
        "2026-11-26T17:00:00+00:00"
    );
    assert_eq!(parsed.initiator().unwrap().type_, "AGENT");
    let ParsedEvent::Known(Event::ConversationClosed { content, .. }) = parsed else {
        panic!()
    };
    assert_eq!(
        content.context.assignee.agent_id.as_deref(),
        Some("agent_42")
    );

    let ping = parse_event(br#"{"type":"PING"}"#).unwrap();
    assert_eq!(
        (ping.event_type(), ping.id(), ping.timestamp()),
        ("PING", None, None)
    );
}

#[test]
fn unknown_types_are_kept_whole() {
    let payload = json!({"id": "evt_9", "type": "CONVERSATION_REOPENED", "timestamp": "2026-11-26T17:00:00Z",
        "content": {"anything": [1, 2]}});
    let parsed = parse_event(payload.to_string().as_bytes()).unwrap();
    let ParsedEvent::Unknown(unknown) = &parsed else {
        panic!("{parsed:?}")
    };
    assert_eq!(unknown.event_type, "CONVERSATION_REOPENED");
    assert_eq!(unknown.raw, payload);
    assert_eq!(parsed.id(), Some("evt_9"));
    assert!(parsed.timestamp().is_some());
}

#[test]
fn unknown_properties_are_ignored_everywhere() {
    let mut value: Value =
        serde_json::from_slice(&fs::read(examples_dir().join("message-created.json")).unwrap())
            .unwrap();
    value["newTopLevel"] = json!({"x": 1});
    value["content"]["newField"] = json!("y");
    value["content"]["context"]["assignee"]["teamId"] = json!("team_1");
    assert!(event_schema().is_valid(&value));
    assert!(matches!(
        parse_event(value.to_string().as_bytes()).unwrap(),
        ParsedEvent::Known(Event::MessageCreated { .. })
    ));
}

#[test]
fn malformed_payloads_name_the_pointer_jsonschema_names() {
    let whole = event_schema();
    let validator = branch_schema("TASK_UPDATED");
    let base: Value =
        serde_json::from_slice(&fs::read(examples_dir().join("task-updated.json")).unwrap())
            .unwrap();
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "/content/taskId",
            Box::new(|v| v["content"]["taskId"] = json!(7)),
        ),
        (
            "/content/context",
            Box::new(|v| v["content"]["context"].as_object_mut().unwrap().clear()),
        ),
        (
            "/content/context/createdAt",
            Box::new(|v| v["content"]["context"]["createdAt"] = json!("yesterday")),
        ),
        (
            "/content/dueAt",
            Box::new(|v| v["content"]["dueAt"] = json!("2026-11-28T12:00Z")),
        ),
        (
            "/content/assignee/inboxId",
            Box::new(|v| v["content"]["assignee"]["inboxId"] = json!(null)),
        ),
        ("/content", Box::new(|v| v["content"] = json!([]))),
        (
            "",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("initiator");
            }),
        ),
        (
            "/initiator/type",
            Box::new(|v| v["initiator"]["type"] = json!(false)),
        ),
        (
            "/timestamp",
            Box::new(|v| v["timestamp"] = json!(1764176400)),
        ),
        ("/id", Box::new(|v| v["id"] = json!(["evt"]))),
    ];
    for (pointer, mutate) in cases {
        let mut value = base.clone();
        mutate(&mut value);
        let theirs = schema_errors(&validator, &value);
        assert!(
            !theirs.is_empty(),
            "jsonschema accepts the case for {pointer}"
        );
        assert!(!whole.is_valid(&value));
        let err = parse_event(value.to_string().as_bytes()).unwrap_err();
        assert_eq!(err.pointer(), pointer, "{err}");
        let EventError::Malformed { problems, .. } = &err else {
            panic!("{err:?}")
        };
        let ours: BTreeSet<String> = problems.iter().map(|p| p.pointer.clone()).collect();
        assert_eq!(ours, theirs, "{err}");
    }
    let value = json!({"type": "AGENT_STATE_CHANGED", "id": "e", "timestamp": "2026-11-26T17:00:00Z",
        "initiator": {"id": "a", "type": "AGENT"},
        "content": {"agentId": "a", "occurredAt": "2026-11-26T17:00:00Z", "change": "NAPPING", "availableFor": ["MAIL", "FAX"]}});
    let err = parse_event(value.to_string().as_bytes()).unwrap_err();
    insta::assert_snapshot!("malformed_agent_state", err);
    let EventError::Malformed { problems, .. } = &err else {
        panic!()
    };
    let ours: BTreeSet<String> = problems.iter().map(|p| p.pointer.clone()).collect();
    assert_eq!(
        ours,
        schema_errors(&branch_schema("AGENT_STATE_CHANGED"), &value)
    );
}

#[test]
fn payloads_that_are_not_events() {
    let cases: [(&[u8], &str); 7] = [
        (b"", ""),
        (b"{\"type\":", ""),
        (b"[]", ""),
        (b"\"PING\"", ""),
        (b"{}", "/type"),
        (b"{\"type\":null}", "/type"),
        (b"{\"type\":7,\"id\":\"x\"}", "/type"),
    ];
    for (bytes, pointer) in cases {
        let err = parse_event(bytes).unwrap_err();
        assert_eq!(err.pointer(), pointer, "{err}");
    }
    assert_eq!(
        parse_event(b"{}").unwrap_err().to_string(),
        "/type: expected a string naming the event type, found nothing"
    );
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
        let _ = parse_event(&bytes);
    }
}

// Gladly's REST API 1.0: the samples `trigger` sends (in the CLI crate).

fn rest_samples() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../gladly-webhook-cli/samples/rest-api-v1-events.json");
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

fn rest_event_schema() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(gladly_schema::rest::event::SCHEMA).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

#[test]
fn every_rest_type_round_trips_through_its_typed_event() {
    use gladly_webhook_core::Model;
    let validator = rest_event_schema();
    let mut seen = BTreeSet::new();
    for sample in rest_samples() {
        let event_type = sample["type"].as_str().unwrap().to_string();
        let errors: Vec<String> = validator
            .iter_errors(&sample)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{event_type}: {errors:?}");
        let parsed = parse_event(&serde_json::to_vec(&sample).unwrap()).unwrap();
        assert_eq!(parsed.model(), Some(Model::RestApiV1), "{event_type}");
        let ParsedEvent::Rest(event) = parsed else {
            panic!("{event_type} is not typed as REST API 1.0")
        };
        assert_eq!(event.event_type(), event_type);
        assert_eq!(event.id(), sample["id"].as_str());
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            sample,
            "{event_type}"
        );
        seen.insert(event_type);
    }
    let all: BTreeSet<String> = Model::RestApiV1
        .event_types()
        .filter(|t| *t != "PING")
        .map(str::to_string)
        .collect();
    assert_eq!(seen, all, "a sample for every REST API 1.0 type");
    assert_eq!(all.len(), 52);
}

#[test]
fn rest_event_schema_types_match_the_webhook_enum() {
    use gladly_schema::rest;
    use gladly_webhook_core::Model;
    let from_event_schema: Vec<&str> = Model::RestApiV1
        .event_types()
        .filter(|t| *t != "PING")
        .collect();
    let mut from_webhook: Vec<String> = rest::EventType::ALL
        .iter()
        .map(ToString::to_string)
        .collect();
    let mut sorted = from_event_schema.clone();
    sorted.sort();
    from_webhook.sort();
    assert_eq!(sorted, from_webhook);
    assert!(from_webhook.contains(&"CUSTOMER_PROFILE/MERGED".to_string()));
}

#[test]
fn rest_envelope_unknown_types_and_problems() {
    let body = json!({"id": "evt_r1", "type": "TASK/ASSIGNEE_UPDATED",
        "timestamp": "2019-07-03T04:30:12.07Z", "initiator": {"id": "agent_1", "type": "AGENT", "extra": 1},
        "content": {"assignee": {"inboxId": "inbox_2", "agentId": "agent_2"}, "customerId": "c", "taskId": "t",
                    "context": {"createdAt": "2019-07-01T00:00:00Z"}, "newField": [1, 2]},
        "newEnvelopeField": true});
    let parsed = parse_event(&serde_json::to_vec(&body).unwrap()).unwrap();
    assert_eq!(parsed.event_type(), "TASK/ASSIGNEE_UPDATED");
    assert_eq!(parsed.id(), Some("evt_r1"));
    assert_eq!(
        parsed.timestamp().unwrap().to_rfc3339(),
        "2019-07-03T04:30:12.070+00:00"
    );
    let initiator = parsed.initiator().unwrap();
    assert_eq!(
        (initiator.id.as_str(), initiator.type_.as_str()),
        ("agent_1", "AGENT")
    );

    // A NOUN/VERB neither model knows is an unknown event, not an error.
    let newer = parse_event(br#"{"id":"e","type":"CONVERSATION/ARCHIVED","content":{}}"#).unwrap();
    assert!(matches!(newer, ParsedEvent::Unknown(_)));
    assert_eq!(newer.model(), None);

    // A malformed known type names the pointer, as for our user's model.
    let mut broken = body.clone();
    broken["content"]["assignee"] = json!({"agentId": "a"});
    let err = parse_event(&serde_json::to_vec(&broken).unwrap()).unwrap_err();
    assert_eq!(err.pointer(), "/content/assignee");
    assert!(
        err.to_string()
            .contains("missing required property \"inboxId\""),
        "{err}"
    );

    // The custom channel's content is one of two shapes.
    let mut files = json!({"id": "e", "type": "CUSTOM_CHANNEL/MESSAGE_SENT", "timestamp": "2019-07-03T04:30:12Z",
        "initiator": {"id": "a", "type": "AGENT"},
        "content": {"customChannelId": "ch", "companyAddress": "a", "customerAddress": "b", "conversationId": "c",
                    "customerId": "d", "sessionId": "s", "messageId": "m", "type": "FILES",
                    "content": {"caption": "x", "files": [{"url": "https://files.example.com/a.pdf"}]}}});
    assert!(matches!(
        parse_event(&serde_json::to_vec(&files).unwrap()).unwrap(),
        ParsedEvent::Rest(_)
    ));
    files["content"]["content"] = json!({"files": [{"fileName": "a.pdf"}]});
    let err = parse_event(&serde_json::to_vec(&files).unwrap()).unwrap_err();
    assert_eq!(err.pointer(), "/content/content/files/0", "{err}");

    // PING is recognised whichever model sends it.
    for ping in [
        &br#"{"type":"PING"}"#[..],
        br#"{"type":"PING","id":"p","timestamp":"2026-11-26T17:00:00Z"}"#,
    ] {
        assert!(parse_event(ping).unwrap().is_ping());
    }
}
