//! `gantry gate`: run the lint and test gates whose paths changed, in
//! parallel, and turn their results into one verdict, annotations and a summary.
//!
//! Gates are local work: they run for real in a dry run too, because the dry
//! run answers "will CI pass".

mod base;
mod render;

use super::Session;
use crate::cli::Commands;
use crate::driver::{Invocation, Ran, StepCommand};
use crate::error::Result;
use crate::gate::exec::{self, Exit};
use crate::gate::select::{self, Changes};
use crate::gate::{GateResult, Status, reports};
use crate::plan::Plan;
use crate::report::{StepReport, Verdict};
use crate::settings::config::{Config, Step};
use crate::settings::gate::{Gate, GateSettings, OneOff};
use indexmap::IndexMap;
use render::{annotate, finish_line, markdown, show_output, table};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

/// `gantry gate`, for the driver.
pub struct GateStep;

impl StepCommand for GateStep {
    fn step(&self) -> Step {
        Step::Gate
    }

    fn configured(&self, config: &Config) -> bool {
        !config.gates.is_empty()
    }

    /// A one-off command (`gantry gate -- pytest`) needs no gantry.toml.
    fn runs_without_config(&self, command: &Commands) -> bool {
        matches!(command, Commands::Gate(args) if !args.command.is_empty())
    }

    fn since<'a>(&self, command: &'a Commands) -> Option<&'a str> {
        match command {
            Commands::Gate(args) => args.options.since.as_deref(),
            _ => None,
        }
    }

    fn execute(&self, session: &Session, invocation: Invocation) -> Result<Ran> {
        let report = match invocation {
            Invocation::Alone(Commands::Gate(args)) => {
                let one_off = (!args.command.is_empty()).then(|| OneOff {
                    argv: args.command.clone(),
                    junit: args.junit.clone(),
                    timeout: args.timeout,
                });
                execute(session, &args.names, args.options.jobs, one_off.as_ref())
            }
            other => execute(
                session,
                &[],
                other.run_args().and_then(|r| r.options.jobs),
                None,
            ),
        };
        report.map(Ran::Step)
    }
}

/// Runs the gates and reports; shared by `gantry gate` and `gantry run`.
pub fn execute(
    session: &Session,
    names: &[String],
    jobs: Option<usize>,
    one_off: Option<&OneOff>,
) -> Result<StepReport> {
    let printer = session.printer;
    let settings = GateSettings::resolve(&session.project, session.env, names, jobs, one_off)?;
    if settings.gates.is_empty() {
        // Passing with an empty table looked like every check ran.
        printer.info(&format!(
            "nothing to do: {} has no [gates.<name>] section",
            session.project.file.display()
        ));
    }
    for secret in &settings.secret_values {
        printer.mask(secret);
    }
    let any_paths = settings.gates.iter().any(|g| g.paths.is_some());
    let changes = if any_paths {
        select::changes(
            &session.project.root,
            &base::resolve(session.env, &session.context),
        )
    } else {
        Changes::Unknown {
            reason: "no gate has `paths`".into(),
        }
    };
    match (&changes, any_paths) {
        (Changes::Unknown { reason }, true) => printer.info(&format!("every gate runs: {reason}")),
        (Changes::Known { files, against }, _) => {
            printer.detail(&format!("{} changed file(s) since {against}", files.len()));
        }
        _ => {}
    }

    let mut outcomes: Vec<Option<GateResult>> = vec![None; settings.gates.len()];
    let mut to_run = Vec::new();
    for (i, gate) in settings.gates.iter().enumerate() {
        match select::skip_reason(gate.paths.as_ref(), &gate.path_patterns, &changes) {
            Some(reason) => {
                printer.info(&format!("- {} skipped: {reason}", gate.name));
                outcomes[i] = Some(GateResult::skipped(&gate.name, gate.required, reason));
            }
            None => to_run.push(i),
        }
    }
    for (i, outcome) in run_parallel(session, &settings, &to_run) {
        outcomes[i] = Some(outcome);
    }
    let outcomes: Vec<GateResult> = outcomes.into_iter().flatten().collect();

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
        unchecked: Vec::new(),
    })
}

/// Runs the chosen gates, at most `jobs` at once, and prints a line as each ends.
fn run_parallel(
    session: &Session,
    settings: &GateSettings,
    chosen: &[usize],
) -> Vec<(usize, GateResult)> {
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
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push((i, outcome));
                }
            });
        }
    });
    if let Some(pb) = spinner {
        pb.finish_and_clear();
    }
    done.into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn run_one(session: &Session, gate: &Gate) -> GateResult {
    session.printer.detail(&format!(
        "{}: running `{}` in {}",
        gate.name,
        gate.command.display(),
        gate.dir.display()
    ));
    reports::prepare(&gate.dir, &gate.junit);
    let started = SystemTime::now();
    let mut finished = exec::run(&exec::Spec {
        command: gate.command.clone(),
        dir: gate.dir.clone(),
        env: gate.env.clone(),
        timeout: gate.timeout,
        log: Some(log_path(&session.state_path, &gate.name)),
    });
    // The whole log holds what the gate printed, its declared secrets too.
    if let Some(log) = &finished.log
        && let Err(e) = session.printer.redact_file(log)
    {
        let _ = std::fs::remove_file(log);
        session.printer.warn(&format!(
            "{}: the whole output was not kept: cannot redact {}: {e}",
            gate.name,
            log.display()
        ));
        finished.log = None;
    }
    conclude(gate, finished, started)
}

/// Where a gate's whole output is written: next to the state, so in CI it is
/// under `$RUNNER_TEMP/gantry/logs/` (a path an `actions/upload-artifact`
/// step can take) and locally under `.gantry/logs/`.
fn log_path(state_path: &std::path::Path, gate: &str) -> std::path::PathBuf {
    let dir = state_path.parent().unwrap_or(std::path::Path::new("."));
    // The folder and its .gitignore exist before the first byte of a log.
    let _ = crate::state::create_dir(dir);
    dir.join("logs").join(format!("gate-{gate}.log"))
}

/// Turns the exit and the reports into a status and a reason.
fn conclude(gate: &Gate, finished: exec::Finished, started: SystemTime) -> GateResult {
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
    let (lines, log) = (finished.lines, finished.log);
    let mut output = finished.output;
    let (tests, failures) = if gate.junit.is_empty() {
        (None, Vec::new())
    } else {
        let read = reports::read(&gate.dir, &gate.junit, started);
        for note in &read.notes {
            output.push_str(&format!("\n[gantry] {note}\n"));
        }
        for e in read.unreadable {
            status = Status::Failed;
            reasons.push(format!("unreadable JUnit report: {e}"));
        }
        let counts = read.counts;
        if counts.failed > 0 {
            reasons.push(format!("{} test(s) failed", counts.failed));
            if status == Status::Passed {
                status = Status::Failed;
            }
        }
        if gate.fail_on_no_tests && counts.total() == 0 && status == Status::Passed {
            status = Status::Failed;
            reasons.push(if read.found_none {
                format!("no JUnit report at {}", gate.junit.join(", "))
            } else {
                "the JUnit reports hold no test".to_string()
            });
        }
        (Some(counts), read.failures)
    };
    GateResult {
        name: gate.name.clone(),
        required: gate.required,
        status,
        reason: (!reasons.is_empty()).then(|| reasons.join(", ")),
        duration: finished.duration,
        exit_code,
        tests,
        failures,
        output,
        lines,
        log,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::junit;
    use crate::settings::config::RunCommand;
    use std::path::Path;
    use std::time::Duration;

    fn gate(dir: &Path, junit: &[&str]) -> Gate {
        Gate {
            name: "t".into(),
            command: RunCommand::Shell("true".into()),
            dir: dir.to_path_buf(),
            env: vec![],
            timeout: Duration::from_secs(5),
            paths: None,
            path_patterns: vec![],
            junit: junit.iter().map(std::string::ToString::to_string).collect(),
            matcher: None,
            required: true,
            fail_on_no_tests: true,
        }
    }

    fn passed() -> exec::Finished {
        exec::Finished {
            exit: Exit::Code(0),
            output: String::new(),
            lines: 0,
            log: None,
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
}
