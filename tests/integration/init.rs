//! `gantry init` on the examples (each a repository a team might start
//! from), its refusals, and `--check`.

use crate::support::{Gantry, repo_root};
use std::path::{Path, PathBuf};

/// Every example, and the templates `init` proposes for it.
const EXAMPLES: &[(&str, &[&str])] = &[
    ("ecs-ec2", &["ecs-ec2.yml", "pull-request.yml"]),
    ("ecs-services", &["ecs-services.yml", "pull-request.yml"]),
    (
        "railway-supabase",
        &["railway-supabase.yml", "pull-request.yml"],
    ),
    ("fargate", &["fargate.yml", "pull-request.yml"]),
    (
        "ecs-fargate-secrets",
        &["ecs-fargate-secrets.yml", "pull-request.yml"],
    ),
    ("sdk-release", &["sdk-release.yml", "pull-request.yml"]),
    (
        "monorepo",
        &[
            "ecs-fargate-secrets.yml",
            "sdk-release.yml",
            "pull-request.yml",
        ],
    ),
];

/// A copy of `examples/<name>` under a folder of the same name (the
/// repository's name is the folder's), without its gantry.toml.
fn example(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    copy(&repo_root().join("examples").join(name), &dir);
    let _ = std::fs::remove_file(dir.join("gantry.toml"));
    (tmp, dir)
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let name = e.file_name();
        if [
            "node_modules",
            "reports",
            "__pycache__",
            ".pytest_cache",
            ".gantry",
            "target",
        ]
        .iter()
        .any(|s| name == *s)
        {
            continue;
        }
        if e.file_type().unwrap().is_dir() {
            copy(&e.path(), &to.join(&name));
        } else {
            std::fs::copy(e.path(), to.join(&name)).unwrap();
        }
    }
}

fn workflows(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join(".github/workflows"))
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn init_on_each_example_writes_its_templates_and_a_gantry_toml_that_loads() {
    for (name, expected) in EXAMPLES {
        let (_tmp, dir) = example(name);
        let run = Gantry::new(&dir).args(["init"]).run().code(0);
        let mut expected: Vec<String> = expected
            .iter()
            .map(std::string::ToString::to_string)
            .collect();
        expected.sort();
        assert_eq!(workflows(&dir), expected, "{name}\n{}", run.all());
        let toml = std::fs::read_to_string(dir.join("gantry.toml")).unwrap();
        // What init proposes is a configuration gantry accepts.
        gantry::settings::load(&dir.join("gantry.toml")).unwrap_or_else(|e| {
            panic!("{name}: the proposed gantry.toml does not load: {e}\n{toml}")
        });
        insta::assert_snapshot!(format!("init-{name}"), format!("{}\n{toml}", run.all()));
        // Each workflow is the template rendered for this repository.
        for wf in &expected {
            let text = std::fs::read_to_string(dir.join(".github/workflows").join(wf)).unwrap();
            insta::assert_snapshot!(format!("init-{name}-{wf}"), text);
        }
        // A second init changes nothing and says so.
        let again = Gantry::new(&dir).args(["init"]).run().code(0);
        assert!(
            again.stderr.contains("unchanged gantry.toml"),
            "{}",
            again.all()
        );
    }
}

#[test]
fn init_never_overwrites_silently() {
    let (_tmp, dir) = example("ecs-services");
    std::fs::write(dir.join("gantry.toml"), "[pipeline]\nsteps = [\"gate\"]\n").unwrap();
    let refused = Gantry::new(&dir).args(["init"]).run().code(2);
    assert!(
        refused.stderr.contains("--- a/gantry.toml"),
        "{}",
        refused.all()
    );
    assert!(
        refused.stderr.contains("-steps = [\"gate\"]"),
        "{}",
        refused.all()
    );
    assert!(
        refused.stderr.contains("gantry init --force"),
        "{}",
        refused.all()
    );
    // Nothing was written, not even the files that did not exist.
    assert!(workflows(&dir).is_empty());
    assert_eq!(
        std::fs::read_to_string(dir.join("gantry.toml")).unwrap(),
        "[pipeline]\nsteps = [\"gate\"]\n"
    );

    let forced = Gantry::new(&dir).args(["init", "--force"]).run().code(0);
    assert!(
        forced.stderr.contains("overwritten gantry.toml"),
        "{}",
        forced.all()
    );
    assert!(
        forced
            .stderr
            .contains("created .github/workflows/ecs-services.yml")
    );
}

#[test]
fn check_exits_1_with_the_diff_when_a_workflow_drifted() {
    let (_tmp, dir) = example("railway-supabase");
    Gantry::new(&dir).args(["init"]).run().code(0);
    Gantry::new(&dir).args(["init", "--check"]).run().code(0);

    let wf = dir.join(".github/workflows/railway-supabase.yml");
    let text = std::fs::read_to_string(&wf).unwrap();
    std::fs::write(
        &wf,
        text.replace("cancel-in-progress: false", "cancel-in-progress: true"),
    )
    .unwrap();
    // gantry.toml is the user's: editing it is not drift.
    std::fs::write(dir.join("gantry.toml"), "# mine\n").unwrap();
    let drift = Gantry::new(&dir).args(["init", "--check"]).run().code(1);
    assert!(
        drift
            .stderr
            .contains("--- a/.github/workflows/railway-supabase.yml"),
        "{}",
        drift.all()
    );
    assert!(
        drift.stderr.contains("-      cancel-in-progress: true"),
        "{}",
        drift.all()
    );
    assert!(
        drift.stderr.contains("+      cancel-in-progress: false"),
        "{}",
        drift.all()
    );
    assert!(!drift.stderr.contains("gantry.toml\n"), "{}", drift.all());
    // Nothing was written.
    assert!(
        std::fs::read_to_string(&wf)
            .unwrap()
            .contains("cancel-in-progress: true")
    );
}

#[test]
fn nothing_deployable_is_a_usage_error_with_the_choices() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README.md"), "# notes\n").unwrap();
    let run = Gantry::new(dir.path()).args(["init"]).run().code(2);
    assert!(run.stderr.contains("nothing deployable"), "{}", run.all());
    assert!(
        run.stderr
            .contains("ecs-ec2, ecs-services, ecs-services-matrix, railway-supabase, fargate, ecs-fargate-secrets, sdk-release, pull-request"),
        "{}",
        run.all()
    );
    assert!(!dir.path().join("gantry.toml").exists());
}

#[test]
fn an_unknown_template_is_a_usage_error_with_the_choices() {
    let (_tmp, dir) = example("ecs-ec2");
    let run = Gantry::new(&dir).args(["init", "kubernetes"]).run().code(2);
    assert!(
        run.stderr.contains("invalid value 'kubernetes'"),
        "{}",
        run.all()
    );
    assert!(run.stderr.contains("ecs-fargate-secrets"), "{}", run.all());
}

#[test]
fn a_named_template_is_written_alone() {
    let (_tmp, dir) = example("ecs-ec2");
    Gantry::new(&dir)
        .args(["init", "ecs-ec2", "--branch", "trunk"])
        .run()
        .code(0);
    assert_eq!(workflows(&dir), ["ecs-ec2.yml"]);
    let wf = std::fs::read_to_string(dir.join(".github/workflows/ecs-ec2.yml")).unwrap();
    assert!(wf.contains("branches: [trunk]"), "{wf}");
    let list = Gantry::new(&dir).args(["init", "--list"]).run().code(0);
    assert!(list.stdout.contains("ecs-services "), "{}", list.all());
}
