//! [`Client`]: one method per webhook route.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gladly_schema::rest::Webhook;
use gladly_webhook_core::validate::{Policy, RestBody, validate_rest_webhook};
use http::{HeaderMap, Method, StatusCode, header};
use serde_json::Value;

use crate::error::{ApiErrors, ClientError};
use crate::events::{EventStream, EventsQuery, STREAM_TIMEOUT, rfc3339};
use crate::rate_limit::RateLimit;
use crate::retry::RetryPolicy;
use crate::user::ApiUser;

/// How long a call may take by default (connecting, sending, reading).
const TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer read.
const MAX_ANSWER: usize = 8 << 20;
/// Redirects followed, on the same host only.
const MAX_REDIRECTS: usize = 3;

/// A client of Gladly's webhook API. Cheap to clone: clones share the
/// connection pool and the rate limit seen.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: url::Url,
    user: ApiUser,
    retry: RetryPolicy,
    policy: Policy,
    limit: Arc<Mutex<Option<(RateLimit, Instant)>>>,
    /// A call's whole time, and a stream's longest wait between reads.
    timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("user", &self.user)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client of the API at `base` (`https://acme.gladly.com`; `http`
    /// only to a loopback address, such as a local hub) as `user`, with a
    /// 30 s timeout, [`RetryPolicy::default`] and strict validation.
    pub fn new(base: &str, user: ApiUser) -> Result<Self, ClientError> {
        Self::with_timeout(base, user, TIMEOUT)
    }

    /// [`Client::new`] with another timeout per call. An Events API stream
    /// ([`Client::events`]) is not bounded by it whole, but each of its
    /// reads is, and the whole by [`STREAM_TIMEOUT`].
    pub fn with_timeout(base: &str, user: ApiUser, timeout: Duration) -> Result<Self, ClientError> {
        let base = parse_base(base)?;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let origin = base.origin();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    attempt.error("too many redirects")
                } else if attempt.url().origin() == origin {
                    attempt.follow()
                } else {
                    // Another host: not followed (the answer is the 3xx).
                    attempt.stop()
                }
            }))
            .no_proxy()
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .timeout(timeout)
            // Between two reads of an answer: what bounds a stream.
            .read_timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("gladly-webhook-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| ClientError::Config(format!("cannot build the HTTP client: {err}")))?;
        let policy = if base.scheme() == "http" {
            // A local hub: its URLs may point at loopback too.
            Policy::strict().allow_insecure_localhost(true)
        } else {
            Policy::strict()
        };
        Ok(Self {
            http,
            base,
            user,
            retry: RetryPolicy::default(),
            policy,
            limit: Arc::new(Mutex::new(None)),
            timeout,
        })
    }

    /// Sets how a `429` is retried.
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the rules bodies are validated with before they are sent
    /// (default [`Policy::strict`]; loopback URLs allowed when the base is
    /// a local `http` hub).
    pub fn validation(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        self.base.as_str()
    }

    /// A call's whole time, and a stream's longest wait between reads.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The rate limit the last answer announced, if any.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.limit
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|(limit, _)| limit)
    }

    /// `GET /api/v1/webhooks`: every webhook (without `credentials` and
    /// header values, which Gladly never returns).
    pub async fn list(&self) -> Result<Vec<Webhook>, ClientError> {
        let (_, body) = self.call(Method::GET, "", None).await?;
        decode(&body)
    }

    /// `GET /api/v1/webhooks/{id}`.
    pub async fn get(&self, id: &str) -> Result<Webhook, ClientError> {
        let (_, body) = self.call(Method::GET, &segment(id), None).await?;
        decode(&body)
    }

    /// `POST /api/v1/webhooks`: validates `webhook`, creates it, returns
    /// its id (from `Location`). A new webhook is disabled unless
    /// `enabled` is set.
    pub async fn create(&self, webhook: &Webhook) -> Result<String, ClientError> {
        let value = serde_json::to_value(webhook)
            .map_err(|err| ClientError::Decode(format!("cannot write the webhook: {err}")))?;
        self.create_json(&value).await
    }

    /// [`Client::create`] from JSON (a file, a template), validated the same.
    pub async fn create_json(&self, body: &Value) -> Result<String, ClientError> {
        let bytes = self.validated(body, RestBody::Create)?;
        let (headers, answer) = self.call(Method::POST, "", Some(bytes)).await?;
        let from_location = headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|location| location.rsplit('/').next())
            .filter(|id| !id.is_empty())
            .map(str::to_string);
        let from_body = || {
            serde_json::from_slice::<Value>(&answer)
                .ok()
                .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_string))
        };
        from_location.or_else(from_body).ok_or_else(|| {
            ClientError::Decode("the 201 named no webhook (no Location, no id)".to_string())
        })
    }

    /// `PATCH /api/v1/webhooks/{id}` with the fields in `changes`
    /// (validated: any subset of a webhook's writable fields).
    pub async fn update(&self, id: &str, changes: &Value) -> Result<(), ClientError> {
        let bytes = self.validated(changes, RestBody::Update)?;
        self.call(Method::PATCH, &segment(id), Some(bytes)).await?;
        Ok(())
    }

    /// Enables the webhook (`PATCH {"enabled": true}`): Gladly PINGs its
    /// URL first, which must answer 200.
    pub async fn enable(&self, id: &str) -> Result<(), ClientError> {
        self.update(id, &serde_json::json!({"enabled": true})).await
    }

    /// Disables the webhook (`PATCH {"enabled": false}`).
    pub async fn disable(&self, id: &str) -> Result<(), ClientError> {
        self.update(id, &serde_json::json!({"enabled": false}))
            .await
    }

    /// `DELETE /api/v1/webhooks/{id}`: Gladly refuses (400) to delete an
    /// enabled webhook; disable it first.
    pub async fn delete(&self, id: &str) -> Result<(), ClientError> {
        self.call(Method::DELETE, &segment(id), None).await?;
        Ok(())
    }

    fn validated(&self, body: &Value, kind: RestBody) -> Result<Vec<u8>, ClientError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|err| ClientError::Decode(format!("cannot write the body: {err}")))?;
        validate_rest_webhook(&bytes, &self.policy, kind).map_err(ClientError::Invalid)?;
        Ok(bytes)
    }

    /// One call, retried on 429 as the policy says: the answer's headers
    /// and body on a 2xx, else the typed error.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(HeaderMap, Vec<u8>), ClientError> {
        let url = format!(
            "{}/api/v1/webhooks{path}",
            self.base.as_str().trim_end_matches('/')
        );
        let response = self.send(method, &url, body).await?;
        let headers = response.headers().clone();
        let answer = read_body(response)
            .await
            .map_err(|err| self.transport(err))?;
        Ok((headers, answer))
    }

    /// Sends a request to `url`, retried on 429 as the policy says: the
    /// response of a 2xx, its body unread, else the typed error.
    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<Vec<u8>>,
    ) -> Result<reqwest::Response, ClientError> {
        self.send_within(method, url, body, self.timeout).await
    }

    /// [`Client::send`], the whole answer (a stream's too) within `whole`.
    async fn send_within(
        &self,
        method: Method,
        url: &str,
        body: Option<Vec<u8>>,
        whole: Duration,
    ) -> Result<reqwest::Response, ClientError> {
        let mut retries = 0;
        loop {
            self.wait_for_the_limit().await;
            let mut request = self
                .http
                .request(method.clone(), url)
                .timeout(whole)
                .header(header::AUTHORIZATION, self.user.authorization());
            if let Some(body) = &body {
                request = request
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let response = request.send().await.map_err(|err| self.transport(err))?;
            let status = response.status();
            let headers = response.headers().clone();
            self.note_limit(&headers);
            if status.is_success() {
                return Ok(response);
            }
            let answer = read_body(response)
                .await
                .map_err(|err| self.transport(err))?;
            if status == StatusCode::TOO_MANY_REQUESTS {
                if retries < self.retry.max_retries {
                    let wait = self.retry.wait(retries, retry_after(&headers));
                    tracing::debug!(retries, wait_ms = wait.as_millis() as u64, "429: waiting");
                    tokio::time::sleep(wait).await;
                    retries += 1;
                    continue;
                }
                return Err(ClientError::RateLimited {
                    retries,
                    limit: self.rate_limit(),
                });
            }
            let errors = ApiErrors::parse(&answer);
            return Err(match status {
                StatusCode::BAD_REQUEST => ClientError::BadRequest(errors),
                StatusCode::UNAUTHORIZED => ClientError::Unauthorized,
                StatusCode::FORBIDDEN => ClientError::Forbidden(errors),
                StatusCode::NOT_FOUND => ClientError::NotFound(errors),
                other => ClientError::Status {
                    status: other.as_u16(),
                    errors,
                },
            });
        }
    }

    /// `GET /api/v1/events`: the organization's events in `query`'s window,
    /// read as JSON lines as they arrive ([`EventStream::next`]).
    pub async fn events(&self, query: &EventsQuery) -> Result<EventStream, ClientError> {
        let mut url = url::Url::parse(&format!(
            "{}/api/v1/events",
            self.base.as_str().trim_end_matches('/')
        ))
        .map_err(|err| ClientError::Config(format!("the events URL: {err}")))?;
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("startAt", &rfc3339(query.start_at));
            if let Some(end) = query.end_at {
                pairs.append_pair("endAt", &rfc3339(end));
            }
            for entity in &query.entities {
                pairs.append_pair("entities", entity);
            }
        }
        let started = Instant::now();
        let response = self
            .send_within(Method::GET, url.as_str(), None, STREAM_TIMEOUT)
            .await?;
        Ok(EventStream::new(
            response,
            started,
            self.base().to_string(),
            self.timeout(),
        ))
    }

    /// With no call left in this second, waits for the next one.
    async fn wait_for_the_limit(&self) {
        let wait = {
            let seen = self.limit.lock().unwrap_or_else(|p| p.into_inner());
            match *seen {
                Some((limit, at)) if limit.remaining == Some(0) => {
                    Duration::from_secs(1).saturating_sub(at.elapsed())
                }
                _ => Duration::ZERO,
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    fn note_limit(&self, headers: &HeaderMap) {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u32>().ok())
        };
        let limit = RateLimit {
            limit: number("ratelimit-limit-second"),
            remaining: number("ratelimit-remaining-second"),
        };
        if limit.limit.is_some() || limit.remaining.is_some() {
            *self.limit.lock().unwrap_or_else(|p| p.into_inner()) = Some((limit, Instant::now()));
        }
    }

    pub(crate) fn transport(&self, err: reqwest::Error) -> ClientError {
        ClientError::transport(self.base.as_str(), err)
    }
}

/// A `Retry-After` in seconds.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Reads an answer, at most [`MAX_ANSWER`] bytes.
async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_ANSWER.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room <= chunk.len() {
            break;
        }
    }
    Ok(body)
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ClientError> {
    // serde's message may quote what the server sent: escaped.
    serde_json::from_slice(body).map_err(|err| {
        ClientError::Decode(gladly_webhook_core::echo::escape(&err.to_string(), 300))
    })
}

/// `/{id}`, the id percent-encoded as a path segment.
fn segment(id: &str) -> String {
    let mut url = url::Url::parse("http://x/").expect("a constant URL");
    url.path_segments_mut()
        .expect("an http URL has segments")
        .push(id);
    url.path().to_string()
}

/// The base URL: `https`, or `http` to a loopback address; no query, no
/// user-info.
fn parse_base(base: &str) -> Result<url::Url, ClientError> {
    let shown =
        gladly_webhook_core::echo::escape(&gladly_webhook_core::echo::redact_url(base), 200);
    let url = url::Url::parse(base)
        .map_err(|err| ClientError::Config(format!("the API URL {shown}: {err}")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(ClientError::Config(format!(
                "the API URL {shown}: expected https (http only to a loopback address: the token would travel in clear)"
            )));
        }
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err(ClientError::Config(format!(
            "the API URL {shown}: expected no user-info and no query (the API user is given apart)"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases_and_segments() {
        assert!(parse_base("https://acme.gladly.com").is_ok());
        assert!(parse_base("http://127.0.0.1:8090").is_ok());
        assert!(parse_base("http://localhost:8090/").is_ok());
        assert!(parse_base("http://acme.gladly.com").is_err());
        assert!(parse_base("https://u:p@acme.gladly.com").is_err());
        assert!(parse_base("https://acme.gladly.com/?x=1").is_err());
        assert_eq!(segment("c5yeqK8VTlm9xAXgvq_5-w"), "/c5yeqK8VTlm9xAXgvq_5-w");
        assert_eq!(segment("a/b c"), "/a%2Fb%20c");
    }
}
