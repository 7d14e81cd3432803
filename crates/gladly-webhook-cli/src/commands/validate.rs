//! `gladly-webhook validate`.

use gladly_webhook_core::validate::{Policy, validate_json};

use super::print;
use crate::cli::{FormatArg, LevelArg, ValidateArgs};
use crate::error::CliError;
use crate::input;

pub fn run(args: &ValidateArgs) -> Result<(), CliError> {
    let bytes = input::read(&args.file, args.limits.max_bytes, "--max-bytes")?;
    let policy = match args.level {
        LevelArg::Schema => Policy::schema(),
        LevelArg::Strict => Policy::strict(),
    }
    .allow_insecure_localhost(args.allow_insecure_localhost)
    .max_size(args.limits.max_bytes);
    let report = validate_json(&bytes, &policy).err();
    let output = match (args.format, &report) {
        (FormatArg::Text, None) => "valid\n".to_string(),
        (FormatArg::Text, Some(report)) => format!("{report}\n"),
        (FormatArg::Json, None) => "[]\n".to_string(),
        (FormatArg::Json, Some(report)) => {
            let mut json = serde_json::to_string_pretty(report).expect("a report serializes");
            json.push('\n');
            json
        }
    };
    print(output.as_bytes())?;
    match report {
        None => Ok(()),
        Some(report) => Err(CliError::Rejected(format!(
            "{} is invalid: {} problem{}",
            input::display(&args.file),
            report.len(),
            if report.len() == 1 { "" } else { "s" }
        ))),
    }
}
