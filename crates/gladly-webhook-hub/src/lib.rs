//! A Gladly-compatible webhook subscription service: the side that keeps
//! subscriptions and delivers events to them, built on
//! `gladly-webhook-core` (validation, signing) and `gladly-webhook-sender`
//! (delivery). `gladly-webhook serve` runs it.
//!
//! - **Subscriptions** are the vendored schema's `Webhook`, managed over
//!   REST at `/api/v1/webhooks` with HTTP Basic auth (an API user's email
//!   and token, compared in constant time). Creating one validates it
//!   with the strict policy, assigns its id, draws its secret (32 random
//!   bytes from the OS, shown only in the answer to the creation and to a
//!   rotation) and, when it is active, sends it a signed `PING` that must
//!   be answered 200 (as Gladly requires). Re-activating one or changing its URL PINGs it
//!   again. At most 20 exist, each URL once.
//! - **Events** published at `POST /api/v1/events` are validated against
//!   the event schema and stored with one **delivery** per active
//!   subscription to their type, in one transaction: the outbox.
//! - The **dispatcher** works the outbox by Gladly's rules (see
//!   [`DispatcherOptions`]): a 2xx within 15 s, the first attempt and four more
//!   (after 30 s, 5 min, 30 min, 1 h), then the subscription is
//!   deactivated and the deactivation recorded. Up to 8 deliveries to one
//!   subscription are in flight at once, each retried on its own schedule,
//!   so a failing one holds no other back
//!   ([`DispatcherOptions::max_in_flight`]; 1 is strict publish order).
//!   Nothing is lost when the hub dies.
//! - The API's contract is an OpenAPI 3.1 document, served at
//!   `/api/v1/openapi.json` with the vendored schemas it references
//!   bundled in (and shipped in this crate as `openapi/gladly-hub-api.json`).
//!
//! # Answers
//!
//! | request | answers |
//! |---|---|
//! | `POST /api/v1/webhooks` | 201 (with the secret), 400, 408, 409 `duplicate_url` / `too_many_webhooks`, 413, 415, 422 `validation_failed` / `ping_failed`, 503 |
//! | `GET /api/v1/webhooks`, `GET /api/v1/webhooks/{id}` | 200 (no secrets), 404 |
//! | `PATCH /api/v1/webhooks/{id}` | 200, 400, 404, 408, 409, 413, 415, 422, 503 |
//! | `DELETE /api/v1/webhooks/{id}` | 204, 404 |
//! | `POST /api/v1/webhooks/{id}/secret` | 201 (with the new secret), 404, 409 `conflict` |
//! | `POST /api/v1/webhooks/{id}/recover` | 200 `{"recovered": n}`, 400, 404, 408, 409 `inactive`, 413, 415, 422, 503 |
//! | `GET`, `PUT /api/v1/webhooks/{id}/rate-limit` | 200 `{"perSecond", "pausedUntil"}`, 400, 404, 408, 413, 415, 422, 503 |
//! | `GET /api/v1/webhooks/{id}/deliveries` | 200, 400, 404 |
//! | `POST /api/v1/events` | 202 (200 when republished as is), 400, 408, 409 `duplicate_event_id`, 413, 415, 422, 503 |
//! | `GET /api/v1/deactivations` | 200, 400 |
//! | `GET /api/v1/operational-events` | 200 (newest first; see [`alerts`]), 400, 503 |
//!
//! Every route but the OpenAPI document answers 401 without credentials,
//! and 429 with `Retry-After` to a peer whose logins failed too often (see
//! [`LoginThrottle`]); an unknown query parameter is 400 `invalid_query`; a
//! body must be `application/json` (415), arrive whole within the body
//! timeout (408) and fit the body budget (503 `busy`); an unknown route is
//! 404, a wrong method 405. Errors are JSON: `{"error": code, "message":
//! ..., "problems": [{"pointer", "code", "message"}]}`, at most 100
//! problems.
//!
//! # Safe to expose
//!
//! - **Where deliveries go.** Subscription URLs and every connection the
//!   hub makes (PINGs, deliveries) meet one rule: globally routable
//!   addresses only, checked on the resolved address at connect time
//!   ([`gladly_webhook_core::address`]); [`Hub::allow_insecure_localhost`]
//!   and [`Hub::allow_network`] open loopback and named networks. A failed
//!   PING or attempt reports the status, the rule or "unreachable", never
//!   bytes of the answer.
//! - **After a change.** Once `DELETE`, a deactivation, a URL change or a
//!   rotation is answered, no delivery goes out that it forbids
//!   (the change gate: a change waits for the attempts in flight, which
//!   are abandoned and made again under the new state).
//! - **Secrets at rest** are sealed with XChaCha20-Poly1305 when the store
//!   is given keys ([`store::SecretKeys`]); SQLite files are created 0600
//!   with `secure_delete` on.
//! - **Memory.** Bodies are read against a byte budget and a deadline; a
//!   dispatcher's batch holds at most 2 MiB of bodies; an event no one
//!   subscribes to keeps no body.
//! - Serve the router with `gladly_webhook_server::serve` (header, idle
//!   and connection limits, the peer address the login throttle needs), as
//!   `gladly-webhook serve` does.
//!
//! # Inside
//!
//! Four layers, each over the one below: [`store`] (the durable state, a
//! file per aggregate, each query beside the code that binds it, on SQLite
//! or PostgreSQL), [`Subscriptions`] (the use cases: create, change,
//! delete, rotate, re-activate, retry, publish, with their rules; what
//! differs per model is decided in one place), the two API dialects of
//! [`api`] (each parses its requests, calls the use cases and answers
//! their typed errors in its own words), and the dispatcher (claims, one
//! run per leased subscription, a window of deliveries in flight). [`Hub`]
//! wires them together. The relay (`gladly-webhook-relay`) uses the store
//! and the dispatcher without the API: its [`destinations`] are rows the
//! subscription APIs never see, sent to as Standard Webhooks or by another
//! [`destinations::Transport`] (its NATS JetStream one).
//!
//! # Use
//!
//! ```toml
//! [dependencies]
//! # `sqlite` (the default) embeds the store; add "postgres" for several hubs.
//! gladly-webhook-hub = { version = "0.1", features = ["sqlite"] }
//! axum = { version = "0.8", default-features = false, features = ["http1", "tokio"] }
//! tokio = { version = "1", features = ["macros", "rt-multi-thread", "net", "signal"] }
//! ```
//!
//! A complete program: the API and the dispatcher until Ctrl-C; then no
//! new request is taken, requests in flight finish, and deliveries in
//! flight get 20 s before their leases are released to the next start.
//!
//! ```no_run
//! use std::time::Duration;
//! use gladly_webhook_hub::{ApiUsers, Hub, Store};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let hub = Hub::new(
//!         // A URL, as `gladly_webhook_receiver::inbox::open` takes.
//!         Store::open("sqlite:gladly-hub.db").await?,
//!         ApiUsers::parse(&std::env::var("GLADLY_API_USERS")?)?,
//!     )?;
//!     let dispatcher = hub.spawn_dispatcher();
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8090").await?;
//!     axum::serve(listener, hub.router())
//!         .with_graceful_shutdown(async {
//!             let _ = tokio::signal::ctrl_c().await;
//!         })
//!         .await?;
//!     dispatcher.shutdown(Duration::from_secs(20)).await;
//!     Ok(())
//! }
//! ```
#[cfg(not(any(feature = "sqlite", feature = "postgres")))]
compile_error!("gladly-webhook-hub needs a store: enable the `sqlite` or the `postgres` feature");

pub mod alerts;
pub mod api;
mod auth;
mod delivery_auth;
pub mod destinations;
mod dispatch;
mod gate;
mod hub;
mod ids;
pub mod metrics;
mod ping;
mod problem;
mod rules;
pub mod store;
mod subscriptions;
#[doc(hidden)]
pub mod testing;
mod throttle;

pub use auth::{ApiUsers, ApiUsersError, MAX_USERS, MAX_USERS_BYTES, MIN_TOKEN_LEN};
pub use dispatch::{DEFAULT_RETENTION, Dispatcher, DispatcherOptions, Waker};
pub use hub::{BODY_LIMIT, EVENTS_WINDOW, Hub, MAX_WEBHOOKS, RATE_LIMIT};
pub use ids::RandomError;
pub use ping::{PING_BODY, PingFailed};
pub use problem::Problem;
pub use store::Store;
pub use subscriptions::{
    Draft, MAX_RATE_LIMIT, Publication, PublicationError, SubscriptionError, Subscriptions,
};
pub use throttle::LoginThrottle;
