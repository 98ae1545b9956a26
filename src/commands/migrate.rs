//! `gantry migrate`: apply pending Supabase migrations with the Supabase
//! CLI's history table, one transaction per file, under an advisory lock.
//!
//! The flow is the same for a dry run and a real run up to the last step:
//! read the files, connect, (real run: take the lock, create the history
//! table), read the history, check, plan; then a dry run stops and a real
//! run applies that plan. A dry run connects read-only; with no database
//! configured it plans from the files alone and says so.

mod apply_files;
mod refusals;
mod repair;
mod summary;

use super::Session;
use crate::cli::{Commands, MigrateCommand};
use crate::driver::{Invocation, Ran, StepCommand};
use crate::error::{Error, Result};
use crate::output::github::Level;
use crate::plan::{Action, Change, Plan};
use crate::report::{StepReport, Verdict};
use crate::runtime;
use crate::settings::config::{Config, Step};
use crate::settings::migrate::{Database, MigrateFlags, MigrateSettings};
use crate::supabase::checks::{self, Comparison};
use crate::supabase::files::{self, Listing, MigrationFile, NO_TRANSACTION};
use crate::supabase::seeds::{self, SeedFile, SeedStatus};
use crate::supabase::{self, connect, history, lock, session};
use indexmap::IndexMap;
use serde_json::json;

/// `gantry migrate` (and `migrate repair`, beside it), for the driver.
pub struct MigrateStep;

impl StepCommand for MigrateStep {
    fn step(&self) -> Step {
        Step::Migrate
    }

    fn configured(&self, config: &Config) -> bool {
        config.migrate.is_some()
    }

    /// Without gantry.toml, the Supabase layout and SUPABASE_DB_URL apply.
    fn runs_without_config(&self, _command: &Commands) -> bool {
        true
    }

    /// A URL given on the command line is a secret from the first line on.
    fn flag_secrets<'a>(&self, command: &'a Commands) -> Vec<&'a str> {
        let url = match command {
            Commands::Migrate(args) => match &args.command {
                Some(MigrateCommand::Repair(r)) => r.db_url.as_deref(),
                None => args.options.db_url.as_deref(),
            },
            _ => None,
        };
        url.into_iter().collect()
    }

    fn execute(&self, session: &Session, invocation: Invocation) -> Result<Ran> {
        match invocation {
            Invocation::Alone(Commands::Migrate(args)) => match &args.command {
                Some(MigrateCommand::Repair(r)) => Ok(Ran::Aside {
                    command: "migrate repair",
                    report: repair::execute(r, session)?,
                }),
                None => execute(session, &(&args.options).into()).map(Ran::Step),
            },
            _ => execute(session, &MigrateFlags::default()).map(Ran::Step),
        }
    }

    /// How many migrations were (or would be) applied, above the plan.
    fn headline(&self, report: &StepReport) -> Option<String> {
        summary::headline(report)
    }
}

/// Plans and (unless a dry run) applies; shared by `gantry migrate` and `gantry run`.
pub fn execute(session: &Session, opts: &MigrateFlags) -> Result<StepReport> {
    let settings = MigrateSettings::resolve(&session.project, session.env, opts)?;
    mask_secrets(session, &settings);
    let mut run = Run::new(session, settings)?;
    run.check_files();
    // No migrations folder (and no seed): nothing to apply, so nothing to
    // ask the database either; an unreachable one must not fail the step.
    if !run.settings.migrations_dir().exists() && run.seeds.is_empty() {
        return Ok(run.report());
    }
    if run.refusals.is_empty() {
        match run.settings.database.clone() {
            None if !session.dry_run => {
                return Err(Error::usage(
                    format!("gantry migrate needs a database: {}", run.settings.unconfigured),
                    Some("set SUPABASE_DB_URL (in GitHub Actions: `env: SUPABASE_DB_URL: ${{ secrets.SUPABASE_DB_URL }}`), pass --db-url, or set [migrate] project-ref with SUPABASE_DB_PASSWORD".into()),
                ));
            }
            None => run.plan_offline(),
            Some(db) => runtime::block_on(run.online(&db))??,
        }
    }
    Ok(run.report())
}

fn mask_secrets(session: &Session, settings: &MigrateSettings) {
    let (values, urls) = settings.secrets();
    for v in values {
        session.printer.mask(v);
    }
    for u in urls {
        session.printer.mask_url_password(u);
    }
}

/// A refusal: the run stops before applying anything, for this reason.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub title: String,
    pub body: String,
    /// `(file, line)` for an annotation.
    pub at: Option<(String, Option<usize>)>,
}

/// A migration that failed while being applied.
#[derive(Debug, Clone)]
pub(crate) struct Failed {
    pub file: usize,
    pub text: String,
    pub failure: supabase::apply::Failure,
    pub at: Option<(usize, usize)>,
}

/// A run stopped by SIGINT/SIGTERM.
#[derive(Debug, Clone)]
pub(crate) struct Cancelled {
    /// `SIGINT` or `SIGTERM`.
    pub signal: String,
    /// The file whose transaction was rolled back, if one was running.
    pub in_flight: Option<usize>,
    /// What happened, in one paragraph.
    pub text: String,
    pub not_started: Vec<String>,
}

/// Everything one run learns, for the report.
pub(crate) struct Run<'a> {
    session: &'a Session<'a>,
    pub settings: MigrateSettings,
    pub files: Vec<MigrationFile>,
    pub seeds: Vec<SeedFile>,
    /// Where the database is, once connected: `(description, via)`.
    pub database: Option<serde_json::Value>,
    pub database_line: Option<String>,
    /// Why nothing was compared with a database (dry run without one).
    pub offline: Option<String>,
    pub comparison: Option<Comparison>,
    pub recorded: usize,
    /// File indexes, in the order they are (to be) applied.
    pub pending: Vec<usize>,
    pub applied: Vec<usize>,
    pub seed_status: Vec<SeedStatus>,
    pub seeds_done: Vec<usize>,
    pub refusals: Vec<Refusal>,
    pub failed: Option<Failed>,
    pub cancelled: Option<Cancelled>,
    pub warnings: Vec<String>,
}

impl<'a> Run<'a> {
    fn new(session: &'a Session<'a>, settings: MigrateSettings) -> Result<Self> {
        let printer = session.printer;
        let dir = settings.migrations_dir();
        let Listing { files, skipped } = files::list(&dir)?;
        if !dir.exists() {
            // A missing folder used to pass as "0 applied", like an up-to-date database.
            printer.info(&format!(
                "nothing to do: {}/migrations does not exist (migrations are `<version>_<name>.sql` files there)",
                settings.dir_label
            ));
        }
        let mut warnings = Vec::new();
        for s in skipped {
            warnings.push(format!(
                "skipped {}/migrations/{}: {}",
                settings.dir_label, s.file_name, s.reason
            ));
        }
        let seeds = if settings.include_seed {
            let (found, unmatched) = seeds::find(&settings.dir, &settings.seeds)?;
            for p in unmatched {
                warnings.push(format!("no seed file matches {}/{p}", settings.dir_label));
            }
            found
        } else {
            Vec::new()
        };
        for w in &warnings {
            printer.warn(w);
        }
        printer.detail(&format!(
            "{} migration file(s) in {}",
            files.len(),
            dir.display()
        ));
        Ok(Run {
            session,
            settings,
            files,
            seeds,
            database: None,
            database_line: None,
            offline: None,
            comparison: None,
            recorded: 0,
            pending: Vec::new(),
            applied: Vec::new(),
            seed_status: Vec::new(),
            seeds_done: Vec::new(),
            refusals: Vec::new(),
            failed: None,
            cancelled: None,
            warnings,
        })
    }

    /// The file as the user knows it: `supabase/migrations/1_a.sql`.
    pub(crate) fn label(&self, file: &MigrationFile) -> String {
        let full = file
            .path
            .strip_prefix(&self.session.repo_root)
            .unwrap_or(&file.path);
        full.display().to_string()
    }

    fn refuse(&mut self, r: Refusal) {
        self.refusals.push(r);
    }

    /// Dry run with no database: every file is listed as pending.
    fn plan_offline(&mut self) {
        let why = format!(
            "{}: the plan lists every migration file from disk, not compared with the database",
            self.settings.unconfigured
        );
        self.session.printer.info(&format!("database: {why}"));
        self.offline = Some(self.settings.unconfigured.clone());
        self.pending = (0..self.files.len()).collect();
        self.check_pending_txn();
        self.seed_status = vec![SeedStatus::New; self.seeds.len()];
    }

    async fn online(&mut self, db: &Database) -> Result<()> {
        let printer = self.session.printer;
        let dry_run = self.session.dry_run;
        let app = application_name(self.session);
        let (endpoints, warnings) =
            connect::endpoints(db, self.settings.ssl_root_cert.as_deref(), &app)?;
        for w in warnings {
            printer.warn(&w);
            self.warnings.push(w);
        }
        supabase::direct::check(&endpoints, self.settings.ipv6).await?;
        let mut conn = connect::connect(&endpoints).await?;
        let endpoint = &endpoints[conn.endpoint];
        let client = &conn.client;
        let version = session::prepare(client, dry_run).await?;
        let mut line = format!(
            "database: {} {} ({}), PostgreSQL {version}",
            endpoint.label,
            endpoint.describe(),
            endpoint.tls.describe()
        );
        for p in &conn.passed_over {
            line.push_str(&format!("; passed over {p}"));
        }
        printer.info(&line);
        self.database_line = Some(line);
        self.database = Some(json!({
            "configured": true,
            "via": endpoint.label,
            "target": endpoint.describe(),
            "tls": endpoint.tls.describe(),
            "server_version": version,
            "passed_over": conn.passed_over,
        }));

        if !dry_run {
            if !lock::try_acquire(client).await? {
                let who = lock::holder(client)
                    .await
                    .unwrap_or_else(|| "another session".into());
                printer.info(&format!(
                    "waiting up to {} for the migration lock, held by {who}",
                    humantime::format_duration(self.settings.lock_timeout)
                ));
                lock::wait(client, self.settings.lock_timeout).await?;
            }
            printer.detail("took the migration lock");
            if history::ensure_table(client).await? {
                printer.info("created supabase_migrations.schema_migrations");
            }
        }
        let applied = history::read(client).await?;
        self.recorded = applied.len();
        let c = checks::compare(&self.files, &applied, self.settings.include_all);
        self.check_history(&c);
        self.pending.clone_from(&c.pending);
        self.comparison = Some(c);
        self.check_pending_txn();
        if self.settings.include_seed {
            let recorded = history::read_seeds(client).await?;
            self.seed_status = self
                .seeds
                .iter()
                .map(|s| seeds::status(s, &recorded))
                .collect();
        }
        if !self.refusals.is_empty() || dry_run {
            return Ok(());
        }
        self.apply_all(&mut conn).await
    }

    /// The step's report; refusals are shown here.
    fn report(self) -> StepReport {
        let printer = self.session.printer;
        for r in &self.refusals {
            printer.problem(&r.body);
            let at = r.at.clone().map(|(f, l)| (f, l, None));
            self.annotate(Level::Error, &r.title, &r.body, at);
        }
        let verdict =
            if self.refusals.is_empty() && self.failed.is_none() && self.cancelled.is_none() {
                Verdict::Passed
            } else {
                Verdict::Failed
            };
        let plan = self.plan();
        let done: Vec<&str> = if self.session.dry_run {
            if self.refusals.is_empty() {
                self.pending
                    .iter()
                    .map(|&i| self.files[i].version.as_str())
                    .collect()
            } else {
                Vec::new()
            }
        } else {
            self.applied
                .iter()
                .map(|&i| self.files[i].version.as_str())
                .collect()
        };
        let outputs: IndexMap<String, String> = [
            ("migrations-applied", done.join(",")),
            ("migrations-count", done.len().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        printer.summary(&summary::markdown(&self, verdict));
        let detail = summary::detail(&self);
        StepReport::new(Step::Migrate, verdict, self.session.dry_run)
            .plan(plan)
            .outputs(outputs)
            .detail(detail)
    }

    /// The changes: pending migrations, then seeds to run or re-record.
    fn plan(&self) -> Plan {
        let mut changes = Vec::new();
        if !self.refusals.is_empty() {
            return Plan::default();
        }
        for &i in &self.pending {
            let f = &self.files[i];
            let mut summary = format!("{}, {} statements", f.name, f.statements.len());
            if f.no_transaction {
                summary.push_str(", no transaction");
            }
            changes.push(Change {
                action: Action::Run,
                target: format!("migration {}", f.version),
                summary,
                diff: None,
            });
        }
        for (s, seed) in self.seeds.iter().enumerate() {
            match self.seed_status.get(s) {
                Some(SeedStatus::New) => changes.push(Change {
                    action: Action::Run,
                    target: format!("seed {}", seed.path),
                    summary: format!("{} statements", seed.statements.len()),
                    diff: None,
                }),
                Some(SeedStatus::Changed) => changes.push(Change {
                    action: Action::Update,
                    target: format!("seed {}", seed.path),
                    summary: "changed since it was applied: its new hash is recorded, it is not run again".into(),
                    diff: None,
                }),
                _ => {}
            }
        }
        Plan { changes }
    }

    pub(crate) fn session(&self) -> &Session<'a> {
        self.session
    }
}

/// What the lock holder is called in `pg_stat_activity`.
fn application_name(session: &Session) -> String {
    let ctx = &session.context;
    match (&ctx.repository, &ctx.run_id) {
        (Some(repo), Some(run)) if ctx.ci => format!("gantry migrate ({repo} run {run})"),
        _ => "gantry migrate".to_string(),
    }
}
