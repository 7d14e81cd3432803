//! Request bodies: read under the size limit, then read as JSON.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use gladly_webhook_server::body::{BodyError, BodyLimits, read_body};
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Map, Value};

use super::error::ApiError;
use super::state::Shared;

/// A request's JSON body, read under the API's limits ([`read`]): its
/// bytes as sent, and its members (400 when it is not JSON, 422 when it is
/// not an object).
pub(crate) struct JsonObject {
    /// The body as sent.
    pub(crate) bytes: Vec<u8>,
    /// Its members.
    pub(crate) fields: Map<String, Value>,
}

impl FromRequest<Arc<Shared>> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(request: Request, shared: &Arc<Shared>) -> Result<Self, ApiError> {
        let JsonBytes(bytes) = JsonBytes::from_request(request, shared).await?;
        let fields = object(&bytes)?;
        Ok(Self { bytes, fields })
    }
}

/// A request's JSON body as sent, read under the API's limits ([`read`]),
/// for a dialect that validates the bytes as they are.
pub(crate) struct JsonBytes(pub(crate) Vec<u8>);

impl FromRequest<Arc<Shared>> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(request: Request, shared: &Arc<Shared>) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        Ok(Self(read(&parts.headers, body, &shared.body).await?))
    }
}

/// How much of a body over the limit is read and dropped before the 413
/// is answered, so a client still writing it reads the answer rather than
/// a reset connection (a "lingering close"). Beyond this, or after
/// [`DRAIN_TIME`], the connection is closed.
const DRAIN_BYTES: usize = 4 << 20;
/// How long a body over the limit is drained at most.
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// The body's bytes, or 413 when it is over the limit (checked on
/// `Content-Length` first, then while reading), 408 when it does not
/// arrive whole in time, 503 when the bodies being read fill the budget.
///
/// A body must be declared `Content-Type: application/json` (or a
/// `+json` type), else 415: a browser sends `text/plain`, form and
/// multipart bodies across sites with cached Basic credentials, and none of
/// them may write.
pub(crate) async fn read(
    headers: &HeaderMap,
    body: Body,
    limits: &BodyLimits,
) -> Result<Vec<u8>, ApiError> {
    if !is_json(headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as Content-Type: application/json",
        ));
    }
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut body = body;
    match read_body(&mut body, declared, limits).await {
        Ok((bytes, _reserved)) => Ok(bytes.to_vec()),
        Err(err @ BodyError::TooLarge { limit }) => {
            drain(&mut body, 0).await;
            Err(ApiError::new(
                err.status(),
                "body_too_large",
                format!("the body must be at most {limit} bytes"),
            ))
        }
        Err(err @ BodyError::Timeout { .. }) => Err(ApiError::new(
            err.status(),
            "body_timeout",
            format!("{err}; send it faster"),
        )),
        Err(err @ BodyError::Busy) => Err(ApiError::new(err.status(), "busy", err.to_string())),
        Err(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "body_unreadable",
            "the request body could not be read",
        )),
    }
}

/// Whether the request declares a JSON body: `application/json` or
/// `application/...+json`, any parameters (`charset=utf-8`) allowed.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
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
pub(crate) fn json(bytes: &[u8]) -> Result<Value, ApiError> {
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
pub(crate) fn object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
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
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
