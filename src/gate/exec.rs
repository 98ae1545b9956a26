//! Runs one gate command: its own process group, stdout and stderr captured
//! together in order, and a timeout that kills everything it started.

use crate::process::{self, Waited};
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use std::fmt;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `run = "pytest -q"` or `run = ["pytest", "-q"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunCommand {
    Shell(String),
    Argv(Vec<String>),
}

impl RunCommand {
    pub fn display(&self) -> String {
        match self {
            RunCommand::Shell(s) => s.clone(),
            RunCommand::Argv(a) => a.join(" "),
        }
    }
}

impl<'de> Deserialize<'de> for RunCommand {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RunCommand;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a shell command string or a non-empty list of strings")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RunCommand, E> {
                if s.trim().is_empty() {
                    return Err(E::custom("`run` is empty: give the command to run"));
                }
                Ok(RunCommand::Shell(s.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RunCommand, A::Error> {
                let mut argv = Vec::new();
                while let Some(arg) = seq.next_element::<String>()? {
                    argv.push(arg);
                }
                if argv.is_empty() {
                    return Err(de::Error::custom(
                        "`run` is an empty list: give the program and its arguments",
                    ));
                }
                Ok(RunCommand::Argv(argv))
            }
        }
        d.deserialize_any(V)
    }
}

/// Output beyond this is cut from the front: the end of a log holds the failure.
const MAX_OUTPUT: u64 = 4 * 1024 * 1024;
/// Time between SIGTERM and SIGKILL on timeout.
const GRACE: Duration = Duration::from_secs(3);

pub struct Spec {
    pub command: RunCommand,
    pub dir: PathBuf,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    /// Where the whole output is kept (the capture keeps only its last
    /// `MAX_OUTPUT` bytes); `None` keeps it in an anonymous temporary file.
    pub log: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    TimedOut,
    /// Stopped (or never started) because gantry was cancelled by this signal.
    Cancelled(i32),
    /// The program could not be started at all.
    NotStarted(String),
}

impl Exit {
    pub fn success(&self) -> bool {
        *self == Exit::Code(0)
    }
}

#[derive(Debug)]
pub struct Finished {
    pub exit: Exit,
    pub output: String,
    /// Lines of the whole output, not only of the kept tail.
    pub lines: usize,
    /// The file holding the whole output, when `Spec::log` was given and written.
    pub log: Option<PathBuf>,
    pub duration: Duration,
}

pub fn run(spec: &Spec) -> Finished {
    let started = Instant::now();
    // Cancelled: start nothing new.
    if let Some(sig) = crate::cancel::requested() {
        return Finished {
            exit: Exit::Cancelled(sig),
            output: String::new(),
            lines: 0,
            log: None,
            duration: Duration::ZERO,
        };
    }
    let not_started = |msg: String| Finished {
        exit: Exit::NotStarted(msg),
        output: String::new(),
        lines: 0,
        log: None,
        duration: started.elapsed(),
    };
    let mut cmd = match &spec.command {
        RunCommand::Shell(script) => {
            let mut c = Command::new("sh");
            c.arg("-c").arg(script);
            c
        }
        RunCommand::Argv(argv) => {
            let mut c = Command::new(&argv[0]);
            c.args(&argv[1..]);
            c
        }
    };
    // One file for both streams keeps their interleaving and holds no pipe
    // open that a background grandchild could keep us waiting on.
    let named = spec.log.as_ref().and_then(|path| {
        std::fs::create_dir_all(path.parent()?).ok()?;
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .ok()
            .map(|f| (f, path.clone()))
    });
    let (log, log_path) = match named {
        Some((f, path)) => (f, Some(path)),
        None => match tempfile::tempfile() {
            Ok(f) => (f, None),
            Err(e) => return not_started(format!("cannot create a temporary file: {e}")),
        },
    };
    let (out, err) = match (log.try_clone(), log.try_clone()) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return not_started(format!("cannot capture output: {e}")),
    };
    // A command gets only the secrets it declares (they arrive in `spec.env`):
    // every other variable whose name says it holds a secret stays with
    // gantry, so a pull request's test cannot read the deploy tokens.
    for (name, _) in std::env::vars_os() {
        if let Some(name) = name.to_str()
            && crate::environment::looks_secret(name)
            && !spec.env.iter().any(|(k, _)| k == name)
        {
            cmd.env_remove(name);
        }
    }
    cmd.current_dir(&spec.dir)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        // Its own process group, so a timeout can kill the whole tree.
        .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let program = match &spec.command {
                RunCommand::Shell(_) => "sh".to_string(),
                RunCommand::Argv(a) => a[0].clone(),
            };
            return not_started(format!(
                "cannot run `{program}` in {}: {e}",
                spec.dir.display()
            ));
        }
    };
    let pgid = child.id() as i32;
    // A cancel signals the group at once, from the signal handler.
    let _registered = crate::cancel::register_group(pgid);
    let deadline = started + spec.timeout;
    let exit = match process::wait(&mut child, deadline, true, &mut || {}) {
        Ok(Waited::Exited(status)) => match (status.code(), status.signal()) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(sig)) => Exit::Signal(sig),
            _ => Exit::Code(-1),
        },
        Ok(Waited::TimedOut) => {
            terminate_group(pgid, &mut child);
            Exit::TimedOut
        }
        Ok(Waited::Cancelled(sig)) => {
            terminate_group(pgid, &mut child);
            Exit::Cancelled(sig)
        }
        Err(e) => Exit::NotStarted(format!("cannot wait for the command: {e}")),
    };
    // Whatever the command left running in its group goes with it, as a CI
    // runner ends a step's processes.
    kill_group(pgid, libc::SIGKILL);
    let (output, lines) = read_tail(log);
    Finished {
        exit,
        output,
        lines,
        log: log_path,
        duration: started.elapsed(),
    }
}

fn terminate_group(pgid: i32, child: &mut std::process::Child) {
    kill_group(pgid, libc::SIGTERM);
    // Until the leader is gone; members that ignored SIGTERM get SIGKILL below.
    let _ = process::wait(child, Instant::now() + GRACE, false, &mut || {});
    kill_group(pgid, libc::SIGKILL);
    let _ = child.wait();
}

fn kill_group(pgid: i32, signal: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; it has no
    // memory-safety preconditions. ESRCH (group already gone) is fine.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// The last `MAX_OUTPUT` bytes of the output, and how many lines the whole
/// output has (counted over the file, so "N earlier lines" is true however
/// much was cut).
fn read_tail(mut file: std::fs::File) -> (String, usize) {
    let _ = file.seek(SeekFrom::Start(0));
    let mut lines = 0;
    let mut last = b'\n';
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
                last = buf[n - 1];
            }
        }
    }
    // A last line without its newline is a line too.
    if last != b'\n' {
        lines += 1;
    }
    let len = file.seek(SeekFrom::End(0)).unwrap_or(0);
    let start = len.saturating_sub(MAX_OUTPUT);
    let _ = file.seek(SeekFrom::Start(start));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let text = if start > 0 {
        // Cut mid-line: drop the partial first line, so the tail holds whole lines.
        match text.find('\n') {
            Some(i) => text[i + 1..].to_string(),
            None => text,
        }
    } else {
        text
    };
    (text, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(command: RunCommand, timeout: Duration) -> Spec {
        Spec {
            command,
            dir: std::env::temp_dir(),
            env: vec![("GATE_VAR".into(), "from-env".into())],
            timeout,
            log: None,
        }
    }

    #[test]
    fn captures_both_streams_in_order_and_the_exit_code() {
        let f = run(&spec(
            RunCommand::Shell("echo one; echo two >&2; echo $GATE_VAR; exit 3".into()),
            Duration::from_secs(10),
        ));
        assert_eq!(f.exit, Exit::Code(3));
        assert_eq!(f.output, "one\ntwo\nfrom-env\n");
    }

    #[test]
    fn argv_commands_run_without_a_shell() {
        let f = run(&spec(
            RunCommand::Argv(vec!["echo".into(), "$HOME;".into()]),
            Duration::from_secs(10),
        ));
        assert!(f.exit.success());
        assert_eq!(f.output, "$HOME;\n");
    }

    #[test]
    fn a_missing_program_is_reported_not_panicked() {
        let f = run(&spec(
            RunCommand::Argv(vec!["gantry-no-such-program".into()]),
            Duration::from_secs(10),
        ));
        assert!(matches!(f.exit, Exit::NotStarted(m) if m.contains("gantry-no-such-program")));
    }

    #[test]
    fn timeout_kills_the_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let script = format!(
            "sleep 300 & echo $! > {}; trap '' TERM; sleep 300",
            pidfile.display()
        );
        let f = run(&spec(RunCommand::Shell(script), Duration::from_millis(500)));
        assert_eq!(f.exit, Exit::TimedOut);
        assert!(f.duration < Duration::from_secs(30));
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The background child must be gone (or a zombie awaiting init).
        let alive =
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "));
        assert!(!alive, "background process {pid} survived the timeout");
    }
}
