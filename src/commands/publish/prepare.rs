//! Local work before anything is asked of a registry: the tag's version
//! against the one each package declares, and the package's build.

use super::Session;
use crate::error::{Error, Result};
use crate::gate::exec::{self, Exit, Spec};
use crate::publish::artifacts::{self, Artifact};
use crate::publish::version::{self, Declared, Release, Scheme};
use crate::settings::config::RunCommand;
use crate::settings::publish::Package;
use std::time::Duration;

/// A build that runs longer than this is stopped.
const BUILD_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// A package whose version the tag contradicts; each fact is said once,
/// so the annotation (`file: package: title: what`) repeats none.
pub(super) struct Mismatch {
    pub(super) package: String,
    /// The file that declares the version, relative to the repository.
    pub(super) file: Option<String>,
    pub(super) title: &'static str,
    pub(super) what: String,
}

impl Mismatch {
    /// One line for the step summary.
    pub(super) fn line(&self) -> String {
        let at = self
            .file
            .as_ref()
            .map(|f| format!("`{f}`: "))
            .unwrap_or_default();
        format!("{at}{}: {}: {}", self.package, self.title, self.what)
    }
}

/// The declared version must equal the tag's (`Ok(None)`: only known after
/// the build, checked in the built files).
pub(super) fn check_version(
    session: &Session,
    p: &Package,
    release: &Release,
) -> Result<Result<Option<Declared>, Mismatch>> {
    let scheme = p.registry.target().scheme();
    let form = if scheme == Scheme::Pep440 {
        "PEP 440"
    } else {
        "semver"
    };
    if !version::valid(scheme, &release.version) {
        return Ok(Err(Mismatch {
            package: p.name.clone(),
            file: None,
            title: "invalid version in the tag",
            what: format!("`{}` is not a valid {form} version", release.version),
        }));
    }
    let declared = p.registry.target().declared(&p.dir, &p.dir_label)?;
    let Some(d) = declared else {
        if scheme == Scheme::Semver {
            return Err(Error::usage(
                format!("{}/package.json has no `version`", p.dir_label),
                None,
            ));
        }
        session.printer.info(&format!(
            "{}: the version is dynamic; it is checked in the built files",
            p.name
        ));
        return Ok(Ok(None));
    };
    if version::same(scheme, &d.version, &release.version) {
        session.printer.detail(&format!(
            "{}: {} declares {} (tag {})",
            p.name, d.file, d.version, release.version
        ));
        return Ok(Ok(Some(d)));
    }
    let file = session
        .project
        .root
        .join(p.dir_label.trim_start_matches("./"))
        .join(d.file.rsplit('/').next().unwrap_or(&d.file));
    let file = file
        .strip_prefix(&session.repo_root)
        .map(|f| f.display().to_string())
        .unwrap_or(d.file.clone());
    Ok(Err(Mismatch {
        package: p.name.clone(),
        file: Some(file),
        title: "version does not match the tag",
        what: format!("declared {}, tagged {}", d.version, release.version),
    }))
}

/// Runs the build and reads the files it wrote.
pub(super) fn build(session: &Session, p: &Package) -> std::result::Result<Vec<Artifact>, String> {
    let printer = session.printer;
    let target = p.registry.target();
    let npm = target.is_npm();
    let pack_dir = if npm && p.default_build {
        Some(tempfile::tempdir().map_err(|e| format!("cannot create a temporary directory: {e}"))?)
    } else {
        None
    };
    let (command, dist) = match &pack_dir {
        Some(d) => (
            RunCommand::Argv(vec![
                "npm".into(),
                "pack".into(),
                "--pack-destination".into(),
                d.path().display().to_string(),
            ]),
            d.path().to_path_buf(),
        ),
        None => (p.build.clone(), p.dist.clone()),
    };
    let before = artifacts::snapshot(&dist);
    printer.info(&format!(
        "{}: building in {} ({})",
        p.name,
        p.dir_label,
        p.build.display()
    ));
    let finished = exec::run(&Spec {
        command,
        dir: p.dir.clone(),
        env: Vec::new(),
        timeout: BUILD_TIMEOUT,
        log: None,
    });
    let title = format!("{}: {}", p.name, p.build.display());
    if !finished.exit.success() {
        printer.group(&title, &finished.output);
        return Err(match finished.exit {
            Exit::Code(c) => format!("`{}` exited with {c} in {}", p.build.display(), p.dir_label),
            Exit::Signal(s) => format!("`{}` was killed by signal {s}", p.build.display()),
            Exit::TimedOut => format!("`{}` ran longer than 30 minutes", p.build.display()),
            Exit::Cancelled(_) => format!("`{}` was cancelled", p.build.display()),
            Exit::NotStarted(m) => format!("`{}` could not start: {m}", p.build.display()),
        });
    }
    if printer.verbose() > 0 {
        printer.group(&title, &finished.output);
    }
    let written = artifacts::written_since(&dist, &before, npm);
    if written.is_empty() {
        return Err(format!(
            "`{}` wrote no {} in {}",
            p.build.display(),
            target.file_kinds(),
            dist.display()
        ));
    }
    written
        .iter()
        .map(|path| artifacts::read(path).map_err(|e| format!("{}: {e}", path.display())))
        .collect()
}
