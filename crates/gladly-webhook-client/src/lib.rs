//! A typed client for Gladly's webhook REST API 1.0
//! (`https://{organization}.gladly.com/api/v1/webhooks`), on the generated
//! [`gladly_schema::rest::Webhook`] type, against any base URL: Gladly
//! (`https://acme.gladly.com`), its sandbox (`https://acme.gladly.qa`) or a
//! local hub (`http://127.0.0.1:8090`).
//!
//! - Every body is validated before it is sent
//!   ([`gladly_webhook_core::validate::validate_rest_webhook`]: the schema,
//!   an `https` URL to a public address, known event names), with the
//!   report `gladly-webhook validate` prints.
//! - Gladly's errors (`{"errors": [{"attr", "code", "detail"}]}`) are
//!   typed ([`ClientError`]); 400, 401, 404 and 429 are distinct variants.
//! - The rate limit: `Ratelimit-Limit-Second` and
//!   `Ratelimit-Remaining-Second` are read from every answer
//!   ([`Client::rate_limit`]); with none remaining the next call waits for
//!   the next second, and a `429` is retried with capped exponential backoff
//!   and full jitter, a bounded number of times ([`RetryPolicy`]).
//! - HTTPS with rustls (`ring`), timeouts, no proxy, redirects followed
//!   only on the same host; the API user's token never appears in `Debug`,
//!   `Display`, logs or errors.
//!
//! # Use
//!
//! ```toml
//! [dependencies]
//! # `inbox` adds `backfill`: the Events API into a receiver's inbox.
//! gladly-webhook-client = "0.1"
//! serde_json = "1"
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```
//!
//! A complete program: create a webhook, enable it (Gladly PINGs its URL),
//! list them all.
//!
//! ```no_run
//! use gladly_webhook_client::{ApiUser, Client};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let user: ApiUser = "ops@example.com:tok_0123456789".parse()?;
//! let client = Client::new("https://acme.gladly.com", user)?;
//! let id = client
//!     .create_json(&serde_json::json!({
//!         "name": "CSAT integration",
//!         "url": "https://hooks.example.com/gladly",
//!         "events": ["CONVERSATION/CLOSED"],
//!         "headers": {"X-Gladly-Token": "a token of yours"}
//!     }))
//!     .await?;
//! client.enable(&id).await?;
//! for webhook in client.list().await? {
//!     println!("{:?} {} enabled={}", webhook.id, webhook.url, webhook.enabled);
//! }
//! Ok(())
//! }
//! ```

#[cfg(feature = "inbox")]
pub mod backfill;
mod client;
mod error;
mod events;
mod rate_limit;
mod retry;
mod user;

pub use client::Client;
pub use error::{ApiError, ApiErrors, ClientError};
pub use events::{
    EVENTS_RETENTION, EventLine, EventStream, EventsQuery, MAX_EVENT_LINE, STREAM_TIMEOUT,
};
pub use rate_limit::RateLimit;
pub use retry::RetryPolicy;
pub use user::{ApiUser, ApiUserError};
