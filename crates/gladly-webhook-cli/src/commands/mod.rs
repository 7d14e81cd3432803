//! One module per subcommand.

pub mod event;
pub mod schema;
pub mod sign;
pub mod validate;
pub mod verify;

use std::io::Write;
use std::path::PathBuf;

use crate::error::CliError;

/// Writes `bytes` to standard output.
pub fn print(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|source| CliError::Io {
            path: PathBuf::from("-"),
            source,
        })
}
