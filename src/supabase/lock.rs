//! One run at a time: a session advisory lock, taken before the history is
//! read, so a second run waits and then sees what the first one applied.
//!
//! The lock belongs to the session: if gantry dies, PostgreSQL releases it
//! with the connection. The Supabase CLI takes no lock, so this keeps gantry
//! runs apart, not gantry and `supabase db push`.

use super::connect::error_text;
use crate::error::{Error, Result};
use std::time::Duration;
use tokio_postgres::Client;

/// The advisory lock key: the bytes of "gantrymg". PostgreSQL shows a
/// bigint key in `pg_locks` as classid (high half) and objid (low half).
pub const LOCK_KEY: i64 = 7_449_356_705_063_333_223;

/// Takes the lock at once when it is free.
pub async fn try_acquire(client: &Client) -> Result<bool> {
    let row = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_KEY])
        .await
        .map_err(db_error)?;
    Ok(row.get(0))
}

/// Waits up to `timeout` for the lock; on timeout, an error naming the
/// session that holds it (exit 3).
pub async fn wait(client: &Client, timeout: Duration) -> Result<()> {
    // lock_timeout bounds advisory lock waits too; it is reset at once so
    // the migrations run with the database's own setting.
    let ms = timeout.as_millis().max(1);
    client
        .batch_execute(&format!("SET lock_timeout = '{ms}ms'"))
        .await
        .map_err(db_error)?;
    let result = client
        .query_one("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .await;
    client
        .batch_execute("RESET lock_timeout")
        .await
        .map_err(db_error)?;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE) => {
            let who = holder(client)
                .await
                .unwrap_or_else(|| "another session".into());
            Err(Error::external(
                "postgres",
                format!(
                    "another migration run still holds the migration lock after {}: {who}",
                    humantime::format_duration(timeout)
                ),
            )
            .with_hint(
                "let it finish and run again (or raise --lock-timeout); if it is stuck, end it with SELECT pg_terminate_backend(<pid>)",
            ))
        }
        Err(e) => Err(db_error(e)),
    }
}

/// Who holds the lock: pid, application, user, client and since when.
pub async fn holder(client: &Client) -> Option<String> {
    let classid = (LOCK_KEY as u64 >> 32) as u32;
    let objid = (LOCK_KEY as u64 & 0xffff_ffff) as u32;
    let sql = format!(
        "SELECT a.pid, coalesce(nullif(a.application_name, ''), '?'), coalesce(a.usename::text, '?'), \
         coalesce(host(a.client_addr), 'local socket'), \
         coalesce(to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC', '?') \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND l.classid = {classid} AND l.objid = {objid} AND l.objsubid = 1"
    );
    let row = client.query_opt(&sql, &[]).await.ok()??;
    Some(format!(
        "pid {} ({}, user {}, from {}, connected since {})",
        row.get::<_, i32>(0),
        row.get::<_, String>(1),
        row.get::<_, String>(2),
        row.get::<_, String>(3),
        row.get::<_, String>(4)
    ))
}

fn db_error(e: tokio_postgres::Error) -> Error {
    Error::external(
        "postgres",
        format!("taking the migration lock: {}", error_text(&e)),
    )
}
