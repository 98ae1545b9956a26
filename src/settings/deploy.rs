//! `[deploy.<name>]`: where one service is deployed. Each target (ECS, ...)
//! brings its own keys; a section names exactly one target.

use super::deploy_ecs::EcsTarget;
use indexmap::IndexMap;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DeployConfig {
    /// `ecs = { cluster, service, task-definition }`: an Amazon ECS service.
    pub ecs: Option<EcsTarget>,
    /// Container name → image name of `[images.*]`: each container runs the
    /// digest `gantry push` pushed for that image.
    #[serde(default)]
    pub containers: IndexMap<String, String>,
}
