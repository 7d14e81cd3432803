//! [`Envelope`]: what every event carries, whatever its type.

use chrono::{DateTime, Utc};
use gladly_schema::Event;
use gladly_schema::event::Initiator;

/// The envelope fields of an event: its type, and the id, time and
/// initiator that every event but a `PING` must carry.
pub trait Envelope {
    /// The wire name of the event's type (`CONVERSATION_CLOSED`, `PING`).
    fn event_type(&self) -> &'static str;
    /// The event's id, the same on every retry (`None` on a `PING` without).
    fn id(&self) -> Option<&str>;
    /// When the event was recorded (`None` on a `PING` without).
    fn timestamp(&self) -> Option<DateTime<Utc>>;
    /// Who caused the event (`None` on a `PING` without).
    fn initiator(&self) -> Option<&Initiator>;
}

/// Expands to a match over every variant with the full envelope, plus `PING`.
macro_rules! by_variant {
    ($event:expr, |$id:ident, $timestamp:ident, $initiator:ident| $full:expr, ping: |$pid:ident, $ptimestamp:ident, $pinitiator:ident| $ping:expr) => {
        match $event {
            Event::ConversationCreated {
                id: $id,
                timestamp: $timestamp,
                initiator: $initiator,
                ..
            }
            | Event::ConversationUpdated {
                id: $id,
                timestamp: $timestamp,
                initiator: $initiator,
                ..
            }
            | Event::ConversationClosed {
                id: $id,
                timestamp: $timestamp,
                initiator: $initiator,
                ..
            }
            | Event::MessageCreated {
                id: $id,
                timestamp: $timestamp,
                initiator: $initiator,
                ..
            }
            | Event::TaskCreated {
                id: $id,
                timestamp: $timestamp,
                initiator: $initiator,
                ..
            }
            | Event::TaskUpdated {
                id: $id,
                timestamp: $timestamp,
                initiator: $initiator,
                ..
            }
            | Event::TaskClosed {
                id: $id,
                timestamp: $timestamp,
                initiator: $initiator,
                ..
            }
            | Event::CustomerCreated {
                id: $id,
                timestamp: $timestamp,
                initiator: $initiator,
                ..
            }
            | Event::CustomerUpdated {
                id: $id,
                timestamp: $timestamp,
                initiator: $initiator,
                ..
            }
            | Event::AgentStateChanged {
                id: $id,
                timestamp: $timestamp,
                initiator: $initiator,
                ..
            } => $full,
            Event::Ping {
                id: $pid,
                timestamp: $ptimestamp,
                initiator: $pinitiator,
            } => $ping,
        }
    };
}

impl Envelope for Event {
    fn event_type(&self) -> &'static str {
        match self {
            Event::ConversationCreated { .. } => "CONVERSATION_CREATED",
            Event::ConversationUpdated { .. } => "CONVERSATION_UPDATED",
            Event::ConversationClosed { .. } => "CONVERSATION_CLOSED",
            Event::MessageCreated { .. } => "MESSAGE_CREATED",
            Event::TaskCreated { .. } => "TASK_CREATED",
            Event::TaskUpdated { .. } => "TASK_UPDATED",
            Event::TaskClosed { .. } => "TASK_CLOSED",
            Event::CustomerCreated { .. } => "CUSTOMER_CREATED",
            Event::CustomerUpdated { .. } => "CUSTOMER_UPDATED",
            Event::AgentStateChanged { .. } => "AGENT_STATE_CHANGED",
            Event::Ping { .. } => "PING",
        }
    }

    fn id(&self) -> Option<&str> {
        by_variant!(self, |id, _t, _i| Some(id.as_str()), ping: |id, _t, _i| id.as_deref())
    }

    fn timestamp(&self) -> Option<DateTime<Utc>> {
        by_variant!(self, |_id, t, _i| Some(*t), ping: |_id, t, _i| *t)
    }

    fn initiator(&self) -> Option<&Initiator> {
        by_variant!(self, |_id, _t, i| Some(i), ping: |_id, _t, i| i.as_ref())
    }
}
