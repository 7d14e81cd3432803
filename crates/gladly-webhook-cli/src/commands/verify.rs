//! `gladly-webhook verify`.

use std::time::Duration;

use gladly_webhook_core::{Verifier, parse_event};

use super::print;
use crate::cli::VerifyArgs;
use crate::error::CliError;
use crate::input;
use crate::raw_request::RawRequest;

pub fn run(args: &VerifyArgs) -> Result<(), CliError> {
    let sources = args.secret.sources();
    if sources.is_empty() {
        return Err(CliError::Usage(
            "verify needs a secret: --secret-env NAME or --secret-file PATH (repeatable)"
                .to_string(),
        ));
    }
    let secrets = sources
        .iter()
        .map(|s| s.load())
        .collect::<Result<Vec<_>, _>>()?;
    let mut verifier = Verifier::new(&secrets)
        .map_err(|err| CliError::Usage(err.to_string()))?
        .tolerance(Duration::from_secs(args.tolerance));
    if let Some(now) = args.now {
        verifier = verifier.clock(move || now);
    }

    let raw = RawRequest::parse(&input::read(&args.request)?)?;
    let request = raw.to_http()?;
    let verified = verifier
        .verify_request(&request)
        .map_err(|err| CliError::Rejected(format!("rejected: {err}")))?;

    let mut out = format!(
        "verified\nsigned-at: {}\nsecret: {}\n",
        verified
            .signed_at()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        sources[verified.secret_index()]
    );
    if let Ok(event) = parse_event(request.body()) {
        out.push_str(&format!(
            "event: {} {}\n",
            event.event_type(),
            event.id().unwrap_or("(no id)")
        ));
    }
    print(out.as_bytes())
}
