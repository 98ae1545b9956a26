//! The GitHub REST API, as far as gantry needs it: one "sticky" comment on a
//! pull request, found again by a hidden marker and edited in place, so a
//! pull request carries one current plan rather than one comment per push;
//! and the commit of a workflow's last passed run on a branch, which gates
//! compare with. Knows nothing of gantry.toml.

use serde::Deserialize;
use std::time::Duration;

/// Comments read per page (GitHub's maximum).
const PER_PAGE: usize = 100;
/// Pages read at most: a pull request with 10,000 comments gets a new one.
const MAX_PAGES: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// GitHub answered with an error status.
    #[error("GitHub API {method} {path}: {status} {message}")]
    Api {
        method: &'static str,
        path: String,
        status: u16,
        message: String,
    },
    /// GitHub could not be reached.
    #[error("GitHub API unreachable: {0}")]
    Unreachable(String),
}

/// What happened to the comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    Created(u64),
    Updated(u64),
}

#[derive(Deserialize)]
struct Comment {
    id: u64,
    #[serde(default)]
    body: String,
}

#[derive(Deserialize)]
struct Runs {
    workflow_runs: Vec<Run>,
}

#[derive(Deserialize)]
struct Run {
    head_sha: String,
}

pub struct Client {
    http: reqwest::Client,
    api: String,
    token: String,
}

impl Client {
    /// `api` is `$GITHUB_API_URL` (`https://api.github.com`, or a GitHub
    /// Enterprise Server's `/api/v3`).
    pub fn new(api: &str, token: &str) -> Result<Client, GithubError> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(
                crate::https::client_config().map_err(GithubError::Unreachable)?,
            )
            .user_agent(concat!("gantry/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| GithubError::Unreachable(format!("cannot start an HTTP client: {e}")))?;
        Ok(Client {
            http,
            api: api.trim_end_matches('/').to_string(),
            token: token.to_string(),
        })
    }

    /// Creates the comment holding `marker` on issue or pull request
    /// `number` of `repo` (`owner/name`), or edits the existing one.
    pub async fn upsert_comment(
        &self,
        repo: &str,
        number: u64,
        marker: &str,
        body: &str,
    ) -> Result<Upsert, GithubError> {
        let body = serde_json::json!({ "body": body });
        if let Some(id) = self.find_comment(repo, number, marker).await? {
            let path = format!("/repos/{repo}/issues/comments/{id}");
            self.send::<Comment>(reqwest::Method::PATCH, "PATCH", &path, Some(&body))
                .await?;
            return Ok(Upsert::Updated(id));
        }
        let path = format!("/repos/{repo}/issues/{number}/comments");
        let made: Comment = self
            .send(reqwest::Method::POST, "POST", &path, Some(&body))
            .await?;
        Ok(Upsert::Created(made.id))
    }

    /// The commit of the newest run of `workflow` (its file name, such as
    /// `ship.yml`) for a push to `branch` that concluded `success`, or
    /// `None` when none has. Needs `actions: read` on a private repository.
    pub async fn last_passed_commit(
        &self,
        repo: &str,
        workflow: &str,
        branch: &str,
    ) -> Result<Option<String>, GithubError> {
        let path = format!(
            "/repos/{repo}/actions/workflows/{}/runs?branch={}&event=push&status=success&per_page=1",
            query_value(workflow),
            query_value(branch)
        );
        let runs: Runs = self.send(reqwest::Method::GET, "GET", &path, None).await?;
        Ok(runs.workflow_runs.into_iter().next().map(|r| r.head_sha))
    }

    async fn find_comment(
        &self,
        repo: &str,
        number: u64,
        marker: &str,
    ) -> Result<Option<u64>, GithubError> {
        for page in 1..=MAX_PAGES {
            let path =
                format!("/repos/{repo}/issues/{number}/comments?per_page={PER_PAGE}&page={page}");
            let comments: Vec<Comment> =
                self.send(reqwest::Method::GET, "GET", &path, None).await?;
            if let Some(c) = comments.iter().find(|c| c.body.contains(marker)) {
                return Ok(Some(c.id));
            }
            if comments.len() < PER_PAGE {
                break;
            }
        }
        Ok(None)
    }

    async fn send<T: for<'de> Deserialize<'de>>(
        &self,
        method: reqwest::Method,
        name: &'static str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T, GithubError> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.api))
            .bearer_auth(&self.token)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28");
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| GithubError::Unreachable(e.to_string()))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| GithubError::Unreachable(e.to_string()))?;
        if !status.is_success() {
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_string))
                .unwrap_or(text);
            return Err(GithubError::Api {
                method: name,
                path: path.split('?').next().unwrap_or(path).to_string(),
                status: status.as_u16(),
                message,
            });
        }
        serde_json::from_str(&text).map_err(|e| GithubError::Api {
            method: name,
            path: path.to_string(),
            status: status.as_u16(),
            message: format!("unexpected answer: {e}"),
        })
    }
}

/// Percent-encodes what a branch or file name may hold that a URL's path
/// segment or query value may not (`&`, `#`, `+`, `%`, `?`, `/` in a file name).
fn query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' | '&' | '#' | '+' | '?' | '=' | ' ' => out.push_str(&format!("%{:02X}", c as u32)),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_keep_slashes_and_escape_separators() {
        assert_eq!(
            super::query_value("feature/a&b#c+d%e"),
            "feature/a%26b%23c%2Bd%25e"
        );
        assert_eq!(super::query_value("ship.yml"), "ship.yml");
    }
}
