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
    /// The longest a write to a client may wait (default 30 s): a client
    /// that stops reading its answer loses its connection.
    pub write_timeout: Duration,
    /// The most connections open at once (default 512); past it a new
    /// connection is answered `503` and closed.
    pub max_connections: usize,
    /// The largest request head, in bytes (default 64 KiB).
    pub max_header_bytes: usize,
    /// How long requests in flight get to finish on shutdown (default
    /// 10 s).
    pub shutdown_grace: Duration,
    /// Paths whose `GET` or `HEAD` is answered past the connection cap, on
    /// connections of their own (see [`Limits::reserve_for`]); none by
    /// default.
    pub reserved_paths: Vec<String>,
    /// How many connections past the cap may serve the reserved paths at
    /// once.
    pub reserved_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            max_connections: 512,
            max_header_bytes: 64 * 1024,
            shutdown_grace: Duration::from_secs(10),
            reserved_paths: Vec::new(),
            reserved_connections: 0,
        }
    }
}

impl Limits {
    /// Sets [`Limits::header_read_timeout`].
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Sets [`Limits::write_timeout`].
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
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

    /// Keeps `connections` connections past the cap for requests to
    /// `paths` (health and readiness probes), so that a flood of idle
    /// connections cannot make a healthy server look dead: a connection
    /// that finds the cap reached may still send, within a second, a
    /// `GET` or `HEAD` of one of `paths`, which is answered (one request,
    /// then closed); anything else is answered `503` as before.
    ///
    /// ```
    /// use gladly_webhook_server::Limits;
    ///
    /// let limits = Limits::default().reserve_for(&["/healthz", "/readyz"], 8);
    /// assert_eq!(limits.reserved_connections, 8);
    /// ```
    pub fn reserve_for(mut self, paths: &[&str], connections: usize) -> Self {
        self.reserved_paths = paths.iter().map(|p| p.to_string()).collect();
        self.reserved_connections = connections;
        self
    }

    /// Sets [`Limits::shutdown_grace`].
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }
}
