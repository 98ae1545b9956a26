//! Parses, dispatches, exits. Everything else lives in the library.

use clap::Parser;

fn main() {
    let cli = gantry::cli::Cli::parse();
    let env = gantry::environment::Environment::capture();
    let cwd = match std::env::current_dir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("error: cannot read the current directory: {e}");
            std::process::exit(gantry::error::exit::EXTERNAL);
        }
    };
    std::process::exit(gantry::run(&cli, &env, &cwd));
}
