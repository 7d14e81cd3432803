//! Request bodies: read under the size limit, then read as JSON.

use std::time::Duration;

use axum::body::Body;
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Map, Value};

use super::error::ApiError;

/// How much of a body over the limit is read and dropped before the 413
/// is answered, so a client still writing it reads the answer rather than
/// a reset connection (a "lingering close"). Beyond this, or after
/// [`DRAIN_TIME`], the connection is closed.
const DRAIN_BYTES: usize = 4 << 20;
/// How long a body over the limit is drained at most.
const DRAIN_TIME: Duration = Duration::from_secs(2);

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
    let mut body = body;
    if declared.is_some_and(|n| n > limit as u64) {
        drain(&mut body, 0).await;
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "body_unreadable",
                "the request body could not be read",
            ));
        };
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > limit {
                drain(&mut body, bytes.len() + data.len()).await;
                return Err(too_large());
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}

/// Reads and drops what is left of `body`, up to [`DRAIN_BYTES`] in all
/// (`read` of them already) and [`DRAIN_TIME`].
async fn drain(body: &mut Body, read: usize) {
    let drained = async {
        let mut total = read;
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                total += data.len();
                if total > DRAIN_BYTES {
                    return;
                }
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, drained).await;
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
