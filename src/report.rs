//! What a step reports back: its verdict, its plan and its details.

use crate::plan::Plan;
use crate::settings::config::Step;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// Whether the pipeline may go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Passed,
    /// The pipeline said no: exit 1.
    Failed,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::Failed => "failed",
        }
    }
}

/// The result of one step.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub step: Step,
    pub verdict: Verdict,
    pub dry_run: bool,
    /// Remote changes: made, or (in a dry run) that would be made.
    pub plan: Plan,
    /// Step outputs: written to `$GITHUB_OUTPUT` and the pipeline state.
    pub outputs: IndexMap<String, String>,
    /// Step-specific details for the JSON document.
    pub detail: serde_json::Value,
}
