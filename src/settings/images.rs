//! Settings of `gantry build` and `gantry push`: the images of `[images.*]`
//! resolved to absolute paths, parsed tag rules and registry credentials.

use super::Project;
use super::config::{BuilderChoice, ImageConfig, SecretSource, TagMutability};
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
    /// Credential variables a dry run found unset (read without them).
    pub unset: Vec<String>,
}

/// The configured images, or only the named ones.
pub fn images(project: &Project, env: &Environment, names: &[String]) -> Result<Vec<Image>> {
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
        let registry = Registry::parse(cfg.registry.as_deref());
        out.push(Image {
            name: name.0.clone(),
            context,
            dockerfile,
            repository: repository(project, env, &name.0, cfg.repository.get_ref(), &registry)?,
            registry,
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
            tag_mutability: cfg.tag_mutability.as_ref().map(|m| *m.get_ref()),
        });
    }
    Ok(out)
}

/// An immutable repository refuses a tag that already points at another
/// image, so a rule that moves a tag (`branch`, `latest`, ...) passes the
/// first push and fails a later one, when nothing deploys. Refused here, at
/// load, with the rules to write instead; the default rules move `main`.
pub(super) fn check_tags_never_move(
    project: &Project,
    text: &str,
    name: &str,
    cfg: &ImageConfig,
) -> Result<()> {
    let Some(mutability) = &cfg.tag_mutability else {
        return Ok(());
    };
    if *mutability.get_ref() != TagMutability::Immutable {
        return Ok(());
    }
    let rules: Vec<(String, std::ops::Range<usize>)> = match &cfg.tags {
        Some(tags) => tags
            .iter()
            .map(|t| (t.get_ref().trim().to_string(), t.span()))
            .collect(),
        None => DEFAULT_TAGS
            .iter()
            .map(|t| ((*t).to_string(), mutability.span()))
            .collect(),
    };
    let moving: Vec<(&str, String, std::ops::Range<usize>)> = rules
        .iter()
        .filter_map(|(rule, span)| {
            let why = rule.parse::<TagRule>().ok()?.moves()?;
            Some((rule.as_str(), why, span.clone()))
        })
        .collect();
    let Some((rule, why, span)) = moving.first() else {
        return Ok(());
    };
    // What to write: the rules that never move, with `sha` so that every
    // push has a tag.
    let mut keep: Vec<&str> = rules
        .iter()
        .map(|(r, _)| r.as_str())
        .filter(|r| !moving.iter().any(|(m, _, _)| m == r))
        .collect();
    if !keep.contains(&"sha") {
        keep.insert(0, "sha");
    }
    let instead = keep
        .iter()
        .map(|r| format!("\"{r}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let message = match &cfg.tags {
        Some(_) => format!(
            "images.{name}.tags: rule `{rule}` moves a tag, which the immutable repository refuses on a later push: {why}"
        ),
        None => format!(
            "images.{name}: the repository is immutable, and the default tag rules ({}) move tags, refused on a later push: {why}",
            DEFAULT_TAGS.join(", ")
        ),
    };
    let hint = format!(
        "an immutable repository takes only tags that never move: write `tags = [{instead}]` under [images.{name}] (`tag` adds release tags), or set `tag-mutability = \"mutable\"`"
    );
    Err(super::toml_error::at_span(&project.file, text, span.clone(), message, Some(hint)).into())
}

/// The repository as pushed. GHCR keeps every package under an owner
/// (`ghcr.io/<owner>/<name>`), and the job's token can push only under the
/// owner of the repository it runs for; a bare name (`api`) goes there:
/// `GITHUB_REPOSITORY_OWNER` in GitHub Actions, else the owner of the
/// `origin` remote on GitHub, lower-cased as GHCR requires. So a
/// gantry.toml names no owner and still pushes from a fork or after a transfer.
fn repository(
    project: &Project,
    env: &Environment,
    image: &str,
    repository: &str,
    registry: &Registry,
) -> Result<String> {
    if *registry != Registry::Ghcr || repository.contains('/') {
        return Ok(repository.to_string());
    }
    match ghcr_owner(project, env) {
        Some(owner) => Ok(format!("{owner}/{repository}")),
        None => Err(Error::usage(
            format!(
                "images.{image}.repository: `{repository}` on ghcr.io goes under the repository's owner, which is not known here ({} is not set and the origin remote is not on GitHub)",
                env::GITHUB_REPOSITORY_OWNER
            ),
            Some(format!(
                "set {}=<owner>, or write `repository = \"<owner>/{repository}\"` under [images.{image}] in {}",
                env::GITHUB_REPOSITORY_OWNER,
                project.file.display()
            )),
        )),
    }
}

fn ghcr_owner(project: &Project, env: &Environment) -> Option<String> {
    if let Some(owner) = env
        .get(env::GITHUB_REPOSITORY_OWNER)
        .filter(|o| !o.is_empty())
    {
        return Some(owner.to_ascii_lowercase());
    }
    let server = env
        .get(env::GITHUB_SERVER_URL)
        .unwrap_or("https://github.com");
    let host = server
        .split_once("://")
        .map_or(server, |(_, h)| h)
        .trim_end_matches('/');
    let origin = crate::git::origin_repository(&project.root, host)?;
    Some(origin.split_once('/')?.0.to_ascii_lowercase())
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
        let mut images = images(project, env, names)?;
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
    /// In a dry run a registry credential variable that is not set (a pull
    /// request from a fork has no secrets) is no error: the registry is read
    /// without it, and `unset` names it.
    pub fn resolve(
        project: &Project,
        env: &Environment,
        names: &[String],
        dry_run: bool,
    ) -> Result<Self> {
        let images = images(project, env, names)?;
        let mut credentials = HashMap::new();
        let mut unset = Vec::new();
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
            let mut read = |var: &Option<String>| -> Result<Option<String>> {
                let Some(var) = var else { return Ok(None) };
                match env.get(var) {
                    Some(v) => Ok(Some(v.to_string())),
                    None if configured.is_some() && dry_run => {
                        unset.push(format!("registry {host}: {var} is not set"));
                        Ok(None)
                    }
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
            unset,
            ecr_push_registry: env.get(env::GANTRY_ECR_PUSH_REGISTRY).map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loads `toml` as gantry.toml next to a Dockerfile; the error as printed.
    fn load_error(toml: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        let file = dir.path().join("gantry.toml");
        std::fs::write(&file, toml).unwrap();
        let e = super::super::load(&file).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        e.to_string()
            .replace(&file.display().to_string(), "gantry.toml")
            + &match e {
                Error::Config(c) => format!("\nhint: {}", c.hint.unwrap_or_default()),
                _ => String::new(),
            }
    }

    const IMMUTABLE: &str = "[images.api]\ncontext = \".\"\nrepository = \"shop/api\"\nregistry = \"ecr\"\ntag-mutability = \"immutable\"\n";

    /// The default rules tag `main`, which the second push to main would
    /// move: refused at load, at `tag-mutability`, with what to write.
    #[test]
    fn an_immutable_repository_refuses_the_default_rules_at_load() {
        insta::assert_snapshot!(load_error(IMMUTABLE), @r#"
        gantry.toml:5:18: images.api: the repository is immutable, and the default tag rules (sha, branch, semver, pr) move tags, refused on a later push: `branch` tags every push with its branch name, so `main` moves on the next push to main
          |
        5 | tag-mutability = "immutable"
          |                  ^
        hint: an immutable repository takes only tags that never move: write `tags = ["sha"]` under [images.api] (`tag` adds release tags), or set `tag-mutability = "mutable"`
        "#);
    }

    #[test]
    fn an_immutable_repository_refuses_each_rule_that_moves_a_tag() {
        let cases = [
            ("[\"sha\", \"latest\"]", "`latest`", "[\"sha\"]"),
            ("[\"tag\", \"semver\"]", "`semver`", "[\"sha\", \"tag\"]"),
            ("[\"pr\", \"sha\"]", "`pr`", "[\"sha\"]"),
            ("[\"raw:stable\"]", "`raw:stable`", "[\"sha\"]"),
        ];
        for (tags, rule, instead) in cases {
            let e = load_error(&format!("{IMMUTABLE}tags = {tags}\n"));
            assert!(
                e.starts_with("gantry.toml:6:") && e.contains(&format!("rule {rule} moves a tag")),
                "{e}"
            );
            assert!(e.contains(&format!("write `tags = {instead}`")), "{e}");
        }
        insta::assert_snapshot!(load_error(&format!("{IMMUTABLE}tags = [\"sha\", \"branch\"]\n")), @r#"
        gantry.toml:6:16: images.api.tags: rule `branch` moves a tag, which the immutable repository refuses on a later push: `branch` tags every push with its branch name, so `main` moves on the next push to main
          |
        6 | tags = ["sha", "branch"]
          |                ^
        hint: an immutable repository takes only tags that never move: write `tags = ["sha"]` under [images.api] (`tag` adds release tags), or set `tag-mutability = "mutable"`
        "#);
        // Tags that never move load, and a mutable repository takes any rule.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        let file = dir.path().join("gantry.toml");
        for ok in [
            format!("{IMMUTABLE}tags = [\"sha\", \"tag\"]\n"),
            IMMUTABLE.replace("immutable", "mutable"),
        ] {
            std::fs::write(&file, &ok).unwrap();
            super::super::load(&file).unwrap();
        }
    }

    fn ghcr_project(dir: &std::path::Path) -> Project {
        std::fs::write(dir.join("Dockerfile"), "FROM scratch\n").unwrap();
        let file = dir.join("gantry.toml");
        std::fs::write(
            &file,
            "[images.api]\ncontext = \".\"\nrepository = \"api\"\nregistry = \"ghcr.io\"\n\n[images.web]\ncontext = \".\"\nrepository = \"someone/web\"\nregistry = \"ghcr.io\"\n",
        )
        .unwrap();
        super::super::load(&file).unwrap()
    }

    /// GHCR takes lower case only; the owner in GitHub's context may not be.
    #[test]
    fn a_bare_ghcr_repository_goes_under_the_repository_s_owner() {
        let dir = tempfile::tempdir().unwrap();
        let project = ghcr_project(dir.path());
        let env = Environment::from_pairs([("GITHUB_REPOSITORY_OWNER", "Railway-Org")]);
        let got: Vec<String> = images(&project, &env, &[])
            .unwrap()
            .into_iter()
            .map(|i| i.repository)
            .collect();
        assert_eq!(got, ["railway-org/api", "someone/web"]);

        // Locally: the owner of the origin remote on GitHub.
        let git = |args: &[&str]| {
            assert!(
                std::process::Command::new("git")
                    .args(args)
                    .current_dir(dir.path())
                    .env("GIT_CONFIG_NOSYSTEM", "1")
                    .status()
                    .unwrap()
                    .success()
            );
        };
        let none = Environment::from_pairs::<&str, &str>([]);
        let e = images(&project, &none, &[]).unwrap_err();
        assert!(
            e.to_string().contains("images.api.repository: `api` on ghcr.io goes under the repository's owner, which is not known here"),
            "{e}"
        );
        assert_eq!(e.exit_code(), 2);
        git(&["init", "-q"]);
        git(&["remote", "add", "origin", "git@github.com:Acme/shop.git"]);
        assert_eq!(
            images(&project, &none, &[]).unwrap()[0].repository,
            "acme/api"
        );
    }

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
