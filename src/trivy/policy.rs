//! The scan policy: which findings count, which are shown, and the verdict.
//!
//! Trivy's exit code never decides anything: the report is turned into
//! [`Finding`]s and judged here, so `fail-at` can differ from `show-at` and
//! ignores can be reported rather than silently applied.

use super::ignore::{Kind, Rule, Subject};
use super::report::Report;
use super::severity::Severity;
use serde::Serialize;

/// Which classes of findings count (`[scan] vulnerabilities`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Classes {
    pub vulnerabilities: bool,
    pub secrets: bool,
    pub misconfigurations: bool,
    pub licenses: bool,
}

impl Classes {
    pub fn allows(&self, kind: Kind) -> bool {
        match kind {
            Kind::Vulnerability => self.vulnerabilities,
            Kind::Secret => self.secrets,
            Kind::Misconfiguration => self.misconfigurations,
            Kind::License => self.licenses,
        }
    }

    /// Trivy's `--scanners` value.
    pub fn scanners(&self) -> Vec<&'static str> {
        let mut s = Vec::new();
        for (on, name) in [
            (self.vulnerabilities, "vuln"),
            (self.misconfigurations, "misconfig"),
            (self.secrets, "secret"),
            (self.licenses, "license"),
        ] {
            if on {
                s.push(name);
            }
        }
        s
    }
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub fail_at: Severity,
    pub show_at: Severity,
    pub ignore_unfixed: bool,
    pub classes: Classes,
    pub ignores: Vec<Rule>,
    /// Days since 1970-01-01: when ignore entries expire.
    pub today: i64,
}

/// One finding of any class, flattened for judging and printing.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub kind: Kind,
    pub id: String,
    pub severity: Severity,
    pub title: String,
    /// The report's target (`Dockerfile`, `alpine:3.9 (alpine 3.9.2)`, `package-lock.json`).
    pub target: String,
    /// A file the finding is in, relative to the scanned directory (secrets,
    /// misconfigurations, licenses), or a package's path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installed: Option<String>,
    /// Fixed versions (several when Trivy lists several).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixed: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvss: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    #[serde(skip)]
    pub purl: Option<String>,
    /// Other ids an ignore entry may use (a misconfiguration's `AVD-` id).
    #[serde(skip)]
    pub aliases: Vec<String>,
}

impl Finding {
    /// `file:line`, `file`, or the target.
    pub fn location(&self) -> String {
        match (&self.file, self.line) {
            (Some(f), Some(l)) => format!("{f}:{l}"),
            (Some(f), None) => f.clone(),
            _ => self.target.clone(),
        }
    }

    fn fixed_known(&self) -> bool {
        match self.status.as_deref() {
            Some("fixed") => true,
            // Reports from before Trivy wrote a status: a fixed version says it.
            None | Some("") => !self.fixed.is_empty(),
            Some(_) => false,
        }
    }
}

/// Every finding of a report, in report order. Misconfiguration checks that
/// passed (or that Trivy excepted) are not findings.
pub fn findings(report: &Report) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in &report.results {
        for v in &r.vulnerabilities {
            out.push(Finding {
                kind: Kind::Vulnerability,
                id: v.vulnerability_id.clone(),
                severity: v.severity,
                title: if v.title.is_empty() {
                    v.vulnerability_id.clone()
                } else {
                    v.title.clone()
                },
                target: r.target.clone(),
                file: Some(v.pkg_path.clone()).filter(|p| !p.is_empty()),
                line: None,
                end_line: None,
                package: Some(v.pkg_name.clone()),
                installed: Some(v.installed_version.clone()),
                fixed: v.fixed_versions().into_iter().map(String::from).collect(),
                status: Some(v.status.clone()).filter(|s| !s.is_empty()),
                url: Some(v.primary_url.clone())
                    .filter(|u| !u.is_empty())
                    .or_else(|| v.references.first().cloned()),
                cvss: v.cvss_score(),
                layer: v
                    .layer
                    .as_ref()
                    .and_then(|l| l.digest.clone().or(l.diff_id.clone())),
                purl: Some(v.pkg_identifier.purl.clone()).filter(|p| !p.is_empty()),
                aliases: Vec::new(),
            });
        }
        for m in &r.misconfigurations {
            if !m.status.is_empty() && m.status != "FAIL" {
                continue;
            }
            out.push(Finding {
                kind: Kind::Misconfiguration,
                id: m.id.clone(),
                severity: m.severity,
                title: if m.message.is_empty() {
                    m.title.clone()
                } else {
                    m.message.clone()
                },
                target: r.target.clone(),
                file: Some(r.target.clone()),
                line: m.cause_metadata.start_line.filter(|l| *l > 0),
                end_line: m.cause_metadata.end_line.filter(|l| *l > 0),
                package: None,
                installed: None,
                fixed: Vec::new(),
                status: None,
                url: Some(m.primary_url.clone()).filter(|u| !u.is_empty()),
                cvss: None,
                layer: None,
                purl: None,
                aliases: vec![m.avd_id.clone()],
            });
        }
        for s in &r.secrets {
            out.push(Finding {
                kind: Kind::Secret,
                id: s.rule_id.clone(),
                severity: s.severity,
                title: s.title.clone(),
                target: r.target.clone(),
                file: Some(r.target.clone()),
                line: s.start_line,
                end_line: s.end_line,
                package: None,
                installed: None,
                fixed: Vec::new(),
                status: None,
                url: None,
                cvss: None,
                layer: None,
                purl: None,
                aliases: Vec::new(),
            });
        }
        for l in &r.licenses {
            out.push(Finding {
                kind: Kind::License,
                id: l.name.clone(),
                severity: l.severity,
                title: format!("{} license ({})", l.name, l.category),
                target: r.target.clone(),
                file: Some(l.file_path.clone()).filter(|p| !p.is_empty()),
                line: None,
                end_line: None,
                package: Some(l.pkg_name.clone()).filter(|p| !p.is_empty()),
                installed: None,
                fixed: Vec::new(),
                status: None,
                url: Some(l.link.clone()).filter(|u| !u.is_empty()),
                cvss: None,
                layer: None,
                purl: None,
                aliases: Vec::new(),
            });
        }
    }
    out
}

/// A finding an ignore entry removed.
#[derive(Debug, Clone, Serialize)]
pub struct Ignored {
    pub finding: Finding,
    pub rule: Rule,
}

/// A finding Trivy itself suppressed (VEX, its own ignore handling).
#[derive(Debug, Clone, Serialize)]
pub struct Suppressed {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub statement: String,
    pub source: String,
    pub target: String,
}

/// The judged findings of one report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Judgement {
    /// Findings that count, every severity.
    pub counted: Vec<Finding>,
    /// Removed by an ignore entry that is still valid.
    pub ignored: Vec<Ignored>,
    /// Vulnerabilities without a fix, left out by `ignore-unfixed`.
    pub unfixed: usize,
    pub suppressed: Vec<Suppressed>,
    /// Expired entries that would have matched a finding: it counts again.
    pub expired: Vec<Ignored>,
}

impl Judgement {
    pub fn count(&self, s: Severity) -> usize {
        self.counted.iter().filter(|f| f.severity == s).count()
    }

    pub fn failing(&self, policy: &Policy) -> impl Iterator<Item = &Finding> {
        let at = policy.fail_at;
        self.counted.iter().filter(move |f| f.severity >= at)
    }

    pub fn shown(&self, policy: &Policy) -> impl Iterator<Item = &Finding> {
        let at = policy.show_at;
        self.counted.iter().filter(move |f| f.severity >= at)
    }

    pub fn passes(&self, policy: &Policy) -> bool {
        self.failing(policy).next().is_none()
    }
}

impl Policy {
    pub fn judge(&self, report: &Report) -> Judgement {
        let mut out = Judgement::default();
        for f in findings(report) {
            if !self.classes.allows(f.kind) {
                continue;
            }
            if self.ignore_unfixed && f.kind == Kind::Vulnerability && !f.fixed_known() {
                out.unfixed += 1;
                continue;
            }
            let mut ids: Vec<&str> = vec![f.id.as_str()];
            ids.extend(
                f.aliases
                    .iter()
                    .map(String::as_str)
                    .filter(|a| !a.is_empty()),
            );
            let path = f.file.as_deref();
            let subject = Subject {
                kind: f.kind,
                ids: &ids,
                path,
                purl: f.purl.as_deref(),
            };
            let matching: Vec<&Rule> = self
                .ignores
                .iter()
                .filter(|r| r.matches(&subject))
                .collect();
            if let Some(rule) = matching.iter().find(|r| !r.expired(self.today)) {
                out.ignored.push(Ignored {
                    finding: f,
                    rule: (*rule).clone(),
                });
                continue;
            }
            if let Some(rule) = matching.first() {
                out.expired.push(Ignored {
                    finding: f.clone(),
                    rule: (*rule).clone(),
                });
            }
            out.counted.push(f);
        }
        // Highest severity first; report order within a severity.
        out.counted.sort_by_key(|f| std::cmp::Reverse(f.severity));
        for r in &report.results {
            for m in &r.experimental_modified_findings {
                out.suppressed.push(Suppressed {
                    id: m.id(),
                    kind: m.kind.clone(),
                    status: m.status.clone(),
                    statement: m.statement.clone(),
                    source: m.source.clone(),
                    target: r.target.clone(),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::ignore;
    use super::super::report::tests::load;
    use super::*;
    use std::collections::BTreeMap;

    fn policy() -> Policy {
        Policy {
            fail_at: Severity::High,
            show_at: Severity::Low,
            ignore_unfixed: false,
            classes: Classes {
                vulnerabilities: true,
                secrets: true,
                misconfigurations: true,
                licenses: true,
            },
            ignores: Vec::new(),
            today: ignore::days_from_date("2026-01-01").unwrap(),
        }
    }

    /// Counts straight from the JSON, independent of the typed model.
    fn raw_counts(name: &str) -> BTreeMap<String, usize> {
        let text =
            std::fs::read_to_string(super::super::report::tests::data_dir().join(name)).unwrap();
        let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut counts = BTreeMap::new();
        for r in raw["Results"].as_array().into_iter().flatten() {
            for key in ["Vulnerabilities", "Secrets", "Licenses"] {
                for f in r[key].as_array().into_iter().flatten() {
                    *counts
                        .entry(f["Severity"].as_str().unwrap().to_lowercase())
                        .or_default() += 1;
                }
            }
            for m in r["Misconfigurations"].as_array().into_iter().flatten() {
                if m["Status"].as_str().is_none_or(|s| s == "FAIL") {
                    *counts
                        .entry(m["Severity"].as_str().unwrap().to_lowercase())
                        .or_default() += 1;
                }
            }
        }
        counts
    }

    fn counts(o: &Judgement) -> BTreeMap<String, usize> {
        Severity::ALL
            .iter()
            .map(|s| (s.as_str().to_string(), o.count(*s)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    fn ids(findings: impl Iterator<Item = impl std::borrow::Borrow<Finding>>) -> Vec<String> {
        let mut v: Vec<String> = findings
            .map(|f| {
                let f = f.borrow();
                format!(
                    "{} {} {}",
                    f.id,
                    f.package.as_deref().unwrap_or(""),
                    f.target
                )
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn per_severity_counts_equal_every_report() {
        let Some(_) = crate::test_skip::shared_data("trivy-reports") else {
            return;
        };
        for entry in std::fs::read_dir(super::super::report::tests::data_dir()).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            let Ok(report) = super::super::report::parse(&text) else {
                continue;
            };
            assert_eq!(
                counts(&policy().judge(&report)),
                raw_counts(&name),
                "{name}"
            );
        }
    }

    #[test]
    fn ignore_unfixed_agrees_with_trivy() {
        let Some(_) = crate::test_skip::shared_data("trivy-reports") else {
            return;
        };
        for (all, expected) in [
            ("debian-buster.json", "debian-buster-ignore-unfixed.json"),
            ("ubuntu-1804.json", "ubuntu-1804-ignore-unfixed.json"),
            ("centos-7.json", "centos-7-ignore-unfixed.json"),
        ] {
            let p = Policy {
                ignore_unfixed: true,
                ..policy()
            };
            let ours = p.judge(&load(all));
            let theirs = policy().judge(&load(expected));
            assert_eq!(
                ids(ours.counted.iter()),
                ids(theirs.counted.iter()),
                "{all}"
            );
            assert!(ours.unfixed > 0, "{all}");
        }
    }

    #[test]
    fn show_at_and_fail_at_agree_with_trivy_severity_filter() {
        let Some(_) = crate::test_skip::shared_data("trivy-reports") else {
            return;
        };
        let p = Policy {
            show_at: Severity::High,
            fail_at: Severity::Critical,
            ..policy()
        };
        let ours = p.judge(&load("alpine-39.json"));
        let theirs = policy().judge(&load("alpine-39-high-critical.json"));
        assert_eq!(ids(ours.shown(&p)), ids(theirs.counted.iter()));
        assert_eq!(ids(ours.failing(&p)), ids(theirs.counted.iter()));
        assert!(!ours.passes(&p));
        // Shown at low, failing only at critical: the medium ones are shown, not failing.
        let p = Policy {
            show_at: Severity::Low,
            ..p
        };
        assert!(ours.shown(&p).count() > ours.failing(&p).count());
        let lenient = Policy {
            fail_at: Severity::Critical,
            classes: Classes {
                vulnerabilities: false,
                ..p.classes
            },
            ..p
        };
        assert!(lenient.judge(&load("alpine-39.json")).passes(&lenient));
    }

    #[test]
    fn suppressed_findings_are_listed_not_counted() {
        let Some(_) = crate::test_skip::shared_data("trivy-reports") else {
            return;
        };
        let report = load("npm-with-suppressed.json");
        let o = policy().judge(&report);
        assert!(!o.suppressed.is_empty());
        for s in &o.suppressed {
            assert!(
                o.counted
                    .iter()
                    .all(|f| f.id != s.id || f.target != s.target),
                "{}",
                s.id
            );
        }
        assert_eq!(o.suppressed[0].status, "not_affected");
    }

    /// Found by scripts/mutants: no test read a finding's location.
    #[test]
    fn a_finding_is_located_at_its_file_and_line_else_its_file_else_its_target() {
        let Some(_) = crate::test_skip::shared_data("trivy-reports") else {
            return;
        };
        let mut f = policy().judge(&load("alpine-39.json")).counted.remove(0);
        f.target = "alpine:3.9".into();
        f.file = Some("api/app.py".into());
        f.line = Some(3);
        assert_eq!(f.location(), "api/app.py:3");
        f.line = None;
        assert_eq!(f.location(), "api/app.py");
        f.file = None;
        assert_eq!(f.location(), "alpine:3.9");
    }

    #[test]
    fn ignores_apply_until_they_expire() {
        let Some(_) = crate::test_skip::shared_data("trivy-reports") else {
            return;
        };
        let report = load("alpine-39.json");
        let critical: Vec<String> = policy()
            .judge(&report)
            .failing(&policy())
            .map(|f| f.id.clone())
            .collect();
        let mut text = String::new();
        for id in &critical {
            text.push_str(&format!("{id}\n"));
        }
        let p = Policy {
            ignores: ignore::parse_plain(&text, ".trivyignore").unwrap(),
            ..policy()
        };
        let o = p.judge(&report);
        assert!(o.passes(&p));
        assert_eq!(o.ignored.len(), critical.len());
        let p = Policy {
            ignores: ignore::parse_plain(&text.replace('\n', " exp:2025-12-31\n"), "f").unwrap(),
            ..policy()
        };
        let o = p.judge(&report);
        assert!(!o.passes(&p));
        assert_eq!(o.expired.len(), critical.len());
        assert!(o.ignored.is_empty());
    }

    /// Survivors of `scripts/mutants src/trivy/policy.rs`: the `--scanners`
    /// value for each class, and how an empty `PkgPath`, an empty `Status`
    /// and a fixed version without a status are read (reports from Trivy
    /// before it wrote `Status` have none).
    #[test]
    fn scanners_name_the_classes_that_are_on() {
        let mut classes = policy().classes;
        assert_eq!(
            classes.scanners(),
            ["vuln", "misconfig", "secret", "license"]
        );
        classes.misconfigurations = false;
        classes.licenses = false;
        assert_eq!(classes.scanners(), ["vuln", "secret"]);
    }

    #[test]
    fn empty_fields_are_absent_and_a_fixed_version_without_status_is_a_fix() {
        let report: Report = serde_json::from_str(
            r#"{"SchemaVersion": 2, "Results": [{"Target": "web/package-lock.json", "Vulnerabilities": [
                {"VulnerabilityID": "CVE-1", "PkgName": "a", "InstalledVersion": "1.0",
                 "FixedVersion": "1.1", "Severity": "HIGH"},
                {"VulnerabilityID": "CVE-2", "PkgName": "b", "InstalledVersion": "2.0",
                 "PkgPath": "web/node_modules/b/package.json", "Status": "affected",
                 "Severity": "HIGH"},
                {"VulnerabilityID": "CVE-3", "PkgName": "c", "InstalledVersion": "3.0",
                 "PkgPath": "", "Status": "", "Severity": "HIGH"}
            ]}]}"#,
        )
        .unwrap();
        let f = findings(&report);
        assert_eq!(f[0].file, None);
        assert_eq!(f[0].status, None);
        assert_eq!(
            f[1].file.as_deref(),
            Some("web/node_modules/b/package.json")
        );
        assert_eq!(f[1].status.as_deref(), Some("affected"));
        assert!(f[0].fixed_known(), "a fixed version and no status");
        assert!(!f[1].fixed_known(), "affected");
        assert!(!f[2].fixed_known(), "no status and no fixed version");
        let p = Policy {
            ignore_unfixed: true,
            ..policy()
        };
        let o = p.judge(&report);
        assert_eq!(o.unfixed, 2);
        assert_eq!(ids(o.counted.iter()), ["CVE-1 a web/package-lock.json"]);
    }

    /// Survivors of `scripts/mutants src/trivy/policy.rs -- --lib trivy::`
    /// (the whole file): which empty or zero fields mean "absent", and that
    /// only failed misconfiguration checks are findings.
    #[test]
    fn empty_urls_purls_and_zero_lines_are_absent_and_passed_checks_are_no_findings() {
        let report: Report = serde_json::from_str(
            r#"{"SchemaVersion": 2, "Results": [{"Target": "Dockerfile",
              "Vulnerabilities": [
                {"VulnerabilityID": "CVE-1", "PkgName": "a", "InstalledVersion": "1",
                 "Severity": "HIGH", "PrimaryURL": "https://primary",
                 "References": ["https://reference"], "PkgIdentifier": {"PURL": "pkg:npm/a@1"}},
                {"VulnerabilityID": "CVE-2", "PkgName": "b", "InstalledVersion": "2",
                 "Severity": "HIGH", "PrimaryURL": "", "References": ["https://reference"],
                 "PkgIdentifier": {"PURL": ""}}
              ],
              "Misconfigurations": [
                {"ID": "DS001", "Severity": "HIGH", "Status": "FAIL",
                 "PrimaryURL": "https://avd/ds001",
                 "CauseMetadata": {"StartLine": 3, "EndLine": 4}},
                {"ID": "DS002", "Severity": "HIGH", "Status": "PASS",
                 "CauseMetadata": {"StartLine": 5, "EndLine": 5}},
                {"ID": "DS003", "Severity": "HIGH", "Status": "EXCEPTION"},
                {"ID": "DS004", "Severity": "HIGH", "Status": "", "PrimaryURL": "",
                 "CauseMetadata": {"StartLine": 0, "EndLine": 0}}
              ],
              "Licenses": [
                {"Name": "GPL-3.0", "Severity": "HIGH", "Category": "restricted",
                 "PkgName": "c", "FilePath": "c/LICENSE", "Link": "https://license"},
                {"Name": "AGPL-3.0", "Severity": "HIGH", "Category": "forbidden",
                 "PkgName": "", "FilePath": "", "Link": ""}
              ]}]}"#,
        )
        .unwrap();
        let f = findings(&report);
        let ids: Vec<&str> = f.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(
            ids,
            ["CVE-1", "CVE-2", "DS001", "DS004", "GPL-3.0", "AGPL-3.0"]
        );
        assert_eq!(f[0].url.as_deref(), Some("https://primary"));
        assert_eq!(f[1].url.as_deref(), Some("https://reference"));
        assert_eq!(f[0].purl.as_deref(), Some("pkg:npm/a@1"));
        assert_eq!(f[1].purl, None);
        assert_eq!((f[2].line, f[2].end_line), (Some(3), Some(4)));
        assert_eq!((f[3].line, f[3].end_line), (None, None));
        assert_eq!(f[2].url.as_deref(), Some("https://avd/ds001"));
        assert_eq!(f[3].url, None);
        let (full, empty) = (&f[4], &f[5]);
        assert_eq!(
            (full.file.as_deref(), full.package.as_deref()),
            (Some("c/LICENSE"), Some("c"))
        );
        assert_eq!(full.url.as_deref(), Some("https://license"));
        assert_eq!(
            (&empty.file, &empty.package, &empty.url),
            (&None, &None, &None)
        );
        // A misconfiguration without an AVD id offers no empty alias: an
        // ignore entry with an empty id matches nothing.
        let p = Policy {
            ignores: ignore::parse_yaml("misconfigurations:\n  - id: \"\"\n", "y").unwrap(),
            ..policy()
        };
        let o = p.judge(&report);
        assert!(o.ignored.is_empty());
        assert_eq!(o.counted.len(), f.len());
    }
}
