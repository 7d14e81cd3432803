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
}

/// A schema this project knows by name, and the names it gets.
struct KnownSchema {
    file: &'static str,
    renames: &'static [(&'static str, &'static str)],
    secrets: &'static [&'static str],
}

/// The schemas this project knows by name, with their naming choices.
const KNOWN: &[KnownSchema] = &[KnownSchema {
    file: "gladly-webhook-schema.json",
    renames: &[
        ("GladlyWebhook", "Webhook"),
        ("GladlyWebhookEventsItem", "EventType"),
    ],
    secrets: &["/properties/secret"],
}];

/// The naming choices for the schema file `file_name` (a bare name such as
/// `gladly-webhook-schema.json`).
///
/// A schema the table does not list still generates, under the module name
/// [`module_name`] derives and typify's own type names.
pub fn naming_for(file_name: &str) -> Naming {
    let known = KNOWN.iter().find(|known| known.file == file_name);
    Naming {
        module: module_name(file_name),
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
    }
}
