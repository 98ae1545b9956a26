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

/// Every third-party action gantry's workflows pin, with the `runs.using`
/// of its `action.yml` at that commit, read from the action's own
/// repository (`https://github.com/<owner>/<repo>/blob/<tag>/action.yml`,
/// the tag resolved to its commit with `git ls-remote`). GitHub's runners
/// deprecated `node20` actions: a new pin is added here with what its
/// `action.yml` says, and the test refuses a `node20` one.
const PINS: &[(&str, &str, &str, &str)] = &[
    // (action, commit, tag, runs.using)
    (
        "actions/checkout",
        "3d3c42e5aac5ba805825da76410c181273ba90b1",
        "v7.0.1",
        "node24",
    ),
    (
        "aws-actions/configure-aws-credentials",
        "e6de054238d6b7531b4efff3b6587d9aade6a06c",
        "v6.2.3",
        "node24",
    ),
    (
        "actions/upload-artifact",
        "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f",
        "v7.0.0",
        "node24",
    ),
    (
        "actions/download-artifact",
        "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c",
        "v8.0.1",
        "node24",
    ),
    // The scanning templates send the SARIF to code scanning.
    (
        "github/codeql-action/upload-sarif",
        "8aad20d150bbac5944a9f9d289da16a4b0d87c1e",
        "v4.36.2",
        "node24",
    ),
    // gantry's own action.yml keeps Trivy's databases with these two.
    (
        "actions/cache/restore",
        "27d5ce7f107fe9357f9df03efb73ab90386fccae",
        "v5.0.5",
        "node24",
    ),
    (
        "actions/cache/save",
        "27d5ce7f107fe9357f9df03efb73ab90386fccae",
        "v5.0.5",
        "node24",
    ),
];

/// The `uses:` values of a workflow or template file, with their line.
fn uses_of(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let l = l.trim_start().trim_start_matches("- ");
            l.strip_prefix("uses:")
                .map(|u| (i + 1, u.trim().to_string()))
        })
        .collect()
}

/// Checks one `uses:`: a full commit SHA with the tag in a comment, and a
/// third-party pin from [`PINS`] that is not a `node20` action. Returns
/// what is wrong, if anything.
fn pin_problem(uses: &str) -> Option<String> {
    if uses.starts_with("./") || uses.starts_with("{{{") {
        return None; // a local action, or gantry's own (checked rendered)
    }
    let (action, rest) = uses.split_once('@')?;
    let (commit, comment) = rest.split_once(" # ").unwrap_or((rest, ""));
    if commit.len() != 40 || !commit.chars().all(|c| c.is_ascii_hexdigit()) {
        return Some(format!("{uses}: not pinned by a full 40-hex commit SHA"));
    }
    let Some(tag) = comment.strip_prefix('v') else {
        return Some(format!("{uses}: no `# v<version>` comment after the SHA"));
    };
    if action == gantry::init::action::REPOSITORY {
        return None; // ours: a composite action, pinned by `gantry init`
    }
    match PINS
        .iter()
        .find(|(a, c, _, _)| *a == action && *c == commit)
    {
        None => Some(format!(
            "{uses}: not in PINS; add it with the `runs.using` of its action.yml at that commit"
        )),
        Some((_, _, known, _)) if known.strip_prefix('v') != Some(tag) => Some(format!(
            "{uses}: the comment says v{tag}, the commit is {known}"
        )),
        Some((_, _, _, "node20")) => Some(format!(
            "{uses}: a node20 action, deprecated on GitHub's runners"
        )),
        Some(_) => None,
    }
}

#[test]
fn every_action_is_pinned_by_commit_to_a_release_that_runs_on_node24() {
    let root = repo_root();
    let mut files = Vec::new();
    for dir in [
        "workflows-templates",
        ".github/workflows",
        "src/init/templates",
    ] {
        for e in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".yml") || name.ends_with(".j2") {
                files.push(e.path());
            }
        }
    }
    // The action itself pins what its composite steps use.
    files.push(root.join("action.yml"));
    let mut problems = Vec::new();
    let mut seen = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (line, uses) in uses_of(&text) {
            seen += 1;
            if let Some(p) = pin_problem(&uses) {
                problems.push(format!("{}:{line}: {p}", file.display()));
            }
        }
    }
    assert!(seen > 40, "only {seen} `uses:` found in {files:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Each known pin is used somewhere, so the table never outlives them.
    let all: String = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    for (action, commit, tag, _) in PINS {
        assert!(
            all.contains(&format!("{action}@{commit} # {tag}")),
            "{action}@{commit} # {tag} is pinned nowhere: drop it from PINS"
        );
    }
}

#[test]
fn the_pin_check_refuses_tags_short_shas_missing_comments_and_node20_actions() {
    let old = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2";
    assert!(pin_problem(old).unwrap().contains("not in PINS"));
    assert!(
        pin_problem("actions/checkout@v7")
            .unwrap()
            .contains("40-hex")
    );
    assert!(
        pin_problem("actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1")
            .unwrap()
            .contains("comment")
    );
    assert!(
        pin_problem("actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v6.0.0")
            .unwrap()
            .contains("v7.0.1")
    );
    assert_eq!(
        pin_problem("actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1"),
        None
    );
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
