//! `[deploy.<name>]`: where one service is deployed. Each section names its
//! platform (`ecs = { .. }` or `railway = { .. }`) and what it deploys; the
//! platform's own keys sit with it.

use super::config::RegistryConfig;
use super::deploy_ecs::EcsTarget;
use super::deploy_railway::{RailwayMode, RailwayTarget};
use super::values::duration;
use indexmap::IndexMap;
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DeployConfig {
    /// `ecs = { cluster, service, task-definition }`: an Amazon ECS service.
    pub ecs: Option<EcsTarget>,
    /// ECS: container name → image name of `[images.*]`: each container runs
    /// the digest `gantry push` pushed for that image.
    #[serde(default)]
    pub containers: IndexMap<String, String>,
    /// Railway: `{ project, environment, service }`, each a name or an id.
    pub railway: Option<RailwayTarget>,
    /// Railway: the `[images.<name>]` whose pushed digest is deployed.
    pub image: Option<String>,
    /// Railway without an image: `redeploy` (the latest deployment again) or
    /// `latest-commit` (the newest commit of the connected repository).
    pub mode: Option<RailwayMode>,
    /// Railway: how long to wait for the deployment's verdict: `"10m"`; default 15 minutes.
    #[serde(default, deserialize_with = "duration")]
    pub timeout: Option<Duration>,
    /// Railway with `image`: `{ username-env, password-env }`, the variables
    /// holding what Railway pulls a private image with (kept by the service).
    pub pull_credentials: Option<RegistryConfig>,
}
