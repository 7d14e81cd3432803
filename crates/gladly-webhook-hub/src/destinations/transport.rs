//! [`Transport`]: how one attempt reaches a destination. HTTP with
//! Standard Webhooks signatures is built in ([`super::Destination::new`]);
//! another crate adds a message bus (the relay's NATS JetStream) by
//! implementing this trait, so the dispatcher never names a transport.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::store::DueDelivery;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sent {
    /// An HTTP answer: its status, and the wait a `429` or `503` asked for
    /// with `Retry-After`. A 2xx is success.
    Answered {
        /// The status.
        status: u16,
        /// The wait asked for, if any.
        retry_after: Option<Duration>,
    },
    /// The destination took it and said so: its acknowledgement in a few
    /// words (such as "stream GLADLY, sequence 42"). Success.
    Acknowledged(String),
    /// No answer, a refusal or a timeout: why, in words that name no
    /// secret (an address rule, "unreachable", "no acknowledgement within
    /// 5s").
    Failed(String),
}

/// The future of one attempt.
pub type Attempt<'a> = Pin<Box<dyn Future<Output = Sent> + Send + 'a>>;

/// A way to a destination. One call is one attempt: the dispatcher
/// schedules the retries, bounds the window and records the outcome, and
/// a delivery is done only when an attempt succeeds.
pub trait Transport: fmt::Debug + Send + Sync + 'static {
    /// Sends `due` (its event's id, type, body and time received) once.
    /// It should end within the destination's timeout.
    fn send<'a>(&'a self, due: &'a DueDelivery) -> Attempt<'a>;
}
