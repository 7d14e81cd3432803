//! What keeps the pages safe to open: a Content-Security-Policy without
//! inline script, no framing, no caching, and a CSRF token on every form
//! that changes something.

use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use subtle::ConstantTimeEq;

/// Why an inspector page could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InspectorError {
    /// The operating system's random source failed: no CSRF token.
    #[error("the operating system's random source failed: {0}")]
    Random(String),
}

/// The policy every answer carries: scripts, styles, requests and forms to
/// the page's own origin only; no inline script, no plugin, no frame.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'";

/// The token a page's forms carry and its `POST` handlers check: random,
/// one per server, compared in constant time. Another site cannot read it
/// (the pages send no CORS headers), so it cannot forge a form.
#[derive(Clone)]
pub struct CsrfToken(Arc<str>);

impl CsrfToken {
    /// A new token from the operating system's random source (32 bytes).
    pub fn generate() -> Result<Self, InspectorError> {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes).map_err(|err| InspectorError::Random(err.to_string()))?;
        Ok(Self(Arc::from(hex::encode(bytes))))
    }

    /// The token, for a form's hidden field.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `given` is the token and the request is not from another
    /// origin (an `Origin` header, when sent, must name the `Host`).
    pub fn check(&self, headers: &HeaderMap, given: &str) -> Result<(), CsrfRefused> {
        let same = self.0.as_bytes().ct_eq(given.as_bytes()).into();
        let origin_ok = match (
            headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
            headers.get(header::HOST).and_then(|v| v.to_str().ok()),
        ) {
            (Some(origin), Some(host)) => {
                origin == format!("http://{host}") || origin == format!("https://{host}")
            }
            (Some(_), None) => false,
            (None, _) => true,
        };
        if same && origin_ok {
            Ok(())
        } else {
            Err(CsrfRefused)
        }
    }
}

/// A form without the page's token, or from another origin: answered 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsrfRefused;

impl IntoResponse for CsrfRefused {
    fn into_response(self) -> Response {
        (
            StatusCode::FORBIDDEN,
            "refused: this form did not come from this page (reload it and try again)",
        )
            .into_response()
    }
}

impl std::fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfToken(****)")
    }
}

/// Middleware: the security headers on every answer.
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_and_the_origin_are_checked() {
        let token = CsrfToken::generate().unwrap();
        let mut headers = HeaderMap::new();
        assert!(token.check(&headers, token.as_str()).is_ok());
        assert!(token.check(&headers, "nope").is_err());
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8081"));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8081"),
        );
        assert!(token.check(&headers, token.as_str()).is_ok());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(token.check(&headers, token.as_str()).is_err());
        assert_eq!(format!("{token:?}"), "CsrfToken(****)");
    }
}
