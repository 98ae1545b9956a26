//! Settings of `gantry migrate`: where the migrations are and how to reach
//! the database, resolved from the flags, `[migrate]` and the environment.

use super::Project;
use crate::environment::{self as env, Environment};
use crate::error::{Error, Result};
pub use crate::supabase::database::{Database, HostPort};
pub use crate::supabase::direct::Ipv6;
use std::path::PathBuf;
use std::time::Duration;

/// The Supabase directory when `[migrate] dir` is not set.
pub const DEFAULT_DIR: &str = "supabase";
/// Seed files when `[migrate] seeds` is not set (the Supabase CLI's default).
pub const DEFAULT_SEEDS: &[&str] = &["seed.sql"];
/// A concurrent run waits this long for the migration lock by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);
/// The port of Supabase's session pooler (6543 is the transaction pooler,
/// which cannot hold a session's advisory lock).
pub const POOLER_PORT: u16 = 5432;
/// The port of a project's direct host.
pub const DIRECT_PORT: u16 = 5432;

#[derive(Debug, Clone)]
pub struct MigrateSettings {
    /// The Supabase directory, absolute.
    pub dir: PathBuf,
    /// `dir` as written (relative to `gantry.toml`), for messages.
    pub dir_label: String,
    /// How to reach the database; `None` when nothing is configured.
    pub database: Option<Database>,
    /// Why `database` is `None`, for the dry run's notice.
    pub unconfigured: String,
    pub include_all: bool,
    pub include_seed: bool,
    pub strict: bool,
    pub lock_timeout: Duration,
    /// Seed file patterns, relative to `dir`.
    pub seeds: Vec<String>,
    /// Extra CA certificate: verify the server's certificate and host name.
    pub ssl_root_cert: Option<PathBuf>,
    /// Whether this machine can reach IPv6 (a project's direct host).
    pub ipv6: Ipv6,
}

/// What the command line says about a migration run (`gantry migrate`'s
/// flags); `cli` fills it, so settings never depend on the command line.
#[derive(Debug, Clone, Default)]
pub struct MigrateFlags {
    pub db_url: Option<String>,
    pub include_all: bool,
    pub include_seed: bool,
    pub strict: bool,
    pub lock_timeout: Option<Duration>,
}

impl MigrateSettings {
    pub fn resolve(project: &Project, env: &Environment, opts: &MigrateFlags) -> Result<Self> {
        let cfg = project.config.migrate.as_ref();
        let dir_label = cfg
            .and_then(|c| c.dir.as_ref())
            .map_or(DEFAULT_DIR.to_string(), |d| d.get_ref().clone());
        let dir = project.root.join(&dir_label);
        if !dir.is_dir() {
            return Err(Error::usage(
                format!("nothing to migrate: {} is not a directory", dir.display()),
                Some(format!(
                    "set [migrate] dir in {} to the Supabase directory (the one holding migrations/)",
                    project.file.display()
                )),
            ));
        }
        let url_var = cfg
            .and_then(|c| c.db_url_env.clone())
            .unwrap_or_else(|| env::SUPABASE_DB_URL.to_string());
        let (database, unconfigured) = if let Some(url) = &opts.db_url {
            let source = "--db-url".to_string();
            (
                Some(Database::Url {
                    url: url.clone(),
                    source,
                }),
                String::new(),
            )
        } else if let Some(url) = env.get(&url_var) {
            let source = url_var.clone();
            (
                Some(Database::Url {
                    url: url.into(),
                    source,
                }),
                String::new(),
            )
        } else if let Some(project_ref) = cfg.and_then(|c| c.project_ref.as_ref()) {
            let project_ref = project_ref.0.clone();
            let Some(password) = env.get(env::SUPABASE_DB_PASSWORD) else {
                return Err(Error::usage(
                    format!(
                        "[migrate] project-ref is `{project_ref}` but {} is not set",
                        env::SUPABASE_DB_PASSWORD
                    ),
                    Some(format!(
                        "gantry never prompts: set {0} (in GitHub Actions: `env: {0}: ${{{{ secrets.{0} }}}}`), or set {url_var} to the database URL",
                        env::SUPABASE_DB_PASSWORD
                    )),
                ));
            };
            let host_port = |key: &str, text: Option<&String>, default: HostPort, port| match text {
                None => Ok(Some(default)),
                Some(t) => HostPort::parse(t, port).map(Some).ok_or_else(|| {
                    Error::usage(
                        format!("[migrate] {key} = \"{t}\" is not `host` or `host:port`"),
                        None,
                    )
                }),
            };
            let direct = host_port(
                "direct-host",
                cfg.and_then(|c| c.direct_host.as_ref()),
                HostPort {
                    host: format!("db.{project_ref}.supabase.co"),
                    port: DIRECT_PORT,
                },
                DIRECT_PORT,
            )?
            .expect("a default is given");
            let pooler = match cfg.and_then(|c| c.pooler_host.as_ref()) {
                Some(t) => host_port("pooler-host", Some(t), direct.clone(), POOLER_PORT)?,
                None => None,
            };
            let database = Database::Project {
                project_ref,
                password: password.to_string(),
                direct,
                pooler,
            };
            (Some(database), String::new())
        } else {
            let why = format!(
                "no database is configured: {url_var} is not set and [migrate] has no project-ref"
            );
            (None, why)
        };
        let seeds = cfg.and_then(|c| c.seeds.clone()).unwrap_or_else(|| {
            DEFAULT_SEEDS
                .iter()
                .map(std::string::ToString::to_string)
                .collect()
        });
        Ok(MigrateSettings {
            dir,
            dir_label,
            database,
            unconfigured,
            include_all: opts.include_all,
            include_seed: opts.include_seed,
            strict: opts.strict || cfg.is_some_and(|c| c.strict),
            lock_timeout: opts
                .lock_timeout
                .or(cfg.and_then(|c| c.lock_timeout))
                .unwrap_or(DEFAULT_LOCK_TIMEOUT),
            seeds,
            ssl_root_cert: cfg
                .and_then(|c| c.ssl_root_cert.as_ref())
                .map(|p| project.root.join(p.get_ref())),
            ipv6: ipv6(env),
        })
    }

    /// Values that must never be printed: the URL (and the password in it)
    /// and the project's database password.
    pub fn secrets(&self) -> (Vec<&str>, Vec<&str>) {
        match &self.database {
            Some(Database::Url { url, .. }) => (vec![url.as_str()], vec![url.as_str()]),
            Some(Database::Project { password, .. }) => (vec![password.as_str()], vec![]),
            None => (vec![], vec![]),
        }
    }

    /// `supabase/migrations`.
    pub fn migrations_dir(&self) -> PathBuf {
        self.dir.join("migrations")
    }
}

/// In GitHub Actions, unless the runner says it is self-hosted (which may
/// have IPv6), the machine is one of GitHub's, which have none.
fn ipv6(env: &Environment) -> Ipv6 {
    let self_hosted = env
        .get(env::RUNNER_ENVIRONMENT)
        .is_some_and(|v| v.eq_ignore_ascii_case("self-hosted"));
    if env.in_github_actions() && !self_hosted {
        Ipv6::GithubHosted
    } else {
        Ipv6::Probe
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{self, Project};
    use std::path::Path;

    fn project(toml: &str) -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("supabase/migrations")).unwrap();
        let file = dir.path().join("gantry.toml");
        std::fs::write(&file, toml).unwrap();
        let p = settings::load(&file).unwrap();
        (dir, p)
    }

    #[test]
    fn host_port_parses_names_ports_and_ipv6() {
        let hp = |h: &str, p| {
            Some(HostPort {
                host: h.into(),
                port: p,
            })
        };
        assert_eq!(
            HostPort::parse("db.x.supabase.co", 5432),
            hp("db.x.supabase.co", 5432)
        );
        assert_eq!(
            HostPort::parse("127.0.0.1:6000", 5432),
            hp("127.0.0.1", 6000)
        );
        assert_eq!(HostPort::parse("[::1]:7000", 5432), hp("::1", 7000));
        assert_eq!(HostPort::parse("[::1]", 5432), hp("::1", 5432));
        assert_eq!(HostPort::parse("h:notaport", 5432), None);
    }

    #[test]
    fn the_url_flag_wins_over_the_environment_and_the_project_ref() {
        let (_d, p) = project("[migrate]\nproject-ref = \"abcdef\"\n");
        let env = Environment::from_pairs([
            ("SUPABASE_DB_URL", "postgres://env"),
            ("SUPABASE_DB_PASSWORD", "pw-secret"),
        ]);
        let flag = MigrateFlags {
            db_url: Some("postgres://flag".into()),
            ..Default::default()
        };
        let s = MigrateSettings::resolve(&p, &env, &flag).unwrap();
        assert!(
            matches!(s.database, Some(Database::Url { ref url, .. }) if url == "postgres://flag")
        );
        let s = MigrateSettings::resolve(&p, &env, &MigrateFlags::default()).unwrap();
        assert!(
            matches!(s.database, Some(Database::Url { ref source, .. }) if source == "SUPABASE_DB_URL")
        );
    }

    #[test]
    fn a_project_ref_needs_the_password_and_defaults_to_the_direct_host() {
        let (_d, p) = project(
            "[migrate]\nproject-ref = \"abcdef\"\npooler-host = \"aws-0-eu-west-1.pooler.supabase.com\"\n",
        );
        let e = MigrateSettings::resolve(&p, &Environment::default(), &MigrateFlags::default())
            .unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("SUPABASE_DB_PASSWORD"), "{e}");
        let env = Environment::from_pairs([("SUPABASE_DB_PASSWORD", "pw-secret")]);
        let s = MigrateSettings::resolve(&p, &env, &MigrateFlags::default()).unwrap();
        match &s.database {
            Some(Database::Project { direct, pooler, .. }) => {
                assert_eq!(direct.to_string(), "db.abcdef.supabase.co:5432");
                assert_eq!(
                    pooler.as_ref().unwrap().to_string(),
                    "aws-0-eu-west-1.pooler.supabase.com:5432"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.secrets().0, ["pw-secret"]);
    }

    #[test]
    fn github_s_own_runners_have_no_ipv6() {
        let at = |pairs: &[(&str, &str)]| ipv6(&Environment::from_pairs(pairs.iter().copied()));
        assert_eq!(at(&[("GITHUB_ACTIONS", "true")]), Ipv6::GithubHosted);
        assert_eq!(
            at(&[
                ("GITHUB_ACTIONS", "true"),
                ("RUNNER_ENVIRONMENT", "github-hosted")
            ]),
            Ipv6::GithubHosted
        );
        assert_eq!(
            at(&[
                ("GITHUB_ACTIONS", "true"),
                ("RUNNER_ENVIRONMENT", "self-hosted")
            ]),
            Ipv6::Probe
        );
        assert_eq!(at(&[]), Ipv6::Probe);
    }

    #[test]
    fn nothing_configured_is_explained() {
        let (_d, p) = project("[migrate]\ndb-url-env = \"PROD_DB_URL\"\nlock-timeout = \"5s\"\n");
        let s = MigrateSettings::resolve(&p, &Environment::default(), &MigrateFlags::default())
            .unwrap();
        assert!(s.database.is_none());
        assert!(
            s.unconfigured.contains("PROD_DB_URL is not set"),
            "{}",
            s.unconfigured
        );
        assert_eq!(s.lock_timeout, Duration::from_secs(5));
        assert_eq!(s.seeds, ["seed.sql"]);
        assert_eq!(s.migrations_dir(), p.root.join("supabase/migrations"));
        assert!(Path::new(&s.dir).is_absolute());
    }

    #[test]
    fn a_missing_directory_is_a_located_config_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gantry.toml");
        std::fs::write(&file, "[migrate]\ndir = \"db/supabase\"\n").unwrap();
        match settings::load(&file) {
            Err(Error::Config(c)) => {
                assert_eq!(c.line, Some(2));
                assert!(c.message.contains("`db/supabase` is not a directory"));
            }
            other => panic!("{other:?}"),
        }
    }
}
