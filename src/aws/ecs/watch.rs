//! The rollout watcher: follows one deployment until ECS gives a verdict,
//! showing what ECS reports on the way, and stops early when the new
//! revision's tasks cannot run.

use super::{Deployment, Ecs, Service, Task};
use crate::error::Result;
use crate::output::Printer;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// How a watched deployment ended.
#[derive(Debug, Clone)]
pub enum RolloutEnd {
    Completed,
    /// ECS (or gantry's fail-fast) said no. `replaced_by` is the deployment
    /// ECS started instead (its circuit breaker's rollback), if any.
    Failed {
        reason: String,
        stopped: Vec<Task>,
        replaced_by: Option<Deployment>,
    },
    TimedOut,
}

/// What to follow and how.
pub struct Watch<'a> {
    pub ecs: &'a Ecs,
    pub printer: &'a Printer,
    /// Prefix of every line (`[api]`).
    pub label: &'a str,
    pub cluster: &'a str,
    pub service: &'a str,
    pub deployment_id: &'a str,
    pub task_definition: &'a str,
    pub poll: Duration,
    pub timeout: Duration,
    /// Stop at the first task of the new revision that could not run.
    pub fail_fast: bool,
    /// Service events and stopped tasks from before the deployment (not ours).
    pub seen_events: HashSet<String>,
    pub seen_tasks: HashSet<String>,
}

/// The longest pause while ECS throttles us.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Polls made at twice the steady rate: most rollouts settle or fail early.
const FAST_POLLS: u32 = 15;

/// The pause before poll `n` (from 0).
pub fn interval(poll: Duration, n: u32) -> Duration {
    if n < FAST_POLLS { poll / 2 } else { poll }
}

/// Whether a stopped task means the revision cannot run (rather than a
/// task being replaced or scaled in).
pub fn fatal(task: &Task) -> bool {
    let reason = task.stopped_reason.as_deref().unwrap_or_default();
    let cannot_run = [
        "CannotPullContainerError",
        "ResourceInitializationError",
        "CannotStartContainerError",
        "CannotCreateContainerError",
        "CannotInspectContainerError",
    ]
    .iter()
    .any(|r| reason.contains(r));
    let exited = task.stop_code.as_deref() == Some("EssentialContainerExited")
        && task
            .containers
            .iter()
            .any(|c| c.exit_code.is_some_and(|e| e != 0));
    cannot_run || exited || task.stop_code.as_deref() == Some("TaskFailedToStart")
}

impl Watch<'_> {
    pub async fn run(mut self) -> Result<RolloutEnd> {
        let started = Instant::now();
        let mut n = 0;
        let mut backoff = Duration::ZERO;
        let mut last_counts = String::new();
        loop {
            if started.elapsed() >= self.timeout {
                return Ok(RolloutEnd::TimedOut);
            }
            let service = match self.ecs.service(self.cluster, self.service).await {
                Ok(s) => s,
                // The SDK already retried; we slow down and keep watching.
                Err(e) if super::is_throttling(&e) => {
                    backoff = (backoff * 2).clamp(self.poll, MAX_BACKOFF);
                    self.printer.detail(&format!(
                        "{} ECS is throttling: next poll in {}",
                        self.label,
                        humantime::format_duration(backoff)
                    ));
                    tokio::time::sleep(backoff).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            backoff = Duration::ZERO;
            self.show_events(&service);
            if let Some(outcome) = self.judge(&service, &mut last_counts) {
                return Ok(outcome);
            }
            if self.fail_fast
                && let Some(outcome) = self.stopped_tasks().await?
            {
                return Ok(outcome);
            }
            tokio::time::sleep(interval(self.poll, n)).await;
            n += 1;
        }
    }

    fn show_events(&mut self, service: &Service) {
        // ECS lists events newest first; people read them oldest first.
        for e in service.events.iter().rev() {
            if self.seen_events.insert(e.id.clone()) {
                self.printer.info(&format!("{} {}", self.label, e.message));
            }
        }
    }

    /// A verdict from the deployment's rollout state, if there is one yet.
    fn judge(&self, service: &Service, last_counts: &mut String) -> Option<RolloutEnd> {
        let ours = service
            .deployments
            .iter()
            .find(|d| d.id == self.deployment_id);
        let primary = service.deployments.iter().find(|d| d.status == "PRIMARY");
        let Some(d) = ours else {
            // ECS drops a deployment once another one replaced it.
            return Some(RolloutEnd::Failed {
                reason: "the deployment was replaced by another one".into(),
                stopped: Vec::new(),
                replaced_by: primary.cloned(),
            });
        };
        let counts = format!(
            "{} running {}/{}, pending {}{}",
            self.label,
            d.running,
            d.desired,
            d.pending,
            if d.failed_tasks > 0 {
                format!(", failed {}", d.failed_tasks)
            } else {
                String::new()
            }
        );
        if counts != *last_counts {
            self.printer.info(&counts);
            *last_counts = counts;
        }
        match d.rollout_state.as_deref() {
            Some("COMPLETED") => Some(RolloutEnd::Completed),
            Some("FAILED") => Some(RolloutEnd::Failed {
                reason: d
                    .rollout_reason
                    .clone()
                    .unwrap_or_else(|| "the rollout failed".into()),
                stopped: Vec::new(),
                replaced_by: primary.filter(|p| p.id != d.id).cloned(),
            }),
            Some(_) => None,
            // No rollout tracking (CODE_DEPLOY or EXTERNAL controllers are
            // not supported; an old API): steady when it alone runs them all.
            None => (d.status == "PRIMARY"
                && service.deployments.len() == 1
                && d.running == d.desired
                && d.pending == 0)
                .then_some(RolloutEnd::Completed),
        }
    }

    /// Newly stopped tasks of our revision that could not run, if any.
    async fn stopped_tasks(&mut self) -> Result<Option<RolloutEnd>> {
        let arns = match self.ecs.stopped_tasks(self.cluster, self.service).await {
            Ok(a) => a,
            Err(e) if super::is_throttling(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        let new: Vec<String> = arns
            .into_iter()
            .filter(|a| !self.seen_tasks.contains(a))
            .collect();
        if new.is_empty() {
            return Ok(None);
        }
        let tasks = self.ecs.tasks(self.cluster, &new).await?;
        let mut failed = Vec::new();
        for t in tasks {
            // A task still stopping has no reason yet: look again next poll.
            if t.last_status != "STOPPED" {
                continue;
            }
            self.seen_tasks.insert(t.arn.clone());
            if t.task_definition == self.task_definition && fatal(&t) {
                failed.push(t);
            }
        }
        if failed.is_empty() {
            return Ok(None);
        }
        Ok(Some(RolloutEnd::Failed {
            reason: format!(
                "{} task(s) of the new revision stopped: {}",
                failed.len(),
                failed[0]
                    .stopped_reason
                    .as_deref()
                    .unwrap_or("no reason given")
            ),
            stopped: failed,
            replaced_by: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::ContainerState;
    use super::*;

    fn task(reason: &str, code: &str, exit: Option<i32>) -> Task {
        Task {
            last_status: "STOPPED".into(),
            stopped_reason: Some(reason.into()),
            stop_code: Some(code.into()),
            containers: vec![ContainerState {
                name: "api".into(),
                exit_code: exit,
                reason: None,
            }],
            ..Task::default()
        }
    }

    #[test]
    fn tasks_that_cannot_run_are_fatal_and_replaced_ones_are_not() {
        assert!(fatal(&task(
            "CannotPullContainerError: pull image manifest has been retried 7 time(s)",
            "TaskFailedToStart",
            None
        )));
        assert!(fatal(&task(
            "ResourceInitializationError: unable to pull secrets or registry auth",
            "TaskFailedToStart",
            None
        )));
        assert!(fatal(&task(
            "Essential container in task exited",
            "EssentialContainerExited",
            Some(1)
        )));
        assert!(!fatal(&task(
            "Scaling activity initiated by (deployment ecs-svc/123)",
            "ServiceSchedulerInitiated",
            Some(0)
        )));
        assert!(!fatal(&task(
            "Essential container in task exited",
            "EssentialContainerExited",
            Some(0)
        )));
    }

    #[test]
    fn polls_fast_first_then_steady() {
        let p = Duration::from_secs(2);
        assert_eq!(interval(p, 0), Duration::from_secs(1));
        assert_eq!(interval(p, FAST_POLLS), p);
    }
}
