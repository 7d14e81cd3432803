//! Inspector pages for Gladly webhooks, served by the `gladly-webhook`
//! CLI (`listen --ui`, `inbox ui`, `serve --ui`) or mounted in your own
//! axum application.
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

#[cfg(feature = "hub")]
pub mod hub;
#[cfg(any(feature = "receiver", feature = "hub"))]
mod layout;
#[cfg(feature = "receiver")]
pub mod receiver;
pub mod security;

pub use security::{AllowedHosts, CsrfToken, InspectorError, PageLogin};
