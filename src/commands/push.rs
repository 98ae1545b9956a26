//! `gantry push`: push the images `gantry build` built to their registries.
//!
//! Plan first: resolve each registry (ECR through its API), check the
//! credentials with read-only calls, and ask what every tag points at now.
//! A tag that already points at this image is skipped; in an immutable
//! repository a tag that points elsewhere stops the push before anything is
//! pushed. `--dry-run` prints that plan; a real run applies it.

mod render;

use super::Session;
use crate::aws::ecr::Ecr;
use crate::cli::Commands;
use crate::docker::engine;
use crate::docker::push::{self, Credentials, RegistryError};
use crate::driver::{Invocation, Ran, StepCommand};
use crate::error::{Error, Result};
use crate::output::github::{Annotation, Level};
use crate::plan::Plan;
use crate::registry::{self, Registry};
use crate::report::{StepReport, Verdict};
use crate::runtime;
use crate::settings::config::{Config, Step, TagMutability};
use crate::settings::images::{Image, PushSettings};
use crate::state;
use bollard::Docker;
use bollard::query_parameters::TagImageOptions;
use indexmap::IndexMap;
use render::{markdown, to_plan};

/// `gantry push`, for the driver.
pub struct PushStep;

impl StepCommand for PushStep {
    fn step(&self) -> Step {
        Step::Push
    }

    fn configured(&self, config: &Config) -> bool {
        !config.images.is_empty()
    }

    fn execute(&self, session: &Session, invocation: Invocation) -> Result<Ran> {
        let names: &[String] = match invocation {
            Invocation::Alone(Commands::Push(args)) => args.names.as_slice(),
            _ => &[],
        };
        execute(session, names).map(Ran::Step)
    }
}

/// Where one image goes and what each of its tags needs.
struct Target<'a> {
    image: &'a Image,
    image_id: String,
    host: String,
    /// `host/repository` (just `repository` on Docker Hub).
    repository_ref: String,
    credentials: Option<Credentials>,
    /// An ECR repository to create first.
    create: Option<TagMutability>,
    tags: Vec<(String, TagPlan)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum TagPlan {
    New,
    /// A local dry run that could not reach the registry.
    Unchecked,
    Moves(String),
    Unchanged,
    Conflict(String),
}

pub fn execute(session: &Session, names: &[String]) -> Result<StepReport> {
    let printer = session.printer;
    let settings = PushSettings::resolve(&session.project, session.env, names, session.dry_run)?;
    for unset in &settings.unset {
        printer.warn(&format!(
            "{unset}: the dry run reads the registry without credentials"
        ));
    }
    if settings.images.is_empty() {
        printer.info(&format!(
            "nothing to do: {} has no [images.<name>] section",
            session.project.file.display()
        ));
    }
    for c in settings.credentials.values() {
        printer.mask(&c.password);
    }
    let state = session.state()?;

    runtime::block_on(async {
        let docker = engine::connect(settings.docker_host.as_deref()).await?;
        let mut targets = Vec::new();
        for image in &settings.images {
            let built = state.built(&image.name).ok_or_else(|| {
                Error::usage(
                    format!(
                        "image `{}` was not built in this pipeline (no build in {})",
                        image.name,
                        session.state_path.display()
                    ),
                    Some("run `gantry build` first, or `gantry run` with build before push".into()),
                )
            })?;
            let (id, tags) = (&built.image_id, built.tags());
            let planned =
                match plan_image(session, &settings, &docker, image, id, tags.clone()).await {
                    // A laptop often has no credentials for CI's registry: a local
                    // dry run still shows the plan, and says what it could not check.
                    Err(e) if session.go_on_without_remote(&e) => {
                        printer.warn(&format!(
                            "{}: not checked against the registry ({e}); {}",
                            image.name,
                            session.without_remote().unwrap_or_default()
                        ));
                        unchecked(image, id, tags)
                    }
                    other => other?,
                };
            targets.push(planned);
        }
        let plan = to_plan(&targets);
        let conflicts: Vec<(&Target, &String, &String)> = targets
            .iter()
            .flat_map(|t| {
                t.tags.iter().filter_map(move |(tag, p)| match p {
                    TagPlan::Conflict(d) => Some((t, tag, d)),
                    _ => None,
                })
            })
            .collect();
        let mut outputs = IndexMap::new();
        let mut detail = Vec::new();
        if !conflicts.is_empty() {
            for (t, tag, digest) in &conflicts {
                printer.annotate(Annotation::new(
                    Level::Error,
                    format!(
                        "{}:{tag} already points at {digest} and the repository is immutable: nothing was pushed. Use tag rules that never move (sha, tag) or make the repository mutable.",
                        t.repository_ref
                    ),
                ).titled(format!("{}: immutable tag", t.image.name)));
            }
            printer.summary(&markdown(
                &targets,
                &IndexMap::new(),
                Verdict::Failed,
                session.dry_run,
            ));
            return Ok(report(
                session,
                Verdict::Failed,
                (&targets, plan),
                outputs,
                detail,
            ));
        }
        let mut digests = IndexMap::new();
        if !session.dry_run {
            for t in &targets {
                if let Some(digest) = apply(session, &docker, t).await? {
                    let reference = format!("{}@{digest}", t.repository_ref);
                    printer.outcome(
                        Some(true),
                        &format!("✓ {} pushed {reference}", t.image.name),
                    );
                    outputs.insert(state::key::image_digest(&t.image.name), reference.clone());
                    digests.insert(t.image.name.clone(), reference);
                }
            }
        }
        for t in &targets {
            detail.push(serde_json::json!({
                "image": t.image.name,
                "repository": t.repository_ref,
                "digest": digests.get(&t.image.name),
                "tags": t.tags.iter().map(|(tag, p)| serde_json::json!({"tag": tag, "action": match p {
                    TagPlan::New | TagPlan::Unchecked | TagPlan::Moves(_) => "push", TagPlan::Unchanged => "unchanged", TagPlan::Conflict(_) => "conflict"
                }})).collect::<Vec<_>>(),
            }));
        }
        printer.summary(&markdown(
            &targets,
            &digests,
            Verdict::Passed,
            session.dry_run,
        ));
        Ok(report(
            session,
            Verdict::Passed,
            (&targets, plan),
            outputs,
            detail,
        ))
    })?
}

fn report(
    session: &Session,
    verdict: Verdict,
    (targets, plan): (&[Target], Plan),
    outputs: IndexMap<String, String>,
    detail: Vec<serde_json::Value>,
) -> StepReport {
    let unchecked = targets
        .iter()
        .filter(|t| t.tags.iter().any(|(_, p)| *p == TagPlan::Unchecked))
        .map(|t| format!("{}: the registry was not reached", t.image.name))
        .collect();
    StepReport::new(Step::Push, verdict, session.dry_run)
        .plan(plan)
        .outputs(outputs)
        .detail(serde_json::json!({ "images": detail }))
        .unchecked(unchecked)
}

/// Resolves the registry, checks credentials and reads every tag's digest.
async fn plan_image<'a>(
    session: &Session<'_>,
    settings: &PushSettings,
    docker: &Docker,
    image: &'a Image,
    image_id: &str,
    tags: Vec<String>,
) -> Result<Target<'a>> {
    let printer = session.printer;
    docker.inspect_image(image_id).await.map_err(|e| {
        Error::usage(
            format!(
                "image `{}` ({image_id}) is no longer in the Docker Engine: {}",
                image.name,
                engine::message(&e)
            ),
            Some("run `gantry build` again".into()),
        )
    })?;
    let mut ecr = None;
    let mut create = None;
    let mut mutability = image.tag_mutability.unwrap_or(TagMutability::Mutable);
    let (host, credentials) = match &image.registry {
        Registry::Ecr { region, .. } => {
            let client = Ecr::connect(region.clone()).await;
            let login = client.login().await?;
            printer.mask(&login.password);
            match client.repository(&image.repository).await? {
                Some(repo) => mutability = repo.mutability,
                None if image.create_repository => create = Some(mutability),
                None => {
                    return Err(Error::usage(
                        format!(
                            "ECR repository `{}` does not exist in {}",
                            image.repository, login.host
                        ),
                        Some(format!(
                            "create it, or set `create-repository = true` under [images.{}]",
                            image.name
                        )),
                    ));
                }
            }
            let host = settings.ecr_push_registry.clone().unwrap_or(login.host);
            ecr = Some(client);
            (
                host,
                Some(Credentials {
                    username: login.username,
                    password: login.password,
                }),
            )
        }
        other => {
            let host = other.host().unwrap_or("docker.io").to_string();
            let creds = settings.credentials.get(&host).cloned();
            (host, creds)
        }
    };
    let repository_ref = registry::repository_ref(&host, &image.repository);
    let known = push::local_digests(docker, image_id, &repository_ref)
        .await
        .map_err(|e| Error::external("Docker", e))?;
    let mut planned = Vec::new();
    for tag in tags {
        let remote = match (&ecr, create.is_some(), settings.ecr_push_registry.is_some()) {
            (_, true, _) => None,
            (Some(client), false, false) => client.tag_digest(&image.repository, &tag).await?,
            _ => push::remote_digest(
                docker,
                &host,
                &registry::reference(&host, &image.repository, &tag),
                credentials.as_ref(),
            )
            .await
            .map_err(|e| match (&e, &credentials) {
                // No credentials here (a fork's pull request has no
                // secrets): the registry could not be asked, it did not say no.
                (RegistryError::Unauthorized(m), None) => Error::external(
                    "registry",
                    format!("{host} needs credentials and none are set here: {m}"),
                ),
                _ => registry_error(&host, &e),
            })?,
        };
        let p = match remote {
            None => TagPlan::New,
            Some(d) if known.contains(&d) => TagPlan::Unchanged,
            Some(d) if mutability == TagMutability::Immutable => TagPlan::Conflict(d),
            Some(d) => TagPlan::Moves(d),
        };
        planned.push((tag, p));
    }
    Ok(Target {
        image,
        image_id: image_id.to_string(),
        host,
        repository_ref,
        credentials,
        create,
        tags: planned,
    })
}

/// The plan of an image whose registry could not be reached.
fn unchecked<'a>(image: &'a Image, image_id: &str, tags: Vec<String>) -> Target<'a> {
    let host = image.registry.display();
    Target {
        image,
        image_id: image_id.to_string(),
        repository_ref: registry::repository_ref(&image.registry.planned_host(), &image.repository),
        host,
        credentials: None,
        create: None,
        tags: tags.into_iter().map(|t| (t, TagPlan::Unchecked)).collect(),
    }
}

fn registry_error(host: &str, e: &RegistryError) -> Error {
    match e {
        RegistryError::Unauthorized(m) => Error::refused("registry credentials", format!("{host} refused the credentials: {m}"))
            .with_hint(format!("check the user name and password for {host} ([registries.\"{host}\"] in gantry.toml names their variables)")),
        other => Error::external("registry", format!("{host}: {}", other.message())),
    }
}

/// Creates the repository if planned, tags and pushes; returns the digest.
async fn apply(session: &Session<'_>, docker: &Docker, t: &Target<'_>) -> Result<Option<String>> {
    let printer = session.printer;
    if t.create.is_some()
        && let Registry::Ecr { region, .. } = &t.image.registry
    {
        let client = Ecr::connect(region.clone()).await;
        client
            .create_repository(
                &t.image.repository,
                t.create.unwrap_or(TagMutability::Mutable),
            )
            .await?;
        printer.info(&format!("created ECR repository {}", t.image.repository));
    }
    let mut digest = None;
    for (tag, p) in &t.tags {
        if *p == TagPlan::Unchanged {
            printer.info(&format!(
                "- {}:{tag} already points at this image",
                t.repository_ref
            ));
            continue;
        }
        docker
            .tag_image(
                &t.image_id,
                Some(TagImageOptions {
                    repo: Some(t.repository_ref.clone()),
                    tag: Some(tag.clone()),
                }),
            )
            .await
            .map_err(|e| {
                Error::external(
                    "Docker",
                    format!(
                        "cannot tag {}:{tag}: {}",
                        t.repository_ref,
                        engine::message(&e)
                    ),
                )
            })?;
        let name = t.image.name.clone();
        let progress = move |done: usize, seen: usize| {
            printer.detail(&format!("[{name}] {done}/{seen} layers"));
        };
        let pushed = push::push(
            docker,
            &t.host,
            &t.repository_ref,
            tag,
            t.credentials.as_ref(),
            &progress,
        )
        .await
        .map_err(|e| match e {
            RegistryError::TagExists(m) => Error::external("registry", m),
            other => registry_error(&t.host, &other),
        })?;
        printer.info(&format!(
            "{}:{tag} pushed ({} layer(s) uploaded, {} already there)",
            t.repository_ref, pushed.layers_pushed, pushed.layers_existing
        ));
        digest = Some(pushed.digest);
    }
    if digest.is_none() {
        // Every tag was already there: the image is known under its digest.
        let known = push::local_digests(docker, &t.image_id, &t.repository_ref)
            .await
            .map_err(|e| Error::external("Docker", e))?;
        digest = known.into_iter().next();
    }
    Ok(digest)
}
