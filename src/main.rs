//! Parses, dispatches, exits. Everything else lives in the library.

use clap::Parser;
use gantry::environment as env;
use gantry::error::exit;

fn main() {
    panic_hook();
    gantry::cancel::install();
    let cli = gantry::cli::Cli::parse();
    let env = env::Environment::capture();
    if env.get(env::GANTRY_PANIC_FOR_TESTS).is_some() {
        panic!(
            "a panic on purpose ({} is set)",
            env::GANTRY_PANIC_FOR_TESTS
        );
    }
    let cwd = match std::env::current_dir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("error: cannot read the current directory: {e}");
            std::process::exit(exit::EXTERNAL);
        }
    };
    std::process::exit(gantry::run(&cli, &env, &cwd));
}

/// A bug must not greet the user with Rust's panic message, a backtrace and
/// exit 101: one line saying it is gantry's fault, exit 3 (an outside failure
/// as far as the pipeline is concerned), and the backtrace only on request.
fn panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        // One line, and nothing the GitHub runner could read as a command.
        let what = what.replace(['\r', '\n'], " ").replace("##[", "# #[");
        eprintln!("internal error: {what}{at}, please report it");
        if std::env::var_os(env::RUST_BACKTRACE).is_some_and(|v| !v.is_empty() && v != "0") {
            eprintln!("{}", std::backtrace::Backtrace::force_capture());
        }
        std::process::exit(exit::EXTERNAL);
    }));
}
