//! gantry: a GitHub Actions-native pipeline toolkit.
//!
//! The flow of every command: `cli` parses, `settings` merges flags,
//! environment and `gantry.toml`, `driver` runs the steps (`commands::<step>`
//! plans and applies through its integration module), `report` builds the
//! one JSON document, and `output::Printer` writes everything.

pub mod aws;
pub mod cancel;
pub mod cli;
pub mod commands;
pub mod docker;
pub mod driver;
pub mod duration;
pub mod environment;
pub mod error;
pub mod gate;
pub mod git;
pub mod github;
pub mod https;
pub mod init;
pub mod output;
pub mod paths;
pub mod plan;
pub mod process;
pub mod publish;
pub mod railway;
pub mod registry;
pub mod report;
pub mod run_context;
pub mod runtime;
pub mod secret_files;
pub mod settings;
pub mod sigstore;
pub mod state;
pub mod step;
pub mod supabase;
pub mod trivy;

// Unit tests skip (and CI fails) exactly as the integration tests do.
#[cfg(test)]
#[path = "../tests/support/skip.rs"]
#[allow(unreachable_pub)] // shared with the integration tests, where it is public
mod test_skip;

use cli::{Cli, Commands, Runs};
use commands::Session;
use environment::Environment;
use error::{Error, exit};
use output::Printer;
use report::{Outcome, Verdict};

/// Runs a parsed command line in `cwd`; returns the process exit code.
pub fn run(cli: &Cli, env: &Environment, cwd: &std::path::Path) -> i32 {
    let printer = Printer::new(settings::printer_options(&cli.global.printer_flags(), env));
    register_secrets(&printer, env);
    let result = dispatch(cli, env, &printer, cwd);
    if let Ok(outcome) = &result {
        printer.document(report::document(
            Ok(outcome),
            &printer.annotations(),
            &printer.outputs(),
        ));
    }
    let result = result.map(|outcome| outcome.verdict());
    let cancelled = cancel::requested();
    if let Some(sig) = cancelled {
        let line = format!(
            "cancelled by {}: work in flight was stopped and nothing new was started (what each step left is said above)",
            cancel::signal_name(sig)
        );
        printer.warn(&line);
        printer.summary(&format!(
            "\n> **Cancelled** by {}.\n",
            cancel::signal_name(sig)
        ));
    }
    if let Commands::Run(args) = &cli.command
        && args.comment
    {
        commands::pr_comment::post(&printer, env, result.as_ref().err());
    }
    // The summary is written even when the command failed: it says why.
    let finished = printer.finish();
    if let Some(sig) = cancelled {
        return 128 + sig;
    }
    match result.and_then(|v| finished.map(|()| v)) {
        Ok(Verdict::Passed) => exit::SUCCESS,
        Ok(Verdict::Failed) => exit::PIPELINE_FAILED,
        Err(e) => {
            printer.error(&e);
            // JSON consumers still get one document, saying what went wrong.
            printer.document(report::document(
                Err(&e),
                &printer.annotations(),
                &printer.outputs(),
            ));
            e.exit_code()
        }
    }
}

fn dispatch(
    cli: &Cli,
    env: &Environment,
    printer: &Printer,
    cwd: &std::path::Path,
) -> Result<Outcome, Error> {
    let g = &cli.global;
    let command = &cli.command;
    let (since, defaults) = match command.runs() {
        // init writes gantry.toml: it cannot need one.
        Runs::Init(args) => return commands::init::cmd_init(args, env, printer, cwd),
        Runs::Pipeline(args) => (args.options.since.as_deref(), false),
        Runs::Step(step) => {
            let step = commands::step_command(step);
            // A secret on the command line is redacted from the first line on.
            for secret in step.flag_secrets(command) {
                printer.mask(secret);
                printer.mask_url_password(secret);
            }
            (step.since(command), step.runs_without_config(command))
        }
    };
    let session = Session::open(
        printer,
        env,
        cwd,
        g.config.as_deref(),
        g.dry_run,
        since,
        defaults,
    )?;
    match command.runs() {
        Runs::Init(_) => unreachable!("init returned before a session was opened"),
        Runs::Pipeline(args) => driver::run_pipeline(args, &session),
        Runs::Step(step) => driver::run_alone(step, command, &session),
    }
}

/// Every secret in the environment is redacted from the first line on.
fn register_secrets(printer: &Printer, env: &Environment) {
    for value in env.secret_values() {
        printer.mask(value);
        // A connection URL is masked whole, and its password on its own too.
        if value.contains("://") {
            printer.mask_url_password(value);
        }
    }
}
