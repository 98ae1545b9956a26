//! Waiting for a child process with a deadline: the one loop the gates,
//! Trivy and git share.
//!
//! `std::process::Child::wait` cannot time out, so the child is polled with
//! `try_wait`, quickly at first (most commands gantry runs are short) and
//! less often later. A child whose stdout or stderr is a pipe must have it
//! read while it runs (see [`read_in_background`]): a full pipe blocks the
//! child, which then never exits and is killed at the deadline.

use std::io::Read;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    Exited(ExitStatus),
    /// The deadline passed; the child is still running.
    TimedOut,
    /// A signal asked gantry to stop (only when the wait was cancellable);
    /// the child is still running.
    Cancelled(i32),
}

/// Polls at first this often…
const FIRST_POLL: Duration = Duration::from_millis(5);
/// …and, doubling, at most this often.
const MAX_POLL: Duration = Duration::from_millis(50);

/// Waits until the child exits or `deadline` passes, or (`cancellable`) a
/// cancel is requested ([`crate::cancel::requested`]); calls `tick` between
/// polls (a spinner). The caller decides what to do with a child still running.
pub fn wait(
    child: &mut Child,
    deadline: Instant,
    cancellable: bool,
    tick: &mut dyn FnMut(),
) -> std::io::Result<Waited> {
    let mut poll = FIRST_POLL;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Waited::Exited(status));
        }
        if Instant::now() >= deadline {
            return Ok(Waited::TimedOut);
        }
        if cancellable && let Some(sig) = crate::cancel::requested() {
            return Ok(Waited::Cancelled(sig));
        }
        tick();
        std::thread::sleep(poll);
        poll = (poll * 2).min(MAX_POLL);
    }
}

/// Reads a child's pipe to the end on its own thread, so the child never
/// blocks on a full pipe while it is waited for; `join` the handle for the
/// bytes (lossily decoded).
pub fn read_in_background(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    #[test]
    fn a_child_that_writes_more_than_a_pipe_holds_is_not_stuck() {
        // 1 MiB is far more than a pipe's buffer (64 KiB on Linux): without
        // reading while waiting, the child blocks and the wait times out.
        let mut child = Command::new("sh")
            .args(["-c", "head -c 1048576 /dev/zero | tr '\\0' x"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = read_in_background(child.stdout.take().unwrap());
        let deadline = Instant::now() + Duration::from_secs(60);
        let waited = wait(&mut child, deadline, false, &mut || {}).unwrap();
        assert!(
            matches!(waited, Waited::Exited(s) if s.success()),
            "{waited:?}"
        );
        assert_eq!(out.join().unwrap().len(), 1_048_576);
    }

    #[test]
    fn a_deadline_stops_the_wait_and_leaves_the_child_to_the_caller() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let mut ticks = 0;
        let waited = wait(&mut child, Instant::now(), false, &mut || ticks += 1).unwrap();
        assert_eq!(waited, Waited::TimedOut);
        assert_eq!(ticks, 0);
        assert!(child.try_wait().unwrap().is_none(), "still running");
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
