//! The crate's integration tests, one binary (one link of the crate and
//! its dependencies) with a module per concern.

mod alerts;
mod api;
mod common;
mod dispatch;
mod full_disk;
mod hardening;
mod openapi;
mod publish;
mod rate_limits;
mod recover;
mod rest_api;
