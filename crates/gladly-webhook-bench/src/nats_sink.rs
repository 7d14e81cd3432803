//! The JetStream end of `relay --nats`: a stream of the run's own, its
//! stored count while the relay drains, and each message's latency from
//! the load generator's send (in the event id) to the stream's storing it
//! (the time JetStream stamps, just before it acknowledges).

use async_nats::jetstream::{self, consumer};
use futures_util::StreamExt;

/// A run's stream.
pub struct NatsSink {
    js: jetstream::Context,
    /// The stream's name.
    pub stream: String,
    /// Its subject prefix.
    pub prefix: String,
}

impl NatsSink {
    /// Connects to `url`; the stream's name and prefix are new (the relay
    /// creates the stream).
    pub async fn connect(url: &str) -> Result<Self, String> {
        let client = async_nats::connect(url).await.map_err(|e| e.to_string())?;
        let tag = chrono::Utc::now().timestamp_micros();
        Ok(Self {
            js: jetstream::new(client),
            stream: format!("BENCH_{tag}"),
            prefix: format!("bench{tag}"),
        })
    }

    /// The messages stored so far (0 before the stream exists).
    pub async fn count(&self) -> u64 {
        match self.js.get_stream(&self.stream).await {
            Ok(stream) => stream.cached_info().state.messages,
            Err(_) => 0,
        }
    }

    /// The latency of each message from sequence `from` on, microseconds.
    pub async fn latencies(&self, from: u64, count: u64) -> Result<Vec<u64>, String> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let stream = self
            .js
            .get_stream(&self.stream)
            .await
            .map_err(|e| e.to_string())?;
        let reader = stream
            .create_consumer(consumer::pull::Config {
                deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: from,
                },
                ack_policy: consumer::AckPolicy::None,
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())?;
        let mut messages = reader.messages().await.map_err(|e| e.to_string())?;
        let mut latencies = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        while (latencies.len() as u64) < count {
            let next = tokio::time::timeout(std::time::Duration::from_secs(10), messages.next());
            let Ok(Some(message)) = next.await else {
                break;
            };
            let message = message.map_err(|e| e.to_string())?;
            let stored = message.info().map_err(|e| e.to_string())?.published;
            let sent = message
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Msg-Id"))
                .and_then(|id| id.as_str().rsplit('_').next())
                .and_then(|ns| ns.parse::<i128>().ok());
            if let Some(sent) = sent {
                let micros = (stored.unix_timestamp_nanos() - sent) / 1000;
                latencies.push(u64::try_from(micros).unwrap_or(0));
            }
        }
        Ok(latencies)
    }
}
