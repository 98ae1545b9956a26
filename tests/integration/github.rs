//! The GitHub Actions layer against a simulated runner: annotations within
//! GitHub's limits, escaping, outputs, step summary, state in RUNNER_TEMP.

use crate::support::{Project, Runner};
use serde_json::json;

fn run_in_actions(p: &Project, runner: &Runner, args: &[&str]) -> crate::support::Run {
    let sha = p.git(&["rev-parse", "HEAD"]);
    p.gantry()
        .args(args)
        .envs(runner.env("workflow_dispatch", json!({}), &sha))
        .run()
}

#[test]
fn github_format_is_picked_automatically_in_actions() {
    let p = Project::new();
    p.write("gantry.toml", "[gates.bad]\nrun = \"echo oops; exit 1\"\n");
    p.commit("init");
    let runner = Runner::new();
    let r = run_in_actions(&p, &runner, &["gate"]).code(1);
    assert!(
        r.stdout
            .contains("::group::bad (echo oops; exit 1)\noops\n::endgroup::"),
        "{}",
        r.stdout
    );
    assert_eq!(
        r.commands("::error"),
        ["::error title=bad::gate `bad` failed: exit code 1"]
    );
}

#[test]
fn at_most_ten_annotations_per_level_and_the_rest_are_counted() {
    let p = Project::new();
    let lines: String = (1..=14)
        .map(|i| format!("echo 'f.py:{i}:1: problem {i}'; "))
        .collect();
    let warn_lines: String = (1..=12)
        .map(|i| format!("echo 'g.py:{i}:1: warning: w{i}'; "))
        .collect();
    p.write(
        "gantry.toml",
        &format!("[gates.lint]\nrun = \"{lines}{warn_lines}exit 1\"\nmatcher = \"generic\"\n"),
    );
    p.commit("init");
    let runner = Runner::new();
    let r = run_in_actions(&p, &runner, &["gate"]).code(1);
    assert_eq!(r.commands("::error").len(), 10, "{}", r.stdout);
    assert_eq!(r.commands("::warning").len(), 10, "{}", r.stdout);
    assert!(r.commands("::error")[0].starts_with("::error file=f.py,line=1,col=1"));
    let summary = runner.summary();
    assert!(
        summary.contains("4 more error annotation(s), 2 more warning annotation(s) not shown: GitHub shows at most 10 per level in one step."),
        "{summary}"
    );
}

#[test]
fn annotation_messages_and_properties_are_escaped() {
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[gates.odd]\nrun = \"echo 'dir,a/x.py:3:1: 100% wrong'; exit 1\"\nmatcher = \"generic\"\n",
    );
    p.commit("init");
    let runner = Runner::new();
    let r = run_in_actions(&p, &runner, &["gate"]).code(1);
    // `,` `:` and `%` never reach GitHub unescaped.
    let errors = r.commands("::error");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("::error file=dir%2Ca/x.py,line=3,col=1,"),
        "{errors:?}"
    );
    assert!(errors[0].ends_with("::100%25 wrong"), "{errors:?}");
    let props = errors[0]
        .trim_start_matches("::error ")
        .split("::")
        .next()
        .unwrap();
    for prop in props.split(',') {
        let (_, value) = prop.split_once('=').unwrap();
        assert!(!value.contains(':') && !value.contains(','), "{props}");
    }
}

#[test]
fn outputs_use_random_heredoc_delimiters_and_state_lands_in_runner_temp() {
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[gates.a]\nrun = \"true\"\n[gates.b]\nrun = \"true\"\n",
    );
    let sha = p.commit("init");
    let runner = Runner::new();
    run_in_actions(&p, &runner, &["gate"]).code(0);
    let text = runner.outputs_text();
    let delimiters: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once("<<").map(|(_, d)| d))
        .collect();
    // The gate's 4 outputs, then the 6 that gather them (`outputs`, `plan`, …).
    assert_eq!(delimiters.len(), 10, "{text}");
    assert!(
        delimiters
            .iter()
            .all(|d| d.starts_with("ghadelimiter_") && d.len() > 30)
    );
    let unique: std::collections::BTreeSet<_> = delimiters.iter().collect();
    assert_eq!(unique.len(), 10, "each output gets its own delimiter");
    assert_eq!(runner.outputs()["gates-passed"], "a,b");

    let state: serde_json::Value = serde_json::from_str(&runner.state()).unwrap();
    assert_eq!(state["revision"], sha);
    assert_eq!(state["steps"]["gate"]["verdict"], "passed");
    assert_eq!(state["steps"]["gate"]["outputs"]["gates-passed"], "a,b");
    assert!(
        !p.path().join(".gantry").exists(),
        "in CI the state stays out of the work tree"
    );
}

#[test]
fn the_step_summary_never_exceeds_one_mebibyte() {
    let p = Project::new();
    let many: String = (0..40)
        .map(|i| format!("[gates.g{i}]\nrun = \"exit 1\"\n"))
        .collect();
    p.write("gantry.toml", &many);
    p.commit("init");
    let runner = Runner::new();
    // Another step already filled most of the summary.
    std::fs::write(runner.summary_file(), "x".repeat(1024 * 1024 - 2000)).unwrap();
    let r = run_in_actions(&p, &runner, &["gate"]).code(1);
    let size = std::fs::metadata(runner.summary_file()).unwrap().len();
    assert!(size <= 1024 * 1024, "summary is {size} bytes");
    assert!(runner.summary().contains("Summary truncated"));
    assert!(
        r.stdout.contains("the step summary was cut"),
        "{}",
        r.stdout
    );
}

#[test]
fn locally_the_state_is_written_next_to_gantry_toml_and_ignored_by_git() {
    let p = Project::new();
    p.write("gantry.toml", "[gates.a]\nrun = \"true\"\n");
    p.commit("init");
    p.gantry().args(["gate"]).run().code(0);
    let state: serde_json::Value = serde_json::from_str(&p.read(".gantry/state.json")).unwrap();
    assert_eq!(state["steps"]["gate"]["outputs"]["gate-verdict"], "passed");
    assert_eq!(
        p.git(&["status", "--porcelain"]),
        "",
        "the state file is git-ignored"
    );
}
