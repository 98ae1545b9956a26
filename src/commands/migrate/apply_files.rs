//! Applying the planned migrations and seeds, one transaction per file, and
//! saying precisely where one failed.

use super::{Failed, Run};
use crate::error::{Error, Result};
use crate::output::Format;
use crate::output::github::{Annotation, Level};
use crate::supabase::seeds::SeedStatus;
use crate::supabase::{apply, connect, history, located, txn};
use std::time::Instant;

impl Run<'_> {
    pub(super) async fn apply_all(&mut self, conn: &mut connect::Connected) -> Result<()> {
        let printer = self.session.printer;
        for k in 0..self.pending.len() {
            let i = self.pending[k];
            if let Some(sig) = crate::cancel::requested() {
                self.cancel(sig, None);
                return Ok(());
            }
            let file = &self.files[i];
            let mode = if file.no_transaction {
                ", no transaction"
            } else if matches!(file.txn_plan(), txn::Plan::Unwrap { .. }) {
                ", its own BEGIN/COMMIT replaced by gantry's transaction"
            } else {
                ""
            };
            printer.info(&format!(
                "applying {} ({} statement(s){mode})",
                file.file_name,
                file.statements.len()
            ));
            let started = Instant::now();
            let result = {
                let apply = apply::migration(&conn.client, file);
                tokio::pin!(apply);
                tokio::select! {
                    result = &mut apply => result,
                    _ = crate::cancel::cancelled() => {
                        // The statement running now is cancelled by the
                        // server; the file's transaction then rolls back.
                        if let Err(e) = conn.cancel_statement().await {
                            printer.warn(&format!("could not cancel the running statement ({e}): the server rolls it back when gantry exits"));
                        }
                        apply.await
                    }
                }
            };
            self.forward_notices(conn);
            match result {
                Ok(()) => {
                    printer.outcome(
                        Some(true),
                        &format!(
                            "✓ {} in {} ms",
                            file.file_name,
                            started.elapsed().as_millis()
                        ),
                    );
                    self.applied.push(i);
                }
                Err(f) if f.cancelled() => {
                    let sig = crate::cancel::requested().unwrap_or(libc::SIGTERM);
                    self.cancel(sig, Some((i, f)));
                    return Ok(());
                }
                Err(f) => {
                    self.fail(i, f)?;
                    return Ok(());
                }
            }
        }
        let todo: Vec<usize> = (0..self.seeds.len())
            .filter(|&s| self.seed_status.get(s) != Some(&SeedStatus::Applied))
            .collect();
        if !todo.is_empty() {
            history::ensure_seed_table(&conn.client).await?;
        }
        for s in todo {
            if let Some(sig) = crate::cancel::requested() {
                self.cancel(sig, None);
                return Ok(());
            }
            let seed = &self.seeds[s];
            let run = self.seed_status[s] == SeedStatus::New;
            if run {
                printer.info(&format!(
                    "seeding {} ({} statement(s))",
                    seed.path,
                    seed.statements.len()
                ));
            } else {
                printer.warn(&format!(
                    "{} changed since it was applied: recording its new hash without running it again (as the Supabase CLI does)",
                    seed.path
                ));
            }
            let result =
                apply::seed(&conn.client, &seed.path, &seed.hash, &seed.statements, run).await;
            self.forward_notices(conn);
            if let Err(f) = result {
                let seed = &self.seeds[s];
                let label = seed
                    .file
                    .strip_prefix(&self.session.repo_root)
                    .unwrap_or(&seed.file)
                    .display()
                    .to_string();
                let (text, at) = located::render(&label, &seed.sql, &seed.statements, &f);
                if f.connection_lost {
                    return Err(Error::external(
                        "postgres",
                        format!("the connection was lost while seeding: {text}"),
                    ));
                }
                self.report_failure(&text, &label, at);
                self.failed = Some(Failed {
                    file: usize::MAX,
                    text,
                    failure: f,
                    at,
                });
                return Ok(());
            }
            self.seeds_done.push(s);
        }
        Ok(())
    }

    /// Records a cancel: which file was in flight and rolled back (if one
    /// was), which were applied before it, and which were never started.
    fn cancel(&mut self, sig: i32, in_flight: Option<(usize, apply::Failure)>) {
        let printer = self.session.printer;
        let version = |i: &usize| self.files[*i].version.clone();
        let applied: Vec<String> = self.applied.iter().map(version).collect();
        let flight = in_flight.as_ref().map(|(i, _)| *i);
        let not_started: Vec<String> = self
            .pending
            .iter()
            .filter(|i| !self.applied.contains(i) && Some(**i) != flight)
            .map(version)
            .collect();
        let mut text = format!("cancelled by {}", crate::cancel::signal_name(sig));
        if let Some((i, f)) = &in_flight {
            let file = &self.files[*i];
            if file.no_transaction {
                text.push_str(&format!(
                    " while applying {}: it runs without a transaction, so its first {} statement(s) stayed applied; it is not recorded and runs again from statement 1 next time",
                    file.file_name, f.committed_statements
                ));
            } else {
                text.push_str(&format!(
                    " while applying {}: its transaction was rolled back, nothing of it was applied and it is not recorded",
                    file.file_name
                ));
            }
        }
        text.push_str(&format!(
            ". Applied before the cancel: {}. Not started: {}.",
            list(&applied),
            list(&not_started)
        ));
        printer.outcome(Some(false), &format!("✗ {text}"));
        self.cancelled = Some(super::Cancelled {
            signal: crate::cancel::signal_name(sig),
            in_flight: flight,
            text,
            not_started,
        });
    }

    pub(super) fn fail(&mut self, i: usize, f: apply::Failure) -> Result<()> {
        let file = &self.files[i];
        let label = self.label(file);
        let (mut text, at) = located::render(&label, &file.sql, &file.statements, &f);
        let before: Vec<&str> = self
            .applied
            .iter()
            .map(|&a| self.files[a].version.as_str())
            .collect();
        if file.no_transaction {
            if f.committed_statements > 0 {
                text.push_str(&format!(
                    "\n{} statement(s) of this no-transaction file before the failing one stayed applied (each commits on its own) and the file is not recorded: the next run starts it again from statement 1, so its statements must be safe to repeat (IF NOT EXISTS). A failed CREATE INDEX CONCURRENTLY leaves an INVALID index: drop it first.",
                    f.committed_statements
                ));
            }
        } else {
            text.push_str("\nNothing of this file was applied (its transaction was rolled back).");
        }
        if !before.is_empty() {
            text.push_str(&format!(
                " Applied before it in this run: {}.",
                before.join(", ")
            ));
        }
        if f.connection_lost {
            return Err(Error::external(
                "postgres",
                format!("the connection was lost while applying {}: {text}", file.file_name),
            )
            .with_hint("the server rolls back an open transaction when its client is gone: run `gantry migrate --dry-run` to see where the database stands, then run again"));
        }
        self.report_failure(&text, &label, at);
        self.failed = Some(Failed {
            file: i,
            text,
            failure: f,
            at,
        });
        Ok(())
    }

    pub(super) fn report_failure(&self, text: &str, label: &str, at: Option<(usize, usize)>) {
        let printer = self.session.printer;
        printer.outcome(Some(false), &format!("✗ {label} failed"));
        printer.problem(text);
        let line = at.map(|(l, _)| l);
        let col = at.map(|(_, c)| c);
        self.annotate(
            Level::Error,
            "migration failed",
            text,
            Some((label.to_string(), line, col)),
        );
    }

    pub(super) fn annotate(
        &self,
        level: Level,
        title: &str,
        text: &str,
        at: Option<(String, Option<usize>, Option<usize>)>,
    ) {
        let printer = self.session.printer;
        // In human format the full text was printed already.
        if printer.format() == Format::Human {
            return;
        }
        let mut a = Annotation::new(level, text).titled(title);
        if let Some((file, line, col)) = at {
            a = a.at(file, line.map(|l| l as u32), col.map(|c| c as u32));
        }
        printer.annotate(a);
    }

    pub(super) fn forward_notices(&self, conn: &mut connect::Connected) {
        while let Ok((severity, message)) = conn.notices.try_recv() {
            if severity == "WARNING" {
                self.session.printer.warn(&format!("postgres: {message}"));
            } else {
                self.session
                    .printer
                    .detail(&format!("{severity}: {message}"));
            }
        }
    }
}

fn list(versions: &[String]) -> String {
    if versions.is_empty() {
        "none".into()
    } else {
        versions.join(", ")
    }
}
