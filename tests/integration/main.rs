//! The integration tests: one binary, modules mirror the subcommands and
//! layers. Every test runs the built `gantry` binary.

// The helpers in `support` are `pub` for the test modules of this binary.
#![allow(unreachable_pub)]

#[path = "../support/mod.rs"]
mod support;

mod action;
mod build;
mod buildkit;
mod cancel;
mod cli;
mod deploy_ecs;
mod deploy_railway;
mod dist;
mod dockerignore;
mod docs;
mod fidelity;
mod gate;
mod github;
mod hardening;
mod init;
mod injection;
mod migrate;
mod publish;
mod push;
mod run;
mod scan;
mod scan_vulns;
mod secrets;
mod sigstore;
mod snapshots;
mod templates;
