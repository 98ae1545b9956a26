//! `gantry build` against the real Docker Engine.

use crate::support::scrub::scrub;
use crate::support::services::{
    busybox_image, docker, docker_available, image_files, label_in, remove_images, system_docker,
};
use crate::support::{Project, Runner};
use serde_json::json;

/// A unique repository name per test, so parallel tests never share images.
fn repo(test: &str) -> String {
    format!("gantry-test/{test}-{}", std::process::id())
}

fn cleanup(repo: &str) {
    remove_images(&system_docker, repo);
}

fn label(image: &str, key: &str) -> String {
    label_in(&system_docker, image, key)
}

#[test]
fn a_scratch_image_gets_the_context_files_tags_and_oci_labels() {
    if !docker_available() {
        return;
    }
    let repo = repo("scratch");
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!("[images.web]\ncontext = \"web\"\nrepository = \"{repo}\"\nlabels = {{ \"com.codewarden.team\" = \"web\" }}\n"),
    );
    p.write("web/Dockerfile", "FROM scratch\nCOPY . /site/\n");
    p.write("web/.dockerignore", "*.log\ndrafts\n!drafts/keep.html\n");
    p.write("web/index.html", "<h1>hi</h1>");
    p.write("web/debug.log", "noise");
    p.write("web/drafts/old.html", "");
    p.write("web/drafts/keep.html", "");
    let sha = p.commit("web");
    // A remote that is not on GitHub names no source repository.
    p.git(&[
        "remote",
        "add",
        "origin",
        "git@gitlab.com:codewarden/web.git",
    ]);
    let r = p.gantry().args(["build", "--format", "json"]).run().code(0);
    let doc = r.json();
    let tag = format!("{repo}:sha-{}", &sha[..7]);
    assert_eq!(
        doc["detail"]["images"][0]["tags"],
        json!([tag.clone(), format!("{repo}:main")])
    );
    assert_eq!(
        image_files(&tag),
        [
            "site/.dockerignore",
            "site/Dockerfile",
            "site/drafts/keep.html",
            "site/index.html"
        ]
    );
    assert_eq!(label(&tag, "org.opencontainers.image.revision"), sha);
    assert_eq!(label(&tag, "org.opencontainers.image.title"), "web");
    assert_eq!(label(&tag, "org.opencontainers.image.source"), "");
    assert_eq!(label(&tag, "com.codewarden.team"), "web");
    let id = doc["outputs"]["image-web-id"].as_str().unwrap().to_string();
    assert_eq!(
        docker(&[
            "image",
            "inspect",
            "--format",
            "{{.Id}}",
            &format!("{repo}:main")
        ]),
        id
    );
    let state: serde_json::Value = serde_json::from_str(&p.read(".gantry/state.json")).unwrap();
    assert_eq!(
        state["steps"]["build"]["outputs"]["image-web-id"],
        id.as_str()
    );
    cleanup(&repo);
}

#[test]
fn multi_stage_builds_use_build_args_targets_and_a_dockerfile_outside_the_context() {
    if !docker_available() {
        return;
    }
    let base = busybox_image();
    let repo = repo("stages");
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!(
            "[images.tool]\ncontext = \"src\"\ndockerfile = \"docker/tool.Dockerfile\"\nrepository = \"{repo}-tool\"\ntarget = \"build\"\nbuild-args = {{ GREETING = \"hello from gantry\" }}\ntags = [\"raw:t\"]\n\n[images.final]\ncontext = \"src\"\ndockerfile = \"docker/tool.Dockerfile\"\nrepository = \"{repo}-final\"\nbuild-args = {{ GREETING = \"final\" }}\ntags = [\"raw:t\"]\n"
        ),
    );
    p.write(
        "docker/tool.Dockerfile",
        &format!("FROM {base} AS build\nARG GREETING=unset\nCOPY input.txt /input.txt\nRUN echo \"$GREETING\" > /greeting && cat /input.txt >> /greeting\n\nFROM scratch\nCOPY --from=build /greeting /greeting\n"),
    );
    p.write("src/input.txt", "input line\n");
    p.commit("stages");
    let r = p.gantry().args(["build", "--jobs", "2"]).run().code(0);
    assert!(
        r.stderr.contains("✓ tool built") && r.stderr.contains("✓ final built"),
        "{}",
        r.stderr
    );
    let out = docker(&["run", "--rm", &format!("{repo}-tool:t"), "cat", "/greeting"]);
    assert_eq!(out, "hello from gantry\ninput line");
    assert_eq!(image_files(&format!("{repo}-final:t")), ["greeting"]);
    cleanup(&format!("{repo}-tool"));
    cleanup(&format!("{repo}-final"));
}

#[test]
fn a_failing_step_is_annotated_on_its_dockerfile_line() {
    if !docker_available() {
        return;
    }
    let base = busybox_image();
    let repo = repo("failing");
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!("[images.api]\ncontext = \"api\"\nrepository = \"{repo}\"\n"),
    );
    p.write(
        "api/Dockerfile",
        &format!("FROM {base}\nRUN echo preparing\n\nRUN echo about to fail && \\\n    exit 7\n"),
    );
    let sha = p.commit("api");
    let runner = Runner::new();
    let r = p
        .gantry()
        .args(["build"])
        .envs(runner.env("push", json!({"before": sha}), &sha))
        // The classic builder's messages; BuildKit's: tests/integration/buildkit.rs.
        .env("GANTRY_BUILDER", "classic")
        .run()
        .code(1);
    let errors = r.commands("::error");
    assert_eq!(errors.len(), 1, "{}", r.stdout);
    assert!(
        errors[0]
            .starts_with("::error file=api/Dockerfile,line=4,title=api%3A build step 3 failed::"),
        "{errors:?}"
    );
    assert!(
        errors[0].contains("returned a non-zero code: 7"),
        "{errors:?}"
    );
    assert!(
        r.stdout.contains("about to fail"),
        "the step's output is shown:\n{}",
        r.stdout
    );
    assert!(
        runner.summary().contains("| api | ❌"),
        "{}",
        runner.summary()
    );
    assert_eq!(runner.outputs()["build-verdict"], "failed");
    cleanup(&repo);
}

#[test]
fn a_dockerfile_syntax_error_is_bad_input_with_its_line() {
    if !docker_available() {
        return;
    }
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[images.api]\ncontext = \".\"\nrepository = \"gantry-test/syntax\"\n",
    );
    p.write("Dockerfile", "FROM scratch\nCOPPY . /\n");
    let r = p.gantry().args(["build"]).run().code(2);
    assert!(r.stderr.contains("Dockerfile:2: "), "{}", r.stderr);
    assert!(r.stderr.contains("COPPY"), "{}", r.stderr);
}

#[test]
fn configuration_mistakes_are_located_before_any_build() {
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[images.api]\ncontext = \"api\"\nrepository = \"x/api\"\n",
    );
    p.write("api/app.py", "");
    let r = p.gantry().args(["build"]).run().code(2);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    error: [PROJECT]/gantry.toml:2:11: images.api: no Dockerfile at [PROJECT]/api/Dockerfile
      |
    2 | context = "api"
      |           ^
    hint: set `dockerfile` (relative to gantry.toml) or add <context>/Dockerfile
    "###);

    p.write(
        "gantry.toml",
        "[images.api]\ncontext = \"nowhere\"\nrepository = \"x/api\"\n",
    );
    let r = p.gantry().args(["build"]).run().code(2);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    error: [PROJECT]/gantry.toml:2:11: images.api.context: `nowhere` is not a directory
      |
    2 | context = "nowhere"
      |           ^
    hint: the build context is a directory, relative to gantry.toml
    "###);

    std::os::unix::fs::symlink("loop", p.path().join("loop")).unwrap();
    p.write(
        "gantry.toml",
        "[images.api]\ncontext = \"loop\"\nrepository = \"x/api\"\n",
    );
    let r = p.gantry().args(["build"]).run().code(2);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    error: [PROJECT]/gantry.toml:2:11: images.api.context: `loop` is not a directory
      |
    2 | context = "loop"
      |           ^
    hint: the build context is a directory, relative to gantry.toml
    "###);

    p.write("api/Dockerfile", "FROM scratch\n");
    p.write(
        "gantry.toml",
        "[images.api]\ncontext = \"api\"\nrepository = \"X/Api\"\n",
    );
    let r = p.gantry().args(["build"]).run().code(2);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    error: [PROJECT]/gantry.toml:3:14: images.api.repository: `X/Api` is not a valid repository name
      |
    3 | repository = "X/Api"
      |              ^
    hint: use lower-case letters, digits and `.`, `_`, `-`, separated by `/`, e.g. `codewarden/api`
    "###);

    p.write(
        "gantry.toml",
        "[images.api]\ncontext = \"api\"\nrepository = \"x/api\"\ntags = [\"sha\", \"semvar\"]\n",
    );
    let r = p.gantry().args(["build"]).run().code(2);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    error: [PROJECT]/gantry.toml:4:16: images.api.tags: unknown tag rule `semvar`; valid rules: sha, branch, tag, semver, pr, latest, raw:<value>
      |
    4 | tags = ["sha", "semvar"]
      |                ^
    hint: see the README's tag rules
    "###);
}

#[test]
fn an_engine_that_does_not_answer_is_an_outside_failure() {
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[images.api]\ncontext = \".\"\nrepository = \"x/api\"\n",
    );
    p.write("Dockerfile", "FROM scratch\n");
    let r = p
        .gantry()
        .args(["build"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .run()
        .code(3);
    assert!(
        r.stderr
            .contains("the engine at unix:///nonexistent/docker.sock does not answer"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("hint: start Docker"), "{}", r.stderr);
}

#[test]
fn likely_secrets_in_the_context_are_warned_about() {
    if !docker_available() {
        return;
    }
    let repo = repo("secrets");
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!("[images.api]\ncontext = \"api\"\nrepository = \"{repo}\"\n"),
    );
    p.write("api/Dockerfile", "FROM scratch\nCOPY . /\n");
    p.write("api/.env", "STRIPE_KEY=x\n");
    p.write("api/.env.example", "STRIPE_KEY=\n");
    p.write("api/.dockerignore", "*.pem\n");
    p.write("api/server.pem", "-----BEGIN");
    let r = p
        .gantry()
        .args(["build", "--format", "github"])
        .run()
        .code(0);
    assert_eq!(
        r.commands("::warning"),
        [
            "::warning file=api/.env,title=api%3A build context::.env looks like a secret and was sent to the Docker Engine: add it to .dockerignore"
        ]
    );
    cleanup(&repo);
}

#[test]
fn rebuilding_the_same_commit_gives_the_same_image() {
    if !docker_available() {
        return;
    }
    let repo = repo("reproducible");
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!("[images.api]\ncontext = \"api\"\nrepository = \"{repo}\"\n"),
    );
    p.write("api/Dockerfile", "FROM scratch\nCOPY . /app/\n");
    p.write("api/main.py", "print('hi')\n");
    p.commit("api");
    let first = p
        .gantry()
        .args(["build", "--format", "json"])
        .run()
        .code(0)
        .json();
    let second = p
        .gantry()
        .args(["build", "--format", "json"])
        .run()
        .code(0)
        .json();
    // `created` is the commit's time, so the cached build keeps its id and a
    // re-run of push finds nothing to do.
    assert_eq!(
        first["outputs"]["image-api-id"],
        second["outputs"]["image-api-id"]
    );
    let created = label(
        first["outputs"]["image-api-id"].as_str().unwrap(),
        "org.opencontainers.image.created",
    );
    assert_eq!(created, p.git(&["show", "-s", "--format=%cI", "HEAD"]));
    cleanup(&repo);
}

#[test]
fn the_generated_dockerfile_never_lands_in_the_image() {
    if !docker_available() {
        return;
    }
    let repo = repo("generated");
    let p = Project::new();
    // Labels travel in a generated Dockerfile; with `COPY .` neither it nor a
    // Dockerfile outside the context may end up in the image.
    p.write(
        "gantry.toml",
        &format!("[images.a]\ncontext = \"app\"\nrepository = \"{repo}-a\"\ntags = [\"raw:t\"]\n\n[images.b]\ncontext = \"app2\"\ndockerfile = \"docker/b.Dockerfile\"\nrepository = \"{repo}-b\"\ntags = [\"raw:t\"]\n"),
    );
    p.write("app/Dockerfile", "FROM scratch\nCOPY . /ctx/\n");
    p.write("app/.dockerignore", "Dockerfile\n");
    p.write("app/main.py", "");
    p.write("docker/b.Dockerfile", "FROM scratch\nCOPY . /ctx/\n");
    p.write("app2/main.py", "");
    p.commit("two");
    // The classic builder's generated Dockerfile; BuildKit's labels: tests/integration/buildkit.rs.
    p.gantry()
        .args(["build"])
        .env("GANTRY_BUILDER", "classic")
        .run()
        .code(0);
    // As with the Docker CLI: the excluded Dockerfile is gone, the
    // .dockerignore (not excluded) stays; nothing of gantry's is left.
    assert_eq!(
        image_files(&format!("{repo}-a:t")),
        ["ctx/.dockerignore", "ctx/main.py"]
    );
    // No .dockerignore in the context: none appears in the image either.
    assert_eq!(image_files(&format!("{repo}-b:t")), ["ctx/main.py"]);
    assert_eq!(
        label(&format!("{repo}-b:t"), "org.opencontainers.image.title"),
        "b"
    );
    // One LABEL step for all labels: FROM scratch + COPY + LABEL.
    let history = docker(&["history", "-q", &format!("{repo}-a:t")]);
    assert_eq!(history.lines().count(), 2, "{history}");
    cleanup(&format!("{repo}-a"));
    cleanup(&format!("{repo}-b"));
}

/// What a user reads after a build: the aligned image table and the verdict.
#[test]
fn the_image_table_lines_up() {
    if !docker_available() {
        return;
    }
    let (web, api) = (repo("table-web"), repo("table-api-longer-name"));
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!(
            "[images.web]\ncontext = \"web\"\nrepository = \"{web}\"\n\n[images.api-server]\ncontext = \"api\"\nrepository = \"{api}\"\n"
        ),
    );
    p.write("web/Dockerfile", "FROM scratch\nCOPY . /site/\n");
    p.write("web/index.html", "<h1>hi</h1>");
    p.write("api/Dockerfile", "FROM scratch\nCOPY . /app/\n");
    p.write("api/main.py", "print('hi')\n");
    p.commit("images");
    let r = p.gantry().args(["build", "--jobs", "1"]).run().code(0);
    let shown = crate::support::scrub::scrub(&r.stdout, &p.path())
        .replace(&web, "[WEB]")
        .replace(&api, "[API]");
    cleanup(&web);
    cleanup(&api);
    insta::assert_snapshot!(shown, @r###"
    image       result  id            tags
    web         built   [ID]  [WEB]:sha-[SHORT], [WEB]:main
    api-server  built   [ID]  [API]:sha-[SHORT], [API]:main
    Verdict: passed
    "###);
}

/// A Dockerfile without FROM was exit 3 (an engine failure, no line) on the
/// classic builder; it is bad input at the file, as on the BuildKit path.
#[test]
fn a_dockerfile_without_from_is_exit_2_at_the_file_on_the_classic_builder() {
    if !docker_available() {
        return;
    }
    let repo = repo("nofrom");
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!("[images.api]\ncontext = \"api\"\nrepository = \"{repo}\"\n"),
    );
    p.write("api/Dockerfile", "# no base\nRUN echo hi\n");
    let r = p
        .gantry()
        .args(["build"])
        .env("GANTRY_BUILDER", "classic")
        .run()
        .code(2);
    assert!(
        r.stderr.contains("Dockerfile:2") && r.stderr.contains("a Dockerfile starts with FROM"),
        "{}",
        r.stderr
    );
}

/// Without gantry.toml, `build` used to stop at "no gantry.toml"; a
/// `./Dockerfile` is one image named after the directory, with a note.
#[test]
fn without_a_configuration_the_dockerfile_is_built_as_the_directory_name() {
    if !docker_available() {
        return;
    }
    let p = Project::new();
    p.write("Dockerfile", "FROM scratch\nCOPY a.txt /a.txt\n");
    p.write("a.txt", "a\n");
    let name = gantry::settings::default_image_name(&p.path().canonicalize().unwrap());
    let r = p.gantry().args(["build", "--format", "json"]).run();
    cleanup(&name);
    let r = r.code(0);
    assert!(
        r.stderr.contains(&format!(
            "no gantry.toml found: using defaults (./Dockerfile is image `{name}`)"
        )),
        "{}",
        r.stderr
    );
    assert_eq!(r.json()["verdict"], "passed");
    // A command that needs configuration still says so.
    let r = p.gantry().args(["push"]).run().code(2);
    assert!(r.stderr.contains("no gantry.toml in"), "{}", r.stderr);
}
