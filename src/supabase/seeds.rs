//! Seed files (`--include-seed`), tracked as the Supabase CLI tracks them.
//!
//! Facts from the CLI (`pkg/migration/seed.go`, `file.go`, `pkg/config`):
//! `[db.seed] sql_paths` are globs relative to `supabase/`, default
//! `./seed.sql`; each file is recorded in `supabase_migrations.seed_files`
//! under its path as `supabase/seed.sql` with the hex SHA-256 of its bytes;
//! a recorded seed whose hash is unchanged is skipped, and one whose hash
//! changed is not run again: only its hash is updated.

use super::split::{self, Statement};
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct SeedFile {
    /// As recorded: `supabase/seed.sql`.
    pub path: String,
    pub file: PathBuf,
    pub hash: String,
    pub sql: String,
    pub statements: Vec<Statement>,
}

/// What to do with a seed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedStatus {
    /// Never applied: run it and record it.
    New,
    /// Applied before, and changed since: record the new hash only.
    Changed,
    /// Applied, unchanged.
    Applied,
}

/// The seed files matching `patterns` (relative to `dir`), in pattern
/// order, each once. A pattern matching nothing is reported, not fatal.
pub fn find(dir: &Path, patterns: &[String]) -> Result<(Vec<SeedFile>, Vec<String>)> {
    let dir_name = dir
        .file_name()
        .map_or("supabase".into(), |n| n.to_string_lossy().into_owned());
    let mut out: Vec<SeedFile> = Vec::new();
    let mut unmatched = Vec::new();
    for pattern in patterns {
        let clean = pattern.trim_start_matches("./");
        let full = dir.join(clean);
        let mut matches: Vec<PathBuf> = glob::glob(&full.to_string_lossy())
            .map_err(|e| {
                Error::usage(
                    format!("[migrate] seeds: invalid glob `{pattern}`: {e}"),
                    None,
                )
            })?
            .flatten()
            .filter(|p| p.is_file())
            .collect();
        matches.sort();
        if matches.is_empty() {
            unmatched.push(pattern.clone());
        }
        for file in matches {
            let rel = file
                .strip_prefix(dir)
                .unwrap_or(&file)
                .to_string_lossy()
                .replace('\\', "/");
            let path = format!("{dir_name}/{rel}");
            if out.iter().any(|s| s.path == path) {
                continue;
            }
            let bytes = std::fs::read(&file).map_err(|e| {
                Error::external("filesystem", format!("cannot read {}: {e}", file.display()))
            })?;
            let hash = hex(&Sha256::digest(&bytes));
            let sql = String::from_utf8(bytes)
                .map_err(|_| Error::usage(format!("{} is not UTF-8 text", file.display()), None))?;
            out.push(SeedFile {
                path,
                file,
                hash,
                statements: split::split(&sql),
                sql,
            });
        }
    }
    Ok((out, unmatched))
}

/// Compares with the recorded hashes.
pub fn status(seed: &SeedFile, recorded: &[(String, String)]) -> SeedStatus {
    match recorded.iter().find(|(p, _)| *p == seed.path) {
        None => SeedStatus::New,
        Some((_, h)) if *h == seed.hash => SeedStatus::Applied,
        Some(_) => SeedStatus::Changed,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_recorded_under_the_supabase_directory_with_their_sha256() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("supabase");
        std::fs::create_dir_all(dir.join("seeds")).unwrap();
        std::fs::write(dir.join("seed.sql"), "").unwrap();
        std::fs::write(dir.join("seeds/b.sql"), "insert into t values (1);").unwrap();
        std::fs::write(dir.join("seeds/a.sql"), "select 1;").unwrap();
        let patterns = vec![
            "./seed.sql".into(),
            "seeds/*.sql".into(),
            "seed.sql".into(),
            "nope.sql".into(),
        ];
        let (seeds, unmatched) = find(&dir, &patterns).unwrap();
        let paths: Vec<_> = seeds.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "supabase/seed.sql",
                "supabase/seeds/a.sql",
                "supabase/seeds/b.sql"
            ]
        );
        // sha256 of the empty string.
        assert_eq!(
            seeds[0].hash,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(unmatched, ["nope.sql"]);
        let recorded = vec![
            ("supabase/seed.sql".to_string(), seeds[0].hash.clone()),
            ("supabase/seeds/a.sql".to_string(), "old".to_string()),
        ];
        assert_eq!(status(&seeds[0], &recorded), SeedStatus::Applied);
        assert_eq!(status(&seeds[1], &recorded), SeedStatus::Changed);
        assert_eq!(status(&seeds[2], &recorded), SeedStatus::New);
    }
}
