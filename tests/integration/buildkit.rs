//! `gantry build` with BuildKit, on the system engine (20.10) and on the
//! second engine (Docker 26 with the containerd image store,
//! `tests/support/dockerd.rs`).

use crate::support::dockerd::{self, Engine26, engine26, engine26_containerd};
use crate::support::services::{
    Registry, busybox_image, docker, docker_available, files_in, label_in, read_in, remove_images,
    system_docker,
};
use crate::support::{Gantry, Project, Runner};
use std::process::Command;

/// The engine a test builds on.
#[derive(Clone, Copy)]
enum On {
    System,
    Docker26(&'static Engine26),
}

impl On {
    fn system() -> Option<On> {
        docker_available().then_some(On::System)
    }

    fn docker26() -> Option<On> {
        engine26().map(On::Docker26)
    }

    fn base(self) -> &'static str {
        match self {
            On::System => busybox_image(),
            On::Docker26(_) => dockerd::BUSYBOX,
        }
    }

    fn docker(self, args: &[&str]) -> String {
        match self {
            On::System => docker(args),
            On::Docker26(e) => e.docker(args),
        }
    }

    fn command(self, args: &[&str]) -> Command {
        match self {
            On::System => system_docker(args),
            On::Docker26(e) => e.command(args),
        }
    }

    fn gantry(self, p: &Project) -> Gantry {
        let g = p.gantry();
        match self {
            On::System => g,
            On::Docker26(e) => g.env("DOCKER_HOST", &e.host),
        }
    }

    /// Files and links of an image (see `services::files_in`).
    fn files(self, image: &str) -> Vec<String> {
        files_in(&|args| self.command(args), image)
    }

    /// A file's text in an image, trimmed.
    fn read(self, image: &str, path: &str) -> String {
        read_in(&|args| self.command(args), image, path)
    }

    fn label(self, image: &str, key: &str) -> String {
        label_in(&|args| self.command(args), image, key)
    }

    fn cleanup(self, repo: &str) {
        remove_images(&|args| self.command(args), repo);
    }
}

/// The tests on Docker 26 run one at a time: the cold-cache test prunes that
/// engine's build cache, which others expect to hit.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn repo(test: &str) -> String {
    format!("gantry-test/bk-{test}-{}", std::process::id())
}

/// A value no file of the test contains, so finding it anywhere is a leak.
fn secret_value() -> String {
    format!(
        "s3cr3t-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

fn secrets_cache_and_labels(on: On, name: &str) {
    let repo = repo(name);
    let secret = secret_value();
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!(
            "[images.api]\ncontext = \"api\"\nrepository = \"{repo}\"\ntags = [\"raw:t\", \"sha\"]\nlabels = {{ \"com.codewarden.team\" = \"api\" }}\nsecrets = {{ token = {{ env = \"API_TOKEN\" }}, file-secret = {{ file = \"token.txt\" }} }}\n"
        ),
    );
    p.write("token.txt", "from-a-file");
    p.write(
        "api/Dockerfile",
        &format!(
            "FROM {}\nRUN --mount=type=cache,target=/cache echo warm > /cache/x && cat /cache/x\nRUN --mount=type=secret,id=token echo {nonce} && cat /run/secrets/token && wc -c < /run/secrets/token > /token-length\nRUN --mount=type=secret,id=file-secret,required=true cat /run/secrets/file-secret > /from-file\nCOPY . /app/\n",
            on.base(),
            // A step never built before, so it runs (and prints the secret).
            nonce = secret_value().replace("s3cr3t", "run"),
        ),
    );
    p.write("api/.dockerignore", "*.log\n");
    p.write("api/main.py", "print('hi')\n");
    p.write("api/debug.log", "noise");
    let sha = p.commit("api");
    let image = format!("{repo}:t");
    let runner = Runner::new();
    let mut outputs = String::new();
    for format in ["human", "json", "github"] {
        let r = on
            .gantry(&p)
            .args(["build", "-v", "--format", format])
            .envs(runner.env("push", serde_json::json!({}), &sha))
            .env("API_TOKEN", &secret)
            .run()
            .code(0);
        // `::add-mask::` is how the runner learns what to hide.
        for line in r.all().lines().filter(|l| !l.starts_with("::add-mask::")) {
            outputs.push_str(line);
            outputs.push('\n');
        }
    }
    // The step printed the secret: the printer hid it in every format.
    assert!(!outputs.contains(&secret), "{outputs}");
    assert!(outputs.contains("***"), "{outputs}");
    assert!(
        outputs.contains("CACHED"),
        "a rebuild takes steps from the cache: {outputs}"
    );
    // The step saw the value (its length), and the file secret.
    let length = on.read(&image, "/token-length");
    assert_eq!(length.trim(), secret.len().to_string());
    assert_eq!(on.read(&image, "/from-file"), "from-a-file");
    // Nowhere in the image, its history, the state or the outputs.
    let saved = on.command(&["save", &image]).output().unwrap().stdout;
    assert!(
        !saved.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the secret is in `docker save`"
    );
    let history = on.docker(&["history", "--no-trunc", &image]);
    assert!(!history.contains(&secret), "{history}");
    let state = runner.state();
    assert!(state.contains("image-api-id"), "{state}");
    assert!(!state.contains(&secret), "{state}");
    assert!(!runner.outputs_text().contains(&secret));
    assert!(!runner.summary().contains(&secret));
    // Labels through the API, tags as with the classic builder, the context
    // filtered by .dockerignore and no generated file in the image.
    assert_eq!(on.label(&image, "org.opencontainers.image.revision"), sha);
    assert_eq!(on.label(&image, "org.opencontainers.image.title"), "api");
    assert_eq!(on.label(&image, "com.codewarden.team"), "api");
    on.docker(&["image", "inspect", &format!("{repo}:sha-{}", &sha[..7])]);
    let files: Vec<String> = on
        .files(&image)
        .into_iter()
        .filter(|f| f.starts_with("app/"))
        .collect();
    assert_eq!(
        files,
        ["app/.dockerignore", "app/Dockerfile", "app/main.py"],
        "no .gantry.Dockerfile or other generated file"
    );
    on.cleanup(&repo);
}

#[test]
fn secrets_cache_mounts_and_labels_on_the_system_engine() {
    if let Some(on) = On::system() {
        secrets_cache_and_labels(on, "secrets");
    }
}

#[test]
fn secrets_cache_mounts_and_labels_on_docker_26() {
    let _serial = one_at_a_time();
    if let Some(on) = On::docker26() {
        secrets_cache_and_labels(on, "secrets26");
    }
}

fn failing_run(on: On, name: &str) {
    let repo = repo(name);
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!("[images.api]\ncontext = \"api\"\nrepository = \"{repo}\"\n"),
    );
    p.write(
        "api/Dockerfile",
        &format!(
            "FROM {} AS build\nRUN echo preparing\n\nRUN echo about to fail && \\\n    exit 7\n",
            on.base()
        ),
    );
    let sha = p.commit("api");
    let runner = Runner::new();
    let r = on
        .gantry(&p)
        .args(["build"])
        .envs(runner.env("push", serde_json::json!({}), &sha))
        .run()
        .code(1);
    let errors = r.commands("::error");
    assert_eq!(errors.len(), 1, "{}", r.stdout);
    assert!(
        errors[0]
            .starts_with("::error file=api/Dockerfile,line=4,title=api%3A build step 3 failed::"),
        "{errors:?}"
    );
    assert!(errors[0].contains("exit code: 7"), "{errors:?}");
    assert!(r.stdout.contains("about to fail"), "{}", r.stdout);
    assert_eq!(runner.outputs()["build-verdict"], "failed");
    on.cleanup(&repo);
}

#[test]
fn a_failing_run_is_annotated_at_its_line_on_the_system_engine() {
    if let Some(on) = On::system() {
        failing_run(on, "failing");
    }
}

#[test]
fn a_failing_run_is_annotated_at_its_line_on_docker_26() {
    let _serial = one_at_a_time();
    if let Some(on) = On::docker26() {
        failing_run(on, "failing26");
    }
}

#[test]
fn a_missing_secret_is_bad_usage_naming_it() {
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[images.api]\ncontext = \"api\"\nrepository = \"x/api\"\nsecrets = { npm-token = { env = \"NPM_TOKEN\" } }\n",
    );
    p.write("api/Dockerfile", "FROM scratch\n");
    let r = p.gantry().args(["build"]).run().code(2);
    assert!(
        r.stderr
            .contains("build secret `npm-token` needs NPM_TOKEN"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_multi_platform_image_is_refused_clearly_where_the_engine_cannot_make_one() {
    // The system engine (20.10) keeps images in its classic store.
    let Some(on) = On::system() else { return };
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[images.api]\ncontext = \"api\"\nrepository = \"x/api\"\nplatforms = [\"linux/amd64\", \"linux/arm64\"]\n",
    );
    p.write("api/Dockerfile", "FROM scratch\n");
    let r = on.gantry(&p).args(["build"]).run().code(2);
    assert!(
        r.stderr.contains(
            "multi-platform image (linux/amd64,linux/arm64) needs BuildKit on an engine with the containerd image store"
        ),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("containerd-snapshotter"), "{}", r.stderr);
}

#[test]
fn a_two_platform_image_is_pushed_as_one_index_on_docker_26() {
    let _serial = one_at_a_time();
    let Some(engine) = engine26_containerd() else {
        return;
    };
    let on = On::Docker26(engine);
    let registry = engine.registry(None);
    let host = registry.host.clone();
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!(
            "[images.multi]\ncontext = \"app\"\nrepository = \"team/multi\"\nregistry = \"{host}\"\ntags = [\"raw:1\"]\nplatforms = [\"linux/amd64\", \"linux/arm64\"]\n"
        ),
    );
    // No RUN: nothing to emulate for the foreign platform.
    p.write(
        "app/Dockerfile",
        "FROM scratch\nARG TARGETPLATFORM\nCOPY hello.txt /\nLABEL built.for=$TARGETPLATFORM\n",
    );
    p.write("app/hello.txt", "hello\n");
    p.commit("app");
    let built = on
        .gantry(&p)
        .args(["build", "--format", "json"])
        .run()
        .code(0)
        .json();
    assert_eq!(
        built["detail"]["images"][0]["builder"], "buildkit",
        "{built}"
    );
    let pushed = on
        .gantry(&p)
        .args(["push", "--format", "json"])
        .run()
        .code(0);
    let accept = "Accept: application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json";
    let (code, body) = registry
        .get_as("/v2/team/multi/manifests/1", None, &[accept])
        .unwrap();
    assert_eq!(code, 200, "{body}");
    let index: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut platforms: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["platform"]["os"] != "unknown")
        .map(|m| {
            format!(
                "{}/{}",
                m["platform"]["os"].as_str().unwrap(),
                m["platform"]["architecture"].as_str().unwrap()
            )
        })
        .collect();
    platforms.sort();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"], "{body}");
    // The one digest gantry reports is the index's.
    let mut c = std::process::Command::new("sha256sum");
    c.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), body.as_bytes()).unwrap();
    let sum = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    let digest = format!("sha256:{}", sum.split_whitespace().next().unwrap());
    assert!(
        pushed.stdout.contains(&digest),
        "{digest} not in {}",
        pushed.stdout
    );
    let _ = on
        .command(&["rmi", "-f", "team/multi:1", &format!("{host}/team/multi:1")])
        .output();
}

#[test]
fn a_registry_cache_exported_with_mode_max_serves_a_cold_build_on_docker_26() {
    let _serial = one_at_a_time();
    let Some(engine) = engine26_containerd() else {
        return;
    };
    let on = On::Docker26(engine);
    let registry = engine.registry(None);
    let host = registry.host.clone();
    let cache = format!("{host}/team/regcache:buildcache");
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!(
            "[images.app]\ncontext = \"app\"\nrepository = \"team/regcache\"\ntags = [\"raw:1\"]\ncache-to = [\"type=registry,ref={cache},mode=max\"]\ncache-from = [\"type=registry,ref={cache}\"]\n"
        ),
    );
    // Two stages: with mode=max the first stage's steps are cached too.
    p.write(
        "app/Dockerfile",
        &format!(
            "FROM {base} AS build\nRUN echo {nonce} > /a\n\nFROM {base}\nCOPY --from=build /a /a\nRUN echo two > /b\n",
            base = on.base(),
            nonce = secret_value().replace("s3cr3t", "regcache")
        ),
    );
    p.commit("app");
    let cached = |text: &str, step: &str| {
        text.lines()
            .any(|l| l.contains(" CACHED [") && l.contains(step))
    };
    let first = on.gantry(&p).args(["build", "-v"]).run().code(0);
    assert!(
        !cached(&first.stderr, "RUN echo regcache-"),
        "{}",
        first.stderr
    );
    assert!(
        !first.stderr.contains("is not exported"),
        "{}",
        first.stderr
    );
    // The cache is in the registry, not in an image.
    let (code, body) = registry
        .get_as(
            "/v2/team/regcache/manifests/buildcache",
            None,
            &["Accept: application/vnd.oci.image.index.v1+json"],
        )
        .unwrap();
    assert_eq!(code, 200, "{body}");
    // A fresh runner: no image, no build cache; only the registry has it.
    on.docker(&["rmi", "-f", "team/regcache:1"]);
    on.docker(&["builder", "prune", "-af"]);
    let cold = on.gantry(&p).args(["build", "-v"]).run().code(0);
    assert!(
        cached(&cold.stderr, "RUN echo regcache-") && cached(&cold.stderr, "RUN echo two"),
        "{}",
        cold.stderr
    );
    let _ = on.command(&["rmi", "-f", "team/regcache:1"]).output();
}

#[test]
fn a_cache_export_the_engine_cannot_make_is_said_once_and_the_build_goes_on() {
    let Some(on) = On::system() else { return };
    let repo = repo("noexport");
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!(
            "[images.app]\ncontext = \"app\"\nrepository = \"{repo}\"\ntags = [\"raw:t\"]\ncache-to = [\"type=registry,ref=127.0.0.1:9/x:cache,mode=max\"]\n"
        ),
    );
    p.write("app/Dockerfile", "FROM scratch\nCOPY a.txt /\n");
    p.write("app/a.txt", "a");
    p.commit("app");
    let r = on.gantry(&p).args(["build"]).run().code(0);
    assert_eq!(
        r.stderr.matches("is not exported").count(),
        1,
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("containerd image store"), "{}", r.stderr);
    on.cleanup(&repo);
}

#[test]
fn a_dockerfile_without_from_is_bad_input_at_its_line() {
    let Some(on) = On::system() else { return };
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[images.api]\ncontext = \"api\"\nrepository = \"gantry-test/nofrom\"\n",
    );
    p.write("api/Dockerfile", "# no base\n\nRUN echo hi\n");
    let r = on.gantry(&p).args(["build"]).run().code(2);
    assert!(r.stderr.contains("Dockerfile:3"), "{}", r.stderr);
}

#[test]
fn heredocs_and_copy_link_on_docker_26() {
    let _serial = one_at_a_time();
    let Some(on) = On::docker26() else { return };
    let repo = repo("heredoc");
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!("[images.app]\ncontext = \"app\"\nrepository = \"{repo}\"\ntags = [\"raw:t\"]\n"),
    );
    p.write(
        "app/Dockerfile",
        &format!(
            "FROM {}\nRUN <<EOF\necho one > /heredoc\necho two >> /heredoc\nEOF\nCOPY <<EOF /greeting\nhello\nEOF\nCOPY --link main.py /app/\n",
            on.base()
        ),
    );
    p.write("app/main.py", "print('hi')\n");
    p.commit("app");
    let r = on.gantry(&p).args(["build"]).run().code(0);
    assert!(r.stderr.contains("✓ app built"), "{}", r.stderr);
    let image = format!("{repo}:t");
    assert_eq!(on.read(&image, "/heredoc"), "one\ntwo");
    assert_eq!(on.read(&image, "/greeting"), "hello");
    assert_eq!(on.read(&image, "/app/main.py"), "print('hi')");
    on.cleanup(&repo);
}

#[test]
fn buildkit_reads_the_context_on_the_containerd_image_store() {
    // The Engine API's tar context does not reach BuildKit there
    // (moby/moby#47717); the session's filesync does.
    let _serial = one_at_a_time();
    let Some(engine) = engine26_containerd() else {
        return;
    };
    let on = On::Docker26(engine);
    let repo = repo("c8d");
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!("[images.a]\ncontext = \"a\"\nrepository = \"{repo}-a\"\ntags = [\"raw:t\"]\n\n[images.b]\ncontext = \"a\"\nrepository = \"{repo}-b\"\ntags = [\"raw:t\"]\n"),
    );
    p.write(
        "a/Dockerfile",
        &format!(
            "FROM {}\nCOPY data.txt /data.txt\nRUN cat /data.txt > /x\n",
            on.base()
        ),
    );
    p.write("a/data.txt", "from the context");
    p.commit("a");
    let doc = on
        .gantry(&p)
        .args(["build", "--format", "json"])
        .run()
        .code(0);
    assert!(!doc.stderr.contains("classic builder"), "{}", doc.stderr);
    let doc = doc.json();
    for image in doc["detail"]["images"].as_array().unwrap() {
        assert_eq!(image["builder"], "buildkit", "{doc}");
    }
    assert_eq!(on.read(&format!("{repo}-b:t"), "/x"), "from the context");
    on.cleanup(&format!("{repo}-a"));
    on.cleanup(&format!("{repo}-b"));
}

/// A Dockerfile (and `.dockerignore`) that `.dockerignore` excludes still
/// builds, and is not in the image through `COPY .`.
fn excluded_dockerfile(on: On, name: &str) {
    let repo = repo(name);
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!("[images.app]\ncontext = \"app\"\nrepository = \"{repo}\"\ntags = [\"raw:t\"]\n"),
    );
    p.write("app/Dockerfile", "FROM scratch\nCOPY . /app/\n");
    p.write("app/.dockerignore", "Dockerfile\n.dockerignore\n*.log\n");
    p.write("app/main.py", "print('hi')\n");
    p.write("app/debug.log", "noise");
    p.commit("app");
    on.gantry(&p).args(["build"]).run().code(0);
    let files: Vec<String> = on
        .files(&format!("{repo}:t"))
        .into_iter()
        .filter(|f| !f.starts_with("dev/"))
        .collect();
    assert_eq!(files, ["app/main.py"]);
    on.cleanup(&repo);
}

#[test]
fn an_excluded_dockerfile_builds_and_stays_out_of_the_image_on_the_system_engine() {
    if let Some(on) = On::system() {
        excluded_dockerfile(on, "exclude");
    }
}

#[test]
fn an_excluded_dockerfile_builds_and_stays_out_of_the_image_on_docker_26() {
    let _serial = one_at_a_time();
    if let Some(on) = On::docker26() {
        excluded_dockerfile(on, "exclude26");
    }
}

/// What `-v` says BuildKit fetched of the context: (fetched, listed).
fn fetched(stderr: &str) -> (u64, u64) {
    let line = stderr
        .lines()
        .find_map(|l| l.split_once("context: BuildKit fetched ").map(|(_, r)| r))
        .unwrap_or_else(|| panic!("no fetched line in {stderr}"));
    let mut numbers = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .map(|w| w.parse::<u64>().unwrap());
    (numbers.next().unwrap(), numbers.next().unwrap())
}

/// BuildKit fetches each file of a context once: the first build fetches
/// the context (and the Dockerfile, and `.dockerignore` for the load that
/// reads it alone), a rebuild of the unchanged directory fetches at most
/// the Dockerfile and `.dockerignore` (BuildKit 0.10+ loads both anew).
fn a_rebuild_fetches_nothing(on: On, name: &str) {
    let repo = repo(name);
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!("[images.app]\ncontext = \"app\"\nrepository = \"{repo}\"\ntags = [\"raw:t\"]\n"),
    );
    p.write("app/Dockerfile", "FROM scratch\nCOPY . /app/\n");
    p.write("app/.dockerignore", "*.log\n");
    for i in 0..30 {
        p.write(&format!("app/src/f{i:02}.txt"), &i.to_string());
    }
    p.write("app/debug.log", "noise");
    p.commit("app");
    let first = on.gantry(&p).args(["build", "-v"]).run().code(0);
    let (cold, listed) = fetched(&first.stderr);
    assert_eq!(listed, 32, "{}", first.stderr);
    assert!(cold <= listed + 2, "{}", first.stderr);
    let again = on.gantry(&p).args(["build", "-v"]).run().code(0);
    let (cached, _) = fetched(&again.stderr);
    assert!(cached <= 2, "{}", again.stderr);
    on.cleanup(&repo);
}

#[test]
fn a_rebuild_fetches_no_file_of_the_context_on_the_system_engine() {
    if let Some(on) = On::system() {
        a_rebuild_fetches_nothing(on, "refetch");
    }
}

#[test]
fn a_rebuild_fetches_no_file_of_the_context_on_docker_26() {
    let _serial = one_at_a_time();
    if let Some(on) = On::docker26() {
        a_rebuild_fetches_nothing(on, "refetch26");
    }
}

const USER: (&str, &str) = ("gantry", "Base-Pa55word-42");

/// `gantry.toml` for one image with the credentials of `registry`.
fn with_registry(image: &str, context: &str, repository: &str, registry: &str) -> String {
    format!(
        "[images.{image}]\ncontext = \"{context}\"\nrepository = \"{repository}\"\nregistry = \"{registry}\"\ntags = [\"raw:1\"]\n\n[registries.\"{registry}\"]\nusername-env = \"REG_USER\"\npassword-env = \"REG_PASSWORD\"\n"
    )
}

#[test]
fn a_private_base_image_is_pulled_with_the_configured_credentials() {
    let Some(on) = On::system() else { return };
    let Some(registry) = Registry::start(Some(USER)) else {
        return;
    };
    let host = registry.host.clone();
    let (base_repo, app_repo) = (repo("base"), repo("app"));
    let creds = |g: Gantry| g.env("REG_USER", USER.0).env("REG_PASSWORD", USER.1);
    // The base image, pushed to the protected registry by gantry itself.
    let base = Project::new();
    base.write(
        "gantry.toml",
        &with_registry("base", "base", &base_repo, &host),
    );
    base.write(
        "base/Dockerfile",
        &format!(
            "FROM {}\nRUN echo from-the-private-base > /base\n",
            on.base()
        ),
    );
    base.commit("base");
    creds(on.gantry(&base)).args(["build"]).run().code(0);
    creds(on.gantry(&base)).args(["push"]).run().code(0);
    let base_ref = format!("{host}/{base_repo}:1");
    // Only the registry has it now: the build must pull it.
    on.docker(&["rmi", "-f", &format!("{base_repo}:1")]);
    let _ = on.command(&["rmi", "-f", &base_ref]).output();
    let app = Project::new();
    app.write(
        "gantry.toml",
        &with_registry("app", "app", &app_repo, &host),
    );
    app.write(
        "app/Dockerfile",
        &format!("FROM {base_ref}\nRUN cat /base > /copied\n"),
    );
    app.commit("app");
    let r = app.gantry().args(["build"]).run().code(3);
    assert!(r.stderr.contains(&host), "{}", r.stderr);
    assert!(
        r.stderr.contains("[registries."),
        "the hint names the credentials: {}",
        r.stderr
    );
    let r = creds(on.gantry(&app)).args(["build"]).run().code(0);
    assert!(!r.all().contains(USER.1), "{}", r.all());
    assert_eq!(
        on.read(&format!("{app_repo}:1"), "/copied"),
        "from-the-private-base"
    );
    on.cleanup(&app_repo);
    let _ = on.command(&["rmi", "-f", &base_ref]).output();
}

#[test]
fn an_inline_cache_pushed_to_a_registry_serves_a_cold_build_on_docker_26() {
    let _serial = one_at_a_time();
    let Some(engine) = engine26() else { return };
    let on = On::Docker26(engine);
    let registry = engine.registry(None);
    let host = registry.host.clone();
    let image = format!("{host}/team/cached:1");
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!(
            "[images.app]\ncontext = \"app\"\nrepository = \"team/cached\"\nregistry = \"{host}\"\ntags = [\"raw:1\"]\ncache-to = [\"type=inline\"]\ncache-from = [\"type=registry,ref={image}\"]\n"
        ),
    );
    p.write(
        "app/Dockerfile",
        &format!(
            "FROM {}\nRUN echo {} > /a\nRUN echo two > /b\n",
            on.base(),
            secret_value().replace("s3cr3t", "cache")
        ),
    );
    p.commit("app");
    let first = on.gantry(&p).args(["build", "-v"]).run().code(0);
    let cached = |text: &str, step: &str| {
        text.lines()
            .any(|l| l.contains(" CACHED [") && l.contains(step))
    };
    assert!(
        !cached(&first.stderr, "RUN echo cache-"),
        "{}",
        first.stderr
    );
    on.gantry(&p).args(["push"]).run().code(0);
    // A fresh runner: no image, no build cache; only the registry has it.
    on.docker(&["rmi", "-f", "team/cached:1", &image]);
    on.docker(&["builder", "prune", "-af"]);
    let cold = on.gantry(&p).args(["build", "-v"]).run().code(0);
    assert!(
        cached(&cold.stderr, "RUN echo cache-") && cached(&cold.stderr, "RUN echo two"),
        "{}",
        cold.stderr
    );
    let _ = on.command(&["rmi", "-f", "team/cached:1", &image]).output();
}

/// What a BuildKit build puts in the image equals what the Docker CLI's
/// own build keeps (the oracle of tests/integration/dockerignore.rs).
fn dockerignore_matches_the_cli(on: On, name: &str) {
    let repo = repo(name);
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!(
            "[images.ctx]\ncontext = \"ctx\"\nrepository = \"{repo}\"\ntags = [\"raw:gantry\"]\n"
        ),
    );
    p.write("ctx/Dockerfile", "FROM scratch\nCOPY . /ctx/\n");
    p.write(
        "ctx/.dockerignore",
        "# build output\n**/*.log\n!keep/**/*.log\nnode_modules\ndocs/*\n!docs/README.md\n/tmp?\n",
    );
    for f in [
        "app.py",
        "debug.log",
        "src/deep/trace.log",
        "src/deep/code.py",
        "keep/a/b/wanted.log",
        "node_modules/x/index.js",
        "docs/README.md",
        "docs/guide.md",
        "tmp1/x",
        "sub/tmp2/y",
    ] {
        p.write(&format!("ctx/{f}"), f);
    }
    // Its own content: the two variants' CLI builds (both on the system
    // engine) must not share a cached image that the other removes.
    p.write("ctx/variant.txt", &repo);
    p.commit("ctx");
    let doc = on
        .gantry(&p)
        .args(["build", "--format", "json"])
        .run()
        .code(0)
        .json();
    assert_eq!(doc["detail"]["images"][0]["builder"], "buildkit", "{doc}");
    let ours = on.files(&format!("{repo}:gantry"));
    let cli = format!("{repo}:cli");
    let out = Command::new("docker")
        .args(["build", "-q", "-t", &cli])
        .arg(p.path().join("ctx"))
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs = On::System.files(&cli);
    assert_eq!(ours, theirs);
    assert!(
        ours.contains(&"ctx/keep/a/b/wanted.log".to_string()),
        "{ours:?}"
    );
    on.cleanup(&repo);
    On::System.cleanup(&repo);
}

#[test]
fn dockerignore_matches_the_docker_cli_on_the_system_engine() {
    if let Some(on) = On::system() {
        dockerignore_matches_the_cli(on, "ignore");
    }
}

#[test]
fn dockerignore_matches_the_docker_cli_on_docker_26() {
    let _serial = one_at_a_time();
    if let (Some(_), Some(on)) = (On::system(), On::docker26()) {
        dockerignore_matches_the_cli(on, "ignore26");
    }
}

/// The system engine behind a proxy that answers `/grpc` as an engine
/// without BuildKit's API does (404, `page not found`) and passes every
/// other call through, upgrades included. Stops with the test process.
struct WithoutGrpc {
    host: String,
    _dir: tempfile::TempDir,
}

impl WithoutGrpc {
    fn start() -> WithoutGrpc {
        use std::io::{Read, Write};
        use std::os::unix::net::{UnixListener, UnixStream};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker.sock");
        let listener = UnixListener::bind(&path).unwrap();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { return };
                std::thread::spawn(move || {
                    // The request line and headers, then the decision.
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if client.read(&mut byte).unwrap_or(0) == 0 {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    let line = String::from_utf8_lossy(&head)
                        .lines()
                        .next()
                        .unwrap_or("")
                        .to_string();
                    if line.split(' ').nth(1).is_some_and(|p| p.ends_with("/grpc")) {
                        let body = r#"{"message":"page not found"}"#;
                        let _ = write!(
                            client,
                            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        return;
                    }
                    let Ok(mut engine) = UnixStream::connect("/var/run/docker.sock") else {
                        return;
                    };
                    if engine.write_all(&head).is_err() {
                        return;
                    }
                    let (mut c2, mut e2) =
                        (client.try_clone().unwrap(), engine.try_clone().unwrap());
                    let up = std::thread::spawn(move || {
                        let _ = std::io::copy(&mut c2, &mut e2);
                        let _ = e2.shutdown(std::net::Shutdown::Write);
                    });
                    let _ = std::io::copy(&mut engine, &mut client);
                    let _ = client.shutdown(std::net::Shutdown::Write);
                    let _ = up.join();
                });
            }
        });
        WithoutGrpc {
            host: format!("unix://{}", path.display()),
            _dir: dir,
        }
    }
}

#[test]
fn an_engine_without_grpc_gets_the_context_as_a_tar_after_one_notice() {
    let Some(on) = On::system() else { return };
    let proxy = WithoutGrpc::start();
    let repo = repo("nogrpc");
    let secret = secret_value();
    let p = Project::new();
    // Both images get the secret: BuildKit runs the two builds' identical
    // step once (a secret's value is not part of a step's cache key), with
    // either build's session; an image without it made both fail at random.
    p.write(
        "gantry.toml",
        &format!("[images.a]\ncontext = \"a\"\nrepository = \"{repo}-a\"\ntags = [\"raw:t\"]\nsecrets = {{ token = {{ env = \"API_TOKEN\" }} }}\n\n[images.b]\ncontext = \"a\"\nrepository = \"{repo}-b\"\ntags = [\"raw:t\"]\nsecrets = {{ token = {{ env = \"API_TOKEN\" }} }}\n"),
    );
    p.write(
        "a/Dockerfile",
        &format!(
            "FROM {}\nCOPY . /app/\nRUN cat /app/main.py > /copied\nRUN --mount=type=secret,id=token wc -c < /run/secrets/token > /length\n",
            on.base()
        ),
    );
    p.write("a/.dockerignore", "*.log\n");
    p.write("a/main.py", "print('hi')\n");
    p.write("a/debug.log", "noise");
    // A context of its own, so no earlier run's steps (and secret) are
    // taken from the cache.
    p.write("a/run", &repo);
    p.commit("a");
    let r = p
        .gantry()
        .env("DOCKER_HOST", &proxy.host)
        .env("API_TOKEN", &secret)
        .args(["build", "--format", "json"])
        .run()
        .code(0);
    assert_eq!(
        r.stderr
            .matches("does not serve BuildKit's API on /grpc")
            .count(),
        1,
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("sending the context as a tar on /build"),
        "{}",
        r.stderr
    );
    let doc = r.json();
    assert_eq!(doc["detail"]["images"][0]["builder"], "buildkit", "{doc}");
    let image = format!("{repo}-a:t");
    assert_eq!(on.read(&image, "/copied"), "print('hi')");
    for image in [&image, &format!("{repo}-b:t")] {
        assert_eq!(on.read(image, "/length"), secret.len().to_string());
    }
    let app: Vec<String> = on
        .files(&image)
        .into_iter()
        .filter(|f| f.starts_with("app/"))
        .collect();
    assert_eq!(
        app,
        [
            "app/.dockerignore",
            "app/Dockerfile",
            "app/main.py",
            "app/run"
        ]
    );
    on.cleanup(&format!("{repo}-a"));
    on.cleanup(&format!("{repo}-b"));
}
