//! `gladly-webhook webhooks ...`: Gladly's webhook REST API 1.0 from the
//! command line, through `gladly-webhook-client`.

use gladly_webhook_client::{ApiUser, Client, ClientError};
use gladly_webhook_core::echo::{escape, redact_url};
use gladly_webhook_core::validate::Policy;
use serde_json::{Map, Value, json};

use super::{print, runtime};
use crate::cli::{ApiArgs, OutputFormat, WebhookFieldArgs, WebhooksCommand};
use crate::error::CliError;
use crate::secrets::SecretSource;

/// The largest webhook file read.
const MAX_FILE: usize = 1 << 20;

pub fn run(command: &WebhooksCommand) -> Result<(), CliError> {
    match command {
        WebhooksCommand::List(args) => {
            let client = client(&args.api)?;
            let webhooks = runtime()?.block_on(client.list()).map_err(failed)?;
            let mut out = String::new();
            match args.format {
                OutputFormat::Json => {
                    for webhook in &webhooks {
                        out.push_str(&serde_json::to_string(webhook).unwrap_or_default());
                        out.push('\n');
                    }
                }
                OutputFormat::Text => out = table(&webhooks),
            }
            print(out.as_bytes())
        }
        WebhooksCommand::Get(args) => {
            let client = client(&args.api)?;
            let webhook = runtime()?.block_on(client.get(&args.id)).map_err(failed)?;
            let text = serde_json::to_string_pretty(&webhook).unwrap_or_default();
            print(format!("{text}\n").as_bytes())
        }
        WebhooksCommand::Create(args) => {
            let body = body(&args.fields)?;
            let client = client(&args.api)?;
            let id = runtime()?
                .block_on(client.create_json(&body))
                .map_err(failed)?;
            print(format!("{id}\n").as_bytes())
        }
        WebhooksCommand::Update(args) => {
            let body = body(&args.fields)?;
            if body.as_object().is_some_and(Map::is_empty) {
                return Err(CliError::Usage(
                    "webhooks update needs a field to change (--name, --url, --event, --enabled, ...) or --file".to_string(),
                ));
            }
            let client = client(&args.api)?;
            runtime()?
                .block_on(client.update(&args.id, &body))
                .map_err(failed)?;
            crate::say::info(format_args!("{} updated", escape(&args.id, 80)));
            Ok(())
        }
        WebhooksCommand::Enable(args) => simple(&args.api, &args.id, "enabled", |c, id| {
            Box::pin(async move { c.enable(&id).await })
        }),
        WebhooksCommand::Disable(args) => simple(&args.api, &args.id, "disabled", |c, id| {
            Box::pin(async move { c.disable(&id).await })
        }),
        WebhooksCommand::Delete(args) => simple(&args.api, &args.id, "deleted", |c, id| {
            Box::pin(async move { c.delete(&id).await })
        }),
    }
}

type Call = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ClientError>>>>;

fn simple(
    api: &ApiArgs,
    id: &str,
    done: &str,
    call: impl FnOnce(Client, String) -> Call,
) -> Result<(), CliError> {
    let client = client(api)?;
    runtime()?
        .block_on(call(client, id.to_string()))
        .map_err(failed)?;
    crate::say::info(format_args!("{} {done}", escape(id, 80)));
    Ok(())
}

/// The client for `--api` as the API user from the environment or a file.
pub fn client(api: &ApiArgs) -> Result<Client, CliError> {
    let base = api.api.as_deref().ok_or_else(|| {
        CliError::Usage(
            "which Gladly? give --api URL or set GLADLY_API_URL (https://ORG.gladly.com, the sandbox https://ORG.gladly.qa, or a local hub such as http://127.0.0.1:8090)".to_string(),
        )
    })?;
    let source = match &api.api_user_file {
        Some(path) => SecretSource::file(path.clone(), 1),
        None => SecretSource::env(api.api_user_env.clone(), 1),
    };
    let user: ApiUser = source
        .load()?
        .expose()
        .parse()
        .map_err(|err| CliError::Usage(format!("the API user in {source}: {err}")))?;
    let client = Client::new(base, user).map_err(failed)?;
    Ok(if api.allow_insecure_localhost {
        client.validation(Policy::strict().allow_insecure_localhost(true))
    } else {
        client
    })
}

/// A refusal of the API (or of the local validation) is a judged failure
/// (exit 1); not reaching it, a usage or I/O failure (exit 2).
pub fn failed(err: ClientError) -> CliError {
    match err {
        ClientError::Transport { .. } | ClientError::Config(_) | ClientError::Decode(_) => {
            CliError::Usage(err.to_string())
        }
        ClientError::RateLimited { .. } => CliError::Usage(err.to_string()),
        other => CliError::Rejected(other.to_string()),
    }
}

/// The request body: the file, or the flags (for `create`, the validation
/// requires `--url` and an `--event`).
fn body(fields: &WebhookFieldArgs) -> Result<Value, CliError> {
    if let Some(path) = &fields.file {
        let bytes = crate::input::read(path, MAX_FILE, "--file")?;
        return serde_json::from_slice(&bytes).map_err(|err| {
            CliError::Usage(format!(
                "{} is not JSON: {err}",
                crate::input::display(path)
            ))
        });
    }
    if fields.headers.len() != fields.header_value_envs.len() {
        return Err(CliError::Usage(format!(
            "each --header needs a --header-value-env (found {} and {})",
            fields.headers.len(),
            fields.header_value_envs.len()
        )));
    }
    let mut body = Map::new();
    if let Some(name) = &fields.name {
        body.insert("name".into(), json!(name));
    }
    if let Some(url) = &fields.url {
        body.insert("url".into(), json!(url));
    }
    if !fields.events.is_empty() {
        body.insert("events".into(), json!(fields.events));
    }
    if let Some(enabled) = fields.enabled {
        body.insert("enabled".into(), json!(enabled));
    }
    if let Some(env) = &fields.basic_auth_env {
        let source = SecretSource::env(env.clone(), 1);
        let pair = source.load()?;
        let Some((username, password)) = pair.expose().split_once(':') else {
            return Err(CliError::Usage(format!(
                "the Basic credentials in {source} must be `user:password`"
            )));
        };
        body.insert(
            "credentials".into(),
            json!({"username": username, "password": password}),
        );
    }
    if !fields.headers.is_empty() {
        let mut headers = Map::new();
        for (position, (name, env)) in fields
            .headers
            .iter()
            .zip(&fields.header_value_envs)
            .enumerate()
        {
            let value = SecretSource::env(env.clone(), position + 1).load()?;
            headers.insert(name.clone(), json!(value.expose()));
        }
        body.insert("headers".into(), Value::Object(headers));
    }
    Ok(Value::Object(body))
}

/// The table `webhooks list` prints.
fn table(webhooks: &[gladly_schema::rest::Webhook]) -> String {
    let rows: Vec<[String; 6]> = webhooks
        .iter()
        .map(|w| {
            let events: Vec<String> = w.events.iter().map(ToString::to_string).collect();
            [
                escape(w.id.as_deref().unwrap_or("-"), 40),
                escape(w.name.as_deref().unwrap_or("-"), 40),
                if w.enabled { "yes" } else { "no" }.to_string(),
                escape(&events.join(","), 80),
                escape(&redact_url(&w.url), 80),
                w.disabled_at_due_to_retry_limit
                    .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_else(|| "-".to_string()),
            ]
        })
        .collect();
    let header = [
        "ID",
        "NAME",
        "ENABLED",
        "EVENTS",
        "URL",
        "DISABLED_BY_RETRIES",
    ];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        text.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    if rows.is_empty() {
        out.push_str("(no webhook)\n");
    }
    out
}
