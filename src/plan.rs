//! Plans: what a command will change, computed before anything changes.
//!
//! A command that touches remote state builds a [`Plan`] first. `--dry-run`
//! prints it and stops; a real run applies the very same plan, so what the
//! dry run shows is what CI does.

use serde::Serialize;

/// What a change does to its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
    /// Run something remote (a one-off task, a migration).
    Run,
    Upload,
}

/// What the markers in front of each change mean, printed once above a plan.
pub const LEGEND: &str = "+ create  ~ update  - delete  > run  ^ upload";

impl Action {
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Delete => "-",
            Action::Run => ">",
            Action::Upload => "^",
        }
    }
}

/// One typed change of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub action: Action,
    /// What is changed: `service prod/codewarden-api`, `migration 20240101120000`.
    pub target: String,
    /// One line saying how.
    pub summary: String,
    /// A unified diff, when the change has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// The changes one step would make, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub changes: Vec<Change>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Human rendering, one line per change with its diff below.
    pub fn render(&self) -> String {
        if self.changes.is_empty() {
            return "no remote changes".into();
        }
        let mut out = String::new();
        for c in &self.changes {
            out.push_str(&format!(
                "{} {}: {}\n",
                c.action.symbol(),
                c.target,
                c.summary
            ));
            if let Some(diff) = &c.diff {
                for line in diff.lines() {
                    out.push_str(&format!("    {line}\n"));
                }
            }
        }
        out.trim_end().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_each_change_with_its_diff() {
        let plan = Plan {
            changes: vec![
                Change {
                    action: Action::Create,
                    target: "task definition codewarden-api".into(),
                    summary: "register revision 8".into(),
                    diff: Some("-image: a\n+image: b".into()),
                },
                Change {
                    action: Action::Update,
                    target: "service prod/api".into(),
                    summary: "deploy revision 8".into(),
                    diff: None,
                },
            ],
        };
        assert_eq!(
            plan.render(),
            "+ task definition codewarden-api: register revision 8\n    -image: a\n    +image: b\n~ service prod/api: deploy revision 8"
        );
        assert_eq!(Plan::default().render(), "no remote changes");
    }
}
