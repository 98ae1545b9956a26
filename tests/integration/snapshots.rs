//! What users read, as they read it: the human, GitHub and JSON output of
//! each command's main scenario, snapshotted inline with the varying parts
//! (temp paths, shas, digests, durations) replaced by markers.

use crate::support::scrub::scrub;
use crate::support::{Gantry, Project, Runner};
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

/// What users read of one run in each format: the human stdout, the GitHub
/// stdout followed by the step summary, and the JSON document (its
/// `context` is the run's git facts, shown once in [`gate_json`]).
struct Reads {
    human: String,
    github: String,
    json: String,
}

/// Runs `gantry` (built fresh each time by `command`) three times, in each
/// format, expecting exit `code`; everything scrubbed.
fn reads(p: &Project, code: i32, command: impl Fn() -> Gantry) -> Reads {
    let human = command().run().code(code);
    let runner = Runner::new();
    let sha = p.git(&["rev-parse", "HEAD"]);
    // In CI the state of earlier steps is in RUNNER_TEMP.
    if let Ok(state) = std::fs::read_to_string(p.path().join(".gantry/state.json")) {
        std::fs::create_dir_all(runner.temp().join("gantry")).unwrap();
        std::fs::write(runner.temp().join("gantry/state.json"), state).unwrap();
    }
    let github = command()
        .envs(runner.env("push", json!({}), &sha))
        .run()
        .code(code);
    let mut doc = command().args(["--format", "json"]).run().code(code).json();
    doc["context"] = json!("[CONTEXT]");
    untime(&mut doc);
    let show = |text: &str| {
        let text = scrub(text, &p.path());
        let pid = std::process::id().to_string();
        text.replace(&format!("-{pid}"), "-[PID]")
            .lines()
            .filter(|l| !varies(l))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    };
    Reads {
        human: show(&human.stdout),
        github: show(&format!(
            "{}--- step summary\n{}",
            github.stdout,
            runner.summary()
        )),
        json: show(&serde_json::to_string_pretty(&doc).unwrap()),
    }
}

/// Progress lines whose number depends on timing or on the engine's cache:
/// the counts of a rollout seen at each poll and BuildKit's own step log
/// (`[web] #3 CACHED …`). What they report is in the lines around them.
fn varies(line: &str) -> bool {
    let progress = line.contains("] running ") && line.contains(", pending ");
    let buildkit = line.starts_with('[') && line.split_once("] #").is_some();
    progress || buildkit
}

/// Durations in a JSON document become `[TIME]`.
fn untime(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if ["seconds", "duration", "duration_ms"].contains(&k.as_str()) && v.is_number() {
                    *v = json!("[TIME]");
                } else {
                    untime(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(untime),
        _ => {}
    }
}

#[test]
fn build_reads() {
    use crate::support::services::{docker, docker_available};
    if !docker_available() {
        return;
    }
    let repo = format!("gantry-test/snapshot-{}", std::process::id());
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!("[images.web]\ncontext = \"web\"\nrepository = \"{repo}\"\n"),
    );
    p.write("web/Dockerfile", "FROM scratch\nCOPY index.html /site/\n");
    p.write("web/index.html", "<h1>snapshot</h1>");
    p.commit("web");
    let r = reads(&p, 0, || p.gantry().args(["build"]));
    for id in docker(&["images", "-q", &repo]).lines() {
        let _ = std::process::Command::new("docker")
            .args(["rmi", "-f", id])
            .output();
    }
    insta::assert_snapshot!(r.human, @r###"
    image  result  id            tags
    web    built   [ID]  gantry-test/snapshot-[PID]:sha-[SHORT], gantry-test/snapshot-[PID]:main
    Verdict: passed
    "###);
    insta::assert_snapshot!(r.github, @r###"
    building 1 image(s): web
    ✓ web built [ID] in [TIME] (2 files, 53 B)
    image  result  id            tags
    web    built   [ID]  gantry-test/snapshot-[PID]:sha-[SHORT], gantry-test/snapshot-[PID]:main
    Verdict: passed
    --- step summary
    ### gantry build: passed

    | Image | Result | Image id | Tags | Context |
    |---|---|---|---|---|
    | web | ✅ built | `[ID]` | `gantry-test/snapshot-[PID]:sha-[SHORT]` `gantry-test/snapshot-[PID]:main` | 2 files, 53 B |
    "###);
    insta::assert_snapshot!(r.json, @r###"
    {
      "annotations": [],
      "command": "build",
      "context": "[CONTEXT]",
      "detail": {
        "images": [
          {
            "builder": "buildkit",
            "built": true,
            "bytes": 53,
            "cached_steps": [
              1,
              2
            ],
            "error": null,
            "files": 2,
            "image": "web",
            "image_id": "sha256:[DIGEST]",
            "seconds": "[TIME]",
            "tags": [
              "gantry-test/snapshot-[PID]:sha-[SHORT]",
              "gantry-test/snapshot-[PID]:main"
            ]
          }
        ]
      },
      "dry_run": false,
      "outputs": {
        "build-verdict": "passed",
        "image-web-id": "sha256:[DIGEST]",
        "image-web-tags": "gantry-test/snapshot-[PID]:sha-[SHORT],gantry-test/snapshot-[PID]:main"
      },
      "plan": {
        "changes": []
      },
      "schema": 1,
      "status": "passed",
      "step": "build",
      "unchecked": [],
      "verdict": "passed"
    }
    "###);
}

#[test]
fn scan_reads() {
    use crate::support::require_tool;
    if require_tool("trivy").is_none() {
        return;
    }
    let p = Project::new();
    let cache = p.path().join(".trivy-cache");
    p.write(
        "gantry.toml",
        &format!(
            "[scan]\nvulnerabilities = false\noffline = true\ncache-dir = \"{}\"\n",
            cache.display()
        ),
    );
    p.write(
        "app/Dockerfile",
        "FROM scratch\nUSER root\nCOPY config.py /app/\n",
    );
    p.write("app/config.py", "DEBUG = False\n");
    p.write(".gitignore", ".trivy-cache/\n.gantry/\n");
    p.commit("fixture");
    let r = reads(&p, 1, || p.gantry().args(["scan", "--fs", "."]));
    insta::assert_snapshot!(r.human, @r###"
    Target  Critical  High  Medium  Low  Unknown  Ignored
    ./             0     1       0    1        0        0

    Findings at or above low (failing at high):
      ✗ HIGH     misconfiguration DS-0002 app/Dockerfile:2: Last USER command in Dockerfile should not be 'root'
      - LOW      misconfiguration DS-0026 app/Dockerfile: Add HEALTHCHECK instruction in your Dockerfile
    Verdict: failed
    "###);
    insta::assert_snapshot!(r.github, @r###"
    Trivy 0.76.0 ([REPO]/.venv/bin/trivy)
    scanning ./ ...
    Target  Critical  High  Medium  Low  Unknown  Ignored
    ./             0     1       0    1        0        0

    Findings at or above low (failing at high):
      ✗ HIGH     misconfiguration DS-0002 app/Dockerfile:2: Last USER command in Dockerfile should not be 'root'
      - LOW      misconfiguration DS-0026 app/Dockerfile: Add HEALTHCHECK instruction in your Dockerfile
    ::error file=app/Dockerfile,line=2,title=DS-0002%3A misconfiguration::Last USER command in Dockerfile should not be 'root' (HIGH misconfiguration) https://avd.aquasec.com/misconfig/ds-0002
    ::warning file=app/Dockerfile,title=DS-0026%3A misconfiguration::Add HEALTHCHECK instruction in your Dockerfile (LOW misconfiguration) https://avd.aquasec.com/misconfig/ds-0026
    ✗ scan failed: 1 finding(s) at or above high
    Verdict: failed
    --- step summary
    ### gantry scan: failed

    Trivy 0.76.0 · fails at **high** · shows from **low**

    | Target | Critical | High | Medium | Low | Unknown | Ignored | Verdict |
    |---|---|---|---|---|---|---|---|
    | ./ | 0 | 1 | 0 | 1 | 0 | 0 | failed |

    #### Findings at or above low

    | Severity | ID | Kind | Where | Package | Fixed in | Title |
    |---|---|---|---|---|---|---|
    | HIGH | [DS-0002](https://avd.aquasec.com/misconfig/ds-0002) | misconfiguration | `app/Dockerfile:2` |  |  | Last USER command in Dockerfile should not be 'root' |
    | LOW | [DS-0026](https://avd.aquasec.com/misconfig/ds-0026) | misconfiguration | `app/Dockerfile` |  |  | Add HEALTHCHECK instruction in your Dockerfile |
    "###);
    insta::assert_snapshot!(r.json, @r###"
    {
      "annotations": [
        {
          "file": "app/Dockerfile",
          "level": "error",
          "line": 2,
          "message": "Last USER command in Dockerfile should not be 'root' (HIGH misconfiguration) https://avd.aquasec.com/misconfig/ds-0002",
          "title": "DS-0002: misconfiguration"
        },
        {
          "file": "app/Dockerfile",
          "level": "warning",
          "message": "Add HEALTHCHECK instruction in your Dockerfile (LOW misconfiguration) https://avd.aquasec.com/misconfig/ds-0026",
          "title": "DS-0026: misconfiguration"
        }
      ],
      "command": "scan",
      "context": "[CONTEXT]",
      "detail": {
        "fail_at": "high",
        "ignore_unfixed": false,
        "sarif": "[PROJECT]/.gantry/gantry-scan.sarif",
        "show_at": "low",
        "skip_dirs": [],
        "skip_files": [],
        "targets": [
          {
            "artifact": "[PROJECT]",
            "counts": {
              "critical": 0,
              "high": 1,
              "low": 1,
              "medium": 0,
              "unknown": 0
            },
            "expired_ignores": [],
            "findings": [
              {
                "end_line": 2,
                "file": "app/Dockerfile",
                "id": "DS-0002",
                "kind": "misconfiguration",
                "line": 2,
                "severity": "high",
                "target": "app/Dockerfile",
                "title": "Last USER command in Dockerfile should not be 'root'",
                "url": "https://avd.aquasec.com/misconfig/ds-0002"
              },
              {
                "file": "app/Dockerfile",
                "id": "DS-0026",
                "kind": "misconfiguration",
                "severity": "low",
                "target": "app/Dockerfile",
                "title": "Add HEALTHCHECK instruction in your Dockerfile",
                "url": "https://avd.aquasec.com/misconfig/ds-0026"
              }
            ],
            "ignored": [],
            "passed": false,
            "sbom": null,
            "suppressed": [],
            "target": "./",
            "unfixed_left_out": 0
          }
        ],
        "trivy": {
          "path": "[REPO]/.venv/bin/trivy",
          "version": "0.76.0"
        }
      },
      "dry_run": false,
      "outputs": {
        "scan-critical": "0",
        "scan-expired-ignores": "0",
        "scan-high": "1",
        "scan-ignored": "0",
        "scan-low": "1",
        "scan-medium": "0",
        "scan-sarif": "[PROJECT]/.gantry/gantry-scan.sarif",
        "scan-unknown": "0",
        "scan-verdict": "failed",
        "trivy-version": "0.76.0"
      },
      "plan": {
        "changes": []
      },
      "schema": 1,
      "status": "failed",
      "step": "scan",
      "unchecked": [],
      "verdict": "failed"
    }
    "###);
}

#[test]
fn push_reads() {
    use crate::push::{USER, project, with_creds};
    use crate::support::services::{Registry, docker_available};
    if !docker_available() {
        return;
    }
    let Some(registry) = Registry::start(Some(USER)) else {
        return;
    };
    let p = project(&registry.host, "team/api", "");
    with_creds(p.gantry(), USER.1).args(["build"]).run().code(0);
    // Each format shows a first push: the previous one is deleted before.
    let r = reads(&p, 0, || {
        if let Some(digest) = registry.manifest_digest("team/api", "stable", Some(USER)) {
            let deleted = std::process::Command::new("curl")
                .args([
                    "-sf",
                    "-X",
                    "DELETE",
                    "-u",
                    &format!("{}:{}", USER.0, USER.1),
                ])
                .arg(format!(
                    "http://{}/v2/team/api/manifests/{digest}",
                    registry.host
                ))
                .status()
                .unwrap();
            assert!(deleted.success());
        }
        with_creds(p.gantry(), USER.1).args(["push"])
    });
    insta::assert_snapshot!(r.human, @r###"
    Changes
      legend: + create  ~ update  - delete  > run  ^ upload
      push: passed (2 changes)
        ^ 127.0.0.1:[PORT]/team/api:sha-[SHORT]: push (new tag)
        ^ 127.0.0.1:[PORT]/team/api:stable: push (new tag)
    Verdict: passed
    "###);
    insta::assert_snapshot!(r.github, @r###"
    ::add-mask::Regi5try-Pa55word
    127.0.0.1:[PORT]/team/api:sha-[SHORT] pushed (0 layer(s) uploaded, 1 already there)
    127.0.0.1:[PORT]/team/api:stable pushed (0 layer(s) uploaded, 1 already there)
    ✓ api pushed 127.0.0.1:[PORT]/team/api@sha256:[DIGEST]
    Changes
      legend: + create  ~ update  - delete  > run  ^ upload
      push: passed (2 changes)
        ^ 127.0.0.1:[PORT]/team/api:sha-[SHORT]: push (new tag)
        ^ 127.0.0.1:[PORT]/team/api:stable: push (new tag)
    Verdict: passed
    --- step summary
    ### gantry push: passed

    | Image | Repository | Tags | Digest |
    |---|---|---|---|
    | api | `127.0.0.1:[PORT]/team/api` | `sha-[SHORT]` `stable` | `127.0.0.1:[PORT]/team/api@sha256:[DIGEST]` |
    "###);
    insta::assert_snapshot!(r.json, @r###"
    {
      "annotations": [],
      "command": "push",
      "context": "[CONTEXT]",
      "detail": {
        "images": [
          {
            "digest": "127.0.0.1:[PORT]/team/api@sha256:[DIGEST]",
            "image": "api",
            "repository": "127.0.0.1:[PORT]/team/api",
            "tags": [
              {
                "action": "push",
                "tag": "sha-[SHORT]"
              },
              {
                "action": "push",
                "tag": "stable"
              }
            ]
          }
        ]
      },
      "dry_run": false,
      "outputs": {
        "image-api-digest": "127.0.0.1:[PORT]/team/api@sha256:[DIGEST]",
        "push-verdict": "passed"
      },
      "plan": {
        "changes": [
          {
            "action": "upload",
            "summary": "push (new tag)",
            "target": "127.0.0.1:[PORT]/team/api:sha-[SHORT]"
          },
          {
            "action": "upload",
            "summary": "push (new tag)",
            "target": "127.0.0.1:[PORT]/team/api:stable"
          }
        ]
      },
      "schema": 1,
      "status": "passed",
      "step": "push",
      "unchecked": [],
      "verdict": "passed"
    }
    "###);
}

#[test]
fn migrate_reads() {
    use crate::migrate::{FIVE, project};
    use crate::support::postgres::postgres;
    let Some(pg) = postgres() else {
        return;
    };
    let p = project(&FIVE[..2]);
    p.commit("migrations");
    // Each format applies to a new database.
    let r = reads(&p, 0, || {
        let db = pg.database("snapshot");
        p.gantry()
            .env("SUPABASE_DB_URL", &db.url())
            .args(["migrate"])
    });
    insta::assert_snapshot!(r.human, @r###"
    Applied 2 migration(s)
    Changes
      legend: + create  ~ update  - delete  > run  ^ upload
      migrate: passed (2 changes)
        > migration 20240101000001: one, 2 statements
        > migration 20240101000002: two, 1 statements
    Verdict: passed
    "###);
    insta::assert_snapshot!(r.github, @r###"
    ::add-mask::postgresql://postgres:gantry-test-pw-7x@127.0.0.1:[PORT]/[DB]
    ::add-mask::postgresql%253A%252F%252Fpostgres%253Agantry-test-pw-7x%2540127.0.0.1%253A[PORT]%252F[DB]
    ::add-mask::gantry-test-pw-7x
    database: SUPABASE_DB_URL postgres@127.0.0.1:[PORT]/[DB] (no TLS), PostgreSQL [VERSION]
    created supabase_migrations.schema_migrations
    applying 20240101000001_one.sql (2 statement(s))
    ✓ 20240101000001_one.sql in [TIME]
    applying 20240101000002_two.sql (1 statement(s))
    ✓ 20240101000002_two.sql in [TIME]
    Applied 2 migration(s)
    Changes
      legend: + create  ~ update  - delete  > run  ^ upload
      migrate: passed (2 changes)
        > migration 20240101000001: one, 2 statements
        > migration 20240101000002: two, 1 statements
    Verdict: passed
    --- step summary
    ### gantry migrate: passed

    database: SUPABASE_DB_URL postgres@127.0.0.1:[PORT]/[DB] (no TLS), PostgreSQL [VERSION]

    | Migration | Name | Statements | Status |
    |---|---|---|---|
    | 20240101000001 | one | 2 | ✅ applied |
    | 20240101000002 | two | 1 | ✅ applied |
    "###);
    insta::assert_snapshot!(r.json, @r###"
    {
      "annotations": [],
      "command": "migrate",
      "context": "[CONTEXT]",
      "detail": {
        "applied": [
          "20240101000001",
          "20240101000002"
        ],
        "cancelled": null,
        "database": {
          "configured": true,
          "passed_over": [],
          "server_version": "[VERSION]",
          "target": "postgres@127.0.0.1:[PORT]/[DB]",
          "tls": "no TLS",
          "via": "SUPABASE_DB_URL"
        },
        "directory": "supabase/migrations",
        "drift": [],
        "failure": null,
        "local": 2,
        "missing_locally": [],
        "out_of_order": [],
        "pending": [
          {
            "file": "supabase/migrations/20240101000001_one.sql",
            "name": "one",
            "no_transaction": false,
            "statements": 2,
            "version": "20240101000001"
          },
          {
            "file": "supabase/migrations/20240101000002_two.sql",
            "name": "two",
            "no_transaction": false,
            "statements": 1,
            "version": "20240101000002"
          }
        ],
        "recorded": 0,
        "refused": [],
        "seeds": [],
        "warnings": []
      },
      "dry_run": false,
      "outputs": {
        "migrate-verdict": "passed",
        "migrations-applied": "20240101000001,20240101000002",
        "migrations-count": "2"
      },
      "plan": {
        "changes": [
          {
            "action": "run",
            "summary": "one, 2 statements",
            "target": "migration 20240101000001"
          },
          {
            "action": "run",
            "summary": "two, 1 statements",
            "target": "migration 20240101000002"
          }
        ]
      },
      "schema": 1,
      "status": "passed",
      "step": "migrate",
      "unchecked": [],
      "verdict": "passed"
    }
    "###);
}

#[test]
fn deploy_ecs_reads() {
    use crate::deploy_ecs::{STEP, project};
    use crate::support::ecs::{EcsStandIn, Scenario};
    let p = project("");
    // Each format deploys to a new stand-in, kept alive to the end.
    let alive = std::cell::RefCell::new(Vec::new());
    let r = reads(&p, 0, || {
        let ecs = EcsStandIn::start(Scenario::Success, STEP);
        let g = p
            .gantry()
            .envs(ecs.env())
            .env("GANTRY_ECS_POLL_INTERVAL", "40ms")
            .args(["deploy", "ecs"]);
        alive.borrow_mut().push(ecs);
        g
    });
    insta::assert_snapshot!(r.human, @r###"
    Changes
      legend: + create  ~ update  - delete  > run  ^ upload
      deploy-ecs: passed (2 changes)
        + task definition codewarden-api: register a new revision
            --- arn:aws:ecs:us-east-1:[ID]:task-definition/codewarden-api:7
            +++ new revision
            @@ -25,7 +25,7 @@
                     "startPeriod": 10,
                     "timeout": 5
                   },
            -      "image": "[ID].dkr.ecr.us-east-1.amazonaws.com/codewarden/api:latest",
            +      "image": "[ID].dkr.ecr.us-east-1.amazonaws.com/codewarden/api@sha256:[DIGEST]",
                   "logConfiguration": {
                     "logDriver": "awslogs",
                     "options": {
            @@ -56,5 +56,8 @@
               "requiresCompatibilities": [
                 "FARGATE"
               ],
            +  "someFieldFrom2030": {
            +    "enabled": true
            +  },
               "taskRoleArn": "arn:aws:iam::[ID]:role/codewarden-api-task"
             }
        ~ service prod/api: deploy the new revision, watch until a verdict
    Verdict: passed
    "###);
    insta::assert_snapshot!(r.github, @r###"
    ::add-mask::testing-secret-key
    [api] the task definition changes: see the plan
    [api] registered arn:aws:ecs:us-east-1:[ID]:task-definition/codewarden-api:8
    [api] prod/api: deployment ecs-svc/2000000000000000001 of codewarden-api:8 started
    [api] (service api) has started 2 tasks: (deployment ecs-svc/2000000000000000001).
    [api] (service api) (deployment ecs-svc/2000000000000000001) deployment completed.
    [api] (service api) has reached a steady state.
    ✓ [api] prod/api runs codewarden-api:8 (deployment completed)
    ::stop-commands::gantry-[TOKEN]
    Changes
      legend: + create  ~ update  - delete  > run  ^ upload
      deploy-ecs: passed (2 changes)
        + task definition codewarden-api: register a new revision
            --- arn:aws:ecs:us-east-1:[ID]:task-definition/codewarden-api:7
            +++ new revision
            @@ -25,7 +25,7 @@
                     "startPeriod": 10,
                     "timeout": 5
                   },
            -      "image": "[ID].dkr.ecr.us-east-1.amazonaws.com/codewarden/api:latest",
            +      "image": "[ID].dkr.ecr.us-east-1.amazonaws.com/codewarden/api@sha256:[DIGEST]",
                   "logConfiguration": {
                     "logDriver": "awslogs",
                     "options": {
            @@ -56,5 +56,8 @@
               "requiresCompatibilities": [
                 "FARGATE"
               ],
            +  "someFieldFrom2030": {
            +    "enabled": true
            +  },
               "taskRoleArn": "arn:aws:iam::[ID]:role/codewarden-api-task"
             }
        ~ service prod/api: deploy the new revision, watch until a verdict
    Verdict: passed
    ::gantry-[TOKEN]::
    --- step summary
    ### gantry deploy ecs: passed

    | Deploy | Service | Task definition | Result |
    |---|---|---|---|
    | api | `prod/api` | `codewarden-api:8` | passed: prod/api runs codewarden-api:8 (deployment completed) |

    <details><summary>api: task definition diff</summary>

    ```diff
    --- arn:aws:ecs:us-east-1:[ID]:task-definition/codewarden-api:7
    +++ new revision
    @@ -25,7 +25,7 @@
             "startPeriod": 10,
             "timeout": 5
           },
    -      "image": "[ID].dkr.ecr.us-east-1.amazonaws.com/codewarden/api:latest",
    +      "image": "[ID].dkr.ecr.us-east-1.amazonaws.com/codewarden/api@sha256:[DIGEST]",
           "logConfiguration": {
             "logDriver": "awslogs",
             "options": {
    @@ -56,5 +56,8 @@
       "requiresCompatibilities": [
         "FARGATE"
       ],
    +  "someFieldFrom2030": {
    +    "enabled": true
    +  },
       "taskRoleArn": "arn:aws:iam::[ID]:role/codewarden-api-task"
     }
    ```

    </details>
    "###);
    insta::assert_snapshot!(r.json, @r###"
    {
      "annotations": [],
      "command": "deploy ecs",
      "context": "[CONTEXT]",
      "detail": {
        "deploys": [
          {
            "cancelled": null,
            "console_url": "https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/api/deployments?region=us-east-1",
            "deployment_id": "ecs-svc/2000000000000000001",
            "explanation": "prod/api runs codewarden-api:8 (deployment completed)",
            "name": "api",
            "previous_task_definition": "arn:aws:ecs:us-east-1:[ID]:task-definition/codewarden-api:7",
            "task_definition": "arn:aws:ecs:us-east-1:[ID]:task-definition/codewarden-api:8",
            "verdict": "passed"
          }
        ]
      },
      "dry_run": false,
      "outputs": {
        "deploy-api-console-url": "https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/api/deployments?region=us-east-1",
        "deploy-api-deployment-id": "ecs-svc/2000000000000000001",
        "deploy-api-previous-task-definition": "arn:aws:ecs:us-east-1:[ID]:task-definition/codewarden-api:7",
        "deploy-api-task-definition": "arn:aws:ecs:us-east-1:[ID]:task-definition/codewarden-api:8",
        "deploy-ecs-verdict": "passed"
      },
      "plan": {
        "changes": [
          {
            "action": "create",
            "diff": "--- arn:aws:ecs:us-east-1:[ID]:task-definition/codewarden-api:7\n+++ new revision\n@@ -25,7 +25,7 @@\n         \"startPeriod\": 10,\n         \"timeout\": 5\n       },\n-      \"image\": \"[ID].dkr.ecr.us-east-1.amazonaws.com/codewarden/api:latest\",\n+      \"image\": \"[ID].dkr.ecr.us-east-1.amazonaws.com/codewarden/api@sha256:[DIGEST]\",\n       \"logConfiguration\": {\n         \"logDriver\": \"awslogs\",\n         \"options\": {\n@@ -56,5 +56,8 @@\n   \"requiresCompatibilities\": [\n     \"FARGATE\"\n   ],\n+  \"someFieldFrom2030\": {\n+    \"enabled\": true\n+  },\n   \"taskRoleArn\": \"arn:aws:iam::[ID]:role/codewarden-api-task\"\n }",
            "summary": "register a new revision",
            "target": "task definition codewarden-api"
          },
          {
            "action": "update",
            "summary": "deploy the new revision, watch until a verdict",
            "target": "service prod/api"
          }
        ]
      },
      "schema": 1,
      "status": "passed",
      "step": "deploy-ecs",
      "unchecked": [],
      "verdict": "passed"
    }
    "###);
}

#[test]
fn deploy_railway_reads() {
    use crate::deploy_railway::{API_TOKEN, CONFIG, PROJECT_TOKEN};
    use crate::support::railway::{Railway, Service};
    let p = Project::new();
    p.write("gantry.toml", CONFIG);
    p.write("api/Dockerfile", "FROM scratch\n");
    p.write(".gitignore", ".gantry/\n");
    let sha = p.commit("init");
    p.write(
        ".gantry/state.json",
        &json!({
            "version": 1,
            "revision": sha,
            "steps": {"push": {"verdict": "passed", "dry_run": false,
                "finished_at": "2026-01-01T00:00:00Z",
                "outputs": {"image-api-digest": format!("127.0.0.1:5000/shop/api@sha256:{}", "4f".repeat(32))}}}
        })
        .to_string(),
    );
    // Each format deploys to a new stand-in, kept alive to the end.
    let alive = std::cell::RefCell::new(Vec::new());
    let r = reads(&p, 0, || {
        let railway = Railway::start(
            PROJECT_TOKEN,
            API_TOKEN,
            vec![
                Service::new("api", &["BUILDING", "SUCCESS"]),
                Service::new("worker", &["SUCCESS"]),
            ],
        );
        let g = p
            .gantry()
            .env("RAILWAY_TOKEN", PROJECT_TOKEN)
            .env("GANTRY_RAILWAY_API_URL", &railway.url)
            .env("GANTRY_RAILWAY_POLL_INTERVAL", "5ms")
            .args(["deploy", "railway"]);
        alive.borrow_mut().push(railway);
        g
    });
    insta::assert_snapshot!(r.human, @r###"
    Changes
      legend: + create  ~ update  - delete  > run  ^ upload
      deploy-railway: passed (2 changes)
        ~ Railway service shop/production/api: image old.example/api:v1 → 127.0.0.1:[PORT]/shop/api@sha256:[DIGEST], then deploy
        ~ Railway service shop/production/worker: image old.example/worker:v1 → 127.0.0.1:[PORT]/shop/api@sha256:[DIGEST], then deploy
    Verdict: passed
    "###);
    insta::assert_snapshot!(r.github, @r###"
    ::add-mask::rw-proj-5f0c2b9e-7d41-4a77-b0a3-secret
    api: deployment dep-api-1 of shop/production/api started
    worker: deployment dep-worker-2 of shop/production/worker started
    api: BUILDING
    ✓ worker: SUCCESS
    ✓ api: SUCCESS
    Changes
      legend: + create  ~ update  - delete  > run  ^ upload
      deploy-railway: passed (2 changes)
        ~ Railway service shop/production/api: image old.example/api:v1 → 127.0.0.1:[PORT]/shop/api@sha256:[DIGEST], then deploy
        ~ Railway service shop/production/worker: image old.example/worker:v1 → 127.0.0.1:[PORT]/shop/api@sha256:[DIGEST], then deploy
    Verdict: passed
    --- step summary
    ### gantry deploy railway: passed

    | Deployment | Railway service | Deploys | Status |
    |---|---|---|---|
    | api | shop/production/api | `127.0.0.1:[PORT]/shop/api@sha256:[DIGEST]` | [SUCCESS](https://railway.com/project/0b7e0c4e-1111-4c9b-9a51-[ID]/service/svc-api?environmentId=0b7e0c4e-2222-4c9b-9a51-[ID]&id=dep-api-1) |
    | worker | shop/production/worker | `127.0.0.1:[PORT]/shop/api@sha256:[DIGEST]` | [SUCCESS](https://railway.com/project/0b7e0c4e-1111-4c9b-9a51-[ID]/service/svc-worker?environmentId=0b7e0c4e-2222-4c9b-9a51-[ID]&id=dep-worker-2) |
    "###);
    insta::assert_snapshot!(r.json, @r###"
    {
      "annotations": [],
      "command": "deploy railway",
      "context": "[CONTEXT]",
      "detail": {
        "deployments": [
          {
            "cancelled": null,
            "current_image": "old.example/api:v1",
            "deployment_id": "dep-api-1",
            "environment": "production",
            "image": "127.0.0.1:[PORT]/shop/api@sha256:[DIGEST]",
            "name": "api",
            "passed": true,
            "project": "shop",
            "refusal": null,
            "service": "api",
            "status": "SUCCESS"
          },
          {
            "cancelled": null,
            "current_image": "old.example/worker:v1",
            "deployment_id": "dep-worker-2",
            "environment": "production",
            "image": "127.0.0.1:[PORT]/shop/api@sha256:[DIGEST]",
            "name": "worker",
            "passed": true,
            "project": "shop",
            "refusal": null,
            "service": "worker",
            "status": "SUCCESS"
          }
        ]
      },
      "dry_run": false,
      "outputs": {
        "deploy-api-deployment-id": "dep-api-1",
        "deploy-api-deployment-url": "https://railway.com/project/0b7e0c4e-1111-4c9b-9a51-[ID]/service/svc-api?environmentId=0b7e0c4e-2222-4c9b-9a51-[ID]&id=dep-api-1",
        "deploy-railway-verdict": "passed",
        "deploy-worker-deployment-id": "dep-worker-2",
        "deploy-worker-deployment-url": "https://railway.com/project/0b7e0c4e-1111-4c9b-9a51-[ID]/service/svc-worker?environmentId=0b7e0c4e-2222-4c9b-9a51-[ID]&id=dep-worker-2"
      },
      "plan": {
        "changes": [
          {
            "action": "update",
            "summary": "image old.example/api:v1 → 127.0.0.1:[PORT]/shop/api@sha256:[DIGEST], then deploy",
            "target": "Railway service shop/production/api"
          },
          {
            "action": "update",
            "summary": "image old.example/worker:v1 → 127.0.0.1:[PORT]/shop/api@sha256:[DIGEST], then deploy",
            "target": "Railway service shop/production/worker"
          }
        ]
      },
      "schema": 1,
      "status": "passed",
      "step": "deploy-railway",
      "unchecked": [],
      "verdict": "passed"
    }
    "###);
}

#[test]
fn publish_reads() {
    use crate::publish::npm_project;
    use crate::support::npm::NpmRegistry;
    use crate::support::require_tool;
    if require_tool("npm").is_none() {
        return;
    }
    let token = "npm_0123456789abcdefghijklmnopqrstuvwxyz";
    let registry = NpmRegistry::start(token);
    let p = npm_project(&registry.url(), "3.1.0");
    // Each format publishes to an empty registry.
    let r = reads(&p, 0, || {
        let mut st = registry.state.lock().unwrap();
        st.packuments.clear();
        st.tarballs.clear();
        p.gantry()
            .env("NPM_TOKEN", token)
            .args(["publish", "--tag", "js-sdk-v3.1.0"])
    });
    insta::assert_snapshot!(r.human, @r###"
    Changes
      legend: + create  ~ update  - delete  > run  ^ upload
      publish: passed (1 change)
        ^ npm @gantry-test/sdk gantry-test-sdk-3.1.0.tgz: upload (new)
    Verdict: passed
    "###);
    insta::assert_snapshot!(r.github, @r###"
    ::add-mask::npm_0123456789abcdefghijklmnopqrstuvwxyz
    release js-sdk-v3.1.0 (--tag): js-sdk 3.1.0
    js-sdk: building in js (npm pack)
    ✓ js-sdk 3.1.0: published gantry-test-sdk-3.1.0.tgz (sha256 [HASH])
    Changes
      legend: + create  ~ update  - delete  > run  ^ upload
      publish: passed (1 change)
        ^ npm @gantry-test/sdk gantry-test-sdk-3.1.0.tgz: upload (new)
    Verdict: passed
    --- step summary
    ### gantry publish: passed

    | Package | Version | Registry | File | Status | URL | SHA-256 |
    |---|---|---|---|---|---|---|
    | js-sdk | 3.1.0 | http://127.0.0.1:[PORT]/ | `gantry-test-sdk-3.1.0.tgz` | published | http://127.0.0.1:[PORT]/@gantry-test%2fsdk | `[HASH]` |
    "###);
    insta::assert_snapshot!(r.json, @r###"
    {
      "annotations": [],
      "command": "publish",
      "context": "[CONTEXT]",
      "detail": {
        "files": [
          {
            "blake2_256": "[HASH]",
            "file": "gantry-test-sdk-3.1.0.tgz",
            "name": "@gantry-test/sdk",
            "package": "js-sdk",
            "reason": null,
            "registry": "http://127.0.0.1:[PORT]/",
            "sha256": "[HASH]",
            "status": "published",
            "url": "http://127.0.0.1:[PORT]/@gantry-test%2fsdk",
            "version": "3.1.0"
          }
        ],
        "tag": "js-sdk-v3.1.0"
      },
      "dry_run": false,
      "outputs": {
        "publish-js-sdk-status": "published",
        "publish-js-sdk-version": "3.1.0",
        "publish-tag": "js-sdk-v3.1.0",
        "publish-verdict": "passed"
      },
      "plan": {
        "changes": [
          {
            "action": "upload",
            "summary": "upload (new)",
            "target": "npm @gantry-test/sdk gantry-test-sdk-3.1.0.tgz"
          }
        ]
      },
      "schema": 1,
      "status": "passed",
      "step": "publish",
      "unchecked": [],
      "verdict": "passed"
    }
    "###);
}
