//! Output made stable for snapshots: what changes from run to run (temp
//! paths, commit shas, digests, image ids, durations) becomes a marker.

use regex::Regex;
use std::path::Path;
use std::sync::LazyLock;

static RULES: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (r"/tmp/[^\s\x22',)]+", "[TMP]"),
        // Services listen on free ports.
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        // One database per test: `t<n>_<pid>_<hint>`.
        (r"\bt\d+_\d+_\w+", "[DB]"),
        // The same in a percent-encoded URL (`%2F` written `%252F` in a workflow command).
        (r"%253A\d+%252Ft\d+_\d+_\w+", "%253A[PORT]%252F[DB]"),
        // The random token of `::stop-commands::`.
        (r"\bgantry-[0-9a-f]{32}\b", "gantry-[TOKEN]"),
        // The server's version is the machine's.
        (r"PostgreSQL \d+\.\d+", "PostgreSQL [VERSION]"),
        (
            r#""server_version": "[^"]+""#,
            r#""server_version": "[VERSION]""#,
        ),
        (r"sha256:[0-9a-f]{64}", "sha256:[DIGEST]"),
        // Other hashes of built files (sha256, BLAKE2b-256 in hex).
        (r"\b[0-9a-f]{64}\b", "[HASH]"),
        (r"\b[0-9a-f]{40}\b", "[SHA]"),
        (r"\bsha-[0-9a-f]{7}\b", "sha-[SHORT]"),
        (r"\b[0-9a-f]{12}\b", "[ID]"),
        (r"\b\d+(\.\d+)? ?(ms|s)\b", "[TIME]"),
        (r"\b\d+m \d+s\b", "[TIME]"),
        (r#""finished_at": "[^"]+""#, r#""finished_at": "[NOW]""#),
    ]
    .into_iter()
    .map(|(re, to)| (Regex::new(re).expect("valid"), to))
    .collect()
});

/// `text` with `project` as `[PROJECT]`, this clone as `[REPO]` and every
/// varying value as a marker.
pub fn scrub(text: &str, project: &Path) -> String {
    let mut out = text.replace(&project.display().to_string(), "[PROJECT]");
    out = out.replace(&super::repo_root().display().to_string(), "[REPO]");
    for (re, to) in RULES.iter() {
        out = re.replace_all(&out, *to).into_owned();
    }
    out
}
