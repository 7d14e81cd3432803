//! The relay's configuration: a TOML file, read and checked whole at start
//! (and at each reload), every problem reported at once with its key path.
//!
//! ```toml
//! # Where events and deliveries are kept (default sqlite:gladly-relay.db);
//! # a PostgreSQL URL holds a password: name it, { env = "RELAY_DATABASE_URL" }.
//! store = "sqlite:gladly-relay.db"
//!
//! # A path Gladly delivers to, with what a delivery must carry: a REST API
//! # 1.0 webhook's Basic credentials ("user:password") and headers, or our
//! # schema's HMAC signature (several secrets during a rotation).
//! [[input]]
//! path = "/gladly"
//! basic_auth = { env = "GLADLY_BASIC" }
//! headers = { "X-Gladly-Token" = { env = "GLADLY_TOKEN" } }
//!
//! [[input]]
//! path = "/gladly-signed"
//! signing_secrets = [{ env = "GLADLY_SIGNING_SECRET" }]
//!
//! # Where events go, as Standard Webhooks.
//! [[destination]]
//! name = "crm"
//! url = "https://crm.internal.example/hooks/gladly"
//! events = ["CONVERSATION/*", "CONTACT/ENDED"]   # default: ["*"]
//! secrets = [{ env = "CRM_WHSEC" }]               # whsec_...; two while rotating
//! signing_key = { file = "crm.whsk" }             # optional ed25519 (v1a), whsk_...
//! body = "as-received"                            # or "envelope": {type, timestamp, data}
//! retry = "standard"                              # or "gladly", "none", ["10s", "1m", "1h"]
//! timeout = "15s"
//! allow_networks = ["10.0.0.0/8"]                 # private addresses it may reach
//! allow_loopback = false
//!
//! [dispatch]
//! max_in_flight = 8        # deliveries in flight per destination; 1 is strict order
//! retention = "30d"        # how long finished deliveries are kept
//! ```
//!
//! A destination may instead be a NATS JetStream stream, `kind = "nats"`:
//! its keys are in [`NatsConfig`]'s module documentation and the README.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gladly_webhook_core::Secret;
use gladly_webhook_core::address::AddressPolicy;
use gladly_webhook_core::auth::DeliveryAuth;
use gladly_webhook_core::standard_webhooks::StandardSigner;
use gladly_webhook_hub::destinations::BodyShape;
use gladly_webhook_sender::Schedule;

mod checker;
mod checks;
mod file;
mod nats;

pub use nats::{
    DEFAULT_DUPLICATE_WINDOW, DEFAULT_SUBJECT_PREFIX, NatsConfig, NatsCredentials, Retention,
    StreamConfig,
};

use checker::{Checker, duration};
use checks::{destination_of, input_of};
use file::{FileConfig, StoreRef};

/// The store of a configuration that names none.
pub const DEFAULT_STORE: &str = "sqlite:gladly-relay.db";
/// A destination's attempt timeout unless it says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// The longest attempt timeout a destination may ask.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(120);
/// Paths the relay answers itself, which no input may take.
const RESERVED_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the relay configuration {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not TOML of the expected shape (an unknown key, a value
    /// of the wrong type): the parser's message with its line and column,
    /// never the text of the line or a quoted value (a secret written
    /// inline by mistake is not repeated).
    #[error("the relay configuration is not valid TOML of the expected shape: {0}")]
    Syntax(String),
    /// The file parses, but these values are wrong.
    #[error("the relay configuration has {} problem(s):\n{}", .0.len(), Problems(.0))]
    Invalid(Vec<Problem>),
}

/// One thing wrong with a configuration, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// The key path, such as `destination[1].url`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

struct Problems<'a>(&'a [Problem]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, problem) in self.0.iter().enumerate() {
            let end = if n + 1 < self.0.len() { "\n" } else { "" };
            write!(f, "  {}: {}{end}", problem.key, problem.message)?;
        }
        Ok(())
    }
}

/// A checked configuration, its secrets read. `Debug` shows none of them.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RelayConfig {
    /// The store's URL.
    pub(crate) store: Secret,
    /// The paths Gladly delivers to.
    pub inputs: Vec<Input>,
    /// Where events go.
    pub destinations: Vec<DestinationConfig>,
    /// How many deliveries to one destination are in flight at once.
    pub max_in_flight: usize,
    /// How long finished deliveries are kept (`None`: forever).
    pub retention: Option<Duration>,
}

/// A path Gladly delivers to, and the rule its deliveries meet.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Input {
    /// The path, such as `/gladly`.
    pub path: String,
    /// What a delivery must carry.
    pub auth: DeliveryAuth,
}

/// A destination, checked.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DestinationConfig {
    /// Its name (its id is `dst_` and the name).
    pub name: String,
    /// Where its deliveries go: an HTTP URL, or NATS server URLs.
    pub url: String,
    /// The event types it receives (names, or patterns ending in `*`).
    pub events: Vec<String>,
    /// What it is, and what only its kind has.
    pub kind: DestinationKind,
    /// Its retries.
    pub schedule: Schedule,
    /// Each attempt's timeout.
    pub timeout: Duration,
    /// The addresses it may connect to.
    pub addresses: AddressPolicy,
}

/// What a destination is.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DestinationKind {
    /// Standard Webhooks over HTTP (`kind = "http"`, the default).
    Http {
        /// Its keys.
        signer: StandardSigner,
        /// Its body.
        body: BodyShape,
    },
    /// A NATS JetStream stream (`kind = "nats"`).
    Nats(NatsConfig),
}

impl DestinationConfig {
    /// Its id in the store.
    pub fn id(&self) -> String {
        format!("dst_{}", self.name)
    }
}

impl RelayConfig {
    /// Reads and checks the file at `path` (secret files are found relative
    /// to its directory).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base)
    }

    /// Checks the configuration `text`; secret files are found relative to
    /// `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Self, ConfigError> {
        let file: FileConfig = toml::from_str(text).map_err(|e| syntax(&e, text))?;
        let mut check = Checker::default();
        let store = match &file.store {
            None => Some(Secret::new(DEFAULT_STORE)),
            Some(StoreRef::Url(url)) if has_password(url) => {
                check.problem(
                    "store",
                    "the URL holds a password: name it instead, store = { env = \"NAME\" } (or a file)",
                );
                None
            }
            Some(StoreRef::Url(url)) => Some(Secret::new(url.clone())),
            Some(StoreRef::Named(named)) => check.ok("store", named.load(base)),
        };
        if file.input.is_empty() {
            check.problem(
                "input",
                "name at least one [[input]]: a path Gladly delivers to",
            );
        }
        let mut paths = HashSet::new();
        let inputs: Vec<Input> = file
            .input
            .iter()
            .enumerate()
            .filter_map(|(n, input)| {
                let key = format!("input[{n}]");
                if !paths.insert(input.path.as_str()) {
                    check.problem(
                        format!("{key}.path"),
                        format!("{} is named twice", input.path),
                    );
                }
                input_of(&mut check, &key, input, base)
            })
            .collect();
        if file.destination.is_empty() {
            check.problem("destination", "name at least one [[destination]]");
        }
        let mut names = HashSet::new();
        let destinations: Vec<DestinationConfig> = file
            .destination
            .iter()
            .enumerate()
            .filter_map(|(n, destination)| {
                let key = format!("destination[{n}]");
                if !names.insert(destination.name.as_str()) {
                    check.problem(
                        format!("{key}.name"),
                        format!(
                            "{:?} is the name of an earlier destination",
                            destination.name
                        ),
                    );
                }
                destination_of(&mut check, &key, destination, base)
            })
            .collect();
        let max_in_flight = file.dispatch.max_in_flight.unwrap_or(8);
        if !(1..=256).contains(&max_in_flight) {
            check.problem("dispatch.max_in_flight", "must be from 1 to 256");
        }
        // `None` when it is wrong; `Some(None)`: kept forever.
        let retention = match file.dispatch.retention.as_deref() {
            None => Some(Some(gladly_webhook_hub::DEFAULT_RETENTION)),
            Some("forever") => Some(None),
            Some(text) => check.ok("dispatch.retention", duration(text).map(Some)),
        };
        match (check.problems.is_empty(), store, retention) {
            (true, Some(store), Some(retention)) => Ok(Self {
                store,
                inputs,
                destinations,
                max_in_flight,
                retention,
            }),
            _ => Err(ConfigError::Invalid(check.problems)),
        }
    }

    /// The store's URL (it may hold a password).
    pub fn store_url(&self) -> &Secret {
        &self.store
    }
}

/// A parse error as told: where, and the parser's message with every
/// quoted value left out.
fn syntax(err: &toml::de::Error, text: &str) -> ConfigError {
    let message = without_quoted(err.message());
    ConfigError::Syntax(match err.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |n| n + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    })
}

/// `text` with what each pair of double quotes holds replaced by `...`:
/// the parser quotes the values it could not take, and one may be a
/// secret.
fn without_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    for c in text.chars() {
        match (c, quoted) {
            ('"', false) => {
                out.push_str("\"...\"");
                quoted = true;
            }
            ('"', true) => quoted = false,
            (_, false) => out.push(c),
            (_, true) => {}
        }
    }
    out
}

/// Whether a store URL carries a password (`postgres://user:pw@host`).
fn has_password(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| u.password().is_some())
}
