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
    assert_eq!(names.len(), 7, "{names:?}");
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
