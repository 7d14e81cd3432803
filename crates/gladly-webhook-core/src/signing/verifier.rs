//! [`Verifier`]: checks a received request's `Gladly-Authorization`.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use hmac::Mac;
use http::request::Parts;
use http::{HeaderMap, Method, Uri};
use sha2::{Digest, Sha256};

use super::authorization::Authorization;
use super::canonical::{self, BufferedSha256, Head, HeaderProblem, hex_sha256};
use super::error::{AuthorizationError, KeyError, VerifyError, VerifyEventError};
use super::key::DailyKey;
use super::scheme::{GLADLY_AUTHORIZATION, GLADLY_TIME};
use super::time;
use crate::echo::escape;
use crate::event::{ParsedEvent, parse_event};

/// The tolerance a new [`Verifier`] allows between `Gladly-Time` and its
/// clock, in either direction: 5 minutes.
pub const DEFAULT_TOLERANCE: std::time::Duration = std::time::Duration::from_secs(300);

type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Verifies signed requests against one or more secrets.
///
/// Several secrets serve a rotation: while it is under way, give the new
/// secret and the old one, and requests signed with either verify;
/// [`Verified::secret_index`] says which matched. The body is hashed once
/// whatever the number of secrets, and each secret's day key is cached.
/// A `Verifier` is `Send + Sync`: build it once and share it.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use gladly_webhook_core::{Secret, Signer, Verifier, VerifyError};
///
/// let old = Secret::new("whsec_old_0123456789abcdef");
/// let new = Secret::new("whsec_new_0123456789abcdef");
/// let at = Utc.with_ymd_and_hms(2026, 11, 26, 17, 0, 5).unwrap();
///
/// let mut request = http::Request::post("/hooks/gladly").body(b"{}".to_vec())?;
/// Signer::new(&old)?.sign_request_at(&mut request, at)?;
///
/// let verifier = Verifier::new([&new, &old])?.clock(move || at);
/// assert_eq!(verifier.verify_request(&request)?.secret_index(), 1);
///
/// let only_new = Verifier::new([&new])?.clock(move || at);
/// assert_eq!(only_new.verify_request(&request), Err(VerifyError::SignatureMismatch));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Verifier {
    keys: Vec<DailyKey>,
    tolerance: TimeDelta,
    clock: Clock,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field(
                "secrets",
                &format_args!("{} x {}", self.keys.len(), gladly_schema::REDACTED),
            )
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

/// What a successful verification established.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    secret_index: usize,
    signed_at: DateTime<Utc>,
}

impl Verified {
    /// Which secret matched: its position in the list given to
    /// [`Verifier::new`], counting from 0.
    pub fn secret_index(&self) -> usize {
        self.secret_index
    }

    /// The request's `Gladly-Time`.
    pub fn signed_at(&self) -> DateTime<Utc> {
        self.signed_at
    }
}

/// A verified delivery and the event it carries
/// ([`Verifier::verify_and_parse`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedEvent {
    /// What the verification established.
    pub verified: Verified,
    /// The event: typed, or of a type this version does not know.
    pub event: ParsedEvent,
}

impl Verifier {
    /// A verifier for `secrets`, tried in order (current first, then the
    /// one being rotated out). Each is a [`gladly_schema::Secret`] (or a
    /// reference to one) or raw bytes. At least one secret is needed, and
    /// none may be empty.
    pub fn new<I, S>(secrets: I) -> Result<Self, KeyError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        let mut keys = Vec::new();
        for (index, secret) in secrets.into_iter().enumerate() {
            let secret = secret.as_ref();
            if secret.is_empty() {
                return Err(KeyError::EmptySecret { index });
            }
            keys.push(DailyKey::new(secret));
        }
        if keys.is_empty() {
            return Err(KeyError::NoSecrets);
        }
        Ok(Self {
            keys,
            tolerance: TimeDelta::from_std(DEFAULT_TOLERANCE).expect("5 minutes fits"),
            clock: Arc::new(Utc::now),
        })
    }

    /// Accepts a `Gladly-Time` at most `tolerance` from the clock, in either
    /// direction (default [`DEFAULT_TOLERANCE`]).
    pub fn tolerance(mut self, tolerance: std::time::Duration) -> Self {
        self.tolerance = TimeDelta::from_std(tolerance).unwrap_or(TimeDelta::MAX);
        self
    }

    /// Reads the time from `clock` instead of the system clock (for tests,
    /// or replaying a captured request).
    pub fn clock(mut self, clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Verifies `request`, whose body is the raw bytes received.
    pub fn verify_request<B: AsRef<[u8]>>(
        &self,
        request: &http::Request<B>,
    ) -> Result<Verified, VerifyError> {
        self.verify_head(Head::from(request), request.body().as_ref())
    }

    /// Verifies a request from its `parts` and `body`, the raw bytes
    /// received (never re-serialized JSON).
    pub fn verify(&self, parts: &Parts, body: &[u8]) -> Result<Verified, VerifyError> {
        self.verify_head(Head::from(parts), body)
    }

    /// Verifies a request from the pieces a web framework's extractor
    /// hands out: the method, the URI, the headers and the raw body bytes.
    ///
    /// The signature covers the path **as the sender requested it**. A
    /// router that strips a prefix before your handler runs hands it a
    /// different URI: axum's `Router::nest("/hooks", ...)` gives nested
    /// handlers the path without `/hooks` (its `Uri` extractor), and keeps
    /// the one received in the `OriginalUri` extension. Verify against
    /// `OriginalUri` there, or the signature will not match.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use gladly_webhook_core::{Signer, Verifier, VerifyError};
    ///
    /// let at = Utc.with_ymd_and_hms(2026, 11, 26, 17, 0, 5).unwrap();
    /// let mut request = http::Request::post("/hooks/gladly").body(b"{}".to_vec())?;
    /// Signer::new(b"whsec_example_0123456789abcdef")?.sign_request_at(&mut request, at)?;
    ///
    /// let verifier = Verifier::new([b"whsec_example_0123456789abcdef"])?.clock(move || at);
    /// let (method, headers) = (request.method(), request.headers());
    /// assert!(verifier.verify_parts(method, request.uri(), headers, request.body()).is_ok());
    ///
    /// // The path a nesting router leaves after stripping `/hooks`:
    /// let stripped: http::Uri = "/gladly".parse()?;
    /// assert_eq!(
    ///     verifier.verify_parts(method, &stripped, headers, request.body()),
    ///     Err(VerifyError::SignatureMismatch)
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_parts(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Verified, VerifyError> {
        let head = Head {
            method,
            uri,
            headers,
            gladly_time: None,
        };
        self.verify_head(head, body)
    }

    /// Verifies a request and, only once it is authentic, reads its body as
    /// an event: the one call a receiver needs.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use gladly_webhook_core::{Signer, Verifier, VerifyEventError};
    ///
    /// let at = Utc.with_ymd_and_hms(2026, 11, 26, 17, 0, 5).unwrap();
    /// let secret = b"whsec_example_0123456789abcdef";
    /// let mut request = http::Request::post("/hooks").body(br#"{"type":"PING"}"#.to_vec())?;
    /// Signer::new(secret)?.sign_request_at(&mut request, at)?;
    /// let (parts, body) = request.into_parts();
    ///
    /// let verifier = Verifier::new([secret])?.clock(move || at);
    /// let delivery = verifier.verify_and_parse(&parts, &body)?;
    /// assert_eq!(delivery.event.event_type(), "PING");
    ///
    /// // An authentic body that is not an event is an `Event` error, not a rejection.
    /// let mut request = http::Request::post("/hooks").body(b"[]".to_vec())?;
    /// Signer::new(secret)?.sign_request_at(&mut request, at)?;
    /// let (parts, body) = request.into_parts();
    /// assert!(matches!(verifier.verify_and_parse(&parts, &body), Err(VerifyEventError::Event(_))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_and_parse(
        &self,
        parts: &Parts,
        body: &[u8],
    ) -> Result<VerifiedEvent, VerifyEventError> {
        let verified = self.verify(parts, body)?;
        let event = parse_event(body)?;
        Ok(VerifiedEvent { verified, event })
    }

    fn verify_head(&self, head: Head<'_>, body: &[u8]) -> Result<Verified, VerifyError> {
        let authorization =
            single_header(head.headers, &GLADLY_AUTHORIZATION, "Gladly-Authorization")?
                .ok_or(AuthorizationError::Repeated)?;
        let authorization = authorization
            .to_str()
            .map_err(|_| AuthorizationError::NotAscii)?;
        let authorization = Authorization::parse(authorization)?;
        if !authorization.signs(GLADLY_TIME.as_str()) {
            return Err(VerifyError::TimeNotSigned);
        }

        let time_value =
            single_header(head.headers, &GLADLY_TIME, "Gladly-Time")?.ok_or_else(|| {
                VerifyError::SignedHeaderRepeated {
                    header: GLADLY_TIME.to_string(),
                }
            })?;
        let time_text = std::str::from_utf8(time_value.as_bytes())
            .ok()
            .map(super::ows::trim_str);
        let signed_at =
            time_text
                .and_then(time::parse)
                .ok_or_else(|| VerifyError::MalformedTime {
                    value: escape(&String::from_utf8_lossy(time_value.as_bytes()), 64),
                })?;
        let time_text = time_text.expect("a parsed time is UTF-8");
        let skew = (self.clock)() - signed_at;
        if skew.abs() > self.tolerance {
            return Err(VerifyError::TimeOutsideTolerance {
                skew,
                tolerance: self.tolerance,
            });
        }

        let body_hash = hex_sha256(&Sha256::digest(body));
        let mut canonical_hasher = BufferedSha256::new();
        canonical::write_canonical_request(
            &mut canonical_hasher,
            head,
            authorization.signed_headers,
            &body_hash,
        )
        .map_err(|problem| match problem {
            HeaderProblem::Missing(header) => VerifyError::SignedHeaderMissing { header },
            HeaderProblem::Repeated(header) => VerifyError::SignedHeaderRepeated { header },
        })?;
        let canonical_hash = canonical_hasher.finish_hex();

        let date: &[u8; 8] = time_text.as_bytes()[..8]
            .try_into()
            .expect("a parsed time has 8 date digits");
        for (secret_index, key) in self.keys.iter().enumerate() {
            let mut mac = key.mac_for(date);
            canonical::write_string_to_sign(&mut mac, time_text, &canonical_hash);
            if mac.verify_slice(&authorization.signature).is_ok() {
                return Ok(Verified {
                    secret_index,
                    signed_at,
                });
            }
        }
        Err(VerifyError::SignatureMismatch)
    }
}

/// The one value of `name`: `Err` when absent, `Ok(None)` when repeated.
fn single_header<'a>(
    headers: &'a http::HeaderMap,
    name: &http::HeaderName,
    display: &'static str,
) -> Result<Option<&'a http::HeaderValue>, VerifyError> {
    let mut values = headers.get_all(name).iter();
    let first = values
        .next()
        .ok_or(VerifyError::MissingHeader { header: display })?;
    Ok(values.next().is_none().then_some(first))
}
