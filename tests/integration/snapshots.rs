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
    let show = |text: &str| {
        let text = scrub(text, &p.path());
        let pid = std::process::id().to_string();
        text.replace(&format!("-{pid}"), "-[PID]")
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
    insta::assert_snapshot!(r.human, @"");
    insta::assert_snapshot!(r.github, @"");
    insta::assert_snapshot!(r.json, @"");
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
    insta::assert_snapshot!(r.human, @"");
    insta::assert_snapshot!(r.github, @"");
    insta::assert_snapshot!(r.json, @"");
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
    with_creds(p.gantry(), USER.1)
        .args(["build"])
        .run()
        .code(0);
    // Each format shows a first push: the previous one is deleted before.
    let r = reads(&p, 0, || {
        if let Some(digest) = registry.manifest_digest("team/api", "stable", Some(USER)) {
            let deleted = std::process::Command::new("curl")
                .args(["-sf", "-X", "DELETE", "-u", &format!("{}:{}", USER.0, USER.1)])
                .arg(format!("http://{}/v2/team/api/manifests/{digest}", registry.host))
                .status()
                .unwrap();
            assert!(deleted.success());
        }
        with_creds(p.gantry(), USER.1).args(["push"])
    });
    insta::assert_snapshot!(r.human, @"");
    insta::assert_snapshot!(r.github, @"");
    insta::assert_snapshot!(r.json, @"");
}

#[test]
fn migrate_reads() {
    use crate::migrate::FIVE;
    use crate::support::postgres::postgres;
    let Some(pg) = postgres() else {
        return;
    };
    let p = Project::new();
    p.write("gantry.toml", "[migrate]\n");
    for (name, sql) in &FIVE[..2] {
        p.write(&format!("supabase/migrations/{name}"), sql);
    }
    p.commit("migrations");
    // Each format applies to a new database.
    let r = reads(&p, 0, || {
        let db = pg.database("snapshot");
        p.gantry().env("SUPABASE_DB_URL", &db.url()).args(["migrate"])
    });
    insta::assert_snapshot!(r.human, @"");
    insta::assert_snapshot!(r.github, @"");
    insta::assert_snapshot!(r.json, @"");
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
    insta::assert_snapshot!(r.human, @"");
    insta::assert_snapshot!(r.github, @"");
    insta::assert_snapshot!(r.json, @"");
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
    insta::assert_snapshot!(r.human, @"");
    insta::assert_snapshot!(r.github, @"");
    insta::assert_snapshot!(r.json, @"");
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
    insta::assert_snapshot!(r.human, @"");
    insta::assert_snapshot!(r.github, @"");
    insta::assert_snapshot!(r.json, @"");
}
