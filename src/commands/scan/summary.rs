//! What `gantry scan` shows: the table by target and severity, the
//! Markdown step summary, and annotations at files in the repository.

use super::{Scanned, Session};
use crate::output::github::{Annotation, Level};
use crate::report::Verdict;
use crate::trivy::ignore::Kind;
use crate::trivy::policy::{Finding, Policy};
use crate::trivy::severity::Severity;

/// Findings listed in the step summary before "and N more" (the printer
/// also caps the summary at GitHub's 1 MiB).
const SUMMARY_ROWS: usize = 200;

pub(super) fn table(scanned: &[Scanned], policy: &Policy) -> String {
    let width = scanned
        .iter()
        .map(|s| s.target.label.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut out = format!(
        "{:<width$}  Critical  High  Medium  Low  Unknown  Ignored\n",
        "Target"
    );
    for s in scanned {
        let o = &s.outcome;
        out.push_str(&format!(
            "{:<width$}  {:>8}  {:>4}  {:>6}  {:>3}  {:>7}  {:>7}\n",
            s.target.label,
            o.count(Severity::Critical),
            o.count(Severity::High),
            o.count(Severity::Medium),
            o.count(Severity::Low),
            o.count(Severity::Unknown),
            o.ignored.len()
        ));
    }
    let shown: Vec<(&Scanned, &Finding)> = scanned
        .iter()
        .flat_map(|s| s.outcome.shown(policy).map(move |f| (s, f)))
        .collect();
    if !shown.is_empty() {
        out.push_str(&format!(
            "\nFindings at or above {} (failing at {}):\n",
            policy.show_at.as_str(),
            policy.fail_at.as_str()
        ));
        for (s, f) in shown {
            let mark = if f.severity >= policy.fail_at {
                "✗"
            } else {
                "-"
            };
            let mut line = format!(
                "{mark} {:<8} {:<16} {} {}: {}",
                f.severity.upper(),
                f.kind.as_str(),
                f.id,
                where_(s, f),
                f.title
            );
            if let (Some(p), Some(v)) = (&f.package, &f.installed) {
                line.push_str(&format!(" [{p} {v}"));
                if !f.fixed.is_empty() {
                    line.push_str(&format!(" → {}", f.fixed.join(", ")));
                }
                line.push(']');
            }
            out.push_str(&format!("  {line}\n"));
        }
    }
    out.trim_end().to_string()
}

/// A finding's place as the user reads it: a repository path for
/// directories, the target inside an image otherwise.
fn where_(s: &Scanned, f: &Finding) -> String {
    match &s.target.prefix {
        Some(p) if !p.is_empty() && f.file.is_some() => format!("{p}/{}", f.location()),
        Some(_) => f.location(),
        None => format!("{} {}", s.target.label, f.location()),
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub(super) fn markdown(
    scanned: &[Scanned],
    policy: &Policy,
    verdict: Verdict,
    trivy: &str,
) -> String {
    let mut md = format!(
        "### gantry scan: {}\n\nTrivy {trivy} · fails at **{}** · shows from **{}**{}\n\n| Target | Critical | High | Medium | Low | Unknown | Ignored | Verdict |\n|---|---|---|---|---|---|---|---|\n",
        verdict.as_str(),
        policy.fail_at.as_str(),
        policy.show_at.as_str(),
        if policy.ignore_unfixed {
            " · unfixed left out"
        } else {
            ""
        }
    );
    for s in scanned {
        let o = &s.outcome;
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            cell(&s.target.label),
            o.count(Severity::Critical),
            o.count(Severity::High),
            o.count(Severity::Medium),
            o.count(Severity::Low),
            o.count(Severity::Unknown),
            o.ignored.len(),
            if o.passes(policy) { "passed" } else { "failed" }
        ));
    }
    let shown: Vec<(&Scanned, &Finding)> = scanned
        .iter()
        .flat_map(|s| s.outcome.shown(policy).map(move |f| (s, f)))
        .collect();
    if !shown.is_empty() {
        md.push_str(&format!(
            "\n#### Findings at or above {}\n\n| Severity | ID | Kind | Where | Package | Fixed in | Title |\n|---|---|---|---|---|---|---|\n",
            policy.show_at.as_str()
        ));
        for (s, f) in shown.iter().take(SUMMARY_ROWS) {
            let id = match &f.url {
                Some(u) => format!("[{}]({u})", cell(&f.id)),
                None => cell(&f.id),
            };
            let package = match (&f.package, &f.installed) {
                (Some(p), Some(v)) => format!("{} {}", cell(p), cell(v)),
                (Some(p), None) => cell(p),
                _ => String::new(),
            };
            md.push_str(&format!(
                "| {} | {id} | {} | `{}` | {package} | {} | {} |\n",
                f.severity.upper(),
                f.kind.as_str(),
                cell(&where_(s, f)),
                cell(&f.fixed.join(", ")),
                cell(&f.title)
            ));
        }
        if shown.len() > SUMMARY_ROWS {
            md.push_str(&format!(
                "\n…and {} more (all of them are in the SARIF file and the JSON document).\n",
                shown.len() - SUMMARY_ROWS
            ));
        }
    }
    let ignored: Vec<_> = scanned
        .iter()
        .flat_map(|s| s.outcome.ignored.iter().map(move |i| (s, i)))
        .collect();
    if !ignored.is_empty() {
        md.push_str("\n#### Ignored\n\n| ID | Where | Entry | Expires | Statement |\n|---|---|---|---|---|\n");
        for (s, i) in ignored {
            md.push_str(&format!(
                "| {} | `{}` | {} | {} | {} |\n",
                cell(&i.finding.id),
                cell(&where_(s, &i.finding)),
                cell(&i.rule.origin),
                i.rule.expires.as_deref().unwrap_or("never"),
                cell(i.rule.statement.as_deref().unwrap_or(""))
            ));
        }
    }
    let expired: Vec<_> = scanned
        .iter()
        .flat_map(|s| s.outcome.expired.iter().map(move |i| (s, i)))
        .collect();
    if !expired.is_empty() {
        md.push_str("\n#### Expired ignores (the findings count again)\n\n| ID | Where | Entry | Expired |\n|---|---|---|---|\n");
        for (s, i) in expired {
            md.push_str(&format!(
                "| {} | `{}` | {} | {} |\n",
                cell(&i.finding.id),
                cell(&where_(s, &i.finding)),
                cell(&i.rule.origin),
                i.rule.expires.as_deref().unwrap_or("")
            ));
        }
    }
    let suppressed: Vec<_> = scanned.iter().flat_map(|s| &s.outcome.suppressed).collect();
    if !suppressed.is_empty() {
        md.push_str("\n#### Suppressed by Trivy (not counted)\n\n| ID | Target | Status | Statement | Source |\n|---|---|---|---|---|\n");
        for x in suppressed {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                cell(&x.id),
                cell(&x.target),
                cell(&x.status),
                cell(&x.statement),
                cell(&x.source)
            ));
        }
    }
    let unfixed: usize = scanned.iter().map(|s| s.outcome.unfixed).sum();
    if unfixed > 0 {
        md.push_str(&format!(
            "\n{unfixed} vulnerabilit{} without a fix left out (`ignore-unfixed`).\n",
            if unfixed == 1 { "y" } else { "ies" }
        ));
    }
    md.push('\n');
    md
}

/// Secrets and misconfigurations at their file and line (only files in the
/// repository: an image's paths are not). Errors at or above `fail-at`,
/// warnings for the rest that are shown.
pub(super) fn annotate(session: &Session, scanned: &[Scanned], policy: &Policy) {
    for s in scanned {
        let Some(prefix) = &s.target.prefix else {
            continue;
        };
        for f in s.outcome.shown(policy) {
            if !matches!(f.kind, Kind::Secret | Kind::Misconfiguration) {
                continue;
            }
            let Some(file) = &f.file else { continue };
            let path = if prefix.is_empty() {
                file.clone()
            } else {
                format!("{prefix}/{file}")
            };
            let level = if f.severity >= policy.fail_at {
                Level::Error
            } else {
                Level::Warning
            };
            let mut message = format!("{} ({} {})", f.title, f.severity.upper(), f.kind.as_str());
            if let Some(url) = &f.url {
                message.push_str(&format!(" {url}"));
            }
            session.printer.annotate(
                Annotation::new(level, message)
                    .at(path, f.line, None)
                    .titled(format!("{}: {}", f.id, f.kind.as_str())),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::scan::Target;
    use crate::trivy::exec::Subject;
    use crate::trivy::ignore;
    use crate::trivy::policy::Classes;
    use crate::trivy::report;

    fn scanned(name: &str, policy: &Policy, label: &str) -> Scanned {
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/data/trivy-reports")
            .join(name);
        let report = report::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
        let outcome = policy.judge(&report);
        Scanned {
            target: Target {
                label: label.into(),
                subject: Subject::Image(label.into()),
                prefix: None,
                image: None,
            },
            report,
            outcome,
            sbom: None,
            vulns_unchecked: None,
        }
    }

    #[test]
    fn table_and_summary_snapshot() {
        let Some(_) = crate::test_skip::shared_data("trivy-reports") else {
            return;
        };
        let policy = Policy {
            fail_at: Severity::Critical,
            show_at: Severity::Medium,
            ignore_unfixed: true,
            classes: Classes {
                vulnerabilities: true,
                secrets: true,
                misconfigurations: true,
                licenses: true,
            },
            ignores: ignore::parse_plain(
                "CVE-2019-14697 exp:2020-01-01\nCVE-2019-1549\n",
                ".trivyignore",
            )
            .unwrap(),
            today: ignore::days_from_date("2026-11-22").unwrap(),
        };
        let all = [
            scanned("alpine-39.json", &policy, "api (alpine:3.9)"),
            scanned("debian-buster.json", &policy, "worker (debian:buster)"),
            scanned("npm-with-suppressed.json", &policy, "dashboard"),
        ];
        insta::assert_snapshot!("scan_table", table(&all, &policy));
        insta::assert_snapshot!(
            "scan_summary",
            markdown(&all, &policy, Verdict::Failed, "0.76.0")
        );
    }
}
