//! The relay's page (feature `hub`: it reads the hub's store a relay
//! keeps): its destinations with their backlogs, each one's deliveries
//! with every attempt, and the malformed deliveries it kept. Read only:
//! `gladly-webhook relay recover` sends dead deliveries again.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use gladly_webhook_hub::Store;
//! use gladly_webhook_inspector::relay::RelayInspector;
//!
//! let page = RelayInspector::new(Store::open("sqlite:gladly-relay.db").await?).router();
//! let ui = tokio::net::TcpListener::bind("127.0.0.1:8093").await?;
//! axum::serve(ui, page).await?;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use gladly_webhook_core::echo::redact_url;
use gladly_webhook_hub::Store;
use gladly_webhook_hub::store::Backlog;
use maud::html;

use crate::hub::{delivery_sections, store_failed};
use crate::layout::{badge, html_response, page, pretty_body, segment, time};
use crate::security::{AllowedHosts, PageLogin};

const NAV: &[(&str, &str)] = &[("/", "destinations")];
/// Deliveries a destination's page shows, newest first.
const DELIVERIES: u32 = 50;
/// Malformed deliveries the index shows, newest first.
const MALFORMED: u32 = 20;

/// The relay's inspector: an axum router serving the page at `/`.
#[derive(Clone)]
pub struct RelayInspector {
    store: Store,
    hosts: AllowedHosts,
    login: Option<PageLogin>,
}

impl RelayInspector {
    /// The page for the relay whose store is `store`.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            hosts: AllowedHosts::loopback(),
            login: None,
        }
    }

    /// Answers only requests whose `Host` is one of `hosts` (default:
    /// [`AllowedHosts::loopback`]).
    pub fn hosts(mut self, hosts: AllowedHosts) -> Self {
        self.hosts = hosts;
        self
    }

    /// Asks for `login` (HTTP Basic) before anything.
    pub fn login(mut self, login: PageLogin) -> Self {
        self.login = Some(login);
        self
    }

    /// The page's routes: `/`, `/destinations/{id}` and the assets.
    pub fn router(self) -> Router {
        let hosts = self.hosts.clone();
        let login = self.login.clone();
        let router = Router::new()
            .route("/", get(index))
            .route("/destinations/{id}", get(destination_page))
            .route("/assets/inspector.css", get(crate::layout::css))
            .route("/assets/inspector.js", get(crate::layout::js))
            .with_state(Arc::new(self));
        crate::security::guarded(router, hosts, login)
    }
}

type Shared = State<Arc<RelayInspector>>;

async fn index(State(shared): Shared) -> Response {
    let read = async {
        let destinations = shared.store.destinations().await?;
        let backlog = shared.store.backlog().await?;
        let malformed = shared.store.malformed_events(MALFORMED).await?;
        Ok::<_, gladly_webhook_hub::store::StoreError>((destinations, backlog, malformed))
    };
    let (destinations, backlog, malformed) = match read.await {
        Ok(read) => read,
        Err(err) => return store_failed(&err),
    };
    let backlog: HashMap<&str, &Backlog> =
        backlog.iter().map(|b| (b.webhook_id.as_str(), b)).collect();
    let body = html! {
        h2 { "Destinations" }
        table {
            thead { tr { th { "destination" } th { "URL" } th { "events" } th { "state" } th { "pending" } th { "earliest due" } } }
            tbody {
                @if destinations.is_empty() { tr { td colspan="6" .muted { "None configured yet." } } }
                @for (d, active) in &destinations {
                    @let waiting = backlog.get(d.id.as_str());
                    tr {
                        td { a href={ "/destinations/" (segment(&d.id)) } { (d.id.trim_start_matches("dst_")) } }
                        td { code { (redact_url(&d.url)) } }
                        td { (d.events.join(", ")) }
                        td { @if *active { (badge("ok", "in force")) } @else { (badge("bad", "not configured")) } }
                        td { (waiting.map_or(0, |b| b.pending)) }
                        td { @match waiting.and_then(|b| b.oldest_due) { Some(at) => { (time(at)) } None => { "-" } } }
                    }
                }
            }
        }
        h2 { "Malformed deliveries" }
        p.muted { "Authentic, but not well-formed events: kept, sent nowhere." }
        @if malformed.is_empty() { p.muted { "None." } }
        @for m in &malformed {
            section.delivery {
                h3 { (badge("bad", "malformed")) " " code { (m.key) } " · " (m.event_type) }
                p.muted { "received " (time(m.received_at)) " · " (m.reason) }
                pre { code { (pretty_body(&m.body, 4096)) } }
            }
        }
    };
    html_response(page("", "relay", NAV, body))
}

async fn destination_page(State(shared): Shared, Path(id): Path<String>) -> Response {
    let deliveries = match shared.store.deliveries(&id, DELIVERIES).await {
        Ok(deliveries) => deliveries,
        Err(err) => return store_failed(&err),
    };
    let body = html! {
        h2 { (id.trim_start_matches("dst_")) }
        p.muted { "The last " (DELIVERIES) " deliveries, newest first, each with every attempt." }
        (delivery_sections(&deliveries))
    };
    html_response(page("", &id, NAV, body))
}
