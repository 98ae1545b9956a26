//! Which gantry action the rendered workflows use (`uses:`). A workflow
//! should pin a third-party action by the full commit SHA of its release
//! (zizmor's `unpinned-uses`), with the version in a comment so Dependabot
//! and Renovate can update both. Where the reference comes from, first
//! match wins:
//!
//! 1. `--action-ref OWNER/REPO@REF`, as given (a fork, a mirror, a commit);
//! 2. the reference a workflow in `.github/workflows/` already uses, so a
//!    pin Dependabot moved is kept, and `init --check` does not call it drift;
//! 3. the commit the release tag of this gantry's version points at on
//!    GitHub (`git ls-remote`). The binary cannot carry it: the release
//!    commits the assets' checksum table on top of the tag and moves the
//!    tag there, after the binaries are built;
//! 4. offline (or before the release exists) the tag itself, unpinned,
//!    with a note saying how to pin it.

use crate::process::{self, Waited};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The repository of gantry's action (`action.yml` at its root).
pub const REPOSITORY: &str = "gantry-dev/gantry";

/// The release tag of this gantry's version.
pub const TAG: &str = concat!("v", env!("CARGO_PKG_VERSION"));

/// Where the action's release tags are looked up.
pub const REMOTE: &str = "https://github.com/gantry-dev/gantry";

/// How long `git ls-remote` may take before init gives up on it.
const LS_REMOTE_TIMEOUT: Duration = Duration::from_secs(15);

/// What `workflows-templates/` shows: the action pinned by the commit of the
/// v0.1.0 release. The files there are the templates' rendered defaults, and
/// must stay the same whatever builds them.
pub const TEMPLATES: &str = "gantry-dev/gantry@731a6e2a9610aba22696e1656a768816ba63a3fc # v0.1.0";

/// Where the reference came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `--action-ref`.
    Flag,
    /// The workflow file named, which already used it.
    Committed(String),
    /// The commit the release tag points at.
    Release,
    /// The tag, not pinned: its commit could not be looked up.
    Unpinned,
}

/// The `uses:` value (with its comment) and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRef {
    pub uses: String,
    pub source: Source,
}

/// Whether `git_ref` is a full commit SHA.
pub fn is_commit(git_ref: &str) -> bool {
    git_ref.len() == 40 && git_ref.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Checks `--action-ref`: `OWNER/REPO@REF` (a path inside the repository is
/// allowed, as in `uses:`). Returns why not.
pub fn check_flag(value: &str) -> Result<(), String> {
    let Some((repo, git_ref)) = value.split_once('@') else {
        return Err(format!("`{value}` has no `@REF`"));
    };
    let mut parts = repo.split('/');
    let (owner, name) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let clean = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    if !clean(owner) || !clean(name) {
        return Err(format!("`{repo}` is not OWNER/REPO"));
    }
    if git_ref.is_empty() || git_ref.chars().any(|c| c.is_whitespace() || c == '#') {
        return Err(format!("`{git_ref}` is not a git ref"));
    }
    Ok(())
}

/// The gantry action a workflow uses, with its comment: the first `uses:`
/// whose repository is named `gantry`.
pub fn used_in(workflow: &str) -> Option<String> {
    workflow.lines().find_map(|line| {
        let line = line.trim();
        let value = line
            .strip_prefix("- ")
            .unwrap_or(line)
            .strip_prefix("uses:")?
            .trim();
        let (repo, _) = value.split_once('@')?;
        let name = repo.split('/').nth(1)?;
        (name == "gantry").then(|| value.to_string())
    })
}

/// Picks the reference, in the order the module explains. `committed` are
/// the existing workflows: (file name, text); `remote` is where the tag is
/// looked up ([`REMOTE`]).
pub fn resolve(flag: Option<&str>, committed: &[(String, String)], remote: &str) -> ActionRef {
    if let Some(value) = flag {
        return ActionRef {
            uses: value.to_string(),
            source: Source::Flag,
        };
    }
    if let Some((file, uses)) = committed
        .iter()
        .find_map(|(file, text)| Some((file, used_in(text)?)))
    {
        return ActionRef {
            uses,
            source: Source::Committed(file.clone()),
        };
    }
    match tag_commit(remote, TAG) {
        Some(commit) => ActionRef {
            uses: format!("{REPOSITORY}@{commit} # {TAG}"),
            source: Source::Release,
        },
        None => ActionRef {
            uses: format!("{REPOSITORY}@{TAG} # not pinned: see the note of `gantry init`"),
            source: Source::Unpinned,
        },
    }
}

/// The commit `tag` points at in the repository at `remote` (an annotated
/// tag is peeled to its commit), or `None` when git cannot tell: offline,
/// no such tag, or no answer within [`LS_REMOTE_TIMEOUT`].
pub fn tag_commit(remote: &str, tag: &str) -> Option<String> {
    let refs = [format!("refs/tags/{tag}"), format!("refs/tags/{tag}^{{}}")];
    let mut child = Command::new("git")
        .args(["ls-remote", "--tags", "--", remote])
        .args(&refs)
        // Never ask for credentials: GitHub asks for them for a missing repository.
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    // Read while waiting: a remote with many tags fills the pipe, and git
    // would block on it until the deadline.
    let reading = process::read_in_background(child.stdout.take()?);
    let deadline = Instant::now() + LS_REMOTE_TIMEOUT;
    match process::wait(&mut child, deadline, false, &mut || {}).ok()? {
        Waited::Exited(status) if status.success() => {}
        Waited::Exited(_) => return None,
        Waited::TimedOut | Waited::Cancelled(_) => {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
    }
    let out = reading.join().ok()?;
    // `<sha>\trefs/tags/v1^{}` (the commit) wins over `<sha>\trefs/tags/v1`.
    let find = |name: &str| {
        out.lines().find_map(|l| {
            let (sha, r) = l.split_once('\t')?;
            (r == name && is_commit(sha)).then(|| sha.to_string())
        })
    };
    find(&refs[1]).or_else(|| find(&refs[0]))
}

/// What to tell the user about the reference, if anything.
pub fn note(action: &ActionRef) -> Option<String> {
    match &action.source {
        Source::Unpinned => Some(format!(
            "could not look up the commit of {REPOSITORY} {TAG} (offline, or not released yet): \
             the workflows use `{REPOSITORY}@{TAG}`, a tag that can be moved. Pin it by commit: \
             `git ls-remote {REMOTE} refs/tags/{TAG}` prints it; then \
             `gantry init --force --action-ref {REPOSITORY}@<commit>`"
        )),
        Source::Flag | Source::Committed(_) => {
            let git_ref = action.uses.split_whitespace().next().unwrap_or("");
            let git_ref = git_ref.split_once('@').map_or("", |(_, r)| r);
            (!is_commit(git_ref)).then(|| {
                format!(
                    "`{git_ref}` is not a full commit SHA: the ref can be moved under you \
                     (zizmor reports it as unpinned-uses); pin it with \
                     `gantry init --force --action-ref OWNER/REPO@<commit>`"
                )
            })
        }
        Source::Release => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::process::Command;

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    /// A repository with a lightweight tag and an annotated one, as a
    /// remote for `git ls-remote`.
    fn remote_with_tags() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let out = Command::new("git")
                .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
                .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
                .args(args)
                .current_dir(dir.path())
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .output()
                .unwrap();
            assert!(out.status.success(), "{args:?}");
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        git(&["init", "-q"]);
        git(&["commit", "-q", "--allow-empty", "-m", "release"]);
        git(&["tag", "-a", "-m", "annotated", TAG]);
        git(&["tag", "light"]);
        let head = git(&["rev-parse", "HEAD"]);
        (dir, head)
    }

    #[test]
    fn the_release_tag_is_pinned_by_its_commit_and_offline_says_how_to_pin() {
        let (remote, head) = remote_with_tags();
        let url = remote.path().to_str().unwrap();
        // The annotated tag is peeled: the pin is the commit, not the tag object.
        assert_eq!(tag_commit(url, TAG).as_deref(), Some(head.as_str()));
        assert_eq!(tag_commit(url, "light").as_deref(), Some(head.as_str()));
        assert_eq!(tag_commit(url, "v0.0.0-missing"), None);
        let release = resolve(None, &[], url);
        assert_eq!(release.uses, format!("gantry-dev/gantry@{head} # {TAG}"));
        assert_eq!(release.source, Source::Release);
        assert_eq!(note(&release), None);

        let nowhere = remote.path().join("missing");
        let offline = resolve(None, &[], nowhere.to_str().unwrap());
        assert_eq!(offline.source, Source::Unpinned);
        assert!(
            offline
                .uses
                .starts_with(&format!("gantry-dev/gantry@{TAG} #"))
        );
        let note = note(&offline).unwrap();
        assert!(
            note.contains(&format!("refs/tags/{TAG}")) && note.contains("--action-ref"),
            "{note}"
        );
    }

    #[test]
    fn the_flag_wins_then_what_a_workflow_already_uses() {
        let committed = vec![
            (
                "ci.yml".to_string(),
                "steps:\n  - uses: actions/checkout@v4\n".to_string(),
            ),
            (
                "ecs-ec2.yml".to_string(),
                format!("    steps:\n      - uses: gantry-dev/gantry@{SHA} # v0.2.0\n"),
            ),
        ];
        let kept = resolve(None, &committed, "/nowhere");
        assert_eq!(kept.uses, format!("gantry-dev/gantry@{SHA} # v0.2.0"));
        assert_eq!(kept.source, Source::Committed("ecs-ec2.yml".into()));
        assert_eq!(note(&kept), None);
        let flag = resolve(Some("acme/gantry@v9"), &committed, "/nowhere");
        assert_eq!(flag.uses, "acme/gantry@v9");
        assert!(
            note(&flag)
                .unwrap()
                .contains("`v9` is not a full commit SHA")
        );
        // An unpinned reference already there is kept, and said.
        let tag = vec![(
            "a.yml".to_string(),
            "- uses: gantry-dev/gantry@v0.1.0 # x\n".to_string(),
        )];
        assert!(
            note(&resolve(None, &tag, "/nowhere"))
                .unwrap()
                .contains("`v0.1.0` is not")
        );
        assert_eq!(
            note(&resolve(
                Some(&format!("acme/gantry@{SHA}")),
                &[],
                "/nowhere"
            )),
            None
        );
    }

    #[test]
    fn the_flag_must_be_owner_repo_at_ref() {
        assert!(check_flag(&format!("acme/gantry@{SHA}")).is_ok());
        assert!(check_flag("acme/gantry/sub@v1").is_ok());
        for bad in [
            "acme/gantry",
            "gantry@v1",
            "/gantry@v1",
            "acme/gantry@",
            "acme/ga ntry@v1",
            "acme/gantry@v1 # x",
        ] {
            assert!(check_flag(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_templates_pin_is_a_commit_of_the_action() {
        let (repo, rest) = TEMPLATES.split_once('@').unwrap();
        assert_eq!(repo, REPOSITORY);
        assert!(is_commit(rest.split_whitespace().next().unwrap()));
    }
}
