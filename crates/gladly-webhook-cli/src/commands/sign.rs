//! `gladly-webhook sign`.

use chrono::Utc;
use gladly_webhook_core::signing::{GLADLY_AUTHORIZATION, GLADLY_TIME};
use gladly_webhook_core::{Signer, echo};
use http::HeaderName;

use super::print;
use crate::cli::SignArgs;
use crate::error::CliError;
use crate::input;
use crate::raw_request::{MAX_HEAD, RawRequest};

pub fn run(args: &SignArgs) -> Result<(), CliError> {
    let sources = args.secret.sources();
    let [source] = sources.as_slice() else {
        return Err(CliError::Usage(
            "sign takes exactly one secret: --secret-env NAME or --secret-file PATH".to_string(),
        ));
    };
    let secret = source.load()?;
    crate::cli::warn_if_short(&secret, source);
    let mut signer = Signer::new(&secret).map_err(|err| CliError::Usage(err.to_string()))?;
    for name in &args.sign_headers {
        let name = HeaderName::try_from(name.as_str()).map_err(|_| {
            CliError::Usage(format!(
                "--sign-header {} is not a header name",
                echo::quote(name)
            ))
        })?;
        signer = signer
            .sign_header(name)
            .map_err(|err| CliError::Usage(format!("cannot sign: {err}")))?;
    }

    let limit = args.limits.max_bytes;
    let bytes = input::read(&args.request, MAX_HEAD.saturating_add(limit), "--max-bytes")?;
    let raw = RawRequest::parse(&bytes, limit)?;
    let mut request = raw.to_http()?;
    signer
        .sign_request_at(&mut request, args.time.unwrap_or_else(Utc::now))
        .map_err(|err| CliError::Usage(format!("cannot sign: {err}")))?;
    let headers = request.headers();
    let signed = raw.render_with(&[
        ("Gladly-Time", headers[GLADLY_TIME].as_bytes()),
        (
            "Gladly-Authorization",
            headers[GLADLY_AUTHORIZATION].as_bytes(),
        ),
    ]);
    print(&signed)
}
