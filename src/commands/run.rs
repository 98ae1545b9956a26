//! `gantry run`: the configured pipeline, step by step, stopping at the first
//! step that says no, with one summary and (in a dry run) one plan.

use super::{Session, build, deploy_ecs, deploy_railway, gate, migrate, publish, push, scan};
use crate::cli::RunArgs;
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::report::{self, StepReport, Verdict};
use crate::settings::migrate::MigrateFlags;
use crate::settings::scan::ScanFlags;
use crate::step::Step;

pub fn cmd_run(args: &RunArgs, session: &Session) -> Result<Verdict> {
    let printer = session.printer;
    let steps = steps_to_run(args, session)?;
    let mut reports: Vec<StepReport> = Vec::new();
    let mut verdict = Verdict::Passed;
    for step in &steps {
        printer.heading(step.as_str());
        let mut report = match step {
            Step::Gate => gate::execute(session, &[], args.options.jobs, None)?,
            Step::Build => build::execute(session, &[], None, &args.build_args.values)?,
            Step::Scan => scan::execute(session, &ScanFlags::default(), &session.project.root)?,
            Step::Push => push::execute(session, &[])?,
            Step::Migrate => migrate::execute(session, &MigrateFlags::default())?,
            Step::DeployEcs => deploy_ecs::execute(session, &[], false)?,
            Step::DeployRailway => deploy_railway::execute(session, &[])?,
            Step::Publish => publish::execute(session, &[], None)?,
        };
        session.conclude(&mut report)?;
        verdict = report.verdict;
        reports.push(report);
        if verdict == Verdict::Failed {
            break;
        }
    }
    let not_run = &steps[reports.len()..];

    printer.result(&report::render(&reports, not_run, session.dry_run));
    printer.summary_front(&markdown(&reports, not_run, verdict, session.dry_run));
    // The same document as every command, with each step's own document
    // (without the shared context) under `detail.steps`.
    let plan = Plan {
        changes: reports
            .iter()
            .flat_map(|r| r.plan.changes.iter().cloned())
            .collect(),
    };
    printer.document(serde_json::json!({
        "schema": report::SCHEMA,
        "command": "run",
        "step": null,
        "verdict": verdict,
        "status": report::overall(&reports),
        "dry_run": session.dry_run,
        "context": session.context,
        "plan": plan,
        "unchecked": reports.iter().flat_map(|r| r.unchecked.iter()).collect::<Vec<_>>(),
        "detail": {
            "steps": reports.iter().map(|r| r.document(None)).collect::<Vec<_>>(),
            "not_run": not_run,
        },
    }));
    Ok(verdict)
}

/// Steps named on the command line, else `[pipeline] steps`, else every step
/// that has configuration.
fn steps_to_run(args: &RunArgs, session: &Session) -> Result<Vec<Step>> {
    if !args.steps.is_empty() {
        return Ok(args.steps.clone());
    }
    let config = &session.project.config;
    if let Some(steps) = &config.pipeline.steps {
        return Ok(steps.clone());
    }
    let mut steps = Vec::new();
    if !config.gates.is_empty() {
        steps.push(Step::Gate);
    }
    if !config.images.is_empty() {
        steps.push(Step::Build);
        if config.scan.is_some() {
            steps.push(Step::Scan);
        }
        steps.push(Step::Push);
    } else if config.scan.is_some() {
        steps.push(Step::Scan);
    }
    if config.migrate.is_some() {
        steps.push(Step::Migrate);
    }
    if config.deploy.values().any(|d| d.ecs.is_some()) {
        steps.push(Step::DeployEcs);
    }
    if config.deploy.values().any(|d| d.railway.is_some()) {
        steps.push(Step::DeployRailway);
    }
    if !config.publish.is_empty() {
        steps.push(Step::Publish);
    }
    if steps.is_empty() {
        return Err(Error::usage(
            format!(
                "{} configures no step to run",
                session.project.file.display()
            ),
            Some(
                "add a [gates.*], [images.*], [scan], [migrate], [deploy.*] or [publish.*] section, or list steps under [pipeline]"
                    .into(),
            ),
        ));
    }
    Ok(steps)
}

fn markdown(reports: &[StepReport], not_run: &[Step], verdict: Verdict, dry_run: bool) -> String {
    let mut md = format!(
        "## gantry run: {}{}\n\n| Step | Verdict | Changes |\n|---|---|---|\n",
        verdict.as_str(),
        if dry_run { " (dry run)" } else { "" }
    );
    for r in reports {
        let changes = if r.plan.is_empty() {
            "none".to_string()
        } else {
            format!("{} change(s)", r.plan.changes.len())
        };
        md.push_str(&format!(
            "| {} | {} | {changes} |\n",
            r.step.as_str(),
            r.status().as_str()
        ));
    }
    for s in not_run {
        md.push_str(&format!("| {} | not run | - |\n", s.as_str()));
    }
    md.push('\n');
    // What a dry run could not check, and why, under the table it marks.
    for line in reports.iter().flat_map(|r| &r.unchecked) {
        md.push_str(&format!("- not checked: {line}\n"));
    }
    if reports.iter().any(|r| !r.unchecked.is_empty()) {
        md.push('\n');
    }
    md
}
