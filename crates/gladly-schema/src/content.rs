//! [`EventContent`]: the content of one event type, in either model.

/// The type one event type carries beside the envelope (`content:
/// ConversationClosed`), implemented by the generated code for every event
/// type of both models, so code can ask for the content of one event type
/// by its Rust type: [`event::ConversationClosed`](crate::event::ConversationClosed)
/// for our user's `CONVERSATION_CLOSED`,
/// [`rest::event::ConversationClosed`](crate::rest::event::ConversationClosed)
/// for Gladly's `CONVERSATION/CLOSED`.
///
/// ```
/// use gladly_schema::{EventContent, event, rest};
///
/// assert_eq!(<event::ConversationClosed as EventContent>::TAG, "CONVERSATION_CLOSED");
/// assert_eq!(<rest::event::ConversationClosed as EventContent>::TAG, "CONVERSATION/CLOSED");
/// ```
// Giving the event back whole on a mismatch is the point: no boxing.
#[allow(clippy::result_large_err)]
pub trait EventContent: Sized {
    /// The event enum of the model this content belongs to
    /// ([`Event`](crate::Event) or [`rest::Event`](crate::rest::Event)).
    type Parent;
    /// The event type on the wire (`CONVERSATION_CLOSED`, `CONVERSATION/CLOSED`).
    const TAG: &'static str;
    /// This content, or the event back when it is of another type.
    fn from_parent(parent: Self::Parent) -> Result<Self, Self::Parent>;
}
