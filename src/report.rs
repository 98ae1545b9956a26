//! What a step reports back: its verdict, its plan and its details; what a
//! command did ([`Outcome`]); and the one JSON document every command emits,
//! built here and nowhere else ([`document`]).

use crate::error::Error;
use crate::output::github::Annotation;
use crate::plan::Plan;
use crate::run_context::RunContext;
use crate::step::Step;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The version of the JSON document's shape (documented in the README).
/// Bumped when a key is removed or changes meaning; new keys do not bump it.
pub const SCHEMA: u32 = 1;

/// Whether the pipeline may go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Passed,
    /// The pipeline said no: exit 1.
    Failed,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::Failed => "failed",
        }
    }
}

/// What a step's result means for a reader: a dry run that could not reach
/// the remote did not pass anything, and one with changes has not made them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Done (or checked, with nothing to change).
    Passed,
    Failed,
    /// A dry run that lists changes a real run would make.
    WouldChange,
    /// A local dry run that could not reach the remote for some of its plan.
    NotChecked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::WouldChange => "would change",
            Status::NotChecked => "not checked",
        }
    }
}

/// The result of one step.
#[derive(Debug, Clone)]
pub struct StepReport {
    pub step: Step,
    pub verdict: Verdict,
    pub dry_run: bool,
    /// Remote changes: made, or (in a dry run) that would be made.
    pub plan: Plan,
    /// Step outputs: written to `$GITHUB_OUTPUT` and the pipeline state.
    pub outputs: IndexMap<String, String>,
    /// Step-specific details for the JSON document.
    pub detail: serde_json::Value,
    /// What a local dry run could not check against the remote, one line
    /// each (`api: registry unreachable`); empty when everything was checked.
    pub unchecked: Vec<String>,
}

impl StepReport {
    pub fn new(step: Step, verdict: Verdict, dry_run: bool) -> Self {
        StepReport {
            step,
            verdict,
            dry_run,
            plan: Plan::default(),
            outputs: IndexMap::new(),
            detail: serde_json::Value::Null,
            unchecked: Vec::new(),
        }
    }

    pub fn plan(mut self, plan: Plan) -> Self {
        self.plan = plan;
        self
    }

    pub fn outputs(mut self, outputs: IndexMap<String, String>) -> Self {
        self.outputs = outputs;
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }

    pub fn unchecked(mut self, unchecked: Vec<String>) -> Self {
        self.unchecked = unchecked;
        self
    }

    /// The one rule for what a step's result is called.
    pub fn status(&self) -> Status {
        match self.verdict {
            Verdict::Failed => Status::Failed,
            Verdict::Passed if !self.dry_run => Status::Passed,
            // A local step too (scan: no vulnerability database offline).
            Verdict::Passed if !self.unchecked.is_empty() => Status::NotChecked,
            Verdict::Passed if !self.step.changes_remote() => Status::Passed,
            Verdict::Passed if !self.plan.is_empty() => Status::WouldChange,
            Verdict::Passed => Status::Passed,
        }
    }
}

/// What a command did: the JSON document is built from it.
pub enum Outcome {
    /// One step alone; `command` is how it was run (`deploy ecs`, or
    /// `migrate repair` for that command beside the step).
    Step {
        command: &'static str,
        report: StepReport,
        context: RunContext,
    },
    /// `gantry run`: the steps that ran and those that did not.
    Pipeline {
        reports: Vec<StepReport>,
        not_run: Vec<Step>,
        dry_run: bool,
        context: RunContext,
    },
    /// `gantry init`, which writes files rather than running a step: its
    /// own keys (templates, files, drift).
    Init { verdict: Verdict, detail: Value },
}

impl Outcome {
    /// Whether the pipeline may go on: a pipeline's is its last step's.
    pub fn verdict(&self) -> Verdict {
        match self {
            Outcome::Step { report, .. } => report.verdict,
            Outcome::Pipeline { reports, .. } => {
                reports.last().map_or(Verdict::Passed, |r| r.verdict)
            }
            Outcome::Init { verdict, .. } => *verdict,
        }
    }
}

/// The one JSON document: the same keys for every step alone and for
/// `gantry run` (with each step's own document, without the shared context,
/// under `detail.steps`), an error's keys when the command failed (with the
/// outputs written before it, `written`), and the annotations shown either way.
pub fn document(
    outcome: std::result::Result<&Outcome, &Error>,
    annotations: &[Annotation],
    written: &IndexMap<String, String>,
) -> Value {
    let mut outputs = json!(written);
    let mut doc = match outcome {
        Ok(Outcome::Step {
            command,
            report,
            context,
        }) => {
            outputs = json!(report.outputs);
            step_document(command, report, Some(context))
        }
        Ok(Outcome::Pipeline {
            reports,
            not_run,
            dry_run,
            context,
        }) => {
            let plan = Plan {
                changes: reports
                    .iter()
                    .flat_map(|r| r.plan.changes.iter().cloned())
                    .collect(),
            };
            let all: IndexMap<&String, &String> = reports.iter().flat_map(|r| &r.outputs).collect();
            outputs = json!(all);
            json!({
                "schema": SCHEMA,
                "command": "run",
                "step": null,
                "verdict": reports.last().map_or(Verdict::Passed, |r| r.verdict),
                "status": overall(reports),
                "dry_run": dry_run,
                "context": context,
                "plan": plan,
                "unchecked": reports.iter().flat_map(|r| r.unchecked.iter()).collect::<Vec<_>>(),
                "detail": {
                    "steps": reports.iter().map(|r| step_document(r.step.command(), r, None)).collect::<Vec<_>>(),
                    "not_run": not_run,
                },
            })
        }
        Ok(Outcome::Init { detail, .. }) => detail.clone(),
        Err(e) => json!({
            "schema": SCHEMA,
            "error": e.to_string(),
            "hint": e.hint(),
            "exit_code": e.exit_code(),
        }),
    };
    if let Value::Object(map) = &mut doc {
        map.insert("annotations".into(), json!(annotations));
        map.insert("outputs".into(), outputs);
    }
    doc
}

/// The document of one step: alone (with the run's context) or inside
/// `gantry run` (without).
fn step_document(command: &str, report: &StepReport, context: Option<&RunContext>) -> Value {
    json!({
        "schema": SCHEMA,
        "command": command,
        "step": report.step.as_str(),
        "verdict": report.verdict,
        "status": report.status(),
        "dry_run": report.dry_run,
        "context": context,
        "plan": report.plan,
        "unchecked": report.unchecked,
        "outputs": report.outputs,
        "detail": report.detail,
    })
}

/// The one human rendering of what steps did or would do: a heading, the
/// legend of the change markers, one line per step with its status and its
/// changes below, the steps that did not run, and a closing verdict line.
pub fn render(reports: &[StepReport], not_run: &[Step], dry_run: bool) -> String {
    let mut out = String::from(if dry_run {
        "Plan (dry run: nothing remote was changed)\n"
    } else {
        "Changes\n"
    });
    if reports.iter().any(|r| !r.plan.is_empty()) {
        out.push_str(&format!("  legend: {}\n", crate::plan::LEGEND));
    }
    for r in reports {
        let status = r.status().as_str();
        let name = r.step.as_str();
        let count = r.plan.changes.len();
        match count {
            0 if r.step.changes_remote() => {
                out.push_str(&format!("  {name}: {status} (no remote changes)\n"));
            }
            0 => out.push_str(&format!("  {name}: {status}\n")),
            n => out.push_str(&format!(
                "  {name}: {status} ({n} change{})\n",
                if n == 1 { "" } else { "s" }
            )),
        }
        for line in &r.unchecked {
            out.push_str(&format!("    not checked: {line}\n"));
        }
        if count > 0 {
            for line in r.plan.render().lines() {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    // Steps stop at a failure, or when a signal arrived: nothing new starts.
    let why = if crate::cancel::requested().is_some() {
        "cancelled"
    } else {
        "an earlier step failed"
    };
    for s in not_run {
        out.push_str(&format!("  {}: not run ({why})\n", s.as_str()));
    }
    out.push_str(&verdict_line(reports, dry_run));
    out
}

/// The closing line: the status of all the steps together.
pub fn verdict_line(reports: &[StepReport], dry_run: bool) -> String {
    format!(
        "Verdict: {}{}",
        overall(reports).as_str(),
        if dry_run { " (dry run)" } else { "" }
    )
}

/// The status of several steps together: the worst of them.
pub fn overall(reports: &[StepReport]) -> Status {
    let statuses: Vec<Status> = reports.iter().map(StepReport::status).collect();
    [Status::Failed, Status::NotChecked, Status::WouldChange]
        .into_iter()
        .find(|s| statuses.contains(s))
        .unwrap_or(Status::Passed)
}

/// The pipeline's overview in the step summary: a row per step, the steps
/// not run, and what a dry run could not check.
pub fn markdown(reports: &[StepReport], not_run: &[Step], dry_run: bool) -> String {
    let verdict = reports.last().map_or(Verdict::Passed, |r| r.verdict);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Change};

    fn change() -> Plan {
        Plan {
            changes: vec![Change {
                action: Action::Upload,
                target: "package sdk".into(),
                summary: "upload 2 files".into(),
                diff: None,
            }],
        }
    }

    #[test]
    fn a_dry_run_says_what_it_would_change_or_could_not_check() {
        let dry = StepReport::new(Step::Publish, Verdict::Passed, true);
        assert_eq!(dry.status(), Status::Passed);
        let dry = dry.plan(change());
        assert_eq!(dry.status(), Status::WouldChange);
        let dry = dry.unchecked(vec!["sdk: index unreachable".into()]);
        assert_eq!(dry.status(), Status::NotChecked);
        // Local work runs for real in a dry run: it passed.
        let gate = StepReport::new(Step::Gate, Verdict::Passed, true);
        assert_eq!(gate.status(), Status::Passed);
        let real = StepReport::new(Step::Push, Verdict::Passed, false).plan(change());
        assert_eq!(real.status(), Status::Passed);
        let failed = StepReport::new(Step::Push, Verdict::Failed, true).plan(change());
        assert_eq!(failed.status(), Status::Failed);
    }

    #[test]
    fn renders_statuses_a_legend_and_a_verdict() {
        let gate = StepReport::new(Step::Gate, Verdict::Passed, true);
        let push = StepReport::new(Step::Push, Verdict::Passed, true)
            .plan(change())
            .unchecked(vec!["api: registry unreachable".into()]);
        let text = render(&[gate, push], &[Step::DeployEcs], true);
        insta::assert_snapshot!(text, @r"
        Plan (dry run: nothing remote was changed)
          legend: + create  ~ update  - delete  > run  ^ upload
          gate: passed
          push: not checked (1 change)
            not checked: api: registry unreachable
            ^ package sdk: upload 2 files
          deploy-ecs: not run (an earlier step failed)
        Verdict: not checked (dry run)
        ");
        let real = StepReport::new(Step::DeployEcs, Verdict::Passed, false);
        insta::assert_snapshot!(render(&[real], &[], false), @r"
        Changes
          deploy-ecs: passed (no remote changes)
        Verdict: passed
        ");
    }

    #[test]
    fn every_document_has_the_same_keys() {
        let report = StepReport::new(Step::DeployEcs, Verdict::Passed, true);
        let doc = step_document(Step::DeployEcs.command(), &report, None);
        let mut keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "command",
                "context",
                "detail",
                "dry_run",
                "outputs",
                "plan",
                "schema",
                "status",
                "step",
                "unchecked",
                "verdict"
            ]
        );
        assert_eq!(doc["command"], "deploy ecs");
        assert_eq!(doc["schema"], SCHEMA);
    }
}
