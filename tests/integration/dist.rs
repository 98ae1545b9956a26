//! The action's scripts, `dist/install` and `dist/run`, run directly under
//! each shell a runner may give them: dash and busybox sh (strict POSIX
//! shells, standing in for a macOS runner's bash 3.2, which has no bash 4
//! features either) and bash. The action sits where GitHub's runner puts
//! it (`_work/_actions/<owner>/<repo>/<ref>`), PATH is the strict runner
//! profile's, and `GITHUB_ACTION_REPOSITORY`/`GITHUB_ACTION_REF` are empty,
//! as GitHub leaves them in a composite action.

use crate::support::act::{ReleaseServer, VERSION, asset, sha256_file};
use crate::support::runner::StrictProfile;
use crate::support::{repo_root, write_script};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SHELLS: &[&[&str]] = &[&["dash"], &["busybox", "sh"], &["bash"]];
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

/// The release asset: a small stand-in that says it is gantry of this
/// version (the scripts never look inside; the debug binary is ~450 MB).
fn release_binary() -> PathBuf {
    static ASSET: std::sync::OnceLock<(tempfile::TempDir, PathBuf)> = std::sync::OnceLock::new();
    ASSET
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("gantry");
            write_script(
                &path,
                &format!(
                    "echo 'gantry {VERSION}'
"
                ),
            );
            (dir, path)
        })
        .1
        .clone()
}

/// One runner: the action checked out at its ref, a tool cache, a temp
/// folder, the output files, and a release server laid out as GitHub's.
struct Runner {
    root: tempfile::TempDir,
    profile: StrictProfile,
    releases: ReleaseServer,
}

struct Ran {
    code: i32,
    log: String,
    outputs: String,
    path_file: String,
    elapsed: Duration,
}

impl Runner {
    /// The action at a release's ref: its checksum table lists `sha256`.
    fn new(sha256: Option<&str>) -> Runner {
        let runner = Runner {
            root: tempfile::tempdir().unwrap(),
            profile: StrictProfile::new(&[]),
            releases: ReleaseServer::start(),
        };
        let action = runner.action();
        std::fs::create_dir_all(action.join("dist")).unwrap();
        for file in ["dist/install", "dist/run", "action.yml"] {
            std::fs::copy(repo_root().join(file), action.join(file)).unwrap();
        }
        if let Some(sha) = sha256 {
            std::fs::write(
                action.join("dist/checksums.txt"),
                format!("{sha}  {}\n", asset(VERSION)),
            )
            .unwrap();
        }
        for dir in ["tool_cache", "temp", "workspace"] {
            std::fs::create_dir_all(runner.root.path().join(dir)).unwrap();
        }
        runner
    }

    fn action(&self) -> PathBuf {
        self.root
            .path()
            .join("_work/_actions/gantry-dev/gantry")
            .join(SHA)
    }

    /// Publishes `binary` where GitHub serves the release's assets.
    fn publish(&self, binary: &Path) {
        self.releases
            .publish_at("gantry-dev/gantry/releases/download", VERSION, binary);
    }

    /// Runs `script` of the action under `shell`, with `env` over the
    /// runner's variables and `path_first` in front of the profile's PATH.
    fn run(
        &self,
        shell: &[&str],
        script: &str,
        env: &[(&str, &str)],
        path_first: Option<&Path>,
    ) -> Ran {
        let out_file = self.root.path().join("temp/output");
        let path_file = self.root.path().join("temp/path");
        std::fs::write(&out_file, "").unwrap();
        std::fs::write(&path_file, "").unwrap();
        let path = match path_first {
            Some(dir) => format!("{}:{}", dir.display(), self.profile.path()),
            None => self.profile.path(),
        };
        let start = Instant::now();
        // Resolved here: the profile's PATH has no busybox.
        let program = crate::support::require_tool(shell[0]).expect("a shell from shells()");
        let out = Command::new(program)
            .args(&shell[1..])
            .arg(self.action().join(script))
            .current_dir(self.root.path().join("workspace"))
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.root.path())
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TOOL_CACHE", self.root.path().join("tool_cache"))
            .env("RUNNER_TEMP", self.root.path().join("temp"))
            .env("GITHUB_ACTION_PATH", self.action())
            .env("GITHUB_ACTION_REPOSITORY", "")
            .env("GITHUB_ACTION_REF", "")
            .env("GITHUB_WORKSPACE", self.root.path().join("workspace"))
            .env("GITHUB_REPOSITORY", "acme/shop")
            .env("GITHUB_SERVER_URL", &self.releases.url)
            .env("GITHUB_OUTPUT", &out_file)
            .env("GITHUB_PATH", &path_file)
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        Ran {
            code: out.status.code().unwrap_or(-1),
            log: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
            outputs: std::fs::read_to_string(&out_file).unwrap(),
            path_file: std::fs::read_to_string(&path_file).unwrap(),
            elapsed: start.elapsed(),
        }
    }
}

fn shells() -> Vec<&'static [&'static str]> {
    SHELLS
        .iter()
        .copied()
        .filter(|s| crate::support::require_tool(s[0]).is_some())
        .collect()
}

/// A folder holding a fake `name` that leaves `marker` when it runs.
fn trap(name: &str, marker: &Path, body: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    write_script(
        &path,
        &format!(
            "touch '{}'
{body}
",
            marker.display()
        ),
    );
    dir
}

#[test]
fn install_finds_the_release_from_the_action_path_under_every_shell() {
    let sha = sha256_file(&release_binary());
    for shell in shells() {
        let runner = Runner::new(Some(&sha));
        runner.publish(&release_binary());
        let cold = runner.run(shell, "dist/install", &[], None);
        assert_eq!(cold.code, 0, "{shell:?}\n{}", cold.log);
        let url = format!(
            "{}/gantry-dev/gantry/releases/download/v{VERSION}/{}",
            runner.releases.url,
            asset(VERSION)
        );
        assert!(
            cold.log.contains(&format!("downloading {url}")),
            "{}",
            cold.log
        );
        assert!(
            cold.log.contains(&format!("sha256 {sha} verified")),
            "{}",
            cold.log
        );
        let cached = runner
            .root
            .path()
            .join(format!("tool_cache/gantry/{VERSION}/x64/gantry"));
        assert!(
            cold.outputs.contains(&format!("bin={}", cached.display())),
            "{}",
            cold.outputs
        );
        assert_eq!(
            cold.path_file.trim(),
            cached.parent().unwrap().display().to_string()
        );
        let version = Command::new(&cached).arg("--version").output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&version.stdout).trim(),
            format!("gantry {VERSION}")
        );

        // The second job on this runner finds the tool cache and downloads nothing.
        let warm = runner.run(shell, "dist/install", &[], None);
        assert_eq!(warm.code, 0, "{}", warm.log);
        assert!(warm.log.contains("from the tool cache"), "{}", warm.log);
        assert_eq!(runner.releases.fetched().len(), 1, "{shell:?}");
        eprintln!(
            "dist/install under {shell:?}: release download {:?}, tool cache {:?}",
            cold.elapsed, warm.elapsed
        );
    }
}

#[test]
fn install_never_builds_from_source_unless_asked() {
    for shell in shells() {
        // A ref with no checksum table: a branch, a fork, a development commit.
        let runner = Runner::new(None);
        let marker = runner.root.path().join("cargo-ran");
        let cargo = trap("cargo", &marker, "exit 1");
        let ran = runner.run(shell, "dist/install", &[], Some(cargo.path()));
        assert_eq!(ran.code, 1, "{}", ran.log);
        assert!(
            ran.log.contains(
                "::error title=gantry install::this ref of the action is not a gantry release"
            ) && ran.log.contains("build-from-source: true"),
            "{shell:?}\n{}",
            ran.log
        );
        assert!(!marker.exists(), "cargo ran without being asked");
        assert!(runner.releases.fetched().is_empty());

        // Asked for: cargo builds this ref, and its binary is the one used.
        let built = format!(
            "mkdir -p \"$CARGO_TARGET_DIR/release\" && cp '{}' \"$CARGO_TARGET_DIR/release/gantry\"",
            release_binary().display()
        );
        let cargo = trap("cargo", &marker, &built);
        let ran = runner.run(
            shell,
            "dist/install",
            &[("GANTRY_BUILD_FROM_SOURCE", "true")],
            Some(cargo.path()),
        );
        assert_eq!(ran.code, 0, "{}", ran.log);
        assert!(marker.exists());
        assert!(ran.log.contains("built from source"), "{}", ran.log);
        assert!(
            ran.outputs.contains("/target/release/gantry"),
            "{}",
            ran.outputs
        );
    }
}

#[test]
fn install_takes_a_gantry_on_path_only_when_it_is_this_release() {
    let sha = sha256_file(&release_binary());
    for shell in shells() {
        let runner = Runner::new(Some(&sha));
        runner.publish(&release_binary());
        // Another binary that calls itself gantry of the same version.
        let marker = runner.root.path().join("impostor-ran");
        let impostor = trap("gantry", &marker, &format!("echo 'gantry {VERSION}'"));
        let ran = runner.run(shell, "dist/install", &[], Some(impostor.path()));
        assert_eq!(ran.code, 0, "{}", ran.log);
        assert!(ran.log.contains("not using"), "{}", ran.log);
        assert!(ran.log.contains("downloading"), "{}", ran.log);
        assert!(!marker.exists(), "the impostor ran");

        // The release's own binary on PATH is taken as it is.
        let ours = tempfile::tempdir().unwrap();
        std::fs::copy(release_binary(), ours.path().join("gantry")).unwrap();
        let ran = runner.run(shell, "dist/install", &[], Some(ours.path()));
        assert_eq!(ran.code, 0, "{}", ran.log);
        assert!(
            ran.log.contains("already on PATH, sha256 verified"),
            "{}",
            ran.log
        );
        assert_eq!(runner.releases.fetched().len(), 1, "{shell:?}");
    }
}

#[test]
fn install_says_which_download_failed_and_builds_nothing() {
    let sha = sha256_file(&release_binary());
    for shell in shells() {
        let runner = Runner::new(Some(&sha)); // nothing published
        let marker = runner.root.path().join("cargo-ran");
        let cargo = trap("cargo", &marker, "exit 1");
        let ran = runner.run(shell, "dist/install", &[], Some(cargo.path()));
        assert_eq!(ran.code, 1, "{}", ran.log);
        assert!(
            ran.log.contains(&format!(
                "::error title=gantry install::the download of {}/gantry-dev/gantry/releases/download/v{VERSION}/{} failed",
                runner.releases.url,
                asset(VERSION)
            )),
            "{shell:?}\n{}",
            ran.log
        );
        assert!(!marker.exists(), "a failed download fell back to a build");

        // A mirror, the one documented way to fetch from elsewhere.
        let mirror = ReleaseServer::start();
        mirror.publish(VERSION, &release_binary());
        let ran = runner.run(
            shell,
            "dist/install",
            &[("GANTRY_RELEASES_URL", &mirror.url)],
            None,
        );
        assert_eq!(ran.code, 0, "{}", ran.log);
        assert_eq!(
            mirror.fetched(),
            vec![format!("v{VERSION}/{}", asset(VERSION))]
        );
    }
}

#[test]
fn install_refuses_a_tampered_asset_before_it_runs() {
    let sha = sha256_file(&release_binary());
    for shell in shells() {
        let runner = Runner::new(Some(&sha));
        let marker = runner.root.path().join("tampered-ran");
        let tampered = runner.root.path().join("tampered");
        std::fs::write(
            &tampered,
            format!("#!/bin/sh\ntouch '{}'\n", marker.display()),
        )
        .unwrap();
        runner.publish(&tampered);
        let ran = runner.run(shell, "dist/install", &[], None);
        assert_eq!(ran.code, 1, "{}", ran.log);
        assert!(
            ran.log.contains(&format!(
                "expected sha256 {sha}, got {}",
                sha256_file(&tampered)
            )),
            "{}",
            ran.log
        );
        assert!(!marker.exists(), "the tampered asset ran");
        assert!(!runner.root.path().join("tool_cache/gantry").exists());
    }
}

/// A stand-in for the gantry binary that records its arguments, one a line.
fn recorder(dir: &Path, exit: i32) -> PathBuf {
    let path = dir.join("gantry-recorder");
    let argv = dir.join("argv");
    write_script(
        &path,
        &format!(
            "for a in \"$@\"; do printf '%s\\n' \"$a\"; done >'{}'\npwd >>'{}'\nexit {exit}\n",
            argv.display(),
            argv.display()
        ),
    );
    path
}

fn inputs<'a>(bin: &'a str, pairs: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![
        ("GANTRY_BIN", bin),
        ("GANTRY_COMMAND", "run"),
        ("GANTRY_ARGS", ""),
        ("GANTRY_CONFIG", ""),
        ("GANTRY_WORKING_DIRECTORY", ""),
        ("GANTRY_DRY_RUN", "false"),
        ("GANTRY_SUMMARY", "on"),
        ("GANTRY_STATE", ""),
    ];
    for (k, v) in pairs {
        all.retain(|(key, _)| key != k);
        all.push((k, v));
    }
    all
}

#[test]
fn run_passes_inputs_as_words_under_every_shell() {
    for shell in shells() {
        let runner = Runner::new(None);
        let dir = tempfile::tempdir().unwrap();
        let bin = recorder(dir.path(), 0);
        let bin = bin.to_str().unwrap();
        let argv = || std::fs::read_to_string(dir.path().join("argv")).unwrap();
        let workspace = runner.root.path().join("workspace");

        // No args at all: an empty list must not stop a strict shell.
        let ran = runner.run(shell, "dist/run", &inputs(bin, &[]), None);
        assert_eq!(ran.code, 0, "{shell:?}\n{}", ran.log);
        assert_eq!(argv(), format!("run\n{}\n", workspace.display()));
        assert!(
            ran.outputs.contains("exit-code=0\nverdict=passed\n"),
            "{}",
            ran.outputs
        );

        // Words, never evaluated; a config path with a space stays one word.
        std::fs::create_dir_all(workspace.join("sub dir")).unwrap();
        let ran = runner.run(
            shell,
            "dist/run",
            &inputs(
                bin,
                &[
                    ("GANTRY_COMMAND", "deploy ecs"),
                    ("GANTRY_ARGS", "api  $(touch pwned) *\n'q'"),
                    ("GANTRY_CONFIG", "my config.toml"),
                    ("GANTRY_DRY_RUN", "true"),
                    ("GANTRY_WORKING_DIRECTORY", "sub dir"),
                ],
            ),
            None,
        );
        assert_eq!(ran.code, 0, "{}", ran.log);
        assert_eq!(
            argv(),
            format!(
                "deploy\necs\n--config\nmy config.toml\n--dry-run\napi\n$(touch\npwned)\n*\n'q'\n{}\n",
                workspace.join("sub dir").display()
            ),
            "{shell:?}"
        );
        assert!(!workspace.join("pwned").exists() && !workspace.join("sub dir/pwned").exists());

        // The state goes to the next job; exit 1 is `failed`.
        let failing = recorder(dir.path(), 1);
        let ran = runner.run(
            shell,
            "dist/run",
            &inputs(
                failing.to_str().unwrap(),
                &[("GANTRY_STATE", "{\"schema\":1}")],
            ),
            None,
        );
        assert_eq!(ran.code, 1);
        assert!(
            ran.outputs.contains("exit-code=1\nverdict=failed\n"),
            "{}",
            ran.outputs
        );
        assert!(
            ran.outputs.starts_with("state<<ghadelimiter_"),
            "{}",
            ran.outputs
        );
        assert!(
            ran.outputs.contains("\n{\"schema\":1}\nghadelimiter_"),
            "{}",
            ran.outputs
        );

        // Bad inputs: a usage error whose message cannot start a workflow command.
        for (key, value, says) in [
            (
                "GANTRY_COMMAND",
                "rm -rf",
                "unknown command input: 'rm -rf'",
            ),
            (
                "GANTRY_DRY_RUN",
                "yes%0A::warning::x",
                "dry-run must be true or false, not 'yes%250A::warning::x'",
            ),
            (
                "GANTRY_WORKING_DIRECTORY",
                "nowhere\n::warning::x",
                "working-directory is not a directory: 'nowhere%0A::warning::x'",
            ),
        ] {
            let ran = runner.run(shell, "dist/run", &inputs(bin, &[(key, value)]), None);
            assert_eq!(ran.code, 2, "{}", ran.log);
            assert!(ran.log.contains(says), "{shell:?} {says}\n{}", ran.log);
            assert!(
                !ran.log.lines().any(|l| l.starts_with("::warning")),
                "{}",
                ran.log
            );
            assert!(
                ran.outputs.contains("exit-code=2\nverdict=error\n"),
                "{}",
                ran.outputs
            );
        }
    }
}

/// The knobs the strict profile allows are the book's table (Development,
/// "The strict runner profile"), row for row: a knob added in one place and
/// not the other fails here.
#[test]
fn the_strict_profile_s_knobs_are_the_book_s() {
    let page = std::fs::read_to_string(repo_root().join("docs/src/development.md")).unwrap();
    let table = page
        .split_once("| knob | why |\n| --- | --- |\n")
        .expect("docs/src/development.md has the strict profile's table of knobs")
        .1;
    let rows: Vec<&str> = table.lines().take_while(|l| l.starts_with("| ")).collect();
    let knobs: Vec<String> = crate::support::runner::KNOBS
        .iter()
        .map(|(knob, why)| format!("| {knob} | {why} |"))
        .collect();
    assert_eq!(rows, knobs);
}
