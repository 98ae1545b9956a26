//! The schema of `gantry.toml`. Every key is documented in the README under
//! "Configuration"; unknown keys are rejected (with the closest valid key).

use super::values::{duration, one_or_many};
pub use crate::aws::ecr::TagMutability;
use crate::gate::matcher::Matcher;
use crate::publish::npm::NpmAccess;
use indexmap::IndexMap;
use serde::Deserialize;
use std::time::Duration;
use toml::Spanned;

/// The value types live in `values`; re-exported for the sections that name them.
pub use super::values::{Name, PathGlob, ProjectRef};
pub use crate::gate::exec::RunCommand;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// `[pipeline]`: what `gantry run` runs.
    #[serde(default)]
    pub pipeline: PipelineConfig,
    /// `[gates.<name>]`: lint and test commands.
    #[serde(default)]
    pub gates: IndexMap<Name, GateConfig>,
    /// `[images.<name>]`: container images to build and push.
    #[serde(default)]
    pub images: IndexMap<Name, ImageConfig>,
    /// `[registries."<host>"]`: credentials for registries other than ECR.
    #[serde(default)]
    pub registries: IndexMap<String, RegistryConfig>,
    /// `[migrate]`: Supabase migrations applied by `gantry migrate`.
    pub migrate: Option<MigrateConfig>,
    /// `[scan]`: the Trivy scan of `gantry scan` and its policy.
    pub scan: Option<ScanConfig>,
    /// `[publish.<name>]`: SDKs published to PyPI or npm on a release tag.
    #[serde(default)]
    pub publish: IndexMap<Name, PublishConfig>,
    /// `[deploy.<name>]`: where services are deployed (`ecs = { ... }` or `railway = { ... }`).
    #[serde(default)]
    pub deploy: IndexMap<Name, super::deploy::DeployConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PipelineConfig {
    /// Steps in order; default: every step that has configuration.
    pub steps: Option<Vec<Step>>,
}

/// The steps live in a core module; re-exported for the settings that name them.
pub use crate::step::Step;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImageConfig {
    /// Build context directory, relative to `gantry.toml`.
    pub context: Spanned<String>,
    /// Dockerfile path relative to `gantry.toml`; default `<context>/Dockerfile`.
    pub dockerfile: Option<Spanned<String>>,
    /// Repository name in the registry, e.g. `codewarden/api`; on ghcr.io a
    /// bare name (`api`) is put under the repository's owner (`GITHUB_REPOSITORY_OWNER`).
    pub repository: Spanned<String>,
    /// `ecr`, `<account>.dkr.ecr.<region>.amazonaws.com`, `ghcr.io`, `docker.io` or `host:port`.
    pub registry: Option<String>,
    /// `--build-arg` values.
    #[serde(default)]
    pub build_args: IndexMap<String, String>,
    /// Stage to build in a multi-stage Dockerfile.
    pub target: Option<String>,
    /// `linux/amd64`, `linux/arm64`, ...
    pub platform: Option<String>,
    /// Several platforms for one image (an index): BuildKit on an engine
    /// with the containerd image store; one is `platform`.
    #[serde(default)]
    pub platforms: Vec<String>,
    /// Extra labels, on top of the OCI labels gantry sets.
    #[serde(default)]
    pub labels: IndexMap<String, String>,
    /// Tag rules: `sha`, `branch`, `tag`, `semver`, `pr`, `latest`, `raw:<tag>`.
    pub tags: Option<Vec<Spanned<String>>>,
    /// Images to use as cache sources (`ref` or `type=registry,ref=<ref>`).
    #[serde(default)]
    pub cache_from: Vec<String>,
    /// Where to export the build cache: `type=inline` (BuildKit).
    #[serde(default)]
    pub cache_to: Vec<String>,
    /// `buildkit` (the default where the engine has it) or `classic`.
    pub builder: Option<BuilderChoice>,
    /// Build secrets for `RUN --mount=type=secret,id=<id>`: `{ env = "VAR" }` or `{ file = "path" }`.
    #[serde(default)]
    pub secrets: IndexMap<String, SecretSource>,
    /// Build without the cache.
    #[serde(default)]
    pub no_cache: bool,
    /// Always pull newer versions of base images.
    #[serde(default)]
    pub pull: bool,
    /// ECR: create the repository when it is missing (scan on push, `tag-mutability`).
    #[serde(default)]
    pub create_repository: bool,
    /// `mutable` or `immutable`: for a repository gantry creates, and the
    /// rule gantry enforces before pushing (an existing tag with another digest is refused).
    /// `immutable` takes only tag rules that never move a tag (`sha`, `tag`).
    pub tag_mutability: Option<Spanned<TagMutability>>,
}

/// The engine's builder an image is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuilderChoice {
    Buildkit,
    Classic,
}

/// Where a build secret's value comes from (exactly one).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SecretSource {
    /// An environment variable holding the value.
    pub env: Option<String>,
    /// A file holding the value, relative to `gantry.toml`.
    pub file: Option<String>,
}

/// Credentials of a registry, read from environment variables.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RegistryConfig {
    /// Variable holding the user name.
    pub username_env: Option<String>,
    /// Variable holding the password or token (a secret: redacted everywhere).
    pub password_env: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GateConfig {
    /// A shell command (run with `sh -c`) or an argv list (run directly).
    pub run: RunCommand,
    /// Working directory, relative to the directory of `gantry.toml`.
    pub dir: Option<Spanned<String>>,
    /// Extra environment for the command (not secret: it is in the repository).
    #[serde(default)]
    pub env: IndexMap<String, String>,
    /// Names of environment variables the command needs that hold secrets:
    /// passed through, and redacted from every output.
    #[serde(default)]
    pub secrets: Vec<Spanned<String>>,
    /// Kill the command (and everything it started) after this long: `"90s"`, `"10m"`.
    #[serde(default, deserialize_with = "duration")]
    pub timeout: Option<Duration>,
    /// Run only when a changed file matches one of these globs (relative to `gantry.toml`).
    #[serde(default)]
    pub paths: Vec<PathGlob>,
    /// JUnit XML report paths or globs, relative to `dir`.
    #[serde(default, deserialize_with = "one_or_many")]
    pub junit: Vec<String>,
    /// Turns compiler and linter output into annotations.
    pub matcher: Option<Matcher>,
    /// A failed optional gate warns instead of failing the pipeline.
    #[serde(default = "yes")]
    pub required: bool,
    /// Fail when the JUnit reports hold no test (or are missing).
    #[serde(default)]
    pub fail_on_no_tests: bool,
}

fn yes() -> bool {
    true
}

/// `[migrate]`: where the Supabase project lives and how to reach its database.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MigrateConfig {
    /// The Supabase directory (holding `migrations/`), relative to `gantry.toml`; default `supabase`.
    pub dir: Option<Spanned<String>>,
    /// The environment variable holding the database URL; default `SUPABASE_DB_URL`.
    pub db_url_env: Option<String>,
    /// The project's reference (`abcdefghijklmnopqrst`): connect to its direct
    /// host, or its session pooler, with `SUPABASE_DB_PASSWORD`.
    pub project_ref: Option<ProjectRef>,
    /// `host[:port]` of the direct connection; default `db.<project-ref>.supabase.co:5432`.
    pub direct_host: Option<String>,
    /// `host[:port]` of the session pooler used when the direct host is
    /// unreachable (`aws-0-<region>.pooler.supabase.com`); port default 5432.
    pub pooler_host: Option<String>,
    /// Seed files applied by `--include-seed`, relative to `dir` (globs allowed); default `["seed.sql"]`.
    pub seeds: Option<Vec<String>>,
    /// How long to wait for a concurrent run's lock: `"60s"`, `"5m"`.
    #[serde(default, deserialize_with = "duration")]
    pub lock_timeout: Option<Duration>,
    /// Drift (an applied file whose statements changed) fails the run instead of warning.
    #[serde(default)]
    pub strict: bool,
    /// A CA certificate (PEM) that, with the system's roots, verifies the
    /// server's certificate and host name (Supabase's `prod-ca-2021.crt`).
    pub ssl_root_cert: Option<Spanned<String>>,
}

/// `[scan]`: what `gantry scan` scans and the policy it applies.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ScanConfig {
    /// Fail at this severity and above: `critical`, `high`, `medium`, `low`, `unknown`; default `high`.
    pub fail_at: Option<SeverityName>,
    /// Show findings at this severity and above (table, summary, annotations, SARIF); default `low`.
    pub show_at: Option<SeverityName>,
    /// Leave out vulnerabilities that have no fixed version yet.
    #[serde(default)]
    pub ignore_unfixed: bool,
    /// Trivy ignore file (`.trivyignore` or `.trivyignore.yaml`), relative to
    /// `gantry.toml`; default: whichever of them exists next to `gantry.toml`.
    pub ignore_file: Option<Spanned<String>>,
    /// Look for vulnerabilities in packages (needs Trivy's database); default true.
    #[serde(default = "yes")]
    pub vulnerabilities: bool,
    /// Look for secrets (tokens, keys); default true.
    #[serde(default = "yes")]
    pub secrets: bool,
    /// Look for misconfigurations (Dockerfiles, Terraform, Kubernetes); default true.
    #[serde(default = "yes")]
    pub misconfigurations: bool,
    /// Look for licenses; default false (Trivy's default too).
    #[serde(default)]
    pub licenses: bool,
    /// Directories scanned with `trivy fs` on every run, relative to `gantry.toml`.
    #[serde(default)]
    pub fs: Vec<Spanned<String>>,
    /// Directories scanned with `trivy config` (misconfigurations only) on every run.
    #[serde(default)]
    pub config: Vec<Spanned<String>>,
    /// Scan the images `gantry build` built in this pipeline; default true.
    #[serde(default = "yes")]
    pub images: bool,
    /// Path of the Trivy binary, relative to `gantry.toml`; default `trivy` on PATH.
    pub trivy: Option<Spanned<String>>,
    /// Give up on one target after this long: `"5m"`; default 10 minutes.
    #[serde(default, deserialize_with = "duration")]
    pub timeout: Option<Duration>,
    /// Trivy's cache directory (its database and checks); default Trivy's own
    /// (`$TRIVY_CACHE_DIR` or `~/.cache/trivy`).
    pub cache_dir: Option<String>,
    /// OCI repositories of the vulnerability database, in order (mirrors).
    #[serde(default)]
    pub db_repository: Vec<String>,
    /// Never use the network: no database or check downloads (the cached
    /// database and the checks built into Trivy are used).
    #[serde(default)]
    pub offline: bool,
    /// Where the SARIF file goes, relative to `gantry.toml`; default
    /// `gantry-scan.sarif` next to the pipeline state.
    pub sarif: Option<String>,
    /// Directories Trivy does not look into (`--skip-dirs`): globs over paths
    /// relative to each scanned directory or image root.
    #[serde(default)]
    pub skip_dirs: Vec<Spanned<String>>,
    /// Files Trivy does not look into (`--skip-files`), globs likewise.
    #[serde(default)]
    pub skip_files: Vec<Spanned<String>>,
}

/// A severity name in `gantry.toml` and on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SeverityName {
    Critical,
    High,
    Medium,
    Low,
    Unknown,
}

/// `[publish.<name>]`: one package, published to PyPI or to npm.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PublishConfig {
    /// A Python package uploaded to PyPI (or another index).
    pub pypi: Option<Spanned<PypiConfig>>,
    /// A JavaScript package published to the npm registry (or another registry).
    pub npm: Option<Spanned<NpmConfig>>,
    /// The build command, run in `path`; default `python -m build` (PyPI) or `npm pack` (npm).
    pub build: Option<RunCommand>,
    /// Where the build writes its files, relative to `path`; default `dist` (PyPI) or `.` (npm).
    pub dist: Option<String>,
    /// A version already on the registry with other contents (not the files
    /// just built): `fail` (default, exit 1) or `skip` (a warning). Identical
    /// contents are always skipped.
    pub existing: Option<Existing>,
}

/// `[publish.<name>] pypi = { ... }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PypiConfig {
    /// The package directory (holding `pyproject.toml`), relative to `gantry.toml`.
    pub path: Spanned<String>,
    /// The upload endpoint; default `https://upload.pypi.org/legacy/`.
    pub repository_url: Option<String>,
    /// The simple index asked whether a file exists; default: derived from `repository-url`.
    pub index_url: Option<String>,
    /// The variable holding the API token; default `PYPI_TOKEN`.
    pub token_env: Option<String>,
}

/// `[publish.<name>] npm = { ... }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NpmConfig {
    /// The package directory (holding `package.json`), relative to `gantry.toml`.
    pub path: Spanned<String>,
    /// The registry; default `https://registry.npmjs.org/`.
    pub registry: Option<String>,
    /// `public` or `restricted` (scoped packages); default: the registry's default.
    pub access: Option<NpmAccess>,
    /// The dist-tag; default `latest`, or `next` for a prerelease.
    pub tag: Option<String>,
    /// The variable holding the access token; default `NPM_TOKEN`.
    pub token_env: Option<String>,
}

/// What to do with a version already published with other contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Existing {
    Fail,
    Skip,
}
