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

/// Where HEAD is: the facts every command needs, from one `git rev-parse`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Head {
    /// The top directory of the work tree.
    pub toplevel: Option<PathBuf>,
    pub sha: Option<String>,
    /// The branch checked out, `None` when detached.
    pub branch: Option<String>,
}

impl Head {
    pub fn read(dir: &Path) -> Head {
        let out = git(
            dir,
            &[
                "rev-parse",
                "--show-toplevel",
                "HEAD",
                "--symbolic-full-name",
                "HEAD",
            ],
        );
        match out {
            Ok(text) => Head::parse(&text),
            // No commit yet: rev-parse fails on HEAD; the work tree is still known.
            Err(_) => Head {
                toplevel: toplevel(dir),
                ..Head::default()
            },
        }
    }

    fn parse(text: &str) -> Head {
        let lines: Vec<&str> = text.lines().collect();
        match lines.as_slice() {
            [top, sha, name, ..] => Head {
                toplevel: Some(PathBuf::from(top)),
                sha: Some(sha.to_string()),
                branch: name.strip_prefix("refs/heads/").map(str::to_string),
            },
            _ => Head::default(),
        }
    }
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
    git(dir, &["tag", "--list"])
        .map(|t| lines(&t))
        .unwrap_or_default()
}

/// `owner/name` from the `origin` remote's URL when that remote is on
/// `host` (`github.com`, or a GitHub Enterprise host), in https or ssh form.
/// A local path or a remote elsewhere (GitLab) names no GitHub repository.
pub fn origin_repository(dir: &Path, host: &str) -> Option<String> {
    let url = git(dir, &["remote", "get-url", "origin"]).ok()?;
    repository_from_url(&url, host)
}

fn repository_from_url(url: &str, host: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .or_else(|| url.strip_prefix("ssh://"))
        .or_else(|| url.strip_prefix("git://"))
        .unwrap_or(url);
    // `user@host:path` (scp form) or `user@host/path` (URL form).
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let (remote_host, path) = rest.split_once([':', '/'])?;
    // A port in the URL form (`host:22/owner/name`).
    let path = match path.split_once('/') {
        Some((port, p)) if port.chars().all(|c| c.is_ascii_digit()) => p,
        _ => path,
    };
    if !remote_host.eq_ignore_ascii_case(host) {
        return None;
    }
    let path = path.trim_end_matches('/').trim_end_matches(".git");
    let path = path
        .rsplit_once(':')
        .filter(|(scheme, _)| !scheme.contains("//") && !scheme.starts_with("http"))
        .map_or(path, |(_, p)| p);
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
    let mut files = lines(&git(dir, &["diff", "--name-only", "--relative", base])?);
    files.extend(lines(&git(
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
    Ok(lines(&git(
        dir,
        &["diff", "--name-only", "--relative", &range],
    )?))
}

fn lines(text: &str) -> Vec<String> {
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
                repository_from_url(url, "github.com").as_deref(),
                Some("codewarden/app"),
                "{url}"
            );
        }
    }

    #[test]
    fn only_a_remote_on_the_github_host_names_a_repository() {
        for url in [
            "/home/me/src/app",
            "../app.git",
            "file:///srv/git/app.git",
            "https://gitlab.com/codewarden/app.git",
            "git@gitlab.com:codewarden/app.git",
        ] {
            assert_eq!(repository_from_url(url, "github.com"), None, "{url}");
        }
        assert_eq!(
            repository_from_url("https://ghe.example.com/team/app.git", "ghe.example.com")
                .as_deref(),
            Some("team/app")
        );
    }

    #[test]
    fn head_facts_from_one_rev_parse() {
        let head = Head::parse("/repo\nabc123\nrefs/heads/main\n");
        assert_eq!(head.toplevel.as_deref(), Some(Path::new("/repo")));
        assert_eq!(head.sha.as_deref(), Some("abc123"));
        assert_eq!(head.branch.as_deref(), Some("main"));
        let detached = Head::parse("/repo\nabc123\nHEAD\n");
        assert_eq!(detached.branch, None);
    }
}
