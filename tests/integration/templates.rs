//! The workflow templates as users get them (`workflows-templates/`): every
//! linter the action is held to finds nothing in them.

use crate::support::{repo_root, require_tool};
use std::path::Path;
use std::process::Command;

fn template_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo_root().join("workflows-templates"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yml"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 8, "{names:?}");
    names
}

#[track_caller]
fn lint(tool: &Path, args: &[&str], dir: &Path) -> String {
    let out = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{} {args:?}\n{text}", tool.display());
    text
}

#[test]
fn zizmor_pedantic_actionlint_and_shellcheck_find_nothing_in_the_templates() {
    let (Some(zizmor), Some(actionlint), Some(shellcheck)) = (
        require_tool("zizmor"),
        require_tool("actionlint"),
        require_tool("shellcheck"),
    ) else {
        return;
    };
    let dir = repo_root().join("workflows-templates");
    let files = template_files();
    let mut args = vec!["--persona", "pedantic", "--offline"];
    args.extend(files.iter().map(String::as_str));
    let report = lint(&zizmor, &args, &dir);
    assert!(report.contains("No findings"), "{report}");

    // actionlint runs shellcheck on every `run:` script.
    let mut args = vec!["-shellcheck", shellcheck.to_str().unwrap()];
    args.extend(files.iter().map(String::as_str));
    lint(&actionlint, &args, &dir);
}

/// `gantry run --dry-run --comment` in a pull request: the plan lands in one
/// comment, found again by its marker and edited, never duplicated; other
/// people's comments are left alone.
#[test]
fn the_plan_comment_is_created_once_then_updated_in_place() {
    use crate::support::github_api::GithubApi;
    use crate::support::{Gantry, Project, Runner};

    let api = GithubApi::start("codewarden/app", "ghs_pr_token");
    api.comment(7, "looks good to me");
    let project = Project::new();
    project.write(
        "gantry.toml",
        "[gates.unit]\nrun = \"echo unit tests pass\"\n",
    );
    let base = project.commit("base");
    project.write("src/lib.txt", "one\n");
    let head = project.commit("change");
    let event = serde_json::json!({
        "number": 7,
        "pull_request": {"number": 7, "base": {"sha": base}, "head": {"sha": head}},
    });
    let run = |runner: &Runner| {
        Gantry::new(&project.path())
            .args(["run", "--dry-run", "--comment"])
            .envs(runner.env("pull_request", event.clone(), &head))
            .env("GITHUB_TOKEN", "ghs_pr_token")
            .env("GITHUB_API_URL", &api.url)
            .run()
            .code(0)
    };

    let first = run(&Runner::new());
    assert!(
        first
            .all()
            .contains("plan comment 1002 created on pull request #7"),
        "{}",
        first.all()
    );
    let second = run(&Runner::new());
    assert!(
        second
            .all()
            .contains("plan comment 1002 updated on pull request #7"),
        "{}",
        second.all()
    );

    let comments = api.comments(7);
    assert_eq!(comments.len(), 2, "{comments:?}");
    assert_eq!(comments[0].body, "looks good to me");
    let plan = &comments[1].body;
    assert!(
        plan.starts_with("<!-- gantry:plan -->\n## gantry plan"),
        "{plan}"
    );
    assert!(plan.contains("unit"), "{plan}");
    // The token never reaches the comment.
    assert!(!plan.contains("ghs_pr_token"), "{plan}");
    assert_eq!(
        api.calls(),
        [
            "GET /repos/codewarden/app/issues/7/comments",
            "POST /repos/codewarden/app/issues/7/comments",
            "GET /repos/codewarden/app/issues/7/comments",
            "PATCH /repos/codewarden/app/issues/comments/1002",
        ]
    );
}

/// A fork's pull request gets a read-only token: the plan still passes, the
/// comment is a warning.
#[test]
fn a_comment_github_refuses_is_a_warning() {
    use crate::support::github_api::GithubApi;
    use crate::support::{Gantry, Project, Runner};

    let api = GithubApi::start("codewarden/app", "the-right-token");
    let project = Project::new();
    project.write("gantry.toml", "[gates.unit]\nrun = \"true\"\n");
    let head = project.commit("base");
    let runner = Runner::new();
    let run = Gantry::new(&project.path())
        .args(["run", "--dry-run", "--comment"])
        .envs(runner.env("pull_request", serde_json::json!({"number": 9}), &head))
        .env("GITHUB_TOKEN", "a-read-only-token")
        .env("GITHUB_API_URL", &api.url)
        .run()
        .code(0);
    assert!(run.all().contains("401 Bad credentials"), "{}", run.all());
    assert!(api.comments(9).is_empty());
}

/// A run that stops on an error says so in the comment, rather than showing
/// half a plan as the whole one.
#[test]
fn the_plan_comment_says_when_the_run_could_not_finish() {
    use crate::support::github_api::GithubApi;
    use crate::support::{Gantry, Project, Runner};

    let api = GithubApi::start("codewarden/app", "ghs_pr_token");
    let project = Project::new();
    project.write(
        "gantry.toml",
        "[deploy.api]\necs = { cluster = \"prod\" }\n",
    );
    let head = project.commit("base");
    let runner = Runner::new();
    Gantry::new(&project.path())
        .args(["run", "--dry-run", "--comment"])
        .envs(runner.env("pull_request", serde_json::json!({"number": 3}), &head))
        .env("GITHUB_TOKEN", "ghs_pr_token")
        .env("GITHUB_API_URL", &api.url)
        .run()
        .code(2);
    let comments = api.comments(3);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0].body.contains("**gantry could not finish:**"),
        "{}",
        comments[0].body
    );
    assert!(comments[0].body.contains("service"), "{}", comments[0].body);
}

// ---- The templates under act -------------------------------------------
//
// Each runs the workflow exactly as `gantry init` writes it for the example
// (gantry's action pinned by commit, checkout, configure-aws-credentials);
// act maps gantry's action to this checkout of it and
// configure-aws-credentials to a stand-in that exports test credentials.

mod act {
    use crate::support::act::{ActOptions, ActRepo, ActRun, VERSION, gantry_bin, sha256_file};
    use crate::support::ecs::{EcsStandIn, Scenario};
    use crate::support::github_api::GithubApi;
    use crate::support::postgres::Db;
    use crate::support::repo_root;
    use crate::support::services::{Registry, docker_available};
    use std::path::PathBuf;
    use std::time::Duration;

    const USER: (&str, &str) = ("ci-bot", "Regi5try-Pa55word");

    /// `uses:` of gantry's action in the rendered templates, without its comment.
    fn gantry_action() -> String {
        gantry::init::ACTION
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    }

    fn aws_stand_in() -> PathBuf {
        repo_root().join("tests/act/templates/configure-aws-credentials")
    }

    /// An act repository, the local registry and the ECS stand-in playing
    /// `scenario`; `None` (skipped) without act, Docker or one of `tools`.
    fn ecs_act(scenario: Scenario, tools: &[&str]) -> Option<(ActRepo, Registry, EcsStandIn)> {
        let repo = ActRepo::new()?;
        if !docker_available() {
            return None;
        }
        for tool in tools {
            crate::support::require_tool(tool)?;
        }
        let registry = Registry::start(Some(USER))?;
        let ecs = EcsStandIn::start(scenario, Duration::from_millis(100));
        Some((repo, registry, ecs))
    }

    /// An act repository, a fresh database with Supabase's schema, and the
    /// local registry; `None` (skipped) without act, PostgreSQL or Docker.
    fn railway_act(db: &str) -> Option<(ActRepo, Db, Registry)> {
        let repo = ActRepo::new()?;
        let pg = crate::support::postgres::postgres()?;
        if !docker_available() {
            return None;
        }
        let registry = Registry::start(Some(USER))?;
        let db = pg.database(db);
        db.supabase_bootstrap();
        Some((repo, db, registry))
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

    /// The digest pushed to `repository` under the `sha-<short>` tag of `head`.
    fn pushed(registry: &Registry, head: &str, repository: &str) -> Option<String> {
        registry.manifest_digest(repository, &format!("sha-{}", &head[..7]), Some(USER))
    }

    /// Both shop images pushed under the commit's tag, and exactly one
    /// register and one update per service in ECS.
    #[track_caller]
    fn shop_shipped(
        repo: &ActRepo,
        registry: &Registry,
        ecs: &EcsStandIn,
        run: &ActRun,
        what: &str,
    ) {
        let head = repo.head();
        for image in ["frontend", "backend"] {
            pushed(registry, &head, &format!("shop/{image}"))
                .unwrap_or_else(|| panic!("{image} was not pushed\n{}", run.output));
        }
        let changes = ecs_changes(ecs);
        eprintln!(
            "{what} under act: {:?}; ECS changes: {changes:?}",
            run.elapsed
        );
        assert_eq!(
            changes,
            [
                "RegisterTaskDefinition shop-backend",
                "RegisterTaskDefinition shop-frontend",
                "UpdateService api",
                "UpdateService worker",
            ],
            "{}",
            run.output
        );
    }

    /// A failed deploy job: `reason` in an error annotation, the rollback
    /// said, and every service running what it ran `before`.
    #[track_caller]
    fn failed_and_rolled_back(
        run: &ActRun,
        ecs: &EcsStandIn,
        before: &[(&str, String)],
        reason: &str,
    ) {
        run.error_annotation(reason)
            .shows("rolled back to")
            .shows("Job failed")
            .summary_shows("## gantry run: failed")
            .summary_shows("| deploy-ecs | failed |")
            .summary_shows("### gantry deploy ecs: failed");
        for (service, task_definition) in before {
            assert_eq!(
                &ecs.running(service),
                task_definition,
                "{service} was not rolled back\n{}",
                run.output
            );
        }
    }

    /// The ecs-services example with the workflows init writes for it, and a
    /// gantry.toml aimed at the local registry and the ECS stand-in
    /// (`frontend` → service `api`, `backend` → service `worker`).
    fn ecs_services(repo: &ActRepo, registry: &str) {
        repo.example_at_root("ecs-services");
        init(repo, &[]);
        let mut toml = String::from(
            "[pipeline]\nsteps = [\"gate\", \"build\", \"scan\", \"push\", \"deploy-ecs\"]\n\n\
             [gates.shop-tests]\nrun = \"npm test\"\n\n\
             # Trivy offline: no vulnerability database can be fetched here.\n\
             [scan]\nvulnerabilities = false\noffline = true\n",
        );
        for (image, service) in [("frontend", "api"), ("backend", "worker")] {
            toml.push_str(&format!(
                "\n[images.{image}]\ncontext = \".\"\ndockerfile = \"{image}.Dockerfile\"\n\
                 repository = \"shop/{image}\"\nregistry = \"{registry}\"\ntags = [\"sha\"]\n\n\
                 [deploy.{image}]\ncontainers = {{ {image} = \"{image}\" }}\n\n\
                 [deploy.{image}.ecs]\ncluster = \"prod\"\nservice = \"{service}\"\n\
                 task-definition = \"deploy/{image}.json\"\n"
            ));
        }
        toml.push_str(&format!(
            "\n[registries.\"{registry}\"]\nusername-env = \"REG_USER\"\npassword-env = \"REG_PASSWORD\"\n"
        ));
        repo.write("gantry.toml", &toml)
            .checksums(VERSION, &sha256_file(&gantry_bin()));
    }

    fn env(ecs: &EcsStandIn) -> Vec<(String, String)> {
        let mut env = ecs.env();
        // The deploy job's credentials come from the configure-aws-credentials stand-in.
        env.retain(|(k, _)| k.starts_with("AWS_ENDPOINT_URL") || k == "AWS_EC2_METADATA_DISABLED");
        env.extend(
            [
                ("REG_USER", USER.0),
                ("REG_PASSWORD", USER.1),
                ("GANTRY_ECS_POLL_INTERVAL", "40ms"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        env
    }

    fn run(
        repo: &ActRepo,
        workflow: &str,
        event: &str,
        payload: Option<serde_json::Value>,
        env: &[(String, String)],
        act_env: &[(&str, &str)],
    ) -> ActRun {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let on_path = gantry_bin().parent().unwrap().to_path_buf();
        let maps = [
            (gantry_action(), repo.path()),
            (
                "aws-actions/configure-aws-credentials@e3dd6a429d7300a6a4c196c26e071d42e0343502"
                    .to_string(),
                aws_stand_in(),
            ),
            (
                "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02".to_string(),
                repo_root().join("tests/act/templates/upload-artifact"),
            ),
            (
                "actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093".to_string(),
                repo_root().join("tests/act/templates/download-artifact"),
            ),
        ];
        let maps: Vec<(&str, PathBuf)> =
            maps.iter().map(|(a, p)| (a.as_str(), p.clone())).collect();
        repo.run_with(
            workflow,
            &ActOptions {
                event: Some(event),
                payload,
                env: &env,
                path_first: Some(&on_path),
                vars: &[
                    (
                        "AWS_DEPLOY_ROLE_ARN",
                        "arn:aws:iam::123456789012:role/gantry-deploy",
                    ),
                    (
                        "AWS_PUSH_ROLE_ARN",
                        "arn:aws:iam::123456789012:role/gantry-push",
                    ),
                    ("AWS_REGION", "us-east-1"),
                ],
                secrets: &[("GITHUB_TOKEN", "ghs_act_token")],
                act_env,
                local_repositories: &maps,
                extra: &[],
            },
        )
    }

    #[test]
    fn ecs_services_builds_pushes_and_rolls_both_services_with_one_verdict() {
        let Some((repo, registry, ecs)) = ecs_act(Scenario::Success, &[]) else {
            return;
        };
        ecs_services(&repo, &registry.host);
        let run = run(&repo, "ecs-services.yml", "push", None, &env(&ecs), &[]).code(0);
        run.shows("assumed arn:aws:iam::123456789012:role/gantry-deploy in us-east-1 (stand-in)");
        shop_shipped(&repo, &registry, &ecs, &run, "ecs-services");
        assert!(!run.output.contains(USER.1), "the registry password leaked");
        // The gate job's table, then the deploy job's pipeline table and
        // one line per service in the deploy step's own table.
        run.summary_shows("### gantry gate: passed")
            .summary_shows("| shop-tests | ✅")
            .summary_shows("## gantry run: passed\n\n| Step | Verdict | Changes |")
            .summary_shows("| build | passed |")
            .summary_shows("| scan | passed |")
            .summary_shows("| push | passed |")
            .summary_shows("| deploy-ecs | passed |")
            .summary_shows("### gantry deploy ecs: passed")
            .summary_shows("| frontend | `prod/api` | `shop-frontend:7` | passed")
            .summary_shows("| backend | `prod/worker` | `shop-backend:7` | passed");
        assert!(!run.summary().contains(USER.1));
    }

    #[test]
    fn pull_request_comments_the_plan_once_then_updates_it() {
        let Some((repo, registry, ecs)) = ecs_act(Scenario::Success, &[]) else {
            return;
        };
        let api = GithubApi::start("gantry-test/shop", "ghs_act_token");
        ecs_services(&repo, &registry.host);
        let mut env = env(&ecs);
        // A pull request's job has no cloud role: the plan reads ECS with
        // the stand-in's test keys and changes nothing.
        env.extend(
            [
                ("AWS_ACCESS_KEY_ID", "testing"),
                ("AWS_SECRET_ACCESS_KEY", "testing"),
                ("AWS_REGION", "us-east-1"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let payload = serde_json::json!({
            "number": 7,
            "repository": {"full_name": "gantry-test/shop", "name": "shop", "owner": {"login": "gantry-test"}},
            "pull_request": {"number": 7, "base": {"ref": "main"}, "head": {"ref": "feature"}},
        });
        let act_env = [
            ("GITHUB_API_URL", api.url.as_str()),
            ("GITHUB_REPOSITORY", "gantry-test/shop"),
        ];
        let first = run(
            &repo,
            "pull-request.yml",
            "pull_request",
            Some(payload.clone()),
            &env,
            &act_env,
        )
        .code(0);
        first.shows("created on pull request #7");
        repo.write(
            "frontend/server.js",
            "export function handle(path) {\n  return { service: \"frontend\", path, v: 2 };\n}\n",
        );
        let second = run(
            &repo,
            "pull-request.yml",
            "pull_request",
            Some(payload),
            &env,
            &act_env,
        )
        .code(0);
        second.shows("updated on pull request #7");

        let comments = api.comments(7);
        assert_eq!(comments.len(), 1, "{comments:?}");
        assert!(comments[0].body.starts_with("<!-- gantry:plan -->"));
        assert!(
            comments[0].body.contains(&repo.head()),
            "{}",
            comments[0].body
        );
        // A dry run: nothing registered, no service touched, nothing pushed.
        assert!(ecs.mutating().is_empty(), "{:?}", ecs.mutating());
        eprintln!(
            "pull-request under act: {:?} then {:?}; GitHub API calls: {:?}",
            first.elapsed,
            second.elapsed,
            api.calls()
        );
    }

    const PROJECT_TOKEN: &str = "rw-proj-5f0c2b9e-7d41-4a77-b0a3-secret";
    const API_TOKEN: &str = "rw-acct-91e2d3c4-0f6a-4b1c-9d8e-secret";

    /// The railway-supabase example as init writes it, with the install
    /// step (which would reach PyPI and npm) replaced by what this machine
    /// has, and a gantry.toml aimed at the stand-ins.
    fn railway_supabase(repo: &ActRepo, registry: &str) {
        repo.example_at_root("railway-supabase");
        init(repo, &[]);
        let wf = repo.path().join(".github/workflows/railway-supabase.yml");
        let text = std::fs::read_to_string(&wf).unwrap();
        let text = text
            .replace(
                "python -m pip install -e ./api pytest",
                "python -m pytest --version",
            )
            .replace("npm ci --prefix web", "node --version");
        std::fs::write(&wf, text).unwrap();
        repo.write(
            "gantry.toml",
            &format!(
                "[gates.api-tests]\ndir = \"api\"\nrun = \"python -m pytest -q\"\nmatcher = \"pytest\"\n\n\
                 [gates.web-lint]\ndir = \"web\"\nrun = \"npm run lint\"\n\n\
                 [migrate]\ndir = \"supabase\"\ndb-url-env = \"SUPABASE_DB_URL\"\n\n\
                 [images.api]\ncontext = \"api\"\nrepository = \"notes/api\"\nregistry = \"{registry}\"\ntags = [\"sha\"]\n\n\
                 [registries.\"{registry}\"]\nusername-env = \"REG_USER\"\npassword-env = \"REG_PASSWORD\"\n\n\
                 [deploy.api]\nrailway = {{ service = \"api\" }}\nimage = \"api\"\n\n\
                 [deploy.worker]\nrailway = {{ service = \"worker\" }}\nimage = \"api\"\n"
            ),
        )
        .checksums(VERSION, &sha256_file(&gantry_bin()));
    }

    fn railway_run(
        repo: &ActRepo,
        railway: &crate::support::railway::Railway,
        db_url: &str,
    ) -> ActRun {
        let env: Vec<(String, String)> = [
            ("REG_USER", USER.0),
            ("REG_PASSWORD", USER.1),
            ("GANTRY_RAILWAY_API_URL", railway.url.as_str()),
            ("GANTRY_RAILWAY_POLL_INTERVAL", "5ms"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let on_path = gantry_bin().parent().unwrap().to_path_buf();
        let maps = [(gantry_action(), repo.path())];
        let maps: Vec<(&str, PathBuf)> =
            maps.iter().map(|(a, p)| (a.as_str(), p.clone())).collect();
        repo.run_with(
            "railway-supabase.yml",
            &ActOptions {
                event: Some("push"),
                env: &env,
                path_first: Some(&on_path),
                secrets: &[
                    ("GITHUB_TOKEN", "ghs_act_token"),
                    ("RAILWAY_TOKEN", PROJECT_TOKEN),
                    ("SUPABASE_DB_URL", db_url),
                ],
                local_repositories: &maps,
                ..ActOptions::default()
            },
        )
    }

    #[test]
    fn railway_supabase_migrates_once_pushes_and_deploys_both_services() {
        use crate::support::railway::{Railway, Service};
        let Some((repo, db, registry)) = railway_act("railway_supabase_act") else {
            return;
        };
        let railway = Railway::start(
            PROJECT_TOKEN,
            API_TOKEN,
            vec![
                Service::new("api", &["BUILDING", "DEPLOYING", "SUCCESS"]),
                Service::new("worker", &["DEPLOYING", "SUCCESS"]),
            ],
        );
        railway_supabase(&repo, &registry.host);
        let run = railway_run(&repo, &railway, &db.url()).code(0);
        let head = repo.head();
        let digest = pushed(&registry, &head, "notes/api")
            .unwrap_or_else(|| panic!("not pushed\n{}", run.output));
        let image = format!("{}/notes/api@{digest}", registry.host);
        assert_eq!(
            db.versions(),
            ["20240301090000", "20240302090000"],
            "{}",
            run.output
        );
        let mutations: Vec<String> = railway
            .mutations()
            .into_iter()
            .map(|c| c.operation)
            .collect();
        assert_eq!(
            mutations,
            [
                "ServiceInstanceSetImage",
                "ServiceInstanceDeploy",
                "ServiceInstanceSetImage",
                "ServiceInstanceDeploy"
            ]
        );
        assert_eq!(
            railway.service("api").image.as_deref(),
            Some(image.as_str())
        );
        assert_eq!(
            railway.service("worker").image.as_deref(),
            Some(image.as_str())
        );
        assert!(
            !run.output.contains(PROJECT_TOKEN),
            "the Railway token leaked"
        );
        run.summary_shows("### gantry gate: passed")
            .summary_shows("## gantry run: passed\n\n| Step | Verdict | Changes |")
            .summary_shows("| migrate | passed |")
            .summary_shows("| build | passed |")
            .summary_shows("| push | passed |")
            .summary_shows("| deploy-railway | passed |")
            .summary_shows("### gantry migrate: passed")
            .summary_shows("| 20240302090000 |")
            .summary_shows("### gantry deploy railway: passed");
        eprintln!(
            "railway-supabase under act: {:?}; Railway mutations: {mutations:?}; migrations: {:?}",
            run.elapsed,
            db.versions()
        );
    }

    #[test]
    fn railway_supabase_fails_the_job_when_a_deployment_crashes() {
        use crate::support::railway::{Railway, Service};
        let Some((repo, db, registry)) = railway_act("railway_supabase_crash") else {
            return;
        };
        let mut worker = Service::new("worker", &["DEPLOYING", "CRASHED"]);
        worker.deploy_logs = vec!["Error: connect ECONNREFUSED 10.0.0.7:6379".into()];
        let railway = Railway::start(
            PROJECT_TOKEN,
            API_TOKEN,
            vec![Service::new("api", &["DEPLOYING", "SUCCESS"]), worker],
        );
        railway_supabase(&repo, &registry.host);
        let run = railway_run(&repo, &railway, &db.url()).code(1);
        run.shows("CRASHED")
            .shows("ECONNREFUSED")
            .shows("Job failed");
        eprintln!("railway-supabase (crash) under act: {:?}", run.elapsed);
    }

    /// A migration that fails half way: its file's changes are rolled back,
    /// the ones before it stay, and nothing is built or deployed after it.
    #[test]
    fn railway_supabase_fails_the_job_and_deploys_nothing_when_a_migration_fails() {
        use crate::support::railway::{Railway, Service};
        let Some((repo, db, registry)) = railway_act("railway_supabase_bad_migration") else {
            return;
        };
        let railway = Railway::start(
            PROJECT_TOKEN,
            API_TOKEN,
            vec![
                Service::new("api", &["DEPLOYING", "SUCCESS"]),
                Service::new("worker", &["DEPLOYING", "SUCCESS"]),
            ],
        );
        railway_supabase(&repo, &registry.host);
        // Its first two statements succeed; the third names a table that
        // does not exist, so the whole file must roll back.
        repo.write(
            "supabase/migrations/20240303090000_tags.sql",
            "create table public.tags (id bigint primary key, name text not null);\n\
             insert into public.tags (id, name) values (1, 'inbox');\n\
             alter table public.notes add column tag_id bigint references public.labels (id);\n",
        );
        let run = railway_run(&repo, &railway, &db.url()).code(1);
        run.error_annotation("relation \"public.labels\" does not exist")
            .shows("20240303090000")
            .shows("Job failed");
        // The two good files stay applied; the failing one left nothing.
        assert_eq!(
            db.versions(),
            ["20240301090000", "20240302090000"],
            "{}",
            run.output
        );
        assert_eq!(
            db.sql("select to_regclass('public.tags') is null").trim(),
            "t"
        );
        assert_eq!(
            db.sql(
                "select count(*) from information_schema.columns \
                 where table_name = 'notes' and column_name = 'tag_id'"
            )
            .trim(),
            "0"
        );
        assert!(
            railway.mutations().is_empty(),
            "Railway was changed: {:?}",
            railway.mutations()
        );
        let head = repo.head();
        assert!(
            pushed(&registry, &head, "notes/api").is_none(),
            "an image was pushed after the failed migration"
        );
        run.summary_shows("## gantry run: failed")
            .summary_shows("| migrate | failed |")
            .summary_shows("| deploy-railway | not run |")
            .summary_shows("| 20240303090000 | tags | 3 | ❌ failed |");
        eprintln!(
            "railway-supabase (failing migration) under act: {:?}; Railway mutations: {:?}; migrations: {:?}",
            run.elapsed,
            railway.mutations(),
            db.versions()
        );
    }

    /// One image of an ECS example: name, context, Dockerfile.
    type Image<'a> = (&'a str, &'a str, &'a str);
    /// One deploy: name, task definition, container → image (or none), stand-in service.
    type Deploy<'a> = (&'a str, &'a str, Option<(&'a str, &'a str)>, &'a str);

    /// An ECS example as init writes it; `installs` are the install lines
    /// (which would reach PyPI) replaced by what this machine has.
    fn ecs_example(
        repo: &ActRepo,
        example: &str,
        registry: &str,
        gates: &str,
        images: &[Image],
        deploys: &[Deploy],
        installs: &[(&str, &str)],
    ) {
        repo.example_at_root(example);
        init(repo, &[]);
        let wf = repo.path().join(format!(".github/workflows/{example}.yml"));
        let mut text = std::fs::read_to_string(&wf).unwrap();
        for (from, to) in installs {
            assert!(text.contains(from), "{from:?} not in\n{text}");
            text = text.replace(from, to);
        }
        std::fs::write(&wf, text).unwrap();
        let mut toml = format!(
            "{gates}\n# Trivy offline: no vulnerability database can be fetched here.\n\
             [scan]\nvulnerabilities = false\noffline = true\n"
        );
        for (image, context, dockerfile) in images {
            toml.push_str(&format!(
                "\n[images.{image}]\ncontext = \"{context}\"\ndockerfile = \"{dockerfile}\"\n\
                 repository = \"{example}/{image}\"\nregistry = \"{registry}\"\ntags = [\"sha\"]\n"
            ));
        }
        for (name, td, container, service) in deploys {
            toml.push_str(&format!("\n[deploy.{name}]\n"));
            if let Some((c, i)) = container {
                toml.push_str(&format!("containers = {{ {c} = \"{i}\" }}\n"));
            }
            toml.push_str(&format!(
                "\n[deploy.{name}.ecs]\ncluster = \"prod\"\nservice = \"{service}\"\ntask-definition = \"{td}\"\n"
            ));
        }
        toml.push_str(&format!(
            "\n[registries.\"{registry}\"]\nusername-env = \"REG_USER\"\npassword-env = \"REG_PASSWORD\"\n"
        ));
        repo.write("gantry.toml", &toml)
            .checksums(VERSION, &sha256_file(&gantry_bin()));
    }

    /// `Operation family-or-service` of every call that changed ECS.
    fn ecs_changes(ecs: &EcsStandIn) -> Vec<String> {
        // Services deploy in parallel: sorted (registers sort before updates).
        let mut out: Vec<String> = ecs
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

    const PYTEST_GATE: &str =
        "[gates.api-tests]\ndir = \"api\"\nrun = \"python -m pytest -q\"\nmatcher = \"pytest\"\n";

    fn ecs_ec2(repo: &ActRepo, registry: &str) {
        ecs_example(
            repo,
            "ecs-ec2",
            registry,
            PYTEST_GATE,
            &[("api", "api", "api/Dockerfile")],
            &[(
                "api",
                "deploy/task-definition.json",
                Some(("api", "api")),
                "api",
            )],
            &[(
                "python -m pip install -e ./api ruff pytest",
                "python -m pytest --version",
            )],
        );
    }

    #[test]
    fn ecs_ec2_builds_scans_pushes_and_deploys_one_service() {
        let Some((repo, registry, ecs)) = ecs_act(Scenario::Success, &[]) else {
            return;
        };
        ecs_ec2(&repo, &registry.host);
        let run = run(&repo, "ecs-ec2.yml", "push", None, &env(&ecs), &[]).code(0);
        let changes = ecs_changes(&ecs);
        eprintln!(
            "ecs-ec2 under act: {:?}; ECS changes: {changes:?}",
            run.elapsed
        );
        assert_eq!(
            changes,
            ["RegisterTaskDefinition shop-api", "UpdateService api"],
            "{}",
            run.output
        );
        assert_eq!(ecs.running("api"), ecs.running_task_definition());
        assert!(
            ecs.running("api").contains("shop-api"),
            "{}",
            ecs.running("api")
        );
    }

    #[test]
    fn ecs_ec2_fails_the_job_and_rolls_back_when_a_task_stops() {
        let Some((repo, registry, ecs)) = ecs_act(Scenario::CannotPull, &[]) else {
            return;
        };
        let before = ecs.running("api");
        ecs_ec2(&repo, &registry.host);
        let run = run(&repo, "ecs-ec2.yml", "push", None, &env(&ecs), &[]).code(1);
        failed_and_rolled_back(&run, &ecs, &[("api", before)], "CannotPullContainerError");
        eprintln!(
            "ecs-ec2 (task stops) under act: {:?}; ECS changes: {:?}",
            run.elapsed,
            ecs_changes(&ecs)
        );
    }

    /// The fargate example: the built `api` → service `api`, the upstream
    /// Qdrant → service `worker`.
    fn fargate(repo: &ActRepo, registry: &str) {
        ecs_example(
            repo,
            "fargate",
            registry,
            "[gates.fmt]\nrun = \"cargo fmt --check\"\n\n[gates.tests]\nrun = \"cargo test --offline\"\nmatcher = \"cargo\"\n",
            &[("api", ".", "Dockerfile")],
            &[
                ("api", "deploy/api.json", Some(("api", "api")), "api"),
                ("qdrant", "deploy/qdrant.json", None, "worker"),
            ],
            &[],
        );
    }

    #[test]
    fn fargate_deploys_the_built_api_and_the_upstream_qdrant_without_a_build() {
        let Some((repo, registry, ecs)) = ecs_act(Scenario::Success, &["cargo"]) else {
            return;
        };
        fargate(&repo, &registry.host);
        let run = run(&repo, "fargate.yml", "push", None, &env(&ecs), &[]).code(0);
        let changes = ecs_changes(&ecs);
        eprintln!(
            "fargate under act: {:?}; ECS changes: {changes:?}",
            run.elapsed
        );
        assert_eq!(
            changes,
            [
                "RegisterTaskDefinition search-api",
                "RegisterTaskDefinition search-qdrant",
                "UpdateService api",
                "UpdateService worker"
            ],
            "{}",
            run.output
        );
        let qdrant = ecs.task_definition(&ecs.running("worker")).unwrap();
        assert_eq!(
            qdrant["containerDefinitions"][0]["image"],
            "qdrant/qdrant:v1.12.4"
        );
    }

    /// The ecs-fargate-secrets example: `backend` → service `api`,
    /// `ai-ml` → service `worker`.
    fn ecs_fargate_secrets(repo: &ActRepo, registry: &str) {
        ecs_example(
            repo,
            "ecs-fargate-secrets",
            registry,
            "[gates.backend-tests]\ndir = \"backend\"\nrun = \"python -m pytest -q\"\n",
            &[
                ("backend", "backend", "backend/Dockerfile"),
                ("ai-ml", "ai-ml", "ai-ml/Dockerfile"),
            ],
            &[
                (
                    "backend",
                    "deploy/backend.json",
                    Some(("backend", "backend")),
                    "api",
                ),
                (
                    "ai-ml",
                    "deploy/ai-ml.json",
                    Some(("ai-ml", "ai-ml")),
                    "worker",
                ),
            ],
            &[(
                "python -m pip install -e ./ai-ml pytest\n          python -m pip install -e ./backend pytest",
                "python -m pytest --version",
            )],
        );
    }

    #[test]
    fn ecs_fargate_secrets_keeps_value_from_and_names_the_secrets() {
        let Some((repo, registry, ecs)) = ecs_act(Scenario::Success, &[]) else {
            return;
        };
        ecs_fargate_secrets(&repo, &registry.host);
        let run = run(
            &repo,
            "ecs-fargate-secrets.yml",
            "push",
            None,
            &env(&ecs),
            &[],
        )
        .code(0);
        let changes = ecs_changes(&ecs);
        eprintln!(
            "ecs-fargate-secrets under act: {:?}; ECS changes: {changes:?}",
            run.elapsed
        );
        assert_eq!(
            changes,
            [
                "RegisterTaskDefinition assist-ai-ml",
                "RegisterTaskDefinition assist-backend",
                "UpdateService api",
                "UpdateService worker"
            ],
            "{}",
            run.output
        );
        let ai = ecs.task_definition(&ecs.running("worker")).unwrap();
        let secrets = &ai["containerDefinitions"][0]["secrets"];
        assert_eq!(secrets[0]["name"], "OPENAI_API_KEY");
        assert_eq!(
            secrets[0]["valueFrom"],
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:assist/openai-api-key-GhIjKl"
        );
        assert_eq!(secrets[1]["name"], "HF_TOKEN");
        run.shows("OPENAI_API_KEY");
    }

    /// A Fargate task that stops: the job fails with ECS's reason in an
    /// annotation and both services (the built API and Qdrant, deployed in
    /// one step) are rolled back to what ran before.
    #[test]
    fn fargate_fails_the_job_and_rolls_back_both_services_when_a_task_stops() {
        let Some((repo, registry, ecs)) = ecs_act(Scenario::CannotPull, &["cargo"]) else {
            return;
        };
        let before = (ecs.running("api"), ecs.running("worker"));
        fargate(&repo, &registry.host);
        let run = run(&repo, "fargate.yml", "push", None, &env(&ecs), &[]).code(1);
        failed_and_rolled_back(
            &run,
            &ecs,
            &[("api", before.0), ("worker", before.1)],
            "CannotPullContainerError",
        );
        eprintln!(
            "fargate (task stops) under act: {:?}; ECS changes: {:?}",
            run.elapsed,
            ecs_changes(&ecs)
        );
    }

    /// A container that exits (a secret it needs is missing): the job fails
    /// with the exit in an annotation, the services are rolled back, and no
    /// secret value is printed, only the names.
    #[test]
    fn ecs_fargate_secrets_fails_the_job_and_rolls_back_when_a_container_exits() {
        let Some((repo, registry, ecs)) = ecs_act(Scenario::Crash, &[]) else {
            return;
        };
        let before = (ecs.running("api"), ecs.running("worker"));
        ecs_fargate_secrets(&repo, &registry.host);
        let run = run(
            &repo,
            "ecs-fargate-secrets.yml",
            "push",
            None,
            &env(&ecs),
            &[],
        )
        .code(1);
        failed_and_rolled_back(
            &run,
            &ecs,
            &[("api", before.0), ("worker", before.1)],
            "Essential container in task exited",
        );
        // What was registered still takes its secrets by reference.
        let registered: Vec<_> = ecs
            .mutating()
            .into_iter()
            .filter(|c| c.operation == "RegisterTaskDefinition")
            .collect();
        assert_eq!(registered.len(), 2, "{registered:?}");
        eprintln!(
            "ecs-fargate-secrets (container exits) under act: {:?}; ECS changes: {:?}",
            run.elapsed,
            ecs_changes(&ecs)
        );
    }

    #[test]
    fn sdk_release_checks_the_tag_then_uploads_both_sdks() {
        use crate::support::npm::NpmRegistry;
        use crate::support::pypi::PypiServer;
        let Some(repo) = ActRepo::new() else { return };
        if crate::support::require_tool("npm").is_none() {
            return;
        }
        let pypi_token = "pypi-AgENdGVzdC5weXBpLm9yZwIkOGQ5Y2Ex";
        let npm_token = "npm_0123456789abcdefABCDEF";
        let Some(index) = PypiServer::start(pypi_token) else {
            return;
        };
        let npm = NpmRegistry::start(npm_token);
        repo.example_at_root("sdk-release");
        init(&repo, &[]);
        let wf = repo.path().join(".github/workflows/sdk-release.yml");
        let text = std::fs::read_to_string(&wf).unwrap();
        assert!(text.contains("python -m pip install build"));
        std::fs::write(
            &wf,
            text.replace("python -m pip install build", "python -m build --version"),
        )
        .unwrap();
        // The example's SDKs, aimed at the stand-ins; the build uses the
        // hatchling installed here (no isolation: PyPI is out of reach).
        repo.write(
            "gantry.toml",
            &format!(
                "[publish.python-sdk]\npypi = {{ path = \"sdk/python\", repository-url = \"{}\" }}\n\
                 build = \"python -m build --no-isolation\"\n\n\
                 [publish.ts-sdk]\nnpm = {{ path = \"sdk/ts\", registry = \"{}\", access = \"public\" }}\n",
                index.url(),
                npm.url()
            ),
        )
        .write(".gitignore", "dist/\n*.tgz\n.gantry/\n")
        .checksums(VERSION, &sha256_file(&gantry_bin()));
        // act's runner has no OIDC issuer: the jobs publish with tokens
        // (trusted publishing itself is covered by the publish tests).
        let env = [("PYPI_TOKEN", pypi_token), ("NPM_TOKEN", npm_token)];
        let on_path = gantry_bin().parent().unwrap().to_path_buf();
        let maps = [(gantry_action(), repo.path())];
        let maps: Vec<(&str, PathBuf)> =
            maps.iter().map(|(a, p)| (a.as_str(), p.clone())).collect();
        let run = repo
            .run_with(
                "sdk-release.yml",
                &ActOptions {
                    event: Some("push"),
                    payload: Some(
                        serde_json::json!({"ref": "refs/tags/v1.2.3", "ref_type": "tag"}),
                    ),
                    env: &env,
                    path_first: Some(&on_path),
                    secrets: &[("GITHUB_TOKEN", "ghs_act_token")],
                    act_env: &[
                        ("GITHUB_REF_TYPE", "tag"),
                        ("GITHUB_REF_NAME", "v1.2.3"),
                        ("GITHUB_REF", "refs/tags/v1.2.3"),
                    ],
                    local_repositories: &maps,
                    ..ActOptions::default()
                },
            )
            .code(0);
        let mut files = index.files();
        files.sort();
        assert_eq!(
            files,
            ["acme_sdk-1.2.3-py3-none-any.whl", "acme_sdk-1.2.3.tar.gz"],
            "{}",
            run.output
        );
        let st = npm.state.lock().unwrap();
        assert_eq!(st.documents.len(), 1, "{}", run.output);
        assert_eq!(st.documents[0]["name"], "@acme/sdk");
        assert!(st.packuments["@acme/sdk"]["versions"]["1.2.3"].is_object());
        assert!(
            !run.output.contains(pypi_token) && !run.output.contains(npm_token),
            "a token leaked"
        );
        eprintln!(
            "sdk-release under act: {:?}; PyPI files: {files:?}; npm documents: 1 (@acme/sdk 1.2.3)",
            run.elapsed
        );
    }

    /// The large-repository shape: a runner per image, the states handed to
    /// one deploy job through job outputs, one verdict for both services.
    #[test]
    fn ecs_services_matrix_pushes_per_runner_and_deploys_once_from_every_state() {
        let Some((repo, registry, ecs)) = ecs_act(Scenario::Success, &["jq"]) else {
            return;
        };
        ecs_services(&repo, &registry.host);
        // The stand-ins' gantry.toml stays; init writes the matrix workflow.
        let toml = std::fs::read_to_string(repo.path().join("gantry.toml")).unwrap();
        init(&repo, &["ecs-services-matrix", "--force"]);
        repo.write("gantry.toml", &toml);
        let wf = std::fs::read_to_string(
            repo.path()
                .join(".github/workflows/ecs-services-matrix.yml"),
        )
        .unwrap();
        assert!(
            wf.contains("image: [backend, frontend]") || wf.contains("image: [frontend, backend]"),
            "{wf}"
        );
        let artifacts = tempfile::tempdir().unwrap();
        let mut env = env(&ecs);
        env.push((
            "GANTRY_TEST_ARTIFACTS".into(),
            artifacts.path().display().to_string(),
        ));
        let run = run(&repo, "ecs-services-matrix.yml", "push", None, &env, &[]).code(0);
        run.shows("uploaded artifact state-frontend")
            .shows("downloaded artifact state-backend");
        run.shows("assumed arn:aws:iam::123456789012:role/gantry-push in us-east-1 (stand-in)");
        shop_shipped(&repo, &registry, &ecs, &run, "ecs-services-matrix");
    }
}
