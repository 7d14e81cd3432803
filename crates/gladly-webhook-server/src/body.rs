//! Reading a request body whole, bounded in size, in time and against a
//! budget shared by every request of a server.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http_body::Body;
use http_body_util::BodyExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The default [`BodyBudget`]: 64 MiB of bodies buffered at once.
pub const DEFAULT_BODY_BUDGET: usize = 64 << 20;
/// The default time a whole body has to arrive: 30 s.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// How many bytes of request bodies a server buffers at once, over all its
/// requests: a semaphore sized in bytes. A request that cannot reserve
/// what its body needs is answered `503` at once, so clients that send
/// large bodies slowly cannot pin the server's memory. Clones share the
/// budget.
///
/// ```
/// use gladly_webhook_server::body::BodyBudget;
///
/// let budget = BodyBudget::new(1000);
/// let first = budget.try_reserve(600).unwrap();
/// assert!(budget.try_reserve(600).is_none());
/// drop(first);
/// assert!(budget.try_reserve(600).is_some());
/// ```
#[derive(Debug, Clone)]
pub struct BodyBudget {
    bytes: Arc<Semaphore>,
    total: usize,
}

/// Bytes reserved from a [`BodyBudget`]; given back when dropped. Keep it
/// as long as the body is held.
#[derive(Debug)]
pub struct Reservation {
    permit: Option<OwnedSemaphorePermit>,
    budget: BodyBudget,
}

impl BodyBudget {
    /// A budget of `bytes` (at least 1).
    pub fn new(bytes: usize) -> Self {
        let total = bytes.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            bytes: Arc::new(Semaphore::new(total)),
            total,
        }
    }

    /// The budget's size.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Reserves `bytes` now, or `None` when the budget has not that much
    /// left.
    pub fn try_reserve(&self, bytes: usize) -> Option<Reservation> {
        let mut reservation = Reservation {
            permit: None,
            budget: self.clone(),
        };
        reservation.grow(bytes).then_some(reservation)
    }
}

impl Default for BodyBudget {
    fn default() -> Self {
        Self::new(DEFAULT_BODY_BUDGET)
    }
}

impl Reservation {
    /// Reserves `bytes` more; `false` (nothing more reserved) when the
    /// budget has not that much left.
    pub fn grow(&mut self, bytes: usize) -> bool {
        if bytes == 0 {
            return true;
        }
        let Ok(n) = u32::try_from(bytes) else {
            return false;
        };
        match self.budget.bytes.clone().try_acquire_many_owned(n) {
            Ok(more) => {
                match &mut self.permit {
                    Some(permit) => permit.merge(more),
                    None => self.permit = Some(more),
                }
                true
            }
            Err(_) => false,
        }
    }

    /// How many bytes are reserved.
    pub fn bytes(&self) -> usize {
        self.permit.as_ref().map_or(0, |p| p.num_permits())
    }
}

/// Why a body was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The body is larger than the limit (by its `Content-Length`, or as
    /// it was read): 413.
    #[error("the body is larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The whole body did not arrive in time: 408.
    #[error("the body did not arrive within {} s", after.as_secs_f64())]
    Timeout {
        /// The time it had.
        after: Duration,
    },
    /// The server is buffering as many bodies as its budget allows: 503.
    #[error("too many bodies are being received; retry")]
    Busy,
    /// The connection failed while the body was read: 400.
    #[error("the body could not be read")]
    Unreadable,
}

impl BodyError {
    /// The status to answer.
    pub fn status(&self) -> http::StatusCode {
        match self {
            Self::TooLarge { .. } => http::StatusCode::PAYLOAD_TOO_LARGE,
            Self::Timeout { .. } => http::StatusCode::REQUEST_TIMEOUT,
            Self::Busy => http::StatusCode::SERVICE_UNAVAILABLE,
            Self::Unreadable => http::StatusCode::BAD_REQUEST,
        }
    }
}

/// How a body is read: at most `max_bytes`, all of it within `timeout`,
/// reserved from `budget`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BodyLimits {
    /// The largest body, in bytes.
    pub max_bytes: usize,
    /// The time the whole body has to arrive.
    pub timeout: Duration,
    /// The budget every body is reserved from.
    pub budget: BodyBudget,
}

impl BodyLimits {
    /// At most `max_bytes`, within [`DEFAULT_BODY_TIMEOUT`], from a budget
    /// of its own of [`DEFAULT_BODY_BUDGET`].
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            timeout: DEFAULT_BODY_TIMEOUT,
            budget: BodyBudget::default(),
        }
    }

    /// Sets the time the whole body has to arrive.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Reserves from `budget` (shared with other requests).
    pub fn budget(mut self, budget: BodyBudget) -> Self {
        self.budget = budget;
        self
    }
}

/// How much a chunked body reserves at a time.
const STEP: usize = 64 * 1024;

/// Reads `body` whole. A declared length (`declared`, from
/// `Content-Length`) over the limit is refused before a byte is read, and
/// is reserved from the budget up front; a body of unknown length
/// reserves as it grows. On an error the body may be left part-read (the
/// caller may drain it before answering).
///
/// ```
/// use gladly_webhook_server::body::{BodyError, BodyLimits, read_body};
/// use http_body_util::Full;
///
/// # tokio_test(async {
/// let limits = BodyLimits::new(8);
/// let mut body = Full::new(bytes::Bytes::from_static(b"{\"a\":1}"));
/// let (bytes, _reserved) = read_body(&mut body, Some(7), &limits).await.unwrap();
/// assert_eq!(&bytes[..], b"{\"a\":1}");
/// let mut big = Full::new(bytes::Bytes::from_static(b"0123456789"));
/// assert_eq!(read_body(&mut big, None, &limits).await.unwrap_err(), BodyError::TooLarge { limit: 8 });
/// # });
/// # fn tokio_test(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
/// # }
/// ```
pub async fn read_body<B>(
    body: &mut B,
    declared: Option<u64>,
    limits: &BodyLimits,
) -> Result<(Bytes, Reservation), BodyError>
where
    B: Body + Unpin,
{
    let limit = limits.max_bytes;
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let up_front = declared.map_or(0, |n| n as usize);
    let mut reservation = limits.budget.try_reserve(up_front).ok_or(BodyError::Busy)?;
    let read = async {
        let mut bytes = BytesMut::with_capacity(up_front);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| BodyError::Unreadable)?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            let len = bytes.len() + data.remaining();
            if len > limit {
                return Err(BodyError::TooLarge { limit });
            }
            let reserved = reservation.bytes();
            if len > reserved {
                // At least what is needed, a step ahead where the limit
                // leaves room, so a chunked body reserves a few times.
                let needed = len - reserved;
                let ahead = STEP.min(limit - reserved);
                if !reservation.grow(needed.max(ahead)) {
                    return Err(BodyError::Busy);
                }
            }
            bytes.put(data);
        }
        Ok(bytes.freeze())
    };
    match tokio::time::timeout(limits.timeout, read).await {
        Ok(Ok(bytes)) => Ok((bytes, reservation)),
        Ok(Err(err)) => Err(err),
        Err(_) => Err(BodyError::Timeout {
            after: limits.timeout,
        }),
    }
}
