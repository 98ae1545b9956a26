//! `gantry run`: the pipeline, and the bundled example.

use crate::support::services::{busybox_image, docker_available};
use crate::support::{Gantry, Project, Runner, repo_root, require_tool};
use serde_json::json;

#[test]
fn the_example_pipeline_dry_run_passes_and_prints_the_plan() {
    if require_tool("pytest").is_none() || require_tool("node").is_none() || !docker_available() {
        return;
    }
    let example = repo_root().join("examples/monorepo");
    // As scripts/demo does: a stand-in base image, and no AWS account.
    let base = format!("PYTHON_IMAGE={}", busybox_image());
    let r = Gantry::new(&example)
        .args(["run", "--dry-run", "--build-arg", &base])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .run()
        .code(0);
    for gate in [
        "api-tests",
        "dashboard-lint",
        "dashboard-tests",
        "sdk-tests",
    ] {
        assert!(
            r.stderr.contains(&format!("✓ {gate} passed")),
            "{}",
            r.stderr
        );
    }
    assert!(
        r.stdout
            .contains("Plan (dry run: nothing remote was changed)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("gate: passed"), "{}", r.stdout);
    assert!(r.stderr.contains("✓ api built"), "{}", r.stderr);
    assert!(r.stdout.contains("push: not checked"), "{}", r.stdout);
    assert!(
        r.stdout.contains("push (registry not checked)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("no AWS credentials found"),
        "{}",
        r.stderr
    );
}

#[test]
fn run_stops_at_the_failing_step_and_writes_one_json_document() {
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[pipeline]\nsteps = [\"gate\"]\n[gates.bad]\nrun = \"exit 1\"\n",
    );
    let doc = p
        .gantry()
        .args(["run", "--format", "json"])
        .run()
        .code(1)
        .json();
    assert_eq!(doc["command"], "run");
    assert_eq!(doc["verdict"], "failed");
    assert_eq!(doc["detail"]["steps"][0]["step"], "gate");
    assert_eq!(doc["detail"]["steps"][0]["verdict"], "failed");
    assert_eq!(doc["detail"]["steps"][0]["outputs"]["gates-failed"], "bad");
    assert_eq!(doc["outputs"]["gate-verdict"], "failed");
}

#[test]
fn run_in_actions_writes_a_pipeline_summary() {
    let p = Project::new();
    p.write("gantry.toml", "[gates.ok]\nrun = \"true\"\n");
    let sha = p.commit("init");
    let runner = Runner::new();
    p.gantry()
        .args(["run", "gate"])
        .envs(runner.env(
            "push",
            json!({"before": "0000000000000000000000000000000000000000"}),
            &sha,
        ))
        .run()
        .code(0);
    let summary = runner.summary();
    assert!(summary.contains("## gantry run: passed"), "{summary}");
    assert!(summary.contains("| gate | passed | none |"), "{summary}");
    let overview = summary.find("## gantry run").unwrap();
    let gate_section = summary.find("### gantry gate: passed").unwrap();
    assert!(
        overview < gate_section,
        "the overview comes first:\n{summary}"
    );
}

#[test]
fn a_project_with_nothing_to_run_says_so() {
    let p = Project::new();
    p.write("gantry.toml", "# empty\n");
    let r = p.gantry().args(["run"]).run().code(2);
    assert!(
        r.stderr.contains("configures no step to run"),
        "{}",
        r.stderr
    );
}

#[test]
fn an_unknown_step_is_a_usage_error() {
    let p = Project::new();
    p.write("gantry.toml", "[gates.ok]\nrun = \"true\"\n");
    p.gantry().args(["run", "deploy"]).run().code(2);
}
