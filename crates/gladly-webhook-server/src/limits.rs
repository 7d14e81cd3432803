//! [`Limits`]: what one server lets its clients hold.

use std::time::Duration;

/// What a server lets its clients hold. The defaults suit a webhook
/// endpoint: deliveries are small, answered in milliseconds, and come from
/// a few senders.
///
/// ```
/// use std::time::Duration;
/// use gladly_webhook_server::Limits;
///
/// let limits = Limits::default().max_connections(64).header_read_timeout(Duration::from_secs(5));
/// assert_eq!(limits.max_connections, 64);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The longest a client may take to send a request's head, and the
    /// longest a kept-alive connection may wait for its next request
    /// (default 10 s).
    pub header_read_timeout: Duration,
    /// The most connections open at once (default 512); past it a new
    /// connection is answered `503` and closed.
    pub max_connections: usize,
    /// The largest request head, in bytes (default 64 KiB).
    pub max_header_bytes: usize,
    /// How long requests in flight get to finish on shutdown (default
    /// 10 s).
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 512,
            max_header_bytes: 64 * 1024,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

impl Limits {
    /// Sets [`Limits::header_read_timeout`].
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Sets [`Limits::max_connections`] (at least 1).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Sets [`Limits::max_header_bytes`] (at least 8 KiB, hyper's floor).
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes.max(8192);
        self
    }

    /// Sets [`Limits::shutdown_grace`].
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }
}
