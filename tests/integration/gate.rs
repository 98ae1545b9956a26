//! `gantry gate`: parallelism, timeouts, changed paths, JUnit and matchers,
//! with real git repositories, real pytest and node's test runner.

use crate::support::github_api::GithubApi;
use crate::support::{Project, Runner, require_tool};
use serde_json::json;

/// Two gates that each wait for the other to start pass only when they run
/// at the same time: proof of parallelism without timing anything.
#[test]
fn gates_run_in_parallel_up_to_jobs() {
    let p = Project::new();
    let wait_for = |me: &str, other: &str| {
        format!(
            "touch {me}.started; i=0; while [ ! -f {other}.started ]; do i=$((i+1)); [ $i -gt 200 ] && exit 9; sleep 0.05; done"
        )
    };
    p.write(
        "gantry.toml",
        &format!(
            "[gates.a]\nrun = \"{}\"\n[gates.b]\nrun = \"{}\"\n",
            wait_for("a", "b"),
            wait_for("b", "a")
        ),
    );
    p.gantry().args(["gate", "--jobs", "2"]).run().code(0);
    std::fs::remove_file(p.path().join("a.started")).unwrap();
    std::fs::remove_file(p.path().join("b.started")).unwrap();
    let r = p.gantry().args(["gate", "--jobs", "1"]).run().code(1);
    assert!(r.stdout.contains("exit code 9"), "{}", r.stdout);
}

#[test]
fn all_gates_finish_before_the_verdict() {
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[gates.fails-fast]\nrun = \"exit 1\"\n[gates.slow]\nrun = \"sleep 0.3; touch slow.done\"\n",
    );
    p.gantry().args(["gate", "--jobs", "2"]).run().code(1);
    assert!(p.path().join("slow.done").exists());
}

#[test]
fn a_timeout_kills_the_gate_and_everything_it_started() {
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[gates.hangs]\nrun = \"sleep 300 & echo $! > child.pid; sleep 300\"\ntimeout = \"1s\"\n",
    );
    let r = p.gantry().args(["gate"]).run().code(1);
    assert!(r.stdout.contains("timed out"), "{}", r.stdout);
    assert!(r.stderr.contains("timed out after 1s"), "{}", r.stderr);
    let pid = p.read("child.pid").trim().to_string();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.contains(") Z "),
        "child {pid} still running: {stat}"
    );
}

fn two_gate_project() -> Project {
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[gates.api]\nrun = \"true\"\npaths = [\"api/**\"]\n\n[gates.web]\nrun = \"true\"\npaths = [\"web/**\", \"shared/*.json\"]\n\n[gates.always]\nrun = \"true\"\n",
    );
    p.write("api/app.py", "x = 1\n");
    p.write("web/index.js", "export {}\n");
    p
}

#[test]
fn only_gates_whose_paths_changed_run_locally_with_since() {
    let p = two_gate_project();
    let base = p.commit("base");
    p.write("api/app.py", "x = 2\n");
    p.commit("change the api");
    let r = p
        .gantry()
        .args(["gate", "--since", &base, "--format", "json"])
        .run()
        .code(0);
    let doc = r.json();
    let status = |name: &str| {
        doc["detail"]["gates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == name)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status("api"), "passed");
    assert_eq!(status("web"), "skipped");
    assert_eq!(status("always"), "passed");
    assert_eq!(doc["detail"]["changes"]["files"], 1);

    // Uncommitted and untracked files count too.
    p.write("shared/colors.json", "{}");
    let doc = p
        .gantry()
        .args(["gate", "--since", "HEAD", "--format", "json"])
        .run()
        .code(0)
        .json();
    let web = doc["detail"]["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "web")
        .unwrap()
        .clone();
    assert_eq!(web["status"], "passed");
}

#[test]
fn without_a_base_every_gate_runs_and_the_summary_says_why() {
    let p = two_gate_project();
    p.commit("base");
    let r = p.gantry().args(["gate"]).run().code(0);
    assert!(
        r.stderr
            .contains("every gate runs: no base to compare with locally"),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains("skipped"), "{}", r.stdout);
}

/// The step's environment for a push of `head` whose `before` is `before`,
/// with GitHub's API at `api` and the job's token.
fn push_env(runner: &Runner, api: &GithubApi, before: &str, head: &str) -> Vec<(String, String)> {
    let mut env = runner.env("push", json!({"before": before, "after": head}), head);
    env.extend(
        [
            ("GITHUB_API_URL", api.url.as_str()),
            ("GITHUB_TOKEN", "ghs_job_token"),
            (
                "GITHUB_WORKFLOW_REF",
                "codewarden/app/.github/workflows/ship.yml@refs/heads/main",
            ),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    env
}

/// A push compares with the commit of this workflow's last passed run on
/// the branch, asked of GitHub, not with the push's `before`: a push whose
/// api gate failed, then a push that touches only web, still runs the api
/// gate (with `before`, it was skipped and the failing change shipped).
#[test]
fn in_ci_a_push_compares_with_the_last_passed_run_on_the_branch() {
    let p = two_gate_project();
    let passed = p.commit("base");
    p.write("api/app.py", "x = 2\n");
    let failed = p.commit("an api change whose gate failed");
    p.write("web/index.js", "export const x = 1\n");
    let head = p.commit("a web change");
    let github = GithubApi::start("codewarden/app", "ghs_job_token");
    github.run("ship.yml", "main", "success", &passed);
    github.run("ship.yml", "other", "failure", &passed);
    github.run("ship.yml", "main", "failure", &failed);

    let runner = Runner::new();
    let r = p
        .gantry()
        .args(["gate"])
        .envs(push_env(&runner, &github, &failed, &head))
        .run()
        .code(0);
    let outputs = runner.outputs();
    assert_eq!(outputs["gates-skipped"], "", "{}", r.stdout);
    assert_eq!(outputs["gates-passed"], "api,web,always");
    assert!(
        runner.summary().contains(&format!(
            "2 changed file(s) since the last passed commit {}",
            &passed[..7]
        )),
        "{}",
        runner.summary()
    );
    assert_eq!(
        github.calls(),
        vec!["GET /repos/codewarden/app/actions/workflows/ship.yml/runs"]
    );

    // Once that push passes, the next web-only push skips the api gate.
    github.run("ship.yml", "main", "success", &head);
    p.write("web/index.js", "export const x = 2\n");
    let next = p.commit("another web change");
    let runner = Runner::new();
    p.gantry()
        .args(["gate"])
        .envs(push_env(&runner, &github, &head, &next))
        .run()
        .code(0);
    assert_eq!(runner.outputs()["gates-skipped"], "api");
}

fn log(r: &crate::support::Run) -> String {
    format!("{}{}", r.stdout, r.stderr)
}

/// `gantry gate` in a push step with `env`: it passes with no gate skipped.
fn every_gate_ran(p: &Project, runner: &Runner, env: Vec<(String, String)>) -> String {
    let r = p.gantry().args(["gate"]).envs(env).run().code(0);
    assert_eq!(runner.outputs()["gates-skipped"], "", "{}", log(&r));
    log(&r)
}

/// When the last passed commit cannot be known, every gate runs, and why.
#[test]
fn in_ci_a_push_runs_every_gate_when_the_last_passed_run_is_unknown() {
    let p = two_gate_project();
    let before = p.commit("base");
    p.write("web/index.js", "export const x = 1\n");
    let head = p.commit("a web change");
    let github = GithubApi::start("codewarden/app", "ghs_job_token");

    // No run has passed on the branch yet.
    let runner = Runner::new();
    let out = every_gate_ran(&p, &runner, push_env(&runner, &github, &before, &head));
    assert!(
        out.contains("every gate runs: no run of ship.yml has passed on main yet"),
        "{out}"
    );

    // A token without `actions: read`: GitHub's 403, named, and the permission to add.
    github.run("ship.yml", "main", "success", &before);
    github.deny_actions();
    let runner = Runner::new();
    let out = every_gate_ran(&p, &runner, push_env(&runner, &github, &before, &head));
    assert!(
        out.contains("403 Resource not accessible by integration")
            && out.contains("permissions: actions: read"),
        "{out}"
    );
    // Only the runner's mask command may carry it.
    assert!(
        out.lines()
            .all(|l| !l.contains("ghs_job_token") || l == "::add-mask::ghs_job_token"),
        "{out}"
    );

    // No token at all.
    let runner = Runner::new();
    let env: Vec<(String, String)> = push_env(&runner, &github, &before, &head)
        .into_iter()
        .filter(|(k, _)| k != "GITHUB_TOKEN")
        .collect();
    let out = every_gate_ran(&p, &runner, env);
    assert!(out.contains("GITHUB_TOKEN is not set"), "{out}");
}

#[test]
fn in_ci_a_pull_request_compares_with_its_base_and_a_shallow_clone_runs_everything() {
    let p = two_gate_project();
    let base = p.commit("base");
    p.write("api/app.py", "x = 3\n");
    let head = p.commit("api change");
    let runner = Runner::new();
    let event = json!({"pull_request": {"base": {"sha": base}, "head": {"sha": head}}});
    p.gantry()
        .args(["gate"])
        .envs(runner.env("pull_request", event, &head))
        .run()
        .code(0);
    assert_eq!(runner.outputs()["gates-skipped"], "web");

    // A base commit the clone does not have (fetch-depth 1): every gate runs.
    let runner = Runner::new();
    let event = json!({"pull_request": {"base": {"sha": "1111111111111111111111111111111111111111"}, "head": {"sha": head}}});
    let r = p
        .gantry()
        .args(["gate"])
        .envs(runner.env("pull_request", event, &head))
        .run()
        .code(0);
    assert_eq!(runner.outputs()["gates-skipped"], "");
    assert!(r.stdout.contains("fetch-depth: 0"), "{}", r.stdout);
    assert!(
        runner
            .summary()
            .contains("Every gate ran: cannot list the changed files")
    );
}

const PYTEST_GATE: &str = "[gates.api-tests]\ndir = \"api\"\nrun = \"python -m pytest -q --junitxml=reports/junit.xml\"\njunit = \"reports/junit.xml\"\nmatcher = \"pytest\"\n";

fn pytest_project(test_body: &str) -> Project {
    let p = Project::new();
    p.write("gantry.toml", PYTEST_GATE);
    p.write("api/tests/test_math.py", test_body);
    p.commit("api");
    p
}

#[test]
fn a_failing_pytest_test_is_annotated_at_its_file_and_line_in_github() {
    if require_tool("pytest").is_none() {
        return;
    }
    let p = pytest_project(
        "def test_adds():\n    assert 1 + 1 == 2\n\n\ndef test_subtracts():\n    assert 3 - 1 == 1, \"subtraction is broken\"\n\n\ndef test_skipped():\n    import pytest\n    pytest.skip(\"later\")\n",
    );
    let runner = Runner::new();
    let sha = p.git(&["rev-parse", "HEAD"]);
    let r = p
        .gantry()
        .args(["gate"])
        .envs(runner.env("workflow_dispatch", json!({}), &sha))
        .run()
        .code(1);
    let errors = r.commands("::error");
    assert!(
        errors.iter().any(
            |e| e.starts_with("::error file=api/tests/test_math.py,line=6,")
                && e.contains("title=api-tests%3A tests.test_math.test_subtracts")
                && e.contains("subtraction is broken")
        ),
        "{errors:#?}\n{}",
        r.stdout
    );
    // One located annotation per failure: the matcher adds nothing twice.
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(r.stdout.contains("::group::api-tests"), "{}", r.stdout);
    let summary = runner.summary();
    assert!(summary.contains("### gantry gate: failed"), "{summary}");
    assert!(
        summary.contains("| api-tests | ❌ failed |") && summary.contains("| 1 / 1 / 1 |"),
        "{summary}"
    );
    assert!(
        summary.contains("tests.test_math.test_subtracts: AssertionError: subtraction is broken"),
        "{summary}"
    );
    assert_eq!(runner.outputs()["gate-verdict"], "failed");
    assert_eq!(runner.outputs()["gates-failed"], "api-tests");
}

#[test]
fn a_failing_node_test_is_annotated_at_its_file_and_line() {
    if require_tool("node").is_none() {
        return;
    }
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[gates.web]\ndir = \"web\"\nrun = \"node --test --test-reporter=junit --test-reporter-destination=reports/junit.xml\"\njunit = \"reports/junit.xml\"\n",
    );
    p.write("web/package.json", "{\"type\": \"module\"}\n");
    p.write(
        "web/test/math.test.js",
        "import test from 'node:test';\nimport assert from 'node:assert';\n\ntest('adds', () => assert.equal(1 + 1, 2));\ntest('multiplies', () => {\n  assert.equal(2 * 2, 5);\n});\n",
    );
    let r = p
        .gantry()
        .args(["gate", "--format", "github"])
        .run()
        .code(1);
    let errors = r.commands("::error");
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("::error file=web/test/math.test.js,line=6,")),
        "{errors:#?}"
    );
    assert!(r.stdout.contains("1 / 1 / 0"), "{}", r.stdout);
}

#[test]
fn a_gate_that_writes_no_report_fails_when_tests_are_required() {
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[gates.quiet]\nrun = \"true\"\njunit = \"out/*.xml\"\nfail-on-no-tests = true\n[gates.lenient]\nrun = \"true\"\njunit = \"missing.xml\"\n",
    );
    let doc = p
        .gantry()
        .args(["gate", "--format", "json"])
        .run()
        .code(1)
        .json();
    let gates = doc["detail"]["gates"].as_array().unwrap();
    assert_eq!(gates[0]["status"], "failed");
    assert_eq!(gates[0]["reason"], "no JUnit report at out/*.xml");
    assert_eq!(gates[1]["status"], "passed");
}

#[test]
fn an_optional_gate_warns_but_does_not_fail_the_pipeline() {
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[gates.flaky]\nrun = \"echo 'src/x.js:3:7: Unexpected var' && exit 1\"\nrequired = false\nmatcher = \"generic\"\n",
    );
    p.write("src/x.js", "\n\nvar x\n");
    let r = p
        .gantry()
        .args(["gate", "--format", "github"])
        .run()
        .code(0);
    assert_eq!(r.commands("::error").len(), 0, "{}", r.stdout);
    assert_eq!(
        r.commands("::warning"),
        ["::warning file=src/x.js,line=3,col=7,title=flaky::Unexpected var"]
    );
}

#[test]
fn matcher_output_from_a_subdirectory_is_annotated_at_the_repository_path() {
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[gates.lint]\ndir = \"api\"\nrun = [\"sh\", \"-c\", \"echo 'app/main.py:1:8: F401 [*] `os` imported but unused'; exit 1\"]\nmatcher = \"ruff\"\n",
    );
    p.write("api/app/main.py", "import os\n");
    let r = p
        .gantry()
        .args(["gate", "--format", "github"])
        .run()
        .code(1);
    assert_eq!(
        r.commands("::error"),
        ["::error file=api/app/main.py,line=1,col=8,title=lint::F401 [*] `os` imported but unused"]
    );
}

#[test]
fn a_missing_program_fails_the_gate_with_a_clear_reason() {
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[gates.x]\nrun = [\"gantry-test-no-such-tool\", \"--check\"]\n",
    );
    let r = p.gantry().args(["gate"]).run().code(1);
    assert!(
        r.stderr.contains("cannot run `gantry-test-no-such-tool`"),
        "{}",
        r.stderr
    );
}

#[test]
fn failed_gate_output_is_shown_and_passing_output_only_with_verbose() {
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[gates.ok]\nrun = \"echo all-good\"\n[gates.bad]\nrun = \"echo broken-thing; exit 2\"\n",
    );
    let r = p.gantry().args(["gate"]).run().code(1);
    assert!(r.stderr.contains("| broken-thing"), "{}", r.stderr);
    assert!(!r.stderr.contains("all-good"), "{}", r.stderr);
    let r = p.gantry().args(["gate", "-v"]).run().code(1);
    assert!(r.stderr.contains("| all-good"), "{}", r.stderr);
}

/// `PATH = "venv/bin:$PATH"` used to reach the gate literally, so not even
/// `sh` could be found; now it expands from gantry's environment.
#[test]
fn env_values_expand_variables_from_the_environment() {
    let p = Project::new();
    p.write(
        "venv/bin/gantry-test-tool",
        "#!/bin/sh\necho tool-ran-with-$GREETING\n",
    );
    std::fs::set_permissions(
        p.path().join("venv/bin/gantry-test-tool"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    p.write(
        "gantry.toml",
        "[gates.x]\nrun = \"gantry-test-tool\"\nenv = { PATH = \"venv/bin:$PATH\", GREETING = \"${GANTRY_TEST_GREETING}-${GANTRY_TEST_UNSET:-dflt}\" }\n",
    );
    let r = p
        .gantry()
        .env("GANTRY_TEST_GREETING", "hello")
        .args(["gate", "-v"])
        .run()
        .code(0);
    assert!(
        r.stderr.contains("tool-ran-with-hello-dflt"),
        "{}",
        r.stderr
    );

    p.write(
        "gantry.toml",
        "[gates.x]\nrun = \"true\"\nenv = { PATH = \"venv/bin:$PAHT\" }\n",
    );
    let r = p.gantry().args(["gate"]).run().code(2);
    assert!(
        r.stderr.contains("env PATH uses $PAHT, which is not set"),
        "{}",
        r.stderr
    );
}

/// A gate's output beyond the capture (4 MiB) used to give a count of the
/// kept lines only and a false "-v shows all"; the count is of the whole
/// output now, and the whole of it is in a file under the state folder.
#[test]
fn a_huge_output_is_counted_whole_and_kept_in_a_log_file() {
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[gates.big]\nrun = \"seq 1 1000000; exit 1\"\n",
    );
    let r = p.gantry().args(["gate"]).run().code(1);
    let log = p.path().join(".gantry/logs/gate-big.log");
    assert!(
        r.stderr.contains(&format!(
            "[... 999940 earlier lines; the whole output is in {} ...]",
            log.display()
        )),
        "{}",
        &r.stderr[..r.stderr.len().min(3000)]
    );
    assert!(!r.stderr.contains("-v shows all"));
    assert!(r.stderr.contains("| 1000000"));
    let whole = std::fs::read_to_string(&log).unwrap();
    assert_eq!(whole.lines().count(), 1_000_000);
    assert!(whole.starts_with("1\n2\n"));

    // In GitHub the group says what was cut too; the log is under $RUNNER_TEMP.
    let tmp = tempfile::tempdir().unwrap();
    let r = p
        .gantry()
        .env("GITHUB_ACTIONS", "true")
        .env("CI", "true")
        .env("RUNNER_TEMP", tmp.path().to_str().unwrap())
        .args(["gate"])
        .run()
        .code(1);
    let log = tmp.path().join("gantry/logs/gate-big.log");
    assert!(log.exists(), "{}", &r.stdout[..r.stdout.len().min(3000)]);
    assert!(
        r.stdout.contains(&format!(
            "earlier lines; the whole output is in {}",
            log.display()
        )),
        "{}",
        &r.stdout[..r.stdout.len().min(3000)]
    );
}

#[test]
fn the_whole_log_file_has_the_gates_secrets_redacted() {
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[gates.leaky]\nrun = \"echo token=$GATE_TOKEN; exit 1\"\nsecrets = [\"GATE_TOKEN\"]\n",
    );
    let secret = "s3cr3t-gate-token-value";
    let r = p
        .gantry()
        .env("GATE_TOKEN", secret)
        .args(["gate"])
        .run()
        .code(1);
    assert!(!r.stderr.contains(secret) && !r.stdout.contains(secret));
    let log = std::fs::read_to_string(p.path().join(".gantry/logs/gate-leaky.log")).unwrap();
    assert!(log.contains("token=***"), "{log}");
    assert!(!log.contains(secret), "{log}");
}
