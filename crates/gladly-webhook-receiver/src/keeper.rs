//! [`Keeper`]: where a receiver keeps what it verified.

use std::sync::Arc;

use crate::handlers::BoxError;
use crate::inbox::{BoxFuture, Inbox, Inserted, NewEvent};

/// Where a [`Receiver`](crate::Receiver) keeps what it verified, when that is not an
/// [`Inbox`]: a relay keeps each event with its deliveries onward. The
/// receiver answers 200 only once [`Keeper::keep`] returned `Ok`, and 503
/// (Gladly retries) on an error. An [`Inbox`] is one
/// ([`Receiver::with_inbox`](crate::Receiver::with_inbox)).
pub trait Keeper: Send + Sync + 'static {
    /// Keeps a verified delivery (a `dead` one is not a well-formed event:
    /// keep it for inspection, act on nothing), or recognises it by its
    /// dedup key ([`Inserted::Duplicate`]).
    fn keep(&self, event: NewEvent) -> BoxFuture<'_, Result<Inserted, BoxError>>;
}

/// An inbox, as a receiver keeps events in it.
pub(crate) struct InboxKeeper(pub(crate) Arc<dyn Inbox>);

impl Keeper for InboxKeeper {
    fn keep(&self, event: NewEvent) -> BoxFuture<'_, Result<Inserted, BoxError>> {
        Box::pin(async move { Ok(self.0.insert(event).await?) })
    }
}
