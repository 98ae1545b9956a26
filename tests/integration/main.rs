//! The integration tests: one binary, modules mirror the subcommands and
//! layers. Every test runs the built `gantry` binary.

#[path = "../support/mod.rs"]
mod support;

mod action;
mod build;
mod cli;
mod deploy_ecs;
mod deploy_railway;
mod dockerignore;
mod gate;
mod github;
mod init;
mod migrate;
mod publish;
mod push;
mod run;
mod scan;
mod secrets;
mod templates;
