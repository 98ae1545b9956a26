//! `gantry deploy ecs`: deploy what `gantry push` pushed, by digest, to ECS
//! services, and say truly how it went.
//!
//! Plan first: read each service and its running task definition, render
//! the new one (the pushed digests, environment and secrets), and diff the
//! two. No difference means nothing to do. A real run registers the new
//! revision, runs the optional one-off task, updates the service and
//! watches the rollout until ECS gives a verdict (or its tasks cannot run),
//! rolling back to the previous revision when it fails.

mod follow_up;
mod render;

use super::Session;
use crate::aws::ecs::rollout::{self, Finished, NewDefinition, OneOff, Rollout};
use crate::aws::ecs::taskdef::{self, Render};
use crate::aws::ecs::{Ecs, Service, TaskOptions, family_of};
use crate::cli::{Commands, DeployArgs, DeployTarget};
use crate::driver::{Invocation, Ran, StepCommand};
use crate::error::{Error, Result};
use crate::output::github::{Annotation, Level};
use crate::plan::Plan;
use crate::registry::{self, Registry};
use crate::report::{StepReport, Verdict};
use crate::runtime;
use crate::settings::config::{Config, Step};
use crate::settings::deploy_ecs::{self as settings, EcsDeploy, Source};
use crate::state::State;
use futures_util::future::join_all;
use indexmap::IndexMap;
use render::{detail_of_plan, markdown, to_plan};
use serde_json::Value;

/// `gantry deploy ecs`, for the driver.
pub struct DeployEcsStep;

impl StepCommand for DeployEcsStep {
    fn step(&self) -> Step {
        Step::DeployEcs
    }

    fn configured(&self, config: &Config) -> bool {
        config.deploy.values().any(|d| d.ecs.is_some())
    }

    fn execute(&self, session: &Session, invocation: Invocation) -> Result<Ran> {
        let report = match invocation {
            Invocation::Alone(Commands::Deploy(DeployArgs {
                target: DeployTarget::Ecs(args),
            })) => match &args.then {
                // `continue`, `rollback` or `verify` after a deploy.
                Some(then) => follow_up::execute(session, then),
                None => execute_until(session, &args.names, args.force, args.wait_until.as_deref()),
            },
            _ => execute(session, &[], false),
        };
        report.map(Ran::Step)
    }
}

/// One deploy, planned.
struct Planned<'a> {
    deploy: &'a EcsDeploy,
    /// `None` in a local dry run that could not reach AWS.
    ecs: Option<Ecs>,
    service: Option<Service>,
    running_arn: String,
    new: NewDefinition,
    diff: Option<String>,
    /// Something to do: a difference, or `force`.
    changed: bool,
    /// The revisions `keep-revisions` deregisters once the rollout succeeds.
    stale: Vec<String>,
    /// A new deployment strategy to send with the update, and its diff.
    configuration: Option<(aws_sdk_ecs::types::DeploymentConfiguration, String)>,
}

pub fn execute(session: &Session, names: &[String], force: bool) -> Result<StepReport> {
    execute_until(session, names, force, None)
}

/// As [`execute`]; `wait_until` (a lifecycle stage) overrides the config's.
pub fn execute_until(
    session: &Session,
    names: &[String],
    force: bool,
    wait_until: Option<&str>,
) -> Result<StepReport> {
    let deploys = settings::resolve(&session.project, session.env, names, force, wait_until)?;
    if deploys.is_empty() {
        return Err(Error::usage(
            format!(
                "{} has no [deploy.*] section with `ecs`",
                session.project.file.display()
            ),
            Some("add `ecs = { cluster = \"...\", service = \"...\" }` under [deploy.<name>] (see the README)".into()),
        ));
    }
    let state = session.state()?;
    runtime::block_on(async {
        let planned: Vec<Result<Planned>> =
            join_all(deploys.iter().map(|d| plan_deploy(session, &state, d))).await;
        let planned: Vec<Planned> = planned.into_iter().collect::<Result<_>>()?;
        let plan = to_plan(&planned);
        for p in &planned {
            match &p.diff {
                // The diff itself is shown once, in the plan.
                Some(_) => session.printer.info(&format!(
                    "[{}] the task definition changes: see the plan",
                    p.deploy.name
                )),
                None if p.changed => session.printer.info(&format!(
                    "[{}] task definition unchanged: forcing a new deployment",
                    p.deploy.name
                )),
                None => session.printer.outcome(
                    Some(true),
                    &format!(
                        "✓ [{}] {} already runs this task definition: nothing to deploy",
                        p.deploy.name, p.deploy.service
                    ),
                ),
            }
        }
        if session.dry_run {
            let detail = planned.iter().map(detail_of_plan).collect();
            session
                .printer
                .summary(&markdown(&planned, &[], Verdict::Passed, true));
            let unchecked = planned
                .iter()
                .filter(|p| p.ecs.is_none())
                .map(|p| format!("{}: ECS was not reached", p.deploy.name))
                .collect();
            return Ok(
                report(session, Verdict::Passed, plan, IndexMap::new(), detail)
                    .unchecked(unchecked),
            );
        }
        let results = join_all(planned.iter().map(|p| apply(session, p))).await;
        let mut finished = Vec::new();
        let mut first_error = None;
        for r in results {
            match r {
                Ok(f) => finished.push(f),
                // The first error is the command's; the others are shown here.
                Err(e) if first_error.is_some() => session.printer.error(&e),
                Err(e) => first_error = Some(e),
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let verdict = if finished.iter().all(|f| f.verdict == Verdict::Passed) {
            Verdict::Passed
        } else {
            Verdict::Failed
        };
        let mut outputs = IndexMap::new();
        for f in &finished {
            let mut put = |k: &str, v: &str| {
                if !v.is_empty() {
                    outputs.insert(format!("deploy-{}-{k}", f.name), v.to_string());
                }
            };
            put("task-definition", &f.task_definition);
            put("previous-task-definition", &f.previous);
            put("deployment-id", &f.deployment_id);
            put("service-deployment-arn", &f.service_deployment);
            put("lifecycle-stage", &f.stage);
            put("console-url", &f.console_url);
            let good = f.verdict == Verdict::Passed;
            if !good {
                session.printer.annotate(
                    Annotation::new(Level::Error, f.explanation.clone())
                        .titled(format!("deploy ecs: {} failed", f.name)),
                );
            }
            session.printer.outcome(
                Some(good),
                &format!(
                    "{} [{}] {}",
                    if good { "✓" } else { "✗" },
                    f.name,
                    f.explanation
                ),
            );
        }
        session
            .printer
            .summary(&markdown(&planned, &finished, verdict, false));
        let detail = finished
            .iter()
            .map(|f| {
                let mut v = serde_json::json!({
                    "name": f.name,
                    "verdict": f.verdict,
                    "task_definition": f.task_definition,
                    "previous_task_definition": f.previous,
                    "deployment_id": f.deployment_id,
                    "console_url": f.console_url,
                    "explanation": f.explanation,
                    "cancelled": f.cancelled,
                });
                // Only ECS's own lifecycle (not a rolling update) has these.
                if !f.service_deployment.is_empty() {
                    v["service_deployment"] = f.service_deployment.clone().into();
                    v["lifecycle_stage"] = f.stage.clone().into();
                }
                v
            })
            .collect();
        Ok(report(session, verdict, plan, outputs, detail))
    })?
}

fn report(
    session: &Session,
    verdict: Verdict,
    plan: Plan,
    outputs: IndexMap<String, String>,
    detail: Vec<Value>,
) -> StepReport {
    StepReport::new(Step::DeployEcs, verdict, session.dry_run)
        .plan(plan)
        .outputs(outputs)
        .detail(serde_json::json!({ "deploys": detail }))
}

/// The image each mapped container gets: the digest `push` recorded.
fn images<'a>(
    session: &Session,
    state: &State,
    d: &'a EcsDeploy,
) -> Result<Vec<(&'a str, String)>> {
    let mut out = Vec::new();
    for (container, image) in &d.containers {
        let reference = match state.pushed(image) {
            Some(r) => r.to_string(),
            // A dry run pushes nothing: show where the digest will go.
            None if session.dry_run => {
                let repo = session
                    .project
                    .config
                    .images
                    .iter()
                    .find(|(n, _)| n.0 == *image)
                    .map_or_else(
                        || image.clone(),
                        |(_, c)| {
                            let registry = Registry::parse(c.registry.as_deref());
                            registry::repository_ref(
                                &registry.planned_host(),
                                c.repository.get_ref(),
                            )
                        },
                    );
                format!("{repo}@<digest pushed by gantry push>")
            }
            None => {
                return Err(Error::usage(
                    format!(
                        "deploy `{}`: image `{image}` was not pushed in this pipeline (no digest in {})",
                        d.name,
                        session.state_path.display()
                    ),
                    Some(
                        "run `gantry push` first, or `gantry run` with push before deploy-ecs"
                            .into(),
                    ),
                ));
            }
        };
        out.push((container.as_str(), reference));
    }
    Ok(out)
}

async fn plan_deploy<'a>(
    session: &Session<'_>,
    state: &State,
    d: &'a EcsDeploy,
) -> Result<Planned<'a>> {
    let images = images(session, state, d)?;
    let spec = Render {
        images,
        environment: d
            .environment
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
        secrets: d
            .secrets
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
    };
    let ecs = Ecs::connect(d.region.clone()).await;
    let remote = async {
        let service = ecs.service(&d.cluster, &d.service).await?;
        let running = ecs.task_definition(&service.task_definition).await?;
        Ok::<_, Error>((service, running))
    }
    .await;
    let (service, running) = match remote {
        Ok(r) => r,
        // A laptop has no AWS credentials for production: a local dry run
        // still shows the rendered file, and says what it could not check.
        Err(e) if session.go_on_without_remote(&e) && matches!(d.source, Source::File(_)) => {
            session.printer.warn(&format!(
                "{}: not checked against ECS ({e}); the diff is against {}; {}",
                d.name,
                file_name(d),
                session.without_remote().unwrap_or_default()
            ));
            let file = read_file(d)?;
            let new = taskdef::render(&file, &spec).map_err(|m| render_error(d, &m))?;
            let diff = taskdef::diff(&file, &new, &file_name(d), "new revision");
            return Ok(Planned {
                deploy: d,
                ecs: None,
                service: None,
                running_arn: String::new(),
                changed: diff.is_some() || d.force,
                new: NewDefinition::Register(new),
                diff,
                stale: Vec::new(),
                configuration: None,
            });
        }
        Err(e) => return Err(e),
    };
    let running_arn = service.task_definition.clone();
    let (new, new_value, label) = match &d.source {
        Source::Arn(arn) => {
            let value = ecs.task_definition(arn).await?;
            (NewDefinition::Existing(arn.clone()), value, arn.clone())
        }
        Source::File(_) => {
            let new = taskdef::render(&read_file(d)?, &spec).map_err(|m| render_error(d, &m))?;
            (
                NewDefinition::Register(new.clone()),
                new,
                "new revision".into(),
            )
        }
        Source::Current => {
            let mut base = running.clone();
            if let Some(o) = base.as_object_mut() {
                for key in taskdef::READ_ONLY {
                    o.remove(*key);
                }
            }
            let new = taskdef::render(&base, &spec).map_err(|m| render_error(d, &m))?;
            (
                NewDefinition::Register(new.clone()),
                new,
                "new revision".into(),
            )
        }
    };
    let mut diff = taskdef::diff(&running, &new_value, &running_arn, &label);
    if let NewDefinition::Existing(arn) = &new
        && *arn != running_arn
        && diff.is_none()
    {
        diff = Some(format!(
            "--- {running_arn}\n+++ {arn}\n(same content, another revision)"
        ));
    }
    let at = format!("{}/{}", d.cluster, d.service);
    let configuration = match &d.strategy {
        Some(s) => s.plan(&service, &at)?,
        None => None,
    };
    let changed = diff.is_some() || d.force || configuration.is_some();
    let stale = match d.keep_revisions {
        Some(keep) if changed => stale_revisions(session, &ecs, d, &new, keep).await,
        _ => Vec::new(),
    };
    Ok(Planned {
        deploy: d,
        changed,
        stale,
        ecs: Some(ecs),
        service: Some(service),
        running_arn,
        new,
        diff,
        configuration,
    })
}

/// The active revisions beyond the newest `keep` once `new` is deployed:
/// what `keep-revisions` deregisters after a success, known before anything
/// changes so that the plan lists it. A registered revision will be the
/// newest, so it takes one of the places kept. Listing them is housekeeping:
/// when it fails, the deploy goes on and deregisters nothing.
async fn stale_revisions(
    session: &Session<'_>,
    ecs: &Ecs,
    d: &EcsDeploy,
    new: &NewDefinition,
    keep: u32,
) -> Vec<String> {
    let keep = keep.max(1) as usize;
    let (family, deployed, kept) = match new {
        NewDefinition::Register(td) => (taskdef::family(td).to_string(), None, keep - 1),
        NewDefinition::Existing(arn) => (family_of(arn).to_string(), Some(arn), keep),
    };
    match ecs.active_revisions(&family).await {
        Ok(active) => active
            .into_iter()
            .skip(kept)
            .filter(|arn| Some(arn) != deployed)
            .collect(),
        Err(e) => {
            session
                .printer
                .warn(&format!("[{}] keep-revisions: {e}", d.name));
            Vec::new()
        }
    }
}

fn file_name(d: &EcsDeploy) -> String {
    match &d.source {
        Source::File(p) => p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        _ => String::new(),
    }
}

fn read_file(d: &EcsDeploy) -> Result<Value> {
    let Source::File(path) = &d.source else {
        return Err(Error::usage("no task definition file", None));
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display()), None))?;
    taskdef::parse(&text).map_err(|m| {
        Error::usage(
            format!("{}: not a task definition: {m}", path.display()),
            Some(
                "write it as `aws ecs describe-task-definition --query taskDefinition` prints it"
                    .into(),
            ),
        )
    })
}

fn render_error(d: &EcsDeploy, message: &str) -> Error {
    Error::usage(
        format!("deploy `{}`: {message}", d.name),
        Some(format!("check `containers` under [deploy.{}]", d.name)),
    )
}

/// Carries out one planned deploy: the rollout itself lives with the ECS
/// integration, which is told what to do in plain terms.
async fn apply(session: &Session<'_>, p: &Planned<'_>) -> Result<Finished> {
    let d = p.deploy;
    let (Some(ecs), Some(service)) = (&p.ecs, &p.service) else {
        return Err(Error::external(
            "AWS ECS",
            format!("{}: ECS was not reachable", d.name),
        ));
    };
    let one_off = d.run_task.as_ref().map(|rt| OneOff {
        container: rt
            .container
            .clone()
            .or_else(|| d.containers.keys().next().cloned())
            .unwrap_or_default(),
        command: rt.command.clone(),
        timeout: rt.timeout,
        options: TaskOptions {
            subnets: rt.subnets.clone(),
            security_groups: rt.security_groups.clone(),
            assign_public_ip: rt.assign_public_ip,
            launch_type: rt.launch_type.clone(),
            capacity_provider: rt.capacity_provider.clone(),
            environment: rt.environment.clone().into_iter().collect(),
            tags: rt.tags.clone().into_iter().collect(),
        },
    });
    let rollout = Rollout {
        name: d.name.clone(),
        cluster: d.cluster.clone(),
        service: d.service.clone(),
        desired_count: d.desired_count,
        one_off,
        poll: d.poll,
        timeout: d.timeout,
        rollback: d.rollback,
        deregister_failed: d.deregister_failed,
        deregister_after_success: p.stale.clone(),
        running_arn: p.running_arn.clone(),
        new: p.new.clone(),
        differs: p.diff.is_some(),
        changed: p.changed,
        wait_until: d.wait_until.clone(),
        configuration: p.configuration.as_ref().map(|(c, _)| c.clone()),
    };
    rollout::apply(&rollout, ecs, service, session.printer).await
}
