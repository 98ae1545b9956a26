//! Proof that every dry run tells the truth, for every command that changes
//! a remote system, one scenario per row of [`rows!`]:
//!
//! (a) `--dry-run` makes no mutating call and leaves every real system as it
//!     found it;
//! (b) the real run's mutating calls are, one for one and in order, the
//!     changes the dry run's JSON `plan` listed (and that dry run's status
//!     is `would-change`, its `<step>-verdict` `passed`); when the run
//!     fails, they are a prefix of those plus the documented rollback calls,
//!     and the JSON document says it failed (exit 1: `verdict` `failed`;
//!     exit 3: the error document).
//!
//! Calls come from the shared log the stand-ins write
//! (`tests/support/calls.rs`) and from observers that read the real systems
//! (registry, pypiserver, PostgreSQL) before and after. A snapshot cannot
//! see in which order things were made, so calls read by an observer are
//! compared in their own order (tag, file name, migration version).

use crate::support::Run;
use crate::support::calls::{Call, CallLog, DbObserver, Observer, PypiObserver, RegistryObserver};
use serde_json::Value;

/// Runs a scenario's command with these extra arguments.
type Command = Box<dyn Fn(&[&str]) -> Run>;

/// One scenario, ready to run: its command with its environment, where
/// its calls are logged and what reads the real systems it touches.
struct Scenario {
    /// Runs the scenario's command with these extra arguments.
    run: Command,
    log: CallLog,
    observers: Vec<Box<dyn Observer>>,
    /// The services and projects the scenario needs, kept alive to the end.
    _alive: Vec<Box<dyn std::any::Any>>,
}

/// How the real run ends.
enum Ends {
    Passed,
    /// Exit code and the `system operation target` of each call a failure
    /// makes after the planned ones (a rollback), in order.
    Failed(i32, &'static [&'static str]),
}

/// The calls a planned change stands for, by the wording of its target
/// (`src/commands/*/render.rs`): one per change, except a Railway image
/// change, which is "set the image, then deploy".
fn expected_calls(change: &Value) -> Vec<String> {
    let target = change["target"].as_str().unwrap_or_default();
    let action = change["action"].as_str().unwrap_or_default();
    let summary = change["summary"].as_str().unwrap_or_default();
    let words: Vec<&str> = target.split(' ').collect();
    match (action, words.as_slice()) {
        ("create", ["task", "definition", family]) => {
            vec![format!("ecs RegisterTaskDefinition {family}")]
        }
        ("run", ["one-off", "task", "in", cluster]) => vec![format!("ecs RunTask {cluster}")],
        ("delete", ["task", "definition", revision]) => {
            vec![format!("ecs DeregisterTaskDefinition {revision}")]
        }
        ("update", ["service", service]) => vec![format!("ecs UpdateService {service}")],
        ("update", ["service", "deployment", service]) if summary.starts_with("continue") => {
            vec![format!("ecs ContinueServiceDeployment {service}")]
        }
        ("update", ["service", "deployment", service]) if summary.starts_with("stop") => {
            vec![format!("ecs StopServiceDeployment {service}")]
        }
        ("run", ["Railway", "service", path]) if summary.starts_with("redeploy") => {
            let service = path.rsplit('/').next().unwrap_or_default();
            vec![format!("railway DeploymentRedeploy {service}")]
        }
        ("update", ["Railway", "service", path]) => {
            let service = path.rsplit('/').next().unwrap_or_default();
            vec![
                format!("railway ServiceInstanceSetImage {service}"),
                format!("railway ServiceInstanceDeploy {service}"),
            ]
        }
        ("run", ["migration", version]) => vec![format!("postgres record migration {version}")],
        // A new seed runs and is recorded; a changed one only has its hash recorded.
        ("run" | "update", ["seed", path]) => vec![format!("postgres record seed {path}")],
        ("upload", ["pypi", _name, file]) => vec![format!("pypi upload {file}")],
        ("upload", ["npm", name, _file]) => vec![format!("npm PUT {name}")],
        ("upload", [reference]) => vec![format!("registry push {reference}")],
        _ => panic!("no calls known for the planned change {change}: add its mapping here"),
    }
}

/// What the scenario's systems saw since `start` and `before`: the logged
/// mutating calls in order, then what the observers found changed.
fn calls_since(
    s: &Scenario,
    start: usize,
    before: &[crate::support::calls::Holdings],
) -> Vec<Call> {
    let mut calls = s.log.mutating_since(start);
    for (o, b) in s.observers.iter().zip(before) {
        calls.extend(o.calls_since(b));
    }
    calls
}

fn keys(calls: &[Call]) -> Vec<String> {
    calls.iter().map(Call::key).collect()
}

fn check(row: fn() -> Option<Scenario>, ends: Ends) {
    let Some(s) = row() else {
        return;
    };
    // (a) The dry run changes nothing.
    let before: Vec<_> = s.observers.iter().map(|o| o.holdings()).collect();
    let start = s.log.len();
    let dry = (s.run)(&["--dry-run", "--format", "json"]);
    let made = calls_since(&s, start, &before);
    assert!(
        made.is_empty(),
        "the dry run changed something: {:?}\n{}",
        keys(&made),
        dry.all()
    );
    for (o, b) in s.observers.iter().zip(&before) {
        assert_eq!(&o.holdings(), b, "the dry run changed {}", o.system());
    }
    let doc = dry.json();
    let changes = doc["plan"]["changes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let planned: Vec<String> = changes.iter().flat_map(expected_calls).collect();

    // (b) The real run makes the planned changes.
    let before: Vec<_> = s.observers.iter().map(|o| o.holdings()).collect();
    let start = s.log.len();
    let real = (s.run)(&["--format", "json"]);
    let mut made = keys(&calls_since(&s, start, &before));
    let mut planned = planned;
    let observed = !s.observers.is_empty();
    match ends {
        Ends::Passed => {
            // A dry run that lists changes says so, and that it passed.
            assert_eq!(doc["status"], "would-change", "{}", dry.stdout);
            let verdict = format!("{}-verdict", doc["step"].as_str().unwrap_or_default());
            assert_eq!(doc["outputs"][&verdict], "passed", "{}", dry.stdout);
            assert!(
                !planned.is_empty(),
                "a passing row plans something: {}",
                dry.stdout
            );
            let real = real.code(0);
            assert_eq!(real.json()["verdict"], "passed", "{}", real.stdout);
            if observed {
                planned.sort();
                made.sort();
            }
            assert_eq!(
                made, planned,
                "the real run's calls are the plan's\n{}",
                dry.stdout
            );
        }
        Ends::Failed(code, rollback) => {
            let real = real.code(code);
            let doc = real.json();
            if code == 1 {
                assert_eq!(doc["verdict"], "failed", "{}", real.stdout);
            } else {
                assert_eq!(doc["exit_code"], code, "{}", real.stdout);
                assert!(doc["error"].is_string(), "{}", real.stdout);
            }
            let n = made.len().checked_sub(rollback.len()).unwrap_or_else(|| {
                panic!(
                    "fewer calls than the rollback alone: {made:?}\n{}",
                    real.all()
                )
            });
            assert_eq!(&made[n..], rollback, "the rollback calls\n{}", real.all());
            let mut prefix = planned
                .get(..n)
                .unwrap_or_else(|| {
                    panic!(
                        "more calls than planned: {made:?} for {planned:?}\n{}",
                        real.all()
                    )
                })
                .to_vec();
            let mut done = made[..n].to_vec();
            if observed {
                prefix.sort();
                done.sort();
            }
            assert_eq!(
                done,
                prefix,
                "the calls made are the plan's first\n{}",
                real.all()
            );
        }
    }
}

/// One test per row: `name: scenario => how it ends`.
macro_rules! rows {
    ($($name:ident: $setup:path => $ends:expr;)*) => {
        $(
            #[test]
            fn $name() {
                check($setup, $ends);
            }
        )*
    };
}

rows! {
    push_two_tags: push::two_tags => Ends::Passed;
    push_refused_credentials: push::refused_credentials => Ends::Failed(3, &[]);
    push_an_immutable_tag_would_move: push::immutable_tag_would_move => Ends::Failed(1, &[]);
    migrate_two_pending: migrate::two_pending => Ends::Passed;
    migrate_fails_in_file_3_of_5: migrate::fails_in_file_3_of_5 => Ends::Failed(1, &[]);
    migrate_a_new_seed: migrate::new_seed => Ends::Passed;
    migrate_a_changed_seed: migrate::changed_seed => Ends::Passed;
    deploy_ecs_new_revision: deploy_ecs::new_revision => Ends::Passed;
    deploy_ecs_cannot_pull_rolls_back: deploy_ecs::cannot_pull => Ends::Failed(1, &[
        "ecs UpdateService prod/api",
        "ecs DeregisterTaskDefinition codewarden-api:8",
    ]);
    deploy_ecs_one_off_task_then_update: deploy_ecs::one_off_task => Ends::Passed;
    deploy_ecs_one_off_task_fails: deploy_ecs::one_off_task_fails => Ends::Failed(1, &[]);
    deploy_ecs_keeps_one_revision: deploy_ecs::keep_one_revision => Ends::Passed;
    deploy_ecs_circuit_breaker: deploy_ecs::circuit_breaker => Ends::Failed(1, &[]);
    deploy_ecs_timeout_rolls_back: deploy_ecs::timeout => Ends::Failed(1, &[
        "ecs UpdateService prod/api",
    ]);
    deploy_ecs_blue_green_bakes: deploy_ecs::blue_green => Ends::Passed;
    deploy_ecs_blue_green_alarm_rolls_back: deploy_ecs::blue_green_alarm => Ends::Failed(1, &[]);
    deploy_ecs_canary_paused_by_a_hook: deploy_ecs::canary_hook => Ends::Passed;
    deploy_ecs_continue_a_paused_canary: deploy_ecs::canary_continue => Ends::Passed;
    deploy_ecs_rollback_stops_a_linear_one: deploy_ecs::linear_rollback => Ends::Passed;
    deploy_railway_redeploy: deploy_railway::redeploy => Ends::Passed;
    deploy_railway_two_services: deploy_railway::two_services => Ends::Passed;
    deploy_railway_crash: deploy_railway::crash => Ends::Failed(1, &[]);
    publish_pypi_sdist_and_wheel: publish::pypi => Ends::Passed;
    publish_pypi_trusted_publishing: publish::pypi_trusted => Ends::Passed;
    publish_pypi_refused_token: publish::pypi_refused_token => Ends::Failed(3, &[]);
    publish_npm_package: publish::npm => Ends::Passed;
    publish_npm_version_exists: publish::npm_version_exists => Ends::Failed(1, &[]);
}

mod push {
    use super::*;
    use crate::push::{USER, project, with_creds};
    use crate::support::services::{Registry, docker_available};

    fn scenario(password: &'static str) -> Option<Scenario> {
        scenario_with(password, "", |_, _| {})
    }

    /// `prepare` gets the project and the registry's host after the build.
    fn scenario_with(
        password: &'static str,
        extra: &str,
        prepare: impl Fn(&crate::support::Project, &str),
    ) -> Option<Scenario> {
        if !docker_available() {
            return None;
        }
        let registry = Registry::start(Some(USER))?;
        let p = project(&registry.host, "team/api", extra);
        with_creds(p.gantry(), password)
            .args(["build"])
            .run()
            .code(0);
        prepare(&p, &registry.host);
        let observer = RegistryObserver::new(&registry.host, Some(USER));
        Some(Scenario {
            run: Box::new(move |extra: &[&str]| {
                with_creds(p.gantry(), password)
                    .args(["push"])
                    .args(extra)
                    .run()
            }),
            log: CallLog::new(),
            observers: vec![Box::new(observer)],
            _alive: vec![Box::new(registry)],
        })
    }

    pub(super) fn two_tags() -> Option<Scenario> {
        scenario(USER.1)
    }

    pub(super) fn refused_credentials() -> Option<Scenario> {
        scenario("Wrong-Pa55word-123")
    }

    /// Both tags were pushed; the same commit built again with other
    /// contents would move them, and they are immutable: refused.
    pub(super) fn immutable_tag_would_move() -> Option<Scenario> {
        scenario_with(USER.1, "tag-mutability = \"immutable\"\n", |p, _| {
            with_creds(p.gantry(), USER.1).args(["push"]).run().code(0);
            p.write("api/app.txt", "version 2\n");
            with_creds(p.gantry(), USER.1).args(["build"]).run().code(0);
        })
    }
}

mod migrate {
    use super::*;
    use crate::migrate::{FIVE, setup};
    use crate::support::Project;
    use crate::support::postgres::Db;

    fn scenario(test: &str, files: &[(&str, &str)]) -> Option<Scenario> {
        scenario_with(test, files, &[], |_, _| {})
    }

    /// `prepare` sets the project and the database up before the row's runs.
    fn scenario_with(
        test: &str,
        files: &[(&str, &str)],
        args: &'static [&'static str],
        prepare: impl Fn(&Project, &Db),
    ) -> Option<Scenario> {
        let (p, db) = setup(test, files)?;
        prepare(&p, &db);
        let observer = DbObserver::new(&db);
        Some(Scenario {
            run: Box::new(move |extra: &[&str]| {
                p.gantry()
                    .env("SUPABASE_DB_URL", &db.url())
                    .args(["migrate"])
                    .args(args)
                    .args(extra)
                    .run()
            }),
            log: CallLog::new(),
            observers: vec![Box::new(observer)],
            _alive: vec![],
        })
    }

    pub(super) fn two_pending() -> Option<Scenario> {
        scenario("fidelity_two", &FIVE[..2])
    }

    /// The seed is new: it runs and is recorded.
    pub(super) fn new_seed() -> Option<Scenario> {
        scenario_with("fidelity_seed", &FIVE[..1], &["--include-seed"], |p, _| {
            p.write("supabase/seed.sql", "insert into one values (42);\n");
        })
    }

    /// The seed changed since it ran: its new hash is recorded.
    pub(super) fn changed_seed() -> Option<Scenario> {
        scenario_with(
            "fidelity_seed2",
            &FIVE[..1],
            &["--include-seed"],
            |p, db| {
                p.write("supabase/seed.sql", "insert into one values (42);\n");
                p.gantry()
                    .env("SUPABASE_DB_URL", &db.url())
                    .args(["migrate", "--include-seed"])
                    .run()
                    .code(0);
                p.write("supabase/seed.sql", "insert into one values (43);\n");
            },
        )
    }

    /// The third file has a typo: 1 and 2 are applied, nothing of 3 to 5.
    pub(super) fn fails_in_file_3_of_5() -> Option<Scenario> {
        scenario("fidelity_fail", &FIVE)
    }
}

mod deploy_ecs {
    use super::*;
    use crate::deploy_ecs::{STEP, project};
    use crate::support::ecs::{EcsStandIn, Scenario as Timeline};

    // One signature for every row's setup: the others return `None` when
    // their service is missing; stand-ins always start.
    #[allow(clippy::unnecessary_wraps)]
    fn scenario(timeline: Timeline, ecs_extra: &str) -> Option<Scenario> {
        after(timeline, ecs_extra, None)
    }

    /// A row whose command is `gantry deploy ecs <then>` after a deploy
    /// (which is not part of the row) returned early.
    #[allow(clippy::unnecessary_wraps)]
    fn after(timeline: Timeline, ecs_extra: &str, then: Option<&'static str>) -> Option<Scenario> {
        let log = CallLog::new();
        let ecs = EcsStandIn::start_logged(timeline, STEP, log.clone());
        let p = project(ecs_extra);
        let env = ecs.env();
        let gantry = move |args: &[&str]| {
            p.gantry()
                .envs(env.clone())
                .env("GANTRY_ECS_POLL_INTERVAL", "40ms")
                .args(["deploy", "ecs"])
                .args(args)
                .run()
        };
        if then.is_some() {
            gantry(&[]).code(0);
        }
        Some(Scenario {
            run: Box::new(move |extra: &[&str]| {
                let mut args: Vec<&str> = then.into_iter().collect();
                args.extend(extra);
                gantry(&args)
            }),
            log,
            observers: vec![],
            _alive: vec![Box::new(ecs)],
        })
    }

    pub(super) fn new_revision() -> Option<Scenario> {
        scenario(Timeline::Success, "")
    }

    const ONE_OFF: &str = "run-task = { command = [\"python\", \"-m\", \"migrate\"] }\n";

    pub(super) fn one_off_task() -> Option<Scenario> {
        scenario(Timeline::Success, ONE_OFF)
    }

    /// The one-off task exits 1: the service is not updated.
    pub(super) fn one_off_task_fails() -> Option<Scenario> {
        scenario(Timeline::RunTaskExits1, ONE_OFF)
    }

    /// After the success the older revision is deregistered.
    pub(super) fn keep_one_revision() -> Option<Scenario> {
        scenario(Timeline::Success, "keep-revisions = 1\n")
    }

    /// ECS's circuit breaker rolls back by itself: gantry calls nothing more.
    pub(super) fn circuit_breaker() -> Option<Scenario> {
        scenario(Timeline::CircuitBreaker, "")
    }

    /// BLUE_GREEN: ECS bakes and completes; gantry follows the stages.
    pub(super) fn blue_green() -> Option<Scenario> {
        scenario(Timeline::BlueGreen, "")
    }

    /// An alarm in the bake: ECS rolls back, gantry calls nothing more.
    pub(super) fn blue_green_alarm() -> Option<Scenario> {
        scenario(Timeline::BlueGreenAlarm, "")
    }

    /// CANARY with a PAUSE hook: the deploy returns at the hook.
    pub(super) fn canary_hook() -> Option<Scenario> {
        scenario(Timeline::CanaryHook, "")
    }

    /// `continue` past the hook: one ContinueServiceDeployment.
    pub(super) fn canary_continue() -> Option<Scenario> {
        after(Timeline::CanaryHook, "", Some("continue"))
    }

    /// LINEAR, returned at the first traffic shift: `rollback` stops it.
    pub(super) fn linear_rollback() -> Option<Scenario> {
        after(
            Timeline::Linear,
            "wait-until = \"PRODUCTION_TRAFFIC_SHIFT\"\n",
            Some("rollback"),
        )
    }

    /// No verdict in time: gantry rolls the service back.
    pub(super) fn timeout() -> Option<Scenario> {
        scenario(Timeline::Timeout, "timeout = \"1s\"\n")
    }

    /// Tasks cannot pull the image: gantry rolls the service back and
    /// deregisters the revision that failed.
    pub(super) fn cannot_pull() -> Option<Scenario> {
        scenario(Timeline::CannotPull, "deregister-failed = true\n")
    }
}

mod deploy_railway {
    use super::*;
    use crate::deploy_railway::{API_TOKEN, CONFIG, Ci, PROJECT_TOKEN};
    use crate::support::railway::{Railway, Service};

    fn scenario(services: Vec<Service>) -> Option<Scenario> {
        scenario_with(CONFIG, services)
    }

    // One signature for every row's setup: the others return `None` when
    // their service is missing; stand-ins always start.
    #[allow(clippy::unnecessary_wraps)]
    fn scenario_with(config: &str, services: Vec<Service>) -> Option<Scenario> {
        let log = CallLog::new();
        let railway = Railway::start_logged(PROJECT_TOKEN, API_TOKEN, services, log.clone());
        let ci = Ci::new(config);
        let url = railway.url.clone();
        Some(Scenario {
            run: Box::new(move |extra: &[&str]| {
                ci.gantry_at(&url, ("RAILWAY_TOKEN", PROJECT_TOKEN))
                    .args(["deploy", "railway"])
                    .args(extra)
                    .run()
            }),
            log,
            observers: vec![],
            _alive: vec![Box::new(railway)],
        })
    }

    pub(super) fn two_services() -> Option<Scenario> {
        scenario(vec![
            Service::new("api", &["BUILDING", "SUCCESS"]),
            Service::new("worker", &["SUCCESS"]),
        ])
    }

    /// The latest deployment is deployed again.
    pub(super) fn redeploy() -> Option<Scenario> {
        scenario_with(
            "[deploy.api]\nrailway = { service = \"api\" }\nmode = \"redeploy\"\n",
            vec![Service::new("api", &["SUCCESS"])],
        )
    }

    /// The API's deployment crashes; Railway keeps the old one serving.
    pub(super) fn crash() -> Option<Scenario> {
        scenario(vec![
            Service::new("api", &["BUILDING", "DEPLOYING", "CRASHED"]),
            Service::new("worker", &["SUCCESS"]),
        ])
    }
}

mod publish {
    use super::*;
    use crate::publish::{TOKEN, npm_project, python_project};
    use crate::support::npm::NpmRegistry;
    use crate::support::oidc::OidcStandIn;
    use crate::support::pypi::PypiServer;
    use crate::support::{Runner, require_tool};

    fn pypi_with(token: &'static str) -> Option<Scenario> {
        if require_tool("python").is_none() || require_tool("pip").is_none() {
            return None;
        }
        let index = PypiServer::start(TOKEN)?;
        let p = python_project(&index.url(), "1.2.3");
        p.git(&["tag", "v1.2.3"]);
        let observer = PypiObserver {
            simple: index.simple(),
        };
        Some(Scenario {
            run: Box::new(move |extra: &[&str]| {
                p.gantry()
                    .env("PYPI_TOKEN", token)
                    .args(["publish", "--tag", "v1.2.3"])
                    .args(extra)
                    .run()
            }),
            log: CallLog::new(),
            observers: vec![Box::new(observer)],
            _alive: vec![Box::new(index)],
        })
    }

    pub(super) fn pypi() -> Option<Scenario> {
        pypi_with(TOKEN)
    }

    /// Trusted publishing in GitHub Actions: the uploads go through the OIDC
    /// stand-in, whose log sees them.
    pub(super) fn pypi_trusted() -> Option<Scenario> {
        if require_tool("python").is_none() || require_tool("pip").is_none() {
            return None;
        }
        let minted = "pypi-minted-AgENdGVzdC5weXBpLm9yZwIkOGQ5Y2Ex";
        let request_token = "ghs_request_token_0123456789";
        let index = PypiServer::start(minted)?;
        let log = CallLog::new();
        let oidc = OidcStandIn::start_logged(
            request_token,
            "eyJhbGciOiJSUzI1NiJ9.github-id-token.signature",
            minted,
            index.port,
            log.clone(),
        );
        let p = python_project(&oidc.url(), "0.9.0");
        let runner = Runner::new();
        let sha = p.git(&["rev-parse", "HEAD"]);
        let env = runner.env("push", serde_json::json!({}), &sha);
        let token_url = oidc.token_request_url();
        Some(Scenario {
            run: Box::new(move |extra: &[&str]| {
                p.gantry()
                    .envs(env.clone())
                    .env("GITHUB_REF_TYPE", "tag")
                    .env("GITHUB_REF_NAME", "demo-v0.9.0")
                    .env("ACTIONS_ID_TOKEN_REQUEST_URL", &token_url)
                    .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", request_token)
                    .args(["publish"])
                    .args(extra)
                    .run()
            }),
            log,
            observers: vec![],
            _alive: vec![Box::new(oidc), Box::new(index), Box::new(runner)],
        })
    }

    /// The index refuses the token: nothing is uploaded.
    pub(super) fn pypi_refused_token() -> Option<Scenario> {
        pypi_with("pypi-not-the-token-0123456789")
    }

    const NPM_TOKEN: &str = "npm_0123456789abcdefghijklmnopqrstuvwxyz";

    fn npm_with(published_before: bool) -> Option<Scenario> {
        require_tool("npm")?;
        let log = CallLog::new();
        let registry = NpmRegistry::start_logged(NPM_TOKEN, log.clone());
        let p = npm_project(&registry.url(), "3.1.0");
        let publish = move |p: &crate::support::Project, extra: &[&str]| {
            p.gantry()
                .env("NPM_TOKEN", NPM_TOKEN)
                .args(["publish", "--tag", "js-sdk-v3.1.0"])
                .args(extra)
                .run()
        };
        if published_before {
            // 3.1.0 is on the registry with other contents.
            publish(&p, &[]).code(0);
            p.write("js/index.js", "module.exports = 2;\n");
        }
        Some(Scenario {
            run: Box::new(move |extra: &[&str]| publish(&p, extra)),
            log,
            observers: vec![],
            _alive: vec![Box::new(registry)],
        })
    }

    pub(super) fn npm() -> Option<Scenario> {
        npm_with(false)
    }

    /// The version is already published with other contents: refused.
    pub(super) fn npm_version_exists() -> Option<Scenario> {
        npm_with(true)
    }
}
