//! The command line. Doc comments here are the `--help` text.

use crate::output::{ColorChoice, Format};
use crate::settings::config::Step;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// gantry: from `git push` to production in one binary. Runs the same
/// pipeline in GitHub Actions and locally as a dry run.
#[derive(Debug, Parser)]
#[command(
    name = "gantry",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Commands,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file [default: gantry.toml in this directory or the nearest parent]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Compute and print the plan without changing anything remote (local work such as gates still runs)
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Output format [default: github when GITHUB_ACTIONS=true, else human]
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,
    /// Print only errors, annotations and the result
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print more detail (commands run, files read); shows every gate's output
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// When to use colour (NO_COLOR and FORCE_COLOR are honoured with `auto`)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Run lint and test gates in parallel (only those whose paths changed)
    Gate(GateArgs),
    /// Build the container images of [images.*] through the Docker Engine
    Build(BuildArgs),
    /// Push the built images to ECR or any OCI registry
    Push(PushArgs),
    /// Run the pipeline's steps in order, stopping at the first failure
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Images to build [default: every image in gantry.toml]
    #[arg(value_name = "IMAGE")]
    pub names: Vec<String>,
    /// How many images build at once [default: number of CPUs]
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub build_args: BuildArgOverrides,
}

/// `--build-arg`, shared by `build` and `run`.
#[derive(Debug, Args, Default)]
pub struct BuildArgOverrides {
    /// A build argument for every image, over gantry.toml's `build-args` (repeatable)
    #[arg(long = "build-arg", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub values: Vec<(String, String)>,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Images to push [default: every image in gantry.toml]
    #[arg(value_name = "IMAGE")]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct GateArgs {
    /// Gates to run [default: every gate in gantry.toml]
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    #[command(flatten)]
    pub options: GateOptions,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Steps to run [default: [pipeline] steps in gantry.toml]
    #[arg(value_name = "STEP", value_enum)]
    pub steps: Vec<Step>,
    #[command(flatten)]
    pub options: GateOptions,
    #[command(flatten)]
    pub build_args: BuildArgOverrides,
}

/// Options of the gates, shared by `gate` and `run`.
#[derive(Debug, Args)]
pub struct GateOptions {
    /// Count changed files since this git revision (committed and uncommitted); in CI the pull request base or the push's previous commit is used
    #[arg(long, value_name = "REV")]
    pub since: Option<String>,
    /// How many gates run at once [default: number of CPUs]
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
