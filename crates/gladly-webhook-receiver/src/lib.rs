//! Receive Gladly's webhook deliveries without losing any: verify, store,
//! answer, then work.
//!
//! # The story
//!
//! 1. **Receive.** A [`Receiver`] (a `tower::Service`, or an axum `Router`
//!    with [`Receiver::router`]) buffers the raw body under a limit
//!    (1 MiB; 413 past it, chunked or not), verifies Gladly's signature on
//!    those bytes with a [`Verifier`](gladly_webhook_core::Verifier)
//!    (several secrets during a rotation), and only then parses the event.
//! 2. **Store.** In inbox mode the event is committed to an
//!    [`Inbox`](inbox::Inbox) (SQLite by default, PostgreSQL for several
//!    machines) and only then answered 200: what Gladly was told it
//!    delivered is on disk. A retry of an event already stored (same `id`)
//!    is answered 200 and adds nothing. If the inbox cannot commit, the
//!    answer is 503 and Gladly retries later.
//! 3. **Work.** [`Workers`] claim stored events with a lease and run your
//!    [`Handlers`]; a failed run is retried with capped exponential backoff
//!    and full jitter, and is `dead` after the last allowed attempt (kept,
//!    with its error, until [`Inbox::requeue`](inbox::Inbox::requeue)).
//!    A worker that dies loses its lease, and the event runs again.
//!
//! Another store can stand in for the inbox ([`Receiver::keeping`] with a
//! [`Keeper`]): the relay keeps each event with its deliveries onward.
//!
//! Without an inbox ([`Receiver::inline`]) the handlers run during the
//! request and the answer is 200 only if they succeed: Gladly's retry is
//! then the retry.
//!
//! # Answers
//!
//! | case | status | stored |
//! |---|---|---|
//! | verified event, new id | 200 after the commit | yes, `pending` |
//! | verified event, id already stored | 200 | no new row, no new work |
//! | `PING` | 200 | no |
//! | verified, unknown `type` | 200 | yes; the `on_unknown` handlers run it |
//! | verified, but not a well-formed event | 200 | yes, `dead`, with the reason |
//! | missing or bad signature, stale or future time | 401, a reason code | no |
//! | missing or wrong Basic credentials, a required header missing or wrong ([`DeliveryAuth`]) | 401 `missing_credentials` / `bad_credentials` (with `WWW-Authenticate: Basic`) / `missing_header` / `bad_header_value` | no |
//! | not `POST` | 405 | no |
//! | body over the limit | 413 | no |
//! | body not whole within the body timeout (30 s) | 408 | no |
//! | bodies being buffered already fill the budget (64 MiB) | 503, `Retry-After: 1` | no |
//! | the inbox cannot commit | 503, `Retry-After: 1` | no |
//!
//! A malformed but authentic delivery is answered 200 on purpose: a 4xx
//! makes Gladly retry it and then deactivate the subscription. It is kept
//! as `dead` for a replay once the cause is fixed. Its dedup key is its
//! `id`, or the SHA-256 of the body when it has none.
//!
//! # At least once
//!
//! Every stored event's handlers run until one run succeeds. A handler runs
//! **more than once** for an event only when a run was interrupted before
//! its success was recorded: the process crashed or was killed, the worker
//! was dropped, or the lease expired while the handler was still going.
//! Make handlers idempotent (key your side effects by the event id, which
//! is [`Delivery::event_id`]); a failed run's retry runs every handler of
//! the event again.
//!
//! # Use
//!
//! ```toml
//! [dependencies]
//! # `sqlite` (the default) embeds the inbox; add "postgres" for several machines.
//! gladly-webhook-receiver = { version = "0.1", features = ["sqlite", "axum"] }
//! gladly-webhook-core = "0.1"
//! axum = { version = "0.8", default-features = false, features = ["http1", "tokio"] }
//! tokio = { version = "1", features = ["macros", "rt-multi-thread", "net", "signal"] }
//! ```
//!
//! # An axum service with two typed handlers
//!
//! A complete program: deliveries are verified and stored, answered, and
//! run by four workers; Ctrl-C stops taking requests, then gives running
//! handlers 10 s before their events go back to pending.
//!
//! ```no_run
//! use std::time::Duration;
//! use gladly_webhook_core::{Secret, Verifier};
//! use gladly_webhook_core::gladly_schema::event::{ConversationClosed, TaskClosed};
//! use gladly_webhook_receiver::{Delivery, Handlers, Receiver, WorkerOptions, inbox, spawn_workers};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // A URL, as `gladly_webhook_hub::Store::open` takes; `postgres://...` works too.
//!     let inbox = inbox::open("sqlite:gladly-inbox.db").await?;
//!     let handlers = Handlers::new()
//!         .on(|closed: Delivery<ConversationClosed>| async move {
//!             println!("conversation {} closed", closed.content.conversation_id);
//!             Ok(())
//!         })
//!         .on(|task: Delivery<TaskClosed>| async move {
//!             println!("task {} closed", task.content.task_id);
//!             Ok(())
//!         });
//!     let workers = spawn_workers(inbox.clone(), handlers, 4, WorkerOptions::default());
//!     let verifier = Verifier::new([Secret::new(std::env::var("GLADLY_SECRET")?)])?;
//!     let app = Receiver::with_inbox(verifier, inbox).wake(&workers).router("/hooks/gladly");
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//!     axum::serve(listener, app)
//!         .with_graceful_shutdown(async {
//!             let _ = tokio::signal::ctrl_c().await;
//!         })
//!         .await?;
//!     workers.shutdown(Duration::from_secs(10)).await;
//!     Ok(())
//! }
//! ```
//!
//! A public endpoint is better served by `gladly_webhook_server::serve`
//! (header, idle and connection limits), as `gladly-webhook listen` does.
//!
//! # Deliveries from Gladly's REST API 1.0 webhooks
//!
//! Gladly does not sign webhook deliveries: a webhook sends its
//! `credentials` as HTTP Basic and its `headers` with every delivery. Give
//! the receiver that rule instead of a verifier ([`DeliveryAuth`]); a
//! failure is 401 with `missing_credentials`, `bad_credentials` (both with
//! `WWW-Authenticate: Basic`), `missing_header` or `bad_header_value`, and
//! everything else (the inbox, the answers, the workers) is the same. Real
//! events (`CONVERSATION/CLOSED`) are typed by the REST API 1.0 types of
//! `gladly_schema::rest::event`, and a handler asks for one by its content
//! type, as for our user's model. A `PING` is answered 200, as Gladly
//! requires.
//!
//! ```no_run
//! use std::sync::Arc;
//! use gladly_webhook_core::Secret;
//! use gladly_webhook_core::gladly_schema::rest::event::{ContactEnded, ConversationClosed};
//! use gladly_webhook_receiver::{Delivery, DeliveryAuth, Handlers, Receiver, WorkerOptions, spawn_workers};
//! use gladly_webhook_receiver::inbox::SqliteInbox;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let inbox = Arc::new(SqliteInbox::open("gladly-inbox.db").await?);
//!     let handlers = Handlers::new()
//!         .on(|closed: Delivery<ConversationClosed>| async move {
//!             let assignee = &closed.content.context.assignee;
//!             println!("conversation {} closed in inbox {}", closed.content.conversation_id, assignee.inbox_id);
//!             Ok(())
//!         })
//!         .on(|ended: Delivery<ContactEnded>| async move {
//!             println!("{} contact {} ended: {:?}", ended.content.channel, ended.content.contact_id, ended.content.status);
//!             Ok(())
//!         });
//!     let workers = spawn_workers(inbox.clone(), handlers, 4, WorkerOptions::default());
//!     // The webhook's `credentials` ("user:password"), as Gladly sends them.
//!     let auth = DeliveryAuth::basic_pair(&Secret::new(std::env::var("GLADLY_WEBHOOK_BASIC")?))?;
//!     let app = Receiver::with_inbox(auth, inbox).wake(&workers).router("/hooks/gladly");
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! With `headers` configured on the webhook as well, require them too:
//! `auth.and(DeliveryAuth::header("X-Gladly-Token", token)?)`.
//!
//! # Features
//!
//! - `sqlite` (default): [`inbox::SqliteInbox`], a file created on first
//!   use, with group commit.
//! - `axum` (default): [`Receiver::router`] and the [`VerifiedEvent`]
//!   extractor.
//! - `postgres`: `inbox::PgInbox`.
//!
//! Without `sqlite` and `postgres` no database driver is built (sqlx comes
//! only with a backend): the receiver runs inline handlers
//! ([`Receiver::inline`]) or an [`inbox::Inbox`] of your own, in 54 crates
//! instead of 116.

#[cfg(feature = "axum")]
mod axum;
mod handlers;
pub mod inbox;
mod keeper;
pub mod metrics;
mod receipt;
mod receive;
mod service;
mod worker;

#[cfg(feature = "axum")]
pub use crate::axum::{Rejection, Verification, VerifiedEvent};
pub use gladly_webhook_core::auth::DeliveryAuth;
pub use handlers::{BoxError, Delivery, Handlers};
pub use keeper::Keeper;
pub use receipt::{Receipt, Verdict};
pub use receive::{
    DEFAULT_BODY_LIMIT, MAX_SHOWN_HEADERS, Receiver, auth_reason, inbox_event, masked_headers,
    reject_reason,
};
pub use worker::{RetryPolicy, RunReport, ShutdownReport, WorkerOptions, Workers, spawn_workers};
