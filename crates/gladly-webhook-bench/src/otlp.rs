//! `fanout --otlp`: the hub's spans exported as `serve --otlp-endpoint`
//! exports them (a `tracing-opentelemetry` layer at INFO, batches of
//! OTLP/HTTP protobuf over reqwest) to a sink on loopback that reads each
//! batch and answers 200, so the fan-out measures what exporting costs the
//! hub.

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The export running, and the bytes the sink has read.
pub struct Export {
    provider: SdkTracerProvider,
    bytes: Arc<AtomicU64>,
}

impl Export {
    /// Sends the last batch; the bytes the sink read in all.
    pub fn finish(self) -> u64 {
        let _ = self.provider.shutdown();
        self.bytes.load(Ordering::Relaxed)
    }
}

/// Starts the sink and installs the layer (outside any tokio runtime: the
/// exporter's blocking client runs its own).
pub fn start() -> Result<Export, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let bytes = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&bytes);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let counted = Arc::clone(&counted);
            std::thread::spawn(move || sink(stream, &counted));
        }
    });
    let _ = rustls::crypto::ring::default_provider().install_default();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("http://127.0.0.1:{port}/v1/traces"))
        .with_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name("gladly-webhook-bench")
                .build(),
        )
        .build();
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("gladly-webhook"))
        .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
    tracing_subscriber::registry()
        .with(layer)
        .try_init()
        .map_err(|e| e.to_string())?;
    Ok(Export { provider, bytes })
}

/// Reads each request of a connection whole and answers 200.
fn sink(stream: TcpStream, bytes: &AtomicU64) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some((_, body)) = gladly_webhook_testkit::http1::read_request(&mut reader) {
        bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
        if writer
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}
