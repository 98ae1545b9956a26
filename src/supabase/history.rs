//! The Supabase CLI's tables, written exactly as it writes them, so either
//! tool can take over from the other.
//!
//! Facts from the CLI (`pkg/migration/history.go`): the schema
//! `supabase_migrations`; `schema_migrations (version text NOT NULL PRIMARY
//! KEY)` with `statements text[]` and `name text` added by `ALTER TABLE … ADD
//! COLUMN IF NOT EXISTS`; `seed_files (path text NOT NULL PRIMARY KEY, hash
//! text NOT NULL)`; all created under `SET lock_timeout = '4s'`, so a busy
//! table makes the run fail fast instead of queueing behind it.

use super::checks::Applied;
use super::connect::error_text;
use crate::error::{Error, Result};
use tokio_postgres::Client;

pub const CREATE_SCHEMA: &str = "CREATE SCHEMA IF NOT EXISTS supabase_migrations";
pub const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY)";
pub const ADD_STATEMENTS: &str =
    "ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[]";
pub const ADD_NAME: &str =
    "ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text";
pub const INSERT: &str = "INSERT INTO supabase_migrations.schema_migrations(version, name, statements) VALUES($1, $2, $3)";
/// `repair --status applied` on a recorded version rewrites its row.
pub const UPSERT: &str = "INSERT INTO supabase_migrations.schema_migrations(version, name, statements) VALUES($1, $2, $3) ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, statements = EXCLUDED.statements";
pub const DELETE: &str = "DELETE FROM supabase_migrations.schema_migrations WHERE version = $1";
pub const CREATE_SEED_TABLE: &str = "CREATE TABLE IF NOT EXISTS supabase_migrations.seed_files (path text NOT NULL PRIMARY KEY, hash text NOT NULL)";
pub const UPSERT_SEED: &str = "INSERT INTO supabase_migrations.seed_files(path, hash) VALUES($1, $2) ON CONFLICT (path) DO UPDATE SET hash = EXCLUDED.hash";
/// How long creating the tables may wait for a lock (the CLI's value).
const DDL_LOCK_TIMEOUT: &str = "SET LOCAL lock_timeout = '4s'";

/// What exists of the history table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableState {
    pub exists: bool,
    pub statements: bool,
    pub name: bool,
}

pub async fn table_state(client: &Client) -> Result<TableState> {
    let row = client
        .query_one(
            "SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL, \
             EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'supabase_migrations' AND table_name = 'schema_migrations' AND column_name = 'statements'), \
             EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'supabase_migrations' AND table_name = 'schema_migrations' AND column_name = 'name')",
            &[],
        )
        .await
        .map_err(|e| db_error("reading the history table", &e))?;
    Ok(TableState {
        exists: row.get(0),
        statements: row.get(1),
        name: row.get(2),
    })
}

/// Creates what is missing of the history table. Nothing runs (and no
/// lock is taken on the table) when it is complete.
pub async fn ensure_table(client: &Client) -> Result<bool> {
    let state = table_state(client).await?;
    if state.exists && state.statements && state.name {
        return Ok(false);
    }
    let sql = [
        "BEGIN",
        DDL_LOCK_TIMEOUT,
        CREATE_SCHEMA,
        CREATE_TABLE,
        ADD_STATEMENTS,
        ADD_NAME,
        "COMMIT",
    ]
    .join(";\n");
    if let Err(e) = client.batch_execute(&sql).await {
        let _ = client.batch_execute("ROLLBACK").await;
        return Err(db_error(
            "creating supabase_migrations.schema_migrations",
            &e,
        ));
    }
    Ok(true)
}

/// Every recorded migration; none when the table does not exist yet.
pub async fn read(client: &Client) -> Result<Vec<Applied>> {
    let state = table_state(client).await?;
    if !state.exists {
        return Ok(Vec::new());
    }
    let name = if state.name {
        "coalesce(name, '')"
    } else {
        "''"
    };
    let statements = if state.statements {
        "statements"
    } else {
        "NULL::text[]"
    };
    let rows = client
        .query(
            &format!("SELECT version, {name}, {statements} FROM supabase_migrations.schema_migrations ORDER BY version"),
            &[],
        )
        .await
        .map_err(|e| db_error("reading the history table", &e))?;
    Ok(rows
        .iter()
        .map(|r| Applied {
            version: r.get(0),
            name: r.get(1),
            statements: r
                .get::<_, Option<Vec<Option<String>>>>(2)
                .map(|v| v.into_iter().map(Option::unwrap_or_default).collect()),
        })
        .collect())
}

/// Recorded seed files: path → hash; empty when the table does not exist.
pub async fn read_seeds(client: &Client) -> Result<Vec<(String, String)>> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('supabase_migrations.seed_files') IS NOT NULL",
            &[],
        )
        .await
        .map_err(|e| db_error("reading supabase_migrations.seed_files", &e))?
        .get(0);
    if !exists {
        return Ok(Vec::new());
    }
    let rows = client
        .query("SELECT path, hash FROM supabase_migrations.seed_files", &[])
        .await
        .map_err(|e| db_error("reading supabase_migrations.seed_files", &e))?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

pub async fn ensure_seed_table(client: &Client) -> Result<()> {
    let sql = [
        "BEGIN",
        DDL_LOCK_TIMEOUT,
        CREATE_SCHEMA,
        CREATE_SEED_TABLE,
        "COMMIT",
    ]
    .join(";\n");
    if let Err(e) = client.batch_execute(&sql).await {
        let _ = client.batch_execute("ROLLBACK").await;
        return Err(db_error("creating supabase_migrations.seed_files", &e));
    }
    Ok(())
}

/// One row `migrate repair` writes into the history table.
pub enum Repair<'a> {
    /// Record the version as applied, with its file's name and statements.
    Applied {
        version: &'a str,
        name: &'a str,
        statements: Vec<String>,
    },
    /// Forget the version.
    Reverted { version: &'a str },
}

/// Writes the repair rows in one transaction: all of them or none.
pub async fn repair(client: &Client, rows: &[Repair<'_>]) -> Result<()> {
    let fail = |e: tokio_postgres::Error| db_error("repairing the history table", &e);
    client.batch_execute("BEGIN").await.map_err(fail)?;
    for row in rows {
        let result = match row {
            Repair::Applied {
                version,
                name,
                statements,
            } => client.execute(UPSERT, &[version, name, statements]).await,
            Repair::Reverted { version } => client.execute(DELETE, &[version]).await,
        };
        if let Err(e) = result {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(fail(e));
        }
    }
    client.batch_execute("COMMIT").await.map_err(fail)
}

pub fn db_error(what: &str, e: &tokio_postgres::Error) -> Error {
    Error::external("postgres", format!("{what}: {}", error_text(e)))
}
