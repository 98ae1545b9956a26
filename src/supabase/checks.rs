//! Local files against the history table: what is pending, what was applied
//! but is missing here, what is older than the newest applied version, and
//! which applied files changed since (drift).
//!
//! The pending logic is the Supabase CLI's (`FindPendingMigrations` in
//! `pkg/migration/apply.go`, `--include-all` in `internal/migration/up`):
//! both lists are walked in version order; a remote version without a local
//! file is "missing locally"; a local file older than a remote version it
//! does not match is "out of order", applied only with `--include-all`.

use super::files::MigrationFile;

/// A row of `supabase_migrations.schema_migrations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub version: String,
    pub name: String,
    /// `None` for rows written without statements (old CLI versions, `repair`).
    pub statements: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Indexes into the local files, in the order they will be applied.
    pub pending: Vec<usize>,
    /// Applied versions that have no local file.
    pub missing_locally: Vec<String>,
    /// Local files older than the newest applied version (indexes).
    pub out_of_order: Vec<usize>,
    /// Applied files whose statements differ from those recorded.
    pub drift: Vec<Drift>,
    /// Applied files whose recorded name differs (renamed files).
    pub renamed: Vec<(usize, String)>,
    /// Applied files recorded without statements: drift cannot be checked.
    pub unverifiable: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// Index into the local files.
    pub file: usize,
    /// 1-based statement numbers that differ (in either list).
    pub changed: Vec<usize>,
    pub recorded: usize,
    pub local: usize,
}

/// Compares; `applied` may come in any order.
pub fn compare(files: &[MigrationFile], applied: &[Applied], include_all: bool) -> Comparison {
    let mut remote: Vec<&Applied> = applied.iter().collect();
    remote.sort_by(|a, b| a.version.cmp(&b.version));
    let mut c = Comparison::default();
    let (mut i, mut j) = (0, 0);
    while i < remote.len() && j < files.len() {
        let (r, l) = (&remote[i].version, &files[j].version);
        match r.cmp(l) {
            std::cmp::Ordering::Equal => {
                check_drift(&mut c, j, &files[j], remote[i]);
                i += 1;
                j += 1;
            }
            std::cmp::Ordering::Less => {
                c.missing_locally.push(r.clone());
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                c.out_of_order.push(j);
                j += 1;
            }
        }
    }
    if j == files.len() {
        c.missing_locally
            .extend(remote[i..].iter().map(|a| a.version.clone()));
    }
    // Out-of-order files are applied first (they are older), then the rest.
    if c.out_of_order.is_empty() || include_all {
        c.pending = c
            .out_of_order
            .iter()
            .copied()
            .chain(j..files.len())
            .collect();
    }
    c
}

fn check_drift(c: &mut Comparison, index: usize, file: &MigrationFile, row: &Applied) {
    if row.name != file.name {
        c.renamed.push((index, row.name.clone()));
    }
    let Some(recorded) = &row.statements else {
        c.unverifiable.push(index);
        return;
    };
    let local = file.texts();
    if *recorded == local {
        return;
    }
    let changed = (0..recorded.len().max(local.len()))
        .filter(|&k| recorded.get(k) != local.get(k))
        .map(|k| k + 1)
        .collect();
    c.drift.push(Drift {
        file: index,
        changed,
        recorded: recorded.len(),
        local: local.len(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supabase::split;

    fn file(version: &str, sql: &str) -> MigrationFile {
        MigrationFile {
            version: version.into(),
            name: format!("m{version}"),
            file_name: format!("{version}_m{version}.sql"),
            path: format!("{version}_m{version}.sql").into(),
            sql: sql.into(),
            statements: split::split(sql),
            no_transaction: false,
        }
    }

    fn applied(f: &MigrationFile) -> Applied {
        Applied {
            version: f.version.clone(),
            name: f.name.clone(),
            statements: Some(f.texts()),
        }
    }

    #[test]
    fn files_after_the_applied_ones_are_pending() {
        let files = [file("1", "a"), file("2", "b"), file("3", "c")];
        let c = compare(&files, &[applied(&files[0])], false);
        assert_eq!(c.pending, [1, 2]);
        assert!(c.missing_locally.is_empty() && c.out_of_order.is_empty() && c.drift.is_empty());
        let all: Vec<_> = files.iter().map(applied).collect();
        assert!(compare(&files, &all, false).pending.is_empty());
    }

    #[test]
    fn applied_versions_without_a_file_are_missing_locally() {
        let files = [file("1", "a"), file("3", "c")];
        let remote = [
            applied(&files[0]),
            applied(&file("2", "b")),
            applied(&file("4", "d")),
        ];
        let c = compare(&files, &remote, true);
        assert_eq!(c.missing_locally, ["2", "4"]);
    }

    #[test]
    fn older_unapplied_files_are_out_of_order_unless_included() {
        let files = [
            file("1", "a"),
            file("2", "b"),
            file("3", "c"),
            file("4", "d"),
        ];
        let remote = [applied(&files[0]), applied(&files[2])];
        let c = compare(&files, &remote, false);
        assert_eq!(c.out_of_order, [1]);
        assert!(c.pending.is_empty());
        let c = compare(&files, &remote, true);
        assert_eq!(c.pending, [1, 3]);
    }

    #[test]
    fn changed_statements_are_drift_and_missing_statements_unverifiable() {
        let files = [file("1", "a; b;"), file("2", "c"), file("3", "d")];
        let mut remote: Vec<_> = files.iter().map(applied).collect();
        remote[0].statements = Some(vec!["a".into(), "B".into(), "x".into()]);
        remote[1].statements = None;
        remote[2].name = "old_name".into();
        let c = compare(&files, &remote, false);
        assert_eq!(
            c.drift,
            [Drift {
                file: 0,
                changed: vec![2, 3],
                recorded: 3,
                local: 2
            }]
        );
        assert_eq!(c.unverifiable, [1]);
        assert_eq!(c.renamed, [(2, "old_name".to_string())]);
    }
}
