//! What keeps the pages safe to open: a Content-Security-Policy without
//! inline script, no framing, no caching, a CSRF token on every form that
//! changes something, the `Host` names a page answers to (against DNS
//! rebinding), and a login for a page served beyond this machine.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
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
    /// A page login that cannot be used (never holds the password).
    #[error("the page's login: {0}")]
    Login(String),
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

/// The `Host` names a page answers to: a request naming any other is
/// refused (403), so that a web page whose domain an attacker rebinds to
/// this machine's address cannot read the page or take its CSRF token.
///
/// ```
/// use gladly_webhook_inspector::security::AllowedHosts;
///
/// let hosts = AllowedHosts::local("127.0.0.1:8081".parse().unwrap()).with("inspector.internal:8081");
/// assert!(hosts.allows("127.0.0.1:8081") && hosts.allows("localhost:8081") && hosts.allows("[::1]:8081"));
/// assert!(hosts.allows("INSPECTOR.internal:8081"));
/// assert!(!hosts.allows("attacker.example:8081") && !hosts.allows("localhost:9999"));
/// assert!(AllowedHosts::loopback().allows("localhost:1234"));
/// ```
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    /// Exact `host[:port]` values, lowercase.
    names: Arc<[String]>,
    /// Whether `localhost`, `127.0.0.1` and `[::1]` are allowed on any port.
    loopback_any_port: bool,
}

impl AllowedHosts {
    /// `localhost`, `127.0.0.1` and `[::1]`, on any port: what a page
    /// mounted in an application answers to unless told otherwise.
    pub fn loopback() -> Self {
        Self {
            names: Arc::from([]),
            loopback_any_port: true,
        }
    }

    /// A page listening on `addr`: `localhost`, `127.0.0.1` and `[::1]`
    /// with its port, and `addr` itself.
    pub fn local(addr: SocketAddr) -> Self {
        let port = addr.port();
        let mut names: Vec<String> = ["localhost", "127.0.0.1", "[::1]"]
            .iter()
            .map(|host| format!("{host}:{port}"))
            .collect();
        if !addr.ip().is_unspecified() {
            names.push(addr.to_string());
        }
        Self {
            names: names.into(),
            loopback_any_port: false,
        }
    }

    /// Also `host` (`name:port`, or `name` for port 80), as the operator
    /// names how people reach the page.
    pub fn with(self, host: &str) -> Self {
        let mut names = self.names.to_vec();
        names.push(host.trim().to_ascii_lowercase());
        Self {
            names: names.into(),
            loopback_any_port: self.loopback_any_port,
        }
    }

    /// Whether a request whose `Host` is `host` is answered.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        if self.names.contains(&host) {
            return true;
        }
        if !self.loopback_any_port {
            return false;
        }
        let name = match host.rsplit_once(':') {
            Some((name, port))
                if !name.is_empty()
                    && port.bytes().all(|b| b.is_ascii_digit())
                    && !host.ends_with(']') =>
            {
                name
            }
            _ => host.as_str(),
        };
        matches!(name, "localhost" | "127.0.0.1" | "[::1]")
    }
}

/// Middleware: refuses (403) a request whose `Host` the [`AllowedHosts`]
/// do not name, or that has none.
pub async fn check_host(
    State(hosts): State<AllowedHosts>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()));
    match host {
        Some(host) if hosts.allows(host) => next.run(request).await,
        _ => (
            StatusCode::FORBIDDEN,
            "refused: this page answers only to the host names it was started with (see --ui-host)",
        )
            .into_response(),
    }
}

/// The user name and password a page served beyond this machine asks for
/// (HTTP Basic), checked as a receiver checks Gladly's Basic credentials
/// (a digest compared in constant time). `Debug` shows neither.
#[derive(Clone)]
pub struct PageLogin(gladly_webhook_core::auth::DeliveryAuth);

impl PageLogin {
    /// The login `user:password` (the first colon separates them; the
    /// password may hold more); an error for a pair without a colon, or
    /// with an empty user or password.
    pub fn parse(pair: &gladly_webhook_core::Secret) -> Result<Self, InspectorError> {
        match pair.expose().split_once(':') {
            Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                gladly_webhook_core::auth::DeliveryAuth::basic_pair(pair)
                    .map(Self)
                    .map_err(|err| InspectorError::Login(err.to_string()))
            }
            _ => Err(InspectorError::Login(
                "expected `user:password`, with neither empty".to_string(),
            )),
        }
    }

    /// Whether the request carries this login.
    fn admits(&self, request: &Request) -> bool {
        self.0
            .check(request.method(), request.uri(), request.headers(), b"")
            .is_ok()
    }
}

impl std::fmt::Debug for PageLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageLogin(****)")
    }
}

/// Middleware: answers 401 with a Basic challenge unless the request
/// carries the [`PageLogin`].
pub async fn require_login(
    State(login): State<PageLogin>,
    request: Request,
    next: Next,
) -> Response {
    if login.admits(&request) {
        return next.run(request).await;
    }
    let mut answer = (StatusCode::UNAUTHORIZED, "log in to see this page").into_response();
    answer.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"gladly-webhook inspector\", charset=\"UTF-8\""),
    );
    answer
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

/// `router` behind a page's guards: the login when there is one, then the
/// host check, then the security headers on every answer.
#[cfg(any(feature = "receiver", feature = "hub"))]
pub(crate) fn guarded(
    mut router: axum::Router,
    hosts: AllowedHosts,
    login: Option<PageLogin>,
) -> axum::Router {
    if let Some(login) = login {
        router = router.layer(axum::middleware::from_fn_with_state(login, require_login));
    }
    router
        .layer(axum::middleware::from_fn_with_state(hosts, check_host))
        .layer(axum::middleware::from_fn(headers))
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
