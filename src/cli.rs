//! The command line. Doc comments here are the `--help` text.

use crate::output::{ColorChoice, Format};
use crate::settings::PrinterFlags;
use crate::settings::config::{SeverityName, Step};
use crate::settings::migrate::MigrateFlags;
use crate::settings::scan::ScanFlags;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

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
    /// Scan the built images, directories and configuration with Trivy, and apply the policy
    Scan(ScanArgs),
    /// Push the built images to ECR or any OCI registry
    Push(PushArgs),
    /// Apply pending Supabase migrations (same history table as the Supabase CLI)
    Migrate(MigrateArgs),
    /// Deploy what `gantry push` pushed (to ECS or Railway), and wait for a true verdict
    Deploy(DeployArgs),
    /// On a release tag: check versions, build, and upload SDKs to PyPI and npm
    Publish(PublishArgs),
    /// Run the pipeline's steps in order, stopping at the first failure
    Run(RunArgs),
    /// Write workflows from gantry's templates and a gantry.toml for this repository
    Init(InitArgs),
}

/// What a subcommand runs: one step, the pipeline, or `init`.
#[derive(Debug, Clone, Copy)]
pub enum Runs<'a> {
    Step(Step),
    Pipeline(&'a RunArgs),
    Init(&'a InitArgs),
}

impl Commands {
    /// What this subcommand runs.
    pub fn runs(&self) -> Runs<'_> {
        match self {
            Commands::Gate(_) => Runs::Step(Step::Gate),
            Commands::Build(_) => Runs::Step(Step::Build),
            Commands::Scan(_) => Runs::Step(Step::Scan),
            Commands::Push(_) => Runs::Step(Step::Push),
            Commands::Migrate(_) => Runs::Step(Step::Migrate),
            Commands::Deploy(args) => Runs::Step(match args.target {
                DeployTarget::Ecs(_) => Step::DeployEcs,
                DeployTarget::Railway(_) => Step::DeployRailway,
            }),
            Commands::Publish(_) => Runs::Step(Step::Publish),
            Commands::Run(args) => Runs::Pipeline(args),
            Commands::Init(args) => Runs::Init(args),
        }
    }
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Templates to write [default: those that fit what the repository holds]
    #[arg(value_name = "TEMPLATE", value_enum)]
    pub templates: Vec<crate::init::Template>,
    /// Overwrite files that differ from what init writes (their diff is shown first)
    #[arg(long, conflicts_with = "check")]
    pub force: bool,
    /// Write nothing; exit 1 with the diff when the committed workflows differ from what init writes today
    #[arg(long)]
    pub check: bool,
    /// List the templates and exit
    #[arg(long)]
    pub list: bool,
    /// The repository to look at [default: the git work tree holding the current directory]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The branch whose pushes deploy
    #[arg(long, value_name = "NAME", default_value = "main")]
    pub branch: String,
    /// The gantry action the workflows use, `OWNER/REPO@REF` (pin a commit) [default: what the workflows already use, else this release's commit]
    #[arg(long, value_name = "OWNER/REPO@REF")]
    pub action_ref: Option<String>,
    /// The ECS cluster the services run in [default: a `<cluster>` placeholder to fill in]
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// The ECS or Railway service, when init writes one deploy [default: the task definition's family, else a `<service>` placeholder]
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
    /// The container of the ECS service's task definition that runs the image, when the repository holds no task definition [default: a `<container>` placeholder]
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,
    /// The Railway project [default: the one the project token RAILWAY_TOKEN is for]
    #[arg(long, value_name = "NAME")]
    pub railway_project: Option<String>,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Packages to publish [default: every [publish.*] package the tag selects]
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// The release tag (`v1.2.3`, or `<package>-v1.2.3`) [default: $GITHUB_REF_NAME on a tag push, else the tag at HEAD]
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
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

#[derive(Debug, Args, Default)]
pub struct ScanArgs {
    /// Built images to scan [default: every image `gantry build` built, unless a target flag is given]
    #[arg(value_name = "IMAGE")]
    pub names: Vec<String>,
    /// Scan a directory for vulnerabilities, secrets and misconfigurations (`trivy fs`; repeatable)
    #[arg(long, value_name = "PATH")]
    pub fs: Vec<PathBuf>,
    /// Scan the configuration files (Dockerfiles, Terraform, Kubernetes YAML) under a path (`trivy config`; repeatable)
    #[arg(long = "config-dir", value_name = "PATH")]
    pub config_dir: Vec<PathBuf>,
    /// Scan an image by reference (local engine first, then its registry; repeatable)
    #[arg(long, value_name = "REF")]
    pub image: Vec<String>,
    /// Scan an image archive written by `docker save` (repeatable)
    #[arg(long, value_name = "TAR")]
    pub input: Vec<PathBuf>,
    /// Fail at this severity and above, over [scan] fail-at [default: high]
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_at: Option<SeverityName>,
    /// Show findings at this severity and above, over [scan] show-at [default: low]
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub show_at: Option<SeverityName>,
    /// Leave out vulnerabilities without a fixed version (also [scan] ignore-unfixed)
    #[arg(long)]
    pub ignore_unfixed: bool,
    /// Write the SARIF file here [default: [scan] sarif, else gantry-scan.sarif next to the pipeline state]
    #[arg(long, value_name = "PATH")]
    pub sarif: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Images to push [default: every image in gantry.toml]
    #[arg(value_name = "IMAGE")]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(subcommand)]
    pub target: DeployTarget,
}

#[derive(Debug, Subcommand)]
pub enum DeployTarget {
    /// Roll out to Amazon ECS services ([deploy.*] with `ecs`), watch until a verdict, roll back on failure
    Ecs(DeployEcsArgs),
    /// Point Railway services at the pushed image (or redeploy) and watch each deployment to SUCCESS or FAILED
    Railway(DeployRailwayArgs),
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DeployEcsArgs {
    #[command(subcommand)]
    pub then: Option<EcsThen>,
    /// Deploys to run [default: every [deploy.*] section with `ecs`]
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Start a new deployment even when the task definition is unchanged
    #[arg(long)]
    pub force: bool,
    /// With a BLUE_GREEN, LINEAR or CANARY service: return once its deployment reaches this lifecycle stage (e.g. BAKE_TIME), its ARN as an output
    #[arg(long, value_name = "STAGE", value_parser = parse_stage)]
    pub wait_until: Option<String>,
}

/// What comes after a deploy that returned early (`--wait-until`, a paused hook).
#[derive(Debug, Subcommand)]
pub enum EcsThen {
    /// Continue a service deployment paused at a lifecycle hook, then follow it to a verdict
    Continue(EcsThenArgs),
    /// Stop the service deployment in progress with ROLLBACK, or (rolling) deploy the previous task definition again
    Rollback(EcsThenArgs),
    /// Check that the service runs, settled, the task definition the pipeline state recorded (reads only)
    Verify(EcsThenArgs),
}

#[derive(Debug, Args)]
pub struct EcsThenArgs {
    /// The deploy ([deploy.<name>] with `ecs`) [default: the only one]
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// The service deployment [default: the one `gantry deploy ecs` recorded in the pipeline state]
    #[arg(long, value_name = "ARN")]
    pub arn: Option<String>,
    /// After continuing: return once the deployment reaches this lifecycle stage
    #[arg(long, value_name = "STAGE", value_parser = parse_stage)]
    pub wait_until: Option<String>,
}

fn parse_stage(text: &str) -> Result<String, String> {
    crate::aws::ecs::lifecycle::stage(text)
        .map(str::to_string)
        .ok_or_else(|| {
            format!(
                "not a lifecycle stage; one of {}",
                crate::aws::ecs::lifecycle::STAGES.join(", ")
            )
        })
}

#[derive(Debug, Args)]
pub struct DeployRailwayArgs {
    /// [deploy.*] sections to deploy [default: every one with `railway`]
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct GateArgs {
    /// Gates to run [default: every gate in gantry.toml; none when a one-off command is given]
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    #[command(flatten)]
    pub options: GateOptions,
    /// With `-- CMD`: JUnit XML reports the command writes (path or glob), read as a gate's `junit` [default: none read]
    #[arg(long, value_name = "PATH", requires = "command")]
    pub junit: Vec<String>,
    /// With `-- CMD`: kill the command and everything it started after this long [default: 30m]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "command")]
    pub timeout: Option<Duration>,
    /// A one-off gate: the program and its arguments after `--`, run as a gate (no gantry.toml needed), e.g. `gantry gate -- pytest -q`
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
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
    /// In a pull request's workflow: also post the summary (with --dry-run, the plan) as one comment on the pull request, edited in place on each run
    #[arg(long)]
    pub comment: bool,
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

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MigrateArgs {
    #[command(subcommand)]
    pub command: Option<MigrateCommand>,
    #[command(flatten)]
    pub options: MigrateOptions,
}

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Mark migrations as applied or reverted in the history table without running them (as `supabase migration repair`)
    Repair(RepairArgs),
}

/// Options of `gantry migrate` (also used, with their defaults, by `gantry run`).
#[derive(Debug, Args, Default)]
pub struct MigrateOptions {
    /// PostgreSQL URL of the database [default: $SUPABASE_DB_URL, else the [migrate] project-ref with $SUPABASE_DB_PASSWORD]
    #[arg(long, value_name = "URL")]
    pub db_url: Option<String>,
    /// Also apply local migrations older than the newest applied one (refused by default)
    #[arg(long)]
    pub include_all: bool,
    /// Also apply the seed files (supabase/seed.sql, or [migrate] seeds) that were not applied yet
    #[arg(long)]
    pub include_seed: bool,
    /// Fail, instead of warning, when an applied migration file was changed afterwards (drift)
    #[arg(long)]
    pub strict: bool,
    /// How long to wait for another run's migration lock ("90s", "5m") [default: 60s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub lock_timeout: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct RepairArgs {
    /// What to record: `applied` inserts the versions' rows (from their local files), `reverted` deletes them
    #[arg(long, value_enum)]
    pub status: RepairStatus,
    /// Migration versions (the digits before `_` in the file name)
    #[arg(value_name = "VERSION", required = true)]
    pub versions: Vec<String>,
    /// PostgreSQL URL of the database [default: as `gantry migrate`]
    #[arg(long, value_name = "URL")]
    pub db_url: Option<String>,
    /// How long to wait for another run's migration lock [default: 60s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub lock_timeout: Option<Duration>,
}

/// `gantry migrate repair --status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RepairStatus {
    Applied,
    Reverted,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    match humantime::parse_duration(s) {
        Ok(d) => crate::duration::bounded(d),
        Err(e) => Err(format!("{e}: write it like \"90s\" or \"5m\"")),
    }
}

// The command line hands its flags to settings as plain values: settings
// never import this module.

impl GlobalArgs {
    pub fn printer_flags(&self) -> PrinterFlags {
        PrinterFlags {
            format: self.format,
            color: self.color,
            quiet: self.quiet,
            verbose: self.verbose,
        }
    }
}

impl From<&MigrateOptions> for MigrateFlags {
    fn from(o: &MigrateOptions) -> Self {
        MigrateFlags {
            db_url: o.db_url.clone(),
            include_all: o.include_all,
            include_seed: o.include_seed,
            strict: o.strict,
            lock_timeout: o.lock_timeout,
        }
    }
}

impl From<&ScanArgs> for ScanFlags {
    fn from(a: &ScanArgs) -> Self {
        ScanFlags {
            names: a.names.clone(),
            fs: a.fs.clone(),
            config_dir: a.config_dir.clone(),
            image: a.image.clone(),
            input: a.input.clone(),
            fail_at: a.fail_at,
            show_at: a.show_at,
            ignore_unfixed: a.ignore_unfixed,
            sarif: a.sarif.clone(),
        }
    }
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
