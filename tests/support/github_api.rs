//! A stand-in for GitHub's REST API on 127.0.0.1, as far as gantry goes:
//! issue comments (list, paged as GitHub pages; create; edit) and a
//! workflow's runs (filtered by branch, event and status, newest first, as
//! `GET /repos/{owner}/{repo}/actions/workflows/{file}/runs` answers), with a
//! token check; it keeps the comments and runs and a log of every call.

use super::calls::{Call, CallLog};
use gantry::output::redact::percent_decode;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: u64,
    pub issue: u64,
    pub body: String,
}

/// One workflow run the stand-in knows, oldest first.
#[derive(Debug, Clone)]
pub struct WorkflowRun {
    /// The workflow's file name (`ship.yml`).
    pub workflow: String,
    pub branch: String,
    pub event: String,
    /// `success`, `failure`, `cancelled`.
    pub conclusion: String,
    pub head_sha: String,
}

#[derive(Default)]
struct State {
    runs: Vec<WorkflowRun>,
    /// A token without `actions: read` on a private repository.
    deny_actions: bool,
    comments: Vec<Comment>,
    calls: Vec<String>,
    next_id: u64,
}

pub struct GithubApi {
    pub url: String,
    /// Every call, in the shape every stand-in shares.
    pub log: CallLog,
    state: Arc<Mutex<State>>,
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl GithubApi {
    /// Serves `owner/name`; requests must carry `Bearer <token>`.
    pub fn start(repo: &str, token: &str) -> GithubApi {
        Self::start_logged(repo, token, CallLog::new())
    }

    /// As [`GithubApi::start`], appending every call to `log`: a `POST` or
    /// `PATCH` (a comment written) is a mutation.
    pub fn start_logged(repo: &str, token: &str, log: CallLog) -> GithubApi {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let state = Arc::new(Mutex::new(State {
            next_id: 1001,
            ..State::default()
        }));
        let (s, st, calls) = (server.clone(), state.clone(), log.clone());
        let (repo, token) = (repo.to_string(), token.to_string());
        let thread = std::thread::spawn(move || {
            for mut req in s.incoming_requests() {
                let mut body = String::new();
                let _ = req.as_reader().read_to_string(&mut body);
                let method = req.method().as_str().to_string();
                let path = req.url().split('?').next().unwrap_or("").to_string();
                let mutating = method == "POST" || method == "PATCH";
                calls.push(Call::new("github", &method, &path, mutating));
                let auth = req
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("Authorization"))
                    .map(|h| h.value.to_string())
                    .unwrap_or_default();
                let (status, answer) = if auth == format!("Bearer {token}") {
                    handle(&st, &repo, req.method().as_str(), req.url(), &body)
                } else {
                    (401, json!({"message": "Bad credentials"}))
                };
                let resp = tiny_http::Response::from_data(answer.to_string().into_bytes())
                    .with_status_code(status)
                    .with_header(
                        "Content-Type: application/json"
                            .parse::<tiny_http::Header>()
                            .unwrap(),
                    );
                let _ = req.respond(resp);
            }
        });
        GithubApi {
            url,
            log,
            state,
            server,
            thread: Some(thread),
        }
    }

    /// Records a finished run of `workflow` on `branch` for a push.
    pub fn run(&self, workflow: &str, branch: &str, conclusion: &str, head_sha: &str) {
        self.state.lock().unwrap().runs.push(WorkflowRun {
            workflow: workflow.into(),
            branch: branch.into(),
            event: "push".into(),
            conclusion: conclusion.into(),
            head_sha: head_sha.into(),
        });
    }

    /// Answers the runs endpoint as GitHub does for a job token without
    /// `actions: read` on a private repository.
    pub fn deny_actions(&self) {
        self.state.lock().unwrap().deny_actions = true;
    }

    /// Adds a comment someone else wrote.
    pub fn comment(&self, issue: u64, body: &str) {
        let mut st = self.state.lock().unwrap();
        let id = st.next_id;
        st.next_id += 1;
        st.comments.push(Comment {
            id,
            issue,
            body: body.to_string(),
        });
    }

    pub fn comments(&self, issue: u64) -> Vec<Comment> {
        let st = self.state.lock().unwrap();
        st.comments
            .iter()
            .filter(|c| c.issue == issue)
            .cloned()
            .collect()
    }

    /// `METHOD path` of every call, in order (query strings left out).
    pub fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.clone()
    }
}

fn handle(st: &Mutex<State>, repo: &str, method: &str, url: &str, body: &str) -> (u16, Value) {
    let mut st = st.lock().unwrap();
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    st.calls.push(format!("{method} {path}"));
    if let Some(rest) = path.strip_prefix(&format!("/repos/{repo}/actions/workflows/")) {
        return runs(&st, method, rest, query);
    }
    let Some(rest) = path.strip_prefix(&format!("/repos/{repo}/issues/")) else {
        return (404, json!({"message": "Not Found"}));
    };
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse::<usize>().ok())
    };
    let text = serde_json::from_str::<Value>(body).ok();
    let text = text.as_ref().and_then(|v| v["body"].as_str());
    match (method, rest.split('/').collect::<Vec<_>>().as_slice()) {
        ("GET", [n, "comments"]) => {
            let n: u64 = n.parse().unwrap_or(0);
            let per = param("per_page").unwrap_or(30).min(100);
            let page = param("page").unwrap_or(1).max(1);
            let all: Vec<Value> = st
                .comments
                .iter()
                .filter(|c| c.issue == n)
                .skip((page - 1) * per)
                .take(per)
                .map(|c| json!({"id": c.id, "body": c.body}))
                .collect();
            (200, Value::Array(all))
        }
        ("POST", [n, "comments"]) => {
            let Some(text) = text else {
                return (422, json!({"message": "body is missing"}));
            };
            let id = st.next_id;
            st.next_id += 1;
            st.comments.push(Comment {
                id,
                issue: n.parse().unwrap_or(0),
                body: text.to_string(),
            });
            (201, json!({"id": id, "body": text}))
        }
        ("PATCH", ["comments", id]) => {
            let id: u64 = id.parse().unwrap_or(0);
            let Some(text) = text else {
                return (422, json!({"message": "body is missing"}));
            };
            match st.comments.iter_mut().find(|c| c.id == id) {
                Some(c) => {
                    c.body = text.to_string();
                    (200, json!({"id": id, "body": text}))
                }
                None => (404, json!({"message": "Not Found"})),
            }
        }
        _ => (404, json!({"message": "Not Found"})),
    }
}

/// `GET …/actions/workflows/{file}/runs?branch=&event=&status=&per_page=`.
fn runs(st: &State, method: &str, rest: &str, query: &str) -> (u16, Value) {
    let (Some((workflow, "runs")), "GET") = (rest.split_once('/'), method) else {
        return (404, json!({"message": "Not Found"}));
    };
    if st.deny_actions {
        return (
            403,
            json!({"message": "Resource not accessible by integration"}),
        );
    }
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .map(percent_decode)
    };
    let per = param("per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(30);
    let matching: Vec<&WorkflowRun> = st
        .runs
        .iter()
        .rev()
        .filter(|r| r.workflow == percent_decode(workflow))
        .filter(|r| param("branch").is_none_or(|b| r.branch == b))
        .filter(|r| param("event").is_none_or(|e| r.event == e))
        .filter(|r| param("status").is_none_or(|s| r.conclusion == s))
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .take(per)
        .map(|r| {
            json!({
                "head_sha": r.head_sha, "head_branch": r.branch, "event": r.event,
                "status": "completed", "conclusion": r.conclusion,
                "path": format!(".github/workflows/{}", r.workflow),
            })
        })
        .collect();
    (
        200,
        json!({"total_count": matching.len(), "workflow_runs": page}),
    )
}

impl Drop for GithubApi {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
