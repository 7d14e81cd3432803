//! Relay Gladly's webhook deliveries to the services that need them, as
//! [Standard Webhooks](https://www.standardwebhooks.com/) 1.0 that any
//! service verifies with an off-the-shelf library. `gladly-webhook relay
//! --config relay.toml` runs it.
//!
//! - **In.** One or more paths Gladly delivers to, each with its rule, as
//!   `gladly-webhook listen` has them: a REST API 1.0 webhook's Basic
//!   credentials and headers, or our schema's HMAC signature. `PING` is
//!   answered 200. A verified event is committed with one delivery per
//!   destination that receives its type, and only then answered 200; a
//!   repeat of an id already kept is answered 200 and adds nothing; an
//!   authentic delivery that is not a well-formed event is kept for
//!   inspection ([`Store::malformed_events`](gladly_webhook_hub::Store::malformed_events))
//!   and sent nowhere. The receiver's limits hold: 1 MiB bodies, a body
//!   timeout, a shared body budget.
//! - **Out.** Each delivery carries `webhook-id` (the Gladly event's id, the
//!   same on every retry and recover, so consumers deduplicate),
//!   `webhook-timestamp` and `webhook-signature` (a `v1` entry per `whsec_`
//!   secret, two during a rotation, and a `v1a` ed25519 entry per signing
//!   key). The body is the event as Gladly sent it, byte for byte, or the
//!   specification's `{type, timestamp, data}` envelope.
//! - **Per destination:** event types or patterns (`CONVERSATION/*`), a
//!   retry schedule (by default the specification's, over three days), a
//!   timeout, and the addresses it may reach (public ones only unless
//!   `allow_networks` or `allow_loopback` open more). A delivery whose last
//!   attempt failed is a dead event: `failed`, with the operational event
//!   `delivery.exhausted`; recover sends it again. A destination is never
//!   deactivated.
//! - **Or into a bus.** A destination of `kind = "nats"` (the `nats`
//!   feature) publishes each event into a NATS JetStream stream instead,
//!   done only on JetStream's acknowledgement, with the Gladly event id as
//!   `Nats-Msg-Id` so the stream stores a repeat once: see the `nats`
//!   module (with the feature) and [`config::NatsConfig`].
//! - **Store.** The hub's ([`gladly_webhook_hub::store`]): SQLite by
//!   default, PostgreSQL for several relays sharing the work (leases keep
//!   one relay per destination at a time). Its dispatcher works the
//!   deliveries: windows, leases, `Retry-After`, rate limits.
//!
//! The configuration ([`RelayConfig`], a TOML file) names secrets by
//! environment variable or file, never inline, and is checked whole: every
//! problem is reported at once with its key path. [`Relay::apply`] takes a
//! new one without losing what is queued (`gladly-webhook relay` does it on
//! `SIGHUP`).
//!
//! # Use
//!
//! ```toml
//! [dependencies]
//! gladly-webhook-relay = "0.1"
//! gladly-webhook-hub = "0.1"
//! tokio = { version = "1", features = ["macros", "rt-multi-thread", "net", "signal"] }
//! axum = { version = "0.8", default-features = false, features = ["http1", "tokio"] }
//! ```
//!
//! ```no_run
//! use std::time::Duration;
//! use gladly_webhook_hub::DispatcherOptions;
//! use gladly_webhook_hub::alerts::AlertOptions;
//! use gladly_webhook_relay::{Relay, RelayConfig};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let config = RelayConfig::load("relay.toml".as_ref())?;
//!     let relay = Relay::open(&config).await?;
//!     let dispatcher = relay.spawn_dispatcher(DispatcherOptions::default(), AlertOptions::default())?;
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8092").await?;
//!     axum::serve(listener, relay.router())
//!         .with_graceful_shutdown(async {
//!             let _ = tokio::signal::ctrl_c().await;
//!         })
//!         .await?;
//!     dispatcher.shutdown(Duration::from_secs(20)).await;
//!     Ok(())
//! }
//! ```

pub mod config;
#[cfg(feature = "nats")]
pub mod nats;
mod outbox;
mod relay;
mod secret_ref;

pub use config::{ConfigError, Problem, RelayConfig};
pub use relay::{Relay, RelayError};
