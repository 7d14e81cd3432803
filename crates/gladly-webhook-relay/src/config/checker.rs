//! Collecting a configuration's problems, each with its key path.

use std::time::Duration;

use gladly_webhook_sender::parse_duration;

use super::Problem;

/// Collects problems while a configuration is checked.
#[derive(Default)]
pub(super) struct Checker {
    pub(super) problems: Vec<Problem>,
}

impl Checker {
    pub(super) fn problem(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }

    /// `value`, or the problem at `key`.
    pub(super) fn ok<T>(&mut self, key: &str, value: Result<T, String>) -> Option<T> {
        value.map_err(|message| self.problem(key, message)).ok()
    }
}

pub(super) fn duration(text: &str) -> Result<Duration, String> {
    parse_duration(text)
        .ok_or_else(|| format!("{text:?} is not a duration (such as 500ms, 15s, 5m, 2h, 1d)"))
}
