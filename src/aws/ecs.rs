//! Amazon ECS: services, their deployments and tasks, and task definitions
//! (as raw JSON, see [`raw`]).

pub mod follow_up;
pub mod lifecycle;
mod raw;
pub mod rollout;
pub mod strategy;
pub mod taskdef;
pub mod watch;

use super::error;
use crate::error::{Error, Result};
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, ContainerDefinition,
    ContainerOverride, DeploymentLifecycleHookAction, DesiredStatus, KeyValuePair, LaunchType,
    NetworkConfiguration, ServiceDeploymentStatus, SortOrder, StopServiceDeploymentStopType, Tag,
    TaskDefinitionStatus, TaskOverride,
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
    /// `deploymentConfiguration.strategy`: `ROLLING` (also when absent),
    /// `BLUE_GREEN`, `LINEAR` or `CANARY`.
    pub strategy: String,
    /// `bakeTimeInMinutes`, for the strategies that bake.
    pub bake_minutes: Option<i32>,
    /// The newest service deployment's ARN.
    pub current_service_deployment: Option<String>,
    pub deployment_configuration: Option<aws_sdk_ecs::types::DeploymentConfiguration>,
    /// Whether a load balancer has an alternate target group (what ECS
    /// needs to shift traffic in BLUE_GREEN, LINEAR and CANARY deployments).
    pub alternate_target_group: bool,
}

impl Service {
    /// Whether ECS's own deployment lifecycle decides (not a rolling update).
    pub fn has_lifecycle(&self) -> bool {
        self.strategy != "ROLLING"
    }
}

/// How a one-off task differs from the service's own tasks; empty means
/// "as the service runs them".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskOptions {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: Option<bool>,
    pub launch_type: Option<String>,
    pub capacity_provider: Option<String>,
    pub environment: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
}

impl TaskOptions {
    /// The service's network configuration with these overrides.
    fn network(&self, service: &Service) -> Result<Option<NetworkConfiguration>> {
        if self.subnets.is_empty()
            && self.security_groups.is_empty()
            && self.assign_public_ip.is_none()
        {
            return Ok(service.network.clone());
        }
        let base = service
            .network
            .as_ref()
            .and_then(|n| n.awsvpc_configuration());
        let subnets = if self.subnets.is_empty() {
            base.map(|b| b.subnets().to_vec()).unwrap_or_default()
        } else {
            self.subnets.clone()
        };
        let groups = if self.security_groups.is_empty() {
            base.map(|b| b.security_groups().to_vec())
        } else {
            Some(self.security_groups.clone())
        };
        let public_ip = match self.assign_public_ip {
            Some(true) => Some(AssignPublicIp::Enabled),
            Some(false) => Some(AssignPublicIp::Disabled),
            None => base.and_then(|b| b.assign_public_ip().cloned()),
        };
        let vpc = AwsVpcConfiguration::builder()
            .set_subnets(Some(subnets))
            .set_security_groups(groups)
            .set_assign_public_ip(public_ip)
            .build()
            .map_err(|e| Error::usage(format!("run-task network: {e}"), None))?;
        Ok(Some(
            NetworkConfiguration::builder()
                .awsvpc_configuration(vpc)
                .build(),
        ))
    }

    /// The launch type or capacity provider strategy: the override, else the service's.
    fn placement(
        &self,
        service: &Service,
    ) -> Result<(
        Option<LaunchType>,
        Option<Vec<CapacityProviderStrategyItem>>,
    )> {
        if let Some(launch) = &self.launch_type {
            return Ok((Some(LaunchType::from(launch.as_str())), None));
        }
        if let Some(provider) = &self.capacity_provider {
            let item = CapacityProviderStrategyItem::builder()
                .capacity_provider(provider)
                .weight(1)
                .build()
                .map_err(|e| Error::usage(format!("run-task capacity-provider: {e}"), None))?;
            return Ok((None, Some(vec![item])));
        }
        // A service on capacity providers has no launch type, and ECS
        // refuses a task given both.
        Ok(if service.capacity_providers.is_empty() {
            (service.launch_type.clone(), None)
        } else {
            (None, Some(service.capacity_providers.clone()))
        })
    }
}

/// What `UpdateService` started.
#[derive(Debug, Clone, Default)]
pub struct Started {
    /// The new (PRIMARY) deployment's id.
    pub deployment_id: String,
    /// The service deployment, when ECS gave one.
    pub service_deployment: Option<String>,
}

/// A service deployment (`DescribeServiceDeployments`): how ECS's own
/// deployment lifecycle stands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceDeployment {
    pub arn: String,
    /// `PENDING`, `IN_PROGRESS`, `SUCCESSFUL`, `STOPPED`, `STOP_REQUESTED`,
    /// `ROLLBACK_REQUESTED`, `ROLLBACK_IN_PROGRESS`, `ROLLBACK_SUCCESSFUL`, `ROLLBACK_FAILED`.
    pub status: String,
    pub reason: Option<String>,
    pub stage: Option<String>,
    /// The new revision's requested share of production and test traffic, in percent.
    pub production_weight: Option<f64>,
    pub test_weight: Option<f64>,
    pub hooks: Vec<Hook>,
    /// Why ECS rolled back, once it does.
    pub rollback: Option<String>,
    pub triggered_alarms: Vec<String>,
    /// The circuit breaker's status (`TRIGGERED` when it rolled back).
    pub circuit_breaker: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hook {
    pub id: String,
    /// `AWS_LAMBDA` or `PAUSE`.
    pub target_type: String,
    /// `AWAITING_ACTION`, `IN_PROGRESS`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`.
    pub status: String,
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
            strategy: s
                .deployment_configuration()
                .and_then(|c| c.strategy())
                .map_or_else(|| "ROLLING".to_string(), |k| k.as_str().to_string()),
            bake_minutes: s
                .deployment_configuration()
                .and_then(aws_sdk_ecs::types::DeploymentConfiguration::bake_time_in_minutes),
            current_service_deployment: s.current_service_deployment().map(str::to_string),
            deployment_configuration: s.deployment_configuration().cloned(),
            alternate_target_group: s.load_balancers().iter().any(|l| {
                l.advanced_configuration()
                    .and_then(|a| a.alternate_target_group_arn())
                    .is_some()
            }),
        })
    }

    /// One service deployment, as ECS reports it now.
    pub async fn service_deployment(&self, arn: &str) -> Result<ServiceDeployment> {
        let out = self
            .client
            .describe_service_deployments()
            .service_deployment_arns(arn)
            .send()
            .await
            .map_err(|e| {
                error(
                    SYSTEM,
                    &format!("DescribeServiceDeployments {arn} failed"),
                    e,
                )
            })?;
        let Some(d) = out.service_deployments().first() else {
            let reason = out
                .failures()
                .first()
                .and_then(|f| f.reason())
                .unwrap_or("MISSING");
            return Err(Error::usage(
                format!("ECS service deployment {arn}: {reason}"),
                Some("give the ARN of a service deployment of this service (`aws ecs list-service-deployments`)".into()),
            ));
        };
        let target = d.target_service_revision();
        Ok(ServiceDeployment {
            arn: d.service_deployment_arn().unwrap_or(arn).into(),
            status: d
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            reason: d.status_reason().map(str::to_string),
            stage: d.lifecycle_stage().map(|s| s.as_str().to_string()),
            production_weight: target.and_then(
                aws_sdk_ecs::types::ServiceRevisionSummary::requested_production_traffic_weight,
            ),
            test_weight: target.and_then(
                aws_sdk_ecs::types::ServiceRevisionSummary::requested_test_traffic_weight,
            ),
            hooks: d
                .lifecycle_hook_details()
                .iter()
                .map(|h| Hook {
                    id: h.hook_id().unwrap_or_default().into(),
                    target_type: h
                        .target_type()
                        .map(|t| t.as_str().to_string())
                        .unwrap_or_default(),
                    status: h
                        .status()
                        .map(|t| t.as_str().to_string())
                        .unwrap_or_default(),
                })
                .collect(),
            rollback: d
                .rollback()
                .map(|r| r.reason().unwrap_or("no reason given").to_string()),
            triggered_alarms: d
                .alarms()
                .map(|a| a.triggered_alarm_names().to_vec())
                .unwrap_or_default(),
            circuit_breaker: d
                .deployment_circuit_breaker()
                .and_then(|c| c.status())
                .map(|s| s.as_str().to_string()),
        })
    }

    /// The service's service deployments that are not finished, newest first.
    pub async fn running_service_deployments(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Vec<String>> {
        let out = self
            .client
            .list_service_deployments()
            .cluster(cluster)
            .service(service)
            .status(ServiceDeploymentStatus::Pending)
            .status(ServiceDeploymentStatus::InProgress)
            .send()
            .await
            .map_err(|e| {
                error(
                    SYSTEM,
                    &format!("ListServiceDeployments {cluster}/{service} failed"),
                    e,
                )
            })?;
        let mut briefs: Vec<_> = out.service_deployments().iter().collect();
        briefs.sort_by_key(|b| {
            std::cmp::Reverse(b.created_at().map(|t| (t.secs(), t.subsec_nanos())))
        });
        Ok(briefs
            .into_iter()
            .filter_map(|b| b.service_deployment_arn().map(str::to_string))
            .collect())
    }

    /// Answers a PAUSE hook: go on, or roll back.
    pub async fn continue_deployment(&self, arn: &str, hook: &str, rollback: bool) -> Result<()> {
        self.client
            .continue_service_deployment()
            .service_deployment_arn(arn)
            .hook_id(hook)
            .action(if rollback {
                DeploymentLifecycleHookAction::Rollback
            } else {
                DeploymentLifecycleHookAction::Continue
            })
            .send()
            .await
            .map_err(|e| {
                error(
                    SYSTEM,
                    &format!("ContinueServiceDeployment {arn} failed"),
                    e,
                )
            })?;
        Ok(())
    }

    /// Stops a service deployment, rolling it back to the revision before.
    pub async fn stop_deployment(&self, arn: &str) -> Result<()> {
        self.client
            .stop_service_deployment()
            .service_deployment_arn(arn)
            .stop_type(StopServiceDeploymentStopType::Rollback)
            .send()
            .await
            .map_err(|e| error(SYSTEM, &format!("StopServiceDeployment {arn} failed"), e))?;
        Ok(())
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

    /// Points the service at `task_definition`; says what deployment started.
    pub async fn update_service(
        &self,
        cluster: &str,
        service: &str,
        task_definition: &str,
        desired: Option<i32>,
        configuration: Option<aws_sdk_ecs::types::DeploymentConfiguration>,
    ) -> Result<Started> {
        let out = self
            .client
            .update_service()
            .cluster(cluster)
            .service(service)
            .task_definition(task_definition)
            .force_new_deployment(true)
            .set_desired_count(desired)
            .set_deployment_configuration(configuration)
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
        Ok(Started {
            deployment_id: primary.unwrap_or_default(),
            service_deployment: out
                .service()
                .and_then(|s| s.current_service_deployment())
                .map(str::to_string),
        })
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
        options: &TaskOptions,
    ) -> Result<String> {
        let environment: Vec<KeyValuePair> = options
            .environment
            .iter()
            .map(|(k, v)| KeyValuePair::builder().name(k).value(v).build())
            .collect();
        let overrides = TaskOverride::builder()
            .container_overrides(
                ContainerOverride::builder()
                    .name(container)
                    .set_command(Some(command.to_vec()))
                    .set_environment((!environment.is_empty()).then_some(environment))
                    .build(),
            )
            .build();
        let tags: Vec<Tag> = options
            .tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        let (launch_type, providers) = options.placement(service)?;
        let out = self
            .client
            .run_task()
            .cluster(cluster)
            .task_definition(task_definition)
            .set_launch_type(launch_type)
            .set_capacity_provider_strategy(providers)
            .set_network_configuration(options.network(service)?)
            .overrides(overrides)
            .set_tags((!tags.is_empty()).then_some(tags))
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
