//! A stand-in for Railway's GraphQL API on 127.0.0.1: one project with its
//! environments and services, deployments that play scripted status
//! timelines (one status per poll, the last one repeated), logs, a token
//! check, rate limiting on demand, and a log of every call.
//!
//! It answers by `operationName`; that the documents themselves are valid is
//! checked against Railway's published schema by gantry's unit tests.

use super::calls::{self, CallLog};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

pub const PROJECT_ID: &str = "0b7e0c4e-1111-4c9b-9a51-6a1f0c2f6e01";
pub const ENVIRONMENT_ID: &str = "0b7e0c4e-2222-4c9b-9a51-6a1f0c2f6e02";

/// One service of the project.
#[derive(Debug, Clone)]
pub struct Service {
    pub id: String,
    pub name: String,
    pub image: Option<String>,
    pub repo: Option<String>,
    /// Statuses a new deployment of this service goes through, one per poll.
    pub timeline: Vec<String>,
    pub build_logs: Vec<String>,
    pub deploy_logs: Vec<String>,
    /// `(id, status, canRedeploy)` of its latest deployment.
    pub latest: Option<(String, String, bool)>,
    pub static_url: Option<String>,
    /// `(username, password)` the service pulls its image with, as the
    /// last `serviceInstanceUpdate` with `registryCredentials` set them.
    pub registry_credentials: Option<(String, String)>,
}

impl Service {
    pub fn new(name: &str, timeline: &[&str]) -> Self {
        Service {
            id: format!("svc-{name}"),
            name: name.to_string(),
            image: Some(format!("old.example/{name}:v1")),
            repo: None,
            timeline: timeline
                .iter()
                .map(std::string::ToString::to_string)
                .collect(),
            build_logs: vec![],
            deploy_logs: vec![],
            latest: Some((format!("dep-{name}-0"), "SUCCESS".into(), true)),
            static_url: None,
            registry_credentials: None,
        }
    }
}

/// A call gantry made: the operation and its variables ("429" for a
/// request turned away by the rate limit).
#[derive(Debug, Clone)]
pub struct Call {
    pub operation: String,
    pub variables: Value,
}

struct Deployment {
    service: String,
    timeline: Vec<String>,
    polls: usize,
}

#[derive(Default)]
struct World {
    project_token: String,
    api_token: String,
    services: Vec<Service>,
    deployments: HashMap<String, Deployment>,
    next: usize,
    rate_limited: usize,
    /// Operation name → how many more of its requests get a `502`.
    failing: HashMap<String, usize>,
    calls: Vec<Call>,
    log: CallLog,
}

pub const MUTATIONS: &[&str] = &[
    "ServiceInstanceSetImage",
    "ServiceInstanceSetImageWithCredentials",
    "ServiceInstanceDeploy",
    "ServiceInstanceDeployLatestCommit",
    "DeploymentRedeploy",
];

pub struct Railway {
    pub url: String,
    /// Every call, in the shape every stand-in shares.
    pub log: CallLog,
    world: Arc<Mutex<World>>,
}

impl Railway {
    /// Starts the stand-in; `project_token` and `api_token` are the tokens it accepts.
    pub fn start(project_token: &str, api_token: &str, services: Vec<Service>) -> Railway {
        Self::start_logged(project_token, api_token, services, CallLog::new())
    }

    /// As [`Railway::start`], appending every call to `log`.
    pub fn start_logged(
        project_token: &str,
        api_token: &str,
        services: Vec<Service>,
        log: CallLog,
    ) -> Railway {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let url = format!("http://{}/graphql/v2", listener.local_addr().unwrap());
        let world = Arc::new(Mutex::new(World {
            project_token: project_token.into(),
            api_token: api_token.into(),
            services,
            log: log.clone(),
            ..World::default()
        }));
        let w = world.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let w = w.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &w);
                });
            }
        });
        Railway { url, log, world }
    }

    /// The next `n` requests are answered `429` with `Retry-After: 1`.
    pub fn rate_limit(&self, n: usize) {
        self.world.lock().unwrap().rate_limited = n;
    }

    /// The next `n` requests for `operation` are answered `502 Bad Gateway`.
    pub fn fail(&self, operation: &str, n: usize) {
        self.world
            .lock()
            .unwrap()
            .failing
            .insert(operation.to_string(), n);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.world.lock().unwrap().calls.clone()
    }

    pub fn operations(&self) -> Vec<String> {
        self.calls().into_iter().map(|c| c.operation).collect()
    }

    pub fn mutations(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| MUTATIONS.contains(&c.operation.as_str()))
            .collect()
    }

    pub fn service(&self, name: &str) -> Service {
        let w = self.world.lock().unwrap();
        w.services.iter().find(|s| s.name == name).unwrap().clone()
    }
}

impl World {
    /// The name of the service a request is about (by service id, or by the
    /// id of one of its deployments); empty for project-wide requests.
    fn service_named_by(&self, vars: &Value) -> String {
        if let Some(s) = self
            .services
            .iter()
            .find(|s| vars["serviceId"] == s.id.as_str())
        {
            return s.name.clone();
        }
        let id = [&vars["id"], &vars["deploymentId"]]
            .into_iter()
            .find_map(Value::as_str)
            .unwrap_or_default();
        if let Some(d) = self.deployments.get(id) {
            return d.service.clone();
        }
        self.services
            .iter()
            .find(|s| s.latest.as_ref().is_some_and(|l| l.0 == id))
            .map(|s| s.name.clone())
            .unwrap_or_default()
    }
}

fn serve(stream: TcpStream, world: &Mutex<World>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut headers = HashMap::new();
    let mut line = String::new();
    reader.read_line(&mut line)?;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (status, extra, answer) = answer(world, &headers, &request);
    let text = answer.to_string();
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{text}",
        text.len()
    )?;
    stream.flush()
}

fn answer(
    world: &Mutex<World>,
    headers: &HashMap<String, String>,
    request: &Value,
) -> (&'static str, &'static str, Value) {
    let mut w = world.lock().unwrap();
    let op = request["operationName"].as_str().unwrap_or("").to_string();
    let vars = request["variables"].clone();
    let target = w.service_named_by(&vars);
    let mutating = MUTATIONS.contains(&op.as_str());
    if w.rate_limited > 0 {
        // Turned away: nothing changed.
        w.log.push(calls::Call::new(
            "railway",
            &format!("429 {op}"),
            &target,
            false,
        ));
        w.rate_limited -= 1;
        w.calls.push(Call {
            operation: "429".into(),
            variables: json!({ "operation": op }),
        });
        return (
            "429 Too Many Requests",
            "Retry-After: 1\r\n",
            json!({"errors": [{"message": "Too many requests"}]}),
        );
    }
    w.calls.push(Call {
        operation: op.clone(),
        variables: vars.clone(),
    });
    w.log
        .push(calls::Call::new("railway", &op, &target, mutating));
    if let Some(n) = w.failing.get_mut(&op)
        && *n > 0
    {
        *n -= 1;
        return (
            "502 Bad Gateway",
            "",
            json!({"errors": [{"message": "upstream error"}]}),
        );
    }
    let project_auth = headers
        .get("project-access-token")
        .is_some_and(|t| *t == w.project_token);
    let api_auth = headers
        .get("authorization")
        .is_some_and(|t| *t == format!("Bearer {}", w.api_token));
    if !project_auth && !api_auth {
        return (
            "200 OK",
            "",
            json!({"data": null, "errors": [{"message": "Not Authorized"}]}),
        );
    }
    let ok = |data: Value| ("200 OK", "", json!({ "data": data }));
    let not_found = |what: &str| {
        (
            "200 OK",
            "",
            json!({"data": null, "errors": [{"message": format!("{what} not found")}]}),
        )
    };
    let service_index = |w: &World, id: &Value| {
        w.services
            .iter()
            .position(|s| Value::String(s.id.clone()) == *id)
    };
    match op.as_str() {
        "ProjectToken" if project_auth => ok(json!({"projectToken": {
            "projectId": PROJECT_ID, "environmentId": ENVIRONMENT_ID,
            "project": {"name": "shop"}, "environment": {"name": "production"}}})),
        "ProjectToken" => (
            "200 OK",
            "",
            json!({"data": null, "errors": [{"message": "Project token not found"}]}),
        ),
        "Projects" => {
            ok(json!({"projects": {"edges": [{"node": {"id": PROJECT_ID, "name": "shop"}}]}}))
        }
        "Project" if vars["id"] == PROJECT_ID => ok(json!({"project": {
            "id": PROJECT_ID, "name": "shop",
            "environments": {"edges": [
                {"node": {"id": ENVIRONMENT_ID, "name": "production"}},
                {"node": {"id": "env-staging", "name": "staging"}}]},
            "services": {"edges": w.services.iter().map(|s| json!({"node": {"id": s.id, "name": s.name}})).collect::<Vec<_>>()}}})),
        "Project" => not_found("Project"),
        "ServiceInstance" => match service_index(&w, &vars["serviceId"]) {
            Some(i) => {
                let s = &w.services[i];
                ok(json!({"serviceInstance": {
                    "source": {"image": s.image, "repo": s.repo},
                    "latestDeployment": s.latest.as_ref().map(|(id, status, can)| json!({"id": id, "status": status, "canRedeploy": can})),
                }}))
            }
            None => not_found("ServiceInstance"),
        },
        "ServiceInstanceSetImage" | "ServiceInstanceSetImageWithCredentials" => {
            match service_index(&w, &vars["serviceId"]) {
                Some(i) => {
                    w.services[i].image = vars["image"].as_str().map(str::to_string);
                    let c = &vars["credentials"];
                    if let (Some(u), Some(p)) = (c["username"].as_str(), c["password"].as_str()) {
                        w.services[i].registry_credentials = Some((u.into(), p.into()));
                    }
                    ok(json!({"serviceInstanceUpdate": true}))
                }
                None => not_found("Service"),
            }
        }
        "ServiceInstanceDeploy" | "ServiceInstanceDeployLatestCommit" | "DeploymentRedeploy" => {
            let i = if op == "DeploymentRedeploy" {
                let id = vars["id"].as_str().unwrap_or("");
                w.services
                    .iter()
                    .position(|s| s.latest.as_ref().is_some_and(|l| l.0 == id))
            } else {
                service_index(&w, &vars["serviceId"])
            };
            let Some(i) = i else {
                return not_found("Deployment");
            };
            w.next += 1;
            let id = format!("dep-{}-{}", w.services[i].name, w.next);
            let timeline = w.services[i].timeline.clone();
            let service = w.services[i].name.clone();
            w.services[i].latest = Some((id.clone(), timeline[0].clone(), false));
            w.deployments.insert(
                id.clone(),
                Deployment {
                    service,
                    timeline,
                    polls: 0,
                },
            );
            match op.as_str() {
                "ServiceInstanceDeploy" => ok(json!({"serviceInstanceDeployV2": id})),
                "DeploymentRedeploy" => {
                    ok(json!({"deploymentRedeploy": {"id": id, "status": "QUEUED"}}))
                }
                _ => ok(json!({"serviceInstanceDeploy": true})),
            }
        }
        "Deployment" => {
            let id = vars["id"].as_str().unwrap_or("").to_string();
            let Some(d) = w.deployments.get_mut(&id) else {
                return not_found("Deployment");
            };
            let status = d.timeline[d.polls.min(d.timeline.len() - 1)].clone();
            d.polls += 1;
            let service = d.service.clone();
            let url = w
                .services
                .iter()
                .find(|s| s.name == service)
                .and_then(|s| s.static_url.clone());
            ok(json!({"deployment": {"id": id, "status": status, "staticUrl": url}}))
        }
        "BuildLogs" | "DeploymentLogs" => {
            let id = vars["deploymentId"].as_str().unwrap_or("");
            let Some(d) = w.deployments.get(id) else {
                return not_found("Deployment");
            };
            let s = w.services.iter().find(|s| s.name == d.service).unwrap();
            let lines = if op == "BuildLogs" {
                &s.build_logs
            } else {
                &s.deploy_logs
            };
            let key = if op == "BuildLogs" {
                "buildLogs"
            } else {
                "deploymentLogs"
            };
            ok(
                json!({ key: lines.iter().map(|m| json!({"message": m, "severity": "info", "timestamp": "2026-01-01T00:00:00Z"})).collect::<Vec<_>>() }),
            )
        }
        other => (
            "200 OK",
            "",
            json!({"data": null, "errors": [{"message": format!("Cannot query operation {other}")}]}),
        ),
    }
}
