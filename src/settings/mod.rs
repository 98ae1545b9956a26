//! Settings: flags, environment and `gantry.toml` merged into typed values
//! before any command runs.

pub mod config;
pub mod deploy;
pub mod deploy_ecs;
pub mod deploy_railway;
pub mod gate;
pub mod images;
pub mod migrate;
pub mod placeholders;
pub mod publish;
pub mod scan;
mod toml_error;
pub mod values;

use crate::environment::{self as env, Environment};
use crate::error::{ConfigError, Error, Result};
use crate::output::{ColorChoice, Format, PrinterOptions, decide_color};
use crate::step::Step;
use config::Config;
use std::path::{Path, PathBuf};

/// The default configuration file name, searched upward from the current directory.
pub const CONFIG_FILE: &str = "gantry.toml";

/// A loaded `gantry.toml` and the directory it governs.
#[derive(Debug)]
pub struct Project {
    /// The directory holding `gantry.toml`; every relative path in it starts here.
    pub root: PathBuf,
    pub file: PathBuf,
    pub config: Config,
}

/// The global flags that shape output; `cli` fills it, so settings never
/// depend on the command line.
#[derive(Debug, Clone, Copy)]
pub struct PrinterFlags {
    pub format: Option<Format>,
    pub color: ColorChoice,
    pub quiet: bool,
    pub verbose: u8,
}

/// Printer settings from global flags and the environment.
pub fn printer_options(args: &PrinterFlags, env: &Environment) -> PrinterOptions {
    let format = args.format.unwrap_or(if env.in_github_actions() {
        Format::Github
    } else {
        Format::Human
    });
    let force = env
        .get(env::FORCE_COLOR)
        .is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"));
    let color = decide_color(
        args.color,
        env.get(env::NO_COLOR).is_some(),
        force,
        env.get(env::TERM) == Some("dumb"),
    );
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr()) && !env.in_github_actions();
    PrinterOptions {
        format,
        color: color && format != Format::Json,
        quiet: args.quiet,
        verbose: args.verbose,
        progress,
        output_file: env.get(env::GITHUB_OUTPUT).map(PathBuf::from),
        summary_file: env.get(env::GITHUB_STEP_SUMMARY).map(PathBuf::from),
        runner: env.in_github_actions(),
    }
}

/// Checks the names given on the command line against the configured ones:
/// an unknown one is a usage error that suggests the closest. `what` is the
/// kind of thing ("gate"), `section` its table (`[gates.*]`).
pub(crate) fn check_selected(
    project: &Project,
    names: &[String],
    configured: &[&str],
    what: &str,
    section: &str,
) -> Result<()> {
    let Some(name) = names.iter().find(|n| !configured.contains(&n.as_str())) else {
        return Ok(());
    };
    let file = project.file.display();
    let hint = match toml_error::closest(name, configured) {
        Some(best) => format!("did you mean `{best}`?"),
        None if configured.is_empty() => format!("{file} has no {section} section"),
        None => format!("{what}s in {file}: {}", configured.join(", ")),
    };
    Err(Error::usage(
        format!("no {what} named `{name}`"),
        Some(hint),
    ))
}

/// Finds `gantry.toml`: the `--config` path as given, else the first one in
/// the current directory or a parent.
pub fn find_config(cwd: &Path, explicit: Option<&Path>) -> Result<PathBuf> {
    find_config_if_any(cwd, explicit)?.ok_or_else(|| no_config(cwd))
}

/// There is no `gantry.toml` in `cwd` or a parent.
pub fn no_config(cwd: &Path) -> Error {
    Error::usage(
        format!(
            "no {CONFIG_FILE} in {} or any parent directory",
            cwd.display()
        ),
        Some(format!(
            "create {CONFIG_FILE} (see the README's Configuration section) or pass --config <path>"
        )),
    )
}

/// As [`find_config`], but `None` when there is no `gantry.toml` at all (a
/// `--config` that names nothing, or a directory in its place, is still an error).
pub fn find_config_if_any(cwd: &Path, explicit: Option<&Path>) -> Result<Option<PathBuf>> {
    if let Some(path) = explicit {
        let path = cwd.join(path);
        if path.is_file() {
            return Ok(Some(path));
        }
        if path.is_dir() {
            return Err(not_a_file(&path));
        }
        return Err(Error::usage(
            format!("--config {}: no such file", path.display()),
            Some("pass the path of an existing gantry.toml".into()),
        ));
    }
    for dir in cwd.ancestors() {
        let candidate = dir.join(CONFIG_FILE);
        if candidate.is_file() {
            return Ok(Some(candidate));
        }
        if candidate.is_dir() {
            return Err(not_a_file(&candidate));
        }
    }
    Ok(None)
}

/// The project of a command run without `gantry.toml` (`scan`, `migrate`,
/// `build`): rooted at `cwd`, nothing configured, so every default and
/// convention applies (the Supabase layout, `[scan]` defaults), and a
/// `./Dockerfile` is one image named, and pushed as, the directory's name
/// (in GitHub Actions the checkout folder is the repository's name). The
/// defaults go through the same parser and checks as a written file.
pub fn defaults(cwd: &Path) -> Result<Project> {
    let root = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
    let file = root.join(CONFIG_FILE);
    let text = if root.join("Dockerfile").is_file() {
        let name = default_image_name(&root);
        format!("[images.{name}]\ncontext = \".\"\nrepository = \"{name}\"\n")
    } else {
        String::new()
    };
    let config = parse(&file, &text)?;
    let project = Project { root, file, config };
    validate(&project, &text)?;
    Ok(project)
}

/// The directory's name as an image and repository name: lower case,
/// anything but letters and digits a `-`; `app` when nothing is left.
pub fn default_image_name(root: &Path) -> String {
    let raw = root
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let name: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let name = name.trim_matches('-').to_string();
    if name.is_empty() { "app".into() } else { name }
}

fn not_a_file(path: &Path) -> Error {
    Error::usage(
        format!(
            "{} is a directory, not a configuration file",
            path.display()
        ),
        Some(format!(
            "move it away and write {CONFIG_FILE} there, or pass --config <path>"
        )),
    )
}

/// Reads and validates a configuration file.
pub fn load(path: &Path) -> Result<Project> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::from(ConfigError {
            path: path.to_path_buf(),
            line: None,
            column: None,
            message: format!("cannot read: {e}"),
            snippet: None,
            hint: None,
        })
    })?;
    let config = parse(path, &text)?;
    let root = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let root = root.canonicalize().unwrap_or(root);
    let project = Project {
        root,
        file: path.to_path_buf(),
        config,
    };
    validate(&project, &text)?;
    Ok(project)
}

/// Parses configuration text; errors carry the file, line and column.
pub fn parse(path: &Path, text: &str) -> Result<Config> {
    toml::from_str(text).map_err(|e| toml_error::convert(path, text, &e).into())
}

/// Checks that need the file system or several keys at once: each step's
/// section, in pipeline order (a new step says here what it checks, or that
/// its section is another's; the compiler asks).
fn validate(project: &Project, text: &str) -> Result<()> {
    // First: a placeholder can stand where another check would misreport it.
    if let Some(e) = placeholders::check(&project.file, text) {
        return Err(e.into());
    }
    for step in Step::ALL {
        match step {
            Step::Gate => validate_gates(project, text)?,
            Step::Build => validate_images(project, text)?,
            Step::Scan => {
                if let Some(scan) = &project.config.scan {
                    scan::validate(project, scan, text)?;
                }
            }
            // Push reads `[images.*]`, checked for build.
            Step::Push => {}
            Step::Migrate => validate_migrate(project, text)?,
            Step::DeployEcs => {
                deploy_ecs::validate(project, text)?;
                validate_deploy(project, text)?;
            }
            // `[deploy.*]` is checked for both platforms at once, above.
            Step::DeployRailway => {}
            Step::Publish => validate_publish(project, text)?,
        }
    }
    Ok(())
}

/// Each `[gates.<name>]`'s `dir` is a directory.
fn validate_gates(project: &Project, text: &str) -> Result<()> {
    for (name, gate) in &project.config.gates {
        if let Some(dir) = &gate.dir {
            let full = project.root.join(dir.get_ref());
            if !full.is_dir() {
                return Err(toml_error::at_span(
                    &project.file,
                    text,
                    dir.span(),
                    format!("gates.{name}.dir: `{}` is not a directory", dir.get_ref()),
                    Some(format!("paths are relative to {}", project.root.display())),
                )
                .into());
            }
        }
    }
    Ok(())
}

/// Each `[images.<name>]`: its context and Dockerfile exist, its repository
/// and tag rules are valid.
fn validate_images(project: &Project, text: &str) -> Result<()> {
    for (name, image) in &project.config.images {
        let at = |span, message: String, hint: &str| -> Error {
            toml_error::at_span(&project.file, text, span, message, Some(hint.to_string())).into()
        };
        let context = project.root.join(image.context.get_ref());
        if !context.is_dir() {
            return Err(at(
                image.context.span(),
                format!(
                    "images.{name}.context: `{}` is not a directory",
                    image.context.get_ref()
                ),
                "the build context is a directory, relative to gantry.toml",
            ));
        }
        let dockerfile = match &image.dockerfile {
            Some(d) => (project.root.join(d.get_ref()), d.span()),
            None => (context.join("Dockerfile"), image.context.span()),
        };
        if !dockerfile.0.is_file() {
            return Err(at(
                dockerfile.1,
                format!("images.{name}: no Dockerfile at {}", dockerfile.0.display()),
                "set `dockerfile` (relative to gantry.toml) or add <context>/Dockerfile",
            ));
        }
        let repo = image.repository.get_ref();
        if !crate::registry::valid_repository(repo) {
            return Err(at(
                image.repository.span(),
                format!("images.{name}.repository: `{repo}` is not a valid repository name"),
                "use lower-case letters, digits and `.`, `_`, `-`, separated by `/`, e.g. `codewarden/api`",
            ));
        }
        for rule in image.tags.iter().flatten() {
            if let Err(e) = rule.get_ref().parse::<crate::docker::metadata::TagRule>() {
                return Err(at(
                    rule.span(),
                    format!("images.{name}.tags: {e}"),
                    "see the README's tag rules",
                ));
            }
        }
        images::check_tags_never_move(project, text, &name.0, image)?;
    }
    Ok(())
}

/// `[migrate]`: its directory and certificate exist.
fn validate_migrate(project: &Project, text: &str) -> Result<()> {
    if let Some(migrate) = &project.config.migrate {
        let dir = migrate.dir.as_ref();
        let path = dir.map_or(migrate::DEFAULT_DIR, |d| d.get_ref().as_str());
        if !project.root.join(path).is_dir() {
            let message = format!("migrate.dir: `{path}` is not a directory");
            let hint = Some(format!(
                "it is the Supabase directory holding migrations/ (paths are relative to {})",
                project.root.display()
            ));
            return Err(match dir {
                Some(d) => toml_error::at_span(&project.file, text, d.span(), message, hint).into(),
                None => Error::from(ConfigError {
                    path: project.file.clone(),
                    line: None,
                    column: None,
                    message,
                    snippet: None,
                    hint,
                }),
            });
        }
        if let Some(cert) = &migrate.ssl_root_cert
            && !project.root.join(cert.get_ref()).is_file()
        {
            return Err(toml_error::at_span(
                &project.file,
                text,
                cert.span(),
                format!("migrate.ssl-root-cert: `{}` is not a file", cert.get_ref()),
                Some(format!("paths are relative to {}", project.root.display())),
            )
            .into());
        }
    }
    Ok(())
}

/// Each `[publish.<name>]` names one registry and an existing directory.
fn validate_publish(project: &Project, text: &str) -> Result<()> {
    for (name, package) in &project.config.publish {
        let path = match (&package.pypi, &package.npm) {
            (Some(p), None) => &p.get_ref().path,
            (None, Some(n)) => &n.get_ref().path,
            (Some(_), Some(n)) => {
                return Err(toml_error::at_span(
                    &project.file,
                    text,
                    n.span(),
                    format!("publish.{name}: both `pypi` and `npm` are set"),
                    Some("one package goes to one registry: add another [publish.<name>] for the other".into()),
                )
                .into());
            }
            (None, None) => {
                return Err(Error::from(ConfigError {
                    path: project.file.clone(),
                    line: None,
                    column: None,
                    message: format!("publish.{name}: set `pypi` or `npm`"),
                    snippet: None,
                    hint: Some(
                        "e.g. pypi = { path = \"sdk/python\" } or npm = { path = \"sdk/js\" }"
                            .into(),
                    ),
                }));
            }
        };
        if !project.root.join(path.get_ref()).is_dir() {
            return Err(toml_error::at_span(
                &project.file,
                text,
                path.span(),
                format!(
                    "publish.{name}: path `{}` is not a directory",
                    path.get_ref()
                ),
                Some(format!("paths are relative to {}", project.root.display())),
            )
            .into());
        }
    }
    Ok(())
}

/// `[deploy.*]` Railway keys: exactly one of `image` and `mode`, and the
/// image is one of `[images.*]`.
fn validate_deploy(project: &Project, text: &str) -> Result<()> {
    for (name, deploy) in &project.config.deploy {
        let at = |message: String, hint: &str| -> Error {
            let header = format!("[deploy.{name}]");
            match text.find(&header) {
                Some(start) => toml_error::at_span(
                    &project.file,
                    text,
                    start..start + header.len(),
                    message,
                    Some(hint.to_string()),
                )
                .into(),
                None => Error::from(crate::error::ConfigError {
                    path: project.file.clone(),
                    line: None,
                    column: None,
                    message,
                    snippet: None,
                    hint: Some(hint.to_string()),
                }),
            }
        };
        // One platform per section, and only that platform's keys.
        match (&deploy.ecs, &deploy.railway) {
            (Some(_), Some(_)) => {
                return Err(at(
                    format!("deploy.{name} names two platforms, `ecs` and `railway`"),
                    "use one [deploy.<name>] section per platform",
                ));
            }
            (None, None) => {
                return Err(at(
                    format!("deploy.{name} names no platform"),
                    "add `ecs = { cluster, service, task-definition }` or `railway = { project, environment, service }`",
                ));
            }
            (Some(_), None) if deploy.image.is_some() || deploy.timeout.is_some() => {
                return Err(at(
                    format!("deploy.{name}: `image` and `timeout` are Railway keys"),
                    "for ECS, map containers to images with `containers = { <container> = \"<image>\" }` and set the timeout under `ecs`",
                ));
            }
            (None, Some(_)) if !deploy.containers.is_empty() => {
                return Err(at(
                    format!("deploy.{name}: `containers` is an ECS key"),
                    "for Railway, name the image with `image = \"<image>\"`",
                ));
            }
            _ => {}
        }
        if let Some(pull) = &deploy.pull_credentials {
            if deploy.railway.is_none() || deploy.image.is_none() {
                return Err(at(
                    format!(
                        "deploy.{name}.pull-credentials: only a Railway deployment of an `image` pulls with credentials"
                    ),
                    "remove `pull-credentials`, or deploy an image to Railway (`railway = { .. }` and `image`)",
                ));
            }
            let (Some(_), Some(password)) = (&pull.username_env, &pull.password_env) else {
                return Err(at(
                    format!(
                        "deploy.{name}.pull-credentials needs both `username-env` and `password-env`"
                    ),
                    "write `pull-credentials = { username-env = \"GHCR_USER\", password-env = \"GHCR_PULL_TOKEN\" }`",
                ));
            };
            if password == env::GITHUB_TOKEN {
                return Err(at(
                    format!(
                        "deploy.{name}.pull-credentials: the job's GITHUB_TOKEN expires when the job ends, and Railway pulls again on every restart"
                    ),
                    "use a token that lasts, with `read:packages` only (a fine-grained or classic personal access token, or a GitHub App's), in a secret such as GHCR_PULL_TOKEN",
                ));
            }
        }
        if deploy.railway.is_none() {
            if deploy.mode.is_some() {
                return Err(at(
                    format!("deploy.{name}.mode: `mode` is a Railway key"),
                    "add `railway = { project, environment, service }`, or remove `mode`",
                ));
            }
            continue;
        }
        match (&deploy.image, deploy.mode) {
            (Some(_), Some(_)) => {
                return Err(at(
                    format!("deploy.{name}: `image` and `mode` exclude each other"),
                    "keep `image` to deploy the pushed image, or `mode` to redeploy or deploy the latest commit",
                ));
            }
            (None, None) => {
                return Err(at(
                    format!("deploy.{name}: a Railway deployment needs `image` or `mode`"),
                    "set `image = \"<name of an [images.*] entry>\"`, or `mode = \"redeploy\"` or `\"latest-commit\"`",
                ));
            }
            (Some(image), None) => {
                let names: Vec<&str> = project.config.images.keys().map(|n| n.0.as_str()).collect();
                if !names.contains(&image.as_str()) {
                    let hint = match toml_error::closest(image, &names) {
                        Some(best) => format!("did you mean `{best}`?"),
                        None => "`image` names an [images.<name>] section of this file".into(),
                    };
                    return Err(at(
                        format!("deploy.{name}.image: there is no [images.{image}]"),
                        &hint,
                    ));
                }
            }
            (None, Some(_)) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> ConfigError {
        match parse(Path::new("gantry.toml"), text) {
            Err(Error::Config(c)) => *c,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn unknown_key_names_position_and_closest_key() {
        let e = err("[gates.api]\nrun = \"pytest\"\nrequird = false\n");
        assert_eq!((e.line, e.column), (Some(3), Some(1)));
        assert_eq!(e.message, "unknown key `requird` in [gates.api]");
        assert!(
            e.hint
                .as_deref()
                .unwrap()
                .starts_with("did you mean `required`?"),
            "{e:?}"
        );
        assert_eq!(e.snippet.as_deref(), Some("requird = false"));
    }

    #[test]
    fn unknown_section_suggests_the_right_one() {
        let e = err("[gate.api]\nrun = \"x\"\n");
        assert_eq!(e.line, Some(1));
        assert!(e.hint.unwrap().contains("did you mean `gates`?"));
    }

    #[test]
    fn bad_values_are_located_and_explained() {
        let e = err("[gates.api]\nrun = \"x\"\ntimeout = \"ten minutes\"\n");
        assert_eq!(e.line, Some(3));
        assert!(
            e.message.contains("invalid duration `ten minutes`"),
            "{}",
            e.message
        );

        let e = err("[gates.api]\nrun = \"x\"\nmatcher = \"pytset\"\n");
        assert_eq!((e.line, e.column), (Some(3), Some(11)));
        assert!(e.hint.unwrap().starts_with("did you mean `pytest`?"));

        let e = err("[gates.api]\nrun = \"x\"\npaths = [\"api/[\"]\n");
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("invalid glob `api/[`"), "{}", e.message);

        let e = err("[gates.api]\nrun = 3\n");
        assert_eq!(e.line, Some(2));
        assert!(
            e.message
                .contains("a shell command string or a non-empty list"),
            "{}",
            e.message
        );
    }

    #[test]
    fn missing_run_is_reported_on_the_gate() {
        let e = err("[gates.api]\ndir = \"api\"\n");
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("missing key `run`"), "{}", e.message);
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let e = err("[gates.api]\nrun = \"unterminated\n");
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn unknown_pipeline_step_lists_the_steps_that_exist() {
        let e = err("[pipeline]\nsteps = [\"gate\", \"gaet\"]\n");
        assert_eq!(e.line, Some(2));
        assert!(e.hint.unwrap().contains("did you mean `gate`?"));
    }

    #[test]
    fn a_valid_file_parses_in_order() {
        let c = parse(
            Path::new("gantry.toml"),
            "[gates.b]\nrun = [\"true\"]\ntimeout = 90\n[gates.a]\nrun = \"true\"\njunit = \"r.xml\"\nrequired = false\n",
        )
        .unwrap();
        let names: Vec<_> = c.gates.keys().map(|n| n.0.as_str()).collect();
        assert_eq!(names, ["b", "a"]);
        assert_eq!(c.gates[0].timeout, Some(std::time::Duration::from_secs(90)));
        assert_eq!(c.gates[1].junit, ["r.xml"]);
        assert!(!c.gates[1].required);
    }

    #[test]
    fn config_is_found_in_a_parent_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), "").unwrap();
        let sub = dir.path().join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        assert_eq!(
            find_config(&sub, None).unwrap(),
            dir.path().join(CONFIG_FILE)
        );
        let e = find_config(&sub, Some(Path::new("nope.toml"))).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }
}
