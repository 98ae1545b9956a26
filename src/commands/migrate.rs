//! stub
use super::Session;
use crate::cli::{MigrateArgs, MigrateOptions};
use crate::error::Result;
use crate::report::{StepReport, Verdict};
pub fn cmd_migrate(_args: &MigrateArgs, _session: &Session) -> Result<Verdict> { todo!() }
pub fn execute(_session: &Session, _o: &MigrateOptions) -> Result<StepReport> { todo!() }
