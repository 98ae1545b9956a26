//! `gantry build`: build the `[images.*]` through the Docker Engine, in
//! parallel, tagged and labelled from git and GitHub facts.
//!
//! Building is local work: it runs for real in a dry run too.

mod render;
mod state_folder;

use super::Session;
use crate::cli::Commands;
use crate::docker::build::{self, Builder};
use crate::docker::metadata::{self, Facts};
use crate::docker::request::{self, Line, Request};
use crate::docker::{dockerfile, engine};
use crate::driver::{Invocation, Ran, StepCommand};
use crate::error::{Error, Result};
use crate::gate::location;
use crate::output::github::{Annotation, Level};
use crate::plan::Plan;
use crate::report::{StepReport, Verdict};
use crate::run_context::RefType;
use crate::settings::config::{Config, Step};
use crate::settings::images::{BuildSettings, Image};
use crate::{git, runtime, state};
use futures_util::StreamExt;
use indexmap::IndexMap;
use std::time::Instant;

/// `gantry build`, for the driver.
pub struct BuildStep;

impl StepCommand for BuildStep {
    fn step(&self) -> Step {
        Step::Build
    }

    fn configured(&self, config: &Config) -> bool {
        !config.images.is_empty()
    }

    /// Without gantry.toml, `./Dockerfile` is one image.
    fn runs_without_config(&self, _command: &Commands) -> bool {
        true
    }

    fn execute(&self, session: &Session, invocation: Invocation) -> Result<Ran> {
        let report = match invocation {
            Invocation::Alone(Commands::Build(args)) => {
                execute(session, &args.names, args.jobs, &args.build_args.values)
            }
            other => execute(
                session,
                &[],
                None,
                other
                    .run_args()
                    .map_or(&[][..], |r| r.build_args.values.as_slice()),
            ),
        };
        report.map(Ran::Step)
    }
}

/// What one image's build produced, for the summary and the JSON document.
#[derive(Debug, serde::Serialize)]
struct BuiltImage {
    image: String,
    built: bool,
    image_id: Option<String>,
    tags: Vec<String>,
    files: u64,
    bytes: u64,
    seconds: f64,
    error: Option<String>,
    /// `buildkit` or `classic`.
    builder: Option<Builder>,
    /// BuildKit: steps taken from the cache, and all steps.
    cached_steps: Option<(usize, usize)>,
}

pub fn execute(
    session: &Session,
    names: &[String],
    jobs: Option<usize>,
    build_args: &[(String, String)],
) -> Result<StepReport> {
    let printer = session.printer;
    let settings = BuildSettings::resolve(&session.project, session.env, names, jobs, build_args)?;
    if settings.images.is_empty() {
        printer.info(&format!(
            "nothing to do: {} has no [images.<name>] section",
            session.project.file.display()
        ));
    }
    for value in settings.secrets.values().flat_map(|s| s.0.values()) {
        printer.mask(&String::from_utf8_lossy(value));
    }
    if let Some(token) = settings.gha.get("token") {
        printer.mask(token);
    }
    let facts = facts(session);
    let mut requests = Vec::new();
    for image in &settings.images {
        requests.push((image, request(image, &facts, &settings)?));
    }
    printer.info(&format!(
        "building {} image(s): {}",
        requests.len(),
        settings
            .images
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    state_folder::warn_if_in_context(
        printer,
        &session.state_path,
        &settings.images,
        &session.repo_root,
    );
    let results = runtime::block_on(async {
        let docker = engine::connect(settings.docker_host.as_deref()).await?;
        let docker = &docker;
        let settings = &settings;
        let host = settings.docker_host.as_deref();
        let (buildkit, notice) = build::choose(docker, host, Builder::BuildKit).await;
        if let Some(notice) = notice {
            printer.warn(&notice);
        }
        for (image, (req, _)) in &mut requests {
            let engine = engine_for(image, settings, buildkit);
            fit_to_engine(image, req, engine, printer)?;
        }
        let ecr = ecr_logins(&requests, printer).await;
        let requests: Vec<_> = requests
            .into_iter()
            .map(|(image, (mut req, tags))| {
                req.logins.extend(ecr.clone());
                (image, (req, tags))
            })
            .collect();
        let mut builds = futures_util::stream::iter(requests)
            .map(|(image, (req, tags))| async move {
                let started = Instant::now();
                let name = image.name.clone();
                let progress = move |line: Line<'_>| match line {
                    Line::Step(l) => printer.info(&format!("[{name}] {l}")),
                    Line::Output(l) => printer.detail(&format!("[{name}] {l}")),
                };
                let engine = engine_for(image, settings, buildkit);
                let result = build::build(docker, host, engine, req, &progress).await;
                (image, tags, result, started.elapsed())
            })
            .buffer_unordered(settings.jobs);
        let mut results = Vec::new();
        loop {
            tokio::select! {
                next = builds.next() => match next {
                    Some(result) => results.push(result),
                    None => break,
                },
                _ = crate::cancel::cancelled() => break,
            }
        }
        // Dropping the builds in flight closes their connections to the
        // engine (the build request and BuildKit's session), and the engine
        // cancels a build whose client went away: nothing keeps running.
        drop(builds);
        Ok::<_, Error>(results)
    })??;

    let mut outcomes = Vec::new();
    let mut outputs = IndexMap::new();
    let mut verdict = Verdict::Passed;
    let mut fatal: Option<Error> = None;
    for image in &settings.images {
        let Some((_, tags, result, took)) = results.iter().find(|(i, ..)| i.name == image.name)
        else {
            if let Some(sig) = crate::cancel::requested() {
                let why = format!("cancelled by {}", crate::cancel::signal_name(sig));
                printer.outcome(Some(false), &format!("✗ {}: {why}", image.name));
                outcomes.push(cancelled(image, why));
                verdict = Verdict::Failed;
            }
            continue;
        };
        let mut outcome = BuiltImage {
            image: image.name.clone(),
            built: false,
            image_id: None,
            tags: tags.clone(),
            files: 0,
            bytes: 0,
            seconds: (took.as_secs_f64() * 10.0).round() / 10.0,
            error: None,
            builder: None,
            cached_steps: None,
        };
        match result {
            Ok(built) => {
                printer.outcome(
                    Some(true),
                    &format!(
                        "✓ {} built {} in {} ({} files, {})",
                        image.name,
                        render::short_id(&built.image_id),
                        render::seconds(*took),
                        built.sent.files,
                        render::human_bytes(built.sent.bytes)
                    ),
                );
                for secret in &built.sent.likely_secrets {
                    let file = location::repo_relative(secret, &image.context, &session.repo_root);
                    printer.annotate(
                        Annotation::new(
                            Level::Warning,
                            format!("{secret} looks like a secret and was sent to the Docker Engine: add it to .dockerignore"),
                        )
                        .at(file, None, None)
                        .titled(format!("{}: build context", image.name)),
                    );
                }
                let recorded = state::Built {
                    image_id: built.image_id.clone(),
                    references: tags.clone(),
                };
                outputs.extend(recorded.outputs(&image.name));
                outcome.built = true;
                outcome.builder = Some(built.builder);
                outcome.cached_steps = built.cached;
                outcome.image_id = Some(built.image_id.clone());
                outcome.files = built.sent.files;
                outcome.bytes = built.sent.bytes;
            }
            Err(failure) => {
                outcome.error = Some(render::report_failure(session, image, failure, &mut fatal));
                verdict = Verdict::Failed;
            }
        }
        outcomes.push(outcome);
    }
    if let Some(e) = fatal {
        printer.summary(&render::markdown(&outcomes, Verdict::Failed));
        return Err(e);
    }
    printer.result(&render::table(&outcomes));
    printer.summary(&render::markdown(&outcomes, verdict));
    Ok(StepReport {
        step: Step::Build,
        verdict,
        dry_run: session.dry_run,
        plan: Plan::default(),
        outputs,
        detail: serde_json::json!({ "images": outcomes }),
        unchecked: Vec::new(),
    })
}

/// An image whose build was stopped (or never started) by a cancel.
fn cancelled(image: &Image, why: String) -> BuiltImage {
    BuiltImage {
        image: image.name.clone(),
        built: false,
        image_id: None,
        tags: Vec::new(),
        files: 0,
        bytes: 0,
        seconds: 0.0,
        error: Some(why),
        builder: None,
        cached_steps: None,
    }
}

/// The engine as one image uses it (`builder = "classic"` wins).
fn engine_for(image: &Image, settings: &BuildSettings, buildkit: build::Engine) -> build::Engine {
    match image.builder.unwrap_or(settings.builder) {
        Builder::BuildKit => buildkit,
        Builder::Classic => build::Engine::CLASSIC,
    }
}

/// What the engine cannot do: several platforms are an error (the image
/// would not be what gantry.toml asks for), a cache it cannot export is
/// said once and the build goes on.
fn fit_to_engine(
    image: &Image,
    req: &mut Request,
    engine: build::Engine,
    printer: &crate::output::Printer,
) -> Result<()> {
    if let Some(platforms) = req.platform.as_deref().filter(|p| p.contains(','))
        && !engine.multi_platform()
    {
        return Err(Error::usage(
            format!(
                "image {}: a multi-platform image ({platforms}) needs BuildKit on an engine with the containerd image store, and this engine or builder has none",
                image.name
            ),
            Some(format!(
                "enable the containerd image store (Docker Engine 24+: \"features\": {{\"containerd-snapshotter\": true}} in daemon.json), or build one platform (`platform = \"…\"` under [images.{}])",
                image.name
            )),
        ));
    }
    for entry in request::cache_to(&image.cache_to).exports {
        if engine.cache_export() {
            req.cache_to
                .push(crate::docker::request::CacheEntry::parse(&entry));
        } else {
            printer.warn(&format!(
                "{}: cache-to `{entry}` is not exported: BuildKit exports a cache only on an engine with the containerd image store (else only `type=inline`); building on",
                image.name
            ));
        }
    }
    Ok(())
}

/// The build request and the local tags of one image.
fn request(
    image: &Image,
    facts: &Facts,
    settings: &BuildSettings,
) -> Result<(Request, Vec<String>)> {
    let dockerfile_text = std::fs::read_to_string(&image.dockerfile).map_err(|e| {
        Error::usage(
            format!("{}: cannot read: {e}", image.dockerfile.display()),
            None,
        )
    })?;
    let mut tags = metadata::tags(&image.tag_rules, facts);
    if tags.is_empty() {
        // Outside git and CI no rule yields a tag; the image still needs a name.
        tags.push("latest".into());
    }
    let tags: Vec<String> = tags
        .iter()
        .map(|t| format!("{}:{t}", image.repository))
        .collect();
    let mut labels: std::collections::BTreeMap<String, String> =
        metadata::labels(facts, &image.name).into_iter().collect();
    labels.extend(image.labels.clone());
    let cache = request::cache_to(&image.cache_to);
    Ok((
        Request {
            context_dir: image.context.clone(),
            dockerfile: image.dockerfile.clone(),
            dockerfile_text,
            tags: tags.clone(),
            labels,
            build_args: image.build_args.clone(),
            target: image.target.clone(),
            platform: image.platform.clone(),
            cache_from: image.cache_from.clone(),
            inline_cache: cache.inline,
            // Filled in once the engine is known to export caches.
            cache_to: Vec::new(),
            gha: settings.gha.clone(),
            no_cache: image.no_cache,
            pull: image.pull,
            secrets: settings
                .secrets
                .get(&image.name)
                .map(|s| s.0.clone())
                .unwrap_or_default(),
            logins: settings.logins.clone(),
        },
        tags,
    ))
}

/// Logins for the ECR registries that Dockerfiles build `FROM`, with the
/// token `gantry push` uses. Without AWS credentials the pull is anonymous
/// (and fails with a hint), so a failed login is only a warning.
async fn ecr_logins(
    requests: &[(&Image, (Request, Vec<String>))],
    printer: &crate::output::Printer,
) -> std::collections::HashMap<String, crate::docker::request::Login> {
    let mut out = std::collections::HashMap::new();
    let hosts: std::collections::BTreeSet<String> = requests
        .iter()
        .flat_map(|(_, (r, _))| dockerfile::base_hosts(&r.dockerfile_text))
        .filter(|h| h.contains(".dkr.ecr."))
        .collect();
    for host in hosts {
        let region = host.split('.').nth(3).map(str::to_string);
        match crate::aws::ecr::Ecr::connect(region).await.login().await {
            Ok(login) => {
                printer.mask(&login.password);
                let value = crate::docker::request::Login {
                    username: login.username,
                    password: login.password,
                };
                out.insert(host.clone(), value);
            }
            Err(e) => printer.warn(&format!("no ECR login for {host}: {e}")),
        }
    }
    out
}

/// Facts for tags and labels from the run context.
fn facts(session: &Session) -> Facts {
    let ctx = &session.context;
    let (branch, tag) = match ctx.ref_type {
        // A pull request's ref (`7/merge`) is not a branch worth a tag.
        Some(RefType::Branch) if ctx.pr_number.is_none() => (ctx.ref_name.clone(), None),
        Some(RefType::Tag) => (None, ctx.ref_name.clone()),
        _ => (None, None),
    };
    Facts {
        sha: ctx.sha.clone(),
        branch,
        tag: tag.clone(),
        pr_number: ctx.pr_number,
        repository_url: ctx
            .repository
            .as_ref()
            .map(|r| format!("{}/{r}", ctx.server_url)),
        // The commit's time, not the build's: rebuilding the same commit
        // gives the same labels, so a cached build gives the same image id.
        created: git::commit_time(&session.project.root).unwrap_or_else(state::now),
        other_tags: git::all_tags(&session.project.root)
            .into_iter()
            .filter(|t| Some(t) != tag.as_ref())
            .collect(),
    }
}
