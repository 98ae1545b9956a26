//! Cancellation: SIGINT (Ctrl-C) and SIGTERM (how a CI cancel reaches the
//! process).
//!
//! The first signal is recorded, and every registered process group (the
//! gates, which sit in their own groups where a terminal's Ctrl-C never
//! reaches them) and child (Trivy) gets SIGTERM at once. The code that runs
//! them sees [`requested`], waits its grace period, sends SIGKILL, starts
//! nothing new, and the command finishes normally: it prints which steps were
//! cancelled and writes the summary and the state, and gantry exits 128 + the
//! signal (130 for SIGINT, 143 for SIGTERM). Async work (a build on the
//! engine, a migration, a rollout being watched) races its future against
//! [`cancelled`] (the one cancellation [`token`], which the session carries)
//! and winds down in its own way: the build's connections are
//! dropped so the engine stops it, the migration's statement is cancelled and
//! its transaction rolled back, a watcher stops watching and says what state
//! it left. Whatever does not wind down in time is ended by a watchdog after
//! [`WATCHDOG_GRACE`]: the process exits, its connections close, and the
//! database rolls an open transaction back.
//!
//! A second signal kills every registered group and child with SIGKILL and
//! exits at once.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long the command may take to wind down after the first signal before
/// the watchdog ends the process.
pub const WATCHDOG_GRACE: Duration = Duration::from_secs(15);

/// The first signal received, or 0.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The write end of the pipe that tells the cancel thread a signal came
/// (writing to a pipe is async-signal-safe; waking a task is not), or -1.
static WAKE: AtomicI32 = AtomicI32::new(-1);

/// Cancelled by the cancel thread once the first signal came.
static TOKEN: LazyLock<CancellationToken> = LazyLock::new(CancellationToken::new);

/// The one cancellation token: cancelled when the first signal arrives.
pub fn token() -> CancellationToken {
    TOKEN.clone()
}

/// Kill targets, as kill(2) takes them: `-pgid` for a group, `pid` for a
/// process; 0 marks a free slot. A fixed array, because the signal handler
/// may not allocate or lock.
static TARGETS: [AtomicI32; 128] = [const { AtomicI32::new(0) }; 128];

/// Installs the handlers and the watchdog. Called once, first thing in `main`.
pub fn install() {
    let handler = on_signal as extern "C" fn(libc::c_int);
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only touches atomics and calls kill(2) and
        // _exit(2), which are async-signal-safe; the sigaction struct is
        // fully initialised (zeroed, then the handler and an empty mask).
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&raw mut action.sa_mask);
            libc::sigaction(sig, &raw const action, std::ptr::null_mut());
        }
    }
    let mut fds = [0; 2];
    // SAFETY: pipe2(2) writes two descriptors into the array it is given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == 0 {
        WAKE.store(fds[1], Ordering::SeqCst);
        std::thread::Builder::new()
            .name("gantry-cancel".into())
            .spawn(move || watchdog(fds[0]))
            .ok();
    }
}

extern "C" fn on_signal(sig: libc::c_int) {
    let first = SIGNAL
        .compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok();
    let kill_with = if first { libc::SIGTERM } else { libc::SIGKILL };
    signal_all(kill_with);
    let wake = WAKE.load(Ordering::SeqCst);
    if first && wake >= 0 {
        // SAFETY: write(2) is async-signal-safe; the byte outlives the call.
        unsafe {
            libc::write(wake, [1u8].as_ptr().cast(), 1);
        }
    }
    if !first {
        // SAFETY: _exit(2) is async-signal-safe and ends the process now.
        unsafe { libc::_exit(128 + SIGNAL.load(Ordering::SeqCst)) }
    }
}

fn signal_all(sig: libc::c_int) {
    for slot in &TARGETS {
        let target = slot.load(Ordering::SeqCst);
        if target != 0 {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe {
                libc::kill(target, sig);
            }
        }
    }
}

/// Waits for the handler's byte, cancels the token (every task waiting in
/// [`cancelled`] wakes at once), then gives the command its grace period.
fn watchdog(wake: libc::c_int) {
    let mut byte = 0u8;
    loop {
        // SAFETY: read(2) into a one-byte buffer that lives on this stack.
        match unsafe { libc::read(wake, (&raw mut byte).cast(), 1) } {
            1 => break,
            -1 if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {}
            _ => return,
        }
    }
    TOKEN.cancel();
    std::thread::sleep(WATCHDOG_GRACE);
    signal_all(libc::SIGKILL);
    std::process::exit(128 + SIGNAL.load(Ordering::SeqCst));
}

/// The signal that asked gantry to stop, if any.
pub fn requested() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}

/// Resolves once a signal asked gantry to stop: the other branch of a
/// `tokio::select!` around work that can be stopped. It waits on the
/// [`token`], which the cancel thread cancels when the handler tells it.
pub async fn cancelled() -> i32 {
    TOKEN.cancelled().await;
    SIGNAL.load(Ordering::SeqCst)
}

/// `SIGINT`, `SIGTERM` or `signal N`.
pub fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGINT => "SIGINT".into(),
        libc::SIGTERM => "SIGTERM".into(),
        n => format!("signal {n}"),
    }
}

/// A process group or child that a cancel must stop; deregistered on drop.
pub struct Registered {
    slot: Option<usize>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            TARGETS[i].store(0, Ordering::SeqCst);
        }
    }
}

/// Registers the process group `pgid` (a gate).
pub fn register_group(pgid: i32) -> Registered {
    register(-pgid)
}

/// Registers the single process `pid` (a child in gantry's own group).
pub fn register_process(pid: i32) -> Registered {
    register(pid)
}

fn register(target: i32) -> Registered {
    let slot = TARGETS.iter().position(|slot| {
        slot.compare_exchange(0, target, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    });
    // A signal that came before the slot was taken is passed on now.
    if requested().is_some() {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(target, libc::SIGTERM);
        }
    }
    Registered { slot }
}
