//! The project's automation, run as `cargo xtask <command>`.
//!
//! - `codegen` turns every JSON Schema in `schemas/` into a Rust module of
//!   the `gladly-schema` crate; see [`codegen`].
//! - `bench-report` runs the benchmarks and writes `BENCHMARKS.md`; see
//!   [`bench_report`] (the micro-benchmarks) and [`receive_report`]
//!   (receiving over HTTP).
//! - `msrv` checks each crate's `rust-version` against its dependencies';
//!   see [`msrv`].
//! - `circles` checks that no crate's modules import each other in a
//!   circle; see [`circles`].
//!
//! - `package-check` packages every publishable crate and checks the
//!   packages together; see [`package_check`].
//!
//! `codegen` also keeps the [`copies`] of workspace files that published
//! crates embed.

pub mod bench_report;
pub mod circles;
pub mod codegen;
pub mod copies;
pub mod doc_deps;
pub mod doc_examples;
pub mod fanout_report;
pub mod msrv;
pub mod package_check;
pub mod receive_report;
pub mod sections;
