//! [`Problem`]: what is wrong with a request body, at its JSON pointer.

use gladly_webhook_core::ValidationReport;
use serde::Serialize;

/// One problem with a request body, at its JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The RFC 6901 pointer of the offending value (`""` for the body).
    pub pointer: String,
    /// What kind of problem (`Required`, `Enum`, `ReadOnly`...).
    pub code: String,
    /// What was expected and what was found.
    pub message: String,
}

impl Problem {
    /// A problem.
    pub fn new(pointer: &str, code: &str, message: impl Into<String>) -> Self {
        Self {
            pointer: pointer.to_string(),
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// A field a body may not have, at its pointer (the name escaped as
    /// RFC 6901 says, and shortened).
    pub fn unknown_field(name: &str, why: &str) -> Self {
        let token = name.replace('~', "~0").replace('/', "~1");
        Self::new(
            &format!("/{}", gladly_webhook_core::echo::escape(&token, 100)),
            "Unknown",
            why,
        )
    }

    /// The problems of a subscription's validation report.
    pub fn from_report(report: &ValidationReport) -> Vec<Self> {
        report
            .errors()
            .iter()
            .map(|e| Self::new(&e.pointer, e.code.as_str(), e.message.clone()))
            .collect()
    }
}
