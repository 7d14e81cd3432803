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
    /// Regenerate the `gladly-schema` crate's modules from `schemas/*.json`,
    /// and the copies of workspace files that published crates embed.
    Codegen {
        /// Write nothing; fail if a checked-in generated file is stale.
        #[arg(long)]
        check: bool,
    },
    /// Check that each crate's `rust-version` is at least every dependency's.
    Msrv,
    /// Check that no crate's modules import each other in a circle.
    Circles,
    /// Check that each crate's docs list every crate their first example names.
    DocDeps,
    /// Check each crate's first example as an outside crate, from its docs' [dependencies] lines.
    DocExamples,
    /// Package every publishable crate and check the packages together,
    /// as a registry would hold them.
    PackageCheck {
        /// Package uncommitted changes too.
        #[arg(long)]
        allow_dirty: bool,
    },
    /// Run the benchmarks and write BENCHMARKS.md.
    BenchReport {
        /// Do not run the micro-benchmarks: write their part from the last results.
        #[arg(long)]
        no_run: bool,
        /// Run one part alone: `micro` (cargo bench of the core),
        /// `receive` (receiving over HTTP, with the octokit peer) or
        /// `fanout` (the hub's deliveries).
        #[arg(long, value_parser = ["micro", "receive", "fanout"])]
        only: Option<String>,
        /// Receiving and fan-out: also measure PostgreSQL on this server (a
        /// database the bench may write to and make databases beside; or
        /// GLADLY_BENCH_DATABASE_URL).
        #[arg(long)]
        database_url: Option<String>,
        /// Receiving: seconds per run.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
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
        Command::Codegen { check: false } => codegen::write(&layout)
            .and_then(|mut written| {
                written.extend(xtask::copies::write(&workspace_root())?);
                Ok(written)
            })
            .map(|written| {
                if written.is_empty() {
                    println!("codegen: generated files and copies already up to date");
                }
                for path in written {
                    println!("codegen: wrote {}", path.display());
                }
            }),
        Command::Codegen { check: true } => codegen::check(&layout)
            .and_then(|()| xtask::copies::check(&workspace_root()))
            .map(|()| {
                println!("codegen: generated files and copies are up to date");
            }),
        Command::Msrv => xtask::msrv::check(&workspace_root()),
        Command::Circles => xtask::circles::check(&workspace_root()).map(|checked| {
            println!(
                "circles: no import circle between the modules of {}",
                checked.join(", ")
            );
        }),
        Command::DocDeps => xtask::doc_deps::ensure(&workspace_root()).map(|()| {
            println!("doc-deps: each crate's first example uses only the crates its docs list");
        }),
        Command::DocExamples => xtask::doc_examples::build(&workspace_root()).map(|built| {
            println!(
                "doc-examples: the first examples of {} compile from their docs' [dependencies] lines",
                built.join(", ")
            );
        }),
        Command::PackageCheck { allow_dirty } => {
            xtask::package_check::check(&workspace_root(), allow_dirty).map(|checked| {
                println!(
                    "package-check: {} packages build as a registry would hold them: {}",
                    checked.len(),
                    checked.join(", ")
                );
            })
        }
        Command::BenchReport {
            no_run,
            only,
            database_url,
            seconds,
        } => {
            let root = workspace_root();
            let micro = || {
                xtask::bench_report::bench_report(&root, !no_run).map(|path| {
                    println!("bench-report: wrote {}", path.display());
                })
            };
            let url = database_url
                .clone()
                .or_else(|| std::env::var("GLADLY_BENCH_DATABASE_URL").ok());
            let fanout = || {
                xtask::fanout_report::report(&root, url.as_deref()).map(|()| {
                    println!(
                        "bench-report: wrote the fan-out section of BENCHMARKS.md and {}",
                        xtask::fanout_report::CHART
                    );
                })
            };
            let receive = || {
                xtask::receive_report::report(&root, url.as_deref(), seconds).map(|()| {
                    println!(
                        "bench-report: wrote the receiving section of BENCHMARKS.md and {}",
                        xtask::receive_report::CHART
                    );
                })
            };
            match only.as_deref() {
                Some("micro") => micro(),
                Some("receive") => receive(),
                Some("fanout") => fanout(),
                _ => micro().and_then(|()| receive()).and_then(|()| fanout()),
            }
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
