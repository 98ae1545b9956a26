//! A rollout of one ECS service, from a planned task definition to a
//! verdict: register the revision, run the optional one-off task, update
//! the service, watch it ([`super::watch`]), and on failure show the
//! failed containers' logs and roll back. A service whose strategy is not
//! ROLLING is followed through ECS's own lifecycle instead
//! ([`super::lifecycle`]), which rolls back by itself. What to do comes in
//! a [`Rollout`]; this module knows ECS, not gantry.toml.

use super::taskdef;
use super::watch::{self, RolloutEnd, Watch};
use super::{Ecs, Service, Task};
use crate::aws::logs::{self, Logs};
use crate::error::{Error, Result};
use crate::output::Printer;
use crate::report::Verdict;
use serde_json::Value;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// How long a one-off task may run when no timeout is given.
const RUN_TASK_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// The task definition a rollout deploys.
#[derive(Debug, Clone)]
pub enum NewDefinition {
    /// Rendered JSON to register.
    Register(Value),
    /// An existing revision, deployed as it is.
    Existing(String),
}

/// A one-off task run on the new revision before the service moves
/// (migrations, typically).
pub struct OneOff {
    pub container: String,
    pub command: Vec<String>,
    pub timeout: Option<Duration>,
    /// Where and how it runs, when not as the service's tasks do.
    pub options: super::TaskOptions,
}

/// One planned rollout and how to carry it out.
pub struct Rollout {
    /// Prefix of every line (`[api]`).
    pub name: String,
    pub cluster: String,
    pub service: String,
    pub desired_count: Option<i32>,
    pub one_off: Option<OneOff>,
    pub poll: Duration,
    pub timeout: Duration,
    /// Roll back to the running revision when the rollout fails.
    pub rollback: bool,
    pub deregister_failed: bool,
    /// Revisions to deregister once the rollout succeeds (`keep-revisions`,
    /// listed in the plan).
    pub deregister_after_success: Vec<String>,
    /// The revision the service runs now.
    pub running_arn: String,
    pub new: NewDefinition,
    /// Whether the new definition differs from the running one.
    pub differs: bool,
    /// Something to do: a difference, or a forced deployment.
    pub changed: bool,
    /// With ECS's own lifecycle: return once the service deployment reaches
    /// this stage ([`super::lifecycle::STAGES`]).
    pub wait_until: Option<String>,
    /// The service's deployment configuration with a new strategy, sent
    /// with the update (`deployment` in gantry.toml, planned as a diff).
    pub configuration: Option<aws_sdk_ecs::types::DeploymentConfiguration>,
}

/// What one rollout ended with.
pub struct Finished {
    pub name: String,
    pub verdict: Verdict,
    pub task_definition: String,
    pub previous: String,
    pub deployment_id: String,
    /// The service deployment's ARN (strategies other than ROLLING).
    pub service_deployment: String,
    /// The lifecycle stage it was at when gantry stopped following it.
    pub stage: String,
    pub console_url: String,
    /// What happened, in one or two sentences.
    pub explanation: String,
    /// Set when a cancel (SIGINT/SIGTERM) stopped the rollout: the state it
    /// left, and how to roll back.
    pub cancelled: Option<Cancelled>,
}

/// Where a cancelled rollout stood. The rule: a cancel never starts or
/// waits for a rollback (a rollback is itself a rollout of minutes, and a
/// CI cancel leaves seconds before the runner kills the job); gantry stops
/// where it is, ECS carries on with any deployment already sent (its
/// circuit breaker still rolls a failure back), and this says so.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Cancelled {
    /// `not-started`, `registered`, `one-off-running`, `update-sent`
    /// or `rollback-sent`.
    pub state: &'static str,
    /// The revision the service was told to run, if an update was sent.
    pub in_progress: Option<String>,
    /// The command that puts the service back on the revision it ran before.
    pub rollback_command: Option<String>,
}

pub async fn apply(
    d: &Rollout,
    ecs: &Ecs,
    service: &Service,
    printer: &Printer,
) -> Result<Finished> {
    let p = d;
    let label = format!("[{}]", d.name);
    let console_url = super::console_url(&ecs.region, &d.cluster, &d.service);
    let mut done = Finished {
        name: d.name.clone(),
        verdict: Verdict::Passed,
        task_definition: p.running_arn.clone(),
        previous: p.running_arn.clone(),
        deployment_id: String::new(),
        service_deployment: String::new(),
        stage: String::new(),
        console_url,
        explanation: format!("{} already runs {}", d.service, short_arn(&p.running_arn)),
        cancelled: None,
    };
    if !p.changed {
        return Ok(done);
    }
    if let Some(sig) = crate::cancel::requested() {
        done.task_definition = String::new();
        return Ok(cancelled_at(
            done,
            sig,
            "not-started",
            None,
            format!(
                "nothing was registered or sent; {} still runs {}",
                d.service,
                short_arn(&p.running_arn)
            ),
            None,
        ));
    }
    let mut registered = None;
    let new_arn = match &p.new {
        NewDefinition::Existing(arn) => arn.clone(),
        NewDefinition::Register(_) if !p.differs => p.running_arn.clone(),
        NewDefinition::Register(td) => {
            let arn = ecs.register(td).await?;
            printer.info(&format!("{label} registered {arn}"));
            registered = Some(arn.clone());
            arn
        }
    };
    done.task_definition = new_arn.clone();
    // Registering is one call: it is complete or it did not happen. A cancel
    // that came during it stops here, saying the revision exists unused.
    let not_updated = |what: &str| {
        format!(
            "{what}; the service was not updated and still runs {}",
            short_arn(&p.running_arn)
        )
    };
    let registered_text = match &registered {
        Some(arn) => format!("registered {} (not deployed)", short_arn(arn)),
        None => format!("nothing was registered ({} exists)", short_arn(&new_arn)),
    };
    if let Some(sig) = crate::cancel::requested() {
        return Ok(cancelled_at(
            done,
            sig,
            "registered",
            None,
            not_updated(&registered_text),
            None,
        ));
    }

    if let Some(rt) = &d.one_off {
        let td = match &p.new {
            NewDefinition::Register(td) => Some(td),
            NewDefinition::Existing(_) => None,
        };
        let task = tokio::select! {
            task = one_off(
                printer,
                ecs,
                d,
                service,
                &new_arn,
                rt,
                td,
            ) => task?,
            sig = crate::cancel::cancelled() => {
                let what = format!(
                    "{registered_text}; the one-off task `{}` was started and left running (stop it with `aws ecs stop-task` if it must not finish)",
                    rt.command.join(" ")
                );
                return Ok(cancelled_at(done, sig, "one-off-running", None, not_updated(&what), None));
            }
        };
        if let Err(why) = task {
            printer.problem(&format!("{label} {}", why.explain()));
            if let Some(td) = td {
                show_logs(printer, ecs, td, std::slice::from_ref(&why), &label).await;
            }
            deregister_failed(printer, ecs, d, registered.as_deref()).await;
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

    if let Some(sig) = crate::cancel::requested() {
        return Ok(cancelled_at(
            done,
            sig,
            "registered",
            None,
            not_updated(&registered_text),
            None,
        ));
    }
    let seen_tasks: HashSet<String> = ecs
        .stopped_tasks(&d.cluster, &d.service)
        .await
        .unwrap_or_default()
        .into_iter()
        .collect();
    let started = ecs
        .update_service(
            &d.cluster,
            &d.service,
            &new_arn,
            d.desired_count,
            d.configuration.clone(),
        )
        .await?;
    let deployment_id = started.deployment_id.clone();
    done.deployment_id = deployment_id.clone();
    // The update may have set the strategy this deployment follows.
    let mut service = service.clone();
    if let Some(c) = &d.configuration {
        service.strategy = c.strategy().map_or("ROLLING", |k| k.as_str()).to_string();
        service.bake_minutes = c.bake_time_in_minutes();
    }
    let service = &service;
    if d.wait_until.is_some() && !service.has_lifecycle() {
        printer.warn(&format!(
            "{label} wait-until is for BLUE_GREEN, LINEAR and CANARY services: a rolling update is watched to its verdict"
        ));
    }
    if service.has_lifecycle() {
        return super::lifecycle::finish(
            d,
            ecs,
            service,
            printer,
            &started,
            registered.as_deref(),
            done,
        )
        .await;
    }
    printer.info(&format!(
        "{label} {}/{}: deployment {deployment_id} of {} started",
        d.cluster,
        d.service,
        short_arn(&new_arn)
    ));
    let watch = Watch {
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
    };
    let outcome = tokio::select! {
        outcome = watch.run() => outcome?,
        sig = crate::cancel::cancelled() => {
            let rollback = rollback_command(ecs, d);
            let registered_note = registered
                .as_deref()
                .map(|arn| format!("registered {}; ", short_arn(arn)))
                .unwrap_or_default();
            let text = format!(
                "{registered_note}the update was sent: deployment {deployment_id} of {} is in progress on {}/{} and ECS carries on with it (gantry stopped watching; its circuit breaker, if on, still rolls a failure back)",
                short_arn(&new_arn),
                d.cluster,
                d.service
            );
            return Ok(cancelled_at(done, sig, "update-sent", Some(new_arn.clone()), text, rollback));
        }
    };

    let (what, stopped, replaced_by) = match outcome {
        RolloutEnd::Completed => {
            done.explanation = format!(
                "{}/{} runs {} (deployment completed)",
                d.cluster,
                d.service,
                short_arn(&new_arn)
            );
            housekeeping(printer, ecs, d, &new_arn).await;
            return Ok(done);
        }
        RolloutEnd::Failed {
            reason,
            stopped,
            replaced_by,
        } => (reason, stopped, replaced_by),
        RolloutEnd::TimedOut => (
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
        show_logs(printer, ecs, td, &stopped, &label).await;
    }
    let rolled = tokio::select! {
        rolled = rollback(printer, ecs, d, &new_arn, replaced_by, &label) => rolled?,
        sig = crate::cancel::cancelled() => {
            let text = format!(
                "{what}; the rollback to {} was sent and is in progress (gantry stopped watching it)",
                short_arn(&p.running_arn)
            );
            return Ok(cancelled_at(done, sig, "rollback-sent", Some(p.running_arn.clone()), text, None));
        }
    };
    deregister_failed(printer, ecs, d, registered.as_deref()).await;
    done.explanation = format!("{what}; {rolled}");
    Ok(done)
}

/// The rollout as a cancel left it: the verdict is "failed" (nothing was
/// proven to work), and the explanation says what state ECS is in.
pub(super) fn cancelled_at(
    mut done: Finished,
    sig: i32,
    state: &'static str,
    in_progress: Option<String>,
    what: String,
    rollback_command: Option<String>,
) -> Finished {
    done.verdict = Verdict::Failed;
    done.explanation = format!(
        "cancelled by {}: {what}{}",
        crate::cancel::signal_name(sig),
        rollback_command
            .as_deref()
            .map(|c| format!(". To roll back: {c}"))
            .unwrap_or_default()
    );
    done.cancelled = Some(Cancelled {
        state,
        in_progress,
        rollback_command,
    });
    done
}

/// `aws ecs update-service …` back to the revision the service ran before,
/// or `None` when there is nothing else to go back to.
fn rollback_command(ecs: &Ecs, d: &Rollout) -> Option<String> {
    let differs = match &d.new {
        NewDefinition::Existing(arn) => *arn != d.running_arn,
        NewDefinition::Register(_) => d.differs,
    };
    differs.then(|| {
        format!(
            "aws ecs update-service --region {} --cluster {} --service {} --task-definition {}",
            ecs.region, d.cluster, d.service, d.running_arn
        )
    })
}

/// How many log lines of a failed container are shown.
const LOG_LINES: i32 = 20;

/// The last log lines of every container that exited non-zero, when they
/// are in CloudWatch Logs and readable; otherwise says why not (with -v).
async fn show_logs(printer: &Printer, ecs: &Ecs, td: &Value, stopped: &[Task], label: &str) {
    for t in stopped {
        for c in t
            .containers
            .iter()
            .filter(|c| c.exit_code.is_some_and(|e| e != 0))
        {
            let Some(at) = logs::location(td, &c.name, &t.arn) else {
                printer.detail(&format!("{label} {}: no awslogs stream to read", c.name));
                continue;
            };
            let client =
                Logs::connect(at.region.clone().or_else(|| Some(ecs.region.clone()))).await;
            match client.tail(&at, LOG_LINES).await {
                Ok(lines) if !lines.is_empty() => printer.group(
                    &format!(
                        "{label} last log lines of {} ({}, {})",
                        c.name, at.group, at.stream
                    ),
                    &lines.join("\n"),
                ),
                Ok(_) => printer.detail(&format!("{label} {}: its log stream is empty", c.name)),
                Err(e) => printer.detail(&format!("{label} {e}")),
            }
        }
    }
}

/// Returns the service to the previous revision, unless ECS already did,
/// and waits for that; says what happened.
async fn rollback(
    printer: &Printer,
    ecs: &Ecs,
    d: &Rollout,
    new_arn: &str,
    replaced_by: Option<super::Deployment>,
    label: &str,
) -> Result<String> {
    let previous = &d.running_arn;
    let (deployment, by_ecs) = match replaced_by {
        Some(r) if r.task_definition != new_arn => (r.id, true),
        _ if !d.rollback => {
            return Ok(format!(
                "not rolled back (rollback = false): check {}",
                super::console_url(&ecs.region, &d.cluster, &d.service)
            ));
        }
        _ if previous == new_arn => {
            return Ok("nothing to roll back to (the same revision was deployed)".into());
        }
        _ => {
            let id = ecs
                .update_service(&d.cluster, &d.service, previous, None, None)
                .await?
                .deployment_id;
            printer.info(&format!(
                "{label} rolling back to {} (deployment {id})",
                short_arn(previous)
            ));
            (id, false)
        }
    };
    let service = ecs.service(&d.cluster, &d.service).await?;
    let outcome = Watch {
        ecs,
        printer,
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
        RolloutEnd::Completed => format!("{who} to {}", short_arn(previous)),
        _ => format!(
            "{who} to {}, but that rollout did not complete either: check {}",
            short_arn(previous),
            super::console_url(&ecs.region, &d.cluster, &d.service)
        ),
    })
}

/// Runs the one-off task and waits for it to stop; `Err(task)` when an
/// essential container did not exit 0.
#[allow(clippy::too_many_arguments)]
async fn one_off(
    printer: &Printer,
    ecs: &Ecs,
    d: &Rollout,
    service: &Service,
    task_definition: &str,
    rt: &OneOff,
    td: Option<&Value>,
) -> Result<std::result::Result<Task, Task>> {
    let (command, timeout) = (&rt.command, rt.timeout);
    let arn = ecs
        .run_task(
            &d.cluster,
            service,
            task_definition,
            &rt.container,
            command,
            &rt.options,
        )
        .await?;
    printer.info(&format!(
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
            Err(e) if super::is_throttling(&e) => Task::default(),
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

pub(super) async fn deregister_failed(
    printer: &Printer,
    ecs: &Ecs,
    d: &Rollout,
    arn: Option<&str>,
) {
    if !d.deregister_failed {
        return;
    }
    let Some(arn) = arn else { return };
    match ecs.deregister(arn).await {
        Ok(()) => printer.info(&format!(
            "[{}] deregistered the failed revision {}",
            d.name,
            short_arn(arn)
        )),
        Err(e) => printer.warn(&format!("[{}] {e}", d.name)),
    }
}

/// Deregisters the revisions the plan listed for `keep-revisions` (never
/// the one just deployed). A failure here only warns: the deploy worked.
pub(super) async fn housekeeping(printer: &Printer, ecs: &Ecs, d: &Rollout, deployed: &str) {
    for arn in &d.deregister_after_success {
        if arn == deployed {
            continue;
        }
        match ecs.deregister(arn).await {
            Ok(()) => printer.detail(&format!(
                "[{}] deregistered old revision {}",
                d.name,
                short_arn(arn)
            )),
            Err(e) => printer.warn(&format!("[{}] keep-revisions: {e}", d.name)),
        }
    }
}

/// `arn:aws:ecs:…:task-definition/api:8` → `api:8`.
pub fn short_arn(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}
