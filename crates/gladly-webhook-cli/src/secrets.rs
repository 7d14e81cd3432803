//! Secrets come from an environment variable or a file, never from an
//! argument (which `ps` and shell history would show).

use std::fmt;
use std::path::PathBuf;

use gladly_schema::Secret;

use crate::error::CliError;

/// Where a secret is read from.
#[derive(Debug, Clone)]
pub enum SecretSource {
    /// The environment variable of that name.
    Env(String),
    /// The file at that path; one trailing newline is dropped.
    File(PathBuf),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(name) => write!(f, "${name}"),
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

impl SecretSource {
    /// Reads the secret. Absent, unreadable and empty secrets are errors
    /// that name the source, never the value.
    pub fn load(&self) -> Result<Secret, CliError> {
        let text = match self {
            Self::Env(name) => match std::env::var(name) {
                Ok(value) => value,
                Err(std::env::VarError::NotPresent) => {
                    return Err(CliError::Usage(format!(
                        "environment variable {name} is not set"
                    )));
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(CliError::Usage(format!(
                        "environment variable {name} is not UTF-8"
                    )));
                }
            },
            Self::File(path) => {
                let bytes = std::fs::read(path).map_err(|source| CliError::Io {
                    path: path.clone(),
                    source,
                })?;
                let mut text = String::from_utf8(bytes).map_err(|_| {
                    CliError::Usage(format!("secret file {} is not UTF-8", path.display()))
                })?;
                if text.ends_with('\n') {
                    text.pop();
                    if text.ends_with('\r') {
                        text.pop();
                    }
                }
                text
            }
        };
        if text.is_empty() {
            return Err(CliError::Usage(format!("the secret in {self} is empty")));
        }
        Ok(Secret::new(text))
    }
}
