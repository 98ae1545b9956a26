//! Cancelling gantry (SIGINT from Ctrl-C, SIGTERM from a CI cancel) stops
//! every gate's process tree, starts nothing new, writes the summary and the
//! state, and exits 130/143; a second signal kills at once. Checked with real
//! processes and `ps`.

use crate::support::{Project, Run};
use std::path::Path;
use std::time::Duration;

/// A `sleep` argument no other process on the machine uses, to find ours with `ps`.
fn unique_sleep() -> String {
    let n = 100_000 + (u64::from(std::process::id()) * 7919 + rand_ish()) % 800_000;
    format!("{n}")
}

fn rand_ish() -> u64 {
    u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos(),
    )
}

/// Processes whose command line holds `needle`.
fn processes_with(needle: &str) -> Vec<String> {
    let out = std::process::Command::new("ps")
        .args(["-eo", "pid,stat,args"])
        .output()
        .expect("ps runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(needle) && !l.contains(" Z "))
        .map(str::to_string)
        .collect()
}

/// Whatever a failed assertion leaves running (gantry, the gates' sleeps)
/// is killed when the test ends, by pid.
struct Cleanup {
    /// Until gantry has been waited for (then its pid may be reused).
    gantry: Option<i32>,
    needle: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        // SAFETY: kill(2) on processes this test started.
        if let Some(pid) = self.gantry {
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        for line in processes_with(&self.needle) {
            if let Some(pid) = line.split_whitespace().next().and_then(|p| p.parse().ok()) {
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

fn wait_for(path: &Path) {
    for _ in 0..1200 {
        if path.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} never appeared", path.display());
}

/// Two gates, each a small process tree (a shell, two sleeps in the
/// background, one in the foreground); one at a time, so a third waits.
fn project(secs: &str, trap: bool) -> Project {
    let p = Project::new();
    let trap = if trap { "trap '' TERM; " } else { "" };
    let gate = |name: &str| {
        format!(
            "[gates.{name}]\nrun = \"{trap}sleep {secs} & sleep {secs} & touch started-{name}; sleep {secs}; wait\"\n\n"
        )
    };
    p.write(
        "gantry.toml",
        &format!("{}{}{}", gate("first"), gate("second"), gate("third")),
    );
    p.commit("init");
    p
}

fn cancel_with(sig: i32, expected: i32) {
    let secs = unique_sleep();
    let p = project(&secs, false);
    let child = p.gantry().args(["gate", "--jobs", "2"]).spawn();
    let mut cleanup = Cleanup {
        gantry: Some(child.id() as i32),
        needle: format!("sleep {secs}"),
    };
    wait_for(&p.path().join("started-first"));
    wait_for(&p.path().join("started-second"));
    // Two trees of four: the shell and three sleeps each.
    assert_eq!(processes_with(&format!("sleep {secs}")).len(), 8);
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, sig) };
    let r = Run::from_child(child);
    cleanup.gantry = None;
    let r = r.code(expected);
    let left = processes_with(&format!("sleep {secs}"));
    assert!(left.is_empty(), "left behind:\n{}", left.join("\n"));
    assert!(
        !p.path().join("started-third").exists(),
        "a new gate started"
    );
    let name = if sig == libc::SIGINT {
        "SIGINT"
    } else {
        "SIGTERM"
    };
    let all = r.all();
    assert!(all.contains(&format!("cancelled by {name}")), "{all}");
    assert!(all.contains(&format!("cancelled ({name})")), "{all}");
    let state = p.read(".gantry/state.json");
    assert!(
        state.contains(&format!("\"cancelled\": \"{name}\"")),
        "{state}"
    );
}

#[test]
fn sigint_stops_every_gate_tree_and_exits_130() {
    cancel_with(libc::SIGINT, 130);
}

#[test]
fn sigterm_stops_every_gate_tree_and_exits_143() {
    cancel_with(libc::SIGTERM, 143);
}

#[test]
fn a_second_sigint_kills_gates_that_ignore_sigterm_at_once() {
    let secs = unique_sleep();
    let p = project(&secs, true);
    let child = p.gantry().args(["gate", "--jobs", "2"]).spawn();
    let mut cleanup = Cleanup {
        gantry: Some(child.id() as i32),
        needle: format!("sleep {secs}"),
    };
    wait_for(&p.path().join("started-first"));
    wait_for(&p.path().join("started-second"));
    let pid = child.id() as i32;
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(pid, libc::SIGINT) };
    std::thread::sleep(Duration::from_millis(200));
    unsafe { libc::kill(pid, libc::SIGINT) };
    let r = Run::from_child(child);
    cleanup.gantry = None;
    r.code(130);
    let left = processes_with(&format!("sleep {secs}"));
    assert!(left.is_empty(), "left behind:\n{}", left.join("\n"));
}
