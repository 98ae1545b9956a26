//! Which gates the changed files call for.

use crate::context::ChangeBase;
use crate::git;
use crate::settings::gate::Gate;
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

/// `None` when the gate should run, else why it is skipped.
pub fn skip_reason(gate: &Gate, changes: &Changes) -> Option<String> {
    let globs = gate.paths.as_ref()?;
    let Changes::Known { files, against } = changes else {
        return None;
    };
    if files.iter().any(|f| globs.is_match(f)) {
        None
    } else {
        Some(format!(
            "no changed file since {against} matches {}",
            gate.path_patterns.join(", ")
        ))
    }
}

fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::config::RunCommand;

    fn gate(paths: &[&str]) -> Gate {
        let mut b = globset::GlobSetBuilder::new();
        for p in paths {
            b.add(
                globset::GlobBuilder::new(p)
                    .literal_separator(true)
                    .build()
                    .unwrap(),
            );
        }
        Gate {
            name: "g".into(),
            command: RunCommand::Shell("true".into()),
            dir: ".".into(),
            env: vec![],
            timeout: std::time::Duration::from_secs(1),
            paths: (!paths.is_empty()).then(|| b.build().unwrap()),
            path_patterns: paths.iter().map(|s| s.to_string()).collect(),
            junit: vec![],
            matcher: None,
            required: true,
            fail_on_no_tests: false,
        }
    }

    fn known(files: &[&str]) -> Changes {
        Changes::Known {
            files: files.iter().map(|s| s.to_string()).collect(),
            against: "`main`".into(),
        }
    }

    #[test]
    fn double_star_crosses_directories_single_star_does_not() {
        let g = gate(&["api/**"]);
        assert_eq!(skip_reason(&g, &known(&["api/app/main.py"])), None);
        let g = gate(&["api/*.py"]);
        assert!(skip_reason(&g, &known(&["api/app/main.py"])).is_some());
        assert_eq!(skip_reason(&g, &known(&["api/setup.py"])), None);
    }

    #[test]
    fn gates_without_paths_or_without_known_changes_always_run() {
        assert_eq!(skip_reason(&gate(&[]), &known(&[])), None);
        let unknown = Changes::Unknown { reason: "x".into() };
        assert_eq!(skip_reason(&gate(&["api/**"]), &unknown), None);
    }

    #[test]
    fn the_skip_reason_names_the_base_and_patterns() {
        let r = skip_reason(&gate(&["api/**", "shared/**"]), &known(&["docs/x.md"])).unwrap();
        assert_eq!(r, "no changed file since `main` matches api/**, shared/**");
    }
}
