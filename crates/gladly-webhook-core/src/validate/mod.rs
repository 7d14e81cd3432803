//! Validate subscription documents: a typed [`Webhook`], or every problem
//! at once, each at its JSON pointer.
//!
//! [`Policy::schema`] checks exactly what the vendored JSON Schema says;
//! [`Policy::strict`], the default, adds what a delivery system needs.
//! Documents are read in one pass with no intermediate `serde_json::Value`.
//!
//! # Agreement with the schema
//!
//! On every document that `serde_json::Value` can hold, [`Policy::schema`]
//! gives the verdict of a JSON Schema validator (`jsonschema`, formats
//! asserted), and reports an error at each pointer it reports; the tests
//! check this on a table of edge cases and on generated documents.
//!
//! Some valid JSON cannot be held in a `Value`: a number beyond `f64`, a
//! lone UTF-16 surrogate escape (`"\ud800"`), nesting deeper than 128.
//! Where such a value is only skipped (an unknown property, the inside of
//! an object) it is accepted, as the schema accepts it. Where validation
//! reads it, in the value of a known property:
//!
//! - a number beyond `f64` is [`ErrorCode::Syntax`] and nesting deeper
//!   than 128 is [`ErrorCode::TooDeep`], where the schema's error is a
//!   [`ErrorCode::Type`]: the verdict (invalid) is the same;
//! - a lone surrogate in `id` or `secret` is [`ErrorCode::Syntax`], though
//!   the schema allows any string there: such a string cannot be a Rust
//!   `String`. This is the one difference in verdict.
//!
//! ```
//! use gladly_webhook_core::validate::{Policy, validate_str};
//!
//! let webhook = validate_str(
//!     r#"{"id": "wh_1", "url": "https://example.com/hooks", "events": ["TASK_CLOSED"]}"#,
//!     &Policy::strict(),
//! )?;
//! assert_eq!(webhook.id, "wh_1");
//!
//! let report = validate_str(
//!     r#"{"id": "", "url": "http://example.com", "events": ["TASK_CLOSED", "NOPE"]}"#,
//!     &Policy::strict(),
//! ).unwrap_err();
//! assert_eq!(report.to_string(), "\
//! /id: EmptyId: expected a non-empty id, found \"\"
//! /url: HttpsRequired: expected an https URL, found the scheme \"http\"
//! /events/1: Enum: expected one of CONVERSATION_CREATED, CONVERSATION_UPDATED, CONVERSATION_CLOSED, MESSAGE_CREATED, TASK_CREATED, TASK_UPDATED, TASK_CLOSED, CUSTOMER_CREATED, CUSTOMER_UPDATED, AGENT_STATE_CHANGED, found \"NOPE\"");
//! # Ok::<(), gladly_webhook_core::validate::ValidationReport>(())
//! ```

#[cfg(feature = "validate")]
mod json;
#[cfg(feature = "validate")]
mod policy;
mod report;
#[cfg(feature = "validate")]
mod rest;
#[cfg(feature = "validate")]
mod rules;

#[cfg(feature = "validate")]
use gladly_schema::Webhook;

#[cfg(feature = "validate")]
pub use policy::{DEFAULT_MAX_SIZE, Level, MIN_SECRET_LEN, Policy};
pub use report::{ErrorCode, ValidationError, ValidationReport};
#[cfg(feature = "validate")]
pub use rest::{RESERVED_HEADERS, RestBody, validate_rest_webhook};

#[cfg(feature = "validate")]
use json::Document;
#[cfg(feature = "validate")]
use rules::Problems;

/// Validates a subscription document given as bytes: the typed
/// [`Webhook`], or a report of every problem, in document order.
///
/// Bad input of any shape (too large, not UTF-8, not JSON, nested too
/// deep, not an object) is a report, never a panic.
///
/// ```
/// use gladly_webhook_core::validate::{ErrorCode, Policy, validate_json};
///
/// let ok = br#"{"id": "wh_1", "url": "https://example.com/h", "events": ["CUSTOMER_UPDATED"],
///              "secret": "whsec_example_0123456789abcdef", "createdAt": "2026-11-26T17:00:00Z"}"#;
/// let webhook = validate_json(ok, &Policy::strict()).unwrap();
/// assert_eq!(webhook.secret.unwrap().expose(), "whsec_example_0123456789abcdef");
///
/// let bad = br#"{"url": "not a uri", "events": "CUSTOMER_UPDATED", "active": "yes"}"#;
/// let report = validate_json(bad, &Policy::schema()).unwrap_err();
/// let found: Vec<(&str, ErrorCode)> =
///     report.errors().iter().map(|e| (e.pointer.as_str(), e.code)).collect();
/// assert_eq!(found, [
///     ("", ErrorCode::Required),
///     ("/url", ErrorCode::Format),
///     ("/events", ErrorCode::Type),
///     ("/active", ErrorCode::Type),
/// ]);
/// ```
#[cfg(feature = "validate")]
pub fn validate_json(bytes: &[u8], policy: &Policy) -> Result<Webhook, ValidationReport> {
    check_size(bytes.len(), policy)?;
    let text = std::str::from_utf8(bytes).map_err(|err| {
        ValidationReport::single(
            "",
            ErrorCode::NotUtf8,
            format!(
                "expected UTF-8 JSON, found an invalid byte sequence at byte {}",
                err.valid_up_to()
            ),
        )
    })?;
    validate_text(text, policy)
}

/// Validates a subscription document given as text; see [`validate_json`].
///
/// ```
/// use gladly_webhook_core::validate::{Policy, validate_str};
///
/// assert!(validate_str(r#"{"id": "a", "url": "https://h.example", "events": ["TASK_CREATED"]}"#, &Policy::default()).is_ok());
/// let report = validate_str("[1, 2]", &Policy::default()).unwrap_err();
/// assert_eq!(report.to_string(), "(root): Type: expected an object, found an array of 2 items");
/// ```
#[cfg(feature = "validate")]
pub fn validate_str(text: &str, policy: &Policy) -> Result<Webhook, ValidationReport> {
    check_size(text.len(), policy)?;
    validate_text(text, policy)
}

#[cfg(feature = "validate")]
fn check_size(len: usize, policy: &Policy) -> Result<(), ValidationReport> {
    if len > policy.size_limit() {
        return Err(ValidationReport::single(
            "",
            ErrorCode::TooLarge,
            format!(
                "expected a document of at most {} bytes, found {len} bytes",
                policy.size_limit()
            ),
        ));
    }
    Ok(())
}

/// The report of a document that is not JSON (or nests too deep).
#[cfg(feature = "validate")]
pub(crate) fn not_json(err: &serde_json::Error) -> ValidationReport {
    let message = err.to_string();
    let code = if message.starts_with("recursion limit exceeded") {
        ErrorCode::TooDeep
    } else {
        ErrorCode::Syntax
    };
    ValidationReport::single("", code, format!("expected a JSON document: {message}"))
}

#[cfg(feature = "validate")]
fn validate_text(text: &str, policy: &Policy) -> Result<Webhook, ValidationReport> {
    let document = json::read(text).map_err(|err| not_json(&err))?;
    let properties = match &document {
        Document::Object(properties) => properties,
        Document::NotObject(value) => {
            return Err(ValidationReport::single(
                "",
                ErrorCode::Type,
                format!("expected an object, found {}", value.describe()),
            ));
        }
    };
    let mut problems = Problems::default();
    let typed = rules::check_schema(properties, &mut problems);
    rules::check_strict(&typed, policy, &mut problems);
    problems.finish()?;
    Ok(rules::build(typed).expect("a document with no problems has every required property"))
}

/// Validation of a subscription built in code.
#[cfg(feature = "validate")]
pub trait ValidateWebhook {
    /// Checks the subscription against `policy`: `Ok`, or every problem.
    ///
    /// ```
    /// use gladly_webhook_core::validate::{Policy, ValidateWebhook};
    /// use gladly_webhook_core::{EventType, Webhook};
    ///
    /// let mut webhook = Webhook {
    ///     id: "wh_1".into(),
    ///     url: "https://example.com/hooks".into(),
    ///     events: vec![EventType::TaskClosed],
    ///     secret: None,
    ///     active: Some(true),
    ///     created_at: None,
    ///     modified_at: None,
    /// };
    /// assert!(webhook.validate(&Policy::strict()).is_ok());
    ///
    /// webhook.events.push(EventType::TaskClosed);
    /// webhook.url = "https://example.com/hooks#top".into();
    /// let report = webhook.validate(&Policy::strict()).unwrap_err();
    /// assert_eq!(report.len(), 2);
    /// assert!(webhook.validate(&Policy::schema()).is_ok());
    /// ```
    fn validate(&self, policy: &Policy) -> Result<(), ValidationReport>;
}

#[cfg(feature = "validate")]
impl ValidateWebhook for Webhook {
    fn validate(&self, policy: &Policy) -> Result<(), ValidationReport> {
        let mut problems = Problems::default();
        let typed = rules::check_webhook(self, &mut problems);
        rules::check_strict(&typed, policy, &mut problems);
        problems.finish()
    }
}
