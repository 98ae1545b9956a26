//! Test helpers: a fluent runner for the built binary, throwaway projects in
//! git repositories, a simulated GitHub Actions runner, and tool lookup.
#![allow(dead_code)]

pub mod act;
pub mod calls;
pub mod dockerd;
pub mod ecs;
pub mod github_api;
pub mod npm;
pub mod oidc;
pub mod postgres;
pub mod pypi;
pub mod railway;
pub mod runner;
pub mod scrub;
pub mod services;
pub mod sigstore;
pub mod skip;
pub mod trivy_db;
pub mod workflow_commands;

pub use skip::{shared_data, skip};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// PATH for child processes: the project's .venv first (pytest and friends).
pub fn test_path() -> String {
    let venv = repo_root().join(".venv/bin");
    let inherited = std::env::var("PATH").unwrap_or_default();
    format!("{}:{inherited}", venv.display())
}

/// Writes an executable script (`#!/bin/sh` and `body`) at `path`.
pub fn write_script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(
        path,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755),
    )
    .unwrap();
}

/// Finds a tool the test needs. In CI a missing tool fails the test; locally
/// the test is recorded as skipped (see [`skip`]).
pub fn require_tool(name: &str) -> Option<PathBuf> {
    for dir in std::env::split_paths(&test_path()) {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return Some(candidate);
        }
    }
    skip(&format!("`{name}` is not installed; run scripts/setup"));
    None
}

/// A throwaway project directory inside its own git repository.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = Project { dir };
        p.git(&["init", "-q", "-b", "main"]);
        p.git(&["config", "user.email", "test@example.com"]);
        p.git(&["config", "user.name", "test"]);
        p.git(&["config", "commit.gpgsign", "false"]);
        p
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().canonicalize().expect("canonical temp dir")
    }

    pub fn write(&self, rel: &str, text: &str) -> &Self {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(rel))
            .unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
    }

    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(args)
            .current_dir(self.dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Commits everything; returns the new commit's sha.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    pub fn gantry(&self) -> Gantry {
        Gantry::new(self.dir.path())
    }
}

/// Files a GitHub runner gives a step, in a temp directory.
pub struct Runner {
    pub dir: tempfile::TempDir,
}

impl Runner {
    pub fn new() -> Self {
        let r = Runner {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(r.temp()).unwrap();
        r
    }
    pub fn output_file(&self) -> PathBuf {
        self.dir.path().join("github_output")
    }
    pub fn summary_file(&self) -> PathBuf {
        self.dir.path().join("step_summary.md")
    }
    pub fn temp(&self) -> PathBuf {
        self.dir.path().join("runner_temp")
    }
    pub fn event_file(&self) -> PathBuf {
        self.dir.path().join("event.json")
    }
    pub fn outputs_text(&self) -> String {
        std::fs::read_to_string(self.output_file()).unwrap_or_default()
    }
    pub fn summary(&self) -> String {
        std::fs::read_to_string(self.summary_file()).unwrap_or_default()
    }
    pub fn state(&self) -> String {
        std::fs::read_to_string(self.temp().join("gantry/state.json")).unwrap_or_default()
    }

    /// Parses `$GITHUB_OUTPUT` (heredoc form) into name → value.
    pub fn outputs(&self) -> BTreeMap<String, String> {
        let text = self.outputs_text();
        let mut out = BTreeMap::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let (name, delim) = line
                .split_once("<<")
                .unwrap_or_else(|| panic!("not a heredoc output line: {line:?}"));
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.insert(name.to_string(), value.join("\n"));
        }
        out
    }

    /// The environment of a step in a workflow run for `sha`.
    pub fn env(
        &self,
        event_name: &str,
        event: serde_json::Value,
        sha: &str,
    ) -> Vec<(String, String)> {
        std::fs::write(self.event_file(), event.to_string()).unwrap();
        [
            ("GITHUB_ACTIONS", "true"),
            ("CI", "true"),
            ("GITHUB_EVENT_NAME", event_name),
            ("GITHUB_SHA", sha),
            ("GITHUB_REF", "refs/heads/main"),
            ("GITHUB_REF_NAME", "main"),
            ("GITHUB_REF_TYPE", "branch"),
            ("GITHUB_REPOSITORY", "codewarden/app"),
            ("GITHUB_RUN_ID", "4242"),
            ("GITHUB_SERVER_URL", "https://github.com"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([
            (
                "GITHUB_EVENT_PATH".into(),
                self.event_file().display().to_string(),
            ),
            (
                "GITHUB_OUTPUT".into(),
                self.output_file().display().to_string(),
            ),
            (
                "GITHUB_STEP_SUMMARY".into(),
                self.summary_file().display().to_string(),
            ),
            ("RUNNER_TEMP".into(), self.temp().display().to_string()),
        ])
        .collect()
    }
}

/// Runs the built `gantry` binary with a clean environment.
pub struct Gantry {
    cmd: Command,
}

impl Gantry {
    pub fn new(dir: &Path) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gantry"));
        cmd.current_dir(dir)
            .env_clear()
            .env("PATH", test_path())
            .env(
                "HOME",
                std::env::var("HOME").unwrap_or_else(|_| "/root".into()),
            )
            .env("LANG", "C.UTF-8")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            // `gantry init` looks its release tag up here: a remote that does
            // not exist, so what it writes never depends on the network.
            .env(
                "GANTRY_ACTION_REMOTE",
                "/nonexistent/gantry-action-remote-for-tests",
            );
        Gantry { cmd }
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(mut self, args: I) -> Self {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.cmd.env(k, v);
        self
    }

    pub fn envs(mut self, vars: Vec<(String, String)>) -> Self {
        self.cmd.envs(vars);
        self
    }

    /// Starts gantry without waiting (stdout and stderr captured).
    pub fn spawn(mut self) -> std::process::Child {
        self.cmd
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("gantry starts")
    }

    pub fn run(mut self) -> Run {
        let out = self.cmd.output().expect("gantry runs");
        Run {
            code: out.status.code().expect("exited normally"),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

pub struct Run {
    /// The exit code; -1 when killed by a signal.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The result of a process started with [`Gantry::spawn`].
    pub fn from_child(child: std::process::Child) -> Run {
        let out = child.wait_with_output().expect("gantry finishes");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn code(self, expected: i32) -> Self {
        assert_eq!(
            self.code, expected,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", self.stdout))
    }

    /// The workflow-command lines on stdout that start with `prefix`.
    pub fn commands(&self, prefix: &str) -> Vec<String> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with(prefix))
            .map(str::to_string)
            .collect()
    }
}

/// Finds `docker` with a daemon that answers. In CI a missing or unreachable
/// Docker fails the test; locally the test is skipped, loudly.
pub fn require_docker() -> Option<PathBuf> {
    let docker = require_tool("docker")?;
    let answers = Command::new(&docker)
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok_and(|out| out.status.success());
    if answers {
        return Some(docker);
    }
    skip("the Docker daemon does not answer `docker version`");
    None
}
