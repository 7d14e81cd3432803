//! `gladly-webhook verify`.

use gladly_webhook_core::VerifyEventError;
use gladly_webhook_core::echo::escape;

use super::print;
use crate::cli::{OutputFormat, VerifyArgs};
use crate::error::CliError;
use crate::input;
use crate::raw_request::{MAX_HEAD, RawRequest};

pub fn run(args: &VerifyArgs) -> Result<(), CliError> {
    let (mut verifier, sources) = args.secret.verifier("verify", args.tolerance.as_secs())?;
    if let Some(now) = args.now {
        verifier = verifier.clock(move || now);
    }

    let limit = args.limits.max_bytes;
    let bytes = input::read(&args.request, MAX_HEAD.saturating_add(limit), "--max-bytes")?;
    let (parts, body) = RawRequest::parse(&bytes, limit)?.to_http()?.into_parts();
    let (verified, event) = match verifier.verify_and_parse(&parts, &body) {
        Ok(delivery) => (delivery.verified, Ok(delivery.event)),
        Err(VerifyEventError::Event(err)) => {
            (verifier.verify(&parts, &body).map_err(rejected)?, Err(err))
        }
        Err(VerifyEventError::Verify(err)) => return Err(rejected(err)),
        Err(other) => return Err(CliError::Rejected(format!("rejected: {other}"))),
    };

    if args.format == OutputFormat::Json {
        let (event, problem) = match &event {
            Ok(event) => (
                Some(serde_json::json!({
                    "type": event.event_type(),
                    "id": event.id(),
                    "model": event.model().map(|m| m.name()),
                })),
                None,
            ),
            Err(err) => (None, Some(err.to_string())),
        };
        let line = serde_json::json!({
            "verified": true,
            "signedAt": verified.signed_at().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "secret": sources[verified.secret_index()].to_string(),
            "event": event,
            "notAnEvent": problem,
        });
        return print(format!("{line}\n").as_bytes());
    }
    let mut out = format!(
        "verified\nsigned-at: {}\nsecret: {}\n",
        verified
            .signed_at()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        sources[verified.secret_index()]
    );
    match event {
        Ok(event) => out.push_str(&format!(
            "event: {} {}\n",
            escape(event.event_type(), 200),
            event
                .id()
                .map_or_else(|| "(no id)".to_string(), |id| escape(id, 200))
        )),
        Err(err) => out.push_str(&format!(
            "event: none: the body is not an event ({})\n",
            escape(&err.to_string(), 200)
        )),
    }
    print(out.as_bytes())
}

fn rejected(err: gladly_webhook_core::VerifyError) -> CliError {
    CliError::Rejected(format!("rejected: {err}"))
}
