//! Reading a command's input: a file, or standard input for `-`.

use std::io::Read;
use std::path::Path;

use crate::error::CliError;

/// The bytes of `path`, or of standard input when it is `-`.
pub fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    let io = |source| CliError::Io {
        path: path.to_path_buf(),
        source,
    };
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).map_err(io)?;
        Ok(bytes)
    } else {
        std::fs::read(path).map_err(io)
    }
}

/// How to name `path` in a message: `standard input` for `-`.
pub fn display(path: &Path) -> String {
    if path == Path::new("-") {
        "standard input".to_string()
    } else {
        path.display().to_string()
    }
}
