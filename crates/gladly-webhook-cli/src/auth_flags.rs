//! The credentials the `--basic-auth-*` and `--require-header` /
//! `--header-value-env` flags name: what `listen` requires of deliveries,
//! and what `send` and `trigger` send, as Gladly's REST API 1.0 webhooks
//! do. Read from the environment or a file, never from an argument.

use gladly_webhook_core::Secret;
use gladly_webhook_core::auth::DeliveryAuth;
use gladly_webhook_sender::{Sender, SenderError};

use crate::cli::DeliveryAuthArgs;
use crate::error::CliError;
use crate::secrets::SecretSource;

/// Basic credentials (`user:password`) and headers with their values.
pub struct Credentials {
    basic: Option<(SecretSource, Secret)>,
    headers: Vec<(String, Secret)>,
}

/// Reads the credentials the flags name.
pub fn load(flags: &DeliveryAuthArgs) -> Result<Credentials, CliError> {
    if flags.require_headers.len() != flags.header_value_envs.len() {
        return Err(CliError::Usage(format!(
            "each --require-header needs a --header-value-env (found {} and {})",
            flags.require_headers.len(),
            flags.header_value_envs.len()
        )));
    }
    let basic = match (&flags.basic_auth_env, &flags.basic_auth_file) {
        (Some(name), _) => Some(SecretSource::env(name.clone(), 1)),
        (None, Some(path)) => Some(SecretSource::file(path.clone(), 1)),
        (None, None) => None,
    };
    let basic = match basic {
        Some(source) => {
            let pair = source.load()?;
            if !pair.expose().contains(':') {
                return Err(CliError::Usage(format!(
                    "the Basic credentials in {source} must be `user:password`"
                )));
            }
            Some((source, pair))
        }
        None => None,
    };
    let mut headers = Vec::new();
    for (position, (name, env)) in flags
        .require_headers
        .iter()
        .zip(&flags.header_value_envs)
        .enumerate()
    {
        let value = SecretSource::env(env.clone(), position + 1).load()?;
        headers.push((name.clone(), value));
    }
    Ok(Credentials { basic, headers })
}

impl Credentials {
    /// Whether no credential was named.
    pub fn is_empty(&self) -> bool {
        self.basic.is_none() && self.headers.is_empty()
    }

    /// The rule a receiver holds deliveries to.
    pub fn delivery_auth(&self) -> Result<DeliveryAuth, CliError> {
        let mut auth = DeliveryAuth::none();
        if let Some((source, pair)) = &self.basic {
            let rule = DeliveryAuth::basic_pair(pair).map_err(|err| {
                CliError::Usage(format!("the Basic credentials in {source}: {err}"))
            })?;
            auth = auth.and(rule);
        }
        for (name, value) in &self.headers {
            let rule = DeliveryAuth::header(name, value.clone())
                .map_err(|err| CliError::Usage(format!("--require-header: {err}")))?;
            auth = auth.and(rule);
        }
        Ok(auth)
    }

    /// `sender`, sending these credentials with every request.
    pub fn apply(&self, mut sender: Sender) -> Result<Sender, SenderError> {
        if let Some((_, pair)) = &self.basic {
            let (user, password) = pair.expose().split_once(':').unwrap_or_default();
            sender = sender.basic_auth(user, &Secret::new(password))?;
        }
        for (name, value) in &self.headers {
            sender = sender.secret_header(name, value)?;
        }
        Ok(sender)
    }
}
