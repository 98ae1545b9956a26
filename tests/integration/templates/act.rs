//! The templates under act. Each runs the workflow exactly as `gantry init`
//! writes it for its example (gantry's action pinned by commit, checkout,
//! configure-aws-credentials, the artifact actions); act maps gantry's action
//! to this checkout of it and the others to the stand-ins of
//! `tests/support/act-actions/`. Every run records its wall time and the
//! stand-ins' call log on stderr (`--nocapture` shows them).

use crate::support::act::{ActOptions, ActRepo, ActRun, VERSION, gantry_bin, sha256_file};
use crate::support::ecs::{EcsStandIn, Scenario};
use crate::support::github_api::GithubApi;
use crate::support::postgres::Db;
use crate::support::services::{Moto, Registry, docker_available};
use std::path::{Path, PathBuf};
use std::time::Duration;

const USER: (&str, &str) = ("ci-bot", "Regi5try-Pa55word");

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn borrowed(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// `gantry init <args>` in the act repository, which must succeed.
#[track_caller]
fn init(repo: &ActRepo, args: &[&str]) {
    let out = std::process::Command::new(gantry_bin())
        .arg("init")
        .args(args)
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Replaces each `from` (which must be there) by `to` in a workflow init
/// wrote. Only the install lines are edited, because PyPI and npm are out
/// of reach under act: `pip install` becomes [`PYTHON_PACKAGES`] (this
/// machine's packages made visible to the venv the step created, so the
/// venv, `$GITHUB_PATH` and the gates' `python` run as written) followed
/// by a check, and `npm ci` a check of what this machine has.
#[track_caller]
fn edit_workflow(repo: &ActRepo, workflow: &str, edits: &[(&str, &str)]) {
    let path = repo.path().join(".github/workflows").join(workflow);
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{from:?} not in\n{text}");
        let to = to.replace(PYTHON_PACKAGES, &python_packages());
        text = text.replace(from, &to);
    }
    std::fs::write(&path, text).unwrap();
}

/// Stands for the line that gives the template's venv this machine's
/// Python packages (pytest, build, hatchling) in an install edit.
const PYTHON_PACKAGES: &str = "<this machine's Python packages>";

/// A `.pth` file in the venv's site-packages naming the folder where this
/// machine's pytest lives: what `pip install` would have put there.
fn python_packages() -> String {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import os, pytest; print(os.path.dirname(os.path.dirname(pytest.__file__)))",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "python3 has no pytest here");
    let site = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // And the step's `python` is the venv's, as the template promises.
    format!(
        "echo '{site}' >\"$(python -c 'import sysconfig; print(sysconfig.get_path(\"purelib\"))')/this-machine.pth\"\n          \
         test \"$(command -v python)\" = \"$RUNNER_TEMP/venv/bin/python\""
    )
}

/// The `uses:` of gantry's action in a workflow init wrote (without its
/// comment): act maps it to this checkout.
fn gantry_action(repo: &ActRepo, workflow: &str) -> String {
    let text =
        std::fs::read_to_string(repo.path().join(".github/workflows").join(workflow)).unwrap();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("uses: "))
        .filter_map(|u| u.split_whitespace().next())
        .find(|u| u.starts_with(gantry::init::action::REPOSITORY))
        .unwrap_or_else(|| panic!("no gantry action in {workflow}\n{text}"))
        .to_string()
}

/// How a template is run, beyond what every run has: gantry on PATH,
/// gantry's action and the stand-ins mapped, the AWS variables and
/// `GITHUB_TOKEN`.
#[derive(Default)]
struct How {
    /// `push` when `None`.
    event: Option<&'static str>,
    payload: Option<serde_json::Value>,
    /// act's own environment (the steps inherit it).
    env: Vec<(String, String)>,
    /// `--env`: set in every step over act's values.
    act_env: Vec<(String, String)>,
    secrets: Vec<(String, String)>,
    /// The repository's variables; `None` for the roles and region every
    /// push template reads (a fork's pull request gets none: `Some(vec![])`).
    vars: Option<Vec<(String, String)>>,
    /// Under the strict runner profile (`tests/support/runner.rs`): no
    /// gantry on PATH (the action installs its release from the local
    /// stand-in of github.com), the runner image's tools only, the
    /// composite-action variables as GitHub leaves them. Templates that scan
    /// cannot run this way yet: no Trivy is on a runner, and gantry does not
    /// install one yet (issue #21).
    strict: bool,
}

fn act(repo: &ActRepo, workflow: &str, how: How) -> ActRun {
    let on_path = gantry_bin().parent().unwrap().to_path_buf();
    let action = gantry_action(repo, workflow);
    let owner_repo = action.split('@').next().unwrap().to_string();
    // Alive until act has run: the stand-in of github.com's release downloads.
    let releases = how.strict.then(crate::support::act::ReleaseServer::start);
    let mut act_env = how.act_env;
    let profile = releases.as_ref().map(|releases| {
        repo.released_as(&owner_repo, releases, &gantry_bin());
        act_env.push(("GITHUB_SERVER_URL".into(), releases.url.clone()));
        crate::support::runner::StrictProfile::new(&[owner_repo.as_str()])
    });
    let mut maps: Vec<(&str, PathBuf)> = vec![(action.as_str(), repo.path())];
    maps.extend(crate::support::act::stand_ins());
    let mut secrets = owned(&[("GITHUB_TOKEN", "ghs_act_token")]);
    secrets.extend(how.secrets);
    let vars = how.vars.unwrap_or_else(|| {
        owned(&[
            (
                "AWS_DEPLOY_ROLE_ARN",
                "arn:aws:iam::123456789012:role/gantry-deploy",
            ),
            (
                "AWS_PUSH_ROLE_ARN",
                "arn:aws:iam::123456789012:role/gantry-push",
            ),
            ("AWS_REGION", "us-east-1"),
        ])
    });
    repo.run_with(
        workflow,
        &ActOptions {
            event: Some(how.event.unwrap_or("push")),
            payload: how.payload,
            env: &borrowed(&how.env),
            path_first: (!how.strict).then_some(on_path.as_path()),
            strict: profile.as_ref(),
            vars: &borrowed(&vars),
            secrets: &borrowed(&secrets),
            act_env: &borrowed(&act_env),
            local_repositories: &maps,
            ..ActOptions::default()
        },
    )
}

/// The digest pushed to `repository` under the `sha-<short>` tag of `head`.
fn pushed(registry: &Registry, head: &str, repository: &str) -> Option<String> {
    registry.manifest_digest(repository, &format!("sha-{}", &head[..7]), Some(USER))
}

/// The summary's row of one ECS deploy (`| <deploy> | `prod/<service>` | …`).
#[track_caller]
fn deploy_row(run: &ActRun, deploy: &str, service: &str) -> String {
    let summary = run.summary();
    let start = format!("| {deploy} | `prod/{service}` | ");
    summary
        .lines()
        .find(|l| l.starts_with(&start))
        .unwrap_or_else(|| panic!("no row {start:?} in the step summary\n{summary}"))
        .to_string()
}

/// `gantry run`'s pipeline table in the summary, every `steps` passed.
#[track_caller]
fn pipeline_passed(run: &ActRun, steps: &[&str]) {
    run.summary_shows("## gantry run: passed\n\n| Step | Verdict | Changes |");
    for step in steps {
        run.summary_shows(&format!("| {step} | passed |"));
    }
}

/// Neither the summary nor the job log holds any of `secrets`.
#[track_caller]
fn nothing_leaked(run: &ActRun, secrets: &[&str]) {
    let summary = run.summary();
    for secret in secrets {
        assert!(
            !summary.contains(secret),
            "{secret} in the summary\n{summary}"
        );
        assert!(!run.output.contains(secret), "{secret} in the job log");
    }
}

// ---- ECS templates -------------------------------------------------------

/// One image of an ECS example: name, context, Dockerfile.
type Image = (&'static str, &'static str, &'static str);
/// One deploy: name, task definition, container → image (or none), the
/// stand-in's service, and the (family, revision) that service runs before.
type Deploy = (
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
    &'static str,
    (&'static str, i64),
);

/// An ECS template's example and the gantry.toml that aims it at the local
/// registry and the ECS stand-in.
struct EcsExample {
    name: &'static str,
    /// The gantry.toml's gates (and `[pipeline]`).
    gates: &'static str,
    images: &'static [Image],
    deploys: &'static [Deploy],
    /// Install lines of the workflow and what replaces them.
    installs: &'static [(&'static str, &'static str)],
    /// Tools the gates need.
    tools: &'static [&'static str],
    /// Push to ECR as the template says (moto's ECR API creates the
    /// repository with immutable tags; the image goes to a local registry
    /// through `GANTRY_ECR_PUSH_REGISTRY`), else to a local registry with a
    /// password.
    ecr: bool,
}

const PYTEST_GATE: &str =
    "[gates.api-tests]\ndir = \"api\"\nrun = \"python -m pytest -q\"\nmatcher = \"pytest\"\n";

const ECS_EC2: EcsExample = EcsExample {
    name: "ecs-ec2",
    gates: PYTEST_GATE,
    images: &[("api", "api", "api/Dockerfile")],
    deploys: &[(
        "api",
        "deploy/task-definition.json",
        Some(("api", "api")),
        "api",
        ("shop-api", 12),
    )],
    installs: &[(
        "python -m pip install -e ./api ruff pytest",
        "<this machine's Python packages>\n          python -m pytest --version",
    )],
    tools: &[],
    ecr: true,
};

/// `ecs-ec2` with its api gate limited to the api's paths.
const ECS_EC2_PATHS: EcsExample = EcsExample {
    gates: "[gates.api-tests]\ndir = \"api\"\nrun = \"python -m pytest -q\"\nmatcher = \"pytest\"\npaths = [\"api/**\"]\n",
    ..ECS_EC2
};

/// The built `frontend` → service `api`, `backend` → service `worker`.
const ECS_SERVICES: EcsExample = EcsExample {
    name: "ecs-services",
    gates: "[pipeline]\nsteps = [\"gate\", \"build\", \"scan\", \"push\", \"deploy-ecs\"]\n\n\
            [gates.shop-tests]\nrun = \"npm test\"\n",
    images: &[
        ("frontend", ".", "frontend.Dockerfile"),
        ("backend", ".", "backend.Dockerfile"),
    ],
    deploys: &[
        (
            "frontend",
            "deploy/frontend.json",
            Some(("frontend", "frontend")),
            "api",
            ("shop-frontend", 6),
        ),
        (
            "backend",
            "deploy/backend.json",
            Some(("backend", "backend")),
            "worker",
            ("shop-backend", 6),
        ),
    ],
    installs: &[],
    tools: &[],
    ecr: false,
};

/// The built `api` → service `api`, the upstream Qdrant → service `worker`.
const FARGATE: EcsExample = EcsExample {
    name: "fargate",
    gates: "[gates.fmt]\nrun = \"cargo fmt --check\"\n\n\
            [gates.tests]\nrun = \"cargo test --offline\"\nmatcher = \"cargo\"\n",
    images: &[("api", ".", "Dockerfile")],
    deploys: &[
        (
            "api",
            "deploy/api.json",
            Some(("api", "api")),
            "api",
            ("search-api", 4),
        ),
        (
            "qdrant",
            "deploy/qdrant.json",
            None,
            "worker",
            ("search-qdrant", 11),
        ),
    ],
    installs: &[],
    tools: &["cargo"],
    ecr: false,
};

/// `backend` → service `api`, `ai-ml` → service `worker`.
const ECS_FARGATE_SECRETS: EcsExample = EcsExample {
    name: "ecs-fargate-secrets",
    gates: "[gates.backend-tests]\ndir = \"backend\"\nrun = \"python -m pytest -q\"\n",
    images: &[
        ("backend", "backend", "backend/Dockerfile"),
        ("ai-ml", "ai-ml", "ai-ml/Dockerfile"),
    ],
    deploys: &[
        (
            "backend",
            "deploy/backend.json",
            Some(("backend", "backend")),
            "api",
            ("assist-backend", 21),
        ),
        (
            "ai-ml",
            "deploy/ai-ml.json",
            Some(("ai-ml", "ai-ml")),
            "worker",
            ("assist-ai-ml", 3),
        ),
    ],
    installs: &[(
        "python -m pip install -e ./ai-ml pytest\n          python -m pip install -e ./backend pytest",
        "<this machine's Python packages>\n          python -m pytest --version",
    )],
    tools: &[],
    ecr: false,
};

/// An ECS example in an act repository, with the local registry and the ECS
/// stand-in (each service on its own task definition) it deploys to.
struct EcsAct {
    example: &'static EcsExample,
    repo: ActRepo,
    registry: Registry,
    ecs: EcsStandIn,
    /// ECR's API, for the examples that push to ECR.
    moto: Option<Moto>,
    /// Trivy's vulnerability database, served as the public one is (its
    /// media types, tag `:2`), and the `db-repository` naming it.
    trivy_db: (Registry, String),
}

fn arn(family: &str, revision: i64) -> String {
    format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:{revision}")
}

impl EcsAct {
    /// `None` (skipped) without act, Docker or one of the example's tools.
    fn start(example: &'static EcsExample, scenario: Scenario) -> Option<EcsAct> {
        let repo = ActRepo::new()?;
        if !docker_available() {
            return None;
        }
        for tool in example.tools {
            crate::support::require_tool(tool)?;
        }
        // ECR hands out its own token, which a local registry with a
        // password would refuse: the ECR examples push to one without.
        let (registry, moto) = if example.ecr {
            (Registry::start(None)?, Some(Moto::start()?))
        } else {
            (Registry::start(Some(USER))?, None)
        };
        let mut running: Vec<(&str, &str, i64)> = example
            .deploys
            .iter()
            .map(|(_, _, _, service, (family, revision))| (*service, *family, *revision))
            .collect();
        // The stand-in's other service (if the example leaves it alone).
        for service in crate::support::ecs::SERVICES {
            if !running.iter().any(|(s, _, _)| s == service) {
                running.push((service, "unrelated", 1));
            }
        }
        let ecs = EcsStandIn::start_running(scenario, Duration::from_millis(100), &running);
        let db = crate::support::trivy_db::database()?;
        let db_registry = Registry::start(None)?;
        let db_repository = crate::support::trivy_db::push(&db_registry.host, db);
        let t = EcsAct {
            example,
            repo,
            registry,
            ecs,
            moto,
            trivy_db: (db_registry, db_repository),
        };
        t.write_example();
        Some(t)
    }

    /// The example as init writes it, and its gantry.toml.
    fn write_example(&self) {
        let (ex, repo, registry) = (self.example, &self.repo, &self.registry.host);
        repo.example_at_root(ex.name);
        init(repo, &[]);
        edit_workflow(repo, &format!("{}.yml", ex.name), ex.installs);
        // The template's scan as init writes it (vulnerabilities on), with
        // the database from the tests' registry instead of the public ones;
        // Trivy's cache is the action's (a fresh job folder, and the
        // repository's Actions cache), as on GitHub.
        let mut toml = format!(
            "{}\n[scan]\nfail-at = \"high\"\nignore-unfixed = true\ndb-repository = [\"{}\"]\n",
            ex.gates, self.trivy_db.1,
        );
        for (image, context, dockerfile) in ex.images.iter().filter(|_| ex.ecr) {
            toml.push_str(&format!(
                "\n[images.{image}]\ncontext = \"{context}\"\ndockerfile = \"{dockerfile}\"\n\
                 repository = \"{}/{image}\"\nregistry = \"ecr\"\ncreate-repository = true\n\
                 tag-mutability = \"immutable\"\ntags = [\"sha\"]\n",
                ex.name
            ));
        }
        for (image, context, dockerfile) in ex.images.iter().filter(|_| !ex.ecr) {
            toml.push_str(&format!(
                "\n[images.{image}]\ncontext = \"{context}\"\ndockerfile = \"{dockerfile}\"\n\
                 repository = \"{}/{image}\"\nregistry = \"{registry}\"\ntags = [\"sha\"]\n",
                ex.name
            ));
        }
        for (name, td, container, service, _) in ex.deploys {
            toml.push_str(&format!("\n[deploy.{name}]\n"));
            if let Some((c, i)) = container {
                toml.push_str(&format!("containers = {{ {c} = \"{i}\" }}\n"));
            }
            toml.push_str(&format!(
                "\n[deploy.{name}.ecs]\ncluster = \"prod\"\nservice = \"{service}\"\ntask-definition = \"{td}\"\n"
            ));
        }
        if !ex.ecr {
            toml.push_str(&format!(
                "\n[registries.\"{registry}\"]\nusername-env = \"REG_USER\"\npassword-env = \"REG_PASSWORD\"\n"
            ));
        }
        repo.write("gantry.toml", &toml)
            .checksums(VERSION, &sha256_file(&gantry_bin()));
    }

    /// The stand-ins' endpoints and the registry's credentials; AWS keys
    /// come from the configure-aws-credentials stand-in.
    fn env(&self) -> Vec<(String, String)> {
        let mut env = self.ecs.env();
        env.retain(|(k, _)| k.starts_with("AWS_ENDPOINT_URL") || k == "AWS_EC2_METADATA_DISABLED");
        env.extend(owned(&[
            ("REG_USER", USER.0),
            ("REG_PASSWORD", USER.1),
            ("GANTRY_ECS_POLL_INTERVAL", "40ms"),
        ]));
        if let Some(moto) = &self.moto {
            env.extend(owned(&[
                ("AWS_ENDPOINT_URL_ECR", moto.endpoint.as_str()),
                ("GANTRY_ECR_PUSH_REGISTRY", self.registry.host.as_str()),
            ]));
        }
        env
    }

    fn run(&self, workflow: &str, how: How) -> ActRun {
        let mut how = how;
        let mut env = self.env();
        env.append(&mut how.env);
        how.env = env;
        act(&self.repo, workflow, how)
    }

    /// The example's own workflow on a push to main.
    fn push(&self) -> ActRun {
        self.run(&format!("{}.yml", self.example.name), How::default())
    }

    /// `Operation family-or-service` of every call that changed ECS, sorted
    /// (services deploy in parallel; registers sort before updates).
    fn changes(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .ecs
            .mutating()
            .iter()
            .map(|c| {
                let what = c.body["family"].as_str().or(c.body["service"].as_str());
                format!("{} {}", c.operation, what.unwrap_or(""))
            })
            .collect();
        out.sort();
        out
    }

    /// The `db/metadata.json` of Trivy's database as the action saved it in
    /// the repository's Actions cache (the one entry of the day), if any.
    fn cached_db_metadata(&self) -> Option<String> {
        let keys = self.repo.actions_cache_keys();
        let day: Vec<&String> = keys
            .iter()
            .filter(|k| k.starts_with("gantry-trivy-db-Linux-"))
            .collect();
        assert!(day.len() <= 1, "one database entry a day: {keys:?}");
        let entry = std::fs::read_dir(self.repo.actions_cache())
            .unwrap()
            .flatten()
            .find(|e| {
                std::fs::read_to_string(e.path().join("key")).ok().as_ref() == day.first().copied()
            })?;
        let out = std::process::Command::new("tar")
            .args(["-xOPf"])
            .arg(entry.path().join("archive.tar"))
            .args(["--wildcards", "*/db/metadata.json"])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Logs the run's wall time and ECS call log for the report.
    fn record(&self, what: &str, run: &ActRun) {
        eprintln!(
            "{what} under act: {:?}; ECS changes: {:?}",
            run.elapsed,
            self.changes()
        );
    }

    /// A successful deploy: every image pushed under the commit's tag, one
    /// register and one update per service, each service on the revision
    /// after its own, that revision in the deploy table, and no password in
    /// the log or the summary.
    #[track_caller]
    fn shipped(&self, run: &ActRun) {
        // The scan looked for vulnerabilities: Trivy took the database from
        // the tests' registry, and the action kept it in the Actions cache.
        let metadata = self.cached_db_metadata().unwrap_or_else(|| {
            panic!(
                "no vulnerability database in the Actions cache\n{}",
                run.output
            )
        });
        assert!(
            !metadata.contains("\"DownloadedAt\":\"0001-01-01T00:00:00Z\""),
            "{metadata}"
        );
        let head = self.repo.head();
        for (image, _, _) in self.example.images {
            pushed(
                &self.registry,
                &head,
                &format!("{}/{image}", self.example.name),
            )
            .unwrap_or_else(|| panic!("{image} was not pushed\n{}", run.output));
        }
        let mut expected: Vec<String> = Vec::new();
        for (_, _, _, service, (family, _)) in self.example.deploys {
            expected.push(format!("RegisterTaskDefinition {family}"));
            expected.push(format!("UpdateService {service}"));
        }
        expected.sort();
        assert_eq!(self.changes(), expected, "{}", run.output);
        run.summary_shows("### gantry deploy ecs: passed");
        for (name, _, _, service, (family, revision)) in self.example.deploys {
            let now = arn(family, revision + 1);
            assert_eq!(self.ecs.running(service), now, "{}", run.output);
            let row = deploy_row(run, name, service);
            assert!(
                row.contains(&format!("| `{family}:{}` | passed", revision + 1)),
                "{row}"
            );
        }
        nothing_leaked(run, &[USER.1]);
        if let Some(moto) = &self.moto {
            for (image, _, _) in self.example.images {
                let name = format!("{}/{image}", self.example.name);
                assert_eq!(
                    ecr_tag_mutability(moto, &name).as_deref(),
                    Some("IMMUTABLE"),
                    "the ECR repository {name} was created with immutable tags\n{}",
                    run.output
                );
            }
        }
    }

    /// A failed deploy: `reason` in an error annotation, the job failed, and
    /// every service rolled back to its own revision, said in its row.
    #[track_caller]
    fn rolled_back(&self, run: &ActRun, reason: &str) {
        run.error_annotation(reason)
            .shows("Job failed")
            .summary_shows("## gantry run: failed")
            .summary_shows("| deploy-ecs | failed |")
            .summary_shows("### gantry deploy ecs: failed");
        for (name, _, _, service, (family, revision)) in self.example.deploys {
            assert_eq!(
                self.ecs.running(service),
                arn(family, *revision),
                "{service} was not rolled back\n{}",
                run.output
            );
            let back = format!("rolled back to {family}:{revision}");
            run.shows(&back);
            let row = deploy_row(run, name, service);
            assert!(row.contains(&back), "{row}");
        }
        nothing_leaked(run, &[USER.1]);
    }
}

/// The analysis the template's upload step gave code scanning (its
/// stand-in) under `category`: gantry's SARIF of the scan.
#[track_caller]
fn code_scanning(artifacts: &Path, category: &str, run: &ActRun) -> serde_json::Value {
    let file = artifacts
        .join("code-scanning")
        .join(format!("{category}.sarif"));
    let text = std::fs::read_to_string(&file).unwrap_or_else(|_| {
        panic!(
            "nothing uploaded to code scanning as {category}\n{}",
            run.output
        )
    });
    let sarif: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(
        sarif["runs"][0]["tool"]["driver"]["name"], "Trivy",
        "{text}"
    );
    sarif
}

#[test]
fn ecs_ec2_builds_scans_pushes_and_deploys_one_service() {
    let Some(t) = EcsAct::start(&ECS_EC2, Scenario::Success) else {
        return;
    };
    let run = t.push().code(0);
    t.record("ecs-ec2", &run);
    t.shipped(&run);
    run.summary_shows("### gantry gate: passed")
        .summary_shows("| api-tests | ✅");
    pipeline_passed(&run, &["build", "scan", "push", "deploy-ecs"]);
    code_scanning(&t.repo.artifacts(), "gantry-scan", &run);
}

/// The second push to main, on the same ECR repository (immutable tags),
/// registry, cluster and Actions cache: the service moves on to the next
/// revision, the new commit's image is pushed under its own tag, and the
/// vulnerability database comes from the Actions cache, where the first
/// push's action saved it, with its registry stopped. (That init's own tag rules
/// survive a second push to an immutable repository, the day-one failure,
/// is `push::init_s_immutable_ecr_repository_takes_a_second_push_to_main`:
/// this harness still writes the images' section itself.)
#[test]
fn ecs_ec2_a_second_push_to_main_ships_again_on_the_same_state() {
    let Some(mut t) = EcsAct::start(&ECS_EC2, Scenario::Success) else {
        return;
    };
    let first = t.push().code(0);
    t.shipped(&first);
    let first_head = t.repo.head();
    let downloaded = t.cached_db_metadata().unwrap();
    // The second job is a fresh runner: only the Actions cache can hold
    // the database. With its registry gone, a download would fail the scan.
    t.trivy_db.0.stop();

    t.repo.write("api/app/VERSION", "2\n");
    let second = t.push().code(0);
    t.record("ecs-ec2 second push", &second);
    let head = t.repo.head();
    assert_ne!(head, first_head);
    let (one, two) = (
        pushed(&t.registry, &first_head, "ecs-ec2/api"),
        pushed(&t.registry, &head, "ecs-ec2/api"),
    );
    assert!(
        one.is_some() && two.is_some() && one != two,
        "{}",
        second.output
    );
    assert_eq!(
        t.ecs.running("api"),
        arn("shop-api", 14),
        "{}",
        second.output
    );
    assert!(
        deploy_row(&second, "api", "api").contains("| `shop-api:14` | passed"),
        "{}",
        second.summary()
    );
    assert!(
        second
            .output
            .contains("Cache restored from key: gantry-trivy-db-Linux-"),
        "{}",
        second.output
    );
    assert_eq!(
        t.cached_db_metadata().unwrap(),
        downloaded,
        "the second run saved another database"
    );
    nothing_leaked(&second, &[USER.1]);
}

/// A push whose gate fails, then a push that touches only other paths: the
/// gate runs again and still fails, so the broken change never ships. The
/// gates compare with the workflow's last passed run on main, which they
/// ask of GitHub's API (here its stand-in, holding the runs as GitHub
/// would); compared with the push's `before` (in the payload, as GitHub
/// sends it), the second push skipped the api gate and deployed the
/// failing change.
#[test]
fn ecs_ec2_a_failed_gate_is_gated_again_when_the_next_push_touches_other_paths() {
    let Some(t) = EcsAct::start(&ECS_EC2_PATHS, Scenario::Success) else {
        return;
    };
    t.repo.origin("acme/shop");
    let github = GithubApi::start("acme/shop", "ghs_act_token");
    // Each push's payload names the commit before it, as GitHub's does.
    let how = |before: &str| How {
        payload: Some(serde_json::json!({"ref": "refs/heads/main", "before": before})),
        act_env: owned(&[
            ("GITHUB_API_URL", github.url.as_str()),
            // GitHub sets it; act does not.
            (
                "GITHUB_WORKFLOW_REF",
                "acme/shop/.github/workflows/ecs-ec2.yml@refs/heads/main",
            ),
        ]),
        ..How::default()
    };
    let passed = t
        .run(
            "ecs-ec2.yml",
            how("0000000000000000000000000000000000000000"),
        )
        .code(0);
    t.shipped(&passed);
    github.run("ecs-ec2.yml", "main", "success", &t.repo.head());

    // The api's test breaks: its gate fails and nothing deploys.
    let test = t.repo.path().join("api/tests/test_health.py");
    let text = std::fs::read_to_string(&test).unwrap();
    t.repo.write(
        "api/tests/test_health.py",
        &text.replace(
            "assert seen[\"status\"] == \"200 OK\"",
            "assert seen[\"status\"] == \"500\"",
        ),
    );
    let first = t.repo.head();
    let broken = t.run("ecs-ec2.yml", how(&first)).code(1);
    broken.summary_shows("| api-tests | ❌");
    github.run("ecs-ec2.yml", "main", "failure", &t.repo.head());

    // The next push touches only the README: the api gate runs again.
    t.repo.write("README.md", "# ecs-ec2\n\nA note.\n");
    let failed = t.repo.head();
    let next = t.run("ecs-ec2.yml", how(&failed)).code(1);
    next.summary_shows("| api-tests | ❌");
    assert!(
        !next.summary().contains("api-tests | skipped"),
        "{}",
        next.summary()
    );
    // One register and one update: the first push's, nothing since.
    assert_eq!(
        t.changes(),
        ["RegisterTaskDefinition shop-api", "UpdateService api"],
        "{}",
        next.output
    );
    assert_eq!(
        github
            .calls()
            .iter()
            .filter(|c| c.ends_with("/actions/workflows/ecs-ec2.yml/runs"))
            .count(),
        3,
        "{:?}",
        github.calls()
    );
}

#[test]
fn ecs_ec2_fails_the_job_and_rolls_back_when_a_task_stops() {
    let Some(t) = EcsAct::start(&ECS_EC2, Scenario::CannotPull) else {
        return;
    };
    let run = t.push().code(1);
    t.record("ecs-ec2 (task stops)", &run);
    t.rolled_back(&run, "CannotPullContainerError");
    // The job failed after the scan: its findings still reach code scanning.
    code_scanning(&t.repo.artifacts(), "gantry-scan", &run);
}

#[test]
fn ecs_services_builds_pushes_and_rolls_both_services_with_one_verdict() {
    let Some(t) = EcsAct::start(&ECS_SERVICES, Scenario::Success) else {
        return;
    };
    let run = t.push().code(0);
    t.record("ecs-services", &run);
    run.shows("assumed arn:aws:iam::123456789012:role/gantry-deploy in us-east-1 (stand-in)");
    t.shipped(&run);
    // The gate job's table, then the deploy job's pipeline table and one
    // line per service in the deploy step's own table.
    run.summary_shows("### gantry gate: passed")
        .summary_shows("| shop-tests | ✅");
    pipeline_passed(&run, &["build", "scan", "push", "deploy-ecs"]);
    run.summary_shows("| frontend | `prod/api` | `shop-frontend:7` | passed")
        .summary_shows("| backend | `prod/worker` | `shop-backend:7` | passed");
}

/// The large-repository shape: a runner per image, the states handed to one
/// deploy job as artifacts, one verdict for both services.
#[test]
fn ecs_services_matrix_pushes_per_runner_and_deploys_once_from_every_state() {
    let Some(t) = EcsAct::start(&ECS_SERVICES, Scenario::Success) else {
        return;
    };
    if crate::support::require_tool("jq").is_none() {
        return;
    }
    // The stand-ins' gantry.toml stays; init writes the matrix workflow.
    let toml = std::fs::read_to_string(t.repo.path().join("gantry.toml")).unwrap();
    init(&t.repo, &["ecs-services-matrix", "--force"]);
    t.repo.write("gantry.toml", &toml);
    let wf = std::fs::read_to_string(
        t.repo
            .path()
            .join(".github/workflows/ecs-services-matrix.yml"),
    )
    .unwrap();
    assert!(
        wf.contains("image: [backend, frontend]") || wf.contains("image: [frontend, backend]"),
        "{wf}"
    );
    let artifacts = tempfile::tempdir().unwrap();
    let how = How {
        env: owned(&[("GANTRY_ACT_ARTIFACTS", artifacts.path().to_str().unwrap())]),
        ..How::default()
    };
    let run = t.run("ecs-services-matrix.yml", how).code(0);
    t.record("ecs-services-matrix", &run);
    run.shows("uploaded artifact state-frontend")
        .shows("downloaded artifact state-backend")
        .shows("assumed arn:aws:iam::123456789012:role/gantry-push in us-east-1 (stand-in)");
    t.shipped(&run);
    // No `gantry run` here: each image job's own tables, then the deploy's.
    run.summary_shows("### gantry gate: passed")
        .summary_shows("### gantry build: passed")
        .summary_shows("### gantry push: passed")
        .summary_shows("| frontend | `prod/api` | `shop-frontend:7` | passed")
        .summary_shows("| backend | `prod/worker` | `shop-backend:7` | passed");
    for image in ["frontend", "backend"] {
        run.summary_shows(&format!(
            "| {image} | `{}/ecs-services/{image}` |",
            t.registry.host
        ));
        // One analysis per image: a shared category would keep only the last.
        code_scanning(artifacts.path(), &format!("gantry-scan-{image}"), &run);
    }
}

#[test]
fn fargate_deploys_the_built_api_and_the_upstream_qdrant_without_a_build() {
    let Some(t) = EcsAct::start(&FARGATE, Scenario::Success) else {
        return;
    };
    let run = t.push().code(0);
    t.record("fargate", &run);
    t.shipped(&run);
    let qdrant = t.ecs.task_definition(&t.ecs.running("worker")).unwrap();
    assert_eq!(
        qdrant["containerDefinitions"][0]["image"],
        "qdrant/qdrant:v1.12.4"
    );
    run.summary_shows("### gantry gate: passed")
        .summary_shows("| fmt | ✅")
        .summary_shows("| tests | ✅");
    pipeline_passed(&run, &["build", "scan", "push", "deploy-ecs"]);
}

/// A Fargate task that stops: the job fails with ECS's reason in an
/// annotation and both services (the built API and Qdrant, deployed in one
/// step) are rolled back, each to the revision it ran before.
#[test]
fn fargate_fails_the_job_and_rolls_back_both_services_when_a_task_stops() {
    let Some(t) = EcsAct::start(&FARGATE, Scenario::CannotPull) else {
        return;
    };
    let run = t.push().code(1);
    t.record("fargate (task stops)", &run);
    t.rolled_back(&run, "CannotPullContainerError");
}

#[test]
fn ecs_fargate_secrets_keeps_value_from_and_names_the_secrets() {
    let Some(t) = EcsAct::start(&ECS_FARGATE_SECRETS, Scenario::Success) else {
        return;
    };
    let run = t.push().code(0);
    t.record("ecs-fargate-secrets", &run);
    t.shipped(&run);
    let ai = t.ecs.task_definition(&t.ecs.running("worker")).unwrap();
    let secrets = &ai["containerDefinitions"][0]["secrets"];
    assert_eq!(secrets[0]["name"], "OPENAI_API_KEY");
    assert_eq!(
        secrets[0]["valueFrom"],
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:assist/openai-api-key-GhIjKl"
    );
    assert_eq!(secrets[1]["name"], "HF_TOKEN");
    run.shows("OPENAI_API_KEY");
    run.summary_shows("### gantry gate: passed")
        .summary_shows("| backend-tests | ✅");
    pipeline_passed(&run, &["build", "scan", "push", "deploy-ecs"]);
}

/// A container that exits (a secret it needs is missing): the job fails
/// with the exit in an annotation, each service is rolled back to its own
/// revision, and what was registered still takes its secrets by reference.
#[test]
fn ecs_fargate_secrets_fails_the_job_and_rolls_back_when_a_container_exits() {
    let Some(t) = EcsAct::start(&ECS_FARGATE_SECRETS, Scenario::Crash) else {
        return;
    };
    let run = t.push().code(1);
    t.record("ecs-fargate-secrets (container exits)", &run);
    t.rolled_back(&run, "Essential container in task exited");
    let registered: Vec<_> = t
        .ecs
        .mutating()
        .into_iter()
        .filter(|c| c.operation == "RegisterTaskDefinition")
        .collect();
    assert_eq!(registered.len(), 2, "{registered:?}");
    for td in registered {
        let secrets = &td.body["containerDefinitions"][0]["secrets"];
        assert!(
            secrets[0]["valueFrom"]
                .as_str()
                .is_some_and(|v| v.starts_with("arn:aws:secretsmanager:")),
            "{td:?}"
        );
    }
}

/// A pull request's event payload: from `head` (`owner/name`) into
/// `gantry-test/shop`, as GitHub sends it.
fn pull_request(head: &str) -> serde_json::Value {
    let repo = |full: &str| {
        let (owner, name) = full.split_once('/').unwrap();
        serde_json::json!({"full_name": full, "name": name, "owner": {"login": owner},
                           "fork": full != "gantry-test/shop"})
    };
    serde_json::json!({
        "number": 7,
        "repository": repo("gantry-test/shop"),
        "pull_request": {
            "number": 7,
            "base": {"ref": "main", "repo": repo("gantry-test/shop")},
            "head": {"ref": "feature", "repo": repo(head)},
        },
    })
}

/// The IAM actions the template's comment gives the read-only plan role.
const PLAN_ROLE_ACTIONS: &[&str] = &[
    "DescribeServices",
    "DescribeTaskDefinition",
    "ListTaskDefinitions",
];

/// A pull request from the repository itself, with the read-only plan role
/// configured: the stand-in of configure-aws-credentials assumes it, the
/// plan reads ECS with it (only the reads the template documents), and the
/// plan comment is written once, then updated.
#[test]
fn pull_request_comments_the_plan_once_then_updates_it() {
    let Some(t) = EcsAct::start(&ECS_SERVICES, Scenario::Success) else {
        return;
    };
    let api = GithubApi::start("gantry-test/shop", "ghs_act_token");
    let how = || How {
        event: Some("pull_request"),
        payload: Some(pull_request("gantry-test/shop")),
        vars: Some(owned(&[
            (
                "AWS_PLAN_ROLE_ARN",
                "arn:aws:iam::123456789012:role/gantry-plan",
            ),
            ("AWS_REGION", "us-east-1"),
        ])),
        act_env: owned(&[
            ("GITHUB_API_URL", api.url.as_str()),
            ("GITHUB_REPOSITORY", "gantry-test/shop"),
        ]),
        ..How::default()
    };
    let first = t.run("pull-request.yml", how()).code(0);
    first
        .shows("assumed arn:aws:iam::123456789012:role/gantry-plan in us-east-1 (stand-in)")
        .shows("created on pull request #7");
    assert!(!first.output.contains("not checked"), "{}", first.output);
    t.repo.write(
        "frontend/server.js",
        "export function handle(path) {\n  return { service: \"frontend\", path, v: 2 };\n}\n",
    );
    let second = t.run("pull-request.yml", how()).code(0);
    second.shows("updated on pull request #7");
    // A pull request from the repository sends its scan to code scanning.
    code_scanning(&t.repo.artifacts(), "gantry-scan", &second);

    let comments = api.comments(7);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(comments[0].body.starts_with("<!-- gantry:plan -->"));
    assert!(
        comments[0].body.contains(&t.repo.head()),
        "{}",
        comments[0].body
    );
    // A dry run: nothing registered, no service touched, nothing pushed;
    // and only the reads the plan role is documented to allow.
    assert!(t.ecs.mutating().is_empty(), "{:?}", t.ecs.mutating());
    let ops = t.ecs.operations();
    assert!(!ops.is_empty());
    for op in &ops {
        assert!(PLAN_ROLE_ACTIONS.contains(&op.as_str()), "{op} in {ops:?}");
    }
    eprintln!(
        "pull-request under act: {:?} then {:?}; GitHub API calls: {:?}; ECS reads: {ops:?}",
        first.elapsed,
        second.elapsed,
        api.calls()
    );
}

/// A pull request from a fork, as GitHub runs it: no secrets, no variables
/// (so no role and no region), a read-only token (the comment is refused).
/// The plan passes, its remote checks "not checked" with the reason.
#[test]
fn pull_request_from_a_fork_passes_with_the_remote_checks_not_checked() {
    // ECR and ECS: every remote check needs the role a fork cannot have.
    let Some(t) = EcsAct::start(&ECS_EC2, Scenario::Success) else {
        return;
    };
    edit_workflow(&t.repo, "pull-request.yml", ECS_EC2.installs);
    let api = GithubApi::start("gantry-test/shop", "a-token-that-may-write");
    let how = How {
        event: Some("pull_request"),
        payload: Some(pull_request("eve/shop")),
        vars: Some(Vec::new()),
        act_env: owned(&[
            ("GITHUB_API_URL", api.url.as_str()),
            ("GITHUB_REPOSITORY", "gantry-test/shop"),
        ]),
        ..How::default()
    };
    let run = t.run("pull-request.yml", how).code(0);
    t.record("pull-request (fork)", &run);
    assert!(!run.output.contains("assumed"), "{}", run.output);
    run.summary_shows("| push | not checked |")
        .summary_shows("| deploy-ecs | not checked |")
        .summary_shows(
            "not checked: api: ECS was not reached (pull request from a fork: no secrets)",
        )
        .summary_shows(
            "not checked: api: the registry was not reached (pull request from a fork: no secrets)",
        );
    assert!(api.comments(7).is_empty());
    assert!(t.ecs.mutating().is_empty(), "{:?}", t.ecs.mutating());
    // A fork's token cannot write code scanning: the upload is skipped.
    assert!(
        !t.repo.artifacts().join("code-scanning").exists(),
        "{}",
        run.output
    );
}

/// A pull request from the repository without the plan role: the checks
/// are "not checked" with the template's reason. And a check that says no
/// (a registry that refuses the credentials it was given) still fails the
/// plan: a CI dry run never hides a refusal.
#[test]
fn pull_request_without_a_plan_role_says_so_and_a_refusal_still_fails_it() {
    let Some(t) = EcsAct::start(&ECS_SERVICES, Scenario::Success) else {
        return;
    };
    let api = GithubApi::start("gantry-test/shop", "ghs_act_token");
    let how = |password: &str| How {
        event: Some("pull_request"),
        payload: Some(pull_request("gantry-test/shop")),
        vars: Some(Vec::new()),
        act_env: owned(&[
            ("GITHUB_API_URL", api.url.as_str()),
            ("GITHUB_REPOSITORY", "gantry-test/shop"),
            ("REG_USER", USER.0),
            ("REG_PASSWORD", password),
        ]),
        ..How::default()
    };
    let run = t.run("pull-request.yml", how(USER.1)).code(0);
    run.summary_shows("not checked: frontend: ECS was not reached (no read-only role for pull requests (the repository variable AWS_PLAN_ROLE_ARN is not set))");
    let refused = t.run("pull-request.yml", how("a-wrong-password")).code(1);
    refused.shows("refused the credentials").shows("Job failed");
    t.record("pull-request (no role, then a refusal)", &refused);
}

// ---- railway-supabase ------------------------------------------------------

const PROJECT_TOKEN: &str = "rw-proj-5f0c2b9e-7d41-4a77-b0a3-secret";
const API_TOKEN: &str = "rw-acct-91e2d3c4-0f6a-4b1c-9d8e-secret";

/// The railway-supabase example as init writes it in an act repository, a
/// fresh database with Supabase's schema, the local registry, and Railway's
/// stand-in playing `services`.
struct RailwayAct {
    repo: ActRepo,
    db: Db,
    registry: Registry,
    railway: crate::support::railway::Railway,
}

impl RailwayAct {
    /// `None` (skipped) without act, PostgreSQL or Docker.
    fn start(db: &str, services: Vec<crate::support::railway::Service>) -> Option<RailwayAct> {
        let repo = ActRepo::new()?;
        let pg = crate::support::postgres::postgres()?;
        if !docker_available() {
            return None;
        }
        let registry = Registry::start(Some(USER))?;
        let db = pg.database(db);
        db.supabase_bootstrap();
        let railway = crate::support::railway::Railway::start(PROJECT_TOKEN, API_TOKEN, services);
        repo.example_at_root("railway-supabase");
        init(&repo, &[]);
        edit_workflow(
            &repo,
            "railway-supabase.yml",
            &[
                (
                    "python -m pip install -e ./api pytest",
                    "<this machine's Python packages>\n          python -m pytest --version",
                ),
                ("npm ci --prefix web", "node --version"),
            ],
        );
        let host = &registry.host;
        repo.write(
            "gantry.toml",
            &format!(
                "[gates.api-tests]\ndir = \"api\"\nrun = \"python -m pytest -q\"\nmatcher = \"pytest\"\n\n\
                 [gates.web-lint]\ndir = \"web\"\nrun = \"npm run lint\"\n\n\
                 [migrate]\ndir = \"supabase\"\ndb-url-env = \"SUPABASE_DB_URL\"\n\n\
                 [images.api]\ncontext = \"api\"\nrepository = \"notes/api\"\nregistry = \"{host}\"\ntags = [\"sha\"]\n\n\
                 [registries.\"{host}\"]\nusername-env = \"REG_USER\"\npassword-env = \"REG_PASSWORD\"\n\n\
                 [deploy.api]\nrailway = {{ service = \"api\" }}\nimage = \"api\"\n\n\
                 [deploy.worker]\nrailway = {{ service = \"worker\" }}\nimage = \"api\"\n"
            ),
        )
        .checksums(VERSION, &sha256_file(&gantry_bin()));
        Some(RailwayAct {
            repo,
            db,
            registry,
            railway,
        })
    }

    fn push(&self) -> ActRun {
        let how = How {
            env: owned(&[
                ("REG_USER", USER.0),
                ("REG_PASSWORD", USER.1),
                ("GANTRY_RAILWAY_API_URL", self.railway.url.as_str()),
                ("GANTRY_RAILWAY_POLL_INTERVAL", "5ms"),
            ]),
            secrets: owned(&[
                ("RAILWAY_TOKEN", PROJECT_TOKEN),
                ("SUPABASE_DB_URL", &self.db.url()),
            ]),
            ..How::default()
        };
        act(&self.repo, "railway-supabase.yml", how)
    }

    fn mutations(&self) -> Vec<String> {
        self.railway
            .mutations()
            .into_iter()
            .map(|c| c.operation)
            .collect()
    }

    fn record(&self, what: &str, run: &ActRun) {
        eprintln!(
            "{what} under act: {:?}; Railway mutations: {:?}; migrations: {:?}",
            run.elapsed,
            self.mutations(),
            self.db.versions()
        );
    }
}

#[test]
fn railway_supabase_migrates_once_pushes_and_deploys_both_services() {
    use crate::support::railway::Service;
    let Some(t) = RailwayAct::start(
        "railway_supabase_act",
        vec![
            Service::new("api", &["BUILDING", "DEPLOYING", "SUCCESS"]),
            Service::new("worker", &["DEPLOYING", "SUCCESS"]),
        ],
    ) else {
        return;
    };
    let run = t.push().code(0);
    t.record("railway-supabase", &run);
    let digest = pushed(&t.registry, &t.repo.head(), "notes/api")
        .unwrap_or_else(|| panic!("not pushed\n{}", run.output));
    let image = format!("{}/notes/api@{digest}", t.registry.host);
    assert_eq!(
        t.db.versions(),
        ["20240301090000", "20240302090000"],
        "{}",
        run.output
    );
    assert_eq!(
        t.mutations(),
        [
            "ServiceInstanceSetImage",
            "ServiceInstanceDeploy",
            "ServiceInstanceSetImage",
            "ServiceInstanceDeploy"
        ]
    );
    for service in ["api", "worker"] {
        assert_eq!(
            t.railway.service(service).image.as_deref(),
            Some(image.as_str())
        );
    }
    nothing_leaked(&run, &[PROJECT_TOKEN, USER.1]);
    run.summary_shows("### gantry gate: passed")
        .summary_shows("### gantry migrate: passed")
        .summary_shows("| 20240302090000 |")
        .summary_shows("### gantry deploy railway: passed");
    pipeline_passed(&run, &["migrate", "build", "push", "deploy-railway"]);
}

/// The second push to main on the same database, registry and Railway
/// project: the migrations already applied are not applied again, and both
/// services move to the new commit's image.
#[test]
fn railway_supabase_a_second_push_migrates_nothing_and_deploys_the_new_image() {
    use crate::support::railway::Service;
    let Some(t) = RailwayAct::start(
        "railway_supabase_second",
        vec![
            Service::new("api", &["DEPLOYING", "SUCCESS"]),
            Service::new("worker", &["DEPLOYING", "SUCCESS"]),
        ],
    ) else {
        return;
    };
    let first = t.push().code(0);
    let first_digest = pushed(&t.registry, &t.repo.head(), "notes/api")
        .unwrap_or_else(|| panic!("not pushed\n{}", first.output));
    let applied = t.db.versions();
    assert_eq!(applied.len(), 2, "{}", first.output);

    t.repo.write("api/VERSION", "2\n");
    let second = t.push().code(0);
    t.record("railway-supabase second push", &second);
    assert_eq!(t.db.versions(), applied, "{}", second.output);
    second
        .shows("migrations-applied=\n")
        .summary_shows("### gantry migrate: passed");
    let digest = pushed(&t.registry, &t.repo.head(), "notes/api")
        .unwrap_or_else(|| panic!("not pushed\n{}", second.output));
    assert_ne!(digest, first_digest);
    let image = format!("{}/notes/api@{digest}", t.registry.host);
    for service in ["api", "worker"] {
        assert_eq!(
            t.railway.service(service).image.as_deref(),
            Some(image.as_str()),
            "{}",
            second.output
        );
    }
    assert_eq!(t.mutations().len(), 8, "{:?}", t.mutations());
}

#[test]
fn railway_supabase_fails_the_job_when_a_deployment_crashes() {
    use crate::support::railway::Service;
    let mut worker = Service::new("worker", &["DEPLOYING", "CRASHED"]);
    worker.deploy_logs = vec!["Error: connect ECONNREFUSED 10.0.0.7:6379".into()];
    let Some(t) = RailwayAct::start(
        "railway_supabase_crash",
        vec![Service::new("api", &["DEPLOYING", "SUCCESS"]), worker],
    ) else {
        return;
    };
    let run = t.push().code(1);
    t.record("railway-supabase (crash)", &run);
    run.shows("CRASHED")
        .shows("ECONNREFUSED")
        .shows("Job failed");
}

/// A migration that fails half way: its file's changes are rolled back, the
/// ones before it stay, and nothing is built or deployed after it.
#[test]
fn railway_supabase_fails_the_job_and_deploys_nothing_when_a_migration_fails() {
    use crate::support::railway::Service;
    let Some(t) = RailwayAct::start(
        "railway_supabase_bad_migration",
        vec![
            Service::new("api", &["DEPLOYING", "SUCCESS"]),
            Service::new("worker", &["DEPLOYING", "SUCCESS"]),
        ],
    ) else {
        return;
    };
    // Its first two statements succeed; the third names a table that does
    // not exist, so the whole file must roll back.
    t.repo.write(
        "supabase/migrations/20240303090000_tags.sql",
        "create table public.tags (id bigint primary key, name text not null);\n\
         insert into public.tags (id, name) values (1, 'inbox');\n\
         alter table public.notes add column tag_id bigint references public.labels (id);\n",
    );
    let run = t.push().code(1);
    t.record("railway-supabase (failing migration)", &run);
    run.error_annotation("relation \"public.labels\" does not exist")
        .shows("20240303090000")
        .shows("Job failed");
    // The two good files stay applied; the failing one left nothing.
    assert_eq!(
        t.db.versions(),
        ["20240301090000", "20240302090000"],
        "{}",
        run.output
    );
    assert_eq!(
        t.db.sql("select to_regclass('public.tags') is null").trim(),
        "t"
    );
    assert_eq!(
        t.db.sql(
            "select count(*) from information_schema.columns \
             where table_name = 'notes' and column_name = 'tag_id'"
        )
        .trim(),
        "0"
    );
    assert!(t.mutations().is_empty(), "Railway was changed");
    assert!(
        pushed(&t.registry, &t.repo.head(), "notes/api").is_none(),
        "an image was pushed after the failed migration"
    );
    run.summary_shows("## gantry run: failed")
        .summary_shows("| migrate | failed |")
        .summary_shows("| deploy-railway | not run |")
        .summary_shows("| 20240303090000 | tags | 3 | ❌ failed |");
}

// ---- sdk-release -----------------------------------------------------------

/// On a `v1.2.3` tag, the publish job has `id-token: write` and no token
/// secret: gantry asks the runner's OIDC endpoint (here the stand-in
/// issuer, given to the job as GitHub gives it, in
/// `ACTIONS_ID_TOKEN_REQUEST_URL`/`_TOKEN`) for an ID token per registry
/// and exchanges it for a short-lived upload token, then uploads both SDKs.
#[test]
fn sdk_release_checks_the_tag_then_publishes_both_sdks_with_trusted_publishing() {
    use crate::support::npm::{NpmRegistry, Trusted};
    use crate::support::oidc::{AUDIENCE, OidcStandIn};
    use crate::support::pypi::PypiServer;
    let Some(repo) = ActRepo::new() else { return };
    if crate::support::require_tool("npm").is_none() {
        return;
    }
    let request_token = "ghs_act_id_token_request_0123456789";
    let pypi_id_token = "eyJhbGciOiJSUzI1NiJ9.pypi-audience.signature";
    let pypi_minted = "pypi-minted-AgENdGVzdC5weXBpLm9yZwIkOGQ5Y2Ex";
    let Some(index) = PypiServer::start(pypi_minted) else {
        return;
    };
    let oidc = OidcStandIn::start(request_token, pypi_id_token, pypi_minted, index.port);
    let npm_trust = Trusted {
        request_token: request_token.into(),
        id_token: "eyJhbGciOiJSUzI1NiJ9.npm-audience.signature".into(),
        minted: "npm_minted_short_lived_0123456789abcdef".into(),
    };
    oidc.also_issue("npm:127.0.0.1", &npm_trust.id_token);
    let npm = NpmRegistry::start_trusted(npm_trust.clone());
    // Trusted publishing only releases a package that exists (npm: a
    // trusted publisher can only be added to one): an earlier release.
    npm.existing("@acme/sdk");

    repo.example_at_root("sdk-release");
    init(&repo, &[]);
    let workflow = "sdk-release.yml";
    edit_workflow(
        &repo,
        workflow,
        &[(
            "python -m pip install build",
            "<this machine's Python packages>\n          python -m build --version",
        )],
    );
    let text =
        std::fs::read_to_string(repo.path().join(".github/workflows").join(workflow)).unwrap();
    assert!(text.contains("id-token: write"), "{text}");
    assert!(!text.contains("secrets."), "a token secret in\n{text}");
    // The example's SDKs, aimed at the stand-ins; the build uses the
    // hatchling installed here (no isolation: PyPI is out of reach).
    repo.write(
        "gantry.toml",
        &format!(
            "[publish.python-sdk]\npypi = {{ path = \"sdk/python\", repository-url = \"{}\" }}\n\
             build = \"python -m build --no-isolation\"\n\n\
             [publish.ts-sdk]\nnpm = {{ path = \"sdk/ts\", registry = \"{}\", access = \"public\" }}\n",
            oidc.url(),
            npm.url()
        ),
    )
    .write(".gitignore", "dist/\n*.tgz\n.gantry/\n");
    let how = || How {
        strict: true,
        payload: Some(serde_json::json!({"ref": "refs/tags/v1.2.3", "ref_type": "tag"})),
        act_env: owned(&[
            ("GITHUB_REF_TYPE", "tag"),
            ("GITHUB_REF_NAME", "v1.2.3"),
            ("GITHUB_REF", "refs/tags/v1.2.3"),
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                oidc.token_request_url().as_str(),
            ),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", request_token),
        ]),
        ..How::default()
    };
    let run = act(&repo, workflow, how()).code(0);
    // As on GitHub: no gantry on the runner; each job installs the release.
    run.shows("downloading").shows("verified");

    let files = index.files();
    assert_eq!(
        files,
        ["acme_sdk-1.2.3-py3-none-any.whl", "acme_sdk-1.2.3.tar.gz"],
        "{}",
        run.output
    );
    // One exchange per registry, by the publish job only (the check job's
    // dry run asks for nothing), and only minted tokens uploaded.
    let seen = oidc.seen.lock().unwrap();
    let mut audiences = seen.audiences.clone();
    audiences.sort();
    assert_eq!(audiences, [AUDIENCE, "npm:127.0.0.1"], "{}", run.output);
    assert_eq!(seen.exchanged, [pypi_id_token]);
    let st = npm.state.lock().unwrap();
    assert_eq!(st.exchanged, ["@acme/sdk"]);
    assert_eq!(st.authorizations, [format!("Bearer {}", npm_trust.minted)]);
    assert!(st.packuments["@acme/sdk"]["versions"]["1.2.3"].is_object());
    nothing_leaked(
        &run,
        &[
            request_token,
            pypi_id_token,
            pypi_minted,
            &npm_trust.id_token,
            &npm_trust.minted,
        ],
    );
    // The check job's dry-run table, then the publish job's uploads.
    run.summary_shows("### gantry publish: passed (dry run: nothing uploaded)")
        .summary_shows("### gantry publish: passed\n")
        .summary_shows("| python-sdk | 1.2.3 |")
        .summary_shows("`acme_sdk-1.2.3.tar.gz` | published |")
        .summary_shows("`acme_sdk-1.2.3-py3-none-any.whl` | published |")
        .summary_shows("| ts-sdk | 1.2.3 |");
    eprintln!(
        "sdk-release under act: {:?}; ID tokens for {audiences:?}; PyPI files: {files:?}; \
         npm exchanges: {:?}, documents: {}",
        run.elapsed,
        st.exchanged,
        st.documents.len()
    );
    let documents = st.documents.len();
    drop(st);
    drop(seen);

    // "Re-run all jobs" on the same tag (after a later step failed, say):
    // the same builds find their files already published, identical, and
    // the run passes without uploading or replacing anything.
    let rerun = act(&repo, workflow, how()).code(0);
    eprintln!("sdk-release re-run under act: {:?}", rerun.elapsed);
    assert_eq!(index.files(), files, "{}", rerun.output);
    assert_eq!(npm.state.lock().unwrap().documents.len(), documents);
    rerun
        .shows("acme_sdk-1.2.3.tar.gz: skipped (already published, identical)")
        .shows("acme_sdk-1.2.3-py3-none-any.whl: skipped (already published, identical)")
        .shows("acme-sdk-1.2.3.tgz: skipped (already published, identical)")
        .summary_shows("`acme_sdk-1.2.3.tar.gz` | skipped |")
        .summary_shows("`acme-sdk-1.2.3.tgz` | skipped |");
    nothing_leaked(&rerun, &[request_token, pypi_id_token, pypi_minted]);
}

/// The tag mutability of an ECR repository in moto, if it exists (ECR's
/// JSON 1.1 API; moto reads the region from the credential scope).
fn ecr_tag_mutability(moto: &Moto, name: &str) -> Option<String> {
    let out = std::process::Command::new("curl")
        .args(["-sf", "-X", "POST", &format!("{}/", moto.endpoint)])
        .args([
            "-H",
            "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.DescribeRepositories",
            "-H",
            "Content-Type: application/x-amz-json-1.1",
            "-H",
            "Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=0",
            "-d",
            "{}",
        ])
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v["repositories"]
        .as_array()?
        .iter()
        .find(|r| r["repositoryName"] == name)
        .and_then(|r| r["imageTagMutability"].as_str().map(str::to_string))
}
