//! One logging setup for the long-running commands: `tracing` to standard
//! error, as text or one JSON object per line, filtered by `RUST_LOG`
//! (`tracing-subscriber`'s env filter) or the command's default level.
//!
//! What is logged never holds a secret: the libraries log ids, statuses,
//! reason codes and redacted URLs (no userinfo, no query).

use tracing_subscriber::EnvFilter;

use crate::say::LogFormat;

/// Logs to standard error at `default` and above, unless `RUST_LOG` says
/// otherwise (e.g. `RUST_LOG=gladly_webhook_hub=debug,info`). A `RUST_LOG`
/// that does not parse is reported and the default used.
pub fn init(format: LogFormat, default: tracing::Level) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::try_new(&spec).unwrap_or_else(|err| {
            crate::say::warn(format_args!(
                "RUST_LOG: {err}; logging at {default} instead",
            ));
            EnvFilter::new(default.as_str())
        }),
        _ => EnvFilter::new(default.as_str()),
    };
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false)
        .with_env_filter(filter);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}
