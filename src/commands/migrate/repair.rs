//! `gantry migrate repair --status applied|reverted <version>…`: edits the
//! history table without running migrations, as `supabase migration
//! repair` does (`internal/migration/repair`): `applied` inserts the
//! version's row with the name and statements of its local file, `reverted`
//! deletes the row. All versions change in one transaction, under the
//! migration lock.

use super::{application_name, mask_secrets};
use crate::cli::{RepairArgs, RepairStatus};
use crate::commands::Session;
use crate::error::{Error, Result};
use crate::plan::{Action, Change, Plan};
use crate::report::{StepReport, Verdict};
use crate::runtime;
use crate::settings::migrate::{MigrateFlags, MigrateSettings};
use crate::step::Step;
use crate::supabase::checks::Applied;
use crate::supabase::files::{self, MigrationFile};
use crate::supabase::history::Repair;
use crate::supabase::{connect, history, lock, session};
use serde_json::json;

/// Repairs the history table; reports the change as `migrate repair` (not a
/// pipeline step: nothing is recorded).
pub(super) fn execute(args: &RepairArgs, session: &Session) -> Result<StepReport> {
    let printer = session.printer;
    let opts = MigrateFlags {
        db_url: args.db_url.clone(),
        lock_timeout: args.lock_timeout,
        ..Default::default()
    };
    let settings = MigrateSettings::resolve(&session.project, session.env, &opts)?;
    mask_secrets(session, &settings);
    if let Some(bad) = args
        .versions
        .iter()
        .find(|v| v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Error::usage(
            format!("`{bad}` is not a migration version"),
            Some("a version is the digits before `_` in the file name (20240101120000)".into()),
        ));
    }
    let listing = files::list(&settings.migrations_dir())?;
    let mut local: Vec<Option<&MigrationFile>> = Vec::new();
    for v in &args.versions {
        let file = listing.files.iter().find(|f| f.version == *v);
        if args.status == RepairStatus::Applied && file.is_none() {
            return Err(Error::usage(
                format!(
                    "no file {}/migrations/{v}_*.sql to mark as applied",
                    settings.dir_label
                ),
                Some(
                    "`applied` records the file's name and statements, so the file must exist"
                        .into(),
                ),
            ));
        }
        local.push(file);
    }
    let Some(db) = settings.database.clone() else {
        return Err(Error::usage(
            format!("gantry migrate repair needs a database: {}", settings.unconfigured),
            Some("set SUPABASE_DB_URL, pass --db-url, or set [migrate] project-ref with SUPABASE_DB_PASSWORD".into()),
        ));
    };
    let plan = runtime::block_on(async {
        let app = application_name(session);
        let (endpoints, _) = connect::endpoints(&db, settings.ssl_root_cert.as_deref(), &app)?;
        crate::supabase::direct::check(&endpoints, settings.ipv6).await?;
        let conn = connect::connect(&endpoints).await?;
        let client = &conn.client;
        let version = session::prepare(client, session.dry_run).await?;
        let ep = &endpoints[conn.endpoint];
        printer.info(&format!(
            "database: {} {} ({}), PostgreSQL {version}",
            ep.label,
            ep.describe(),
            ep.tls.describe()
        ));
        if !session.dry_run {
            if !lock::try_acquire(client).await? {
                let who = lock::holder(client)
                    .await
                    .unwrap_or_else(|| "another session".into());
                printer.info(&format!("waiting for the migration lock, held by {who}"));
                lock::wait(client, settings.lock_timeout).await?;
            }
            history::ensure_table(client).await?;
        }
        let recorded = history::read(client).await?;
        let changes = changes(args, &local, &recorded);
        if !session.dry_run && !changes.is_empty() {
            history::repair(client, &rows(args, &local)).await?;
        }
        Ok::<_, Error>(Plan { changes })
    })??;
    let verb = if session.dry_run { "would be" } else { "was" };
    let head = if plan.is_empty() {
        "Repair: the history table already says so; nothing changed".to_string()
    } else {
        format!("Repair: the history table {verb} changed")
    };
    printer.result(&format!(
        "{head}\n  {}",
        plan.render().replace('\n', "\n  ")
    ));
    printer.summary(&format!(
        "### gantry migrate repair{}\n\n```text\n{}\n```\n\n",
        if session.dry_run { " (dry run)" } else { "" },
        plan.render()
    ));
    let status = match args.status {
        RepairStatus::Applied => "applied",
        RepairStatus::Reverted => "reverted",
    };
    let detail = json!({ "status": status, "versions": args.versions });
    Ok(
        StepReport::new(Step::Migrate, Verdict::Passed, session.dry_run)
            .plan(plan)
            .detail(detail),
    )
}

fn changes(
    args: &RepairArgs,
    local: &[Option<&MigrationFile>],
    recorded: &[Applied],
) -> Vec<Change> {
    let mut out = Vec::new();
    for (v, file) in args.versions.iter().zip(local) {
        let row = recorded.iter().find(|a| a.version == *v);
        match (args.status, file) {
            (RepairStatus::Applied, Some(f)) => {
                let same = row
                    .is_some_and(|r| r.name == f.name && r.statements.as_ref() == Some(&f.texts()));
                if !same {
                    out.push(Change {
                        action: if row.is_some() {
                            Action::Update
                        } else {
                            Action::Create
                        },
                        target: format!("migration {v}"),
                        summary: format!(
                            "mark applied: {}, {} statements",
                            f.name,
                            f.statements.len()
                        ),
                        diff: None,
                    });
                }
            }
            (RepairStatus::Reverted, _) if row.is_some() => out.push(Change {
                action: Action::Delete,
                target: format!("migration {v}"),
                summary: "mark reverted: delete its history row".into(),
                diff: None,
            }),
            _ => {}
        }
    }
    out
}

/// The history rows the repair writes, in the order given.
fn rows<'a>(args: &'a RepairArgs, local: &'a [Option<&MigrationFile>]) -> Vec<Repair<'a>> {
    args.versions
        .iter()
        .zip(local)
        .map(|(v, file)| match (args.status, file) {
            (RepairStatus::Applied, Some(f)) => Repair::Applied {
                version: &f.version,
                name: &f.name,
                statements: f.texts(),
            },
            _ => Repair::Reverted { version: v },
        })
        .collect()
}
