//! `gladly-webhook event`.

use gladly_webhook_core::echo::escape;
use gladly_webhook_core::event::{EventError, ParsedEvent, parse_event};
use serde_json::Value;

use super::print;
use crate::cli::{EventArgs, OutputFormat};
use crate::error::CliError;
use crate::input;

/// How many characters of a value from the payload a line shows.
const SHOWN: usize = 200;

/// What a line naming an event's type adds after it: nothing for our
/// user's model, the model for another, and that the type is unknown.
pub fn model_note(event: &ParsedEvent) -> &'static str {
    match event.model() {
        Some(gladly_webhook_core::Model::Subscription) => "",
        Some(_) => " (Gladly REST API 1.0)",
        None => " (not known to this version)",
    }
}

/// The content's `...Id` fields that hold a string, from the event already
/// read (an unknown type's raw JSON, or the typed event's own fields): the
/// payload is parsed once.
fn content_ids(event: &ParsedEvent) -> Vec<(String, Value)> {
    let typed;
    let content = match event {
        ParsedEvent::Unknown(unknown) => unknown.raw.get("content"),
        ParsedEvent::Known(event) => {
            typed = serde_json::to_value(event).unwrap_or_default();
            typed.get("content")
        }
        ParsedEvent::Rest(event) => {
            typed = serde_json::to_value(event).unwrap_or_default();
            typed.get("content")
        }
        _ => None,
    };
    content
        .and_then(Value::as_object)
        .map(|content| {
            content
                .iter()
                .filter(|(name, value)| name.ends_with("Id") && value.is_string())
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect()
        })
        .unwrap_or_default()
}

pub fn run(args: &EventArgs) -> Result<(), CliError> {
    let bytes = input::read(&args.file, args.limits.max_bytes, "--max-bytes")?;
    let event = parse_event(&bytes).map_err(|err| match &err {
        EventError::Malformed { .. } => {
            CliError::Rejected(format!("{}: {err}", input::display(&args.file)))
        }
        _ => CliError::Rejected(format!(
            "{}: not an event: {err}",
            input::display(&args.file)
        )),
    })?;
    let ids = content_ids(&event);
    if args.format == OutputFormat::Json {
        let line = serde_json::json!({
            "type": event.event_type(),
            "model": event.model().map(|m| m.name()),
            "id": event.id(),
            "timestamp": event.timestamp().map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
            "initiator": event.initiator().map(|i| serde_json::json!({"type": i.type_, "id": i.id})),
            "ids": ids.iter().cloned().collect::<serde_json::Map<String, Value>>(),
        });
        return print(format!("{line}\n").as_bytes());
    }
    let mut out = String::new();
    out.push_str(&format!(
        "type: {}{}\n",
        escape(event.event_type(), SHOWN),
        model_note(&event)
    ));
    if let Some(id) = event.id() {
        out.push_str(&format!("id: {}\n", escape(id, SHOWN)));
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
            escape(&initiator.type_, SHOWN),
            escape(&initiator.id, SHOWN)
        ));
    }
    for (name, id) in &ids {
        out.push_str(&format!(
            "{}: {}\n",
            escape(name, SHOWN),
            escape(id.as_str().unwrap_or_default(), SHOWN)
        ));
    }
    print(out.as_bytes())
}
