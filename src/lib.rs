//! gantry: a GitHub Actions-native pipeline toolkit.
//!
//! The flow of every command: `cli` parses, `settings` merges flags,
//! environment and `gantry.toml`, `commands::<name>` plans and applies
//! through its integration module, and `output::Printer` writes everything.

pub mod aws;
pub mod cancel;
pub mod cli;
pub mod commands;
pub mod docker;
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

use cli::{Cli, Commands};
use commands::Session;
use environment::Environment;
use error::{Error, exit};
use output::Printer;
use report::Verdict;

/// Runs a parsed command line in `cwd`; returns the process exit code.
pub fn run(cli: &Cli, env: &Environment, cwd: &std::path::Path) -> i32 {
    let printer = Printer::new(settings::printer_options(&cli.global.printer_flags(), env));
    register_secrets(&printer, env);
    let result = dispatch(cli, env, &printer, cwd);
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
            printer.document(serde_json::json!({
                "schema": report::SCHEMA,
                "error": e.to_string(),
                "hint": e.hint(),
                "exit_code": e.exit_code(),
            }));
            e.exit_code()
        }
    }
}

fn dispatch(
    cli: &Cli,
    env: &Environment,
    printer: &Printer,
    cwd: &std::path::Path,
) -> Result<Verdict, Error> {
    let g = &cli.global;
    // init writes gantry.toml: it cannot need one.
    if let Commands::Init(args) = &cli.command {
        return commands::init::cmd_init(args, env, printer, cwd);
    }
    let since = match &cli.command {
        Commands::Gate(args) => args.options.since.as_deref(),
        Commands::Run(args) => args.options.since.as_deref(),
        Commands::Build(_)
        | Commands::Push(_)
        | Commands::Publish(_)
        | Commands::Scan(_)
        | Commands::Deploy(_)
        | Commands::Init(_) => None,
        Commands::Migrate(args) => {
            // A URL given on the command line is a secret from the first line on.
            let url = match &args.command {
                Some(cli::MigrateCommand::Repair(r)) => r.db_url.as_deref(),
                None => args.options.db_url.as_deref(),
            };
            if let Some(url) = url {
                printer.mask(url);
                printer.mask_url_password(url);
            }
            None
        }
    };
    // These work without gantry.toml: their flags and conventions say enough.
    let defaults = match &cli.command {
        Commands::Scan(_) | Commands::Migrate(_) | Commands::Build(_) => true,
        Commands::Gate(args) => !args.command.is_empty(),
        _ => false,
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
    match &cli.command {
        Commands::Gate(args) => commands::gate::cmd_gate(args, &session),
        Commands::Build(args) => commands::build::cmd_build(args, &session),
        Commands::Push(args) => commands::push::cmd_push(args, &session),
        Commands::Scan(args) => commands::scan::cmd_scan(args, &session, cwd),
        Commands::Migrate(args) => commands::migrate::cmd_migrate(args, &session),
        Commands::Run(args) => commands::run::cmd_run(args, &session),
        Commands::Deploy(args) => match &args.target {
            cli::DeployTarget::Ecs(a) => commands::deploy_ecs::cmd_deploy_ecs(a, &session),
            cli::DeployTarget::Railway(a) => {
                commands::deploy_railway::cmd_deploy_railway(a, &session)
            }
        },
        Commands::Publish(args) => commands::publish::cmd_publish(args, &session),
        Commands::Init(_) => unreachable!("init runs before a session is opened"),
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
