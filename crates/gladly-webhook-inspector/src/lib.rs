//! Inspector pages for Gladly webhooks, served by the `gladly-webhook`
//! CLI (`listen --ui`, `inbox ui`, `serve --ui`, `relay --ui-addr`) or
//! mounted in your own axum application.
//!
//! - **Receiver** (feature `receiver`): [`receiver::ReceiverInspector`]
//!   lists the deliveries a [`gladly_webhook_receiver::Receiver`] answered
//!   (kept in memory in a bounded ring, [`receiver::RecentDeliveries`],
//!   refusals included, never in the inbox) and the inbox's events, live;
//!   an event's page shows its body, the headers that mattered (masked), its
//!   handler runs, and replays it (requeue a dead one, run a done one
//!   again).
//! - **Hub** (feature `hub`): [`hub::HubInspector`] lists subscriptions
//!   with their recent deliveries and deactivations, shows every attempt
//!   of a delivery, sends a test event, re-activates a subscription, makes
//!   pending deliveries due now.
//! - **Relay** (feature `hub`): [`relay::RelayInspector`] lists a relay's
//!   destinations with their backlogs, each one's deliveries with every
//!   attempt, and the malformed deliveries it kept.
//!
//! The pages are rendered on the server ([`maud`], every value escaped);
//! one small script, embedded like the style sheet, refreshes the live
//! parts. Every answer carries a Content-Security-Policy that allows
//! scripts, styles and requests from the page's own origin only (no inline
//! script), and the write actions are `POST` forms with a CSRF token.
//! Nothing is fetched from elsewhere. The receiver's page answers only to
//! the host names it is given ([`AllowedHosts`]; loopback names by
//! default), so a site whose domain is rebound to this machine cannot read
//! it, and may ask for a login ([`PageLogin`]) when served beyond it.
//!
//! # Use
//!
//! ```toml
//! [dependencies]
//! gladly-webhook-inspector = { version = "0.1", features = ["receiver"] }
//! gladly-webhook-receiver = { version = "0.1", features = ["sqlite", "axum"] }
//! gladly-webhook-core = "0.1"
//! axum = { version = "0.8", default-features = false, features = ["http1", "tokio"] }
//! tokio = { version = "1", features = ["macros", "rt-multi-thread", "net"] }
//! ```
//!
//! A complete program: a receiver for a REST API 1.0 webhook on port 8080,
//! and its page on loopback port 8081.
//!
//! ```no_run
//! use gladly_webhook_core::Secret;
//! use gladly_webhook_inspector::receiver::{ReceiverInspector, RecentDeliveries};
//! use gladly_webhook_receiver::{DeliveryAuth, Receiver};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let inbox = gladly_webhook_receiver::inbox::open("sqlite:gladly-inbox.db").await?;
//!     // The webhook's `credentials` ("user:password"), as Gladly sends them.
//!     let auth = DeliveryAuth::basic_pair(&Secret::new(std::env::var("GLADLY_WEBHOOK_BASIC")?))?;
//!     let recent = RecentDeliveries::new(500);
//!     let ring = recent.clone();
//!     let hooks = Receiver::with_inbox(auth, inbox.clone())
//!         .receipt_headers(true)
//!         .on_receipt(move |receipt| ring.record(receipt))
//!         .router("/hooks");
//!     let page = ReceiverInspector::new(inbox)?.recent(recent).router();
//!     let ui = tokio::net::TcpListener::bind("127.0.0.1:8081").await?;
//!     tokio::spawn(async move { axum::serve(ui, page).await });
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//!     axum::serve(listener, hooks).await?;
//!     Ok(())
//! }
//! ```

#[cfg(feature = "hub")]
pub mod hub;
#[cfg(any(feature = "receiver", feature = "hub"))]
mod layout;
#[cfg(feature = "receiver")]
pub mod receiver;
#[cfg(feature = "hub")]
pub mod relay;
pub mod security;

pub use security::{AllowedHosts, CsrfToken, InspectorError, PageLogin};
