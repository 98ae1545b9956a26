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

impl GateSettings {
    pub fn resolve(
        project: &Project,
        env: &Environment,
        names: &[String],
        jobs: Option<usize>,
    ) -> Result<Self> {
        let configured: Vec<&str> = project.config.gates.keys().map(|n| n.0.as_str()).collect();
        super::check_selected(project, names, &configured, "gate", "[gates.*]")?;
        let mut gates = Vec::new();
        let mut secret_values = Vec::new();
        for (name, cfg) in &project.config.gates {
            if !names.is_empty() && !names.contains(&name.0) {
                continue;
            }
            let mut gate_env: Vec<(String, String)> = cfg
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
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
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
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
