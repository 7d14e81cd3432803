//! Request bodies: read under the size limit, then read as JSON.

use axum::body::Body;
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::{Map, Value};

use super::error::ApiError;

/// The body's bytes, or 413 when it is over `limit` bytes (checked on
/// `Content-Length` first, then while reading).
pub async fn read(headers: &HeaderMap, body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body must be at most {limit} bytes"),
        )
    };
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "body_unreadable",
            "the request body could not be read",
        )),
    }
}

/// The body as JSON, or 400 saying where it stops being JSON.
pub fn json(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|err| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!(
                "the body is not JSON: {}",
                gladly_webhook_core::echo::escape(&err.to_string(), 200)
            ),
        )
    })
}

/// The body as a JSON object, or 400 (not JSON) or 422 (not an object).
pub fn object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match json(bytes)? {
        Value::Object(map) => Ok(map),
        other => Err(ApiError::invalid(
            "the body must be a JSON object",
            vec![super::error::Problem::new(
                "",
                "Type",
                format!("expected an object, found {}", kind(&other)),
            )],
        )),
    }
}

/// A value's JSON type, in words.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
