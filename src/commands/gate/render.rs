//! What `gantry gate` shows: the line per finished gate, its output, its
//! annotations, the result table and the step summary.

use super::Session;
use crate::gate::select::Changes;
use crate::gate::{GateResult, Status, format_duration, location, matcher};
use crate::output::github::{Annotation, Level, truncate};
use crate::output::{Format, table};
use crate::report::Verdict;
use crate::settings::gate::Gate;

/// Lines of a failed gate's output shown outside GitHub (all of it with `-v`).
const TAIL_LINES: usize = 60;

pub(super) fn finish_line(o: &GateResult) -> String {
    let mark = match o.status {
        Status::Passed => "✓",
        Status::Skipped => "-",
        _ if !o.required => "!",
        _ => "✗",
    };
    let tests = o
        .tests
        .map(|t| format!(", {} tests", t.total()))
        .unwrap_or_default();
    let reason = o
        .reason
        .as_ref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    format!(
        "{mark} {} {} in {}{tests}{reason}",
        o.name,
        o.status.as_str(),
        format_duration(o.duration)
    )
}

/// The command's output: always in a collapsed group in GitHub; elsewhere
/// the tail of a failed gate's output, or all of it with `-v`.
pub(super) fn show_output(session: &Session, gate: &Gate, o: &GateResult) {
    if o.status == Status::Skipped {
        return;
    }
    let printer = session.printer;
    let title = format!("{} ({})", gate.name, gate.command.display());
    let lines: Vec<&str> = o.output.lines().collect();
    // The capture keeps only the end of a huge output; the count is of the
    // whole output, and the whole of it is in the log file.
    let whole = o.lines.max(lines.len());
    let earlier = |shown: usize| {
        let hidden = whole - shown;
        let where_ = match &o.log {
            Some(path) => format!("the whole output is in {}", path.display()),
            None => "the rest was not kept".to_string(),
        };
        format!("[... {hidden} earlier lines; {where_} ...]\n")
    };
    if printer.format() == Format::Github || printer.verbose() > 0 {
        if whole > lines.len() {
            let body = format!("{}{}", earlier(lines.len()), o.output);
            printer.group(&title, &body);
        } else {
            printer.group(&title, &o.output);
        }
    } else if o.is_failure() {
        let start = lines.len().saturating_sub(TAIL_LINES);
        let shown = lines.len() - start;
        let mut body = String::new();
        if whole == lines.len() && start > 0 {
            // Nothing was cut from the capture: -v really shows it all.
            body.push_str(&format!("[... {start} earlier lines; -v shows all ...]\n"));
        } else if whole > shown {
            body.push_str(&earlier(shown));
        }
        body.push_str(&lines[start..].join("\n"));
        printer.group(&title, &body);
    }
}

/// Annotations for a failed gate: each failed test and each matched problem
/// at its file and line; a plain one when nothing could be located.
pub(super) fn annotate(session: &Session, gate: &Gate, o: &GateResult) {
    if !o.is_failure() {
        return;
    }
    let level = if o.required {
        Level::Error
    } else {
        Level::Warning
    };
    let root = &session.repo_root;
    let mut seen = Vec::new();
    for f in &o.failures {
        let mut message = f.message.clone();
        if !f.details.is_empty() && f.details != f.message {
            message.push_str("\n\n");
            message.push_str(&f.details);
        }
        let mut a = Annotation::new(level, message).titled(format!("{}: {}", gate.name, f.test));
        if let Some(loc) = location::of_failure(f, &gate.dir, root) {
            seen.push((loc.file.clone(), loc.line));
            a = a.at(loc.file, loc.line, loc.col);
        }
        session.printer.annotate(a);
    }
    if let Some(m) = gate.matcher {
        for p in matcher::parse(m, &o.output) {
            let file = location::repo_relative(&p.file, &gate.dir, root);
            if seen.contains(&(file.clone(), p.line)) {
                continue;
            }
            seen.push((file.clone(), p.line));
            let lvl = if p.level == Level::Error {
                level
            } else {
                p.level
            };
            session.printer.annotate(
                Annotation::new(lvl, p.message.clone())
                    .at(file, p.line, p.col)
                    .titled(gate.name.clone()),
            );
        }
    }
    if seen.is_empty() && o.failures.is_empty() {
        let reason = o.reason.clone().unwrap_or_else(|| "failed".into());
        session.printer.annotate(
            Annotation::new(
                level,
                format!("gate `{}` {}: {reason}", gate.name, o.status.as_str()),
            )
            .titled(gate.name.clone()),
        );
    }
}

pub(super) fn counts_cell(o: &GateResult) -> String {
    o.tests.map_or_else(
        || "-".into(),
        |t| format!("{} / {} / {}", t.passed, t.failed, t.skipped),
    )
}

pub(super) fn note(o: &GateResult) -> String {
    match o.status {
        Status::Skipped => o.reason.clone().unwrap_or_default(),
        _ => o.first_failure().unwrap_or_default(),
    }
}

/// The plain-text result table.
pub(super) fn table(outcomes: &[GateResult]) -> String {
    let rows: Vec<[String; 5]> = outcomes
        .iter()
        .map(|o| {
            let status = if o.is_failure() && !o.required {
                format!("{} (optional)", o.status.as_str())
            } else {
                o.status.as_str().to_string()
            };
            [
                o.name.clone(),
                status,
                if o.status == Status::Skipped {
                    "-".into()
                } else {
                    format_duration(o.duration)
                },
                counts_cell(o),
                note(o).lines().next().unwrap_or("").to_string(),
            ]
        })
        .collect();
    table::aligned(["gate", "status", "time", "tests p/f/s", "notes"], &rows)
}

/// The step summary section.
pub(super) fn markdown(
    outcomes: &[GateResult],
    verdict: Verdict,
    changes: &Changes,
    any_paths: bool,
) -> String {
    let mut md = format!(
        "### gantry gate: {}\n\n| Gate | Status | Duration | Tests (passed / failed / skipped) | Notes |\n|---|---|---|---|---|\n",
        verdict.as_str()
    );
    for o in outcomes {
        let icon = match o.status {
            Status::Passed => "✅",
            Status::Skipped => "⏭️",
            Status::TimedOut => "⏱️",
            Status::Failed if !o.required => "⚠️",
            Status::Failed => "❌",
        };
        let optional = if !o.required && o.is_failure() {
            " (optional)"
        } else {
            ""
        };
        md.push_str(&format!(
            "| {} | {icon} {}{optional} | {} | {} | {} |\n",
            cell(&o.name),
            o.status.as_str(),
            if o.status == Status::Skipped {
                "-".into()
            } else {
                format_duration(o.duration)
            },
            counts_cell(o),
            cell(&note(o)),
        ));
    }
    match changes {
        Changes::Unknown { reason } if any_paths => {
            md.push_str(&format!("\nEvery gate ran: {}.\n", cell(reason)));
        }
        Changes::Known { files, against } => {
            md.push_str(&format!(
                "\n{} changed file(s) since {}.\n",
                files.len(),
                cell(against)
            ));
        }
        Changes::Unknown { .. } => {}
    }
    md.push('\n');
    md
}

/// A Markdown table cell: one line, pipes escaped.
pub(super) fn cell(s: &str) -> String {
    let first = s.lines().next().unwrap_or("");
    truncate(first, 200).replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::junit;
    use std::time::Duration;

    fn sample() -> Vec<GateResult> {
        let ran = |name: &str, status, ms, required| GateResult {
            name: name.into(),
            required,
            status,
            reason: None,
            duration: Duration::from_millis(ms),
            exit_code: Some(0),
            tests: None,
            failures: vec![],
            output: String::new(),
            lines: 0,
            log: None,
        };
        let mut api = ran("api-tests", Status::Failed, 1234, true);
        api.tests = Some(junit::Counts {
            passed: 12,
            failed: 1,
            skipped: 2,
        });
        api.reason = Some("exit code 1, 1 test(s) failed".into());
        api.failures.push(junit::Failure {
            test: "tests.test_health.test_ok".into(),
            classname: None,
            message: "assert 200 == 201 | pipes\nsecond line".into(),
            details: String::new(),
            file: None,
            line: None,
        });
        let mut lint = ran("lint", Status::TimedOut, 61_000, false);
        lint.reason = Some("timed out after 1m".into());
        vec![
            api,
            ran("sdk-tests", Status::Passed, 200, true),
            lint,
            GateResult::skipped(
                "web",
                true,
                "no changed file since `main` matches web/**".into(),
            ),
        ]
    }

    #[test]
    fn summary_snapshot() {
        let changes = Changes::Known {
            files: vec!["api/x.py".into()],
            against: "`main`".into(),
        };
        insta::assert_snapshot!(markdown(&sample(), Verdict::Failed, &changes, true));
    }

    #[test]
    fn table_snapshot() {
        insta::assert_snapshot!(table(&sample()));
    }

    #[test]
    fn markdown_cells_stay_on_one_line_and_escape_pipes() {
        assert_eq!(cell("a | b\nsecond line"), "a \\| b");
    }
}
