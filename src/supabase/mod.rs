//! Supabase migrations over PostgreSQL, compatible with the Supabase CLI:
//! the same files, the same order, the same history and seed tables, so a
//! team can switch between `supabase db push` and `gantry migrate` either way.
//!
//! `files` finds the migrations, `split` cuts them into statements, `txn`
//! reads their own transaction control, `checks` compares them with the
//! history, `connect` reaches the database (TLS, direct host or pooler),
//! `direct` stops early where a direct host cannot be reached, `lock`
//! keeps concurrent runs apart, `history` owns the CLI's tables, `session`
//! prepares the connection and `apply` runs a file with its history row.

pub mod apply;
pub mod checks;
pub mod connect;
pub mod database;
pub mod direct;
pub mod files;
pub mod history;
pub mod located;
pub mod lock;
pub mod seeds;
pub mod session;
pub mod split;
pub mod sslmode;
pub mod txn;
