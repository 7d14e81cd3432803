//! The tools: `send`, `trigger`, `validate`, `sign`, `verify`, `event`, `schema`, and the secret arguments they share.

use super::*;

/// How a delivery is sent.
#[derive(Debug, Args)]
pub struct DeliveryArgs {
    /// The endpoint (required).
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,
    /// text: attempts on stderr, the outcome on stdout; json: one object per attempt, then the outcome's, on stdout.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
    /// The signing secret, to sign as our user's model does (at most one).
    #[command(flatten)]
    pub secret: SecretArgs,
    /// Credentials and headers to send, as a REST API 1.0 webhook does (the same flags as `listen`'s).
    #[command(flatten)]
    pub auth: DeliveryAuthArgs,
    /// `gladly` (four retries, after 30 s, 5 min, 30 min and 1 h), `none`, or delays such as `1s,30s,5m`.
    /// Default: `gladly` for `send`, `none` (one attempt) for `trigger`.
    #[arg(long)]
    pub schedule: Option<String>,
    /// Multiply every wait by this (0.001 turns Gladly's hour into 3.6 s).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// How long each attempt has to answer, e.g. `15s`.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = crate::duration::positive)]
    pub timeout: Duration,
    /// Send this header too (`Name: value`, repeatable).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Also sign this header (repeatable); content-type and gladly-time always are.
    #[arg(long = "sign-header", value_name = "NAME")]
    pub sign_headers: Vec<String>,
    /// Print the signed request instead of sending it.
    #[arg(long)]
    pub dry_run: bool,
    /// Also deliver to addresses in this network, e.g. `10.1.0.0/16` (repeatable). Loopback is allowed; other private, link-local and non-public addresses are refused without this.
    #[arg(long = "allow-network", value_name = "CIDR")]
    pub allow_networks: Vec<gladly_webhook_core::address::IpNet>,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub delivery: DeliveryArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Send a payload that is not a valid event too (a warning says why),
    /// to test how a receiver copes; without it such a payload is refused.
    #[arg(long)]
    pub allow_invalid: bool,
    /// The event payload (JSON), or `-`.
    pub event: PathBuf,
}

#[derive(Debug, Args)]
pub struct TriggerArgs {
    /// Print the event types `trigger` has an example of, one a line with its model, and exit.
    #[arg(long, exclusive = true)]
    pub list: bool,
    /// The event type, of our model (`CONVERSATION_CLOSED`) or of Gladly's REST API 1.0
    /// (`CONVERSATION/CLOSED`), or `PING`; case and `-` are forgiven.
    #[arg(required_unless_present = "list")]
    pub event_type: Option<String>,
    #[command(flatten)]
    pub delivery: DeliveryArgs,
    /// Set a field the example has: `POINTER=JSON`, e.g. `--set '/content/customerId="cust_9"'` (single quotes keep the JSON string's double quotes; repeatable).
    #[arg(long = "set", value_name = "POINTER=JSON")]
    pub set: Vec<String>,
    /// Let --set add a field the example does not have (and the objects on its way).
    #[arg(long, requires = "set")]
    pub create: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LevelArg {
    /// Exactly the JSON Schema.
    Schema,
    /// The schema plus what a delivery system needs.
    Strict,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// One problem per line.
    Text,
    /// A JSON array of {pointer, code, message}.
    Json,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Which rules apply.
    #[arg(long, value_enum, default_value = "strict")]
    pub level: LevelArg,
    /// Under strict, accept http URLs to localhost, 127.0.0.1 and `[::1]`.
    #[arg(long)]
    pub allow_insecure_localhost: bool,
    /// How to print the problems.
    #[arg(long, value_enum, default_value = "text")]
    pub format: FormatArg,
    /// The subscription document (JSON), or `-`.
    pub file: PathBuf,
}

/// How much input a command reads.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Refuse a document (or a request body) larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_SIZE)]
    pub max_bytes: usize,
}

/// Where secrets come from: never a plain argument.
#[derive(Debug, Args)]
pub struct SecretArgs {
    /// Read a secret from this environment variable (repeatable: during a rotation every secret given is accepted).
    #[arg(long = "secret-env", value_name = "NAME")]
    pub env: Vec<String>,
    /// Read a secret from this file (one trailing newline is dropped; repeatable).
    #[arg(long = "secret-file", value_name = "PATH")]
    pub file: Vec<PathBuf>,
}

impl SecretArgs {
    /// A verifier for every secret given (at least one), in order, with
    /// `tolerance` seconds, and the sources (to name the one that matched).
    /// `command` names the command in the error for none.
    pub fn verifier(
        &self,
        command: &str,
        tolerance: u64,
    ) -> Result<(gladly_webhook_core::Verifier, Vec<SecretSource>), crate::error::CliError> {
        use crate::error::CliError;
        let sources = self.sources();
        if sources.is_empty() {
            return Err(CliError::Usage(format!(
                "{command} needs a secret: --secret-env NAME or --secret-file PATH (repeatable)"
            )));
        }
        let secrets = sources
            .iter()
            .map(SecretSource::load)
            .collect::<Result<Vec<_>, _>>()?;
        // The side that signs chooses the key (Gladly's own signing example
        // uses a 13-byte one): a short key is checked, with a warning.
        for (secret, source) in secrets.iter().zip(&sources) {
            warn_if_short(secret, source);
        }
        let verifier = gladly_webhook_core::Verifier::new(&secrets)
            .map_err(|err| CliError::Usage(err.to_string()))?
            .tolerance(std::time::Duration::from_secs(tolerance));
        Ok((verifier, sources))
    }

    /// The sources given: environment variables first, then files.
    pub fn sources(&self) -> Vec<SecretSource> {
        let env = (1..)
            .zip(&self.env)
            .map(|(i, name)| SecretSource::env(name.clone(), i));
        let files = (1..)
            .zip(&self.file)
            .map(|(i, path)| SecretSource::file(path.clone(), i));
        env.chain(files).collect()
    }
}

/// Warns once, on standard error, that the secret in `source` is shorter
/// than the 16 bytes (128 bits) this project issues and Gladly recommends.
pub fn warn_if_short(secret: &gladly_schema::Secret, source: &SecretSource) {
    let min = gladly_webhook_core::validate::MIN_SECRET_LEN;
    let len = secret.expose().len();
    if len < min {
        crate::say::warn(format_args!(
            "the secret in {source} is {len} bytes, shorter than the {min} bytes (128 bits) Gladly recommends; it is used as given"
        ));
    }
}

#[derive(Debug, Args)]
pub struct SignArgs {
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub secret: SecretArgs,
    /// Sign at this time (RFC 3339) instead of now.
    #[arg(long, value_parser = parse_time, value_name = "RFC3339")]
    pub time: Option<DateTime<Utc>>,
    /// Also sign this header (repeatable); content-type and gladly-time always are.
    #[arg(long = "sign-header", value_name = "NAME")]
    pub sign_headers: Vec<String>,
    /// The raw HTTP/1.1 request, or `-`.
    pub request: PathBuf,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub limits: LimitArgs,
    /// The secrets (repeat for a rotation: current first).
    #[command(flatten)]
    pub secret: SecretArgs,
    /// Verify as if the clock read this time (RFC 3339).
    #[arg(long, value_parser = parse_time, value_name = "RFC3339")]
    pub now: Option<DateTime<Utc>>,
    /// Accept a Gladly-Time this far from the clock, either way (`300s`, `10m`).
    #[arg(long, default_value = "300s", value_name = "DURATION", value_parser = crate::duration::positive)]
    pub tolerance: Duration,
    /// The raw HTTP/1.1 request as received, or `-`.
    pub request: PathBuf,
    /// text (lines) or json (one object).
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct EventArgs {
    #[command(flatten)]
    pub limits: LimitArgs,
    /// The event payload (JSON), or `-`.
    pub file: PathBuf,
    /// text (lines) or json (one object).
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaName {
    /// The subscription schema.
    Webhook,
    /// The event payload schema.
    Event,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which schema.
    #[arg(value_enum, default_value = "webhook")]
    pub name: SchemaName,
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|err| format!("expected an RFC 3339 time such as 2026-11-26T17:00:05Z: {err}"))
}
