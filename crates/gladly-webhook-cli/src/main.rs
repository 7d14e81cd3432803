//! `gladly-webhook`: validate subscriptions, sign and verify deliveries,
//! read events, receive deliveries into an inbox and run a command per
//! event, and send events as Gladly does. See `gladly-webhook --help`.

mod auth_flags;
mod cli;
mod commands;
mod duration;
mod error;
mod examples;
mod exec;
mod input;
mod listen_addr;
mod ops;
mod raw_request;
mod say;
mod secrets;
mod set_field;
mod ui_access;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

/// mimalloc, not the system's allocator: the hub's deliveries allocate and
/// free many small buffers on several threads, where glibc's allocator
/// spent a fifth of the process's time (see the `mimalloc` feature).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    say::init(cli.command.log_format());
    let result = match cli.command {
        Command::Validate(args) => commands::validate::run(&args),
        Command::Sign(args) => commands::sign::run(&args),
        Command::Verify(args) => commands::verify::run(&args),
        Command::Event(args) => commands::event::run(&args),
        Command::Schema(args) => commands::schema::run(&args),
        Command::Listen(args) => commands::listen::run(&args),
        Command::Inbox(command) => commands::inbox::run(&command),
        Command::Send(args) => commands::deliver::send(&args),
        Command::Trigger(args) => commands::deliver::trigger(&args),
        Command::Serve(args) => commands::serve::run(&args),
        Command::Hub(command) => commands::hub::run(&command),
        Command::Relay(args) => commands::relay::run(&args),
        Command::Webhooks(command) => commands::webhooks::run(&command),
        Command::Health(args) => commands::health::run(&args),
        Command::Completions(args) => commands::docs::completions(&args),
        Command::Man(args) => commands::docs::man(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            crate::say::error(&err);
            err.exit_code()
        }
    }
}
