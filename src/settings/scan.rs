//! Settings of `gantry scan`: targets, the policy and how to run Trivy,
//! resolved from the flags, `[scan]` and the environment.

use super::Project;
use super::config::{ScanConfig, SeverityName};
use super::toml_error;
use crate::environment::{self as env, Environment};
use crate::error::{Error, Result};
use crate::trivy::ignore;
use crate::trivy::policy::Classes;
use crate::trivy::severity::Severity;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long one target may take when `[scan] timeout` is not set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// The SARIF file's name next to the pipeline state.
pub const SARIF_FILE: &str = "gantry-scan.sarif";

#[derive(Debug, Clone)]
pub struct ScanSettings {
    pub fail_at: Severity,
    pub show_at: Severity,
    pub ignore_unfixed: bool,
    pub classes: Classes,
    /// The ignore file in use, if any.
    pub ignore_file: Option<PathBuf>,
    /// `[scan] trivy`, absolute.
    pub trivy: Option<PathBuf>,
    /// `$PATH`, where `trivy` is looked for.
    pub path_var: Option<String>,
    pub timeout: Duration,
    pub cache_dir: Option<PathBuf>,
    pub db_repository: Vec<String>,
    pub offline: bool,
    pub sarif: PathBuf,
    /// Built images to scan, by name: `None` means every image in `[images]`.
    pub images: Option<Vec<String>>,
    pub fs: Vec<PathBuf>,
    pub config: Vec<PathBuf>,
    pub refs: Vec<String>,
    pub archives: Vec<PathBuf>,
    pub docker_host: Option<String>,
    pub skip_dirs: Vec<String>,
    pub skip_files: Vec<String>,
    /// Trivy's whole environment (see [`trivy_env`]).
    pub trivy_env: Vec<(String, String)>,
    /// The AWS SDK's variables, for an image in ECR only.
    pub aws_env: Vec<(String, String)>,
}

fn severity(name: Option<SeverityName>, default: Severity) -> Severity {
    match name {
        None => default,
        Some(SeverityName::Critical) => Severity::Critical,
        Some(SeverityName::High) => Severity::High,
        Some(SeverityName::Medium) => Severity::Medium,
        Some(SeverityName::Low) => Severity::Low,
        Some(SeverityName::Unknown) => Severity::Unknown,
    }
}

/// What the command line says about a scan (`gantry scan`'s flags); `cli`
/// fills it, so settings never depend on the command line.
#[derive(Debug, Clone, Default)]
pub struct ScanFlags {
    /// Built images to scan.
    pub names: Vec<String>,
    pub fs: Vec<PathBuf>,
    pub config_dir: Vec<PathBuf>,
    pub image: Vec<String>,
    pub input: Vec<PathBuf>,
    pub fail_at: Option<SeverityName>,
    pub show_at: Option<SeverityName>,
    pub ignore_unfixed: bool,
    pub sarif: Option<PathBuf>,
}

impl ScanSettings {
    /// `cwd` anchors the paths given on the command line; `state_dir` holds
    /// the default SARIF file.
    pub fn resolve(
        project: &Project,
        env: &Environment,
        args: &ScanFlags,
        cwd: &Path,
        state_dir: &Path,
    ) -> Result<Self> {
        let default = ScanConfig {
            vulnerabilities: true,
            secrets: true,
            misconfigurations: true,
            images: true,
            ..ScanConfig::default()
        };
        let cfg = project.config.scan.as_ref().unwrap_or(&default);
        let root = &project.root;
        let fail_at = args.fail_at.map_or_else(
            || severity(cfg.fail_at, Severity::High),
            |s| severity(Some(s), Severity::High),
        );
        let show_at = args.show_at.map_or_else(
            || severity(cfg.show_at, Severity::Low),
            |s| severity(Some(s), Severity::Low),
        );
        let classes = Classes {
            vulnerabilities: cfg.vulnerabilities,
            secrets: cfg.secrets,
            misconfigurations: cfg.misconfigurations,
            licenses: cfg.licenses,
        };
        if classes.scanners().is_empty() {
            return Err(Error::usage(
                "[scan] turns every class of finding off: nothing to scan for",
                Some(
                    "set one of vulnerabilities, secrets, misconfigurations, licenses to true"
                        .into(),
                ),
            ));
        }
        let ignore_file = match &cfg.ignore_file {
            Some(f) => Some(root.join(f.get_ref())),
            None => ignore::default_file(root),
        };
        let explicit = !(args.fs.is_empty()
            && args.config_dir.is_empty()
            && args.image.is_empty()
            && args.input.is_empty());
        let (images, fs, config) = if !args.names.is_empty() {
            (Some(args.names.clone()), Vec::new(), Vec::new())
        } else if explicit {
            (Some(Vec::new()), Vec::new(), Vec::new())
        } else {
            (
                if cfg.images { None } else { Some(Vec::new()) },
                cfg.fs.iter().map(|p| root.join(p.get_ref())).collect(),
                cfg.config.iter().map(|p| root.join(p.get_ref())).collect(),
            )
        };
        let at_cwd = |p: &PathBuf| cwd.join(p);
        let mut fs = fs;
        fs.extend(args.fs.iter().map(at_cwd));
        let mut config = config;
        config.extend(args.config_dir.iter().map(at_cwd));
        for p in fs.iter().chain(&config) {
            if !p.exists() {
                return Err(Error::usage(
                    format!("{}: no such file or directory to scan", p.display()),
                    None,
                ));
            }
        }
        let archives: Vec<PathBuf> = args.input.iter().map(at_cwd).collect();
        for p in &archives {
            if !p.is_file() {
                return Err(Error::usage(
                    format!("--input {}: no such image archive", p.display()),
                    Some("give the tar file `docker save` wrote".into()),
                ));
            }
        }
        let sarif = match (&args.sarif, &cfg.sarif) {
            (Some(p), _) => cwd.join(p),
            (None, Some(p)) => root.join(p),
            (None, None) => state_dir.join(SARIF_FILE),
        };
        Ok(ScanSettings {
            fail_at,
            show_at,
            ignore_unfixed: cfg.ignore_unfixed || args.ignore_unfixed,
            classes,
            ignore_file,
            trivy: cfg.trivy.as_ref().map(|t| root.join(t.get_ref())),
            path_var: env.get(env::PATH).map(str::to_string),
            timeout: cfg.timeout.unwrap_or(DEFAULT_TIMEOUT),
            cache_dir: cfg
                .cache_dir
                .as_ref()
                .map(|d| root.join(d))
                .or_else(|| env.get(env::TRIVY_CACHE_DIR).map(PathBuf::from)),
            db_repository: cfg.db_repository.clone(),
            offline: cfg.offline,
            sarif,
            images,
            fs,
            config,
            refs: args.image.clone(),
            archives,
            docker_host: env.get(env::DOCKER_HOST).map(str::to_string),
            skip_dirs: cfg.skip_dirs.iter().map(|g| g.get_ref().clone()).collect(),
            skip_files: cfg.skip_files.iter().map(|g| g.get_ref().clone()).collect(),
            trivy_env: trivy_env(env),
            aws_env: env
                .iter()
                .filter(|(k, _)| k.starts_with(env::AWS_PREFIX))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        })
    }
}

/// What Trivy gets of gantry's environment: its own `TRIVY_*` and
/// [`env::TRIVY_PASSES`], never the pipeline's tokens and keys.
pub fn trivy_env(env: &Environment) -> Vec<(String, String)> {
    env.iter()
        // An empty variable is an unset one (as for gantry's own settings):
        // the action passes `TRIVY_CACHE_DIR` empty when it keeps no cache.
        .filter(|(k, v)| {
            !v.is_empty() && (k.starts_with(env::TRIVY_PREFIX) || env::TRIVY_PASSES.contains(k))
        })
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Checks of `[scan]` that need the file system, located in `gantry.toml`.
pub fn validate(project: &Project, scan: &ScanConfig, text: &str) -> Result<()> {
    let at = |span, message: String, hint: &str| -> Error {
        toml_error::at_span(&project.file, text, span, message, Some(hint.to_string())).into()
    };
    for (key, paths) in [("fs", &scan.fs), ("config", &scan.config)] {
        for p in paths {
            if !project.root.join(p.get_ref()).exists() {
                return Err(at(
                    p.span(),
                    format!("scan.{key}: `{}` does not exist", p.get_ref()),
                    "paths are relative to gantry.toml",
                ));
            }
        }
    }
    for (key, globs) in [
        ("skip-dirs", &scan.skip_dirs),
        ("skip-files", &scan.skip_files),
    ] {
        for g in globs {
            // Trivy skips nothing for a pattern it cannot read, silently.
            let bad = if g.get_ref().trim().is_empty() {
                Some("an empty pattern".to_string())
            } else {
                globset::Glob::new(g.get_ref())
                    .err()
                    .map(|e| e.kind().to_string())
            };
            if let Some(why) = bad {
                return Err(at(
                    g.span(),
                    format!("scan.{key}: `{}` is not a glob: {why}", g.get_ref()),
                    "a path or glob relative to the scanned directory or image root (`vendor`, `**/testdata`, `*.min.js`)",
                ));
            }
        }
    }
    if let Some(f) = &scan.ignore_file {
        let path = project.root.join(f.get_ref());
        if !path.is_file() {
            return Err(at(
                f.span(),
                format!("scan.ignore-file: `{}` is not a file", f.get_ref()),
                "a .trivyignore or .trivyignore.yaml file, relative to gantry.toml",
            ));
        }
        if let Err(e) = ignore::load(&path) {
            return Err(at(
                f.span(),
                format!("scan.ignore-file: {}: {e}", f.get_ref()),
                "see Trivy's ignore file formats in the README",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn project(toml: &str) -> (tempfile::TempDir, Result<Project>) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gantry.toml");
        std::fs::write(&file, toml).unwrap();
        let p = super::super::load(&file);
        (dir, p)
    }

    fn config_error(toml: &str) -> crate::error::ConfigError {
        match project(toml).1 {
            Err(Error::Config(c)) => *c,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_and_overrides() {
        let (dir, p) = project("[scan]\nshow-at = \"medium\"\nlicenses = true\n");
        let p = p.unwrap();
        let args = ScanFlags {
            fail_at: Some(SeverityName::Critical),
            ..ScanFlags::default()
        };
        let s = ScanSettings::resolve(
            &p,
            &Environment::default(),
            &args,
            dir.path(),
            Path::new("/state"),
        )
        .unwrap();
        assert_eq!(
            (s.fail_at, s.show_at),
            (Severity::Critical, Severity::Medium)
        );
        assert_eq!(
            s.classes.scanners(),
            ["vuln", "misconfig", "secret", "license"]
        );
        assert_eq!(s.sarif, Path::new("/state/gantry-scan.sarif"));
        assert_eq!(s.timeout, DEFAULT_TIMEOUT);
        assert_eq!(s.images, None, "every built image by default");

        let args = ScanFlags {
            fs: vec![".".into()],
            ..ScanFlags::default()
        };
        let env = Environment::from_pairs([("TRIVY_CACHE_DIR", "/cache")]);
        let s = ScanSettings::resolve(&p, &env, &args, dir.path(), Path::new("/state")).unwrap();
        assert_eq!(
            s.images,
            Some(Vec::new()),
            "a target flag replaces the built images"
        );
        assert_eq!(s.cache_dir.as_deref(), Some(Path::new("/cache")));
    }

    #[test]
    fn bad_values_are_located() {
        let e = config_error("[scan]\nfail-at = \"severe\"\n");
        assert_eq!(e.line, Some(2));
        let e = config_error("[scan]\nfs = [\"nope\"]\n");
        assert_eq!((e.line, e.column), (Some(2), Some(7)));
        assert!(
            e.message.contains("scan.fs: `nope` does not exist"),
            "{}",
            e.message
        );
        let e = config_error("[scan]\nignore-file = \"missing.yaml\"\n");
        assert_eq!(e.line, Some(2));
        let e = config_error("[scan]\nfail_at = \"high\"\n");
        assert!(e.hint.unwrap().contains("fail-at"));
    }

    #[test]
    fn trivy_gets_only_what_it_needs() {
        let env = Environment::from_pairs([
            ("HOME", "/home/u"),
            ("PATH", "/usr/bin"),
            ("HTTPS_PROXY", "http://proxy:3128"),
            ("no_proxy", "localhost"),
            ("TRIVY_USERNAME", "u"),
            ("TRIVY_PASSWORD", "p"),
            ("GITHUB_TOKEN", "t"),
            ("AWS_SECRET_ACCESS_KEY", "k"),
            ("SUPABASE_DB_URL", "postgres://x"),
            ("MY_TRIVY_THING", "x"),
            // Empty: the action's way of saying "no cache of its own".
            ("TRIVY_CACHE_DIR", ""),
        ]);
        let names: Vec<String> = trivy_env(&env).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            names,
            [
                "HOME",
                "HTTPS_PROXY",
                "PATH",
                "TRIVY_PASSWORD",
                "TRIVY_USERNAME",
                "no_proxy"
            ]
        );
    }

    #[test]
    fn skip_globs_are_checked_at_load() {
        let e = config_error("[scan]\nskip-dirs = [\"vendor\", \"[a-\"]\n");
        assert_eq!((e.line, e.column), (Some(2), Some(24)));
        assert!(
            e.message.contains("scan.skip-dirs: `[a-` is not a glob"),
            "{}",
            e.message
        );
        let e = config_error("[scan]\nskip-files = [\"\"]\n");
        assert!(e.message.contains("an empty pattern"), "{}", e.message);
        let e = config_error("[scan]\nskip-files = \"*.js\"\n");
        assert_eq!(e.line, Some(2));
        let e = config_error("[scan]\nskip_dirs = [\"x\"]\n");
        assert!(e.hint.unwrap().contains("skip-dirs"));
    }

    #[test]
    fn nothing_to_look_for_is_a_usage_error() {
        let (dir, p) = project(
            "[scan]\nvulnerabilities = false\nsecrets = false\nmisconfigurations = false\n",
        );
        let e = ScanSettings::resolve(
            &p.unwrap(),
            &Environment::default(),
            &ScanFlags::default(),
            dir.path(),
            dir.path(),
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }
}
