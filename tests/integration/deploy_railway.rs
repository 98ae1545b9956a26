//! `gantry deploy railway` against the local Railway stand-in
//! (`tests/support/railway.rs`), which plays scripted deployment timelines.

use crate::support::railway::{ENVIRONMENT_ID, PROJECT_ID, Railway, Service};
use crate::support::scrub::scrub;
use crate::support::{Gantry, Project, Run, Runner};
use serde_json::json;

pub(crate) const PROJECT_TOKEN: &str = "rw-proj-5f0c2b9e-7d41-4a77-b0a3-secret";
pub(crate) const API_TOKEN: &str = "rw-acct-91e2d3c4-0f6a-4b1c-9d8e-secret";
const DIGEST: &str = "127.0.0.1:5000/shop/api@sha256:4f1ab7d2c3e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f";

pub(crate) const CONFIG: &str = r#"[images.api]
context = "api"
repository = "shop/api"
registry = "127.0.0.1:5000"

[deploy.api]
railway = { service = "api" }
image = "api"

[deploy.worker]
railway = { project = "shop", environment = "production", service = "worker" }
image = "api"
"#;

fn project(config: &str) -> Project {
    let p = Project::new();
    p.write("gantry.toml", config);
    p.write("api/Dockerfile", "FROM scratch\n");
    p.commit("init");
    p
}

/// A CI step after `gantry push` recorded the image's digest.
pub(crate) struct Ci {
    p: Project,
    runner: Runner,
    sha: String,
}

impl Ci {
    pub(crate) fn new(config: &str) -> Ci {
        let p = project(config);
        let runner = Runner::new();
        let sha = p.git(&["rev-parse", "HEAD"]);
        let state = json!({
            "version": 1,
            "revision": sha,
            "steps": {"push": {"verdict": "passed", "dry_run": false,
                "finished_at": "2026-01-01T00:00:00Z",
                "outputs": {"image-api-digest": DIGEST, "push-verdict": "passed"}}}
        });
        std::fs::create_dir_all(runner.temp().join("gantry")).unwrap();
        std::fs::write(runner.temp().join("gantry/state.json"), state.to_string()).unwrap();
        Ci { p, runner, sha }
    }

    pub(crate) fn gantry(&self, railway: &Railway, token: (&str, &str)) -> Gantry {
        self.gantry_at(&railway.url, token)
    }

    /// As [`Ci::gantry`], for the stand-in at `url`.
    pub(crate) fn gantry_at(&self, url: &str, token: (&str, &str)) -> Gantry {
        self.gantry_on(url, token, json!({}))
    }

    /// As [`Ci::gantry_at`], for a push whose event payload is `event`.
    pub(crate) fn gantry_on(
        &self,
        url: &str,
        token: (&str, &str),
        event: serde_json::Value,
    ) -> Gantry {
        self.p
            .gantry()
            .envs(self.runner.env("push", event, &self.sha))
            .env(token.0, token.1)
            .env("GANTRY_RAILWAY_API_URL", url)
            .env("GANTRY_RAILWAY_POLL_INTERVAL", "5ms")
    }
}

fn stand_in(services: Vec<Service>) -> Railway {
    Railway::start(PROJECT_TOKEN, API_TOKEN, services)
}

/// stdout without the runner's `::add-mask::` lines.
fn shown(r: &Run) -> String {
    r.stdout
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_pushed_image_rolls_out_to_every_service_and_waits_for_success() {
    let mut api = Service::new("api", &["QUEUED", "BUILDING", "DEPLOYING", "SUCCESS"]);
    api.static_url = Some("api-production.up.railway.app".into());
    let worker = Service::new("worker", &["INITIALIZING", "DEPLOYING", "SUCCESS"]);
    let railway = stand_in(vec![api, worker]);
    let ci = Ci::new(CONFIG);
    let r = ci
        .gantry(&railway, ("RAILWAY_TOKEN", PROJECT_TOKEN))
        .args(["deploy", "railway"])
        .run()
        .code(0);

    // Each service now runs the pushed digest, through the documented calls.
    assert_eq!(railway.service("api").image.as_deref(), Some(DIGEST));
    assert_eq!(railway.service("worker").image.as_deref(), Some(DIGEST));
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
    let set = &railway.mutations()[0];
    assert_eq!(set.variables["environmentId"], ENVIRONMENT_ID);
    assert_eq!(set.variables["serviceId"], "svc-api");
    // Status changes are shown as they happen, once each.
    let out = shown(&r);
    for line in [
        "api: BUILDING",
        "api: DEPLOYING",
        "worker: INITIALIZING",
        "api: SUCCESS",
        "worker: SUCCESS",
    ] {
        assert_eq!(out.matches(line).count(), 1, "{line} in\n{out}");
    }
    let outputs = ci.runner.outputs();
    assert_eq!(outputs["deploy-railway-verdict"], "passed");
    let api_id = &outputs["deploy-api-deployment-id"];
    assert!(api_id.starts_with("dep-api-"), "{outputs:?}");
    assert!(outputs["deploy-worker-deployment-id"].starts_with("dep-worker-"));
    assert_eq!(
        outputs["deploy-api-deployment-url"],
        format!(
            "https://railway.com/project/{PROJECT_ID}/service/svc-api?environmentId={ENVIRONMENT_ID}&id={api_id}"
        )
    );
    assert_eq!(
        outputs["deploy-api-url"],
        "https://api-production.up.railway.app"
    );
    assert!(!outputs.contains_key("deploy-worker-url"));
    let summary = ci.runner.summary();
    assert!(
        summary.contains("### gantry deploy railway: passed"),
        "{summary}"
    );
    assert!(
        summary.contains("| api | shop/production/api |"),
        "{summary}"
    );
    let state: serde_json::Value = serde_json::from_str(&ci.runner.state()).unwrap();
    assert_eq!(
        state["steps"]["deploy-railway"]["outputs"]["deploy-api-deployment-id"],
        api_id.as_str()
    );
}

#[test]
fn a_failed_build_fails_with_its_last_build_log_lines() {
    let mut api = Service::new("api", &["BUILDING", "FAILED"]);
    api.build_logs = vec![
        "Step 3/7 : RUN npm ci".into(),
        "npm ERR! missing script: build".into(),
    ];
    let railway = stand_in(vec![api, Service::new("worker", &["DEPLOYING", "SUCCESS"])]);
    let ci = Ci::new(CONFIG);
    let r = ci
        .gantry(&railway, ("RAILWAY_TOKEN", PROJECT_TOKEN))
        .args(["deploy", "railway"])
        .run()
        .code(1);
    // The last build log lines in a group and in the error annotation; one
    // verdict for the step: the worker's success does not hide the failure.
    insta::assert_snapshot!(scrub(&shown(&r), &ci.p.path()), @r###"
    api: deployment dep-api-1 of shop/production/api started
    worker: deployment dep-worker-2 of shop/production/worker started
    api: BUILDING
    worker: DEPLOYING
    ✗ api: FAILED
    ✓ worker: SUCCESS
    ::group::api: last build log lines of dep-api-1
    Step 3/7 : RUN npm ci
    npm ERR! missing script: build
    ::endgroup::
    ::error title=api%3A Railway deployment FAILED::deployment dep-api-1 of shop/production/api ended FAILED:%0AStep 3/7 : RUN npm ci%0Anpm ERR! missing script: build%0Ahttps://railway.com/project/0b7e0c4e-1111-4c9b-9a51-[ID]/service/svc-api?environmentId=0b7e0c4e-2222-4c9b-9a51-[ID]&id=dep-api-1
    Changes
      legend: + create  ~ update  - delete  > run  ^ upload
      deploy-railway: failed (2 changes)
        ~ Railway service shop/production/api: image old.example/api:v1 → 127.0.0.1:[PORT]/shop/api@sha256:[DIGEST], then deploy
        ~ Railway service shop/production/worker: image old.example/worker:v1 → 127.0.0.1:[PORT]/shop/api@sha256:[DIGEST], then deploy
    Verdict: failed
    "###);
    assert_eq!(ci.runner.outputs()["deploy-railway-verdict"], "failed");
    assert!(railway.operations().contains(&"BuildLogs".to_string()));
}

#[test]
fn a_crash_after_deploy_fails_with_the_runtime_log() {
    let mut api = Service::new("api", &["BUILDING", "DEPLOYING", "CRASHED"]);
    api.build_logs = vec!["Successfully built 3f2a".into()];
    api.deploy_logs = vec![
        "Listening on :8080".into(),
        "Error: connect ECONNREFUSED 10.0.0.5:5432".into(),
    ];
    let railway = stand_in(vec![api, Service::new("worker", &["SUCCESS"])]);
    let ci = Ci::new(CONFIG);
    let r = ci
        .gantry(&railway, ("RAILWAY_TOKEN", PROJECT_TOKEN))
        .args(["deploy", "railway", "api"])
        .run()
        .code(1);
    insta::assert_snapshot!(scrub(&shown(&r), &ci.p.path()), @r###"
    api: deployment dep-api-1 of shop/production/api started
    api: BUILDING
    api: DEPLOYING
    ✗ api: CRASHED
    ::group::api: last build log lines of dep-api-1
    Successfully built 3f2a
    ::endgroup::
    ::group::api: last deploy log lines of dep-api-1
    Listening on :8080
    Error: connect ECONNREFUSED 10.0.0.5:5432
    ::endgroup::
    ::error title=api%3A Railway deployment CRASHED::deployment dep-api-1 of shop/production/api ended CRASHED:%0AListening on :8080%0AError: connect ECONNREFUSED 10.0.0.5:5432%0Ahttps://railway.com/project/0b7e0c4e-1111-4c9b-9a51-[ID]/service/svc-api?environmentId=0b7e0c4e-2222-4c9b-9a51-[ID]&id=dep-api-1
    Changes
      legend: + create  ~ update  - delete  > run  ^ upload
      deploy-railway: failed (1 change)
        ~ Railway service shop/production/api: image old.example/api:v1 → 127.0.0.1:[PORT]/shop/api@sha256:[DIGEST], then deploy
    Verdict: failed
    "###);
    // Only the named deployment ran.
    assert!(
        railway
            .mutations()
            .iter()
            .all(|c| c.variables["serviceId"] != "svc-worker")
    );
}

#[test]
fn a_rate_limited_request_waits_for_retry_after_and_goes_on() {
    let railway = stand_in(vec![
        Service::new("api", &["BUILDING", "SUCCESS"]),
        Service::new("worker", &["SUCCESS"]),
    ]);
    railway.rate_limit(1);
    let ci = Ci::new(CONFIG);
    let r = ci
        .gantry(&railway, ("RAILWAY_TOKEN", PROJECT_TOKEN))
        .args(["deploy", "railway"])
        .run()
        .code(0);
    assert!(
        r.stderr.contains("rate limited (429); retrying in 1s")
            || r.stdout.contains("rate limited (429); retrying in 1s"),
        "{}{}",
        r.stdout,
        r.stderr
    );
    let ops = railway.operations();
    assert_eq!(
        &ops[..2],
        ["429", "ProjectToken"],
        "the same request again after the wait"
    );
}

#[test]
fn transient_errors_are_retried_for_queries_but_never_resent_for_mutations() {
    let services = || {
        vec![
            Service::new("api", &["SUCCESS"]),
            Service::new("worker", &["SUCCESS"]),
        ]
    };
    let railway = stand_in(services());
    railway.fail("Deployment", 2);
    let ci = Ci::new(CONFIG);
    let r = ci
        .gantry(&railway, ("RAILWAY_TOKEN", PROJECT_TOKEN))
        .args(["deploy", "railway", "api"])
        .run()
        .code(0);
    assert!(
        r.all()
            .contains("Railway Deployment: HTTP 502 Bad Gateway; retrying in"),
        "{}",
        r.all()
    );
    assert_eq!(
        railway
            .operations()
            .iter()
            .filter(|o| *o == "Deployment")
            .count(),
        3
    );

    // A deploy that may have reached Railway is not sent twice.
    let railway = stand_in(services());
    railway.fail("ServiceInstanceDeploy", 1);
    let r = ci
        .gantry(&railway, ("RAILWAY_TOKEN", PROJECT_TOKEN))
        .args(["deploy", "railway", "api"])
        .run()
        .code(3);
    assert!(
        r.all().contains("Railway API: HTTP 502 Bad Gateway"),
        "{}",
        r.all()
    );
    let deploys = railway
        .operations()
        .iter()
        .filter(|o| *o == "ServiceInstanceDeploy")
        .count();
    assert_eq!(deploys, 1);
}

#[test]
fn an_invalid_token_exits_3_and_appears_in_no_output() {
    let railway = stand_in(vec![
        Service::new("api", &["SUCCESS"]),
        Service::new("worker", &["SUCCESS"]),
    ]);
    for (var, token) in [
        ("RAILWAY_TOKEN", "rw-proj-WRONG-0000-secret"),
        ("RAILWAY_API_TOKEN", "rw-acct-WRONG-1111-secret"),
    ] {
        let ci = Ci::new(CONFIG.replace("railway = { service = \"api\" }", "railway = { project = \"shop\", environment = \"production\", service = \"api\" }").as_str());
        let r = ci
            .gantry(&railway, (var, token))
            .args(["deploy", "railway"])
            .run()
            .code(3);
        assert!(
            r.commands("::add-mask::")
                .contains(&format!("::add-mask::{token}"))
        );
        let out = shown(&r);
        assert!(
            out.contains(&format!(
                "Railway: refused the token in {var}: Not Authorized"
            )),
            "{out}"
        );
        for (what, text) in [
            ("stdout", out),
            ("stderr", r.stderr.clone()),
            ("outputs", ci.runner.outputs_text()),
            ("summary", ci.runner.summary()),
            ("state", ci.runner.state()),
        ] {
            assert!(!text.contains(token), "{what} leaks the token:\n{text}");
        }
    }
    assert!(railway.mutations().is_empty());
}

#[test]
fn a_dry_run_shows_current_and_new_image_and_mutates_nothing() {
    let railway = stand_in(vec![
        Service::new("api", &["SUCCESS"]),
        Service::new("worker", &["SUCCESS"]),
    ]);
    let ci = Ci::new(CONFIG);
    let r = ci
        .gantry(&railway, ("RAILWAY_API_TOKEN", API_TOKEN))
        .args(["deploy", "railway", "worker", "--dry-run"])
        .run()
        .code(0);
    insta::assert_snapshot!(scrub(&shown(&r), &ci.p.path()), @r###"
    Plan (dry run: nothing remote was changed)
      legend: + create  ~ update  - delete  > run  ^ upload
      deploy-railway: would change (1 change)
        ~ Railway service shop/production/worker: image old.example/worker:v1 → 127.0.0.1:[PORT]/shop/api@sha256:[DIGEST], then deploy
    Verdict: would change (dry run)
    "###);
    assert!(railway.mutations().is_empty(), "{:?}", railway.operations());
    assert_eq!(
        railway.operations(),
        ["Projects", "Project", "ServiceInstance"]
    );
    assert_eq!(
        railway.service("worker").image.as_deref(),
        Some("old.example/worker:v1")
    );
    insta::assert_snapshot!(scrub(&ci.runner.summary(), &ci.p.path()), @r###"
    ### gantry deploy railway: passed (dry run: nothing deployed)

    | Deployment | Railway service | Deploys | Status |
    |---|---|---|---|
    | worker | shop/production/worker | `127.0.0.1:[PORT]/shop/api@sha256:[DIGEST]` | planned |
    "###);
}

#[test]
fn a_redeploy_that_railway_cannot_do_is_refused_with_the_reason() {
    let config = "[deploy.api]\nrailway = { service = \"api\" }\nmode = \"redeploy\"\n";
    let mut api = Service::new("api", &["SUCCESS"]);
    api.latest = Some(("dep-api-0".into(), "REMOVED".into(), false));
    let railway = stand_in(vec![api]);
    let ci = Ci::new(config);
    let r = ci
        .gantry(&railway, ("RAILWAY_TOKEN", PROJECT_TOKEN))
        .args(["deploy", "railway"])
        .run()
        .code(1);
    let errors = r.commands("::error");
    assert!(
        errors.iter().any(|e| e
            .contains("Railway says deployment dep-api-0 of `api` (REMOVED) cannot be redeployed")),
        "{errors:?}"
    );
    assert!(railway.mutations().is_empty());

    // A redeployable one is redeployed and watched.
    let railway = stand_in(vec![Service::new("api", &["DEPLOYING", "SUCCESS"])]);
    let r = ci
        .gantry(&railway, ("RAILWAY_TOKEN", PROJECT_TOKEN))
        .args(["deploy", "railway"])
        .run()
        .code(0);
    assert!(shown(&r).contains("api: SUCCESS"));
    let m = railway.mutations();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].operation, "DeploymentRedeploy");
    assert_eq!(m[0].variables["id"], "dep-api-0");
}

#[test]
fn approval_skips_and_timeouts_are_reported_as_what_they_are() {
    let config = "[deploy.api]\nrailway = { service = \"api\" }\nmode = \"latest-commit\"\n[deploy.worker]\nrailway = { service = \"worker\" }\nmode = \"latest-commit\"\ntimeout = \"1s\"\n";
    let railway = stand_in(vec![
        Service::new("api", &["NEEDS_APPROVAL"]),
        Service::new("worker", &["BUILDING"]),
    ]);
    let ci = Ci::new(config);
    let r = ci
        .gantry(&railway, ("RAILWAY_TOKEN", PROJECT_TOKEN))
        .args(["deploy", "railway"])
        .run()
        .code(1);
    let errors = r.commands("::error").join("\n");
    assert!(
        errors.contains("NEEDS_APPROVAL (approve it in Railway, then run again)"),
        "{errors}"
    );
    assert!(
        errors.contains("timed out (last status BUILDING)"),
        "{errors}"
    );
    let m: Vec<String> = railway
        .mutations()
        .into_iter()
        .map(|c| c.operation)
        .collect();
    assert_eq!(
        m,
        [
            "ServiceInstanceDeployLatestCommit",
            "ServiceInstanceDeployLatestCommit"
        ]
    );
}

#[test]
fn a_local_dry_run_without_a_token_warns_and_shows_the_plan() {
    let p = project(CONFIG);
    let r = p
        .gantry()
        .args(["deploy", "railway", "--dry-run"])
        .run()
        .code(0);
    assert!(r.stderr.contains("Railway not checked"), "{}", r.stderr);
    insta::assert_snapshot!(scrub(&r.stdout, &p.path()), @r###"
    Plan (dry run: nothing remote was changed)
      legend: + create  ~ update  - delete  > run  ^ upload
      deploy-railway: not checked (2 changes)
        not checked: api: Railway was not reached
        not checked: worker: Railway was not reached
        ~ Railway service (token's project)/(token's environment)/api: image (not checked) → the digest `gantry push` records for image `api`, then deploy
        ~ Railway service shop/production/worker: image (not checked) → the digest `gantry push` records for image `api`, then deploy
    Verdict: not checked (dry run)
    "###);
    // With a token but no Railway in reach, likewise (after a short retry).
    let r = p
        .gantry()
        .env("RAILWAY_TOKEN", PROJECT_TOKEN)
        .env(
            "GANTRY_RAILWAY_API_URL",
            &format!(
                "http://127.0.0.1:{}/graphql/v2",
                crate::support::services::free_port()
            ),
        )
        .env("GANTRY_RAILWAY_POLL_INTERVAL", "5ms")
        .args(["deploy", "railway", "--dry-run"])
        .run()
        .code(0);
    assert_eq!(
        r.stderr.matches("Railway not checked").count(),
        1,
        "{}",
        r.stderr
    );
    insta::assert_snapshot!(scrub(&r.stdout, &p.path()), @r###"
    Plan (dry run: nothing remote was changed)
      legend: + create  ~ update  - delete  > run  ^ upload
      deploy-railway: not checked (2 changes)
        not checked: api: Railway was not reached
        not checked: worker: Railway was not reached
        ~ Railway service (token's project)/(token's environment)/api: image (not checked) → the digest `gantry push` records for image `api`, then deploy
        ~ Railway service shop/production/worker: image (not checked) → the digest `gantry push` records for image `api`, then deploy
    Verdict: not checked (dry run)
    "###);
    // A real run needs a token, and the pushed digest.
    let r = p.gantry().args(["deploy", "railway"]).run().code(2);
    assert!(
        r.stderr.contains("was not pushed in this pipeline"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_pipeline_runs_deploy_railway_after_push() {
    let p = project(&CONFIG.replace(
        "[deploy.api]",
        "[pipeline]\nsteps = [\"deploy-railway\"]\n\n[deploy.api]",
    ));
    let r = p.gantry().args(["run", "--dry-run"]).run().code(0);
    insta::assert_snapshot!(scrub(&r.stdout, &p.path()), @r###"
    Plan (dry run: nothing remote was changed)
      legend: + create  ~ update  - delete  > run  ^ upload
      deploy-railway: not checked (2 changes)
        not checked: api: Railway was not reached
        not checked: worker: Railway was not reached
        ~ Railway service (token's project)/(token's environment)/api: image (not checked) → the digest `gantry push` records for image `api`, then deploy
        ~ Railway service shop/production/worker: image (not checked) → the digest `gantry push` records for image `api`, then deploy
    Verdict: not checked (dry run)
    "###);
}

#[test]
fn configuration_mistakes_are_located() {
    let p = project("[deploy.api]\nrailway = { service = \"api\" }\nimage = \"apy\"\n");
    let r = p
        .gantry()
        .args(["deploy", "railway", "--dry-run"])
        .run()
        .code(2);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    error: [PROJECT]/gantry.toml:1:1: deploy.api.image: there is no [images.apy]
      |
    1 | [deploy.api]
      | ^
    hint: `image` names an [images.<name>] section of this file
    "###);
    let p = project(
        "[deploy.api]\nrailway = { service = \"api\" }\nmode = \"redeploy\"\nimage = \"x\"\n",
    );
    let r = p.gantry().args(["deploy", "railway"]).run().code(2);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    error: [PROJECT]/gantry.toml:1:1: deploy.api: `image` and `mode` exclude each other
      |
    1 | [deploy.api]
      | ^
    hint: keep `image` to deploy the pushed image, or `mode` to redeploy or deploy the latest commit
    "###);
}

const GHCR_CONFIG: &str = r#"
[images.api]
context = "api"
repository = "acme/api"
registry = "ghcr.io"

[deploy.api]
railway = { project = "shop", environment = "production", service = "api" }
image = "api"
"#;

fn all(r: &Run) -> String {
    format!("{}{}", r.stdout, r.stderr)
}

const PULL: &str =
    "pull-credentials = { username-env = \"GHCR_USER\", password-env = \"GHCR_PULL_TOKEN\" }\n";
const PULL_TOKEN: &str = "ghp_pullOnlyToken0123456789";

fn private_push() -> serde_json::Value {
    json!({"repository": {"full_name": "acme/shop", "private": true}})
}

/// A package GHCR got from a private repository is private: Railway cannot
/// pull it without credentials, so the deploy is refused before any change.
#[test]
fn a_ghcr_image_of_a_private_repository_needs_pull_credentials() {
    let railway = stand_in(vec![Service::new("api", &["DEPLOYING", "SUCCESS"])]);
    let ci = Ci::new(GHCR_CONFIG);
    let r = ci
        .gantry_on(
            &railway.url,
            ("RAILWAY_TOKEN", PROJECT_TOKEN),
            private_push(),
        )
        .args(["deploy", "railway"])
        .run()
        .code(2);
    let out = format!("{}{}", r.stdout, r.stderr);
    assert!(
        out.contains("goes to ghcr.io from the private repository codewarden/app")
            && out.contains("pull-credentials = { username-env"),
        "{out}"
    );
    assert!(railway.mutations().is_empty(), "{:?}", railway.mutations());

    // With credentials that outlive the job, Railway gets them with the image.
    let ci = Ci::new(&format!("{GHCR_CONFIG}{PULL}"));
    let r = ci
        .gantry_on(
            &railway.url,
            ("RAILWAY_TOKEN", PROJECT_TOKEN),
            private_push(),
        )
        .env("GHCR_USER", "acme-bot")
        .env("GHCR_PULL_TOKEN", PULL_TOKEN)
        .args(["deploy", "railway"])
        .run()
        .code(0);
    let api = railway.service("api");
    assert_eq!(api.image.as_deref(), Some(DIGEST));
    assert_eq!(
        api.registry_credentials,
        Some(("acme-bot".to_string(), PULL_TOKEN.to_string()))
    );
    let ops: Vec<String> = railway
        .mutations()
        .into_iter()
        .map(|c| c.operation)
        .collect();
    assert_eq!(
        ops,
        [
            "ServiceInstanceSetImageWithCredentials",
            "ServiceInstanceDeploy"
        ]
    );
    assert!(
        r.stdout.contains(&format!("::add-mask::{PULL_TOKEN}")),
        "{}",
        r.stdout
    );
    assert!(!shown(&r).contains(PULL_TOKEN) && !r.stderr.contains(PULL_TOKEN));
    assert!(!ci.runner.summary().contains(PULL_TOKEN) && !ci.runner.state().contains(PULL_TOKEN));
}

#[test]
fn pull_credentials_are_checked_before_anything_changes() {
    // The job's token expires with the job; Railway pulls on every restart.
    let railway = stand_in(vec![Service::new("api", &["DEPLOYING", "SUCCESS"])]);
    let ci = Ci::new(&format!(
        "{GHCR_CONFIG}pull-credentials = {{ username-env = \"GITHUB_ACTOR\", password-env = \"GITHUB_TOKEN\" }}\n"
    ));
    let r = ci
        .gantry(&railway, ("RAILWAY_TOKEN", PROJECT_TOKEN))
        .args(["deploy", "railway"])
        .run()
        .code(2);
    assert!(
        all(&r).contains("gantry.toml:")
            && all(&r).contains("GITHUB_TOKEN expires when the job ends"),
        "{}",
        all(&r)
    );

    // A real run whose variables are not set stops before any mutation;
    // a dry run warns and plans.
    let ci = Ci::new(&format!("{GHCR_CONFIG}{PULL}"));
    let r = ci
        .gantry(&railway, ("RAILWAY_TOKEN", PROJECT_TOKEN))
        .args(["deploy", "railway"])
        .run()
        .code(2);
    assert!(
        all(&r).contains("pull-credentials: GHCR_USER or GHCR_PULL_TOKEN is not set"),
        "{}",
        all(&r)
    );
    let r = ci
        .gantry(&railway, ("RAILWAY_TOKEN", PROJECT_TOKEN))
        .args(["deploy", "railway", "--dry-run"])
        .run()
        .code(0);
    assert!(
        shown(&r).contains("Railway pulls it with GHCR_USER / GHCR_PULL_TOKEN"),
        "{}",
        shown(&r)
    );
    assert!(railway.mutations().is_empty());
}
