//! Settings of `gantry gate`: the gates to consider, resolved from
//! `[gates.*]`, the command line and the environment.

use super::Project;
use super::config::{PathGlob, RunCommand};
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::gate::matcher::Matcher;
use globset::GlobSet;
use std::path::PathBuf;
use std::time::Duration;

/// A gate with no `timeout` is killed after this long: a hung test must not
/// hold a runner for GitHub's six hours.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

#[derive(Debug)]
pub struct GateSettings {
    /// Gates in file order (only the ones named on the command line, if any).
    pub gates: Vec<Gate>,
    /// How many gates run at once.
    pub jobs: usize,
    /// Values of the secrets the gates receive, to register for redaction.
    pub secret_values: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Gate {
    pub name: String,
    pub command: RunCommand,
    /// Absolute working directory.
    pub dir: PathBuf,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    /// `None` when the gate always runs.
    pub paths: Option<GlobSet>,
    pub path_patterns: Vec<String>,
    pub junit: Vec<String>,
    pub matcher: Option<Matcher>,
    pub required: bool,
    pub fail_on_no_tests: bool,
}

/// A gate given on the command line (`gantry gate -- CMD`), not in gantry.toml.
#[derive(Debug, Clone, Default)]
pub struct OneOff {
    pub argv: Vec<String>,
    pub junit: Vec<String>,
    pub timeout: Option<Duration>,
}

impl OneOff {
    /// The gate it becomes: named after its program, run in the project's
    /// directory, required, with the default timeout and no `paths`, `env`,
    /// secrets or matcher. JUnit reports are read only when named.
    fn gate(&self, project: &Project) -> Gate {
        let program = self.argv.first().map_or("command", String::as_str);
        let name = std::path::Path::new(program)
            .file_name()
            .map_or_else(|| program.to_string(), |n| n.to_string_lossy().into_owned());
        Gate {
            name,
            command: RunCommand::Argv(self.argv.clone()),
            dir: project.root.clone(),
            env: Vec::new(),
            timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT),
            paths: None,
            path_patterns: Vec::new(),
            junit: self.junit.clone(),
            matcher: None,
            required: true,
            fail_on_no_tests: false,
        }
    }
}

impl GateSettings {
    /// The gates of gantry.toml named in `names` (all when none is named),
    /// and the `one_off` gate after them; with a one-off gate and no names,
    /// only the one-off runs.
    pub fn resolve(
        project: &Project,
        env: &Environment,
        names: &[String],
        jobs: Option<usize>,
        one_off: Option<&OneOff>,
    ) -> Result<Self> {
        let configured: Vec<&str> = project.config.gates.keys().map(|n| n.0.as_str()).collect();
        super::check_selected(project, names, &configured, "gate", "[gates.*]")?;
        let mut gates = Vec::new();
        let mut secret_values = Vec::new();
        for (name, cfg) in &project.config.gates {
            if (!names.is_empty() || one_off.is_some()) && !names.contains(&name.0) {
                continue;
            }
            let mut gate_env: Vec<(String, String)> = Vec::new();
            for (key, value) in &cfg.env {
                let expanded = expand(value, env, &mut secret_values).map_err(|e| {
                    let (message, hint) = match e {
                        ExpandError::Unset(var) => (
                            format!("gate `{name}`: env {key} uses ${var}, which is not set"),
                            format!(
                                "set {var}, write ${{{var}:-}} for an empty value when it is unset, or $$ for a literal $"
                            ),
                        ),
                        ExpandError::Unclosed => (
                            format!("gate `{name}`: env {key} has a `${{` without its `}}`"),
                            "write ${NAME} or ${NAME:-default}, or $$ for a literal $".to_string(),
                        ),
                    };
                    Error::usage(message, Some(hint))
                })?;
                gate_env.push((key.clone(), expanded));
            }
            for secret in &cfg.secrets {
                let var = secret.get_ref();
                match env.get(var) {
                    Some(value) => {
                        secret_values.push(value.to_string());
                        gate_env.push((var.clone(), value.to_string()));
                    }
                    None => {
                        return Err(Error::usage(
                            format!("gate `{name}` needs the secret {var}, which is not set"),
                            Some(format!(
                                "set {var} in the environment (in GitHub Actions: `env: {var}: ${{{{ secrets.{var} }}}}` on the step)"
                            )),
                        ));
                    }
                }
            }
            gates.push(Gate {
                name: name.0.clone(),
                command: cfg.run.clone(),
                dir: match &cfg.dir {
                    Some(d) => project.root.join(d.get_ref()),
                    None => project.root.clone(),
                },
                env: gate_env,
                timeout: cfg.timeout.unwrap_or(DEFAULT_TIMEOUT),
                paths: glob_set(&cfg.paths),
                path_patterns: cfg.paths.iter().map(|p| p.text.clone()).collect(),
                junit: cfg.junit.clone(),
                matcher: cfg.matcher,
                required: cfg.required,
                fail_on_no_tests: cfg.fail_on_no_tests,
            });
        }
        if let Some(one_off) = one_off {
            gates.push(one_off.gate(project));
        }
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let jobs = match jobs {
            Some(0) => return Err(Error::usage("--jobs must be at least 1", None)),
            Some(n) => n,
            None => cores,
        };
        Ok(GateSettings {
            gates,
            jobs,
            secret_values,
        })
    }
}

#[derive(Debug, PartialEq)]
enum ExpandError {
    Unset(String),
    Unclosed,
}

/// Expands `$NAME`, `${NAME}` and `${NAME:-default}` in a gate's `env` value
/// from gantry's environment, as a shell would in `PATH = "venv/bin:$PATH"`
/// (the gate's command is not run through the shell that would do it, and an
/// unexpanded `$PATH` breaks every program lookup). `$$` is a literal `$`; a
/// `$` not followed by a name stays as it is. An unset variable without a
/// default is an error rather than "": a typo would otherwise surface as a
/// gate that cannot find its programs. Values of secret-named variables are
/// added to `secrets` so they are redacted like declared secrets.
fn expand(
    value: &str,
    env: &Environment,
    secrets: &mut Vec<String>,
) -> std::result::Result<String, ExpandError> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, default, consumed) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced.find('}').ok_or(ExpandError::Unclosed)?;
            let inner = &braced[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            (name, default, end + 2)
        } else if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        } else {
            let len = after
                .char_indices()
                .find(|&(i, c)| {
                    !(c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()))
                })
                .map_or(after.len(), |(i, _)| i);
            (&after[..len], None, len)
        };
        if name.is_empty() {
            // `$` then a non-name: literal, as in a shell (`cost: 5$`).
            out.push('$');
            rest = after;
            continue;
        }
        let found = match default {
            Some(d) => env.get(name).unwrap_or(d),
            None => env
                .get_raw(name)
                .ok_or_else(|| ExpandError::Unset(name.to_string()))?,
        };
        if crate::environment::looks_secret(name) && !found.is_empty() {
            secrets.push(found.to_string());
        }
        out.push_str(found);
        rest = &after[consumed..];
    }
    out.push_str(rest);
    Ok(out)
}

fn glob_set(globs: &[PathGlob]) -> Option<GlobSet> {
    if globs.is_empty() {
        return None;
    }
    let mut b = globset::GlobSetBuilder::new();
    for g in globs {
        b.add(g.glob.clone());
    }
    // Every glob was validated when the file was read.
    b.build().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(value: &str) -> std::result::Result<(String, Vec<String>), ExpandError> {
        let env = Environment::from_pairs([
            ("PATH", "/usr/bin:/bin"),
            ("EMPTY", ""),
            ("API_TOKEN", "tok-123"),
            ("A1", "x"),
        ]);
        let mut secrets = Vec::new();
        let out = expand(value, &env, &mut secrets)?;
        Ok((out, secrets))
    }

    #[test]
    fn variables_expand_like_a_shell() {
        assert_eq!(run("venv/bin:$PATH").unwrap().0, "venv/bin:/usr/bin:/bin");
        assert_eq!(run("${PATH}/x").unwrap().0, "/usr/bin:/bin/x");
        assert_eq!(run("$A1-y").unwrap().0, "x-y");
        assert_eq!(run("a$EMPTY.b").unwrap().0, "a.b");
        assert_eq!(run("${NOPE:-dflt}").unwrap().0, "dflt");
        assert_eq!(run("${EMPTY:-dflt}").unwrap().0, "dflt");
        assert_eq!(run("${PATH:-dflt}").unwrap().0, "/usr/bin:/bin");
        assert_eq!(run("${NOPE:-}").unwrap().0, "");
    }

    #[test]
    fn dollars_that_name_nothing_stay_literal() {
        assert_eq!(run("5$ and $$PATH").unwrap().0, "5$ and $PATH");
        assert_eq!(run("end$").unwrap().0, "end$");
        assert_eq!(run("$1").unwrap().0, "$1");
        assert_eq!(run("plain").unwrap().0, "plain");
        assert_eq!(run("é$PATHé").unwrap().0, "é/usr/bin:/biné");
    }

    #[test]
    fn an_unset_variable_or_an_open_brace_is_an_error() {
        assert_eq!(run("$PAHT"), Err(ExpandError::Unset("PAHT".into())));
        assert_eq!(run("${PATH"), Err(ExpandError::Unclosed));
    }

    #[test]
    fn secret_named_values_are_redacted() {
        let (out, secrets) = run("Bearer $API_TOKEN").unwrap();
        assert_eq!(out, "Bearer tok-123");
        assert_eq!(secrets, vec!["tok-123".to_string()]);
        assert!(run("$PATH").unwrap().1.is_empty());
    }
}
