//! What the API's handlers and layers share.

use std::sync::Arc;
use std::time::Duration;

use gladly_webhook_core::Policy;
use gladly_webhook_server::body::BodyLimits;

use crate::auth::ApiUsers;
use crate::store::Store;
use crate::subscriptions::Subscriptions;
use crate::throttle::LoginThrottle;

/// The state behind both dialects' routers: the use cases, what parses and
/// bounds requests, and who may make them.
pub(crate) struct Shared {
    /// The use cases.
    pub(crate) subscriptions: Subscriptions,
    /// The store, for the Events API's reads.
    pub(crate) store: Store,
    /// The API users.
    pub(crate) users: ApiUsers,
    /// How subscriptions are validated.
    pub(crate) policy: Policy,
    /// How request bodies are read.
    pub(crate) body: BodyLimits,
    /// Failed logins per peer.
    pub(crate) logins: Arc<LoginThrottle>,
    /// REST API 1.0's rate limit.
    pub(crate) rate: Arc<super::rate::RateLimit>,
    /// How far back the Events API reaches.
    pub(crate) events_window: Duration,
    /// The Events API's answers in progress per API user.
    pub(crate) streams: Arc<super::streams::StreamSlots>,
}
