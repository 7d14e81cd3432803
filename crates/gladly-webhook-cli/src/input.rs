//! Reading a command's input: a file, or standard input for `-`, always
//! through a limit, so `/dev/zero` or a runaway pipe cannot exhaust memory.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use gladly_webhook_core::echo;

use crate::error::CliError;

/// The bytes of `path`, or of standard input when it is `-`: at most
/// `limit` bytes, or an error that names the limit and `flag`, the option
/// that raises it.
///
/// An empty standard input is an error: it is closed, or nothing was
/// piped, and either way there is nothing to judge.
pub fn read(path: &Path, limit: usize, flag: &str) -> Result<Vec<u8>, CliError> {
    let io = |source| CliError::Io {
        path: display(path),
        source,
    };
    let mut bytes = Vec::new();
    let read = if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(limit as u64 + 1)
            .read_to_end(&mut bytes)
    } else {
        let file = File::open(path).map_err(io)?;
        file.take(limit as u64 + 1).read_to_end(&mut bytes)
    };
    read.map_err(io)?;
    if bytes.len() > limit {
        return Err(CliError::Usage(format!(
            "{} is larger than the limit of {limit} bytes{}",
            display(path),
            if flag.is_empty() {
                String::new()
            } else {
                format!(" (raise it with {flag})")
            }
        )));
    }
    if bytes.is_empty() && path == Path::new("-") {
        return Err(CliError::Usage(
            "standard input is empty or closed: nothing to read".to_string(),
        ));
    }
    Ok(bytes)
}

/// How to name `path` in a message: `standard input` for `-`, any other
/// path escaped (a file name can hold control characters).
pub fn display(path: &Path) -> String {
    if path == Path::new("-") {
        "standard input".to_string()
    } else {
        echo::escape(&path.to_string_lossy(), 200)
    }
}
