//! How a subscription's deliveries (and PINGs) show the receiver they come
//! from the hub, by model: signed with the subscription's secret (our
//! user's model), or carrying a REST API 1.0 webhook's `credentials` (HTTP
//! Basic) and `headers`, unsigned, as Gladly sends them.
//!
//! Both are kept in the store's one sealed column
//! ([`StoredWebhook::secret`](crate::store::StoredWebhook::secret)): the
//! HMAC secret as it is, a webhook's credentials and headers as
//! [`RestSecrets`] JSON.

use std::collections::BTreeMap;
use std::fmt;

use gladly_webhook_core::Secret;
use gladly_webhook_core::model::Model;
use gladly_webhook_core::standard_webhooks::StandardKey;
use gladly_webhook_sender::Sender;

use crate::store::Recipient;
use serde::{Deserialize, Serialize};

/// A REST API 1.0 webhook's write-only fields: Basic `credentials` and
/// `headers`, which every delivery carries and no answer shows. `Debug`
/// shows the user name and the header names only.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestSecrets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    credentials: Option<Credentials>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<String, String>,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Credentials {
    username: String,
    password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    realm: Option<String>,
}

impl fmt::Debug for RestSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestSecrets")
            .field(
                "credentials",
                &self
                    .credentials
                    .as_ref()
                    .map(|c| format!("{}:****", c.username)),
            )
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl RestSecrets {
    /// The `credentials` and `headers` of a webhook body (validated
    /// before: an absent or `null` member is none; anything not a string
    /// is left out).
    pub fn from_body(body: &serde_json::Value) -> Self {
        let text = |value: &serde_json::Value, name: &str| {
            value.get(name).and_then(|v| v.as_str()).map(str::to_string)
        };
        let credentials = body
            .get("credentials")
            .filter(|c| c.is_object())
            .map(|c| Credentials {
                username: text(c, "username").unwrap_or_default(),
                password: text(c, "password").unwrap_or_default(),
                realm: text(c, "realm"),
            });
        let headers = body
            .get("headers")
            .and_then(|h| h.as_object())
            .map(|h| {
                h.iter()
                    .filter_map(|(name, value)| Some((name.clone(), value.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            credentials,
            headers,
        }
    }

    /// These secrets with `credentials` and `headers` replaced by the
    /// body's, each when the body has it.
    pub fn patched(mut self, body: &serde_json::Value) -> Self {
        let given = Self::from_body(body);
        if body.get("credentials").is_some() {
            self.credentials = given.credentials;
        }
        if body.get("headers").is_some() {
            self.headers = given.headers;
        }
        self
    }

    /// Whether Basic credentials are set (`hasCredentials`).
    pub fn has_credentials(&self) -> bool {
        self.credentials.is_some()
    }

    /// The configured headers' names (`headerKeys`).
    pub fn header_keys(&self) -> Vec<String> {
        self.headers.keys().cloned().collect()
    }

    /// The form the store seals.
    pub fn to_secret(&self) -> Secret {
        Secret::new(serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string()))
    }

    /// Reads what [`RestSecrets::to_secret`] wrote.
    pub fn from_secret(secret: &Secret) -> Result<Self, DeliveryAuthError> {
        serde_json::from_str(secret.expose()).map_err(|_| DeliveryAuthError::Unreadable)
    }

    /// `base` without its signature, with these credentials and headers.
    fn sender(&self, base: &Sender) -> Result<Sender, DeliveryAuthError> {
        let mut sender = base.without_signing();
        if let Some(credentials) = &self.credentials {
            sender = sender
                .basic_auth(
                    &credentials.username,
                    &Secret::new(credentials.password.as_str()),
                )
                .map_err(|e| DeliveryAuthError::Header(e.to_string()))?;
        }
        for (name, value) in &self.headers {
            sender = sender
                .secret_header(name, &Secret::new(value.as_str()))
                .map_err(|e| DeliveryAuthError::Header(e.to_string()))?;
        }
        Ok(sender)
    }
}

/// Why a delivery could not be prepared. Never shows a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryAuthError {
    /// The stored credentials could not be read.
    #[error("the webhook's stored credentials and headers could not be read")]
    Unreadable,
    /// A header (or the credentials) cannot be sent.
    #[error("the webhook's headers cannot be sent: {0}")]
    Header(String),
    /// The subscription's secret cannot sign.
    #[error("the subscription's secret cannot sign: {0}")]
    Signing(String),
}

/// The sender for one delivery to `recipient` whose stored secret is
/// `secret`: `base` signing with it (our user's model), carrying the
/// webhook's credentials and headers (REST API 1.0), or signing as
/// Standard Webhooks with `message_id` (the event's id) as `webhook-id`
/// (the operator's endpoints). Shares `base`'s connection pool.
pub fn sender_for(
    base: &Sender,
    recipient: Recipient,
    secret: &Secret,
    message_id: &str,
) -> Result<Sender, DeliveryAuthError> {
    match recipient {
        Recipient::Subscriber(Model::RestApiV1) => RestSecrets::from_secret(secret)?.sender(base),
        Recipient::Destination => Err(DeliveryAuthError::Signing(
            "a relay destination is signed by its configuration".to_string(),
        )),
        Recipient::Operator => {
            let key = StandardKey::parse(secret.expose())
                .map_err(|e| DeliveryAuthError::Signing(e.to_string()))?;
            Ok(base.standard_webhooks(key, message_id))
        }
        _ => base
            .with_secret(secret.as_bytes())
            .map_err(|e| DeliveryAuthError::Signing(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip_and_debug_hides_them() {
        let body = serde_json::json!({"credentials": {"username": "gladly", "password": "pw"},
                                      "headers": {"X-Gladly-Token": "tok"}});
        let secrets = RestSecrets::from_body(&body);
        assert!(secrets.has_credentials());
        assert_eq!(secrets.header_keys(), ["X-Gladly-Token"]);
        let shown = format!("{secrets:?}");
        assert!(!shown.contains("pw") && !shown.contains("tok"), "{shown}");
        let stored = secrets.to_secret();
        assert_eq!(RestSecrets::from_secret(&stored).unwrap(), secrets);
    }

    #[test]
    fn rest_deliveries_carry_credentials_and_headers_unsigned() {
        let base = Sender::new("hub: no secret of its own").unwrap();
        let secrets = RestSecrets::from_body(&serde_json::json!({
            "credentials": {"username": "u", "password": "p"},
            "headers": {"X-Token": "t"}
        }));
        let sender = sender_for(
            &base,
            Recipient::Subscriber(Model::RestApiV1),
            &secrets.to_secret(),
            "",
        )
        .unwrap();
        let request = sender
            .signed_request("https://example.com/", b"{}")
            .unwrap();
        assert_eq!(request.headers()["authorization"], "Basic dTpw");
        assert_eq!(request.headers()["x-token"], "t");
        assert!(!request.headers().contains_key("gladly-authorization"));

        let signed = sender_for(
            &base,
            Recipient::Subscriber(Model::Subscription),
            &Secret::new("whsec_0123456789abcdef"),
            "",
        )
        .unwrap()
        .signed_request("https://example.com/", b"{}")
        .unwrap();
        assert!(signed.headers().contains_key("gladly-authorization"));
        assert_eq!(
            sender_for(
                &base,
                Recipient::Subscriber(Model::RestApiV1),
                &Secret::new("not json"),
                ""
            )
            .unwrap_err(),
            DeliveryAuthError::Unreadable
        );
        // The operator's endpoints: Standard Webhooks, the message id given.
        let standard = sender_for(
            &base,
            Recipient::Operator,
            &Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            "msg_7",
        )
        .unwrap()
        .signed_request("https://example.com/", b"{}")
        .unwrap();
        assert_eq!(standard.headers()["webhook-id"], "msg_7");
        assert!(!standard.headers().contains_key("gladly-authorization"));
    }

    #[test]
    fn a_patch_replaces_only_what_it_names() {
        let stored = RestSecrets::from_body(&serde_json::json!({
            "credentials": {"username": "u", "password": "p"},
            "headers": {"A": "1"}
        }));
        let patched = stored
            .clone()
            .patched(&serde_json::json!({"headers": {"B": "2"}}));
        assert!(patched.has_credentials());
        assert_eq!(patched.header_keys(), ["B"]);
        let replaced =
            stored.patched(&serde_json::json!({"credentials": {"username": "v", "password": "q"}}));
        assert!(replaced.has_credentials());
        assert_eq!(replaced.header_keys(), ["A"]);
    }
}
