//! The relay's integration tests, one binary: end to end over HTTP
//! (`relay`) and into a real NATS JetStream server (`nats`).

mod common;
mod nats;
mod relay;
