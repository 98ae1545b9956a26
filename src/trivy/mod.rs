//! Trivy: running the real scanner and reading what it writes.
//!
//! gantry asks Trivy for its JSON report (SchemaVersion 2) and decides the
//! verdict itself ([`policy`]); Trivy's exit code only says whether the
//! scanner worked. Facts about the report format come from Trivy's own
//! integration test outputs (`../shared/data/trivy-reports/`).

pub mod exec;
pub mod ignore;
pub mod policy;
pub mod report;
pub mod sarif;
pub mod severity;
