//! The workflow templates as users get them (`workflows-templates/`): every
//! linter the action is held to finds nothing in them.

use crate::support::{repo_root, require_tool};
use std::path::Path;
use std::process::Command;

fn template_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo_root().join("workflows-templates"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yml"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 8, "{names:?}");
    names
}

#[track_caller]
fn lint(tool: &Path, args: &[&str], dir: &Path) -> String {
    let out = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{} {args:?}\n{text}", tool.display());
    text
}

#[test]
fn zizmor_pedantic_actionlint_and_shellcheck_find_nothing_in_the_templates() {
    let (Some(zizmor), Some(actionlint), Some(shellcheck)) = (
        require_tool("zizmor"),
        require_tool("actionlint"),
        require_tool("shellcheck"),
    ) else {
        return;
    };
    let dir = repo_root().join("workflows-templates");
    let files = template_files();
    let mut args = vec!["--persona", "pedantic", "--offline"];
    args.extend(files.iter().map(String::as_str));
    let report = lint(&zizmor, &args, &dir);
    assert!(report.contains("No findings"), "{report}");

    // actionlint runs shellcheck on every `run:` script.
    let mut args = vec!["-shellcheck", shellcheck.to_str().unwrap()];
    args.extend(files.iter().map(String::as_str));
    lint(&actionlint, &args, &dir);
}

/// `gantry run --dry-run --comment` in a pull request: the plan lands in one
/// comment, found again by its marker and edited, never duplicated; other
/// people's comments are left alone.
#[test]
fn the_plan_comment_is_created_once_then_updated_in_place() {
    use crate::support::github_api::GithubApi;
    use crate::support::{Gantry, Project, Runner};

    let api = GithubApi::start("codewarden/app", "ghs_pr_token");
    api.comment(7, "looks good to me");
    let project = Project::new();
    project.write(
        "gantry.toml",
        "[gates.unit]\nrun = \"echo unit tests pass\"\n",
    );
    let base = project.commit("base");
    project.write("src/lib.txt", "one\n");
    let head = project.commit("change");
    let event = serde_json::json!({
        "number": 7,
        "pull_request": {"number": 7, "base": {"sha": base}, "head": {"sha": head}},
    });
    let run = |runner: &Runner| {
        Gantry::new(&project.path())
            .args(["run", "--dry-run", "--comment"])
            .envs(runner.env("pull_request", event.clone(), &head))
            .env("GITHUB_TOKEN", "ghs_pr_token")
            .env("GITHUB_API_URL", &api.url)
            .run()
            .code(0)
    };

    let first = run(&Runner::new());
    assert!(
        first
            .all()
            .contains("plan comment 1002 created on pull request #7"),
        "{}",
        first.all()
    );
    let second = run(&Runner::new());
    assert!(
        second
            .all()
            .contains("plan comment 1002 updated on pull request #7"),
        "{}",
        second.all()
    );

    let comments = api.comments(7);
    assert_eq!(comments.len(), 2, "{comments:?}");
    assert_eq!(comments[0].body, "looks good to me");
    let plan = &comments[1].body;
    assert!(
        plan.starts_with("<!-- gantry:plan -->\n## gantry plan"),
        "{plan}"
    );
    assert!(plan.contains("unit"), "{plan}");
    // The token never reaches the comment.
    assert!(!plan.contains("ghs_pr_token"), "{plan}");
    assert_eq!(
        api.calls(),
        [
            "GET /repos/codewarden/app/issues/7/comments",
            "POST /repos/codewarden/app/issues/7/comments",
            "GET /repos/codewarden/app/issues/7/comments",
            "PATCH /repos/codewarden/app/issues/comments/1002",
        ]
    );
}

/// A fork's pull request gets a read-only token: the plan still passes, the
/// comment is a warning.
#[test]
fn a_comment_github_refuses_is_a_warning() {
    use crate::support::github_api::GithubApi;
    use crate::support::{Gantry, Project, Runner};

    let api = GithubApi::start("codewarden/app", "the-right-token");
    let project = Project::new();
    project.write("gantry.toml", "[gates.unit]\nrun = \"true\"\n");
    let head = project.commit("base");
    let runner = Runner::new();
    let run = Gantry::new(&project.path())
        .args(["run", "--dry-run", "--comment"])
        .envs(runner.env("pull_request", serde_json::json!({"number": 9}), &head))
        .env("GITHUB_TOKEN", "a-read-only-token")
        .env("GITHUB_API_URL", &api.url)
        .run()
        .code(0);
    assert!(run.all().contains("401 Bad credentials"), "{}", run.all());
    assert!(api.comments(9).is_empty());
}

/// A run that stops on an error says so in the comment, rather than showing
/// half a plan as the whole one.
#[test]
fn the_plan_comment_says_when_the_run_could_not_finish() {
    use crate::support::github_api::GithubApi;
    use crate::support::{Gantry, Project, Runner};

    let api = GithubApi::start("codewarden/app", "ghs_pr_token");
    let project = Project::new();
    project.write(
        "gantry.toml",
        "[deploy.api]\necs = { cluster = \"prod\" }\n",
    );
    let head = project.commit("base");
    let runner = Runner::new();
    Gantry::new(&project.path())
        .args(["run", "--dry-run", "--comment"])
        .envs(runner.env("pull_request", serde_json::json!({"number": 3}), &head))
        .env("GITHUB_TOKEN", "ghs_pr_token")
        .env("GITHUB_API_URL", &api.url)
        .run()
        .code(2);
    let comments = api.comments(3);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0].body.contains("**gantry could not finish:**"),
        "{}",
        comments[0].body
    );
    assert!(comments[0].body.contains("service"), "{}", comments[0].body);
}

// The templates under act: `templates/act.rs`.
mod act;
