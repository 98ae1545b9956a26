//! `gantry gate`: run the lint and test gates whose paths changed, in
//! parallel, and turn their results into one verdict, annotations and a summary.
//!
//! Gates are local work: they run for real in a dry run too, because the dry
//! run answers "will CI pass".

use super::Session;
use crate::cli::GateArgs;
use crate::error::Result;
use crate::gate::exec::{self, Exit};
use crate::gate::select::{self, Changes};
use crate::gate::{Outcome, Status, format_duration, junit, location, matcher};
use crate::output::Format;
use crate::output::github::{Annotation, Level};
use crate::plan::Plan;
use crate::report::{StepReport, Verdict};
use crate::settings::config::Step;
use crate::settings::gate::{Gate, GateSettings};
use indexmap::IndexMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

/// Lines of a failed gate's output shown outside GitHub (all of it with `-v`).
const TAIL_LINES: usize = 60;
/// Longest failure text put into one annotation.
const ANNOTATION_CHARS: usize = 2000;

pub fn cmd_gate(args: &GateArgs, session: &Session) -> Result<Verdict> {
    let report = execute(session, &args.names, args.options.jobs)?;
    session.record(&report)?;
    session.printer.document(serde_json::json!({
        "command": "gate",
        "verdict": report.verdict,
        "dry_run": session.dry_run,
        "context": session.context,
        "gate": report.detail,
    }));
    Ok(report.verdict)
}

/// Runs the gates and reports; shared by `gantry gate` and `gantry run`.
pub fn execute(session: &Session, names: &[String], jobs: Option<usize>) -> Result<StepReport> {
    let printer = session.printer;
    let settings = GateSettings::resolve(&session.project, session.env, names, jobs)?;
    for secret in &settings.secret_values {
        printer.mask(secret);
    }
    let any_paths = settings.gates.iter().any(|g| g.paths.is_some());
    let changes = if any_paths {
        select::changes(&session.project.root, &session.context.change_base)
    } else {
        Changes::Unknown {
            reason: "no gate has `paths`".into(),
        }
    };
    match (&changes, any_paths) {
        (Changes::Unknown { reason }, true) => printer.info(&format!("every gate runs: {reason}")),
        (Changes::Known { files, against }, _) => {
            printer.detail(&format!("{} changed file(s) since {against}", files.len()))
        }
        _ => {}
    }

    let mut outcomes: Vec<Option<Outcome>> = vec![None; settings.gates.len()];
    let mut to_run = Vec::new();
    for (i, gate) in settings.gates.iter().enumerate() {
        match select::skip_reason(gate, &changes) {
            Some(reason) => {
                printer.info(&format!("- {} skipped: {reason}", gate.name));
                outcomes[i] = Some(Outcome::skipped(&gate.name, gate.required, reason));
            }
            None => to_run.push(i),
        }
    }
    for (i, outcome) in run_parallel(session, &settings, &to_run) {
        outcomes[i] = Some(outcome);
    }
    let outcomes: Vec<Outcome> = outcomes.into_iter().flatten().collect();

    for (gate, outcome) in settings.gates.iter().zip(&outcomes) {
        show_output(session, gate, outcome);
        annotate(session, gate, outcome);
    }
    let verdict = if outcomes.iter().any(|o| o.required && o.is_failure()) {
        Verdict::Failed
    } else {
        Verdict::Passed
    };
    printer.result(&table(&outcomes));
    printer.summary(&markdown(&outcomes, verdict, &changes, any_paths));

    let names_with = |s: Status| {
        outcomes
            .iter()
            .filter(|o| o.status == s || (s == Status::Failed && o.status == Status::TimedOut))
            .map(|o| o.name.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    let outputs: IndexMap<String, String> = [
        ("gate-verdict", verdict.as_str().to_string()),
        ("gates-passed", names_with(Status::Passed)),
        ("gates-failed", names_with(Status::Failed)),
        ("gates-skipped", names_with(Status::Skipped)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();

    let changes_json = match &changes {
        Changes::Known { files, against } => {
            serde_json::json!({"known": true, "against": against, "files": files.len()})
        }
        Changes::Unknown { reason } => serde_json::json!({"known": false, "reason": reason}),
    };
    Ok(StepReport {
        step: Step::Gate,
        verdict,
        dry_run: session.dry_run,
        plan: Plan::default(),
        outputs,
        detail: serde_json::json!({"changes": changes_json, "gates": outcomes}),
    })
}

/// Runs the chosen gates, at most `jobs` at once, and prints a line as each ends.
fn run_parallel(
    session: &Session,
    settings: &GateSettings,
    chosen: &[usize],
) -> Vec<(usize, Outcome)> {
    if chosen.is_empty() {
        return Vec::new();
    }
    let names: Vec<&str> = chosen
        .iter()
        .map(|&i| settings.gates[i].name.as_str())
        .collect();
    let spinner = session
        .printer
        .spinner(&format!("running {}", names.join(", ")));
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::new());
    let workers = settings.jobs.min(chosen.len());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&i) = chosen.get(k) else { break };
                    let outcome = run_one(session, &settings.gates[i]);
                    let line = finish_line(&outcome);
                    let good = match outcome.status {
                        Status::Passed => Some(true),
                        _ if outcome.is_failure() && outcome.required => Some(false),
                        _ => None,
                    };
                    let print = || session.printer.outcome(good, &line);
                    match &spinner {
                        Some(pb) => pb.suspend(print),
                        None => print(),
                    }
                    done.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((i, outcome));
                }
            });
        }
    });
    if let Some(pb) = spinner {
        pb.finish_and_clear();
    }
    done.into_inner().unwrap_or_else(|e| e.into_inner())
}

fn run_one(session: &Session, gate: &Gate) -> Outcome {
    session.printer.detail(&format!(
        "{}: running `{}` in {}",
        gate.name,
        gate.command.display(),
        gate.dir.display()
    ));
    // Tools such as node's junit reporter do not create the report's folder.
    for pattern in &gate.junit {
        if !is_glob(pattern)
            && let Some(parent) = gate.dir.join(pattern).parent()
        {
            let _ = std::fs::create_dir_all(parent);
        }
    }
    let started = SystemTime::now();
    let finished = exec::run(&exec::Spec {
        command: gate.command.clone(),
        dir: gate.dir.clone(),
        env: gate.env.clone(),
        timeout: gate.timeout,
    });
    conclude(gate, finished, started)
}

/// Turns the exit and the reports into a status and a reason.
fn conclude(gate: &Gate, finished: exec::Finished, started: SystemTime) -> Outcome {
    let (mut status, mut reasons, exit_code) = match &finished.exit {
        Exit::Code(0) => (Status::Passed, vec![], Some(0)),
        Exit::Code(c) => (Status::Failed, vec![format!("exit code {c}")], Some(*c)),
        Exit::Signal(s) => (Status::Failed, vec![format!("killed by signal {s}")], None),
        Exit::TimedOut => (
            Status::TimedOut,
            vec![format!(
                "timed out after {}",
                humantime::format_duration(gate.timeout)
            )],
            None,
        ),
        Exit::Cancelled(s) => (
            Status::Failed,
            vec![format!("cancelled ({})", crate::cancel::signal_name(*s))],
            None,
        ),
        Exit::NotStarted(msg) => (Status::Failed, vec![msg.clone()], None),
    };
    let mut output = finished.output;
    let (tests, failures) = if gate.junit.is_empty() {
        (None, Vec::new())
    } else {
        let mut counts = junit::Counts::default();
        let mut failures = Vec::new();
        let reports = find_reports(gate, started);
        for note in &reports.notes {
            output.push_str(&format!("\n[gantry] {note}\n"));
        }
        for path in &reports.fresh {
            match junit::parse_file(path) {
                Ok(r) => {
                    counts.add(r.counts);
                    failures.extend(r.failures);
                }
                Err(e) => {
                    status = Status::Failed;
                    reasons.push(format!("unreadable JUnit report: {e}"));
                }
            }
        }
        if counts.failed > 0 {
            reasons.push(format!("{} test(s) failed", counts.failed));
            if status == Status::Passed {
                status = Status::Failed;
            }
        }
        if gate.fail_on_no_tests && counts.total() == 0 && status == Status::Passed {
            status = Status::Failed;
            reasons.push(if reports.fresh.is_empty() {
                format!("no JUnit report at {}", gate.junit.join(", "))
            } else {
                "the JUnit reports hold no test".to_string()
            });
        }
        (Some(counts), failures)
    };
    Outcome {
        name: gate.name.clone(),
        required: gate.required,
        status,
        reason: (!reasons.is_empty()).then(|| reasons.join(", ")),
        duration: finished.duration,
        exit_code,
        tests,
        failures,
        output,
    }
}

struct Reports {
    fresh: Vec<std::path::PathBuf>,
    notes: Vec<String>,
}

/// Report files written by this run; older ones are left out (a stale report
/// from an earlier run must not pass a gate that wrote none).
fn find_reports(gate: &Gate, started: SystemTime) -> Reports {
    let mut out = Reports {
        fresh: Vec::new(),
        notes: Vec::new(),
    };
    // Coarse file-system clocks may stamp a fresh file slightly in the past.
    let since = started - Duration::from_secs(1);
    for pattern in &gate.junit {
        let full = gate.dir.join(pattern);
        let candidates: Vec<_> = if is_glob(pattern) {
            glob::glob(&full.to_string_lossy())
                .map(|paths| paths.flatten().collect())
                .unwrap_or_default()
        } else {
            vec![full.clone()]
                .into_iter()
                .filter(|p| p.is_file())
                .collect()
        };
        if candidates.is_empty() {
            out.notes.push(format!("no JUnit report matches {pattern}"));
        }
        for path in candidates {
            let modified = std::fs::metadata(&path).and_then(|m| m.modified());
            match modified {
                Ok(t) if t >= since => out.fresh.push(path),
                _ => out.notes.push(format!(
                    "ignored {}: it was not written by this run",
                    path.display()
                )),
            }
        }
    }
    out
}

fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

fn finish_line(o: &Outcome) -> String {
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
fn show_output(session: &Session, gate: &Gate, o: &Outcome) {
    if o.status == Status::Skipped {
        return;
    }
    let printer = session.printer;
    let title = format!("{} ({})", gate.name, gate.command.display());
    if printer.format() == Format::Github || printer.verbose() > 0 {
        printer.group(&title, &o.output);
    } else if o.is_failure() {
        let lines: Vec<&str> = o.output.lines().collect();
        let start = lines.len().saturating_sub(TAIL_LINES);
        let mut body = String::new();
        if start > 0 {
            body.push_str(&format!("[... {start} earlier lines; -v shows all ...]\n"));
        }
        body.push_str(&lines[start..].join("\n"));
        printer.group(&title, &body);
    }
}

/// Annotations for a failed gate: each failed test and each matched problem
/// at its file and line; a plain one when nothing could be located.
fn annotate(session: &Session, gate: &Gate, o: &Outcome) {
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
        let mut a = Annotation::new(level, truncate(&message, ANNOTATION_CHARS))
            .titled(format!("{}: {}", gate.name, f.test));
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
                Annotation::new(lvl, truncate(&p.message, ANNOTATION_CHARS))
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

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    format!("{cut}…")
}

fn counts_cell(o: &Outcome) -> String {
    o.tests
        .map(|t| format!("{} / {} / {}", t.passed, t.failed, t.skipped))
        .unwrap_or_else(|| "-".into())
}

fn note(o: &Outcome) -> String {
    match o.status {
        Status::Skipped => o.reason.clone().unwrap_or_default(),
        _ => o.first_failure().unwrap_or_default(),
    }
}

/// The plain-text result table.
fn table(outcomes: &[Outcome]) -> String {
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
    let header = ["gate", "status", "time", "tests p/f/s", "notes"].map(String::from);
    let mut widths = header.clone().map(|h| h.chars().count());
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |r: &[String; 5]| {
        r.iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![line(&header)];
    out.extend(rows.iter().map(line));
    out.join("\n")
}

/// The step summary section.
fn markdown(outcomes: &[Outcome], verdict: Verdict, changes: &Changes, any_paths: bool) -> String {
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
        _ => {}
    }
    md.push('\n');
    md
}

/// A Markdown table cell: one line, pipes escaped.
fn cell(s: &str) -> String {
    let first = s.lines().next().unwrap_or("");
    truncate(first, 200).replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::config::RunCommand;
    use std::path::Path;

    fn gate(dir: &Path, junit: &[&str]) -> Gate {
        Gate {
            name: "t".into(),
            command: RunCommand::Shell("true".into()),
            dir: dir.to_path_buf(),
            env: vec![],
            timeout: Duration::from_secs(5),
            paths: None,
            path_patterns: vec![],
            junit: junit.iter().map(|s| s.to_string()).collect(),
            matcher: None,
            required: true,
            fail_on_no_tests: true,
        }
    }

    fn passed() -> exec::Finished {
        exec::Finished {
            exit: Exit::Code(0),
            output: String::new(),
            duration: Duration::from_millis(10),
        }
    }

    #[test]
    fn a_stale_report_does_not_pass_a_gate() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("r.xml"),
            "<testsuite><testcase name=\"a\"/></testsuite>",
        )
        .unwrap();
        let later = SystemTime::now() + Duration::from_secs(60);
        let o = conclude(&gate(dir.path(), &["r.xml"]), passed(), later);
        assert_eq!(o.status, Status::Failed);
        assert!(o.output.contains("not written by this run"), "{}", o.output);
    }

    #[test]
    fn failed_tests_fail_a_gate_whose_command_exited_zero() {
        let dir = tempfile::tempdir().unwrap();
        let started = SystemTime::now();
        std::fs::create_dir(dir.path().join("reports")).unwrap();
        std::fs::write(
            dir.path().join("reports/a.xml"),
            "<testsuite><testcase name=\"a\"><failure message=\"boom\"/></testcase><testcase name=\"b\"/></testsuite>",
        )
        .unwrap();
        let o = conclude(&gate(dir.path(), &["reports/*.xml"]), passed(), started);
        assert_eq!(o.status, Status::Failed);
        assert_eq!(
            o.tests,
            Some(junit::Counts {
                passed: 1,
                failed: 1,
                skipped: 0
            })
        );
        assert_eq!(o.reason.as_deref(), Some("1 test(s) failed"));
    }

    fn sample() -> Vec<Outcome> {
        let ran = |name: &str, status, ms, required| Outcome {
            name: name.into(),
            required,
            status,
            reason: None,
            duration: Duration::from_millis(ms),
            exit_code: Some(0),
            tests: None,
            failures: vec![],
            output: String::new(),
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
            Outcome::skipped(
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
