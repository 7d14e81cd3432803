//! The `webhooks` commands (Gladly's webhook API) and their shared arguments.

use super::*;

/// Where Gladly's API is and who calls it.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// The API's base URL: `https://acme.gladly.com`, the sandbox `https://acme.gladly.qa`, or a local hub (`http://127.0.0.1:8090`).
    #[arg(long = "api", value_name = "URL", env = "GLADLY_API_URL")]
    pub api: Option<String>,
    /// The environment variable holding the API user, `email:token`.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "GLADLY_API_USER",
        conflicts_with = "api_user_file"
    )]
    pub api_user_env: String,
    /// The file holding the API user, `email:token`.
    #[arg(long, value_name = "PATH")]
    pub api_user_file: Option<PathBuf>,
    /// Accept webhook URLs to loopback (`http://127.0.0.1:...`) when checking a body before sending it: for a local Gladly (`serve --api gladly --allow-insecure-localhost`) delivering to a receiver on this machine. Gladly itself refuses them.
    #[arg(long)]
    pub allow_insecure_localhost: bool,
}

/// A webhook's fields, as flags (`create`, `update`) or a JSON file.
#[derive(Debug, Args)]
pub struct WebhookFieldArgs {
    /// The webhook as JSON (`-` for standard input), instead of the flags below.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["name", "url", "events", "basic_auth_env", "headers", "enabled"])]
    pub file: Option<PathBuf>,
    /// A label, e.g. "CSAT integration".
    #[arg(long)]
    pub name: Option<String>,
    /// The HTTPS URL Gladly delivers to.
    #[arg(long)]
    pub url: Option<String>,
    /// An event type, NOUN/VERB (repeatable): `--event CONVERSATION/CLOSED --event TASK/CREATED`.
    #[arg(long = "event", value_name = "TYPE")]
    pub events: Vec<String>,
    /// The environment variable holding `user:password`, the Basic credentials Gladly sends with each delivery.
    #[arg(long, value_name = "NAME")]
    pub basic_auth_env: Option<String>,
    /// A header Gladly adds to each delivery (repeatable), each with a --header-value-env, in order.
    #[arg(long = "header", value_name = "NAME")]
    pub headers: Vec<String>,
    /// The environment variable holding the value of the --header of the same position.
    #[arg(long = "header-value-env", value_name = "NAME")]
    pub header_value_envs: Vec<String>,
    /// Enabled (`true`) or disabled (`false`); a new webhook is disabled unless told.
    #[arg(long, value_name = "BOOL")]
    pub enabled: Option<bool>,
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Every webhook: a table, or one JSON object per line.
    List(WebhooksListArgs),
    /// One webhook, as JSON.
    Get(WebhookIdArgs),
    /// Create a webhook (validated before it is sent); prints its id.
    Create(WebhooksCreateArgs),
    /// Change the fields given.
    Update(WebhooksUpdateArgs),
    /// Enable a webhook (Gladly PINGs its URL, which must answer 200).
    Enable(WebhookIdArgs),
    /// Disable a webhook.
    Disable(WebhookIdArgs),
    /// Delete a webhook (disable it first: Gladly refuses to delete an enabled one).
    Delete(WebhookIdArgs),
}

#[derive(Debug, Args)]
pub struct WebhooksListArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// text (a table) or json (one object per line).
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct WebhookIdArgs {
    /// The webhook's id.
    pub id: String,
    #[command(flatten)]
    pub api: ApiArgs,
}

#[derive(Debug, Args)]
pub struct WebhooksCreateArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub fields: WebhookFieldArgs,
}

#[derive(Debug, Args)]
pub struct WebhooksUpdateArgs {
    /// The webhook's id.
    pub id: String,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub fields: WebhookFieldArgs,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Lines for people.
    Text,
    /// One JSON object per line.
    Json,
}
