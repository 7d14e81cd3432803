//! [`ValidationReport`]: every problem with a document, each at its place.

use std::fmt;

use serde::Serialize;

/// What kind of problem a [`ValidationError`] is: stable, for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The document is larger than the policy's size limit.
    TooLarge,
    /// The document is not UTF-8.
    NotUtf8,
    /// The document is not JSON.
    Syntax,
    /// The document nests deeper than the JSON reader allows.
    TooDeep,
    /// A required property is missing.
    Required,
    /// A value has the wrong JSON type.
    Type,
    /// A value is not one of the allowed values.
    Enum,
    /// A string is not of its `format` (`uri`, `date-time`).
    Format,
    /// The URL's scheme is not `https` (strict).
    HttpsRequired,
    /// The URL has no host (strict).
    MissingHost,
    /// The URL's host can receive nothing: an empty DNS label, an IP
    /// literal of a future version (strict).
    InvalidHost,
    /// The URL's port is empty, 0 or beyond 65535 (strict).
    InvalidPort,
    /// The URL names an address that is not a public destination
    /// (loopback, private, link-local...) and the policy does not allow it
    /// (strict; see [`crate::address`]).
    AddressNotAllowed,
    /// The URL carries user-info, a credential in the URL (strict).
    UserInfo,
    /// The URL has a fragment, which is never sent (strict).
    Fragment,
    /// `events` is empty (strict).
    EmptyEvents,
    /// An event type is listed twice (strict).
    DuplicateEvent,
    /// `id` is empty (strict).
    EmptyId,
    /// The secret is shorter than the minimum (strict).
    SecretTooShort,
    /// The secret has leading or trailing whitespace (strict).
    SecretWhitespace,
    /// `modifiedAt` is before `createdAt` (strict).
    ModifiedBeforeCreated,
    /// A header of a REST API 1.0 webhook's `headers` cannot be sent: its
    /// name is not an HTTP header name, or is one the delivery sets itself
    /// (`Content-Length`, `Authorization`, `Connection`...).
    HeaderName,
    /// A header's value cannot be sent: it holds a NUL, CR, LF or another
    /// control character.
    HeaderValue,
}

impl ErrorCode {
    /// The code's name, as printed and serialized (`Required`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::TooLarge => "TooLarge",
            Self::NotUtf8 => "NotUtf8",
            Self::Syntax => "Syntax",
            Self::TooDeep => "TooDeep",
            Self::Required => "Required",
            Self::Type => "Type",
            Self::Enum => "Enum",
            Self::Format => "Format",
            Self::HttpsRequired => "HttpsRequired",
            Self::MissingHost => "MissingHost",
            Self::InvalidHost => "InvalidHost",
            Self::InvalidPort => "InvalidPort",
            Self::AddressNotAllowed => "AddressNotAllowed",
            Self::UserInfo => "UserInfo",
            Self::Fragment => "Fragment",
            Self::EmptyEvents => "EmptyEvents",
            Self::DuplicateEvent => "DuplicateEvent",
            Self::EmptyId => "EmptyId",
            Self::SecretTooShort => "SecretTooShort",
            Self::SecretWhitespace => "SecretWhitespace",
            Self::ModifiedBeforeCreated => "ModifiedBeforeCreated",
            Self::HeaderName => "HeaderName",
            Self::HeaderValue => "HeaderValue",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem: where (an RFC 6901 JSON pointer, `""` for the whole
/// document), what kind ([`ErrorCode`]) and a sentence saying what was
/// expected and what was found. Never contains the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationError {
    /// The JSON pointer of the offending value (`/events/2`, `/url`, `""`).
    pub pointer: String,
    /// The kind of problem.
    pub code: ErrorCode,
    /// What was expected and what was found.
    pub message: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = crate::echo::pointer(&self.pointer);
        write!(f, "{pointer}: {}: {}", self.code, self.message)
    }
}

/// Every problem found in a document, in document order. `Display` prints
/// one per line, as `<pointer>: <code>: <message>` (the root as `(root)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ValidationReport {
    errors: Vec<ValidationError>,
}

// Only the validators make reports; without them the type is still named.
#[cfg_attr(not(feature = "validate"), allow(dead_code))]
impl ValidationReport {
    /// A report of `errors`, which must not be empty.
    pub(crate) fn new(errors: Vec<ValidationError>) -> Self {
        debug_assert!(!errors.is_empty());
        Self { errors }
    }

    /// A report of one problem.
    pub(crate) fn single(pointer: &str, code: ErrorCode, message: String) -> Self {
        Self::new(vec![ValidationError {
            pointer: pointer.to_string(),
            code,
            message,
        }])
    }

    /// The problems, in document order.
    pub fn errors(&self) -> &[ValidationError] {
        &self.errors
    }

    /// The number of problems (at least one).
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Always `false`: a report holds at least one problem.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
}

impl IntoIterator for ValidationReport {
    type Item = ValidationError;
    type IntoIter = std::vec::IntoIter<ValidationError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

impl fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationReport {}
