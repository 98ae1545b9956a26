//! Watches deployments until each reaches a verdict: Railway's
//! `DeploymentStatus` values sorted into "still going" and the outcomes.

use super::client::{Client, RailwayError};
use super::ops;
use serde_json::json;
use std::time::{Duration, Instant};

/// How a deployment ended, as far as gantry is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployVerdict {
    /// `SUCCESS`: the new deployment serves.
    Success,
    /// `SLEEPING`: it deployed and then slept for lack of traffic (serverless).
    Sleeping,
    /// `FAILED`, `CRASHED` or `REMOVED`: it does not serve; the logs say why.
    Failed(String),
    /// `NEEDS_APPROVAL`: someone must approve it in Railway first.
    NeedsApproval,
    /// `SKIPPED`: Railway chose not to deploy it.
    Skipped,
    /// No verdict in time; the last status seen.
    TimedOut(String),
    /// gantry was cancelled (SIGINT/SIGTERM) while watching; the last status
    /// seen. Railway carries on with the deployment.
    Cancelled(String),
}

impl DeployVerdict {
    /// Whether the pipeline may go on.
    pub fn passed(&self) -> bool {
        matches!(self, DeployVerdict::Success | DeployVerdict::Sleeping)
    }

    pub fn describe(&self) -> String {
        match self {
            DeployVerdict::Success => "SUCCESS".into(),
            DeployVerdict::Sleeping => "SLEEPING (deployed, asleep until traffic comes)".into(),
            DeployVerdict::Failed(s) => s.clone(),
            DeployVerdict::NeedsApproval => {
                "NEEDS_APPROVAL (approve it in Railway, then run again)".into()
            }
            DeployVerdict::Skipped => "SKIPPED (Railway did not deploy it)".into(),
            DeployVerdict::TimedOut(s) => format!("timed out (last status {s})"),
            DeployVerdict::Cancelled(s) => format!(
                "not watched to the end: gantry was cancelled while it was {s}; Railway carries on with it"
            ),
        }
    }
}

/// The outcome a status means, or `None` while the deployment is on its way
/// (`QUEUED`, `WAITING`, `INITIALIZING`, `BUILDING`, `DEPLOYING`, `REMOVING`, ...).
pub fn classify(status: &str) -> Option<DeployVerdict> {
    match status {
        "SUCCESS" => Some(DeployVerdict::Success),
        "SLEEPING" => Some(DeployVerdict::Sleeping),
        "FAILED" | "CRASHED" | "REMOVED" => Some(DeployVerdict::Failed(status.to_string())),
        "NEEDS_APPROVAL" => Some(DeployVerdict::NeedsApproval),
        "SKIPPED" => Some(DeployVerdict::Skipped),
        _ => None,
    }
}

/// One deployment being watched.
#[derive(Debug, Clone)]
pub struct Watched {
    pub name: String,
    pub deployment_id: String,
    pub timeout: Duration,
    pub status: Option<String>,
    pub static_url: Option<String>,
    pub outcome: Option<DeployVerdict>,
}

impl Watched {
    pub fn new(name: &str, deployment_id: &str, timeout: Duration) -> Self {
        Watched {
            name: name.to_string(),
            deployment_id: deployment_id.to_string(),
            timeout,
            status: None,
            static_url: None,
            outcome: None,
        }
    }
}

/// Polls every deployment until all have an outcome; `on_status` hears
/// each status change as it happens.
pub async fn watch_all(
    client: &Client<'_>,
    watched: &mut [Watched],
    interval: Duration,
    on_status: &(dyn Fn(&Watched) + Sync),
) -> Result<(), RailwayError> {
    let started = Instant::now();
    loop {
        // A cancel stops the watching, not the deployments: they are
        // Railway's now, and each says the status it was last seen in.
        if crate::cancel::requested().is_some() {
            for w in watched.iter_mut().filter(|w| w.outcome.is_none()) {
                let last = w.status.clone().unwrap_or_else(|| "QUEUED".into());
                w.outcome = Some(DeployVerdict::Cancelled(last));
            }
            return Ok(());
        }
        for w in watched.iter_mut().filter(|w| w.outcome.is_none()) {
            let d: ops::DeploymentData = client
                .send(&ops::DEPLOYMENT, json!({ "id": w.deployment_id }))
                .await?;
            let d = d.deployment;
            if d.static_url.is_some() {
                w.static_url = d.static_url;
            }
            if w.status.as_deref() != Some(d.status.as_str()) {
                w.status = Some(d.status.clone());
                on_status(w);
            }
            w.outcome = classify(&d.status);
            if w.outcome.is_none() && started.elapsed() >= w.timeout {
                w.outcome = Some(DeployVerdict::TimedOut(d.status));
            }
        }
        if watched.iter().all(|w| w.outcome.is_some()) {
            return Ok(());
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = crate::cancel::cancelled() => {}
        }
    }
}

/// The last `limit` build and runtime log lines of a deployment.
pub async fn last_logs(
    client: &Client<'_>,
    deployment_id: &str,
    limit: usize,
) -> Result<(Vec<ops::LogLine>, Vec<ops::LogLine>), RailwayError> {
    let vars = json!({ "deploymentId": deployment_id, "limit": limit });
    let build: ops::BuildLogsData = client.send(&ops::BUILD_LOGS, vars.clone()).await?;
    let deploy: ops::DeploymentLogsData = client.send(&ops::DEPLOYMENT_LOGS, vars).await?;
    let tail = |mut v: Vec<ops::LogLine>| {
        let skip = v.len().saturating_sub(limit);
        v.drain(..skip);
        v
    };
    Ok((tail(build.build_logs), tail(deploy.deployment_logs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_of_the_schema_is_sorted() {
        for s in [
            "QUEUED",
            "WAITING",
            "INITIALIZING",
            "BUILDING",
            "DEPLOYING",
            "REMOVING",
        ] {
            assert_eq!(classify(s), None, "{s}");
        }
        assert_eq!(classify("SUCCESS"), Some(DeployVerdict::Success));
        assert!(classify("SLEEPING").unwrap().passed());
        for s in ["FAILED", "CRASHED", "REMOVED"] {
            assert_eq!(classify(s), Some(DeployVerdict::Failed(s.into())));
        }
        assert!(!classify("NEEDS_APPROVAL").unwrap().passed());
        assert!(!classify("SKIPPED").unwrap().passed());
    }
}
