//! Secrets come from an environment variable or a file, never from an
//! argument (which `ps` and shell history would show).

use std::fmt;
use std::path::{Path, PathBuf};

use gladly_schema::Secret;

use crate::error::CliError;
use crate::input;

/// The largest secret file read: a secret is tens of bytes.
pub const MAX_SECRET_FILE: usize = 4096;

/// Where a secret is read from, and its place on the command line.
#[derive(Debug, Clone)]
pub struct SecretSource {
    origin: Origin,
    /// Its position among the options of its kind, from 1.
    position: usize,
}

#[derive(Debug, Clone)]
enum Origin {
    /// The environment variable of that name.
    Env(String),
    /// The file at that path; one trailing newline is dropped.
    File(PathBuf),
}

impl fmt::Display for SecretSource {
    /// The source as messages name it: `$NAME` or the path, unless the
    /// argument looks like a secret given by mistake, which is not echoed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Origin::Env(name) if is_variable_name(name) => write!(f, "${name}"),
            Origin::File(path) if is_path(path) => write!(f, "{}", input::display(path)),
            Origin::Env(_) => write!(
                f,
                "the variable of --secret-env #{} (its name is not shown: it looks like a secret, not a variable name)",
                self.position
            ),
            Origin::File(_) => write!(
                f,
                "the file of --secret-file #{} (its name is not shown: it looks like a secret, not a path)",
                self.position
            ),
        }
    }
}

/// Whether `name` reads as an environment variable's name rather than a
/// secret pasted in its place: the conventional upper-case form, or a
/// short identifier.
fn is_variable_name(name: &str) -> bool {
    let identifier = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let conventional = name
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    identifier && name.len() <= 64 && (conventional || !looks_like_secret(name))
}

/// Whether `path` reads as a path rather than a secret pasted in its place.
fn is_path(path: &Path) -> bool {
    let text = path.to_string_lossy();
    text.contains(['/', '.']) || !looks_like_secret(&text)
}

/// Secrets are long and mix letters with digits (`whsec_…`).
fn looks_like_secret(text: &str) -> bool {
    text.starts_with("whsec_")
        || (text.len() >= 16
            && text.bytes().any(|b| b.is_ascii_digit())
            && text.bytes().any(|b| b.is_ascii_lowercase()))
}

impl SecretSource {
    /// A secret from the environment variable `name`.
    pub fn env(name: String, position: usize) -> Self {
        Self {
            origin: Origin::Env(name),
            position,
        }
    }

    /// A secret from the file at `path`.
    pub fn file(path: PathBuf, position: usize) -> Self {
        Self {
            origin: Origin::File(path),
            position,
        }
    }

    /// Reads the secret. Absent, unreadable, empty and padded secrets are
    /// errors that name the source, never the value.
    pub fn load(&self) -> Result<Secret, CliError> {
        let text = match &self.origin {
            Origin::Env(name) => match std::env::var(name) {
                Ok(value) => value,
                Err(std::env::VarError::NotPresent) if is_variable_name(name) => {
                    return Err(CliError::Usage(format!(
                        "environment variable {name} is not set"
                    )));
                }
                Err(std::env::VarError::NotPresent) => {
                    return Err(CliError::Usage(format!("{self} is not set")));
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(CliError::Usage(format!("{self} is not UTF-8")));
                }
            },
            Origin::File(path) => {
                let bytes =
                    input::read(path, MAX_SECRET_FILE, "").map_err(|err| self.hide_path(err))?;
                let mut text = String::from_utf8(bytes)
                    .map_err(|_| CliError::Usage(format!("secret file {self} is not UTF-8")))?;
                if let Some(stripped) = text.strip_suffix('\n') {
                    let keep = stripped.strip_suffix('\r').unwrap_or(stripped).len();
                    text.truncate(keep);
                }
                text
            }
        };
        if text.is_empty() {
            return Err(CliError::Usage(format!("the secret in {self} is empty")));
        }
        if text.trim() != text {
            let allowance = match self.origin {
                Origin::File(_) => " beyond one trailing newline",
                Origin::Env(_) => "",
            };
            return Err(CliError::Usage(format!(
                "the secret in {self} has whitespace around it{allowance}: remove it (a secret is used byte for byte)"
            )));
        }
        Ok(Secret::new(text))
    }

    /// `err` with the file named as `self` shows it.
    fn hide_path(&self, err: CliError) -> CliError {
        match err {
            CliError::Io { source, .. } => CliError::Io {
                path: format!("secret file {self}"),
                source,
            },
            CliError::Usage(_) => CliError::Usage(format!(
                "secret file {self} is larger than {MAX_SECRET_FILE} bytes: it is not a secret"
            )),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_look_like_secrets_are_not_shown() {
        assert!(is_variable_name("GLADLY_SECRET"));
        assert!(is_variable_name("GLADLY_WEBHOOK_SECRET_2"));
        assert!(is_variable_name("secret"));
        assert!(!is_variable_name("whsec_example_0123456789abcdef"));
        assert!(!is_variable_name("s3cr3tvalue12345678"));
        assert!(!is_variable_name("has space"));
        assert!(is_path(Path::new("examples/secret.txt")));
        assert!(!is_path(Path::new("whsec_example_0123456789abcdef")));
    }
}
