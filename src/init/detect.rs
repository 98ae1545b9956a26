//! What a repository holds, as far as `gantry init` cares: Dockerfiles,
//! Supabase migrations, Python, Node and Rust projects, ECS task definitions,
//! Railway configuration and existing workflows.

use super::Template;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Folders that hold tools' output or dependencies, never the project.
const SKIP: &[&str] = &[
    ".git",
    ".github",
    "node_modules",
    "target",
    ".venv",
    "venv",
    "dist",
    "build",
    "__pycache__",
    ".gantry",
    ".pytest_cache",
];

/// How deep the walk goes: monorepos keep their parts near the top.
const MAX_DEPTH: usize = 4;

#[derive(Debug, Default, Serialize)]
pub struct Facts {
    /// The repository's name (its folder), lower-case.
    pub name: String,
    pub dockerfiles: Vec<Dockerfile>,
    pub task_definitions: Vec<TaskDefinition>,
    /// The Supabase folder (holding `migrations/`), relative.
    pub supabase: Option<String>,
    pub python: Vec<PythonProject>,
    pub node: Vec<NodePackage>,
    /// Folders holding a `Cargo.toml` package, relative ("" for the root).
    pub rust: Vec<String>,
    /// `railway.json` or `railway.toml` somewhere.
    pub railway: bool,
    /// Files already in `.github/workflows/`.
    pub workflows: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Dockerfile {
    /// The image name (`api` for `api/Dockerfile`, `frontend` for `frontend.Dockerfile`).
    pub image: String,
    /// The build context, relative ("." for the root).
    pub context: String,
    /// The Dockerfile, relative; `None` when it is `<context>/Dockerfile`.
    pub dockerfile: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TaskDefinition {
    pub path: String,
    pub family: String,
    pub fargate: bool,
    /// Container name → the detected image it runs (none: an upstream image).
    pub containers: Vec<(String, Option<String>)>,
    /// Names of secrets the containers take by `valueFrom`.
    pub secrets: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct PythonProject {
    pub dir: String,
    pub tests: bool,
    pub ruff: bool,
    /// Under an `sdk` folder: a package to publish.
    pub sdk: bool,
}

#[derive(Debug, Serialize)]
pub struct NodePackage {
    pub dir: String,
    pub test: bool,
    pub lint: bool,
    pub lockfile: bool,
    pub sdk: bool,
}

impl Facts {
    /// Looks at the repository at `root`.
    pub fn scan(root: &Path) -> Facts {
        let name = root
            .file_name()
            .map_or_else(|| "app".into(), |n| sanitize(&n.to_string_lossy()));
        let mut facts = Facts {
            name,
            ..Facts::default()
        };
        let mut files = Vec::new();
        walk(root, Path::new(""), 0, &mut files);
        files.sort();
        for rel in &files {
            facts.look_at(root, rel);
        }
        // Task definitions are read last: their images are matched to Dockerfiles.
        for rel in &files {
            if rel.extension().is_some_and(|e| e == "json")
                && let Some(td) = read_task_definition(root, rel, &facts.dockerfiles)
            {
                facts.task_definitions.push(td);
            }
        }
        if let Ok(entries) = std::fs::read_dir(root.join(".github/workflows")) {
            let mut names: Vec<String> = entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".yml") || n.ends_with(".yaml"))
                .collect();
            names.sort();
            facts.workflows = names;
        }
        facts
    }

    fn look_at(&mut self, root: &Path, rel: &Path) {
        let file = rel.file_name().unwrap_or_default().to_string_lossy();
        let dir = rel.parent().unwrap_or(Path::new(""));
        let dir_s = crate::paths::slashed(dir);
        let in_sdk = dir.components().any(|c| c.as_os_str() == "sdk");
        let text = || std::fs::read_to_string(root.join(rel)).unwrap_or_default();
        match file.as_ref() {
            "Dockerfile" => self.dockerfiles.push(Dockerfile {
                image: if dir_s.is_empty() {
                    self.name.clone()
                } else {
                    sanitize(&dir.file_name().unwrap_or_default().to_string_lossy())
                },
                context: if dir_s.is_empty() { ".".into() } else { dir_s },
                dockerfile: None,
            }),
            // `Dockerfile.dockerignore` is the ignore file of `Dockerfile`, not an image.
            f if (f.ends_with(".Dockerfile") || f.starts_with("Dockerfile."))
                && !f.ends_with(".dockerignore") =>
            {
                let image = f
                    .strip_suffix(".Dockerfile")
                    .or_else(|| f.strip_prefix("Dockerfile."))
                    .unwrap_or(f);
                self.dockerfiles.push(Dockerfile {
                    image: sanitize(image),
                    context: if dir_s.is_empty() { ".".into() } else { dir_s },
                    dockerfile: Some(crate::paths::slashed(rel)),
                });
            }
            "pyproject.toml" => {
                let t = text();
                self.python.push(PythonProject {
                    tests: root.join(dir).join("tests").is_dir() || t.contains("pytest"),
                    ruff: t.contains("ruff"),
                    sdk: in_sdk,
                    dir: dir_s,
                });
            }
            "package.json" => {
                let json: serde_json::Value = serde_json::from_str(&text()).unwrap_or_default();
                let script = |s: &str| json["scripts"][s].is_string();
                self.node.push(NodePackage {
                    test: script("test"),
                    lint: script("lint"),
                    lockfile: root.join(dir).join("package-lock.json").is_file(),
                    sdk: in_sdk && json["private"] != serde_json::Value::Bool(true),
                    dir: dir_s,
                });
            }
            "Cargo.toml" if text().contains("[package]") => self.rust.push(dir_s),
            "railway.json" | "railway.toml" => self.railway = true,
            _ => {}
        }
        if rel.components().count() >= 2
            && rel.parent().and_then(|p| p.file_name()) == Some("migrations".as_ref())
            && file.ends_with(".sql")
            && self.supabase.is_none()
        {
            let supabase = rel.parent().and_then(Path::parent).unwrap_or(Path::new(""));
            if supabase.file_name() == Some("supabase".as_ref()) {
                self.supabase = Some(crate::paths::slashed(supabase));
            }
        }
    }

    /// The templates that fit, most specific first; `pull-request` joins any of them.
    pub fn proposals(&self) -> Vec<Template> {
        let mut out = Vec::new();
        let built = self
            .task_definitions
            .iter()
            .filter(|t| t.containers.iter().any(|(_, i)| i.is_some()))
            .count();
        if !self.task_definitions.is_empty() {
            out.push(
                if self.task_definitions.iter().any(|t| !t.secrets.is_empty()) {
                    Template::EcsFargateSecrets
                } else if built >= 2 {
                    Template::EcsServices
                } else if self.task_definitions.iter().any(|t| t.fargate) {
                    Template::Fargate
                } else {
                    Template::EcsEc2
                },
            );
        }
        if self.railway
            || (self.task_definitions.is_empty()
                && self.supabase.is_some()
                && !self.dockerfiles.is_empty())
        {
            out.push(Template::RailwaySupabase);
        }
        if self.python.iter().any(|p| p.sdk) || self.node.iter().any(|n| n.sdk) {
            out.push(Template::SdkRelease);
        }
        // Images and nothing that says where they run: where a new team
        // starts, its service living in AWS. Fargate asks for no capacity
        // of one's own; the facts init cannot see become placeholders.
        if out.is_empty() && !self.dockerfiles.is_empty() {
            out.push(Template::Fargate);
        }
        if !out.is_empty() {
            out.push(Template::PullRequest);
        }
        out
    }

    /// Install commands for the gates' tools, for the workflows' setup step.
    pub fn setup(&self) -> Vec<String> {
        let mut out = Vec::new();
        for p in self.python.iter().filter(|p| !p.sdk && (p.tests || p.ruff)) {
            let mut tools = vec![if p.dir.is_empty() {
                ".".to_string()
            } else {
                format!("./{}", p.dir)
            }];
            if p.ruff {
                tools.push("ruff".into());
            }
            if p.tests {
                tools.push("pytest".into());
            }
            out.push(format!("python -m pip install -e {}", tools.join(" ")));
        }
        for n in self.node.iter().filter(|n| !n.sdk && (n.test || n.lint)) {
            let verb = if n.lockfile { "ci" } else { "install" };
            out.push(if n.dir.is_empty() {
                format!("npm {verb}")
            } else {
                format!("npm {verb} --prefix {}", n.dir)
            });
        }
        out
    }
}

fn walk(root: &Path, rel: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(root.join(rel)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let rel = rel.join(&name);
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if depth < MAX_DEPTH && !SKIP.iter().any(|s| name == *s) {
                walk(root, &rel, depth + 1, out);
            }
        } else if kind.is_file() {
            out.push(rel);
        }
    }
}

fn read_task_definition(
    root: &Path,
    rel: &Path,
    dockerfiles: &[Dockerfile],
) -> Option<TaskDefinition> {
    let text = std::fs::read_to_string(root.join(rel)).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let containers = json.get("containerDefinitions")?.as_array()?;
    let stem = rel.file_stem()?.to_string_lossy().into_owned();
    let family = sanitize(json["family"].as_str().unwrap_or(&stem));
    let fargate = json["requiresCompatibilities"]
        .as_array()
        .is_some_and(|a| a.iter().any(|c| c == "FARGATE"));
    let mut secrets = Vec::new();
    let mut mapped = Vec::new();
    for c in containers {
        let name = c["name"].as_str().unwrap_or_default().to_string();
        let image = c["image"].as_str().unwrap_or_default();
        // `…/codewarden/api:latest` runs the image built from `api`.
        let repo = image.split(['@', ':']).next().unwrap_or_default();
        let repo = image.rsplit_once('/').map_or(repo, |(_, last)| {
            last.split([':', '@']).next().unwrap_or(last)
        });
        // An ECR image with no Dockerfile of its name is the sole Dockerfile's.
        let sole = (dockerfiles.len() == 1 && image.contains(".dkr.ecr."))
            .then(|| dockerfiles[0].image.clone());
        let built = dockerfiles
            .iter()
            .find(|d| d.image == repo || d.image == name)
            .map(|d| d.image.clone())
            .or(sole);
        for s in c["secrets"].as_array().into_iter().flatten() {
            if let Some(n) = s["name"].as_str() {
                secrets.push(n.to_string());
            }
        }
        mapped.push((name, built));
    }
    Some(TaskDefinition {
        path: crate::paths::slashed(rel),
        family,
        fargate,
        containers: mapped,
        secrets,
    })
}

/// A name gantry.toml accepts: letters, digits, `-`, `_`.
pub fn sanitize(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let out = out.trim_matches('-').to_string();
    if out.is_empty() { "app".into() } else { out }
}
