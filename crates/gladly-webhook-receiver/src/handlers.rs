//! [`Handlers`]: what runs for each event, registered by type.
//!
//! - [`Handlers::on`] runs for one event type, with its content typed
//!   (`Delivery<ConversationClosed>`): the type names the event type, in
//!   either model (`gladly_schema::event::ConversationClosed` for our
//!   user's `CONVERSATION_CLOSED`, `gladly_schema::rest::event::ConversationClosed`
//!   for Gladly's `CONVERSATION/CLOSED`).
//! - [`Handlers::on_unknown`] runs for event types this version does not
//!   know, with the raw JSON.
//! - [`Handlers::on_any`] runs for every event, known or not, after the
//!   others.
//!
//! A handler returns `Ok(())` when it is done; an `Err` is retried (inbox
//! mode) or answered 500 so that Gladly retries (inline mode). Each of a
//! delivery's handlers runs again on a retry: write them to be idempotent
//! (see the crate docs on at-least-once delivery).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use gladly_webhook_core::event::{ModelEvent, ParsedEvent, UnknownEvent};
use gladly_webhook_core::{EventContent, Initiator};

use crate::inbox::BoxFuture;

/// The error a handler returns: anything that is an error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One event handed to a handler, with its envelope and its content.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Delivery<T> {
    /// The event's `id` (the same on each of Gladly's retries).
    pub event_id: Option<String>,
    /// The event's `type` as sent.
    pub event_type: String,
    /// When the event was recorded, when it says.
    pub timestamp: Option<DateTime<Utc>>,
    /// Who caused it, for a typed event that says.
    pub initiator: Option<Initiator>,
    /// Which run this is, from 1 (inline mode: always 1).
    pub attempt: u32,
    /// The content: a typed content struct, an [`UnknownEvent`] or a
    /// [`ParsedEvent`], as the handler asked.
    pub content: T,
    /// The body, byte for byte as received (what was signed).
    pub body: Bytes,
}

impl<T> Delivery<T> {
    /// The same delivery with other content.
    fn with<U>(&self, content: U) -> Delivery<U> {
        Delivery {
            event_id: self.event_id.clone(),
            event_type: self.event_type.clone(),
            timestamp: self.timestamp,
            initiator: self.initiator.clone(),
            attempt: self.attempt,
            content,
            body: self.body.clone(),
        }
    }
}

impl Delivery<ParsedEvent> {
    /// The delivery of `event`, read from `body`, on its `attempt`.
    pub fn of(event: ParsedEvent, body: Bytes, attempt: u32) -> Self {
        Self {
            body,
            event_id: event.id().map(str::to_string),
            event_type: event.event_type().to_string(),
            timestamp: event.timestamp(),
            initiator: event.initiator(),
            attempt,
            content: event,
        }
    }
}

type Erased<T> = Arc<dyn Fn(Delivery<T>) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync>;

/// The handlers of a receiver or of workers. Cheap to clone.
///
/// ```
/// use gladly_webhook_core::gladly_schema::event::{ConversationClosed, TaskClosed};
/// use gladly_webhook_receiver::{Delivery, Handlers};
///
/// let handlers = Handlers::new()
///     .on(|closed: Delivery<ConversationClosed>| async move {
///         println!("conversation {} closed", closed.content.conversation_id);
///         Ok(())
///     })
///     .on(|task: Delivery<TaskClosed>| async move {
///         println!("task {} closed", task.content.task_id);
///         Ok(())
///     });
/// assert!(handlers.handles("TASK_CLOSED") && !handlers.handles("TASK_CREATED"));
/// ```
///
/// Gladly's REST API 1.0 events are handled the same way, by their own
/// content types; one receiver can handle both models:
///
/// ```
/// use gladly_webhook_core::gladly_schema::rest::event::{ConversationClosed, TaskAssigneeUpdated};
/// use gladly_webhook_receiver::{Delivery, Handlers};
///
/// let handlers = Handlers::new()
///     .on(|closed: Delivery<ConversationClosed>| async move {
///         println!("conversation {} closed", closed.content.conversation_id);
///         Ok(())
///     })
///     .on(|task: Delivery<TaskAssigneeUpdated>| async move {
///         println!("task {} now in inbox {}", task.content.task_id, task.content.assignee.inbox_id);
///         Ok(())
///     });
/// assert!(handlers.handles("CONVERSATION/CLOSED") && !handlers.handles("CONVERSATION_CLOSED"));
/// ```
#[derive(Clone, Default)]
pub struct Handlers {
    typed: HashMap<&'static str, Vec<Erased<ParsedEvent>>>,
    unknown: Vec<Erased<UnknownEvent>>,
    any: Vec<Erased<ParsedEvent>>,
}

impl fmt::Debug for Handlers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut types: Vec<&&str> = self.typed.keys().collect();
        types.sort();
        f.debug_struct("Handlers")
            .field("typed", &types)
            .field("unknown", &self.unknown.len())
            .field("any", &self.any.len())
            .finish()
    }
}

impl Handlers {
    /// No handlers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `handler` for every event whose content is a `C` (the event
    /// type is `C::TAG`: `CONVERSATION_CLOSED` for our user's
    /// `event::ConversationClosed`, `CONVERSATION/CLOSED` for REST API 1.0's
    /// `rest::event::ConversationClosed`).
    pub fn on<C, F, Fut>(mut self, handler: F) -> Self
    where
        C: EventContent + Send + 'static,
        C::Parent: ModelEvent,
        F: Fn(Delivery<C>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let erased: Erased<ParsedEvent> = Arc::new(move |delivery: Delivery<ParsedEvent>| {
            let handler = Arc::clone(&handler);
            Box::pin(async move {
                let typed = delivery.with(());
                let given = delivery.event_type.clone();
                let content = C::Parent::from_parsed(delivery.content)
                    .ok()
                    .and_then(|event| C::from_parent(event).ok());
                match content {
                    Some(content) => handler(typed.with(content)).await,
                    None => Err(format!("a {} handler was given a {given} event", C::TAG).into()),
                }
            })
        });
        self.typed.entry(C::TAG).or_default().push(erased);
        self
    }

    /// Runs `handler` for every event of a type this version does not know.
    pub fn on_unknown<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Delivery<UnknownEvent>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        self.unknown.push(Arc::new(move |delivery| {
            let handler = Arc::clone(&handler);
            Box::pin(async move { handler(delivery).await })
        }));
        self
    }

    /// Runs `handler` for every event, known or not, after the handlers
    /// registered for it.
    pub fn on_any<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Delivery<ParsedEvent>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        self.any.push(Arc::new(move |delivery| {
            let handler = Arc::clone(&handler);
            Box::pin(async move { handler(delivery).await })
        }));
        self
    }

    /// Whether a handler other than [`Handlers::on_any`] is registered for
    /// `event_type`.
    pub fn handles(&self, event_type: &str) -> bool {
        self.typed.contains_key(event_type)
    }

    /// Whether no handler at all is registered.
    pub fn is_empty(&self) -> bool {
        self.typed.is_empty() && self.unknown.is_empty() && self.any.is_empty()
    }

    /// Runs every handler for `delivery`, in order, stopping at the first
    /// error. How many ran, or the error.
    pub async fn dispatch(&self, delivery: Delivery<ParsedEvent>) -> Result<usize, BoxError> {
        let mut ran = 0;
        match &delivery.content {
            ParsedEvent::Unknown(unknown) => {
                for handler in &self.unknown {
                    handler(delivery.with(unknown.clone())).await?;
                    ran += 1;
                }
            }
            typed => {
                for handler in self.typed.get(typed.event_type()).into_iter().flatten() {
                    handler(delivery.with(typed.clone())).await?;
                    ran += 1;
                }
            }
        }
        for handler in &self.any {
            handler(delivery.clone()).await?;
            ran += 1;
        }
        Ok(ran)
    }
}
