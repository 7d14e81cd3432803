//! `gladly-webhook completions SHELL` and `gladly-webhook man`: the shell
//! completions and the manual pages, made from the command line's own
//! definition by clap's generators, so they never drift from it.

use clap::CommandFactory;

use super::print;
use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::error::CliError;

/// The binary's name, as a shell and `man` know it.
const NAME: &str = "gladly-webhook";

pub fn completions(args: &CompletionsArgs) -> Result<(), CliError> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), NAME, &mut script);
    print(&script)
}

pub fn man(args: &ManArgs) -> Result<(), CliError> {
    let command = Cli::command().name(NAME);
    match &args.out_dir {
        Some(dir) => {
            let io = |source| CliError::Io {
                path: crate::input::display(dir),
                source,
            };
            std::fs::create_dir_all(dir).map_err(io)?;
            clap_mangen::generate_to(command, dir).map_err(io)?;
            crate::say::info(format_args!(
                "manual pages written into {}",
                crate::input::display(dir)
            ));
            Ok(())
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .map_err(|source| CliError::Io {
                    path: "the manual page".to_string(),
                    source,
                })?;
            print(&page)
        }
    }
}
