//! `gantry publish`: on a release tag, check the tag against each package's
//! version, build, validate the built files, and upload them to PyPI or npm.
//!
//! Order matters: the version check runs before anything is built; every
//! file is checked against the registry (read-only) before anything is
//! uploaded, so a conflict stops the release with nothing half-published.
//! `--dry-run` builds, validates and checks, and uploads nothing.

mod prepare;
mod render;

use super::Session;
use crate::cli::Commands;
use crate::driver::{Invocation, Ran, StepCommand};
use crate::error::{Error, Result};
use crate::output::github::{Annotation, Level};
use crate::plan::Plan;
use crate::publish::artifacts::Artifact;
use crate::publish::target::Uploaded;
use crate::publish::{http, version};
use crate::report::{StepReport, Verdict};
use crate::runtime;
use crate::settings::config::{Config, Existing};
use crate::settings::publish::{Package, PublishSettings};
use crate::step::Step;
use indexmap::IndexMap;
use prepare::{build, check_version};
use render::{detail, markdown, outputs, to_plan};

/// `gantry publish`, for the driver.
pub struct PublishStep;

impl StepCommand for PublishStep {
    fn step(&self) -> Step {
        Step::Publish
    }

    fn configured(&self, config: &Config) -> bool {
        !config.publish.is_empty()
    }

    fn execute(&self, session: &Session, invocation: Invocation) -> Result<Ran> {
        let report = match invocation {
            Invocation::Alone(Commands::Publish(args)) => {
                execute(session, &args.names, args.tag.as_deref())
            }
            _ => execute(session, &[], None),
        };
        report.map(Ran::Step)
    }
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
        for m in &mismatches {
            let mut a = Annotation::new(Level::Error, m.what.clone())
                .titled(format!("{}: {}", m.package, m.title));
            if let Some(f) = &m.file {
                a = a.at(f.clone(), None, None);
            }
            printer.annotate(a);
        }
        printer.summary(&format!(
            "### gantry publish: failed\n\nNothing was built or published: the tag `{tag}` does not match\n\n{}\n",
            mismatches
                .iter()
                .map(|m| format!("- {}", m.line()))
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
                match p.registry.target().validate(&files, &release, expected) {
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
    let (verdict, plan) = runtime::block_on(publish(session, &settings, &mut items))??;
    printer.summary(&markdown(&items, verdict, session.dry_run));
    Ok(report(session, verdict, plan, &tag, detail(&items)))
}

/// Credentials, existence checks for every file, then (not in a dry run) uploads.
async fn publish(
    session: &Session<'_>,
    settings: &PublishSettings,
    items: &mut [Item<'_>],
) -> Result<(Verdict, Plan)> {
    let printer = session.printer;
    let client = http::client()?;
    // One token per package: the configured one, else trusted publishing
    // (a real run only: a dry run reads anonymously).
    let mut tokens: IndexMap<String, Option<String>> = IndexMap::new();
    // Packages trusted publishing cannot publish (a dry run shows them).
    let mut blocked: IndexMap<String, String> = IndexMap::new();
    for item in items.iter() {
        let p = item.package;
        if tokens.contains_key(&p.name) {
            continue;
        }
        if p.registry.token().is_none() {
            // Without a token the release goes through trusted publishing
            // (a real run without an ID token stopped earlier): ask, before
            // any exchange, whether it can publish this package at all.
            let target = p.registry.target();
            match target
                .trusted_publishing_blocked(&client, &item.artifact.name)
                .await
            {
                Ok(Some(why)) if session.dry_run => {
                    blocked.insert(p.name.clone(), why);
                }
                Ok(Some(why)) => return Err(first_publish(session, p, &item.artifact.name, why)),
                Ok(None) => {}
                // The existence checks below say "not checked" for it.
                Err(e) if session.go_on_without_remote(&e) => {}
                Err(e) => return Err(e),
            }
        }
        let token = match (p.registry.token(), &settings.id_token, session.dry_run) {
            (Some(t), _, _) => Some(t.to_string()),
            (None, Some(request), false) => {
                let t = p
                    .registry
                    .target()
                    .trusted_token(&client, printer, request, &item.artifact.name)
                    .await;
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
        if let Some(why) = blocked.get(&item.package.name) {
            // A refusal: a dry run, in CI or not, never passes over it.
            conflicts = true;
            let p = item.package;
            printer.annotate(
                Annotation::new(
                    Level::Error,
                    format!(
                        "{why}; {}",
                        first_publish_hint(session, p, &item.artifact.name)
                    ),
                )
                .titled(format!(
                    "{}: trusted publishing cannot create the package",
                    p.name
                )),
            );
            item.status = Status::Failed(format!(
                "`{}` does not exist on the registry and trusted publishing (OIDC) cannot create it; publish the first version with {}",
                item.artifact.name,
                p.registry.token_env()
            ));
            continue;
        }
        let token = tokens.get(&item.package.name).cloned().flatten();
        let target = item.package.registry.target();
        let found = target.find(&client, &item.artifact, token.as_deref()).await;
        match found {
            Ok(Some(listed)) => {
                item.url = Some(listed.url);
                if listed.digest == target.local_digest(&item.artifact) {
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
            Err(e) if session.go_on_without_remote(&e) => {
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
    }
    // The plan is what the checks found, fixed before anything is uploaded.
    let plan = to_plan(items);
    if conflicts {
        return Ok((Verdict::Failed, plan));
    }
    if session.dry_run {
        return Ok((Verdict::Passed, plan));
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
    let verdict = if failed {
        Verdict::Failed
    } else {
        Verdict::Passed
    };
    Ok((verdict, plan))
}

/// The stop before an OIDC exchange that could never publish: exit 2, as
/// the fix is in the project's setup (a token for the first release), not
/// in a registry that failed; running again changes nothing.
fn first_publish(session: &Session, p: &Package, name: &str, why: String) -> Error {
    Error::usage(why, Some(first_publish_hint(session, p, name)))
}

/// What to do, with the exact package name (npm's `npm trust` and its
/// settings page both say the package must already exist).
fn first_publish_hint(session: &Session, p: &Package, name: &str) -> String {
    let repo = session
        .context
        .repository
        .as_deref()
        .unwrap_or("<owner>/<repo>");
    format!(
        "publish the first version with a token: set {} from a secret for this one release; then add the trusted publisher to `{name}` on npmjs.com (the package's Settings → Trusted Publisher: GitHub Actions, repository {repo}, this workflow's file name), or run `npm trust github {name} --repo {repo} --file <workflow>.yml`; later releases need no token",
        p.registry.token_env()
    )
}

/// Uploads one file; a file someone published since the check is fine
/// when it is identical.
async fn upload(client: &reqwest::Client, item: &mut Item<'_>, token: Option<&str>) -> Result<()> {
    let target = item.package.registry.target();
    match target.upload(client, &item.artifact, token).await? {
        Uploaded::Published => {
            item.status = Status::Published;
            if item.url.is_none() {
                item.url = Some(target.published_url(&item.artifact));
            }
        }
        Uploaded::Exists(message) => match target.find(client, &item.artifact, token).await? {
            Some(listed) if listed.digest == target.local_digest(&item.artifact) => {
                item.url = Some(listed.url);
                item.status = Status::Skipped("already published, identical".into());
            }
            _ => item.status = Status::Failed(format!("the registry refused: {message}")),
        },
    }
    Ok(())
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
    let unchecked = detail
        .iter()
        .filter(|d| d["status"] == "not checked")
        .map(|d| {
            format!(
                "{} {}: the registry was not reached",
                d["package"].as_str().unwrap_or_default(),
                d["file"].as_str().unwrap_or_default()
            )
        })
        .collect();
    StepReport::new(Step::Publish, verdict, session.dry_run)
        .plan(plan)
        .outputs(outputs(tag, &detail))
        .detail(serde_json::json!({ "tag": tag, "files": detail }))
        .unchecked(unchecked)
}
