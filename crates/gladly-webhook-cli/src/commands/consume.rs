//! `gladly-webhook relay consume`: the other end of a relay destination,
//! for trying one out. Each request is verified with the official
//! `standardwebhooks` crate (a library we did not write: what a service
//! would use), and `v1a` with a pinned public key when one is given.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use gladly_webhook_core::standard_webhooks::{
    StandardPublicKey, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP,
};
use http::{HeaderMap, StatusCode};
use serde_json::json;

use super::{emit, runtime};
use crate::cli::RelayConsumeArgs;
use crate::error::CliError;
use crate::secrets::SecretSource;

#[derive(Clone)]
struct Keys {
    webhook: Arc<standardwebhooks::Webhook>,
    public: Option<StandardPublicKey>,
}

pub fn run(args: &RelayConsumeArgs) -> Result<(), CliError> {
    let secret = SecretSource::env(args.secret_env.clone(), 1).load()?;
    let webhook = standardwebhooks::Webhook::new(secret.expose()).map_err(|err| {
        CliError::Usage(format!(
            "--secret-env: not a Standard Webhooks secret: {err}"
        ))
    })?;
    let public = match &args.public_key_env {
        Some(name) => {
            let key = SecretSource::env(name.clone(), 1).load()?;
            Some(
                StandardPublicKey::parse(key.expose())
                    .map_err(|err| CliError::Usage(format!("--public-key-env: {err}")))?,
            )
        }
        None => None,
    };
    let keys = Keys {
        webhook: Arc::new(webhook),
        public,
    };
    runtime()?.block_on(async move {
        let (listener, addr) = crate::listen_addr::bind(args.addr).await?;
        let app = axum::Router::new().fallback(consume).with_state(keys);
        crate::say::info(format_args!("consuming on http://{addr}"));
        let limits = gladly_webhook_server::Limits::default();
        gladly_webhook_server::serve(listener, app, limits, super::shutdown_signal())
            .await
            .map_err(|source| CliError::Io {
                path: "the HTTP server".to_string(),
                source,
            })
    })
}

async fn consume(State(keys): State<Keys>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let id = text(WEBHOOK_ID).to_string();
    if let Err(err) = keys.webhook.verify(&body, &headers) {
        crate::say::info(format_args!(
            "refused {}: {err}",
            gladly_webhook_core::echo::escape(&id, 80)
        ));
        return StatusCode::UNAUTHORIZED;
    }
    let mut verified = vec!["v1"];
    if let Some(public) = &keys.public {
        let timestamp: i64 = text(WEBHOOK_TIMESTAMP).parse().unwrap_or_default();
        let signed = text(WEBHOOK_SIGNATURE)
            .split(' ')
            .any(|entry| public.verify_entry(&id, timestamp, &body, entry));
        if !signed {
            crate::say::info(format_args!(
                "refused {}: no v1a signature of the pinned key",
                gladly_webhook_core::echo::escape(&id, 80)
            ));
            return StatusCode::UNAUTHORIZED;
        }
        verified.push("v1a");
    }
    let event: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    emit(&json!({"webhookId": id, "type": event["type"], "verified": verified}).to_string());
    StatusCode::NO_CONTENT
}
