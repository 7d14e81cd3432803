//! `gladly-webhook send` and `gladly-webhook trigger`: deliver an event as
//! Gladly does.

use gladly_webhook_core::Model;
use gladly_webhook_core::echo::{escape, quote};
use gladly_webhook_sender::{AddressPolicy, Outcome, Schedule, Sender};
use http::HeaderName;
use serde_json::Value;

use super::{print, runtime};
use crate::cli::{DeliveryArgs, OutputFormat, SendArgs, TriggerArgs};
use crate::error::CliError;
use crate::examples::{example, example_types};
use crate::input;

pub fn send(args: &SendArgs) -> Result<(), CliError> {
    let body = input::read(&args.event, args.limits.max_bytes, "--max-bytes")?;
    if let Some(why) = not_an_event(&body) {
        let file = input::display(&args.event);
        if !args.allow_invalid {
            return Err(CliError::Rejected(format!(
                "{file} is not a valid event: {why}\n(--allow-invalid sends it anyway)"
            )));
        }
        crate::say::warn(format_args!(
            "{file} is not a valid event, sending it as asked: {why}"
        ));
    }
    deliver(&args.delivery, body, "gladly")
}

/// Why `body` is not a valid event of either model, if it is not: not an
/// event at all, malformed for its type, or outside its schema.
fn not_an_event(body: &[u8]) -> Option<String> {
    if let Err(err) = gladly_webhook_core::event::parse_event(body) {
        return Some(err.to_string());
    }
    let value: Value = serde_json::from_slice(body).ok()?;
    let problems = gladly_webhook_core::event::schema_problems(&value);
    (!problems.is_empty()).then(|| {
        problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })
}

pub fn trigger(args: &TriggerArgs) -> Result<(), CliError> {
    let asked = match (&args.event_type, args.list) {
        (Some(asked), false) => asked,
        _ => return list_types(),
    };
    let Some((event_type, _model, mut event)) = example(asked) else {
        let hint = match crate::examples::closest_type(asked) {
            Some(close) => format!("did you mean {close}?"),
            None => "`gladly-webhook trigger --list` lists them".to_string(),
        };
        return Err(CliError::Usage(format!(
            "no example event of type {}: {hint}",
            quote(asked),
        )));
    };
    event["id"] = Value::from(format!("evt_{:016x}", fastrand::u64(..)));
    event["timestamp"] =
        Value::from(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    for set in &args.set {
        crate::set_field::apply(&mut event, set, args.create)?;
    }
    debug_assert_eq!(event["type"], event_type);
    let body = serde_json::to_vec(&event).expect("a JSON value serializes");
    // One attempt unless asked, as `stripe trigger` does.
    deliver(&args.delivery, body, "none")
}

/// `trigger --list`: each type with an example, and its model.
fn list_types() -> Result<(), CliError> {
    let mut out = String::new();
    for model in [Model::Subscription, Model::RestApiV1] {
        for event_type in example_types(model) {
            out.push_str(&format!("{event_type}\t{}\n", model.name()));
        }
    }
    super::print(out.as_bytes())
}

/// Delivers `body` by `args`, on `default_schedule` unless `--schedule` names one.
fn deliver(args: &DeliveryArgs, body: Vec<u8>, default_schedule: &str) -> Result<(), CliError> {
    let Some(to) = args.to.as_deref() else {
        return Err(CliError::Usage(
            "--to URL is required: the endpoint to deliver to".to_string(),
        ));
    };
    let sources = args.secret.sources();
    let secret = match sources.as_slice() {
        [] => None,
        [source] => Some(source.load()?),
        _ => {
            return Err(CliError::Usage(
                "this takes at most one secret: --secret-env NAME or --secret-file PATH"
                    .to_string(),
            ));
        }
    };
    let credentials = crate::auth_flags::load(&args.auth)?;
    if secret.is_none() && credentials.is_empty() && !args.auth.no_auth {
        return Err(CliError::Usage(
            "say how to authenticate: --secret-env/--secret-file (sign, our user's model), \
             --basic-auth-env and/or --require-header with --header-value-env (as Gladly's REST API 1.0 webhooks), \
             or --no-auth"
                .to_string(),
        ));
    }
    let schedule: Schedule = args
        .schedule
        .as_deref()
        .unwrap_or(default_schedule)
        .parse()
        .map_err(|err: gladly_webhook_sender::ScheduleError| CliError::Usage(err.to_string()))?;
    let timeout = args.timeout;
    if !(args.time_scale.is_finite() && args.time_scale >= 0.0) {
        return Err(CliError::Usage(
            "--time-scale must be a number of at least 0".to_string(),
        ));
    }
    let usage = |err: gladly_webhook_sender::SenderError| CliError::Usage(err.to_string());
    let sender = match &secret {
        Some(secret) => Sender::new(secret.expose().as_bytes()),
        None => Sender::unsigned(),
    };
    let mut sender = credentials
        .apply(sender.map_err(usage)?)
        .map_err(usage)?
        .schedule(schedule)
        .timeout(timeout)
        .time_scale(args.time_scale);
    // A developer tool pointed at a local receiver: loopback is allowed,
    // other non-public networks only when named.
    let addresses = args.allow_networks.iter().fold(
        AddressPolicy::public_only().allow_loopback(true),
        |policy, net| policy.allow_network(*net),
    );
    sender = sender.address_policy(addresses).map_err(usage)?;
    for header in &args.headers {
        let (name, value) = header.split_once(':').ok_or_else(|| {
            CliError::Usage(format!(
                "--header {}: expected `Name: value`",
                quote(header)
            ))
        })?;
        sender = sender.header(name.trim(), value.trim()).map_err(usage)?;
    }
    for name in &args.sign_headers {
        let name = HeaderName::try_from(name.as_str()).map_err(|_| {
            CliError::Usage(format!(
                "--sign-header {} is not a header name",
                quote(name)
            ))
        })?;
        sender = sender.sign_header(name).map_err(usage)?;
    }

    if args.dry_run {
        let request = sender.signed_request(to, &body).map_err(usage)?;
        return print(&render(&request));
    }
    let json = args.format == OutputFormat::Json;
    let report = runtime()?.block_on(sender.deliver(to, &body, |attempt| {
        if json {
            super::emit(&attempt_json(attempt).to_string());
        } else {
            eprintln!("{attempt}");
        }
    }));
    let report = report.map_err(usage)?;
    let count = report.attempts.len();
    let plural = if count == 1 { "" } else { "s" };
    let outcome = |name: &str| {
        let line = serde_json::json!({"outcome": name, "attempts": count}).to_string();
        print(format!("{line}\n").as_bytes())
    };
    match report.outcome {
        Outcome::Delivered if json => outcome("delivered"),
        Outcome::Delivered => {
            print(format!("delivered after {count} attempt{plural}\n").as_bytes())
        }
        Outcome::Gone => {
            if json {
                outcome("gone")?;
            } else {
                print(
                    format!("gone: the endpoint answered 410 after {count} attempt{plural}\n")
                        .as_bytes(),
                )?;
            }
            Err(CliError::Rejected(format!(
                "not delivered: {} answered 410 Gone",
                escape(&gladly_webhook_core::echo::redact_url(to), 200)
            )))
        }
        _ => {
            if json {
                outcome("gave_up")?;
            } else {
                print(format!("gave up after {count} attempt{plural}\n").as_bytes())?;
            }
            Err(CliError::Rejected(format!(
                "not delivered to {}",
                escape(&gladly_webhook_core::echo::redact_url(to), 200)
            )))
        }
    }
}

/// An attempt as `--format json` prints it.
fn attempt_json(attempt: &gladly_webhook_sender::Attempt) -> Value {
    let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    serde_json::json!({
        "attempt": attempt.number,
        "of": attempt.of,
        "status": attempt.status,
        "error": attempt.error,
        "durationMs": millis(attempt.duration),
        "retryAfterMs": attempt.retry_after.map(millis),
        "body": (!attempt.body.is_empty()).then_some(&attempt.body),
        "nextInMs": attempt.next_in.map(millis),
    })
}

/// A signed request as raw HTTP/1.1, as `sign` writes one.
fn render(request: &http::Request<Vec<u8>>) -> Vec<u8> {
    let mut out = format!("{} {} HTTP/1.1\r\n", request.method(), request.uri()).into_bytes();
    for (name, value) in request.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        // Credentials (Basic, secret headers) are never printed.
        if value.is_sensitive() {
            out.extend_from_slice(b"[REDACTED]");
        } else {
            out.extend_from_slice(value.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("content-length: {}\r\n\r\n", request.body().len()).as_bytes());
    out.extend_from_slice(request.body());
    out
}
