//! `gantry run --comment`: the run's summary (the plan of a dry run) as one
//! comment on the pull request, edited in place on each run. Reviewers see
//! what merging will change, like a Terraform plan comment.

use crate::environment::{self as vars, Environment};
use crate::error::Error;
use crate::github::{Client, Upsert};
use crate::output::Printer;

/// The hidden line the comment is found by on the next run.
pub const MARKER: &str = "<!-- gantry:plan -->";

/// Posts or edits the comment. A comment that cannot be written (a fork's
/// read-only token, no pull request) is a warning: the plan itself stands.
/// `error`: why the run stopped, when it did not finish (the comment says so
/// rather than showing a partial plan as the whole one).
pub fn post(printer: &Printer, env: &Environment, error: Option<&Error>) {
    let Some(number) = pull_request_number(env) else {
        printer.warn("--comment: not a pull_request event; no comment written");
        return;
    };
    let (Some(repo), Some(token)) = (
        env.get(vars::GITHUB_REPOSITORY),
        env.get(vars::GITHUB_TOKEN),
    ) else {
        printer.warn("--comment: GITHUB_REPOSITORY or GITHUB_TOKEN is not set; no comment written");
        return;
    };
    let api = env
        .get(vars::GITHUB_API_URL)
        .unwrap_or("https://api.github.com");
    let sha = env.get(vars::GITHUB_SHA).unwrap_or("this commit");
    let mut summary = printer.summary_markdown();
    if let Some(e) = error {
        summary.push_str(&format!(
            "\n\n**gantry could not finish:** {}",
            printer.redact(&e.to_string())
        ));
    }
    let body = format!(
        "{MARKER}\n## gantry plan\n\n{}\n\n<sub>gantry {} · {sha} · this comment is updated on every push</sub>\n",
        if summary.trim().is_empty() {
            "Nothing to do."
        } else {
            summary.trim()
        },
        env!("CARGO_PKG_VERSION"),
    );
    let result = Client::new(api, token)
        .map(|client| crate::runtime::block_on(client.upsert_comment(repo, number, MARKER, &body)));
    match result {
        Ok(Ok(Ok(Upsert::Created(id)))) => printer.info(&format!(
            "plan comment {id} created on pull request #{number}"
        )),
        Ok(Ok(Ok(Upsert::Updated(id)))) => printer.info(&format!(
            "plan comment {id} updated on pull request #{number}"
        )),
        Ok(Ok(Err(e))) | Err(e) => printer.warn(&format!("--comment: {e}")),
        Ok(Err(e)) => printer.warn(&format!("--comment: {e}")),
    }
}

/// The pull request's number, from the event payload.
fn pull_request_number(env: &Environment) -> Option<u64> {
    let path = env.get(vars::GITHUB_EVENT_PATH)?;
    let event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    event["pull_request"]["number"]
        .as_u64()
        .or_else(|| event["number"].as_u64())
}
