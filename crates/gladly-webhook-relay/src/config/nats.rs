//! A destination of kind `nats`: a NATS JetStream stream, checked (its
//! keys are on [`NatsConfig`]).

use std::path::Path;
use std::time::Duration;

use gladly_webhook_core::Secret;

use super::checker::{Checker, duration};
use super::file::{FileCredentials, FileDestination, FileStream, FileStreamTable};

/// The subject prefix unless a destination names one.
pub const DEFAULT_SUBJECT_PREFIX: &str = "gladly";
/// The duplicate window of a stream the relay creates unless it says
/// otherwise: NATS's own default.
pub const DEFAULT_DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// A NATS JetStream destination, checked, its secrets read. `Debug` shows
/// none of them. As written:
///
/// ```toml
/// [[destination]]
/// name = "bus"
/// kind = "nats"
/// url = "nats://127.0.0.1:4222"          # several: "nats://a:4222,nats://b:4222"; tls:// for TLS
/// subject_prefix = "gladly"              # CONVERSATION/CLOSED on gladly.CONVERSATION.CLOSED
/// events = ["*"]
/// retry = "standard"
/// timeout = "5s"                         # the wait for JetStream's acknowledgement
/// allow_loopback = true                  # the server's addresses, as for HTTP
/// credentials = { user = "relay", password = { env = "NATS_PASSWORD" } }
/// # or { token = { env = "NATS_TOKEN" } }, { nkey = { file = "relay.nk" } },
/// # or { creds = { file = "relay.creds" } }
///
/// [destination.stream]                   # or: stream = "GLADLY", expected to exist
/// name = "GLADLY"
/// create = true                          # false (the default): refuse to start without it
/// duplicate_window = "2m"                # JetStream drops a repeated Nats-Msg-Id within it
/// retention = "limits"                   # or "interest", "workqueue"
/// max_age = "30d"                        # default: forever
/// storage = "file"                       # or "memory"
/// replicas = 1                           # 1, 3 or 5 in a cluster
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NatsConfig {
    /// The server URL(s), comma-separated, as written (no credentials).
    pub servers: String,
    /// Whether TLS is required (a `tls://` URL).
    pub tls: bool,
    /// The subject prefix: `CONVERSATION/CLOSED` is published on
    /// `<prefix>.CONVERSATION.CLOSED`.
    pub subject_prefix: String,
    /// How the relay proves who it is.
    pub credentials: NatsCredentials,
    /// The stream its messages are stored in.
    pub stream: StreamConfig,
}

/// How a relay authenticates to NATS.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum NatsCredentials {
    /// Not at all.
    #[default]
    None,
    /// A user and password.
    UserPassword {
        /// The user.
        user: String,
        /// The password.
        password: Secret,
    },
    /// A token.
    Token(Secret),
    /// An nkey seed (`SU...`).
    Nkey(Secret),
    /// A `.creds` file's content (a JWT and an nkey seed).
    Creds(Secret),
}

/// The stream a NATS destination publishes into.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StreamConfig {
    /// Its name.
    pub name: String,
    /// Whether the relay creates it when it is missing (with the settings
    /// below and the subjects `<prefix>.>`), or refuses to start.
    pub create: bool,
    /// How long JetStream remembers a `Nats-Msg-Id` to drop a repeat.
    pub duplicate_window: Duration,
    /// Its retention: `limits`, `interest` or `workqueue`.
    pub retention: Retention,
    /// How long a message is kept (`None`: no limit).
    pub max_age: Option<Duration>,
    /// Its size limit in bytes (`None`: no limit).
    pub max_bytes: Option<i64>,
    /// Kept on disk (`true`) or in memory.
    pub file_storage: bool,
    /// Its replicas: 1, 3 or 5.
    pub replicas: usize,
}

/// A stream's retention policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Retention {
    /// Kept until a limit (age, size) is reached.
    #[default]
    Limits,
    /// Kept while a consumer has not acknowledged it.
    Interest,
    /// Each message taken once, by one consumer.
    WorkQueue,
}

/// The NATS part of destination `d` (at `key`), checked.
pub(super) fn nats_of(
    check: &mut Checker,
    key: &str,
    d: &FileDestination,
    base: &Path,
) -> Option<NatsConfig> {
    let before = check.problems.len();
    if !cfg!(feature = "nats") {
        check.problem(
            format!("{key}.kind"),
            "this build has no NATS support: build gladly-webhook-relay with the \"nats\" feature",
        );
    }
    for (field, set) in [
        ("secrets", !d.secrets.is_empty()),
        ("signing_key", d.signing_key.is_some()),
        ("body", d.body.is_some()),
    ] {
        if set {
            check.problem(
                format!("{key}.{field}"),
                "only for an HTTP destination: a NATS message is the event as received, stored once JetStream acknowledges it",
            );
        }
    }
    let tls = check.ok(&format!("{key}.url"), servers(&d.url));
    let prefix = d
        .subject_prefix
        .clone()
        .unwrap_or_else(|| DEFAULT_SUBJECT_PREFIX.to_string());
    if let Err(message) = check_prefix(&prefix) {
        check.problem(format!("{key}.subject_prefix"), message);
    }
    let credentials = match &d.credentials {
        None => Some(NatsCredentials::None),
        Some(c) => credentials_of(check, &format!("{key}.credentials"), c, base),
    };
    let stream = match &d.stream {
        None => {
            check.problem(
                format!("{key}.stream"),
                "name the stream: stream = \"GLADLY\" (it must exist), or a [destination.stream] table with create = true",
            );
            None
        }
        Some(FileStream::Name(name)) => stream_of(
            check,
            &format!("{key}.stream"),
            &FileStreamTable {
                name: name.clone(),
                create: false,
                duplicate_window: None,
                retention: None,
                max_age: None,
                max_bytes: None,
                storage: None,
                replicas: None,
            },
        ),
        Some(FileStream::Table(table)) => stream_of(check, &format!("{key}.stream"), table),
    };
    match (check.problems.len() == before, tls, credentials, stream) {
        (true, Some(tls), Some(credentials), Some(stream)) => Some(NatsConfig {
            servers: d.url.clone(),
            tls,
            subject_prefix: prefix,
            credentials,
            stream,
        }),
        _ => None,
    }
}

/// Fields only an HTTP destination has, named on one of another kind, or
/// the other way round.
pub(super) fn nats_fields_on_http(check: &mut Checker, key: &str, d: &FileDestination) {
    for (field, set) in [
        ("subject_prefix", d.subject_prefix.is_some()),
        ("credentials", d.credentials.is_some()),
        ("stream", d.stream.is_some()),
    ] {
        if set {
            check.problem(
                format!("{key}.{field}"),
                "only for a destination of kind = \"nats\"",
            );
        }
    }
}

/// The server URLs: each `nats://` or `tls://` with a host and no
/// credentials; whether TLS is required.
fn servers(text: &str) -> Result<bool, String> {
    let mut tls = false;
    for part in text.split(',').map(str::trim) {
        let url = url::Url::parse(part).map_err(|e| format!("{part:?} is not a URL: {e}"))?;
        match url.scheme() {
            "nats" => {}
            "tls" => tls = true,
            _ => return Err("nats:// or tls:// URLs, comma-separated".to_string()),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(
                "holds credentials: name them in credentials = { ... }, read from the environment or a file".to_string(),
            );
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("{part:?} names no host"));
        }
    }
    Ok(tls)
}

/// A subject prefix: dot-separated tokens of letters, digits, `-` and `_`.
fn check_prefix(prefix: &str) -> Result<(), String> {
    let token_ok = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if prefix.len() <= 128 && prefix.split('.').all(token_ok) {
        Ok(())
    } else {
        Err(format!(
            "{prefix:?}: dot-separated tokens of letters, digits, - and _ (at most 128 characters)"
        ))
    }
}

fn credentials_of(
    check: &mut Checker,
    key: &str,
    c: &FileCredentials,
    base: &Path,
) -> Option<NatsCredentials> {
    let mut load = |field: &str, secret: &super::super::secret_ref::SecretRef| {
        check.ok(&format!("{key}.{field}"), secret.load(base))
    };
    let named = [
        c.user.is_some() || c.password.is_some(),
        c.token.is_some(),
        c.nkey.is_some(),
        c.creds.is_some(),
    ];
    if named.iter().filter(|n| **n).count() != 1 {
        check.problem(
            key,
            "name one of: user with password, token, nkey, or creds",
        );
        return None;
    }
    match c {
        FileCredentials {
            user: Some(user),
            password: Some(password),
            ..
        } => load("password", password).map(|password| NatsCredentials::UserPassword {
            user: user.clone(),
            password,
        }),
        FileCredentials {
            token: Some(token), ..
        } => load("token", token).map(NatsCredentials::Token),
        FileCredentials {
            nkey: Some(nkey), ..
        } => load("nkey", nkey).map(NatsCredentials::Nkey),
        FileCredentials {
            creds: Some(creds), ..
        } => load("creds", creds).map(NatsCredentials::Creds),
        _ => {
            check.problem(key, "a user needs a password, and a password a user");
            None
        }
    }
}

fn stream_of(check: &mut Checker, key: &str, s: &FileStreamTable) -> Option<StreamConfig> {
    let before = check.problems.len();
    let name_ok = !s.name.is_empty()
        && s.name.len() <= 255
        && !s
            .name
            .contains(|c: char| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\'));
    if !name_ok {
        check.problem(
            format!("{key}.name"),
            "a stream name: no space, ., *, >, / or \\",
        );
    }
    if !s.create {
        let settings = [
            ("duplicate_window", s.duplicate_window.is_some()),
            ("retention", s.retention.is_some()),
            ("max_age", s.max_age.is_some()),
            ("max_bytes", s.max_bytes.is_some()),
            ("storage", s.storage.is_some()),
            ("replicas", s.replicas.is_some()),
        ];
        for (field, _) in settings.iter().filter(|(_, set)| *set) {
            check.problem(
                format!("{key}.{field}"),
                "only with create = true: a stream that must exist keeps its own settings",
            );
        }
    }
    let window = match &s.duplicate_window {
        None => Some(DEFAULT_DUPLICATE_WINDOW),
        Some(text) => check.ok(&format!("{key}.duplicate_window"), duration(text)),
    };
    let max_age = match &s.max_age {
        None => Some(None),
        Some(text) => check.ok(&format!("{key}.max_age"), duration(text).map(Some)),
    };
    let retention = match s.retention.as_deref() {
        None | Some("limits") => Retention::Limits,
        Some("interest") => Retention::Interest,
        Some("workqueue") => Retention::WorkQueue,
        Some(other) => {
            check.problem(
                format!("{key}.retention"),
                format!("{other:?}: \"limits\", \"interest\" or \"workqueue\""),
            );
            Retention::Limits
        }
    };
    let file_storage = match s.storage.as_deref() {
        None | Some("file") => true,
        Some("memory") => false,
        Some(other) => {
            check.problem(
                format!("{key}.storage"),
                format!("{other:?}: \"file\" or \"memory\""),
            );
            true
        }
    };
    let replicas = s.replicas.unwrap_or(1);
    if ![1, 3, 5].contains(&replicas) {
        check.problem(format!("{key}.replicas"), "1, 3 or 5");
    }
    if s.max_bytes.is_some_and(|b| b <= 0) {
        check.problem(format!("{key}.max_bytes"), "a number of bytes above 0");
    }
    match (check.problems.len() == before, window, max_age) {
        (true, Some(duplicate_window), Some(max_age)) => Some(StreamConfig {
            name: s.name.clone(),
            create: s.create,
            duplicate_window,
            retention,
            max_age,
            max_bytes: s.max_bytes,
            file_storage,
            replicas,
        }),
        _ => None,
    }
}
