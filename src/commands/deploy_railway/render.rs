//! What `gantry deploy railway` shows: the plan's changes, the step
//! summary's table, a failed deployment's logs and annotation, and what a
//! cancel left behind.

use super::{ANNOTATION_LINES, LOG_LINES, Planned, Session, railway_error};
use crate::output::github::{Annotation, Level};
use crate::plan::{Action, Change, Plan};
use crate::railway::Client;
use crate::railway::resolve::Resolved;
use crate::railway::watch;
use crate::railway::watch::{DeployVerdict, Watched};
use crate::report::Verdict;
use crate::settings::deploy_railway::Token;
use crate::settings::deploy_railway::{RailwayMode, Source};

pub(super) fn to_plan(planned: &[Planned]) -> Plan {
    let changes = planned
        .iter()
        .map(|p| {
            let target = if let Some(r) = &p.resolved {
                format!(
                    "Railway service {}/{}/{}",
                    r.project, r.environment, r.service
                )
            } else {
                let t = &p.deploy.target;
                format!(
                    "Railway service {}/{}/{}",
                    t.project.as_deref().unwrap_or("(token's project)"),
                    t.environment.as_deref().unwrap_or("(token's environment)"),
                    t.service
                )
            };
            let (action, mut summary) = match &p.deploy.source {
                Source::Image(name) => {
                    let current = match &p.resolved {
                        None => "(not checked)".to_string(),
                        Some(r) => match r.instance.source.as_ref() {
                            Some(s) if s.image.is_some() => s.image.clone().unwrap_or_default(),
                            Some(s) if s.repo.is_some() => {
                                format!("repo {}", s.repo.clone().unwrap_or_default())
                            }
                            _ => "(none)".to_string(),
                        },
                    };
                    let new = p.image.clone().unwrap_or_else(|| {
                        format!("the digest `gantry push` records for image `{name}`")
                    });
                    let same = p.image.is_some() && current == new;
                    let pull = match &p.deploy.pull {
                        Some(pull) => format!(
                            "; Railway pulls it with {} / {}",
                            pull.username_env, pull.password_env
                        ),
                        None => String::new(),
                    };
                    (
                        Action::Update,
                        if same {
                            format!("image {new} (unchanged), deploy again{pull}")
                        } else {
                            format!("image {current} → {new}, then deploy{pull}")
                        },
                    )
                }
                Source::Mode(RailwayMode::Redeploy) => (
                    Action::Run,
                    match p
                        .resolved
                        .as_ref()
                        .and_then(|r| r.instance.latest_deployment.as_ref())
                    {
                        Some(l) => format!("redeploy deployment {} ({})", l.id, l.status),
                        None => "redeploy the latest deployment".to_string(),
                    },
                ),
                Source::Mode(RailwayMode::LatestCommit) => (
                    Action::Run,
                    match p
                        .resolved
                        .as_ref()
                        .and_then(|r| r.instance.source.as_ref())
                        .and_then(|s| s.repo.clone())
                    {
                        Some(repo) => format!("deploy the latest commit of {repo}"),
                        None => "deploy the latest commit of the connected repository".to_string(),
                    },
                ),
            };
            if let Some(why) = &p.refusal {
                summary = format!("refused: {why}");
            }
            Change {
                action,
                target,
                summary,
                diff: None,
            }
        })
        .collect();
    Plan { changes }
}

pub(super) fn markdown(
    planned: &[Planned],
    watched: &[Watched],
    verdict: Verdict,
    dry_run: bool,
) -> String {
    let mut md = format!(
        "### gantry deploy railway: {}{}\n\n| Deployment | Railway service | Deploys | Status |\n|---|---|---|---|\n",
        verdict.as_str(),
        if dry_run {
            " (dry run: nothing deployed)"
        } else {
            ""
        }
    );
    for p in planned {
        let service = match &p.resolved {
            Some(r) => format!("{}/{}/{}", r.project, r.environment, r.service),
            None => format!("{} (not checked)", p.deploy.target.service),
        };
        let deploys = match (&p.deploy.source, &p.image) {
            (Source::Image(_), Some(image)) => format!("`{image}`"),
            (Source::Image(name), None) => format!("image `{name}`"),
            (Source::Mode(RailwayMode::Redeploy), _) => "redeploy".into(),
            (Source::Mode(RailwayMode::LatestCommit), _) => "latest commit".into(),
        };
        let status = match (watched.iter().find(|w| w.name == p.deploy.name), &p.refusal) {
            (_, Some(why)) => format!("refused: {why}"),
            (Some(w), None) => {
                let outcome = w
                    .outcome
                    .as_ref()
                    .map(DeployVerdict::describe)
                    .unwrap_or_default();
                match p.resolved.as_ref() {
                    Some(r) => format!("[{outcome}]({})", dashboard_url(r, &w.deployment_id)),
                    None => outcome,
                }
            }
            (None, None) if dry_run => "planned".into(),
            (None, None) if crate::cancel::requested().is_some() => {
                "not started (cancelled)".into()
            }
            (None, None) => "-".into(),
        };
        md.push_str(&format!(
            "| {} | {service} | {deploys} | {status} |\n",
            p.deploy.name
        ));
    }
    md.push('\n');
    md
}

/// What a cancel left behind for one started deployment: it was sent and
/// Railway goes on with it (a cancel never rolls back: see the README's
/// "Cancelling"), and how to go back to the deployment that served before.
pub(super) fn cancelled_state(p: &Planned, r: &Resolved, w: &Watched) -> String {
    let status = w.status.as_deref().unwrap_or("QUEUED");
    let what = match &p.deploy.source {
        Source::Image(_) => format!(
            "the service's image was set to {} and deployment {} was started",
            p.image.as_deref().unwrap_or("?"),
            w.deployment_id
        ),
        Source::Mode(_) => format!("deployment {} was started", w.deployment_id),
    };
    let back = match &r.instance.latest_deployment {
        Some(prev) => format!(
            "; to roll back, use Rollback on deployment {} in Railway ({}), or the API's `deploymentRollback(id: \"{}\")`",
            prev.id,
            dashboard_url(r, &prev.id),
            prev.id
        ),
        None => String::new(),
    };
    format!(
        "cancelled while it was {status}: {what}, and Railway carries on with it (gantry stopped watching){back}"
    )
}

/// Shows why a deployment did not pass: its outcome and, for a failure, its
/// last build and runtime log lines.
pub(super) async fn report_failure(
    session: &Session<'_>,
    client: &Client<'_>,
    token: &Token,
    w: &Watched,
    outcome: &DeployVerdict,
    r: &Resolved,
) {
    let printer = session.printer;
    let mut last = Vec::new();
    if matches!(
        outcome,
        DeployVerdict::Failed(_) | DeployVerdict::TimedOut(_)
    ) {
        match watch::last_logs(client, &w.deployment_id, LOG_LINES).await {
            Ok((build, deploy)) => {
                for (title, lines) in [("build log", &build), ("deploy log", &deploy)] {
                    if lines.is_empty() {
                        continue;
                    }
                    let body: Vec<&str> = lines.iter().map(|l| l.message.as_str()).collect();
                    printer.group(
                        &format!("{}: last {title} lines of {}", w.name, w.deployment_id),
                        &body.join("\n"),
                    );
                }
                // The lines that say most: the runtime's when it ran at all.
                let source = if deploy.is_empty() { &build } else { &deploy };
                let skip = source.len().saturating_sub(ANNOTATION_LINES);
                last = source[skip..].iter().map(|l| l.message.clone()).collect();
            }
            Err(e) => printer.warn(&format!(
                "{}: cannot read the logs: {}",
                w.name,
                railway_error(token, e)
            )),
        }
    }
    let mut message = format!(
        "deployment {} of {}/{}/{} ended {}",
        w.deployment_id,
        r.project,
        r.environment,
        r.service,
        outcome.describe()
    );
    if !last.is_empty() {
        message.push_str(&format!(":\n{}", last.join("\n")));
    }
    message.push_str(&format!("\n{}", dashboard_url(r, &w.deployment_id)));
    printer.annotate(Annotation::new(Level::Error, message).titled(format!(
        "{}: Railway deployment {}",
        w.name,
        outcome.describe()
    )));
}

pub(super) fn dashboard_url(r: &Resolved, deployment_id: &str) -> String {
    format!(
        "https://railway.com/project/{}/service/{}?environmentId={}&id={deployment_id}",
        r.project_id, r.service_id, r.environment_id
    )
}

pub(super) fn public_url(static_url: &str) -> String {
    if static_url.starts_with("http") {
        static_url.to_string()
    } else {
        format!("https://{static_url}")
    }
}

pub(super) fn mark(passed: bool) -> &'static str {
    if passed { "✓" } else { "✗" }
}
