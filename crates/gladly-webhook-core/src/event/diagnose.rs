//! Why a payload of a known type does not fit its schema: walks the vendored
//! event schema (the same text the types were generated from) over the
//! payload, and reports each problem at its JSON pointer.
//!
//! It covers the keywords the event schemas use: `$ref` (to `#/$defs/...`),
//! `oneOf`, `type`, `const`, `enum`, `required`, `properties`, `items` and
//! `format: date-time`.

use serde_json::Value;

use super::Problem;
use crate::echo;
use crate::formats::is_date_time;
use crate::model::Model;
use crate::validate::ErrorCode;

/// A problem with its kind, as the walker finds it.
#[cfg_attr(not(feature = "validate"), allow(dead_code))]
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub(crate) pointer: String,
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
}

/// The problems of `payload` against `branch`, a branch of `model`'s event
/// schema (whose `$defs` its references point into).
pub(crate) fn diagnose(model: Model, branch: &Value, payload: &Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    walk(
        model.event_schema(),
        branch,
        payload,
        &mut String::new(),
        &mut problems,
    );
    problems
        .into_iter()
        .map(|found| Problem {
            pointer: found.pointer,
            message: found.message,
        })
        .collect()
}

/// The problems of `value` against the whole schema `root` (its `$defs`
/// resolve references), with their kinds.
#[cfg_attr(not(feature = "validate"), allow(dead_code))]
pub(crate) fn diagnose_document(root: &Value, value: &Value) -> Vec<Found> {
    let mut problems = Vec::new();
    walk(root, root, value, &mut String::new(), &mut problems);
    problems
}

fn walk(
    root: &Value,
    schema: &Value,
    value: &Value,
    pointer: &mut String,
    problems: &mut Vec<Found>,
) {
    let mut add = |pointer: &str, code: ErrorCode, message: String| {
        problems.push(Found {
            pointer: pointer.to_string(),
            code,
            message,
        })
    };
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        match reference
            .strip_prefix("#/$defs/")
            .and_then(|name| root["$defs"].get(name))
        {
            Some(target) => walk(root, target, value, pointer, problems),
            None => add(
                pointer,
                ErrorCode::Type,
                format!("the schema's reference {reference} does not resolve"),
            ),
        }
        return;
    }
    if let Some(branches) = schema.get("oneOf").and_then(Value::as_array) {
        // The value must fit exactly one branch; report the problems of the
        // branch it comes closest to fitting: the fewest problems at the
        // value itself (a wrong type, a missing property), then the fewest
        // in all.
        let mut best: Option<((usize, usize), Vec<Found>)> = None;
        let mut fits = 0;
        for branch in branches {
            let mut found = Vec::new();
            walk(root, branch, value, pointer, &mut found);
            if found.is_empty() {
                fits += 1;
            }
            let here = found.iter().filter(|p| p.pointer == *pointer).count();
            let score = (here, found.len());
            if best.as_ref().is_none_or(|(b, _)| score < *b) {
                best = Some((score, found));
            }
        }
        let best = best.map(|(_, problems)| problems);
        match fits {
            1 => {}
            0 => problems.extend(best.unwrap_or_default()),
            _ => problems.push(Found {
                pointer: pointer.clone(),
                code: ErrorCode::Type,
                message: format!("fits {fits} of the schema's alternatives, expected exactly one"),
            }),
        }
        return;
    }
    if let Some(expected) = schema.get("const") {
        if value != expected {
            add(
                pointer,
                ErrorCode::Enum,
                format!("expected {expected}, found {}", describe(value)),
            );
        }
        return;
    }
    if let Some(expected) = schema.get("type").and_then(Value::as_str)
        && !has_type(value, expected)
    {
        add(
            pointer,
            ErrorCode::Type,
            format!("expected {}, found {}", article(expected), describe(value)),
        );
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let names: Vec<String> = allowed.iter().map(Value::to_string).collect();
        add(
            pointer,
            ErrorCode::Enum,
            format!(
                "expected one of {}, found {}",
                names.join(", "),
                describe(value)
            ),
        );
        return;
    }
    if schema.get("format").and_then(Value::as_str) == Some("date-time")
        && let Some(text) = value.as_str()
        && !is_date_time(text)
    {
        add(
            pointer,
            ErrorCode::Format,
            format!("expected an RFC 3339 date-time, found {}", describe(value)),
        );
    }
    if schema.get("format").and_then(Value::as_str) == Some("uri")
        && let Some(text) = value.as_str()
        && fluent_uri::Uri::parse(text).is_err()
    {
        add(
            pointer,
            ErrorCode::Format,
            format!("expected an absolute URI, found {}", describe(value)),
        );
    }
    if let Value::Object(object) = value {
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = name.as_str()
                && !object.contains_key(name)
            {
                add(
                    pointer,
                    ErrorCode::Required,
                    format!("missing required property \"{name}\""),
                );
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        if let Some(properties) = properties {
            for (name, subschema) in properties {
                if let Some(child) = object.get(name) {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&name.replace('~', "~0").replace('/', "~1"));
                    walk(root, subschema, child, pointer, problems);
                    pointer.truncate(len);
                }
            }
        }
        // `additionalProperties` as a schema: every other property fits it.
        if let Some(extra) = schema.get("additionalProperties").filter(|s| s.is_object()) {
            for (name, child) in object {
                if properties.is_some_and(|p| p.contains_key(name)) {
                    continue;
                }
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&name.replace('~', "~0").replace('/', "~1"));
                walk(root, extra, child, pointer, problems);
                pointer.truncate(len);
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (index, item) in items.iter().enumerate() {
            let len = pointer.len();
            pointer.push_str(&format!("/{index}"));
            walk(root, item_schema, item, pointer, problems);
            pointer.truncate(len);
        }
    }
}

fn has_type(value: &Value, expected: &str) -> bool {
    match expected {
        "string" => value.is_string(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "boolean" => value.is_boolean(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        "null" => value.is_null(),
        _ => true,
    }
}

fn article(kind: &str) -> String {
    match kind {
        "object" | "array" | "integer" => format!("an {kind}"),
        "null" => kind.to_string(),
        _ => format!("a {kind}"),
    }
}

/// A value for a message: its kind and, for scalars, the value.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {}", echo::quote(s)),
        Value::Array(items) => format!(
            "an array of {} item{}",
            items.len(),
            if items.len() == 1 { "" } else { "s" }
        ),
        Value::Object(_) => "an object".to_string(),
    }
}
