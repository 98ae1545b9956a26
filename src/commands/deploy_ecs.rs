//! `gantry deploy ecs`: deploy what `gantry push` pushed, by digest, to ECS
//! services, and say truly how it went.
//!
//! Plan first: read each service and its running task definition, render
//! the new one (the pushed digests, environment and secrets), and diff the
//! two. No difference means nothing to do. A real run registers the new
//! revision, runs the optional one-off task, updates the service and
//! watches the rollout until ECS gives a verdict (or its tasks cannot run),
//! rolling back to the previous revision when it fails.

use super::Session;
use crate::aws::ecs::taskdef::{self, Render};
use crate::aws::ecs::watch::{self, Outcome, Watch};
use crate::aws::ecs::{self, Ecs, Service, Task};
use crate::aws::logs::{self, Logs};
use crate::cli::DeployEcsArgs;
use crate::error::{Error, Result};
use crate::output::github::{Annotation, Level};
use crate::plan::{Action, Change, Plan};
use crate::report::{StepReport, Verdict};
use crate::runtime;
use crate::settings::config::Step;
use crate::settings::deploy_ecs::{self as settings, EcsDeploy, Source};
use crate::state::State;
use futures_util::future::join_all;
use indexmap::IndexMap;
use serde_json::Value;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// How long a one-off task may run when `run-task.timeout` is not set.
const RUN_TASK_TIMEOUT: Duration = Duration::from_secs(10 * 60);

pub fn cmd_deploy_ecs(args: &DeployEcsArgs, session: &Session) -> Result<Verdict> {
    session.finish(execute(session, &args.names, args.force)?)
}

/// The new task definition of one deploy.
enum NewDefinition {
    /// Rendered JSON to register.
    Register(Value),
    /// An existing revision, deployed as it is.
    Existing(String),
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
}

/// What one deploy ended with.
struct Finished {
    name: String,
    verdict: Verdict,
    task_definition: String,
    previous: String,
    deployment_id: String,
    console_url: String,
    /// What happened, in one or two sentences.
    explanation: String,
}

pub fn execute(session: &Session, names: &[String], force: bool) -> Result<StepReport> {
    let deploys = settings::resolve(&session.project, session.env, names, force)?;
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
                Some(diff) => {
                    session
                        .printer
                        .info(&format!("[{}] task definition changes:", p.deploy.name));
                    session.printer.diff(diff);
                }
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
                serde_json::json!({
                    "name": f.name,
                    "verdict": f.verdict,
                    "task_definition": f.task_definition,
                    "previous_task_definition": f.previous,
                    "deployment_id": f.deployment_id,
                    "console_url": f.console_url,
                    "explanation": f.explanation,
                })
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
                    .map(|(_, c)| c.repository.get_ref().clone())
                    .unwrap_or_else(|| image.clone());
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
        Err(e @ Error::External { .. })
            if session.dry_run && !session.context.ci && matches!(d.source, Source::File(_)) =>
        {
            session.printer.warn(&format!(
                "{}: not checked against ECS ({e}); the diff is against {}; CI will check it",
                d.name,
                file_name(d)
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
    Ok(Planned {
        deploy: d,
        changed: diff.is_some() || d.force,
        ecs: Some(ecs),
        service: Some(service),
        running_arn,
        new,
        diff,
    })
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

fn to_plan(planned: &[Planned]) -> Plan {
    let mut changes = Vec::new();
    for p in planned.iter().filter(|p| p.changed) {
        let d = p.deploy;
        let register = matches!(p.new, NewDefinition::Register(_)) && p.diff.is_some();
        if let NewDefinition::Register(td) = &p.new
            && register
        {
            changes.push(Change {
                action: Action::Create,
                target: format!("task definition {}", taskdef::family(td)),
                summary: "register a new revision".into(),
                diff: p.diff.clone(),
            });
        }
        if let Some(rt) = &d.run_task {
            changes.push(Change {
                action: Action::Run,
                target: format!("one-off task in {}", d.cluster),
                summary: format!("run `{}` before the service update", rt.command.join(" ")),
                diff: None,
            });
        }
        let what = match (&p.new, register) {
            (NewDefinition::Existing(arn), _) => format!("deploy {arn}"),
            (_, true) => "deploy the new revision".to_string(),
            (_, false) => "new deployment of the running revision (forced)".to_string(),
        };
        let count = d
            .desired_count
            .map(|n| format!(", desired count {n}"))
            .unwrap_or_default();
        changes.push(Change {
            action: Action::Update,
            target: format!("service {}/{}", d.cluster, d.service),
            summary: format!("{what}{count}, watch until a verdict"),
            diff: if register { None } else { p.diff.clone() },
        });
    }
    Plan { changes }
}

fn detail_of_plan(p: &Planned) -> Value {
    serde_json::json!({
        "name": p.deploy.name,
        "service": format!("{}/{}", p.deploy.cluster, p.deploy.service),
        "running_task_definition": p.running_arn,
        "changed": p.changed,
        "checked": p.ecs.is_some(),
        "diff": p.diff,
    })
}

/// Registers, runs the one-off task, updates and watches one service.
async fn apply(session: &Session<'_>, p: &Planned<'_>) -> Result<Finished> {
    let d = p.deploy;
    let printer = session.printer;
    let label = format!("[{}]", d.name);
    let (Some(ecs), Some(service)) = (&p.ecs, &p.service) else {
        return Err(Error::external(
            "AWS ECS",
            format!("{}: ECS was not reachable", d.name),
        ));
    };
    let console_url = ecs::console_url(&ecs.region, &d.cluster, &d.service);
    let mut done = Finished {
        name: d.name.clone(),
        verdict: Verdict::Passed,
        task_definition: p.running_arn.clone(),
        previous: p.running_arn.clone(),
        deployment_id: String::new(),
        console_url,
        explanation: format!("{} already runs {}", d.service, short_arn(&p.running_arn)),
    };
    if !p.changed {
        return Ok(done);
    }
    let mut registered = None;
    let new_arn = match &p.new {
        NewDefinition::Existing(arn) => arn.clone(),
        NewDefinition::Register(_) if p.diff.is_none() => p.running_arn.clone(),
        NewDefinition::Register(td) => {
            let arn = ecs.register(td).await?;
            printer.info(&format!("{label} registered {arn}"));
            registered = Some(arn.clone());
            arn
        }
    };
    done.task_definition = new_arn.clone();

    if let Some(rt) = &d.run_task {
        let container = rt
            .container
            .clone()
            .or_else(|| d.containers.keys().next().cloned())
            .unwrap_or_default();
        let td = match &p.new {
            NewDefinition::Register(td) => Some(td),
            NewDefinition::Existing(_) => None,
        };
        let task = one_off(
            session,
            ecs,
            d,
            service,
            &new_arn,
            &container,
            &rt.command,
            rt.timeout,
            td,
        )
        .await?;
        if let Err(why) = task {
            printer.problem(&format!("{label} {}", why.explain()));
            if let Some(td) = td {
                show_logs(session, ecs, td, std::slice::from_ref(&why), &label).await;
            }
            deregister_failed(session, ecs, d, registered.as_deref()).await;
            done.verdict = Verdict::Failed;
            done.explanation = format!(
                "the one-off task `{}` failed ({}); the service was not touched",
                rt.command.join(" "),
                why.stopped_reason.as_deref().unwrap_or("non-zero exit")
            );
            return Ok(done);
        }
        printer.info(&format!(
            "{label} one-off task `{}` succeeded",
            rt.command.join(" ")
        ));
    }

    let seen_tasks: HashSet<String> = ecs
        .stopped_tasks(&d.cluster, &d.service)
        .await
        .unwrap_or_default()
        .into_iter()
        .collect();
    let deployment_id = ecs
        .update_service(&d.cluster, &d.service, &new_arn, d.desired_count)
        .await?;
    done.deployment_id = deployment_id.clone();
    printer.info(&format!(
        "{label} {}/{}: deployment {deployment_id} of {} started",
        d.cluster,
        d.service,
        short_arn(&new_arn)
    ));
    let outcome = Watch {
        ecs,
        printer,
        label: &label,
        cluster: &d.cluster,
        service: &d.service,
        deployment_id: &deployment_id,
        task_definition: &new_arn,
        poll: d.poll,
        timeout: d.timeout,
        fail_fast: true,
        seen_events: service.events.iter().map(|e| e.id.clone()).collect(),
        seen_tasks: seen_tasks.clone(),
    }
    .run()
    .await?;

    let (what, stopped, replaced_by) = match outcome {
        Outcome::Completed => {
            done.explanation = format!(
                "{}/{} runs {} (deployment completed)",
                d.cluster,
                d.service,
                short_arn(&new_arn)
            );
            if let Some(keep) = d.keep_revisions {
                housekeeping(session, ecs, d, &new_arn, keep).await;
            }
            return Ok(done);
        }
        Outcome::Failed {
            reason,
            stopped,
            replaced_by,
        } => (reason, stopped, replaced_by),
        Outcome::TimedOut => (
            format!(
                "no verdict within {}",
                humantime::format_duration(d.timeout)
            ),
            Vec::new(),
            None,
        ),
    };
    done.verdict = Verdict::Failed;
    printer.problem(&format!("{label} deployment failed: {what}"));
    for t in &stopped {
        printer.problem(&format!("{label} {}", t.explain()));
    }
    if let NewDefinition::Register(td) = &p.new {
        show_logs(session, ecs, td, &stopped, &label).await;
    }
    let rolled = rollback(session, ecs, d, p, &new_arn, replaced_by, &label).await?;
    deregister_failed(session, ecs, d, registered.as_deref()).await;
    done.explanation = format!("{what}; {rolled}");
    Ok(done)
}

/// How many log lines of a failed container are shown.
const LOG_LINES: i32 = 20;

/// The last log lines of every container that exited non-zero, when they
/// are in CloudWatch Logs and readable; otherwise says why not (with -v).
async fn show_logs(session: &Session<'_>, ecs: &Ecs, td: &Value, stopped: &[Task], label: &str) {
    for t in stopped {
        for c in t
            .containers
            .iter()
            .filter(|c| c.exit_code.is_some_and(|e| e != 0))
        {
            let Some(at) = logs::location(td, &c.name, &t.arn) else {
                session
                    .printer
                    .detail(&format!("{label} {}: no awslogs stream to read", c.name));
                continue;
            };
            let client =
                Logs::connect(at.region.clone().or_else(|| Some(ecs.region.clone()))).await;
            match client.tail(&at, LOG_LINES).await {
                Ok(lines) if !lines.is_empty() => session.printer.group(
                    &format!(
                        "{label} last log lines of {} ({}, {})",
                        c.name, at.group, at.stream
                    ),
                    &lines.join("\n"),
                ),
                Ok(_) => session
                    .printer
                    .detail(&format!("{label} {}: its log stream is empty", c.name)),
                Err(e) => session.printer.detail(&format!("{label} {e}")),
            }
        }
    }
}

/// Returns the service to the previous revision, unless ECS already did,
/// and waits for that; says what happened.
async fn rollback(
    session: &Session<'_>,
    ecs: &Ecs,
    d: &EcsDeploy,
    p: &Planned<'_>,
    new_arn: &str,
    replaced_by: Option<ecs::Deployment>,
    label: &str,
) -> Result<String> {
    let previous = &p.running_arn;
    let (deployment, by_ecs) = match replaced_by {
        Some(r) if r.task_definition != new_arn => (r.id, true),
        _ if !d.rollback => {
            return Ok(format!(
                "not rolled back (rollback = false): check {}",
                ecs::console_url(&ecs.region, &d.cluster, &d.service)
            ));
        }
        _ if previous == new_arn => {
            return Ok("nothing to roll back to (the same revision was deployed)".into());
        }
        _ => {
            let id = ecs
                .update_service(&d.cluster, &d.service, previous, None)
                .await?;
            session.printer.info(&format!(
                "{label} rolling back to {} (deployment {id})",
                short_arn(previous)
            ));
            (id, false)
        }
    };
    let service = ecs.service(&d.cluster, &d.service).await?;
    let outcome = Watch {
        ecs,
        printer: session.printer,
        label,
        cluster: &d.cluster,
        service: &d.service,
        deployment_id: &deployment,
        task_definition: previous,
        poll: d.poll,
        timeout: d.timeout,
        fail_fast: false,
        seen_events: service.events.iter().map(|e| e.id.clone()).collect(),
        seen_tasks: HashSet::new(),
    }
    .run()
    .await?;
    let who = if by_ecs {
        "ECS rolled back"
    } else {
        "rolled back"
    };
    Ok(match outcome {
        Outcome::Completed => format!("{who} to {}", short_arn(previous)),
        _ => format!(
            "{who} to {}, but that rollout did not complete either: check {}",
            short_arn(previous),
            ecs::console_url(&ecs.region, &d.cluster, &d.service)
        ),
    })
}

/// Runs the one-off task and waits for it to stop; `Err(task)` when an
/// essential container did not exit 0.
#[allow(clippy::too_many_arguments)]
async fn one_off(
    session: &Session<'_>,
    ecs: &Ecs,
    d: &EcsDeploy,
    service: &Service,
    task_definition: &str,
    container: &str,
    command: &[String],
    timeout: Option<Duration>,
    td: Option<&Value>,
) -> Result<std::result::Result<Task, Task>> {
    let arn = ecs
        .run_task(&d.cluster, service, task_definition, container, command)
        .await?;
    session.printer.info(&format!(
        "[{}] one-off task {} started: {}",
        d.name,
        short_arn(&arn),
        command.join(" ")
    ));
    let started = Instant::now();
    let timeout = timeout.unwrap_or(RUN_TASK_TIMEOUT);
    let mut n = 0;
    loop {
        let task = match ecs.tasks(&d.cluster, std::slice::from_ref(&arn)).await {
            Ok(mut t) if !t.is_empty() => t.remove(0),
            Ok(_) => Task::default(),
            Err(e) if ecs::is_throttling(&e) => Task::default(),
            Err(e) => return Err(e),
        };
        if task.last_status == "STOPPED" {
            let ok = !task.containers.is_empty()
                && task.containers.iter().all(|c| {
                    c.exit_code == Some(0) || td.is_some_and(|td| !taskdef::essential(td, &c.name))
                });
            return Ok(if ok { Ok(task) } else { Err(task) });
        }
        if started.elapsed() >= timeout {
            return Err(Error::external(
                "AWS ECS",
                format!(
                    "the one-off task {arn} did not stop within {}; the service was not touched",
                    humantime::format_duration(timeout)
                ),
            ));
        }
        tokio::time::sleep(watch::interval(d.poll, n)).await;
        n += 1;
    }
}

async fn deregister_failed(session: &Session<'_>, ecs: &Ecs, d: &EcsDeploy, arn: Option<&str>) {
    if !d.deregister_failed {
        return;
    }
    let Some(arn) = arn else { return };
    match ecs.deregister(arn).await {
        Ok(()) => session.printer.info(&format!(
            "[{}] deregistered the failed revision {}",
            d.name,
            short_arn(arn)
        )),
        Err(e) => session.printer.warn(&format!("[{}] {e}", d.name)),
    }
}

/// Deregisters active revisions of the family beyond the newest `keep`
/// (never the one just deployed). A failure here only warns: the deploy worked.
async fn housekeeping(session: &Session<'_>, ecs: &Ecs, d: &EcsDeploy, deployed: &str, keep: u32) {
    let family = ecs::family_of(deployed);
    let revisions = match ecs.active_revisions(family).await {
        Ok(r) => r,
        Err(e) => {
            session
                .printer
                .warn(&format!("[{}] keep-revisions: {e}", d.name));
            return;
        }
    };
    for arn in revisions.iter().skip(keep.max(1) as usize) {
        if arn == deployed {
            continue;
        }
        match ecs.deregister(arn).await {
            Ok(()) => session.printer.detail(&format!(
                "[{}] deregistered old revision {}",
                d.name,
                short_arn(arn)
            )),
            Err(e) => session
                .printer
                .warn(&format!("[{}] keep-revisions: {e}", d.name)),
        }
    }
}

/// `arn:aws:ecs:…:task-definition/api:8` → `api:8`.
fn short_arn(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn markdown(planned: &[Planned], finished: &[Finished], verdict: Verdict, dry_run: bool) -> String {
    let mut md = format!(
        "### gantry deploy ecs: {}{}\n\n| Deploy | Service | Task definition | Result |\n|---|---|---|---|\n",
        verdict.as_str(),
        if dry_run {
            " (dry run: nothing deployed)"
        } else {
            ""
        }
    );
    for p in planned {
        let d = p.deploy;
        let f = finished.iter().find(|f| f.name == d.name);
        let (td, result) = match f {
            Some(f) => (
                short_arn(&f.task_definition).to_string(),
                format!("{}: {}", f.verdict.as_str(), f.explanation),
            ),
            None if p.changed => ("new revision".into(), "planned".into()),
            None => (short_arn(&p.running_arn).to_string(), "unchanged".into()),
        };
        md.push_str(&format!(
            "| {} | `{}/{}` | `{td}` | {} |\n",
            d.name,
            d.cluster,
            d.service,
            result.replace('|', "\\|")
        ));
    }
    for p in planned {
        if let Some(diff) = &p.diff {
            md.push_str(&format!(
                "\n<details><summary>{}: task definition diff</summary>\n\n```diff\n{diff}\n```\n\n</details>\n",
                p.deploy.name
            ));
        }
    }
    md.push('\n');
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::deploy_ecs::{DEFAULT_POLL, DEFAULT_TIMEOUT, RunTaskConfig};

    fn deploy(name: &str) -> EcsDeploy {
        EcsDeploy {
            name: name.into(),
            cluster: "prod".into(),
            service: format!("codewarden-{name}"),
            region: None,
            source: Source::Current,
            containers: IndexMap::from([(name.to_string(), "api".to_string())]),
            environment: IndexMap::new(),
            secrets: IndexMap::new(),
            desired_count: Some(2),
            run_task: None,
            timeout: DEFAULT_TIMEOUT,
            poll: DEFAULT_POLL,
            rollback: true,
            deregister_failed: false,
            keep_revisions: None,
            force: false,
        }
    }

    #[test]
    fn plan_and_summary_snapshot() {
        let mut api = deploy("api");
        api.run_task = Some(RunTaskConfig {
            container: None,
            command: vec!["python".into(), "-m".into(), "app.migrate".into()],
            timeout: None,
        });
        let worker = deploy("worker");
        let planned = vec![
            Planned {
                deploy: &api,
                ecs: None,
                service: None,
                running_arn: "arn:aws:ecs:us-east-1:1:task-definition/codewarden-api:7".into(),
                new: NewDefinition::Register(serde_json::json!({"family": "codewarden-api"})),
                diff: Some("--- codewarden-api:7\n+++ new revision\n-  \"image\": \"api:1\"\n+  \"image\": \"api@sha256:2\"".into()),
                changed: true,
            },
            Planned {
                deploy: &worker,
                ecs: None,
                service: None,
                running_arn: "arn:aws:ecs:us-east-1:1:task-definition/codewarden-worker:3".into(),
                new: NewDefinition::Register(serde_json::json!({"family": "codewarden-worker"})),
                diff: None,
                changed: false,
            },
        ];
        let finished = vec![Finished {
            name: "api".into(),
            verdict: Verdict::Failed,
            task_definition: "arn:aws:ecs:us-east-1:1:task-definition/codewarden-api:8".into(),
            previous: "arn:aws:ecs:us-east-1:1:task-definition/codewarden-api:7".into(),
            deployment_id: "ecs-svc/1".into(),
            console_url: String::new(),
            explanation: "ECS deployment circuit breaker: tasks failed to start.; ECS rolled back to codewarden-api:7".into(),
        }];
        insta::assert_snapshot!(to_plan(&planned).render());
        insta::assert_snapshot!(markdown(&planned, &finished, Verdict::Failed, false));
    }
}
