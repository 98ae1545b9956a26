//! Settings of `gantry build` and `gantry push`: the images of `[images.*]`
//! resolved to absolute paths, parsed tag rules and registry credentials.

use super::Project;
use super::config::TagMutability;
use crate::docker::metadata::TagRule;
use crate::docker::push::Credentials;
use crate::environment::{self as env, Environment};
use crate::error::{Error, Result};
use crate::registry::Registry;
use std::collections::HashMap;
use std::path::PathBuf;

/// Tag rules when an image sets none: what most teams configure in
/// docker/metadata-action.
pub const DEFAULT_TAGS: &[&str] = &["sha", "branch", "semver", "pr"];

#[derive(Debug, Clone)]
pub struct Image {
    pub name: String,
    pub context: PathBuf,
    pub dockerfile: PathBuf,
    pub repository: String,
    pub registry: Registry,
    pub build_args: HashMap<String, String>,
    pub target: Option<String>,
    pub platform: Option<String>,
    pub labels: HashMap<String, String>,
    pub tag_rules: Vec<TagRule>,
    pub cache_from: Vec<String>,
    pub no_cache: bool,
    pub pull: bool,
    pub create_repository: bool,
    pub tag_mutability: Option<TagMutability>,
}

#[derive(Debug)]
pub struct BuildSettings {
    pub images: Vec<Image>,
    /// Images building at once.
    pub jobs: usize,
    pub docker_host: Option<String>,
}

#[derive(Debug)]
pub struct PushSettings {
    pub images: Vec<Image>,
    pub docker_host: Option<String>,
    /// Credentials per registry host (ECR's come from its API at push time).
    pub credentials: HashMap<String, Credentials>,
    /// Tests only: where ECR images are really pushed (`GANTRY_ECR_PUSH_REGISTRY`).
    pub ecr_push_registry: Option<String>,
}

/// The configured images, or only the named ones.
pub fn images(project: &Project, names: &[String]) -> Result<Vec<Image>> {
    let configured: Vec<&str> = project.config.images.keys().map(|n| n.0.as_str()).collect();
    super::check_selected(project, names, &configured, "image", "[images.*]")?;
    let mut out = Vec::new();
    for (name, cfg) in &project.config.images {
        if !names.is_empty() && !names.contains(&name.0) {
            continue;
        }
        let context = project.root.join(cfg.context.get_ref());
        let dockerfile = match &cfg.dockerfile {
            Some(d) => project.root.join(d.get_ref()),
            None => context.join("Dockerfile"),
        };
        let rules = match &cfg.tags {
            Some(tags) => tags
                .iter()
                .map(|t| t.get_ref().as_str())
                .collect::<Vec<_>>(),
            None => DEFAULT_TAGS.to_vec(),
        };
        out.push(Image {
            name: name.0.clone(),
            context,
            dockerfile,
            repository: cfg.repository.get_ref().clone(),
            registry: Registry::parse(cfg.registry.as_deref()),
            build_args: cfg
                .build_args
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            target: cfg.target.clone(),
            platform: cfg.platform.clone(),
            labels: cfg
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            // Validated when the file was loaded.
            tag_rules: rules.iter().filter_map(|r| r.parse().ok()).collect(),
            cache_from: cfg.cache_from.clone(),
            no_cache: cfg.no_cache,
            pull: cfg.pull,
            create_repository: cfg.create_repository,
            tag_mutability: cfg.tag_mutability,
        });
    }
    Ok(out)
}

fn jobs(requested: Option<usize>) -> Result<usize> {
    match requested {
        Some(0) => Err(Error::usage("--jobs must be at least 1", None)),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(2, |n| n.get())),
    }
}

impl BuildSettings {
    /// `overrides` are `--build-arg` values, applied to every image.
    pub fn resolve(
        project: &Project,
        env: &Environment,
        names: &[String],
        requested_jobs: Option<usize>,
        overrides: &[(String, String)],
    ) -> Result<Self> {
        let mut images = images(project, names)?;
        for image in &mut images {
            image.build_args.extend(overrides.iter().cloned());
        }
        Ok(BuildSettings {
            images,
            jobs: jobs(requested_jobs)?,
            docker_host: env.get(env::DOCKER_HOST).map(str::to_string),
        })
    }
}

impl PushSettings {
    pub fn resolve(project: &Project, env: &Environment, names: &[String]) -> Result<Self> {
        let images = images(project, names)?;
        let mut credentials = HashMap::new();
        for image in &images {
            let Some(host) = image.registry.host() else {
                continue;
            };
            if matches!(image.registry, Registry::Ecr { .. }) || credentials.contains_key(host) {
                continue;
            }
            let configured = project.config.registries.get(host);
            let (user_var, pass_var) = match (&image.registry, configured) {
                (_, Some(c)) => (c.username_env.clone(), c.password_env.clone()),
                (Registry::Ghcr, None) => (
                    Some(env::GITHUB_ACTOR.to_string()),
                    Some(env::GITHUB_TOKEN.to_string()),
                ),
                (Registry::DockerHub, None) => (
                    Some(env::DOCKERHUB_USERNAME.to_string()),
                    Some(env::DOCKERHUB_TOKEN.to_string()),
                ),
                _ => (None, None),
            };
            let read = |var: &Option<String>| -> Result<Option<String>> {
                let Some(var) = var else { return Ok(None) };
                match env.get(var) {
                    Some(v) => Ok(Some(v.to_string())),
                    None if configured.is_some() => Err(Error::usage(
                        format!("registry {host}: {var} is not set"),
                        Some(format!(
                            "set {var}, or change [registries.\"{host}\"] in gantry.toml"
                        )),
                    )),
                    None => Ok(None),
                }
            };
            match (read(&user_var)?, read(&pass_var)?) {
                (Some(username), Some(password)) => {
                    credentials.insert(host.to_string(), Credentials { username, password });
                }
                (None, Some(password)) => {
                    // GHCR accepts any user name with a token.
                    credentials.insert(
                        host.to_string(),
                        Credentials {
                            username: "gantry".into(),
                            password,
                        },
                    );
                }
                _ => {}
            }
        }
        Ok(PushSettings {
            images,
            docker_host: env.get(env::DOCKER_HOST).map(str::to_string),
            credentials,
            ecr_push_registry: env.get(env::GANTRY_ECR_PUSH_REGISTRY).map(str::to_string),
        })
    }
}
