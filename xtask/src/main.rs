//! `cargo xtask`: the project's automation (see `cargo xtask --help`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::codegen::{self, Layout};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Automation for the gladly-webhooks workspace"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerate the `gladly-schema` crate's modules from `schemas/*.json`.
    Codegen {
        /// Write nothing; fail if a checked-in generated file is stale.
        #[arg(long)]
        check: bool,
    },
    /// Run the benchmarks and write BENCHMARKS.md.
    BenchReport {
        /// Do not run the benchmarks: write the report from the last results.
        #[arg(long)]
        no_run: bool,
    },
}

fn workspace_root() -> PathBuf {
    // xtask/Cargo.toml sits one level below the workspace root.
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let layout = Layout::of_workspace(&workspace_root());
    let result = match cli.command {
        Command::Codegen { check: false } => codegen::write(&layout).map(|written| {
            if written.is_empty() {
                println!("codegen: generated files already up to date");
            }
            for path in written {
                println!("codegen: wrote {}", path.display());
            }
        }),
        Command::Codegen { check: true } => codegen::check(&layout).map(|()| {
            println!("codegen: generated files are up to date");
        }),
        Command::BenchReport { no_run } => {
            xtask::bench_report::bench_report(&workspace_root(), !no_run).map(|path| {
                println!("bench-report: wrote {}", path.display());
            })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
