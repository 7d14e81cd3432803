//! The canonical request and the string to sign (steps 1 and 2 of the
//! scheme).
//!
//! The signer and the verifier stream these bytes straight into SHA-256 and
//! HMAC without building them; [`canonical_request`] and
//! [`string_to_sign`] build them for tests, debugging and interoperability
//! checks.

use http::request::Parts;
use http::{HeaderMap, Method, Uri};

use sha2::{Digest, Sha256};

use super::error::SignError;
use super::ows::{is_ows, trimmed};
use super::scheme::{ALGORITHM, MAX_SIGNED_HEADERS, signed_names};

/// Where canonical bytes go: a buffer, or a running hash.
pub(crate) trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for Sha256 {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

impl Sink for super::key::HmacSha256 {
    fn put(&mut self, bytes: &[u8]) {
        hmac::Mac::update(self, bytes);
    }
}

/// A SHA-256 sink that gathers the many small pieces of a canonical request
/// in a stack buffer and hashes them a block-sized run at a time: one
/// `update` per piece costs more than the hashing of pieces this small.
pub(crate) struct BufferedSha256 {
    hasher: Sha256,
    buffer: [u8; 512],
    len: usize,
}

impl BufferedSha256 {
    pub(crate) fn new() -> Self {
        Self {
            hasher: Sha256::new(),
            buffer: [0; 512],
            len: 0,
        }
    }

    /// The lowercase hex SHA-256 of everything put.
    pub(crate) fn finish_hex(mut self) -> [u8; 64] {
        self.hasher.update(&self.buffer[..self.len]);
        hex_sha256(&self.hasher.finalize())
    }
}

impl Sink for BufferedSha256 {
    fn put(&mut self, bytes: &[u8]) {
        if self.len + bytes.len() > self.buffer.len() {
            self.hasher.update(&self.buffer[..self.len]);
            self.len = 0;
            if bytes.len() > self.buffer.len() {
                self.hasher.update(bytes);
                return;
            }
        }
        self.buffer[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }
}

/// A signed header that is absent from, or repeated on, the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeaderProblem {
    /// The header is not on the request.
    Missing(String),
    /// The header is on the request more than once.
    Repeated(String),
}

impl From<HeaderProblem> for SignError {
    fn from(problem: HeaderProblem) -> Self {
        match problem {
            HeaderProblem::Missing(header) => SignError::MissingHeader { header },
            HeaderProblem::Repeated(header) => SignError::RepeatedHeader { header },
        }
    }
}

/// The parts of a request the canonical request reads.
#[derive(Clone, Copy)]
pub(crate) struct Head<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    /// While signing: the `Gladly-Time` about to be set, read in place of
    /// the request's own.
    pub gladly_time: Option<&'a str>,
}

impl<'a> From<&'a Parts> for Head<'a> {
    fn from(parts: &'a Parts) -> Self {
        Self {
            method: &parts.method,
            uri: &parts.uri,
            headers: &parts.headers,
            gladly_time: None,
        }
    }
}

impl<'a, B> From<&'a http::Request<B>> for Head<'a> {
    fn from(request: &'a http::Request<B>) -> Self {
        Self {
            method: request.method(),
            uri: request.uri(),
            headers: request.headers(),
            gladly_time: None,
        }
    }
}

/// Lowercase hex of a SHA-256 digest, on the stack.
pub(crate) fn hex_sha256(digest: &[u8]) -> [u8; 64] {
    let mut out = [0u8; 64];
    hex::encode_to_slice(digest, &mut out).expect("64 hex digits for 32 bytes");
    out
}

/// Writes the canonical request for `head` into `sink`.
///
/// `signed_headers` is the `SignedHeaders` value (`a;b;c`, already checked
/// to be lowercase names); `body_hash` the lowercase hex SHA-256 of the body.
pub(crate) fn write_canonical_request(
    sink: &mut impl Sink,
    head: Head<'_>,
    signed_headers: &str,
    body_hash: &[u8; 64],
) -> Result<(), HeaderProblem> {
    let method = head.method.as_str();
    if method.bytes().any(|b| b.is_ascii_lowercase()) {
        sink.put(method.to_ascii_uppercase().as_bytes());
    } else {
        sink.put(method.as_bytes());
    }
    sink.put(b"\n");
    sink.put(head.uri.path().as_bytes());
    sink.put(b"\n");
    write_query(sink, head.uri.query().unwrap_or(""));
    sink.put(b"\n");
    // One pass over the request's headers finds every signed one (a lookup
    // per name would parse and hash each name again).
    let mut names: [&str; MAX_SIGNED_HEADERS] = [""; MAX_SIGNED_HEADERS];
    let mut count = 0;
    for name in signed_names(signed_headers).take(MAX_SIGNED_HEADERS) {
        names[count] = name;
        count += 1;
    }
    let names = &names[..count];
    let mut values: [Option<&[u8]>; MAX_SIGNED_HEADERS] = [None; MAX_SIGNED_HEADERS];
    for (name, value) in head.headers {
        // While signing, the request's own Gladly-Time is being replaced.
        if head.gladly_time.is_some() && name.as_str() == "gladly-time" {
            continue;
        }
        if let Some(i) = names.iter().position(|n| *n == name.as_str()) {
            if values[i].is_some() {
                return Err(HeaderProblem::Repeated(names[i].to_string()));
            }
            values[i] = Some(value.as_bytes());
        }
    }
    for (i, name) in names.iter().enumerate() {
        let value = match (head.gladly_time, values[i]) {
            (Some(time), _) if *name == "gladly-time" => time.as_bytes(),
            (_, Some(value)) => value,
            (_, None) => return Err(HeaderProblem::Missing(name.to_string())),
        };
        sink.put(name.as_bytes());
        sink.put(b":");
        write_collapsed(sink, value);
        sink.put(b"\n");
    }
    sink.put(b"\n");
    sink.put(signed_headers.as_bytes());
    sink.put(b"\n");
    sink.put(body_hash);
    Ok(())
}

/// The query's raw `name=value` pairs, sorted byte-wise, joined with `&`.
/// Empty pairs (`a=1&&b=2`, a trailing `&`) are dropped.
fn write_query(sink: &mut impl Sink, query: &str) {
    if query.is_empty() {
        return;
    }
    if !query.contains('&') {
        sink.put(query.as_bytes());
        return;
    }
    let mut pairs: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    pairs.sort_unstable();
    for (i, pair) in pairs.iter().enumerate() {
        if i > 0 {
            sink.put(b"&");
        }
        sink.put(pair.as_bytes());
    }
}

/// Writes `value` trimmed, with each inner run of spaces and tabs collapsed
/// to one space. Works on bytes, so non-ASCII values pass through intact.
fn write_collapsed(sink: &mut impl Sink, value: &[u8]) {
    let mut rest = &value[trimmed(value)];
    while let Some(gap) = rest.iter().position(|&b| is_ows(b)) {
        sink.put(&rest[..gap]);
        sink.put(b" ");
        let after = rest[gap..].iter().position(|&b| !is_ows(b)).unwrap_or(0);
        rest = &rest[gap + after..];
    }
    sink.put(rest);
}

/// Writes the string to sign: `hmac-sha256`, the time, and the hex SHA-256
/// of the canonical request, one per line.
pub(crate) fn write_string_to_sign(
    sink: &mut impl Sink,
    gladly_time: &str,
    canonical_hash: &[u8; 64],
) {
    sink.put(ALGORITHM.as_bytes());
    sink.put(b"\n");
    sink.put(gladly_time.as_bytes());
    sink.put(b"\n");
    sink.put(canonical_hash);
}

/// The canonical request for `parts` and `body`, signing the headers listed
/// in `signed_headers` (`a;b;c`, lowercase), as bytes (header values may be
/// non-ASCII): what is hashed into the signature, for debugging a signer
/// that does not interoperate. A listed header that is absent or repeated
/// is an error.
///
/// ```
/// use gladly_webhook_core::signing::canonical_request;
///
/// let (parts, ()) = http::Request::post("/hooks/gladly?b=2&a=1")
///     .header("Gladly-Time", "20261126T170005Z")
///     .body(())
///     .unwrap()
///     .into_parts();
/// let canonical = canonical_request(&parts, "gladly-time", b"").unwrap();
/// assert_eq!(
///     String::from_utf8(canonical).unwrap(),
///     "POST\n/hooks/gladly\na=1&b=2\ngladly-time:20261126T170005Z\n\ngladly-time\n\
///      e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/// );
/// ```
pub fn canonical_request(
    parts: &Parts,
    signed_headers: &str,
    body: &[u8],
) -> Result<Vec<u8>, SignError> {
    let mut out = Vec::new();
    let body_hash = hex_sha256(&Sha256::digest(body));
    write_canonical_request(&mut out, parts.into(), signed_headers, &body_hash)?;
    Ok(out)
}

/// The string to sign for a canonical request signed at `gladly_time`
/// (step 2 of the scheme), for debugging.
///
/// ```
/// use gladly_webhook_core::signing::string_to_sign;
///
/// let text = string_to_sign("20261126T170005Z", b"");
/// assert!(text.starts_with("hmac-sha256\n20261126T170005Z\ne3b0c442"));
/// ```
pub fn string_to_sign(gladly_time: &str, canonical_request: &[u8]) -> String {
    let mut out = Vec::new();
    let hash = hex_sha256(&Sha256::digest(canonical_request));
    write_string_to_sign(&mut out, gladly_time, &hash);
    String::from_utf8_lossy(&out).into_owned()
}
