//! The rules: what the schema requires of each property, then what the
//! strict policy adds. Both stages report every problem they find.

use chrono::{DateTime, SecondsFormat, Utc};
use fluent_uri::Uri;
use fluent_uri::component::Host;
use gladly_schema::{EventType, Secret, Webhook};

use super::json::{Json, Properties};
use super::policy::{Level, MIN_SECRET_LEN, Policy};
use super::report::{ErrorCode, ValidationError, ValidationReport};
use std::net::IpAddr;

use crate::address::{Range, classify, known_name};
use crate::echo::{quote, redact_url};
use crate::formats::{parse_date_time, parse_uri};

/// Collects problems with their place in the document, then sorts them into
/// document order.
#[derive(Default)]
pub(crate) struct Problems {
    found: Vec<((usize, usize), ValidationError)>,
}

impl Problems {
    /// Records a problem at `pointer`; `order` is (the property's position
    /// in the document, the item's index within it).
    pub(crate) fn add(
        &mut self,
        order: (usize, usize),
        pointer: impl Into<String>,
        code: ErrorCode,
        message: String,
    ) {
        self.found.push((
            order,
            ValidationError {
                pointer: pointer.into(),
                code,
                message,
            },
        ));
    }

    /// `Ok` when nothing was found, else the report in document order.
    pub(crate) fn finish(mut self) -> Result<(), ValidationReport> {
        if self.found.is_empty() {
            return Ok(());
        }
        self.found.sort_by_key(|(order, _)| *order);
        Err(ValidationReport::new(
            self.found.into_iter().map(|(_, e)| e).collect(),
        ))
    }
}

/// The properties that passed the schema's checks, typed, each with its
/// position in the document. The strict rules read this.
#[derive(Default)]
pub(crate) struct Typed<'a> {
    pub id: Option<(usize, &'a str)>,
    pub url: Option<(usize, &'a str, Uri<&'a str>)>,
    pub events: Option<Events>,
    pub secret: Option<(usize, &'a str)>,
    pub active: Option<bool>,
    pub created_at: Option<(usize, DateTime<Utc>)>,
    pub modified_at: Option<(usize, DateTime<Utc>)>,
}

/// The `events` array: its position, its length, and each valid event
/// type with its index.
pub(crate) struct Events {
    pub at: usize,
    pub count: usize,
    pub valid: Vec<(usize, EventType)>,
}

fn type_error(
    problems: &mut Problems,
    position: usize,
    pointer: &str,
    expected: &str,
    found: &Json<'_>,
) {
    problems.add(
        (position, 0),
        pointer,
        ErrorCode::Type,
        format!("expected {expected}, found {}", found.describe()),
    );
}

/// The schema's rules on a document read by [`super::json`].
pub(crate) fn check_schema<'a>(
    properties: &'a Properties<'a>,
    problems: &mut Problems,
) -> Typed<'a> {
    let mut typed = Typed::default();
    for (name, present) in [
        ("id", properties.id.is_some()),
        ("url", properties.url.is_some()),
        ("events", properties.events.is_some()),
    ] {
        if !present {
            problems.add(
                (0, 0),
                "",
                ErrorCode::Required,
                format!("missing required property \"{name}\""),
            );
        }
    }

    if let Some((at, value)) = &properties.id {
        match value {
            Json::String(s) => typed.id = Some((*at, s.as_ref())),
            other => type_error(problems, *at, "/id", "a string", other),
        }
    }
    if let Some((at, value)) = &properties.url {
        match value {
            Json::String(s) => typed.url = check_uri(problems, *at, s),
            other => type_error(problems, *at, "/url", "a string (a URI)", other),
        }
    }
    if let Some((at, value)) = &properties.events {
        match value {
            Json::Array(items) => {
                let mut events = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    let pointer = || format!("/events/{index}");
                    match item {
                        Json::String(s) => match s.parse::<EventType>() {
                            Ok(event) => events.push((index, event)),
                            Err(_) => problems.add(
                                (*at, index),
                                pointer(),
                                ErrorCode::Enum,
                                format!("expected one of {}, found {}", event_names(), quote(s)),
                            ),
                        },
                        other => problems.add(
                            (*at, index),
                            pointer(),
                            ErrorCode::Type,
                            format!(
                                "expected a string (an event type), found {}",
                                other.describe()
                            ),
                        ),
                    }
                }
                typed.events = Some(Events {
                    at: *at,
                    count: items.len(),
                    valid: events,
                });
            }
            other => type_error(problems, *at, "/events", "an array of event types", other),
        }
    }
    if let Some((at, value)) = &properties.secret {
        match value {
            Json::String(s) => typed.secret = Some((*at, s.as_ref())),
            // Name the kind only: the value may be a mistyped secret.
            other => problems.add(
                (*at, 0),
                "/secret",
                ErrorCode::Type,
                format!("expected a string, found {}", other.kind()),
            ),
        }
    }
    if let Some((at, value)) = &properties.active {
        match value {
            Json::Bool(b) => typed.active = Some(*b),
            other => type_error(problems, *at, "/active", "a boolean", other),
        }
    }
    typed.created_at = check_date_time(problems, properties.created_at.as_ref(), "/createdAt");
    typed.modified_at = check_date_time(problems, properties.modified_at.as_ref(), "/modifiedAt");
    typed
}

fn check_uri<'a>(
    problems: &mut Problems,
    at: usize,
    text: &'a str,
) -> Option<(usize, &'a str, Uri<&'a str>)> {
    match parse_uri(text) {
        Some(uri) => Some((at, text, uri)),
        None => {
            problems.add(
                (at, 0),
                "/url",
                ErrorCode::Format,
                format!(
                    "expected an absolute URI (RFC 3986), found {}",
                    quote(&redact_url(text))
                ),
            );
            None
        }
    }
}

fn check_date_time(
    problems: &mut Problems,
    property: Option<&(usize, Json<'_>)>,
    pointer: &str,
) -> Option<(usize, DateTime<Utc>)> {
    let (at, value) = property?;
    let Json::String(text) = value else {
        type_error(
            problems,
            *at,
            pointer,
            "a string (an RFC 3339 date-time)",
            value,
        );
        return None;
    };
    match parse_date_time(text) {
        Some(time) => Some((*at, time)),
        None => {
            problems.add(
                (*at, 0),
                pointer,
                ErrorCode::Format,
                format!(
                    "expected an RFC 3339 date-time such as \"2026-11-26T17:00:00Z\", found {}",
                    quote(text)
                ),
            );
            None
        }
    }
}

fn event_names() -> String {
    EventType::ALL.map(|e| e.to_string()).join(", ")
}

/// The schema's rules on a typed [`Webhook`] (only the URL's format can be
/// wrong: the types hold the rest), and its typed view, with positions in
/// schema order.
pub(crate) fn check_webhook<'a>(webhook: &'a Webhook, problems: &mut Problems) -> Typed<'a> {
    Typed {
        id: Some((1, webhook.id.as_str())),
        url: check_uri(problems, 2, &webhook.url),
        events: Some(Events {
            at: 3,
            count: webhook.events.len(),
            valid: webhook.events.iter().copied().enumerate().collect(),
        }),
        secret: webhook.secret.as_ref().map(|s| (4, s.expose())),
        active: webhook.active,
        created_at: webhook.created_at.map(|t| (6, t)),
        modified_at: webhook.modified_at.map(|t| (7, t)),
    }
}

/// What [`Policy::strict`] adds to the schema.
pub(crate) fn check_strict(typed: &Typed<'_>, policy: &Policy, problems: &mut Problems) {
    if policy.level() != Level::Strict {
        return;
    }
    if let Some((at, id)) = typed.id
        && id.is_empty()
    {
        problems.add(
            (at, 0),
            "/id",
            ErrorCode::EmptyId,
            "expected a non-empty id, found \"\"".to_string(),
        );
    }
    if let Some((at, text, uri)) = &typed.url {
        check_delivery_url(problems, *at, text, uri, policy);
    }
    if let Some(Events {
        at,
        count,
        valid: events,
    }) = &typed.events
    {
        if *count == 0 {
            problems.add(
                (*at, 0),
                "/events",
                ErrorCode::EmptyEvents,
                "expected at least one event type, found an empty array".to_string(),
            );
        }
        for (i, (index, event)) in events.iter().enumerate() {
            if let Some((first, _)) = events[..i].iter().find(|(_, e)| e == event) {
                problems.add(
                    (*at, *index),
                    format!("/events/{index}"),
                    ErrorCode::DuplicateEvent,
                    format!("{event} is listed twice: it is already at /events/{first}"),
                );
            }
        }
    }
    if let Some((at, secret)) = typed.secret {
        if secret.len() < MIN_SECRET_LEN {
            problems.add(
                (at, 0),
                "/secret",
                ErrorCode::SecretTooShort,
                format!(
                    "expected a secret of at least {MIN_SECRET_LEN} bytes, found {} bytes",
                    secret.len()
                ),
            );
        }
        if secret.trim() != secret {
            problems.add(
                (at, 1),
                "/secret",
                ErrorCode::SecretWhitespace,
                "expected no leading or trailing whitespace in the secret, found some".to_string(),
            );
        }
    }
    if let (Some((_, created)), Some((at, modified))) = (typed.created_at, typed.modified_at)
        && modified < created
    {
        problems.add(
            (at, 0),
            "/modifiedAt",
            ErrorCode::ModifiedBeforeCreated,
            format!(
                "expected modifiedAt not before createdAt ({}), found {}",
                created.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                modified.to_rfc3339_opts(SecondsFormat::AutoSi, true)
            ),
        );
    }
}

pub(crate) fn check_delivery_url(
    problems: &mut Problems,
    at: usize,
    text: &str,
    uri: &Uri<&str>,
    policy: &Policy,
) {
    let scheme = uri.scheme().as_str();
    let host = uri.authority().map(|a| a.host()).unwrap_or("");
    let range = host_range(text);
    let loopback = matches!(range, Some((Range::Loopback, _)));
    if !scheme.eq_ignore_ascii_case("https") {
        let insecure_ok =
            policy.allows_insecure_localhost() && scheme.eq_ignore_ascii_case("http") && loopback;
        if !insecure_ok {
            let hint = if scheme.eq_ignore_ascii_case("http") && loopback {
                " (allow_insecure_localhost permits http to this host)"
            } else {
                ""
            };
            problems.add(
                (at, 0),
                "/url",
                ErrorCode::HttpsRequired,
                format!("expected an https URL, found the scheme \"{scheme}\"{hint}"),
            );
        }
    }
    if host.is_empty() {
        problems.add(
            (at, 1),
            "/url",
            ErrorCode::MissingHost,
            format!(
                "expected a URL with a host, found {}",
                quote(&redact_url(text))
            ),
        );
    }
    if let Some(authority) = uri.authority() {
        if let Some(problem) = undeliverable_host(&authority) {
            problems.add((at, 1), "/url", ErrorCode::InvalidHost, problem);
        }
        if let Some(problem) = undeliverable_port(&authority) {
            problems.add((at, 1), "/url", ErrorCode::InvalidPort, problem);
        }
    }
    if let Some((range, literal)) = range {
        let refused = match literal {
            Some(ip) => policy.addresses().check(ip).is_err(),
            None => !(range == Range::Loopback && policy.addresses().allows_loopback()),
        };
        if refused {
            problems.add(
                (at, 1),
                "/url",
                ErrorCode::AddressNotAllowed,
                format!(
                    "expected a public destination, found {} (deliveries go only to globally routable addresses unless the operator allows this network)",
                    range.describe()
                ),
            );
        }
    }
    if uri.authority().is_some_and(|a| a.userinfo().is_some()) {
        // The user-info may be a credential: do not echo the URL.
        problems.add(
            (at, 2),
            "/url",
            ErrorCode::UserInfo,
            "expected no user-info (`user:password@`) in the URL, found some".to_string(),
        );
    }
    if uri.fragment().is_some() {
        // A fragment may carry a token (`#access_token=`): not echoed.
        problems.add(
            (at, 3),
            "/url",
            ErrorCode::Fragment,
            "expected no fragment in the URL (it is never sent), found one (not shown)".to_string(),
        );
    }
}

/// The range the URL's host stands for without DNS, if it is not a public
/// destination, with the address when the host is an address literal in
/// any spelling a URL parser accepts (`127.1`, `2130706433`, `0x7f000001`,
/// `%31%32%37.0.0.1`, `[::ffff:127.0.0.1]`); a known local name
/// (`localhost`) has no address.
fn host_range(text: &str) -> Option<(Range, Option<IpAddr>)> {
    let url = url::Url::parse(text).ok()?;
    let ip = match url.host()? {
        url::Host::Ipv4(ip) => IpAddr::V4(ip),
        url::Host::Ipv6(ip) => IpAddr::V6(ip),
        url::Host::Domain(name) => return known_name(name).map(|r| (r, None)),
    };
    classify(ip).map(|r| (r, Some(ip)))
}

/// Why nothing could be delivered to this host, if so: an IP literal of a
/// future version (`[v1.x]`), or a DNS name with an empty label
/// (`e..com`, `.e.com`; one trailing dot, a fully qualified name, is fine).
fn undeliverable_host(authority: &fluent_uri::component::Authority<'_>) -> Option<String> {
    match authority.host_parsed() {
        Host::IpvFuture { .. } => Some(
            "expected a host name or an IPv4 or IPv6 address, found an IP literal of a future version"
                .to_string(),
        ),
        Host::RegName(name) => {
            let name = name.as_str();
            let labels = name.strip_suffix('.').unwrap_or(name);
            (!name.is_empty() && labels.split('.').any(str::is_empty)).then(|| {
                format!(
                    "expected a host name whose labels are not empty, found {}",
                    quote(name)
                )
            })
        }
        _ => None,
    }
}

/// Why nothing could be delivered to this port, if so: it is empty
/// (`host:`), 0, or beyond 65535.
fn undeliverable_port(authority: &fluent_uri::component::Authority<'_>) -> Option<String> {
    let port = authority.port()?.as_str();
    match authority.port_to_u16() {
        _ if port.is_empty() => {
            Some("expected a port after `:`, found none (leave out the `:`)".to_string())
        }
        Ok(Some(0)) => Some("expected a port from 1 to 65535, found 0".to_string()),
        Ok(_) => None,
        Err(_) => Some(format!(
            "expected a port from 1 to 65535, found {}",
            quote(port)
        )),
    }
}

/// The [`Webhook`] of a document that passed every check.
pub(crate) fn build(typed: Typed<'_>) -> Option<Webhook> {
    Some(Webhook {
        id: typed.id?.1.to_string(),
        url: typed.url?.1.to_string(),
        events: typed.events?.valid.into_iter().map(|(_, e)| e).collect(),
        secret: typed.secret.map(|(_, s)| Secret::new(s)),
        active: typed.active,
        created_at: typed.created_at.map(|(_, t)| t),
        modified_at: typed.modified_at.map(|(_, t)| t),
    })
}
