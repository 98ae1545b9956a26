//! Cancelling gantry (SIGINT from Ctrl-C, SIGTERM from a CI cancel) stops
//! every gate's process tree, starts nothing new, writes the summary and the
//! state, and exits 130/143; a second signal kills at once. Checked with real
//! processes and `ps`. Builds, migrations and rollouts wind down cooperatively:
//! the engine stops the build, PostgreSQL rolls the migration in flight back,
//! and a deploy says which state it left the service in.

use crate::support::ecs::{EcsStandIn, Scenario};
use crate::support::postgres::postgres;
use crate::support::railway::{Railway, Service};
use crate::support::services::{busybox_image, docker, docker_available};
use crate::support::{Project, Run};
use std::path::Path;
use std::time::Duration;

/// A `sleep` argument no other process on the machine uses, to find ours with `ps`.
fn unique_sleep() -> String {
    let n = 100_000 + (u64::from(std::process::id()) * 7919 + rand_ish()) % 800_000;
    format!("{n}")
}

fn rand_ish() -> u64 {
    u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos(),
    )
}

/// Processes whose command line holds `needle`.
fn processes_with(needle: &str) -> Vec<String> {
    let out = std::process::Command::new("ps")
        .args(["-eo", "pid,stat,args"])
        .output()
        .expect("ps runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(needle) && !l.contains(" Z "))
        .map(str::to_string)
        .collect()
}

/// Whatever a failed assertion leaves running (gantry, the gates' sleeps)
/// is killed when the test ends, by pid.
struct Cleanup {
    /// Until gantry has been waited for (then its pid may be reused).
    gantry: Option<i32>,
    needle: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        // SAFETY: kill(2) on processes this test started.
        if let Some(pid) = self.gantry {
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        for line in processes_with(&self.needle) {
            if let Some(pid) = line.split_whitespace().next().and_then(|p| p.parse().ok()) {
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

fn wait_for(path: &Path) {
    for _ in 0..1200 {
        if path.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} never appeared", path.display());
}

/// Two gates, each a small process tree (a shell, two sleeps in the
/// background, one in the foreground); one at a time, so a third waits.
fn project(secs: &str, trap: bool) -> Project {
    let p = Project::new();
    let trap = if trap { "trap '' TERM; " } else { "" };
    let gate = |name: &str| {
        format!(
            "[gates.{name}]\nrun = \"{trap}sleep {secs} & sleep {secs} & touch started-{name}; sleep {secs}; wait\"\n\n"
        )
    };
    p.write(
        "gantry.toml",
        &format!("{}{}{}", gate("first"), gate("second"), gate("third")),
    );
    p.commit("init");
    p
}

fn cancel_with(sig: i32, expected: i32) {
    let secs = unique_sleep();
    let p = project(&secs, false);
    let child = p.gantry().args(["gate", "--jobs", "2"]).spawn();
    let mut cleanup = Cleanup {
        gantry: Some(child.id() as i32),
        needle: format!("sleep {secs}"),
    };
    wait_for(&p.path().join("started-first"));
    wait_for(&p.path().join("started-second"));
    // Two trees of four: the shell and three sleeps each.
    assert_eq!(processes_with(&format!("sleep {secs}")).len(), 8);
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, sig) };
    let r = Run::from_child(child);
    cleanup.gantry = None;
    let r = r.code(expected);
    let left = processes_with(&format!("sleep {secs}"));
    assert!(left.is_empty(), "left behind:\n{}", left.join("\n"));
    assert!(
        !p.path().join("started-third").exists(),
        "a new gate started"
    );
    let name = if sig == libc::SIGINT {
        "SIGINT"
    } else {
        "SIGTERM"
    };
    let all = r.all();
    assert!(all.contains(&format!("cancelled by {name}")), "{all}");
    assert!(all.contains(&format!("cancelled ({name})")), "{all}");
    let state = p.read(".gantry/state.json");
    assert!(
        state.contains(&format!("\"cancelled\": \"{name}\"")),
        "{state}"
    );
}

#[test]
fn sigint_stops_every_gate_tree_and_exits_130() {
    cancel_with(libc::SIGINT, 130);
}

#[test]
fn sigterm_stops_every_gate_tree_and_exits_143() {
    cancel_with(libc::SIGTERM, 143);
}

#[test]
fn a_second_sigint_kills_gates_that_ignore_sigterm_at_once() {
    let secs = unique_sleep();
    let p = project(&secs, true);
    let child = p.gantry().args(["gate", "--jobs", "2"]).spawn();
    let mut cleanup = Cleanup {
        gantry: Some(child.id() as i32),
        needle: format!("sleep {secs}"),
    };
    wait_for(&p.path().join("started-first"));
    wait_for(&p.path().join("started-second"));
    let pid = child.id() as i32;
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(pid, libc::SIGINT) };
    std::thread::sleep(Duration::from_millis(200));
    unsafe { libc::kill(pid, libc::SIGINT) };
    let r = Run::from_child(child);
    cleanup.gantry = None;
    r.code(130);
    let left = processes_with(&format!("sleep {secs}"));
    assert!(left.is_empty(), "left behind:\n{}", left.join("\n"));
}

/// Waits (bounded) until `check` holds; panics with `what` otherwise.
/// Not a timed assertion: the bound only keeps a broken run from hanging.
fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..1200 {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("gave up waiting: {what}");
}

/// Sends `sig` to a spawned gantry and collects its result.
fn signal(child: std::process::Child, cleanup: &mut Cleanup, sig: i32) -> Run {
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, sig) };
    let r = Run::from_child(child);
    cleanup.gantry = None;
    r
}

/// A build whose `RUN sleep` is running on the engine is stopped there: no
/// process of it is left (`ps`, `docker ps`), and the JSON document, the
/// summary and the state say the image was cancelled.
#[test]
fn sigint_stops_a_build_on_the_engine_and_reports_the_image_cancelled() {
    if !docker_available() {
        return;
    }
    let secs = unique_sleep();
    let repo = format!("gantry-test/cancel-{}", std::process::id());
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!("[images.app]\ncontext = \"app\"\nrepository = \"{repo}\"\n"),
    );
    p.write(
        "app/Dockerfile",
        &format!("FROM {}\nRUN sleep {secs}\n", busybox_image()),
    );
    p.commit("init");
    let needle = format!("sleep {secs}");
    let child = p.gantry().args(["build", "--format", "json"]).spawn();
    let mut cleanup = Cleanup {
        gantry: Some(child.id() as i32),
        needle: needle.clone(),
    };
    wait_until("the build's RUN step is running", || {
        !processes_with(&needle).is_empty()
    });
    let r = signal(child, &mut cleanup, libc::SIGINT).code(130);
    let doc = r.json();
    assert_eq!(doc["verdict"], "failed", "{doc}");
    assert_eq!(
        doc["detail"]["images"][0]["error"], "cancelled by SIGINT",
        "{doc}"
    );
    assert!(
        r.stderr.contains("app: cancelled by SIGINT"),
        "{}",
        r.stderr
    );
    assert!(
        p.read(".gantry/state.json")
            .contains("\"cancelled\": \"SIGINT\""),
        "the state records the cancel"
    );
    // The engine ends the build whose client went away; give it the
    // moment it needs, bounded.
    wait_until("the engine stopped the build's process", || {
        processes_with(&needle).is_empty()
    });
    let containers = docker(&["ps", "--no-trunc", "--format", "{{.Command}}"]);
    assert!(!containers.contains(&needle), "{containers}");
    assert_eq!(docker(&["images", "-q", &repo]), "", "no image was tagged");
}

/// A migration cancelled mid-statement (`pg_sleep`) is rolled back: the
/// history table and the schema hold nothing of it, no session of gantry's
/// is left running it, the file before it stays applied, the one after it
/// never starts, and the output names each.
#[test]
fn sigterm_rolls_back_the_migration_in_flight_and_names_what_was_applied() {
    let Some(pg) = postgres() else {
        return;
    };
    let db = pg.database("cancel_migrate");
    let p = Project::new();
    p.write("gantry.toml", "[migrate]\n");
    p.write(
        "supabase/migrations/20240101000001_one.sql",
        "create table one (id int);\n",
    );
    p.write(
        "supabase/migrations/20240101000002_slow.sql",
        "create table slow_a (id int);\nselect pg_sleep(600);\ncreate table slow_b (id int);\n",
    );
    p.write(
        "supabase/migrations/20240101000003_three.sql",
        "create table three (id int);\n",
    );
    let child = p
        .gantry()
        .env("SUPABASE_DB_URL", &db.url())
        .args(["migrate", "--format", "json"])
        .spawn();
    let mut cleanup = Cleanup {
        gantry: Some(child.id() as i32),
        needle: "gantry-cancel-test-no-process".into(),
    };
    let sleeping = "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'gantry migrate%' AND query LIKE '%pg_sleep%' AND state = 'active'";
    wait_until("gantry is inside the slow migration", || {
        db.sql(sleeping) == "1"
    });
    let r = signal(child, &mut cleanup, libc::SIGTERM).code(143);
    // Nothing of file 2 and no history row for it; file 1 stays; file 3 never ran.
    assert_eq!(db.versions(), ["20240101000001"]);
    assert_eq!(db.sql("SELECT to_regclass('public.one') IS NOT NULL"), "t");
    assert_eq!(db.sql("SELECT to_regclass('public.slow_a') IS NULL"), "t");
    assert_eq!(db.sql("SELECT to_regclass('public.three') IS NULL"), "t");
    // The statement was cancelled on the server, not left sleeping there.
    assert_eq!(db.sql(sleeping), "0");
    let doc = r.json();
    let c = &doc["detail"]["cancelled"];
    assert_eq!(c["signal"], "SIGTERM", "{doc}");
    assert_eq!(c["rolled_back"], "20240101000002", "{doc}");
    assert_eq!(
        c["not_started"],
        serde_json::json!(["20240101000003"]),
        "{doc}"
    );
    assert_eq!(
        doc["detail"]["applied"],
        serde_json::json!(["20240101000001"])
    );
    assert!(
        r.stderr.contains("its transaction was rolled back")
            && r.stderr
                .contains("Applied before the cancel: 20240101000001")
            && r.stderr.contains("Not started: 20240101000003"),
        "{}",
        r.stderr
    );
    // What is left to do is exactly 2 and 3.
    let done = p
        .gantry()
        .env("SUPABASE_DB_URL", &db.url())
        .args(["migrate", "--dry-run"])
        .run()
        .code(0);
    assert!(
        done.stdout.contains("migrate: would change (2 changes)"),
        "{}",
        done.stdout
    );
}

const ECS_DIGEST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/codewarden/api@sha256:1111111111111111111111111111111111111111111111111111111111111111";
const ECS_ORIGINAL: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/codewarden-api:7";
const ECS_NEW: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/codewarden-api:8";

/// A project whose `push` recorded `digests` (image name → reference).
fn pushed(p: &Project, outputs: serde_json::Value) {
    p.write(".gitignore", ".gantry/\n");
    let sha = p.commit("deploy");
    p.write(
        ".gantry/state.json",
        &serde_json::json!({
            "version": 1,
            "revision": sha,
            "steps": {"push": {"verdict": "passed", "dry_run": false,
                "finished_at": "2026-01-01T00:00:00Z", "outputs": outputs}}
        })
        .to_string(),
    );
}

/// A rollout that never settles is cancelled after its update was sent:
/// gantry stops watching, sends no rollback (the rule in the README), and
/// says what it left: the new revision registered and in progress, and the
/// command that rolls back.
#[test]
fn sigint_mid_rollout_says_what_state_the_ecs_service_was_left_in() {
    let ecs = EcsStandIn::start(Scenario::Timeout, Duration::from_millis(150));
    let p = Project::new();
    let td = std::fs::read_to_string(
        crate::support::repo_root().join("examples/monorepo/deploy/task-definition.json"),
    )
    .unwrap();
    p.write("deploy/task-definition.json", &td);
    p.write("api/Dockerfile", "FROM scratch\n");
    p.write(
        "gantry.toml",
        "[images.api]\ncontext = \"api\"\nrepository = \"codewarden/api\"\nregistry = \"ecr\"\n\n\
         [deploy.api]\ncontainers = { api = \"api\" }\n\n\
         [deploy.api.ecs]\ncluster = \"prod\"\nservice = \"api\"\ntask-definition = \"deploy/task-definition.json\"\n",
    );
    pushed(&p, serde_json::json!({ "image-api-digest": ECS_DIGEST }));
    let child = p
        .gantry()
        .envs(ecs.env())
        .env("GANTRY_ECS_POLL_INTERVAL", "40ms")
        .args(["deploy", "ecs", "--format", "json"])
        .spawn();
    let mut cleanup = Cleanup {
        gantry: Some(child.id() as i32),
        needle: "gantry-cancel-test-no-process".into(),
    };
    wait_until("the update was sent and is being watched", || {
        ecs.operations()
            .iter()
            .filter(|o| *o == "DescribeServices")
            .count()
            >= 3
            && ecs.operations().iter().any(|o| o == "UpdateService")
    });
    let r = signal(child, &mut cleanup, libc::SIGINT).code(130);
    let mutating: Vec<String> = ecs.mutating().into_iter().map(|c| c.operation).collect();
    assert_eq!(
        mutating,
        ["RegisterTaskDefinition", "UpdateService"],
        "no rollback is sent on a cancel"
    );
    assert_eq!(ecs.running_task_definition(), ECS_NEW);
    let doc = r.json();
    let d = &doc["detail"]["deploys"][0];
    assert_eq!(d["task_definition"], ECS_NEW, "{doc}");
    assert_eq!(d["cancelled"]["state"], "update-sent", "{doc}");
    assert_eq!(d["cancelled"]["in_progress"], ECS_NEW, "{doc}");
    assert_eq!(
        d["cancelled"]["rollback_command"],
        format!(
            "aws ecs update-service --region us-east-1 --cluster prod --service api --task-definition {ECS_ORIGINAL}"
        ),
        "{doc}"
    );
    let text = d["explanation"].as_str().unwrap();
    assert!(
        text.starts_with("cancelled by SIGINT: registered codewarden-api:8; the update was sent")
            && text.contains("is in progress on prod/api"),
        "{text}"
    );
    assert!(r.stderr.contains(text), "{}", r.stderr);
    assert!(
        p.read(".gantry/state.json")
            .contains("\"cancelled\": \"SIGINT\""),
        "the state records the cancel"
    );
}

/// Railway deployments that are still building when gantry is cancelled
/// are Railway's: gantry stops watching, says which were sent and how to
/// roll each back, and changes nothing more.
#[test]
fn sigterm_mid_railway_rollout_says_which_deployments_were_sent() {
    const TOKEN: &str = "rw-proj-cancel-7d41-4a77-b0a3-secret";
    const DIGEST: &str = "127.0.0.1:5000/shop/api@sha256:4f1ab7d2c3e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f";
    let railway = Railway::start(
        TOKEN,
        "rw-acct-unused-secret",
        vec![
            Service::new("api", &["QUEUED", "BUILDING"]),
            Service::new("worker", &["BUILDING"]),
        ],
    );
    let p = Project::new();
    p.write("api/Dockerfile", "FROM scratch\n");
    p.write(
        "gantry.toml",
        "[images.api]\ncontext = \"api\"\nrepository = \"shop/api\"\nregistry = \"127.0.0.1:5000\"\n\n\
         [deploy.api]\nrailway = { service = \"api\" }\nimage = \"api\"\n\n\
         [deploy.worker]\nrailway = { service = \"worker\" }\nimage = \"api\"\n",
    );
    pushed(&p, serde_json::json!({ "image-api-digest": DIGEST }));
    let child = p
        .gantry()
        .env("RAILWAY_TOKEN", TOKEN)
        .env("GANTRY_RAILWAY_API_URL", &railway.url)
        .env("GANTRY_RAILWAY_POLL_INTERVAL", "20ms")
        .args(["deploy", "railway", "--format", "json"])
        .spawn();
    let mut cleanup = Cleanup {
        gantry: Some(child.id() as i32),
        needle: "gantry-cancel-test-no-process".into(),
    };
    wait_until("both deployments are being watched", || {
        railway
            .operations()
            .iter()
            .filter(|o| *o == "ServiceInstanceDeploy")
            .count()
            == 2
            && railway.service("worker").image.as_deref() == Some(DIGEST)
            && railway
                .operations()
                .last()
                .is_some_and(|o| o == "Deployment")
    });
    let r = signal(child, &mut cleanup, libc::SIGTERM).code(143);
    assert_eq!(
        railway.mutations().len(),
        4,
        "set image and deploy, twice; nothing after"
    );
    let doc = r.json();
    for (i, name) in ["api", "worker"].iter().enumerate() {
        let d = &doc["detail"]["deployments"][i];
        assert_eq!(d["cancelled"]["state"], "deployment-sent", "{doc}");
        assert_eq!(
            d["cancelled"]["rollback_to"],
            format!("dep-{name}-0"),
            "{doc}"
        );
        assert_eq!(d["passed"], false, "{doc}");
        let text = d["cancelled"]["text"].as_str().unwrap();
        assert!(
            text.contains(&format!("the service's image was set to {DIGEST}"))
                && text.contains("Railway carries on with it")
                && text.contains(&format!("deploymentRollback(id: \"dep-{name}-0\")")),
            "{text}"
        );
    }
    assert!(!r.all().contains(TOKEN), "the token stays secret");
    assert!(
        p.read(".gantry/state.json")
            .contains("\"cancelled\": \"SIGTERM\""),
        "the state records the cancel"
    );
}
