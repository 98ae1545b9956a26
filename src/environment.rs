//! Every environment variable gantry reads, in one place.
//!
//! Commands never call `std::env::var`: `main` captures the environment once
//! into an [`Environment`] and settings are resolved from it, so tests can
//! hand in any environment they like.

use std::collections::BTreeMap;

/// `true` inside a GitHub Actions job; selects `--format github`.
pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
/// `github-hosted` or `self-hosted` (set by GitHub's runner): a hosted
/// runner has no IPv6.
pub const RUNNER_ENVIRONMENT: &str = "RUNNER_ENVIRONMENT";
/// File that step outputs are appended to.
pub const GITHUB_OUTPUT: &str = "GITHUB_OUTPUT";
/// File that the Markdown step summary is appended to.
pub const GITHUB_STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";
/// Commit being built.
pub const GITHUB_SHA: &str = "GITHUB_SHA";
/// Full ref being built (`refs/heads/main`, `refs/tags/v1.2.3`, `refs/pull/7/merge`).
pub const GITHUB_REF: &str = "GITHUB_REF";
/// Short ref name (`main`, `v1.2.3`, `7/merge`).
pub const GITHUB_REF_NAME: &str = "GITHUB_REF_NAME";
/// `branch` or `tag`.
pub const GITHUB_REF_TYPE: &str = "GITHUB_REF_TYPE";
/// `owner/name`.
pub const GITHUB_REPOSITORY: &str = "GITHUB_REPOSITORY";
/// The repository's owner (`Railway-Org`); a bare ghcr.io repository goes under it, lower-cased.
pub const GITHUB_REPOSITORY_OWNER: &str = "GITHUB_REPOSITORY_OWNER";
/// Unique id of the workflow run.
pub const GITHUB_RUN_ID: &str = "GITHUB_RUN_ID";
/// `https://github.com` or a GitHub Enterprise URL.
pub const GITHUB_SERVER_URL: &str = "GITHUB_SERVER_URL";
/// The REST API's root (`https://api.github.com`); `gantry run --comment` posts there.
pub const GITHUB_API_URL: &str = "GITHUB_API_URL";
/// `owner/name/.github/workflows/<file>@<ref>`: the running workflow; gates
/// ask for its last passed run on the branch.
pub const GITHUB_WORKFLOW_REF: &str = "GITHUB_WORKFLOW_REF";
/// `push`, `pull_request`, ...
pub const GITHUB_EVENT_NAME: &str = "GITHUB_EVENT_NAME";
/// JSON payload of the triggering event (holds the pull request base and the push's `before`).
pub const GITHUB_EVENT_PATH: &str = "GITHUB_EVENT_PATH";
/// Base branch of a pull request.
pub const GITHUB_BASE_REF: &str = "GITHUB_BASE_REF";
/// Per-job temporary directory; the pipeline state lives in `$RUNNER_TEMP/gantry/`.
pub const RUNNER_TEMP: &str = "RUNNER_TEMP";
/// Login of the user who started the run; the default GHCR user name.
pub const GITHUB_ACTOR: &str = "GITHUB_ACTOR";
/// The workflow's token; the default GHCR password.
pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";
/// Default Docker Hub user name.
pub const DOCKERHUB_USERNAME: &str = "DOCKERHUB_USERNAME";
/// Default Docker Hub password or access token.
pub const DOCKERHUB_TOKEN: &str = "DOCKERHUB_TOKEN";
/// The Docker Engine to talk to: `unix:///path` or `tcp://host:port`; default `/var/run/docker.sock`.
pub const DOCKER_HOST: &str = "DOCKER_HOST";
/// Where `gantry init` looks up the release tag it pins the action to: a
/// git remote (a fork or mirror of gantry); default GitHub's.
pub const GANTRY_ACTION_REMOTE: &str = "GANTRY_ACTION_REMOTE";
/// Set by a workflow (the pull request template) to say why this run has
/// no credentials for remote checks: a dry run in CI then marks what it
/// could not ask "not checked" with this reason instead of failing.
pub const GANTRY_UNCHECKED_REASON: &str = "GANTRY_UNCHECKED_REASON";
/// The builder for images that set none: `buildkit` (default) or `classic`.
pub const GANTRY_BUILDER: &str = "GANTRY_BUILDER";
/// Tests only (absent from release builds: `TEST_ONLY`): push ECR
/// images to this `host:port` instead of the ECR registry (the ECR API calls
/// still go to AWS or `AWS_ENDPOINT_URL`).
pub const GANTRY_ECR_PUSH_REGISTRY: &str = "GANTRY_ECR_PUSH_REGISTRY";
/// How often `gantry deploy ecs` polls (`"100ms"`), over `[deploy.*]
/// ecs.poll-interval`: a knob a user may set (a faster watch in a
/// benchmark or a test, a slower one to spare the API's rate limit).
pub const GANTRY_ECS_POLL_INTERVAL: &str = "GANTRY_ECS_POLL_INTERVAL";
/// Tests only (absent from release builds: `TEST_ONLY`): set, gantry
/// panics on purpose, to show what the panic hook makes of a bug.
pub const GANTRY_PANIC_FOR_TESTS: &str = "GANTRY_PANIC_FOR_TESTS";
/// Set (and not `0`) to print a backtrace after an internal error.
pub const RUST_BACKTRACE: &str = "RUST_BACKTRACE";
/// Set (to anything but empty) to turn colour off (<https://no-color.org>).
pub const NO_COLOR: &str = "NO_COLOR";
/// Set (to anything but empty or `0`) to force colour on.
pub const FORCE_COLOR: &str = "FORCE_COLOR";
/// `dumb` terminals get no colour.
pub const TERM: &str = "TERM";
/// PostgreSQL URL of the Supabase database `gantry migrate` applies to (the
/// default of `[migrate] db-url-env`).
pub const SUPABASE_DB_URL: &str = "SUPABASE_DB_URL";
/// Password of the `postgres` user, used with `[migrate] project-ref`.
pub const SUPABASE_DB_PASSWORD: &str = "SUPABASE_DB_PASSWORD";
/// Directories searched for programs; `gantry scan` finds `trivy` here.
pub const PATH: &str = "PATH";
/// Trivy's cache directory (database, checks), read by Trivy itself and by
/// `gantry scan` to tell whether the cached database is fresh.
pub const TRIVY_CACHE_DIR: &str = "TRIVY_CACHE_DIR";
/// Prefix of Trivy's own variables (`TRIVY_USERNAME`, `TRIVY_PASSWORD`,
/// `TRIVY_REGISTRY_TOKEN`, `TRIVY_DB_REPOSITORY`, ...): all passed to Trivy.
pub const TRIVY_PREFIX: &str = "TRIVY_";
/// What else of gantry's environment Trivy gets; nothing more reaches it
/// (DESIGN: children get little). Where it lives and writes (`HOME`, `TMPDIR`,
/// `XDG_CACHE_HOME`: its default cache), the network (proxies, CA
/// certificates), the engines it reads images from and their registry logins
/// (`DOCKER_CONFIG` holds `docker login`'s), and the package caches its
/// analyzers read for licences and dependencies.
pub const TRIVY_PASSES: &[&str] = &[
    "HOME",
    PATH,
    "TMPDIR",
    "XDG_CACHE_HOME",
    "XDG_RUNTIME_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    DOCKER_HOST,
    "DOCKER_CONFIG",
    "DOCKER_CONTEXT",
    "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
    "DOCKER_API_VERSION",
    "CONTAINERD_ADDRESS",
    "CONTAINERD_NAMESPACE",
    "GOPATH",
    "GRADLE_USER_HOME",
    "MAVEN_HOME",
    "NUGET_PACKAGES",
    "PUB_CACHE",
    "CONAN_HOME",
    "CONAN_USER_HOME",
];
/// Prefix of the AWS SDK's variables: Trivy gets them only to log in to ECR
/// for an image it pulls from there.
pub const AWS_PREFIX: &str = "AWS_";
/// PyPI API token for `gantry publish` (the default of `[publish.*] pypi.token-env`).
pub const PYPI_TOKEN: &str = "PYPI_TOKEN";
/// npm access token for `gantry publish` (the default of `[publish.*] npm.token-env`).
pub const NPM_TOKEN: &str = "NPM_TOKEN";
/// GitHub Actions' OIDC token endpoint (set with `permissions: id-token: write`):
/// trusted publishing to PyPI and npm.
pub const ACTIONS_ID_TOKEN_REQUEST_URL: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
/// The bearer token for `ACTIONS_ID_TOKEN_REQUEST_URL`.
pub const ACTIONS_ID_TOKEN_REQUEST_TOKEN: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
/// GitHub's cache service (v1), for BuildKit's `gha` cache: given to
/// JavaScript actions, not to shell steps (see the README's `cache-to`).
pub const ACTIONS_CACHE_URL: &str = "ACTIONS_CACHE_URL";
/// GitHub's results service, where the cache service v2 lives.
pub const ACTIONS_RESULTS_URL: &str = "ACTIONS_RESULTS_URL";
/// The job's token for those services (a secret).
pub const ACTIONS_RUNTIME_TOKEN: &str = "ACTIONS_RUNTIME_TOKEN";
/// Set (`1`, `true`, `yes`) where the runner uses the cache service v2.
pub const ACTIONS_CACHE_SERVICE_V2: &str = "ACTIONS_CACHE_SERVICE_V2";
/// Railway project token (a secret): sent as `Project-Access-Token`; it
/// implies the project and environment of `gantry deploy railway`.
pub const RAILWAY_TOKEN: &str = "RAILWAY_TOKEN";
/// Railway account or team token (a secret): sent as `Authorization: Bearer`.
pub const RAILWAY_API_TOKEN: &str = "RAILWAY_API_TOKEN";
/// The URL of Railway's GraphQL API (default
/// `https://backboard.railway.com/graphql/v2`): a knob a user may set, to go
/// through a proxy; tests and benchmarks point it at a stand-in.
pub const GANTRY_RAILWAY_API_URL: &str = "GANTRY_RAILWAY_API_URL";
/// How often `gantry deploy railway` asks for a deployment's status
/// (`"200ms"`, default `5s`); retry back-off starts there too. A knob a user
/// may set, like `GANTRY_ECS_POLL_INTERVAL`.
pub const GANTRY_RAILWAY_POLL_INTERVAL: &str = "GANTRY_RAILWAY_POLL_INTERVAL";

/// Variables only the tests set: a release build does not see them (they
/// are dropped when the environment is captured), so no user can trip them.
/// Debug builds, which the tests run, keep them.
pub const TEST_ONLY: &[&str] = &[GANTRY_PANIC_FOR_TESTS, GANTRY_ECR_PUSH_REGISTRY];

/// Names whose values are treated as secrets wherever they appear, on top of
/// each step's own ([`crate::step::StepSpec::secrets`]), the names a gate
/// lists in `secrets` and any name that looks secret (see [`looks_secret`]):
/// the job's own tokens, which every step may hold.
pub const KNOWN_SECRETS: &[&str] = &[
    GITHUB_TOKEN,
    "GH_TOKEN",
    ACTIONS_ID_TOKEN_REQUEST_TOKEN,
    ACTIONS_RUNTIME_TOKEN,
];

/// Whether a variable's *name* says it holds a secret (`API_TOKEN`,
/// `DB_PASSWORD`, `STRIPE_SECRET_KEY`, ...). Used to redact values that a user
/// forgot to declare: over-redacting a token-named value costs nothing.
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    KNOWN_SECRETS.contains(&upper.as_str())
        || crate::step::is_step_secret(&upper)
        || [
            "TOKEN",
            "PASSWORD",
            "PASSWD",
            "SECRET",
            "PRIVATE_KEY",
            "API_KEY",
            "CREDENTIAL",
        ]
        .iter()
        .any(|word| upper.contains(word))
}

/// A snapshot of the process environment.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl Environment {
    /// Reads the real environment (non-UTF-8 values are skipped).
    pub fn capture() -> Self {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        Self::captured(vars, cfg!(debug_assertions))
    }

    /// The variables as a build sees them: a release build (`tests` false)
    /// drops [`TEST_ONLY`].
    fn captured(vars: impl Iterator<Item = (String, String)>, tests: bool) -> Self {
        Self {
            vars: vars
                .filter(|(k, _)| tests || !TEST_ONLY.contains(&k.as_str()))
                .collect(),
        }
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value, or `None` when unset or empty (GitHub sets unused inputs to "").
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The value as set, empty included (`None` only when unset): `$VAR` in a
    /// gate's `env` expands a set-but-empty variable to "" like a shell does.
    pub fn get_raw(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    pub fn is_true(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    pub fn in_github_actions(&self) -> bool {
        self.is_true(GITHUB_ACTIONS)
    }

    /// Every variable, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Every value that must be redacted.
    pub fn secret_values(&self) -> impl Iterator<Item = &str> {
        self.vars
            .iter()
            .filter(|(k, v)| !v.is_empty() && looks_secret(k))
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_recognised() {
        for name in [
            "GITHUB_TOKEN",
            "api_token",
            "DB_PASSWORD",
            "STRIPE_SECRET_KEY",
            "SUPABASE_DB_URL",
        ] {
            assert!(looks_secret(name), "{name}");
        }
        for name in ["PATH", "HOME", "GITHUB_SHA", "RUST_LOG"] {
            assert!(!looks_secret(name), "{name}");
        }
    }

    #[test]
    fn every_step_secret_is_recognised() {
        // The names KNOWN_SECRETS listed before each step declared its own.
        for name in [
            "DOCKERHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "SUPABASE_ACCESS_TOKEN",
            SUPABASE_DB_PASSWORD,
            SUPABASE_DB_URL,
            "DATABASE_URL",
            RAILWAY_TOKEN,
            RAILWAY_API_TOKEN,
            PYPI_TOKEN,
            "TWINE_PASSWORD",
            NPM_TOKEN,
            "NODE_AUTH_TOKEN",
        ] {
            assert!(looks_secret(name), "{name}");
        }
        let env =
            Environment::from_pairs([("DATABASE_URL", "postgres://u:p@h/db"), ("HOME", "/h")]);
        assert_eq!(
            env.secret_values().collect::<Vec<_>>(),
            ["postgres://u:p@h/db"]
        );
    }

    #[test]
    fn a_release_build_does_not_see_the_test_only_variables() {
        let vars = || {
            [
                (GANTRY_PANIC_FOR_TESTS, "1"),
                (GANTRY_ECR_PUSH_REGISTRY, "127.0.0.1:5000"),
                ("HOME", "/h"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
        };
        let release = Environment::captured(vars(), false);
        assert_eq!(release.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["HOME"]);
        let tests = Environment::captured(vars(), true);
        assert_eq!(tests.get(GANTRY_PANIC_FOR_TESTS), Some("1"));
        assert_eq!(tests.iter().count(), 3);
    }

    #[test]
    fn empty_values_count_as_unset() {
        let env = Environment::from_pairs([("A", ""), ("GITHUB_ACTIONS", "true")]);
        assert_eq!(env.get("A"), None);
        assert!(env.in_github_actions());
    }
}
