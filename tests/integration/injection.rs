//! Untrusted text cannot command the runner: whatever a gate (or any tool
//! gantry runs) prints, the only workflow commands the runner processes in
//! gantry's stdout are gantry's own. Checked with a reader that follows the
//! runner's documented rules (`support::workflow_commands`).

use crate::support::workflow_commands::{Processed, processed};
use crate::support::{Project, Runner};
use serde_json::json;

/// What a pull request's test could print to take over the job.
const ATTACK: &str = r"printf '%s\n' \
  '::set-output name=image::evil' \
  '::add-mask::gantry' \
  '::error file=forged.py,line=1::forged annotation' \
  '::endgroup::' \
  '  ::save-state name=x::y' \
  'text ##[set-env name=PATH;]/tmp/evil' \
  '::stop-commands::pwned'
printf 'tail\r::add-path::/tmp/evil\n'";

fn run_attack(p: &Project) -> (crate::support::Run, Vec<Processed>) {
    let runner = Runner::new();
    let sha = p.git(&["rev-parse", "HEAD"]);
    let r = p
        .gantry()
        .args(["gate"])
        .envs(runner.env("workflow_dispatch", json!({}), &sha))
        .run();
    let cmds = processed(&r.stdout);
    (r, cmds)
}

/// The commands that are neither gantry's pause/resume nor groups.
fn effective(cmds: &[Processed]) -> Vec<&Processed> {
    let tokens: Vec<String> = cmds
        .iter()
        .filter(|c| c.name == "stop-commands")
        .map(|c| c.data.to_lowercase())
        .collect();
    cmds.iter()
        .filter(|c| c.name != "stop-commands" && !tokens.contains(&c.name))
        .collect()
}

#[test]
fn gate_output_cannot_set_outputs_masks_paths_or_forge_annotations() {
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!(
            "[gates.evil]\nrun = '''{ATTACK}\nexit 1'''\n\n[gates.fine]\nrun = \"echo fine\"\n"
        ),
    );
    p.commit("init");
    let (r, cmds) = run_attack(&p);
    let _ = r.code(1);
    let names: Vec<&str> = effective(&cmds).iter().map(|c| c.name.as_str()).collect();
    // Each gate's group, opened and closed by gantry, and gantry's own
    // verdict for `evil` (after the attack's `::stop-commands::`).
    assert_eq!(
        names,
        ["group", "endgroup", "error", "group", "endgroup"],
        "{cmds:#?}"
    );
    let error = effective(&cmds)[2].clone();
    assert!(error.data.contains("gate `evil` failed"), "{error:?}");
    assert!(!error.props.contains("forged"), "{error:?}");
    // Pauses are resumed, so gantry's own commands after them still count.
    let stops = cmds.iter().filter(|c| c.name == "stop-commands").count();
    assert!(stops >= 1, "{cmds:#?}");
}

#[test]
fn the_text_is_still_in_the_log_word_for_word() {
    let p = Project::new();
    p.write(
        "gantry.toml",
        &format!("[gates.evil]\nrun = '''{ATTACK}'''\n"),
    );
    p.commit("init");
    let (r, _) = run_attack(&p);
    let r = r.code(0);
    for line in ["::set-output name=image::evil", "::stop-commands::pwned"] {
        assert!(r.stdout.lines().any(|l| l == line), "{}", r.stdout);
    }
}

/// Database notices (`RAISE NOTICE`/`RAISE WARNING` in a migration) are
/// third-party text too.
#[test]
fn migration_notices_cannot_command_the_runner() {
    let Some(pg) = crate::support::postgres::postgres() else {
        return;
    };
    let db = pg.database("injection_notices");
    let p = Project::new();
    p.write("gantry.toml", "[migrate]\n");
    p.write(
        "supabase/migrations/20240101000001_evil.sql",
        "do $$ begin\n  raise warning '::set-output name=image::evil';\n  raise notice '%', E'ok\\n::add-mask::gantry\\n::stop-commands::pwned';\nend $$;\n",
    );
    p.commit("init");
    let runner = Runner::new();
    let sha = p.git(&["rev-parse", "HEAD"]);
    let r = p
        .gantry()
        .args(["-v", "migrate"])
        .env("SUPABASE_DB_URL", &db.url())
        .envs(runner.env("workflow_dispatch", json!({}), &sha))
        .run()
        .code(0);
    assert!(
        r.stdout.contains("::set-output name=image::evil"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("::add-mask::gantry"), "{}", r.stdout);
    let cmds = processed(&r.stdout);
    let names: Vec<&str> = effective(&cmds).iter().map(|c| c.name.as_str()).collect();
    assert!(
        names
            .iter()
            .all(|n| ["group", "endgroup", "add-mask", "notice"].contains(n)),
        "{cmds:#?}"
    );
    assert!(
        !effective(&cmds).iter().any(|c| c.data == "gantry"),
        "{cmds:#?}"
    );
}

/// GitHub shows 10 annotations per level in a step and 50 in a job: the
/// steps of one job count together through the pipeline state, and what was
/// left out is said in the summary.
#[test]
fn at_most_fifty_annotations_in_a_job_across_its_steps() {
    let p = Project::new();
    let errors: String = (1..=14)
        .map(|i| format!("echo 'f.py:{i}:1: problem {i}'; "))
        .collect();
    let warnings: String = (1..=12)
        .map(|i| format!("echo 'g.py:{i}:1: warning: w{i}'; "))
        .collect();
    p.write(
        "gantry.toml",
        &format!("[gates.lint]\nrun = \"{errors}{warnings}exit 1\"\nmatcher = \"generic\"\n"),
    );
    p.commit("init");
    let runner = Runner::new();
    let sha = p.git(&["rev-parse", "HEAD"]);
    let mut shown = Vec::new();
    for _ in 0..3 {
        let r = p
            .gantry()
            .args(["gate"])
            .envs(runner.env("workflow_dispatch", json!({}), &sha))
            .run()
            .code(1);
        let cmds = processed(&r.stdout);
        shown.push(
            cmds.iter()
                .filter(|c| ["error", "warning", "notice"].contains(&c.name.as_str()))
                .count(),
        );
    }
    assert_eq!(shown, [20, 20, 10]);
    let summary = runner.summary();
    assert!(
        summary.contains(
            "16 more annotation(s) not shown: GitHub shows at most 50 in one job, and this job's steps reached it (40 shown by earlier steps)."
        ),
        "{summary}"
    );
}
