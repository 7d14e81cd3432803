//! What differs between the two models a hub serves, in one place.

use std::time::Duration;

use gladly_webhook_core::model::Model;

/// The rules of the model a hub serves: everything the use cases, the
/// store and the dispatcher do differently for our user's subscriptions
/// and for REST API 1.0 webhooks (the API's words and answers are each
/// dialect's own, in `api` and `api::rest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rules {
    /// The model.
    pub(crate) model: Model,
    /// Whether an active subscription may be deleted (Gladly refuses to
    /// delete an enabled webhook).
    pub(crate) deletes_active: bool,
    /// Whether the Events API serves what was published: the bodies of
    /// events no subscription receives are kept, and the purge keeps events
    /// for the Events API's window.
    pub(crate) serves_events_api: bool,
    /// Whether a receiver's `429` or `503` with `Retry-After` pauses the
    /// subscription that long (Gladly's REST API 1.0 counts any non-2xx as
    /// a failure, and waits its own schedule).
    pub(crate) honours_retry_after: bool,
    /// Whether the service emails its API users when the dispatcher
    /// disables a webhook (Gladly does: the local Gladly records that email
    /// as the operational event `api_users.emailed`).
    pub(crate) emails_api_users_on_disable: bool,
}

impl Rules {
    /// The rules of `model`.
    pub(crate) fn of(model: Model) -> Self {
        match model {
            Model::RestApiV1 => Self {
                model,
                deletes_active: false,
                serves_events_api: true,
                honours_retry_after: false,
                emails_api_users_on_disable: true,
            },
            _ => Self {
                model,
                deletes_active: true,
                serves_events_api: false,
                honours_retry_after: true,
                emails_api_users_on_disable: false,
            },
        }
    }

    /// How long the purge keeps what finished: `retention`, and at least
    /// the Events API's `window` where the model serves it.
    pub(crate) fn retention(
        &self,
        retention: Option<Duration>,
        window: Duration,
    ) -> Option<Duration> {
        match self.serves_events_api {
            true => retention.map(|kept| kept.max(window)),
            false => retention,
        }
    }
}
