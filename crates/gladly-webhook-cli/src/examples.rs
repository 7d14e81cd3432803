//! The example payloads of `examples/events/`, built into the binary for
//! `trigger`: one realistic event per type, `PING` included.

/// Each event type and its example payload.
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "CONVERSATION_CREATED",
        include_str!("../../../examples/events/conversation-created.json"),
    ),
    (
        "CONVERSATION_UPDATED",
        include_str!("../../../examples/events/conversation-updated.json"),
    ),
    (
        "CONVERSATION_CLOSED",
        include_str!("../../../examples/events/conversation-closed.json"),
    ),
    (
        "MESSAGE_CREATED",
        include_str!("../../../examples/events/message-created.json"),
    ),
    (
        "TASK_CREATED",
        include_str!("../../../examples/events/task-created.json"),
    ),
    (
        "TASK_UPDATED",
        include_str!("../../../examples/events/task-updated.json"),
    ),
    (
        "TASK_CLOSED",
        include_str!("../../../examples/events/task-closed.json"),
    ),
    (
        "CUSTOMER_CREATED",
        include_str!("../../../examples/events/customer-created.json"),
    ),
    (
        "CUSTOMER_UPDATED",
        include_str!("../../../examples/events/customer-updated.json"),
    ),
    (
        "AGENT_STATE_CHANGED",
        include_str!("../../../examples/events/agent-state-changed.json"),
    ),
    ("PING", include_str!("../../../examples/events/ping.json")),
];

/// The example of `event_type`, forgiving case and `-` for `_`.
pub fn example(event_type: &str) -> Option<(&'static str, &'static str)> {
    let wanted = event_type.trim().to_ascii_uppercase().replace('-', "_");
    EXAMPLES.iter().copied().find(|(name, _)| *name == wanted)
}

#[cfg(test)]
mod tests {
    use gladly_webhook_core::event::{ParsedEvent, event_types, parse_event};

    use super::*;

    #[test]
    fn every_event_type_has_a_valid_example() {
        for event_type in event_types() {
            let (name, text) =
                example(event_type).unwrap_or_else(|| panic!("no example for {event_type}"));
            let parsed = parse_event(text.as_bytes()).unwrap();
            assert!(matches!(parsed, ParsedEvent::Known(_)));
            assert_eq!(parsed.event_type(), name);
        }
        assert_eq!(EXAMPLES.len(), event_types().count());
        assert_eq!(
            example("conversation-closed").unwrap().0,
            "CONVERSATION_CLOSED"
        );
    }
}
