//! The session a migration run works in.

use super::history;
use crate::error::Result;

/// The server's version; keeps a killed run from holding its transaction
/// (PostgreSQL 14+ checks that the client is still there during long
/// statements) and makes a dry run's session read-only.
pub async fn prepare(client: &tokio_postgres::Client, read_only: bool) -> Result<String> {
    let row = client
        .query_one(
            "SELECT current_setting('server_version'), current_setting('server_version_num')::int",
            &[],
        )
        .await
        .map_err(|e| history::db_error("reading the server version", &e))?;
    let version: String = row.get(0);
    let number: i32 = row.get(1);
    let version = version.split_whitespace().next().unwrap_or("").to_string();
    if number >= 140_000 {
        // Best effort: a server that refuses it still works.
        let _ = client
            .batch_execute("SET client_connection_check_interval = '1s'")
            .await;
    }
    if read_only {
        client
            .batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            .await
            .map_err(|e| history::db_error("making the dry run read-only", &e))?;
    }
    Ok(version)
}
