//! One module per step, each implementing [`StepCommand`]: given a
//! [`Session`] (printer, environment, loaded project, run facts) it computes
//! its plan before changing anything, applies it and returns a typed
//! [`crate::report::StepReport`]. [`crate::driver`] runs them, alone or as
//! `gantry run`, and owns the ending every step shares. [`step_command`] is
//! the registry line of each step.

pub mod build;
pub mod deploy_ecs;
pub mod deploy_railway;
pub mod gate;
pub mod init;
pub mod migrate;
pub mod pr_comment;
pub mod publish;
pub mod push;
pub mod scan;

use crate::driver::StepCommand;
use crate::environment::Environment;
use crate::error::Result;
use crate::output::Printer;
use crate::run_context::RunContext;
use crate::settings::{self, Project};
use crate::state::{self, State};
use crate::step::Step;
use std::path::{Path, PathBuf};

/// The registry: each step's implementation. A new step is one line here
/// (the compiler asks for it) besides its row in [`Step::spec`].
pub fn step_command(step: Step) -> &'static dyn StepCommand {
    match step {
        Step::Gate => &gate::GateStep,
        Step::Build => &build::BuildStep,
        Step::Scan => &scan::ScanStep,
        Step::Push => &push::PushStep,
        Step::Migrate => &migrate::MigrateStep,
        Step::DeployEcs => &deploy_ecs::DeployEcsStep,
        Step::DeployRailway => &deploy_railway::DeployRailwayStep,
        Step::Publish => &publish::PublishStep,
    }
}

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
    /// Where gantry was started (`scan` alone scans it by default).
    pub cwd: PathBuf,
    /// Cancelled when a signal asks gantry to stop ([`crate::cancel`]).
    pub cancel: tokio_util::sync::CancellationToken,
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
            cwd: cwd.to_path_buf(),
            cancel: crate::cancel::token(),
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
}
