//! Serving an HTTP endpoint that faces the internet, with every resource a
//! client can hold bounded.
//!
//! `axum::serve` runs hyper without a timer: a client that trickles a
//! header byte every few seconds, or opens thousands of idle connections,
//! holds them for as long as it likes. [`serve`] runs the same
//! [`axum::Router`] on hyper's HTTP/1.1 connection builder (from
//! hyper-util) with:
//!
//! - a **header-read timeout** (the whole request head within
//!   [`Limits::header_read_timeout`], also the longest a kept-alive
//!   connection may sit idle before its next request: hyper starts the
//!   same timer when it waits for a head),
//! - a **cap on connections** ([`Limits::max_connections`]): past it a
//!   connection is answered `503` with `Retry-After` and closed at once,
//! - a bound on the **request head's size** ([`Limits::max_header_bytes`]),
//! - **graceful shutdown**: on the signal, no new connection is accepted,
//!   idle ones are closed, and requests in flight get a grace period;
//! - a **write timeout** ([`Limits::write_timeout`]): a client that stops
//!   reading its answer for that long loses its connection, and with it
//!   whatever the answer held in memory;
//! - a **lingering close**: a connection answered early (413, 401, 408)
//!   closes its write side, then reads and drops what its client still
//!   sends (for at most 5 s and 64 MiB, and half a second of silence) before it closes, so a client that
//!   writes its whole request before reading gets the answer, not a reset.
//!
//! [`batch::gather`] tops up a group commit's batch with the writes on
//! their way, for the writers behind a server (an inbox, the hub's store).
//!
//! Bodies are the handler's to read; [`body::read_body`] reads one whole
//! within a size limit and a deadline, and against a shared
//! [`body::BodyBudget`] (a semaphore sized in bytes), so unauthenticated
//! clients cannot pin memory by sending large bodies slowly.
//!
//! # Use
//!
//! ```toml
//! [dependencies]
//! gladly-webhook-server = "0.1"
//! axum = { version = "0.8", default-features = false, features = ["http1", "tokio"] }
//! tokio = { version = "1", features = ["macros", "rt-multi-thread", "net", "signal"] }
//! ```
//!
//! A complete program: serve a router until Ctrl-C, then drain.
//!
//! ```no_run
//! use std::time::Duration;
//! use gladly_webhook_server::{Limits, serve};
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//!     let limits = Limits::default()
//!         .header_read_timeout(Duration::from_secs(10))
//!         .max_connections(512);
//!     // Resolving this future starts the graceful shutdown.
//!     let ctrl_c = async {
//!         let _ = tokio::signal::ctrl_c().await;
//!     };
//!     serve(listener, app, limits, ctrl_c).await
//! }
//! ```

pub mod batch;
pub mod body;
#[cfg(feature = "serve")]
mod limits;
#[cfg(feature = "serve")]
mod serve;
#[cfg(feature = "serve")]
mod stream;

#[cfg(feature = "serve")]
pub use limits::Limits;
#[cfg(feature = "serve")]
pub use serve::serve;
