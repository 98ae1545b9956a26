//! Finding the JUnit reports a gate's command wrote in this run, and reading
//! them into counts and failures.

use super::junit::{self, Counts, Failure};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What the reports of one run say.
#[derive(Debug, Default)]
pub struct Read {
    pub counts: Counts,
    pub failures: Vec<Failure>,
    /// Reports that could not be parsed, one line each.
    pub unreadable: Vec<String>,
    /// What was left out and why (stale files, patterns matching nothing).
    pub notes: Vec<String>,
    /// No fresh report at all.
    pub found_none: bool,
}

/// Creates the folders of plain report paths: tools such as node's junit
/// reporter do not create the report's folder.
pub fn prepare(dir: &Path, patterns: &[String]) {
    for pattern in patterns {
        if !is_glob(pattern)
            && let Some(parent) = dir.join(pattern).parent()
        {
            let _ = std::fs::create_dir_all(parent);
        }
    }
}

/// Reads every report under `dir` matching `patterns` written since `started`.
pub fn read(dir: &Path, patterns: &[String], started: SystemTime) -> Read {
    let found = find(dir, patterns, started);
    let mut out = Read {
        notes: found.notes,
        found_none: found.fresh.is_empty(),
        ..Read::default()
    };
    for path in &found.fresh {
        match junit::parse_file(path) {
            Ok(r) => {
                out.counts.add(r.counts);
                out.failures.extend(r.failures);
            }
            Err(e) => out.unreadable.push(e.clone()),
        }
    }
    out
}

struct Reports {
    fresh: Vec<PathBuf>,
    notes: Vec<String>,
}

/// Report files written by this run; older ones are left out (a stale report
/// from an earlier run must not pass a gate that wrote none).
fn find(dir: &Path, patterns: &[String], started: SystemTime) -> Reports {
    let mut out = Reports {
        fresh: Vec::new(),
        notes: Vec::new(),
    };
    // Coarse file-system clocks may stamp a fresh file slightly in the past.
    let since = started - Duration::from_secs(1);
    for pattern in patterns {
        let full = dir.join(pattern);
        let candidates: Vec<_> = if is_glob(pattern) {
            glob::glob(&full.to_string_lossy())
                .map(|paths| paths.flatten().collect())
                .unwrap_or_default()
        } else {
            vec![full.clone()]
                .into_iter()
                .filter(|p| p.is_file())
                .collect()
        };
        if candidates.is_empty() {
            out.notes.push(format!("no JUnit report matches {pattern}"));
        }
        for path in candidates {
            let modified = std::fs::metadata(&path).and_then(|m| m.modified());
            match modified {
                Ok(t) if t >= since => out.fresh.push(path),
                _ => out.notes.push(format!(
                    "ignored {}: it was not written by this run",
                    path.display()
                )),
            }
        }
    }
    out
}

fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}
