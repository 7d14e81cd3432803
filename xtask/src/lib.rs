//! The project's automation, run as `cargo xtask <command>`.
//!
//! - `codegen` turns every JSON Schema in `schemas/` into a Rust module of
//!   the `gladly-schema` crate; see [`codegen`].
//! - `bench-report` runs the benchmarks and writes `BENCHMARKS.md`; see
//!   [`bench_report`].

pub mod bench_report;
pub mod codegen;
