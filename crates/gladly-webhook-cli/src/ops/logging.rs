//! One logging setup for the long-running commands: `tracing` to standard
//! error, as text or one JSON object per line, filtered by `RUST_LOG`
//! (`tracing-subscriber`'s env filter) or the command's default level; and,
//! with `--otlp-endpoint` (feature `otlp`), the spans exported to an
//! OpenTelemetry collector.
//!
//! What is logged never holds a secret: the libraries log ids, statuses,
//! reason codes and redacted URLs (no userinfo, no query).

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::error::CliError;
use crate::say::LogFormat;

/// What the logging keeps running: the span exporter, whose last batch is
/// sent when this is dropped (at the end of the command).
#[must_use = "dropping it stops the span export"]
pub struct Telemetry {
    #[cfg(feature = "otlp")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        #[cfg(feature = "otlp")]
        if let Some(provider) = self.provider.take()
            && let Err(err) = provider.shutdown()
        {
            crate::say::warn(format_args!("the last spans could not be exported: {err}"));
        }
    }
}

/// The filter of the log lines: `RUST_LOG`, or `default` and above. A
/// `RUST_LOG` that does not parse is reported and the default used.
fn log_filter(default: tracing::Level) -> EnvFilter {
    match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::try_new(&spec).unwrap_or_else(|err| {
            crate::say::warn(format_args!(
                "RUST_LOG: {err}; logging at {default} instead",
            ));
            EnvFilter::new(default.as_str())
        }),
        _ => EnvFilter::new(default.as_str()),
    }
}

/// [`init`] for a short-lived command: text lines, no span export.
pub fn init_text(default: tracing::Level) -> Result<Telemetry, CliError> {
    init(LogFormat::Text, default, None, "gladly-webhook")
}

/// Logs to standard error at `default` and above, unless `RUST_LOG` says
/// otherwise (e.g. `RUST_LOG=gladly_webhook_hub=debug,info`); exports the
/// spans at info and above to `otlp` (a collector's URL) when given, as
/// `service`.
pub fn init(
    format: LogFormat,
    default: tracing::Level,
    otlp: Option<&str>,
    service: &'static str,
) -> Result<Telemetry, CliError> {
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false);
    let lines = match format {
        LogFormat::Text => lines.boxed(),
        LogFormat::Json => lines
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    }
    .with_filter(log_filter(default));
    let registry = tracing_subscriber::registry().with(lines);
    match otlp {
        #[cfg(feature = "otlp")]
        Some(endpoint) => {
            let (provider, spans) = super::otlp::layer(endpoint, service)?;
            let spans = spans.with_filter(tracing_subscriber::filter::LevelFilter::INFO);
            let _ = registry.with(spans).try_init();
            Ok(Telemetry {
                provider: Some(provider),
            })
        }
        _ => {
            let _ = (otlp, service);
            let _ = registry.try_init();
            Ok(Telemetry {
                #[cfg(feature = "otlp")]
                provider: None,
            })
        }
    }
}
