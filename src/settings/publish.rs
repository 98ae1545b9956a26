//! Settings of `gantry publish`: the packages of `[publish.*]`, their
//! registries and credentials, and the release tag, resolved from the flags,
//! `gantry.toml`, the run's facts and the environment.

use super::Project;
use super::config::{Existing, PublishConfig, RunCommand};
use crate::environment::{self as env, Environment};
use crate::error::{Error, Result};
use crate::publish::npm::NpmAccess;
use crate::publish::oidc::IdTokenRequest;
use crate::publish::target::Target;
use crate::run_context::{RefType, RunContext};
use std::path::PathBuf;

/// PyPI's upload endpoint (the legacy upload API).
pub const PYPI_UPLOAD_URL: &str = "https://upload.pypi.org/legacy/";
/// The npm registry.
pub const NPM_REGISTRY: &str = "https://registry.npmjs.org/";

#[derive(Debug, Clone)]
pub struct PublishSettings {
    pub packages: Vec<Package>,
    /// Every configured package name (a tag `<name>-v1.2.3` selects one).
    pub all_names: Vec<String>,
    /// The release tag, when the run is for one.
    pub tag: Option<String>,
    /// Where the tag (or its absence) comes from, for messages.
    pub tag_source: String,
    /// GitHub Actions' OIDC endpoint (trusted publishing), when granted.
    pub id_token: Option<IdTokenRequest>,
}

#[derive(Debug, Clone)]
pub struct Package {
    pub name: String,
    /// The package directory, absolute.
    pub dir: PathBuf,
    /// `dir` as written in `gantry.toml`.
    pub dir_label: String,
    pub registry: PackageRegistry,
    pub build: RunCommand,
    /// `build` was not configured: npm's default packs into a fresh
    /// directory outside the package (`npm pack --pack-destination`), so an
    /// earlier tarball is neither packed into the new one nor taken for it.
    pub default_build: bool,
    /// Where the build writes its files, absolute.
    pub dist: PathBuf,
    pub existing: Existing,
}

#[derive(Debug, Clone)]
/// Where a package is published: PyPI (or another index) or an npm registry.
pub enum PackageRegistry {
    Pypi {
        /// The upload endpoint.
        upload_url: String,
        /// The simple index (PEP 503) asked which files exist.
        index_url: String,
        token: Option<String>,
        token_env: String,
    },
    Npm {
        /// Ends with `/`.
        registry: String,
        access: Option<NpmAccess>,
        tag: Option<String>,
        token: Option<String>,
        token_env: String,
    },
}

impl PackageRegistry {
    pub fn kind(&self) -> &'static str {
        match self {
            PackageRegistry::Pypi { .. } => "pypi",
            PackageRegistry::Npm { .. } => "npm",
        }
    }

    /// The registry as the publish integration sees it.
    pub fn target(&self) -> Target<'_> {
        match self {
            PackageRegistry::Pypi {
                upload_url,
                index_url,
                ..
            } => Target::Pypi {
                upload_url,
                index_url,
            },
            PackageRegistry::Npm {
                registry,
                access,
                tag,
                ..
            } => Target::Npm {
                registry,
                access: *access,
                tag: tag.as_deref(),
            },
        }
    }

    pub fn url(&self) -> &str {
        match self {
            PackageRegistry::Pypi { upload_url, .. } => upload_url,
            PackageRegistry::Npm { registry, .. } => registry,
        }
    }

    pub fn token(&self) -> Option<&str> {
        match self {
            PackageRegistry::Pypi { token, .. } | PackageRegistry::Npm { token, .. } => {
                token.as_deref()
            }
        }
    }

    pub fn token_env(&self) -> &str {
        match self {
            PackageRegistry::Pypi { token_env, .. } | PackageRegistry::Npm { token_env, .. } => {
                token_env
            }
        }
    }
}

impl PublishSettings {
    pub fn resolve(
        project: &Project,
        env: &Environment,
        context: &RunContext,
        names: &[String],
        tag: Option<&str>,
    ) -> Result<Self> {
        let config = &project.config.publish;
        if config.is_empty() {
            return Err(Error::usage(
                format!("{} has no [publish.<name>] section", project.file.display()),
                Some(
                    "add one, e.g. [publish.python-sdk] with pypi = { path = \"sdk/python\" }"
                        .into(),
                ),
            ));
        }
        let known: Vec<&str> = config.keys().map(|k| k.0.as_str()).collect();
        super::check_selected(project, names, &known, "package", "[publish.*]")?;
        let mut packages = Vec::new();
        for (name, cfg) in config {
            if names.is_empty() || names.contains(&name.0) {
                packages.push(package(project, env, &name.0, cfg)?);
            }
        }
        let (tag, tag_source) = match tag {
            Some(t) => (Some(t.to_string()), "--tag".to_string()),
            None => match (&context.ref_type, &context.ref_name) {
                (Some(RefType::Tag), Some(t)) if context.ci => {
                    (Some(t.clone()), "GITHUB_REF_NAME".to_string())
                }
                (Some(RefType::Tag), Some(t)) => (Some(t.clone()), "the tag at HEAD".to_string()),
                (_, Some(r)) if context.ci => (None, format!("the run is for branch `{r}`")),
                _ if context.ci => (None, "the run is not for a tag".to_string()),
                _ => (None, "no tag points at HEAD".to_string()),
            },
        };
        let id_token = match (
            env.get(env::ACTIONS_ID_TOKEN_REQUEST_URL),
            env.get(env::ACTIONS_ID_TOKEN_REQUEST_TOKEN),
        ) {
            (Some(url), Some(token)) => Some(IdTokenRequest {
                url: url.to_string(),
                token: token.to_string(),
            }),
            _ => None,
        };
        Ok(PublishSettings {
            packages,
            all_names: config.keys().map(|k| k.0.clone()).collect(),
            tag,
            tag_source,
            id_token,
        })
    }

    /// Every credential, to be masked before anything is printed.
    pub fn secrets(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .packages
            .iter()
            .filter_map(|p| p.registry.token())
            .collect();
        if let Some(r) = &self.id_token {
            out.push(&r.token);
        }
        out
    }
}

fn package(
    project: &Project,
    env: &Environment,
    name: &str,
    cfg: &PublishConfig,
) -> Result<Package> {
    let (dir_label, registry, default_build, default_dist) = match (&cfg.pypi, &cfg.npm) {
        (Some(p), None) => {
            let p = p.get_ref();
            let upload_url = with_slash(p.repository_url.as_deref().unwrap_or(PYPI_UPLOAD_URL));
            let index_url = with_slash(
                &p.index_url
                    .clone()
                    .unwrap_or_else(|| simple_index_for(&upload_url)),
            );
            let token_env = p.token_env.clone().unwrap_or(env::PYPI_TOKEN.to_string());
            (
                p.path.get_ref().clone(),
                PackageRegistry::Pypi {
                    upload_url,
                    index_url,
                    token: env.get(&token_env).map(str::to_string),
                    token_env,
                },
                "python -m build",
                "dist",
            )
        }
        (None, Some(n)) => {
            let n = n.get_ref();
            let token_env = n.token_env.clone().unwrap_or(env::NPM_TOKEN.to_string());
            (
                n.path.get_ref().clone(),
                PackageRegistry::Npm {
                    registry: with_slash(n.registry.as_deref().unwrap_or(NPM_REGISTRY)),
                    access: n.access,
                    tag: n.tag.clone(),
                    token: env.get(&token_env).map(str::to_string),
                    token_env,
                },
                "npm pack",
                ".",
            )
        }
        // settings::validate rejects both and neither.
        _ => {
            return Err(Error::usage(
                format!("[publish.{name}] needs exactly one of `pypi` or `npm`"),
                None,
            ));
        }
    };
    let dir = project.root.join(&dir_label);
    let dist = dir.join(cfg.dist.as_deref().unwrap_or(default_dist));
    Ok(Package {
        name: name.to_string(),
        dir,
        dir_label,
        registry,
        build: cfg
            .build
            .clone()
            .unwrap_or_else(|| RunCommand::Shell(default_build.to_string())),
        default_build: cfg.build.is_none(),
        dist,
        existing: cfg.existing.unwrap_or(Existing::Fail),
    })
}

fn with_slash(url: &str) -> String {
    if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    }
}

/// The simple index next to an upload endpoint: PyPI's and TestPyPI's
/// `…/legacy/` uploads are read at `…/simple/` (on pypi.org, not
/// upload.pypi.org); other indexes (pypiserver, devpi-style) serve
/// `simple/` under the upload URL.
pub fn simple_index_for(upload_url: &str) -> String {
    let url = with_slash(upload_url);
    match url.strip_suffix("legacy/") {
        Some(base) => format!(
            "{}simple/",
            base.replace("://upload.pypi.org/", "://pypi.org/")
        ),
        None => format!("{url}simple/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings;

    fn load(toml: &str) -> (tempfile::TempDir, Result<Project>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sdk")).unwrap();
        let file = dir.path().join("gantry.toml");
        std::fs::write(&file, toml).unwrap();
        let p = settings::load(&file);
        (dir, p)
    }

    fn context(ref_type: Option<RefType>, ref_name: Option<&str>, ci: bool) -> RunContext {
        let env = Environment::default();
        let mut c = RunContext::resolve(&env, std::path::Path::new("/nonexistent"), None);
        c.ci = ci;
        c.ref_type = ref_type;
        c.ref_name = ref_name.map(str::to_string);
        c
    }

    #[test]
    fn one_registry_and_an_existing_path_are_required() {
        let (_d, p) = load("[publish.a]\npypi = { path = \"sdk\" }\nnpm = { path = \"sdk\" }\n");
        let e = p.unwrap_err().to_string();
        assert!(e.contains("both `pypi` and `npm` are set"), "{e}");
        let (_d, p) = load("[publish.a]\nbuild = \"make\"\n");
        assert!(p.unwrap_err().to_string().contains("set `pypi` or `npm`"));
        let (_d, p) = load("[publish.a]\npypi = { path = \"nope\" }\n");
        let e = p.unwrap_err().to_string();
        assert!(
            e.contains("gantry.toml:2:") && e.contains("`nope` is not a directory"),
            "{e}"
        );
        let (_d, p) = load("[publish.a]\npypi = { path = \"sdk\", repo-url = \"x\" }\n");
        assert!(
            p.unwrap_err()
                .to_string()
                .contains("unknown key `repo-url`")
        );
    }

    #[test]
    fn tokens_tags_and_defaults_are_resolved() {
        let (_d, p) = load(
            "[publish.py]\npypi = { path = \"sdk\", repository-url = \"https://test.pypi.org/legacy/\", token-env = \"TEST_PYPI_TOKEN\" }\n[publish.js]\nnpm = { path = \"sdk\", tag = \"beta\" }\nbuild = [\"npm\", \"run\", \"pack\"]\n",
        );
        let p = p.unwrap();
        let env = Environment::from_pairs([
            ("TEST_PYPI_TOKEN", "pypi-secret"),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "https://gh/token?x=1"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-secret"),
        ]);
        let s = PublishSettings::resolve(
            &p,
            &env,
            &context(Some(RefType::Tag), Some("v1.0.0"), true),
            &[],
            None,
        )
        .unwrap();
        assert_eq!(s.tag.as_deref(), Some("v1.0.0"));
        assert_eq!(s.tag_source, "GITHUB_REF_NAME");
        let py = &s.packages[0];
        assert_eq!(py.registry.token(), Some("pypi-secret"));
        assert!(
            matches!(&py.registry, PackageRegistry::Pypi { index_url, .. } if index_url == "https://test.pypi.org/simple/")
        );
        assert_eq!(py.build, RunCommand::Shell("python -m build".into()));
        assert!(py.dist.ends_with("sdk/dist"));
        let js = &s.packages[1];
        assert_eq!(js.registry.url(), NPM_REGISTRY);
        assert!(!js.default_build);
        assert_eq!(s.secrets(), ["pypi-secret", "request-secret"]);

        let s = PublishSettings::resolve(
            &p,
            &env,
            &context(Some(RefType::Branch), Some("main"), true),
            &["js".into()],
            None,
        )
        .unwrap();
        assert_eq!((s.tag.as_deref(), s.packages.len()), (None, 1));
        assert_eq!(s.tag_source, "the run is for branch `main`");
        let s = PublishSettings::resolve(
            &p,
            &env,
            &context(None, None, false),
            &[],
            Some("py-v2.0.0"),
        )
        .unwrap();
        assert_eq!(
            (s.tag.as_deref(), s.tag_source.as_str()),
            (Some("py-v2.0.0"), "--tag")
        );
        let e = PublishSettings::resolve(
            &p,
            &env,
            &context(None, None, false),
            &["nope".into()],
            None,
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn simple_index_is_derived_from_the_upload_url() {
        assert_eq!(
            simple_index_for(PYPI_UPLOAD_URL),
            "https://pypi.org/simple/"
        );
        assert_eq!(
            simple_index_for("https://test.pypi.org/legacy/"),
            "https://test.pypi.org/simple/"
        );
        assert_eq!(
            simple_index_for("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/simple/"
        );
    }
}
