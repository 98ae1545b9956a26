//! What `gantry push` shows: the plan's changes and the step summary.

use super::{TagPlan, Target};
use crate::plan::{Action, Change, Plan};
use crate::report::Verdict;
use crate::settings::config::TagMutability;
use indexmap::IndexMap;

pub(super) fn to_plan(targets: &[Target]) -> Plan {
    let mut changes = Vec::new();
    for t in targets {
        if let Some(m) = t.create {
            changes.push(Change {
                action: Action::Create,
                target: format!("ECR repository {}", t.image.repository),
                summary: format!(
                    "create (scan on push, {} tags)",
                    if m == TagMutability::Immutable {
                        "immutable"
                    } else {
                        "mutable"
                    }
                ),
                diff: None,
            });
        }
        for (tag, p) in &t.tags {
            let summary = match p {
                TagPlan::New => "push (new tag)".to_string(),
                TagPlan::Unchecked => "push (registry not checked)".to_string(),
                TagPlan::Moves(d) => format!("push (tag moves from {})", short(d)),
                TagPlan::Unchanged => continue,
                TagPlan::Conflict(d) => {
                    format!("refused: immutable tag already points at {}", short(d))
                }
            };
            changes.push(Change {
                action: Action::Upload,
                target: format!("{}:{tag}", t.repository_ref),
                summary,
                diff: None,
            });
        }
    }
    Plan { changes }
}

fn short(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!("sha256:{}", hex.get(..12).unwrap_or(hex))
}

pub(super) fn markdown(
    targets: &[Target],
    digests: &IndexMap<String, String>,
    verdict: Verdict,
    dry_run: bool,
) -> String {
    let mut md = format!(
        "### gantry push: {}{}\n\n| Image | Repository | Tags | Digest |\n|---|---|---|---|\n",
        verdict.as_str(),
        if dry_run {
            " (dry run: nothing pushed)"
        } else {
            ""
        }
    );
    for t in targets {
        let tags = t
            .tags
            .iter()
            .map(|(tag, p)| match p {
                TagPlan::New | TagPlan::Moves(_) => format!("`{tag}`"),
                TagPlan::Unchecked => format!("`{tag}` (not checked)"),
                TagPlan::Unchanged => format!("`{tag}` (unchanged)"),
                TagPlan::Conflict(_) => format!("`{tag}` (immutable, refused)"),
            })
            .collect::<Vec<_>>()
            .join(" ");
        md.push_str(&format!(
            "| {} | `{}` | {tags} | {} |\n",
            t.image.name,
            t.repository_ref,
            digests
                .get(&t.image.name)
                .map_or_else(|| "-".into(), |d| format!("`{d}`"))
        ));
    }
    md.push('\n');
    md
}
