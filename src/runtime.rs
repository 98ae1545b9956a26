//! The async runtime: one per process, started the first time a command
//! talks to a remote system (the Docker Engine, AWS, PostgreSQL,
//! registries). `gantry --version`, `gate` and configuration errors never
//! pay for it; `gantry run` starts it once for every step.

use crate::error::{Error, Result};
use std::future::Future;
use std::sync::OnceLock;
use tokio::runtime::Runtime;

static RUNTIME: OnceLock<std::result::Result<Runtime, String>> = OnceLock::new();

/// Runs a future to completion on the process's runtime, starting it on
/// first use.
pub fn block_on<F: Future>(future: F) -> Result<F::Output> {
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    });
    match runtime {
        Ok(runtime) => Ok(runtime.block_on(future)),
        Err(e) => Err(
            Error::external("runtime", format!("cannot start the async runtime: {e}"))
                .with_hint("the system is out of threads or file descriptors"),
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_call_runs_on_the_same_runtime() {
        // A task spawned in one call lives on into the next: a runtime per
        // call would have dropped it, and awaiting it would say cancelled.
        let (tx, rx) = tokio::sync::oneshot::channel::<u8>();
        let task = super::block_on(async { Some(tokio::spawn(rx)) }).unwrap();
        tx.send(7).unwrap();
        let got = super::block_on(task.unwrap()).unwrap();
        assert_eq!(got.unwrap().unwrap(), 7);
    }
}
