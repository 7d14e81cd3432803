//! [`Model`]: which of the two models of Gladly's webhooks a value belongs
//! to, as data.
//!
//! Our user's subscription schema ([`Model::Subscription`], the default)
//! and Gladly's REST API 1.0 as the real service runs it
//! ([`Model::RestApiV1`]) describe the same service differently: event
//! names (`CONVERSATION_CLOSED` against `CONVERSATION/CLOSED`), how a
//! delivery is authenticated (an HMAC signature against HTTP Basic
//! credentials and headers), and the subscription resource. This is the one
//! place that maps a model to its schemas; the parser, the validator and
//! the tools ask it rather than branch on the model themselves.
//!
//! ```
//! use gladly_webhook_core::model::Model;
//!
//! assert_eq!(Model::of_event_type("CONVERSATION_CLOSED"), Some(Model::Subscription));
//! assert_eq!(Model::of_event_type("CONVERSATION/CLOSED"), Some(Model::RestApiV1));
//! assert_eq!(Model::of_event_type("CONVERSATION/ARCHIVED"), None);
//! assert_eq!(Model::RestApiV1.event_types().count(), 53); // 52 names and PING
//! assert!(Model::RestApiV1.knows("PING") && Model::Subscription.knows("PING"));
//! ```

use std::fmt;
use std::sync::OnceLock;

use serde_json::Value;

/// One model of Gladly's webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Model {
    /// Our user's subscription schema (`gladly-webhook-schema.json`):
    /// `secret`, `active`, `CONVERSATION_CLOSED`-style names, deliveries
    /// signed with HMAC-SHA256. Types in `gladly_schema::{webhook, event}`.
    #[default]
    Subscription,
    /// Gladly's REST API 1.0: `credentials`, `headers`, `enabled`,
    /// `CONVERSATION/CLOSED`-style names, unsigned deliveries authenticated
    /// by HTTP Basic and fixed headers. Types in `gladly_schema::rest`.
    RestApiV1,
}

impl Model {
    /// Every model, the default first.
    pub const ALL: [Model; 2] = [Model::Subscription, Model::RestApiV1];

    /// A short name, as the CLI and messages show it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Subscription => "subscription",
            Self::RestApiV1 => "rest-api-v1",
        }
    }

    /// The model [`Model::name`] names.
    ///
    /// ```
    /// use gladly_webhook_core::model::Model;
    ///
    /// assert_eq!(Model::from_name("rest-api-v1"), Some(Model::RestApiV1));
    /// assert_eq!(Model::from_name("v2"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Model> {
        Self::ALL.into_iter().find(|model| model.name() == name)
    }

    /// The vendored event schema's text.
    pub fn event_schema_text(self) -> &'static str {
        match self {
            Self::Subscription => gladly_schema::event::SCHEMA,
            Self::RestApiV1 => gladly_schema::rest::event::SCHEMA,
        }
    }

    /// The vendored webhook (subscription resource) schema's text.
    pub fn webhook_schema_text(self) -> &'static str {
        match self {
            Self::Subscription => gladly_schema::webhook::SCHEMA,
            Self::RestApiV1 => gladly_schema::rest::webhook::SCHEMA,
        }
    }

    /// The vendored event schema, parsed once.
    pub fn event_schema(self) -> &'static Value {
        static SCHEMAS: [OnceLock<Value>; 2] = [OnceLock::new(), OnceLock::new()];
        let index = match self {
            Self::Subscription => 0,
            Self::RestApiV1 => 1,
        };
        SCHEMAS[index].get_or_init(|| {
            serde_json::from_str(self.event_schema_text())
                .expect("a vendored event schema is JSON (the crate's tests parse each)")
        })
    }

    /// Every event type the model's event schema describes, `PING`
    /// included, in schema order.
    pub fn event_types(self) -> impl Iterator<Item = &'static str> {
        self.event_schema()["oneOf"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| b["properties"]["type"]["const"].as_str())
    }

    /// Whether the model's event schema describes `event_type`.
    pub fn knows(self, event_type: &str) -> bool {
        self.branch(event_type).is_some()
    }

    /// The model whose event schema describes `event_type`. `PING`, which
    /// both have, belongs to the default model.
    pub fn of_event_type(event_type: &str) -> Option<Model> {
        Self::ALL.into_iter().find(|model| model.knows(event_type))
    }

    /// The event schema's `oneOf` branch for `event_type`.
    pub(crate) fn branch(self, event_type: &str) -> Option<&'static Value> {
        self.event_schema()["oneOf"]
            .as_array()?
            .iter()
            .find(|b| b["properties"]["type"]["const"] == event_type)
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_parses_and_the_models_share_only_ping() {
        let subscription: Vec<&str> = Model::Subscription.event_types().collect();
        let rest: Vec<&str> = Model::RestApiV1.event_types().collect();
        assert_eq!(subscription.len(), 11);
        assert_eq!(rest.len(), 53);
        let shared: Vec<&&str> = rest.iter().filter(|t| subscription.contains(t)).collect();
        assert_eq!(shared, [&"PING"]);
        for model in Model::ALL {
            let _: Value = serde_json::from_str(model.webhook_schema_text()).unwrap();
        }
    }
}
