//! The configuration file as written: what serde reads, before any check.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::secret_ref::SecretRef;

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    pub(super) store: Option<StoreRef>,
    #[serde(default)]
    pub(super) input: Vec<FileInput>,
    #[serde(default)]
    pub(super) destination: Vec<FileDestination>,
    #[serde(default)]
    pub(super) dispatch: FileDispatch,
}

/// `store`: a URL, or where one is read.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum StoreRef {
    Url(String),
    Named(SecretRef),
}

/// An `[[input]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileInput {
    pub(super) path: String,
    pub(super) basic_auth: Option<SecretRef>,
    #[serde(default)]
    pub(super) headers: BTreeMap<String, SecretRef>,
    #[serde(default)]
    pub(super) signing_secrets: Vec<SecretRef>,
}

/// A `[[destination]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileDestination {
    pub(super) name: String,
    pub(super) kind: Option<String>,
    pub(super) url: String,
    pub(super) events: Option<Vec<String>>,
    #[serde(default)]
    pub(super) secrets: Vec<SecretRef>,
    pub(super) signing_key: Option<SecretRef>,
    pub(super) body: Option<String>,
    pub(super) retry: Option<Retry>,
    pub(super) timeout: Option<String>,
    #[serde(default)]
    pub(super) allow_networks: Vec<String>,
    #[serde(default)]
    pub(super) allow_loopback: bool,
    pub(super) subject_prefix: Option<String>,
    pub(super) credentials: Option<FileCredentials>,
    pub(super) stream: Option<FileStream>,
}

/// A NATS destination's `credentials` as written: one of them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileCredentials {
    pub(super) user: Option<String>,
    pub(super) password: Option<SecretRef>,
    pub(super) token: Option<SecretRef>,
    pub(super) nkey: Option<SecretRef>,
    pub(super) creds: Option<SecretRef>,
}

/// A NATS destination's `stream`: its name (expected to exist), or a table.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum FileStream {
    Name(String),
    Table(FileStreamTable),
}

/// `[destination.stream]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileStreamTable {
    pub(super) name: String,
    #[serde(default)]
    pub(super) create: bool,
    pub(super) duplicate_window: Option<String>,
    pub(super) retention: Option<String>,
    pub(super) max_age: Option<String>,
    pub(super) max_bytes: Option<i64>,
    pub(super) storage: Option<String>,
    pub(super) replicas: Option<usize>,
}

/// `retry`: a schedule's name, or its waits.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum Retry {
    Named(String),
    Waits(Vec<String>),
}

/// `[dispatch]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct FileDispatch {
    pub(super) max_in_flight: Option<usize>,
    pub(super) retention: Option<String>,
}
