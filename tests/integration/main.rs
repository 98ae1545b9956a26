//! The integration tests: one binary, modules mirror the subcommands and
//! layers. Every test runs the built `gantry` binary.

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod dockerignore;
mod gate;
mod github;
mod run;
mod secrets;
