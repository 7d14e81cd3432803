//! The crate's integration tests, one binary (one link of the crate and
//! its dependencies) with a module per concern.

mod event;
mod signing;
mod signing_worked_example;
mod validate;
mod validate_agreement;
