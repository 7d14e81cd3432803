//! The other end of a relay's NATS destination: a service that reads
//! Gladly's events from the stream with a durable pull consumer and
//! acknowledges each once it has handled it.
//!
//! ```text
//! nats_consumer <server URL> <stream> <consumer name> [subject filter] [--count N] [--idle 5s]
//! ```
//!
//! Prints one JSON line per event (its subject, `Nats-Msg-Id`, type,
//! stream sequence and size) and acks it; a repeat of an id it has already
//! handled (one JetStream stored again past the stream's duplicate window)
//! is acked and skipped. It stops after `--count` events, or when none has
//! come for `--idle` (default: never). A consumer that stops before an ack
//! gets the event again: JetStream redelivers what was not acknowledged.
//! Run it with `cargo run -p gladly-webhook-relay --features nats
//! --example nats_consumer -- nats://127.0.0.1:4222 GLADLY crm-sync`.

use std::collections::HashSet;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use futures_util::StreamExt;

struct Args {
    server: String,
    stream: String,
    durable: String,
    filter: Option<String>,
    count: Option<usize>,
    idle: Option<Duration>,
}

fn args() -> Result<Args, String> {
    let usage = "usage: nats_consumer <server URL> <stream> <consumer name> [subject filter] [--count N] [--idle 5s]";
    let mut positional = Vec::new();
    let (mut count, mut idle) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--count" => {
                let n = args.next().ok_or(usage)?;
                count = Some(n.parse().map_err(|_| format!("--count {n}: a number"))?);
            }
            "--idle" => {
                let t = args.next().ok_or(usage)?;
                idle = Some(humantime::parse_duration(&t).map_err(|e| format!("--idle {t}: {e}"))?);
            }
            _ => positional.push(arg),
        }
    }
    let mut positional = positional.into_iter();
    let (Some(server), Some(stream), Some(durable)) =
        (positional.next(), positional.next(), positional.next())
    else {
        return Err(usage.to_string());
    };
    Ok(Args {
        server,
        stream,
        durable,
        filter: positional.next(),
        count,
        idle,
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), async_nats::Error> {
    let args = args()?;
    let client = async_nats::connect(args.server.as_str()).await?;
    let js = jetstream::new(client);
    let stream = js.get_stream(&args.stream).await?;
    let consumer = stream
        .get_or_create_consumer(
            &args.durable,
            pull::Config {
                durable_name: Some(args.durable.clone()),
                filter_subject: args.filter.clone().unwrap_or_default(),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ..Default::default()
            },
        )
        .await?;
    let mut messages = consumer.messages().await?;
    let mut seen = HashSet::new();
    let mut handled = 0;
    while args.count.is_none_or(|n| handled < n) {
        let next = match args.idle {
            Some(idle) => match tokio::time::timeout(idle, messages.next()).await {
                Ok(next) => next,
                Err(_) => break,
            },
            None => messages.next().await,
        };
        let Some(message) = next else { break };
        let message = message?;
        let header = |name: &str| {
            message
                .headers
                .as_ref()
                .and_then(|h| h.get(name))
                .map(|v| v.as_str().to_string())
        };
        let id = header("Nats-Msg-Id").unwrap_or_default();
        let info = message.info()?;
        if seen.insert(id.clone()) {
            // Handle the event here: message.payload is Gladly's JSON.
            let line = serde_json::json!({
                "subject": message.subject.as_str(),
                "id": id,
                "type": header("Gladly-Event-Type"),
                "streamSequence": info.stream_sequence,
                "bytes": message.payload.len(),
            });
            println!("{line}");
            handled += 1;
        }
        message.ack().await?;
    }
    Ok(())
}
