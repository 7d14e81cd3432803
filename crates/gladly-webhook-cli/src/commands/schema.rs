//! `gladly-webhook schema`.

use super::print;
use crate::cli::{SchemaArgs, SchemaName};
use crate::error::CliError;

pub fn run(args: &SchemaArgs) -> Result<(), CliError> {
    let text = match args.name {
        SchemaName::Webhook => gladly_schema::webhook::SCHEMA,
        SchemaName::Event => gladly_schema::event::SCHEMA,
    };
    print(text.as_bytes())
}
