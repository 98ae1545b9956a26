//! One module per subcommand. Each takes its arguments and a [`Session`]
//! (printer, environment, loaded project, run facts) and returns a verdict;
//! `main` maps the verdict or error to an exit code.

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

use crate::context::RunContext;
use crate::environment::Environment;
use crate::error::Result;
use crate::git;
use crate::output::Printer;
use crate::report::StepReport;
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
    ) -> Result<Self> {
        let file = settings::find_config(cwd, config)?;
        let project = settings::load(&file)?;
        printer.detail(&format!("configuration: {}", project.file.display()));
        let context = RunContext::resolve(env, &project.root, since);
        let repo_root = git::toplevel(&project.root)
            .and_then(|p| p.canonicalize().ok())
            .unwrap_or_else(|| project.root.clone());
        let state_path = state::path(&context, &project.root);
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

    /// Publishes a finished step: its outputs to `$GITHUB_OUTPUT` and the
    /// pipeline state, where the next step finds them.
    pub fn record(&self, report: &StepReport) -> Result<()> {
        for (name, value) in &report.outputs {
            self.printer.set_output(name, value)?;
        }
        self.printer.plan(report.step.as_str(), &report.plan);
        let mut state = State::load(&self.state_path, self.context.sha.as_deref())?;
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
            },
        );
        state.save(&self.state_path)?;
        self.printer
            .detail(&format!("state: {}", self.state_path.display()));
        Ok(())
    }
}
