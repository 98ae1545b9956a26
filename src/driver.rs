//! The one driver every step runs through, alone or inside `gantry run`.
//!
//! A step says what is its own ([`StepCommand`]): which step it is, whether
//! `gantry.toml` configures it, whether it runs without one, the secrets on
//! its command line, and how it plans and applies. The driver owns the rest,
//! once: masking those secrets before anything runs, the order and default
//! selection of `gantry run`, stopping when a step says no or a signal
//! arrives, the dry-run "not checked" reasons, the verdict output, the
//! outputs and the pipeline state, and the ending the user reads. The JSON
//! document is built from what it returns ([`Outcome`]) in one place,
//! [`crate::report::document`].

use crate::cli::{Commands, RunArgs};
use crate::commands::{Session, step_command};
use crate::error::{Error, Result};
use crate::report::{self, Outcome, StepReport, Verdict};
use crate::settings::config::Config;
use crate::state::{self, StepRecord};
use crate::step::Step;

/// How a step was asked to run.
#[derive(Clone, Copy)]
pub enum Invocation<'a> {
    /// Its own subcommand (`gantry push api`): its flags.
    Alone(&'a Commands),
    /// A step of `gantry run`: run's flags, the step's defaults otherwise.
    Run(&'a RunArgs),
}

impl<'a> Invocation<'a> {
    /// `gantry run`'s flags, when the step runs inside it.
    pub fn run_args(self) -> Option<&'a RunArgs> {
        match self {
            Invocation::Run(args) => Some(args),
            Invocation::Alone(_) => None,
        }
    }
}

/// What a step ran as: a step of the pipeline, or a command beside it
/// (`migrate repair`) that records nothing and prints its own result.
pub enum Ran {
    Step(StepReport),
    Aside {
        command: &'static str,
        report: StepReport,
    },
}

/// What is a step's own. Everything else is the driver's.
pub trait StepCommand: Sync {
    /// Which row of the registry ([`Step::spec`]) this is.
    fn step(&self) -> Step;

    /// Whether `gantry.toml` configures this step: `gantry run` without
    /// steps named runs, in pipeline order, every step configured.
    fn configured(&self, config: &Config) -> bool;

    /// Whether it runs without `gantry.toml` (its flags and conventions say
    /// enough).
    fn runs_without_config(&self, _command: &Commands) -> bool {
        false
    }

    /// The revision its changed files are counted from (`--since`).
    fn since<'a>(&self, _command: &'a Commands) -> Option<&'a str> {
        None
    }

    /// Secrets given on its command line: masked before anything runs.
    fn flag_secrets<'a>(&self, _command: &'a Commands) -> Vec<&'a str> {
        Vec::new()
    }

    /// Plans and, unless this is a dry run, applies; reports what it did.
    fn execute(&self, session: &Session, invocation: Invocation) -> Result<Ran>;

    /// A line shown above the plan when the step runs alone.
    fn headline(&self, _report: &StepReport) -> Option<String> {
        None
    }
}

/// Runs one step alone: `gantry <step>`.
pub fn run_alone(step: Step, command: &Commands, session: &Session) -> Result<Outcome> {
    let cmd = step_command(step);
    match cmd.execute(session, Invocation::Alone(command))? {
        Ran::Aside { command, report } => Ok(Outcome::Step {
            command,
            report,
            context: session.context.clone(),
        }),
        Ran::Step(mut report) => {
            if let Some(line) = cmd.headline(&report) {
                session.printer.result(&line);
            }
            conclude(session, &mut report)?;
            let reports = std::slice::from_ref(&report);
            // A local step (gate, build, scan) has no plan: its table said it all.
            session.printer.result(&if step.changes_remote() {
                report::render(reports, &[], session.dry_run)
            } else {
                report::verdict_line(reports, session.dry_run)
            });
            Ok(Outcome::Step {
                command: step.command(),
                report,
                context: session.context.clone(),
            })
        }
    }
}

/// Runs the pipeline: the steps named, else `[pipeline] steps`, else every
/// configured step, in order; stops at the first that says no, and starts
/// nothing new once a signal arrived.
pub fn run_pipeline(args: &RunArgs, session: &Session) -> Result<Outcome> {
    let printer = session.printer;
    let steps = steps_to_run(args, session)?;
    let mut reports: Vec<StepReport> = Vec::new();
    for step in &steps {
        if session.cancel.is_cancelled() {
            break;
        }
        printer.heading(step.as_str());
        let mut report = match step_command(*step).execute(session, Invocation::Run(args))? {
            Ran::Step(report) | Ran::Aside { report, .. } => report,
        };
        conclude(session, &mut report)?;
        let failed = report.verdict == Verdict::Failed;
        reports.push(report);
        if failed {
            break;
        }
    }
    let not_run = steps[reports.len()..].to_vec();
    printer.result(&report::render(&reports, &not_run, session.dry_run));
    printer.summary_front(&report::markdown(&reports, &not_run, session.dry_run));
    Ok(Outcome::Pipeline {
        reports,
        not_run,
        dry_run: session.dry_run,
        context: session.context.clone(),
    })
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
    let steps = configured_steps(config);
    if steps.is_empty() {
        return Err(Error::usage(
            format!(
                "{} configures no step to run",
                session.project.file.display()
            ),
            Some(nothing_configured_hint()),
        ));
    }
    Ok(steps)
}

/// Every step the configuration configures, in pipeline order.
fn configured_steps(config: &Config) -> Vec<Step> {
    Step::ALL
        .into_iter()
        .filter(|s| step_command(*s).configured(config))
        .collect()
}

/// "add a [gates.*], … or [publish.*] section": each step's section, once.
fn nothing_configured_hint() -> String {
    let mut sections: Vec<&str> = Vec::new();
    for s in Step::ALL {
        if !sections.contains(&s.spec().section) {
            sections.push(s.spec().section);
        }
    }
    let (last, rest) = sections.split_last().unwrap_or((&"", &[]));
    format!(
        "add a {} or {last} section, or list steps under [pipeline]",
        rest.join(", ")
    )
}

/// Concludes a step, alone or inside `gantry run`: every run of a step,
/// dry or not, writes `<step>-verdict`; then its outputs go to
/// `$GITHUB_OUTPUT` and the pipeline state.
fn conclude(session: &Session, report: &mut StepReport) -> Result<()> {
    // In CI, each check a dry run skipped says why, where it is read.
    if let (true, Some(reason)) = (session.context.ci, session.without_remote()) {
        for line in &mut report.unchecked {
            line.push_str(&format!(" ({reason})"));
        }
    }
    report.outputs.insert(
        report.step.verdict_output(),
        report.verdict.as_str().to_string(),
    );
    // An output the registry does not list would be missing from the
    // action's gathered outputs and the reference: say which, in tests.
    debug_assert!(
        report.outputs.keys().all(|k| report.step.declares(k)),
        "{} writes an output its row in step.rs does not list: {:?}",
        report.step.as_str(),
        report
            .outputs
            .keys()
            .filter(|k| !report.step.declares(k))
            .collect::<Vec<_>>()
    );
    record(session, report)
}

/// Publishes a finished step: its outputs to `$GITHUB_OUTPUT` and the
/// pipeline state, where the next step finds them.
fn record(session: &Session, report: &StepReport) -> Result<()> {
    let printer = session.printer;
    for (name, value) in &report.outputs {
        printer.set_output(name, value)?;
    }
    printer.plan(report.step.as_str(), &report.plan);
    let mut state = session.state()?;
    state.record(
        report.step.as_str(),
        StepRecord {
            verdict: report.verdict,
            dry_run: report.dry_run,
            finished_at: state::now(),
            outputs: report
                .outputs
                .iter()
                .map(|(k, v)| (k.clone(), printer.redact(v)))
                .collect(),
            cancelled: crate::cancel::requested().map(crate::cancel::signal_name),
        },
    );
    state.annotations = printer.job_annotations();
    state.save(&session.state_path)?;
    printer.detail(&format!("state: {}", session.state_path.display()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(toml: &str) -> Vec<&'static str> {
        let config = crate::settings::parse(std::path::Path::new("gantry.toml"), toml).unwrap();
        configured_steps(&config)
            .into_iter()
            .map(Step::as_str)
            .collect()
    }

    #[test]
    fn run_without_steps_runs_every_configured_step_in_order() {
        let images = "[images.api]\ncontext = \".\"\nrepository = \"team/api\"\n";
        assert_eq!(steps(images), ["build", "push"]);
        assert_eq!(
            steps(&format!("[scan]\n{images}")),
            ["build", "scan", "push"]
        );
        assert_eq!(steps("[scan]\n"), ["scan"]);
        assert_eq!(
            steps(
                "[gates.t]\nrun = \"true\"\n[migrate]\n\
                 [deploy.w]\nrailway = { project = \"p\", environment = \"e\", service = \"s\" }\nmode = \"redeploy\"\n\
                 [deploy.a]\necs = { cluster = \"c\", service = \"s\" }\n\
                 [publish.sdk]\npypi = { path = \"sdk\" }\n"
            ),
            ["gate", "migrate", "deploy-ecs", "deploy-railway", "publish"]
        );
        assert!(steps("").is_empty());
    }

    #[test]
    fn nothing_configured_names_each_section_once() {
        assert_eq!(
            nothing_configured_hint(),
            "add a [gates.*], [images.*], [scan], [migrate], [deploy.*] or [publish.*] section, or list steps under [pipeline]"
        );
    }
}
