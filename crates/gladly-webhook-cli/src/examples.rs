//! The example payloads `trigger` sends, built into the binary: one
//! realistic event per type of both models. Our user's model's are copies
//! of the repository's `examples/events/` kept in `samples/subscription/`
//! by `cargo xtask codegen` (`PING` included, which both models share);
//! Gladly's REST API 1.0's are `samples/rest-api-v1-events.json`.

use std::sync::OnceLock;

use gladly_webhook_core::Model;
use serde_json::Value;

/// Gladly's REST API 1.0 samples: a JSON array, one event per type.
const REST_API_V1: &str = include_str!("../samples/rest-api-v1-events.json");

/// Each of our user's model's event types and its example payload.
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "CONVERSATION_CREATED",
        include_str!("../samples/subscription/conversation-created.json"),
    ),
    (
        "CONVERSATION_UPDATED",
        include_str!("../samples/subscription/conversation-updated.json"),
    ),
    (
        "CONVERSATION_CLOSED",
        include_str!("../samples/subscription/conversation-closed.json"),
    ),
    (
        "MESSAGE_CREATED",
        include_str!("../samples/subscription/message-created.json"),
    ),
    (
        "TASK_CREATED",
        include_str!("../samples/subscription/task-created.json"),
    ),
    (
        "TASK_UPDATED",
        include_str!("../samples/subscription/task-updated.json"),
    ),
    (
        "TASK_CLOSED",
        include_str!("../samples/subscription/task-closed.json"),
    ),
    (
        "CUSTOMER_CREATED",
        include_str!("../samples/subscription/customer-created.json"),
    ),
    (
        "CUSTOMER_UPDATED",
        include_str!("../samples/subscription/customer-updated.json"),
    ),
    (
        "AGENT_STATE_CHANGED",
        include_str!("../samples/subscription/agent-state-changed.json"),
    ),
    ("PING", include_str!("../samples/subscription/ping.json")),
];

/// Gladly's REST API 1.0 samples, type and payload, read once.
fn rest_api_v1() -> &'static [(String, Value)] {
    static SAMPLES: OnceLock<Vec<(String, Value)>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let samples: Vec<Value> =
            serde_json::from_str(REST_API_V1).expect("the built-in samples are a JSON array");
        samples
            .into_iter()
            .map(|sample| {
                let event_type = sample["type"].as_str().unwrap_or_default().to_string();
                (event_type, sample)
            })
            .collect()
    })
}

/// The example of `event_type` in either model, forgiving case and `-` for
/// `_` (`conversation-closed`, `conversation/closed`): its type, its model
/// and its payload.
pub fn example(event_type: &str) -> Option<(&'static str, Model, Value)> {
    let wanted = event_type.trim().to_ascii_uppercase().replace('-', "_");
    if let Some((name, text)) = EXAMPLES.iter().copied().find(|(name, _)| *name == wanted) {
        let payload = serde_json::from_str(text).expect("the built-in examples are JSON");
        return Some((name, Model::Subscription, payload));
    }
    rest_api_v1()
        .iter()
        .find(|(name, _)| *name == wanted)
        .map(|(name, payload)| (name.as_str(), Model::RestApiV1, payload.clone()))
}

/// Every event type with an example, per model.
pub fn example_types(model: Model) -> Vec<&'static str> {
    match model {
        Model::RestApiV1 => rest_api_v1()
            .iter()
            .map(|(name, _)| name.as_str())
            .collect(),
        _ => EXAMPLES.iter().map(|(name, _)| *name).collect(),
    }
}

/// The type with an example closest to `asked` (case and `-` forgiven),
/// when one is close enough to be a slip: at most a third of its letters
/// differ.
pub fn closest_type(asked: &str) -> Option<&'static str> {
    let asked = asked.trim().to_ascii_uppercase().replace('-', "_");
    [Model::Subscription, Model::RestApiV1]
        .into_iter()
        .flat_map(example_types)
        .map(|known| (strsim::levenshtein(&asked, known), known))
        .filter(|(distance, known)| *distance > 0 && *distance * 3 <= known.len())
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, known)| known)
}

#[cfg(test)]
mod tests {
    use gladly_webhook_core::event::{parse_event, schema_problems};

    use super::*;

    /// Every type of every model has an example; each is valid against its
    /// model's event schema (the strict walker and the typed reader both),
    /// and every property it has is one the schema describes.
    #[test]
    fn every_event_type_of_both_models_has_a_valid_example() {
        for model in Model::ALL {
            let types: Vec<&str> = model.event_types().collect();
            for event_type in &types {
                let (name, found_model, payload) =
                    example(event_type).unwrap_or_else(|| panic!("no example for {event_type}"));
                assert_eq!(name, *event_type);
                let problems = schema_problems(&payload);
                assert!(problems.is_empty(), "{event_type}: {problems:?}");
                let parsed = parse_event(&serde_json::to_vec(&payload).unwrap()).unwrap();
                assert_eq!(parsed.event_type(), *event_type);
                if *event_type != "PING" {
                    assert_eq!(found_model, model, "{event_type}");
                    assert_eq!(parsed.model(), Some(model), "{event_type}");
                    assert_described(model.event_schema(), &payload, event_type);
                }
            }
            let with_example = example_types(model).len() + usize::from(model == Model::RestApiV1);
            assert_eq!(with_example, types.len(), "{model}: PING is shared");
        }
        assert_eq!(
            example("conversation-closed").unwrap().0,
            "CONVERSATION_CLOSED"
        );
        assert_eq!(
            example("conversation/closed").unwrap().0,
            "CONVERSATION/CLOSED"
        );
    }

    /// Every object property in `payload` is declared where it is (the
    /// schema allows unknown ones; a sample must not rely on that).
    fn assert_described(schema: &Value, payload: &Value, event_type: &str) {
        let branch = schema["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["properties"]["type"]["const"] == event_type)
            .unwrap();
        walk(schema, branch, payload, event_type);
    }

    fn walk(root: &Value, schema: &Value, value: &Value, at: &str) {
        if let Some(reference) = schema["$ref"].as_str() {
            let name = reference.trim_start_matches("#/$defs/");
            return walk(root, &root["$defs"][name], value, at);
        }
        if let Some(branches) = schema["oneOf"].as_array() {
            // The branch whose required properties the value has.
            let chosen = branches.iter().find(|b| {
                let b = b["$ref"]
                    .as_str()
                    .map_or(*b, |r| &root["$defs"][r.trim_start_matches("#/$defs/")]);
                b["required"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .all(|name| value.get(name.as_str().unwrap()).is_some())
            });
            return walk(root, chosen.expect("a branch fits"), value, at);
        }
        match value {
            Value::Object(object) => {
                let Some(properties) = schema["properties"].as_object() else {
                    return; // an open object
                };
                for (name, child) in object {
                    let declared = properties
                        .get(name)
                        .unwrap_or_else(|| panic!("{at}/{name} is not in the schema"));
                    walk(root, declared, child, &format!("{at}/{name}"));
                }
            }
            Value::Array(items) => {
                for item in items {
                    walk(root, &schema["items"], item, at);
                }
            }
            _ => {}
        }
    }
}
