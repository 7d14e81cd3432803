//! The PING a subscription gets when it is created active, re-activated,
//! or its URL changes: the change stands only if it is answered **200**, as
//! Gladly requires (a 202 or 204 is not enough).

use gladly_webhook_core::Secret;
use gladly_webhook_core::echo::{escape, redact_url};
use gladly_webhook_core::model::Model;
use gladly_webhook_sender::Sender;

/// The body of a PING.
pub const PING_BODY: &[u8] = br#"{"type":"PING"}"#;

/// Why a PING failed, in a sentence that says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PingFailed(String);

/// Sends a PING to `url` as `model` authenticates deliveries (signed with
/// `secret`, or with the credentials and headers it holds; see
/// [`crate::delivery_auth`]), once, within the sender's timeout. `Ok` on a
/// 200 answer, and on nothing else.
pub async fn ping(
    sender: &Sender,
    model: Model,
    url: &str,
    secret: &Secret,
) -> Result<(), PingFailed> {
    let result = ping_once(sender, model, url, secret).await;
    crate::metrics::ping(result.is_ok());
    result
}

async fn ping_once(
    sender: &Sender,
    model: Model,
    url: &str,
    secret: &Secret,
) -> Result<(), PingFailed> {
    let shown = escape(&redact_url(url), 200);
    let recipient = crate::store::Recipient::Subscriber(model);
    let sender = crate::delivery_auth::sender_for(sender, recipient, secret, "")
        .map_err(|err| PingFailed(format!("the PING to {shown} could not be prepared: {err}")))?;
    let report = sender
        .deliver(url, PING_BODY, |_| {})
        .await
        .map_err(|err| PingFailed(format!("the PING to {shown} could not be sent: {err}")))?;
    let Some(attempt) = report.attempts.first() else {
        return Err(PingFailed(format!("the PING to {shown} was not sent")));
    };
    match attempt.status {
        Some(200) => Ok(()),
        // Only the status: the answer's bytes would let an API user read
        // a service through the hub.
        Some(status) => {
            let mut message = format!("the PING to {shown} was answered HTTP {status}, not 200");
            if (status == 401 || status == 403) && model == Model::Subscription {
                message.push_str(
                    "; a receiver that does not know this subscription's secret refuses its PING: \
                     create the subscription with \"active\": false, give the receiver the secret \
                     from the answer, then PATCH it to \"active\": true",
                );
            }
            Err(PingFailed(message))
        }
        // The address rule, or "unreachable": a refused connection, a TLS
        // failure and a timeout read the same (no port scanning).
        None => Err(PingFailed(format!(
            "the PING to {shown} got no answer: {}",
            attempt.summary()
        ))),
    }
}
