//! What each schema's generated module and types are called.
//!
//! typify names types after schema titles and property paths
//! (`GladlyWebhookEventsItem`); users want the names they would choose
//! (`EventType`). This table is the one place those choices live: the schema
//! stays as given, the generated code is never edited, and the xtask applies
//! these names through typify's own settings.

/// The naming choices for one schema file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naming {
    /// The Rust module the schema becomes (`webhook` for `webhook.rs`).
    pub module: String,
    /// typify's name for a type, and the name we give it instead.
    pub renames: Vec<(String, String)>,
    /// JSON pointers (into the schema document) of sub-schemas that are
    /// secrets: each becomes `crate::Secret` instead of `String`.
    pub secrets: Vec<String>,
    /// The path of a hand-written trait (`crate::EventContent`) that the
    /// content type of each variant of a tagged enum implements, so that
    /// several schemas' events share one trait. `None`: the module declares
    /// its own `<Enum>Content` trait.
    pub content_trait: Option<String>,
}

/// A schema this project knows by name, and the names it gets.
struct KnownSchema {
    file: &'static str,
    /// The module, when [`module_name`] would not pick the right one.
    module: Option<&'static str>,
    renames: &'static [(&'static str, &'static str)],
    secrets: &'static [&'static str],
    content_trait: Option<&'static str>,
}

/// The schemas this project knows by name, with their naming choices.
///
/// Two models of one service: our user's subscription schema (modules
/// `webhook` and `event`) and Gladly's REST API 1.0 (modules `rest_webhook`
/// and `rest_event`, which `gladly-schema` shows as `rest::webhook` and
/// `rest::event`). Both event modules implement the one `EventContent`.
const KNOWN: &[KnownSchema] = &[
    KnownSchema {
        file: "gladly-webhook-schema.json",
        module: None,
        renames: &[
            ("GladlyWebhook", "Webhook"),
            ("GladlyWebhookEventsItem", "EventType"),
        ],
        secrets: &["/properties/secret"],
        content_trait: None,
    },
    KnownSchema {
        file: "gladly-webhook-event-schema.json",
        module: None,
        renames: &[],
        secrets: &[],
        content_trait: Some("crate::EventContent"),
    },
    KnownSchema {
        file: "gladly-rest-api-v1-webhook-schema.json",
        module: Some("rest_webhook"),
        renames: &[],
        secrets: &[
            "/$defs/Credentials/properties/password",
            "/properties/headers/additionalProperties",
        ],
        content_trait: None,
    },
    KnownSchema {
        file: "gladly-rest-api-v1-event-schema.json",
        module: Some("rest_event"),
        renames: &[],
        secrets: &[],
        content_trait: Some("crate::EventContent"),
    },
];

/// The naming choices for the schema file `file_name` (a bare name such as
/// `gladly-webhook-schema.json`).
///
/// A schema the table does not list still generates, under the module name
/// [`module_name`] derives and typify's own type names.
pub fn naming_for(file_name: &str) -> Naming {
    let known = KNOWN.iter().find(|known| known.file == file_name);
    Naming {
        module: known
            .and_then(|k| k.module)
            .map_or_else(|| module_name(file_name), str::to_string),
        renames: known
            .into_iter()
            .flat_map(|k| k.renames)
            .map(|(from, to)| (from.to_string(), to.to_string()))
            .collect(),
        secrets: known
            .into_iter()
            .flat_map(|k| k.secrets)
            .map(|p| p.to_string())
            .collect(),
        content_trait: known.and_then(|k| k.content_trait).map(str::to_string),
    }
}

/// The module name for a schema file: the file name less `.json`, a
/// `gladly-` prefix, a `-schema` suffix and a `webhook-` prefix (when
/// something is left after it), with `-` turned into `_`.
///
/// `gladly-webhook-schema.json` becomes `webhook`,
/// `gladly-webhook-event-schema.json` becomes `event`.
pub fn module_name(file_name: &str) -> String {
    let stem = file_name.strip_suffix(".json").unwrap_or(file_name);
    let stem = stem.strip_prefix("gladly-").unwrap_or(stem);
    let stem = stem.strip_suffix("-schema").unwrap_or(stem);
    let stem = match stem.strip_prefix("webhook-") {
        Some(rest) if !rest.is_empty() => rest,
        _ => stem,
    };
    stem.replace(['-', '.', ' '], "_").to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names() {
        assert_eq!(module_name("gladly-webhook-schema.json"), "webhook");
        assert_eq!(module_name("gladly-webhook-event-schema.json"), "event");
        assert_eq!(module_name("other-thing.json"), "other_thing");
        assert_eq!(
            naming_for("gladly-rest-api-v1-event-schema.json").module,
            "rest_event"
        );
    }
}
