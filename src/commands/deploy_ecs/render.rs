//! What `gantry deploy ecs` shows: the plan's changes, the JSON details of
//! a plan and the step summary's table.

use super::Planned;
use crate::aws::ecs::rollout::{Finished, NewDefinition, short_arn};
use crate::aws::ecs::taskdef;
use crate::plan::{Action, Change, Plan};
use crate::report::Verdict;
use serde_json::Value;

pub(super) fn to_plan(planned: &[Planned]) -> Plan {
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
            (_, false) if p.configuration.is_some() && !d.force => {
                "new deployment of the running revision".to_string()
            }
            (_, false) => "new deployment of the running revision (forced)".to_string(),
        };
        let count = d
            .desired_count
            .map(|n| format!(", desired count {n}"))
            .unwrap_or_default();
        // ECS's own lifecycle decides (and rolls back) on such a service.
        let strategy_now = p
            .configuration
            .as_ref()
            .and_then(|(c, _)| c.strategy())
            .map(|k| k.as_str().to_string())
            .or_else(|| p.service.as_ref().map(|s| s.strategy.clone()))
            .unwrap_or_else(|| "ROLLING".into());
        let until = match Some(&strategy_now).filter(|s| *s != "ROLLING") {
            Some(s) => format!(
                "{}, follow its lifecycle {}",
                if p.configuration.is_some() {
                    String::new()
                } else {
                    format!(" ({s})")
                },
                d.wait_until
                    .as_ref()
                    .map_or_else(|| "until ECS's verdict".into(), |w| format!("to {w}"))
            ),
            None => ", watch until a verdict".into(),
        };
        let (strategy, strategy_diff) = match &p.configuration {
            Some((c, diff)) => (
                format!(
                    ", set strategy {}",
                    c.strategy().map_or("ROLLING", |k| k.as_str())
                ),
                Some(diff.clone()),
            ),
            None => (String::new(), None),
        };
        let td_diff = if register { None } else { p.diff.clone() };
        let diff = match (td_diff, strategy_diff) {
            (Some(a), Some(b)) => Some(format!("{a}\n{b}")),
            (a, b) => a.or(b),
        };
        changes.push(Change {
            action: Action::Update,
            target: format!("service {}/{}", d.cluster, d.service),
            summary: format!("{what}{count}{strategy}{until}"),
            diff,
        });
        for arn in &p.stale {
            changes.push(Change {
                action: Action::Delete,
                target: format!("task definition {}", short_arn(arn)),
                summary: format!(
                    "deregister once the rollout succeeds (keep-revisions = {})",
                    d.keep_revisions.unwrap_or(1)
                ),
                diff: None,
            });
        }
    }
    Plan { changes }
}

pub(super) fn detail_of_plan(p: &Planned) -> Value {
    serde_json::json!({
        "name": p.deploy.name,
        "service": format!("{}/{}", p.deploy.cluster, p.deploy.service),
        "running_task_definition": p.running_arn,
        "changed": p.changed,
        "checked": p.ecs.is_some(),
        "diff": p.diff,
    })
}

pub(super) fn markdown(
    planned: &[Planned],
    finished: &[Finished],
    verdict: Verdict,
    dry_run: bool,
) -> String {
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
    use crate::aws::ecs::rollout::Finished;
    use crate::settings::deploy_ecs::{DEFAULT_POLL, DEFAULT_TIMEOUT, RunTaskConfig};
    use crate::settings::deploy_ecs::{EcsDeploy, Source};
    use indexmap::IndexMap;

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
            wait_until: None,
            strategy: None,
        }
    }

    #[test]
    fn plan_and_summary_snapshot() {
        let mut api = deploy("api");
        api.run_task = Some(RunTaskConfig {
            container: None,
            command: vec!["python".into(), "-m".into(), "app.migrate".into()],
            ..RunTaskConfig::default()
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
                stale: Vec::new(),
                configuration: None,
            },
            Planned {
                deploy: &worker,
                ecs: None,
                service: None,
                running_arn: "arn:aws:ecs:us-east-1:1:task-definition/codewarden-worker:3".into(),
                new: NewDefinition::Register(serde_json::json!({"family": "codewarden-worker"})),
                diff: None,
                changed: false,
                stale: Vec::new(),
                configuration: None,
            },
        ];
        let finished = vec![Finished {
            name: "api".into(),
            verdict: Verdict::Failed,
            task_definition: "arn:aws:ecs:us-east-1:1:task-definition/codewarden-api:8".into(),
            previous: "arn:aws:ecs:us-east-1:1:task-definition/codewarden-api:7".into(),
            deployment_id: "ecs-svc/1".into(),
            service_deployment: String::new(),
            stage: String::new(),
            console_url: String::new(),
            explanation: "ECS deployment circuit breaker: tasks failed to start.; ECS rolled back to codewarden-api:7".into(),
            cancelled: None,
        }];
        insta::assert_snapshot!(to_plan(&planned).render());
        insta::assert_snapshot!(markdown(&planned, &finished, Verdict::Failed, false));
    }
}
