//! The strict runner profile: what a job sees on GitHub's `ubuntu-24.04`
//! runner, as far as act in self-hosted mode can be made to show it. act is
//! kinder than GitHub in known ways (TESTING.md); each is undone here, and
//! the only differences left are the endpoints in [`KNOBS`].
//!
//! - **PATH** holds only the tools the runner image ships ([`TOOLS`], read
//!   from actions/runner-images `images/ubuntu/Ubuntu2404-Readme.md` and its
//!   toolset): no gantry, no Trivy, no act, nothing of the project's `.venv`.
//!   Each is a link to this machine's own copy, where it has one.
//! - **Composite-action variables**: GitHub leaves `GITHUB_ACTION_REPOSITORY`
//!   and `GITHUB_ACTION_REF` empty inside composite actions
//!   (actions/runner#2473); act fills them (nektos/act#2020). The profile's
//!   `bash`, which every `shell: bash` step runs through, empties them.
//! - **The action's folder**: the runner checks `owner/repo@ref` out at
//!   `…/_work/_actions/<owner>/<repo>/<ref>` (actions/runner's
//!   ActionManager); act uses `…/act/actions/<owner>-<repo>@<ref>`. The
//!   profile's `bash` shows the action at the runner's layout (a link) and
//!   sets `GITHUB_ACTION_PATH` to it.

use std::path::{Path, PathBuf};

/// The tools of GitHub's ubuntu-24.04 image that gantry's workflows and
/// action use, from the image's readme ("Installed Software": the base
/// system's utilities, Git, curl, jq, Python 3.12 with pip, Node.js with
/// npm, Docker, Rust's cargo and rustc). Not in the image, so never here:
/// gantry, Trivy (actions/runner-images#7923 was closed), act.
pub const TOOLS: &[&str] = &[
    // The base system (coreutils, findutils, grep, sed, gawk, tar, gzip…).
    "sh",
    "dash",
    "env",
    "cat",
    "cp",
    "mv",
    "rm",
    "ln",
    "ls",
    "mkdir",
    "mktemp",
    "rmdir",
    "touch",
    "chmod",
    "chown",
    "dirname",
    "basename",
    "readlink",
    "realpath",
    "pwd",
    "echo",
    "printf",
    "test",
    "[",
    "true",
    "false",
    "sleep",
    "date",
    "uname",
    "id",
    "whoami",
    "hostname",
    "head",
    "tail",
    "cut",
    "tr",
    "sort",
    "uniq",
    "wc",
    "tee",
    "xargs",
    "find",
    "grep",
    "egrep",
    "sed",
    "awk",
    "gawk",
    "od",
    "sha256sum",
    "sha1sum",
    "md5sum",
    "base64",
    "stat",
    "du",
    "df",
    "diff",
    "cmp",
    "comm",
    "paste",
    "seq",
    "expr",
    "nproc",
    "timeout",
    "kill",
    "ps",
    "tar",
    "gzip",
    "gunzip",
    "zstd",
    "unzip",
    "zip",
    "xz",
    "file",
    "which",
    "getent",
    "flock",
    "openssl",
    // Version control and the network.
    "git",
    "curl",
    "wget",
    "ssh", // JSON, YAML.
    "jq",  // Languages the templates' gates use.
    "python3",
    "python",
    "pip3",
    "node",
    "npm",
    "npx",
    "cargo",
    "rustc",
    "rustup",
    // Containers.
    "docker",
];

/// What the tests change of a user's run, each with its reason: the
/// book's table "The strict runner profile" (docs/src/development.md),
/// cell for cell (a test holds them together). Nothing else may differ from GitHub's runner: a change
/// not in this table is a bug in the harness.
pub const KNOBS: &[(&str, &str)] = &[
    (
        "`GITHUB_SERVER_URL`",
        "the local stand-in of github.com serving the action's release assets",
    ),
    (
        "`GITHUB_API_URL`",
        "the local stand-in of GitHub's REST API (plan comments, a workflow's last passed run)",
    ),
    (
        "`AWS_ENDPOINT_URL_ECS`, `_ECR`, `_CLOUDWATCH_LOGS`, `AWS_ENDPOINT_URL`",
        "the ECS stand-in and moto instead of AWS",
    ),
    (
        "`ACTIONS_ID_TOKEN_REQUEST_URL` / `_TOKEN`",
        "the stand-in of GitHub's OIDC issuer (act sets neither)",
    ),
    (
        "`GITHUB_WORKFLOW_REF`",
        "GitHub sets it and act does not: the tests set what GitHub would",
    ),
    (
        "`GANTRY_ECS_POLL_INTERVAL` and the other documented poll intervals",
        "rollouts of seconds, not minutes",
    ),
    (
        "`GANTRY_ACT_CACHE`, `GANTRY_ACT_ARTIFACTS`",
        "where the stand-ins of actions/cache and upload/download-artifact keep what GitHub's cache and artifact services would (one folder per repository, kept across its runs)",
    ),
    (
        "`[scan] db-repository` in gantry.toml",
        "Trivy's database from the tests' registry, served as the public mirrors serve it (unreachable offline)",
    ),
    (
        "`vars.GATE_TOOLS` (the tests' own workflows)",
        "what an install step would install (pytest from PyPI, npm packages, unreachable here): links to this machine's copies",
    ),
];

/// A strict profile for one act run: its bin folder (PATH) and the runner's
/// `_work` folder where actions appear at GitHub's layout.
pub struct StrictProfile {
    dir: tempfile::TempDir,
}

impl StrictProfile {
    /// A profile where `actions` (`owner/repo`) appear at the runner's layout.
    pub fn new(actions: &[&str]) -> StrictProfile {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for tool in TOOLS {
            // The image's `python` is Python 3 (python-is-python3).
            let found = host_tool(tool)
                .or_else(|| (*tool == "python").then(|| host_tool("python3")).flatten());
            if let Some(found) = found {
                std::os::unix::fs::symlink(found, bin.join(tool)).unwrap();
            }
        }
        let real_bash = host_tool("bash").expect("bash");
        let work = dir.path().join("_work/_actions");
        let mut cases = String::new();
        for action in actions {
            let (owner, repo) = action.split_once('/').unwrap();
            cases.push_str(&format!(
                "  */act/actions/{owner}-{repo}@*)\n    at={work}/{owner}/{repo}/\"${{GITHUB_ACTION_PATH##*@}}\"\n    mkdir -p \"$(dirname \"$at\")\"\n    ln -sfn \"$GITHUB_ACTION_PATH\" \"$at\"\n    export GITHUB_ACTION_PATH=\"$at\" ;;\n",
                work = work.display()
            ));
        }
        let wrapper = format!(
            "#!{bash}\n# The strict runner profile's bash (tests/support/runner.rs): as on GitHub,\n# composite actions see these two empty, and actions sit at _actions/<owner>/<repo>/<ref>.\nexport GITHUB_ACTION_REPOSITORY= GITHUB_ACTION_REF=\ncase \"${{GITHUB_ACTION_PATH:-}}\" in\n{cases}esac\nexec {bash} \"$@\"\n",
            bash = real_bash.display()
        );
        std::fs::write(bin.join("bash"), wrapper).unwrap();
        std::fs::set_permissions(
            bin.join("bash"),
            <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755),
        )
        .unwrap();
        StrictProfile { dir }
    }

    /// PATH for act and every step: the profile's bin folder alone.
    pub fn path(&self) -> String {
        self.dir.path().join("bin").display().to_string()
    }

    /// What a workflow's install step would have installed (`pip install
    /// pytest`, `npm ci`): a folder of this machine's copies, `name` →
    /// the program, for the workflow to put on `$GITHUB_PATH` (a knob: the
    /// tests' workflows read it from `vars.GATE_TOOLS`). Scripts, not links:
    /// a venv's python finds its packages only when run from its own folder.
    pub fn installed(&self, tools: &[(&str, &Path)]) -> PathBuf {
        let dir = self.dir.path().join("installed");
        std::fs::create_dir_all(&dir).unwrap();
        for (name, program) in tools {
            super::write_script(
                &dir.join(name),
                &format!(
                    "exec '{}' \"$@\"
",
                    program.display()
                ),
            );
        }
        dir
    }
}

/// This machine's copy of a tool, from the standard system folders only
/// (never the project's `.venv` or `~/.cargo/bin` guesses beyond rustup's).
fn host_tool(name: &str) -> Option<PathBuf> {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let cargo_bin = format!("{home}/.cargo/bin");
    [
        "/usr/local/bin",
        "/usr/bin",
        "/bin",
        "/usr/sbin",
        "/sbin",
        &cargo_bin,
    ]
    .iter()
    .map(|d| Path::new(d).join(name))
    .find(|p| p.is_file())
}
