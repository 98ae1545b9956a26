//! Image tags and OCI labels for the commit being built, the way
//! docker/metadata-action derives them (its `src/meta.ts`), with the choices
//! its README leaves to each workflow made once: no bare `0` tag for a 0.x
//! release, and `latest` only for the newest stable release.

mod semver;
#[cfg(test)]
mod tests;

use semver::Version;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Facts about the commit being built (filled by the caller from git or GitHub).
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The full commit sha.
    pub sha: Option<String>,
    /// The branch name, when the ref is a branch (`feature/login`).
    pub branch: Option<String>,
    /// The tag name, when the ref is a tag (`v1.2.3`).
    pub tag: Option<String>,
    /// The pull request number, on a pull request build.
    pub pr_number: Option<u64>,
    /// The repository's web address, e.g. `https://github.com/codewarden/app`.
    pub repository_url: Option<String>,
    /// When the image is built, RFC 3339.
    pub created: String,
    /// Every other version tag in the repository (e.g. from `git tag`), to decide whether this tag is the newest stable release.
    pub other_tags: Vec<String>,
}

/// A tag rule from `tags = [...]` in gantry.toml: "sha", "branch", "tag", "semver", "pr", "latest", or "raw:<value>".
///
/// Each rule gives nothing when its fact is missing (`branch` on a tag
/// build, `pr` outside a pull request), so one list serves every event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagRule {
    /// `sha-` and the first 7 characters of the commit (`type=sha`).
    Sha,
    /// The branch name (`type=ref,event=branch`): `feature/login` gives `feature-login`.
    Branch,
    /// The tag name as written (`type=ref,event=tag`): `v1.2.3`. Unlike
    /// metadata-action, this never implies `latest`: a backport or a
    /// prerelease tag would take it.
    Tag,
    /// For a semver tag (`v` optional): `1.2.3`, `1.2` and `1`, without the
    /// bare major for a 0.x release (it promises no compatibility); only
    /// `1.2.3-rc.1` for a prerelease; nothing for any other tag. Also adds
    /// `latest`, after all other tags, when the release is stable and no
    /// stable version in `other_tags` is newer (an equal one is fine): a
    /// backport `v1.2.9` released after `v2.0.0` does not move `latest`.
    Semver,
    /// `pr-<number>` (`type=ref,event=pr`).
    Pr,
    /// `latest`, always, where the rule stands.
    Latest,
    /// A fixed tag, sanitised (`type=raw`).
    Raw(String),
}

impl TagRule {
    /// Why the tags of this rule point at another image later (an immutable
    /// repository refuses that push); `None` when each tag names one build
    /// for good: `sha` (one commit) and `tag` (a release tag, which is
    /// never moved).
    pub fn moves(&self) -> Option<String> {
        match self {
            TagRule::Sha | TagRule::Tag => None,
            TagRule::Branch => Some(
                "`branch` tags every push with its branch name, so `main` moves on the next push to main".into(),
            ),
            TagRule::Pr => Some(
                "`pr` tags `pr-<number>`, which moves on the next push to the pull request".into(),
            ),
            TagRule::Latest => Some("`latest` moves on every build".into()),
            TagRule::Semver => Some(
                "`semver` moves `<major>.<minor>`, `<major>` and `latest` with each release".into(),
            ),
            TagRule::Raw(value) => Some(format!(
                "`raw:{value}` gives every build the same tag `{value}`"
            )),
        }
    }
}

const VALID_RULES: &str = "sha, branch, tag, semver, pr, latest, raw:<value>";

impl std::str::FromStr for TagRule {
    type Err = String;

    fn from_str(text: &str) -> Result<TagRule, String> {
        let text = text.trim();
        Ok(match text {
            "sha" => TagRule::Sha,
            "branch" => TagRule::Branch,
            "tag" => TagRule::Tag,
            "semver" => TagRule::Semver,
            "pr" => TagRule::Pr,
            "latest" => TagRule::Latest,
            _ => match text.strip_prefix("raw:").map(str::trim) {
                Some(value) if !value.is_empty() => TagRule::Raw(value.to_string()),
                Some(_) => {
                    return Err(format!(
                        "tag rule `{text}` needs a value after `raw:`; valid rules: {VALID_RULES}"
                    ));
                }
                None => {
                    return Err(format!(
                        "unknown tag rule `{text}`; valid rules: {VALID_RULES}"
                    ));
                }
            },
        })
    }
}

/// The tags the rules give for these facts, sanitised, de-duplicated, in rule order.
///
/// A tag that sanitises to nothing is dropped; the `latest` that `semver`
/// implies comes last, as metadata-action puts it.
pub fn tags(rules: &[TagRule], facts: &Facts) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut newest = false;
    for rule in rules {
        let raw: Vec<String> = match rule {
            TagRule::Sha => facts
                .sha
                .iter()
                .map(|s| format!("sha-{}", short_sha(s)))
                .collect(),
            TagRule::Branch => facts.branch.iter().cloned().collect(),
            TagRule::Tag => facts.tag.iter().cloned().collect(),
            TagRule::Pr => facts.pr_number.iter().map(|n| format!("pr-{n}")).collect(),
            TagRule::Latest => vec!["latest".into()],
            TagRule::Raw(value) => vec![value.clone()],
            TagRule::Semver => {
                let (tags, latest) = semver_tags(facts);
                newest |= latest;
                tags
            }
        };
        for tag in raw {
            push_unique(&mut out, sanitize_tag(&tag));
        }
    }
    if newest {
        push_unique(&mut out, "latest".into());
    }
    out
}

/// A valid Docker tag: lower-cased, characters outside [a-z0-9_.-] replaced by `-`, not starting with `.` or `-`, at most 128 characters.
///
/// A run of invalid characters becomes one `-`, as in metadata-action
/// (`a//b` gives `a-b`). Docker would accept upper case; gantry lowers it so
/// `Feature/X` and `feature/x` cannot push two tags. May return "".
pub fn sanitize_tag(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut in_run = false;
    for c in raw.chars().map(|c| c.to_ascii_lowercase()) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-') {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('-');
            in_run = true;
        }
    }
    out.trim_start_matches(['.', '-'])
        .chars()
        .take(128)
        .collect()
}

/// OCI labels: org.opencontainers.image.{source,revision,created,version,title,url}. `version` is the semver version for a tag build, else the branch (sanitised), else the short sha.
///
/// Precisely, `version` is the first of: the tag's semver version
/// (`1.2.3`, `1.2.3-rc.1`), the tag itself for a non-semver tag, the branch,
/// `pr-<n>`, the 7-character sha. `source` and `url` are both the repository
/// address, as metadata-action writes them. A label without a value is left out.
pub fn labels(facts: &Facts, title: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut put = |key: &str, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            labels.insert(format!("org.opencontainers.image.{key}"), value);
        }
    };
    put("created", Some(facts.created.clone()));
    put("revision", facts.sha.clone());
    put("source", facts.repository_url.clone());
    put("url", facts.repository_url.clone());
    put("title", Some(title.to_string()));
    put("version", version_label(facts));
    labels
}

fn version_label(facts: &Facts) -> Option<String> {
    if let Some(tag) = &facts.tag {
        return Some(match Version::parse(tag) {
            Some(version) => version.full(),
            None => sanitize_tag(tag),
        });
    }
    facts
        .branch
        .as_deref()
        .map(sanitize_tag)
        .or_else(|| facts.pr_number.map(|n| format!("pr-{n}")))
        .or_else(|| facts.sha.as_deref().map(|s| short_sha(s).to_string()))
}

/// The tags of the `semver` rule, and whether this release is the newest.
fn semver_tags(facts: &Facts) -> (Vec<String>, bool) {
    let Some(version) = facts.tag.as_deref().and_then(Version::parse) else {
        return (Vec::new(), false);
    };
    // Prereleases change often and break things: only their exact tag.
    if version.is_prerelease() {
        return (vec![version.full()], false);
    }
    let mut tags = vec![
        version.full(),
        format!("{}.{}", version.major, version.minor),
    ];
    if version.major != 0 {
        tags.push(version.major.to_string());
    }
    let newer_exists = facts
        .other_tags
        .iter()
        .filter_map(|t| Version::parse(t))
        .filter(|v| !v.is_prerelease())
        .any(|v| v.precedence(&version) == Ordering::Greater);
    (tags, !newer_exists)
}

fn short_sha(sha: &str) -> &str {
    sha.char_indices().nth(7).map_or(sha, |(i, _)| &sha[..i])
}

fn push_unique(out: &mut Vec<String>, tag: String) {
    if !tag.is_empty() && !out.contains(&tag) {
        out.push(tag);
    }
}
