//! A secret named by the configuration: an environment variable or a
//! file, never its value.

use std::path::{Path, PathBuf};

use gladly_webhook_core::Secret;
use serde::Deserialize;

/// The largest secret file read: a secret or a database URL is at most a
/// few hundred bytes.
const MAX_SECRET_FILE: u64 = 4096;

/// `{ env = "NAME" }` or `{ file = "path" }` (relative to the
/// configuration file's directory).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SecretRef {
    env: Option<String>,
    file: Option<PathBuf>,
}

impl SecretRef {
    /// The secret, read now; or what is wrong, in words that name the
    /// variable or the file and never a value.
    pub(crate) fn load(&self, base: &Path) -> Result<Secret, String> {
        match (&self.env, &self.file) {
            (Some(name), None) => match std::env::var(name) {
                Ok(value) if !value.is_empty() => Ok(Secret::new(value)),
                Ok(_) => Err(format!("the environment variable {name} is empty")),
                Err(std::env::VarError::NotPresent) => {
                    Err(format!("the environment variable {name} is not set"))
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    Err(format!("the environment variable {name} is not UTF-8"))
                }
            },
            (None, Some(path)) => read_file(&base.join(path)),
            _ => Err("name exactly one of env = \"NAME\" or file = \"path\"".to_string()),
        }
    }
}

fn read_file(path: &Path) -> Result<Secret, String> {
    use std::io::Read;
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open {shown}: {e}"))?;
    let mut text = String::new();
    file.take(MAX_SECRET_FILE + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read {shown} as UTF-8 text: {e}"))?;
    if text.len() as u64 > MAX_SECRET_FILE {
        return Err(format!("{shown} is over {MAX_SECRET_FILE} bytes"));
    }
    let value = text.strip_suffix('\n').unwrap_or(&text);
    let value = value.strip_suffix('\r').unwrap_or(value);
    if value.is_empty() {
        return Err(format!("{shown} is empty"));
    }
    Ok(Secret::new(value.to_string()))
}
