//! An Amazon ECS stand-in that plays deployments over time.
//!
//! moto accepts the API shapes but never moves a deployment forward; this
//! speaks the same JSON 1.1 protocol (`X-Amz-Target:
//! AmazonEC2ContainerServiceV20141113.<Operation>`) on 127.0.0.1 and plays a
//! scripted [`Scenario`] for every deployment `UpdateService` starts, in
//! steps of a configurable length. It keeps a log of every call, and the
//! exact instants at which a verdict became knowable (for the benchmark).
//! It also answers CloudWatch Logs' `GetLogEvents` for crashed tasks.
//!
//! Services whose `deploymentConfiguration.strategy` is not ROLLING
//! (BLUE_GREEN, CANARY, LINEAR) also get a *service deployment* per update,
//! played through the lifecycle stages of AWS's published model
//! (`DescribeServiceDeployments`, `ListServiceDeployments`,
//! `ContinueServiceDeployment`, `StopServiceDeployment`); every answer is
//! kept so that a test can check it against that model (botocore's
//! `ecs/2014-11-13/service-2.json`).
//!
//! One cluster (`prod`) with two services (`api` and `worker`), both running
//! `codewarden-api:7` (the example's task definition) unless the test gives
//! each its own family and revision ([`EcsStandIn::start_running`]).

use super::calls::{self, CallLog};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const CLUSTER: &str = "prod";
pub const SERVICE: &str = "api";
/// The cluster's services: they play the same scenario.
pub const SERVICES: &[&str] = &["api", "worker"];
/// What every service runs at the start, unless the test says otherwise.
pub const ORIGINAL: (&str, i64) = ("codewarden-api", 7);
const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const MUTATING: &[&str] = &[
    "RegisterTaskDefinition",
    "UpdateService",
    "RunTask",
    "DeregisterTaskDefinition",
    "StopTask",
    "CreateService",
    "DeleteService",
    "ContinueServiceDeployment",
    "StopServiceDeployment",
];

/// What a new deployment (of a revision other than the original) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Tasks pending after one step, running and COMPLETED after two.
    Success,
    /// Half the tasks after four steps, COMPLETED after six.
    SlowStart,
    /// A task fails its health checks; after three steps the circuit
    /// breaker marks the deployment FAILED and ECS rolls back by itself.
    CircuitBreaker,
    /// After one step a task stops with `CannotPullContainerError`; ECS
    /// keeps retrying (IN_PROGRESS) as it really does.
    CannotPull,
    /// `ThrottlingException` for the first four DescribeServices calls
    /// after the update, then as `Success`.
    Throttling,
    /// Never settles: tasks stay pending.
    Timeout,
    /// As `Success`, but one-off tasks (RunTask) exit 1.
    RunTaskExits1,
    /// After one step the essential container of a task exits 1; its last
    /// lines are in CloudWatch Logs (`GetLogEvents` is answered here too).
    Crash,
    /// Strategy BLUE_GREEN, bake time 10 min: PENDING for one step, then
    /// each lifecycle stage one step (BAKE_TIME two), then SUCCESSFUL.
    BlueGreen,
    /// As `BlueGreen`, but the CloudWatch alarm `api-5xx` goes off one step
    /// into BAKE_TIME: ECS rolls back (ROLLBACK_REQUESTED, then
    /// ROLLBACK_IN_PROGRESS, then ROLLBACK_SUCCESSFUL, one step each).
    BlueGreenAlarm,
    /// Strategy CANARY (10 % for two steps, then 100 %) with a PAUSE hook at
    /// POST_TEST_TRAFFIC_SHIFT: the deployment waits there until
    /// `ContinueServiceDeployment` (CONTINUE goes on, ROLLBACK rolls back).
    CanaryHook,
    /// Strategy LINEAR, 25 % a step. `StopServiceDeployment` (ROLLBACK)
    /// rolls it back, as [`EcsStandIn::stop`] does for an operator.
    Linear,
}

impl Scenario {
    /// The service's `deploymentConfiguration.strategy`.
    pub fn strategy(self) -> &'static str {
        match self {
            Scenario::BlueGreen | Scenario::BlueGreenAlarm => "BLUE_GREEN",
            Scenario::CanaryHook => "CANARY",
            Scenario::Linear => "LINEAR",
            _ => "ROLLING",
        }
    }
}

/// The alarm of [`Scenario::BlueGreenAlarm`].
pub const ALARM: &str = "api-5xx";

/// What the crashed container wrote, as CloudWatch Logs returns it.
pub const CRASH_LOG: &[&str] = &[
    "INFO:     Started server process [1]",
    "Traceback (most recent call last):",
    "KeyError: 'SUPABASE_URL'",
];

/// One logged call: the operation and its request body.
#[derive(Debug, Clone)]
pub struct Call {
    pub operation: String,
    pub body: Value,
    /// The answer: HTTP status and body.
    pub status: u16,
    pub answer: Value,
}

pub struct EcsStandIn {
    pub endpoint: String,
    /// Every call, in the shape every stand-in shares.
    pub log: CallLog,
    world: Arc<Mutex<World>>,
}

struct Deployment {
    id: String,
    task_definition: String,
    created: Instant,
    plan: Vec<(u32, Move)>,
    applied: usize,
    status: &'static str,
    rollout: &'static str,
    reason: String,
    running: i64,
    pending: i64,
    failed: i64,
}

#[derive(Debug, Clone, Copy)]
enum Move {
    Pending,
    Half,
    Running,
    Complete,
    /// A task of this deployment stops: (reason, stop code, exit code).
    Stop(&'static str, &'static str, Option<i64>),
    CircuitBreaker,
}

struct TaskRecord {
    arn: String,
    task_definition: String,
    group: String,
    stopped_reason: String,
    stop_code: String,
    exit_code: Option<i64>,
    /// One-off tasks stop one step after they start.
    stops_at: Option<Instant>,
}

/// A service deployment (strategies other than ROLLING): where it stands
/// in its timeline of [`Phase`]s.
struct ServiceDeployment {
    arn: String,
    /// The service's index in [`World::services`].
    svc: usize,
    /// The (legacy) deployment it moves along in `DescribeServices`.
    legacy: String,
    task_definition: String,
    source_revision: String,
    target_revision: String,
    plan: Vec<Phase>,
    at: usize,
    /// When the current phase began.
    entered: Instant,
    created: f64,
    started: Option<f64>,
    finished: Option<f64>,
    updated: f64,
    status: &'static str,
    reason: String,
    stage: Option<&'static str>,
    production_weight: f64,
    test_weight: f64,
    running: i64,
    /// `(hookId, status)` of the PAUSE hook, once reached.
    hook: Option<(String, &'static str)>,
    rollback: Option<(String, f64)>,
    triggered: Vec<String>,
}

/// One step of a service deployment's timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Pending,
    /// A lifecycle stage: its name, the new revision's production and test
    /// traffic weights, and how many steps it lasts.
    Stage(&'static str, f64, f64, u32),
    /// The alarm goes off: ECS rolls back.
    Alarm,
    RollbackRequested,
    RollbackInProgress,
    RolledBack,
    Successful,
}

impl Phase {
    /// How long the phase lasts, in steps; `None` while it waits (an end).
    fn steps(self) -> Option<u32> {
        match self {
            Phase::Pending | Phase::RollbackRequested | Phase::RollbackInProgress => Some(1),
            Phase::Stage(_, _, _, n) => Some(n),
            Phase::Alarm => Some(0),
            Phase::RolledBack | Phase::Successful => None,
        }
    }
}

/// The lifecycle stage a PAUSE hook of [`Scenario::CanaryHook`] waits at.
pub const HOOK_STAGE: &str = "POST_TEST_TRAFFIC_SHIFT";

/// One service of the cluster.
struct Svc {
    name: String,
    desired: i64,
    deployments: Vec<Deployment>,
    /// Oldest first.
    events: Vec<(String, f64, String)>,
    /// The revision it ran before the test.
    original: String,
    /// Its current service revision (the ARN ECS gives each one).
    revision: String,
    /// Its newest service deployment, if any.
    current_service_deployment: Option<String>,
    /// Its `deploymentConfiguration` once an update set one (else the scenario's).
    config: Option<Value>,
    /// Whether its load balancer has an alternate target group (always
    /// with a strategy other than ROLLING).
    alternate: bool,
}

struct World {
    scenario: Scenario,
    step: Duration,
    services: Vec<Svc>,
    /// The service the request (or the tick) is about.
    cur: usize,
    task_definitions: Vec<Value>,
    tasks: Vec<TaskRecord>,
    /// The services run on this capacity provider strategy, not a launch type.
    capacity_providers: Option<Value>,
    service_deployments: Vec<ServiceDeployment>,
    calls: Vec<Call>,
    log: CallLog,
    throttle: u32,
    throttled: u32,
    ids: u32,
    /// When a verdict became knowable: `completed`, `failed`, `first-stop`.
    marks: Vec<(String, Instant)>,
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The wall-clock seconds of an instant (at most a test's length ago).
fn secs_at(when: Instant) -> f64 {
    now_secs() - Instant::now().saturating_duration_since(when).as_secs_f64()
}

fn td_arn(family: &str, revision: i64) -> String {
    format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:{revision}")
}

impl EcsStandIn {
    /// Starts on a free port; one scenario step lasts `step`; every service
    /// runs [`ORIGINAL`].
    pub fn start(scenario: Scenario, step: Duration) -> EcsStandIn {
        Self::start_logged(scenario, step, CallLog::new())
    }

    /// As [`EcsStandIn::start`], appending every call to `log`.
    pub fn start_logged(scenario: Scenario, step: Duration, log: CallLog) -> EcsStandIn {
        let running: Vec<(&str, &str, i64)> = SERVICES
            .iter()
            .map(|s| (*s, ORIGINAL.0, ORIGINAL.1))
            .collect();
        Self::start_running_logged(scenario, step, &running, log)
    }

    /// As [`start`](Self::start), each service running its own task
    /// definition: `(service, family, revision)` for each of [`SERVICES`],
    /// registered as copies of the example's with that family.
    pub fn start_running(
        scenario: Scenario,
        step: Duration,
        running: &[(&str, &str, i64)],
    ) -> EcsStandIn {
        Self::start_running_logged(scenario, step, running, CallLog::new())
    }

    fn start_running_logged(
        scenario: Scenario,
        step: Duration,
        running: &[(&str, &str, i64)],
        log: CallLog,
    ) -> EcsStandIn {
        let example: Value = serde_json::from_str(include_str!(
            "../../examples/monorepo/deploy/task-definition.json"
        ))
        .unwrap();
        let mut task_definitions: Vec<Value> = Vec::new();
        for (_, family, revision) in running {
            let arn = td_arn(family, *revision);
            if !task_definitions
                .iter()
                .any(|t| t["taskDefinitionArn"] == arn)
            {
                let mut td = example.clone();
                td["family"] = json!(family);
                td["revision"] = json!(revision);
                td["taskDefinitionArn"] = json!(arn);
                // The file has it as the AWS CLI prints it; the JSON protocol
                // sends epoch seconds.
                td["registeredAt"] = json!(1_707_734_487.512);
                task_definitions.push(td);
            }
        }
        let t0 = Instant::now();
        let svc = |name: &str| {
            let (_, family, revision) = running
                .iter()
                .find(|(s, _, _)| *s == name)
                .unwrap_or_else(|| panic!("no task definition given for service {name}"));
            let arn = td_arn(family, *revision);
            Svc {
                name: name.into(),
                desired: 2,
                deployments: vec![Deployment {
                    id: format!("ecs-svc/{name}-1000000000000000001"),
                    task_definition: arn.clone(),
                    created: t0,
                    plan: Vec::new(),
                    applied: 0,
                    status: "PRIMARY",
                    rollout: "COMPLETED",
                    reason: String::new(),
                    running: 2,
                    pending: 0,
                    failed: 0,
                }],
                events: vec![(
                    format!("old-event-{name}"),
                    now_secs() - 3600.0,
                    format!("(service {name}) has reached a steady state."),
                )],
                original: arn,
                revision: format!(
                    "arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/{CLUSTER}/{name}/1000000000000000001"
                ),
                current_service_deployment: None,
                config: None,
                alternate: scenario.strategy() != "ROLLING",
            }
        };
        let world = World {
            scenario,
            step,
            services: SERVICES.iter().map(|n| svc(n)).collect(),
            cur: 0,
            task_definitions,
            // A task that failed long before this deploy: not ours to judge.
            tasks: vec![TaskRecord {
                arn: format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/old0"),
                task_definition: td_arn("codewarden-api", 6),
                group: format!("service:{SERVICE}"),
                stopped_reason: "Essential container in task exited".into(),
                stop_code: "EssentialContainerExited".into(),
                exit_code: Some(1),
                stops_at: None,
            }],
            capacity_providers: None,
            service_deployments: Vec::new(),
            calls: Vec::new(),
            log: log.clone(),
            throttle: 0,
            throttled: 0,
            ids: 0,
            marks: Vec::new(),
        };
        let world = Arc::new(Mutex::new(world));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let shared = world.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let w = shared.clone();
                std::thread::spawn(move || serve(stream, &w));
            }
        });
        EcsStandIn {
            endpoint,
            log,
            world,
        }
    }

    /// The environment the AWS SDK needs to talk to this stand-in.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL_ECS", self.endpoint.as_str()),
            ("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing-secret-key"),
            ("AWS_REGION", REGION),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.world.lock().unwrap().calls.clone()
    }

    pub fn operations(&self) -> Vec<String> {
        self.calls().into_iter().map(|c| c.operation).collect()
    }

    /// Calls that change something.
    pub fn mutating(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| MUTATING.contains(&c.operation.as_str()))
            .collect()
    }

    /// The task definition the `api` service runs now.
    pub fn running_task_definition(&self) -> String {
        self.running(SERVICE)
    }

    /// The task definition a service runs now.
    pub fn running(&self, service: &str) -> String {
        let mut w = self.world.lock().unwrap();
        w.tick(Instant::now());
        w.select(service);
        w.primary().task_definition.clone()
    }

    /// Gives every service's load balancer an alternate target group and
    /// listener rules, so that its strategy can become BLUE_GREEN, LINEAR or CANARY.
    pub fn add_alternate_target_groups(&self) {
        for s in &mut self.world.lock().unwrap().services {
            s.alternate = true;
        }
    }

    /// Puts every service on a capacity provider strategy (FARGATE_SPOT,
    /// with FARGATE as the base) instead of the FARGATE launch type.
    pub fn use_capacity_providers(&self) {
        self.world.lock().unwrap().capacity_providers = Some(json!([
            {"capacityProvider": "FARGATE", "weight": 0, "base": 1},
            {"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0},
        ]));
    }

    /// The status and lifecycle stage of a service's newest service deployment.
    pub fn service_deployment(&self, service: &str) -> Option<(String, Option<String>)> {
        let mut w = self.world.lock().unwrap();
        w.tick(Instant::now());
        w.select(service);
        let arn = w.svc().current_service_deployment.clone()?;
        let sd = w.service_deployments.iter().find(|d| d.arn == arn)?;
        Some((sd.status.to_string(), sd.stage.map(str::to_string)))
    }

    /// What an operator's `StopServiceDeployment` (ROLLBACK) in the console
    /// does to a service's newest service deployment.
    pub fn stop(&self, service: &str) {
        let mut w = self.world.lock().unwrap();
        let now = Instant::now();
        w.tick(now);
        w.select(service);
        let arn = w.svc().current_service_deployment.clone().unwrap();
        let (status, answer) = w.stop_deployment(&json!({"serviceDeploymentArn": arn}), now);
        assert_eq!(status, 200, "{answer}");
    }

    /// How many calls were answered with `ThrottlingException`.
    pub fn throttled(&self) -> u32 {
        self.world.lock().unwrap().throttled
    }

    /// When the first `what` (`completed`, `failed`, `first-stop`) became knowable.
    pub fn mark(&self, what: &str) -> Option<Instant> {
        let w = self.world.lock().unwrap();
        w.marks.iter().find(|(m, _)| m == what).map(|(_, t)| *t)
    }

    /// A task definition as registered (every field the client sent).
    pub fn task_definition(&self, arn: &str) -> Option<Value> {
        let w = self.world.lock().unwrap();
        w.find_td(arn).cloned()
    }
}

fn serve(stream: TcpStream, world: &Mutex<World>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut target = String::new();
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "x-amz-target" => target = v.trim().to_string(),
                    "content-length" => length = v.trim().parse().unwrap_or(0),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let operation = target.rsplit('.').next().unwrap_or_default().to_string();
        let (status, answer) = world.lock().unwrap().handle(&operation, body);
        let text = answer.to_string();
        let error_type = answer["__type"].as_str().unwrap_or_default().to_string();
        let reply = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nx-amzn-RequestId: standin\r\n{}\r\n{text}",
            if status == 200 { "OK" } else { "Bad Request" },
            text.len(),
            if error_type.is_empty() {
                String::new()
            } else {
                format!("x-amzn-ErrorType: {error_type}\r\n")
            }
        );
        if stream.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// What a request is about: the family registered, the cluster a one-off
/// task runs in, the `cluster/service` updated, the task definition
/// (`family:revision`) named, or the cluster.
fn target_of(operation: &str, body: &Value) -> String {
    let text = |v: &Value| {
        v.as_str()
            .map(|s| s.rsplit('/').next().unwrap_or(s).to_string())
    };
    if operation == "RunTask" {
        return text(&body["cluster"]).unwrap_or_default();
    }
    // `…:service-deployment/<cluster>/<service>/<id>` → `<cluster>/<service>`.
    if let Some(arn) = body["serviceDeploymentArn"].as_str() {
        let parts: Vec<&str> = arn.split('/').collect();
        return parts.get(1..3).map(|p| p.join("/")).unwrap_or_default();
    }
    if let Some(family) = text(&body["family"]) {
        return family;
    }
    let cluster = text(&body["cluster"]).unwrap_or_default();
    if let Some(service) = text(&body["service"]).or_else(|| text(&body["services"][0])) {
        return format!("{cluster}/{service}");
    }
    text(&body["taskDefinition"])
        .or_else(|| text(&body["task"]))
        .unwrap_or(cluster)
}

fn error(kind: &str, message: &str) -> (u16, Value) {
    (400, json!({"__type": kind, "message": message}))
}

impl World {
    fn handle(&mut self, operation: &str, body: Value) -> (u16, Value) {
        let (status, answer) = self.answer(operation, body.clone());
        self.calls.push(Call {
            operation: operation.to_string(),
            body,
            status,
            answer: answer.clone(),
        });
        (status, answer)
    }

    fn answer(&mut self, operation: &str, body: Value) -> (u16, Value) {
        let now = Instant::now();
        self.log.push(calls::Call::new(
            "ecs",
            operation,
            &target_of(operation, &body),
            MUTATING.contains(&operation),
        ));
        self.tick(now);
        let named = [&body["services"][0], &body["service"], &body["serviceName"]]
            .into_iter()
            .find_map(Value::as_str)
            .unwrap_or(SERVICE)
            .to_string();
        let known = self.select(&named);
        match operation {
            "DescribeServices" => {
                if self.throttle > 0 {
                    self.throttle -= 1;
                    self.throttled += 1;
                    return error("ThrottlingException", "Rate exceeded");
                }
                let wanted = body["services"][0].as_str().unwrap_or_default();
                if body["cluster"].as_str() != Some(CLUSTER) || !known {
                    return (
                        200,
                        json!({"services": [], "failures": [{"arn": wanted, "reason": "MISSING"}]}),
                    );
                }
                (200, json!({"services": [self.service()], "failures": []}))
            }
            "DescribeTaskDefinition" => {
                let name = body["taskDefinition"].as_str().unwrap_or_default();
                match self.find_td(name) {
                    Some(td) => (200, json!({"taskDefinition": td, "tags": []})),
                    None => error("ClientException", "Unable to describe task definition."),
                }
            }
            "RegisterTaskDefinition" => {
                let mut td = body.clone();
                if let Some(o) = td.as_object_mut() {
                    o.remove("tags");
                }
                let family = td["family"].as_str().unwrap_or_default().to_string();
                // As ECS numbers them: one past the family's last, else 1.
                let revision = self
                    .task_definitions
                    .iter()
                    .filter(|t| t["family"] == family.as_str())
                    .filter_map(|t| t["revision"].as_i64())
                    .max()
                    .unwrap_or(0)
                    + 1;
                td["taskDefinitionArn"] = json!(td_arn(&family, revision));
                td["revision"] = json!(revision);
                td["status"] = json!("ACTIVE");
                td["registeredAt"] = json!(now_secs());
                self.task_definitions.push(td.clone());
                (200, json!({"taskDefinition": td}))
            }
            "DeregisterTaskDefinition" => {
                let name = body["taskDefinition"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                match self
                    .task_definitions
                    .iter_mut()
                    .find(|t| t["taskDefinitionArn"] == name.as_str())
                {
                    Some(td) => {
                        td["status"] = json!("INACTIVE");
                        (200, json!({"taskDefinition": td.clone()}))
                    }
                    None => error(
                        "ClientException",
                        "The specified task definition does not exist.",
                    ),
                }
            }
            "ListTaskDefinitions" => {
                let family = body["familyPrefix"].as_str().unwrap_or_default();
                let mut arns: Vec<Value> = self
                    .task_definitions
                    .iter()
                    .filter(|t| {
                        t["family"].as_str().unwrap_or_default().starts_with(family)
                            && t["status"] == "ACTIVE"
                    })
                    .map(|t| t["taskDefinitionArn"].clone())
                    .collect();
                arns.reverse();
                (200, json!({"taskDefinitionArns": arns}))
            }
            "UpdateService" => {
                let td = body["taskDefinition"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let Some(arn) = self
                    .find_td(&td)
                    .map(|t| t["taskDefinitionArn"].as_str().unwrap().to_string())
                else {
                    return error("InvalidParameterException", "TaskDefinition not found.");
                };
                if let Some(n) = body["desiredCount"].as_i64() {
                    self.svc_mut().desired = n;
                }
                let plan = if arn == self.svc().original {
                    vec![(1, Move::Running), (1, Move::Complete)]
                } else {
                    self.plan()
                };
                if self.scenario == Scenario::Throttling {
                    self.throttle = 4;
                }
                if let Some(config) = body.get("deploymentConfiguration") {
                    let strategy = config["strategy"].as_str().unwrap_or("ROLLING");
                    if strategy != "ROLLING" && !self.svc().alternate {
                        return error(
                            "InvalidParameterException",
                            "The deployment strategy requires a load balancer with an alternate target group.",
                        );
                    }
                    self.svc_mut().config = Some(config.clone());
                }
                if self.strategy() == "ROLLING" {
                    self.start_deployment(arn, plan, now);
                } else {
                    // The service deployment moves the (legacy) deployment along.
                    let replaced = self.primary().task_definition.clone();
                    self.start_deployment(arn, Vec::new(), now);
                    let legacy = self.primary().id.clone();
                    self.start_service_deployment(legacy, replaced, now);
                }
                (200, json!({"service": self.service()}))
            }
            "ListTasks" => {
                let stopped = body["desiredStatus"] == "STOPPED";
                let arns: Vec<Value> = self
                    .tasks
                    .iter()
                    .filter(|t| t.group == format!("service:{named}"))
                    .filter(|t| stopped == t.stops_at.is_none_or(|s| s <= now))
                    .map(|t| json!(t.arn))
                    .collect();
                (200, json!({"taskArns": arns}))
            }
            "DescribeTasks" => {
                let wanted: Vec<&str> = body["tasks"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let tasks: Vec<Value> = self
                    .tasks
                    .iter()
                    .filter(|t| wanted.contains(&t.arn.as_str()))
                    .map(|t| {
                        let stopped = t.stops_at.is_none_or(|s| s <= now);
                        let mut v = json!({
                            "taskArn": t.arn,
                            "taskDefinitionArn": t.task_definition,
                            "clusterArn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}"),
                            "group": t.group,
                            "lastStatus": if stopped { "STOPPED" } else { "RUNNING" },
                            "desiredStatus": if stopped { "STOPPED" } else { "RUNNING" },
                            "containers": [{"name": "api", "lastStatus": if stopped { "STOPPED" } else { "RUNNING" }}],
                        });
                        if stopped {
                            v["stoppedReason"] = json!(t.stopped_reason);
                            v["stopCode"] = json!(t.stop_code);
                            if let Some(code) = t.exit_code {
                                v["containers"][0]["exitCode"] = json!(code);
                            }
                        }
                        v
                    })
                    .collect();
                (200, json!({"tasks": tasks, "failures": []}))
            }
            "RunTask" => {
                let td = body["taskDefinition"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if self.find_td(&td).is_none() {
                    return error("InvalidParameterException", "TaskDefinition not found.");
                }
                if body.get("launchType").is_some()
                    && body.get("capacityProviderStrategy").is_some()
                {
                    return error(
                        "InvalidParameterException",
                        "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.",
                    );
                }
                self.ids += 1;
                let exit = i64::from(self.scenario == Scenario::RunTaskExits1);
                let task = TaskRecord {
                    arn: format!(
                        "arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/oneoff{}",
                        self.ids
                    ),
                    task_definition: td.clone(),
                    group: "family:codewarden-api".into(),
                    stopped_reason: "Essential container in task exited".into(),
                    stop_code: "EssentialContainerExited".into(),
                    exit_code: Some(exit),
                    stops_at: Some(now + self.step),
                };
                let v = json!({"taskArn": task.arn, "taskDefinitionArn": td, "lastStatus": "PROVISIONING", "containers": []});
                self.tasks.push(task);
                (200, json!({"tasks": [v], "failures": []}))
            }
            "DescribeServiceDeployments" => {
                let mut found = Vec::new();
                let mut failures = Vec::new();
                for arn in body["serviceDeploymentArns"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    let arn = arn.as_str().unwrap_or_default();
                    match self.service_deployments.iter().find(|d| d.arn == arn) {
                        Some(sd) => found.push(self.service_deployment_json(sd)),
                        None => failures.push(json!({"arn": arn, "reason": "MISSING"})),
                    }
                }
                (
                    200,
                    json!({"serviceDeployments": found, "failures": failures}),
                )
            }
            "ListServiceDeployments" => {
                if !known {
                    return error("ServiceNotFoundException", "Service not found.");
                }
                let wanted: Vec<&str> = body["status"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let briefs: Vec<Value> = self
                    .service_deployments
                    .iter()
                    .rev()
                    .filter(|sd| sd.svc == self.cur)
                    .filter(|sd| wanted.is_empty() || wanted.contains(&sd.status))
                    .map(|sd| {
                        let full = self.service_deployment_json(sd);
                        let mut brief = json!({"targetServiceRevisionArn": sd.target_revision});
                        for key in [
                            "serviceDeploymentArn",
                            "serviceArn",
                            "clusterArn",
                            "startedAt",
                            "createdAt",
                            "finishedAt",
                            "status",
                            "statusReason",
                        ] {
                            if let Some(v) = full.get(key) {
                                brief[key] = v.clone();
                            }
                        }
                        brief
                    })
                    .collect();
                (200, json!({"serviceDeployments": briefs}))
            }
            "ContinueServiceDeployment" => self.continue_deployment(&body, now),
            "StopServiceDeployment" => self.stop_deployment(&body, now),
            // CloudWatch Logs (`Logs_20140328.GetLogEvents`) of crashed tasks.
            "GetLogEvents" => {
                let stream = body["logStreamName"].as_str().unwrap_or_default();
                let crashed = self.tasks.iter().any(|t| {
                    t.exit_code == Some(1)
                        && stream
                            == format!("api/api/{}", t.arn.rsplit('/').next().unwrap_or_default())
                });
                if body["logGroupName"] != "/ecs/codewarden-api" || !crashed {
                    return error(
                        "ResourceNotFoundException",
                        "The specified log stream does not exist.",
                    );
                }
                let events: Vec<Value> = CRASH_LOG
                    .iter()
                    .map(|m| json!({"timestamp": 1, "message": m, "ingestionTime": 1}))
                    .collect();
                (
                    200,
                    json!({"events": events, "nextForwardToken": "f/1", "nextBackwardToken": "b/1"}),
                )
            }
            other => error(
                "UnknownOperationException",
                &format!("the stand-in does not know {other}"),
            ),
        }
    }

    fn plan(&self) -> Vec<(u32, Move)> {
        use Move::*;
        match self.scenario {
            // The lifecycle scenarios' services roll this way once set to ROLLING.
            Scenario::Success
            | Scenario::Throttling
            | Scenario::RunTaskExits1
            | Scenario::BlueGreen
            | Scenario::BlueGreenAlarm
            | Scenario::CanaryHook
            | Scenario::Linear => {
                vec![(1, Pending), (2, Running), (2, Complete)]
            }
            Scenario::SlowStart => vec![(2, Pending), (4, Half), (6, Running), (6, Complete)],
            Scenario::CircuitBreaker => vec![
                (1, Pending),
                (
                    2,
                    Stop(
                        "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/1)",
                        "ServiceSchedulerInitiated",
                        Some(137),
                    ),
                ),
                (3, CircuitBreaker),
            ],
            Scenario::CannotPull => vec![
                (1, Pending),
                (
                    1,
                    Stop(
                        "CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref 123456789012.dkr.ecr.us-east-1.amazonaws.com/codewarden/api@sha256:0000: not found",
                        "TaskFailedToStart",
                        None,
                    ),
                ),
            ],
            Scenario::Timeout => vec![(1, Pending)],
            Scenario::Crash => vec![
                (1, Pending),
                (
                    1,
                    Stop(
                        "Essential container in task exited",
                        "EssentialContainerExited",
                        Some(1),
                    ),
                ),
            ],
        }
    }

    fn start_deployment(&mut self, task_definition: String, plan: Vec<(u32, Move)>, now: Instant) {
        let svc = self.svc().name.clone();
        for d in &mut self.svc_mut().deployments {
            if d.status == "PRIMARY" {
                d.status = "ACTIVE";
            }
        }
        self.ids += 1;
        let id = format!(
            "ecs-svc/{:019}",
            2_000_000_000_000_000_000_u64 + u64::from(self.ids)
        );
        self.event(format!(
            "(service {svc}) has started 2 tasks: (deployment {id})."
        ));
        self.svc_mut().deployments.push(Deployment {
            id,
            task_definition,
            created: now,
            plan,
            applied: 0,
            status: "PRIMARY",
            rollout: "IN_PROGRESS",
            reason: "ECS deployment in progress.".into(),
            running: 0,
            pending: 0,
            failed: 0,
        });
    }

    fn event(&mut self, message: String) {
        self.ids += 1;
        let id = format!("event-{}", self.ids);
        self.svc_mut().events.push((id, now_secs(), message));
    }

    /// Applies every scheduled move whose time has come, at its own instant.
    /// Makes `name` the current service; false when there is none such.
    fn select(&mut self, name: &str) -> bool {
        let name = name.rsplit('/').next().unwrap_or(name);
        match self.services.iter().position(|s| s.name == name) {
            Some(i) => {
                self.cur = i;
                true
            }
            None => false,
        }
    }

    fn svc(&self) -> &Svc {
        &self.services[self.cur]
    }

    fn svc_mut(&mut self) -> &mut Svc {
        &mut self.services[self.cur]
    }

    fn tick(&mut self, now: Instant) {
        for k in 0..self.services.len() {
            self.cur = k;
            self.tick_current(now);
        }
        self.tick_service_deployments(now);
    }

    /// Moves every service deployment through its phases, each at its own
    /// instant; one waiting at a PAUSE hook stays until it is continued.
    fn tick_service_deployments(&mut self, now: Instant) {
        for k in 0..self.service_deployments.len() {
            loop {
                let sd = &self.service_deployments[k];
                let phase = sd.plan[sd.at];
                let paused = matches!(phase, Phase::Stage(..))
                    && sd
                        .hook
                        .as_ref()
                        .is_some_and(|(_, s)| *s == "AWAITING_ACTION");
                let Some(steps) = phase.steps().filter(|_| !paused) else {
                    break;
                };
                let due = sd.entered + self.step * steps;
                if due > now {
                    break;
                }
                let next = sd.at + 1;
                self.enter(k, next, due);
            }
        }
    }

    /// Service deployment `k` enters phase `at` of its plan at `when`.
    fn enter(&mut self, k: usize, at: usize, when: Instant) {
        let svc = self.service_deployments[k].svc;
        let config = self.deployment_configuration_of(svc);
        let sd = &mut self.service_deployments[k];
        sd.at = at;
        sd.entered = when;
        sd.updated = secs_at(when);
        match sd.plan[at] {
            Phase::Pending => {}
            Phase::Stage(name, production, test, _) => {
                sd.status = "IN_PROGRESS";
                sd.started.get_or_insert(secs_at(when));
                sd.stage = Some(name);
                sd.production_weight = production;
                sd.test_weight = test;
                // A PAUSE hook at this stage holds the deployment.
                let hooked = config["lifecycleHooks"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|h| {
                        h["targetType"] == "PAUSE"
                            && h["lifecycleStages"]
                                .as_array()
                                .is_some_and(|s| s.iter().any(|x| x == name))
                    });
                if hooked && sd.hook.is_none() {
                    sd.hook = Some((
                        format!("{}-hook", sd.arn.rsplit('/').next().unwrap_or_default()),
                        "AWAITING_ACTION",
                    ));
                }
                if name == "SCALE_UP" {
                    self.legacy_move(k, Move::Running, when);
                    let sd = &mut self.service_deployments[k];
                    sd.running = self.services[sd.svc].desired;
                }
            }
            Phase::Alarm => {
                sd.triggered = vec![ALARM.to_string()];
                let reason = format!("CloudWatch alarm {ALARM} is in ALARM state");
                self.start_rollback(k, reason, when);
            }
            Phase::RollbackRequested => {}
            Phase::RollbackInProgress => {
                sd.status = "ROLLBACK_IN_PROGRESS";
                sd.production_weight = 0.0;
                sd.test_weight = 0.0;
            }
            Phase::RolledBack => {
                sd.status = "ROLLBACK_SUCCESSFUL";
                sd.finished = Some(secs_at(when));
                sd.running = 0;
                let (svc, legacy, source, reason) = (
                    sd.svc,
                    sd.legacy.clone(),
                    sd.task_definition.clone(),
                    sd.reason.clone(),
                );
                self.cur = svc;
                if let Some(d) = self
                    .svc_mut()
                    .deployments
                    .iter_mut()
                    .find(|d| d.id == legacy)
                {
                    d.rollout = "FAILED";
                    d.reason = reason;
                }
                self.marks.push(("failed".into(), when));
                // The blue revision takes the service back, as it was.
                self.start_deployment(source, vec![(0, Move::Running), (0, Move::Complete)], when);
            }
            Phase::Successful => {
                sd.status = "SUCCESSFUL";
                sd.reason = "Service deployment completed successfully.".into();
                sd.finished = Some(secs_at(when));
                let (svc, target) = (sd.svc, sd.target_revision.clone());
                self.services[svc].revision = target;
                self.legacy_move(k, Move::Complete, when);
            }
        }
    }

    /// Applies `m` to the (legacy) deployment that service deployment `k` moves along.
    fn legacy_move(&mut self, k: usize, m: Move, when: Instant) {
        let (svc, id) = (
            self.service_deployments[k].svc,
            self.service_deployments[k].legacy.clone(),
        );
        self.cur = svc;
        if let Some(i) = self.svc().deployments.iter().position(|d| d.id == id) {
            self.apply(i, m, when);
        }
    }

    /// ECS rolls service deployment `k` back (an alarm, a hook, a stop).
    fn start_rollback(&mut self, k: usize, reason: String, when: Instant) {
        let sd = &mut self.service_deployments[k];
        sd.status = "ROLLBACK_REQUESTED";
        sd.reason.clone_from(&reason);
        sd.rollback = Some((reason, secs_at(when)));
        sd.plan = vec![
            Phase::RollbackRequested,
            Phase::RollbackInProgress,
            Phase::RolledBack,
        ];
        sd.at = 0;
        sd.entered = when;
        sd.updated = secs_at(when);
    }

    /// The phases a new service deployment goes through, by the strategy.
    fn lifecycle_plan(&self) -> Vec<Phase> {
        use Phase::*;
        const SHIFT: &str = "PRODUCTION_TRAFFIC_SHIFT";
        let mut plan = vec![
            Pending,
            Stage("PRE_SCALE_UP", 0.0, 0.0, 1),
            Stage("SCALE_UP", 0.0, 0.0, 1),
            Stage("POST_SCALE_UP", 0.0, 0.0, 1),
            Stage("TEST_TRAFFIC_SHIFT", 0.0, 100.0, 1),
            Stage(HOOK_STAGE, 0.0, 100.0, 1),
        ];
        let config = self.deployment_configuration_of(self.cur);
        let canary = config["canaryConfiguration"]["canaryPercent"]
            .as_f64()
            .unwrap_or(10.0);
        match self.strategy().as_str() {
            // The canary's share for its own bake, then the rest.
            "CANARY" => plan.extend([
                Stage(SHIFT, canary, 100.0, 2),
                Stage(SHIFT, 100.0, 100.0, 1),
            ]),
            "LINEAR" => plan.extend([25.0, 50.0, 75.0, 100.0].map(|w| Stage(SHIFT, w, 100.0, 1))),
            _ => plan.push(Stage(SHIFT, 100.0, 100.0, 1)),
        }
        plan.push(Stage("POST_PRODUCTION_TRAFFIC_SHIFT", 100.0, 100.0, 1));
        if self.scenario == Scenario::BlueGreenAlarm {
            plan.extend([Stage("BAKE_TIME", 100.0, 100.0, 1), Alarm]);
        } else {
            plan.push(Stage("BAKE_TIME", 100.0, 100.0, 2));
        }
        plan.extend([Stage("CLEAN_UP", 100.0, 100.0, 1), Successful]);
        plan
    }

    /// A service deployment for the current service's new (legacy)
    /// deployment `legacy`, which replaces `replaced`.
    fn start_service_deployment(&mut self, legacy: String, replaced: String, now: Instant) {
        self.ids += 1;
        let name = self.svc().name.clone();
        let id = format!(
            "{:019}",
            3_000_000_000_000_000_000_u64 + u64::from(self.ids)
        );
        let arn =
            format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/{CLUSTER}/{name}/{id}");
        let plan = self.lifecycle_plan();
        let sd = ServiceDeployment {
            arn: arn.clone(),
            svc: self.cur,
            legacy,
            task_definition: replaced,
            source_revision: self.svc().revision.clone(),
            target_revision: format!(
                "arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/{CLUSTER}/{name}/{id}"
            ),
            plan,
            at: 0,
            entered: now,
            created: secs_at(now),
            started: None,
            finished: None,
            updated: secs_at(now),
            status: "PENDING",
            reason: String::new(),
            stage: None,
            production_weight: 0.0,
            test_weight: 0.0,
            running: 0,
            hook: None,
            rollback: None,
            triggered: Vec::new(),
        };
        self.service_deployments.push(sd);
        self.svc_mut().current_service_deployment = Some(arn);
    }

    /// `ContinueServiceDeployment`: the paused hook goes on or rolls back.
    fn continue_deployment(&mut self, body: &Value, now: Instant) -> (u16, Value) {
        let arn = body["serviceDeploymentArn"].as_str().unwrap_or_default();
        let Some(k) = self.service_deployments.iter().position(|d| d.arn == arn) else {
            return error(
                "ServiceDeploymentNotFoundException",
                "The service deployment does not exist.",
            );
        };
        let hook = body["hookId"].as_str().unwrap_or_default();
        let sd = &mut self.service_deployments[k];
        if sd
            .hook
            .as_ref()
            .is_none_or(|(id, s)| id != hook || *s != "AWAITING_ACTION")
        {
            return error(
                "InvalidParameterException",
                "The lifecycle hook is not awaiting an action.",
            );
        }
        sd.hook = Some((hook.to_string(), "SUCCEEDED"));
        match body["action"].as_str().unwrap_or("CONTINUE") {
            "CONTINUE" => {
                // The stage goes on for its own length from now.
                sd.entered = now;
                sd.updated = secs_at(now);
            }
            "ROLLBACK" => self.start_rollback(
                k,
                format!("Lifecycle hook {hook} asked for a rollback."),
                now,
            ),
            other => {
                return error(
                    "InvalidParameterException",
                    &format!("Invalid action {other}."),
                );
            }
        }
        (200, json!({"serviceDeploymentArn": arn}))
    }

    /// `StopServiceDeployment`: only ROLLBACK stops a deployment in progress.
    fn stop_deployment(&mut self, body: &Value, now: Instant) -> (u16, Value) {
        let arn = body["serviceDeploymentArn"].as_str().unwrap_or_default();
        let Some(k) = self.service_deployments.iter().position(|d| d.arn == arn) else {
            return error(
                "ServiceDeploymentNotFoundException",
                "The service deployment does not exist.",
            );
        };
        if body["stopType"].as_str().unwrap_or("ROLLBACK") != "ROLLBACK" {
            return error(
                "InvalidParameterException",
                "Only the ROLLBACK stop type is supported.",
            );
        }
        if !matches!(
            self.service_deployments[k].status,
            "PENDING" | "IN_PROGRESS"
        ) {
            return error(
                "ConflictException",
                "The service deployment is not in progress.",
            );
        }
        self.start_rollback(
            k,
            "Service deployment rolled back because of a stop request.".into(),
            now,
        );
        (200, json!({"serviceDeploymentArn": arn}))
    }

    /// A service deployment as `DescribeServiceDeployments` shows it.
    fn service_deployment_json(&self, sd: &ServiceDeployment) -> Value {
        let svc = &self.services[sd.svc];
        let mut v = json!({
            "serviceDeploymentArn": sd.arn,
            "serviceArn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{}", svc.name),
            "clusterArn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}"),
            "createdAt": sd.created,
            "updatedAt": sd.updated,
            "sourceServiceRevisions": [{
                "arn": sd.source_revision,
                "requestedTaskCount": svc.desired,
                "runningTaskCount": svc.desired,
                "pendingTaskCount": 0,
                "requestedProductionTrafficWeight": 100.0 - sd.production_weight,
                "requestedTestTrafficWeight": 100.0 - sd.test_weight,
            }],
            "targetServiceRevision": {
                "arn": sd.target_revision,
                "requestedTaskCount": svc.desired,
                "runningTaskCount": sd.running,
                "pendingTaskCount": 0,
                "requestedProductionTrafficWeight": sd.production_weight,
                "requestedTestTrafficWeight": sd.test_weight,
            },
            "status": sd.status,
            "deploymentConfiguration": self.deployment_configuration_of(sd.svc),
            "deploymentCircuitBreaker": {"status": "MONITORING", "failureCount": 0, "threshold": 3},
        });
        if !sd.reason.is_empty() {
            v["statusReason"] = json!(sd.reason);
        }
        if let Some(at) = sd.started {
            v["startedAt"] = json!(at);
        }
        if let Some(at) = sd.finished {
            v["finishedAt"] = json!(at);
        }
        if let Some(stage) = sd.stage {
            v["lifecycleStage"] = json!(stage);
        }
        if let Some((id, status)) = &sd.hook {
            v["lifecycleHookDetails"] = json!([{
                "hookId": id,
                "targetType": "PAUSE",
                "status": status,
                "expiresAt": sd.updated + 3600.0,
                "timeoutAction": "ROLLBACK",
            }]);
        }
        if let Some((reason, at)) = &sd.rollback {
            v["rollback"] = json!({"reason": reason, "startedAt": at, "serviceRevisionArn": sd.source_revision});
        }
        if matches!(
            self.scenario,
            Scenario::BlueGreen | Scenario::BlueGreenAlarm
        ) {
            let status = match (sd.triggered.is_empty(), sd.finished.is_some()) {
                (false, _) => "TRIGGERED",
                (true, true) => "MONITORING_COMPLETE",
                (true, false) => "MONITORING",
            };
            v["alarms"] = json!({"status": status, "alarmNames": [ALARM], "triggeredAlarmNames": sd.triggered});
        }
        v
    }

    /// The current service's strategy.
    fn strategy(&self) -> String {
        self.deployment_configuration_of(self.cur)["strategy"]
            .as_str()
            .unwrap_or("ROLLING")
            .to_string()
    }

    /// A service's `deploymentConfiguration`: as an update set it, else the scenario's.
    fn deployment_configuration_of(&self, svc: usize) -> Value {
        if let Some(c) = &self.services[svc].config {
            return c.clone();
        }
        let mut v = json!({
            "deploymentCircuitBreaker": {"enable": true, "rollback": true},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
            "strategy": self.scenario.strategy(),
        });
        match self.scenario {
            Scenario::BlueGreen | Scenario::BlueGreenAlarm => {
                v["bakeTimeInMinutes"] = json!(10);
                v["alarms"] = json!({"alarmNames": [ALARM], "rollback": true, "enable": true});
            }
            Scenario::CanaryHook => {
                v["bakeTimeInMinutes"] = json!(5);
                v["canaryConfiguration"] =
                    json!({"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5});
                v["lifecycleHooks"] = json!([{
                    "targetType": "PAUSE",
                    "lifecycleStages": [HOOK_STAGE],
                    "timeoutConfiguration": {"timeoutInMinutes": 60, "action": "ROLLBACK"},
                }]);
            }
            Scenario::Linear => {
                v["bakeTimeInMinutes"] = json!(5);
                v["linearConfiguration"] = json!({"stepPercent": 25.0, "stepBakeTimeInMinutes": 1});
            }
            _ => {}
        }
        v
    }

    fn tick_current(&mut self, now: Instant) {
        // Moves may add or drop deployments: look each one up by id, and go
        // round again until nothing is due.
        loop {
            let mut progressed = false;
            let ids: Vec<String> = self
                .svc()
                .deployments
                .iter()
                .map(|d| d.id.clone())
                .collect();
            for id in ids {
                let Some(i) = self.svc().deployments.iter().position(|d| d.id == id) else {
                    continue;
                };
                let d = &self.svc().deployments[i];
                let Some(&(at, m)) = d.plan.get(d.applied) else {
                    continue;
                };
                let when = d.created + self.step * at;
                if when > now {
                    continue;
                }
                self.svc_mut().deployments[i].applied += 1;
                self.apply(i, m, when);
                progressed = true;
            }
            if !progressed {
                return;
            }
        }
    }

    fn apply(&mut self, i: usize, m: Move, when: Instant) {
        let svc = self.svc().name.clone();
        let desired = self.svc().desired;
        let id = self.svc().deployments[i].id.clone();
        let td = self.svc().deployments[i].task_definition.clone();
        match m {
            Move::Pending => self.svc_mut().deployments[i].pending = desired,
            Move::Half => {
                self.svc_mut().deployments[i].running = desired / 2;
                self.svc_mut().deployments[i].pending = desired - desired / 2;
            }
            Move::Running => {
                let d = &mut self.svc_mut().deployments[i];
                d.running = desired;
                d.pending = 0;
            }
            Move::Complete => {
                let d = &mut self.svc_mut().deployments[i];
                d.rollout = "COMPLETED";
                d.reason = "ECS deployment completed.".into();
                // The older deployments are drained and disappear.
                self.svc_mut().deployments.retain(|d| d.id == id);
                self.event(format!(
                    "(service {svc}) (deployment {id}) deployment completed."
                ));
                self.event(format!("(service {svc}) has reached a steady state."));
                if td != self.svc().original {
                    self.marks.push(("completed".into(), when));
                }
            }
            Move::Stop(reason, code, exit) => {
                self.ids += 1;
                self.tasks.push(TaskRecord {
                    arn: format!(
                        "arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/t{}",
                        self.ids
                    ),
                    task_definition: td,
                    group: format!("service:{svc}"),
                    stopped_reason: reason.into(),
                    stop_code: code.into(),
                    exit_code: exit,
                    stops_at: None,
                });
                self.svc_mut().deployments[i].failed += 1;
                self.event(format!(
                    "(service {svc}) has stopped 1 running tasks: (task t{}).",
                    self.ids
                ));
                if !self.marks.iter().any(|(m, _)| m == "first-stop") {
                    self.marks.push(("first-stop".into(), when));
                }
            }
            Move::CircuitBreaker => {
                let d = &mut self.svc_mut().deployments[i];
                d.rollout = "FAILED";
                d.reason = "ECS deployment circuit breaker: tasks failed to start.".into();
                self.marks.push(("failed".into(), when));
                self.event(format!(
                    "(service {svc}) (deployment {id}) deployment failed: tasks failed to start."
                ));
                let original = self.svc().original.clone();
                self.event(format!(
                    "(service {svc}) rolling back to deployment of {original}."
                ));
                // ECS's own rollback: a new PRIMARY deployment of the old revision.
                let plan = vec![(1, Move::Running), (1, Move::Complete)];
                self.start_deployment(original, plan, when);
            }
        }
    }

    fn primary(&self) -> &Deployment {
        self.svc()
            .deployments
            .iter()
            .find(|d| d.status == "PRIMARY")
            .unwrap()
    }

    fn find_td(&self, name: &str) -> Option<&Value> {
        let name = name.rsplit('/').next().unwrap_or(name);
        self.task_definitions.iter().rev().find(|t| {
            let arn = t["taskDefinitionArn"].as_str().unwrap_or_default();
            arn.ends_with(&format!("/{name}")) || (t["family"] == name && t["status"] == "ACTIVE")
        })
    }

    fn service(&self) -> Value {
        let primary = self.primary();
        let mut v = json!({
            "serviceArn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{}", self.svc().name),
            "serviceName": self.svc().name,
            "clusterArn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}"),
            "status": "ACTIVE",
            "desiredCount": self.svc().desired,
            "runningCount": self.svc().deployments.iter().map(|d| d.running).sum::<i64>(),
            "pendingCount": self.svc().deployments.iter().map(|d| d.pending).sum::<i64>(),
            "launchType": "FARGATE",
            "taskDefinition": primary.task_definition,
            "deploymentConfiguration": self.deployment_configuration_of(self.cur),
            "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": ["subnet-0123456789abcdef0"],
                "securityGroups": ["sg-0123456789abcdef0"],
                "assignPublicIp": "DISABLED"
            }},
            "deployments": self.svc().deployments.iter().rev().map(|d| json!({
                "id": d.id,
                "status": d.status,
                "taskDefinition": d.task_definition,
                "desiredCount": self.svc().desired,
                "pendingCount": d.pending,
                "runningCount": d.running,
                "failedTasks": d.failed,
                "launchType": "FARGATE",
                "rolloutState": d.rollout,
                "rolloutStateReason": d.reason,
            })).collect::<Vec<_>>(),
            "events": self.svc().events.iter().rev().map(|(id, at, message)| json!({
                "id": id, "createdAt": at, "message": message
            })).collect::<Vec<_>>(),
        });
        if let Some(strategy) = &self.capacity_providers {
            let o = v.as_object_mut().unwrap();
            o.remove("launchType");
            o.insert("capacityProviderStrategy".into(), strategy.clone());
            for d in o["deployments"].as_array_mut().unwrap() {
                d.as_object_mut().unwrap().remove("launchType");
                d["capacityProviderStrategy"] = strategy.clone();
            }
        }
        if let Some(arn) = &self.svc().current_service_deployment {
            v["currentServiceDeployment"] = json!(arn);
        }
        if self.svc().alternate {
            // Blue/green needs a second target group and the listener rules to switch.
            let elb = format!("arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}");
            v["loadBalancers"] = json!([{
                "targetGroupArn": format!("{elb}:targetgroup/api-blue/1"),
                "containerName": "api",
                "containerPort": 8000,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": format!("{elb}:targetgroup/api-green/2"),
                    "productionListenerRule": format!("{elb}:listener-rule/app/prod/1/2/3"),
                    "testListenerRule": format!("{elb}:listener-rule/app/prod/1/4/5"),
                    "roleArn": format!("arn:aws:iam::{ACCOUNT}:role/ecs-infrastructure"),
                },
            }]);
        }
        v
    }
}

/// AWS's published ECS API model, as botocore ships it
/// (`botocore/data/ecs/2014-11-13/service-2.json`); `None` (skipped) when
/// the project's Python tools are not installed.
pub fn api_model() -> Option<&'static Value> {
    static MODEL: std::sync::OnceLock<Option<Value>> = std::sync::OnceLock::new();
    let model = MODEL.get_or_init(|| {
        let python = super::repo_root().join(".venv/bin/python");
        let out = std::process::Command::new(python)
            .args([
                "-c",
                "import botocore.session, json, sys; json.dump(botocore.session.get_session().get_service_data('ecs'), sys.stdout)",
            ])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).ok())
            .flatten()
    });
    if model.is_none() {
        super::services::missing("botocore (in .venv)");
    }
    model.as_ref()
}

/// Shapes whose members gantry sends and reads as raw JSON, on purpose
/// including fields newer than any model (see `src/aws/ecs/raw.rs`).
const OPEN_SHAPES: &[&str] = &["TaskDefinition", "RegisterTaskDefinitionRequest"];
/// Errors any AWS JSON service may answer, outside each operation's list.
const COMMON_ERRORS: &[&str] = &["ThrottlingException"];

impl EcsStandIn {
    /// Where the calls so far leave AWS's model: an operation it does not
    /// have, a request or answer field that is not a member of its shape,
    /// a value outside its enum, a missing required member, an error the
    /// operation cannot answer. CloudWatch Logs' calls are not ECS's.
    pub fn model_mismatches(&self, model: &Value) -> Vec<String> {
        let mut out = Vec::new();
        for c in self.calls() {
            if c.operation == "GetLogEvents" {
                continue;
            }
            let op = &model["operations"][&c.operation];
            if op.is_null() {
                out.push(format!("{}: no such operation", c.operation));
                continue;
            }
            let input = op["input"]["shape"].as_str().unwrap_or_default();
            check_shape(
                model,
                input,
                &c.body,
                &format!("{} request", c.operation),
                &mut out,
            );
            if c.status == 200 {
                let output = op["output"]["shape"].as_str().unwrap_or_default();
                check_shape(model, output, &c.answer, &c.operation, &mut out);
            } else {
                let kind = c.answer["__type"].as_str().unwrap_or_default();
                let listed = op["errors"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|e| e["shape"] == kind);
                if !listed && !COMMON_ERRORS.contains(&kind) {
                    out.push(format!("{}: cannot answer {kind}", c.operation));
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

fn check_shape(model: &Value, shape: &str, v: &Value, path: &str, out: &mut Vec<String>) {
    let s = &model["shapes"][shape];
    let mut wrong = |what: &str| out.push(format!("{path}: {what} (shape {shape})"));
    match s["type"].as_str().unwrap_or_default() {
        "structure" => {
            let Some(o) = v.as_object() else {
                return wrong("not an object");
            };
            for r in s["required"].as_array().into_iter().flatten() {
                if !o.contains_key(r.as_str().unwrap_or_default()) {
                    wrong(&format!("required {r} missing"));
                }
            }
            for (k, x) in o {
                match s["members"].get(k) {
                    Some(m) => check_shape(
                        model,
                        m["shape"].as_str().unwrap_or_default(),
                        x,
                        &format!("{path}.{k}"),
                        out,
                    ),
                    None if OPEN_SHAPES.contains(&shape) => {}
                    None => out.push(format!("{path}.{k}: not a member of {shape}")),
                }
            }
        }
        "list" => match v.as_array() {
            Some(items) => {
                for (i, x) in items.iter().enumerate() {
                    let member = s["member"]["shape"].as_str().unwrap_or_default();
                    check_shape(model, member, x, &format!("{path}[{i}]"), out);
                }
            }
            None => wrong("not a list"),
        },
        "map" => match v.as_object() {
            Some(o) => {
                for (k, x) in o {
                    let value = s["value"]["shape"].as_str().unwrap_or_default();
                    check_shape(model, value, x, &format!("{path}.{k}"), out);
                }
            }
            None => wrong("not a map"),
        },
        "string" => match v.as_str() {
            Some(text) => {
                if let Some(allowed) = s["enum"].as_array()
                    && !allowed.iter().any(|a| a == text)
                {
                    wrong(&format!("`{text}` is not one of its values"));
                }
            }
            None => wrong("not a string"),
        },
        "integer" | "long" if !v.is_i64() => wrong("not an integer"),
        "double" | "float" | "timestamp" if !v.is_number() => wrong("not a number"),
        "boolean" if !v.is_boolean() => wrong("not a boolean"),
        _ => {}
    }
}
