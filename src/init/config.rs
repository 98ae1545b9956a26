//! The `gantry.toml` `gantry init` proposes: gates for the Python, Node and
//! Rust projects it found, an image per Dockerfile, the migrations, a deploy
//! per task definition (else per image) and an SDK per package.
//!
//! What init cannot learn from the repository (the ECS cluster, a service
//! living only in AWS or Railway) comes from its flags ([`Given`]), else
//! stands as a placeholder (`"<cluster>"`) that loading the file refuses,
//! naming each one (`settings::placeholders`).

use super::detect::{Facts, sanitize};
use super::{RenderError, Template, render_source};
use crate::step::Step;
use serde::Serialize;

#[derive(Debug, Serialize)]
struct Vars {
    name: String,
    steps: Vec<&'static str>,
    gates: Vec<Gate>,
    images: Vec<Image>,
    migrate: Option<String>,
    deploys: Vec<Deploy>,
    publish: Vec<Publish>,
}

#[derive(Debug, Serialize)]
struct Gate {
    name: String,
    dir: String,
    run: String,
    junit: Option<&'static str>,
    matcher: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct Image {
    name: String,
    context: String,
    dockerfile: Option<String>,
    repository: String,
    registry: &'static str,
}

#[derive(Debug, Serialize)]
struct Deploy {
    name: String,
    containers: Vec<(String, String)>,
    secrets: Vec<String>,
    ecs: Option<Ecs>,
    railway: Option<Railway>,
}

#[derive(Debug, Serialize)]
struct Ecs {
    cluster: String,
    service: String,
    /// None: the service's current task definition.
    task_definition: Option<String>,
}

#[derive(Debug, Serialize)]
struct Railway {
    /// None: implied by the project token (`RAILWAY_TOKEN`).
    project: Option<String>,
    service: String,
    image: String,
}

/// Facts given on init's command line.
#[derive(Debug, Default, Clone)]
pub struct Given {
    pub cluster: Option<String>,
    /// The service of the one deploy init writes.
    pub service: Option<String>,
    /// The ECS container running the image, without a task definition file.
    pub container: Option<String>,
    pub railway_project: Option<String>,
}

const CLUSTER: &str = "<cluster>";
const SERVICE: &str = "<service>";
const CONTAINER: &str = "<container>";

#[derive(Debug, Serialize)]
struct Publish {
    name: String,
    kind: &'static str,
    path: String,
}

/// Renders the proposed `gantry.toml` for the chosen templates.
pub fn render(facts: &Facts, templates: &[Template], given: &Given) -> Result<String, RenderError> {
    let ecs = templates.iter().any(|t| {
        matches!(
            t,
            Template::EcsEc2
                | Template::EcsServices
                | Template::EcsServicesMatrix
                | Template::Fargate
                | Template::EcsFargateSecrets
        )
    });
    let railway = templates.contains(&Template::RailwaySupabase);
    let deploys_anything = templates.iter().any(|t| t.deploys()) || templates.is_empty();

    let gates = gates(facts);
    let images: Vec<Image> = if deploys_anything || templates.contains(&Template::PullRequest) {
        facts
            .dockerfiles
            .iter()
            .map(|d| Image {
                name: d.image.clone(),
                context: d.context.clone(),
                dockerfile: d.dockerfile.clone(),
                // ECR: one account holds many repositories, grouped by ours.
                // GHCR: settings put a bare name under the repository's owner.
                repository: if ecs || !railway {
                    format!("{}/{}", facts.name, d.image)
                } else {
                    d.image.clone()
                },
                registry: if ecs || !railway { "ecr" } else { "ghcr.io" },
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut deploys = Vec::new();
    let cluster = given.cluster.clone().unwrap_or_else(|| CLUSTER.into());
    if ecs {
        for td in &facts.task_definitions {
            deploys.push(Deploy {
                name: td.family.clone(),
                containers: td
                    .containers
                    .iter()
                    .filter_map(|(c, i)| Some((c.clone(), i.clone()?)))
                    .collect(),
                secrets: td.secrets.clone(),
                ecs: Some(Ecs {
                    cluster: cluster.clone(),
                    service: td.family.clone(),
                    task_definition: Some(td.path.clone()),
                }),
                railway: None,
            });
        }
        // A new team's task definition lives in AWS: each image deploys
        // into the service's current one.
        if facts.task_definitions.is_empty() {
            for i in &images {
                let container = given.container.clone().unwrap_or_else(|| CONTAINER.into());
                deploys.push(Deploy {
                    name: i.name.clone(),
                    containers: vec![(container, i.name.clone())],
                    secrets: Vec::new(),
                    ecs: Some(Ecs {
                        cluster: cluster.clone(),
                        service: SERVICE.into(),
                        task_definition: None,
                    }),
                    railway: None,
                });
            }
        }
    }
    if railway {
        for i in &images {
            deploys.push(Deploy {
                name: i.name.clone(),
                containers: Vec::new(),
                secrets: Vec::new(),
                ecs: None,
                railway: Some(Railway {
                    project: given.railway_project.clone(),
                    service: SERVICE.into(),
                    image: i.name.clone(),
                }),
            });
        }
    }
    // `--service` names the service of the one deploy init writes; with
    // several, each stays as found (or a placeholder) and the load names them.
    if let (Some(service), [only]) = (&given.service, deploys.as_mut_slice()) {
        if let Some(e) = &mut only.ecs {
            e.service.clone_from(service);
        }
        if let Some(r) = &mut only.railway {
            r.service.clone_from(service);
        }
    }
    let mut publish = Vec::new();
    for p in facts.python.iter().filter(|p| p.sdk) {
        publish.push(Publish {
            name: format!("{}-sdk", last(&p.dir, &facts.name)),
            kind: "pypi",
            path: p.dir.clone(),
        });
    }
    for n in facts.node.iter().filter(|n| n.sdk) {
        let base = last(&n.dir, &facts.name);
        let base = if base == "js" || base == "ts" || base == "typescript" {
            base
        } else {
            format!("{base}-js")
        };
        publish.push(Publish {
            name: format!("{base}-sdk"),
            kind: "npm",
            path: n.dir.clone(),
        });
    }

    let migrate = if railway || ecs {
        facts.supabase.clone()
    } else {
        None
    };
    // Every step that what init writes configures, in pipeline order,
    // spelled as the registry spells it.
    let steps: Vec<&'static str> = Step::ALL
        .into_iter()
        .filter(|step| match step {
            Step::Gate => !gates.is_empty(),
            // init's images are always scanned.
            Step::Build | Step::Scan | Step::Push => !images.is_empty(),
            Step::Migrate => migrate.is_some(),
            Step::DeployEcs => deploys.iter().any(|d| d.ecs.is_some()),
            Step::DeployRailway => deploys.iter().any(|d| d.railway.is_some()),
            Step::Publish => !publish.is_empty(),
        })
        .map(Step::as_str)
        .collect();
    let vars = Vars {
        name: facts.name.clone(),
        steps,
        gates,
        images,
        migrate,
        deploys,
        publish,
    };
    render_source(
        "gantry.toml",
        include_str!("templates/gantry.toml.j2"),
        &vars,
    )
}

fn gates(facts: &Facts) -> Vec<Gate> {
    let mut out = Vec::new();
    let gate = |name: String, dir: &str, run: &str, junit, matcher| Gate {
        name,
        dir: dir.to_string(),
        run: run.to_string(),
        junit,
        matcher,
    };
    for p in &facts.python {
        let base = last(&p.dir, &facts.name);
        if p.ruff {
            out.push(gate(
                format!("{base}-lint"),
                &p.dir,
                "ruff check --output-format=concise .",
                None,
                Some("ruff"),
            ));
        }
        if p.tests {
            out.push(gate(
                format!("{base}-tests"),
                &p.dir,
                "python -m pytest --junitxml=reports/junit.xml -q",
                Some("reports/junit.xml"),
                Some("pytest"),
            ));
        }
    }
    for n in facts.node.iter().filter(|n| !n.sdk) {
        let base = last(&n.dir, &facts.name);
        if n.lint {
            out.push(gate(
                format!("{base}-lint"),
                &n.dir,
                "npm run lint",
                None,
                Some("eslint"),
            ));
        }
        if n.test {
            out.push(gate(
                format!("{base}-tests"),
                &n.dir,
                "npm test",
                None,
                None,
            ));
        }
    }
    for dir in &facts.rust {
        let base = last(dir, &facts.name);
        out.push(gate(
            format!("{base}-fmt"),
            dir,
            "cargo fmt --check",
            None,
            None,
        ));
        out.push(gate(
            format!("{base}-clippy"),
            dir,
            "cargo clippy --all-targets -- -D warnings",
            None,
            Some("cargo"),
        ));
        out.push(gate(
            format!("{base}-tests"),
            dir,
            "cargo test",
            None,
            Some("cargo"),
        ));
    }
    out
}

/// The last folder of `dir`, or the repository's name for the root.
fn last(dir: &str, name: &str) -> String {
    match dir.rsplit('/').next() {
        Some(l) if !l.is_empty() => sanitize(l),
        _ => name.to_string(),
    }
}
