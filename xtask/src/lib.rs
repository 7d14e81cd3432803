//! The project's automation, run as `cargo xtask <command>`.
//!
//! `codegen` turns every JSON Schema in `schemas/` into a Rust module of the
//! `gladly-schema` crate; see [`codegen`].

pub mod codegen;
