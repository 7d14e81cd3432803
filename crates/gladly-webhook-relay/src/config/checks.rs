//! Checking what the file says, every problem with its key path.

use std::path::Path;
use std::time::Duration;

use gladly_webhook_core::Verifier;
use gladly_webhook_core::address::AddressPolicy;
use gladly_webhook_core::auth::DeliveryAuth;
use gladly_webhook_core::model::Model;
use gladly_webhook_core::standard_webhooks::{StandardKey, StandardSigner, StandardSigningKey};
use gladly_webhook_hub::destinations::{BodyShape, STANDARD_DELAYS};
use gladly_webhook_sender::Schedule;

use super::checker::{Checker, duration};
use super::file::{FileDestination, FileInput, Retry};
use super::nats::{nats_fields_on_http, nats_of};
use super::{
    DEFAULT_TIMEOUT, DestinationConfig, DestinationKind, Input, MAX_TIMEOUT, RESERVED_PATHS,
};

/// The input `input` (at `key`), checked, its secrets read.
pub(super) fn input_of(
    check: &mut Checker,
    key: &str,
    input: &FileInput,
    base: &Path,
) -> Option<Input> {
    let before = check.problems.len();
    if !input.path.starts_with('/') || input.path.contains(['?', '#', ' ']) {
        check.problem(
            format!("{key}.path"),
            "a path starts with / and holds no ?, # or space",
        );
    } else if RESERVED_PATHS.contains(&input.path.as_str()) {
        check.problem(
            format!("{key}.path"),
            format!("{} is the relay's own", input.path),
        );
    }
    let mut auth = DeliveryAuth::none();
    if let Some(basic) = &input.basic_auth {
        let key = format!("{key}.basic_auth");
        if let Some(pair) = check.ok(&key, basic.load(base)) {
            let rule = DeliveryAuth::basic_pair(&pair).map_err(|e| format!("user:password: {e}"));
            if let Some(rule) = check.ok(&key, rule) {
                auth = auth.and(rule);
            }
        }
    }
    for (name, value) in &input.headers {
        let key = format!("{key}.headers.{name:?}");
        if let Some(value) = check.ok(&key, value.load(base)) {
            let rule = DeliveryAuth::header(name, value).map_err(|e| e.to_string());
            if let Some(rule) = check.ok(&key, rule) {
                auth = auth.and(rule);
            }
        }
    }
    let mut secrets = Vec::new();
    for (n, secret) in input.signing_secrets.iter().enumerate() {
        if let Some(secret) = check.ok(&format!("{key}.signing_secrets[{n}]"), secret.load(base)) {
            secrets.push(secret);
        }
    }
    if !secrets.is_empty() {
        let verifier = Verifier::new(&secrets).map_err(|e| e.to_string());
        if let Some(verifier) = check.ok(&format!("{key}.signing_secrets"), verifier) {
            auth = auth.and(DeliveryAuth::signature(verifier));
        }
    }
    let named = input.basic_auth.is_some() || !input.headers.is_empty() || !secrets.is_empty();
    if !named {
        check.problem(
            key,
            "name what a delivery must carry: basic_auth, headers or signing_secrets",
        );
    }
    (check.problems.len() == before).then(|| Input {
        path: input.path.clone(),
        auth,
    })
}

/// The destination `d` (at `key`), checked, its secrets read.
pub(super) fn destination_of(
    check: &mut Checker,
    key: &str,
    d: &FileDestination,
    base: &Path,
) -> Option<DestinationConfig> {
    let before = check.problems.len();
    let name_ok = !d.name.is_empty()
        && d.name.len() <= 64
        && d.name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !name_ok {
        check.problem(
            format!("{key}.name"),
            "1 to 64 of a-z, 0-9, - and _ (it names the destination in metrics and commands)",
        );
    }
    let events = d.events.clone().unwrap_or_else(|| vec!["*".to_string()]);
    if events.is_empty() {
        check.problem(
            format!("{key}.events"),
            "name at least one event type or pattern",
        );
    }
    for (n, pattern) in events.iter().enumerate() {
        if let Err(message) = check_pattern(pattern) {
            check.problem(format!("{key}.events[{n}]"), message);
        }
    }
    let kind = match d.kind.as_deref() {
        None | Some("http") => {
            nats_fields_on_http(check, key, d);
            http_of(check, key, d, base)
        }
        Some("nats") => nats_of(check, key, d, base).map(DestinationKind::Nats),
        Some(other) => {
            check.problem(
                format!("{key}.kind"),
                format!("{other:?}: \"http\" (the default) or \"nats\""),
            );
            None
        }
    };
    let schedule = match &d.retry {
        None => Some(Schedule::Delays(STANDARD_DELAYS.to_vec())),
        Some(retry) => check.ok(&format!("{key}.retry"), schedule_of(retry)),
    };
    let timeout = match &d.timeout {
        None => Some(DEFAULT_TIMEOUT),
        Some(text) => {
            let checked = duration(text).and_then(|t| {
                (Duration::from_millis(100)..=MAX_TIMEOUT)
                    .contains(&t)
                    .then_some(t)
                    .ok_or_else(|| "from 100ms to 120s".to_string())
            });
            check.ok(&format!("{key}.timeout"), checked)
        }
    };
    let mut addresses = AddressPolicy::public_only().allow_loopback(d.allow_loopback);
    for (n, network) in d.allow_networks.iter().enumerate() {
        let parsed = network
            .parse::<ipnet::IpNet>()
            .map_err(|_| format!("{network:?} is not a network such as 10.0.0.0/8"));
        if let Some(network) = check.ok(&format!("{key}.allow_networks[{n}]"), parsed) {
            addresses = addresses.allow_network(network);
        }
    }
    match (check.problems.len() == before, kind, schedule, timeout) {
        (true, Some(kind), Some(schedule), Some(timeout)) => Some(DestinationConfig {
            name: d.name.clone(),
            url: d.url.clone(),
            events,
            kind,
            schedule,
            timeout,
            addresses,
        }),
        _ => None,
    }
}

/// The HTTP part of destination `d` (at `key`): its URL, keys and body.
fn http_of(
    check: &mut Checker,
    key: &str,
    d: &FileDestination,
    base: &Path,
) -> Option<DestinationKind> {
    let before = check.problems.len();
    check_url(check, &format!("{key}.url"), &d.url);
    let mut keys = Vec::new();
    for (n, secret) in d.secrets.iter().enumerate() {
        let key = format!("{key}.secrets[{n}]");
        if let Some(secret) = check.ok(&key, secret.load(base)) {
            let parsed = StandardKey::parse(secret.expose()).map_err(|e| e.to_string());
            if let Some(parsed) = check.ok(&key, parsed) {
                keys.push(parsed);
            }
        }
    }
    let mut signer = StandardSigner::new(keys);
    if let Some(signing) = &d.signing_key {
        let key = format!("{key}.signing_key");
        if let Some(secret) = check.ok(&key, signing.load(base)) {
            let parsed = StandardSigningKey::parse(secret.expose()).map_err(|e| e.to_string());
            if let Some(parsed) = check.ok(&key, parsed) {
                signer = signer.with_ed25519(parsed);
            }
        }
    }
    if d.secrets.is_empty() && d.signing_key.is_none() {
        check.problem(
            format!("{key}.secrets"),
            "name at least one whsec_ secret (or a signing_key): deliveries are always signed",
        );
    }
    let body = match d.body.as_deref() {
        None | Some("as-received") => BodyShape::AsReceived,
        Some("envelope") => BodyShape::Envelope,
        Some(other) => {
            check.problem(
                format!("{key}.body"),
                format!("{other:?}: \"as-received\" or \"envelope\""),
            );
            BodyShape::AsReceived
        }
    };
    (check.problems.len() == before).then_some(DestinationKind::Http { signer, body })
}

fn check_url(check: &mut Checker, key: &str, text: &str) {
    match url::Url::parse(text) {
        Ok(url) if !matches!(url.scheme(), "http" | "https") => {
            check.problem(key, "an http:// or https:// URL");
        }
        Ok(url) if !url.username().is_empty() || url.password().is_some() => check.problem(
            key,
            "holds credentials: a destination proves who sends with its signature, and secrets never go in this file",
        ),
        Ok(url) if url.host_str().is_none() => check.problem(key, "names no host"),
        Ok(_) => {}
        Err(err) => check.problem(key, format!("not a URL: {err}")),
    }
}

/// An event type of either model, or a pattern: a prefix followed by `*`.
fn check_pattern(pattern: &str) -> Result<(), String> {
    let known = |name: &str| Model::Subscription.knows(name) || Model::RestApiV1.knows(name);
    match pattern.find('*') {
        Some(at) if at + 1 != pattern.len() => {
            Err(format!("{pattern:?}: a * may only end a pattern"))
        }
        Some(_) => Ok(()),
        None if known(pattern) && pattern != "PING" => Ok(()),
        None => Err(format!(
            "{pattern:?} is not an event type of Gladly's REST API 1.0 nor of the webhook schema (a pattern ends in *)"
        )),
    }
}

fn schedule_of(retry: &Retry) -> Result<Schedule, String> {
    match retry {
        Retry::Named(name) => match name.as_str() {
            "standard" => Ok(Schedule::Delays(STANDARD_DELAYS.to_vec())),
            "gladly" => Ok(Schedule::Gladly),
            "none" => Ok(Schedule::None),
            other => Err(format!(
                "{other:?}: \"standard\", \"gladly\", \"none\" or a list of waits such as [\"10s\", \"5m\"]"
            )),
        },
        Retry::Waits(waits) if waits.len() > 20 => Err("at most 20 waits".to_string()),
        Retry::Waits(waits) => waits
            .iter()
            .map(|wait| duration(wait))
            .collect::<Result<Vec<_>, _>>()
            .map(Schedule::Delays),
    }
}
