//! The scheme's fixed parts: its names and limits, and what a header name
//! in `SignedHeaders` may be. A leaf: the signer, the verifier, the
//! authorization header and the canonical request all read it.

use http::HeaderName;

use super::error::AuthorizationError;
use crate::echo::escape;

/// The algorithm's name: the `SigningAlgorithm` parameter and the first
/// line of the string to sign.
pub(crate) const ALGORITHM: &str = "hmac-sha256";

/// `Gladly-Time`: when the request was signed, UTC, `YYYYMMDDTHHMMSSZ`.
pub const GLADLY_TIME: HeaderName = HeaderName::from_static("gladly-time");

/// `Gladly-Authorization`: the algorithm, the signed headers and the
/// signature.
pub const GLADLY_AUTHORIZATION: HeaderName = HeaderName::from_static("gladly-authorization");

/// The most headers `SignedHeaders` may list; a [`Verifier`](super::Verifier)
/// rejects a longer list, so a [`Signer`](super::Signer) refuses to make one.
pub const MAX_SIGNED_HEADERS: usize = 64;

/// The index of the first `separator` in `bytes` at or after `start`, or
/// `bytes.len()`. A plain loop: on strings this short it beats `memchr`.
pub(crate) fn next_separator(bytes: &[u8], start: usize, separator: u8) -> usize {
    let mut i = start;
    while i < bytes.len() && bytes[i] != separator {
        i += 1;
    }
    i
}

/// The names in a `SignedHeaders` value, in order.
pub(crate) fn signed_names(list: &str) -> impl Iterator<Item = &str> {
    let bytes = list.as_bytes();
    let mut start = 0;
    std::iter::from_fn(move || {
        if start > bytes.len() {
            return None;
        }
        let end = next_separator(bytes, start, b';');
        let name = &list[start..end];
        start = end + 1;
        Some(name)
    })
}

/// `SignedHeaders` must be distinct, non-empty, lowercase header names.
pub(crate) fn check_signed_headers(list: &str) -> Result<(), AuthorizationError> {
    let bad = |reason: String| AuthorizationError::BadSignedHeaders { reason };
    if list.is_empty() {
        return Err(bad("it is empty".to_string()));
    }
    // Compared for duplicates without allocating.
    let mut seen: [&str; MAX_SIGNED_HEADERS] = [""; MAX_SIGNED_HEADERS];
    for (i, name) in signed_names(list).enumerate() {
        if name.is_empty() {
            return Err(bad(format!("name #{} is empty", i + 1)));
        }
        if !name.bytes().all(|b| LOWERCASE_TOKEN[usize::from(b)]) {
            return Err(bad(format!(
                "`{}` is not a lowercase header name",
                escape(name, 64)
            )));
        }
        if i >= seen.len() {
            return Err(bad(format!(
                "it lists more than {MAX_SIGNED_HEADERS} headers"
            )));
        }
        if seen[..i].contains(&name) {
            return Err(bad(format!("`{}` is listed twice", escape(name, 64))));
        }
        seen[i] = name;
    }
    Ok(())
}

/// RFC 9110 token characters, less the uppercase letters, as a table.
const LOWERCASE_TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_lowercase()
            || c.is_ascii_digit()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    table
};
