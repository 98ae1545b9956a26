//! Amazon ECS: services, their deployments and tasks, and task definitions
//! (as raw JSON, see [`raw`]).

mod raw;
pub mod rollout;
pub mod taskdef;
pub mod watch;

use super::error;
use crate::error::{Error, Result};
use aws_sdk_ecs::types::{
    CapacityProviderStrategyItem, ContainerDefinition, ContainerOverride, DesiredStatus,
    LaunchType, NetworkConfiguration, SortOrder, TaskDefinitionStatus, TaskOverride,
};
use serde_json::Value;

const SYSTEM: &str = "AWS ECS";

pub struct Ecs {
    client: aws_sdk_ecs::Client,
    pub region: String,
}

/// A service as gantry needs it.
#[derive(Debug, Clone, Default)]
pub struct Service {
    pub arn: String,
    pub task_definition: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub deployments: Vec<Deployment>,
    /// Newest first, as ECS lists them.
    pub events: Vec<Event>,
    pub launch_type: Option<LaunchType>,
    pub capacity_providers: Vec<CapacityProviderStrategyItem>,
    pub network: Option<NetworkConfiguration>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deployment {
    pub id: String,
    /// `PRIMARY`, `ACTIVE` or `INACTIVE`.
    pub status: String,
    pub task_definition: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub failed_tasks: i32,
    /// `IN_PROGRESS`, `COMPLETED`, `FAILED`; absent without the ECS deployment controller's rollout tracking.
    pub rollout_state: Option<String>,
    pub rollout_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Task {
    pub arn: String,
    pub task_definition: String,
    pub last_status: String,
    pub stopped_reason: Option<String>,
    pub stop_code: Option<String>,
    pub containers: Vec<ContainerState>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerState {
    pub name: String,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
}

impl Task {
    /// One line: why it stopped and how each container ended.
    pub fn explain(&self) -> String {
        let mut out = format!(
            "task {} stopped: {}",
            self.arn.rsplit('/').next().unwrap_or(&self.arn),
            self.stopped_reason.as_deref().unwrap_or("no reason given")
        );
        for c in &self.containers {
            match (c.exit_code, &c.reason) {
                (Some(code), Some(r)) => out.push_str(&format!("; {} exited {code} ({r})", c.name)),
                (Some(code), None) => out.push_str(&format!("; {} exited {code}", c.name)),
                (None, Some(r)) => out.push_str(&format!("; {}: {r}", c.name)),
                (None, None) => {}
            }
        }
        out
    }
}

/// Whether an error is ECS asking us to slow down (after the SDK's own retries).
pub fn is_throttling(e: &Error) -> bool {
    let text = e.to_string();
    text.contains("Throttling") || text.contains("Rate exceeded") || text.contains("throttl")
}

/// The AWS console page of a service's deployments.
pub fn console_url(region: &str, cluster: &str, service: &str) -> String {
    let name = |s: &str| s.rsplit('/').next().unwrap_or(s).to_string();
    format!(
        "https://{region}.console.aws.amazon.com/ecs/v2/clusters/{}/services/{}/deployments?region={region}",
        name(cluster),
        name(service)
    )
}

impl Ecs {
    pub async fn connect(region: Option<String>) -> Ecs {
        let config = super::config(region).await;
        Ecs {
            region: config
                .region()
                .map_or_else(|| "us-east-1".into(), std::string::ToString::to_string),
            client: aws_sdk_ecs::Client::new(&config),
        }
    }

    pub async fn service(&self, cluster: &str, service: &str) -> Result<Service> {
        let out = self
            .client
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .map_err(|e| {
                error(
                    SYSTEM,
                    &format!("DescribeServices {cluster}/{service} failed"),
                    e,
                )
            })?;
        let Some(s) = out.services().first() else {
            let reason = out
                .failures()
                .first()
                .and_then(|f| f.reason())
                .unwrap_or("MISSING");
            return Err(Error::usage(
                format!("ECS service `{service}` in cluster `{cluster}`: {reason}"),
                Some("check `cluster` and `service` under [deploy.*] ecs, and the region".into()),
            ));
        };
        Ok(Service {
            arn: s.service_arn().unwrap_or_default().into(),
            task_definition: s.task_definition().unwrap_or_default().into(),
            desired: s.desired_count(),
            running: s.running_count(),
            pending: s.pending_count(),
            deployments: s
                .deployments()
                .iter()
                .map(|d| Deployment {
                    id: d.id().unwrap_or_default().into(),
                    status: d.status().unwrap_or_default().into(),
                    task_definition: d.task_definition().unwrap_or_default().into(),
                    desired: d.desired_count(),
                    running: d.running_count(),
                    pending: d.pending_count(),
                    failed_tasks: d.failed_tasks(),
                    rollout_state: d.rollout_state().map(|r| r.as_str().to_string()),
                    rollout_reason: d.rollout_state_reason().map(str::to_string),
                })
                .collect(),
            events: s
                .events()
                .iter()
                .map(|e| Event {
                    id: e.id().unwrap_or_default().into(),
                    message: e.message().unwrap_or_default().into(),
                })
                .collect(),
            launch_type: s.launch_type().cloned(),
            capacity_providers: s.capacity_provider_strategy().to_vec(),
            network: s.network_configuration().cloned(),
        })
    }

    /// A task definition as the JSON ECS sent (every field, known to the SDK or not).
    pub async fn task_definition(&self, arn: &str) -> Result<Value> {
        let capture = raw::CaptureBody::default();
        self.client
            .describe_task_definition()
            .task_definition(arn)
            .customize()
            .interceptor(capture.clone())
            .send()
            .await
            .map_err(|e| error(SYSTEM, &format!("DescribeTaskDefinition {arn} failed"), e))?;
        let body = capture.take().unwrap_or_default();
        let mut value: Value = serde_json::from_slice(&body).map_err(|e| {
            Error::external(
                SYSTEM,
                format!("DescribeTaskDefinition {arn}: unreadable answer: {e}"),
            )
        })?;
        Ok(value
            .get_mut("taskDefinition")
            .map_or(Value::Null, Value::take))
    }

    /// Registers the JSON as a new revision; returns its ARN.
    pub async fn register(&self, td: &Value) -> Result<String> {
        let body = serde_json::to_vec(td).unwrap_or_default();
        let family = taskdef::family(td);
        // The builder's own (minimal) input is replaced whole by `body`.
        let out = self
            .client
            .register_task_definition()
            .family(family)
            .container_definitions(ContainerDefinition::builder().name("placeholder").build())
            .customize()
            .interceptor(raw::ReplaceBody(body))
            .send()
            .await
            .map_err(|e| {
                error(
                    SYSTEM,
                    &format!("RegisterTaskDefinition {family} failed"),
                    e,
                )
            })?;
        out.task_definition()
            .and_then(|t| t.task_definition_arn())
            .map(str::to_string)
            .ok_or_else(|| Error::external(SYSTEM, "RegisterTaskDefinition returned no ARN"))
    }

    /// Points the service at `task_definition`; returns the new deployment's id.
    pub async fn update_service(
        &self,
        cluster: &str,
        service: &str,
        task_definition: &str,
        desired: Option<i32>,
    ) -> Result<String> {
        let out = self
            .client
            .update_service()
            .cluster(cluster)
            .service(service)
            .task_definition(task_definition)
            .force_new_deployment(true)
            .set_desired_count(desired)
            .send()
            .await
            .map_err(|e| {
                error(
                    SYSTEM,
                    &format!("UpdateService {cluster}/{service} failed"),
                    e,
                )
            })?;
        let primary = out
            .service()
            .map(aws_sdk_ecs::types::Service::deployments)
            .unwrap_or_default()
            .iter()
            .find(|d| d.status() == Some("PRIMARY"))
            .and_then(|d| d.id().map(str::to_string));
        Ok(primary.unwrap_or_default())
    }

    /// The service's stopped tasks (ECS keeps them for about an hour).
    pub async fn stopped_tasks(&self, cluster: &str, service: &str) -> Result<Vec<String>> {
        let out = self
            .client
            .list_tasks()
            .cluster(cluster)
            .service_name(service)
            .desired_status(DesiredStatus::Stopped)
            .send()
            .await
            .map_err(|e| error(SYSTEM, &format!("ListTasks {cluster}/{service} failed"), e))?;
        Ok(out.task_arns().to_vec())
    }

    pub async fn tasks(&self, cluster: &str, arns: &[String]) -> Result<Vec<Task>> {
        if arns.is_empty() {
            return Ok(Vec::new());
        }
        let mut all = Vec::new();
        // DescribeTasks takes at most 100 tasks a call.
        for chunk in arns.chunks(100) {
            let out = self
                .client
                .describe_tasks()
                .cluster(cluster)
                .set_tasks(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| error(SYSTEM, "DescribeTasks failed", e))?;
            all.extend(out.tasks().iter().map(|t| {
                Task {
                    arn: t.task_arn().unwrap_or_default().into(),
                    task_definition: t.task_definition_arn().unwrap_or_default().into(),
                    last_status: t.last_status().unwrap_or_default().into(),
                    stopped_reason: t.stopped_reason().map(str::to_string),
                    stop_code: t.stop_code().map(|c| c.as_str().to_string()),
                    containers: t
                        .containers()
                        .iter()
                        .map(|c| ContainerState {
                            name: c.name().unwrap_or_default().into(),
                            exit_code: c.exit_code(),
                            reason: c.reason().map(str::to_string),
                        })
                        .collect(),
                }
            }));
        }
        Ok(all)
    }

    /// Starts a one-off task the way the service runs its tasks (launch type
    /// or capacity providers, network configuration); returns its ARN.
    pub async fn run_task(
        &self,
        cluster: &str,
        service: &Service,
        task_definition: &str,
        container: &str,
        command: &[String],
    ) -> Result<String> {
        let overrides = TaskOverride::builder()
            .container_overrides(
                ContainerOverride::builder()
                    .name(container)
                    .set_command(Some(command.to_vec()))
                    .build(),
            )
            .build();
        let providers =
            (!service.capacity_providers.is_empty()).then(|| service.capacity_providers.clone());
        let out = self
            .client
            .run_task()
            .cluster(cluster)
            .task_definition(task_definition)
            .set_launch_type(if providers.is_some() {
                None
            } else {
                service.launch_type.clone()
            })
            .set_capacity_provider_strategy(providers)
            .set_network_configuration(service.network.clone())
            .overrides(overrides)
            .started_by("gantry")
            .send()
            .await
            .map_err(|e| error(SYSTEM, &format!("RunTask {task_definition} failed"), e))?;
        if let Some(f) = out.failures().first() {
            return Err(Error::external(
                SYSTEM,
                format!(
                    "RunTask {task_definition}: {} {}",
                    f.reason().unwrap_or_default(),
                    f.detail().unwrap_or_default()
                ),
            ));
        }
        out.tasks()
            .first()
            .and_then(|t| t.task_arn())
            .map(str::to_string)
            .ok_or_else(|| Error::external(SYSTEM, "RunTask started no task"))
    }

    pub async fn deregister(&self, arn: &str) -> Result<()> {
        self.client
            .deregister_task_definition()
            .task_definition(arn)
            .send()
            .await
            .map_err(|e| error(SYSTEM, &format!("DeregisterTaskDefinition {arn} failed"), e))?;
        Ok(())
    }

    /// Active revisions of `family`, newest first.
    pub async fn active_revisions(&self, family: &str) -> Result<Vec<String>> {
        let mut arns = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .client
                .list_task_definitions()
                .family_prefix(family)
                .status(TaskDefinitionStatus::Active)
                .sort(SortOrder::Desc)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| error(SYSTEM, &format!("ListTaskDefinitions {family} failed"), e))?;
            // `familyPrefix` is a prefix: `api` also lists `api-worker`.
            arns.extend(
                out.task_definition_arns()
                    .iter()
                    .filter(|a| family_of(a) == family)
                    .cloned(),
            );
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        Ok(arns)
    }
}

/// `arn:aws:ecs:r:1:task-definition/api:7` → `api`.
pub fn family_of(arn: &str) -> &str {
    let tail = arn.rsplit('/').next().unwrap_or(arn);
    tail.rsplit_once(':').map_or(tail, |(f, _)| f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_console_urls() {
        assert_eq!(
            family_of("arn:aws:ecs:us-east-1:1:task-definition/api:7"),
            "api"
        );
        assert_eq!(family_of("api-worker:3"), "api-worker");
        assert_eq!(
            console_url("eu-west-1", "arn:aws:ecs:eu-west-1:1:cluster/prod", "api"),
            "https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/api/deployments?region=eu-west-1"
        );
    }

    #[test]
    fn stopped_tasks_explain_themselves() {
        let t = Task {
            arn: "arn:aws:ecs:r:1:task/prod/abc".into(),
            stopped_reason: Some("Essential container in task exited".into()),
            containers: vec![ContainerState {
                name: "api".into(),
                exit_code: Some(1),
                reason: None,
            }],
            ..Task::default()
        };
        assert_eq!(
            t.explain(),
            "task abc stopped: Essential container in task exited; api exited 1"
        );
    }
}
