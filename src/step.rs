//! The steps of the pipeline: the one table that `gantry run`, dispatch,
//! the pipeline state and `--help` order read from.
//!
//! Adding a step: a variant here and its row in [`Step::ALL`], its
//! `commands/<step>.rs` returning a [`crate::report::StepReport`], its
//! subcommand in `cli.rs`, its arm in `lib.rs` dispatch and in
//! `commands/run.rs`, and its settings section.

use serde::{Deserialize, Serialize};

/// A step of the pipeline. Only steps that exist are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Lint and test commands (`[gates.*]`).
    Gate,
    /// Build container images (`[images.*]`).
    Build,
    /// Scan the built images (and `[scan]` paths) with Trivy.
    Scan,
    /// Push the built images to their registries.
    Push,
    /// Supabase migrations (`[migrate]`).
    Migrate,
    /// Roll out to Amazon ECS (`[deploy.*]` with `ecs`).
    DeployEcs,
    /// Deploy to Railway (`[deploy.*]` with `railway`).
    DeployRailway,
    /// Publish SDKs to PyPI and npm on a release tag (`[publish.*]`).
    Publish,
}

impl Step {
    /// Every step, in pipeline order.
    pub const ALL: [Step; 8] = [
        Step::Gate,
        Step::Build,
        Step::Scan,
        Step::Push,
        Step::Migrate,
        Step::DeployEcs,
        Step::DeployRailway,
        Step::Publish,
    ];

    /// The step's name in the pipeline state, in `[pipeline] steps` and in
    /// output names (`<name>-verdict`).
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Gate => "gate",
            Step::Build => "build",
            Step::Scan => "scan",
            Step::Push => "push",
            Step::Migrate => "migrate",
            Step::DeployEcs => "deploy-ecs",
            Step::DeployRailway => "deploy-railway",
            Step::Publish => "publish",
        }
    }

    /// The command line that runs the step alone (`deploy ecs`): the JSON
    /// document's `command`.
    pub fn command(self) -> &'static str {
        match self {
            Step::DeployEcs => "deploy ecs",
            Step::DeployRailway => "deploy railway",
            other => other.as_str(),
        }
    }

    /// Whether the step changes remote systems, so that its plan is the
    /// point of a dry run. Gates, builds and scans are local work that runs
    /// for real in a dry run too.
    pub fn changes_remote(self) -> bool {
        matches!(
            self,
            Step::Push | Step::Migrate | Step::DeployEcs | Step::DeployRailway | Step::Publish
        )
    }

    /// The output every run of the step writes, dry or not: `<step>-verdict`.
    pub fn verdict_output(self) -> String {
        format!("{}-verdict", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn help_lists_the_steps_in_pipeline_order() {
        // `deploy` groups two steps: the top-level subcommands follow ALL,
        // with `deploy ecs` and `deploy railway` folded into one entry; then
        // the two commands that are not steps, `run` and `init`.
        let cli = crate::cli::Cli::command();
        let names: Vec<&str> = cli.get_subcommands().map(clap::Command::get_name).collect();
        let mut expected: Vec<&str> = Vec::new();
        for step in Step::ALL {
            let top = step.command().split(' ').next().unwrap_or_default();
            if expected.last() != Some(&top) {
                expected.push(top);
            }
        }
        expected.extend(["run", "init"]);
        assert_eq!(names, expected);
    }

    #[test]
    fn names_are_stable() {
        let names: Vec<&str> = Step::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "gate",
                "build",
                "scan",
                "push",
                "migrate",
                "deploy-ecs",
                "deploy-railway",
                "publish"
            ]
        );
        assert_eq!(Step::DeployEcs.verdict_output(), "deploy-ecs-verdict");
    }
}
