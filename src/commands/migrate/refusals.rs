//! What `gantry migrate` refuses before applying anything, and warns of:
//! problems in the files alone (duplicate versions, transaction control it
//! cannot honour) and in the comparison with the history table (applied
//! migrations with no file, files older than the newest applied, drift).

use super::{NO_TRANSACTION, Refusal, Run};
use crate::output::github::Level;
use crate::supabase::checks::Comparison;
use crate::supabase::{files, txn};

impl Run<'_> {
    /// Problems visible in the files alone, refused before connecting.
    pub(super) fn check_files(&mut self) {
        for (version, names) in files::duplicate_versions(&self.files) {
            self.refuse(Refusal {
                title: format!("version {version} is used by {} files", names.len()),
                body: format!(
                    "{} all have version {version}; the history table records each version once, so the second would fail half-way through a run. Give each file its own version (rename it).",
                    names.join(", ")
                ),
                at: None,
            });
        }
    }

    /// Pending files whose own transaction control cannot be honoured
    /// (files applied earlier, by the CLI or by hand, are left alone).
    pub(super) fn check_pending_txn(&mut self) {
        for k in 0..self.pending.len() {
            let i = self.pending[k];
            let file = &self.files[i];
            if let txn::Plan::Refuse {
                statement,
                line,
                keyword,
            } = file.txn_plan()
            {
                let label = self.label(file);
                self.refuse(Refusal {
                    title: format!("{label}:{line}: statement {statement} is `{keyword}`"),
                    body: format!(
                        "{label}:{line}: statement {statement} is `{keyword}`: the file controls its own transaction in a way gantry cannot honour. gantry runs each file in one transaction with its history row, so that a failure leaves nothing of it applied; a `{keyword}` here would make part of the file permanent even if the rest fails (or end gantry's transaction early). Split the file at this statement into two migrations, or put `{NO_TRANSACTION}` on its first line to run it statement by statement, exactly as written. (A file wrapped in one `BEGIN; … COMMIT;` is fine: gantry runs what is inside.)"
                    ),
                    at: Some((label, Some(line))),
                });
            }
        }
    }

    /// Refusals and warnings from the comparison with the history.
    pub(super) fn check_history(&mut self, c: &Comparison) {
        let dir = format!("{}/migrations", self.settings.dir_label);
        if !c.missing_locally.is_empty() {
            let list = c.missing_locally.join(" ");
            self.refuse(Refusal {
                title: format!("{} applied migration(s) have no file in {dir}", c.missing_locally.len()),
                body: format!(
                    "the database has applied {} migration(s) that are not in {dir}: {list}\nNothing was applied: gantry will not guess what the database holds.\n- If the files exist on another branch or were deleted by mistake, bring them back (git pull, git restore).\n- If those migrations were undone or squashed on purpose, mark them reverted:\n    gantry migrate repair --status reverted {list}",
                    c.missing_locally.len()
                ),
                at: None,
            });
            return;
        }
        if !c.out_of_order.is_empty() && !self.settings.include_all {
            let names: Vec<String> = c
                .out_of_order
                .iter()
                .map(|&i| self.files[i].file_name.clone())
                .collect();
            self.refuse(Refusal {
                title: format!("{} migration(s) are older than the newest applied one", names.len()),
                body: format!(
                    "these files were never applied and are older than the newest applied migration: {}\nThey usually come from a branch merged after newer migrations shipped. Check that they do not conflict with what was applied since, then run again with --include-all to apply them (before the newer pending ones).",
                    names.join(", ")
                ),
                at: self.files.get(c.out_of_order[0]).map(|f| (self.label(f), None)),
            });
        }
        for d in &c.drift {
            let file = &self.files[d.file];
            let label = self.label(file);
            let changed: Vec<String> = d.changed.iter().map(usize::to_string).collect();
            let text = format!(
                "{label}: changed since it was applied: statement(s) {} differ from those recorded ({} recorded, {} in the file). Applied migrations are not run again: put the change in a new migration; if the file was only reformatted, record it as it is now with `gantry migrate repair --status applied {}`.",
                changed.join(", "),
                d.recorded,
                d.local,
                file.version
            );
            let line = d
                .changed
                .first()
                .and_then(|&n| file.statements.get(n - 1))
                .map(|s| s.line);
            if self.settings.strict {
                self.refuse(Refusal {
                    title: format!("drift in {label} (--strict)"),
                    body: text,
                    at: Some((label, line)),
                });
            } else {
                self.session.printer.warn(&format!("drift: {text}"));
                self.annotate(
                    Level::Warning,
                    "migration drift",
                    &text,
                    Some((label, line, None)),
                );
                self.warnings.push(format!("drift: {text}"));
            }
        }
        for (i, old) in &c.renamed {
            self.session.printer.info(&format!(
                "{} was recorded under the name `{old}`",
                self.files[*i].file_name
            ));
        }
    }
}
