//! The async runtime, started only by commands that talk to remote systems
//! (the Docker Engine, AWS, PostgreSQL, registries). `gantry --version`,
//! `gate` and configuration errors never pay for it.

use crate::error::{Error, Result};
use std::future::Future;

/// Runs a future to completion on a fresh multi-threaded runtime.
pub fn block_on<F: Future>(future: F) -> Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            Error::external("runtime", format!("cannot start the async runtime: {e}"))
                .with_hint("the system is out of threads or file descriptors")
        })?;
    Ok(runtime.block_on(future))
}
