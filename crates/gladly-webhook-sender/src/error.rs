//! [`SenderError`]: why a sender could not be built or a request signed.

use gladly_webhook_core::standard_webhooks::StandardError;
use gladly_webhook_core::{KeyError, SignError};

/// Why a [`Sender`](crate::Sender) could not be built or a request not signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SenderError {
    /// The secret cannot sign.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A request cannot be signed as configured.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// A Standard Webhooks signature cannot be made (a message id with a
    /// full stop).
    #[error(transparent)]
    Standard(#[from] StandardError),
    /// The URL is not an absolute http(s) URL.
    #[error("bad URL: {0}")]
    Url(String),
    /// A header given is not a valid header.
    #[error("bad header: {0}")]
    Header(String),
    /// The HTTP client could not be built.
    #[error("the HTTP client could not be built: {0}")]
    Client(String),
}
