//! `gantry scan`: Trivy as a gate.
//!
//! Each target (the images built in this pipeline, directories, configuration,
//! image references and archives) is scanned by the real Trivy, which writes
//! its JSON report; gantry judges the findings with its own policy (fail-at
//! separate from show-at, ignore-unfixed, ignore files with expiry) and gives
//! one verdict. A scanner that crashes, hangs or writes nonsense is exit 3,
//! never a policy failure. A dry run scans for real: scanning changes nothing.

mod summary;

use super::Session;
use crate::cli::Commands;
use crate::docker::engine;
use crate::driver::{Invocation, Ran, StepCommand};
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::report::{StepReport, Verdict};
use crate::runtime;
use crate::settings::config::{Config, Step};
use crate::settings::scan::{ScanFlags, ScanSettings};
use crate::trivy::exec::{self, Subject, Trivy};
use crate::trivy::ignore;
use crate::trivy::policy::{Judgement, Policy};
use crate::trivy::report::{self, Report};
use crate::trivy::sarif;
use crate::trivy::severity::Severity;
use futures_util::StreamExt;
use indexmap::IndexMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `gantry scan`, for the driver.
pub struct ScanStep;

impl StepCommand for ScanStep {
    fn step(&self) -> Step {
        Step::Scan
    }

    fn configured(&self, config: &Config) -> bool {
        config.scan.is_some()
    }

    /// Without gantry.toml, `[scan]`'s defaults apply to this directory.
    fn runs_without_config(&self, _command: &Commands) -> bool {
        true
    }

    fn execute(&self, session: &Session, invocation: Invocation) -> Result<Ran> {
        let report = match invocation {
            Invocation::Alone(Commands::Scan(args)) => execute(session, &args.into(), &session.cwd),
            _ => execute(session, &ScanFlags::default(), &session.project.root),
        };
        report.map(Ran::Step)
    }
}

/// One thing to scan.
pub struct Target {
    /// As the user knows it: `api (image)`, `./`, `deploy/`.
    pub label: String,
    pub subject: Subject,
    /// For directories: their path relative to the repository, which
    /// prefixes the report's file names in annotations and SARIF.
    pub prefix: Option<String>,
    /// For an image built in this pipeline: its name in `[images]`.
    pub image: Option<String>,
}

/// A target with its report, judged.
pub struct Scanned {
    pub target: Target,
    pub report: Report,
    pub outcome: Judgement,
    /// The CycloneDX SBOM written for a built image.
    pub sbom: Option<PathBuf>,
    /// Why this target's vulnerabilities were not checked (a local dry run
    /// without the database); secrets and misconfigurations still were.
    pub vulns_unchecked: Option<String>,
}

pub fn execute(session: &Session, args: &ScanFlags, cwd: &Path) -> Result<StepReport> {
    let printer = session.printer;
    let state_dir = session
        .state_path
        .parent()
        .map_or_else(|| session.project.root.clone(), Path::to_path_buf);
    let settings = ScanSettings::resolve(&session.project, session.env, args, cwd, &state_dir)?;
    let ignores = match &settings.ignore_file {
        Some(f) => {
            let rules = ignore::load(f).map_err(|e| {
                Error::usage(
                    format!("ignore file {}: {e}", f.display()),
                    Some("fix the file (Trivy's .trivyignore or .trivyignore.yaml format)".into()),
                )
            })?;
            printer.detail(&format!(
                "ignore file: {} ({} entries)",
                f.display(),
                rules.len()
            ));
            rules
        }
        None => Vec::new(),
    };
    let policy = Policy {
        fail_at: settings.fail_at,
        show_at: settings.show_at,
        ignore_unfixed: settings.ignore_unfixed,
        classes: settings.classes,
        ignores,
        today: ignore::today(),
    };
    let path = exec::locate(
        settings.trivy.as_deref(),
        settings.path_var.as_deref(),
        &session.project.root,
    )?;
    let trivy = exec::version(&path, &settings.trivy_env)?;
    printer.info(&format!(
        "Trivy {} ({})",
        trivy.version,
        trivy.path.display()
    ));
    let flags = trivy.flags;
    if !flags.no_phone_home {
        printer.detail(&format!(
            "Trivy {} has no version check or telemetry to turn off (0.63.0 added them)",
            trivy.version
        ));
    }
    if !flags.db_mirrors && settings.db_repository.len() > 1 {
        return Err(Error::usage(
            format!(
                "[scan] db-repository lists {} mirrors, but Trivy {} ({}) takes one (several from 0.56.0)",
                settings.db_repository.len(),
                trivy.version,
                trivy.path.display()
            ),
            Some("keep one repository, or use Trivy 0.56.0 or newer".into()),
        ));
    }
    for (key, globs) in [
        ("skip-dirs", &settings.skip_dirs),
        ("skip-files", &settings.skip_files),
    ] {
        if !globs.is_empty() {
            printer.info(&format!("{key}: {}", globs.join(", ")));
        }
    }
    let opts = exec::Options {
        scanners: settings.classes.scanners(),
        timeout: settings.timeout,
        cache_dir: settings.cache_dir.clone(),
        db_repository: settings.db_repository.clone(),
        offline: settings.offline,
        db_fresh: settings.cache_dir.as_deref().is_some_and(exec::db_is_fresh),
        skip_dirs: settings.skip_dirs.clone(),
        skip_files: settings.skip_files.clone(),
        env: settings.trivy_env.clone(),
        aws_env: settings.aws_env.clone(),
    };
    if opts.db_fresh {
        printer.detail("the cached vulnerability database is fresh: not updating it");
    }
    let archives = tempfile::tempdir()
        .map_err(|e| Error::external("filesystem", format!("cannot create a temp dir: {e}")))?;
    let targets = targets(session, &settings, archives.path())?;
    if targets.is_empty() {
        return Err(Error::usage(
            "nothing to scan",
            Some("build images first (`gantry build`), or pass --fs, --config-dir, --image or --input, or set [scan] fs".into()),
        ));
    }
    let mut scanned = Vec::new();
    for target in targets {
        let mut one = scan_one(session, &trivy, &opts, &policy, target)?;
        // While its archive is still there: one SBOM per built image, next
        // to the SARIF file.
        if let (Some(name), Subject::Archive(archive)) = (&one.target.image, &one.target.subject) {
            let dir = settings.sarif.parent().unwrap_or(Path::new("."));
            create_dir(dir)?;
            let file = dir.join(format!("sbom-{name}.cdx.json"));
            printer.detail(&format!(
                "{} {}",
                trivy.path.display(),
                exec::sbom_args(&trivy.flags, archive, &opts, &file).join(" ")
            ));
            exec::sbom(&trivy, archive, &opts, &file)?;
            printer.info(&format!("SBOM of {name}: {}", file.display()));
            one.sbom = Some(file);
        }
        scanned.push(one);
    }
    drop(archives);
    finish(session, &settings, &policy, &trivy, scanned)
}

fn scan_one(
    session: &Session,
    trivy: &Trivy,
    opts: &exec::Options,
    policy: &Policy,
    target: Target,
) -> Result<Scanned> {
    let printer = session.printer;
    printer.info(&format!("scanning {} ...", target.label));
    printer.detail(&format!(
        "{} {}",
        trivy.path.display(),
        exec::args(
            &trivy.flags,
            &target.subject,
            opts,
            Path::new("<report.json>")
        )
        .join(" ")
    ));
    let spinner = printer.spinner(&format!("Trivy is scanning {}", target.label));
    let tick = || {
        if let Some(s) = &spinner {
            s.tick();
        }
    };
    let mut vulns_unchecked = None;
    let text = match exec::run(trivy, &target.subject, opts, &tick) {
        // An offline laptop cannot get the database: a local dry run scans
        // the rest and says what it did not check. CI never goes on, not
        // even a fork's pull request: the database needs no secret.
        Err(e)
            if opts.scanners.contains(&"vuln")
                && exec::db_unavailable(&e)
                && !session.context.ci
                && session.go_on_without_remote(&e) =>
        {
            let why = session.without_remote().unwrap_or_default();
            let line = format!(
                "{}: vulnerabilities (the vulnerability database could not be downloaded; {why})",
                target.label
            );
            printer.warn(&format!("not checked: {line}"));
            vulns_unchecked = Some(line);
            let mut rest = opts.clone();
            rest.scanners.retain(|s| *s != "vuln");
            if rest.scanners.is_empty() {
                Ok(r#"{"SchemaVersion":2,"Results":[]}"#.to_string())
            } else {
                exec::run(trivy, &target.subject, &rest, &tick)
            }
        }
        other => other,
    };
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    let text = text?;
    let mut report = report::parse(&text).map_err(|e| {
        Error::external(
            "Trivy",
            format!(
                "scanner failed: its report for {} cannot be read: {e}",
                target.label
            ),
        )
    })?;
    // What `build` warns about by name, Trivy's content rules do not see.
    if let Subject::Fs(dir) = &target.subject {
        let skip = Skip::new(opts);
        for (path, rule) in crate::secret_files::find(dir) {
            if !skip.skips(&path) {
                report.add_secret(&path, rule.id, rule.title, Severity::High);
            }
        }
    }
    let outcome = policy.judge(&report);
    Ok(Scanned {
        target,
        report,
        outcome,
        sbom: None,
        vulns_unchecked,
    })
}

/// `skip-dirs` and `skip-files` as Trivy applies them (doublestar globs
/// over `/`-separated relative paths: `*` stays within one name), so that
/// gantry's by-name check skips what Trivy skipped.
struct Skip {
    dirs: globset::GlobSet,
    files: globset::GlobSet,
}

impl Skip {
    fn new(opts: &exec::Options) -> Self {
        let set = |globs: &[String]| {
            let mut b = globset::GlobSetBuilder::new();
            for g in globs {
                // Checked when gantry.toml was loaded; Trivy clears a leading `/`.
                if let Ok(g) = globset::GlobBuilder::new(g.trim_start_matches('/'))
                    .literal_separator(true)
                    .build()
                {
                    b.add(g);
                }
            }
            b.build().unwrap_or_else(|_| globset::GlobSet::empty())
        };
        Skip {
            dirs: set(&opts.skip_dirs),
            files: set(&opts.skip_files),
        }
    }

    /// Whether Trivy would not look at `path`: the file is skipped, or one
    /// of the folders it is in.
    fn skips(&self, path: &str) -> bool {
        self.files.is_match(path)
            || path
                .match_indices('/')
                .any(|(i, _)| self.dirs.is_match(&path[..i]))
    }
}

/// The targets: built images (exported from the engine for Trivy to read),
/// then directories, configuration, references and archives.
fn targets(session: &Session, settings: &ScanSettings, tmp: &Path) -> Result<Vec<Target>> {
    let mut out = Vec::new();
    let names: Vec<String> = match &settings.images {
        Some(n) => n.clone(),
        None => session
            .project
            .config
            .images
            .keys()
            .map(|n| n.0.clone())
            .collect(),
    };
    if !names.is_empty() {
        let state = session.state()?;
        let mut images = Vec::new();
        for name in &names {
            if !session.project.config.images.keys().any(|n| &n.0 == name) {
                return Err(Error::usage(
                    format!("no image named `{name}` in [images]"),
                    None,
                ));
            }
            let built = state.built(name).ok_or_else(|| {
                    Error::usage(
                        format!(
                            "image `{name}` was not built in this pipeline (no build in {})",
                            session.state_path.display()
                        ),
                        Some("run `gantry build` first, or scan something else with --fs, --image or --input".into()),
                    )
                })?;
            images.push((name.clone(), built.image_id, built.references));
        }
        let docker_host = settings.docker_host.clone();
        let exported = runtime::block_on(async move {
            let docker = engine::connect(docker_host.as_deref()).await?;
            let mut files = Vec::new();
            for (name, id, _) in &images {
                let file = tmp.join(format!("{name}.tar"));
                export(&docker, id, &file).await?;
                files.push(file);
            }
            Ok::<_, Error>((images, files))
        })??;
        for ((name, id, tags), file) in exported.0.into_iter().zip(exported.1) {
            let shown = tags
                .first()
                .map_or_else(|| id.chars().take(19).collect::<String>(), String::clone);
            out.push(Target {
                label: format!("{name} ({shown})"),
                subject: Subject::Archive(file),
                prefix: None,
                image: Some(name),
            });
        }
    }
    for p in &settings.fs {
        out.push(dir_target(session, p, Subject::Fs(p.clone())));
    }
    for p in &settings.config {
        out.push(dir_target(session, p, Subject::Config(p.clone())));
    }
    for r in &settings.refs {
        out.push(Target {
            label: r.clone(),
            subject: Subject::Image(r.clone()),
            prefix: None,
            image: None,
        });
    }
    for p in &settings.archives {
        out.push(Target {
            label: p.display().to_string(),
            subject: Subject::Archive(p.clone()),
            prefix: None,
            image: None,
        });
    }
    Ok(out)
}

fn dir_target(session: &Session, path: &Path, subject: Subject) -> Target {
    let full = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    // A single file: Trivy names findings by the file's own name.
    let dir = if full.is_file() {
        full.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        full.clone()
    };
    let prefix = dir
        .strip_prefix(&session.repo_root)
        .ok()
        .map(|p| p.to_string_lossy().to_string());
    let mut label = match full.strip_prefix(&session.repo_root) {
        Ok(p) if p.as_os_str().is_empty() => "./".to_string(),
        Ok(p) => p.display().to_string(),
        Err(_) => full.display().to_string(),
    };
    // The same folder may be scanned both ways: keep the rows apart.
    if matches!(subject, Subject::Config(_)) {
        label.push_str(" (config)");
    }
    Target {
        label,
        subject,
        prefix,
        image: None,
    }
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::external(
            "filesystem",
            format!("cannot create {}: {e}", dir.display()),
        )
    })
}

/// `docker save` through the engine API, into `file`.
async fn export(docker: &bollard::Docker, id: &str, file: &PathBuf) -> Result<()> {
    let fs_err = |e: std::io::Error| {
        Error::external(
            "filesystem",
            format!("cannot write {}: {e}", file.display()),
        )
    };
    let mut out = std::fs::File::create(file).map_err(fs_err)?;
    let mut stream = docker.export_image(id);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            Error::external(
                "Docker",
                format!("cannot export image {id}: {}", engine::message(&e)),
            )
        })?;
        out.write_all(&chunk).map_err(fs_err)?;
    }
    Ok(())
}

fn finish(
    session: &Session,
    settings: &ScanSettings,
    policy: &Policy,
    trivy: &Trivy,
    scanned: Vec<Scanned>,
) -> Result<StepReport> {
    let printer = session.printer;
    let passed = scanned.iter().all(|s| s.outcome.passes(policy));
    let verdict = if passed {
        Verdict::Passed
    } else {
        Verdict::Failed
    };

    printer.result(&summary::table(&scanned, policy));
    summary::annotate(session, &scanned, policy);
    for s in &scanned {
        for e in &s.outcome.expired {
            printer.warn(&format!(
                "{}: the ignore entry for {} ({}) expired on {}: {} counts again",
                s.target.label,
                e.rule.id,
                e.rule.origin,
                e.rule.expires.as_deref().unwrap_or("?"),
                e.finding.location()
            ));
        }
    }

    let inputs: Vec<sarif::Input> = scanned
        .iter()
        .map(|s| sarif::Input {
            prefix: s.target.prefix.as_deref(),
            artifact: &s.target.label,
            findings: s.outcome.shown(policy).collect(),
        })
        .collect();
    let (text, left_out) = sarif::write(&inputs, &trivy.version);
    if left_out > 0 {
        printer.warn(&format!(
            "SARIF: {left_out} lower-severity result(s) left out to stay within GitHub's limits ({} results, {} MB)",
            sarif::MAX_RESULTS,
            sarif::MAX_BYTES / (1024 * 1024)
        ));
    }
    if let Some(dir) = settings.sarif.parent() {
        create_dir(dir)?;
    }
    std::fs::write(&settings.sarif, printer.redact(&text)).map_err(|e| {
        Error::external(
            "filesystem",
            format!("cannot write {}: {e}", settings.sarif.display()),
        )
    })?;
    printer.detail(&format!("SARIF: {}", settings.sarif.display()));

    printer.summary(&summary::markdown(
        &scanned,
        policy,
        verdict,
        &trivy.version,
    ));
    if passed {
        printer.outcome(
            Some(true),
            &format!("✓ scan passed (fail-at {})", policy.fail_at.as_str()),
        );
    } else {
        let n: usize = scanned
            .iter()
            .map(|s| s.outcome.failing(policy).count())
            .sum();
        printer.outcome(
            Some(false),
            &format!(
                "✗ scan failed: {n} finding(s) at or above {}",
                policy.fail_at.as_str()
            ),
        );
    }

    let mut outputs = IndexMap::new();
    for sev in Severity::ALL {
        let n: usize = scanned.iter().map(|s| s.outcome.count(sev)).sum();
        outputs.insert(format!("scan-{}", sev.as_str()), n.to_string());
    }
    let ignored: usize = scanned.iter().map(|s| s.outcome.ignored.len()).sum();
    let expired: usize = scanned.iter().map(|s| s.outcome.expired.len()).sum();
    outputs.insert("scan-ignored".into(), ignored.to_string());
    outputs.insert("scan-expired-ignores".into(), expired.to_string());
    outputs.insert("scan-sarif".into(), settings.sarif.display().to_string());
    outputs.insert("trivy-version".into(), trivy.version.clone());
    for s in &scanned {
        if let (Some(name), Some(file)) = (&s.target.image, &s.sbom) {
            outputs.insert(format!("sbom-{name}"), file.display().to_string());
        }
    }

    let detail = serde_json::json!({
        "trivy": { "version": trivy.version, "path": trivy.path },
        "fail_at": policy.fail_at,
        "show_at": policy.show_at,
        "ignore_unfixed": policy.ignore_unfixed,
        "sarif": settings.sarif,
        "skip_dirs": settings.skip_dirs,
        "skip_files": settings.skip_files,
        "targets": scanned.iter().map(|s| serde_json::json!({
            "target": s.target.label,
            "artifact": s.report.artifact_name,
            "passed": s.outcome.passes(policy),
            "sbom": s.sbom,
            "counts": Severity::ALL.iter().map(|sev| (sev.as_str(), s.outcome.count(*sev))).collect::<IndexMap<_, _>>(),
            "findings": s.outcome.shown(policy).collect::<Vec<_>>(),
            "ignored": s.outcome.ignored,
            "expired_ignores": s.outcome.expired,
            "unfixed_left_out": s.outcome.unfixed,
            "suppressed": s.outcome.suppressed,
        })).collect::<Vec<_>>(),
    });
    Ok(StepReport {
        step: Step::Scan,
        verdict,
        dry_run: session.dry_run,
        plan: Plan::default(),
        outputs,
        detail,
        unchecked: scanned
            .iter()
            .filter_map(|s| s.vulns_unchecked.clone())
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip(dirs: &[&str], files: &[&str]) -> Skip {
        let opts = exec::Options {
            scanners: vec!["secret"],
            timeout: std::time::Duration::from_secs(1),
            cache_dir: None,
            db_repository: Vec::new(),
            offline: true,
            db_fresh: false,
            skip_dirs: dirs.iter().map(ToString::to_string).collect(),
            skip_files: files.iter().map(ToString::to_string).collect(),
            env: Vec::new(),
            aws_env: Vec::new(),
        };
        Skip::new(&opts)
    }

    #[test]
    fn by_name_findings_skip_what_trivy_skips() {
        let s = skip(&["vendor", "**/testdata", "/build"], &["*.pem", "api/.env"]);
        for p in [
            "vendor/lib/.env",
            "a/b/testdata/key.pem",
            "build/.env",
            "key.pem",
            "api/.env",
        ] {
            assert!(s.skips(p), "{p}");
        }
        // `*` stays within one name, as in Trivy's doublestar globs.
        for p in [
            "lib/vendor.env",
            "certs/key.pem",
            "web/api/.env",
            "vendorx/.env",
        ] {
            assert!(!s.skips(p), "{p}");
        }
        assert!(!skip(&[], &[]).skips("vendor/.env"));
    }
}
