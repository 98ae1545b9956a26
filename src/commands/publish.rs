//! `gantry publish`: on a release tag, check the tag against each package's
//! version, build, validate the built files, and upload them to PyPI or npm.
//!
//! Order matters: the version check runs before anything is built; every
//! file is checked against the registry (read-only) before anything is
//! uploaded, so a conflict stops the release with nothing half-published.
//! `--dry-run` builds, validates and checks, and uploads nothing.

use super::Session;
use crate::cli::PublishArgs;
use crate::error::{Error, Result};
use crate::gate::exec::{self, Exit, Spec};
use crate::output::github::{Annotation, Level};
use crate::plan::{Action, Change, Plan};
use crate::publish::artifacts::{self, Artifact, normalize_name};
use crate::publish::version::{self, Declared, Release, Scheme};
use crate::publish::{http, npm, oidc, pypi};
use crate::report::{StepReport, Verdict};
use crate::runtime;
use crate::settings::config::{Existing, RunCommand};
use crate::settings::publish::{Package, PublishSettings, Registry};
use indexmap::IndexMap;
use std::time::Duration;

/// A build that runs longer than this is stopped.
const BUILD_TIMEOUT: Duration = Duration::from_secs(30 * 60);

pub fn cmd_publish(args: &PublishArgs, session: &Session) -> Result<Verdict> {
    let report = execute(session, &args.names, args.tag.as_deref())?;
    session.printer.result(&report.plan.render_under("Plan"));
    session.record(&report)?;
    session.printer.document(serde_json::json!({
        "command": "publish",
        "verdict": report.verdict,
        "dry_run": session.dry_run,
        "context": session.context,
        "plan": report.plan,
        "publish": report.detail,
    }));
    Ok(report.verdict)
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    Published,
    /// Dry run: it would be uploaded.
    WouldPublish,
    Skipped(String),
    Failed(String),
    /// Dry run: the registry could not be asked.
    NotChecked(String),
}

impl Status {
    fn word(&self) -> &'static str {
        match self {
            Status::Published => "published",
            Status::WouldPublish => "would publish",
            Status::Skipped(_) => "skipped",
            Status::Failed(_) => "failed",
            Status::NotChecked(_) => "not checked",
        }
    }
}

/// One built file and its fate.
struct Item<'a> {
    package: &'a Package,
    artifact: Artifact,
    status: Status,
    url: Option<String>,
}

pub fn execute(session: &Session, names: &[String], tag: Option<&str>) -> Result<StepReport> {
    let printer = session.printer;
    let settings =
        PublishSettings::resolve(&session.project, session.env, &session.context, names, tag)?;
    for secret in settings.secrets() {
        printer.mask(secret);
    }
    let Some(tag) = settings.tag.clone() else {
        return Ok(not_a_release(
            session,
            &format!("not a release: no tag ({})", settings.tag_source),
        ));
    };
    let Some(release) = version::parse_tag(&tag, &settings.all_names) else {
        return Ok(not_a_release(
            session,
            &format!("not a release: tag `{tag}` is neither v<version> nor <package>-v<version>"),
        ));
    };
    let selected: Vec<&Package> = settings
        .packages
        .iter()
        .filter(|p| release.package.as_ref().is_none_or(|n| *n == p.name))
        .collect();
    if selected.is_empty() {
        return Ok(not_a_release(
            session,
            &format!(
                "not a release of {}: tag `{tag}` is for `{}`",
                settings
                    .packages
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                release.package.as_deref().unwrap_or("")
            ),
        ));
    }
    printer.info(&format!(
        "release {tag} ({}): {}",
        settings.tag_source,
        selected
            .iter()
            .map(|p| format!("{} {}", p.name, release.version))
            .collect::<Vec<_>>()
            .join(", ")
    ));

    // 1. Versions, before anything is built.
    let mut declared = IndexMap::new();
    let mut mismatches = Vec::new();
    for p in &selected {
        match check_version(session, p, &release)? {
            Ok(d) => {
                declared.insert(p.name.clone(), d);
            }
            Err(problem) => mismatches.push(problem),
        }
    }
    if !mismatches.is_empty() {
        for (p, file, message) in &mismatches {
            let mut a = Annotation::new(Level::Error, message.clone())
                .titled(format!("{p}: version does not match the tag"));
            if let Some(f) = file {
                a = a.at(f.clone(), None, None);
            }
            printer.annotate(a);
        }
        printer.summary(&format!(
            "### gantry publish: failed\n\nNothing was built or published: the tag `{tag}` does not match\n\n{}\n",
            mismatches
                .iter()
                .map(|(_, _, m)| format!("- {m}"))
                .collect::<Vec<_>>()
                .join("\n")
        ));
        return Ok(report(
            session,
            Verdict::Failed,
            Plan::default(),
            &tag,
            Vec::new(),
        ));
    }

    // Credentials before the work: a real run without any fails now.
    if !session.dry_run {
        for p in &selected {
            if p.registry.token().is_none() && settings.id_token.is_none() {
                return Err(Error::usage(
                    format!(
                        "no credentials to publish `{}` to {}: {} is not set and trusted publishing is not available",
                        p.name,
                        p.registry.url(),
                        p.registry.token_env()
                    ),
                    Some(format!(
                        "set {} from a secret, or use trusted publishing: `permissions: id-token: write` in the workflow and a trusted publisher on the registry",
                        p.registry.token_env()
                    )),
                ));
            }
        }
    }

    // 2. Build and validate (local work: a dry run does it too).
    let mut items: Vec<Item> = Vec::new();
    let mut build_failed = false;
    for p in &selected {
        match build(session, p) {
            Ok(files) => {
                let expected = declared.get(&p.name).and_then(|d| d.as_ref());
                match validate(p, &files, &release, expected) {
                    Ok(()) => items.extend(files.into_iter().map(|artifact| Item {
                        package: p,
                        artifact,
                        status: Status::WouldPublish,
                        url: None,
                    })),
                    Err(problems) => {
                        build_failed = true;
                        for problem in problems {
                            printer.annotate(
                                Annotation::new(Level::Error, problem)
                                    .titled(format!("{}: built files are not publishable", p.name)),
                            );
                        }
                    }
                }
            }
            Err(problem) => {
                build_failed = true;
                printer.annotate(
                    Annotation::new(Level::Error, problem)
                        .titled(format!("{}: build failed", p.name)),
                );
            }
        }
    }
    if build_failed {
        printer.summary(&markdown(&items, Verdict::Failed, session.dry_run));
        return Ok(report(
            session,
            Verdict::Failed,
            Plan::default(),
            &tag,
            detail(&items),
        ));
    }

    // 3. Ask the registries, then upload.
    let verdict = runtime::block_on(publish(session, &settings, &mut items))??;
    let plan = to_plan(&items);
    printer.summary(&markdown(&items, verdict, session.dry_run));
    Ok(report(session, verdict, plan, &tag, detail(&items)))
}

fn scheme(p: &Package) -> Scheme {
    match p.registry {
        Registry::Pypi { .. } => Scheme::Pep440,
        Registry::Npm { .. } => Scheme::Semver,
    }
}

type Mismatch = (String, Option<String>, String);

/// The declared version must equal the tag's (`Ok(None)`: only known after
/// the build, checked in the built files).
fn check_version(
    session: &Session,
    p: &Package,
    release: &Release,
) -> Result<Result<Option<Declared>, Mismatch>> {
    let scheme = scheme(p);
    let form = if scheme == Scheme::Pep440 {
        "PEP 440"
    } else {
        "semver"
    };
    if !version::valid(scheme, &release.version) {
        return Ok(Err((
            p.name.clone(),
            None,
            format!(
                "{}: the tag's version `{}` is not a valid {form} version",
                p.name, release.version
            ),
        )));
    }
    let declared = match p.registry {
        Registry::Pypi { .. } => version::python_declared(&p.dir, &p.dir_label)?,
        Registry::Npm { .. } => version::npm_declared(&p.dir, &p.dir_label)?,
    };
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
    Ok(Err((
        p.name.clone(),
        Some(file),
        format!(
            "{}: {} declares version {} but the tag says {}",
            p.name, d.file, d.version, release.version
        ),
    )))
}

/// Runs the build and reads the files it wrote.
fn build(session: &Session, p: &Package) -> std::result::Result<Vec<Artifact>, String> {
    let printer = session.printer;
    let npm = matches!(p.registry, Registry::Npm { .. });
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
            if npm { ".tgz" } else { ".whl or .tar.gz" },
            dist.display()
        ));
    }
    written
        .iter()
        .map(|path| artifacts::read(path).map_err(|e| format!("{}: {e}", path.display())))
        .collect()
}

/// Name and version inside every built file match the package and the tag;
/// the metadata the registry requires is there.
fn validate(
    p: &Package,
    files: &[Artifact],
    release: &Release,
    declared: Option<&Declared>,
) -> std::result::Result<(), Vec<String>> {
    let scheme = scheme(p);
    let mut problems = Vec::new();
    for a in files {
        let f = &a.file_name;
        if a.name.is_empty() || a.version.is_empty() {
            problems.push(format!(
                "{f}: the name or version is missing from its metadata"
            ));
            continue;
        }
        if !version::same(scheme, &a.version, &release.version) {
            problems.push(format!(
                "{f}: holds version {} but the tag says {}",
                a.version, release.version
            ));
        }
        if let Some(name) = declared.and_then(|d| d.name.as_deref()) {
            let same = match scheme {
                Scheme::Pep440 => normalize_name(name) == normalize_name(&a.name),
                Scheme::Semver => name == a.name,
            };
            if !same {
                problems.push(format!(
                    "{f}: holds package `{}` but {} names `{name}`",
                    a.name,
                    declared.map(|d| d.file.as_str()).unwrap_or("")
                ));
            }
        }
        if scheme == Scheme::Pep440 {
            if a.metadata.first("Metadata-Version").is_none() {
                problems.push(format!("{f}: its metadata has no Metadata-Version"));
            }
            match artifacts::name_version_from_file(f) {
                Some((n, v))
                    if normalize_name(&n) == normalize_name(&a.name)
                        && version::same(scheme, &v, &a.version) => {}
                _ => problems.push(format!(
                    "{f}: the file name does not match the name and version inside ({} {})",
                    a.name, a.version
                )),
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Credentials, existence checks for every file, then (not in a dry run) uploads.
async fn publish(
    session: &Session<'_>,
    settings: &PublishSettings,
    items: &mut [Item<'_>],
) -> Result<Verdict> {
    let printer = session.printer;
    let client = http::client()?;
    // One token per package: the configured one, else trusted publishing
    // (a real run only: a dry run reads anonymously).
    let mut tokens: IndexMap<String, Option<String>> = IndexMap::new();
    for item in items.iter() {
        let p = item.package;
        if tokens.contains_key(&p.name) {
            continue;
        }
        let token = match (p.registry.token(), &settings.id_token, session.dry_run) {
            (Some(t), _, _) => Some(t.to_string()),
            (None, Some(request), false) => {
                let t = match &p.registry {
                    Registry::Pypi { upload_url, .. } => {
                        oidc::pypi_token(&client, printer, request, upload_url).await
                    }
                    Registry::Npm { registry, .. } => {
                        let name = npm::escaped_name(&item.artifact.name);
                        oidc::npm_token(&client, printer, request, registry, &name).await
                    }
                };
                match t {
                    Ok(t) => {
                        printer.info(&format!(
                            "{}: trusted publishing: exchanged GitHub's ID token for an upload token",
                            p.name
                        ));
                        Some(t)
                    }
                    Err(e) => return Err(e),
                }
            }
            _ => None,
        };
        tokens.insert(p.name.clone(), token);
    }

    // Read-only checks for every file before anything is uploaded.
    let mut conflicts = false;
    for item in items.iter_mut() {
        let token = tokens.get(&item.package.name).cloned().flatten();
        let found = exists(&client, item, token.as_deref()).await;
        match found {
            Ok(Some((remote, url))) => {
                item.url = Some(url);
                if remote == local_digest(item) {
                    item.status = Status::Skipped("already published, identical".into());
                } else {
                    let message = format!(
                        "{} {}: {} is already on {} with other contents",
                        item.package.name,
                        item.artifact.version,
                        item.artifact.file_name,
                        item.package.registry.url()
                    );
                    match item.package.existing {
                        Existing::Fail => {
                            conflicts = true;
                            printer.annotate(
                                Annotation::new(Level::Error, format!("{message}: a published file cannot be replaced; release a new version"))
                                    .titled(format!("{}: already published", item.package.name)),
                            );
                            item.status =
                                Status::Failed("already published with other contents".into());
                        }
                        Existing::Skip => {
                            printer.warn(&format!("{message} (skipped: existing = \"skip\")"));
                            item.status =
                                Status::Skipped("already published, other contents".into());
                        }
                    }
                }
            }
            Ok(None) => {}
            Err(e) if session.dry_run && could_not_check(&e) => {
                printer.warn(&format!(
                    "{}: {} not checked against the registry ({e})",
                    item.package.name, item.artifact.file_name
                ));
                item.status = Status::NotChecked(e.to_string());
            }
            Err(e) => return Err(e),
        }
    }
    if conflicts {
        // Nothing of the release is uploaded: say so for the other files too.
        for item in items.iter_mut() {
            if item.status == Status::WouldPublish && !session.dry_run {
                item.status = Status::Skipped("not uploaded: the release has a conflict".into());
            }
        }
        return Ok(Verdict::Failed);
    }
    if session.dry_run {
        return Ok(Verdict::Passed);
    }

    for item in items.iter_mut() {
        if item.status != Status::WouldPublish {
            if let Status::Skipped(why) = &item.status {
                printer.outcome(
                    None,
                    &format!(
                        "- {} {}: skipped ({why})",
                        item.package.name, item.artifact.file_name
                    ),
                );
            }
            continue;
        }
        let token = tokens.get(&item.package.name).cloned().flatten();
        upload(&client, item, token.as_deref()).await?;
        match &item.status {
            Status::Published => printer.outcome(
                Some(true),
                &format!(
                    "✓ {} {}: published {} (sha256 {})",
                    item.package.name,
                    item.artifact.version,
                    item.artifact.file_name,
                    item.artifact.sha256
                ),
            ),
            Status::Failed(why) => printer.outcome(
                Some(false),
                &format!("✗ {} {}: {why}", item.package.name, item.artifact.file_name),
            ),
            other => printer.outcome(
                None,
                &format!(
                    "- {} {}: {}",
                    item.package.name,
                    item.artifact.file_name,
                    other.word()
                ),
            ),
        }
    }
    let failed = items.iter().any(|i| matches!(i.status, Status::Failed(_)));
    Ok(if failed {
        Verdict::Failed
    } else {
        Verdict::Passed
    })
}

/// The digest the registry lists: sha256 on PyPI, sha1 `shasum` on npm.
fn local_digest(item: &Item) -> String {
    match item.package.registry {
        Registry::Pypi { .. } => item.artifact.sha256.clone(),
        Registry::Npm { .. } => npm::shasum(&item.artifact.bytes),
    }
}

/// The file (PyPI) or version (npm) on the registry: its digest and URL.
async fn exists(
    client: &reqwest::Client,
    item: &Item<'_>,
    token: Option<&str>,
) -> Result<Option<(String, String)>> {
    match &item.package.registry {
        Registry::Pypi {
            upload_url,
            index_url,
            ..
        } => {
            let index = pypi::Index {
                client,
                upload_url,
                index_url,
                token,
            };
            Ok(index
                .find(&item.artifact.name, &item.artifact.file_name)
                .await?
                .map(|l| (l.sha256, l.url)))
        }
        Registry::Npm { registry, .. } => {
            let r = npm::Registry {
                client,
                url: registry,
                token,
            };
            Ok(
                r.version_shasum(&item.artifact.name, &item.artifact.version)
                    .await?
                    .map(|s| {
                        (
                            s,
                            npm_url(registry, &item.artifact.name, &item.artifact.version),
                        )
                    }),
            )
        }
    }
}

async fn upload(client: &reqwest::Client, item: &mut Item<'_>, token: Option<&str>) -> Result<()> {
    let raced = match &item.package.registry {
        Registry::Pypi {
            upload_url,
            index_url,
            ..
        } => {
            let index = pypi::Index {
                client,
                upload_url,
                index_url,
                token,
            };
            match index.upload(&item.artifact).await? {
                pypi::Uploaded::Published => None,
                pypi::Uploaded::Exists(m) => Some(m),
            }
        }
        Registry::Npm {
            registry,
            access,
            tag,
            ..
        } => {
            let dist_tag = tag.clone().unwrap_or_else(|| {
                if version::is_prerelease(Scheme::Semver, &item.artifact.version) {
                    "next".into()
                } else {
                    "latest".into()
                }
            });
            let doc = npm::document(&item.artifact, registry, &dist_tag, *access);
            let r = npm::Registry {
                client,
                url: registry,
                token,
            };
            match r.publish(&item.artifact.name, &doc).await? {
                npm::Published::Published => None,
                npm::Published::Exists(m) => Some(m),
            }
        }
    };
    match raced {
        None => {
            item.status = Status::Published;
            if item.url.is_none() {
                item.url = Some(published_url(item));
            }
        }
        // Published by someone else since the check: identical is fine.
        Some(message) => match exists(client, item, token).await? {
            Some((remote, url)) if remote == local_digest(item) => {
                item.url = Some(url);
                item.status = Status::Skipped("already published, identical".into());
            }
            _ => item.status = Status::Failed(format!("the registry refused: {message}")),
        },
    }
    Ok(())
}

fn npm_url(registry: &str, name: &str, version: &str) -> String {
    if registry.starts_with("https://registry.npmjs.org/") {
        format!("https://www.npmjs.com/package/{name}/v/{version}")
    } else {
        format!("{registry}{}", npm::escaped_name(name))
    }
}

fn published_url(item: &Item) -> String {
    match &item.package.registry {
        Registry::Pypi { index_url, .. } => {
            let name = normalize_name(&item.artifact.name);
            if index_url.starts_with("https://pypi.org/")
                || index_url.starts_with("https://test.pypi.org/")
            {
                let host = index_url.trim_end_matches("simple/");
                format!("{host}project/{name}/{}/", item.artifact.version)
            } else {
                format!("{index_url}{name}/")
            }
        }
        Registry::Npm { registry, .. } => {
            npm_url(registry, &item.artifact.name, &item.artifact.version)
        }
    }
}

/// An outside failure that left the registry unasked, as opposed to one
/// that refused the credentials.
fn could_not_check(e: &Error) -> bool {
    matches!(e, Error::External { system, .. } if *system != http::REFUSED)
}

fn not_a_release(session: &Session, line: &str) -> StepReport {
    session.printer.outcome(None, line);
    session.printer.summary(&format!(
        "### gantry publish: passed\n\n{line}; nothing to publish.\n\n"
    ));
    let mut r = report(session, Verdict::Passed, Plan::default(), "", Vec::new());
    r.detail["not_a_release"] = line.into();
    r
}

fn report(
    session: &Session,
    verdict: Verdict,
    plan: Plan,
    tag: &str,
    detail: Vec<serde_json::Value>,
) -> StepReport {
    StepReport {
        step: crate::settings::config::Step::Publish,
        verdict,
        dry_run: session.dry_run,
        plan,
        outputs: outputs(verdict, tag, &detail),
        detail: serde_json::json!({ "tag": tag, "files": detail }),
    }
}

/// Step outputs: the verdict and tag, and per package its version and one
/// status (the most telling of its files': failed, published, would publish,
/// not checked, skipped).
fn outputs(verdict: Verdict, tag: &str, detail: &[serde_json::Value]) -> IndexMap<String, String> {
    let mut outputs = IndexMap::new();
    outputs.insert("publish-verdict".to_string(), verdict.as_str().to_string());
    outputs.insert("publish-tag".to_string(), tag.to_string());
    let mut per_package: IndexMap<String, (String, Vec<String>)> = IndexMap::new();
    for d in detail {
        let name = d["package"].as_str().unwrap_or("").to_string();
        let entry = per_package
            .entry(name)
            .or_insert_with(|| (d["version"].as_str().unwrap_or("").to_string(), Vec::new()));
        entry.1.push(d["status"].as_str().unwrap_or("").to_string());
    }
    for (name, (version, statuses)) in per_package {
        let status = [
            "failed",
            "published",
            "would publish",
            "not checked",
            "skipped",
        ]
        .into_iter()
        .find(|s| statuses.iter().any(|x| x == s))
        .unwrap_or("skipped");
        outputs.insert(format!("publish-{name}-version"), version);
        outputs.insert(format!("publish-{name}-status"), status.replace(' ', "-"));
    }
    outputs
}

fn detail(items: &[Item]) -> Vec<serde_json::Value> {
    items
        .iter()
        .map(|i| {
            serde_json::json!({
                "package": i.package.name,
                "registry": i.package.registry.url(),
                "name": i.artifact.name,
                "version": i.artifact.version,
                "file": i.artifact.file_name,
                "status": i.status.word(),
                "reason": match &i.status {
                    Status::Skipped(r) | Status::Failed(r) | Status::NotChecked(r) => Some(r.clone()),
                    _ => None,
                },
                "url": i.url,
                "sha256": i.artifact.sha256,
                "blake2_256": i.artifact.blake2_256,
            })
        })
        .collect()
}

fn to_plan(items: &[Item]) -> Plan {
    let changes = items
        .iter()
        .filter_map(|i| {
            let summary = match &i.status {
                Status::Published => "published".to_string(),
                Status::WouldPublish => "upload (new)".to_string(),
                Status::NotChecked(_) => "upload (registry not checked)".to_string(),
                Status::Failed(why) => format!("refused: {why}"),
                Status::Skipped(_) => return None,
            };
            Some(Change {
                action: Action::Upload,
                target: format!(
                    "{} {} {}",
                    i.package.registry.kind(),
                    i.artifact.name,
                    i.artifact.file_name
                ),
                summary,
                diff: None,
            })
        })
        .collect();
    Plan { changes }
}

fn markdown(items: &[Item], verdict: Verdict, dry_run: bool) -> String {
    let mut md = format!(
        "### gantry publish: {}{}\n\n| Package | Version | Registry | File | Status | URL | SHA-256 |\n|---|---|---|---|---|---|---|\n",
        verdict.as_str(),
        if dry_run {
            " (dry run: nothing uploaded)"
        } else {
            ""
        }
    );
    for i in items {
        md.push_str(&format!(
            "| {} | {} | {} | `{}` | {} | {} | `{}` |\n",
            i.package.name,
            i.artifact.version,
            i.package.registry.url(),
            i.artifact.file_name,
            i.status.word(),
            i.url.as_deref().unwrap_or("-"),
            i.artifact.sha256
        ));
    }
    md.push('\n');
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::artifacts::{Kind, Metadata};

    fn package() -> Package {
        Package {
            name: "python-sdk".into(),
            dir: "/repo/sdk/python".into(),
            dir_label: "sdk/python".into(),
            registry: Registry::Pypi {
                upload_url: "https://upload.pypi.org/legacy/".into(),
                index_url: "https://pypi.org/simple/".into(),
                token: None,
                token_env: "PYPI_TOKEN".into(),
            },
            build: RunCommand::Shell("python -m build".into()),
            default_build: true,
            dist: "/repo/sdk/python/dist".into(),
            existing: Existing::Fail,
        }
    }

    fn artifact(file: &str, kind: Kind, sha: char) -> Artifact {
        Artifact {
            path: file.into(),
            file_name: file.into(),
            kind,
            bytes: Vec::new(),
            sha256: sha.to_string().repeat(64),
            blake2_256: "b".repeat(64),
            metadata: Metadata::default(),
            manifest: None,
            name: "codewarden-sdk".into(),
            version: "1.2.3".into(),
        }
    }

    #[test]
    fn summary_and_plan_snapshot() {
        let p = package();
        let items = vec![
            Item {
                package: &p,
                artifact: artifact(
                    "codewarden_sdk-1.2.3-py3-none-any.whl",
                    Kind::Wheel {
                        pyversion: "py3".into(),
                    },
                    'a',
                ),
                status: Status::Published,
                url: Some(published_url_for(&p)),
            },
            Item {
                package: &p,
                artifact: artifact("codewarden_sdk-1.2.3.tar.gz", Kind::Sdist, 'c'),
                status: Status::Skipped("already published, identical".into()),
                url: Some(
                    "https://files.pythonhosted.org/packages/codewarden_sdk-1.2.3.tar.gz".into(),
                ),
            },
        ];
        insta::assert_snapshot!(format!(
            "{}\n--- plan\n{}",
            markdown(&items, Verdict::Passed, false),
            to_plan(&items).render()
        ));
        let r = report_outputs(&items);
        assert_eq!(r["publish-python-sdk-status"], "published");
        assert_eq!(r["publish-python-sdk-version"], "1.2.3");
    }

    fn published_url_for(p: &Package) -> String {
        let item = Item {
            package: p,
            artifact: artifact("x.whl", Kind::Sdist, 'a'),
            status: Status::Published,
            url: None,
        };
        published_url(&item)
    }

    fn report_outputs(items: &[Item]) -> IndexMap<String, String> {
        outputs(Verdict::Passed, "v1.2.3", &detail(items))
    }
}
