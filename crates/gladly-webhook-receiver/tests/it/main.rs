//! The crate's integration tests, one binary (one link of the crate and
//! its dependencies) with a module per concern.

mod auth;
mod common;
mod full_disk;
mod http;
mod inbox;
mod limits;
mod workers;
