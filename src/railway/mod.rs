//! Railway's public GraphQL API: the few operations `gantry deploy railway`
//! sends, a client that honours rate limits and retries what is safe to
//! retry, name-to-id resolution, and the deployment watcher.
//!
//! Every operation document is in [`ops`], and a test checks each against
//! Railway's published schema (`../shared/data/railway/schema.json`).

pub mod client;
pub mod ops;
pub mod resolve;
pub mod watch;

#[cfg(test)]
mod schema_check;

pub use client::{Client, RailwayError};
