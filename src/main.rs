//! Parses, dispatches, exits. Everything else lives in the library.

use clap::Parser;
use gantry::environment as env;
use gantry::error::exit;

fn main() {
    gantry::error::install_panic_hook();
    gantry::cancel::install();
    let cli = gantry::cli::Cli::parse();
    let env = env::Environment::capture();
    assert!(
        env.get(env::GANTRY_PANIC_FOR_TESTS).is_none(),
        "a panic on purpose ({} is set)",
        env::GANTRY_PANIC_FOR_TESTS
    );
    let cwd = match std::env::current_dir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("error: cannot read the current directory: {e}");
            std::process::exit(exit::EXTERNAL);
        }
    };
    std::process::exit(gantry::run(&cli, &env, &cwd));
}
