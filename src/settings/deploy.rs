//! `[deploy.<name>]`: one deployment target per section. Each target names
//! its platform (`railway = { .. }`) and what it deploys.

use super::config::duration;
use super::deploy_railway::{RailwayMode, RailwayTarget};
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DeployConfig {
    /// Railway: `{ project, environment, service }`, each a name or an id.
    pub railway: Option<RailwayTarget>,
    /// The `[images.<name>]` whose pushed digest is deployed.
    pub image: Option<String>,
    /// Railway without an image: `redeploy` (the latest deployment again) or
    /// `latest-commit` (the newest commit of the connected repository).
    pub mode: Option<RailwayMode>,
    /// How long to wait for the deployment's verdict: `"10m"`; default 15 minutes.
    #[serde(default, deserialize_with = "duration")]
    pub timeout: Option<Duration>,
}
