//! Facts about the run: which commit, ref, repository and event. In GitHub
//! Actions they come from the runner's environment and event payload;
//! locally the same facts come from git.

use crate::environment::{self as env, Environment};
use crate::git;
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RefType {
    Branch,
    Tag,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunContext {
    /// Inside GitHub Actions.
    pub ci: bool,
    pub sha: Option<String>,
    /// Full ref, `refs/heads/main`.
    pub git_ref: Option<String>,
    /// Short ref, `main` or `v1.2.3`.
    pub ref_name: Option<String>,
    pub ref_type: Option<RefType>,
    /// `owner/name`.
    pub repository: Option<String>,
    /// Whether the repository is private (the event payload's
    /// `repository.private`); `None` locally. Not in the JSON document.
    #[serde(skip)]
    pub repository_private: Option<bool>,
    pub run_id: Option<String>,
    pub server_url: String,
    pub event_name: Option<String>,
    /// Base branch of a pull request.
    pub base_ref: Option<String>,
    /// The pull request's number, on pull request events.
    pub pr_number: Option<u64>,
    #[serde(skip)]
    pub runner_temp: Option<PathBuf>,
    /// The top of the git work tree holding the project, if it is in git.
    #[serde(skip)]
    pub work_tree: Option<PathBuf>,
    /// Where changed files are counted from.
    pub change_base: ChangeBase,
    /// Why this CI run has no credentials for remote checks, when it says
    /// so: a pull request from a fork (GitHub gives it no secrets), or the
    /// workflow's own reason in `GANTRY_UNCHECKED_REASON` (a pull request
    /// plan without a read-only role). A dry run then marks what it could
    /// not ask "not checked" with this reason instead of failing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unchecked_reason: Option<String>,
}

/// What "changed" means for this run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ChangeBase {
    /// A pull request: files changed since the merge base with its base commit.
    PullRequest { base: String, head: String },
    /// A push: files changed between the commit before the push and now.
    /// Gates ask GitHub for the last passed commit instead (`LastPassed`).
    Push { before: String, head: String },
    /// A push in GitHub Actions: files changed since the commit of this
    /// workflow's last passed run on the branch.
    LastPassed { base: String, head: String },
    /// Locally with `--since <rev>`: committed and uncommitted changes since it.
    Since { rev: String },
    /// No base to compare with; every gate runs, for this reason.
    Unknown { reason: String },
}

const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

impl RunContext {
    /// Resolves the facts for a project directory; `since` is `--since`.
    pub fn resolve(env: &Environment, dir: &Path, since: Option<&str>) -> Self {
        if env.in_github_actions() {
            let mut ctx = Self::from_github(env, since);
            ctx.work_tree = git::toplevel(dir);
            ctx
        } else {
            Self::from_git(env, dir, since)
        }
    }

    fn from_github(e: &Environment, since: Option<&str>) -> Self {
        let owned = |name| e.get(name).map(str::to_string);
        let event = e
            .get(env::GITHUB_EVENT_PATH)
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
        let sha = owned(env::GITHUB_SHA);
        let event_name = owned(env::GITHUB_EVENT_NAME);
        let change_base = match since {
            Some(rev) => ChangeBase::Since { rev: rev.into() },
            None => change_base_from_event(event_name.as_deref(), event.as_ref(), sha.as_deref()),
        };
        let unchecked_reason = if is_fork_pull_request(event_name.as_deref(), event.as_ref()) {
            Some("pull request from a fork: no secrets".to_string())
        } else {
            owned(env::GANTRY_UNCHECKED_REASON).filter(|r| !r.trim().is_empty())
        };
        RunContext {
            ci: true,
            sha,
            git_ref: owned(env::GITHUB_REF),
            ref_name: owned(env::GITHUB_REF_NAME),
            ref_type: match e.get(env::GITHUB_REF_TYPE) {
                Some("tag") => Some(RefType::Tag),
                Some("branch") => Some(RefType::Branch),
                _ => None,
            },
            repository: owned(env::GITHUB_REPOSITORY),
            repository_private: event
                .as_ref()
                .and_then(|ev| ev.pointer("/repository/private"))
                .and_then(serde_json::Value::as_bool),
            run_id: owned(env::GITHUB_RUN_ID),
            server_url: owned(env::GITHUB_SERVER_URL)
                .unwrap_or_else(|| "https://github.com".into()),
            event_name,
            base_ref: owned(env::GITHUB_BASE_REF),
            pr_number: event
                .as_ref()
                .and_then(|ev| ev.pointer("/pull_request/number"))
                .and_then(serde_json::Value::as_u64)
                .or_else(|| pr_from_ref(e.get(env::GITHUB_REF)?)),
            runner_temp: e.get(env::RUNNER_TEMP).map(PathBuf::from),
            work_tree: None,
            change_base,
            unchecked_reason,
        }
    }

    fn from_git(e: &Environment, dir: &Path, since: Option<&str>) -> Self {
        // One `git rev-parse` for the work tree, commit and branch; a tag
        // and the origin are asked only when there is a commit.
        let head = git::Head::read(dir);
        let tag = head.sha.as_ref().and_then(|_| git::tag_at_head(dir));
        let branch = head.branch.clone();
        let server_url = e
            .get(env::GITHUB_SERVER_URL)
            .unwrap_or("https://github.com")
            .to_string();
        let host = server_url
            .split_once("://")
            .map_or(server_url.as_str(), |(_, h)| h)
            .trim_end_matches('/')
            .to_string();
        let (ref_name, ref_type, git_ref) = match (&tag, &branch) {
            (Some(t), _) => (
                Some(t.clone()),
                Some(RefType::Tag),
                Some(format!("refs/tags/{t}")),
            ),
            (None, Some(b)) => (
                Some(b.clone()),
                Some(RefType::Branch),
                Some(format!("refs/heads/{b}")),
            ),
            _ => (None, None, None),
        };
        RunContext {
            ci: false,
            sha: head.sha,
            git_ref,
            ref_name,
            ref_type,
            repository: git::origin_repository(dir, &host),
            repository_private: None,
            run_id: None,
            server_url,
            event_name: None,
            base_ref: None,
            pr_number: None,
            runner_temp: None,
            work_tree: head.toplevel,
            change_base: match since {
                Some(rev) => ChangeBase::Since { rev: rev.into() },
                None => ChangeBase::Unknown {
                    reason: "no base to compare with locally: pass --since <rev> to run only the gates whose paths changed".into(),
                },
            },
            unchecked_reason: None,
        }
    }
}

/// A `pull_request` whose head is in another repository than its base (a
/// fork): GitHub runs it with a read-only token and no secrets. A head
/// repository that is gone (a deleted fork) is one too.
fn is_fork_pull_request(event_name: Option<&str>, event: Option<&serde_json::Value>) -> bool {
    let (Some("pull_request"), Some(pr)) = (event_name, event.and_then(|e| e.get("pull_request")))
    else {
        return false;
    };
    let head = &pr["head"]["repo"];
    if head.is_null() {
        return pr.get("head").is_some();
    }
    head["fork"].as_bool() == Some(true)
        || (head["full_name"].is_string() && head["full_name"] != pr["base"]["repo"]["full_name"])
}

/// `refs/pull/7/merge` → 7.
fn pr_from_ref(git_ref: &str) -> Option<u64> {
    git_ref
        .strip_prefix("refs/pull/")?
        .split('/')
        .next()?
        .parse()
        .ok()
}

/// The pull request's base commit, or the push's previous commit.
fn change_base_from_event(
    event_name: Option<&str>,
    event: Option<&serde_json::Value>,
    sha: Option<&str>,
) -> ChangeBase {
    let unknown = |reason: &str| ChangeBase::Unknown {
        reason: reason.to_string(),
    };
    let Some(event) = event else {
        return unknown("the event payload ($GITHUB_EVENT_PATH) is missing or unreadable");
    };
    let str_at = |ptr: &str| {
        event
            .pointer(ptr)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    match event_name {
        Some("pull_request" | "pull_request_target") => {
            match (
                str_at("/pull_request/base/sha"),
                str_at("/pull_request/head/sha"),
            ) {
                (Some(base), Some(head)) => ChangeBase::PullRequest { base, head },
                _ => unknown("the pull request event has no base and head commits"),
            }
        }
        Some("merge_group") => match (
            str_at("/merge_group/base_sha"),
            str_at("/merge_group/head_sha"),
        ) {
            (Some(base), Some(head)) => ChangeBase::PullRequest { base, head },
            _ => unknown("the merge group event has no base and head commits"),
        },
        Some("push") => match (str_at("/before"), sha) {
            (Some(before), _) if before == ZERO_SHA => unknown(
                "this push created the branch, so there is no previous commit to compare with",
            ),
            (Some(before), Some(head)) => ChangeBase::Push {
                before,
                head: head.to_string(),
            },
            _ => unknown("the push event has no previous commit"),
        },
        Some(other) => unknown(&format!(
            "a `{other}` event has no base commit to compare with"
        )),
        None => unknown("GITHUB_EVENT_NAME is not set"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pull_request_compares_base_and_head() {
        let ev = json!({"pull_request": {"base": {"sha": "b"}, "head": {"sha": "h"}}});
        assert_eq!(
            change_base_from_event(Some("pull_request"), Some(&ev), Some("m")),
            ChangeBase::PullRequest {
                base: "b".into(),
                head: "h".into()
            }
        );
    }

    #[test]
    fn push_compares_before_with_sha_unless_the_branch_is_new() {
        let ev = json!({"before": "aaa"});
        assert_eq!(
            change_base_from_event(Some("push"), Some(&ev), Some("bbb")),
            ChangeBase::Push {
                before: "aaa".into(),
                head: "bbb".into()
            }
        );
        let ev = json!({"before": ZERO_SHA});
        assert!(matches!(
            change_base_from_event(Some("push"), Some(&ev), Some("bbb")),
            ChangeBase::Unknown { reason } if reason.contains("created the branch")
        ));
    }

    #[test]
    fn a_pull_request_is_from_a_fork_when_its_head_repository_is_another() {
        let pr = |head: serde_json::Value| json!({"pull_request": {"head": {"repo": head}, "base": {"repo": {"full_name": "acme/shop"}}}});
        let fork = |ev: &serde_json::Value| is_fork_pull_request(Some("pull_request"), Some(ev));
        assert!(fork(&pr(json!({"full_name": "eve/shop", "fork": true}))));
        // Renamed or transferred: the names differ even without the flag.
        assert!(fork(&pr(json!({"full_name": "eve/shop", "fork": false}))));
        assert!(fork(&pr(serde_json::Value::Null)));
        assert!(!fork(&pr(json!({"full_name": "acme/shop", "fork": false}))));
        // A push, or a pull request payload without a head, is not one.
        assert!(!is_fork_pull_request(
            Some("push"),
            Some(&pr(json!({"fork": true})))
        ));
        assert!(!fork(&json!({"pull_request": {"number": 7}})));
    }

    #[test]
    fn pull_request_numbers_come_from_the_ref() {
        assert_eq!(pr_from_ref("refs/pull/42/merge"), Some(42));
        assert_eq!(pr_from_ref("refs/heads/main"), None);
    }

    #[test]
    fn other_events_run_everything_and_say_why() {
        assert!(matches!(
            change_base_from_event(Some("workflow_dispatch"), Some(&json!({})), None),
            ChangeBase::Unknown { reason } if reason.contains("workflow_dispatch")
        ));
    }
}
