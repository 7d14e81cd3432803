//! Deliver Gladly webhook events the way Gladly does, to test an endpoint
//! (retries included) before Gladly ever calls it, or to run a
//! Gladly-compatible provider.
//!
//! A [`Sender`] `POST`s an event's JSON to one URL, signed with the
//! subscription's secret (a fresh `Gladly-Time` and signature on every
//! attempt, the same body and so the same event `id`), gives each attempt
//! 15 seconds, counts only a 2xx as delivered, never follows a redirect,
//! stops at `410 Gone`, honours `Retry-After` on a 429 or 503, and retries
//! on a [`Schedule`]: Gladly's is the first attempt and four more, after
//! waits of 30 s, 5 min, 30 min and 1 h ([`GLADLY_DELAYS`]). Every attempt is
//! reported (number, status or error, duration, the first 200 bytes of the
//! answer).
//!
//! A sender connects only to globally routable addresses unless told
//! otherwise ([`Sender::address_policy`]): the rule is checked on every
//! address a name resolves to, at connect time, so a subscription's URL
//! cannot reach loopback, private networks or cloud metadata.
//!
//! # Use
//!
//! ```toml
//! [dependencies]
//! gladly-webhook-sender = "0.1"
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```
//!
//! A complete program: deliver one event to a local receiver on a short
//! schedule, printing each attempt (loopback needs the address policy's
//! consent: a sender refuses it by default).
//!
//! ```no_run
//! use std::time::Duration;
//! use gladly_webhook_sender::{AddressPolicy, Schedule, Sender};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let body = br#"{"id":"evt_1","type":"PING","timestamp":"2026-11-26T17:00:00Z"}"#;
//!     let sender = Sender::new(std::env::var("GLADLY_SECRET")?)?
//!         .address_policy(AddressPolicy::default().allow_loopback(true))?
//!         .schedule(Schedule::Delays(vec![Duration::from_secs(1), Duration::from_secs(5)]))
//!         .timeout(Duration::from_secs(5));
//!     let report = sender
//!         .deliver("http://127.0.0.1:8080/hooks/gladly", body, |attempt| {
//!             println!("{}", attempt.summary());
//!         })
//!         .await?;
//!     println!("{:?} after {} attempt(s)", report.outcome, report.attempts.len());
//!     Ok(())
//! }
//! ```

mod error;
mod report;
mod resolve;
mod schedule;
mod sender;

pub use error::SenderError;
pub use gladly_webhook_core::address::{AddressPolicy, AddressRefused};
pub use report::{Attempt, Failure, Outcome, Report};
pub use schedule::{GLADLY_DELAYS, Schedule, ScheduleError, parse_duration};
pub use sender::{BODY_PREFIX, DEFAULT_TIMEOUT, Sender};
