//! One module per subcommand.

pub mod event;
pub mod schema;
pub mod sign;
pub mod validate;
pub mod verify;

use std::io::{ErrorKind, Write};

use crate::error::CliError;

/// Writes `bytes` to standard output. A reader that went away (`| head`)
/// is not an error: the output was wanted only that far.
pub fn print(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(err) if err.kind() != ErrorKind::BrokenPipe => Err(CliError::Io {
            path: "standard output".to_string(),
            source: err,
        }),
        _ => Ok(()),
    }
}
