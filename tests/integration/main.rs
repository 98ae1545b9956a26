//! The integration tests: one binary, modules mirror the subcommands and
//! layers. Every test runs the built `gantry` binary.

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod gate;
mod github;
mod migrate;
mod run;
mod secrets;
