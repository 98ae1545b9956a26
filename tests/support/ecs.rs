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
//! One cluster (`prod`) with two services (`api` and `worker`) running
//! `codewarden-api:7` (the example's task definition).

use super::calls::{self, CallLog};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const CLUSTER: &str = "prod";
pub const SERVICE: &str = "api";
/// The cluster's services: both start on the same revision and play the same scenario.
pub const SERVICES: &[&str] = &["api", "worker"];
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
}

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

/// One service of the cluster.
struct Svc {
    name: String,
    desired: i64,
    deployments: Vec<Deployment>,
    /// Oldest first.
    events: Vec<(String, f64, String)>,
    /// The revision it ran before the test.
    original: String,
}

struct World {
    scenario: Scenario,
    step: Duration,
    services: Vec<Svc>,
    /// The service the request (or the tick) is about.
    cur: usize,
    task_definitions: Vec<Value>,
    tasks: Vec<TaskRecord>,
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

fn td_arn(family: &str, revision: i64) -> String {
    format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:{revision}")
}

impl EcsStandIn {
    /// Starts on a free port; one scenario step lasts `step`.
    pub fn start(scenario: Scenario, step: Duration) -> EcsStandIn {
        Self::start_logged(scenario, step, CallLog::new())
    }

    /// As [`EcsStandIn::start`], appending every call to `log`.
    pub fn start_logged(scenario: Scenario, step: Duration, log: CallLog) -> EcsStandIn {
        let mut original: Value = serde_json::from_str(include_str!(
            "../../examples/monorepo/deploy/task-definition.json"
        ))
        .unwrap();
        let arn = td_arn("codewarden-api", 7);
        original["taskDefinitionArn"] = json!(arn);
        let t0 = Instant::now();
        let svc = |name: &str| Svc {
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
            original: arn.clone(),
        };
        let world = World {
            scenario,
            step,
            services: SERVICES.iter().map(|n| svc(n)).collect(),
            cur: 0,
            task_definitions: vec![original],
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
        let now = Instant::now();
        self.calls.push(Call {
            operation: operation.to_string(),
            body: body.clone(),
        });
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
                let revision = self
                    .task_definitions
                    .iter()
                    .filter(|t| t["family"] == family.as_str())
                    .count() as i64
                    + 7;
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
                self.start_deployment(arn, plan, now);
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
            Scenario::Success | Scenario::Throttling | Scenario::RunTaskExits1 => {
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
        json!({
            "serviceArn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{}", self.svc().name),
            "serviceName": self.svc().name,
            "clusterArn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}"),
            "status": "ACTIVE",
            "desiredCount": self.svc().desired,
            "runningCount": self.svc().deployments.iter().map(|d| d.running).sum::<i64>(),
            "pendingCount": self.svc().deployments.iter().map(|d| d.pending).sum::<i64>(),
            "launchType": "FARGATE",
            "taskDefinition": primary.task_definition,
            "deploymentConfiguration": {
                "deploymentCircuitBreaker": {"enable": true, "rollback": true},
                "maximumPercent": 200,
                "minimumHealthyPercent": 100
            },
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
        })
    }
}
