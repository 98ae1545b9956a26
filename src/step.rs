//! The steps of the pipeline and the one table that describes them: its
//! name, the command line that runs it alone, its configuration section, the
//! secrets it reads, whether it changes remote systems and the outputs it
//! writes. Dispatch, `gantry run`, output names, the environment's secret
//! names, `gantry init` and the action's command list all read this table.
//!
//! Adding a step: a variant here and its row in [`Step::spec`] (the compiler
//! asks for it), its `commands/<step>.rs` implementing
//! [`crate::driver::StepCommand`] and one line in
//! [`crate::commands::step_command`] (the compiler asks again), its
//! subcommand in `cli.rs` (and `Commands::step`, the compiler asks), and its
//! settings section. Tests fail until `action.yml` and `dist/run` list it.

use crate::environment as env;
use serde::{Deserialize, Serialize};

/// A step of the pipeline. Only steps that exist are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Lint and test commands (`[gates.*]`).
    Gate,
    /// Build container images (`[images.*]`).
    Build,
    /// Scan the built images (and `[scan]` paths) with Trivy.
    Scan,
    /// Push the built images to their registries.
    Push,
    /// Supabase migrations (`[migrate]`).
    Migrate,
    /// Roll out to Amazon ECS (`[deploy.*]` with `ecs`).
    DeployEcs,
    /// Deploy to Railway (`[deploy.*]` with `railway`).
    DeployRailway,
    /// Publish SDKs to PyPI and npm on a release tag (`[publish.*]`).
    Publish,
}

/// What the rest of gantry knows about a step, in one row.
#[derive(Debug)]
pub struct StepSpec {
    /// The step's name in the pipeline state, in `[pipeline] steps` and in
    /// output names (`<name>-verdict`).
    pub name: &'static str,
    /// The command line that runs the step alone (`deploy ecs`): the JSON
    /// document's `command` and the action's `command` input.
    pub command: &'static str,
    /// The `gantry.toml` section that configures it (`[images.*]`).
    pub section: &'static str,
    /// Whether the step changes remote systems, so that its plan is the
    /// point of a dry run. Gates, builds and scans are local work that runs
    /// for real in a dry run too.
    pub changes_remote: bool,
    /// Variables whose values are secrets wherever they appear (on top of
    /// [`env::KNOWN_SECRETS`] and names that look secret).
    pub secrets: &'static [&'static str],
    /// The outputs it writes besides `<name>-verdict`.
    pub outputs: &'static [Output],
}

/// An output a step writes: a fixed name, or a pattern where `<…>` stands
/// for an image, deploy or package name (`image-<name>-digest`).
#[derive(Debug)]
pub struct Output {
    pub name: &'static str,
    /// The action output that gathers every output of this pattern into
    /// one JSON object by its `<…>` part (`image-digests`).
    pub gathered_in: Option<&'static str>,
    /// Its value is a count: gathered as a number (and left out when not one).
    pub count: bool,
}

const fn out(name: &'static str) -> Output {
    Output {
        name,
        gathered_in: None,
        count: false,
    }
}

const fn gathered(name: &'static str, into: &'static str) -> Output {
    Output {
        name,
        gathered_in: Some(into),
        count: false,
    }
}

const fn counted(name: &'static str, into: &'static str) -> Output {
    Output {
        name,
        gathered_in: Some(into),
        count: true,
    }
}

impl Step {
    /// Every step, in pipeline order.
    pub const ALL: [Step; 8] = [
        Step::Gate,
        Step::Build,
        Step::Scan,
        Step::Push,
        Step::Migrate,
        Step::DeployEcs,
        Step::DeployRailway,
        Step::Publish,
    ];

    /// The step's row of the table.
    pub fn spec(self) -> &'static StepSpec {
        match self {
            Step::Gate => &GATE,
            Step::Build => &BUILD,
            Step::Scan => &SCAN,
            Step::Push => &PUSH,
            Step::Migrate => &MIGRATE,
            Step::DeployEcs => &DEPLOY_ECS,
            Step::DeployRailway => &DEPLOY_RAILWAY,
            Step::Publish => &PUBLISH,
        }
    }

    /// The step's name ([`StepSpec::name`]).
    pub fn as_str(self) -> &'static str {
        self.spec().name
    }

    /// The command line that runs the step alone ([`StepSpec::command`]).
    pub fn command(self) -> &'static str {
        self.spec().command
    }

    /// Whether the step changes remote systems ([`StepSpec::changes_remote`]).
    pub fn changes_remote(self) -> bool {
        self.spec().changes_remote
    }

    /// The output every run of the step writes, dry or not: `<step>-verdict`.
    pub fn verdict_output(self) -> String {
        format!("{}-verdict", self.as_str())
    }

    /// Whether the step declares an output of this name (its verdict, or
    /// one of [`StepSpec::outputs`]).
    pub fn declares(self, output: &str) -> bool {
        output == self.verdict_output()
            || self
                .spec()
                .outputs
                .iter()
                .any(|o| matches(o.name, output).is_some())
    }
}

// The table: one row per step.

const GATE: StepSpec = StepSpec {
    name: "gate",
    command: "gate",
    section: "[gates.*]",
    changes_remote: false,
    secrets: &[],
    outputs: &[
        out("gates-passed"),
        out("gates-failed"),
        out("gates-skipped"),
    ],
};

const BUILD: StepSpec = StepSpec {
    name: "build",
    command: "build",
    section: "[images.*]",
    changes_remote: false,
    secrets: &[],
    outputs: &[out("image-<name>-id"), out("image-<name>-tags")],
};

const SCAN: StepSpec = StepSpec {
    name: "scan",
    command: "scan",
    section: "[scan]",
    changes_remote: false,
    secrets: &[],
    outputs: &[
        counted("scan-<severity>", "scan-counts"),
        out("scan-ignored"),
        out("scan-expired-ignores"),
        out("scan-sarif"),
        out("trivy-version"),
        out("sbom-<image>"),
    ],
};

const PUSH: StepSpec = StepSpec {
    name: "push",
    command: "push",
    section: "[images.*]",
    changes_remote: true,
    secrets: &[
        env::DOCKERHUB_TOKEN,
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ],
    outputs: &[gathered("image-<name>-digest", "image-digests")],
};

const MIGRATE: StepSpec = StepSpec {
    name: "migrate",
    command: "migrate",
    section: "[migrate]",
    changes_remote: true,
    secrets: &[
        env::SUPABASE_DB_URL,
        env::SUPABASE_DB_PASSWORD,
        "SUPABASE_ACCESS_TOKEN",
        "DATABASE_URL",
    ],
    outputs: &[out("migrations-applied"), out("migrations-count")],
};

const DEPLOY_ECS: StepSpec = StepSpec {
    name: "deploy-ecs",
    command: "deploy ecs",
    section: "[deploy.*]",
    changes_remote: true,
    secrets: &["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"],
    outputs: &[
        gathered("deploy-<name>-task-definition", "task-definition-arns"),
        out("deploy-<name>-previous-task-definition"),
        gathered("deploy-<name>-deployment-id", "deployment-ids"),
        out("deploy-<name>-console-url"),
        out("deploy-<name>-service-deployment-arn"),
        out("deploy-<name>-lifecycle-stage"),
    ],
};

const DEPLOY_RAILWAY: StepSpec = StepSpec {
    name: "deploy-railway",
    command: "deploy railway",
    section: "[deploy.*]",
    changes_remote: true,
    secrets: &[env::RAILWAY_TOKEN, env::RAILWAY_API_TOKEN],
    outputs: &[
        gathered("deploy-<name>-deployment-id", "deployment-ids"),
        out("deploy-<name>-deployment-url"),
        out("deploy-<name>-url"),
    ],
};

const PUBLISH: StepSpec = StepSpec {
    name: "publish",
    command: "publish",
    section: "[publish.*]",
    changes_remote: true,
    secrets: &[
        env::PYPI_TOKEN,
        "TWINE_PASSWORD",
        env::NPM_TOKEN,
        "NODE_AUTH_TOKEN",
    ],
    outputs: &[
        out("publish-tag"),
        out("publish-<name>-version"),
        out("publish-<name>-status"),
    ],
};

/// The part of `output` that stands for `<…>` in `pattern`, or "" for a
/// fixed name; `None` when it does not match.
pub fn matches<'a>(pattern: &str, output: &'a str) -> Option<&'a str> {
    match (pattern.find('<'), pattern.find('>')) {
        (Some(open), Some(close)) => {
            let (prefix, suffix) = (&pattern[..open], &pattern[close + 1..]);
            let middle = output.strip_prefix(prefix)?.strip_suffix(suffix)?;
            (!middle.is_empty()).then_some(middle)
        }
        _ => (pattern == output).then_some(""),
    }
}

/// The declared output pattern `output` belongs to: of the patterns it
/// matches, the one with most fixed text (`deploy-api-previous-task-definition`
/// is a previous task definition, not the task definition of `api-previous`).
pub fn output_pattern(output: &str) -> Option<&'static Output> {
    Step::ALL
        .iter()
        .flat_map(|s| s.spec().outputs)
        .filter(|o| matches(o.name, output).is_some())
        .max_by_key(|o| fixed_len(o.name))
}

/// How many characters of a pattern are fixed text.
fn fixed_len(pattern: &str) -> usize {
    match (pattern.find('<'), pattern.find('>')) {
        (Some(open), Some(close)) => pattern.len() - (close + 1 - open),
        _ => pattern.len(),
    }
}

/// Whether a variable names a step's secret.
pub fn is_step_secret(name: &str) -> bool {
    Step::ALL.iter().any(|s| s.spec().secrets.contains(&name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn help_lists_the_steps_in_pipeline_order() {
        // `deploy` groups two steps: the top-level subcommands follow ALL,
        // with `deploy ecs` and `deploy railway` folded into one entry; then
        // the two commands that are not steps, `run` and `init`.
        let cli = crate::cli::Cli::command();
        let names: Vec<&str> = cli.get_subcommands().map(clap::Command::get_name).collect();
        let mut expected: Vec<&str> = Vec::new();
        for step in Step::ALL {
            let top = step.command().split(' ').next().unwrap_or_default();
            if expected.last() != Some(&top) {
                expected.push(top);
            }
        }
        expected.extend(["run", "init"]);
        assert_eq!(names, expected);
    }

    #[test]
    fn names_are_stable() {
        let names: Vec<&str> = Step::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "gate",
                "build",
                "scan",
                "push",
                "migrate",
                "deploy-ecs",
                "deploy-railway",
                "publish"
            ]
        );
        assert_eq!(Step::DeployEcs.verdict_output(), "deploy-ecs-verdict");
        // The serde and clap spelling is the registry's name.
        for step in Step::ALL {
            let json = serde_json::to_value(step).unwrap();
            assert_eq!(json, step.as_str());
            let value = clap::ValueEnum::to_possible_value(&step).unwrap();
            assert_eq!(value.get_name(), step.as_str());
        }
    }

    #[test]
    fn outputs_belong_to_the_most_specific_pattern() {
        assert_eq!(
            matches("image-<name>-digest", "image-web-app-digest"),
            Some("web-app")
        );
        assert_eq!(matches("image-<name>-digest", "image--digest"), None);
        assert_eq!(matches("scan-sarif", "scan-sarif"), Some(""));
        let pattern = |o| output_pattern(o).map(|p| p.name);
        assert_eq!(
            pattern("deploy-api-previous-task-definition"),
            Some("deploy-<name>-previous-task-definition")
        );
        assert_eq!(
            pattern("deploy-api-task-definition"),
            Some("deploy-<name>-task-definition")
        );
        assert_eq!(pattern("scan-sarif"), Some("scan-sarif"));
        assert_eq!(pattern("scan-high"), Some("scan-<severity>"));
        assert_eq!(pattern("nobody-writes-this"), None);
        assert!(Step::Push.declares("image-api-digest"));
        assert!(Step::Push.declares("push-verdict"));
        assert!(!Step::Push.declares("image-api-id"));
    }

    /// The words a `case` pattern or a description lists, as the registry
    /// and `run` spell them.
    fn commands() -> Vec<&'static str> {
        let mut all = vec!["run"];
        all.extend(Step::ALL.iter().map(|s| s.command()));
        all
    }

    fn repo_file(path: &str) -> String {
        let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
    }

    /// `a, b, c or d` as the action and `dist/run` write a list.
    fn listed(items: &[&str]) -> String {
        match items.split_last() {
            Some((last, [])) => (*last).to_string(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }

    #[test]
    fn the_action_lists_every_command_of_the_registry() {
        // action.yml's `command` input says which commands it takes; checked,
        // not generated: the sentence is written for people.
        let action = repo_file("action.yml");
        let yaml: serde_json::Value = serde_norway::from_str(&action).expect("action.yml is YAML");
        let description = yaml["inputs"]["command"]["description"]
            .as_str()
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let expected = format!("The gantry command: {}.", listed(&commands()));
        assert_eq!(description, expected, "action.yml's command input");
        // Every output that gathers a step's outputs is an output of the action.
        for step in Step::ALL {
            for into in step.spec().outputs.iter().filter_map(|o| o.gathered_in) {
                assert!(
                    yaml["outputs"][into]["value"].as_str().is_some(),
                    "action.yml has no output `{into}` (gathers {} outputs)",
                    step.as_str()
                );
            }
        }
    }

    #[test]
    fn dist_run_takes_exactly_the_registry_commands() {
        // dist/run's `case` maps the `command` input to gantry's words; it
        // must take every command and say so when it refuses one.
        let script = repo_file("dist/run");
        let case = script
            .split("case ${GANTRY_COMMAND:-} in")
            .nth(1)
            .and_then(|rest| rest.split("esac").next())
            .expect("dist/run has a case over GANTRY_COMMAND");
        let mut taken: Vec<String> = Vec::new();
        for line in case.lines().map(str::trim) {
            let Some((pattern, _)) = line.split_once(')') else {
                continue;
            };
            if pattern == "*" {
                continue;
            }
            taken.extend(
                pattern
                    .split('|')
                    .map(|p| p.trim().trim_matches('"').to_string()),
            );
        }
        let mut expected: Vec<String> = commands().iter().map(ToString::to_string).collect();
        taken.sort();
        expected.sort();
        assert_eq!(taken, expected, "dist/run's case over the command input");
        let refusal = format!("({})", listed(&commands()));
        assert!(
            case.contains(&refusal),
            "dist/run's unknown-command message lists {refusal}"
        );
    }
}
