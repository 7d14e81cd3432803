//! The crate's integration tests, one binary (one link of the crate and
//! its dependencies) with a module per concern.

mod cli;
mod common;
mod inspector;
mod listen;
mod local_gladly;
mod ops;
#[cfg(feature = "otlp")]
mod otlp;
mod readme;
mod relay;
mod relay_nats;
mod serve;
mod webhooks;
