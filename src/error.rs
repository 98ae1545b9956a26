//! Errors that stop a command, and the exit code each one maps to.
//!
//! A pipeline that *says no* (a gate failed) is not an error: it is a
//! [`Verdict`](crate::report::Verdict). Errors are for the cases where gantry
//! could not do its job at all: bad usage or configuration (exit 2) or an
//! outside system that failed (exit 3).

use std::path::PathBuf;

/// Exit codes, documented in the README.
pub mod exit {
    /// Everything passed and was applied.
    pub const SUCCESS: i32 = 0;
    /// The pipeline said no: a gate failed, a policy failed, a deploy failed.
    pub const PIPELINE_FAILED: i32 = 1;
    /// Bad usage or configuration.
    pub const USAGE: i32 = 2;
    /// An outside system failed (git, Docker, AWS, the filesystem, ...).
    pub const EXTERNAL: i32 = 3;
}

/// A configuration problem located in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    /// 1-based line, when the position is known.
    pub line: Option<usize>,
    /// 1-based column, when the position is known.
    pub column: Option<usize>,
    pub message: String,
    /// The offending source line, shown under the message.
    pub snippet: Option<String>,
    pub hint: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line asked for something that cannot be done.
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// `gantry.toml` is missing or wrong.
    #[error("{}", render_config(.0))]
    Config(Box<ConfigError>),
    /// A system outside gantry failed, or could not be asked (unreachable,
    /// no credentials here): exit 3, never reported as a policy failure. A
    /// local dry run may go on without it (see `Session::go_on_without_remote`).
    #[error("{system}: {message}")]
    External {
        system: &'static str,
        message: String,
        hint: Option<String>,
    },
    /// A system outside gantry answered and said no (it refused the
    /// credentials, or its API returned an error): exit 3, and never passed
    /// over by a dry run, since CI would meet the same answer.
    #[error("{system}: {message}")]
    Refused {
        system: &'static str,
        message: String,
        hint: Option<String>,
    },
}

impl Error {
    pub fn usage(message: impl Into<String>, hint: Option<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint,
        }
    }

    pub fn external(system: &'static str, message: impl Into<String>) -> Self {
        Error::External {
            system,
            message: message.into(),
            hint: None,
        }
    }

    pub fn refused(system: &'static str, message: impl Into<String>) -> Self {
        Error::Refused {
            system,
            message: message.into(),
            hint: None,
        }
    }

    /// The remote could not be asked (as opposed to answering no, or bad
    /// usage): the one case a local dry run may go on without it.
    pub fn remote_unasked(&self) -> bool {
        matches!(self, Error::External { .. })
    }

    pub fn with_hint(mut self, text: impl Into<String>) -> Self {
        match &mut self {
            Error::Usage { hint, .. }
            | Error::External { hint, .. }
            | Error::Refused { hint, .. } => *hint = Some(text.into()),
            Error::Config(c) => c.hint = Some(text.into()),
        }
        self
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage { .. } | Error::Config(_) => exit::USAGE,
            Error::External { .. } | Error::Refused { .. } => exit::EXTERNAL,
        }
    }

    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::Usage { hint, .. }
            | Error::External { hint, .. }
            | Error::Refused { hint, .. } => hint.as_deref(),
            Error::Config(c) => c.hint.as_deref(),
        }
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(Box::new(e))
    }
}

/// `path:line:column: message`, then the source line with a caret, as compilers do.
fn render_config(e: &ConfigError) -> String {
    let mut out = e.path.display().to_string();
    if let Some(line) = e.line {
        out.push_str(&format!(":{line}"));
        if let Some(col) = e.column {
            out.push_str(&format!(":{col}"));
        }
    }
    out.push_str(&format!(": {}", e.message));
    if let (Some(snippet), Some(line)) = (&e.snippet, e.line) {
        let gutter = line.to_string().len();
        out.push_str(&format!("\n{:gutter$} |\n{line} | {snippet}", ""));
        if let Some(col) = e.column {
            out.push_str(&format!("\n{:gutter$} | {:>col$}", "", "^"));
        }
    }
    out
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A bug must not greet the user with Rust's panic message, a backtrace and
/// exit 101: one line saying it is gantry's fault, exit 3 (an outside failure
/// as far as the pipeline is concerned), and the backtrace only on request.
pub fn install_panic_hook() {
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
        if std::env::var_os(crate::environment::RUST_BACKTRACE)
            .is_some_and(|v| !v.is_empty() && v != "0")
        {
            eprintln!("{}", std::backtrace::Backtrace::force_capture());
        }
        std::process::exit(exit::EXTERNAL);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_error_shows_position_snippet_and_caret() {
        let e = Error::from(ConfigError {
            path: "gantry.toml".into(),
            line: Some(12),
            column: Some(3),
            message: "unknown key `runn`".into(),
            snippet: Some("runn = \"x\"".into()),
            hint: Some("did you mean `run`?".into()),
        });
        assert_eq!(
            e.to_string(),
            "gantry.toml:12:3: unknown key `runn`\n   |\n12 | runn = \"x\"\n   |   ^"
        );
        assert_eq!(e.exit_code(), exit::USAGE);
        assert_eq!(e.hint(), Some("did you mean `run`?"));
    }

    #[test]
    fn external_errors_exit_3_and_usage_errors_exit_2() {
        assert_eq!(Error::external("git", "boom").exit_code(), 3);
        assert_eq!(Error::usage("bad", None).exit_code(), 2);
    }
}
