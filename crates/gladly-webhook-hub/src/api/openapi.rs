//! The OpenAPI 3.1 documents of the hub's two APIs:
//! `openapi/gladly-hub-api.json` (our user's subscription model) and
//! `openapi/gladly-rest-api-v1.json` (the local Gladly) in this crate
//! (copies of the repository's `schemas/openapi/`, kept by `cargo xtask
//! codegen`), which reference the vendored JSON Schemas by `$ref`, served
//! with those schemas bundled in.

use std::sync::OnceLock;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use serde_json::Value;

/// The document as checked in.
const SOURCE: &str = include_str!("../../openapi/gladly-hub-api.json");
/// The local Gladly's document as checked in.
const REST_SOURCE: &str = include_str!("../../openapi/gladly-rest-api-v1.json");

/// An external schema a document references (its file), the component it
/// becomes when bundled, and its text.
type Bundled = (&'static str, &'static str, &'static str);

/// The external schemas the document references.
const BUNDLED: [Bundled; 2] = [
    (
        "../gladly-webhook-schema.json",
        "Webhook",
        gladly_webhook_core::gladly_schema::webhook::SCHEMA,
    ),
    (
        "../gladly-webhook-event-schema.json",
        "Event",
        gladly_webhook_core::gladly_schema::event::SCHEMA,
    ),
];

/// The external schemas the local Gladly's document references.
const REST_BUNDLED: [Bundled; 2] = [
    (
        "../gladly-rest-api-v1-webhook-schema.json",
        "Webhook",
        gladly_webhook_core::gladly_schema::rest::webhook::SCHEMA,
    ),
    (
        "../gladly-rest-api-v1-event-schema.json",
        "Event",
        gladly_webhook_core::gladly_schema::rest::event::SCHEMA,
    ),
];

/// The OpenAPI document with the vendored schemas bundled in: each
/// `components.schemas` entry that referenced a schema file holds that
/// schema, and every `$ref` into a file points at its component instead.
///
/// ```
/// let doc = gladly_webhook_hub::api::openapi_document();
/// assert_eq!(doc["openapi"], "3.1.0");
/// assert_eq!(doc["components"]["schemas"]["Webhook"]["title"], "Gladly Webhook");
/// assert!(!doc.to_string().contains("gladly-webhook-schema.json#"));
/// ```
pub fn openapi_document() -> Value {
    bundle(SOURCE, &BUNDLED)
}

/// The local Gladly's OpenAPI document (REST API 1.0,
/// [`crate::Hub::model`]), bundled as [`openapi_document`] is.
///
/// ```
/// let doc = gladly_webhook_hub::api::rest_openapi_document();
/// assert_eq!(doc["openapi"], "3.1.0");
/// assert_eq!(doc["components"]["schemas"]["Webhook"]["title"], "Webhook");
/// assert!(doc["paths"]["/api/v1/events"]["get"].is_object());
/// ```
pub fn rest_openapi_document() -> Value {
    bundle(REST_SOURCE, &REST_BUNDLED)
}

fn bundle(source: &str, bundled: &[Bundled]) -> Value {
    let mut doc: Value = match serde_json::from_str(source) {
        Ok(doc) => doc,
        Err(err) => {
            return serde_json::json!({ "error": format!("the OpenAPI document does not parse: {err}") });
        }
    };
    rewrite_refs(&mut doc, bundled);
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for &(_, component, text) in bundled {
            if let Ok(mut schema) = serde_json::from_str::<Value>(text) {
                if component == "Event" {
                    let mut publishable = publishable(&schema);
                    if let Some(description) =
                        schemas.get("NewEvent").and_then(|s| s.get("description"))
                    {
                        publishable["description"] = description.clone();
                    }
                    rebase_internal_refs(&mut publishable, "#/components/schemas/NewEvent");
                    schemas.insert("NewEvent".to_string(), publishable);
                }
                // The schema's own references (`#/$defs/...`) are relative
                // to the schema: now they are relative to its component.
                rebase_internal_refs(&mut schema, &format!("#/components/schemas/{component}"));
                schemas.insert(component.to_string(), schema);
            }
        }
    }
    doc
}

/// What `POST /api/v1/events` accepts, from the event schema: every type
/// but `PING`, `id` and `timestamp` optional (the hub fills them in), and a
/// given `id` neither blank nor holding a NUL. The checked-in document's
/// `NewEvent` references the event schema and says so; the served one is
/// exact, so that clients and fuzzers generate only what the hub accepts.
fn publishable(event: &Value) -> Value {
    let mut schema = event.clone();
    if let Some(map) = schema.as_object_mut() {
        map.remove("$id");
        map.remove("$schema");
    }
    if let Some(branches) = schema.get_mut("oneOf").and_then(Value::as_array_mut) {
        branches.retain(|branch| {
            branch.pointer("/properties/type/const") != Some(&Value::from("PING"))
        });
        for branch in branches {
            if let Some(required) = branch.get_mut("required").and_then(Value::as_array_mut) {
                required.retain(|name| name != "id" && name != "timestamp");
            }
            if let Some(id) = branch.pointer_mut("/properties/id") {
                id["pattern"] = Value::from("^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$");
            }
        }
    }
    schema
}

/// Prefixes every document-internal `$ref` (`#...`) in `value` with `base`.
fn rebase_internal_refs(value: &mut Value, base: &str) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get_mut("$ref")
                && let Some(pointer) = target.strip_prefix('#')
            {
                *target = format!("{base}{pointer}");
            }
            map.values_mut().for_each(|v| rebase_internal_refs(v, base));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rebase_internal_refs(v, base)),
        _ => {}
    }
}

fn rewrite_refs(value: &mut Value, bundled: &[Bundled]) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get_mut("$ref") {
                for &(file, component, _) in bundled {
                    if let Some(rest) = target.strip_prefix(file) {
                        let pointer = rest.strip_prefix('#').unwrap_or(rest);
                        *target = format!("#/components/schemas/{component}{pointer}");
                        break;
                    }
                }
            }
            map.values_mut().for_each(|v| rewrite_refs(v, bundled));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, bundled)),
        _ => {}
    }
}

/// `GET /api/v1/openapi.json`.
pub(super) async fn serve() -> Response {
    static DOCUMENT: OnceLock<Vec<u8>> = OnceLock::new();
    json_document(
        DOCUMENT.get_or_init(|| serde_json::to_vec_pretty(&openapi_document()).unwrap_or_default()),
    )
}

/// `GET /api/v1/openapi.json` of the local Gladly.
pub(super) async fn serve_rest() -> Response {
    static DOCUMENT: OnceLock<Vec<u8>> = OnceLock::new();
    json_document(
        DOCUMENT.get_or_init(|| {
            serde_json::to_vec_pretty(&rest_openapi_document()).unwrap_or_default()
        }),
    )
}

fn json_document(body: &[u8]) -> Response {
    let mut response = (StatusCode::OK, body.to_vec()).into_response();
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
