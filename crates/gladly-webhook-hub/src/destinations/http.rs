//! The built-in transport: Standard Webhooks 1.0 over HTTP, through the
//! sender (its address rule, timeout and connection pool).

use gladly_webhook_core::standard_webhooks::StandardSigner;
use gladly_webhook_sender::{Schedule, Sender};

use super::BodyShape;
use super::transport::{Attempt, Sent, Transport};
use crate::store::DueDelivery;

/// A destination reached by HTTP `POST`s signed with `signer`.
#[derive(Debug, Clone)]
pub(super) struct StandardHttp {
    pub(super) url: String,
    pub(super) sender: Sender,
    pub(super) signer: StandardSigner,
    pub(super) body: BodyShape,
}

impl StandardHttp {
    pub(super) fn new(url: &str, signer: StandardSigner, sender: &Sender) -> Self {
        Self {
            url: url.to_string(),
            // One attempt per call: the dispatcher schedules the retries.
            sender: sender.without_signing().schedule(Schedule::None),
            signer,
            body: BodyShape::AsReceived,
        }
    }

    /// The body `due` is sent with.
    fn body_of(&self, due: &DueDelivery) -> Vec<u8> {
        match self.body {
            BodyShape::AsReceived => due.body.clone(),
            BodyShape::Envelope => envelope(due),
        }
    }
}

impl Transport for StandardHttp {
    fn send<'a>(&'a self, due: &'a DueDelivery) -> Attempt<'a> {
        Box::pin(async move {
            let sender = self
                .sender
                .standard_webhooks(self.signer.clone(), &due.event_id);
            sent(sender.deliver(&self.url, &self.body_of(due), |_| {}).await)
        })
    }
}

/// One attempt's report as [`Sent`]: the status, the address rule or
/// "unreachable", never bytes of the answer nor a connection error's
/// detail (which would tell what listens where).
pub(crate) fn sent(
    report: Result<gladly_webhook_sender::Report, gladly_webhook_sender::SenderError>,
) -> Sent {
    match report {
        Ok(report) => match report.attempts.into_iter().next() {
            Some(attempt) => match attempt.status {
                Some(status) => Sent::Answered {
                    status,
                    retry_after: attempt.retry_after,
                },
                None => Sent::Failed(attempt.summary()),
            },
            None => Sent::Failed("no attempt was made".to_string()),
        },
        Err(err) => Sent::Failed(err.to_string()),
    }
}

/// `{"type", "timestamp", "data"}` around `due`'s body, which is kept as
/// it is (it is JSON: the relay keeps only events that parse).
fn envelope(due: &DueDelivery) -> Vec<u8> {
    #[derive(serde::Deserialize)]
    struct Stamp {
        timestamp: Option<String>,
    }
    let timestamp = serde_json::from_slice::<Stamp>(&due.body)
        .ok()
        .and_then(|s| s.timestamp)
        .unwrap_or_else(|| {
            due.published_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        });
    let head = serde_json::json!({"type": due.event_type, "timestamp": timestamp}).to_string();
    let mut body = Vec::with_capacity(head.len() + due.body.len() + 8);
    body.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
    body.extend_from_slice(b",\"data\":");
    body.extend_from_slice(&due.body);
    body.push(b'}');
    body
}
