//! The GraphQL operations gantry sends to Railway, and the shapes of their
//! answers. The documents mirror the ones Railway's own CLI sends for the
//! same steps (railwayapp/cli, `src/gql/`), asking only for what gantry uses.

use serde::Deserialize;

/// One operation document.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// The operation's name, also sent as `operationName`.
    pub name: &'static str,
    pub document: &'static str,
    /// Mutations are never resent after a reply that may mean "done".
    pub mutation: bool,
}

const fn query(name: &'static str, document: &'static str) -> Operation {
    Operation {
        name,
        document,
        mutation: false,
    }
}

const fn mutation(name: &'static str, document: &'static str) -> Operation {
    Operation {
        name,
        document,
        mutation: true,
    }
}

/// What a project token is for: its project and environment.
pub const PROJECT_TOKEN: Operation = query(
    "ProjectToken",
    "query ProjectToken { projectToken { projectId environmentId project { name } environment { name } } }",
);

/// The projects an account token sees (to find a project by name).
pub const PROJECTS: Operation = query(
    "Projects",
    "query Projects { projects { edges { node { id name } } } }",
);

/// A project's environments and services (to find them by name).
pub const PROJECT: Operation = query(
    "Project",
    "query Project($id: String!) { project(id: $id) { id name environments { edges { node { id name } } } services { edges { node { id name } } } } }",
);

/// A service in one environment: its source and latest deployment.
pub const SERVICE_INSTANCE: Operation = query(
    "ServiceInstance",
    "query ServiceInstance($environmentId: String!, $serviceId: String!) { serviceInstance(environmentId: $environmentId, serviceId: $serviceId) { source { image repo } latestDeployment { id status canRedeploy } } }",
);

/// A deployment's status and public URL.
pub const DEPLOYMENT: Operation = query(
    "Deployment",
    "query Deployment($id: String!) { deployment(id: $id) { id status staticUrl } }",
);

/// The last build log lines of a deployment.
pub const BUILD_LOGS: Operation = query(
    "BuildLogs",
    "query BuildLogs($deploymentId: String!, $limit: Int) { buildLogs(deploymentId: $deploymentId, limit: $limit) { message severity timestamp } }",
);

/// The last runtime log lines of a deployment.
pub const DEPLOYMENT_LOGS: Operation = query(
    "DeploymentLogs",
    "query DeploymentLogs($deploymentId: String!, $limit: Int) { deploymentLogs(deploymentId: $deploymentId, limit: $limit) { message severity timestamp } }",
);

/// Points the service instance's source at an image.
pub const SET_SOURCE_IMAGE: Operation = mutation(
    "ServiceInstanceSetImage",
    "mutation ServiceInstanceSetImage($environmentId: String!, $serviceId: String!, $image: String!) { serviceInstanceUpdate(environmentId: $environmentId, serviceId: $serviceId, input: { source: { image: $image } }) }",
);

/// Points a service instance at an image Railway pulls with credentials,
/// which the service keeps for later pulls (restarts, scaling).
pub const SET_SOURCE_IMAGE_WITH_CREDENTIALS: Operation = mutation(
    "ServiceInstanceSetImageWithCredentials",
    "mutation ServiceInstanceSetImageWithCredentials($environmentId: String!, $serviceId: String!, $image: String!, $credentials: RegistryCredentialsInput!) { serviceInstanceUpdate(environmentId: $environmentId, serviceId: $serviceId, input: { source: { image: $image }, registryCredentials: $credentials }) }",
);

/// Deploys the service instance as configured; answers the deployment's id.
pub const DEPLOY: Operation = mutation(
    "ServiceInstanceDeploy",
    "mutation ServiceInstanceDeploy($environmentId: String!, $serviceId: String!) { serviceInstanceDeployV2(environmentId: $environmentId, serviceId: $serviceId) }",
);

/// Deploys the newest commit of the connected branch; answers only `true`.
pub const DEPLOY_LATEST_COMMIT: Operation = mutation(
    "ServiceInstanceDeployLatestCommit",
    "mutation ServiceInstanceDeployLatestCommit($environmentId: String!, $serviceId: String!) { serviceInstanceDeploy(environmentId: $environmentId, serviceId: $serviceId, latestCommit: true) }",
);

/// Redeploys a deployment; answers the new deployment.
pub const REDEPLOY: Operation = mutation(
    "DeploymentRedeploy",
    "mutation DeploymentRedeploy($id: String!) { deploymentRedeploy(id: $id) { id status } }",
);

/// Every operation gantry can send (the schema test checks them all).
pub const ALL: &[Operation] = &[
    PROJECT_TOKEN,
    PROJECTS,
    PROJECT,
    SERVICE_INSTANCE,
    DEPLOYMENT,
    BUILD_LOGS,
    DEPLOYMENT_LOGS,
    SET_SOURCE_IMAGE,
    SET_SOURCE_IMAGE_WITH_CREDENTIALS,
    DEPLOY,
    DEPLOY_LATEST_COMMIT,
    REDEPLOY,
];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectTokenData {
    pub project_token: ProjectTokenInfo,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectTokenInfo {
    pub project_id: String,
    pub environment_id: String,
    pub project: Named,
    pub environment: Named,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Named {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Node {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct Connection {
    pub edges: Vec<Edge>,
}

#[derive(Debug, Deserialize)]
pub struct Edge {
    pub node: Node,
}

impl Connection {
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.edges.iter().map(|e| &e.node)
    }
}

#[derive(Debug, Deserialize)]
pub struct ProjectsData {
    pub projects: Connection,
}

#[derive(Debug, Deserialize)]
pub struct ProjectData {
    pub project: ProjectInfo,
}

#[derive(Debug, Deserialize)]
pub struct ProjectInfo {
    pub id: String,
    pub name: String,
    pub environments: Connection,
    pub services: Connection,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceInstanceData {
    pub service_instance: ServiceInstance,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceInstance {
    pub source: Option<ServiceSource>,
    pub latest_deployment: Option<LatestDeployment>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServiceSource {
    pub image: Option<String>,
    pub repo: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LatestDeployment {
    pub id: String,
    pub status: String,
    pub can_redeploy: bool,
}

#[derive(Debug, Deserialize)]
pub struct DeploymentData {
    pub deployment: Deployment,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: String,
    pub status: String,
    pub static_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildLogsData {
    pub build_logs: Vec<LogLine>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentLogsData {
    pub deployment_logs: Vec<LogLine>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogLine {
    pub message: String,
    pub severity: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployData {
    pub service_instance_deploy_v2: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedeployData {
    pub deployment_redeploy: RedeployedDeployment,
}

#[derive(Debug, Deserialize)]
pub struct RedeployedDeployment {
    pub id: String,
}
