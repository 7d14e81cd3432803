//! What the tool itself says on standard error: banners, stop lines,
//! warnings and errors. As text, one `gladly-webhook: ...` line each; with
//! `--log-format json`, one JSON object each, in the shape of the log
//! lines (`timestamp`, `level`, `fields.message`, `target`), so that every
//! line a log shipper reads from standard error is JSON.

use std::fmt::Display;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{SecondsFormat, Utc};
use clap::ValueEnum;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `time LEVEL span{fields}: message fields`, for people.
    Text,
    /// One JSON object per line, with the current span's fields.
    Json,
}

/// Whether lines are JSON; set once, before the command runs.
static JSON: AtomicBool = AtomicBool::new(false);

/// Says lines as `format` from now on.
pub fn init(format: LogFormat) {
    JSON.store(format == LogFormat::Json, Ordering::Relaxed);
}

/// Whether lines are JSON objects.
pub fn is_json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// A line of news: listening, stopped, what a change did.
pub fn info(message: impl Display) {
    line("INFO", "", &message.to_string(), None);
}

/// A line about something that works but should be looked at.
pub fn warn(message: impl Display) {
    line("WARN", "warning: ", &message.to_string(), None);
}

/// The line that ends a failed command.
pub fn error(message: impl Display) {
    line("ERROR", "", &message.to_string(), None);
}

/// A line a `--exec` command wrote on `stream` (`stdout` or `stderr`) for
/// the event `event_id`, said as a JSON object; only called with
/// `--log-format json` (as text, a command's output is passed on as it is).
pub fn command_output(stream: &str, event_id: &str, text: &str) {
    line(
        "INFO",
        "",
        "the command wrote a line",
        Some((stream, event_id, text)),
    );
}

fn line(level: &str, prefix: &str, message: &str, output: Option<(&str, &str, &str)>) {
    let text = render(is_json(), level, prefix, message, output);
    // Standard error gone (a closed pipe) is no reason to stop.
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// One line, as JSON or as text.
fn render(
    json: bool,
    level: &str,
    prefix: &str,
    message: &str,
    output: Option<(&str, &str, &str)>,
) -> String {
    if !json {
        return format!("gladly-webhook: {prefix}{message}");
    }
    let mut fields = serde_json::json!({ "message": message });
    if let Some((stream, event_id, text)) = output {
        fields["stream"] = stream.into();
        fields["event_id"] = event_id.into();
        fields["line"] = text.into();
    }
    serde_json::json!({
        "timestamp": Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
        "level": level,
        "fields": fields,
        "target": "gladly_webhook",
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_are_one_object_whatever_the_text() {
        let out = Some(("stderr", "evt_1", "a\nb\u{1b}[31m"));
        let line = render(true, "INFO", "", "the command wrote a line", out);
        assert!(!line.contains('\n') && !line.contains('\u{1b}'), "{line}");
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["level"], "INFO");
        assert_eq!(parsed["fields"]["line"], "a\nb\u{1b}[31m");
        assert_eq!(parsed["fields"]["event_id"], "evt_1");
        let warned = render(true, "WARN", "warning: ", "short key", None);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&warned).unwrap()["fields"]["message"],
            "short key"
        );
        assert_eq!(
            render(false, "WARN", "warning: ", "short key", None),
            "gladly-webhook: warning: short key"
        );
    }
}
