//! What can go wrong, typed: a body refused locally, Gladly's error
//! answers, the transport.

use std::fmt;

use gladly_webhook_core::validate::ValidationReport;
use serde::Deserialize;

use crate::rate_limit::RateLimit;

/// One entry of Gladly's error body: the field (`attr`), a code and a
/// sentence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ApiError {
    /// The field the problem is about, when there is one.
    #[serde(default)]
    pub attr: Option<String>,
    /// A short code (`blank`, `invalid`, `taken`...).
    #[serde(default)]
    pub code: Option<String>,
    /// What is wrong.
    #[serde(default)]
    pub detail: Option<String>,
}

/// Gladly's error body, `{"errors": [...]}`, or the start of whatever else
/// the answer held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiErrors {
    /// The entries, in order.
    pub errors: Vec<ApiError>,
    /// The answer's text (its first 300 characters, escaped) when it was
    /// not Gladly's error body.
    pub other: Option<String>,
}

impl ApiErrors {
    /// Reads an error answer's body.
    pub(crate) fn parse(body: &[u8]) -> Self {
        #[derive(Deserialize)]
        struct Body {
            errors: Vec<ApiError>,
        }
        match serde_json::from_slice::<Body>(body) {
            Ok(parsed) => Self {
                errors: parsed.errors,
                other: None,
            },
            Err(_) if body.is_empty() => Self::default(),
            Err(_) => Self {
                errors: Vec::new(),
                other: Some(gladly_webhook_core::echo::escape(
                    &String::from_utf8_lossy(body),
                    300,
                )),
            },
        }
    }
}

/// The most characters of one of the server's words shown in a message.
const SHOWN: usize = 300;
/// The most entries of an error body shown in a message.
const SHOWN_ENTRIES: usize = 20;

/// The server's words as a message shows them: control characters
/// (escape sequences, CR, LF) escaped, so nothing the server sent can move
/// a terminal's cursor, retitle it or forge a line; shortened.
fn shown(text: &str) -> String {
    gladly_webhook_core::echo::escape(text, SHOWN)
}

impl fmt::Display for ApiErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.errors.is_empty() {
            return f.write_str(self.other.as_deref().unwrap_or("(no details)"));
        }
        for (i, error) in self.errors.iter().take(SHOWN_ENTRIES).enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            if let Some(attr) = &error.attr {
                write!(f, "{}: ", shown(attr))?;
            }
            f.write_str(
                &error
                    .detail
                    .as_deref()
                    .map_or_else(|| "(no detail)".to_string(), shown),
            )?;
            if let Some(code) = &error.code {
                write!(f, " ({})", shown(code))?;
            }
        }
        if self.errors.len() > SHOWN_ENTRIES {
            write!(f, "; and {} more", self.errors.len() - SHOWN_ENTRIES)?;
        }
        Ok(())
    }
}

/// Why a call did not succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The body was refused before it was sent.
    #[error("the webhook is not valid (nothing was sent):\n{0}")]
    Invalid(ValidationReport),
    /// 401: the API user or token is wrong.
    #[error("401: check the API user and token")]
    Unauthorized,
    /// 403: the API user may not do this.
    #[error("403: the API user may not do this: {0}")]
    Forbidden(ApiErrors),
    /// 404: no such webhook (or route).
    #[error("404: not found: {0}")]
    NotFound(ApiErrors),
    /// 400: Gladly refused the request; each entry names its field.
    #[error("400: {0}")]
    BadRequest(ApiErrors),
    /// 429, still, after the retries of the [`crate::RetryPolicy`].
    #[error("429: the rate limit was still exceeded after {retries} retries")]
    RateLimited {
        /// Retries made.
        retries: u32,
        /// The limit the last answer announced.
        limit: Option<RateLimit>,
    },
    /// Any other status.
    #[error("HTTP {status}: {errors}")]
    Status {
        /// The status.
        status: u16,
        /// What the answer said.
        errors: ApiErrors,
    },
    /// The API could not be reached, or did not answer in time.
    #[error("cannot reach the API at {base}: {reason}")]
    Transport {
        /// The base URL.
        base: String,
        /// Why (connection refused, timeout, TLS...).
        reason: String,
    },
    /// An answer this client cannot read.
    #[error("the API answered something this client cannot read: {0}")]
    Decode(String),
    /// The client's own configuration (the base URL...).
    #[error("{0}")]
    Config(String),
}

impl ClientError {
    /// A request to `base` that got no answer, said without the URL (the
    /// base is said already) and without a connection error's detail.
    pub(crate) fn transport(base: &str, err: reqwest::Error) -> Self {
        let reason = if err.is_timeout() {
            "no answer in time".to_string()
        } else if err.is_connect() {
            "the connection failed (refused, unreachable, or TLS)".to_string()
        } else if err.is_redirect() {
            "too many redirects".to_string()
        } else {
            err.without_url().to_string()
        };
        Self::Transport {
            base: base.to_string(),
            reason,
        }
    }
}
