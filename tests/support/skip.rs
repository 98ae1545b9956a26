//! Skipping a test whose tool, service or `../shared` data is missing.
//!
//! libtest has no "skipped" outcome: a test that returns early is counted as
//! passed. So a skip is recorded here, and `scripts/test` subtracts the
//! recorded tests from the passed count and lists them with their reasons in
//! its closing line. In CI (`CI=true`) nothing is ever skipped: the test fails.
//!
//! This one file is shared by the integration tests (`tests/support`) and the
//! library's unit tests (`src/lib.rs` includes it under `cfg(test)`).
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;

/// The file `scripts/test` reads the skips from (one `test<TAB>reason` line each).
pub const SKIP_LOG_VAR: &str = "GANTRY_TEST_SKIP_LOG";

/// Whether this run is CI, where a missing tool is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Marks the running test as skipped because of `reason`; in CI, fails it.
/// The caller returns right after.
#[track_caller]
pub fn skip(reason: &str) {
    assert!(
        !in_ci(),
        "{reason}: CI never skips a test (run scripts/setup; keep ../shared beside the clone)"
    );
    // libtest names each test's thread after the test.
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("?").to_string();
    eprintln!("\n*** SKIPPED {test}: {reason} ***\n");
    if let Some(path) = std::env::var_os(SKIP_LOG_VAR) {
        // One short append per line: lines from parallel tests do not interleave.
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = file.write_all(format!("{test}\t{}\n", reason.replace('\n', " ")).as_bytes());
        }
    }
}

/// A path under the workspace's `../shared/data`, or `None` (test skipped)
/// when it is not there, as in any user's clone.
#[track_caller]
pub fn shared_data(rel: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(rel);
    if path.exists() {
        return Some(path);
    }
    skip(&format!(
        "{} is missing (../shared is not beside this clone)",
        path.display()
    ));
    None
}
