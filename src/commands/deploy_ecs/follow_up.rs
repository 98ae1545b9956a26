//! `gantry deploy ecs continue|rollback [NAME]`: the step after a deploy
//! that returned early. The service deployment and the previous revision
//! come from the pipeline state the deploy wrote (or `--arn`); the work is
//! [`crate::aws::ecs::follow_up`]'s.

use super::Session;
use crate::aws::ecs::Ecs;
use crate::aws::ecs::follow_up::{self, Ask, Step as Next, Target};
use crate::cli::{EcsThen, EcsThenArgs};
use crate::error::{Error, Result};
use crate::plan::{Action, Change, Plan};
use crate::report::{StepReport, Verdict};
use crate::runtime;
use crate::settings::config::Step;
use crate::settings::deploy_ecs as settings;
use indexmap::IndexMap;

pub(super) fn execute(session: &Session, then: &EcsThen) -> Result<StepReport> {
    let (ask, args): (Option<Ask>, &EcsThenArgs) = match then {
        EcsThen::Continue(a) => (Some(Ask::Continue), a),
        EcsThen::Rollback(a) => (Some(Ask::Rollback), a),
        EcsThen::Verify(a) => (None, a),
    };
    let names: Vec<String> = args.name.iter().cloned().collect();
    let deploys = settings::resolve(
        &session.project,
        session.env,
        &names,
        false,
        args.wait_until.as_deref(),
    )?;
    let d = match deploys.as_slice() {
        [d] => d,
        [] => {
            return Err(Error::usage(
                format!(
                    "{} has no [deploy.*] section with `ecs`",
                    session.project.file.display()
                ),
                None,
            ));
        }
        _ => {
            return Err(Error::usage(
                "more than one ECS deploy: say which",
                Some("`gantry deploy ecs continue NAME`".into()),
            ));
        }
    };
    let state = session.state()?;
    // What the deploy recorded, kept for the next follow-up.
    let mut outputs: IndexMap<String, String> = state
        .steps
        .get(Step::DeployEcs.as_str())
        .map(|r| r.outputs.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k.starts_with(&format!("deploy-{}-", d.name)))
        .collect();
    let key = |k: &str| format!("deploy-{}-{k}", d.name);
    let target = Target {
        name: d.name.clone(),
        cluster: d.cluster.clone(),
        service: d.service.clone(),
        arn: args
            .arn
            .clone()
            .or_else(|| outputs.get(&key("service-deployment-arn")).cloned()),
        previous: outputs.get(&key("previous-task-definition")).cloned(),
        poll: d.poll,
        timeout: d.timeout,
        wait_until: d.wait_until.clone(),
    };
    let report = |verdict| StepReport::new(Step::DeployEcs, verdict, session.dry_run);
    runtime::block_on(async {
        let ecs = Ecs::connect(d.region.clone()).await;
        let Some(ask) = ask else {
            let Some(recorded) = outputs.get(&key("task-definition")).cloned() else {
                return Err(Error::usage(
                    format!("{}: the pipeline state records no deploy of it", d.name),
                    Some("run it after `gantry deploy ecs` in the same pipeline; `gantry deploy ecs --dry-run` shows what a deploy would change".into()),
                ));
            };
            let done = follow_up::verify(&ecs, &target, &recorded).await?;
            show(session, &d.name, &done);
            return Ok(report(done.verdict).outputs(outputs));
        };
        let next = follow_up::plan(&ecs, &target, ask).await?;
        let at = format!("{}/{}", d.cluster, d.service);
        let change = match &next {
            Next::Continue { hook, stage, .. } => Change {
                action: Action::Update,
                target: format!("service deployment {at}"),
                summary: format!(
                    "continue past {stage} (lifecycle hook {hook}), follow until a verdict"
                ),
                diff: None,
            },
            Next::Stop { stage, .. } => Change {
                action: Action::Update,
                target: format!("service deployment {at}"),
                summary: format!("stop at {stage} with ROLLBACK, follow until a verdict"),
                diff: None,
            },
            Next::Redeploy { previous, .. } => Change {
                action: Action::Update,
                target: format!("service {at}"),
                summary: format!("deploy {previous} (roll back), watch until a verdict"),
                diff: None,
            },
        };
        let plan = Plan {
            changes: vec![change],
        };
        if session.dry_run {
            // What the deploy recorded stays for the real follow-up.
            return Ok(report(Verdict::Passed).plan(plan).outputs(outputs));
        }
        let done = follow_up::apply(&ecs, session.printer, &target, &next).await?;
        show(session, &d.name, &done);
        // Rolled back: the revision before is the one running now.
        if ask == Ask::Rollback && done.verdict == Verdict::Passed {
            let (now, before) = (key("task-definition"), key("previous-task-definition"));
            if let (Some(a), Some(b)) = (outputs.get(&now).cloned(), outputs.get(&before).cloned())
            {
                outputs.insert(now, b);
                outputs.insert(before, a);
            }
        }
        if !done.service_deployment.is_empty() {
            outputs.insert(key("service-deployment-arn"), done.service_deployment);
        }
        if !done.stage.is_empty() {
            outputs.insert(key("lifecycle-stage"), done.stage);
        }
        Ok(report(done.verdict).plan(plan).outputs(outputs))
    })?
}

fn show(session: &Session, name: &str, done: &follow_up::Done) {
    let good = done.verdict == Verdict::Passed;
    session.printer.outcome(
        Some(good),
        &format!(
            "{} [{name}] {}",
            if good { "✓" } else { "✗" },
            done.explanation
        ),
    );
}
