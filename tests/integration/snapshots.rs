//! What users read, as they read it: the human, GitHub and JSON output of
//! each command's main scenario, snapshotted inline with the varying parts
//! (temp paths, shas, digests, durations) replaced by markers.

use crate::support::scrub::scrub;
use crate::support::{Project, Runner};
use serde_json::json;

/// One gate that passes and one that fails, committed.
fn gates() -> Project {
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[gates.lint]\nrun = \"echo clean\"\n\n[gates.tests]\nrun = \"echo 'app.py:3:1: E999 boom'; exit 3\"\nmatcher = \"generic\"\n",
    );
    p.commit("init");
    p
}

#[test]
fn gate_human() {
    let p = gates();
    let r = p.gantry().args(["gate", "--jobs", "1"]).run().code(1);
    insta::assert_snapshot!(scrub(&r.stdout, &p.path()), @r###"
    gate   status  time  tests p/f/s  notes
    lint   passed  [TIME]  -
    tests  failed  [TIME]  -            exit code 3
    Verdict: failed
    "###);
}

#[test]
fn gate_github() {
    let p = gates();
    let runner = Runner::new();
    let sha = p.git(&["rev-parse", "HEAD"]);
    let r = p
        .gantry()
        .args(["gate", "--jobs", "1"])
        .envs(runner.env("workflow_dispatch", json!({}), &sha))
        .run()
        .code(1);
    insta::assert_snapshot!(scrub(&r.stdout, &p.path()), @r###"
    ✓ lint passed in [TIME]
    ✗ tests failed in [TIME]: exit code 3
    ::group::lint (echo clean)
    clean
    ::endgroup::
    ::group::tests (echo 'app.py:3:1: E999 boom'; exit 3)
    app.py:3:1: E999 boom
    ::endgroup::
    ::error file=app.py,line=3,col=1,title=tests::E999 boom
    gate   status  time  tests p/f/s  notes
    lint   passed  [TIME]  -
    tests  failed  [TIME]  -            exit code 3
    Verdict: failed
    "###);
}

#[test]
fn gate_json() {
    let p = gates();
    let r = p.gantry().args(["gate", "--format", "json"]).run().code(1);
    let mut doc = r.json();
    // Every gate's own output and timing are covered by the gate tests.
    for g in doc["detail"]["gates"].as_array_mut().unwrap() {
        g["duration"] = json!("[TIME]");
    }
    let text = serde_json::to_string_pretty(&doc).unwrap();
    insta::assert_snapshot!(scrub(&text, &p.path()), @r###"
    {
      "annotations": [
        {
          "col": 1,
          "file": "app.py",
          "level": "error",
          "line": 3,
          "message": "E999 boom",
          "title": "tests"
        }
      ],
      "command": "gate",
      "context": {
        "base_ref": null,
        "change_base": {
          "kind": "unknown",
          "reason": "no base to compare with locally: pass --since <rev> to run only the gates whose paths changed"
        },
        "ci": false,
        "event_name": null,
        "git_ref": "refs/heads/main",
        "pr_number": null,
        "ref_name": "main",
        "ref_type": "branch",
        "repository": null,
        "run_id": null,
        "server_url": "https://github.com",
        "sha": "[SHA]"
      },
      "detail": {
        "changes": {
          "known": false,
          "reason": "no gate has `paths`"
        },
        "gates": [
          {
            "duration": "[TIME]",
            "exit_code": 0,
            "failures": [],
            "log": "[PROJECT]/.gantry/logs/gate-lint.log",
            "name": "lint",
            "reason": null,
            "required": true,
            "status": "passed",
            "tests": null
          },
          {
            "duration": "[TIME]",
            "exit_code": 3,
            "failures": [],
            "log": "[PROJECT]/.gantry/logs/gate-tests.log",
            "name": "tests",
            "reason": "exit code 3",
            "required": true,
            "status": "failed",
            "tests": null
          }
        ]
      },
      "dry_run": false,
      "outputs": {
        "gate-verdict": "failed",
        "gates-failed": "tests",
        "gates-passed": "lint",
        "gates-skipped": ""
      },
      "plan": {
        "changes": []
      },
      "schema": 1,
      "status": "failed",
      "step": "gate",
      "unchecked": [],
      "verdict": "failed"
    }
    "###);
}

#[test]
fn run_dry_run_human() {
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[gates.lint]\nrun = \"true\"\n\n[publish.sdk]\npypi = { path = \"sdk\" }\n",
    );
    p.write(
        "sdk/pyproject.toml",
        "[project]\nname = \"sdk\"\nversion = \"1.0.0\"\n",
    );
    p.commit("init");
    let r = p.gantry().args(["run", "--dry-run"]).run().code(0);
    insta::assert_snapshot!(scrub(&r.stdout, &p.path()), @r###"
    gate  status  time  tests p/f/s  notes
    lint  passed  [TIME]  -
    Plan (dry run: nothing remote was changed)
      gate: passed
      publish: passed (no remote changes)
    Verdict: passed (dry run)
    "###);
}
