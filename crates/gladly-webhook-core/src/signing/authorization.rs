//! The `Gladly-Authorization` header:
//! `SigningAlgorithm=hmac-sha256, SignedHeaders=a;b;c, Signature=<hex>`.

use super::error::{AuthorizationError, VerifyError};
use super::ows::trim_str;
use super::scheme::{ALGORITHM, check_signed_headers, next_separator, signed_names};
use crate::echo::escape;

/// A parsed `Gladly-Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Authorization<'a> {
    /// The `SignedHeaders` value, as sent (`a;b;c`).
    pub(crate) signed_headers: &'a str,
    /// The signature's 32 bytes.
    pub(crate) signature: [u8; 32],
}

/// Formats the header value for `signed_headers` and a hex signature.
pub(crate) fn format(signed_headers: &str, signature_hex: &str) -> String {
    format!(
        "SigningAlgorithm={ALGORITHM}, SignedHeaders={signed_headers}, Signature={signature_hex}"
    )
}

impl<'a> Authorization<'a> {
    /// Parses a header value tolerantly: parameters in any order, spaces
    /// and tabs around `,` and `=` ignored, names matched without regard to
    /// case. Unknown or repeated parameters, an algorithm other than
    /// `hmac-sha256` and a signature that is not 64 lowercase hex digits are
    /// errors.
    pub(crate) fn parse(value: &'a str) -> Result<Self, VerifyError> {
        if let Some(parsed) = Self::parse_canonical_form(value) {
            return Ok(parsed);
        }
        // A byte-level pass: this runs on every request, and `str`'s
        // searchers cost more than the parsing on strings this short.
        if trim_str(value).is_empty() {
            return Err(AuthorizationError::Empty.into());
        }
        let mut algorithm: Option<&'a str> = None;
        let mut signed_headers: Option<&'a str> = None;
        let mut signature: Option<&'a str> = None;
        let bytes = value.as_bytes();
        let mut start = 0;
        let mut position = 0;
        loop {
            let end = next_separator(bytes, start, b',');
            position += 1;
            let part = trim_str(&value[start..end]);
            if part.is_empty() {
                return Err(AuthorizationError::EmptyParameter { position }.into());
            }
            let eq = next_separator(part.as_bytes(), 0, b'=');
            if eq == part.len() {
                return Err(AuthorizationError::NotNameValue { position }.into());
            }
            let (name, value) = (trim_str(&part[..eq]), trim_str(&part[eq + 1..]));
            let (slot, canonical_name) = if name.eq_ignore_ascii_case("SigningAlgorithm") {
                (&mut algorithm, "SigningAlgorithm")
            } else if name.eq_ignore_ascii_case("SignedHeaders") {
                (&mut signed_headers, "SignedHeaders")
            } else if name.eq_ignore_ascii_case("Signature") {
                (&mut signature, "Signature")
            } else {
                return Err(AuthorizationError::UnknownParameter {
                    name: escape(name, 64),
                }
                .into());
            };
            if slot.replace(value).is_some() {
                return Err(AuthorizationError::DuplicateParameter {
                    name: canonical_name,
                }
                .into());
            }
            if end == bytes.len() {
                break;
            }
            start = end + 1;
        }
        let missing = |name| AuthorizationError::MissingParameter { name };
        let algorithm = algorithm.ok_or_else(|| missing("SigningAlgorithm"))?;
        let signed_headers = signed_headers.ok_or_else(|| missing("SignedHeaders"))?;
        let signature = signature.ok_or_else(|| missing("Signature"))?;
        if !algorithm.eq_ignore_ascii_case(ALGORITHM) {
            return Err(VerifyError::UnsupportedAlgorithm {
                algorithm: escape(algorithm, 64),
            });
        }
        check_signed_headers(signed_headers)?;
        Ok(Self {
            signed_headers,
            signature: decode_signature(signature)?,
        })
    }

    /// The fast path for the exact form signers write,
    /// `SigningAlgorithm=hmac-sha256, SignedHeaders=<list>, Signature=<64 hex>`:
    /// `None` for anything else (including any error), which the general
    /// parser then reads and reports on.
    fn parse_canonical_form(value: &'a str) -> Option<Self> {
        const PREFIX: &str = "SigningAlgorithm=hmac-sha256, SignedHeaders=";
        const SIGNATURE: &str = ", Signature=";
        let rest = value.strip_prefix(PREFIX)?;
        let split = rest.len().checked_sub(SIGNATURE.len() + 64)?;
        let (signed_headers, tail) = (rest.get(..split)?, rest.get(split..)?);
        let hex = tail.strip_prefix(SIGNATURE)?;
        if signed_headers.bytes().any(|b| b == b',')
            || check_signed_headers(signed_headers).is_err()
        {
            return None;
        }
        Some(Self {
            signed_headers,
            signature: decode_signature(hex).ok()?,
        })
    }

    /// Whether `SignedHeaders` lists `name`.
    pub(crate) fn signs(&self, name: &str) -> bool {
        signed_names(self.signed_headers).any(|n| n == name)
    }
}

/// Each byte's value as a lowercase hex digit, or 0xFF.
const LOWER_HEX: [u8; 256] = {
    let mut table = [0xFF; 256];
    let mut d = 0;
    while d < 10 {
        table[b'0' as usize + d] = d as u8;
        d += 1;
    }
    let mut x = 0;
    while x < 6 {
        table[b'a' as usize + x] = 10 + x as u8;
        x += 1;
    }
    table
};

fn decode_signature(hex_text: &str) -> Result<[u8; 32], AuthorizationError> {
    let bad = |reason: String| AuthorizationError::BadSignature { reason };
    let bytes = hex_text.as_bytes();
    if bytes.len() != 64 {
        return Err(bad(format!(
            "it has {} characters",
            hex_text.chars().count()
        )));
    }
    let mut out = [0u8; 32];
    let mut invalid = 0u8;
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let (high, low) = (
            LOWER_HEX[usize::from(pair[0])],
            LOWER_HEX[usize::from(pair[1])],
        );
        invalid |= high | low;
        *slot = high << 4 | (low & 0x0F);
    }
    if invalid & 0xF0 != 0 {
        let c = hex_text
            .chars()
            .find(|c| !matches!(c, '0'..='9' | 'a'..='f'))
            .unwrap_or('?');
        return Err(bad(format!("it contains `{c}`")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_in_any_order_with_spaces() {
        let sig = "934f0ea64664eb0ae15287ce08dceb1b58a9b6b786527cc674980ad3f609a802";
        let value =
            format!("Signature={sig},SigningAlgorithm=hmac-sha256 , SignedHeaders=gladly-time");
        let auth = Authorization::parse(&value).unwrap();
        assert_eq!(auth.signed_headers, "gladly-time");
        assert!(Authorization::parse("SigningAlgorithm=hmac-sha1").is_err());
    }
}
