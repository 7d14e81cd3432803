//! `GET /api/v1/events`: the Events API, the published events of the
//! events window as JSON lines, read from the store a page at a time.

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use gladly_webhook_core::echo::quote;
use gladly_webhook_core::model::Model;
use http::{HeaderValue, StatusCode};

use crate::api::ApiUser;
use crate::api::error::{ApiError, Problem};
use crate::api::state::Shared;
use crate::api::streams::MAX_STREAMS_PER_USER;
use crate::store::{EventsCursor, Store};

/// The most events read from the store at once.
const PAGE: u32 = 500;
/// The most bytes of events read from the store at once (but at least one
/// event): what an answer holds in memory while its client reads it.
const PAGE_BYTES: usize = 2 * 1024 * 1024;
/// How much older than the window `startAt` may be and still be read
/// (from the window's start): a client asking for "the last 24 hours"
/// computes `startAt` a moment before the server reads it.
const GRACE: Duration = Duration::from_secs(300);

/// What a request asks for.
#[derive(Debug, Clone, PartialEq)]
struct EventsQuery {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    entities: Vec<String>,
}

pub(super) async fn stream(
    State(shared): State<Arc<Shared>>,
    Extension(user): Extension<ApiUser>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let query = EventsQuery::parse(query.as_deref(), shared.events_window, Utc::now())?;
    // Held by the answer until it ends or its client goes away.
    let Some(slot) = shared.streams.take(&user.0) else {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_streams",
            format!(
                "this API user has {MAX_STREAMS_PER_USER} Events API answers in progress; read or close one first"
            ),
        ));
    };
    // The first page before the answer starts, so that a store failure is
    // a 503 rather than a cut stream.
    let first = shared
        .store
        .events_between(
            query.from,
            query.to,
            &query.entities,
            EventsCursor::START,
            PAGE,
            PAGE_BYTES,
        )
        .await?;
    let store = shared.store.clone();
    let pages = futures_util::stream::unfold(
        (Some(first), Some(EventsCursor::START)),
        move |(page, after)| {
            // The answer's slot lives as long as the stream.
            let _held = &slot;
            let store = store.clone();
            let query = query.clone();
            async move {
                let after = after?;
                let rows = match page {
                    Some(rows) => rows,
                    None => match next_page(&store, &query, after).await {
                        Ok(rows) => rows,
                        Err(err) => return Some((Err(err), (None, None))),
                    },
                };
                // An empty page ends the answer (a page may be short for
                // its bytes, not only at the end).
                let last = rows.last()?.0;
                let lines = lines(rows);
                Some((Ok(lines), (None, Some(last))))
            }
        },
    );
    let mut response = Body::from_stream(pages).into_response();
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-jsonlines"),
    );
    Ok(response)
}

async fn next_page(
    store: &Store,
    query: &EventsQuery,
    after: EventsCursor,
) -> Result<Vec<(EventsCursor, Vec<u8>)>, std::io::Error> {
    store
        .events_between(
            query.from,
            query.to,
            &query.entities,
            after,
            PAGE,
            PAGE_BYTES,
        )
        .await
        .map_err(|err| {
            tracing::error!(error = %err, "the Events API could not read the store");
            std::io::Error::other("the store failed")
        })
}

/// One line per event: its body as published, made one line when it was
/// published over several. An event whose body was not kept (published
/// before the hub served this model) is left out.
fn lines(rows: Vec<(EventsCursor, Vec<u8>)>) -> Bytes {
    let mut out = Vec::new();
    for (_, body) in rows {
        if body.is_empty() {
            continue;
        }
        if body.iter().any(|b| *b == b'\n' || *b == b'\r') {
            match serde_json::from_slice::<serde_json::Value>(&body) {
                Ok(value) => out.extend_from_slice(value.to_string().as_bytes()),
                Err(_) => continue,
            }
        } else {
            out.extend_from_slice(&body);
        }
        out.push(b'\n');
    }
    Bytes::from(out)
}

impl EventsQuery {
    /// Reads `startAt` (required), `endAt` (default: `now`) and
    /// `entities` (repeatable; every entity when absent), each problem a
    /// 400 naming its parameter.
    fn parse(query: Option<&str>, window: Duration, now: DateTime<Utc>) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        let mut problems = Vec::new();
        let mut time = |name: &str| -> Option<DateTime<Utc>> {
            let (_, text) = pairs.iter().find(|(k, _)| k == name)?;
            match DateTime::parse_from_rfc3339(text) {
                Ok(at) => Some(at.with_timezone(&Utc)),
                Err(_) => {
                    problems.push(Problem::new(
                        &format!("/{name}"),
                        "Format",
                        format!(
                            "expected an RFC 3339 time such as 2026-12-02T10:00:00Z, found {}",
                            quote(text)
                        ),
                    ));
                    None
                }
            }
        };
        let from = time("startAt");
        let to = time("endAt");
        if from.is_none() && !pairs.iter().any(|(k, _)| k == "startAt") {
            problems.push(Problem::new(
                "/startAt",
                "Required",
                "startAt is required: the RFC 3339 time to read from",
            ));
        }
        // A window from configuration, however long, reaches back at most
        // to the first time there is.
        let oldest = chrono::Duration::from_std(window)
            .ok()
            .and_then(|window| now.checked_sub_signed(window))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let grace = chrono::Duration::from_std(GRACE).unwrap_or_default();
        if let Some(from) = from
            && from < oldest.checked_sub_signed(grace).unwrap_or(oldest)
        {
            problems.push(Problem::new(
                "/startAt",
                "Window",
                format!(
                    "the Events API keeps the last {}; startAt must be after {}",
                    humantime_like(window),
                    oldest.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            ));
        }
        let to = to.unwrap_or(now);
        if let Some(from) = from
            && to <= from
        {
            problems.push(Problem::new(
                "/endAt",
                "Order",
                "endAt must be after startAt",
            ));
        }
        let known = entities();
        let mut asked = Vec::new();
        for (_, entity) in pairs.iter().filter(|(k, _)| k == "entities") {
            if known.contains(&entity.as_str()) {
                if !asked.contains(entity) {
                    asked.push(entity.clone());
                }
            } else {
                problems.push(Problem::new(
                    "/entities",
                    "Enum",
                    format!(
                        "expected one of {}, found {}",
                        known.join(", "),
                        quote(entity)
                    ),
                ));
            }
        }
        match from {
            Some(from) if problems.is_empty() => Ok(Self {
                from: from.max(oldest),
                to,
                entities: asked,
            }),
            _ => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "the query is not valid",
            )
            .with_problems(problems)),
        }
    }
}

/// The entities of REST API 1.0's event types (the part before `/`),
/// each once.
fn entities() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = Model::RestApiV1
        .event_types()
        .filter_map(|t| t.split_once('/').map(|(entity, _)| entity))
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// `24h`, `90m`, `45s`: a window as people write it.
fn humantime_like(window: Duration) -> String {
    let secs = window.as_secs();
    if secs.is_multiple_of(3600) {
        format!("{} hours", secs / 3600)
    } else if secs.is_multiple_of(60) {
        format!("{} minutes", secs / 60)
    } else {
        format!("{secs} seconds")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    fn now() -> DateTime<Utc> {
        "2026-12-02T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_query_reads_its_window_and_entities() {
        let q = EventsQuery::parse(
            Some("startAt=2026-12-02T10:00:00Z&entities=TASK&entities=CONVERSATION&entities=TASK"),
            DAY,
            now(),
        )
        .unwrap();
        assert_eq!(
            q.from,
            "2026-12-02T10:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(q.to, now());
        assert_eq!(q.entities, ["TASK", "CONVERSATION"]);
        // A moment older than the window reads from the window's start.
        let q = EventsQuery::parse(Some("startAt=2026-12-01T11:59:00Z"), DAY, now()).unwrap();
        assert_eq!(q.from, now() - chrono::Duration::hours(24));
    }

    #[test]
    fn every_problem_names_its_parameter() {
        for (query, pointer) in [
            ("", "/startAt"),
            ("startAt=yesterday", "/startAt"),
            ("startAt=2026-11-30T12:00:00Z", "/startAt"),
            (
                "startAt=2026-12-02T10:00:00Z&endAt=2026-12-02T09:00:00Z",
                "/endAt",
            ),
            (
                "startAt=2026-12-02T10:00:00Z&entities=CONVERSATIONS",
                "/entities",
            ),
        ] {
            let err = EventsQuery::parse(Some(query), DAY, now()).unwrap_err();
            assert_eq!(err.problems()[0].pointer, pointer, "{query}");
        }
        assert!(entities().contains(&"AGENT_STATUS") && entities().contains(&"TASK"));
    }

    #[test]
    fn bodies_become_lines() {
        let at = |seq| EventsCursor {
            occurred_at_ms: 0,
            seq,
        };
        let out = lines(vec![
            (at(1), b"{\"a\":1}".to_vec()),
            (at(2), Vec::new()),
            (at(3), b"{\n \"b\": 2\n}".to_vec()),
        ]);
        assert_eq!(&out[..], b"{\"a\":1}\n{\"b\":2}\n");
    }
}
