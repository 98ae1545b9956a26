//! Settings of `gantry deploy railway`: the `[deploy.*]` sections that have
//! `railway = { .. }`, the token, and where the API is.

use super::Project;
use crate::environment::{self as env, Environment};
use crate::error::{Error, Result};
pub use crate::railway::client::Token;
pub use crate::railway::resolve::RailwayTarget;
use serde::Deserialize;
use std::time::Duration;

/// Railway's public GraphQL API.
pub const DEFAULT_API_URL: &str = "https://backboard.railway.com/graphql/v2";
/// How long a deployment may take to reach a verdict when `timeout` is unset.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// How often a deployment's status is asked for.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// What a Railway deployment deploys when no image is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RailwayMode {
    /// Redeploy the service's latest deployment as it is.
    Redeploy,
    /// Deploy the newest commit of the service's connected repository branch.
    LatestCommit,
}

/// What one deployment rolls out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The digest `gantry push` pushed for this `[images.*]` entry.
    Image(String),
    Mode(RailwayMode),
}

/// What Railway pulls a private image with: `pull-credentials`.
#[derive(Debug, Clone)]
pub struct Pull {
    pub username_env: String,
    pub password_env: String,
    /// User name and password, when both variables are set (the password
    /// is a secret: masked and redacted).
    pub values: Option<(String, String)>,
}

/// One `[deploy.<name>]` with `railway`.
#[derive(Debug, Clone)]
pub struct RailwayDeploy {
    pub name: String,
    pub target: RailwayTarget,
    pub source: Source,
    pub timeout: Duration,
    /// The registry the image is pushed to (`[images.<name>] registry`).
    pub registry: Option<String>,
    pub pull: Option<Pull>,
}

#[derive(Debug)]
pub struct RailwaySettings {
    pub deploys: Vec<RailwayDeploy>,
    /// `None` when neither variable is set (a local dry run can live with it).
    pub token: Option<Token>,
    pub api_url: String,
    pub poll_interval: Duration,
}

impl RailwaySettings {
    /// The Railway deployments of gantry.toml, or only the named ones.
    pub fn resolve(project: &Project, env: &Environment, names: &[String]) -> Result<Self> {
        let configured: Vec<&str> = project
            .config
            .deploy
            .iter()
            .filter(|(_, d)| d.railway.is_some())
            .map(|(n, _)| n.0.as_str())
            .collect();
        super::check_selected(
            project,
            names,
            &configured,
            "Railway deployment",
            "[deploy.<name>] with `railway = { .. }`",
        )?;
        let token = match (env.get(env::RAILWAY_TOKEN), env.get(env::RAILWAY_API_TOKEN)) {
            // As the Railway CLI: the project token wins when both are set.
            (Some(t), _) => Some(Token::Project(t.to_string())),
            (None, Some(t)) => Some(Token::Account(t.to_string())),
            (None, None) => None,
        };
        let mut deploys = Vec::new();
        for (name, cfg) in &project.config.deploy {
            let Some(target) = &cfg.railway else { continue };
            if !names.is_empty() && !names.contains(&name.0) {
                continue;
            }
            // Validated when the file was loaded: exactly one of the two.
            let source = match (&cfg.image, cfg.mode) {
                (Some(image), _) => Source::Image(image.clone()),
                (None, Some(mode)) => Source::Mode(mode),
                (None, None) => Source::Mode(RailwayMode::Redeploy),
            };
            if matches!(token, Some(Token::Account(_)))
                && (target.project.is_none() || target.environment.is_none())
            {
                return Err(Error::usage(
                    format!(
                        "deploy.{name}: an account token (RAILWAY_API_TOKEN) needs `project` and `environment`"
                    ),
                    Some(format!(
                        "add them to `railway = {{ .. }}` under [deploy.{name}], or use a project token in RAILWAY_TOKEN"
                    )),
                ));
            }
            let registry = cfg.image.as_ref().and_then(|image| {
                project
                    .config
                    .images
                    .iter()
                    .find(|(n, _)| n.0 == *image)
                    .and_then(|(_, i)| i.registry.clone())
            });
            // Both names are there: checked when the file was loaded.
            let pull = cfg.pull_credentials.as_ref().map(|p| {
                let username_env = p.username_env.clone().unwrap_or_default();
                let password_env = p.password_env.clone().unwrap_or_default();
                let values = match (env.get(&username_env), env.get(&password_env)) {
                    (Some(u), Some(pw)) => Some((u.to_string(), pw.to_string())),
                    _ => None,
                };
                Pull {
                    username_env,
                    password_env,
                    values,
                }
            });
            deploys.push(RailwayDeploy {
                name: name.0.clone(),
                target: target.clone(),
                source,
                timeout: cfg.timeout.unwrap_or(DEFAULT_TIMEOUT),
                registry,
                pull,
            });
        }
        if deploys.is_empty() {
            return Err(Error::usage(
                format!("{} configures no Railway deployment", project.file.display()),
                Some("add a [deploy.<name>] section with `railway = { project, environment, service }` and `image` or `mode`".into()),
            ));
        }
        let poll_interval = match env.get(env::GANTRY_RAILWAY_POLL_INTERVAL) {
            None => DEFAULT_POLL_INTERVAL,
            Some(text) => match humantime::parse_duration(text).map(crate::duration::bounded) {
                Ok(Ok(d)) => d,
                _ => {
                    return Err(Error::usage(
                        format!(
                            "{}: `{text}` is not a positive duration",
                            env::GANTRY_RAILWAY_POLL_INTERVAL
                        ),
                        Some("write it like \"5s\" or \"200ms\"".into()),
                    ));
                }
            },
        };
        Ok(RailwaySettings {
            deploys,
            token,
            api_url: env
                .get(env::GANTRY_RAILWAY_API_URL)
                .unwrap_or(DEFAULT_API_URL)
                .to_string(),
            poll_interval,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn project(text: &str) -> Project {
        Project {
            root: ".".into(),
            file: "gantry.toml".into(),
            config: super::super::parse(Path::new("gantry.toml"), text).unwrap(),
        }
    }

    const TOML: &str = "[deploy.api]\nrailway = { project = \"shop\", environment = \"production\", service = \"api\" }\nimage = \"api\"\ntimeout = \"2m\"\n[deploy.worker]\nrailway = { service = \"worker\" }\nmode = \"latest-commit\"\n";

    #[test]
    fn resolves_targets_token_and_overrides() {
        let env = Environment::from_pairs([
            ("RAILWAY_TOKEN", "proj-tok"),
            ("RAILWAY_API_TOKEN", "acct-tok"),
            ("GANTRY_RAILWAY_API_URL", "http://127.0.0.1:9/graphql"),
            ("GANTRY_RAILWAY_POLL_INTERVAL", "10ms"),
        ]);
        let s = RailwaySettings::resolve(&project(TOML), &env, &[]).unwrap();
        assert_eq!(s.token, Some(Token::Project("proj-tok".into())));
        assert_eq!(s.api_url, "http://127.0.0.1:9/graphql");
        assert_eq!(s.poll_interval, Duration::from_millis(10));
        assert_eq!(s.deploys.len(), 2);
        assert_eq!(s.deploys[0].source, Source::Image("api".into()));
        assert_eq!(s.deploys[0].timeout, Duration::from_secs(120));
        assert_eq!(s.deploys[1].source, Source::Mode(RailwayMode::LatestCommit));
        assert_eq!(s.deploys[1].timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn an_account_token_needs_project_and_environment() {
        let env = Environment::from_pairs([("RAILWAY_API_TOKEN", "acct")]);
        let e = RailwaySettings::resolve(&project(TOML), &env, &[]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("deploy.worker"), "{e}");
        let s = RailwaySettings::resolve(&project(TOML), &env, &["api".into()]).unwrap();
        assert_eq!(s.api_url, DEFAULT_API_URL);
        assert_eq!(s.token, Some(Token::Account("acct".into())));
    }

    #[test]
    fn unknown_names_suggest_the_closest() {
        let e =
            RailwaySettings::resolve(&project(TOML), &Environment::default(), &["wroker".into()])
                .unwrap_err();
        assert_eq!(e.hint(), Some("did you mean `worker`?"));
    }
}
