//! What can go wrong when signing or verifying, one enum per concern.
//!
//! No error carries a secret, a derived key or the expected signature.

use chrono::TimeDelta;

/// A secret that cannot sign or verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A verifier was given no secret at all.
    #[error("no secret given: a verifier needs at least one")]
    NoSecrets,
    /// A secret is empty (the secret at `index`, counting from 0).
    #[error("secret #{index} is empty: an empty key authenticates nothing")]
    EmptySecret {
        /// The position of the empty secret in the list given.
        index: usize,
    },
}

/// Why a request could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// A header the signer was told to sign is not on the request.
    #[error("header `{header}` is to be signed but the request does not have it")]
    MissingHeader {
        /// The header's lowercase name.
        header: String,
    },
    /// A header to sign appears more than once; Gladly's canonical request
    /// has one line per signed header, so it cannot be signed unambiguously.
    #[error("header `{header}` is to be signed but the request has it more than once")]
    RepeatedHeader {
        /// The header's lowercase name.
        header: String,
    },
    /// A header that cannot be signed: `gladly-authorization`, which
    /// holds the signature and is written after it.
    #[error("header `{header}` cannot be signed: it carries the signature itself")]
    UnsignableHeader {
        /// The header's lowercase name.
        header: String,
    },
    /// More headers to sign than a verifier accepts.
    #[error("{count} headers to sign, but a verifier accepts at most {max} in SignedHeaders")]
    TooManyHeaders {
        /// How many distinct headers would be signed.
        count: usize,
        /// The most a verifier accepts ([`MAX_SIGNED_HEADERS`](super::MAX_SIGNED_HEADERS)).
        max: usize,
    },
    /// The signing time cannot be written as `YYYYMMDDTHHMMSSZ`.
    #[error("signing time {time} is outside years 0000-9999 and cannot be a Gladly-Time")]
    TimeOutOfRange {
        /// The time, RFC 3339.
        time: String,
    },
}

/// Why a `Gladly-Authorization` header could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizationError {
    /// The header is present more than once.
    #[error("the header is sent more than once")]
    Repeated,
    /// The header holds bytes other than visible ASCII.
    #[error("the header holds bytes other than visible ASCII")]
    NotAscii,
    /// The header is empty or blank.
    #[error("the header is empty")]
    Empty,
    /// A comma-separated part is empty (`a=1,,b=2` or a trailing comma).
    #[error("parameter #{position} is empty")]
    EmptyParameter {
        /// The part's position, counting from 1.
        position: usize,
    },
    /// A part is not `Name=value`.
    #[error("parameter #{position} has no `=`: expected `Name=value`")]
    NotNameValue {
        /// The part's position, counting from 1.
        position: usize,
    },
    /// A part names a parameter the scheme does not have.
    #[error("unknown parameter `{name}`: expected SigningAlgorithm, SignedHeaders and Signature")]
    UnknownParameter {
        /// The parameter's name as sent (at most 64 characters).
        name: String,
    },
    /// A parameter is given twice.
    #[error("parameter `{name}` is given more than once")]
    DuplicateParameter {
        /// The parameter's name.
        name: &'static str,
    },
    /// A required parameter is absent.
    #[error("parameter `{name}` is missing")]
    MissingParameter {
        /// The parameter's name.
        name: &'static str,
    },
    /// `SignedHeaders` is not a `;`-separated list of distinct lowercase
    /// header names.
    #[error("SignedHeaders is not a list of distinct lowercase header names: {reason}")]
    BadSignedHeaders {
        /// What is wrong with it.
        reason: String,
    },
    /// `Signature` is not 64 lowercase hex digits.
    #[error("Signature must be 64 lowercase hex digits: {reason}")]
    BadSignature {
        /// What is wrong with it.
        reason: String,
    },
}

/// Why a request failed verification: one variant per reason, so a receiver
/// can log and answer precisely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// `Gladly-Time` or `Gladly-Authorization` is absent.
    #[error("missing header `{header}`")]
    MissingHeader {
        /// `Gladly-Time` or `Gladly-Authorization`.
        header: &'static str,
    },
    /// `Gladly-Authorization` cannot be read.
    #[error("malformed `Gladly-Authorization` header: {0}")]
    MalformedAuthorization(#[from] AuthorizationError),
    /// `SigningAlgorithm` names an algorithm other than `hmac-sha256`.
    #[error("unsupported signing algorithm `{algorithm}`: only hmac-sha256 is accepted")]
    UnsupportedAlgorithm {
        /// The algorithm as sent (at most 64 characters).
        algorithm: String,
    },
    /// `Gladly-Time` is not `YYYYMMDDTHHMMSSZ`.
    #[error("malformed `Gladly-Time` `{value}`: expected UTC as YYYYMMDDTHHMMSSZ")]
    MalformedTime {
        /// The header's value as sent (at most 64 characters, lossy UTF-8).
        value: String,
    },
    /// `Gladly-Time` is further from the verifier's clock than the tolerance.
    #[error(
        "`Gladly-Time` is {} {} the verifier's clock, beyond the tolerance of {}",
        seconds(skew.abs()), if *skew >= TimeDelta::zero() { "behind" } else { "ahead of" }, seconds(*tolerance)
    )]
    TimeOutsideTolerance {
        /// The verifier's clock less the request's time: positive when the
        /// request is older than the clock, negative when it is ahead.
        skew: TimeDelta,
        /// The tolerance in force.
        tolerance: TimeDelta,
    },
    /// `SignedHeaders` does not include `gladly-time`, so the time is not
    /// bound to the signature.
    #[error("SignedHeaders does not include `gladly-time`, so the time is not signed")]
    TimeNotSigned,
    /// A header listed in `SignedHeaders` is not on the request.
    #[error("signed header `{header}` is not on the request")]
    SignedHeaderMissing {
        /// The header's lowercase name.
        header: String,
    },
    /// A header listed in `SignedHeaders` is on the request more than once.
    #[error("signed header `{header}` is on the request more than once")]
    SignedHeaderRepeated {
        /// The header's lowercase name.
        header: String,
    },
    /// The signature does not match the request under any of the secrets.
    #[error("signature mismatch: the request was not signed with this secret, or was changed")]
    SignatureMismatch,
}

/// A duration as seconds with as many decimals as it needs: `300 s`,
/// `300.999 s`, `0.000001 s`.
/// A time difference as a person reads it: every decimal under an hour
/// (`300.5 s`), hours and minutes under a day (`3 h 20 min`), days beyond
/// (`5 days`).
fn seconds(delta: TimeDelta) -> String {
    let nanos = delta.subsec_nanos().unsigned_abs();
    let whole = delta.num_seconds().unsigned_abs();
    if whole >= 86_400 {
        let days = whole / 86_400;
        return format!("{days} day{}", if days == 1 { "" } else { "s" });
    }
    if whole >= 3600 {
        return format!("{} h {} min", whole / 3600, (whole % 3600) / 60);
    }
    if nanos == 0 {
        return format!("{whole} s");
    }
    let fraction = format!("{nanos:09}");
    format!("{whole}.{} s", fraction.trim_end_matches('0'))
}

/// Why a delivery could not be verified and read as an event
/// ([`Verifier::verify_and_parse`](super::Verifier::verify_and_parse)).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyEventError {
    /// The request is not signed by any of the secrets: answer 401.
    #[error("rejected: {0}")]
    Verify(#[from] VerifyError),
    /// The request is authentic, but its body is not an event. Gladly
    /// retries a 4xx and then deactivates the subscription, so a receiver
    /// should keep the body for a later replay and answer 2xx.
    #[error("verified, but not an event: {0}")]
    Event(#[from] crate::event::EventError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_show_every_decimal_they_have() {
        assert_eq!(seconds(TimeDelta::seconds(300)), "300 s");
        assert_eq!(seconds(TimeDelta::milliseconds(300_999)), "300.999 s");
        assert_eq!(seconds(TimeDelta::nanoseconds(1_500)), "0.0000015 s");
        assert_eq!(seconds(TimeDelta::milliseconds(-301_500).abs()), "301.5 s");
        assert_eq!(seconds(TimeDelta::seconds(12_000)), "3 h 20 min");
        assert_eq!(seconds(TimeDelta::milliseconds(439_461_246)), "5 days");
        assert_eq!(seconds(TimeDelta::seconds(86_400)), "1 day");
    }
}
