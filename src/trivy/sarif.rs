//! A SARIF 2.1.0 log for GitHub code scanning, written from the findings the
//! policy shows (at or above `show-at`, ignores applied), not from Trivy's
//! unfiltered output.
//!
//! Only the small subset of SARIF that code scanning reads is written, shaped
//! like Trivy's own `--format sarif` (rule per id, `security-severity`,
//! `ROOTPATH` locations). GitHub's documented limits: an upload of at most
//! 10 MB and 25,000 results per run; beyond them the lowest severities are
//! left out and the log says how many.

use super::policy::Finding;
use super::severity::Severity;
use indexmap::IndexMap;
use serde_json::{Value, json};

pub const SCHEMA: &str = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/main/sarif-2.1/schema/sarif-schema-2.1.0.json";
/// GitHub code scanning: results per run.
pub const MAX_RESULTS: usize = 25_000;
/// GitHub code scanning: size of an uploaded SARIF file.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;

/// The findings of one scan target.
pub struct Input<'a> {
    /// Directory of a file system scan, relative to the repository (`""` for
    /// its root); `None` for an image, whose paths are inside the image.
    pub prefix: Option<&'a str>,
    /// What was scanned, as the user named it.
    pub artifact: &'a str,
    pub findings: Vec<&'a Finding>,
}

/// The SARIF text and how many results the limits left out.
pub fn write(inputs: &[Input], trivy_version: &str) -> (String, usize) {
    let mut all: Vec<(&Input, &Finding)> = inputs
        .iter()
        .flat_map(|i| i.findings.iter().map(move |f| (i, *f)))
        .collect();
    // Stable: report order within one severity.
    all.sort_by_key(|(_, f)| std::cmp::Reverse(f.severity));
    let total = all.len();
    let mut keep = total.min(MAX_RESULTS);
    loop {
        let text = render(&all[..keep], trivy_version, total - keep);
        if text.len() <= MAX_BYTES || keep == 0 {
            return (text, total - keep);
        }
        // Results are of similar size: shrink in proportion, with a margin.
        let scaled = keep as f64 * MAX_BYTES as f64 / text.len() as f64 * 0.95;
        keep = (scaled as usize).min(keep - 1);
    }
}

fn render(findings: &[(&Input, &Finding)], trivy_version: &str, left_out: usize) -> String {
    let mut rules: IndexMap<String, Value> = IndexMap::new();
    let mut results = Vec::new();
    for (input, f) in findings {
        let index = if let Some(i) = rules.get_index_of(&f.id) {
            i
        } else {
            rules.insert(f.id.clone(), rule(f));
            rules.len() - 1
        };
        let (uri, line) = location(input, f);
        let line = line.unwrap_or(1);
        let end = f.end_line.filter(|e| *e >= line).unwrap_or(line);
        results.push(json!({
            "ruleId": f.id,
            "ruleIndex": index,
            "level": level(f.severity),
            "message": { "text": message(f) },
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": { "uri": uri, "uriBaseId": "ROOTPATH" },
                    "region": { "startLine": line, "startColumn": 1, "endLine": end, "endColumn": 1 }
                },
                "message": { "text": format!("{}: {}", input.artifact, f.location()) }
            }]
        }));
    }
    let log = json!({
        "version": "2.1.0",
        "$schema": SCHEMA,
        "runs": [{
            "tool": { "driver": {
                "name": "Trivy",
                "fullName": "Trivy Vulnerability Scanner",
                "informationUri": "https://github.com/aquasecurity/trivy",
                "version": trivy_version,
                "rules": rules.into_values().collect::<Vec<_>>(),
            }},
            "results": results,
            "columnKind": "utf16CodeUnits",
            "originalUriBaseIds": { "ROOTPATH": { "uri": "file:///" } },
            "properties": {
                "gantry": { "leftOutByLimits": left_out }
            }
        }]
    });
    serde_json::to_string(&log).unwrap_or_default()
}

/// A path relative to the repository where the file is in it; the image
/// reference for findings inside an image.
fn location(input: &Input, f: &Finding) -> (String, Option<u32>) {
    match (input.prefix, &f.file) {
        (Some(prefix), Some(file)) => {
            let uri = if prefix.is_empty() || prefix == "." {
                file.clone()
            } else {
                format!("{}/{file}", prefix.trim_end_matches('/'))
            };
            (uri, f.line)
        }
        (Some(prefix), None) if !prefix.is_empty() => (prefix.to_string(), None),
        _ => (input.artifact.to_string(), None),
    }
}

/// As Trivy maps them: critical and high are errors, medium a warning.
fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Unknown => "note",
    }
}

/// GitHub ranks alerts by this score (0-10); Trivy's values per severity.
fn security_severity(f: &Finding) -> String {
    if let Some(score) = f.cvss {
        return format!("{score:.1}");
    }
    match f.severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "2.0",
        Severity::Unknown => "0.0",
    }
    .to_string()
}

fn rule(f: &Finding) -> Value {
    let name = match f.kind {
        super::ignore::Kind::Vulnerability => "Vulnerability",
        super::ignore::Kind::Misconfiguration => "Misconfiguration",
        super::ignore::Kind::Secret => "Secret",
        super::ignore::Kind::License => "License",
    };
    let mut r = json!({
        "id": f.id,
        "name": name,
        "shortDescription": { "text": f.title },
        "fullDescription": { "text": f.title },
        "defaultConfiguration": { "level": level(f.severity) },
        "help": { "text": message(f), "markdown": message(f) },
        "properties": {
            "precision": "very-high",
            "security-severity": security_severity(f),
            "tags": [f.kind.as_str(), "security", f.severity.upper()]
        }
    });
    if let Some(url) = &f.url {
        r["helpUri"] = json!(url);
    }
    r
}

fn message(f: &Finding) -> String {
    let mut m = format!(
        "{} {}\nSeverity: {}",
        f.kind.as_str(),
        f.id,
        f.severity.upper()
    );
    if let Some(p) = &f.package {
        m.push_str(&format!("\nPackage: {p}"));
    }
    if let Some(v) = &f.installed {
        m.push_str(&format!("\nInstalled Version: {v}"));
    }
    if !f.fixed.is_empty() {
        m.push_str(&format!("\nFixed Version: {}", f.fixed.join(", ")));
    }
    if !f.title.is_empty() {
        m.push_str(&format!("\n{}", f.title));
    }
    if let Some(url) = &f.url {
        m.push_str(&format!("\nLink: [{}]({url})", f.id));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::super::policy::{Classes, Policy};
    use super::super::report::tests::{data_dir, load};
    use super::*;
    use std::collections::BTreeSet;

    fn policy(show_at: Severity) -> Policy {
        Policy {
            fail_at: Severity::High,
            show_at,
            ignore_unfixed: false,
            classes: Classes {
                vulnerabilities: true,
                secrets: true,
                misconfigurations: true,
                licenses: true,
            },
            ignores: Vec::new(),
            today: 0,
        }
    }

    /// The parts of SARIF 2.1.0 that the schema requires and code scanning reads.
    pub(super) fn check_structure(log: &Value) {
        assert_eq!(log["version"], "2.1.0");
        assert_eq!(log["$schema"], SCHEMA);
        let runs = log["runs"].as_array().expect("runs");
        for run in runs {
            let driver = &run["tool"]["driver"];
            assert!(driver["name"].as_str().is_some_and(|n| !n.is_empty()));
            let rules = driver["rules"].as_array().unwrap();
            let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
            assert_eq!(
                ids.len(),
                ids.iter().collect::<BTreeSet<_>>().len(),
                "unique rule ids"
            );
            for r in run["results"].as_array().unwrap() {
                let i = r["ruleIndex"].as_u64().unwrap() as usize;
                assert_eq!(r["ruleId"].as_str(), Some(ids[i]));
                assert!(
                    ["none", "note", "warning", "error"].contains(&r["level"].as_str().unwrap())
                );
                assert!(r["message"]["text"].as_str().is_some_and(|t| !t.is_empty()));
                for l in r["locations"].as_array().unwrap() {
                    let p = &l["physicalLocation"];
                    assert!(
                        p["artifactLocation"]["uri"]
                            .as_str()
                            .is_some_and(|u| !u.is_empty())
                    );
                    assert!(p["region"]["startLine"].as_u64().unwrap() >= 1);
                }
            }
        }
    }

    #[test]
    fn same_rule_ids_as_trivys_own_sarif() {
        let Some(_) = crate::test_skip::shared_data("trivy-reports") else {
            return;
        };
        let report = load("alpine-310.json");
        let p = policy(Severity::Low);
        let o = p.judge(&report);
        let (text, left_out) = write(
            &[Input {
                prefix: None,
                artifact: &report.artifact_name,
                findings: o.shown(&p).collect(),
            }],
            "0.76.0",
        );
        assert_eq!(left_out, 0);
        let ours: Value = serde_json::from_str(&text).unwrap();
        check_structure(&ours);
        let theirs: Value = serde_json::from_str(
            &std::fs::read_to_string(data_dir().join("alpine-310.sarif")).unwrap(),
        )
        .unwrap();
        check_structure(&theirs);
        let rule_ids = |v: &Value| -> BTreeSet<String> {
            v["runs"][0]["tool"]["driver"]["rules"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(rule_ids(&ours), rule_ids(&theirs));
        assert_eq!(
            ours["runs"][0]["results"].as_array().unwrap().len(),
            theirs["runs"][0]["results"].as_array().unwrap().len()
        );
    }

    #[test]
    fn respects_show_at_and_the_result_limit() {
        let Some(_) = crate::test_skip::shared_data("trivy-reports") else {
            return;
        };
        let report = load("alpine-39.json");
        let p = policy(Severity::Critical);
        let o = p.judge(&report);
        let (text, _) = write(
            &[Input {
                prefix: None,
                artifact: "alpine:3.9",
                findings: o.shown(&p).collect(),
            }],
            "0.76.0",
        );
        let log: Value = serde_json::from_str(&text).unwrap();
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 2);
        assert!(results.iter().all(|r| r["level"] == "error"));

        let small = Finding {
            title: "t".into(),
            url: None,
            package: None,
            installed: None,
            fixed: Vec::new(),
            ..o.counted[0].clone()
        };
        let many: Vec<Finding> = (0..MAX_RESULTS + 5)
            .map(|i| Finding {
                id: format!("X-{}", i % 50),
                ..small.clone()
            })
            .collect();
        let input = |findings: &[Finding]| {
            let refs: Vec<&Finding> = findings.iter().collect();
            let (text, left_out) = write(
                &[Input {
                    prefix: Some(""),
                    artifact: ".",
                    findings: refs,
                }],
                "0.76.0",
            );
            let log: Value = serde_json::from_str(&text).unwrap();
            assert!(text.len() <= MAX_BYTES);
            assert_eq!(
                log["runs"][0]["properties"]["gantry"]["leftOutByLimits"],
                left_out
            );
            (
                log["runs"][0]["results"].as_array().unwrap().len(),
                left_out,
            )
        };
        assert_eq!(input(&many), (MAX_RESULTS, 5));
        // Long messages: the 10 MB limit bites before the result limit.
        let long: Vec<Finding> = many
            .iter()
            .map(|f| Finding {
                title: "x".repeat(400),
                ..f.clone()
            })
            .collect();
        let (kept, left_out) = input(&long);
        assert!(
            left_out > 5 && kept + left_out == long.len(),
            "{kept} {left_out}"
        );
    }
}
