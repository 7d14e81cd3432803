//! Gladly's Events API as the client reads it: [`EventsQuery`] (the
//! window), [`EventStream`] (the answer, a line at a time, each read
//! bounded by the client's timeout and the whole by [`STREAM_TIMEOUT`]).

use std::time::{Duration, Instant};

use crate::error::ClientError;

/// The longest an Events API stream may take whole (a day's events of a
/// large organization, read and stored); within it, no read may wait longer
/// than the client's timeout.
pub const STREAM_TIMEOUT: Duration = Duration::from_secs(60 * 60);
/// The longest line of the Events API read as one event.
pub const MAX_EVENT_LINE: usize = 1 << 20;

/// How far back Gladly's Events API reaches.
pub const EVENTS_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// A window of Gladly's Events API.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventsQuery {
    /// From (`startAt`).
    pub start_at: chrono::DateTime<chrono::Utc>,
    /// Until (`endAt`), or now.
    pub end_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Only these entities (the part of a type before `/`: `CONVERSATION`,
    /// `TASK`...); all when empty.
    pub entities: Vec<String>,
}

impl EventsQuery {
    /// The events since `start_at`, of every entity.
    pub fn since(start_at: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            start_at,
            end_at: None,
            entities: Vec::new(),
        }
    }

    /// Until `end_at`.
    pub fn until(mut self, end_at: chrono::DateTime<chrono::Utc>) -> Self {
        self.end_at = Some(end_at);
        self
    }

    /// Only `entities`.
    pub fn entities(mut self, entities: impl IntoIterator<Item = String>) -> Self {
        self.entities = entities.into_iter().collect();
        self
    }
}

/// One line of the Events API.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventLine {
    /// An event's JSON, as sent (without its newline).
    Event(Vec<u8>),
    /// A line longer than [`MAX_EVENT_LINE`], skipped.
    TooLong,
}

/// The Events API's answer, read a line at a time (at most
/// [`MAX_EVENT_LINE`] bytes held).
pub struct EventStream {
    response: reqwest::Response,
    /// When the request was sent: which timeout fired.
    started: Instant,
    /// The API's base URL, for errors.
    base: String,
    /// The longest wait for the next bytes (the client's timeout).
    idle: Duration,
    buffer: Vec<u8>,
    /// Inside a line too long, until its newline.
    skipping: bool,
    done: bool,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("buffered", &self.buffer.len())
            .finish_non_exhaustive()
    }
}

impl EventStream {
    /// The answer `response` to a request to `base` sent at `started`,
    /// waiting at most `idle` for its next bytes.
    pub(crate) fn new(
        response: reqwest::Response,
        started: Instant,
        base: String,
        idle: Duration,
    ) -> Self {
        Self {
            response,
            started,
            base,
            idle,
            buffer: Vec::new(),
            skipping: false,
            done: false,
        }
    }

    /// The next line (empty lines skipped), or `None` at the end.
    pub async fn next(&mut self) -> Result<Option<EventLine>, ClientError> {
        loop {
            if let Some(newline) = self.buffer.iter().position(|b| *b == b'\n') {
                let mut line: Vec<u8> = self.buffer.drain(..=newline).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if std::mem::take(&mut self.skipping) {
                    continue;
                }
                if line.len() > MAX_EVENT_LINE {
                    return Ok(Some(EventLine::TooLong));
                }
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Ok(Some(EventLine::Event(line)));
            }
            if self.buffer.len() > MAX_EVENT_LINE {
                self.buffer.clear();
                if !std::mem::replace(&mut self.skipping, true) {
                    return Ok(Some(EventLine::TooLong));
                }
            }
            if self.done {
                let line = std::mem::take(&mut self.buffer);
                if std::mem::take(&mut self.skipping) || line.iter().all(u8::is_ascii_whitespace) {
                    return Ok(None);
                }
                return Ok(Some(EventLine::Event(line)));
            }
            match self.response.chunk().await.map_err(|err| {
                if err.is_timeout() {
                    self.timed_out()
                } else {
                    ClientError::transport(&self.base, err)
                }
            })? {
                Some(chunk) => self.buffer.extend_from_slice(&chunk),
                None => self.done = true,
            }
        }
    }
}

impl EventStream {
    /// Which of the stream's two timeouts fired: the whole stream's, or
    /// the wait for its next bytes.
    fn timed_out(&self) -> ClientError {
        let reason = if self.started.elapsed() >= STREAM_TIMEOUT {
            format!(
                "the Events API stream took longer than {} min, its whole allowed time",
                STREAM_TIMEOUT.as_secs() / 60
            )
        } else {
            format!(
                "the Events API stream sent nothing for {} s (its idle timeout, the client's timeout)",
                self.idle.as_secs_f64()
            )
        };
        ClientError::Transport {
            base: self.base.clone(),
            reason,
        }
    }
}

pub(crate) fn rfc3339(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
