//! Which gates the changed files call for.

use crate::git;
use crate::run_context::ChangeBase;
use std::path::Path;

/// The changed files of this run, relative to the project root, or why they
/// are unknown (then every gate runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changes {
    Known { files: Vec<String>, against: String },
    Unknown { reason: String },
}

pub fn changes(project_root: &Path, base: &ChangeBase) -> Changes {
    let result = match base {
        ChangeBase::PullRequest { base, head } => {
            git::changed_between(project_root, base, head, true)
                .map(|f| (f, format!("the pull request base {}", short(base))))
        }
        ChangeBase::Push { before, head } => {
            git::changed_between(project_root, before, head, false)
                .map(|f| (f, format!("the commit before the push {}", short(before))))
        }
        ChangeBase::LastPassed { base, head } => {
            git::changed_between(project_root, base, head, false)
                .map(|f| (f, format!("the last passed commit {}", short(base))))
        }
        ChangeBase::Since { rev } => {
            git::changed_since(project_root, rev).map(|f| (f, format!("`{rev}`")))
        }
        ChangeBase::Unknown { reason } => {
            return Changes::Unknown {
                reason: reason.clone(),
            };
        }
    };
    match result {
        Ok((files, against)) => Changes::Known { files, against },
        Err(e) => Changes::Unknown {
            reason: format!(
                "cannot list the changed files ({e}); in GitHub Actions check out enough history (actions/checkout with `fetch-depth: 0`)"
            ),
        },
    }
}

/// `None` when a gate limited to `paths` (written as `patterns`) should
/// run, else why it is skipped. A gate without `paths` always runs.
pub fn skip_reason(
    paths: Option<&globset::GlobSet>,
    patterns: &[String],
    changes: &Changes,
) -> Option<String> {
    let globs = paths?;
    let Changes::Known { files, against } = changes else {
        return None;
    };
    if files.iter().any(|f| globs.is_match(f)) {
        None
    } else {
        Some(format!(
            "no changed file since {against} matches {}",
            patterns.join(", ")
        ))
    }
}

fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gate's `paths`, built as settings build them, and its patterns.
    fn gate(paths: &[&str]) -> (Option<globset::GlobSet>, Vec<String>) {
        let mut b = globset::GlobSetBuilder::new();
        for p in paths {
            b.add(
                globset::GlobBuilder::new(p)
                    .literal_separator(true)
                    .build()
                    .unwrap(),
            );
        }
        (
            (!paths.is_empty()).then(|| b.build().unwrap()),
            paths.iter().map(std::string::ToString::to_string).collect(),
        )
    }

    fn skip(gate: &(Option<globset::GlobSet>, Vec<String>), changes: &Changes) -> Option<String> {
        skip_reason(gate.0.as_ref(), &gate.1, changes)
    }

    fn known(files: &[&str]) -> Changes {
        Changes::Known {
            files: files.iter().map(std::string::ToString::to_string).collect(),
            against: "`main`".into(),
        }
    }

    #[test]
    fn double_star_crosses_directories_single_star_does_not() {
        let g = gate(&["api/**"]);
        assert_eq!(skip(&g, &known(&["api/app/main.py"])), None);
        let g = gate(&["api/*.py"]);
        assert!(skip(&g, &known(&["api/app/main.py"])).is_some());
        assert_eq!(skip(&g, &known(&["api/setup.py"])), None);
    }

    #[test]
    fn gates_without_paths_or_without_known_changes_always_run() {
        assert_eq!(skip(&gate(&[]), &known(&[])), None);
        let unknown = Changes::Unknown { reason: "x".into() };
        assert_eq!(skip(&gate(&["api/**"]), &unknown), None);
    }

    #[test]
    fn the_skip_reason_names_the_base_and_patterns() {
        let r = skip(&gate(&["api/**", "shared/**"]), &known(&["docs/x.md"])).unwrap();
        assert_eq!(r, "no changed file since `main` matches api/**, shared/**");
    }
}
