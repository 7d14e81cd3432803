//! How a command ends when it does not succeed, and the exit code for it.

use std::process::ExitCode;

/// A command's failure. Every message is already safe to print: values
/// from input are escaped and cut where they are written.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The input was judged and failed (invalid, rejected): exit 1.
    #[error("{0}")]
    Rejected(String),
    /// The command could not do its job (bad arguments, unreadable or
    /// malformed input): exit 2.
    #[error("{0}")]
    Usage(String),
    /// Reading or writing failed: exit 2.
    #[error("{path}: {source}")]
    Io {
        /// The file as messages show it (`standard input` for `-`).
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
}

impl CliError {
    /// The process exit code: 1 for a judged failure, 2 otherwise.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Rejected(_) => ExitCode::from(1),
            Self::Usage(_) | Self::Io { .. } => ExitCode::from(2),
        }
    }
}
