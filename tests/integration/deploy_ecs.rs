//! `gantry deploy ecs` against the ECS stand-in (rollouts over time) and
//! moto (the request shapes the real AWS SDK sends).

use crate::support::Project;
use crate::support::ecs::{EcsStandIn, Scenario};
use crate::support::scrub::scrub;
use crate::support::services::Moto;
use std::process::Command;
use std::time::Duration;

const DIGEST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/codewarden/api@sha256:1111111111111111111111111111111111111111111111111111111111111111";
const ORIGINAL: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/codewarden-api:7";
const NEW: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/codewarden-api:8";

/// A project whose `push` recorded the digest of image `api`, deploying to
/// the stand-in's `prod/api` from the example's task definition.
pub(crate) fn project(ecs_extra: &str) -> Project {
    project_with(ecs_extra, &[])
}

/// As [`project`], with text replacements in the task definition file.
fn project_with(ecs_extra: &str, edits: &[(&str, &str)]) -> Project {
    let p = Project::new();
    let td = std::fs::read_to_string(
        crate::support::repo_root().join("examples/monorepo/deploy/task-definition.json"),
    )
    .unwrap();
    // A field newer than the SDK's model must reach RegisterTaskDefinition.
    let td = td.replacen('{', "{\n    \"someFieldFrom2030\": {\"enabled\": true},", 1);
    let td = edits
        .iter()
        .fold(td, |td, (from, to)| td.replacen(from, to, 1));
    p.write("deploy/task-definition.json", &td);
    p.write("api/Dockerfile", "FROM scratch\n");
    p.write(
        "gantry.toml",
        &format!(
            "[images.api]\ncontext = \"api\"\nrepository = \"codewarden/api\"\nregistry = \"ecr\"\n\n\
             [deploy.api]\ncontainers = {{ api = \"api\" }}\n\n\
             [deploy.api.ecs]\ncluster = \"prod\"\nservice = \"api\"\ntask-definition = \"deploy/task-definition.json\"\n{ecs_extra}"
        ),
    );
    p.write(".gitignore", ".gantry/\n");
    let sha = p.commit("deploy");
    p.write(
        ".gantry/state.json",
        &serde_json::json!({
            "version": 1,
            "revision": sha,
            "steps": {"push": {"verdict": "passed", "dry_run": false, "finished_at": "2026-01-01T00:00:00Z",
                "outputs": {"image-api-digest": DIGEST}}}
        })
        .to_string(),
    );
    p
}

fn deploy(p: &Project, ecs: &EcsStandIn, args: &[&str]) -> crate::support::Run {
    p.gantry()
        .envs(ecs.env())
        .env("GANTRY_ECS_POLL_INTERVAL", "40ms")
        .args(["deploy", "ecs"])
        .args(args)
        .run()
}

fn count(ops: &[String], op: &str) -> usize {
    ops.iter().filter(|o| *o == op).count()
}

pub(crate) const STEP: Duration = Duration::from_millis(150);

#[test]
fn success_registers_the_pushed_digest_and_waits_for_completion() {
    let ecs = EcsStandIn::start(Scenario::Success, STEP);
    let p = project("");
    let r = deploy(&p, &ecs, &[]).code(0);
    let all = r.all();
    // The diff is printed once, in the plan (indented under its change).
    let added = format!("\"image\": \"{DIGEST}\"");
    assert_eq!(
        all.lines()
            .filter(|l| l.trim_start().starts_with('+') && l.contains(&added))
            .count(),
        1,
        "{all}"
    );
    assert!(all.contains("deployment completed"), "{all}");
    assert!(all.contains("runs codewarden-api:8"), "{all}");
    assert!(all.contains("running 2/2"), "{all}");
    assert!(
        !all.contains("old-event") && all.matches("has reached a steady state").count() == 1,
        "only new events are shown:\n{all}"
    );
    assert_eq!(ecs.running_task_definition(), NEW);
    let registered = ecs.task_definition(NEW).unwrap();
    assert_eq!(registered["containerDefinitions"][0]["image"], DIGEST);
    assert_eq!(
        registered["someFieldFrom2030"]["enabled"], true,
        "newer fields are kept"
    );
    assert!(
        registered.get("requiresAttributes").is_none()
            && registered.get("revision") == Some(&8.into())
    );
    let state = p.read(".gantry/state.json");
    for output in [
        "deploy-api-task-definition",
        "deploy-api-previous-task-definition",
        "deploy-api-deployment-id",
        "deploy-api-console-url",
    ] {
        assert!(state.contains(output), "{output} in {state}");
    }
    assert!(
        state.contains(ORIGINAL)
            && state.contains("console.aws.amazon.com/ecs/v2/clusters/prod/services/api"),
        "{state}"
    );

    // Re-running is a no-op: the service already runs this definition.
    let before = ecs.mutating().len();
    let r = deploy(&p, &ecs, &[]).code(0);
    insta::assert_snapshot!(scrub(&r.all(), &p.path()), @r###"
    Changes
      deploy-ecs: passed (no remote changes)
    Verdict: passed
    ✓ [api] api already runs this task definition: nothing to deploy
    ✓ [api] api already runs codewarden-api:8
    "###);
    assert_eq!(
        ecs.mutating().len(),
        before,
        "unchanged definition: no mutating call"
    );

    // --force starts a new deployment of the same revision, registering nothing.
    deploy(&p, &ecs, &["--force"]).code(0);
    let ops: Vec<String> = ecs.mutating().into_iter().map(|c| c.operation).collect();
    assert_eq!(
        ops,
        ["RegisterTaskDefinition", "UpdateService", "UpdateService"]
    );
}

#[test]
fn keep_revisions_deregisters_older_revisions_after_a_success() {
    let ecs = EcsStandIn::start(Scenario::Success, STEP);
    let p = project("keep-revisions = 1\n");
    deploy(&p, &ecs, &[]).code(0);
    let gone: Vec<_> = ecs
        .mutating()
        .into_iter()
        .filter(|c| c.operation == "DeregisterTaskDefinition")
        .map(|c| c.body["taskDefinition"].clone())
        .collect();
    assert_eq!(gone, [ORIGINAL]);
    assert_eq!(ecs.task_definition(NEW).unwrap()["status"], "ACTIVE");
}

#[test]
fn dry_run_prints_the_diff_and_changes_nothing() {
    let ecs = EcsStandIn::start(Scenario::Success, STEP);
    let p = project("");
    let r = deploy(&p, &ecs, &["--dry-run"]).code(0);
    // The diff against the running revision: the digest replaces `:latest`,
    // and a field newer than the SDK is kept.
    insta::assert_snapshot!(scrub(&r.stdout, &p.path()), @r###"
    Plan (dry run: nothing remote was changed)
      legend: + create  ~ update  - delete  > run  ^ upload
      deploy-ecs: would change (2 changes)
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
    Verdict: would change (dry run)
    "###);
    assert!(ecs.mutating().is_empty(), "{:?}", ecs.operations());
    assert_eq!(ecs.running_task_definition(), ORIGINAL);
}

#[test]
fn slow_start_shows_counts_as_they_change() {
    let ecs = EcsStandIn::start(Scenario::SlowStart, STEP);
    let p = project("");
    let r = deploy(&p, &ecs, &[]).code(0);
    let all = r.all();
    assert!(
        all.contains("running 0/2, pending 2")
            && all.contains("running 1/2, pending 1")
            && all.contains("running 2/2, pending 0"),
        "{all}"
    );
    assert_eq!(ecs.running_task_definition(), NEW);
}

#[test]
fn circuit_breaker_failure_is_a_failure_even_after_ecs_rolled_back() {
    let ecs = EcsStandIn::start(Scenario::CircuitBreaker, STEP);
    let p = project("");
    let r = deploy(&p, &ecs, &[]).code(1);
    let all = r.all();
    assert!(
        all.contains("ECS deployment circuit breaker: tasks failed to start."),
        "{all}"
    );
    assert!(all.contains("ECS rolled back to codewarden-api:7"), "{all}");
    // ECS rolled back by itself: gantry did not start a second update.
    assert_eq!(count(&ecs.operations(), "UpdateService"), 1);
    assert_eq!(ecs.running_task_definition(), ORIGINAL);
    assert!(p.read(".gantry/state.json").contains("\"failed\""));
}

#[test]
fn tasks_that_cannot_pull_fail_fast_and_are_rolled_back() {
    let ecs = EcsStandIn::start(Scenario::CannotPull, STEP);
    let p = project("deregister-failed = true\n");
    let r = deploy(&p, &ecs, &[]).code(1);
    let all = r.all();
    assert!(
        all.contains("CannotPullContainerError: pull image manifest has been retried"),
        "{all}"
    );
    assert!(all.contains("rolled back to codewarden-api:7"), "{all}");
    assert!(
        !all.contains("old0"),
        "a task stopped before the deploy is not ours:\n{all}"
    );
    let updates: Vec<_> = ecs
        .mutating()
        .into_iter()
        .filter(|c| c.operation == "UpdateService")
        .collect();
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[1].body["taskDefinition"], ORIGINAL);
    assert_eq!(ecs.running_task_definition(), ORIGINAL);
    assert_eq!(count(&ecs.operations(), "DeregisterTaskDefinition"), 1);
    assert_eq!(ecs.task_definition(NEW).unwrap()["status"], "INACTIVE");
}

#[test]
fn a_crashing_container_shows_its_last_log_lines() {
    let ecs = EcsStandIn::start(Scenario::Crash, STEP);
    let p = project("");
    let r = deploy(&p, &ecs, &[]).code(1);
    let all = r.all();
    assert!(
        all.contains("Essential container in task exited; api exited 1"),
        "{all}"
    );
    assert!(
        all.contains("last log lines of api (/ecs/codewarden-api, api/api/"),
        "{all}"
    );
    for line in crate::support::ecs::CRASH_LOG {
        assert!(all.contains(line), "{line}:\n{all}");
    }
    assert!(all.contains("rolled back to codewarden-api:7"), "{all}");
    assert_eq!(ecs.running_task_definition(), ORIGINAL);
}

#[test]
fn throttling_is_retried() {
    let ecs = EcsStandIn::start(Scenario::Throttling, STEP);
    let p = project("");
    deploy(&p, &ecs, &[]).code(0);
    assert_eq!(ecs.throttled(), 4, "every throttled call was retried");
    assert_eq!(ecs.running_task_definition(), NEW);
}

#[test]
fn timeout_rolls_back() {
    let ecs = EcsStandIn::start(Scenario::Timeout, STEP);
    let p = project("timeout = \"1s\"\n");
    let r = deploy(&p, &ecs, &[]).code(1);
    let all = r.all();
    assert!(
        all.contains("no verdict within 1s") && all.contains("rolled back to codewarden-api:7"),
        "{all}"
    );
    assert_eq!(ecs.running_task_definition(), ORIGINAL);
}

#[test]
fn a_failing_one_off_task_leaves_the_service_untouched() {
    let ecs = EcsStandIn::start(Scenario::RunTaskExits1, STEP);
    let p = project("run-task = { command = [\"python\", \"-m\", \"migrate\"] }\n");
    let r = deploy(&p, &ecs, &["--dry-run"]).code(0);
    let plan: String = scrub(&r.stdout, &p.path())
        .lines()
        .filter(|l| !l.starts_with("        "))
        .map(|l| format!("{l}\n"))
        .collect();
    // (the task definition's diff lines, indented under their change, are left out)
    insta::assert_snapshot!(plan, @r###"
    Plan (dry run: nothing remote was changed)
      legend: + create  ~ update  - delete  > run  ^ upload
      deploy-ecs: would change (3 changes)
        + task definition codewarden-api: register a new revision
        > one-off task in prod: run `python -m migrate` before the service update
        ~ service prod/api: deploy the new revision, watch until a verdict
    Verdict: would change (dry run)
    "###);
    let r = deploy(&p, &ecs, &[]).code(1);
    let all = r.all();
    assert!(
        all.contains("api exited 1") && all.contains("the service was not touched"),
        "{all}"
    );
    let ops = ecs.operations();
    assert_eq!(count(&ops, "UpdateService"), 0, "{ops:?}");
    let run = ecs
        .mutating()
        .into_iter()
        .find(|c| c.operation == "RunTask")
        .unwrap();
    assert_eq!(run.body["taskDefinition"], NEW);
    assert_eq!(run.body["launchType"], "FARGATE");
    assert_eq!(
        run.body["networkConfiguration"]["awsvpcConfiguration"]["subnets"][0],
        "subnet-0123456789abcdef0"
    );
    assert_eq!(
        run.body["overrides"]["containerOverrides"][0]["command"][1],
        "-m"
    );
    assert_eq!(ecs.running_task_definition(), ORIGINAL);
}

#[test]
fn a_passing_one_off_task_comes_before_the_update() {
    let ecs = EcsStandIn::start(Scenario::Success, STEP);
    let p = project("run-task = { command = [\"python\", \"-m\", \"migrate\"] }\n");
    deploy(&p, &ecs, &[]).code(0);
    let ops: Vec<String> = ecs.mutating().into_iter().map(|c| c.operation).collect();
    assert_eq!(ops, ["RegisterTaskDefinition", "RunTask", "UpdateService"]);
}

#[test]
fn a_local_dry_run_without_aws_shows_the_diff_against_the_file() {
    let p = project("");
    let r = p
        .gantry()
        .env("AWS_ENDPOINT_URL_ECS", "http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["deploy", "ecs", "--dry-run"])
        .run()
        .code(0);
    assert!(
        r.stderr.contains("not checked against ECS") && r.stderr.contains("task-definition.json"),
        "{}",
        r.stderr
    );
    insta::assert_snapshot!(scrub(&r.stdout, &p.path()), @r###"
    Plan (dry run: nothing remote was changed)
      legend: + create  ~ update  - delete  > run  ^ upload
      deploy-ecs: not checked (2 changes)
        not checked: api: ECS was not reached
        + task definition codewarden-api: register a new revision
            --- task-definition.json
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
        ~ service prod/api: deploy the new revision, watch until a verdict
    Verdict: not checked (dry run)
    "###);
}

#[test]
fn a_missing_digest_and_unknown_names_are_usage_errors() {
    let ecs = EcsStandIn::start(Scenario::Success, STEP);
    let p = project("");
    let r = deploy(&p, &ecs, &["worker"]).code(2);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    error: no ECS deploy named `worker`
    hint: ECS deploys in [PROJECT]/gantry.toml: api
    "###);
    std::fs::remove_file(p.path().join(".gantry/state.json")).unwrap();
    let r = deploy(&p, &ecs, &[]).code(2);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    error: deploy `api`: image `api` was not pushed in this pipeline (no digest in [PROJECT]/.gantry/state.json)
    hint: run `gantry push` first, or `gantry run` with push before deploy-ecs
    "###);
    assert!(ecs.mutating().is_empty());
    p.write("gantry.toml", "[images.api]\ncontext = \"api\"\nrepository = \"codewarden/api\"\n[deploy.api]\ncontainers = { api = \"apx\" }\necs = { cluster = \"prod\", service = \"api\" }\n");
    let r = deploy(&p, &ecs, &[]).code(2);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    error: deploy.api.containers.api: no image named `apx`
    hint: did you mean `api`?
    "###);
}

/// moto accepts every call in the shape the AWS SDK sends it.
#[test]
fn moto_accepts_the_request_shapes() {
    let Some(moto) = Moto::start() else { return };
    let python = crate::support::repo_root().join(".venv/bin/python");
    let setup = format!(
        r#"
import boto3, json
ecs = boto3.client("ecs", endpoint_url="{0}", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing-secret-key")
ecs.create_cluster(clusterName="prod")
# RunTask on EC2 needs a container instance.
from moto.ec2 import utils as ec2_utils
ec2 = boto3.resource("ec2", endpoint_url="{0}", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing-secret-key")
ami = ec2.meta.client.describe_images()["Images"][0]["ImageId"]
instance = ec2.create_instances(ImageId=ami, MinCount=1, MaxCount=1)[0]
ecs.register_container_instance(cluster="prod", instanceIdentityDocument=json.dumps(ec2_utils.generate_instance_identity_document(instance)))
td = json.load(open("{1}"))
td["networkMode"] = "bridge"
td["requiresCompatibilities"] = ["EC2"]
td["containerDefinitions"][0]["memory"] = 512
for k in ["taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities", "registeredAt", "registeredBy"]:
    td.pop(k, None)
arn = ecs.register_task_definition(**td)["taskDefinition"]["taskDefinitionArn"]
ecs.create_service(cluster="prod", serviceName="api", taskDefinition=arn, desiredCount=1, launchType="EC2")
"#,
        moto.endpoint,
        crate::support::repo_root()
            .join("examples/monorepo/deploy/task-definition.json")
            .display()
    );
    let out = Command::new(&python).args(["-c", &setup]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // moto 5.2.5 fails RunTask for a container without its own memory, and
    // CreateService with an awsvpc configuration: the bridge network here.
    let p = project_with(
        "region = \"us-east-1\"\ntimeout = \"3s\"\nkeep-revisions = 1\nrun-task = { command = [\"true\"] }\nenvironment = { LOG_LEVEL = \"debug\" }\n",
        &[
            ("\"name\": \"api\",", "\"name\": \"api\", \"memory\": 512,"),
            ("\"awsvpc\"", "\"bridge\""),
            (
                "\"requiresCompatibilities\": [\n        \"FARGATE\"",
                "\"requiresCompatibilities\": [\n        \"EC2\"",
            ),
        ],
    );
    let r = p
        .gantry()
        .envs(moto.env())
        .env("GANTRY_ECS_POLL_INTERVAL", "100ms")
        .args(["deploy", "ecs", "--dry-run"])
        .run()
        .code(0);
    assert!(r.stdout.contains("\"value\": \"debug\""), "{}", r.stdout);
    // A real run: register, run-task, describe-tasks, update and describe
    // are accepted; moto never moves the rollout forward, so the verdict is
    // a timeout followed by a rollback (another update) and a deregistration.
    let r = p
        .gantry()
        .envs(moto.env())
        .env("GANTRY_ECS_POLL_INTERVAL", "100ms")
        .args(["deploy", "ecs", "-v"])
        .run();
    let all = r.all();
    assert_eq!(r.code, 1, "{all}");
    for said in [
        "registered arn:aws:ecs:us-east-1:123456789012:task-definition/codewarden-api:2",
        "one-off task `true` succeeded",
        "deployment failed: no verdict within 3s",
        "rolling back to codewarden-api:1",
    ] {
        assert!(all.contains(said), "{said}:\n{all}");
    }
}

/// One benchmark run: seconds from the stand-in's event to the line where
/// gantry gives its verdict (`line` is a part of that line).
fn gantry_latency(scenario: Scenario, step: Duration, mark: &str, line: &str) -> f64 {
    use std::io::BufRead;
    let ecs = EcsStandIn::start(scenario, step);
    let p = project("");
    let mut child = p
        .gantry()
        .envs(ecs.env())
        .args(["deploy", "ecs", "--color", "never"])
        .spawn();
    let stderr = child.stderr.take().unwrap();
    let mut seen = None;
    for l in std::io::BufReader::new(stderr).lines() {
        let l = l.unwrap();
        if seen.is_none() && l.contains(line) {
            seen = Some(std::time::Instant::now());
        }
    }
    child.wait().unwrap();
    let seen = seen.unwrap_or_else(|| panic!("gantry never printed `{line}`"));
    let at = ecs
        .mark(mark)
        .unwrap_or_else(|| panic!("the stand-in never reached `{mark}`"));
    seen.duration_since(at).as_secs_f64()
}

/// The same rollout watched by `aws ecs wait services-stable`'s policy
/// (botocore's `services_stable` waiter: DescribeServices every 15 s, at
/// most 40 times), driven through boto3 against the stand-in.
fn waiter_latency(step: Duration) -> f64 {
    let ecs = EcsStandIn::start(Scenario::Success, step);
    let python = crate::support::repo_root().join(".venv/bin/python");
    let script = format!(
        r#"
import boto3
ecs = boto3.client("ecs", endpoint_url="{}", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
ecs.register_task_definition(family="codewarden-api", containerDefinitions=[{{"name": "api", "image": "x@sha256:1"}}])
ecs.update_service(cluster="prod", service="api", taskDefinition="codewarden-api:8")
ecs.get_waiter("services_stable").wait(cluster="prod", services=["api"])
"#,
        ecs.endpoint
    );
    let out = Command::new(python).args(["-c", &script]).output().unwrap();
    let done = std::time::Instant::now();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    done.duration_since(ecs.mark("completed").unwrap())
        .as_secs_f64()
}

/// `scripts/bench-deploy-ecs`: verdict latency, gantry vs the 15 s waiter.
#[test]
#[ignore = "a benchmark: cargo test --test integration -- --ignored bench_verdict_latency --nocapture"]
fn bench_verdict_latency() {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    // One step of the stand-in's timeline: COMPLETED after 2 steps, the
    // first task stopped after 1. Real rollouts take minutes; what is
    // measured here is only the delay after the event. The step varies from
    // run to run so that events do not line up with either poller's ticks.
    let step = |i: usize| Duration::from_millis(2500 + 370 * i as u64);
    let stats = |v: &[f64]| {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let max = v.iter().copied().fold(0.0, f64::max);
        format!("{mean:.2} s mean, {max:.2} s max")
    };
    let completed: Vec<f64> = (0..runs)
        .map(|i| gantry_latency(Scenario::Success, step(i), "completed", "✓ [api]"))
        .collect();
    let failed: Vec<f64> = (0..runs)
        .map(|i| {
            gantry_latency(
                Scenario::CannotPull,
                step(i),
                "first-stop",
                "deployment failed",
            )
        })
        .collect();
    let waiter: Vec<f64> = (0..runs.min(3)).map(|i| waiter_latency(step(i))).collect();
    println!("\n| event | gantry deploy ecs | aws ecs wait services-stable |");
    println!("| --- | ---: | ---: |");
    println!(
        "| deployment COMPLETED → verdict | {} ({runs} runs) | {} ({} runs) |",
        stats(&completed),
        stats(&waiter),
        waiter.len()
    );
    println!(
        "| first task stopped (CannotPullContainerError) → failure reported | {} ({runs} runs) | never: waits for a steady state, up to 40 × 15 s = 10 min |",
        stats(&failed)
    );
}

#[test]
fn several_services_deploy_in_parallel_with_one_verdict() {
    let ecs = EcsStandIn::start(Scenario::RunTaskExits1, STEP);
    // The worker's one-off task exits 1; the API has none and succeeds.
    let p = project(
        "\n[deploy.worker]\ncontainers = { api = \"api\" }\n\n[deploy.worker.ecs]\ncluster = \"prod\"\nservice = \"worker\"\ntask-definition = \"deploy/task-definition.json\"\nrun-task = { command = [\"false\"] }\n",
    );
    let r = deploy(&p, &ecs, &[]).code(1);
    let all = r.all();
    assert!(
        all.contains("✓ [api] prod/api runs codewarden-api:"),
        "{all}"
    );
    assert!(
        all.contains("✗ [worker] the one-off task `false` failed"),
        "{all}"
    );
    assert_ne!(ecs.running("api"), ORIGINAL);
    assert_eq!(ecs.running("worker"), ORIGINAL);
    let updates: Vec<_> = ecs
        .mutating()
        .into_iter()
        .filter(|c| c.operation == "UpdateService")
        .map(|c| c.body["service"].clone())
        .collect();
    assert_eq!(updates, ["api"]);
    let state = p.read(".gantry/state.json");
    assert!(
        state.contains("deploy-api-task-definition")
            && state.contains("deploy-worker-task-definition"),
        "{state}"
    );
}

/// What a user reads in a dry run: one line per change under a legend,
/// and the verdict. (That the real run makes exactly these changes is
/// `fidelity::deploy_ecs_new_revision`.)
#[test]
fn the_dry_run_shows_its_plan_with_a_legend() {
    use crate::support::scrub::scrub;
    let ecs = EcsStandIn::start(Scenario::Success, STEP);
    let p = project("");
    let dry = deploy(&p, &ecs, &["--dry-run"]).code(0);
    assert!(ecs.mutating().is_empty(), "{:?}", ecs.operations());
    let dry = scrub(&dry.stdout, &p.path());
    let dry: String = dry
        .lines()
        .filter(|l| !l.starts_with("        "))
        .map(|l| format!("{l}\n"))
        .collect();
    // (the task definition's diff lines, indented under their change, are left out)
    insta::assert_snapshot!(dry, @r###"
    Plan (dry run: nothing remote was changed)
      legend: + create  ~ update  - delete  > run  ^ upload
      deploy-ecs: would change (2 changes)
        + task definition codewarden-api: register a new revision
        ~ service prod/api: deploy the new revision, watch until a verdict
    Verdict: would change (dry run)
    "###);
}

/// The stand-in's answers to this test's calls are AWS's model's shapes.
fn assert_faithful(ecs: &EcsStandIn) {
    let Some(model) = crate::support::ecs::api_model() else {
        return;
    };
    let wrong = ecs.model_mismatches(model);
    assert!(
        wrong.is_empty(),
        "the stand-in left AWS's model:\n{}",
        wrong.join("\n")
    );
}

/// The lines of `all` that name a lifecycle stage, in order (one per change).
fn stages_shown(all: &str) -> Vec<String> {
    all.lines()
        .filter_map(|l| l.strip_prefix("[api] "))
        .filter_map(|l| l.split([' ', ':']).next())
        .filter(|w| gantry::aws::ecs::lifecycle::STAGES.contains(w))
        .map(str::to_string)
        .collect()
}

/// Waits (without a time limit that could fail a slow machine) until the
/// `api` service's deployment is at `stage`.
fn wait_for_stage(ecs: &EcsStandIn, stage: &str) {
    for _ in 0..6000 {
        if let Some((_, Some(s))) = ecs.service_deployment("api")
            && s == stage
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the deployment never reached {stage}");
}

#[test]
fn blue_green_bakes_and_completes_following_each_stage() {
    let ecs = EcsStandIn::start(Scenario::BlueGreen, STEP);
    let p = project("");
    let r = deploy(&p, &ecs, &[]).code(0);
    let all = r.all();
    let mut shown = stages_shown(&all);
    shown.dedup();
    assert_eq!(
        shown,
        [
            "PRE_SCALE_UP",
            "SCALE_UP",
            "POST_SCALE_UP",
            "TEST_TRAFFIC_SHIFT",
            "POST_TEST_TRAFFIC_SHIFT",
            "PRODUCTION_TRAFFIC_SHIFT",
            "POST_PRODUCTION_TRAFFIC_SHIFT",
            "BAKE_TIME",
            "CLEAN_UP"
        ],
        "{all}"
    );
    assert!(
        all.contains("runs codewarden-api:8 (BLUE_GREEN deployment successful)"),
        "{all}"
    );
    assert_eq!(ecs.running_task_definition(), NEW);
    let ops = ecs.operations();
    assert_eq!(count(&ops, "UpdateService"), 1, "{ops:?}");
    assert!(count(&ops, "DescribeServiceDeployments") > 0, "{ops:?}");
    let state = p.read(".gantry/state.json");
    assert!(
        state.contains("deploy-api-service-deployment-arn")
            && state.contains(":service-deployment/prod/api/"),
        "{state}"
    );
    assert_faithful(&ecs);
}

#[test]
fn an_alarm_during_the_bake_is_ecs_rollback_reported_not_fought() {
    let ecs = EcsStandIn::start(Scenario::BlueGreenAlarm, STEP);
    // The rollout outlasts the timeout, but not the timeout plus the bake
    // (10 min): gantry waits for ECS's verdict and never rolls back itself.
    let p = project("timeout = \"1s\"\n");
    let r = deploy(&p, &ecs, &[]).code(1);
    let all = r.all();
    assert!(
        all.contains("ROLLBACK_REQUESTED: CloudWatch alarm api-5xx"),
        "{all}"
    );
    assert!(
        all.contains("alarm api-5xx; ECS rolled back: prod/api runs codewarden-api:7 again"),
        "{all}"
    );
    assert!(
        !stages_shown(&all).contains(&"CLEAN_UP".to_string()),
        "{all}"
    );
    assert_eq!(
        count(&ecs.operations(), "UpdateService"),
        1,
        "ECS rolled back, not gantry"
    );
    assert_eq!(ecs.running_task_definition(), ORIGINAL);
    assert!(p.read(".gantry/state.json").contains("\"failed\""));
    assert_faithful(&ecs);
}

#[test]
fn a_canary_paused_by_a_hook_returns_and_continue_finishes_it() {
    let ecs = EcsStandIn::start(Scenario::CanaryHook, STEP);
    let p = project("");
    let r = deploy(&p, &ecs, &[]).code(0);
    let all = r.all();
    assert!(
        all.contains("paused at POST_TEST_TRAFFIC_SHIFT by lifecycle hook")
            && all.contains("waits at POST_TEST_TRAFFIC_SHIFT for lifecycle hook")
            && all.contains("`gantry deploy ecs continue api` goes on"),
        "{all}"
    );
    let state = p.read(".gantry/state.json");
    assert!(
        state.contains("\"deploy-api-lifecycle-stage\": \"POST_TEST_TRAFFIC_SHIFT\""),
        "{state}"
    );
    // The hook holds it: nothing moves until the workflow continues.
    assert_eq!(
        ecs.service_deployment("api").unwrap(),
        ("IN_PROGRESS".into(), Some("POST_TEST_TRAFFIC_SHIFT".into()))
    );

    let dry = deploy(&p, &ecs, &["continue", "--dry-run"]).code(0);
    assert!(
        dry.stdout.contains(
            "~ service deployment prod/api: continue past POST_TEST_TRAFFIC_SHIFT (lifecycle hook"
        ),
        "{}",
        dry.stdout
    );
    assert_eq!(count(&ecs.operations(), "ContinueServiceDeployment"), 0);

    let r = deploy(&p, &ecs, &["continue"]).code(0);
    let all = r.all();
    let cont = ecs
        .mutating()
        .into_iter()
        .find(|c| c.operation == "ContinueServiceDeployment")
        .unwrap();
    assert_eq!(cont.body["action"], "CONTINUE");
    assert!(
        cont.body["serviceDeploymentArn"]
            .as_str()
            .unwrap()
            .contains(":service-deployment/prod/api/")
    );
    assert!(
        all.contains("PRODUCTION_TRAFFIC_SHIFT (new revision: 10% of production")
            && all.contains("PRODUCTION_TRAFFIC_SHIFT (new revision: 100% of production")
            && all.contains("prod/api: deployment successful"),
        "{all}"
    );
    assert_eq!(ecs.running_task_definition(), NEW);
    // Continuing again: no hook waits any more.
    let r = deploy(&p, &ecs, &["continue"]).code(2);
    assert!(
        r.stderr
            .contains("is not waiting at a hook (status SUCCESSFUL"),
        "{}",
        r.stderr
    );
    assert_faithful(&ecs);
}

#[test]
fn a_linear_deployment_stopped_mid_way_is_reported_rolled_back() {
    let ecs = EcsStandIn::start(Scenario::Linear, STEP);
    let p = project("");
    let child = p
        .gantry()
        .envs(ecs.env())
        .env("GANTRY_ECS_POLL_INTERVAL", "40ms")
        .args(["deploy", "ecs", "--color", "never"])
        .spawn();
    wait_for_stage(&ecs, "PRODUCTION_TRAFFIC_SHIFT");
    // An operator stops it in the console.
    ecs.stop("api");
    let out = child.wait_with_output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains(
            "ROLLBACK_REQUESTED: Service deployment rolled back because of a stop request"
        ) && all.contains("ECS rolled back: prod/api runs codewarden-api:7 again"),
        "{all}"
    );
    assert!(all.contains("25% of production"), "{all}");
    assert!(!all.contains("100% of production"), "{all}");
    assert_eq!(ecs.running_task_definition(), ORIGINAL);
    assert_eq!(count(&ecs.operations(), "UpdateService"), 1);
    assert_faithful(&ecs);
}

#[test]
fn wait_until_returns_at_the_stage_and_rollback_stops_the_deployment() {
    let ecs = EcsStandIn::start(Scenario::Linear, STEP);
    let p = project("wait-until = \"production-traffic-shift\"\n");
    let r = deploy(&p, &ecs, &[]).code(0);
    let all = r.all();
    assert!(
        all.contains("reached PRODUCTION_TRAFFIC_SHIFT; ECS carries on"),
        "{all}"
    );
    let state = p.read(".gantry/state.json");
    assert!(state.contains(":service-deployment/prod/api/"), "{state}");
    let r = deploy(&p, &ecs, &["rollback", "api"]).code(0);
    let all = r.all();
    let stop = ecs
        .mutating()
        .into_iter()
        .find(|c| c.operation == "StopServiceDeployment")
        .unwrap();
    assert_eq!(stop.body["stopType"], "ROLLBACK");
    assert!(
        all.contains("ECS rolled prod/api back to the revision before"),
        "{all}"
    );
    assert_eq!(ecs.running_task_definition(), ORIGINAL);
    // A flag overrides the config; a stage that does not exist is a usage error.
    let r = deploy(&p, &ecs, &["--wait-until", "BAKE"]).code(2);
    assert!(r.stderr.contains("not a lifecycle stage"), "{}", r.stderr);
    assert_faithful(&ecs);
}

#[test]
fn rollback_of_a_rolling_service_deploys_the_previous_revision() {
    let ecs = EcsStandIn::start(Scenario::Success, STEP);
    let p = project("");
    deploy(&p, &ecs, &[]).code(0);
    assert_eq!(ecs.running_task_definition(), NEW);
    let dry = deploy(&p, &ecs, &["rollback", "--dry-run"]).code(0);
    assert!(
        dry.stdout.contains(&format!(
            "~ service prod/api: deploy {ORIGINAL} (roll back)"
        )),
        "{}",
        dry.stdout
    );
    let r = deploy(&p, &ecs, &["rollback"]).code(0);
    assert!(
        r.all().contains("prod/api runs codewarden-api:7 again"),
        "{}",
        r.all()
    );
    assert_eq!(ecs.running_task_definition(), ORIGINAL);
    let updates: Vec<_> = ecs
        .mutating()
        .into_iter()
        .filter(|c| c.operation == "UpdateService")
        .map(|c| c.body["taskDefinition"].clone())
        .collect();
    assert_eq!(updates, [NEW, ORIGINAL]);
    assert_faithful(&ecs);
}

#[test]
fn the_rolling_stand_in_is_faithful_to_the_model_too() {
    for scenario in [Scenario::CircuitBreaker, Scenario::Crash] {
        let ecs = EcsStandIn::start(scenario, STEP);
        let p = project("run-task = { command = [\"true\"] }\nkeep-revisions = 1\n");
        deploy(&p, &ecs, &[]);
        assert_faithful(&ecs);
    }
}

#[test]
fn an_existing_revision_is_deployed_by_arn_without_registering() {
    let six = "arn:aws:ecs:us-east-1:123456789012:task-definition/codewarden-api:6";
    let ecs = EcsStandIn::start_running(
        Scenario::Success,
        STEP,
        &[
            ("api", "codewarden-api", 7),
            ("worker", "codewarden-api", 6),
        ],
    );
    let p = project("");
    p.write(
        "gantry.toml",
        &format!(
            "[deploy.api]\n[deploy.api.ecs]\ncluster = \"prod\"\nservice = \"api\"\ntask-definition = \"{six}\"\n"
        ),
    );
    let dry = deploy(&p, &ecs, &["--dry-run"]).code(0);
    assert!(
        dry.stdout.contains(&format!(
            "~ service prod/api: deploy {six}, watch until a verdict"
        )),
        "{}",
        dry.stdout
    );
    deploy(&p, &ecs, &[]).code(0);
    let ops: Vec<String> = ecs.mutating().into_iter().map(|c| c.operation).collect();
    assert_eq!(ops, ["UpdateService"]);
    assert_eq!(ecs.mutating()[0].body["taskDefinition"], six);
    assert_eq!(ecs.running_task_definition(), six);
    assert_faithful(&ecs);
}

#[test]
fn a_service_on_capacity_providers_keeps_them_and_its_one_off_task_runs_on_them() {
    let ecs = EcsStandIn::start(Scenario::Success, STEP);
    ecs.use_capacity_providers();
    let p = project("run-task = { command = [\"python\", \"-m\", \"migrate\"] }\n");
    deploy(&p, &ecs, &[]).code(0);
    let calls = ecs.mutating();
    let run = calls.iter().find(|c| c.operation == "RunTask").unwrap();
    assert!(run.body.get("launchType").is_none(), "{}", run.body);
    assert_eq!(
        run.body["capacityProviderStrategy"][1]["capacityProvider"],
        "FARGATE_SPOT"
    );
    assert_eq!(run.body["capacityProviderStrategy"][0]["base"], 1);
    let update = calls
        .iter()
        .find(|c| c.operation == "UpdateService")
        .unwrap();
    assert!(
        update.body.get("capacityProviderStrategy").is_none()
            && update.body.get("launchType").is_none(),
        "the service's strategy is left as it is: {}",
        update.body
    );
    assert_eq!(ecs.running_task_definition(), NEW);
    assert_faithful(&ecs);
}

#[test]
fn a_one_off_task_takes_its_own_network_capacity_environment_and_tags() {
    let ecs = EcsStandIn::start(Scenario::Success, STEP);
    let p = project(
        "run-task = { command = [\"python\", \"-m\", \"migrate\"], subnets = [\"subnet-1\"], security-groups = [\"sg-1\"], assign-public-ip = true, capacity-provider = \"FARGATE_SPOT\", environment = { MODE = \"migrate\" }, tags = { purpose = \"migrate\" } }\n",
    );
    deploy(&p, &ecs, &[]).code(0);
    let run = ecs
        .mutating()
        .into_iter()
        .find(|c| c.operation == "RunTask")
        .unwrap()
        .body;
    let vpc = &run["networkConfiguration"]["awsvpcConfiguration"];
    assert_eq!(vpc["subnets"], serde_json::json!(["subnet-1"]));
    assert_eq!(vpc["securityGroups"], serde_json::json!(["sg-1"]));
    assert_eq!(vpc["assignPublicIp"], "ENABLED");
    assert!(run.get("launchType").is_none(), "{run}");
    assert_eq!(
        run["capacityProviderStrategy"],
        serde_json::json!([{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}])
    );
    assert_eq!(
        run["overrides"]["containerOverrides"][0]["environment"],
        serde_json::json!([{"name": "MODE", "value": "migrate"}])
    );
    assert_eq!(
        run["tags"],
        serde_json::json!([{"key": "purpose", "value": "migrate"}])
    );
    // Only the subnets changed: the service's security groups stay.
    let p = project(
        "run-task = { command = [\"true\"], subnets = [\"subnet-2\"], launch-type = \"FARGATE\" }\n",
    );
    deploy(&p, &ecs, &["--force"]).code(0);
    let run = ecs
        .mutating()
        .into_iter()
        .rfind(|c| c.operation == "RunTask")
        .unwrap()
        .body;
    let vpc = &run["networkConfiguration"]["awsvpcConfiguration"];
    assert_eq!(vpc["subnets"], serde_json::json!(["subnet-2"]));
    assert_eq!(
        vpc["securityGroups"],
        serde_json::json!(["sg-0123456789abcdef0"])
    );
    assert_eq!(run["launchType"], "FARGATE");
    assert_faithful(&ecs);
    // Both a launch type and a capacity provider: a usage error before any call.
    let before = ecs.calls().len();
    let p = project(
        "run-task = { command = [\"true\"], launch-type = \"FARGATE\", capacity-provider = \"FARGATE_SPOT\" }\n",
    );
    let r = deploy(&p, &ecs, &[]).code(2);
    assert!(
        r.stderr.contains("both launch-type and capacity-provider"),
        "{}",
        r.stderr
    );
    assert_eq!(ecs.calls().len(), before);
}

#[test]
fn a_strategy_set_in_gantry_toml_is_planned_as_a_service_diff_and_followed() {
    let ecs = EcsStandIn::start(Scenario::Success, STEP);
    let p = project(
        "deployment = { strategy = \"canary\", bake-minutes = 10, canary-percent = 20, canary-bake-minutes = 5 }\n",
    );
    // Without an alternate target group ECS cannot shift traffic.
    let r = deploy(&p, &ecs, &["--dry-run"]).code(2);
    assert!(
        r.stderr
            .contains("needs a load balancer with an alternate target group"),
        "{}",
        r.stderr
    );
    ecs.add_alternate_target_groups();
    let dry = deploy(&p, &ecs, &["--dry-run"]).code(0);
    for line in [
        "set strategy CANARY, follow its lifecycle until ECS's verdict",
        "--- service prod/api",
        "+++ gantry.toml",
        "-  \"strategy\": \"ROLLING\"",
        "+  \"strategy\": \"CANARY\"",
        "\"canaryPercent\": 20.0",
    ] {
        assert!(dry.stdout.contains(line), "{line}:\n{}", dry.stdout);
    }
    assert!(ecs.mutating().is_empty());
    let r = deploy(&p, &ecs, &[]).code(0);
    let all = r.all();
    assert!(
        all.contains("PRODUCTION_TRAFFIC_SHIFT (new revision: 20% of production")
            && all.contains("(CANARY deployment successful)"),
        "{all}"
    );
    let update = ecs
        .mutating()
        .into_iter()
        .find(|c| c.operation == "UpdateService")
        .unwrap()
        .body;
    let config = &update["deploymentConfiguration"];
    assert_eq!(config["strategy"], "CANARY");
    assert_eq!(config["bakeTimeInMinutes"], 10);
    assert_eq!(config["canaryConfiguration"]["canaryBakeTimeInMinutes"], 5);
    // The rest of the service's configuration is kept as it was.
    assert_eq!(config["maximumPercent"], 200);
    assert_eq!(config["deploymentCircuitBreaker"]["rollback"], true);
    // Now the service deploys so, and runs this revision: nothing to do.
    let again = deploy(&p, &ecs, &["--dry-run"]).code(0);
    assert!(
        again.stdout.contains("no remote changes"),
        "{}",
        again.stdout
    );
    assert_faithful(&ecs);
    // Keys that do not go together are an error naming the file.
    let p = project("deployment = { strategy = \"canary\", step-percent = 10 }\n");
    let r = deploy(&p, &ecs, &["--dry-run"]).code(2);
    assert!(
        r.stderr.contains("deploy.api.ecs.deployment: canary-* keys go with strategy canary and step-* keys with linear"),
        "{}",
        r.stderr
    );
}

#[test]
fn verify_says_whether_the_service_runs_what_the_state_recorded() {
    let ecs = EcsStandIn::start(Scenario::Success, STEP);
    let p = project("");
    let r = deploy(&p, &ecs, &["verify"]).code(2);
    assert!(
        r.stderr
            .contains("the pipeline state records no deploy of it"),
        "{}",
        r.stderr
    );
    deploy(&p, &ecs, &[]).code(0);
    let before = ecs.mutating().len();
    let r = deploy(&p, &ecs, &["verify"]).code(0);
    assert!(
        r.all()
            .contains("✓ [api] prod/api runs codewarden-api:8, settled"),
        "{}",
        r.all()
    );
    // After a rollback the state says what runs again.
    deploy(&p, &ecs, &["rollback"]).code(0);
    let r = deploy(&p, &ecs, &["verify"]).code(0);
    assert!(
        r.all().contains("runs codewarden-api:7, settled"),
        "{}",
        r.all()
    );
    assert_eq!(ecs.mutating().len(), before + 1, "verify only reads");

    // ECS rolled a failed deploy back: not what the state says.
    let ecs = EcsStandIn::start(Scenario::CircuitBreaker, STEP);
    let p = project("");
    deploy(&p, &ecs, &[]).code(1);
    let r = deploy(&p, &ecs, &["verify"]).code(1);
    assert!(
        r.all().contains("✗ [api] prod/api: it runs codewarden-api:7 where the pipeline state says codewarden-api:8"),
        "{}",
        r.all()
    );

    // A canary held at its hook is not settled.
    let ecs = EcsStandIn::start(Scenario::CanaryHook, STEP);
    let p = project("");
    deploy(&p, &ecs, &[]).code(0);
    let r = deploy(&p, &ecs, &["verify"]).code(1);
    assert!(
        r.all().contains("2 deployments, not settled") && r.all().contains("is IN_PROGRESS"),
        "{}",
        r.all()
    );
    assert_faithful(&ecs);
}

#[test]
fn wait_until_on_a_rolling_service_warns_and_waits_for_the_verdict() {
    let ecs = EcsStandIn::start(Scenario::Success, STEP);
    let p = project("");
    let r = deploy(&p, &ecs, &["--wait-until", "BAKE_TIME"]).code(0);
    assert!(
        r.stderr
            .contains("wait-until is for BLUE_GREEN, LINEAR and CANARY services")
            && r.all()
                .contains("runs codewarden-api:8 (deployment completed)"),
        "{}",
        r.all()
    );
    assert_eq!(count(&ecs.operations(), "DescribeServiceDeployments"), 0);
}
