//! What `gantry migrate` tells people: the result on stdout, the step
//! summary (with the pending SQL in a dry run) and the JSON details.

use super::Run;
use crate::report::{StepReport, Verdict};
use crate::supabase::seeds::SeedStatus;
use serde_json::json;

/// SQL shown per file in the step summary; GitHub's limit is 1 MiB in all.
const SQL_CHARS: usize = 20_000;

/// What a real run did, printed above the changes; a dry run prints none,
/// its plan block (from `driver::run_alone`) being the whole answer.
pub(super) fn headline(report: &StepReport) -> Option<String> {
    if report.dry_run {
        return None;
    }
    let count = report
        .outputs
        .get("migrations-count")
        .cloned()
        .unwrap_or_default();
    Some(match report.verdict {
        Verdict::Passed => format!("Applied {count} migration(s)"),
        Verdict::Failed if crate::cancel::requested().is_some() => {
            format!("Cancelled after applying {count} migration(s), see above")
        }
        Verdict::Failed => format!("Failed after applying {count} migration(s), see above"),
    })
}

/// The step summary section.
pub(super) fn markdown(run: &Run, verdict: Verdict) -> String {
    let dry_run = run.session().dry_run;
    let mut md = format!(
        "### gantry migrate: {}{}\n\n",
        verdict.as_str(),
        if dry_run { " (dry run)" } else { "" }
    );
    match (&run.database_line, &run.offline) {
        (Some(line), _) => md.push_str(&format!("{}\n\n", cell(line))),
        (None, Some(why)) => md.push_str(&format!(
            "Not compared with a database: {}. Every migration file is listed.\n\n",
            cell(why)
        )),
        _ => {}
    }
    for r in &run.refusals {
        md.push_str(&format!(
            "**Refused:** {}\n\n```text\n{}\n```\n\n",
            cell(&r.title),
            r.body
        ));
    }
    if !run.pending.is_empty() || !run.applied.is_empty() {
        md.push_str("| Migration | Name | Statements | Status |\n|---|---|---|---|\n");
        for &i in &run.pending {
            let f = &run.files[i];
            let status = if run.applied.contains(&i) {
                "✅ applied".to_string()
            } else if run.failed.as_ref().is_some_and(|x| x.file == i) {
                "❌ failed".to_string()
            } else if run
                .cancelled
                .as_ref()
                .is_some_and(|c| c.in_flight == Some(i))
            {
                "⏹ cancelled, rolled back".to_string()
            } else if dry_run {
                "pending".to_string()
            } else {
                "not run".to_string()
            };
            let mode = if f.no_transaction {
                " (no transaction)"
            } else {
                ""
            };
            md.push_str(&format!(
                "| {} | {} | {}{mode} | {status} |\n",
                f.version,
                cell(&f.name),
                f.statements.len()
            ));
        }
        md.push('\n');
    } else if !run.settings.migrations_dir().exists() {
        md.push_str(&format!(
            "Nothing to do: {}/migrations does not exist (the database was not contacted).\n\n",
            run.settings.dir_label
        ));
    } else if run.refusals.is_empty() {
        md.push_str("No pending migration: the database is up to date.\n\n");
    }
    for (s, seed) in run.seeds.iter().enumerate() {
        let status = match run.seed_status.get(s) {
            Some(SeedStatus::New) if run.seeds_done.contains(&s) => "seeded",
            Some(SeedStatus::New) => "to seed",
            Some(SeedStatus::Changed) => "changed since applied: hash updated, not run again",
            _ => "already applied",
        };
        md.push_str(&format!("- Seed `{}`: {status}\n", seed.path));
    }
    if !run.seeds.is_empty() {
        md.push('\n');
    }
    for w in run.warnings.iter().filter(|w| w.starts_with("drift")) {
        md.push_str(&format!("> ⚠️ {}\n\n", cell(w)));
    }
    if let Some(f) = &run.failed {
        md.push_str(&format!("```text\n{}\n```\n\n", f.text));
    }
    if let Some(c) = &run.cancelled {
        md.push_str(&format!("**Cancelled:** {}\n\n", cell(&c.text)));
    }
    if dry_run && run.refusals.is_empty() {
        for &i in &run.pending {
            let f = &run.files[i];
            let sql: String = f.sql.chars().take(SQL_CHARS).collect();
            let cut = if sql.len() < f.sql.len() {
                "\n-- … (cut)"
            } else {
                ""
            };
            md.push_str(&format!(
                "<details><summary>{} ({} statements)</summary>\n\n```sql\n{}{cut}\n```\n\n</details>\n\n",
                f.file_name,
                f.statements.len(),
                sql.trim_end().replace("```", "` ` `")
            ));
        }
    }
    md
}

/// The step's details in the JSON document.
pub(super) fn detail(run: &Run) -> serde_json::Value {
    let file = |i: usize| {
        let f = &run.files[i];
        json!({
            "version": f.version,
            "name": f.name,
            "file": run.label(f),
            "statements": f.statements.len(),
            "no_transaction": f.no_transaction,
        })
    };
    let c = run.comparison.as_ref();
    json!({
        "database": run.database.clone().unwrap_or_else(|| json!({
            "configured": run.offline.is_none(),
            "reason": run.offline,
        })),
        "directory": format!("{}/migrations", run.settings.dir_label),
        "local": run.files.len(),
        "recorded": run.recorded,
        "pending": run.pending.iter().map(|&i| file(i)).collect::<Vec<_>>(),
        "applied": run.applied.iter().map(|&i| run.files[i].version.clone()).collect::<Vec<_>>(),
        "missing_locally": c.map(|c| c.missing_locally.clone()).unwrap_or_default(),
        "out_of_order": c.map(|c| c.out_of_order.iter().map(|&i| run.files[i].version.clone()).collect::<Vec<_>>()).unwrap_or_default(),
        "drift": c.map(|c| c.drift.iter().map(|d| json!({
            "version": run.files[d.file].version,
            "file": run.label(&run.files[d.file]),
            "changed_statements": d.changed,
        })).collect::<Vec<_>>()).unwrap_or_default(),
        "seeds": run.seeds.iter().enumerate().map(|(s, seed)| json!({
            "path": seed.path,
            "status": match run.seed_status.get(s) {
                Some(SeedStatus::New) if run.seeds_done.contains(&s) => "seeded",
                Some(SeedStatus::New) => "pending",
                Some(SeedStatus::Changed) => "changed",
                _ => "applied",
            },
        })).collect::<Vec<_>>(),
        "refused": run.refusals.iter().map(|r| r.body.clone()).collect::<Vec<_>>(),
        "failure": run.failed.as_ref().map(|f| json!({
            "version": run.files.get(f.file).map(|x| x.version.clone()),
            "statement": f.failure.statement,
            "line": f.at.map(|a| a.0),
            "column": f.at.map(|a| a.1),
            "message": f.failure.message,
            "code": f.failure.code,
            "detail": f.failure.detail,
            "hint": f.failure.hint,
            "text": f.text,
        })),
        "cancelled": run.cancelled.as_ref().map(|c| json!({
            "signal": c.signal,
            "rolled_back": c.in_flight.map(|i| run.files[i].version.clone()),
            "not_started": c.not_started,
            "text": c.text,
        })),
        "warnings": run.warnings,
    })
}

/// A Markdown table cell or line: one line, pipes escaped.
fn cell(s: &str) -> String {
    s.lines().next().unwrap_or("").replace('|', "\\|")
}
