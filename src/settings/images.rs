//! Settings of `gantry build` and `gantry push`: the images of `[images.*]`
//! resolved to absolute paths, parsed tag rules and registry credentials.

use super::Project;
use super::config::{BuilderChoice, SecretSource, TagMutability};
use crate::docker::build::Builder;
use crate::docker::buildkit::session::Login;
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
    /// `cache-to` entries as written (`type=inline`, ...).
    pub cache_to: Vec<String>,
    /// `None`: the global choice (`GANTRY_BUILDER`), else BuildKit.
    pub builder: Option<Builder>,
    /// Build secret ids and where their values come from.
    pub secrets: Vec<(String, SecretSource)>,
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
    /// The builder of images that choose none (`GANTRY_BUILDER`).
    pub builder: Builder,
    /// Build secret values per image name, then per id.
    pub secrets: HashMap<String, SecretValues>,
    /// What BuildKit's `gha` cache needs from the runner (`url`, `url_v2`,
    /// `token`, `version`): the engine's BuildKit cannot read gantry's
    /// environment, so they travel as the cache entry's attributes.
    pub gha: HashMap<String, String>,
    /// Registry logins for base and cache images, by host.
    pub logins: HashMap<String, Login>,
}

/// Secret values; never printed (not even by `{:?}`).
#[derive(Default, Clone)]
pub struct SecretValues(pub HashMap<String, Vec<u8>>);

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
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
        // Several platforms travel as BuildKit's list (`linux/amd64,linux/arm64`);
        // whether the engine can make one image of them is known at build time.
        let platform = match (cfg.platform.clone(), cfg.platforms.as_slice()) {
            (p, []) => p,
            (None, list) => Some(list.join(",")),
            (Some(_), _) => {
                return Err(Error::usage(
                    format!("image {}: both `platform` and `platforms` are set", name.0),
                    Some(format!("keep one of them under [images.{}]", name.0)),
                ));
            }
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
            platform,
            labels: cfg
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            // Validated when the file was loaded.
            tag_rules: rules.iter().filter_map(|r| r.parse().ok()).collect(),
            cache_from: cfg.cache_from.iter().map(|c| cache_ref(c)).collect(),
            cache_to: cfg.cache_to.clone(),
            builder: cfg.builder.map(|b| match b {
                BuilderChoice::Buildkit => Builder::BuildKit,
                BuilderChoice::Classic => Builder::Classic,
            }),
            secrets: cfg
                .secrets
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
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
        None => Ok(std::thread::available_parallelism().map_or(2, std::num::NonZero::get)),
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
        let builder = match env.get(env::GANTRY_BUILDER).map(str::to_ascii_lowercase) {
            None => Builder::BuildKit,
            Some(b) if b == "buildkit" || b.is_empty() => Builder::BuildKit,
            Some(b) if b == "classic" => Builder::Classic,
            Some(other) => {
                return Err(Error::usage(
                    format!("{}={other}: not a builder", env::GANTRY_BUILDER),
                    Some("use `buildkit` or `classic`".into()),
                ));
            }
        };
        let mut secrets = HashMap::new();
        for image in &images {
            secrets.insert(
                image.name.clone(),
                secret_values(project, env, &image.name, &image.secrets)?,
            );
        }
        Ok(BuildSettings {
            images,
            jobs: jobs(requested_jobs)?,
            docker_host: env.get(env::DOCKER_HOST).map(str::to_string),
            builder,
            secrets,
            gha: gha_attributes(env),
            logins: logins(project, env),
        })
    }
}

/// The `gha` cache attributes from the runner's environment, as buildx
/// fills them: `url` (the v1 service, else the results service), `url_v2`,
/// `token`, and `version=2` where the runner says so.
fn gha_attributes(env: &Environment) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let cache = env.get(env::ACTIONS_CACHE_URL).filter(|v| !v.is_empty());
    let results = env.get(env::ACTIONS_RESULTS_URL).filter(|v| !v.is_empty());
    if let Some(url) = cache.or(results) {
        out.insert("url".to_string(), url.to_string());
    }
    if let Some(url) = results {
        out.insert("url_v2".to_string(), url.to_string());
    }
    if let Some(token) = env
        .get(env::ACTIONS_RUNTIME_TOKEN)
        .filter(|v| !v.is_empty())
    {
        out.insert("token".to_string(), token.to_string());
    }
    let v2 = env
        .get(env::ACTIONS_CACHE_SERVICE_V2)
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"));
    if v2 {
        out.insert("version".to_string(), "2".to_string());
    }
    out
}

/// `type=registry,ref=<ref>` → `<ref>`; a bare reference stays as it is.
fn cache_ref(entry: &str) -> String {
    entry
        .split(',')
        .find_map(|kv| kv.trim().strip_prefix("ref="))
        .unwrap_or(entry)
        .to_string()
}

/// Reads each secret; one that is missing stops the build before it starts.
fn secret_values(
    project: &Project,
    env: &Environment,
    image: &str,
    sources: &[(String, SecretSource)],
) -> Result<SecretValues> {
    let mut out = HashMap::new();
    for (id, source) in sources {
        let value = match (&source.env, &source.file) {
            (Some(var), None) => env.get(var).map(|v| v.as_bytes().to_vec()).ok_or_else(|| {
                Error::usage(
                    format!("image {image}: build secret `{id}` needs {var}, which is not set"),
                    Some(format!(
                        "set {var}, or change [images.{image}.secrets] in gantry.toml"
                    )),
                )
            })?,
            (None, Some(file)) => {
                let path = project.root.join(file);
                std::fs::read(&path).map_err(|e| {
                    Error::usage(
                        format!(
                            "image {image}: build secret `{id}`: cannot read {}: {e}",
                            path.display()
                        ),
                        Some(format!(
                            "create the file, or change [images.{image}.secrets] in gantry.toml"
                        )),
                    )
                })?
            }
            _ => {
                return Err(Error::usage(
                    format!(
                        "image {image}: build secret `{id}` needs exactly one of `env` or `file`"
                    ),
                    Some(format!(
                        "write {id} = {{ env = \"VAR\" }} or {id} = {{ file = \"path\" }}"
                    )),
                ));
            }
        };
        out.insert(id.clone(), value);
    }
    Ok(SecretValues(out))
}

/// Registry logins for pulls during a build: every `[registries."<host>"]`
/// whose variables are set, GHCR with `GITHUB_TOKEN`, Docker Hub with
/// `DOCKERHUB_TOKEN`. A registry without a login is pulled anonymously.
fn logins(project: &Project, env: &Environment) -> HashMap<String, Login> {
    let mut out = HashMap::new();
    let login = |user: Option<&str>, pass: Option<&str>| {
        pass.map(|p| Login {
            username: user.unwrap_or("gantry").to_string(),
            password: p.to_string(),
        })
    };
    if let Some(l) = login(env.get(env::GITHUB_ACTOR), env.get(env::GITHUB_TOKEN)) {
        out.insert("ghcr.io".to_string(), l);
    }
    if let Some(l) = login(
        env.get(env::DOCKERHUB_USERNAME),
        env.get(env::DOCKERHUB_TOKEN),
    ) {
        out.insert("docker.io".to_string(), l);
    }
    for (host, cfg) in &project.config.registries {
        let user = cfg.username_env.as_deref().and_then(|v| env.get(v));
        let pass = cfg.password_env.as_deref().and_then(|v| env.get(v));
        if let Some(l) = login(user, pass) {
            out.insert(host.clone(), l);
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gha_attributes_come_from_the_runner_s_environment() {
        let env = Environment::from_pairs([
            ("ACTIONS_RESULTS_URL", "https://results.example/"),
            ("ACTIONS_RUNTIME_TOKEN", "tok"),
            ("ACTIONS_CACHE_SERVICE_V2", "True"),
        ]);
        let got = gha_attributes(&env);
        assert_eq!(got["url"], "https://results.example/");
        assert_eq!(got["url_v2"], "https://results.example/");
        assert_eq!(got["token"], "tok");
        assert_eq!(got["version"], "2");
        let v1 = gha_attributes(&Environment::from_pairs([
            ("ACTIONS_CACHE_URL", "https://cache.example/"),
            ("ACTIONS_RESULTS_URL", "https://results.example/"),
        ]));
        assert_eq!(v1["url"], "https://cache.example/");
        assert!(!v1.contains_key("version") && !v1.contains_key("token"));
        assert!(gha_attributes(&Environment::from_pairs::<&str, &str>([])).is_empty());
    }
}
