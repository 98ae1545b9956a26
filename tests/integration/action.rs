//! The composite action (`action.yml`) in a real Actions runner: act, offline,
//! in self-hosted mode. gantry is installed the way a workflow installs it:
//! from a release folder served on 127.0.0.1, checked against the action's
//! checksum table.

use crate::support::act::{ActOptions, ActRepo, ReleaseServer, VERSION, gantry_bin, sha256_file};
use crate::support::ecs::{EcsStandIn, Scenario};
use crate::support::require_tool;
use crate::support::runner::StrictProfile;
use crate::support::services::{Registry, busybox_image, docker_available};
use std::time::Duration;

/// The gates' tools a workflow's install step would install (the runner
/// image has no pytest): this machine's, for `vars.GATE_TOOLS`.
fn gate_tools(profile: &StrictProfile) -> String {
    let venv = crate::support::repo_root().join(".venv/bin");
    profile
        .installed(&[
            ("python", &venv.join("python")),
            ("pytest", &venv.join("pytest")),
        ])
        .display()
        .to_string()
}

#[test]
fn installs_a_verified_release_runs_the_example_and_hands_on_its_outputs() {
    let Some(repo) = ActRepo::new() else { return };
    if require_tool("pytest").is_none() || require_tool("node").is_none() || !docker_available() {
        return;
    }
    assert_eq!(
        busybox_image(),
        "gantry-test/busybox:1",
        "the workflow names it"
    );
    // As on GitHub: no gantry on PATH, the composite action's repository
    // and ref empty; the release is found from the action's own repository
    // (`uses: ./`: the workflow's) on GITHUB_SERVER_URL.
    let releases = ReleaseServer::start();
    let profile = StrictProfile::new(&[]);
    let tools = gate_tools(&profile);
    repo.copy_from_repo("examples/monorepo")
        .origin("gantry-dev/gantry")
        .released_as("gantry-dev/gantry", &releases, &gantry_bin())
        .workflow("dry-run.yml");
    let opts = ActOptions {
        strict: Some(&profile),
        act_env: &[("GITHUB_SERVER_URL", releases.url.as_str())],
        vars: &[("GATE_TOOLS", tools.as_str())],
        ..ActOptions::default()
    };

    let cold = repo.run_with("dry-run.yml", &opts).code(0);
    cold.shows(&format!(
        "downloading {}/gantry-dev/gantry/releases/download/v{VERSION}/",
        releases.url
    ))
    .shows("verified")
    .shows("api-tests passed in")
    .shows("Plan (dry run: nothing remote was changed)")
    .shows("read verdict=passed exit-code=0 gates-passed=api-tests,dashboard-lint,dashboard-tests,sdk-tests first-migration=");
    assert_eq!(releases.fetched().len(), 1);
    let cached_binary = repo
        .tool_cache()
        .join(format!("gantry/{VERSION}/x64/gantry"));
    assert!(cached_binary.is_file(), "{}", cold.output);

    // The second run finds the tool cache and downloads nothing.
    let cached = repo.run_with("dry-run.yml", &opts).code(0);
    cached.shows("from the tool cache");
    assert_eq!(releases.fetched().len(), 1);
    eprintln!(
        "install step: cold {:?}, cached {:?}",
        cold.step_time("\"$GITHUB_ACTION_PATH/dist/install\""),
        cached.step_time("\"$GITHUB_ACTION_PATH/dist/install\"")
    );
}

#[test]
fn a_tampered_asset_stops_the_job_before_gantry_runs() {
    let Some(repo) = ActRepo::new() else { return };
    let releases = ReleaseServer::start();
    let profile = StrictProfile::new(&[]);
    let tools = gate_tools(&profile);
    // The table holds the real binary's sha256; the release serves another
    // file, one that would leave a mark if it ever ran.
    let marker = repo.path().join("tampered-ran");
    let tampered = repo.cache_file("tampered");
    std::fs::write(
        &tampered,
        format!("#!/bin/sh\ntouch '{}'\n", marker.display()),
    )
    .unwrap();
    let bad = sha256_file(&tampered);
    let good = sha256_file(&gantry_bin());
    repo.copy_from_repo("examples/monorepo")
        .origin("gantry-dev/gantry")
        .released_as("gantry-dev/gantry", &releases, &tampered)
        .checksums(VERSION, &good)
        .workflow("dry-run.yml");
    let run = repo
        .run_with(
            "dry-run.yml",
            &ActOptions {
                strict: Some(&profile),
                act_env: &[("GITHUB_SERVER_URL", releases.url.as_str())],
                vars: &[("GATE_TOOLS", tools.as_str())],
                ..ActOptions::default()
            },
        )
        .code(1);
    run.shows(&format!("expected sha256 {good}, got {bad}"))
        .shows("Nothing was run");
    assert!(!marker.exists(), "the tampered asset ran");
    assert!(!run.output.contains("gate passed"), "{}", run.output);
    assert!(
        !repo.tool_cache().join("gantry").exists(),
        "a tampered asset is not cached"
    );
}

/// The action of `repo` as a release of the gantry under test, served as
/// GitHub serves release assets, and a strict runner profile: the release
/// server must stay alive while act runs.
fn released(repo: &ActRepo) -> (ReleaseServer, StrictProfile) {
    let releases = ReleaseServer::start();
    repo.origin("gantry-dev/gantry")
        .released_as("gantry-dev/gantry", &releases, &gantry_bin());
    (releases, StrictProfile::new(&[]))
}

/// A workspace with one gate.
fn with_gate(repo: &ActRepo, run: &str) {
    repo.write("gantry.toml", &format!("[gates.unit]\nrun = {run:?}\n"));
}

#[test]
fn hostile_inputs_are_data_and_a_usage_error() {
    let Some(repo) = ActRepo::new() else { return };
    with_gate(&repo, "true");
    let (releases, profile) = released(&repo);
    repo.workflow("injection.yml");
    let run = repo
        .run_with(
            "injection.yml",
            &ActOptions {
                strict: Some(&profile),
                act_env: &[("GITHUB_SERVER_URL", releases.url.as_str())],
                ..ActOptions::default()
            },
        )
        .code(0);
    run.shows("verified")
        .shows("exit codes=2,2,2,2,2")
        .shows("working-directory is not a directory")
        .shows("unknown command input");
    assert!(
        !repo.anywhere("pwned"),
        "an input was evaluated:\n{}",
        run.output
    );
}

#[test]
fn a_failing_gate_fails_the_job_with_annotations_a_summary_and_exit_code_1() {
    let Some(repo) = ActRepo::new() else { return };
    with_gate(&repo, "echo 'unit: assertion failed' >&2; exit 1");
    let (releases, profile) = released(&repo);
    repo.workflow("gate-failure.yml");
    let run = repo
        .run_with(
            "gate-failure.yml",
            &ActOptions {
                strict: Some(&profile),
                act_env: &[("GITHUB_SERVER_URL", releases.url.as_str())],
                ..ActOptions::default()
            },
        )
        .code(1);
    run.shows("::error")
        .shows("Summary - ")
        .shows("after exit-code=1 verdict=failed gates-failed=unit")
        .shows("Job failed");
}

const USER: (&str, &str) = ("ci-bot", "Regi5try-Pa55word");
const NEW_TASK_DEFINITION: &str =
    "arn:aws:ecs:us-east-1:123456789012:task-definition/codewarden-api:8";

/// A project that builds `api`, pushes it to `registry` and deploys it to
/// the ECS stand-in's `prod/api`.
fn shipping_project(repo: &ActRepo, registry: &str) {
    let td = std::fs::read_to_string(
        crate::support::repo_root().join("examples/monorepo/deploy/task-definition.json"),
    )
    .unwrap();
    repo.write("deploy/task-definition.json", &td)
        .write("api/Dockerfile", "FROM scratch\nCOPY app.txt /app.txt\n")
        .write("api/app.txt", "version 1\n")
        .write(
            "gantry.toml",
            &format!(
                "[images.api]\ncontext = \"api\"\nrepository = \"codewarden/api\"\nregistry = \"{registry}\"\ntags = [\"sha\"]\n\n\
                 [registries.\"{registry}\"]\nusername-env = \"REG_USER\"\npassword-env = \"REG_PASSWORD\"\n\n\
                 [deploy.api]\ncontainers = {{ api = \"api\" }}\n\n\
                 [deploy.api.ecs]\ncluster = \"prod\"\nservice = \"api\"\ntask-definition = \"deploy/task-definition.json\"\n"
            ),
        );
}

type Pairs = Vec<(String, String)>;

/// The knobs of the strict profile (endpoints, poll interval), for act's
/// environment, and the credentials, which the workflows take from secrets
/// as a user's would.
fn shipping_env(ecs: &EcsStandIn) -> (Pairs, Pairs) {
    let (mut knobs, mut secrets) = (Vec::new(), Vec::new());
    for (k, v) in ecs.env() {
        if k.starts_with("AWS_ACCESS_KEY_ID") || k.starts_with("AWS_SECRET") {
            secrets.push((k, v));
        } else {
            knobs.push((k, v));
        }
    }
    knobs.push(("GANTRY_ECS_POLL_INTERVAL".into(), "40ms".into()));
    secrets.push(("REG_USER".into(), USER.0.into()));
    secrets.push(("REG_PASSWORD".into(), USER.1.into()));
    (knobs, secrets)
}

/// The digest reference `push` stored for the act repository's commit.
fn pushed(repo: &ActRepo, registry: &Registry) -> String {
    let head = repo.head();
    let digest = registry
        .manifest_digest("codewarden/api", &format!("sha-{}", &head[..7]), Some(USER))
        .expect("push pushed the sha tag");
    format!("{}/codewarden/api@{digest}", registry.host)
}

/// Runs a workflow that builds, pushes and deploys `api` (with a real
/// registry and the ECS stand-in), and checks that the task definition the
/// deploy registered runs the digest the push pushed. Returns act's run and
/// the stand-in, or `None` when skipped.
fn ship(workflow: &str) -> Option<(crate::support::act::ActRun, EcsStandIn)> {
    let repo = ActRepo::new()?;
    if !docker_available() {
        return None;
    }
    let registry = Registry::start(Some(USER))?;
    let ecs = EcsStandIn::start(Scenario::Success, Duration::from_millis(150));
    shipping_project(&repo, &registry.host);
    let (releases, profile) = released(&repo);
    repo.workflow(workflow);
    let (knobs, secrets) = shipping_env(&ecs);
    let knobs: Vec<(&str, &str)> = knobs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let secrets: Vec<(&str, &str)> = secrets
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let run = repo
        .run_with(
            workflow,
            &ActOptions {
                env: &knobs,
                secrets: &secrets,
                strict: Some(&profile),
                act_env: &[("GITHUB_SERVER_URL", releases.url.as_str())],
                ..ActOptions::default()
            },
        )
        .code(0);
    let image = pushed(&repo, &registry);
    let registered = ecs
        .task_definition(NEW_TASK_DEFINITION)
        .expect("registered");
    assert_eq!(
        registered["containerDefinitions"][0]["image"],
        image.as_str()
    );
    assert_eq!(ecs.running_task_definition(), NEW_TASK_DEFINITION);
    run.shows(&format!("deployed {{\"api\":\"{NEW_TASK_DEFINITION}\"}}"));
    assert!(!run.output.contains(USER.1), "the password leaked");
    Some((run, ecs))
}

#[test]
fn build_push_and_deploy_chain_through_the_pipeline_state_in_one_job() {
    if let Some((run, _)) = ship("chain.yml") {
        eprintln!("act: the three-step job took {:?}", run.elapsed);
    }
}

#[test]
fn a_later_job_deploys_what_an_earlier_job_pushed_through_the_state_output() {
    if let Some((run, _)) = ship("across-jobs.yml") {
        run.shows("[across-jobs/deploy]");
    }
}

/// Runs a linter; any finding (a non-zero exit) fails with its report.
fn lint(tool: &std::path::Path, args: &[&str], dir: &std::path::Path) -> String {
    let out = std::process::Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the linter runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{} {args:?}:\n{text}", tool.display());
    text
}

#[test]
fn zizmor_actionlint_and_shellcheck_find_nothing() {
    let (Some(zizmor), Some(actionlint), Some(shellcheck)) = (
        require_tool("zizmor"),
        require_tool("actionlint"),
        require_tool("shellcheck"),
    ) else {
        return;
    };
    let root = crate::support::repo_root();
    let report = lint(
        &zizmor,
        &[
            "--persona",
            "pedantic",
            "--offline",
            "action.yml",
            ".github/workflows/release.yml",
        ],
        &root,
    );
    assert!(report.contains("No findings"), "{report}");

    // actionlint checks a `uses: ./` step against action.yml's inputs only
    // in a repository's .github/workflows: lint the release workflow and
    // every workflow of the act tests there, with the action beside them.
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(repo.path().join(".git")).unwrap();
    std::fs::copy(root.join("action.yml"), repo.path().join("action.yml")).unwrap();
    let workflows = repo.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::copy(
        root.join(".github/workflows/release.yml"),
        workflows.join("release.yml"),
    )
    .unwrap();
    for entry in std::fs::read_dir(root.join("tests/act"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
    {
        std::fs::copy(entry.path(), workflows.join(entry.file_name())).unwrap();
    }
    lint(
        &actionlint,
        &["-shellcheck", shellcheck.to_str().unwrap()],
        repo.path(),
    );

    lint(
        &shellcheck,
        &[
            "dist/install",
            "dist/run",
            "scripts/release",
            "scripts/check-static",
        ],
        &root,
    );
}

#[test]
fn the_static_check_reads_elf_program_headers() {
    let root = crate::support::repo_root();
    let check = |bin: &str| {
        std::process::Command::new(root.join("scripts/check-static"))
            .arg(bin)
            .output()
            .unwrap()
    };
    // busybox-static is fully static; ls asks for the dynamic loader.
    if std::path::Path::new("/bin/busybox").is_file() {
        let out = check("/bin/busybox");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = check("/bin/ls");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not static"));
    assert_eq!(
        check(root.join("Cargo.toml").to_str().unwrap())
            .status
            .code(),
        Some(2)
    );
}

/// The release workflow under act, as far as it goes here: the build leg of
/// this machine's target runs for real (`scripts/release`: a release build,
/// the static check), then the publish job writes the checksum tables and
/// prints what it would change on GitHub. The binary it built must resolve
/// `localhost` (a static glibc binary resolves names without loading NSS
/// modules only for `files` and `dns`).
#[test]
fn the_release_workflow_builds_a_static_binary_that_resolves_localhost() {
    let Some(repo) = ActRepo::new() else { return };
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        eprintln!("*** SKIPPED: the act release test runs the x86_64 Linux leg ***");
        return;
    }
    for file in ["Cargo.toml", "Cargo.lock", ".github/workflows/release.yml"] {
        repo.copy_file_from_repo(file);
    }
    repo.copy_from_repo("src").copy_from_repo("scripts");
    let root = crate::support::repo_root();
    let artifacts = tempfile::tempdir().unwrap();
    // The release build reuses the tests' build folder, as CI keeps it.
    let target_dir = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| root.join("target").display().to_string());
    let run = repo
        .run_with(
            "release.yml",
            &ActOptions {
                event: Some("workflow_dispatch"),
                payload: Some(serde_json::json!({ "inputs": { "version": VERSION } })),
                extra: &[
                    "-P",
                    "ubuntu-24.04=-self-hosted",
                    "--matrix",
                    "target:x86_64-unknown-linux-gnu",
                    "--env",
                    "GANTRY_RELEASE_DRY_RUN=true",
                ],
                local_repositories: &crate::support::act::stand_ins(),
                env: &[
                    ("GANTRY_ACT_ARTIFACTS", artifacts.path().to_str().unwrap()),
                    ("CARGO_TARGET_DIR", &target_dir),
                ],
                ..ActOptions::default()
            },
        )
        .code(0);
    let asset = format!("gantry-{VERSION}-linux-x64");
    let binary = artifacts
        .path()
        .join("gantry-x86_64-unknown-linux-gnu")
        .join(&asset);
    let sha = sha256_file(&binary);
    run.shows("is static")
        .shows(&format!("{sha}  {asset}"))
        .shows(&format!("dry run: gh release create v{VERSION}"))
        .shows(&format!("dry run: would create v{VERSION} at "))
        .shows(&format!(
            "and move v{} there",
            VERSION.split('.').next().unwrap()
        ));
    let size = std::fs::metadata(&binary).unwrap().len();
    eprintln!(
        "release binary: {size} bytes ({:.1} MiB)",
        size as f64 / 1_048_576.0
    );
    assert!(
        size < 30 * 1024 * 1024,
        "the release binary is {size} bytes"
    );

    // The static binary reaches a server by the name `localhost`.
    let ecs = EcsStandIn::start(Scenario::Success, Duration::from_millis(150));
    let p = crate::support::Project::new();
    let td = std::fs::read_to_string(root.join("examples/monorepo/deploy/task-definition.json"))
        .unwrap();
    p.write("deploy/task-definition.json", &td)
        .write("Dockerfile", "FROM scratch\n")
        .write(
        "gantry.toml",
        "[images.api]\ncontext = \".\"\nrepository = \"codewarden/api\"\n\n\
         [deploy.api]\ncontainers = { api = \"api\" }\n\n\
         [deploy.api.ecs]\ncluster = \"prod\"\nservice = \"api\"\ntask-definition = \"deploy/task-definition.json\"\n",
    );
    let sha = p.commit("deploy");
    p.write(
        ".gantry/state.json",
        &serde_json::json!({"version": 1, "revision": sha, "steps": {"push": {
            "verdict": "passed", "dry_run": false, "finished_at": "2026-01-01T00:00:00Z",
            "outputs": {"image-api-digest": "r.example/codewarden/api@sha256:1111111111111111111111111111111111111111111111111111111111111111"}}}})
        .to_string(),
    );
    let env: Vec<(String, String)> = ecs
        .env()
        .into_iter()
        .map(|(k, v)| (k, v.replace("127.0.0.1", "localhost")))
        .collect();
    assert!(env.iter().any(|(_, v)| v.starts_with("http://localhost:")));
    let out = std::process::Command::new(&binary)
        .args(["deploy", "ecs", "--dry-run"])
        .current_dir(p.path())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", p.path())
        .envs(env)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        ecs.operations().iter().any(|o| o == "DescribeServices"),
        "the stand-in was reached by name"
    );
}

/// A token shaped like the runner's `ACTIONS_RUNTIME_TOKEN`: a JWT whose
/// claims BuildKit's cache client reads without checking the signature
/// (`ac`, the cache scopes with their permissions; `exp`; `nbf`). act's
/// cache server does not check it either.
fn runtime_token() -> String {
    use base64::Engine as _;
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = serde_json::json!({ "alg": "HS256", "typ": "JWT" });
    let claims = serde_json::json!({
        "ac": r#"[{"Scope":"refs/heads/main","Permission":3}]"#,
        "exp": now + 3600,
        "nbf": now - 60,
    });
    format!("{}.{}.c2lnbmVkLWJ5LW5vYm9keQ", b64(&header), b64(&claims))
}

/// The cache entries act's cache server holds (committed blobs).
fn cache_entries(dir: &std::path::Path) -> usize {
    let Ok(buckets) = std::fs::read_dir(dir.join("cache")) else {
        return 0;
    };
    buckets
        .flatten()
        .filter(|b| b.file_name() != "tmp")
        .filter_map(|b| std::fs::read_dir(b.path()).ok())
        .map(|files| files.flatten().count())
        .sum()
}

/// `type=gha` end to end: a workflow hands the runner's cache service to
/// gantry (the runtime step), gantry hands it to the engine's BuildKit, which
/// exports every stage's steps there (`mode=max`); after the engine loses its
/// images and build cache, the next run takes every step from the service.
/// The service is act's cache server (GitHub's v1 cache API, which Docker
/// 26's BuildKit speaks), in the engine's network namespace with act.
#[test]
fn a_gha_cache_written_by_one_run_serves_the_next_on_docker_26() {
    let Some(engine) = crate::support::dockerd::engine26_containerd() else {
        return;
    };
    let Some(repo) = ActRepo::new() else { return };
    let nonce = format!(
        "gha-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    repo.write(
        "gantry.toml",
        "[images.app]\ncontext = \"app\"\nrepository = \"team/ghacache\"\ntags = [\"raw:1\"]\n\
         cache-from = [\"type=gha,scope=app\"]\ncache-to = [\"type=gha,scope=app,mode=max\"]\n",
    )
    .write(
        "app/Dockerfile",
        &format!(
            "FROM {base} AS build\nRUN echo {nonce} > /a\n\nFROM {base}\nCOPY --from=build /a /a\nRUN echo two > /b\n",
            base = crate::support::dockerd::BUSYBOX
        ),
    )
    .checksums(VERSION, &sha256_file(&gantry_bin()))
    .workflow("gha-cache.yml");
    let on_path = gantry_bin().parent().unwrap().to_path_buf();
    let server = tempfile::tempdir().unwrap();
    let token = runtime_token();
    let netns = engine.netns();
    let stand_ins = crate::support::act::stand_ins();
    let run = || {
        repo.run_with(
            "gha-cache.yml",
            &ActOptions {
                env: &[
                    ("DOCKER_HOST", &engine.host),
                    ("ACTIONS_RUNTIME_TOKEN", &token),
                ],
                path_first: Some(&on_path),
                local_repositories: &stand_ins,
                extra: &[
                    "--cache-server-addr",
                    "127.0.0.1",
                    "--cache-server-path",
                    server.path().to_str().unwrap(),
                ],
                netns: Some(&netns),
                ..ActOptions::default()
            },
        )
        .code(0)
    };
    let cached = |output: &str, step: &str| {
        output
            .lines()
            .any(|l| l.contains(" CACHED [") && l.contains(step))
    };

    let first = run();
    assert!(!cached(&first.output, &nonce), "{}", first.output);
    assert!(
        !first.output.contains("is not exported"),
        "{}",
        first.output
    );
    assert!(!first.output.contains(&token), "the runtime token leaked");
    let entries = cache_entries(server.path());
    assert!(entries >= 2, "the cache server holds {entries} entries");

    // A fresh runner: no image, no build cache; only the service has it.
    engine.docker(&["rmi", "-f", "team/ghacache:1"]);
    engine.docker(&["builder", "prune", "-af"]);
    let second = run();
    assert!(
        cached(&second.output, &format!("RUN echo {nonce}"))
            && cached(&second.output, "RUN echo two"),
        "{}",
        second.output
    );
    assert!(!second.output.contains(&token), "the runtime token leaked");
    eprintln!(
        "act: gha cache written in {:?}, read back in {:?} ({entries} entries)",
        first.elapsed, second.elapsed
    );
    let _ = engine.command(&["rmi", "-f", "team/ghacache:1"]).output();
}
