//! OTLP export of the spans (feature `otlp`): a `tracing` layer feeding an
//! OpenTelemetry tracer whose batches go to a collector over HTTP/protobuf,
//! on reqwest. The spans' attributes are the fields the libraries give
//! them (ids, types, statuses, attempt numbers, redacted URLs): never a
//! secret.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::Layer;
use tracing_subscriber::registry::LookupSpan;

use crate::error::CliError;

/// How long one export may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The traces URL of the collector at `endpoint` (`/v1/traces` added unless
/// it is there), checked: an absolute http(s) URL.
pub fn traces_url(endpoint: &str) -> Result<String, CliError> {
    let url = url::Url::parse(endpoint)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| {
            CliError::Usage(format!(
                "--otlp-endpoint must be an http(s) URL such as http://127.0.0.1:4318, found {}",
                gladly_webhook_core::echo::quote(&gladly_webhook_core::echo::redact_url(endpoint))
            ))
        })?;
    let text = url.as_str().trim_end_matches('/');
    Ok(match text.ends_with("/v1/traces") {
        true => text.to_string(),
        false => format!("{text}/v1/traces"),
    })
}

/// The tracer provider exporting to `endpoint` as `service`, and the layer
/// feeding it. Its batches are sent every 5 s and when it is shut down.
pub fn layer<S>(
    endpoint: &str,
    service: &'static str,
) -> Result<(SdkTracerProvider, impl Layer<S> + use<S>), CliError>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    // reqwest is built without a TLS provider of its own: `ring`, as
    // everywhere in the tree.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(traces_url(endpoint)?)
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|err| CliError::Usage(format!("cannot export spans: {err}")))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service).build())
        .build();
    let tracer = provider.tracer("gladly-webhook");
    let layer = tracing_opentelemetry::layer().with_tracer(tracer);
    Ok((provider, layer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traces_path_is_added_once() {
        assert_eq!(
            traces_url("http://127.0.0.1:4318").unwrap(),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_url("https://otel.example.com/v1/traces").unwrap(),
            "https://otel.example.com/v1/traces"
        );
        assert!(traces_url("collector:4318").is_err());
    }
}
