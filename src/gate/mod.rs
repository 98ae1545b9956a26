//! Gates: the project's own lint and test commands, run as one verdict.
//!
//! `exec` runs a command, `reports` finds the JUnit reports a run wrote, `junit` parses them, `matcher` reads its
//! output, `select` decides which gates the changed files call for, and
//! `location` maps what tools print onto repository paths for annotations.

pub mod exec;
pub mod junit;
pub mod location;
pub mod matcher;
pub mod reports;
pub mod select;

use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Passed,
    Failed,
    TimedOut,
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::TimedOut => "timed out",
            Status::Skipped => "skipped",
        }
    }
}

/// What one gate did.
#[derive(Debug, Clone, Serialize)]
pub struct GateResult {
    pub name: String,
    pub required: bool,
    pub status: Status,
    /// Why it was skipped or failed, in a few words.
    pub reason: Option<String>,
    #[serde(serialize_with = "seconds")]
    pub duration: Duration,
    pub exit_code: Option<i32>,
    /// Test counts, when JUnit reports were read.
    pub tests: Option<junit::Counts>,
    pub failures: Vec<junit::Failure>,
    #[serde(skip)]
    pub output: String,
    /// Lines of the whole output (`output` may hold only its end).
    #[serde(skip)]
    pub lines: usize,
    /// The file holding the whole output (the JSON document names it, for
    /// an artifact upload or a look after the run).
    pub log: Option<std::path::PathBuf>,
}

impl GateResult {
    pub fn skipped(name: &str, required: bool, reason: String) -> Self {
        GateResult {
            name: name.to_string(),
            required,
            status: Status::Skipped,
            reason: Some(reason),
            duration: Duration::ZERO,
            exit_code: None,
            tests: None,
            failures: Vec::new(),
            output: String::new(),
            lines: 0,
            log: None,
        }
    }

    /// Failed or timed out.
    pub fn is_failure(&self) -> bool {
        matches!(self.status, Status::Failed | Status::TimedOut)
    }

    /// The first failure in a few words, for tables.
    pub fn first_failure(&self) -> Option<String> {
        if let Some(f) = self.failures.first() {
            let msg = f.message.lines().next().unwrap_or("");
            return Some(format!("{}: {}", f.test, msg));
        }
        if self.is_failure() {
            return self.reason.clone();
        }
        None
    }
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// `1.2s`, `2m 03s`.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let s = d.as_secs();
        format!("{}m {:02}s", s / 60, s % 60)
    }
}
