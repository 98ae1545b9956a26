//! `gantry init` on the examples (each a repository a team might start
//! from), its refusals, and `--check`.

use crate::support::services::{docker_available, image_files};
use crate::support::{Gantry, Project, repo_root, require_tool};
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
        // The facts no example holds: the cluster (and Railway's service).
        let mut args = vec!["init", "--cluster", "production"];
        if *name == "railway-supabase" {
            args.extend(["--service", "api"]);
        }
        let run = Gantry::new(&dir).args(&args).run().code(0);
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
        let again = Gantry::new(&dir).args(&args).run().code(0);
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

/// `--action-ref` pins the action as given; a pin moved later (Dependabot
/// bumps the commit and its version comment) is kept by init and is no drift
/// for `--check`; a malformed reference is a usage error.
#[test]
fn the_action_ref_is_used_as_given_and_a_moved_pin_is_not_drift() {
    let (_tmp, dir) = example("ecs-ec2");
    let first = "acme/gantry@0123456789abcdef0123456789abcdef01234567";
    let run = Gantry::new(&dir)
        .args(["init", "ecs-ec2", "--action-ref", first])
        .run()
        .code(0);
    assert!(!run.stderr.contains("warning"), "{}", run.all());
    let wf = dir.join(".github/workflows/ecs-ec2.yml");
    let text = std::fs::read_to_string(&wf).unwrap();
    assert_eq!(
        text.matches(&format!("uses: {first}\n")).count(),
        2,
        "{text}"
    );

    let moved = "acme/gantry@fedcba9876543210fedcba9876543210fedcba98 # v0.2.0";
    std::fs::write(&wf, text.replace(first, moved)).unwrap();
    Gantry::new(&dir).args(["init", "--check"]).run().code(0);
    Gantry::new(&dir)
        .args(["init", "ecs-ec2", "--force"])
        .run()
        .code(0);
    assert!(std::fs::read_to_string(&wf).unwrap().contains(moved));

    let bad = Gantry::new(&dir)
        .args(["init", "--action-ref", "acme-gantry"])
        .run()
        .code(2);
    assert!(
        bad.stderr
            .contains("--action-ref: `acme-gantry` has no `@REF`"),
        "{}",
        bad.all()
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

/// Where a new team starts: a repository holding a Dockerfile and nothing
/// else, its services living in AWS or Railway. Each template is written;
/// the workflow passes the linters the templates are held to; what init
/// could not learn stands as placeholders that every command loading the
/// file names one by one (exit 2); given as flags, none is left and the
/// dry run plans the pipeline.
#[test]
fn init_from_a_repository_with_only_a_dockerfile_writes_every_template() {
    let lint = (
        require_tool("zizmor"),
        require_tool("actionlint"),
        require_tool("shellcheck"),
    );
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "ecs-ec2",
            &[
                "deploy.shop.containers: key \"<container>\"",
                "deploy.shop.ecs.cluster",
                "deploy.shop.ecs.service",
            ],
            &[
                "--cluster",
                "prod",
                "--service",
                "shop-api",
                "--container",
                "app",
            ],
        ),
        (
            "fargate",
            &[
                "deploy.shop.containers: key \"<container>\"",
                "deploy.shop.ecs.cluster",
                "deploy.shop.ecs.service",
            ],
            &[
                "--cluster",
                "prod",
                "--service",
                "shop-api",
                "--container",
                "app",
            ],
        ),
        (
            "ecs-services",
            &[
                "deploy.shop.containers: key \"<container>\"",
                "deploy.shop.ecs.cluster",
                "deploy.shop.ecs.service",
            ],
            &[
                "--cluster",
                "prod",
                "--service",
                "shop-api",
                "--container",
                "app",
            ],
        ),
        (
            "railway-supabase",
            &["deploy.shop.railway.service"],
            &["--service", "shop-api"],
        ),
        ("pull-request", &[], &[]),
        ("sdk-release", &[], &[]),
    ];
    for (template, placeholders, flags) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("shop");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("Dockerfile"), "FROM scratch\nCOPY . /app/\n").unwrap();
        // Pinned as the note of an offline init asks (the release's commit
        // cannot be looked up here).
        let pin = "gantry-dev/gantry@0123456789abcdef0123456789abcdef01234567";
        let run = Gantry::new(&dir)
            .args(["init", template, "--action-ref", pin])
            .run()
            .code(0);
        let wf = format!("{template}.yml");
        assert_eq!(
            workflows(&dir),
            std::slice::from_ref(&wf),
            "{template}\n{}",
            run.all()
        );
        if let (Some(zizmor), Some(actionlint), Some(shellcheck)) = &lint {
            let wfs = dir.join(".github/workflows");
            for (tool, args) in [
                (
                    zizmor,
                    vec!["--persona", "pedantic", "--offline", wf.as_str()],
                ),
                (
                    actionlint,
                    vec!["-shellcheck", shellcheck.to_str().unwrap(), wf.as_str()],
                ),
            ] {
                let out = std::process::Command::new(tool)
                    .args(&args)
                    .current_dir(&wfs)
                    .env("NO_COLOR", "1")
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{template}: {} {args:?}\n{}{}",
                    tool.display(),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        let toml = std::fs::read_to_string(dir.join("gantry.toml")).unwrap();
        if placeholders.is_empty() {
            // Nothing to fill in (the dry run would build and scan the image).
            gantry::settings::load(&dir.join("gantry.toml"))
                .unwrap_or_else(|e| panic!("{template}: {e}\n{toml}"));
            insta::assert_snapshot!(format!("init-dockerfile-only-{template}"), toml);
            continue;
        }
        let dry = Gantry::new(&dir).args(["run", "--dry-run"]).run();
        assert_eq!(dry.code, 2, "{template}\n{}\n{toml}", dry.all());
        if *template == "ecs-ec2" {
            insta::assert_snapshot!(
                dry.stderr.replace(&dir.display().to_string(), "[DIR]"),
                @r#"
            error: [DIR]/gantry.toml: 3 placeholders to fill in:
              [DIR]/gantry.toml:26:16: deploy.shop.containers: key "<container>": the container of the service's task definition that runs this image (`gantry init --container NAME`)
              [DIR]/gantry.toml:29:11: deploy.shop.ecs.cluster = "<cluster>": the ECS cluster's name or ARN (`gantry init --cluster NAME`)
              [DIR]/gantry.toml:30:11: deploy.shop.ecs.service = "<service>": the ECS service's name or ARN (`gantry init --service NAME`)
            hint: write each value in gantry.toml, or run `gantry init --force` again with the flags named above
            "#
            );
        }
        assert!(
            dry.stderr
                .contains(&format!("{} placeholder", placeholders.len())),
            "{template}\n{}",
            dry.all()
        );
        for key in *placeholders {
            let line = dry
                .stderr
                .lines()
                .find(|l| l.contains(key))
                .unwrap_or_else(|| panic!("{template}: {key} is not named\n{}", dry.all()));
            // Each with its file:line:col and the flag that fills it.
            assert!(
                line.contains("gantry.toml:") && line.contains("`gantry init --"),
                "{line}"
            );
        }
        // Every command that loads the file says the same.
        let gate = Gantry::new(&dir).args(["gate"]).run().code(2);
        assert!(gate.stderr.contains("placeholder"), "{}", gate.all());

        // With the facts as flags, no placeholder is left.
        let mut args = vec!["init", template, "--force", "--action-ref", pin];
        args.extend(*flags);
        Gantry::new(&dir).args(&args).run().code(0);
        let toml = std::fs::read_to_string(dir.join("gantry.toml")).unwrap();
        assert!(
            gantry::settings::placeholders::find(&toml).is_empty(),
            "{template}\n{toml}"
        );
        gantry::settings::load(&dir.join("gantry.toml"))
            .unwrap_or_else(|e| panic!("{template}: {e}\n{toml}"));
        insta::assert_snapshot!(format!("init-dockerfile-only-{template}"), toml);
    }
    // Without a template: Fargate (and the pull request workflow) for the image.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    Gantry::new(tmp.path()).args(["init"]).run().code(0);
    assert_eq!(workflows(tmp.path()), ["fargate.yml", "pull-request.yml"]);
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

/// With the release tag found (here in a local mirror named by
/// `GANTRY_ACTION_REMOTE`), the action is pinned to the tag's commit, with
/// the version as a comment, and no warning.
#[test]
fn the_action_is_pinned_to_the_commit_of_the_release_tag() {
    let (_tmp, dir) = example("ecs-ec2");
    let mirror = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(mirror.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    git(&["init", "-q"]);
    git(&["commit", "-q", "--allow-empty", "-m", "release"]);
    let tag = format!("v{}", env!("CARGO_PKG_VERSION"));
    git(&["tag", "-a", &tag, "-m", "release"]);
    let commit = git(&["rev-parse", "HEAD"]);
    let run = Gantry::new(&dir)
        .env("GANTRY_ACTION_REMOTE", mirror.path().to_str().unwrap())
        .args(["init", "ecs-ec2"])
        .run()
        .code(0);
    assert!(!run.stderr.contains("warning"), "{}", run.all());
    let text = std::fs::read_to_string(dir.join(".github/workflows/ecs-ec2.yml")).unwrap();
    assert_eq!(
        text.matches(&format!("uses: gantry-dev/gantry@{commit} # {tag}\n"))
            .count(),
        2,
        "{text}"
    );
}

/// A build context at the repository root holds gantry's state folder,
/// which changes on every run: init leaves it out in the context's
/// `.dockerignore` (created, or edited only with `--force`), and `--check`
/// shows the line missing.
#[test]
fn init_leaves_the_state_folder_out_of_a_root_build_context() {
    let (_tmp, dir) = example("fargate");
    let run = Gantry::new(&dir).args(["init"]).run().code(0);
    assert!(
        run.stderr.contains("created .dockerignore"),
        "{}",
        run.all()
    );
    let ignore = std::fs::read_to_string(dir.join(".dockerignore")).unwrap();
    assert!(ignore.ends_with("\n.gantry\n"), "{ignore}");
    let again = Gantry::new(&dir).args(["init"]).run().code(0);
    assert!(
        again.stderr.contains("unchanged .dockerignore"),
        "{}",
        again.all()
    );
    Gantry::new(&dir).args(["init", "--check"]).run().code(0);

    // The user's own file: a diff, nothing written, then --force appends.
    std::fs::write(dir.join(".dockerignore"), "*.log").unwrap();
    let drift = Gantry::new(&dir).args(["init", "--check"]).run().code(1);
    assert!(
        drift.stderr.contains("+.gantry") && drift.stderr.contains("drifted .dockerignore"),
        "{}",
        drift.all()
    );
    let refused = Gantry::new(&dir).args(["init"]).run().code(2);
    assert!(
        refused.stderr.contains(".dockerignore would change"),
        "{}",
        refused.all()
    );
    assert_eq!(
        std::fs::read_to_string(dir.join(".dockerignore")).unwrap(),
        "*.log"
    );
    Gantry::new(&dir).args(["init", "--force"]).run().code(0);
    let ignore = std::fs::read_to_string(dir.join(".dockerignore")).unwrap();
    assert!(ignore.starts_with("*.log\n\n# gantry"), "{ignore}");
    assert!(ignore.ends_with("\n.gantry\n"), "{ignore}");

    // A pattern that already leaves the folder out is enough.
    std::fs::write(dir.join(".dockerignore"), ".*\n").unwrap();
    let run = Gantry::new(&dir).args(["init"]).run().code(0);
    assert!(
        run.stderr.contains("unchanged .dockerignore"),
        "{}",
        run.all()
    );

    // The Dockerfile's own ignore file wins over the context's, as in
    // Docker; it is an ignore file, not the Dockerfile of an image.
    std::fs::write(dir.join("Dockerfile.dockerignore"), "*.md\n").unwrap();
    let run = Gantry::new(&dir).args(["init", "--force"]).run().code(0);
    assert!(
        run.stderr.contains("overwritten Dockerfile.dockerignore"),
        "{}",
        run.all()
    );
    let ignore = std::fs::read_to_string(dir.join("Dockerfile.dockerignore")).unwrap();
    assert!(ignore.ends_with("\n.gantry\n"), "{ignore}");
    let toml = std::fs::read_to_string(dir.join("gantry.toml")).unwrap();
    assert!(!toml.contains("dockerignore"), "{toml}");
}

/// Only contexts that hold the state folder are touched: a context in a
/// folder (`api/`) has its own `.dockerignore`, left alone.
#[test]
fn a_context_in_a_folder_gets_no_dockerignore() {
    let (_tmp, dir) = example("ecs-ec2");
    let run = Gantry::new(&dir).args(["init"]).run().code(0);
    assert!(!run.stderr.contains(".dockerignore"), "{}", run.all());
    assert!(!dir.join(".dockerignore").exists());
    assert!(!dir.join("api/.dockerignore").exists());
}

/// What `gantry build` says when the state folder travels in a context,
/// and that the line it asks for makes two builds of one commit one image.
#[test]
fn build_says_once_when_the_state_folder_is_in_the_context() {
    if !docker_available() {
        return;
    }
    let repo = format!("gantry-test/state-folder-{}", std::process::id());
    let _images = Images(vec![repo.clone(), format!("{repo}-docs")]);
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!(
            "[images.web]\ncontext = \".\"\nrepository = \"{repo}\"\n\n[images.docs]\ncontext = \".\"\nrepository = \"{repo}-docs\"\n"
        ),
    );
    p.write("Dockerfile", "FROM scratch\nCOPY . /site/\n");
    p.write("index.html", "<h1>hi</h1>");
    let sha = p.commit("web");
    let tag = format!("{repo}:sha-{}", &sha[..7]);
    let build = || p.gantry().args(["build", "web", "docs"]).run().code(0);
    let first = build();
    let warnings: Vec<&str> = first
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    insta::assert_snapshot!(warnings.join("\n"), @"warning: .dockerignore: web, docs: build cache: gantry's state folder `.gantry/` is in the build context and changes on every run, so no build is ever cached: add the line `.gantry` to .dockerignore (`gantry init` does)");
    // The state the first run wrote travels in the second one's context.
    build();
    assert!(
        image_files(&tag).contains(&"site/.gantry/state.json".to_string()),
        "{:?}",
        image_files(&tag)
    );

    p.write(".dockerignore", ".gantry\n");
    let id = |run: &crate::support::Run| run.json()["outputs"]["image-web-id"].clone();
    let json = || {
        p.gantry()
            .args(["build", "web", "--format", "json"])
            .run()
            .code(0)
    };
    let a = json();
    assert!(!a.stderr.contains("build cache"), "{}", a.all());
    let b = json();
    assert_eq!(id(&a), id(&b), "the same context builds the same image");
    assert!(
        !image_files(&tag).iter().any(|f| f.contains(".gantry")),
        "{:?}",
        image_files(&tag)
    );
}

/// Removes the images of these repositories when the test ends, passed or not.
struct Images(Vec<String>);

impl Drop for Images {
    fn drop(&mut self) {
        // Never `docker()`, which panics: a panic while unwinding aborts.
        let docker = || std::process::Command::new("docker");
        for repo in &self.0 {
            let Ok(out) = docker().args(["images", "-q", repo]).output() else {
                continue;
            };
            let ids = String::from_utf8_lossy(&out.stdout).into_owned();
            for id in ids.lines().collect::<std::collections::BTreeSet<_>>() {
                let _ = docker().args(["rmi", "-f", id]).output();
            }
        }
    }
}
