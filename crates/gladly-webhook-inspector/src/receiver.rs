//! The receiver's page: the deliveries a receiver answered (in memory,
//! refusals included), the inbox's events, an event with its handler runs,
//! and replay.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use gladly_webhook_inspector::receiver::{ReceiverInspector, RecentDeliveries};
//! use gladly_webhook_receiver::{DeliveryAuth, Receiver};
//!
//! let inbox = gladly_webhook_receiver::inbox::open("sqlite:gladly-inbox.db").await?;
//! let recent = RecentDeliveries::new(500);
//! let ring = recent.clone();
//! let receiver = Receiver::with_inbox(DeliveryAuth::none(), inbox.clone())
//!     .receipt_headers(true)
//!     .on_receipt(move |receipt| ring.record(receipt));
//! // Serve `receiver.router("/hooks")` where Gladly reaches it, and this on
//! // a loopback address only:
//! let page: axum::Router = ReceiverInspector::new(inbox)?.recent(recent).router();
//! # let _ = (receiver, page); Ok(()) }
//! ```

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use gladly_webhook_receiver::inbox::{Inbox, ListFilter, State as RowState, StoredEvent};
use gladly_webhook_receiver::{Receipt, Verdict};
use http::{HeaderMap, StatusCode};
use maud::{Markup, html};
use serde::Deserialize;

use crate::layout::{badge, csrf_field, error, html_response, page, pretty_body, segment, time};
use crate::security::{AllowedHosts, CsrfToken, PageLogin};

/// The most bytes of a body an event page shows.
const BODY_SHOWN: usize = 256 * 1024;
/// Rows a list shows.
const ROWS: u32 = 200;
/// The most characters of an event's id or type (or a header's value) the
/// ring keeps and a list shows: a delivery can name a 500 KB id, and the
/// live list is fetched every second.
const SHOWN_ID: usize = 200;

/// One delivery as the page lists it.
#[derive(Clone)]
struct Entry {
    at: DateTime<Utc>,
    status: u16,
    verdict: Verdict,
    reason: &'static str,
    event_type: Option<String>,
    /// At most [`SHOWN_ID`] characters of the id.
    event_id: Option<String>,
    /// Whether `event_id` is the whole id (a link to the event can be made).
    whole_id: bool,
    headers: Vec<(String, String)>,
}

/// The last deliveries a receiver answered, newest first, whatever their
/// verdict (a 401 with its code, a 413, a 503...): kept in memory, at most
/// `capacity` of them, never in the inbox. Feed it from
/// [`gladly_webhook_receiver::Receiver::on_receipt`] (with
/// [`gladly_webhook_receiver::Receiver::receipt_headers`] on, it keeps the
/// masked headers too). Cheap to clone: clones share the ring.
#[derive(Clone)]
pub struct RecentDeliveries {
    ring: Arc<Mutex<VecDeque<Entry>>>,
    capacity: usize,
}

impl RecentDeliveries {
    /// A ring of at most `capacity` deliveries (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            ring: Arc::new(Mutex::new(VecDeque::new())),
            capacity: capacity.max(1),
        }
    }

    /// Records one answered delivery, forgetting the oldest past capacity.
    pub fn record(&self, receipt: &Receipt) {
        let entry = Entry {
            at: Utc::now(),
            status: receipt.status.as_u16(),
            verdict: receipt.verdict,
            reason: receipt.reason,
            event_type: receipt.event_type.as_deref().map(|t| short(t, SHOWN_ID)),
            event_id: receipt.event_id.as_deref().map(|id| short(id, SHOWN_ID)),
            whole_id: receipt
                .event_id
                .as_deref()
                .is_none_or(|id| id.chars().count() <= SHOWN_ID),
            headers: receipt
                .headers
                .iter()
                .map(|(name, value)| (short(name, SHOWN_ID), short(value, SHOWN_ID)))
                .collect(),
        };
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        if ring.len() == self.capacity {
            ring.pop_back();
        }
        ring.push_front(entry);
    }

    /// How many deliveries it holds.
    pub fn len(&self) -> usize {
        self.ring.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn snapshot(&self) -> Vec<Entry> {
        self.ring
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// The masked headers of the newest delivery of `event_id` still held.
    fn headers_of(&self, event_id: &str) -> Option<Vec<(String, String)>> {
        self.ring
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|e| {
                e.whole_id && e.event_id.as_deref() == Some(event_id) && !e.headers.is_empty()
            })
            .map(|e| e.headers.clone())
    }
}

impl std::fmt::Debug for RecentDeliveries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecentDeliveries")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

/// The receiver's inspector: an axum router serving the page at `/`.
#[derive(Clone)]
pub struct ReceiverInspector {
    inbox: Arc<dyn Inbox>,
    recent: Option<RecentDeliveries>,
    csrf: CsrfToken,
    hosts: AllowedHosts,
    login: Option<PageLogin>,
}

impl ReceiverInspector {
    /// The page for `inbox` (its events only, until [`Self::recent`]).
    pub fn new(inbox: Arc<dyn Inbox>) -> Result<Self, crate::security::InspectorError> {
        Ok(Self {
            inbox,
            recent: None,
            csrf: CsrfToken::generate()?,
            hosts: AllowedHosts::loopback(),
            login: None,
        })
    }

    /// Answers only requests whose `Host` is one of `hosts` (default:
    /// [`AllowedHosts::loopback`]); give the address the page listens on
    /// ([`AllowedHosts::local`]) and the names people reach it by.
    pub fn hosts(mut self, hosts: AllowedHosts) -> Self {
        self.hosts = hosts;
        self
    }

    /// Asks for `login` (HTTP Basic) before anything: for a page served
    /// beyond this machine.
    pub fn login(mut self, login: PageLogin) -> Self {
        self.login = Some(login);
        self
    }

    /// Also lists the deliveries `recent` holds.
    pub fn recent(mut self, recent: RecentDeliveries) -> Self {
        self.recent = Some(recent);
        self
    }

    /// The page's routes: `/`, `/events/{key}`, the live fragments, the
    /// replay actions and the assets.
    pub fn router(self) -> Router {
        let hosts = self.hosts.clone();
        let login = self.login.clone();
        let router = Router::new()
            .route("/", get(index))
            .route("/live/deliveries", get(live_deliveries))
            .route("/live/events", get(live_events))
            .route("/events/{key}", get(event_page))
            .route("/live/event/{key}", get(live_event))
            .route("/events/{key}/requeue", post(requeue))
            .route("/events/{key}/rerun", post(rerun))
            .route("/assets/inspector.css", get(crate::layout::css))
            .route("/assets/inspector.js", get(crate::layout::js))
            .with_state(Arc::new(self));
        crate::security::guarded(router, hosts, login)
    }
}

type Shared = State<Arc<ReceiverInspector>>;

const NAV: &[(&str, &str)] = &[("/", "deliveries and events")];

/// The filters of the events list.
#[derive(Debug, Default, Deserialize)]
struct EventsQuery {
    state: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    q: Option<String>,
}

impl EventsQuery {
    fn state(&self) -> Option<RowState> {
        self.state.as_deref().and_then(|s| s.parse().ok())
    }

    fn event_type(&self) -> Option<&str> {
        self.event_type
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }

    fn search(&self) -> Option<&str> {
        self.q.as_deref().map(str::trim).filter(|q| !q.is_empty())
    }
}

async fn index(State(shared): Shared, Query(query): Query<EventsQuery>) -> Response {
    let events = match events_rows(&shared, &query).await {
        Ok(rows) => rows,
        Err(response) => return response,
    };
    let state = query.state().map(RowState::as_str).unwrap_or("");
    let body = html! {
        @if let Some(recent) = &shared.recent {
            h2 { "Deliveries " span.muted { "(the last " (recent.capacity()) " kept in memory, newest first; refusals included)" } }
            table {
                thead { tr { th { "time" } th { "status" } th { "verdict" } th { "type" } th { "id" } } }
                tbody id="deliveries" data-live="/live/deliveries" { (deliveries_rows(recent)) }
            }
        }
        h2 { "Events in the inbox" }
        form.filters method="get" action="/" {
            label { "state"
                select name="state" {
                    option value="" selected[state.is_empty()] { "any" }
                    @for s in ["pending", "running", "done", "dead"] {
                        option value=(s) selected[state == s] { (s) }
                    }
                }
            }
            label { "type" input type="text" name="type" value=(query.event_type().unwrap_or("")) placeholder="CONVERSATION_CLOSED"; }
            label { "event id" input type="search" name="q" value=(query.search().unwrap_or("")) placeholder="evt_..."; }
            button type="submit" { "filter" }
        }
        table {
            thead { tr { th { "received" } th { "state" } th { "attempts" } th { "type" } th { "id" } th.wide { "last error" } } }
            tbody id="events" data-live="/live/events" { (events) }
        }
    };
    html_response(page("", "inspector", NAV, body))
}

async fn live_deliveries(State(shared): Shared) -> Response {
    match &shared.recent {
        Some(recent) => html_response(deliveries_rows(recent)),
        None => error(StatusCode::NOT_FOUND, "this page keeps no deliveries"),
    }
}

async fn live_events(State(shared): Shared, Query(query): Query<EventsQuery>) -> Response {
    match events_rows(&shared, &query).await {
        Ok(rows) => html_response(rows),
        Err(response) => response,
    }
}

fn verdict_class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Stored | Verdict::Duplicate | Verdict::Handled | Verdict::Ping => "ok",
        Verdict::StoredDead | Verdict::Malformed | Verdict::Busy | Verdict::Unavailable => "warn",
        _ => "bad",
    }
}

fn state_class(state: RowState) -> &'static str {
    match state {
        RowState::Done => "ok",
        RowState::Pending | RowState::Running => "muted",
        _ => "bad",
    }
}

fn deliveries_rows(recent: &RecentDeliveries) -> Markup {
    let entries = recent.snapshot();
    html! {
        @if entries.is_empty() {
            tr { td colspan="5" .muted { "No delivery yet." } }
        }
        @for e in &entries {
            tr {
                td { (time(e.at)) }
                td { (e.status) }
                td {
                    (badge(verdict_class(e.verdict), e.verdict.as_str()))
                    @if e.reason != e.verdict.as_str() { " " code { (e.reason) } }
                }
                td { (e.event_type.as_deref().unwrap_or("-")) }
                td {
                    @match (&e.event_id, e.verdict) {
                        (Some(id), Verdict::Stored | Verdict::Duplicate | Verdict::StoredDead) if e.whole_id => {
                            a href={ "/events/" (segment(id)) } { (id) }
                        }
                        (Some(id), _) => { (id) }
                        (None, _) => { "-" }
                    }
                }
            }
        }
    }
}

async fn events_rows(shared: &ReceiverInspector, query: &EventsQuery) -> Result<Markup, Response> {
    let rows: Vec<StoredEvent> = if let Some(q) = query.search() {
        match shared.inbox.get(q).await {
            Ok(row) => row.into_iter().collect(),
            Err(err) => return Err(inbox_failed(&err)),
        }
    } else {
        let mut filter = ListFilter::default();
        filter.state = query.state();
        filter.event_type = query.event_type().map(str::to_string);
        filter.limit = Some(ROWS);
        match shared.inbox.list(filter).await {
            Ok(rows) => rows,
            Err(err) => return Err(inbox_failed(&err)),
        }
    };
    Ok(html! {
        @if rows.is_empty() {
            tr { td colspan="6" .muted { "No event matches." } }
        }
        @for row in &rows {
            tr {
                td { (time(row.received_at)) }
                td { (badge(state_class(row.state), row.state.as_str())) }
                td { (row.attempts) }
                td { (short(&row.event_type, SHOWN_ID)) }
                td {
                    @let shown = short(row.event_id.as_deref().unwrap_or(&row.dedup_key), SHOWN_ID);
                    @if row.dedup_key.chars().count() <= SHOWN_ID {
                        a href={ "/events/" (segment(&row.dedup_key)) } { (shown) }
                    } @else {
                        (shown) " " span.muted { "(too long to link: gladly-webhook inbox show)" }
                    }
                }
                td.wide { (row.last_error.as_deref().map(|e| short(e, 120)).unwrap_or_default()) }
            }
        }
    })
}

fn short(text: &str, chars: usize) -> String {
    let mut out: String = text.chars().take(chars).collect();
    if text.chars().count() > chars {
        out.push('…');
    }
    out
}

fn inbox_failed(err: &gladly_webhook_receiver::inbox::InboxError) -> Response {
    tracing::warn!(error = %err, "the inspector could not read the inbox");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the inbox did not answer; try again",
    )
}

async fn event_page(State(shared): Shared, Path(key): Path<String>) -> Response {
    let row = match shared.inbox.get(&key).await {
        Ok(Some(row)) => row,
        Ok(None) => return error(StatusCode::NOT_FOUND, "no event with this id in the inbox"),
        Err(err) => return inbox_failed(&err),
    };
    let summary = match event_summary(&shared, &row).await {
        Ok(markup) => markup,
        Err(response) => return response,
    };
    let id = row
        .event_id
        .clone()
        .unwrap_or_else(|| row.dedup_key.clone());
    let headers = shared
        .recent
        .as_ref()
        .and_then(|recent| row.event_id.as_deref().and_then(|id| recent.headers_of(id)));
    let body = html! {
        div id="summary" data-live={ "/live/event/" (segment(&row.dedup_key)) } { (summary) }
        h2 { "Headers" }
        @match &headers {
            Some(headers) => {
                p.muted { "As received; credentials and signatures masked." }
                table {
                    @for (name, value) in headers {
                        tr { th { (name) } td { code { (value) } } }
                    }
                }
            }
            None => p.muted { "Not kept: headers stay in memory for the last deliveries only (and are not recorded by `inbox ui`)." }
        }
        h2 { "Body" }
        pre { code { (pretty_body(&row.body, BODY_SHOWN)) } }
    };
    html_response(page("", &id, NAV, body))
}

async fn live_event(State(shared): Shared, Path(key): Path<String>) -> Response {
    match shared.inbox.get(&key).await {
        Ok(Some(row)) => match event_summary(&shared, &row).await {
            Ok(markup) => html_response(markup),
            Err(response) => response,
        },
        Ok(None) => error(StatusCode::NOT_FOUND, "no event with this id in the inbox"),
        Err(err) => inbox_failed(&err),
    }
}

/// The event's row, its actions and its handler runs.
async fn event_summary(shared: &ReceiverInspector, row: &StoredEvent) -> Result<Markup, Response> {
    let history = shared
        .inbox
        .history(row.seq)
        .await
        .map_err(|err| inbox_failed(&err))?;
    let key = segment(&row.dedup_key);
    Ok(html! {
        dl {
            dt { "event id" } dd { (row.event_id.as_deref().unwrap_or("(none)")) }
            dt { "dedup key" } dd { code { (row.dedup_key) } }
            dt { "type" } dd { (row.event_type) }
            dt { "state" } dd id="state" { (badge(state_class(row.state), row.state.as_str())) }
            dt { "attempts" } dd { (row.attempts) }
            dt { "received" } dd { (time(row.received_at)) }
            @if row.state == RowState::Pending {
                dt { "next run" } dd { (time(row.next_run_at)) }
            }
            @if let Some(until) = row.lease_until {
                dt { "held until" } dd { (time(until)) }
            }
            @if let Some(last) = &row.last_error {
                dt { "last error" } dd { code { (last) } }
            }
            dt { "changed" } dd { (time(row.updated_at)) }
        }
        @if row.state == RowState::Dead {
            form.inline method="post" action={ "/events/" (key) "/requeue" } {
                (csrf_field(shared.csrf.as_str()))
                button type="submit" id="requeue" { "requeue (run it again)" }
            }
        }
        @if row.state == RowState::Done {
            form.inline method="post" action={ "/events/" (key) "/rerun" } {
                (csrf_field(shared.csrf.as_str()))
                button type="submit" id="rerun" { "run it again" }
            }
        }
        h2 { "Handler runs" }
        table {
            thead { tr { th { "time" } th { "attempt" } th { "outcome" } th { "detail (exit code, stderr's end)" } } }
            tbody {
                @if history.is_empty() { tr { td colspan="4" .muted { "No run yet." } } }
                @for h in &history {
                    tr {
                        td { (time(h.at)) }
                        td { (h.attempt) }
                        td { (h.outcome) }
                        td { @if let Some(detail) = &h.detail { pre { (detail) } } }
                    }
                }
            }
        }
    })
}

/// The replay forms' field.
#[derive(Debug, Deserialize)]
struct ActionForm {
    csrf: String,
}

async fn requeue(
    State(shared): Shared,
    Path(key): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    replay(&shared, &key, &headers, &form, Replay::Requeue).await
}

async fn rerun(
    State(shared): Shared,
    Path(key): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    replay(&shared, &key, &headers, &form, Replay::Rerun).await
}

/// Which replay a form asks for.
#[derive(Clone, Copy)]
enum Replay {
    /// A dead event, pending again.
    Requeue,
    /// A done event, pending again.
    Rerun,
}

/// Checks the form's token, replays the event, and goes back to its page.
async fn replay(
    shared: &ReceiverInspector,
    key: &str,
    headers: &HeaderMap,
    form: &ActionForm,
    replay: Replay,
) -> Response {
    if let Err(refused) = shared.csrf.check(headers, &form.csrf) {
        return refused.into_response();
    }
    let (done, not_now) = match replay {
        Replay::Requeue => (
            shared.inbox.requeue(key).await,
            "this event is not dead (any more)",
        ),
        Replay::Rerun => (
            shared.inbox.rerun(key).await,
            "this event is not done (any more)",
        ),
    };
    match done {
        Ok(true) => Redirect::to(&format!("/events/{}", segment(key))).into_response(),
        Ok(false) => error(StatusCode::CONFLICT, not_now),
        Err(err) => inbox_failed(&err),
    }
}
