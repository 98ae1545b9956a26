//! The migration files of `supabase/migrations/`, found and ordered as the
//! Supabase CLI finds and orders them.
//!
//! Facts from the CLI (`pkg/migration/list.go`, `file.go`): a file is a
//! migration when its name matches `^([0-9]+)_(.*)\.sql$` (version, name);
//! other entries are skipped with a warning; the directory is read in file
//! name order (byte order); a first file `<14 digits>_init.sql` older than
//! 20211209000000 is skipped (the CLI's legacy initial schema); a missing
//! directory holds no migrations.
//!
//! One difference: the CLI warns about every other name, dotfiles included;
//! gantry skips dotfiles (`.keep`, `.gitkeep`: placeholders that keep an
//! empty folder in git) silently, since no one means them as migrations.

use super::split::{self, Statement};
use super::txn;
use crate::error::{Error, Result};
use regex::Regex;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// A first line that makes a file run statement by statement, outside a
/// transaction (`CREATE INDEX CONCURRENTLY` cannot run inside one).
pub const NO_TRANSACTION: &str = "-- gantry:no-transaction";

static MIGRATION_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([0-9]+)_(.*)\.sql$").expect("valid regex"));
static LEGACY_INIT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([0-9]{14})_init\.sql").expect("valid regex"));

#[derive(Debug, Clone)]
pub struct MigrationFile {
    pub version: String,
    pub name: String,
    /// `20240101120000_create_projects.sql`.
    pub file_name: String,
    pub path: PathBuf,
    pub sql: String,
    pub statements: Vec<Statement>,
    /// Marked `-- gantry:no-transaction` on its first line.
    pub no_transaction: bool,
}

impl MigrationFile {
    pub fn parse(path: &Path, file_name: &str, version: &str, name: &str) -> Result<Self> {
        let sql = std::fs::read_to_string(path).map_err(|e| {
            Error::external("filesystem", format!("cannot read {}: {e}", path.display()))
        })?;
        let no_transaction = sql.lines().next().map(str::trim_end) == Some(NO_TRANSACTION);
        Ok(MigrationFile {
            version: version.to_string(),
            name: name.to_string(),
            file_name: file_name.to_string(),
            path: path.to_path_buf(),
            statements: split::split(&sql),
            sql,
            no_transaction,
        })
    }

    /// The statements' texts, as the history table records them.
    pub fn texts(&self) -> Vec<String> {
        self.statements.iter().map(|s| s.text.clone()).collect()
    }

    /// How its own transaction control is handled (no-transaction files run
    /// as written).
    pub fn txn_plan(&self) -> txn::Plan {
        if self.no_transaction {
            txn::Plan::Plain
        } else {
            txn::plan(&self.statements)
        }
    }
}

/// An entry of the directory that is not a migration, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub file_name: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Listing {
    pub files: Vec<MigrationFile>,
    pub skipped: Vec<Skipped>,
}

/// Reads `dir` (usually `supabase/migrations`).
pub fn list(dir: &Path) -> Result<Listing> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Listing::default()),
        Err(e) => {
            return Err(Error::external(
                "filesystem",
                format!("cannot read {}: {e}", dir.display()),
            ));
        }
    };
    let mut names: Vec<(String, bool)> = Vec::new();
    let mut listing = Listing::default();
    for entry in entries {
        let entry = entry.map_err(|e| {
            Error::external("filesystem", format!("cannot read {}: {e}", dir.display()))
        })?;
        let is_file = entry.path().is_file();
        match entry.file_name().into_string() {
            Ok(name) => names.push((name, is_file)),
            Err(raw) => listing.skipped.push(Skipped {
                file_name: raw.to_string_lossy().into_owned(),
                reason: "the name is not UTF-8".into(),
            }),
        }
    }
    names.sort();
    for (i, (file_name, is_file)) in names.into_iter().enumerate() {
        if i == 0 && is_legacy_init(&file_name) {
            listing.skipped.push(Skipped {
                file_name,
                reason: "a legacy `<timestamp>_init.sql` schema, skipped as the Supabase CLI skips it (rename it to apply it)".into(),
            });
            continue;
        }
        // After the legacy check, so `i` counts what the CLI counts: a
        // `.keep` listed first means the CLI applies a legacy init file.
        if file_name.starts_with('.') {
            continue;
        }
        let Some(caps) = MIGRATION_NAME.captures(&file_name) else {
            listing.skipped.push(Skipped {
                reason: "the name must match `<version>_<name>.sql`, the version being digits"
                    .into(),
                file_name,
            });
            continue;
        };
        if !is_file {
            listing.skipped.push(Skipped {
                file_name,
                reason: "not a file".into(),
            });
            continue;
        }
        let (version, name) = (caps[1].to_string(), caps[2].to_string());
        listing.files.push(MigrationFile::parse(
            &dir.join(&file_name),
            &file_name,
            &version,
            &name,
        )?);
    }
    Ok(listing)
}

fn is_legacy_init(file_name: &str) -> bool {
    LEGACY_INIT
        .captures(file_name)
        .and_then(|c| c[1].parse::<u64>().ok())
        .is_some_and(|ts| ts < 20_211_209_000_000)
}

/// Versions used by more than one file: the history table's primary key
/// would reject the second one half-way through a run.
pub fn duplicate_versions(files: &[MigrationFile]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for f in files {
        match out.iter_mut().find(|(v, _)| *v == f.version) {
            Some((_, names)) => names.push(f.file_name.clone()),
            None => out.push((f.version.clone(), vec![f.file_name.clone()])),
        }
    }
    out.retain(|(_, names)| names.len() > 1);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, sql) in files {
            std::fs::write(dir.path().join(name), sql).unwrap();
        }
        dir
    }

    #[test]
    fn migrations_are_listed_in_file_name_order_and_others_skipped() {
        let dir = dir_with(&[
            ("20240102000000_b.sql", "select 2;"),
            ("20240101000000_a.sql", "select 1; select 11;"),
            ("README.md", "x"),
            ("abc_x.sql", "x"),
            ("20240103000000_c.SQL", "x"),
            ("9_short.sql", "select 9"),
            (".keep", ""),
            (".gitkeep", ""),
        ]);
        std::fs::create_dir(dir.path().join("20240104000000_dir.sql")).unwrap();
        let l = list(dir.path()).unwrap();
        let versions: Vec<_> = l.files.iter().map(|f| f.version.as_str()).collect();
        // Byte order, as the CLI's fs.ReadDir: "9_…" sorts after "2024…".
        assert_eq!(versions, ["20240101000000", "20240102000000", "9"]);
        assert_eq!(l.files[0].name, "a");
        assert_eq!(l.files[0].statements.len(), 2);
        let skipped: Vec<_> = l.skipped.iter().map(|s| s.file_name.as_str()).collect();
        assert_eq!(
            skipped,
            [
                "20240103000000_c.SQL",
                "20240104000000_dir.sql",
                "README.md",
                "abc_x.sql"
            ]
        );
    }

    #[test]
    fn a_missing_directory_holds_no_migrations() {
        let dir = tempfile::tempdir().unwrap();
        assert!(list(&dir.path().join("nope")).unwrap().files.is_empty());
    }

    #[test]
    fn the_legacy_init_file_is_skipped_only_when_first() {
        let dir = dir_with(&[
            ("20211208000000_init.sql", "x"),
            ("20220101000000_a.sql", "x"),
        ]);
        let l = list(dir.path()).unwrap();
        assert_eq!(l.files.len(), 1);
        assert!(l.skipped[0].reason.contains("legacy"));
        let dir = dir_with(&[("20220101000000_init.sql", "x")]);
        assert_eq!(list(dir.path()).unwrap().files.len(), 1);
    }

    #[test]
    fn the_no_transaction_marker_is_read_from_the_first_line_only() {
        let dir = dir_with(&[
            (
                "1_a.sql",
                "-- gantry:no-transaction\r\ncreate index concurrently i on t (a);",
            ),
            ("2_b.sql", "select 1;\n-- gantry:no-transaction\n"),
        ]);
        let l = list(dir.path()).unwrap();
        assert!(l.files[0].no_transaction);
        assert!(!l.files[1].no_transaction);
    }

    #[test]
    fn duplicate_versions_are_found() {
        let dir = dir_with(&[("1_a.sql", ""), ("1_b.sql", ""), ("2_c.sql", "")]);
        let l = list(dir.path()).unwrap();
        assert_eq!(
            duplicate_versions(&l.files),
            [(
                "1".to_string(),
                vec!["1_a.sql".to_string(), "1_b.sql".to_string()]
            )]
        );
    }
}
