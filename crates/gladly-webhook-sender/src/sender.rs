//! [`Sender`]: one event to one URL, with Gladly's rules.

use std::fmt;
use std::time::{Duration, Instant};

use chrono::Utc;
use gladly_webhook_core::address::{AddressPolicy, AddressRefused};
use gladly_webhook_core::echo::escape;
use gladly_webhook_core::standard_webhooks::{
    StandardSigner, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP,
};
use gladly_webhook_core::{Secret, Signer};
use http::{HeaderName, HeaderValue, StatusCode};

use crate::error::SenderError;
use crate::report::{Attempt, Failure, Outcome, Report};
use crate::resolve::{PolicyResolver, refusal_in};
use crate::schedule::Schedule;

/// Gladly's per-attempt timeout: 15 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// How much of a response body an [`Attempt`] keeps: 200 bytes.
pub const BODY_PREFIX: usize = 200;

/// Delivers events as Gladly does: a `POST` of the JSON with
/// `Content-Type: application/json`, signed afresh (a new `Gladly-Time`
/// and signature) on every attempt, the same body (and so the same event
/// `id`) each time; a per-attempt timeout (15 s); success is a 2xx and
/// nothing else; a 3xx is a failure and never followed; `410 Gone` stops
/// at once; a `429` or `503` with `Retry-After` waits that long, at most
/// twice the schedule's next wait; after the schedule's last attempt it
/// gives up.
///
/// ```no_run
/// use gladly_webhook_sender::{Schedule, Sender};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let sender = Sender::new(b"whsec_example_0123456789abcdef")?.schedule(Schedule::Gladly);
/// let body = br#"{"id":"evt_1","type":"CONVERSATION_CLOSED","timestamp":"2026-11-26T17:00:00Z",
///     "initiator":{"id":"agent_42","type":"AGENT"},
///     "content":{"customerId":"cust_7","conversationId":"conv_9","context":{"assignee":{"inboxId":"inbox_1"}}}}"#;
/// let report = sender
///     .deliver("https://example.com/hooks/gladly", body, |attempt| eprintln!("{attempt}"))
///     .await?;
/// println!("{:?} after {} attempts", report.outcome, report.attempts.len());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    addresses: AddressPolicy,
    signer: Option<Signer>,
    /// Standard Webhooks signing: the keys and the message's id.
    standard: Option<(StandardSigner, String)>,
    headers: Vec<(HeaderName, HeaderValue)>,
    schedule: Schedule,
    timeout: Duration,
    time_scale: f64,
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("signer", &self.signer)
            .field("addresses", &self.addresses)
            .field("schedule", &self.schedule)
            .field("timeout", &self.timeout)
            .field("time_scale", &self.time_scale)
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// A sender signing with `secret`, on Gladly's schedule and timeout,
    /// that connects only to globally routable addresses
    /// ([`AddressPolicy::public_only`]; see [`Sender::address_policy`]).
    ///
    /// TLS is rustls; its crypto is the process's default provider, and
    /// `ring` is installed as that default when there is none.
    pub fn new(secret: impl AsRef<[u8]>) -> Result<Self, SenderError> {
        let signer = Signer::new(secret)?;
        let addresses = AddressPolicy::public_only();
        Ok(Self {
            client: client(&addresses)?,
            addresses,
            signer: Some(signer),
            standard: None,
            headers: Vec::new(),
            schedule: Schedule::Gladly,
            timeout: DEFAULT_TIMEOUT,
            time_scale: 1.0,
        })
    }

    /// A sender that does not sign: Gladly's REST API 1.0 webhooks are not
    /// signed, they carry Basic credentials ([`Sender::basic_auth`]) and
    /// headers ([`Sender::secret_header`]). Gladly's schedule and timeout,
    /// public addresses only.
    ///
    /// ```
    /// use gladly_webhook_core::Secret;
    /// use gladly_webhook_sender::Sender;
    ///
    /// let sender = Sender::unsigned()?
    ///     .basic_auth("gladly", &Secret::new("pa:ss"))?
    ///     .secret_header("X-Gladly-Token", &Secret::new("tok_123"))?;
    /// let request = sender.signed_request("https://example.com/hooks", b"{}")?;
    /// assert_eq!(request.headers()["authorization"], "Basic Z2xhZGx5OnBhOnNz");
    /// assert!(request.headers()["authorization"].is_sensitive());
    /// assert!(!request.headers().contains_key("gladly-authorization"));
    /// # Ok::<(), gladly_webhook_sender::SenderError>(())
    /// ```
    pub fn unsigned() -> Result<Self, SenderError> {
        let addresses = AddressPolicy::public_only();
        Ok(Self {
            client: client(&addresses)?,
            addresses,
            signer: None,
            standard: None,
            headers: Vec::new(),
            schedule: Schedule::Gladly,
            timeout: DEFAULT_TIMEOUT,
            time_scale: 1.0,
        })
    }

    /// Sends HTTP Basic credentials with every request, as a REST API 1.0
    /// webhook's `credentials` are sent. The value is marked sensitive:
    /// printed requests show it as `[REDACTED]`.
    pub fn basic_auth(self, user: &str, password: &Secret) -> Result<Self, SenderError> {
        use base64::Engine as _;
        let pair = zeroize::Zeroizing::new(format!("{user}:{}", password.expose()));
        let encoded = zeroize::Zeroizing::new(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair.as_bytes())
        ));
        self.secret_header(
            http::header::AUTHORIZATION.as_str(),
            &Secret::new(encoded.as_str()),
        )
    }

    /// Sends `name: value` with every request, the value marked sensitive
    /// (a REST API 1.0 webhook's `headers`, e.g. `X-Gladly-Token`).
    pub fn secret_header(mut self, name: &str, value: &Secret) -> Result<Self, SenderError> {
        let name = HeaderName::try_from(name).map_err(|_| SenderError::Header(escape(name, 64)))?;
        let mut value = HeaderValue::try_from(value.expose())
            .map_err(|_| SenderError::Header(format!("the value of {name}")))?;
        value.set_sensitive(true);
        self.headers.push((name, value));
        Ok(self)
    }

    /// Whether requests are signed (Gladly's HMAC request signing).
    pub fn signs(&self) -> bool {
        self.signer.is_some()
    }

    /// The same sender signing with another secret: it shares this one's
    /// HTTP client (so its connection pool), headers, schedule, timeout and
    /// time scale. A service delivering to many subscriptions builds one
    /// sender and derives one per subscription, cheaply.
    ///
    /// ```
    /// use gladly_webhook_sender::Sender;
    ///
    /// let base = Sender::new("whsec_base_0123456789abcdef")?;
    /// let per_subscription = base.with_secret("whsec_other_0123456789abcdef")?;
    /// let request = per_subscription.signed_request("https://example.com/hooks", b"{}")?;
    /// assert!(request.headers().contains_key("gladly-authorization"));
    /// # Ok::<(), gladly_webhook_sender::SenderError>(())
    /// ```
    pub fn with_secret(&self, secret: impl AsRef<[u8]>) -> Result<Self, SenderError> {
        let mut signer = Signer::new(secret)?;
        if let Some(current) = &self.signer {
            for name in current.extra_headers() {
                signer = signer.sign_header(name.clone())?;
            }
        }
        Ok(Self {
            client: self.client.clone(),
            addresses: self.addresses.clone(),
            signer: Some(signer),
            standard: None,
            headers: self.headers.clone(),
            schedule: self.schedule.clone(),
            timeout: self.timeout,
            time_scale: self.time_scale,
        })
    }

    /// The same sender without a signature and without its headers: it
    /// shares this one's HTTP client (so its connection pool), address
    /// rule, schedule, timeout and time scale. A service delivering REST
    /// API 1.0 webhooks derives one per webhook and adds that webhook's
    /// credentials and headers.
    ///
    /// ```
    /// use gladly_webhook_core::Secret;
    /// use gladly_webhook_sender::Sender;
    ///
    /// let base = Sender::new("whsec_base_0123456789abcdef")?;
    /// let plain = base.without_signing().secret_header("X-Gladly-Token", &Secret::new("t"))?;
    /// let request = plain.signed_request("https://example.com/hooks", b"{}")?;
    /// assert!(!request.headers().contains_key("gladly-authorization"));
    /// assert_eq!(request.headers()["x-gladly-token"], "t");
    /// # Ok::<(), gladly_webhook_sender::SenderError>(())
    /// ```
    pub fn without_signing(&self) -> Self {
        Self {
            client: self.client.clone(),
            addresses: self.addresses.clone(),
            signer: None,
            standard: None,
            headers: Vec::new(),
            schedule: self.schedule.clone(),
            timeout: self.timeout,
            time_scale: self.time_scale,
        }
    }

    /// The same sender without Gladly's signature and without its headers,
    /// signing as Standard Webhooks do instead (`webhook-id: message_id`, a
    /// fresh `webhook-timestamp` and `webhook-signature` on every attempt,
    /// one entry per key of `signer`, which may be a single
    /// [`StandardKey`](gladly_webhook_core::standard_webhooks::StandardKey)):
    /// what the hub's operational events and the relay's destinations
    /// carry. It shares this one's HTTP
    /// client, address rule, schedule, timeout and time scale.
    ///
    /// ```
    /// use gladly_webhook_core::standard_webhooks::StandardKey;
    /// use gladly_webhook_sender::Sender;
    ///
    /// let key = StandardKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// let sender = Sender::unsigned()?.standard_webhooks(key, "msg_1");
    /// let request = sender.signed_request("https://example.com/ops", b"{}")?;
    /// assert_eq!(request.headers()["webhook-id"], "msg_1");
    /// assert!(request.headers()["webhook-signature"].to_str()?.starts_with("v1,"));
    /// assert!(!request.headers().contains_key("gladly-authorization"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn standard_webhooks(&self, signer: impl Into<StandardSigner>, message_id: &str) -> Self {
        Self {
            standard: Some((signer.into(), message_id.to_string())),
            ..self.without_signing()
        }
    }

    /// Connects only to addresses `policy` allows (default: globally
    /// routable ones only). The rule is applied to every address a host
    /// name resolves to, at connect time (so DNS rebinding and every
    /// spelling of an address meet it), and to an address literal before
    /// anything is sent; a refused attempt reports [`Failure::Refused`].
    ///
    /// ```
    /// use gladly_webhook_core::address::AddressPolicy;
    /// use gladly_webhook_sender::Sender;
    ///
    /// // A developer tool delivering to a receiver on this machine.
    /// let sender = Sender::new("whsec_example_0123456789abcdef")?
    ///     .address_policy(AddressPolicy::public_only().allow_loopback(true))?;
    /// # Ok::<(), gladly_webhook_sender::SenderError>(())
    /// ```
    pub fn address_policy(mut self, policy: AddressPolicy) -> Result<Self, SenderError> {
        self.client = client(&policy)?;
        self.addresses = policy;
        Ok(self)
    }

    /// The addresses this sender connects to.
    pub fn addresses(&self) -> &AddressPolicy {
        &self.addresses
    }

    /// Retries on `schedule` (default [`Schedule::Gladly`]).
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Gives each attempt `timeout` to answer (default 15 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Multiplies every wait (the schedule's and `Retry-After`'s) by
    /// `factor`: `0.001` turns Gladly's hour into 3.6 seconds, for tests.
    pub fn time_scale(mut self, factor: f64) -> Self {
        self.time_scale = if factor.is_finite() && factor >= 0.0 {
            factor
        } else {
            1.0
        };
        self
    }

    /// Sends `name: value` with every request.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, SenderError> {
        let name = HeaderName::try_from(name).map_err(|_| SenderError::Header(escape(name, 64)))?;
        let value = HeaderValue::try_from(value)
            .map_err(|_| SenderError::Header(format!("the value of {name}")))?;
        self.headers.push((name, value));
        Ok(self)
    }

    /// Also signs header `name` (it must be sent: see [`Sender::header`]).
    /// An unsigned sender has nothing to sign it with: an error.
    pub fn sign_header(mut self, name: HeaderName) -> Result<Self, SenderError> {
        let signer = self.signer.take().ok_or_else(|| {
            SenderError::Header(format!(
                "{name} cannot be signed: this sender does not sign"
            ))
        })?;
        self.signer = Some(signer.sign_header(name)?);
        Ok(self)
    }

    /// The request one attempt sends at this moment, signed when the
    /// sender signs: for a dry run. Credentials are marked sensitive.
    pub fn signed_request(
        &self,
        url: &str,
        body: &[u8],
    ) -> Result<http::Request<Vec<u8>>, SenderError> {
        let url = parse_url(url)?;
        self.sign(&url, body.to_vec())
    }

    fn sign(&self, url: &url::Url, body: Vec<u8>) -> Result<http::Request<Vec<u8>>, SenderError> {
        let mut target = url.path().to_string();
        if let Some(query) = url.query() {
            target.push('?');
            target.push_str(query);
        }
        let mut request = http::Request::post(target)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body)
            .map_err(|e| SenderError::Url(e.to_string()))?;
        if let Some(host) = url.host_str() {
            let host = match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_string(),
            };
            if let Ok(value) = HeaderValue::try_from(host) {
                request.headers_mut().insert(http::header::HOST, value);
            }
        }
        for (name, value) in &self.headers {
            request.headers_mut().append(name.clone(), value.clone());
        }
        if let Some(signer) = &self.signer {
            signer.sign_request_at(&mut request, Utc::now())?;
        }
        if let Some((signer, id)) = &self.standard {
            let signed = signer.headers(id, Utc::now().timestamp(), request.body())?;
            let headers = request.headers_mut();
            for (name, value) in [
                (WEBHOOK_ID, signed.id),
                (WEBHOOK_TIMESTAMP, signed.timestamp.to_string()),
                (WEBHOOK_SIGNATURE, signed.signature),
            ] {
                let value = HeaderValue::try_from(value)
                    .map_err(|_| SenderError::Header(name.to_string()))?;
                headers.insert(HeaderName::from_static(name), value);
            }
        }
        Ok(request)
    }

    /// Delivers `body` to `url`, calling `on_attempt` after each attempt.
    pub async fn deliver(
        &self,
        url: &str,
        body: &[u8],
        mut on_attempt: impl FnMut(&Attempt),
    ) -> Result<Report, SenderError> {
        let url = parse_url(url)?;
        let total = self.schedule.attempts();
        let mut attempts = Vec::with_capacity(total);
        for number in 1..=total {
            let mut attempt = self.attempt(&url, body, number).await?;
            attempt.of = total;
            let status = attempt
                .status
                .map(StatusCode::from_u16)
                .and_then(Result::ok);
            let outcome = match status {
                Some(s) if s.is_success() => Some(Outcome::Delivered),
                Some(StatusCode::GONE) => Some(Outcome::Gone),
                _ => None,
            };
            if outcome.is_none() {
                attempt.next_in = self.schedule.wait(number + 1).map(|wait| {
                    let wait = match (attempt.retry_after, self.schedule.bound(number + 1)) {
                        (Some(asked), Some(bound)) => asked.min(bound.saturating_mul(2)),
                        _ => wait,
                    };
                    // A scale that would overflow waits as long as there is.
                    Duration::try_from_secs_f64(wait.as_secs_f64() * self.time_scale)
                        .unwrap_or(Duration::MAX)
                });
            }
            on_attempt(&attempt);
            let next_in = attempt.next_in;
            attempts.push(attempt);
            if let Some(outcome) = outcome {
                return Ok(Report { outcome, attempts });
            }
            let Some(wait) = next_in else {
                break;
            };
            tokio::time::sleep(wait).await;
        }
        Ok(Report {
            outcome: Outcome::GaveUp,
            attempts,
        })
    }

    async fn attempt(
        &self,
        url: &url::Url,
        body: &[u8],
        number: usize,
    ) -> Result<Attempt, SenderError> {
        let signed = self.sign(url, body.to_vec())?;
        let (parts, body) = signed.into_parts();
        let mut request = self
            .client
            .post(url.clone())
            .timeout(self.timeout)
            .body(body);
        for (name, value) in &parts.headers {
            if name != http::header::HOST {
                request = request.header(name, value);
            }
        }
        let started = Instant::now();
        let mut attempt = Attempt {
            number,
            status: None,
            error: None,
            failure: None,
            duration: Duration::ZERO,
            body: String::new(),
            retry_after: None,
            of: 0,
            next_in: None,
        };
        if let Some(refused) = self.refuse_literal(url) {
            attempt.error = Some(refused.to_string());
            attempt.failure = Some(Failure::Refused(refused));
            return Ok(attempt);
        }
        match request.send().await {
            Ok(mut response) => {
                let status = response.status();
                attempt.status = Some(status.as_u16());
                if status == StatusCode::TOO_MANY_REQUESTS
                    || status == StatusCode::SERVICE_UNAVAILABLE
                {
                    attempt.retry_after = response
                        .headers()
                        .get(http::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after);
                }
                let mut prefix = Vec::new();
                while prefix.len() < BODY_PREFIX {
                    match tokio::time::timeout(self.timeout, response.chunk()).await {
                        Ok(Ok(Some(chunk))) => prefix.extend_from_slice(&chunk),
                        _ => break,
                    }
                }
                prefix.truncate(BODY_PREFIX);
                attempt.body = escape(&String::from_utf8_lossy(&prefix), BODY_PREFIX);
            }
            Err(err) if err.is_timeout() => {
                attempt.error = Some(format!("no answer within {} ms", self.timeout.as_millis()));
                attempt.failure = Some(Failure::Unreachable);
            }
            Err(err) => match refusal_in(&err) {
                Some(refused) => {
                    attempt.error = Some(refused.to_string());
                    attempt.failure = Some(Failure::Refused(refused));
                }
                // Without the URL: its query may hold a credential, and the
                // caller knows where it sent.
                None => {
                    attempt.error = Some(escape(&error_chain(&err.without_url()), 300));
                    attempt.failure = Some(Failure::Unreachable);
                }
            },
        }
        attempt.duration = started.elapsed();
        Ok(attempt)
    }
}

impl Sender {
    /// The refusal of a URL whose host is an address literal the policy
    /// refuses (names are judged by the resolver, at connect time).
    fn refuse_literal(&self, url: &url::Url) -> Option<AddressRefused> {
        let ip = match url.host()? {
            url::Host::Ipv4(ip) => std::net::IpAddr::V4(ip),
            url::Host::Ipv6(ip) => std::net::IpAddr::V6(ip),
            url::Host::Domain(_) => return None,
        };
        self.addresses.check(ip).err()
    }
}

/// The HTTP client: rustls with `ring`, no redirects, no proxy, and every
/// resolved address checked against `addresses`.
fn client(addresses: &AddressPolicy) -> Result<reqwest::Client, SenderError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(std::sync::Arc::new(PolicyResolver::new(addresses.clone())))
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(32)
        .user_agent(concat!("gladly-webhook-sender/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SenderError::Client(e.to_string()))
}

fn parse_url(url: &str) -> Result<url::Url, SenderError> {
    let shown = escape(&gladly_webhook_core::echo::redact_url(url), 200);
    let parsed = url::Url::parse(url).map_err(|e| match e {
        // `127.0.0.1:8080/hooks`, `example.com/hooks`: no scheme.
        url::ParseError::RelativeUrlWithoutBase => SenderError::Url(format!(
            "{shown}: expected an absolute URL with its scheme, such as http://{shown} or https://{shown}"
        )),
        other => SenderError::Url(format!("{shown}: {other}")),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(SenderError::Url(format!(
            "{shown}: expected an http or https URL with a host"
        )));
    }
    Ok(parsed)
}

/// `Retry-After` as seconds or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds.min(86_400)));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&Utc) - Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// An error with its causes, as one line.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {

    #[test]
    fn next_attempt_waits_read_at_once() {
        let words = |ms: u64| crate::report::next_in_words(Duration::from_millis(ms));
        assert_eq!(words(30_000), "30 s");
        assert_eq!(words(1_500), "1.5 s");
        assert_eq!(words(300), "0.3 s");
        assert_eq!(words(300_000), "5 min");
        assert_eq!(words(90_000), "1 min 30 s");
        assert_eq!(words(3_600_000), "1 h");
    }

    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
