//! From the names or ids in gantry.toml to Railway's ids, with read-only
//! queries only (a dry run goes this far).

use super::client::Token;
use super::client::{Client, RailwayError};
use super::ops::{self, Node};
use serde::Deserialize;
use serde_json::json;

/// `railway = { project, environment, service }`: names or ids.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RailwayTarget {
    /// The project's name or id; a project token (`RAILWAY_TOKEN`) implies it.
    pub project: Option<String>,
    /// The environment's name or id; a project token implies it.
    pub environment: Option<String>,
    /// The service's name or id.
    pub service: String,
}

/// A service instance (a service in one environment) and its current state.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub project_id: String,
    pub project: String,
    pub environment_id: String,
    pub environment: String,
    pub service_id: String,
    pub service: String,
    pub instance: ops::ServiceInstance,
}

/// Why a target could not be resolved.
#[derive(Debug)]
pub enum ResolveError {
    /// gantry.toml names something that is not there: fix the configuration.
    NotFound(String, String),
    Railway(RailwayError),
}

impl From<RailwayError> for ResolveError {
    fn from(e: RailwayError) -> Self {
        ResolveError::Railway(e)
    }
}

/// A name or an id matches a node.
fn find<'n>(nodes: impl Iterator<Item = &'n Node>, wanted: &str) -> Option<&'n Node> {
    let nodes: Vec<&Node> = nodes.collect();
    nodes
        .iter()
        .find(|n| n.id == wanted)
        .or_else(|| nodes.iter().find(|n| n.name == wanted))
        .copied()
}

fn names<'n>(nodes: impl Iterator<Item = &'n Node>) -> String {
    let all: Vec<&str> = nodes.map(|n| n.name.as_str()).collect();
    if all.is_empty() {
        "none".into()
    } else {
        all.join(", ")
    }
}

pub async fn resolve(
    client: &Client<'_>,
    token: &Token,
    target: &RailwayTarget,
) -> Result<Resolved, ResolveError> {
    // A project token is for one project and environment: it says which.
    let (project_id, token_env) = match token {
        Token::Project(_) => {
            let t: ops::ProjectTokenData = client.send(&ops::PROJECT_TOKEN, json!({})).await?;
            let t = t.project_token;
            for (key, wanted, id, name) in [
                ("project", &target.project, &t.project_id, &t.project.name),
                (
                    "environment",
                    &target.environment,
                    &t.environment_id,
                    &t.environment.name,
                ),
            ] {
                if let Some(wanted) = wanted
                    && wanted != id
                    && wanted != name
                {
                    return Err(ResolveError::NotFound(
                        format!(
                            "RAILWAY_TOKEN is a project token for {key} `{name}`, not `{wanted}`"
                        ),
                        format!(
                            "use the project token of `{wanted}`, or change `{key}` (or leave it out: the token implies it)"
                        ),
                    ));
                }
            }
            (t.project_id, Some(t.environment_id))
        }
        Token::Account(_) => {
            let wanted = target.project.as_deref().unwrap_or_default();
            let projects: ops::ProjectsData = client.send(&ops::PROJECTS, json!({})).await?;
            match find(projects.projects.nodes(), wanted) {
                Some(p) => (p.id.clone(), None),
                // Team projects may not be listed: an id is looked up directly.
                None => (wanted.to_string(), None),
            }
        }
    };
    let project: ops::ProjectData = match client
        .send(&ops::PROJECT, json!({ "id": project_id }))
        .await
    {
        Ok(p) => p,
        Err(RailwayError::Api(m)) => {
            return Err(ResolveError::NotFound(
                format!("Railway project `{}` not found ({m})", target.project.as_deref().unwrap_or(&project_id)),
                "check `project` under `railway = { .. }` (a name the token can see, or the project's id)".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let project = project.project;
    let environment = match (&token_env, &target.environment) {
        (Some(id), _) => find(project.environments.nodes(), id),
        (None, Some(wanted)) => find(project.environments.nodes(), wanted),
        (None, None) => None,
    };
    let Some(environment) = environment.cloned() else {
        return Err(ResolveError::NotFound(
            format!(
                "project `{}` has no environment `{}`",
                project.name,
                target.environment.as_deref().unwrap_or_default()
            ),
            format!("environments: {}", names(project.environments.nodes())),
        ));
    };
    let Some(service) = find(project.services.nodes(), &target.service).cloned() else {
        return Err(ResolveError::NotFound(
            format!(
                "project `{}` has no service `{}`",
                project.name, target.service
            ),
            format!("services: {}", names(project.services.nodes())),
        ));
    };
    let instance: ops::ServiceInstanceData = client
        .send(
            &ops::SERVICE_INSTANCE,
            json!({ "environmentId": environment.id, "serviceId": service.id }),
        )
        .await?;
    Ok(Resolved {
        project_id: project.id,
        project: project.name,
        environment_id: environment.id,
        environment: environment.name,
        service_id: service.id,
        service: service.name,
        instance: instance.service_instance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_win_over_names() {
        let nodes = [
            Node {
                id: "a1".into(),
                name: "api".into(),
            },
            Node {
                id: "api".into(),
                name: "worker".into(),
            },
        ];
        assert_eq!(find(nodes.iter(), "api").unwrap().name, "worker");
        assert_eq!(find(nodes.iter(), "a1").unwrap().name, "api");
        assert!(find(nodes.iter(), "nope").is_none());
        assert_eq!(names(nodes.iter()), "api, worker");
    }
}
