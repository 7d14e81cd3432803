//! Payloads made from an event schema: the smallest one each type allows
//! (only what its branch requires, recursively) and a full one (every
//! property it describes), so a test follows the schema as it changes.

use serde_json::{Map, Value, json};

/// How much of a schema to fill in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// Only the required properties.
    Smallest,
    /// Every property the schema describes.
    Full,
}

/// One payload per branch of `schema`'s `oneOf` (but `PING`): its type and
/// the payload, with `id` (where the payload has one) made unique by
/// `id_prefix` and the branch's position.
pub fn payloads(schema: &str, fill: Fill, id_prefix: &str) -> Vec<(String, Value)> {
    let root: Value = serde_json::from_str(schema).expect("the schema is JSON");
    let branches = root["oneOf"].as_array().expect("oneOf");
    branches
        .iter()
        .enumerate()
        .filter_map(|(n, branch)| {
            let event_type = branch["properties"]["type"]["const"].as_str()?.to_string();
            if event_type == "PING" {
                return None;
            }
            let mut payload = instance(&root, branch, fill);
            if let Some(id) = payload.get_mut("id") {
                *id = json!(format!("{id_prefix}_{n:02}"));
            }
            Some((event_type, payload))
        })
        .collect()
}

/// An instance of `schema` (a sub-schema of `root`).
fn instance(root: &Value, schema: &Value, fill: Fill) -> Value {
    if let Some(pointer) = schema["$ref"].as_str() {
        let target = root
            .pointer(pointer.trim_start_matches('#'))
            .expect("a $ref into the document");
        return instance(root, target, fill);
    }
    if let Some(value) = schema.get("const") {
        return value.clone();
    }
    if let Some(first) = schema["enum"].as_array().and_then(|values| values.first()) {
        return first.clone();
    }
    if let Some(first) = schema["oneOf"]
        .as_array()
        .and_then(|branches| branches.first())
    {
        return instance(root, first, fill);
    }
    match schema["type"].as_str() {
        Some("object") => {
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|names| names.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut object = Map::new();
            if let Some(properties) = schema["properties"].as_object() {
                for (name, property) in properties {
                    if fill == Fill::Full || required.contains(&name.as_str()) {
                        object.insert(name.clone(), instance(root, property, fill));
                    }
                }
            }
            Value::Object(object)
        }
        Some("array") => match fill {
            Fill::Full if schema.get("items").is_some() => {
                json!([instance(root, &schema["items"], fill)])
            }
            _ => json!([]),
        },
        Some("number") => json!(49.99),
        Some("integer") => json!(7),
        Some("boolean") => json!(true),
        _ if schema["format"] == "date-time" => json!("2026-11-26T17:00:00.07Z"),
        Some("string") => json!("x1"),
        // A property of no declared type (`matchReasons`' items).
        _ => json!("anything"),
    }
}
