//! One module per subcommand. Each `execute` takes its arguments and a
//! [`Session`] (printer, environment, loaded project, run facts), computes
//! its plan before changing anything, applies it and returns a typed
//! [`StepReport`]; [`Session::finish`] is the one ending every command
//! shares: it prints the plan and verdict, records the pipeline state and
//! outputs, and emits the JSON document. `main` maps the verdict or error to
//! an exit code.

pub mod build;
pub mod deploy_ecs;
pub mod deploy_railway;
pub mod gate;
pub mod init;
pub mod migrate;
pub mod pr_comment;
pub mod publish;
pub mod push;
pub mod run;
pub mod scan;

use crate::environment::Environment;
use crate::error::Result;
use crate::output::Printer;
use crate::report::{self, StepReport, Verdict};
use crate::run_context::RunContext;
use crate::settings::{self, Project};
use crate::state::{self, State, StepRecord};
use std::path::{Path, PathBuf};

/// Everything a command needs, resolved before it starts.
pub struct Session<'a> {
    pub printer: &'a Printer,
    pub env: &'a Environment,
    pub project: Project,
    pub context: RunContext,
    /// The git work tree holding the project (annotations are relative to it);
    /// the project directory when it is not in git.
    pub repo_root: PathBuf,
    pub dry_run: bool,
    pub state_path: PathBuf,
}

impl<'a> Session<'a> {
    pub fn open(
        printer: &'a Printer,
        env: &'a Environment,
        cwd: &Path,
        config: Option<&Path>,
        dry_run: bool,
        since: Option<&str>,
        defaults: bool,
    ) -> Result<Self> {
        // Commands whose flags and conventions say enough (`defaults`) run
        // without gantry.toml; the others need it.
        let project = match settings::find_config_if_any(cwd, config)? {
            Some(file) => settings::load(&file)?,
            None if defaults => {
                let project = settings::defaults(cwd)?;
                let images: Vec<&str> =
                    project.config.images.keys().map(|n| n.0.as_str()).collect();
                printer.info(&format!(
                    "no gantry.toml found: using defaults{}",
                    match images.as_slice() {
                        [] => String::new(),
                        names => format!(" (./Dockerfile is image `{}`)", names.join(", ")),
                    }
                ));
                project
            }
            None => return Err(settings::no_config(cwd)),
        };
        printer.detail(&format!("configuration: {}", project.file.display()));
        let context = RunContext::resolve(env, &project.root, since);
        let repo_root = context
            .work_tree
            .as_ref()
            .and_then(|p| p.canonicalize().ok())
            .unwrap_or_else(|| project.root.clone());
        let state_path = state::path(&context, &project.root);
        // GitHub's 50 annotations per job count the earlier steps' too.
        if let Ok(earlier) = State::load(&state_path, context.sha.as_deref()) {
            printer.set_job_annotations(earlier.annotations);
        }
        Ok(Session {
            printer,
            env,
            project,
            context,
            repo_root,
            dry_run,
            state_path,
        })
    }

    /// The one rule for a dry run that cannot reach a remote: it goes on,
    /// saying what it could not check, when the remote could not be asked;
    /// never when it answered no. Locally always; in CI (which must check)
    /// only when the run has no credentials and says why (a fork's pull
    /// request, a plan without a read-only role: [`Session::without_remote`]).
    pub fn go_on_without_remote(&self, e: &crate::error::Error) -> bool {
        e.remote_unasked() && self.without_remote().is_some()
    }

    /// Whether this run is a dry run that may plan without the remotes it
    /// cannot ask, and what a skipped check then says: "CI will check it"
    /// locally, the run's reason in CI.
    pub fn without_remote(&self) -> Option<&str> {
        match (
            self.dry_run,
            self.context.ci,
            &self.context.unchecked_reason,
        ) {
            (false, _, _) | (true, true, None) => None,
            (true, false, _) => Some("CI will check it"),
            (true, true, Some(reason)) => Some(reason),
        }
    }

    /// The pipeline state of this commit, as earlier steps left it.
    pub fn state(&self) -> Result<State> {
        State::load(&self.state_path, self.context.sha.as_deref())
    }

    /// The ending of a command that runs one step: [`Session::conclude`],
    /// then the plan and verdict for people and the JSON document.
    pub fn finish(&self, mut report: StepReport) -> Result<Verdict> {
        self.conclude(&mut report)?;
        let reports = std::slice::from_ref(&report);
        // A local step (gate, build, scan) has no plan: its table said it all.
        self.printer.result(&if report.step.changes_remote() {
            report::render(reports, &[], self.dry_run)
        } else {
            report::verdict_line(reports, self.dry_run)
        });
        self.printer.document(report.document(Some(&self.context)));
        Ok(report.verdict)
    }

    /// Concludes a step, alone or inside `gantry run`: every run of a step,
    /// dry or not, writes `<step>-verdict`; then its outputs go to
    /// `$GITHUB_OUTPUT` and the pipeline state.
    pub fn conclude(&self, report: &mut StepReport) -> Result<()> {
        // In CI, each check a dry run skipped says why, where it is read.
        if let (true, Some(reason)) = (self.context.ci, self.without_remote()) {
            for line in &mut report.unchecked {
                line.push_str(&format!(" ({reason})"));
            }
        }
        report.outputs.insert(
            report.step.verdict_output(),
            report.verdict.as_str().to_string(),
        );
        self.record(report)
    }

    /// Publishes a finished step: its outputs to `$GITHUB_OUTPUT` and the
    /// pipeline state, where the next step finds them.
    fn record(&self, report: &StepReport) -> Result<()> {
        for (name, value) in &report.outputs {
            self.printer.set_output(name, value)?;
        }
        self.printer.plan(report.step.as_str(), &report.plan);
        let mut state = self.state()?;
        state.record(
            report.step.as_str(),
            StepRecord {
                verdict: report.verdict,
                dry_run: report.dry_run,
                finished_at: state::now(),
                outputs: report
                    .outputs
                    .iter()
                    .map(|(k, v)| (k.clone(), self.printer.redact(v)))
                    .collect(),
                cancelled: crate::cancel::requested().map(crate::cancel::signal_name),
            },
        );
        state.annotations = self.printer.job_annotations();
        state.save(&self.state_path)?;
        self.printer
            .detail(&format!("state: {}", self.state_path.display()));
        Ok(())
    }
}
