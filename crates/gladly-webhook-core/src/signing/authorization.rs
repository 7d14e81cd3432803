//! The `Gladly-Authorization` header:
//! `SigningAlgorithm=hmac-sha256, SignedHeaders=a;b;c, Signature=<hex>`.

use super::canonical::ALGORITHM;
use super::error::{AuthorizationError, VerifyError, truncated};

/// A parsed `Gladly-Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    /// The `SignedHeaders` value, as sent (`a;b;c`).
    pub signed_headers: &'a str,
    /// The signature's 32 bytes.
    pub signature: [u8; 32],
}

/// Formats the header value for `signed_headers` and a hex signature.
pub fn format(signed_headers: &str, signature_hex: &str) -> String {
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
    ///
    /// ```
    /// use gladly_webhook_core::signing::authorization::Authorization;
    ///
    /// let sig = "934f0ea64664eb0ae15287ce08dceb1b58a9b6b786527cc674980ad3f609a802";
    /// let value = format!("Signature={sig},SigningAlgorithm=hmac-sha256 , SignedHeaders=gladly-time");
    /// let auth = Authorization::parse(&value).unwrap();
    /// assert_eq!(auth.signed_headers, "gladly-time");
    /// assert!(Authorization::parse("SigningAlgorithm=hmac-sha1").is_err());
    /// ```
    pub fn parse(value: &'a str) -> Result<Self, VerifyError> {
        if value.trim_matches(is_space).is_empty() {
            return Err(AuthorizationError::Empty.into());
        }
        let mut algorithm = None;
        let mut signed_headers = None;
        let mut signature = None;
        for (index, part) in value.split(',').enumerate() {
            let position = index + 1;
            let part = part.trim_matches(is_space);
            if part.is_empty() {
                return Err(AuthorizationError::EmptyParameter { position }.into());
            }
            let (name, value) = part
                .split_once('=')
                .ok_or(AuthorizationError::NotNameValue { position })?;
            let name = name.trim_matches(is_space);
            let value = value.trim_matches(is_space);
            let (slot, canonical_name) = if name.eq_ignore_ascii_case("SigningAlgorithm") {
                (&mut algorithm, "SigningAlgorithm")
            } else if name.eq_ignore_ascii_case("SignedHeaders") {
                (&mut signed_headers, "SignedHeaders")
            } else if name.eq_ignore_ascii_case("Signature") {
                (&mut signature, "Signature")
            } else {
                return Err(AuthorizationError::UnknownParameter {
                    name: truncated(name, 64),
                }
                .into());
            };
            if slot.replace(value).is_some() {
                return Err(AuthorizationError::DuplicateParameter {
                    name: canonical_name,
                }
                .into());
            }
        }
        let missing = |name| AuthorizationError::MissingParameter { name };
        let algorithm = algorithm.ok_or(missing("SigningAlgorithm"))?;
        let signed_headers = signed_headers.ok_or(missing("SignedHeaders"))?;
        let signature = signature.ok_or(missing("Signature"))?;
        if !algorithm.eq_ignore_ascii_case(ALGORITHM) {
            return Err(VerifyError::UnsupportedAlgorithm {
                algorithm: truncated(algorithm, 64),
            });
        }
        check_signed_headers(signed_headers)?;
        Ok(Self {
            signed_headers,
            signature: decode_signature(signature)?,
        })
    }

    /// Whether `SignedHeaders` lists `name`.
    pub fn signs(&self, name: &str) -> bool {
        self.signed_headers.split(';').any(|n| n == name)
    }
}

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// `SignedHeaders` must be distinct, non-empty, lowercase header names.
fn check_signed_headers(list: &str) -> Result<(), AuthorizationError> {
    let bad = |reason: String| AuthorizationError::BadSignedHeaders { reason };
    if list.is_empty() {
        return Err(bad("it is empty".to_string()));
    }
    for (i, name) in list.split(';').enumerate() {
        if name.is_empty() {
            return Err(bad(format!("name #{} is empty", i + 1)));
        }
        if !name.bytes().all(is_lowercase_token_byte) {
            return Err(bad(format!(
                "`{}` is not a lowercase header name",
                truncated(name, 64)
            )));
        }
        if list.split(';').take(i).any(|earlier| earlier == name) {
            return Err(bad(format!("`{name}` is listed twice")));
        }
    }
    Ok(())
}

/// RFC 9110 token characters, less the uppercase letters.
fn is_lowercase_token_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn decode_signature(hex_text: &str) -> Result<[u8; 32], AuthorizationError> {
    let bad = |reason: String| AuthorizationError::BadSignature { reason };
    if hex_text.len() != 64 {
        return Err(bad(format!(
            "it has {} characters",
            hex_text.chars().count()
        )));
    }
    if let Some(c) = hex_text
        .chars()
        .find(|c| !matches!(c, '0'..='9' | 'a'..='f'))
    {
        return Err(bad(format!("it contains `{c}`")));
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut out).map_err(|err| bad(err.to_string()))?;
    Ok(out)
}
