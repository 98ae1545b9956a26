//! The few git questions gantry asks, answered by the `git` command (the same
//! git the user and the runner's checkout use, shallow clones included).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Runs `git <args>` in `dir`; returns trimmed stdout, or git's own error text.
pub fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("failed");
        Err(format!("git {}: {}", args.join(" "), first.trim()))
    }
}

/// The top directory of the work tree that holds `dir`.
pub fn toplevel(dir: &Path) -> Option<PathBuf> {
    git(dir, &["rev-parse", "--show-toplevel"])
        .ok()
        .map(PathBuf::from)
}

pub fn head_sha(dir: &Path) -> Option<String> {
    git(dir, &["rev-parse", "HEAD"]).ok()
}

/// The branch checked out, `None` when detached.
pub fn branch(dir: &Path) -> Option<String> {
    git(dir, &["symbolic-ref", "--quiet", "--short", "HEAD"]).ok()
}

/// A tag pointing at HEAD, if any.
pub fn tag_at_head(dir: &Path) -> Option<String> {
    git(dir, &["describe", "--tags", "--exact-match", "HEAD"]).ok()
}

/// When HEAD was committed, RFC 3339 (`2026-11-21T23:34:44+00:00`).
pub fn commit_time(dir: &Path) -> Option<String> {
    git(dir, &["show", "-s", "--format=%cI", "HEAD"]).ok()
}

/// Every tag in the repository (to decide whether a release is the newest).
pub fn all_tags(dir: &Path) -> Vec<String> {
    git(dir, &["tag", "--list"]).map(lines).unwrap_or_default()
}

/// `owner/name` from the `origin` remote's URL (https or ssh forms).
pub fn origin_repository(dir: &Path) -> Option<String> {
    let url = git(dir, &["remote", "get-url", "origin"]).ok()?;
    repository_from_url(&url)
}

fn repository_from_url(url: &str) -> Option<String> {
    let path = url.trim_end_matches('/').trim_end_matches(".git");
    let path = path
        .rsplit_once(':')
        .filter(|(scheme, _)| !scheme.contains("//") && !scheme.starts_with("http"))
        .map(|(_, p)| p)
        .unwrap_or(path);
    let parts: Vec<&str> = path.rsplit('/').take(2).collect();
    match parts.as_slice() {
        [name, owner] if !name.is_empty() && !owner.is_empty() && !owner.contains(':') => {
            Some(format!("{owner}/{name}"))
        }
        _ => None,
    }
}

/// Files changed between `base` and the work tree (committed, staged,
/// unstaged, and untracked files), relative to `dir` and limited to it.
pub fn changed_since(dir: &Path, base: &str) -> Result<Vec<String>, String> {
    let mut files = lines(git(dir, &["diff", "--name-only", "--relative", base])?);
    files.extend(lines(git(
        dir,
        &["ls-files", "--others", "--exclude-standard"],
    )?));
    files.sort();
    files.dedup();
    Ok(files)
}

/// Files changed between two commits, the way a pull request's diff counts
/// them (`base...head`: since their merge base) when `merge_base` is set.
pub fn changed_between(
    dir: &Path,
    base: &str,
    head: &str,
    merge_base: bool,
) -> Result<Vec<String>, String> {
    let range = if merge_base {
        format!("{base}...{head}")
    } else {
        format!("{base}..{head}")
    };
    Ok(lines(git(
        dir,
        &["diff", "--name-only", "--relative", &range],
    )?))
}

fn lines(text: String) -> Vec<String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_from_https_and_ssh_urls() {
        for url in [
            "https://github.com/codewarden/app.git",
            "git@github.com:codewarden/app.git",
            "ssh://git@github.com/codewarden/app",
            "https://github.com/codewarden/app/",
        ] {
            assert_eq!(
                repository_from_url(url).as_deref(),
                Some("codewarden/app"),
                "{url}"
            );
        }
    }
}
