//! `gantry push` against a real registry (htpasswd auth) and moto for ECR.

use crate::support::scrub::scrub;
use crate::support::services::{Moto, Registry, docker_available};
use crate::support::{Project, Runner};
use serde_json::json;

pub(crate) const USER: (&str, &str) = ("ci-bot", "Regi5try-Pa55word");

pub(crate) fn project(registry: &str, repository: &str, extra: &str) -> Project {
    // An immutable repository takes only tags that never move (else the
    // file is refused at load).
    let tags = if extra.contains("immutable") {
        "[\"sha\"]"
    } else {
        "[\"sha\", \"raw:stable\"]"
    };
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!(
            "[images.api]\ncontext = \"api\"\nrepository = \"{repository}\"\nregistry = \"{registry}\"\ntags = {tags}\n{extra}\n[registries.\"{registry}\"]\nusername-env = \"REG_USER\"\npassword-env = \"REG_PASSWORD\"\n"
        ),
    );
    p.write("api/Dockerfile", "FROM scratch\nCOPY app.txt /app.txt\n");
    p.write("api/app.txt", "version 1\n");
    p.commit("api");
    p
}

pub(crate) fn with_creds(g: crate::support::Gantry, password: &str) -> crate::support::Gantry {
    g.env("REG_USER", USER.0).env("REG_PASSWORD", password)
}

#[test]
fn push_reports_the_digest_the_registry_stored() {
    if !docker_available() {
        return;
    }
    let Some(registry) = Registry::start(Some(USER)) else {
        return;
    };
    let p = project(&registry.host, "team/api", "");
    let runner = Runner::new();
    let sha = p.git(&["rev-parse", "HEAD"]);
    // The state lives in RUNNER_TEMP in CI: build there too.
    let ci = |args: &[&str]| {
        with_creds(p.gantry(), USER.1)
            .args(args)
            .envs(runner.env("push", json!({"before": sha}), &sha))
            .run()
    };
    ci(&["build"]).code(0);
    let r = ci(&["push"]).code(0);
    let digest = registry
        .manifest_digest("team/api", "stable", Some(USER))
        .expect("stable was pushed");
    assert_eq!(
        runner.outputs()["image-api-digest"],
        format!("{}/team/api@{digest}", registry.host)
    );
    assert_eq!(
        registry.manifest_digest("team/api", &format!("sha-{}", &sha[..7]), Some(USER)),
        Some(digest.clone())
    );
    assert!(
        runner
            .summary()
            .contains(&format!("`{}/team/api@{digest}`", registry.host)),
        "{}",
        runner.summary()
    );
    assert!(
        r.commands("::add-mask::")
            .contains(&format!("::add-mask::{}", USER.1))
    );
    let shown: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect();
    assert!(!shown.join("\n").contains(USER.1) && !r.stderr.contains(USER.1));

    // A second push has nothing to do: both tags already point at this image.
    let r = ci(&["push"]).code(0);
    assert!(
        r.stdout.contains("already points at this image"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_wrong_password_is_an_outside_failure_that_leaks_nothing() {
    if !docker_available() {
        return;
    }
    let Some(registry) = Registry::start(Some(USER)) else {
        return;
    };
    let p = project(&registry.host, "team/api", "");
    with_creds(p.gantry(), "Wrong-Pa55word-123")
        .args(["build"])
        .run()
        .code(0);
    let r = with_creds(p.gantry(), "Wrong-Pa55word-123")
        .args(["push"])
        .run()
        .code(3);
    assert!(
        r.stderr
            .contains(&format!("{} refused the credentials", registry.host)),
        "{}",
        r.stderr
    );
    assert!(!r.all().contains("Wrong-Pa55word-123"), "{}", r.all());
    assert_eq!(
        registry.manifest_digest("team/api", "stable", Some(USER)),
        None
    );
}

#[test]
fn an_immutable_tag_is_never_moved_and_an_unchanged_one_is_skipped() {
    if !docker_available() {
        return;
    }
    let Some(registry) = Registry::start(Some(USER)) else {
        return;
    };
    let p = project(
        &registry.host,
        "team/api",
        "tag-mutability = \"immutable\"\n",
    );
    let sha_tag = format!("sha-{}", &p.git(&["rev-parse", "HEAD"])[..7]);
    with_creds(p.gantry(), USER.1).args(["build"]).run().code(0);
    with_creds(p.gantry(), USER.1).args(["push"]).run().code(0);
    let first = registry
        .manifest_digest("team/api", &sha_tag, Some(USER))
        .unwrap();

    // Same commit, different content (a build that is not reproducible):
    // `sha-…` would move.
    p.write("api/app.txt", "version 2\n");
    with_creds(p.gantry(), USER.1).args(["build"]).run().code(0);
    let r = with_creds(p.gantry(), USER.1)
        .args(["push", "--format", "github"])
        .run()
        .code(1);
    let errors = r.commands("::error");
    assert!(
        errors.iter().any(|e| e.contains(&format!(
            "{}/team/api:{sha_tag} already points at {first}",
            registry.host
        ))),
        "{}",
        r.stdout
    );
    assert_eq!(
        registry.manifest_digest("team/api", &sha_tag, Some(USER)),
        Some(first)
    );
}

/// Two pushes to main, of two commits, into the immutable ECR repository
/// `gantry init` configures, exactly as init wrote it: both pass (with the
/// default tag rules, the second push found `main` taken and exited 1).
#[test]
fn init_s_immutable_ecr_repository_takes_a_second_push_to_main() {
    if !docker_available() {
        return;
    }
    let Some(moto) = Moto::start() else { return };
    let Some(registry) = Registry::start(None) else {
        return;
    };
    let p = Project::new();
    p.write("Dockerfile", "FROM scratch\nCOPY app.txt /app.txt\n");
    p.write("app.txt", "one\n");
    p.gantry()
        .args([
            "init",
            "ecs-ec2",
            "--cluster",
            "prod",
            "--service",
            "shop",
            "--container",
            "app",
        ])
        .run()
        .code(0);
    let toml = p.read("gantry.toml");
    assert!(
        toml.contains("tag-mutability = \"immutable\"\ntags = [\"sha\"]\n"),
        "{toml}"
    );
    let first = p.commit("one");
    let runner = Runner::new();
    let ci = |args: &[&str], sha: &str| {
        p.gantry()
            .envs(moto.env())
            .env("GANTRY_ECR_PUSH_REGISTRY", &registry.host)
            .envs(runner.env("push", json!({}), sha))
            .args(args)
            .run()
    };
    ci(&["build"], &first).code(0);
    ci(&["push"], &first).code(0);
    p.write("app.txt", "two\n");
    let second = p.commit("two");
    ci(&["build"], &second).code(0);
    ci(&["push"], &second).code(0);
    let repository = toml
        .lines()
        .find_map(|l| l.strip_prefix("repository = \""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap()
        .to_string();
    for sha in [&first, &second] {
        assert!(
            registry
                .manifest_digest(&repository, &format!("sha-{}", &sha[..7]), None)
                .is_some(),
            "sha-{} was pushed",
            &sha[..7]
        );
    }
}

#[test]
fn a_dry_run_checks_credentials_and_pushes_nothing() {
    if !docker_available() {
        return;
    }
    let Some(registry) = Registry::start(Some(USER)) else {
        return;
    };
    let p = project(&registry.host, "team/api", "");
    with_creds(p.gantry(), USER.1).args(["build"]).run().code(0);
    let r = with_creds(p.gantry(), USER.1)
        .args(["push", "--dry-run"])
        .run()
        .code(0);
    insta::assert_snapshot!(scrub(&r.stdout, &p.path()), @r###"
    Plan (dry run: nothing remote was changed)
      legend: + create  ~ update  - delete  > run  ^ upload
      push: would change (2 changes)
        ^ 127.0.0.1:[PORT]/team/api:sha-[SHORT]: push (new tag)
        ^ 127.0.0.1:[PORT]/team/api:stable: push (new tag)
    Verdict: would change (dry run)
    "###);
    assert_eq!(
        registry.manifest_digest("team/api", "stable", Some(USER)),
        None
    );
    with_creds(p.gantry(), "Not-The-Password")
        .args(["push", "--dry-run"])
        .run()
        .code(3);
}

/// A pull request from a fork has no secrets: a dry run whose registry
/// credential variables are unset reads the registry without them, and the
/// registry's check is "not checked" with the fork as the reason; a real
/// push without them is still a configuration error.
#[test]
fn a_fork_pull_request_plans_without_the_registry_s_secrets() {
    if !docker_available() {
        return;
    }
    let Some(registry) = Registry::start(Some(USER)) else {
        return;
    };
    let p = project(&registry.host, "team/api", "");
    let runner = Runner::new();
    let sha = p.git(&["rev-parse", "HEAD"]);
    let fork = json!({"pull_request": {
        "number": 7,
        "base": {"sha": sha, "repo": {"full_name": "codewarden/app", "fork": false}},
        "head": {"sha": sha, "repo": {"full_name": "someone/app", "fork": true}}
    }});
    let ci = |args: &[&str]| {
        p.gantry()
            .args(args)
            .envs(runner.env("pull_request", fork.clone(), &sha))
            .run()
    };
    ci(&["build"]).code(0);
    let r = ci(&["push", "--dry-run"]).code(0);
    let out = format!("{}{}", r.stdout, r.stderr);
    assert!(
        out.contains(&format!("registry {}: REG_USER is not set", registry.host))
            && out.contains("pull request from a fork: no secrets"),
        "{out}"
    );
    assert_eq!(
        registry.manifest_digest("team/api", "stable", Some(USER)),
        None
    );
    let r = ci(&["push"]).code(2);
    assert!(
        format!("{}{}", r.stdout, r.stderr).contains("REG_USER is not set"),
        "{}",
        r.stdout
    );
}

#[test]
fn push_without_a_build_says_what_to_run() {
    if !docker_available() {
        return;
    }
    let p = project("127.0.0.1:9", "team/api", "");
    let r = with_creds(p.gantry(), USER.1).args(["push"]).run().code(2);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    error: image `api` was not built in this pipeline (no build in [PROJECT]/.gantry/state.json)
    hint: run `gantry build` first, or `gantry run` with build before push
    "###);
}

#[test]
fn ecr_repositories_are_created_and_logins_masked_through_the_ecr_api() {
    if !docker_available() {
        return;
    }
    let Some(moto) = Moto::start() else { return };
    let Some(registry) = Registry::start(None) else {
        return;
    };
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[images.api]\ncontext = \"api\"\nrepository = \"codewarden/api\"\nregistry = \"ecr\"\ncreate-repository = true\ntags = [\"raw:v1\"]\n",
    );
    p.write("api/Dockerfile", "FROM scratch\nCOPY app.txt /app.txt\n");
    p.write("api/app.txt", "ecr\n");
    p.commit("api");
    let gantry = || {
        p.gantry()
            .envs(moto.env())
            .env("GANTRY_ECR_PUSH_REGISTRY", &registry.host)
    };
    gantry().args(["build"]).run().code(0);
    let r = gantry().args(["push", "--dry-run"]).run().code(0);
    insta::assert_snapshot!(scrub(&r.stdout, &p.path()), @r###"
    Plan (dry run: nothing remote was changed)
      legend: + create  ~ update  - delete  > run  ^ upload
      push: would change (2 changes)
        + ECR repository codewarden/api: create (scan on push, mutable tags)
        ^ 127.0.0.1:[PORT]/codewarden/api:v1: push (new tag)
    Verdict: would change (dry run)
    "###);
    let r = gantry().args(["push", "--format", "github"]).run().code(0);
    assert!(
        r.commands("::add-mask::").len() >= 2,
        "the ECR password is masked:\n{}",
        r.stdout
    );
    assert!(
        registry
            .manifest_digest("codewarden/api", "v1", None)
            .is_some()
    );
    // The repository now exists in (moto's) ECR: nothing left to create.
    let r = gantry().args(["push", "--dry-run"]).run().code(0);
    assert!(!r.stdout.contains("ECR repository"), "{}", r.stdout);

    // Without create-repository a missing repository is a usage error.
    p.write("gantry.toml", "[images.api]\ncontext = \"api\"\nrepository = \"codewarden/other\"\nregistry = \"ecr\"\ntags = [\"raw:v1\"]\n");
    gantry().args(["build"]).run().code(0);
    let r = gantry().args(["push"]).run().code(2);
    assert!(
        r.stderr
            .contains("ECR repository `codewarden/other` does not exist"),
        "{}",
        r.stderr
    );
}
