//! What `gantry deploy railway` shows: the plan's changes and the step
//! summary's table.

use super::{Planned, dashboard_url};
use crate::plan::{Action, Change, Plan};
use crate::railway::watch::{DeployVerdict, Watched};
use crate::report::Verdict;
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
                    (
                        Action::Update,
                        if same {
                            format!("image {new} (unchanged), deploy again")
                        } else {
                            format!("image {current} → {new}, then deploy")
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
