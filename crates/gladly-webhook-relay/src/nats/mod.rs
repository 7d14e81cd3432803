//! A destination of kind `nats` (the `nats` feature): each event published
//! into a NATS JetStream stream, done only once JetStream acknowledges it.
//!
//! - **Subject:** `<prefix>.NOUN.VERB` ([`subject_for`]).
//! - **Message:** the event as Gladly sent it, byte for byte, with headers
//!   `Nats-Msg-Id` (the Gladly event's id: JetStream stores a repeat
//!   within the stream's duplicate window once), [`EVENT_TYPE_HEADER`],
//!   [`RECEIVED_AT_HEADER`] and `Nats-Expected-Stream` (a subject some
//!   other stream captures is refused, not stored elsewhere).
//! - **Attempt:** the publish and its acknowledgement within the
//!   destination's timeout. No acknowledgement, a timeout, a refusal or a
//!   server outage is a failed attempt, retried on the destination's
//!   schedule; a publish whose acknowledgement was lost and is sent again
//!   within the duplicate window is acknowledged as a duplicate and stored
//!   once. Beyond the window (a recovery hours later), consumers
//!   deduplicate by `Nats-Msg-Id`.
//! - **Stream:** checked when the destination starts: it must exist and
//!   capture `<prefix>.>`, or with `create = true` it is created with the
//!   configured settings. A server that cannot be reached then is not a
//!   refusal: the check is made again before the first publish. After an
//!   outage the client tries to reconnect at least once a second.
//! - **Addresses:** the servers' addresses meet the destination's rule
//!   (public only unless `allow_networks` or `allow_loopback`), checked
//!   when it starts; servers a cluster advertises are not followed, so
//!   list every server in `url`.

use std::net::SocketAddr;
use std::time::Duration;

use async_nats::jetstream::{self, message::PublishMessage, stream};
use gladly_webhook_core::address::{AddressPolicy, AddressRefused};
use gladly_webhook_hub::destinations::{Attempt, Sent, Transport};
use gladly_webhook_hub::store::DueDelivery;
use tokio::sync::OnceCell;

use crate::config::{NatsConfig, NatsCredentials, Retention, StreamConfig};

mod subject;

pub use subject::subject_for;

/// The header holding the event's type (`CONVERSATION/CLOSED`).
pub const EVENT_TYPE_HEADER: &str = "Gladly-Event-Type";
/// The header holding when the relay received the event (RFC 3339, UTC,
/// milliseconds).
pub const RECEIVED_AT_HEADER: &str = "Gladly-Received-At";

/// Why a NATS destination could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NatsError {
    /// A server's host did not resolve.
    #[error("cannot resolve the NATS server {server}: {reason}")]
    Resolve {
        /// The server, as written.
        server: String,
        /// Why.
        reason: String,
    },
    /// A server's address is one the destination may not reach.
    #[error("the NATS server {server}: {refused}")]
    Address {
        /// The server, as written.
        server: String,
        /// The rule it broke.
        refused: AddressRefused,
    },
    /// The client could not be set up (a malformed nkey or creds file).
    #[error("the NATS client: {0}")]
    Client(String),
    /// The stream does not exist, and the configuration does not create it.
    #[error(
        "the stream {stream} does not exist on {servers}: create it (subjects {prefix}.>), or set create = true in [destination.stream]"
    )]
    StreamMissing {
        /// The stream.
        stream: String,
        /// The servers.
        servers: String,
        /// The subject prefix.
        prefix: String,
    },
    /// The stream does not capture the destination's subjects.
    #[error("the stream {stream} captures {subjects:?}, not every subject under {prefix}.>")]
    StreamSubjects {
        /// The stream.
        stream: String,
        /// Its subjects.
        subjects: Vec<String>,
        /// The subject prefix.
        prefix: String,
    },
    /// JetStream answered with an error.
    #[error("the stream {stream}: {reason}")]
    Stream {
        /// The stream.
        stream: String,
        /// What JetStream said.
        reason: String,
    },
    /// No server answered.
    #[error("no NATS server answered at {servers}: {reason}")]
    Unreachable {
        /// The servers.
        servers: String,
        /// Why.
        reason: String,
    },
}

/// Publishes a destination's deliveries into its stream.
#[derive(Debug)]
pub struct NatsTransport {
    jetstream: jetstream::Context,
    config: NatsConfig,
    timeout: Duration,
    stream_ready: OnceCell<()>,
}

impl NatsTransport {
    /// Connects to `config`'s servers (each address checked against
    /// `addresses`) and checks its stream (creating it if it says so),
    /// waiting at most `timeout` for each answer. A missing stream, or one
    /// that does not capture the subjects, is an error; servers that do not
    /// answer are not (see the module's documentation).
    pub async fn connect(
        config: &NatsConfig,
        timeout: Duration,
        addresses: &AddressPolicy,
    ) -> Result<Self, NatsError> {
        check_addresses(&config.servers, addresses).await?;
        let client = options(&config.credentials)?
            .require_tls(config.tls)
            .connection_timeout(timeout)
            .request_timeout(Some(timeout))
            .ignore_discovered_servers()
            // Back within a second of the server's return (the client's
            // own backoff reaches 4 s), trying at most once a second.
            .reconnect_delay_callback(reconnect_delay)
            .retry_on_initial_connect()
            .name("gladly-webhook-relay")
            .connect(config.servers.as_str())
            .await
            .map_err(|e| NatsError::Client(e.to_string()))?;
        let mut jetstream = jetstream::new(client);
        jetstream.set_timeout(timeout);
        let transport = Self {
            jetstream,
            config: config.clone(),
            timeout,
            stream_ready: OnceCell::new(),
        };
        match transport.ready().await {
            Ok(()) => Ok(transport),
            Err(NatsError::Unreachable { servers, reason }) => {
                tracing::warn!(
                    servers,
                    reason,
                    stream = transport.config.stream.name,
                    "no NATS server answered: the stream is checked before the first publish"
                );
                Ok(transport)
            }
            Err(err) => Err(err),
        }
    }

    /// The stream checked (or created), once.
    async fn ready(&self) -> Result<(), NatsError> {
        self.stream_ready
            .get_or_try_init(|| ensure_stream(&self.jetstream, &self.config))
            .await
            .map(|_| ())
    }

    /// Publishes `due` and waits for its acknowledgement.
    async fn publish(&self, due: &DueDelivery) -> Result<String, String> {
        self.ready().await.map_err(|e| e.to_string())?;
        let received = due
            .published_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let message = PublishMessage::build()
            .payload(bytes::Bytes::copy_from_slice(&due.body))
            .message_id(&due.event_id)
            .expected_stream(&self.config.stream.name)
            .header(EVENT_TYPE_HEADER, due.event_type.as_str())
            .header(RECEIVED_AT_HEADER, received.as_str())
            .header("Content-Type", "application/json");
        let subject = subject_for(&self.config.subject_prefix, &due.event_type);
        let ack = self
            .jetstream
            .send_publish(subject, message)
            .await
            .map_err(|e| format!("publish refused: {e}"))?
            .await
            .map_err(|e| format!("no acknowledgement: {e}"))?;
        let repeat = if ack.duplicate {
            " (a repeat, stored once)"
        } else {
            ""
        };
        Ok(format!(
            "stream {}, sequence {}{repeat}",
            ack.stream, ack.sequence
        ))
    }
}

impl Transport for NatsTransport {
    fn send<'a>(&'a self, due: &'a DueDelivery) -> Attempt<'a> {
        Box::pin(async move {
            match tokio::time::timeout(self.timeout, self.publish(due)).await {
                Ok(Ok(ack)) => Sent::Acknowledged(ack),
                Ok(Err(error)) => Sent::Failed(error),
                Err(_) => Sent::Failed(format!(
                    "no acknowledgement within {}",
                    humantime::format_duration(self.timeout)
                )),
            }
        })
    }
}

/// The wait before reconnection attempt `attempts`: none for the first,
/// then 100 ms more each time, at most a second.
fn reconnect_delay(attempts: usize) -> Duration {
    let steps = u32::try_from(attempts.saturating_sub(1)).unwrap_or(u32::MAX);
    Duration::from_millis(100)
        .saturating_mul(steps)
        .min(Duration::from_secs(1))
}

/// The client's options with `credentials`.
fn options(credentials: &NatsCredentials) -> Result<async_nats::ConnectOptions, NatsError> {
    let options = async_nats::ConnectOptions::new();
    Ok(match credentials {
        NatsCredentials::None => options,
        NatsCredentials::UserPassword { user, password } => {
            options.user_and_password(user.clone(), password.expose().to_string())
        }
        NatsCredentials::Token(token) => options.token(token.expose().to_string()),
        NatsCredentials::Nkey(seed) => options.nkey(seed.expose().to_string()),
        NatsCredentials::Creds(creds) => options
            .credentials(creds.expose())
            // The parser's message may quote the file: only say it is not one.
            .map_err(|_| {
                NatsError::Client(
                    "the creds file is not a NATS credentials file (a JWT and an nkey seed)"
                        .to_string(),
                )
            })?,
    })
}

/// Every address of every server in `servers` meets `policy`.
async fn check_addresses(servers: &str, policy: &AddressPolicy) -> Result<(), NatsError> {
    for server in servers.split(',').map(str::trim) {
        let resolve = |reason: String| NatsError::Resolve {
            server: server.to_string(),
            reason,
        };
        let url = url::Url::parse(server).map_err(|e| resolve(e.to_string()))?;
        let host = url
            .host_str()
            .ok_or_else(|| resolve("no host".to_string()))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = url.port().unwrap_or(4222);
        let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| resolve(e.to_string()))?
            .collect();
        if found.is_empty() {
            return Err(resolve("no address".to_string()));
        }
        for addr in found {
            policy
                .check(addr.ip())
                .map_err(|refused| NatsError::Address {
                    server: server.to_string(),
                    refused,
                })?;
        }
    }
    Ok(())
}

/// The stream of `config` exists and captures its subjects, created first
/// if the configuration says so.
async fn ensure_stream(js: &jetstream::Context, config: &NatsConfig) -> Result<(), NatsError> {
    let wanted = &config.stream;
    let found = match js.get_stream(&wanted.name).await {
        Ok(mut stream) => Some(
            stream
                .info()
                .await
                .map_err(|e| stream_error(wanted, e))?
                .config
                .clone(),
        ),
        Err(err) => match err.kind() {
            jetstream::context::GetStreamErrorKind::JetStream(e)
                if e.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND =>
            {
                None
            }
            jetstream::context::GetStreamErrorKind::Request => {
                return Err(NatsError::Unreachable {
                    servers: config.servers.clone(),
                    reason: err.to_string(),
                });
            }
            _ => return Err(stream_error(wanted, err)),
        },
    };
    let found = match (found, wanted.create) {
        (Some(found), _) => found,
        (None, false) => {
            return Err(NatsError::StreamMissing {
                stream: wanted.name.clone(),
                servers: config.servers.clone(),
                prefix: config.subject_prefix.clone(),
            });
        }
        (None, true) => {
            let made = js
                .create_stream(stream_settings(config))
                .await
                .map_err(|e| stream_error(wanted, e))?;
            tracing::info!(
                stream = wanted.name,
                subjects = ?made.cached_info().config.subjects,
                "created the stream"
            );
            made.cached_info().config.clone()
        }
    };
    if !found
        .subjects
        .iter()
        .any(|filter| captures_all(filter, &config.subject_prefix))
    {
        return Err(NatsError::StreamSubjects {
            stream: wanted.name.clone(),
            subjects: found.subjects,
            prefix: config.subject_prefix.clone(),
        });
    }
    tracing::info!(
        stream = wanted.name,
        duplicate_window = %humantime::format_duration(found.duplicate_window),
        "the stream is ready: a repeated event within its duplicate window is stored once"
    );
    Ok(())
}

fn stream_error(stream: &StreamConfig, err: impl std::fmt::Display) -> NatsError {
    NatsError::Stream {
        stream: stream.name.clone(),
        reason: err.to_string(),
    }
}

/// The stream a `create = true` destination makes.
fn stream_settings(config: &NatsConfig) -> stream::Config {
    let s = &config.stream;
    stream::Config {
        name: s.name.clone(),
        subjects: vec![format!("{}.>", config.subject_prefix)],
        retention: match s.retention {
            Retention::Limits => stream::RetentionPolicy::Limits,
            Retention::Interest => stream::RetentionPolicy::Interest,
            Retention::WorkQueue => stream::RetentionPolicy::WorkQueue,
        },
        max_age: s.max_age.unwrap_or_default(),
        max_bytes: s.max_bytes.unwrap_or(-1),
        storage: if s.file_storage {
            stream::StorageType::File
        } else {
            stream::StorageType::Memory
        },
        num_replicas: s.replicas,
        duplicate_window: s.duplicate_window,
        ..stream::Config::default()
    }
}

/// Whether the subject filter `filter` matches every subject of two or
/// more tokens under `prefix` (`gladly.>`, `>`, `*.>` for `gladly`).
fn captures_all(filter: &str, prefix: &str) -> bool {
    let mut tokens: Vec<&str> = filter.split('.').collect();
    if tokens.pop() != Some(">") {
        return false;
    }
    let prefix: Vec<&str> = prefix.split('.').collect();
    tokens.len() <= prefix.len()
        && tokens
            .iter()
            .zip(&prefix)
            .all(|(token, part)| *token == "*" || token == part)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{captures_all, reconnect_delay};

    #[test]
    fn reconnection_is_tried_at_least_once_a_second() {
        assert_eq!(reconnect_delay(0), Duration::ZERO);
        assert_eq!(reconnect_delay(1), Duration::ZERO);
        assert_eq!(reconnect_delay(3), Duration::from_millis(200));
        assert_eq!(reconnect_delay(50), Duration::from_secs(1));
        assert_eq!(reconnect_delay(usize::MAX), Duration::from_secs(1));
    }

    #[test]
    fn a_stream_captures_a_prefix_with_a_tail_wildcard_at_or_above_it() {
        assert!(captures_all("gladly.>", "gladly"));
        assert!(captures_all(">", "gladly"));
        assert!(captures_all("*.>", "gladly"));
        assert!(captures_all("acme.>", "acme.gladly"));
        assert!(captures_all("acme.*.>", "acme.gladly"));
        assert!(!captures_all("gladly.*", "gladly"));
        assert!(!captures_all("gladly.*.*", "gladly"));
        assert!(!captures_all("other.>", "gladly"));
        assert!(!captures_all("gladly.CONVERSATION.>", "gladly"));
    }
}
