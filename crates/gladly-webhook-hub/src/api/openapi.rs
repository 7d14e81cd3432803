//! The OpenAPI 3.1 document of this API: `schemas/openapi/gladly-hub-api.json`
//! as checked in, which references the vendored JSON Schemas by `$ref`,
//! served with those schemas bundled in.

use std::sync::OnceLock;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use serde_json::Value;

/// The document as checked in.
const SOURCE: &str = include_str!("../../../../schemas/openapi/gladly-hub-api.json");

/// The external schemas the document references, and the component each
/// becomes when bundled.
const BUNDLED: [(&str, &str, &str); 2] = [
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
    let mut doc: Value = match serde_json::from_str(SOURCE) {
        Ok(doc) => doc,
        Err(err) => {
            return serde_json::json!({ "error": format!("the OpenAPI document does not parse: {err}") });
        }
    };
    rewrite_refs(&mut doc);
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (_, component, text) in BUNDLED {
            if let Ok(schema) = serde_json::from_str::<Value>(text) {
                schemas.insert(component.to_string(), schema);
            }
        }
    }
    doc
}

fn rewrite_refs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get_mut("$ref") {
                for (file, component, _) in BUNDLED {
                    if let Some(rest) = target.strip_prefix(file) {
                        let pointer = rest.strip_prefix('#').unwrap_or(rest);
                        *target = format!("#/components/schemas/{component}{pointer}");
                        break;
                    }
                }
            }
            map.values_mut().for_each(rewrite_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

/// `GET /api/v1/openapi.json`.
pub(super) async fn serve() -> Response {
    static DOCUMENT: OnceLock<Vec<u8>> = OnceLock::new();
    let body =
        DOCUMENT.get_or_init(|| serde_json::to_vec_pretty(&openapi_document()).unwrap_or_default());
    let mut response = (StatusCode::OK, body.clone()).into_response();
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
