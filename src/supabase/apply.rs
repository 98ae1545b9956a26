//! Running a migration file, or a seed file, with its history row.
//!
//! A transactional file runs inside `BEGIN … COMMIT` together with the
//! insert of its history row: on any error everything of the file is rolled
//! back, and what earlier files did stays. A `-- gantry:no-transaction` file
//! runs statement by statement, each committed on its own (what `CREATE INDEX
//! CONCURRENTLY` needs); its history row is written after the last one.
//! Statements go one by one over the simple query protocol, so a failure
//! names its statement and the server's error position points into it.

use super::connect::error_text;
use super::files::MigrationFile;
use super::history;
use super::split::Statement;
use super::txn;
use tokio_postgres::Client;

/// Why a file did not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// 1-based statement number; `None` when recording the history row or
    /// committing failed.
    pub statement: Option<usize>,
    pub message: String,
    pub code: Option<String>,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// 1-based character position in the statement, from the server.
    pub position: Option<usize>,
    /// Where in a function body the error happened (`PL/pgSQL function …`).
    pub context: Option<String>,
    /// The connection broke: the outcome of the file is unknown to gantry
    /// (the server rolls back an open transaction when its client is gone).
    pub connection_lost: bool,
    /// Statements of a no-transaction file that stayed applied.
    pub committed_statements: usize,
}

/// The SQLSTATE of a statement cancelled on request (`query_canceled`).
const QUERY_CANCELED: &str = "57014";

impl Failure {
    /// Whether gantry was cancelled (SIGINT/SIGTERM) while this file ran:
    /// its statement was cancelled, or it stopped before the next one.
    pub fn cancelled(&self) -> bool {
        crate::cancel::requested().is_some()
            && (self.code.as_deref() == Some(QUERY_CANCELED) || self.code.is_none())
    }

    /// Stopped before statement `statement` (or the commit) by a cancel.
    fn stopped(statement: Option<usize>) -> Failure {
        Failure {
            statement,
            message: "cancelled before this statement ran".into(),
            code: None,
            detail: None,
            hint: None,
            position: None,
            context: None,
            connection_lost: false,
            committed_statements: 0,
        }
    }
}

impl Failure {
    fn from_error(e: &tokio_postgres::Error, statement: Option<usize>) -> Failure {
        let mut f = Failure {
            statement,
            message: error_text(e),
            code: None,
            detail: None,
            hint: None,
            position: None,
            context: None,
            connection_lost: e.is_closed() || e.as_db_error().is_none(),
            committed_statements: 0,
        };
        if let Some(db) = e.as_db_error() {
            f.message = db.message().to_string();
            f.code = Some(db.code().code().to_string());
            f.detail = db.detail().map(str::to_string);
            f.hint = db.hint().map(str::to_string);
            f.context = db.where_().map(str::to_string);
            if let Some(tokio_postgres::error::ErrorPosition::Original(p)) = db.position() {
                f.position = Some(*p as usize);
            }
            // 25001: the statement cannot run inside a transaction block.
            if f.code.as_deref() == Some("25001") && f.hint.is_none() {
                f.hint = Some(format!(
                    "put `{}` on the file's first line to run it statement by statement, outside a transaction",
                    super::files::NO_TRANSACTION
                ));
            }
        }
        f
    }
}

/// The history row that goes with the statements.
enum Record<'a> {
    Migration(&'a MigrationFile),
    Seed { path: &'a str, hash: &'a str },
}

impl Record<'_> {
    async fn write(&self, client: &Client) -> Result<u64, tokio_postgres::Error> {
        match self {
            Record::Migration(file) => {
                let texts = file.texts();
                client
                    .execute(history::INSERT, &[&file.version, &file.name, &texts])
                    .await
            }
            Record::Seed { path, hash } => {
                client.execute(history::UPSERT_SEED, &[path, hash]).await
            }
        }
    }
}

/// Applies one migration file and records it.
pub async fn migration(client: &Client, file: &MigrationFile) -> Result<(), Failure> {
    let record = Record::Migration(file);
    if file.no_transaction {
        for (k, s) in file.statements.iter().enumerate() {
            if crate::cancel::requested().is_some() {
                let mut f = Failure::stopped(Some(k + 1));
                f.committed_statements = k;
                return Err(f);
            }
            if let Err(e) = client.batch_execute(&s.text).await {
                let mut f = Failure::from_error(&e, Some(k + 1));
                f.committed_statements = k;
                return Err(f);
            }
        }
        return match record.write(client).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let mut f = Failure::from_error(&e, None);
                f.committed_statements = file.statements.len();
                Err(f)
            }
        };
    }
    let skip = match file.txn_plan() {
        txn::Plan::Unwrap { begin, commit } => vec![begin, commit],
        _ => Vec::new(),
    };
    let run = file
        .statements
        .iter()
        .enumerate()
        .filter(|(k, _)| !skip.contains(k));
    in_transaction(client, run, &record).await
}

/// Applies one seed file and records its hash, in one transaction (as the
/// CLI's batch does). `run == false` records the hash only: the CLI does not
/// run a seed again when it changed, it updates the hash.
pub async fn seed(
    client: &Client,
    path: &str,
    hash: &str,
    statements: &[Statement],
    run: bool,
) -> Result<(), Failure> {
    let run_these = statements.iter().enumerate().filter(|_| run);
    in_transaction(client, run_these, &Record::Seed { path, hash }).await
}

async fn in_transaction<'a>(
    client: &Client,
    statements: impl Iterator<Item = (usize, &'a Statement)>,
    record: &Record<'_>,
) -> Result<(), Failure> {
    client
        .batch_execute("BEGIN")
        .await
        .map_err(|e| Failure::from_error(&e, None))?;
    for (k, s) in statements {
        // A cancel that came between two statements (none was running to
        // be cancelled) must not let the file go on to its COMMIT.
        if crate::cancel::requested().is_some() {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(Failure::stopped(Some(k + 1)));
        }
        if let Err(e) = client.batch_execute(&s.text).await {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(Failure::from_error(&e, Some(k + 1)));
        }
    }
    if crate::cancel::requested().is_some() {
        let _ = client.batch_execute("ROLLBACK").await;
        return Err(Failure::stopped(None));
    }
    if let Err(e) = record.write(client).await {
        let _ = client.batch_execute("ROLLBACK").await;
        return Err(Failure::from_error(&e, None));
    }
    client
        .batch_execute("COMMIT")
        .await
        .map_err(|e| Failure::from_error(&e, None))
}
