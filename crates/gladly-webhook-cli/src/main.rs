//! `gladly-webhook`: validate subscriptions, sign and verify deliveries,
//! and read events, from a terminal. See `gladly-webhook --help`.

mod cli;
mod commands;
mod error;
mod input;
mod raw_request;
mod secrets;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => commands::validate::run(&args),
        Command::Sign(args) => commands::sign::run(&args),
        Command::Verify(args) => commands::verify::run(&args),
        Command::Event(args) => commands::event::run(&args),
        Command::Schema(args) => commands::schema::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("gladly-webhook: {err}");
            err.exit_code()
        }
    }
}
