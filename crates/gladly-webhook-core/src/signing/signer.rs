//! [`Signer`]: sets `Gladly-Time` and `Gladly-Authorization` on a request.

use std::fmt;

use chrono::{DateTime, Utc};
use hmac::Mac;
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue};
use sha2::{Digest, Sha256};

use super::canonical::{self, BufferedSha256, Head, hex_sha256};
use super::error::{KeyError, SignError};
use super::key::DailyKey;
use super::scheme::{GLADLY_AUTHORIZATION, GLADLY_TIME, MAX_SIGNED_HEADERS};
use super::{authorization, time};

/// Signs requests with one subscription's secret.
///
/// It always signs `gladly-time`, and `content-type` when the request has
/// one; [`Signer::sign_header`] adds more. The day's signing key is cached,
/// so one `Signer` serves many requests (it is `Send + Sync`).
///
/// A `Signer` never produces what a [`Verifier`](super::Verifier) would
/// reject: a header it cannot sign, or more than
/// [`MAX_SIGNED_HEADERS`], is refused when it is configured, and a header to
/// sign that is absent or repeated on a request fails that signing, leaving
/// the request unchanged.
///
/// The methods say whether they take a time: `*_at` signs at the time
/// given (tests, replays), `*_now` at the system clock.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use gladly_webhook_core::{Secret, Signer};
///
/// let signer = Signer::new(&Secret::new("whsec_example_0123456789abcdef"))?
///     .sign_header(http::HeaderName::from_static("x-request-id"))?;
/// let mut request = http::Request::post("https://example.com/hooks/gladly")
///     .header("content-type", "application/json")
///     .header("x-request-id", "req 77")
///     .body(br#"{"type":"PING"}"#.to_vec())?;
/// let at = Utc.with_ymd_and_hms(2026, 11, 26, 17, 0, 5).unwrap();
/// signer.sign_request_at(&mut request, at)?;
/// assert_eq!(request.headers()["gladly-time"], "20261126T170005Z");
/// assert!(request.headers()["gladly-authorization"]
///     .to_str()?
///     .starts_with("SigningAlgorithm=hmac-sha256, SignedHeaders=content-type;gladly-time;x-request-id, Signature="));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Signer {
    key: DailyKey,
    extra_headers: Vec<HeaderName>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("secret", &gladly_schema::REDACTED)
            .field("extra_headers", &self.extra_headers)
            .finish()
    }
}

impl Signer {
    /// A signer for `secret`: a [`gladly_schema::Secret`] or raw bytes.
    /// An empty secret is refused.
    pub fn new(secret: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        let secret = secret.as_ref();
        if secret.is_empty() {
            return Err(KeyError::EmptySecret { index: 0 });
        }
        Ok(Self {
            key: DailyKey::new(secret),
            extra_headers: Vec::new(),
        })
    }

    /// The headers signed beyond `gladly-time` and `content-type`, in the
    /// order they were added with [`Signer::sign_header`].
    ///
    /// ```
    /// use gladly_webhook_core::Signer;
    ///
    /// let signer = Signer::new("whsec_example_0123456789abcdef")?
    ///     .sign_header(http::HeaderName::from_static("x-tenant"))?;
    /// assert_eq!(signer.extra_headers(), ["x-tenant"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn extra_headers(&self) -> &[HeaderName] {
        &self.extra_headers
    }

    /// Also signs header `name` on every request; signing fails if a request
    /// lacks it.
    ///
    /// Refused: `gladly-authorization` (it holds the signature, so its
    /// value when signed is not its value when sent), and a header beyond
    /// the [`MAX_SIGNED_HEADERS`] a verifier accepts (counting
    /// `gladly-time` and `content-type`, which are always signed).
    ///
    /// ```
    /// use gladly_webhook_core::{SignError, Signer};
    ///
    /// let signer = Signer::new(b"whsec_example_0123456789abcdef")?;
    /// assert!(matches!(
    ///     signer.sign_header(http::HeaderName::from_static("gladly-authorization")),
    ///     Err(SignError::UnsignableHeader { .. })
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sign_header(mut self, name: HeaderName) -> Result<Self, SignError> {
        if name == GLADLY_AUTHORIZATION {
            return Err(SignError::UnsignableHeader {
                header: name.as_str().to_string(),
            });
        }
        if name == GLADLY_TIME || name == CONTENT_TYPE || self.extra_headers.contains(&name) {
            return Ok(self);
        }
        // gladly-time and content-type are always in the list.
        let count = self.extra_headers.len() + 3;
        if count > MAX_SIGNED_HEADERS {
            return Err(SignError::TooManyHeaders {
                count,
                max: MAX_SIGNED_HEADERS,
            });
        }
        self.extra_headers.push(name);
        Ok(self)
    }

    /// Signs the request `parts` with `body` (the exact bytes that will be
    /// sent) at time `at`, setting `Gladly-Time` and `Gladly-Authorization`
    /// (replacing any already there). On error the request is unchanged.
    pub fn sign_parts_at(
        &self,
        parts: &mut Parts,
        body: &[u8],
        at: DateTime<Utc>,
    ) -> Result<(), SignError> {
        let head = Head::from(&*parts);
        let headers = self.signature_headers(head, body, at)?;
        headers.apply(&mut parts.headers);
        Ok(())
    }

    /// Signs `request` at the system clock's time; see
    /// [`Signer::sign_parts_at`].
    pub fn sign_request_now<B: AsRef<[u8]>>(
        &self,
        request: &mut http::Request<B>,
    ) -> Result<(), SignError> {
        self.sign_request_at(request, Utc::now())
    }

    /// Signs `request` at time `at`; see [`Signer::sign_parts_at`].
    pub fn sign_request_at<B: AsRef<[u8]>>(
        &self,
        request: &mut http::Request<B>,
        at: DateTime<Utc>,
    ) -> Result<(), SignError> {
        let head = Head::from(&*request);
        let headers = self.signature_headers(head, request.body().as_ref(), at)?;
        headers.apply(request.headers_mut());
        Ok(())
    }

    /// The `Gladly-Time` and `Gladly-Authorization` values for a request.
    fn signature_headers(
        &self,
        head: Head<'_>,
        body: &[u8],
        at: DateTime<Utc>,
    ) -> Result<SignatureHeaders, SignError> {
        let time = time::format(at).ok_or_else(|| SignError::TimeOutOfRange {
            time: at.to_rfc3339(),
        })?;
        let signed_headers = self.signed_headers(head.headers);

        let body_hash = hex_sha256(&Sha256::digest(body));
        let mut canonical_hasher = BufferedSha256::new();
        let head = Head {
            gladly_time: Some(&time),
            ..head
        };
        canonical::write_canonical_request(
            &mut canonical_hasher,
            head,
            &signed_headers,
            &body_hash,
        )?;
        let canonical_hash = canonical_hasher.finish_hex();

        let date: &[u8; 8] = time.as_bytes()[..8]
            .try_into()
            .expect("Gladly-Time starts with 8 date digits");
        let mut mac = self.key.mac_for(date);
        canonical::write_string_to_sign(&mut mac, &time, &canonical_hash);
        let signature = hex_sha256(&mac.finalize().into_bytes());
        let signature = std::str::from_utf8(&signature).expect("hex is ASCII");

        Ok(SignatureHeaders {
            time: HeaderValue::from_str(&time).expect("Gladly-Time is ASCII"),
            authorization: HeaderValue::from_str(&authorization::format(
                &signed_headers,
                signature,
            ))
            .expect("lowercase header names and hex are valid header text"),
        })
    }

    /// `gladly-time`, `content-type` if present, and the extra headers:
    /// sorted, distinct, joined with `;`. (An absent or repeated one is
    /// reported by the canonical request, before the request is touched.)
    fn signed_headers(&self, headers: &HeaderMap) -> String {
        let mut names: Vec<&str> = vec!["gladly-time"];
        if headers.contains_key(CONTENT_TYPE) {
            names.push("content-type");
        }
        names.extend(self.extra_headers.iter().map(HeaderName::as_str));
        names.sort_unstable();
        names.dedup();
        names.join(";")
    }
}

/// The two headers a signature sets.
struct SignatureHeaders {
    time: HeaderValue,
    authorization: HeaderValue,
}

impl SignatureHeaders {
    fn apply(self, headers: &mut HeaderMap) {
        headers.insert(GLADLY_TIME, self.time);
        headers.insert(GLADLY_AUTHORIZATION, self.authorization);
    }
}
