//! Trivy's ignore files, applied by gantry so that what was ignored, and
//! which entries have expired, can be reported.
//!
//! Formats as Trivy documents them (docs/configuration/filtering):
//! `.trivyignore` holds one id per line, optionally followed by
//! `exp:YYYY-MM-DD`, with `#` comments; `.trivyignore.yaml` has the lists
//! `vulnerabilities`, `misconfigurations`, `secrets` and `licenses` of
//! entries with `id`, `paths`, `purls`, `expired_at` and `statement`. An
//! entry stops applying when its date begins (UTC), as in Trivy.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The kind of finding an entry applies to (`.trivyignore` entries apply to all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Vulnerability,
    Misconfiguration,
    Secret,
    License,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Vulnerability => "vulnerability",
            Kind::Misconfiguration => "misconfiguration",
            Kind::Secret => "secret",
            Kind::License => "license",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rule {
    pub id: String,
    /// `None`: any kind (`.trivyignore`).
    pub kind: Option<Kind>,
    /// Globs over the finding's file or package path; empty: anywhere.
    pub paths: Vec<String>,
    /// Package URLs; without a version they match every version.
    pub purls: Vec<String>,
    /// `YYYY-MM-DD`.
    pub expires: Option<String>,
    pub statement: Option<String>,
    /// `file:line`, for messages.
    pub origin: String,
}

/// What a finding offers to be matched against.
pub struct Subject<'a> {
    pub kind: Kind,
    pub ids: &'a [&'a str],
    pub path: Option<&'a str>,
    pub purl: Option<&'a str>,
}

impl Rule {
    /// Whether the entry has expired on `today` (days since 1970-01-01).
    pub fn expired(&self, today: i64) -> bool {
        self.expires
            .as_deref()
            .and_then(days_from_date)
            .is_some_and(|d| today >= d)
    }

    pub fn matches(&self, s: &Subject) -> bool {
        if self.kind.is_some_and(|k| k != s.kind) || !s.ids.contains(&self.id.as_str()) {
            return false;
        }
        let path_ok = self.paths.is_empty()
            || s.path.is_some_and(|p| {
                self.paths.iter().any(|g| {
                    globset::Glob::new(g).is_ok_and(|g| g.compile_matcher().is_match(p)) || g == p
                })
            });
        let purl_ok = self.purls.is_empty()
            || s.purl.is_some_and(|p| {
                self.purls
                    .iter()
                    .any(|want| p == want || p.starts_with(&format!("{want}@")))
            });
        path_ok && purl_ok
    }
}

/// The ignore file in use: `[scan] ignore-file`, else the first of
/// `.trivyignore.yaml`, `.trivyignore.yml`, `.trivyignore` in the project.
pub fn default_file(root: &Path) -> Option<PathBuf> {
    [".trivyignore.yaml", ".trivyignore.yml", ".trivyignore"]
        .iter()
        .map(|n| root.join(n))
        .find(|p| p.is_file())
}

/// Reads an ignore file; `.yaml`/`.yml` files use the YAML format.
pub fn load(path: &Path) -> Result<Vec<Rule>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let label = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    let yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
    if yaml {
        parse_yaml(&text, &label)
    } else {
        parse_plain(&text, &label)
    }
}

pub fn parse_plain(text: &str, label: &str) -> Result<Vec<Rule>, String> {
    let mut rules = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let id = words.next().unwrap_or_default().to_string();
        let mut expires = None;
        for w in words {
            match w.strip_prefix("exp:") {
                Some(d) if days_from_date(d).is_some() => expires = Some(d.to_string()),
                _ => {
                    return Err(format!("line {}: `{w}` is not `exp:YYYY-MM-DD`", n + 1));
                }
            }
        }
        rules.push(Rule {
            id,
            kind: None,
            paths: Vec::new(),
            purls: Vec::new(),
            expires,
            statement: None,
            origin: format!("{label}:{}", n + 1),
        });
    }
    Ok(rules)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct YamlFile {
    #[serde(default)]
    vulnerabilities: Vec<YamlEntry>,
    #[serde(default)]
    misconfigurations: Vec<YamlEntry>,
    #[serde(default)]
    secrets: Vec<YamlEntry>,
    #[serde(default)]
    licenses: Vec<YamlEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlEntry {
    id: String,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    purls: Vec<String>,
    expired_at: Option<String>,
    statement: Option<String>,
}

pub fn parse_yaml(text: &str, label: &str) -> Result<Vec<Rule>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let file: YamlFile = serde_norway::from_str(text).map_err(|e| e.to_string())?;
    let mut rules = Vec::new();
    // The file's own key names each entry: `vulnerabilities[0]`.
    for (kind, key, entries) in [
        (Kind::Vulnerability, "vulnerabilities", file.vulnerabilities),
        (
            Kind::Misconfiguration,
            "misconfigurations",
            file.misconfigurations,
        ),
        (Kind::Secret, "secrets", file.secrets),
        (Kind::License, "licenses", file.licenses),
    ] {
        for (i, e) in entries.into_iter().enumerate() {
            if let Some(d) = &e.expired_at
                && days_from_date(d).is_none()
            {
                return Err(format!(
                    "{key}[{i}] ({}): expired_at `{d}` is not YYYY-MM-DD",
                    e.id
                ));
            }
            rules.push(Rule {
                origin: format!("{label} ({key}[{i}])"),
                id: e.id,
                kind: Some(kind),
                paths: e.paths,
                purls: e.purls,
                expires: e.expired_at,
                statement: e.statement,
            });
        }
    }
    Ok(rules)
}

/// Days since 1970-01-01 of `YYYY-MM-DD` (a time after it is ignored, as
/// YAML dates may carry one).
pub fn days_from_date(s: &str) -> Option<i64> {
    let date = s.get(..10)?;
    let mut parts = date.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || date.len() != 10 {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Today, in days since 1970-01-01 (UTC).
pub fn today() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    (secs / 86_400) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(days_from_date("1970-01-01"), Some(0));
        assert_eq!(days_from_date("2000-03-01"), Some(11_017));
        assert_eq!(days_from_date("2024-13-01"), None);
        assert_eq!(days_from_date("soon"), None);
    }

    #[test]
    fn plain_file_with_expiry() {
        let rules = parse_plain(
            "# accepted\nCVE-2019-1549\n\nDS-0002 exp:2020-01-01 # old\n",
            ".trivyignore",
        )
        .unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[1].origin, ".trivyignore:4");
        let today = days_from_date("2020-01-01").unwrap();
        assert!(rules[1].expired(today) && !rules[1].expired(today - 1));
        assert!(!rules[0].expired(today));
        assert!(
            parse_plain("X exp:tomorrow\n", "f")
                .unwrap_err()
                .contains("line 1")
        );
    }

    #[test]
    fn yaml_file_with_paths_and_purls() {
        let rules = parse_yaml(
            "vulnerabilities:\n  - id: CVE-1\n    purls: [\"pkg:npm/debug\"]\n    statement: not reachable\n    expired_at: 2030-01-02\nsecrets:\n  - id: github-pat\n    paths: [\"tests/**\"]\n",
            ".trivyignore.yaml",
        )
        .unwrap();
        assert_eq!(rules[0].expires.as_deref(), Some("2030-01-02"));
        let subject = |kind, path, purl| Subject {
            kind,
            ids: &["CVE-1", "github-pat"],
            path,
            purl,
        };
        assert!(rules[0].matches(&subject(
            Kind::Vulnerability,
            None,
            Some("pkg:npm/debug@3.0.1")
        )));
        assert!(!rules[0].matches(&subject(
            Kind::Vulnerability,
            None,
            Some("pkg:npm/debugger@1")
        )));
        assert!(!rules[0].matches(&subject(Kind::Secret, None, Some("pkg:npm/debug@3.0.1"))));
        assert!(rules[1].matches(&subject(Kind::Secret, Some("tests/a/b.py"), None)));
        assert!(!rules[1].matches(&subject(Kind::Secret, Some("src/b.py"), None)));
        assert!(
            parse_yaml(
                "vulnerabilities:\n  - id: X\n    expires: 2020-01-01\n",
                "f"
            )
            .is_err()
        );
    }
}
