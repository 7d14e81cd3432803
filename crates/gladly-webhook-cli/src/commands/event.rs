//! `gladly-webhook event`.

use gladly_webhook_core::event::{EventError, ParsedEvent, parse_event};
use serde_json::Value;

use super::print;
use crate::cli::EventArgs;
use crate::error::CliError;
use crate::input;

pub fn run(args: &EventArgs) -> Result<(), CliError> {
    let bytes = input::read(&args.file)?;
    let event = parse_event(&bytes).map_err(|err| match &err {
        EventError::Malformed { .. } => {
            CliError::Rejected(format!("{}: {err}", input::display(&args.file)))
        }
        _ => CliError::Rejected(format!(
            "{}: not an event: {err}",
            input::display(&args.file)
        )),
    })?;
    let mut out = String::new();
    let known = matches!(event, ParsedEvent::Known(_));
    out.push_str(&format!(
        "type: {}{}\n",
        event.event_type(),
        if known {
            ""
        } else {
            " (not known to this version)"
        }
    ));
    if let Some(id) = event.id() {
        out.push_str(&format!("id: {id}\n"));
    }
    if let Some(time) = event.timestamp() {
        out.push_str(&format!(
            "timestamp: {}\n",
            time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        ));
    }
    if let Some(initiator) = event.initiator() {
        out.push_str(&format!(
            "initiator: {} {}\n",
            initiator.type_, initiator.id
        ));
    }
    // The content's ids, read from the payload itself so that unknown
    // types show theirs too.
    let raw: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if let Some(content) = raw.get("content").and_then(Value::as_object) {
        for (name, value) in content {
            if let (true, Some(id)) = (name.ends_with("Id"), value.as_str()) {
                out.push_str(&format!("{name}: {id}\n"));
            }
        }
    }
    print(out.as_bytes())
}
