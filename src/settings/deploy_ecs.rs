//! Settings of `gantry deploy ecs`: the `ecs` keys of `[deploy.*]` resolved
//! into one [`EcsDeploy`] per service before anything is asked of AWS.

use super::Project;
use super::values::{Name, duration};
use crate::aws::ecs::strategy::{KINDS, Strategy};
use crate::environment::{self as env, Environment};
use crate::error::{Error, Result};
use indexmap::IndexMap;
use serde::Deserialize;

use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;

/// How long a rollout may take before gantry rolls it back.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// The steady polling interval; the first polls come twice as fast.
pub const DEFAULT_POLL: Duration = Duration::from_secs(2);

/// `ecs = { ... }` under `[deploy.<name>]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EcsTarget {
    /// Cluster name or ARN.
    pub cluster: String,
    /// Service name or ARN.
    pub service: String,
    /// A JSON file (as `aws ecs describe-task-definition` prints it),
    /// relative to `gantry.toml`; or a task definition ARN to deploy as it is;
    /// default: the service's current task definition.
    pub task_definition: Option<Spanned<String>>,
    /// AWS region; default: the AWS SDK's (`AWS_REGION`, profile).
    pub region: Option<String>,
    /// Environment variables set in every mapped container (over the file's).
    #[serde(default)]
    pub environment: IndexMap<String, String>,
    /// Secrets (`NAME = "<Secrets Manager or SSM ARN>"`) set in every mapped container.
    #[serde(default)]
    pub secrets: IndexMap<String, String>,
    /// The service's desired count after the deploy; default: unchanged.
    pub desired_count: Option<i32>,
    /// A one-off task run with the new task definition before the service is updated.
    pub run_task: Option<RunTaskConfig>,
    /// How long the rollout may take before it is rolled back: `"15m"`.
    #[serde(default, deserialize_with = "duration")]
    pub timeout: Option<Duration>,
    /// Steady polling interval while watching: `"2s"` (the first polls are twice as fast).
    #[serde(default, deserialize_with = "duration")]
    pub poll_interval: Option<Duration>,
    /// Roll back to the previous task definition on failure or timeout (default true).
    #[serde(default = "yes")]
    pub rollback: bool,
    /// Deregister the new revision when its deploy failed.
    #[serde(default)]
    pub deregister_failed: bool,
    /// After a success, keep only the newest N active revisions of the family.
    pub keep_revisions: Option<u32>,
    /// Deploy even when the task definition is unchanged (a new deployment of the same revision).
    #[serde(default)]
    pub force: bool,
    /// For a service whose strategy is BLUE_GREEN, LINEAR or CANARY: return
    /// once its service deployment reaches this lifecycle stage (`"BAKE_TIME"`).
    pub wait_until: Option<Spanned<String>>,
    /// The service's deployment strategy, set with the update:
    /// `{ strategy = "canary", bake-minutes = 10, canary-percent = 10, canary-bake-minutes = 5 }`.
    pub deployment: Option<Spanned<DeploymentConfig>>,
}

/// `deployment = { strategy = ... }`: keys as in ECS's `deploymentConfiguration`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DeploymentConfig {
    /// `rolling`, `blue-green`, `linear` or `canary`.
    pub strategy: String,
    /// How long both revisions run after the production traffic shifted (`bakeTimeInMinutes`).
    pub bake_minutes: Option<i32>,
    /// CANARY: the share of production traffic the canary gets first.
    pub canary_percent: Option<f64>,
    /// CANARY: how long the canary bakes before the rest shifts.
    pub canary_bake_minutes: Option<i32>,
    /// LINEAR: the share of production traffic each step shifts.
    pub step_percent: Option<f64>,
    /// LINEAR: how long each step bakes.
    pub step_bake_minutes: Option<i32>,
}

impl DeploymentConfig {
    /// As ECS names it, or why not.
    fn to_strategy(&self) -> std::result::Result<Strategy, String> {
        let kind = self.strategy.trim().to_ascii_uppercase().replace('-', "_");
        if !KINDS.contains(&kind.as_str()) {
            return Err(format!(
                "strategy `{}` is not one of rolling, blue-green, linear, canary",
                self.strategy
            ));
        }
        let canary = self.canary_percent.is_some() || self.canary_bake_minutes.is_some();
        let linear = self.step_percent.is_some() || self.step_bake_minutes.is_some();
        if canary && kind != "CANARY" || linear && kind != "LINEAR" {
            return Err(format!(
                "canary-* keys go with strategy canary and step-* keys with linear, not {}",
                self.strategy
            ));
        }
        if kind == "ROLLING" && self.bake_minutes.is_some() {
            return Err("a rolling update has no bake time".into());
        }
        let percent_ok = |p: Option<f64>| p.is_none_or(|p| p > 0.0 && p <= 100.0);
        if !percent_ok(self.canary_percent) || !percent_ok(self.step_percent) {
            return Err("a percent is more than 0 and at most 100".into());
        }
        let minutes = [
            self.bake_minutes,
            self.canary_bake_minutes,
            self.step_bake_minutes,
        ];
        if minutes.into_iter().flatten().any(|m| m < 0) {
            return Err("minutes cannot be negative".into());
        }
        Ok(Strategy {
            kind,
            bake_minutes: self.bake_minutes,
            canary_percent: self.canary_percent,
            canary_bake_minutes: self.canary_bake_minutes,
            step_percent: self.step_percent,
            step_bake_minutes: self.step_bake_minutes,
        })
    }
}

/// `run-task = { command = [...] }`: for example database migrations.
/// By default the task runs as the service's tasks do (launch type or
/// capacity providers, network); each key below overrides one part.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RunTaskConfig {
    /// The container whose command is overridden; default: the first mapped container.
    pub container: Option<String>,
    /// The command (argv) the container runs instead of its own.
    pub command: Vec<String>,
    /// How long the task may run: `"10m"` (default).
    #[serde(default, deserialize_with = "duration")]
    pub timeout: Option<Duration>,
    /// Subnets (awsvpc) instead of the service's.
    #[serde(default)]
    pub subnets: Vec<String>,
    /// Security groups (awsvpc) instead of the service's.
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// Whether the task gets a public IP (awsvpc); default: as the service.
    pub assign_public_ip: Option<bool>,
    /// `FARGATE`, `EC2` or `EXTERNAL` instead of the service's launch type or capacity providers.
    pub launch_type: Option<String>,
    /// A capacity provider (e.g. `FARGATE_SPOT`) instead of the service's launch type or strategy.
    pub capacity_provider: Option<String>,
    /// Environment variables set in the container for this task only.
    #[serde(default)]
    pub environment: IndexMap<String, String>,
    /// Tags of the task.
    #[serde(default)]
    pub tags: IndexMap<String, String>,
}

fn yes() -> bool {
    true
}

/// Where the new task definition comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A JSON file in the repository.
    File(PathBuf),
    /// An existing revision, deployed without registering.
    Arn(String),
    /// The service's current task definition, with new images.
    Current,
}

/// One ECS service to deploy, fully resolved.
#[derive(Debug, Clone)]
pub struct EcsDeploy {
    pub name: String,
    pub cluster: String,
    pub service: String,
    pub region: Option<String>,
    pub source: Source,
    /// Container → image name.
    pub containers: IndexMap<String, String>,
    pub environment: IndexMap<String, String>,
    pub secrets: IndexMap<String, String>,
    pub desired_count: Option<i32>,
    pub run_task: Option<RunTaskConfig>,
    pub timeout: Duration,
    pub poll: Duration,
    pub rollback: bool,
    pub deregister_failed: bool,
    pub keep_revisions: Option<u32>,
    pub force: bool,
    /// A lifecycle stage of [`crate::aws::ecs::lifecycle::STAGES`].
    pub wait_until: Option<String>,
    /// The deployment strategy to set, when gantry.toml says.
    pub strategy: Option<Strategy>,
}

/// The ECS deploys of `gantry.toml`, or only the named ones.
pub fn resolve(
    project: &Project,
    env: &Environment,
    names: &[String],
    force: bool,
    wait_until: Option<&str>,
) -> Result<Vec<EcsDeploy>> {
    let configured: Vec<&str> = project
        .config
        .deploy
        .iter()
        .filter(|(_, d)| d.ecs.is_some())
        .map(|(n, _)| n.0.as_str())
        .collect();
    super::check_selected(
        project,
        names,
        &configured,
        "ECS deploy",
        "[deploy.*] with `ecs`",
    )?;
    // Tests and benchmarks poll a local stand-in much faster than AWS allows.
    let poll_override = match env.get(env::GANTRY_ECS_POLL_INTERVAL) {
        Some(v) => Some(
            humantime::parse_duration(v)
                .map_err(|e| e.to_string())
                .and_then(crate::duration::bounded)
                .map_err(|e| {
                    Error::usage(
                        format!("{}=`{v}`: {e}", env::GANTRY_ECS_POLL_INTERVAL),
                        Some("write it like \"2s\" or \"100ms\"".into()),
                    )
                })?,
        ),
        None => None,
    };
    let mut out = Vec::new();
    for (name, cfg) in &project.config.deploy {
        let Some(ecs) = &cfg.ecs else { continue };
        if !names.is_empty() && !names.contains(&name.0) {
            continue;
        }
        out.push(EcsDeploy {
            name: name.0.clone(),
            cluster: ecs.cluster.clone(),
            service: ecs.service.clone(),
            region: ecs.region.clone(),
            source: source(project, ecs),
            containers: cfg.containers.clone(),
            environment: ecs.environment.clone(),
            secrets: ecs.secrets.clone(),
            desired_count: ecs.desired_count,
            run_task: ecs.run_task.clone(),
            timeout: ecs.timeout.unwrap_or(DEFAULT_TIMEOUT),
            poll: poll_override.or(ecs.poll_interval).unwrap_or(DEFAULT_POLL),
            rollback: ecs.rollback,
            deregister_failed: ecs.deregister_failed,
            keep_revisions: ecs.keep_revisions,
            force: force || ecs.force,
            wait_until: wait_until
                .or(ecs.wait_until.as_ref().map(|w| w.get_ref().as_str()))
                .and_then(crate::aws::ecs::lifecycle::stage)
                .map(str::to_string),
            // Checked by `validate`.
            strategy: ecs
                .deployment
                .as_ref()
                .and_then(|c| c.get_ref().to_strategy().ok()),
        });
    }
    Ok(out)
}

fn source(project: &Project, ecs: &EcsTarget) -> Source {
    match ecs.task_definition.as_ref().map(toml::Spanned::get_ref) {
        None => Source::Current,
        Some(s) if s.starts_with("arn:") => Source::Arn(s.clone()),
        Some(path) => Source::File(project.root.join(path)),
    }
}

/// Checks of `[deploy.*]` that need the file system or other sections.
pub fn validate(project: &Project, text: &str) -> Result<()> {
    for (name, cfg) in &project.config.deploy {
        let Some(ecs) = &cfg.ecs else { continue };
        check_name(name, cfg.containers.keys(), project)?;
        if let Some(td) = &ecs.task_definition
            && !td.get_ref().starts_with("arn:")
            && !project.root.join(td.get_ref()).is_file()
        {
            return Err(super::toml_error::at_span(
                &project.file,
                text,
                td.span(),
                format!(
                    "deploy.{name}.ecs.task-definition: no file `{}`",
                    td.get_ref()
                ),
                Some(
                    "give a JSON file relative to gantry.toml (as `aws ecs describe-task-definition` prints it) or a task definition ARN"
                        .into(),
                ),
            )
            .into());
        }
        if let Some(stage) = &ecs.wait_until
            && crate::aws::ecs::lifecycle::stage(stage.get_ref()).is_none()
        {
            return Err(super::toml_error::at_span(
                &project.file,
                text,
                stage.span(),
                format!(
                    "deploy.{name}.ecs.wait-until: `{}` is not a lifecycle stage",
                    stage.get_ref()
                ),
                Some(format!(
                    "one of {}",
                    crate::aws::ecs::lifecycle::STAGES.join(", ")
                )),
            )
            .into());
        }
        if let Some(c) = &ecs.deployment
            && let Err(why) = c.get_ref().to_strategy()
        {
            return Err(super::toml_error::at_span(
                &project.file,
                text,
                c.span(),
                format!("deploy.{name}.ecs.deployment: {why}"),
                Some("see the README's ECS section for the keys".into()),
            )
            .into());
        }
        if let Some(rt) = &ecs.run_task
            && rt.launch_type.is_some()
            && rt.capacity_provider.is_some()
        {
            return Err(Error::usage(
                format!("deploy.{name}.ecs.run-task: both launch-type and capacity-provider"),
                Some("ECS takes one or the other: keep one".into()),
            ));
        }
        if let Some(launch) = ecs.run_task.as_ref().and_then(|r| r.launch_type.as_ref())
            && !["FARGATE", "EC2", "EXTERNAL"].contains(&launch.as_str())
        {
            return Err(Error::usage(
                format!("deploy.{name}.ecs.run-task.launch-type: `{launch}` is not a launch type"),
                Some("one of FARGATE, EC2, EXTERNAL".into()),
            ));
        }
        if ecs.run_task.as_ref().is_some_and(|r| r.command.is_empty()) {
            return Err(Error::usage(
                format!("deploy.{name}.ecs.run-task.command is empty"),
                Some("give the command as a list: [\"python\", \"-m\", \"migrate\"]".into()),
            ));
        }
    }
    Ok(())
}

fn check_name<'a>(
    name: &Name,
    containers: impl Iterator<Item = &'a String>,
    project: &Project,
) -> Result<()> {
    let images: Vec<&str> = project.config.images.keys().map(|n| n.0.as_str()).collect();
    for container in containers {
        let image = &project.config.deploy[name].containers[container];
        if !images.contains(&image.as_str()) {
            let hint = match super::toml_error::closest(image, &images) {
                Some(best) => format!("did you mean `{best}`?"),
                None => "each container maps to the name of an [images.*] section".into(),
            };
            return Err(Error::usage(
                format!("deploy.{name}.containers.{container}: no image named `{image}`"),
                Some(hint),
            ));
        }
    }
    Ok(())
}
