//! The hub's page, at `/ui/` beside the API and behind the same Basic
//! auth: subscriptions with their backlog and deactivations, a
//! subscription's deliveries with every attempt, a test event, re-activation,
//! "retry now" and recovering a window's failed deliveries.
//!
//! Its write actions go through the hub's own API (with the user's
//! credentials), so they follow every rule the API does (validation, the
//! PING on re-activation, the change gate); "retry now" makes the
//! subscription's waiting deliveries due at once.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use gladly_webhook_hub::{ApiUsers, Hub, Store};
//! use gladly_webhook_inspector::hub::HubInspector;
//!
//! let hub = Hub::new(Store::open("sqlite:gladly-hub.db").await?, ApiUsers::parse("ops@example.com:tok_0123456789abcdef")?)?;
//! let app = hub.router().merge(HubInspector::new(&hub)?.router(&hub));
//! # let _ = app; Ok(()) }
//! ```

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use gladly_webhook_core::echo::redact_url;
use gladly_webhook_hub::store::{DeliveryRecord, DeliveryState, StoredWebhook};
use gladly_webhook_hub::{Hub, PublicationError, Store, SubscriptionError, Subscriptions};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use maud::{Markup, html};
use serde::Deserialize;

use crate::layout::{badge, csrf_field, error, html_response, page, segment, time};
use crate::security::CsrfToken;

/// Where the page is mounted.
const BASE: &str = "/ui";
const NAV: &[(&str, &str)] = &[("/", "subscriptions")];
/// Deliveries the subscriptions list shows per subscription, newest first.
const LAST_SHOWN: u32 = 5;
/// Deliveries a subscription's page shows.
const DELIVERIES: u32 = 50;

/// The hub's inspector.
#[derive(Clone)]
pub struct HubInspector {
    store: Store,
    subscriptions: Subscriptions,
    csrf: CsrfToken,
    samples: Arc<Vec<(String, serde_json::Value)>>,
}

impl HubInspector {
    /// The page for `hub` (no test-event samples until [`Self::samples`]).
    pub fn new(hub: &Hub) -> Result<Self, crate::security::InspectorError> {
        Ok(Self {
            store: hub.store().clone(),
            subscriptions: hub.subscriptions(),
            csrf: CsrfToken::generate()?,
            samples: Arc::new(Vec::new()),
        })
    }

    /// The events the "send a test event" form offers: `(type, event)`.
    pub fn samples(
        mut self,
        samples: impl IntoIterator<Item = (String, serde_json::Value)>,
    ) -> Self {
        self.samples = Arc::new(samples.into_iter().collect());
        self
    }

    /// The page's routes under `/ui/`, behind `hub`'s Basic auth.
    pub fn router(self, hub: &Hub) -> Router {
        let pages = Router::new()
            .route("/ui", get(|| async { Redirect::to("/ui/") }))
            .route("/ui/", get(index))
            .route("/ui/live/webhooks", get(live_webhooks))
            .route("/ui/webhooks/{id}", get(webhook_page))
            .route("/ui/live/webhooks/{id}", get(live_deliveries))
            .route("/ui/webhooks/{id}/activate", post(activate))
            .route("/ui/webhooks/{id}/retry", post(retry_now))
            .route("/ui/webhooks/{id}/recover", post(recover))
            .route("/ui/send", post(send_test_event))
            .route("/ui/assets/inspector.css", get(crate::layout::css))
            .route("/ui/assets/inspector.js", get(crate::layout::js))
            .with_state(Arc::new(self));
        hub.protect(pages)
            .layer(axum::middleware::from_fn(ask_for_credentials))
            .layer(axum::middleware::from_fn(crate::security::headers))
    }
}

/// A 401 asks the browser for the API user's email and token.
async fn ask_for_credentials(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"gladly-webhook hub\", charset=\"UTF-8\""),
        );
    }
    response
}

type Shared = State<Arc<HubInspector>>;

pub(crate) fn store_failed(err: &gladly_webhook_hub::store::StoreError) -> Response {
    tracing::warn!(error = %err, "the inspector could not read the store");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the store did not answer; try again",
    )
}

fn event_names(webhook: &StoredWebhook) -> String {
    webhook
        .events
        .iter()
        .filter_map(|e| serde_json::to_value(e).ok())
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect::<Vec<_>>()
        .join(", ")
}

fn delivery_class(state: DeliveryState) -> &'static str {
    match state {
        DeliveryState::Delivered => "ok",
        DeliveryState::Pending => "muted",
        DeliveryState::Failed => "bad",
        _ => "warn",
    }
}

async fn index(State(shared): Shared) -> Response {
    let rows = match webhooks_rows(&shared).await {
        Ok(rows) => rows,
        Err(response) => return response,
    };
    let deactivations = match shared.store.deactivations(20).await {
        Ok(d) => d,
        Err(err) => return store_failed(&err),
    };
    let operational = match shared.store.operational_events(20).await {
        Ok(events) => events,
        Err(err) => return store_failed(&err),
    };
    let body = html! {
        h2 { "Subscriptions" }
        table {
            thead { tr { th { "id" } th { "state" } th { "events" } th.wide { "url" } th { "pending" } th { "last deliveries" } } }
            tbody id="webhooks" data-live={ (BASE) "/live/webhooks" } { (rows) }
        }
        h2 { "Send a test event" }
        @if shared.samples.is_empty() {
            p.muted { "No samples were given to this page." }
        } @else {
            form.filters method="post" action={ (BASE) "/send" } {
                (csrf_field(shared.csrf.as_str()))
                label { "type"
                    select name="event_type" id="event-type" {
                        @for (event_type, _) in shared.samples.iter() { option value=(event_type) { (event_type) } }
                    }
                }
                button type="submit" id="send" { "publish a sample" }
            }
            p.muted { "Published like any event: every active subscription to its type gets a delivery." }
        }
        h2 { "Operational events " span.muted { "(the last 20; sent to the operator's endpoints as Standard Webhooks)" } }
        table id="operational-events" {
            thead { tr { th { "time" } th { "type" } th { "subscription" } th.wide { "data" } } }
            tbody {
                @if operational.is_empty() { tr { td colspan="4" .muted { "None." } } }
                @for event in &operational {
                    tr {
                        td { (event["timestamp"].as_str().unwrap_or("")) }
                        td { code { (event["type"].as_str().unwrap_or("")) } }
                        td { (event["data"]["webhookId"].as_str().unwrap_or("-")) }
                        td.wide { code { (event["data"].to_string()) } }
                    }
                }
            }
        }
        h2 { "Deactivations " span.muted { "(the last 20)" } }
        table {
            thead { tr { th { "time" } th { "subscription" } th { "event" } th { "why" } } }
            tbody {
                @if deactivations.is_empty() { tr { td colspan="4" .muted { "None." } } }
                @for d in &deactivations {
                    tr {
                        td { (time(d.at)) }
                        td { a href={ (BASE) "/webhooks/" (segment(&d.webhook_id)) } { (d.webhook_id) } }
                        td { (d.event_id.as_deref().unwrap_or("-")) }
                        td { (d.reason) }
                    }
                }
            }
        }
    };
    html_response(page(BASE, "hub", NAV, body))
}

async fn live_webhooks(State(shared): Shared) -> Response {
    match webhooks_rows(&shared).await {
        Ok(rows) => html_response(rows),
        Err(response) => response,
    }
}

async fn webhooks_rows(shared: &HubInspector) -> Result<Markup, Response> {
    let webhooks = shared
        .store
        .list_webhooks()
        .await
        .map_err(|e| store_failed(&e))?;
    let backlog = shared.store.backlog().await.map_err(|e| store_failed(&e))?;
    let pending = |id: &str| {
        backlog
            .iter()
            .find(|b| b.webhook_id == id)
            .map_or(0, |b| b.pending)
    };
    // At most MAX_WEBHOOKS subscriptions: one small read each.
    let mut last = Vec::with_capacity(webhooks.len());
    for w in &webhooks {
        last.push(
            shared
                .store
                .deliveries(&w.id, LAST_SHOWN)
                .await
                .map_err(|e| store_failed(&e))?,
        );
    }
    Ok(html! {
        @if webhooks.is_empty() { tr { td colspan="6" .muted { "No subscription yet (POST /api/v1/webhooks)." } } }
        @for (w, last) in webhooks.iter().zip(&last) {
            tr {
                td { a href={ (BASE) "/webhooks/" (segment(&w.id)) } { (w.id) } }
                td { @if w.active { (badge("ok", "active")) } @else { (badge("bad", "inactive")) } }
                td { (event_names(w)) }
                td.wide { code { (redact_url(&w.url)) } }
                td { (pending(&w.id)) }
                td {
                    @if last.is_empty() { span.muted { "none" } }
                    @for d in last { (badge(delivery_class(d.state), d.state.as_str())) " " }
                }
            }
        }
    })
}

async fn webhook_page(State(shared): Shared, Path(id): Path<String>) -> Response {
    let webhook = match shared.store.get_webhook(&id).await {
        Ok(Some(w)) => w,
        Ok(None) => return error(StatusCode::NOT_FOUND, "no subscription with this id"),
        Err(err) => return store_failed(&err),
    };
    let deliveries = match deliveries_rows(&shared, &id).await {
        Ok(rows) => rows,
        Err(response) => return response,
    };
    let key = segment(&id);
    let body = html! {
        dl {
            dt { "id" } dd { (webhook.id) }
            dt { "state" } dd id="webhook-state" { @if webhook.active { (badge("ok", "active")) } @else { (badge("bad", "inactive")) } }
            dt { "url" } dd { code { (redact_url(&webhook.url)) } }
            dt { "events" } dd { (event_names(&webhook)) }
            dt { "created" } dd { (time(webhook.created_at)) }
            dt { "changed" } dd { (time(webhook.modified_at)) }
            dt { "rate limit" } dd id="rate-limit" {
                @match webhook.rate_limit { Some(n) => { (n) " a second" } None => { "none" } }
            }
            @if let Some(until) = webhook.paused_until.filter(|until| *until > Utc::now()) {
                dt { "paused" } dd id="paused" { "until " (time(until)) " (the receiver's Retry-After)" }
            }
        }
        @if !webhook.active {
            form.inline method="post" action={ (BASE) "/webhooks/" (key) "/activate" } {
                (csrf_field(shared.csrf.as_str()))
                button type="submit" id="activate" { "re-activate (the hub PINGs it first)" }
            }
            " "
        }
        form.inline method="post" action={ (BASE) "/webhooks/" (key) "/retry" } {
            (csrf_field(shared.csrf.as_str()))
            button type="submit" id="retry" { "retry waiting deliveries now" }
        }
        h2 { "Recover" }
        form.filters method="post" action={ (BASE) "/webhooks/" (key) "/recover" } {
            (csrf_field(shared.csrf.as_str()))
            label { "published since"
                input type="text" name="since" id="recover-since" required placeholder="6h or 2026-12-07T09:00:00Z";
            }
            label { "until"
                input type="text" name="until" id="recover-until" placeholder="now";
            }
            button type="submit" id="recover" { "send failed and cancelled deliveries again" }
        }
        p.muted { "Each delivery of the window that failed or was cancelled is queued again, in publish order, with the whole schedule; the subscription must be active." }
        h2 { "Deliveries " span.muted { "(the last " (DELIVERIES) ", newest first, with every attempt)" } }
        div id="deliveries" data-live={ (BASE) "/live/webhooks/" (key) } { (deliveries) }
    };
    html_response(page(BASE, &webhook.id, NAV, body))
}

async fn live_deliveries(State(shared): Shared, Path(id): Path<String>) -> Response {
    match deliveries_rows(&shared, &id).await {
        Ok(rows) => html_response(rows),
        Err(response) => response,
    }
}

async fn deliveries_rows(shared: &HubInspector, id: &str) -> Result<Markup, Response> {
    let deliveries: Vec<DeliveryRecord> = shared
        .store
        .deliveries(id, DELIVERIES)
        .await
        .map_err(|e| store_failed(&e))?;
    Ok(delivery_sections(&deliveries))
}

/// Each delivery with its attempts (the relay's page shows them alike).
pub(crate) fn delivery_sections(deliveries: &[DeliveryRecord]) -> Markup {
    html! {
        @if deliveries.is_empty() { p.muted { "No delivery yet." } }
        @for d in deliveries {
            section.delivery id=(d.id) {
                h3 {
                    (badge(delivery_class(d.state), d.state.as_str())) " "
                    code { (d.id) } " · " (d.event_type) " · " (d.event_id)
                }
                p.muted {
                    "published " (time(d.created_at))
                    @if let Some(next) = d.next_attempt_at { " · next attempt " (time(next)) }
                    @if let Some(done) = d.finished_at { " · finished " (time(done)) }
                    @if let Some(reason) = &d.reason { " · " (reason) }
                }
                table {
                    thead { tr { th { "attempt" } th { "time" } th { "status" } th { "duration" } th { "error or acknowledgement" } } }
                    tbody {
                        @if d.attempts.is_empty() { tr { td colspan="5" .muted { "Not attempted yet." } } }
                        @for a in &d.attempts {
                            tr {
                                td { (a.number) }
                                td { (time(a.at)) }
                                td { @match (a.status, &a.ack) {
                                    (Some(s), _) => { (badge(if (200..300).contains(&s) { "ok" } else { "bad" }, &s.to_string())) }
                                    (None, Some(_)) => { (badge("ok", "ack")) }
                                    (None, None) => { "-" }
                                } }
                                td { (a.duration_ms) " ms" }
                                td { (a.ack.as_deref().or(a.error.as_deref()).unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct ActionForm {
    csrf: String,
    #[serde(default)]
    event_type: Option<String>,
}

/// A refusal as a page: what was refused, why, and the way back.
fn refused(status: StatusCode, why: &str, next: &str, what: &str) -> Response {
    let body = html! {
        p.notice { (what) " was refused: HTTP " (status.as_u16()) }
        pre { code { (why) } }
        p { a href=(next) { "back" } }
    };
    let mut response = html_response(page(BASE, "refused", NAV, body));
    *response.status_mut() = status;
    response
}

/// The status a change's refusal is answered with, as the API answers it.
fn change_status(err: &SubscriptionError) -> StatusCode {
    match err {
        SubscriptionError::NotFound | SubscriptionError::DeletedMeanwhile => StatusCode::NOT_FOUND,
        SubscriptionError::PingFailed(_) => StatusCode::UNPROCESSABLE_ENTITY,
        SubscriptionError::DuplicateUrl { .. }
        | SubscriptionError::TooMany { .. }
        | SubscriptionError::Conflict
        | SubscriptionError::Inactive => StatusCode::CONFLICT,
        SubscriptionError::EmptyWindow { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        SubscriptionError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The status a publication's refusal is answered with, as the API
/// answers it.
fn publication_status(err: &PublicationError) -> StatusCode {
    match err {
        PublicationError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        PublicationError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        PublicationError::IdReused => StatusCode::CONFLICT,
        PublicationError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn activate(
    State(shared): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    if let Err(refused) = shared.csrf.check(&headers, &form.csrf) {
        return refused.into_response();
    }
    let back = format!("{BASE}/webhooks/{}", segment(&id));
    match shared.subscriptions.activate(&id).await {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(err) => {
            tracing::info!(webhook_id = id, error = %err, "re-activation refused");
            refused(
                change_status(&err),
                &err.to_string(),
                &back,
                "Re-activation",
            )
        }
    }
}

async fn retry_now(
    State(shared): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    if let Err(refused) = shared.csrf.check(&headers, &form.csrf) {
        return refused.into_response();
    }
    match shared.subscriptions.retry_now(&id).await {
        Ok(_) => Redirect::to(&format!("{BASE}/webhooks/{}", segment(&id))).into_response(),
        Err(err) => store_failed(&err),
    }
}

#[derive(Debug, Deserialize)]
struct RecoverForm {
    csrf: String,
    since: String,
    #[serde(default)]
    until: String,
}

/// A moment as the recover form takes it: an RFC 3339 time, or a duration
/// ago (`6h`, `90m`).
fn moment(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    humantime::parse_duration(text)
        .ok()
        .and_then(|ago| chrono::TimeDelta::from_std(ago).ok())
        .and_then(|ago| now.checked_sub_signed(ago))
        .ok_or_else(|| {
            format!(
                "expected an RFC 3339 time such as 2026-12-07T09:00:00Z or a duration ago such as 6h, found {}",
                gladly_webhook_core::echo::quote(text)
            )
        })
}

async fn recover(
    State(shared): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<RecoverForm>,
) -> Response {
    if let Err(refused) = shared.csrf.check(&headers, &form.csrf) {
        return refused.into_response();
    }
    let back = format!("{BASE}/webhooks/{}", segment(&id));
    let now = Utc::now();
    let window = moment(&form.since, now).and_then(|since| match form.until.trim() {
        "" => Ok((since, None)),
        until => moment(until, now).map(|until| (since, Some(until))),
    });
    let (since, until) = match window {
        Ok(window) => window,
        Err(why) => return refused(StatusCode::UNPROCESSABLE_ENTITY, &why, &back, "Recovery"),
    };
    match shared.subscriptions.recover(&id, since, until).await {
        Ok(n) => {
            let body = html! {
                p.notice id="recovered" { "Recovered " (n) " deliver" (if n == 1 { "y" } else { "ies" }) "." }
                p { a href=(back) { "back" } }
            };
            html_response(page(BASE, "recovered", NAV, body))
        }
        Err(err) => {
            tracing::info!(webhook_id = id, error = %err, "recovery refused");
            refused(change_status(&err), &err.to_string(), &back, "Recovery")
        }
    }
}

async fn send_test_event(
    State(shared): Shared,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    if let Err(refused) = shared.csrf.check(&headers, &form.csrf) {
        return refused.into_response();
    }
    let wanted = form.event_type.unwrap_or_default();
    let Some((_, sample)) = shared.samples.iter().find(|(t, _)| *t == wanted) else {
        return error(StatusCode::BAD_REQUEST, "no sample of this type");
    };
    // A fresh id and time: the hub fills them in when absent.
    let mut fields = sample.as_object().cloned().unwrap_or_default();
    fields.remove("id");
    fields.remove("timestamp");
    let event = serde_json::Value::Object(fields.clone()).to_string();
    let back = format!("{BASE}/");
    match shared
        .subscriptions
        .publish(event.as_bytes(), &fields)
        .await
    {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(err) => refused(
            publication_status(&err),
            &err.to_string(),
            &back,
            "The test event",
        ),
    }
}
