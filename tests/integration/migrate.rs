//! `gantry migrate` against a real PostgreSQL: the real Supabase migrations
//! of ../shared/data, refusals, failures, kills, concurrent runs, drift,
//! no-transaction files, seeds, repair and the pooler fallback.

use crate::support::postgres::{Db, PASSWORD, postgres, postgres_tls};
use crate::support::scrub::scrub;
use crate::support::{Gantry, Project, Run, Runner};
use gantry::supabase::lock::LOCK_KEY;
use gantry::supabase::split;
use std::io::Write;
use std::process::{Child, Stdio};
use std::time::Duration;

/// A project whose `supabase/migrations` holds `files` (and a `.keep`,
/// which is no migration).
pub(crate) fn project(files: &[(&str, &str)]) -> Project {
    let p = Project::new();
    p.write("gantry.toml", "[migrate]\n");
    p.write("supabase/migrations/.keep", "");
    for (name, sql) in files {
        p.write(&format!("supabase/migrations/{name}"), sql);
    }
    p
}

/// [`project`] and a fresh database.
pub(crate) fn setup(test: &str, files: &[(&str, &str)]) -> Option<(Project, Db)> {
    let db = postgres()?.database(test);
    Some((project(files), db))
}

fn gantry(p: &Project, db: &Db) -> Gantry {
    p.gantry().env("SUPABASE_DB_URL", &db.url())
}

fn migrate(p: &Project, db: &Db, args: &[&str]) -> Run {
    gantry(p, db).arg_list(&["migrate"]).arg_list(args).run()
}

trait Args {
    fn arg_list(self, args: &[&str]) -> Self;
}
impl Args for Gantry {
    fn arg_list(self, args: &[&str]) -> Self {
        self.args(args.iter().copied())
    }
}

/// Waits (bounded) until `check` holds; panics with `what` otherwise.
/// Not a timed assertion: the bound only keeps a broken run from hanging.
fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..1200 {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("gave up waiting: {what}");
}

fn lock_rows(db: &Db, granted: bool) -> usize {
    let classid = (LOCK_KEY as u64 >> 32) as u32;
    let objid = (LOCK_KEY as u64 & 0xffff_ffff) as u32;
    db.sql(&format!(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = {classid} AND objid = {objid} AND objsubid = 1 AND granted = {granted}"
    ))
    .parse()
    .unwrap()
}

/// A psql session holding gantry's migration lock until released.
struct Holder(Child);

impl Holder {
    fn take(db: &Db) -> Holder {
        let mut child = db
            .pg
            .psql_command(&db.name)
            .env("PGAPPNAME", "migration-holder-test")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        writeln!(
            child.stdin.as_mut().unwrap(),
            "SELECT pg_advisory_lock({LOCK_KEY});"
        )
        .unwrap();
        wait_until("the holder takes the lock", || lock_rows(db, true) == 1);
        Holder(child)
    }

    fn release(mut self) {
        drop(self.0.stdin.take());
        self.0.wait().unwrap();
    }
}

pub(crate) const FIVE: [(&str, &str); 5] = [
    (
        "20240101000001_one.sql",
        "create table one (id int primary key);\ninsert into one values (1);\n",
    ),
    (
        "20240101000002_two.sql",
        "create table two (id int references one (id));\n",
    ),
    (
        "20240101000003_three.sql",
        "create table three (id int);\n-- the typo\nselect nosuch\n  from three;\n",
    ),
    ("20240101000004_four.sql", "create table four (id int);\n"),
    ("20240101000005_five.sql", "create table five (id int);\n"),
];

#[test]
fn the_real_supabase_migrations_apply_and_are_recorded_as_the_cli_records_them() {
    let Some(dir) = crate::support::shared_data("supabase-projects/basejump/supabase") else {
        return;
    };
    let Some(pg) = postgres() else { return };
    let db = pg.database("basejump");
    db.supabase_bootstrap();
    let p = Project::new();
    // Read in place: the project points at the shared directory.
    p.write(
        "gantry.toml",
        &format!("[migrate]\ndir = \"{}\"\n", dir.display()),
    );
    let r = migrate(&p, &db, &["--format", "json"]).code(0);
    let doc = r.json();
    assert_eq!(doc["outputs"]["migrations-count"], "4", "{}", r.stderr);
    let history = db.history();
    let mut files: Vec<_> = std::fs::read_dir(dir.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(history.len(), files.len());
    for ((version, name, statements), path) in history.iter().zip(&files) {
        let file_name = path.file_name().unwrap().to_string_lossy();
        let (v, rest) = file_name.split_once('_').unwrap();
        assert_eq!(version, v);
        assert_eq!(name, rest.trim_end_matches(".sql"));
        // The statements the CLI would record: cut by its parser, trimmed,
        // without the semicolon (the splitter's unit tests hold it to a
        // model of the CLI's parser on these very files).
        let expected = split::statements(&std::fs::read_to_string(path).unwrap());
        assert_eq!(statements, &expected, "{file_name}");
        assert!(
            statements
                .iter()
                .all(|s| !s.ends_with(';') && s.trim() == s)
        );
    }
    assert_eq!(history[0].1, "basejump-setup");
    assert_eq!(history[0].2.len(), 19);
    assert!(
        history[0].2[0].starts_with("/**"),
        "leading comments are kept"
    );
    // The schema works: a new auth user gets a personal account.
    db.sql("INSERT INTO auth.users (id, email) VALUES ('00000000-0000-0000-0000-000000000001', 'ada@example.com')");
    assert_eq!(
        db.sql("SELECT name FROM basejump.accounts WHERE personal_account"),
        "ada"
    );
    // A second run applies nothing.
    let r = migrate(&p, &db, &["--format", "json"]).code(0);
    assert_eq!(r.json()["outputs"]["migrations-count"], "0");
}

#[test]
fn a_rerun_applies_nothing_and_a_new_file_applies_alone() {
    let Some((p, db)) = setup("rerun", &FIVE[..2]) else {
        return;
    };
    let runner = Runner::new();
    let sha = p.commit("init");
    let r = gantry(&p, &db)
        .args(["migrate"])
        .envs(runner.env("push", serde_json::json!({}), &sha))
        .run()
        .code(0);
    insta::assert_snapshot!(scrub(&r.stdout, &p.path()), @r###"
    ::add-mask::postgresql://postgres:gantry-test-pw-7x@127.0.0.1:[PORT]/[DB]
    ::add-mask::postgresql%253A%252F%252Fpostgres%253Agantry-test-pw-7x%2540127.0.0.1%253A[PORT]%252F[DB]
    ::add-mask::gantry-test-pw-7x
    database: SUPABASE_DB_URL postgres@127.0.0.1:[PORT]/[DB] (no TLS), PostgreSQL [VERSION]
    created supabase_migrations.schema_migrations
    applying 20240101000001_one.sql (2 statement(s))
    ✓ 20240101000001_one.sql in [TIME]
    applying 20240101000002_two.sql (1 statement(s))
    ✓ 20240101000002_two.sql in [TIME]
    Applied 2 migration(s)
    Changes
      legend: + create  ~ update  - delete  > run  ^ upload
      migrate: passed (2 changes)
        > migration 20240101000001: one, 2 statements
        > migration 20240101000002: two, 1 statements
    Verdict: passed
    "###);
    assert_eq!(
        runner.outputs()["migrations-applied"],
        "20240101000001,20240101000002"
    );
    assert_eq!(runner.outputs()["migrations-count"], "2");
    assert!(
        runner.summary().contains("### gantry migrate: passed"),
        "{}",
        runner.summary()
    );
    let r = migrate(&p, &db, &[]).code(0);
    insta::assert_snapshot!(scrub(&r.stdout, &p.path()), @r###"
    Applied 0 migration(s)
    Changes
      migrate: passed (no remote changes)
    Verdict: passed
    "###);
    p.write("supabase/migrations/20240101000004_four.sql", FIVE[3].1);
    let doc = migrate(&p, &db, &["--format", "json"]).code(0).json();
    assert_eq!(doc["outputs"]["migrations-applied"], "20240101000004");
    assert_eq!(
        db.versions(),
        ["20240101000001", "20240101000002", "20240101000004"]
    );
}

#[test]
fn versions_applied_but_missing_locally_are_refused_with_the_repair_command() {
    let Some((p, db)) = setup("missing", &FIVE[..2]) else {
        return;
    };
    migrate(&p, &db, &[]).code(0);
    std::fs::remove_file(p.path().join("supabase/migrations/20240101000002_two.sql")).unwrap();
    p.write("supabase/migrations/20240101000004_four.sql", FIVE[3].1);
    let r = migrate(&p, &db, &[]).code(1);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    database: SUPABASE_DB_URL postgres@127.0.0.1:[PORT]/[DB] (no TLS), PostgreSQL [VERSION]
    error: the database has applied 1 migration(s) that are not in supabase/migrations: 20240101000002
    Nothing was applied: gantry will not guess what the database holds.
    - If the files exist on another branch or were deleted by mistake, bring them back (git pull, git restore).
    - If those migrations were undone or squashed on purpose, mark them reverted:
        gantry migrate repair --status reverted 20240101000002
    "###);
    assert_eq!(
        db.versions(),
        ["20240101000001", "20240101000002"],
        "nothing applied"
    );
}

#[test]
fn older_unapplied_files_are_refused_unless_include_all() {
    let Some((p, db)) = setup("order", &[FIVE[0], FIVE[3]]) else {
        return;
    };
    migrate(&p, &db, &[]).code(0);
    p.write("supabase/migrations/20240101000002_two.sql", FIVE[1].1);
    p.write("supabase/migrations/20240101000005_five.sql", FIVE[4].1);
    let r = migrate(&p, &db, &[]).code(1);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    database: SUPABASE_DB_URL postgres@127.0.0.1:[PORT]/[DB] (no TLS), PostgreSQL [VERSION]
    error: these files were never applied and are older than the newest applied migration: 20240101000002_two.sql
    They usually come from a branch merged after newer migrations shipped. Check that they do not conflict with what was applied since, then run again with --include-all to apply them (before the newer pending ones).
    "###);
    assert_eq!(db.versions().len(), 2);
    let doc = migrate(&p, &db, &["--include-all", "--format", "json"])
        .code(0)
        .json();
    assert_eq!(
        doc["outputs"]["migrations-applied"],
        "20240101000002,20240101000005"
    );
    assert_eq!(db.versions().len(), 4);
}

#[test]
fn a_failure_in_file_3_of_5_keeps_1_and_2_and_nothing_of_3() {
    let Some((p, db)) = setup("failure", &FIVE) else {
        return;
    };
    let r = migrate(&p, &db, &[]).code(1);
    assert_eq!(db.versions(), ["20240101000001", "20240101000002"]);
    assert_eq!(
        db.sql("SELECT to_regclass('public.three') IS NULL"),
        "t",
        "file 3 rolled back"
    );
    assert_eq!(
        db.sql("SELECT to_regclass('public.four') IS NULL"),
        "t",
        "file 4 not run"
    );
    // Located: file, line and column of the bad column, the statement, a caret.
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    database: SUPABASE_DB_URL postgres@127.0.0.1:[PORT]/[DB] (no TLS), PostgreSQL [VERSION]
    created supabase_migrations.schema_migrations
    applying 20240101000001_one.sql (2 statement(s))
    ✓ 20240101000001_one.sql in [TIME]
    applying 20240101000002_two.sql (1 statement(s))
    ✓ 20240101000002_two.sql in [TIME]
    applying 20240101000003_three.sql (2 statement(s))
    ✗ supabase/migrations/20240101000003_three.sql failed
    error: supabase/migrations/20240101000003_three.sql:3:8: statement 2 failed: column "nosuch" does not exist
      |
    2 | -- the typo
    3 | select nosuch
      |        ^
    4 |   from three;
      = code: 42703
    Nothing of this file was applied (its transaction was rolled back). Applied before it in this run: 20240101000001, 20240101000002.
    "###);
    // In GitHub Actions: an error annotation at the file and line.
    let runner = Runner::new();
    let r = gantry(&p, &db)
        .args(["migrate"])
        .envs(runner.env("push", serde_json::json!({}), &p.commit("x")))
        .run()
        .code(1);
    assert!(
        r.commands("::error")
            .iter()
            .any(|a| a.contains("file=supabase/migrations/20240101000003_three.sql,line=3,col=8")),
        "{}",
        r.stdout
    );
    assert_eq!(runner.outputs()["migrations-count"], "0");
}

#[test]
fn a_run_killed_mid_migration_leaves_a_consistent_database_and_a_rerun_finishes() {
    let slow = "create table slow_a (id int);\nselect pg_sleep(case when to_regclass('public.sleep_gate') is null then 0 else 300 end);\ncreate table slow_b (id int);\n";
    let Some((p, db)) = setup(
        "kill",
        &[FIVE[0], ("20240101000002_slow.sql", slow), FIVE[3]],
    ) else {
        return;
    };
    db.sql("CREATE TABLE sleep_gate ()");
    let mut child = gantry(&p, &db).args(["migrate"]).spawn();
    wait_until("gantry is inside the slow migration", || {
        db.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'gantry migrate%' AND query LIKE '%pg_sleep%' AND state = 'active'") == "1"
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Consistent right away: file 1 committed, nothing of file 2 visible.
    assert_eq!(db.versions(), ["20240101000001"]);
    assert_eq!(db.sql("SELECT to_regclass('public.slow_a') IS NULL"), "t");
    db.sql("DROP TABLE sleep_gate");
    // The orphaned session is ended by the server; the rerun waits for its lock if needed.
    let r = migrate(&p, &db, &["--lock-timeout", "5m"]).code(0);
    assert!(
        r.stdout.contains("Applied 2 migration(s)"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    assert_eq!(
        db.versions(),
        ["20240101000001", "20240101000002", "20240101000004"]
    );
    assert_eq!(
        db.sql("SELECT to_regclass('public.slow_b') IS NOT NULL"),
        "t"
    );
}

#[test]
fn concurrent_runs_apply_each_migration_exactly_once() {
    let logged: Vec<(String, String)> = (1..=5)
        .map(|i| {
            (
                format!("2024010100000{i}_m{i}.sql"),
                format!("create table if not exists applied_log (version int);\ninsert into applied_log values ({i});\n"),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = logged
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let Some((p, db)) = setup("concurrent", &refs) else {
        return;
    };
    // Hold the lock so that both runs are certainly waiting at once.
    let holder = Holder::take(&db);
    let a = gantry(&p, &db).args(["migrate"]).spawn();
    let b = gantry(&p, &db).args(["migrate"]).spawn();
    wait_until("both runs wait for the lock", || lock_rows(&db, false) == 2);
    holder.release();
    let (a, b) = (Run::from_child(a), Run::from_child(b));
    assert_eq!(
        (a.code, b.code),
        (0, 0),
        "{}\n{}\n{}\n{}",
        a.stdout,
        a.stderr,
        b.stdout,
        b.stderr
    );
    for r in [&a, &b] {
        assert!(
            r.stderr
                .contains("waiting up to 1m for the migration lock, held by pid"),
            "{}",
            r.stderr
        );
    }
    let applied: Vec<&str> = [&a, &b]
        .iter()
        .map(|r| r.stdout.lines().next().unwrap_or(""))
        .collect();
    assert!(
        applied.contains(&"Applied 5 migration(s)") && applied.contains(&"Applied 0 migration(s)"),
        "{applied:?}"
    );
    assert_eq!(
        db.sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM applied_log"),
        "1,2,3,4,5"
    );
    assert_eq!(db.versions().len(), 5);
}

#[test]
fn a_run_that_cannot_get_the_lock_exits_3_naming_the_holder() {
    let Some((p, db)) = setup("locktimeout", &FIVE[..1]) else {
        return;
    };
    let holder = Holder::take(&db);
    let r = migrate(&p, &db, &["--lock-timeout", "1s"]).code(3);
    holder.release();
    assert!(
        r.stderr.contains("still holds the migration lock after 1s"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("(migration-holder-test, user postgres"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("pg_terminate_backend"), "{}", r.stderr);
    assert!(db.versions().is_empty());
}

#[test]
fn drift_warns_and_fails_with_strict() {
    let Some((p, db)) = setup("drift", &FIVE[..2]) else {
        return;
    };
    migrate(&p, &db, &[]).code(0);
    p.write(
        "supabase/migrations/20240101000002_two.sql",
        "create table two (id int references one (id), note text);\n",
    );
    let r = migrate(&p, &db, &[]).code(0);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    database: SUPABASE_DB_URL postgres@127.0.0.1:[PORT]/[DB] (no TLS), PostgreSQL [VERSION]
    warning: drift: supabase/migrations/20240101000002_two.sql: changed since it was applied: statement(s) 1 differ from those recorded (1 recorded, 1 in the file). Applied migrations are not run again: put the change in a new migration; if the file was only reformatted, record it as it is now with `gantry migrate repair --status applied 20240101000002`.
    "###);
    let r = migrate(&p, &db, &["--strict"]).code(1);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    database: SUPABASE_DB_URL postgres@127.0.0.1:[PORT]/[DB] (no TLS), PostgreSQL [VERSION]
    error: supabase/migrations/20240101000002_two.sql: changed since it was applied: statement(s) 1 differ from those recorded (1 recorded, 1 in the file). Applied migrations are not run again: put the change in a new migration; if the file was only reformatted, record it as it is now with `gantry migrate repair --status applied 20240101000002`.
    "###);
    let r = migrate(&p, &db, &["--dry-run", "--format", "json"]).code(0);
    assert_eq!(r.json()["detail"]["drift"][0]["changed_statements"][0], 1);
}

#[test]
fn a_no_transaction_file_can_create_an_index_concurrently() {
    let concurrently = "create index concurrently one_id_idx on one (id);\n";
    let marked = format!("-- gantry:no-transaction\n{concurrently}");
    let Some((p, db)) = setup("notx", &[FIVE[0], ("20240101000002_idx.sql", concurrently)]) else {
        return;
    };
    // Inside a transaction PostgreSQL refuses; the hint says what to do.
    let r = migrate(&p, &db, &[]).code(1);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    database: SUPABASE_DB_URL postgres@127.0.0.1:[PORT]/[DB] (no TLS), PostgreSQL [VERSION]
    created supabase_migrations.schema_migrations
    applying 20240101000001_one.sql (2 statement(s))
    ✓ 20240101000001_one.sql in [TIME]
    applying 20240101000002_idx.sql (1 statement(s))
    ✗ supabase/migrations/20240101000002_idx.sql failed
    error: supabase/migrations/20240101000002_idx.sql:1: statement 1 failed: CREATE INDEX CONCURRENTLY cannot run inside a transaction block
      |
    1 | create index concurrently one_id_idx on one (id);
      = hint: put `-- gantry:no-transaction` on the file's first line to run it statement by statement, outside a transaction
      = code: 25001
    Nothing of this file was applied (its transaction was rolled back). Applied before it in this run: 20240101000001.
    "###);
    p.write("supabase/migrations/20240101000002_idx.sql", &marked);
    migrate(&p, &db, &[]).code(0);
    assert_eq!(
        db.sql("SELECT indisvalid FROM pg_index WHERE indexrelid = 'one_id_idx'::regclass"),
        "t"
    );
    let history = db.history();
    assert_eq!(history[1].2, [marked.trim_end().trim_end_matches(';')]);
}

#[test]
fn own_transaction_control_is_unwrapped_or_refused_before_anything_runs() {
    let wrapped = "begin;\ncreate table wrapped (id int);\ncommit;\n";
    let Some((p, db)) = setup("txn", &[("20240101000001_wrapped.sql", wrapped)]) else {
        return;
    };
    migrate(&p, &db, &[]).code(0);
    assert_eq!(
        db.history()[0].2,
        ["begin", "create table wrapped (id int)", "commit"]
    );
    p.write(
        "supabase/migrations/20240101000002_ok.sql",
        "create table fine (id int);\n",
    );
    p.write(
        "supabase/migrations/20240101000003_split.sql",
        "create table half (id int);\ncommit;\ncreate table other (id int);\n",
    );
    let r = migrate(&p, &db, &[]).code(1);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    database: SUPABASE_DB_URL postgres@127.0.0.1:[PORT]/[DB] (no TLS), PostgreSQL [VERSION]
    error: supabase/migrations/20240101000003_split.sql:2: statement 2 is `COMMIT`: the file controls its own transaction in a way gantry cannot honour. gantry runs each file in one transaction with its history row, so that a failure leaves nothing of it applied; a `COMMIT` here would make part of the file permanent even if the rest fails (or end gantry's transaction early). Split the file at this statement into two migrations, or put `-- gantry:no-transaction` on its first line to run it statement by statement, exactly as written. (A file wrapped in one `BEGIN; … COMMIT;` is fine: gantry runs what is inside.)
    "###);
    assert_eq!(
        db.sql("SELECT to_regclass('public.fine') IS NULL"),
        "t",
        "refused before anything ran"
    );
}

#[test]
fn seeds_apply_once_and_a_changed_seed_is_reported() {
    let Some((p, db)) = setup("seeds", &FIVE[..1]) else {
        return;
    };
    p.write("supabase/seed.sql", "insert into one values (42);\n");
    let r = migrate(&p, &db, &["--include-seed"]).code(0);
    insta::assert_snapshot!(scrub(&r.stdout, &p.path()), @r###"
    Applied 1 migration(s)
    Changes
      legend: + create  ~ update  - delete  > run  ^ upload
      migrate: passed (2 changes)
        > migration 20240101000001: one, 2 statements
        > seed supabase/seed.sql: 1 statements
    Verdict: passed
    "###);
    let hash =
        db.sql("SELECT hash FROM supabase_migrations.seed_files WHERE path = 'supabase/seed.sql'");
    assert_eq!(hash.len(), 64);
    migrate(&p, &db, &["--include-seed"]).code(0);
    assert_eq!(
        db.sql("SELECT count(*) FROM one WHERE id = 42"),
        "1",
        "seeded once"
    );
    p.write("supabase/seed.sql", "insert into one values (43);\n");
    let r = migrate(&p, &db, &["--include-seed"]).code(0);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    database: SUPABASE_DB_URL postgres@127.0.0.1:[PORT]/[DB] (no TLS), PostgreSQL [VERSION]
    warning: supabase/seed.sql changed since it was applied: recording its new hash without running it again (as the Supabase CLI does)
    "###);
    assert_eq!(
        db.sql("SELECT count(*) FROM one WHERE id = 43"),
        "0",
        "not run again, as the CLI"
    );
    assert_ne!(
        db.sql("SELECT hash FROM supabase_migrations.seed_files"),
        hash
    );
}

#[test]
fn repair_marks_versions_applied_and_reverted() {
    let Some((p, db)) = setup("repair", &FIVE[..2]) else {
        return;
    };
    let r = gantry(&p, &db)
        .args([
            "migrate",
            "repair",
            "--status",
            "applied",
            "20240101000001",
            "20240101000002",
        ])
        .run()
        .code(0);
    insta::assert_snapshot!(scrub(&r.stdout, &p.path()), @r###"
    Repair: the history table was changed
      + migration 20240101000001: mark applied: one, 2 statements
      + migration 20240101000002: mark applied: two, 1 statements
    "###);
    assert_eq!(db.versions().len(), 2);
    assert_eq!(
        db.sql("SELECT to_regclass('public.one') IS NULL"),
        "t",
        "nothing ran"
    );
    assert_eq!(
        db.history()[0].2,
        [
            "create table one (id int primary key)",
            "insert into one values (1)"
        ]
    );
    gantry(&p, &db)
        .args([
            "migrate",
            "repair",
            "--status",
            "reverted",
            "20240101000002",
        ])
        .run()
        .code(0);
    assert_eq!(db.versions(), ["20240101000001"]);
    let r = gantry(&p, &db)
        .args(["migrate", "repair", "--status", "applied", "20240109999999"])
        .run()
        .code(2);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    error: no file supabase/migrations/20240109999999_*.sql to mark as applied
    hint: `applied` records the file's name and statements, so the file must exist
    "###);
}

#[test]
fn a_dry_run_changes_nothing_and_shows_the_sql_in_the_summary() {
    let Some((p, db)) = setup("dryrun", &FIVE[..2]) else {
        return;
    };
    let runner = Runner::new();
    let sha = p.commit("init");
    let r = gantry(&p, &db)
        .args(["migrate", "--dry-run"])
        .envs(runner.env("push", serde_json::json!({}), &sha))
        .run()
        .code(0);
    let shown: String = r
        .stdout
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .map(|l| format!("{l}\n"))
        .collect();
    insta::assert_snapshot!(scrub(&shown, &p.path()), @r###"
    database: SUPABASE_DB_URL postgres@127.0.0.1:[PORT]/[DB] (no TLS), PostgreSQL [VERSION]
    Plan (dry run: nothing remote was changed)
      legend: + create  ~ update  - delete  > run  ^ upload
      migrate: would change (2 changes)
        > migration 20240101000001: one, 2 statements
        > migration 20240101000002: two, 1 statements
    Verdict: would change (dry run)
    "###);
    assert_eq!(
        db.sql("SELECT to_regclass('supabase_migrations.schema_migrations') IS NULL"),
        "t"
    );
    insta::assert_snapshot!(scrub(&runner.summary(), &p.path()), @r###"
    ### gantry migrate: passed (dry run)

    database: SUPABASE_DB_URL postgres@127.0.0.1:[PORT]/[DB] (no TLS), PostgreSQL [VERSION]

    | Migration | Name | Statements | Status |
    |---|---|---|---|
    | 20240101000001 | one | 2 | pending |
    | 20240101000002 | two | 1 | pending |

    <details><summary>20240101000001_one.sql (2 statements)</summary>

    ```sql
    create table one (id int primary key);
    insert into one values (1);
    ```

    </details>

    <details><summary>20240101000002_two.sql (1 statements)</summary>

    ```sql
    create table two (id int references one (id));
    ```

    </details>
    "###);
}

#[test]
fn without_a_database_a_dry_run_plans_from_disk_and_a_real_run_is_a_usage_error() {
    let p = project(&FIVE[..1]);
    let r = p.gantry().args(["migrate", "--dry-run"]).run().code(0);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    database: no database is configured: SUPABASE_DB_URL is not set and [migrate] has no project-ref: the plan lists every migration file from disk, not compared with the database
    "###);
    insta::assert_snapshot!(scrub(&r.stdout, &p.path()), @r###"
    Plan (dry run: nothing remote was changed)
      legend: + create  ~ update  - delete  > run  ^ upload
      migrate: would change (1 change)
        > migration 20240101000001: one, 2 statements
    Verdict: would change (dry run)
    "###);
    let r = p.gantry().args(["migrate"]).run().code(2);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    error: gantry migrate needs a database: no database is configured: SUPABASE_DB_URL is not set and [migrate] has no project-ref
    hint: set SUPABASE_DB_URL (in GitHub Actions: `env: SUPABASE_DB_URL: ${{ secrets.SUPABASE_DB_URL }}`), pass --db-url, or set [migrate] project-ref with SUPABASE_DB_PASSWORD
    "###);
}

#[test]
fn a_project_ref_uses_the_session_pooler_when_the_direct_host_is_unreachable() {
    let Some((p, db)) = setup("pooler", &FIVE[..1]) else {
        return;
    };
    // The pooler's user is postgres.<ref>; give the test cluster one.
    let _ = db.pg.try_psql(
        "postgres",
        &format!("CREATE ROLE \"postgres.testref\" LOGIN SUPERUSER PASSWORD '{PASSWORD}'"),
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = |direct: u16| {
        format!(
            "[migrate]\nproject-ref = \"testref\"\ndirect-host = \"127.0.0.1:{direct}\"\npooler-host = \"127.0.0.1:{}\"\n",
            db.pg.port
        )
    };
    // A project's database is always `postgres`: dry runs only, read-only.
    p.write("gantry.toml", &config(closed));
    let r = p
        .gantry()
        .args(["migrate", "--dry-run"])
        .env("SUPABASE_DB_PASSWORD", PASSWORD)
        .run()
        .code(0);
    assert!(
        r.stderr
            .contains("database: session pooler postgres.testref@127.0.0.1:"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!(
            "passed over direct host postgres@127.0.0.1:{closed}/postgres"
        )),
        "{}",
        r.stderr
    );
    assert!(!r.all().contains(PASSWORD), "the password never appears");
    // Reachable direct host: used first.
    p.write("gantry.toml", &config(db.pg.port));
    let r = p
        .gantry()
        .args(["migrate", "--dry-run"])
        .env("SUPABASE_DB_PASSWORD", PASSWORD)
        .run()
        .code(0);
    assert!(
        r.stderr
            .contains("database: direct host postgres@127.0.0.1:"),
        "{}",
        r.stderr
    );
    // A wrong password is not "unreachable": no fallback, exit 3.
    let r = p
        .gantry()
        .args(["migrate", "--dry-run"])
        .env("SUPABASE_DB_PASSWORD", "wrong-password")
        .run()
        .code(3);
    assert!(
        r.stderr.contains("password authentication failed"),
        "{}",
        r.stderr
    );
    // No password at all: gantry never prompts.
    let r = p.gantry().args(["migrate", "--dry-run"]).run().code(2);
    assert!(
        r.stderr.contains("SUPABASE_DB_PASSWORD is not set"),
        "{}",
        r.stderr
    );
}

/// Supabase's hosts present certificates from Supabase's own CA, which no
/// system trusts. Against a cluster that accepts only TLS, with a server
/// certificate from a CA made for the test: `sslmode=require` encrypts
/// without verifying; `verify-full` with that CA verifies and applies;
/// `verify-full` with another CA is refused (exit 3, the reason and what to
/// do) before anything is applied; skipping TLS is refused by the server.
#[test]
fn tls_to_a_server_with_its_own_ca_verifies_with_that_ca_and_refuses_another() {
    let Some(pg) = postgres_tls() else {
        return;
    };
    let tls = pg.tls.as_ref().expect("the TLS cluster has certificates");
    let db = pg.database("tls");
    let p = project(&FIVE[..1]);
    let migrate = |query: String, extra: &[&str]| {
        p.gantry()
            .env("SUPABASE_DB_URL", &format!("{}?{query}", db.url()))
            .args(["migrate"])
            .args(extra.iter().copied())
            .run()
    };
    let error = |r: &Run| {
        let text: Vec<&str> = r
            .stderr
            .lines()
            .skip_while(|l| !l.starts_with("error:"))
            .collect();
        let text = text
            .join("\n")
            .replace(&tls.other_ca.display().to_string(), "[OTHER-CA]")
            .replace(&db.name, "[DB]");
        scrub(&text, &p.path())
    };

    let r = migrate(
        format!("sslmode=verify-full&sslrootcert={}", tls.other_ca.display()),
        &[],
    )
    .code(3);
    insta::assert_snapshot!(error(&r), @r###"
    error: postgres: SUPABASE_DB_URL postgres@127.0.0.1:[PORT]/[DB]: error performing TLS handshake: invalid peer certificate: UnknownIssuer
    hint: the server's certificate did not verify against [OTHER-CA] (and the system's roots): Supabase signs it with its own CA (Database Settings → SSL → Download certificate); give that CA with sslrootcert= or [migrate] ssl-root-cert, or use sslmode=require to encrypt without verifying
    "###);
    assert!(!r.all().contains(PASSWORD), "{}", r.all());
    assert!(db.history().is_empty(), "nothing was applied");
    assert_eq!(db.sql("SELECT to_regclass('public.one') IS NULL"), "t");

    // Without TLS the server has no entry for the connection.
    let r = migrate("sslmode=disable".into(), &["--dry-run"]).code(3);
    assert!(r.stderr.contains("no pg_hba.conf entry"), "{}", r.stderr);

    let r = migrate("sslmode=require".into(), &["--dry-run"]).code(0);
    assert!(
        r.stderr.contains("(TLS (certificate not verified))"),
        "{}",
        r.stderr
    );

    let r = migrate(
        format!("sslmode=verify-full&sslrootcert={}", tls.ca.display()),
        &[],
    )
    .code(0);
    assert!(
        r.stderr.contains("(TLS (certificate verified))"),
        "{}",
        r.stderr
    );
    assert_eq!(db.versions(), ["20240101000001"]);
}

#[test]
fn the_database_password_is_masked_everywhere() {
    let Some((p, db)) = setup("masked", &FIVE[..1]) else {
        return;
    };
    let runner = Runner::new();
    let sha = p.commit("init");
    let r = p
        .gantry()
        .args(["migrate", "--db-url", &db.url()])
        .envs(runner.env("push", serde_json::json!({}), &sha))
        .run()
        .code(0);
    let masks: Vec<&str> = r
        .stdout
        .lines()
        .take_while(|l| l.starts_with("::add-mask::"))
        .collect();
    assert!(
        masks.contains(&format!("::add-mask::{PASSWORD}").as_str()),
        "{}",
        r.stdout
    );
    let after: String = r
        .stdout
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect();
    assert!(
        !after.contains(PASSWORD) && !r.stderr.contains(PASSWORD),
        "{after}"
    );
    assert!(!runner.summary().contains(PASSWORD) && !runner.state().contains(PASSWORD));
}

/// GitHub-hosted runners have no IPv6 and a project's direct host
/// `db.<ref>.supabase.co` has only IPv6 addresses (unless the IPv4 add-on):
/// gantry stops before connecting (exit 2), in a real run and a CI dry run
/// alike, naming the session pooler's URL form with the user
/// `postgres.<ref>`, and never prints the password. (The ref is made up, so
/// the host does not resolve to IPv4 anywhere.)
#[test]
fn a_direct_supabase_url_on_a_github_hosted_runner_stops_naming_the_session_pooler() {
    let p = project(&FIVE[..1]);
    let runner = Runner::new();
    let sha = p.commit("init");
    let password = "Direct-Host-Secret-9";
    let url = format!(
        "postgresql://postgres:{password}@db.gantrytestnoproject.supabase.co:5432/postgres"
    );
    for extra in [&[][..], &["--dry-run"][..]] {
        let r = p
            .gantry()
            .envs(runner.env("push", serde_json::json!({}), &sha))
            .env("RUNNER_ENVIRONMENT", "github-hosted")
            .env("SUPABASE_DB_URL", &url)
            .args(["migrate"])
            .args(extra.iter().copied())
            .run()
            .code(2);
        let errors = r.commands("::error");
        let shown = scrub(&errors.join("\n"), &p.path());
        assert!(
            shown.contains(
                "the direct host db.gantrytestnoproject.supabase.co has no IPv4 address here"
            ),
            "{shown}"
        );
        assert!(
            shown.contains("GitHub-hosted runners have no IPv6"),
            "{shown}"
        );
        assert!(
            shown.contains("postgresql://postgres.gantrytestnoproject:<password>@aws-0-<region>.pooler.supabase.com:5432/postgres"),
            "{shown}"
        );
        let leaked = r
            .all()
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .any(|l| l.contains(password));
        assert!(!leaked, "{}", r.all());
    }
}

#[test]
fn the_pipeline_runs_migrate_after_the_gates() {
    let Some((p, db)) = setup("pipeline", &FIVE[..1]) else {
        return;
    };
    p.write("gantry.toml", "[gates.ok]\nrun = \"true\"\n\n[migrate]\n");
    let doc = gantry(&p, &db)
        .args(["run", "--format", "json"])
        .run()
        .code(0)
        .json();
    assert_eq!(doc["detail"]["steps"][0]["step"], "gate");
    assert_eq!(doc["detail"]["steps"][1]["step"], "migrate");
    assert_eq!(doc["outputs"]["migrations-applied"], "20240101000001");
}

/// A `supabase/` without `migrations/` used to pass like an up-to-date
/// database; it says there is nothing to do.
#[test]
fn a_supabase_folder_without_migrations_says_there_is_nothing_to_do() {
    let Some(db) = postgres() else {
        return;
    };
    let db = db.database("no_migrations");
    let p = Project::new();
    p.write("gantry.toml", "[migrate]\n");
    p.write("supabase/config.toml", "");
    let r = migrate(&p, &db, &[]).code(0);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    nothing to do: supabase/migrations does not exist (migrations are `<version>_<name>.sql` files there)
    "###);
    // Nothing to apply, so nothing was asked of the database either.
    assert_eq!(
        db.sql("SELECT to_regclass('supabase_migrations.schema_migrations') IS NULL"),
        "t"
    );
}

/// Without gantry.toml, `migrate --db-url` applies `supabase/migrations`
/// by convention (it used to stop at "no gantry.toml").
#[test]
fn without_a_configuration_migrate_uses_the_supabase_layout() {
    let Some(db) = postgres() else {
        return;
    };
    let db = db.database("no_config");
    let p = Project::new();
    p.write("supabase/migrations/20240101000001_one.sql", FIVE[0].1);
    let r = p
        .gantry()
        .args(["migrate", "--db-url", &db.url()])
        .run()
        .code(0);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    no gantry.toml found: using defaults
    database: --db-url postgres@127.0.0.1:[PORT]/[DB] (no TLS), PostgreSQL [VERSION]
    created supabase_migrations.schema_migrations
    applying 20240101000001_one.sql (2 statement(s))
    ✓ 20240101000001_one.sql in [TIME]
    "###);
    assert_eq!(db.versions(), ["20240101000001"]);
}
