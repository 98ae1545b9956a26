//! ECS's own deployment lifecycle (strategies BLUE_GREEN, LINEAR and
//! CANARY): ECS scales up the new revision, shifts test and production
//! traffic, bakes, and rolls back by itself when an alarm, a lifecycle hook
//! or the circuit breaker says so. gantry follows the service deployment
//! (`DescribeServiceDeployments`) through its lifecycle stages to ECS's
//! verdict, showing each stage as it passes. It reports ECS's rollback and
//! never starts one of its own: a second rollback would fight ECS's bake.

use super::rollout::{self, Finished, Rollout, short_arn};
use super::watch::interval;
use super::{Ecs, Service, ServiceDeployment, Started};
use crate::error::{Error, Result};
use crate::output::Printer;
use crate::report::Verdict;
use std::time::{Duration, Instant};

/// The lifecycle stages of a service deployment, in the order they pass
/// (`ServiceDeploymentLifecycleStage` in AWS's API model).
pub const STAGES: &[&str] = &[
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
];

/// The stage named `text` (any case, `-` for `_`), or `None`.
pub fn stage(text: &str) -> Option<&'static str> {
    let wanted = text.trim().to_ascii_uppercase().replace('-', "_");
    STAGES.iter().copied().find(|s| *s == wanted)
}

fn position(stage: &str) -> Option<usize> {
    STAGES.iter().position(|s| *s == stage)
}

/// How following a service deployment ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// `SUCCESSFUL`.
    Successful,
    /// `ROLLBACK_SUCCESSFUL`, `ROLLBACK_FAILED` or `STOPPED`: ECS said no.
    Failed {
        status: String,
        reason: String,
    },
    /// In progress at the stage asked for (`wait-until`), or waiting at a
    /// PAUSE hook (`hook`), which only `ContinueServiceDeployment` ends.
    Reached {
        stage: String,
        hook: Option<String>,
    },
    TimedOut,
}

/// ECS's verdict on a service deployment as it stands, or where gantry
/// stops following it; `None` while it goes on.
pub fn judge(now: &ServiceDeployment, wait_until: Option<&str>) -> Option<End> {
    let why = || {
        let mut parts: Vec<String> = Vec::new();
        if let Some(r) = now.rollback.as_deref().or(now.reason.as_deref()) {
            parts.push(r.to_string());
        }
        if !now.triggered_alarms.is_empty() {
            parts.push(format!("alarm {}", now.triggered_alarms.join(", ")));
        }
        if now.circuit_breaker.as_deref() == Some("TRIGGERED") {
            parts.push("the circuit breaker tripped".into());
        }
        if parts.is_empty() {
            "no reason given".into()
        } else {
            parts.join("; ")
        }
    };
    match now.status.as_str() {
        "SUCCESSFUL" => return Some(End::Successful),
        "ROLLBACK_SUCCESSFUL" | "ROLLBACK_FAILED" | "STOPPED" => {
            return Some(End::Failed {
                status: now.status.clone(),
                reason: why(),
            });
        }
        "IN_PROGRESS" => {}
        _ => return None,
    }
    let stage = now.stage.clone()?;
    if let Some(hook) = now.hooks.iter().find(|h| h.status == "AWAITING_ACTION") {
        return Some(End::Reached {
            stage,
            hook: Some(hook.id.clone()),
        });
    }
    let reached = wait_until
        .and_then(position)
        .zip(position(&stage))
        .is_some_and(|(wanted, at)| at >= wanted);
    reached.then_some(End::Reached { stage, hook: None })
}

/// What changed between two looks at a service deployment, as lines to show.
pub fn changes(before: Option<&ServiceDeployment>, now: &ServiceDeployment) -> Vec<String> {
    let mut lines = Vec::new();
    let weights = |d: &ServiceDeployment| match (d.production_weight, d.test_weight) {
        (Some(p), Some(t)) => format!(" (new revision: {p}% of production, {t}% of test traffic)"),
        (Some(p), None) => format!(" (new revision: {p}% of production traffic)"),
        _ => String::new(),
    };
    if before.is_none_or(|b| b.status != now.status) {
        lines.push(match (&now.rollback, now.status.starts_with("ROLLBACK")) {
            (Some(reason), true) => format!("{}: {reason}", now.status),
            _ => now.status.clone(),
        });
    }
    if let Some(stage) = &now.stage
        && before.is_none_or(|b| {
            b.stage != now.stage
                || b.production_weight != now.production_weight
                || b.test_weight != now.test_weight
        })
    {
        lines.push(format!("{stage}{}", weights(now)));
    }
    for h in now.hooks.iter().filter(|h| h.status == "AWAITING_ACTION") {
        let shown =
            before.is_some_and(|b| b.hooks.iter().any(|o| o.id == h.id && o.status == h.status));
        if !shown {
            lines.push(format!(
                "paused at {} by lifecycle hook {}",
                now.stage.as_deref().unwrap_or("a lifecycle stage"),
                h.id
            ));
        }
    }
    lines
}

/// What to follow and how.
pub struct Follow<'a> {
    pub ecs: &'a Ecs,
    pub printer: &'a Printer,
    /// Prefix of every line (`[api]`).
    pub label: &'a str,
    pub arn: &'a str,
    pub poll: Duration,
    pub timeout: Duration,
    pub wait_until: Option<&'a str>,
}

/// The longest pause while ECS throttles us.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl Follow<'_> {
    /// Polls the service deployment until [`judge`] has an answer; the last look comes with it.
    pub async fn run(&self) -> Result<(End, ServiceDeployment)> {
        let started = Instant::now();
        let mut last: Option<ServiceDeployment> = None;
        let mut n = 0;
        let mut backoff = Duration::ZERO;
        loop {
            if started.elapsed() >= self.timeout {
                return Ok((End::TimedOut, last.unwrap_or_default()));
            }
            let now = match self.ecs.service_deployment(self.arn).await {
                Ok(d) => d,
                Err(e) if super::is_throttling(&e) => {
                    backoff = (backoff * 2).clamp(self.poll, MAX_BACKOFF);
                    tokio::time::sleep(backoff).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            backoff = Duration::ZERO;
            for line in changes(last.as_ref(), &now) {
                self.printer.info(&format!("{} {line}", self.label));
            }
            if let Some(end) = judge(&now, self.wait_until) {
                return Ok((end, now));
            }
            last = Some(now);
            tokio::time::sleep(interval(self.poll, n)).await;
            n += 1;
        }
    }
}

/// Follows the service deployment an update started to ECS's verdict (or
/// the stage asked for) and says what happened. Nothing here rolls back:
/// ECS does, and this reports it.
pub(super) async fn finish(
    d: &Rollout,
    ecs: &Ecs,
    service: &Service,
    printer: &Printer,
    started: &Started,
    registered: Option<&str>,
    mut done: Finished,
) -> Result<Finished> {
    // The revision the update sent.
    let new_arn = done.task_definition.clone();
    let label = format!("[{}]", d.name);
    let arn = match &started.service_deployment {
        Some(a) => a.clone(),
        None => ecs
            .running_service_deployments(&d.cluster, &d.service)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                Error::external(
                    "AWS ECS",
                    format!(
                        "{}/{}: ECS started no service deployment for the update",
                        d.cluster, d.service
                    ),
                )
            })?,
    };
    done.service_deployment = arn.clone();
    printer.info(&format!(
        "{label} {}/{}: {} deployment of {} started: {arn}",
        d.cluster,
        d.service,
        service.strategy,
        short_arn(&new_arn)
    ));
    // The bake is part of the deployment: the timeout is for the rest.
    let bake =
        Duration::from_secs(60 * u64::from(service.bake_minutes.unwrap_or(0).unsigned_abs()));
    let follow = Follow {
        ecs,
        printer,
        label: &label,
        arn: &arn,
        poll: d.poll,
        timeout: d.timeout + bake,
        wait_until: d.wait_until.as_deref(),
    };
    let stop = format!(
        "aws ecs stop-service-deployment --region {} --service-deployment-arn {arn} --stop-type ROLLBACK",
        ecs.region
    );
    let (end, last) = tokio::select! {
        end = follow.run() => end?,
        sig = crate::cancel::cancelled() => {
            let text = format!(
                "the update was sent: {} deployment {arn} of {} is in progress on {}/{} and ECS carries on with it (its alarms, hooks and circuit breaker still roll a failure back)",
                service.strategy,
                short_arn(&new_arn),
                d.cluster,
                d.service
            );
            return Ok(rollout::cancelled_at(done, sig, "update-sent", Some(new_arn.clone()), text, Some(stop)));
        }
    };
    let at = format!("{}/{}", d.cluster, d.service);
    match end {
        End::Successful => {
            done.stage = last.stage.unwrap_or_default();
            done.explanation = format!(
                "{at} runs {} ({} deployment successful)",
                short_arn(&new_arn),
                service.strategy
            );
            rollout::housekeeping(printer, ecs, d, &new_arn).await;
        }
        End::Reached { stage, hook } => {
            done.explanation = match &hook {
                Some(id) => format!(
                    "{at}: the {} deployment of {} waits at {stage} for lifecycle hook {id}: `gantry deploy ecs continue {}` goes on, `gantry deploy ecs rollback {}` rolls back",
                    service.strategy,
                    short_arn(&new_arn),
                    d.name,
                    d.name
                ),
                None => format!(
                    "{at}: the {} deployment of {} reached {stage}; ECS carries on (`gantry deploy ecs rollback {}` stops it)",
                    service.strategy,
                    short_arn(&new_arn),
                    d.name
                ),
            };
            done.stage = stage;
        }
        End::Failed { status, reason } => {
            done.verdict = Verdict::Failed;
            done.stage = last.stage.unwrap_or_default();
            printer.problem(&format!("{label} deployment {status}: {reason}"));
            done.explanation = match status.as_str() {
                "ROLLBACK_SUCCESSFUL" => format!(
                    "{reason}; ECS rolled back: {at} runs {} again",
                    short_arn(&d.running_arn)
                ),
                "ROLLBACK_FAILED" => format!(
                    "{reason}; ECS's rollback failed too: check {}",
                    super::console_url(&ecs.region, &d.cluster, &d.service)
                ),
                _ => format!("the deployment was stopped ({reason})"),
            };
            rollout::deregister_failed(printer, ecs, d, registered).await;
        }
        End::TimedOut => {
            done.verdict = Verdict::Failed;
            done.stage = last.stage.unwrap_or_default();
            done.explanation = format!(
                "no verdict within {}; ECS carries on with {arn} (gantry never rolls back a {} deployment; to stop it: {stop})",
                humantime::format_duration(follow.timeout),
                service.strategy
            );
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::super::Hook;
    use super::*;

    fn at(status: &str, stage: Option<&str>) -> ServiceDeployment {
        ServiceDeployment {
            arn: "arn:aws:ecs:us-east-1:1:service-deployment/prod/api/1".into(),
            status: status.into(),
            stage: stage.map(str::to_string),
            ..ServiceDeployment::default()
        }
    }

    #[test]
    fn stages_parse_in_any_case() {
        assert_eq!(stage("bake-time"), Some("BAKE_TIME"));
        assert_eq!(
            stage(" POST_TEST_TRAFFIC_SHIFT"),
            Some("POST_TEST_TRAFFIC_SHIFT")
        );
        assert_eq!(stage("BAKE"), None);
    }

    #[test]
    fn ecs_gives_the_verdict() {
        assert_eq!(judge(&at("PENDING", None), None), None);
        assert_eq!(judge(&at("IN_PROGRESS", Some("BAKE_TIME")), None), None);
        assert_eq!(
            judge(&at("SUCCESSFUL", Some("CLEAN_UP")), None),
            Some(End::Successful)
        );
        // Rolling back is not yet a verdict: ECS may still fail to.
        assert_eq!(
            judge(&at("ROLLBACK_IN_PROGRESS", Some("BAKE_TIME")), None),
            None
        );
        let mut d = at("ROLLBACK_SUCCESSFUL", Some("BAKE_TIME"));
        d.rollback = Some("alarm went off".into());
        d.triggered_alarms = vec!["api-5xx".into()];
        assert_eq!(
            judge(&d, None),
            Some(End::Failed {
                status: "ROLLBACK_SUCCESSFUL".into(),
                reason: "alarm went off; alarm api-5xx".into()
            })
        );
        assert!(matches!(
            judge(&at("ROLLBACK_FAILED", None), None),
            Some(End::Failed { .. })
        ));
        assert!(matches!(
            judge(&at("STOPPED", None), None),
            Some(End::Failed { .. })
        ));
    }

    #[test]
    fn wait_until_stops_at_or_after_its_stage_and_a_pause_hook_always_does() {
        let bake = Some("BAKE_TIME");
        assert_eq!(
            judge(&at("IN_PROGRESS", Some("POST_TEST_TRAFFIC_SHIFT")), bake),
            None
        );
        let reached = End::Reached {
            stage: "BAKE_TIME".into(),
            hook: None,
        };
        assert_eq!(judge(&at("IN_PROGRESS", bake), bake), Some(reached.clone()));
        // A stage skipped between two looks still counts as reached.
        assert_eq!(
            judge(&at("IN_PROGRESS", Some("CLEAN_UP")), bake),
            Some(End::Reached {
                stage: "CLEAN_UP".into(),
                hook: None
            })
        );
        let mut paused = at("IN_PROGRESS", Some("POST_TEST_TRAFFIC_SHIFT"));
        paused.hooks = vec![Hook {
            id: "h1".into(),
            target_type: "PAUSE".into(),
            status: "AWAITING_ACTION".into(),
        }];
        assert_eq!(
            judge(&paused, None),
            Some(End::Reached {
                stage: "POST_TEST_TRAFFIC_SHIFT".into(),
                hook: Some("h1".into())
            })
        );
    }

    #[test]
    fn each_stage_status_and_weight_is_shown_once() {
        let first = at("PENDING", None);
        assert_eq!(changes(None, &first), ["PENDING"]);
        let mut shift = at("IN_PROGRESS", Some("PRODUCTION_TRAFFIC_SHIFT"));
        shift.production_weight = Some(25.0);
        shift.test_weight = Some(100.0);
        assert_eq!(
            changes(Some(&first), &shift),
            [
                "IN_PROGRESS",
                "PRODUCTION_TRAFFIC_SHIFT (new revision: 25% of production, 100% of test traffic)"
            ]
        );
        assert!(changes(Some(&shift), &shift).is_empty());
        let mut more = shift.clone();
        more.production_weight = Some(50.0);
        assert_eq!(
            changes(Some(&shift), &more),
            ["PRODUCTION_TRAFFIC_SHIFT (new revision: 50% of production, 100% of test traffic)"]
        );
        let mut back = more.clone();
        back.status = "ROLLBACK_REQUESTED".into();
        back.rollback = Some("stop request".into());
        assert_eq!(
            changes(Some(&more), &back),
            ["ROLLBACK_REQUESTED: stop request"]
        );
    }
}
