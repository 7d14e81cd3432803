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

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gladly_webhook_core::Secret;
use gladly_webhook_core::Verifier;
use gladly_webhook_core::address::AddressPolicy;
use gladly_webhook_core::auth::DeliveryAuth;
use gladly_webhook_core::model::Model;
use gladly_webhook_core::standard_webhooks::{StandardKey, StandardSigner, StandardSigningKey};
use gladly_webhook_hub::destinations::{BodyShape, STANDARD_DELAYS};
use gladly_webhook_sender::{Schedule, parse_duration};
use serde::Deserialize;

use crate::secret_ref::SecretRef;

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
    /// Where its deliveries go.
    pub url: String,
    /// The event types it receives (names, or patterns ending in `*`).
    pub events: Vec<String>,
    /// Its keys.
    pub signer: StandardSigner,
    /// Its body.
    pub body: BodyShape,
    /// Its retries.
    pub schedule: Schedule,
    /// Each attempt's timeout.
    pub timeout: Duration,
    /// The addresses it may connect to.
    pub addresses: AddressPolicy,
}

impl DestinationConfig {
    /// Its id in the store.
    pub fn id(&self) -> String {
        format!("dst_{}", self.name)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    store: Option<StoreRef>,
    #[serde(default)]
    input: Vec<FileInput>,
    #[serde(default)]
    destination: Vec<FileDestination>,
    #[serde(default)]
    dispatch: FileDispatch,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StoreRef {
    Url(String),
    Named(SecretRef),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileInput {
    path: String,
    basic_auth: Option<SecretRef>,
    #[serde(default)]
    headers: BTreeMap<String, SecretRef>,
    #[serde(default)]
    signing_secrets: Vec<SecretRef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDestination {
    name: String,
    url: String,
    events: Option<Vec<String>>,
    #[serde(default)]
    secrets: Vec<SecretRef>,
    signing_key: Option<SecretRef>,
    body: Option<String>,
    retry: Option<Retry>,
    timeout: Option<String>,
    #[serde(default)]
    allow_networks: Vec<String>,
    #[serde(default)]
    allow_loopback: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Retry {
    Named(String),
    Waits(Vec<String>),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileDispatch {
    max_in_flight: Option<usize>,
    retention: Option<String>,
}

/// Collects problems while a configuration is checked.
#[derive(Default)]
struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn problem(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }

    /// `value`, or the problem at `key`.
    fn ok<T>(&mut self, key: &str, value: Result<T, String>) -> Option<T> {
        value.map_err(|message| self.problem(key, message)).ok()
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

fn duration(text: &str) -> Result<Duration, String> {
    parse_duration(text)
        .ok_or_else(|| format!("{text:?} is not a duration (such as 500ms, 15s, 5m, 2h, 1d)"))
}

fn input_of(check: &mut Checker, key: &str, input: &FileInput, base: &Path) -> Option<Input> {
    let before = check.problems.len();
    if !input.path.starts_with('/') || input.path.contains(['?', '#', ' ']) {
        check.problem(
            format!("{key}.path"),
            "a path starts with / and holds no ?, # or space",
        );
    } else if RESERVED_PATHS.contains(&input.path.as_str()) {
        check.problem(
            format!("{key}.path"),
            format!("{} is the relay's own", input.path),
        );
    }
    let mut auth = DeliveryAuth::none();
    if let Some(basic) = &input.basic_auth {
        let key = format!("{key}.basic_auth");
        if let Some(pair) = check.ok(&key, basic.load(base)) {
            let rule = DeliveryAuth::basic_pair(&pair).map_err(|e| format!("user:password: {e}"));
            if let Some(rule) = check.ok(&key, rule) {
                auth = auth.and(rule);
            }
        }
    }
    for (name, value) in &input.headers {
        let key = format!("{key}.headers.{name:?}");
        if let Some(value) = check.ok(&key, value.load(base)) {
            let rule = DeliveryAuth::header(name, value).map_err(|e| e.to_string());
            if let Some(rule) = check.ok(&key, rule) {
                auth = auth.and(rule);
            }
        }
    }
    let mut secrets = Vec::new();
    for (n, secret) in input.signing_secrets.iter().enumerate() {
        if let Some(secret) = check.ok(&format!("{key}.signing_secrets[{n}]"), secret.load(base)) {
            secrets.push(secret);
        }
    }
    if !secrets.is_empty() {
        let verifier = Verifier::new(&secrets).map_err(|e| e.to_string());
        if let Some(verifier) = check.ok(&format!("{key}.signing_secrets"), verifier) {
            auth = auth.and(DeliveryAuth::signature(verifier));
        }
    }
    let named = input.basic_auth.is_some() || !input.headers.is_empty() || !secrets.is_empty();
    if !named {
        check.problem(
            key,
            "name what a delivery must carry: basic_auth, headers or signing_secrets",
        );
    }
    (check.problems.len() == before).then(|| Input {
        path: input.path.clone(),
        auth,
    })
}

fn destination_of(
    check: &mut Checker,
    key: &str,
    d: &FileDestination,
    base: &Path,
) -> Option<DestinationConfig> {
    let before = check.problems.len();
    let name_ok = !d.name.is_empty()
        && d.name.len() <= 64
        && d.name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !name_ok {
        check.problem(
            format!("{key}.name"),
            "1 to 64 of a-z, 0-9, - and _ (it names the destination in metrics and commands)",
        );
    }
    check_url(check, &format!("{key}.url"), &d.url);
    let events = d.events.clone().unwrap_or_else(|| vec!["*".to_string()]);
    if events.is_empty() {
        check.problem(
            format!("{key}.events"),
            "name at least one event type or pattern",
        );
    }
    for (n, pattern) in events.iter().enumerate() {
        if let Err(message) = check_pattern(pattern) {
            check.problem(format!("{key}.events[{n}]"), message);
        }
    }
    let mut keys = Vec::new();
    for (n, secret) in d.secrets.iter().enumerate() {
        let key = format!("{key}.secrets[{n}]");
        if let Some(secret) = check.ok(&key, secret.load(base)) {
            let parsed = StandardKey::parse(secret.expose()).map_err(|e| e.to_string());
            if let Some(parsed) = check.ok(&key, parsed) {
                keys.push(parsed);
            }
        }
    }
    let mut signer = StandardSigner::new(keys);
    if let Some(signing) = &d.signing_key {
        let key = format!("{key}.signing_key");
        if let Some(secret) = check.ok(&key, signing.load(base)) {
            let parsed = StandardSigningKey::parse(secret.expose()).map_err(|e| e.to_string());
            if let Some(parsed) = check.ok(&key, parsed) {
                signer = signer.with_ed25519(parsed);
            }
        }
    }
    if d.secrets.is_empty() && d.signing_key.is_none() {
        check.problem(
            format!("{key}.secrets"),
            "name at least one whsec_ secret (or a signing_key): deliveries are always signed",
        );
    }
    let body = match d.body.as_deref() {
        None | Some("as-received") => BodyShape::AsReceived,
        Some("envelope") => BodyShape::Envelope,
        Some(other) => {
            check.problem(
                format!("{key}.body"),
                format!("{other:?}: \"as-received\" or \"envelope\""),
            );
            BodyShape::AsReceived
        }
    };
    let schedule = match &d.retry {
        None => Some(Schedule::Delays(STANDARD_DELAYS.to_vec())),
        Some(retry) => check.ok(&format!("{key}.retry"), schedule_of(retry)),
    };
    let timeout = match &d.timeout {
        None => Some(DEFAULT_TIMEOUT),
        Some(text) => {
            let checked = duration(text).and_then(|t| {
                (Duration::from_millis(100)..=MAX_TIMEOUT)
                    .contains(&t)
                    .then_some(t)
                    .ok_or_else(|| "from 100ms to 120s".to_string())
            });
            check.ok(&format!("{key}.timeout"), checked)
        }
    };
    let mut addresses = AddressPolicy::public_only().allow_loopback(d.allow_loopback);
    for (n, network) in d.allow_networks.iter().enumerate() {
        let parsed = network
            .parse::<ipnet::IpNet>()
            .map_err(|_| format!("{network:?} is not a network such as 10.0.0.0/8"));
        if let Some(network) = check.ok(&format!("{key}.allow_networks[{n}]"), parsed) {
            addresses = addresses.allow_network(network);
        }
    }
    match (check.problems.len() == before, schedule, timeout) {
        (true, Some(schedule), Some(timeout)) => Some(DestinationConfig {
            name: d.name.clone(),
            url: d.url.clone(),
            events,
            signer,
            body,
            schedule,
            timeout,
            addresses,
        }),
        _ => None,
    }
}

fn check_url(check: &mut Checker, key: &str, text: &str) {
    match url::Url::parse(text) {
        Ok(url) if !matches!(url.scheme(), "http" | "https") => {
            check.problem(key, "an http:// or https:// URL");
        }
        Ok(url) if !url.username().is_empty() || url.password().is_some() => check.problem(
            key,
            "holds credentials: a destination proves who sends with its signature, and secrets never go in this file",
        ),
        Ok(url) if url.host_str().is_none() => check.problem(key, "names no host"),
        Ok(_) => {}
        Err(err) => check.problem(key, format!("not a URL: {err}")),
    }
}

/// An event type of either model, or a pattern: a prefix followed by `*`.
fn check_pattern(pattern: &str) -> Result<(), String> {
    let known = |name: &str| Model::Subscription.knows(name) || Model::RestApiV1.knows(name);
    match pattern.find('*') {
        Some(at) if at + 1 != pattern.len() => {
            Err(format!("{pattern:?}: a * may only end a pattern"))
        }
        Some(_) => Ok(()),
        None if known(pattern) && pattern != "PING" => Ok(()),
        None => Err(format!(
            "{pattern:?} is not an event type of Gladly's REST API 1.0 nor of the webhook schema (a pattern ends in *)"
        )),
    }
}

fn schedule_of(retry: &Retry) -> Result<Schedule, String> {
    match retry {
        Retry::Named(name) => match name.as_str() {
            "standard" => Ok(Schedule::Delays(STANDARD_DELAYS.to_vec())),
            "gladly" => Ok(Schedule::Gladly),
            "none" => Ok(Schedule::None),
            other => Err(format!(
                "{other:?}: \"standard\", \"gladly\", \"none\" or a list of waits such as [\"10s\", \"5m\"]"
            )),
        },
        Retry::Waits(waits) if waits.len() > 20 => Err("at most 20 waits".to_string()),
        Retry::Waits(waits) => waits
            .iter()
            .map(|wait| duration(wait))
            .collect::<Result<Vec<_>, _>>()
            .map(Schedule::Delays),
    }
}
