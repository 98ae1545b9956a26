//! After a deploy: continue a service deployment paused at a lifecycle
//! hook, or roll back. Rolling back a BLUE_GREEN, LINEAR or CANARY
//! deployment in progress is ECS's own `StopServiceDeployment` (ROLLBACK);
//! otherwise it is a rollout of the revision the service ran before.
//! Planned with reads only, then applied, like a deploy.

use super::lifecycle::{End, Follow};
use super::rollout::short_arn;
use super::watch::{RolloutEnd, Watch};
use super::{Ecs, ServiceDeployment};
use crate::error::{Error, Result};
use crate::output::Printer;
use crate::report::Verdict;
use std::collections::HashSet;
use std::time::Duration;

/// What is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    Continue,
    Rollback,
}

/// One service to act on, and what the last deploy recorded of it.
pub struct Target {
    /// Prefix of every line (`[api]`) and the deploy's name.
    pub name: String,
    pub cluster: String,
    pub service: String,
    /// The service deployment (flag, or the pipeline state).
    pub arn: Option<String>,
    /// The revision the service ran before the last deploy (pipeline state).
    pub previous: Option<String>,
    pub poll: Duration,
    pub timeout: Duration,
    pub wait_until: Option<String>,
}

/// The one change a follow-up makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `ContinueServiceDeployment` past the hook, then follow.
    Continue {
        arn: String,
        hook: String,
        stage: String,
    },
    /// `StopServiceDeployment` with ROLLBACK, then follow.
    Stop { arn: String, stage: String },
    /// `UpdateService` back to `previous`, then watch.
    Redeploy { previous: String, running: String },
}

/// What a follow-up ended with.
pub struct Done {
    pub verdict: Verdict,
    pub explanation: String,
    pub service_deployment: String,
    pub stage: String,
}

/// Decides the change with reads only.
pub async fn plan(ecs: &Ecs, t: &Target, ask: Ask) -> Result<Step> {
    let service = ecs.service(&t.cluster, &t.service).await?;
    let arn = match (&t.arn, &service.current_service_deployment) {
        (Some(a), _) => Some(a.clone()),
        (None, Some(a)) if service.has_lifecycle() => Some(a.clone()),
        _ => None,
    };
    let current = match &arn {
        Some(a) if service.has_lifecycle() => Some(ecs.service_deployment(a).await?),
        _ => None,
    };
    let in_progress =
        |d: &ServiceDeployment| matches!(d.status.as_str(), "PENDING" | "IN_PROGRESS");
    match ask {
        Ask::Continue => {
            let Some(d) = current else {
                return Err(Error::usage(
                    format!(
                        "{}/{}: strategy {}: there is no lifecycle hook to continue",
                        t.cluster, t.service, service.strategy
                    ),
                    Some("continue is for BLUE_GREEN, LINEAR and CANARY services paused at a PAUSE hook".into()),
                ));
            };
            let Some(hook) = d.hooks.iter().find(|h| h.status == "AWAITING_ACTION") else {
                return Err(Error::usage(
                    format!(
                        "{}: service deployment {} is not waiting at a hook (status {}, stage {})",
                        t.name,
                        d.arn,
                        d.status,
                        d.stage.as_deref().unwrap_or("none")
                    ),
                    Some("`gantry deploy ecs --wait-until STAGE` returns at a stage without a hook; ECS carries on by itself".into()),
                ));
            };
            Ok(Step::Continue {
                arn: d.arn.clone(),
                hook: hook.id.clone(),
                stage: d.stage.clone().unwrap_or_default(),
            })
        }
        Ask::Rollback => match current {
            Some(d) if in_progress(&d) => Ok(Step::Stop {
                arn: d.arn,
                stage: d.stage.unwrap_or_default(),
            }),
            _ => {
                let Some(previous) = t.previous.clone() else {
                    return Err(Error::usage(
                        format!(
                            "{}: no deployment in progress and no previous task definition recorded",
                            t.name
                        ),
                        Some("run it in the pipeline that deployed (the state holds deploy-<name>-previous-task-definition), or deploy a revision by ARN with `task-definition`".into()),
                    ));
                };
                if previous == service.task_definition {
                    return Err(Error::usage(
                        format!(
                            "{}: {}/{} already runs {}",
                            t.name,
                            t.cluster,
                            t.service,
                            short_arn(&previous)
                        ),
                        None,
                    ));
                }
                Ok(Step::Redeploy {
                    previous,
                    running: service.task_definition,
                })
            }
        },
    }
}

/// Carries the planned change out and follows it to a verdict.
pub async fn apply(ecs: &Ecs, printer: &Printer, t: &Target, step: &Step) -> Result<Done> {
    let label = format!("[{}]", t.name);
    let at = format!("{}/{}", t.cluster, t.service);
    let (arn, rolling_back) = match step {
        Step::Continue { arn, hook, stage } => {
            ecs.continue_deployment(arn, hook, false).await?;
            printer.info(&format!(
                "{label} continued past {stage} (lifecycle hook {hook})"
            ));
            (arn, false)
        }
        Step::Stop { arn, stage } => {
            ecs.stop_deployment(arn).await?;
            printer.info(&format!("{label} stopped {arn} at {stage} with ROLLBACK"));
            (arn, true)
        }
        Step::Redeploy { previous, running } => {
            return redeploy(ecs, printer, t, previous, running).await;
        }
    };
    let follow = Follow {
        ecs,
        printer,
        label: &label,
        arn,
        poll: t.poll,
        timeout: t.timeout,
        wait_until: if rolling_back {
            None
        } else {
            t.wait_until.as_deref()
        },
    };
    let (end, last) = follow.run().await?;
    let stage = last.stage.clone().unwrap_or_default();
    let (verdict, explanation) = match (end, rolling_back) {
        (End::Failed { status, .. }, true) if status == "ROLLBACK_SUCCESSFUL" => (
            Verdict::Passed,
            format!("ECS rolled {at} back to the revision before"),
        ),
        (End::Successful, false) => (Verdict::Passed, format!("{at}: deployment successful")),
        (End::Reached { stage, hook }, false) => (
            Verdict::Passed,
            match hook {
                Some(h) => format!("{at} waits at {stage} for lifecycle hook {h}"),
                None => format!("{at} reached {stage}; ECS carries on"),
            },
        ),
        (End::Failed { status, reason }, _) => {
            (Verdict::Failed, format!("deployment {status}: {reason}"))
        }
        (End::TimedOut, _) => (
            Verdict::Failed,
            format!(
                "no verdict within {}; ECS carries on with {arn}",
                humantime::format_duration(t.timeout)
            ),
        ),
        (end, true) => (Verdict::Failed, format!("the rollback ended {end:?}")),
    };
    Ok(Done {
        verdict,
        explanation,
        service_deployment: arn.clone(),
        stage,
    })
}

/// A rolling service goes back to the revision it ran before.
async fn redeploy(
    ecs: &Ecs,
    printer: &Printer,
    t: &Target,
    previous: &str,
    running: &str,
) -> Result<Done> {
    let label = format!("[{}]", t.name);
    let service = ecs.service(&t.cluster, &t.service).await?;
    let started = ecs
        .update_service(&t.cluster, &t.service, previous, None, None)
        .await?;
    printer.info(&format!(
        "{label} rolling back from {} to {} (deployment {})",
        short_arn(running),
        short_arn(previous),
        started.deployment_id
    ));
    let at = format!("{}/{}", t.cluster, t.service);
    // A BLUE_GREEN, LINEAR or CANARY service goes back through its own lifecycle.
    if let (true, Some(arn)) = (service.has_lifecycle(), &started.service_deployment) {
        let follow = Follow {
            ecs,
            printer,
            label: &label,
            arn,
            poll: t.poll,
            timeout: t.timeout,
            wait_until: None,
        };
        let (end, last) = follow.run().await?;
        let (verdict, explanation) = match end {
            End::Successful => (
                Verdict::Passed,
                format!("{at} runs {} again", short_arn(previous)),
            ),
            other => (
                Verdict::Failed,
                format!("the rollback to {} ended {other:?}", short_arn(previous)),
            ),
        };
        return Ok(Done {
            verdict,
            explanation,
            service_deployment: arn.clone(),
            stage: last.stage.unwrap_or_default(),
        });
    }
    let outcome = Watch {
        ecs,
        printer,
        label: &label,
        cluster: &t.cluster,
        service: &t.service,
        deployment_id: &started.deployment_id,
        task_definition: previous,
        poll: t.poll,
        timeout: t.timeout,
        fail_fast: false,
        seen_events: service.events.iter().map(|e| e.id.clone()).collect(),
        seen_tasks: HashSet::new(),
    }
    .run()
    .await?;
    let (verdict, explanation) = match outcome {
        RolloutEnd::Completed => (
            Verdict::Passed,
            format!("{at} runs {} again", short_arn(previous)),
        ),
        RolloutEnd::Failed { reason, .. } => (
            Verdict::Failed,
            format!("the rollback to {} failed: {reason}", short_arn(previous)),
        ),
        RolloutEnd::TimedOut => (
            Verdict::Failed,
            format!(
                "the rollback to {} gave no verdict within {}",
                short_arn(previous),
                humantime::format_duration(t.timeout)
            ),
        ),
    };
    Ok(Done {
        verdict,
        explanation,
        service_deployment: started.service_deployment.unwrap_or_default(),
        stage: String::new(),
    })
}

/// Whether the service runs what the last deploy recorded (`recorded`, a
/// task definition ARN), settled: one deployment, completed, every task
/// running, and for a BLUE_GREEN, LINEAR or CANARY service its service
/// deployment SUCCESSFUL. Reads only.
pub async fn verify(ecs: &Ecs, t: &Target, recorded: &str) -> Result<Done> {
    let service = ecs.service(&t.cluster, &t.service).await?;
    let mut wrong = Vec::new();
    if service.task_definition != recorded {
        wrong.push(format!(
            "it runs {} where the pipeline state says {}",
            short_arn(&service.task_definition),
            short_arn(recorded)
        ));
    }
    let settled = service.deployments.len() == 1
        && service.deployments[0]
            .rollout_state
            .as_deref()
            .is_none_or(|s| s == "COMPLETED");
    if !settled {
        wrong.push(format!(
            "{} deployments, not settled",
            service.deployments.len()
        ));
    }
    if service.running != service.desired {
        wrong.push(format!(
            "{} of {} tasks running",
            service.running, service.desired
        ));
    }
    let mut arn = String::new();
    let mut stage = String::new();
    if service.has_lifecycle()
        && let Some(a) = t.arn.clone().or(service.current_service_deployment.clone())
    {
        let d = ecs.service_deployment(&a).await?;
        if d.status != "SUCCESSFUL" {
            wrong.push(format!("service deployment {a} is {}", d.status));
        }
        arn = a;
        stage = d.stage.unwrap_or_default();
    }
    let at = format!("{}/{}", t.cluster, t.service);
    Ok(if wrong.is_empty() {
        Done {
            verdict: Verdict::Passed,
            explanation: format!("{at} runs {}, settled", short_arn(recorded)),
            service_deployment: arn,
            stage,
        }
    } else {
        Done {
            verdict: Verdict::Failed,
            explanation: format!("{at}: {}", wrong.join("; ")),
            service_deployment: arn,
            stage,
        }
    })
}
