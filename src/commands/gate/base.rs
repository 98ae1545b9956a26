//! What a push's gates compare with: the commit of this workflow's last
//! passed run on the branch, asked of GitHub's API.
//!
//! The push's own `before` is not enough: GitHub cancels a pending run when
//! a newer one queues, and a push whose gate failed is not gated again when
//! the next push touches other paths, so changes that never passed would
//! ship ungated. When the last passed commit cannot be known (no token, no
//! `actions: read`, the API unreachable, no run has passed yet), every gate
//! runs, and the reason is printed.

use crate::environment::{self as vars, Environment};
use crate::github::Client;
use crate::run_context::{ChangeBase, RunContext};

/// The base for this run: unchanged unless it is a push in GitHub Actions
/// (whose `before`, if any, is not used: see above).
pub(super) fn resolve(env: &Environment, context: &RunContext) -> ChangeBase {
    let (true, Some("push"), Some(head)) = (
        context.ci,
        context.event_name.as_deref(),
        context.sha.as_ref(),
    ) else {
        return context.change_base.clone();
    };
    if matches!(context.change_base, ChangeBase::Since { .. }) {
        return context.change_base.clone();
    }
    let unknown = |reason: String| ChangeBase::Unknown { reason };
    let (Some(repo), Some(branch)) = (&context.repository, &context.ref_name) else {
        return unknown("GITHUB_REPOSITORY or GITHUB_REF_NAME is not set".into());
    };
    let Some(workflow) = env.get(vars::GITHUB_WORKFLOW_REF).and_then(workflow_file) else {
        return unknown("GITHUB_WORKFLOW_REF does not name the workflow's file".into());
    };
    let Some(token) = env.get(vars::GITHUB_TOKEN) else {
        return unknown(
            "GITHUB_TOKEN is not set, so the last passed run cannot be asked of GitHub".into(),
        );
    };
    let api = env
        .get(vars::GITHUB_API_URL)
        .unwrap_or("https://api.github.com");
    let asked = Client::new(api, token)
        .map(|client| crate::runtime::block_on(client.last_passed_commit(repo, workflow, branch)));
    match asked {
        Ok(Ok(Ok(Some(sha)))) if sha == *head => unknown(format!(
            "{workflow} already passed on {head}: every gate runs again"
        )),
        Ok(Ok(Ok(Some(sha)))) => ChangeBase::LastPassed {
            base: sha,
            head: head.clone(),
        },
        Ok(Ok(Ok(None))) => unknown(format!("no run of {workflow} has passed on {branch} yet")),
        Ok(Ok(Err(e))) | Err(e) => unknown(format!(
            "cannot ask GitHub for the last passed run of {workflow} on {branch} ({e}; the job needs `permissions: actions: read`)"
        )),
        Ok(Err(e)) => unknown(format!("cannot ask GitHub for the last passed run: {e}")),
    }
}

/// `owner/name/.github/workflows/ship.yml@refs/heads/main` → `ship.yml`.
fn workflow_file(workflow_ref: &str) -> Option<&str> {
    let path = workflow_ref.split('@').next()?;
    let file = path.rsplit('/').next()?;
    (!file.is_empty() && path.contains("/.github/workflows/")).then_some(file)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_workflow_file_comes_from_its_ref() {
        assert_eq!(
            super::workflow_file("acme/shop/.github/workflows/ship.yml@refs/heads/main"),
            Some("ship.yml")
        );
        assert_eq!(super::workflow_file("ship.yml"), None);
        assert_eq!(super::workflow_file(""), None);
    }
}
