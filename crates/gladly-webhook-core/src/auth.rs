//! How a delivery proves it comes from Gladly: [`DeliveryAuth`].
//!
//! The two models of the service authenticate deliveries differently. Our
//! user's subscriptions sign them with Gladly's HMAC request signing
//! ([`Verifier`]). Gladly's REST API 1.0 does not sign webhook deliveries:
//! a webhook carries `credentials`, sent as HTTP Basic, and `headers`, added
//! to every delivery (e.g. `X-Gladly-Token`). A receiver holds one rule; the
//! rest of it (the answers, the inbox, the workers) does not care which.
//!
//! Every comparison is in constant time (SHA-256 digests compared with
//! `subtle`), and no error, `Debug` or `Display` shows a credential.
//!
//! ```
//! use gladly_webhook_core::auth::{AuthError, DeliveryAuth};
//! use gladly_webhook_core::Secret;
//!
//! let rule = DeliveryAuth::basic("gladly", Secret::new("p4ss:word"))
//!     .and(DeliveryAuth::header("X-Gladly-Token", Secret::new("tok_123")).unwrap());
//! let request = http::Request::post("/hooks")
//!     .header("authorization", "Basic Z2xhZGx5OnA0c3M6d29yZA==") // gladly:p4ss:word
//!     .header("x-gladly-token", "tok_123")
//!     .body(b"{}".to_vec())
//!     .unwrap();
//! let (parts, body) = request.into_parts();
//! assert!(rule.check(&parts.method, &parts.uri, &parts.headers, &body).is_ok());
//!
//! let bare = http::Request::post("/hooks").body(()).unwrap().into_parts().0;
//! let err = rule.check(&bare.method, &bare.uri, &bare.headers, b"{}").unwrap_err();
//! assert_eq!(err, AuthError::MissingCredentials);
//! assert_eq!(err.code(), "missing_credentials");
//! ```

use std::fmt;

use base64::Engine as _;
use http::{HeaderMap, HeaderName, Method, Uri};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::Secret;
use crate::signing::{Verifier, VerifyError};

/// One rule a delivery must pass to be stored. Build it with
/// [`DeliveryAuth::signature`] (our user's model), [`DeliveryAuth::basic`]
/// and [`DeliveryAuth::header`] (Gladly's REST API 1.0), combined with
/// [`DeliveryAuth::and`]; or [`DeliveryAuth::none`], which accepts every
/// delivery and is only for a receiver nothing else can reach.
#[derive(Clone)]
pub struct DeliveryAuth {
    rules: Vec<Rule>,
}

#[derive(Clone)]
enum Rule {
    Signature(std::sync::Arc<Verifier>),
    Basic { realm: String, digest: [u8; 32] },
    Header { name: HeaderName, digest: [u8; 32] },
}

/// Why a delivery was refused. Its [`AuthError::code`] is what a receiver
/// answers; its message never shows a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No (single, readable) `Authorization: Basic` header.
    #[error("the delivery carries no Basic credentials")]
    MissingCredentials,
    /// Basic credentials that are not the configured ones (or
    /// `Authorization` given twice).
    #[error("the delivery's Basic credentials are not the configured ones")]
    BadCredentials,
    /// A required header is absent.
    #[error("the delivery lacks the required header {name}")]
    MissingHeader {
        /// The header's name.
        name: String,
    },
    /// A required header has another value (or is given twice).
    #[error("the delivery's header {name} does not have the configured value")]
    BadHeaderValue {
        /// The header's name.
        name: String,
    },
    /// The HMAC signature does not verify.
    #[error(transparent)]
    Signature(#[from] VerifyError),
}

impl AuthError {
    /// The short code a receiver answers with (`missing_credentials`,
    /// `bad_credentials`, `missing_header`, `bad_header_value`, or the
    /// signature's own code from [`AuthError::Signature`]'s reason).
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingCredentials => "missing_credentials",
            Self::BadCredentials => "bad_credentials",
            Self::MissingHeader { .. } => "missing_header",
            Self::BadHeaderValue { .. } => "bad_header_value",
            Self::Signature(_) => "signature_rejected",
        }
    }

    /// Whether the answer should ask for Basic credentials
    /// (`WWW-Authenticate`).
    pub fn wants_basic(&self) -> bool {
        matches!(self, Self::MissingCredentials | Self::BadCredentials)
    }
}

/// Why a rule could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthRuleError {
    /// The header name is not a valid HTTP header name.
    #[error("{0:?} is not a header name")]
    HeaderName(String),
    /// `user:password` has no colon.
    #[error("Basic credentials must be `user:password` (with a colon)")]
    NoColon,
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl DeliveryAuth {
    /// Gladly's HMAC request signing, verified by `verifier`.
    pub fn signature(verifier: Verifier) -> Self {
        Self {
            rules: vec![Rule::Signature(std::sync::Arc::new(verifier))],
        }
    }

    /// HTTP Basic with `user` and `password`, as a REST API 1.0 webhook's
    /// `credentials` send them. The password may hold colons.
    pub fn basic(user: &str, password: Secret) -> Self {
        let pair = format!("{user}:{}", password.expose());
        Self {
            rules: vec![Rule::Basic {
                realm: "gladly-webhook".to_string(),
                digest: digest(pair.as_bytes()),
            }],
        }
    }

    /// HTTP Basic from `user:password` (the first colon separates them).
    pub fn basic_pair(pair: &Secret) -> Result<Self, AuthRuleError> {
        let (user, password) = pair
            .expose()
            .split_once(':')
            .ok_or(AuthRuleError::NoColon)?;
        Ok(Self::basic(user, Secret::new(password)))
    }

    /// A header that must be present, once, with exactly `value` (the
    /// name's case does not matter; the value's does).
    pub fn header(name: &str, value: Secret) -> Result<Self, AuthRuleError> {
        let name = HeaderName::try_from(name)
            .map_err(|_| AuthRuleError::HeaderName(crate::echo::escape(name, 64)))?;
        Ok(Self {
            rules: vec![Rule::Header {
                name,
                digest: digest(value.expose().as_bytes()),
            }],
        })
    }

    /// No rule: every delivery passes. Only for a receiver that nothing
    /// but the sender can reach.
    pub fn none() -> Self {
        Self { rules: Vec::new() }
    }

    /// This rule and `other`: a delivery must pass both (Basic plus
    /// headers, as a webhook with both configured sends).
    pub fn and(mut self, other: Self) -> Self {
        self.rules.extend(other.rules);
        self
    }

    /// Whether every delivery passes.
    pub fn is_none(&self) -> bool {
        self.rules.is_empty()
    }

    /// The verifier, when the rule includes the HMAC signature.
    pub fn verifier(&self) -> Option<&Verifier> {
        self.rules.iter().find_map(|rule| match rule {
            Rule::Signature(verifier) => Some(verifier.as_ref()),
            _ => None,
        })
    }

    /// The realm to name in `WWW-Authenticate`, when the rule includes
    /// Basic credentials.
    pub fn basic_realm(&self) -> Option<&str> {
        self.rules.iter().find_map(|rule| match rule {
            Rule::Basic { realm, .. } => Some(realm.as_str()),
            _ => None,
        })
    }

    /// Checks a delivery: `Ok` when it passes every rule, else the first
    /// rule it fails (in the order the rules were given).
    pub fn check(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), AuthError> {
        for rule in &self.rules {
            match rule {
                Rule::Signature(verifier) => {
                    verifier.verify_parts(method, uri, headers, body)?;
                }
                Rule::Basic { digest: want, .. } => check_basic(headers, want)?,
                Rule::Header { name, digest: want } => check_header(headers, name, want)?,
            }
        }
        Ok(())
    }
}

fn check_basic(headers: &HeaderMap, want: &[u8; 32]) -> Result<(), AuthError> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(AuthError::MissingCredentials);
    };
    if values.next().is_some() {
        return Err(AuthError::BadCredentials);
    }
    let value = value.as_bytes();
    let (scheme, encoded) = match value.iter().position(|b| *b == b' ') {
        Some(space) => (&value[..space], &value[space + 1..]),
        None => return Err(AuthError::MissingCredentials),
    };
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return Err(AuthError::MissingCredentials);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim_ascii())
        .map_err(|_| AuthError::BadCredentials)?;
    let given = zeroize::Zeroizing::new(decoded);
    if bool::from(digest(&given).ct_eq(want)) {
        Ok(())
    } else {
        Err(AuthError::BadCredentials)
    }
}

fn check_header(headers: &HeaderMap, name: &HeaderName, want: &[u8; 32]) -> Result<(), AuthError> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Err(AuthError::MissingHeader {
            name: name.to_string(),
        });
    };
    let bad = || AuthError::BadHeaderValue {
        name: name.to_string(),
    };
    if values.next().is_some() {
        return Err(bad());
    }
    if bool::from(digest(value.as_bytes()).ct_eq(want)) {
        Ok(())
    } else {
        Err(bad())
    }
}

impl From<Verifier> for DeliveryAuth {
    fn from(verifier: Verifier) -> Self {
        Self::signature(verifier)
    }
}

impl fmt::Debug for DeliveryAuth {
    /// The rules' kinds and header names, never a credential.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for rule in &self.rules {
            match rule {
                Rule::Signature(_) => list.entry(&"signature"),
                Rule::Basic { .. } => list.entry(&"basic"),
                Rule::Header { name, .. } => list.entry(&format!("header {name}")),
            };
        }
        list.finish()
    }
}

impl fmt::Display for DeliveryAuth {
    /// In words, for a start-up line: `HMAC signature`, `Basic
    /// credentials`, `header X-Gladly-Token`, joined with ` and `, or `no
    /// authentication`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rules.is_empty() {
            return f.write_str("no authentication");
        }
        let words: Vec<String> = self
            .rules
            .iter()
            .map(|rule| match rule {
                Rule::Signature(_) => "HMAC signature".to_string(),
                Rule::Basic { .. } => "Basic credentials".to_string(),
                Rule::Header { name, .. } => format!("header {name}"),
            })
            .collect();
        f.write_str(&words.join(" and "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::try_from(*name).unwrap(),
                http::HeaderValue::from_bytes(value).unwrap(),
            );
        }
        map
    }

    fn check(rule: &DeliveryAuth, pairs: &[(&str, &[u8])]) -> Result<(), AuthError> {
        rule.check(
            &Method::POST,
            &Uri::from_static("/h"),
            &headers(pairs),
            b"{}",
        )
    }

    fn basic(pair: &str) -> Vec<u8> {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
        .into_bytes()
    }

    #[test]
    fn basic_credentials() {
        let rule = DeliveryAuth::basic_pair(&Secret::new("gladly:pa:ss")).unwrap();
        assert_eq!(
            check(&rule, &[("authorization", &basic("gladly:pa:ss"))]),
            Ok(())
        );
        assert_eq!(
            check(&rule, &[("authorization", b"bAsIc Z2xhZGx5OnBhOnNz")]),
            Ok(()),
            "the scheme's case does not matter"
        );
        assert_eq!(check(&rule, &[]), Err(AuthError::MissingCredentials));
        assert_eq!(
            check(&rule, &[("authorization", b"Bearer x")]),
            Err(AuthError::MissingCredentials)
        );
        assert_eq!(
            check(&rule, &[("authorization", &basic("gladly:pa"))]),
            Err(AuthError::BadCredentials)
        );
        assert_eq!(
            check(&rule, &[("authorization", &basic("Gladly:pa:ss"))]),
            Err(AuthError::BadCredentials)
        );
        assert_eq!(
            check(
                &rule,
                &[
                    ("authorization", &basic("gladly:pa:ss")),
                    ("authorization", &basic("gladly:pa:ss"))
                ]
            ),
            Err(AuthError::BadCredentials),
            "Authorization given twice"
        );
        assert_eq!(
            check(&rule, &[("authorization", b"Basic \xff\xfe")]),
            Err(AuthError::BadCredentials),
            "not base64, not UTF-8"
        );
        assert_eq!(
            DeliveryAuth::basic_pair(&Secret::new("no-colon")).unwrap_err(),
            AuthRuleError::NoColon
        );
    }

    #[test]
    fn required_headers_and_combinations() {
        let rule = DeliveryAuth::basic("u", Secret::new("p"))
            .and(DeliveryAuth::header("X-Gladly-Token", Secret::new("Tok_1")).unwrap());
        let auth = basic("u:p");
        assert_eq!(
            check(
                &rule,
                &[("authorization", &auth), ("x-gladly-token", b"Tok_1")]
            ),
            Ok(())
        );
        assert_eq!(
            check(&rule, &[("authorization", &auth)]),
            Err(AuthError::MissingHeader {
                name: "x-gladly-token".into()
            })
        );
        assert_eq!(
            check(
                &rule,
                &[("authorization", &auth), ("x-gladly-token", b"tok_1")]
            ),
            Err(AuthError::BadHeaderValue {
                name: "x-gladly-token".into()
            }),
            "the value's case matters"
        );
        assert_eq!(
            check(
                &rule,
                &[
                    ("authorization", &auth),
                    ("x-gladly-token", b"Tok_1"),
                    ("x-gladly-token", b"Tok_1")
                ]
            ),
            Err(AuthError::BadHeaderValue {
                name: "x-gladly-token".into()
            })
        );
        assert_eq!(
            check(&rule, &[("x-gladly-token", b"Tok_1")]),
            Err(AuthError::MissingCredentials)
        );
        assert_eq!(check(&DeliveryAuth::none(), &[]), Ok(()));
        let shown = format!("{rule:?} {rule}");
        assert!(
            !shown.contains("Tok_1") && !shown.contains("u:p"),
            "{shown}"
        );
        assert_eq!(
            rule.to_string(),
            "Basic credentials and header x-gladly-token"
        );
    }
}
