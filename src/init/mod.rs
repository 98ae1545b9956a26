//! `gantry init`'s ground: the workflow templates embedded in the binary,
//! what a repository holds (`detect`), and the `gantry.toml` proposed for it
//! (`config`). Nothing here reads flags or prints.
//!
//! Templates are rendered with minijinja using `{{{ }}}`, `{{% %}}` and
//! `{{# #}}` as delimiters, so GitHub's own `${{ }}` expressions pass through
//! untouched (cargo-dist's choice, for the same reason).

pub mod config;
pub mod detect;

use minijinja::Environment;
use minijinja::syntax::SyntaxConfig;
use serde::Serialize;

/// The gantry action a rendered workflow uses, pinned by the full commit of
/// its release (zizmor's `unpinned-uses`): the commit holding `action.yml`.
pub const ACTION: &str = "gantry-dev/gantry@731a6e2a9610aba22696e1656a768816ba63a3fc # v0.1.0";

/// One workflow template: a file of `workflows-templates/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Template {
    /// A FastAPI (or any) service on ECS with EC2 capacity: gates, build, Trivy, ECR, deploy.
    EcsEc2,
    /// Several images and ECS services of one repository, deployed with one verdict.
    EcsServices,
    /// ecs-services with one runner per image (a matrix) and one deploy job.
    EcsServicesMatrix,
    /// Supabase migrations, an image on GHCR, Railway services.
    RailwaySupabase,
    /// A service on Fargate, plus services running upstream images.
    Fargate,
    /// Fargate services whose task definitions take Secrets Manager secrets.
    EcsFargateSecrets,
    /// On `v*` tags: Python SDK to PyPI and TypeScript SDK to npm, trusted publishing.
    SdkRelease,
    /// On pull requests: changed gates, build, scan, and the plan as a sticky comment.
    PullRequest,
}

impl Template {
    pub const ALL: [Template; 8] = [
        Template::EcsEc2,
        Template::EcsServices,
        Template::EcsServicesMatrix,
        Template::RailwaySupabase,
        Template::Fargate,
        Template::EcsFargateSecrets,
        Template::SdkRelease,
        Template::PullRequest,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Template::EcsEc2 => "ecs-ec2",
            Template::EcsServices => "ecs-services",
            Template::EcsServicesMatrix => "ecs-services-matrix",
            Template::RailwaySupabase => "railway-supabase",
            Template::Fargate => "fargate",
            Template::EcsFargateSecrets => "ecs-fargate-secrets",
            Template::SdkRelease => "sdk-release",
            Template::PullRequest => "pull-request",
        }
    }

    /// The workflow's file name, in `.github/workflows/` and `workflows-templates/`.
    pub fn file(self) -> String {
        format!("{}.yml", self.name())
    }

    pub fn describe(self) -> &'static str {
        match self {
            Template::EcsEc2 => {
                "one service on ECS (EC2 capacity): gates, build, scan, ECR, deploy"
            }
            Template::EcsServices => "several images and ECS services, deployed with one verdict",
            Template::EcsServicesMatrix => {
                "ecs-services with a runner per image and one deploy job"
            }
            Template::RailwaySupabase => "Supabase migrations, image on GHCR, Railway services",
            Template::Fargate => "services on Fargate, upstream images deployed without a build",
            Template::EcsFargateSecrets => "Fargate services with Secrets Manager secrets",
            Template::SdkRelease => "on v* tags: SDKs to PyPI and npm, trusted publishing",
            Template::PullRequest => "on pull requests: gates, build, scan, plan comment",
        }
    }

    /// Whether the template deploys (and so needs a deploy target).
    pub fn deploys(self) -> bool {
        !matches!(self, Template::SdkRelease | Template::PullRequest)
    }

    fn source(self) -> &'static str {
        match self {
            Template::EcsEc2 => include_str!("templates/ecs-ec2.yml.j2"),
            Template::EcsServices => include_str!("templates/ecs-services.yml.j2"),
            Template::EcsServicesMatrix => include_str!("templates/ecs-services-matrix.yml.j2"),
            Template::RailwaySupabase => include_str!("templates/railway-supabase.yml.j2"),
            Template::Fargate => include_str!("templates/fargate.yml.j2"),
            Template::EcsFargateSecrets => include_str!("templates/ecs-fargate-secrets.yml.j2"),
            Template::SdkRelease => include_str!("templates/sdk-release.yml.j2"),
            Template::PullRequest => include_str!("templates/pull-request.yml.j2"),
        }
    }

    /// `ecs-ec2, ecs-services, …`: the choices, for errors.
    pub fn choices() -> String {
        Template::ALL.map(Template::name).join(", ")
    }
}

/// What a workflow template is rendered with.
#[derive(Debug, Clone, Serialize)]
pub struct WorkflowVars {
    /// The branch that deploys.
    pub branch: String,
    /// `uses:` of the gantry action (with its version comment).
    pub action: String,
    /// Shell commands that install what the gates need.
    pub setup: Vec<String>,
    /// The images a matrix builds, one runner each.
    pub images: Vec<String>,
}

impl WorkflowVars {
    /// The values the files in `workflows-templates/` are rendered with.
    pub fn defaults(template: Template) -> WorkflowVars {
        let setup: &[&str] = match template {
            Template::EcsEc2 => &["python -m pip install -e ./api ruff pytest"],
            Template::EcsServices | Template::EcsServicesMatrix => &["npm ci"],
            Template::RailwaySupabase => &[
                "python -m pip install -e ./api pytest",
                "npm ci --prefix dashboard",
            ],
            Template::Fargate | Template::EcsFargateSecrets => &[],
            Template::SdkRelease => &["python -m pip install build"],
            Template::PullRequest => &["python -m pip install -e ./api pytest", "npm ci"],
        };
        WorkflowVars {
            branch: "main".into(),
            action: ACTION.into(),
            setup: setup.iter().map(std::string::ToString::to_string).collect(),
            images: vec!["frontend".into(), "backend".into()],
        }
    }
}

/// A template that does not render is a bug in gantry, caught by the tests.
#[derive(Debug, thiserror::Error)]
#[error("template {name}: {source}")]
pub struct RenderError {
    name: String,
    #[source]
    source: minijinja::Error,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    let syntax = SyntaxConfig::builder()
        .block_delimiters("{{%", "%}}")
        .variable_delimiters("{{{", "}}}")
        .comment_delimiters("{{#", "#}}")
        .keep_trailing_newline(true)
        .build()
        .expect("the delimiters are valid");
    env.set_syntax(syntax);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    // TOML strings, quoted and escaped, for gantry.toml.
    env.add_filter("toml", |s: String| toml::Value::String(s).to_string());
    // A TOML key: bare when it can be, quoted otherwise.
    env.add_filter("tomlkey", |s: String| {
        let bare = !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if bare {
            s
        } else {
            toml::Value::String(s).to_string()
        }
    });
    env.add_template("_setup.j2", include_str!("templates/_setup.j2"))
        .expect("the macros parse");
    env
}

/// Renders one workflow template.
pub fn render(template: Template, vars: &WorkflowVars) -> Result<String, RenderError> {
    render_source(template.name(), template.source(), vars)
}

pub(crate) fn render_source(
    name: &str,
    source: &str,
    vars: &impl Serialize,
) -> Result<String, RenderError> {
    let err = |source| RenderError {
        name: name.to_string(),
        source,
    };
    let env = environment();
    let tmpl = env.template_from_str(source).map_err(err)?;
    tmpl.render(minijinja::value::Serde(vars)).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_expressions_pass_through() {
        let out = render(
            Template::EcsServices,
            &WorkflowVars::defaults(Template::EcsServices),
        )
        .unwrap();
        assert!(out.contains("${{ vars.AWS_DEPLOY_ROLE_ARN }}"), "{out}");
        assert!(!out.contains("{{{") && !out.contains("{{%"), "{out}");
    }

    /// The files in `workflows-templates/` are what the binary renders.
    #[test]
    fn workflows_templates_are_the_rendered_defaults() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows-templates");
        for t in Template::ALL {
            let rendered = render(t, &WorkflowVars::defaults(t)).unwrap();
            let path = dir.join(t.file());
            if std::env::var_os("GANTRY_UPDATE_TEMPLATES").is_some() {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &rendered).unwrap();
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == rendered,
                "workflows-templates/{} differs from what gantry renders; \
                 run `GANTRY_UPDATE_TEMPLATES=1 cargo test --lib init::`\n{}",
                t.file(),
                similar::TextDiff::from_lines(&committed, &rendered)
                    .unified_diff()
                    .header("committed", "rendered")
            );
        }
    }

    #[test]
    fn every_template_renders() {
        for t in Template::ALL {
            let out = render(t, &WorkflowVars::defaults(t)).unwrap();
            insta::assert_snapshot!(t.name(), out);
        }
    }
}
