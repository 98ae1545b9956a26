//! A second Docker Engine for the BuildKit features the system's 20.10
//! lacks: Debian trixie's dockerd 26 (fetched into `.tools/docker26` by
//! `scripts/setup-engine`) with the containerd image store, one per test run,
//! shared by the tests that need it.
//!
//! It runs in its own network namespace (`unshare --net`): `dockerd --bridge
//! none` deletes any `docker0` in its namespace at start-up, which in the
//! host's would break the system engine. Its unix socket is reachable from
//! here; what it must reach over TCP (registries) runs in its namespace too
//! (`nsenter`). It stops when the test binary exits (an `atexit` hook), and
//! a watchdog in its namespace stops it should the test binary die first.

use super::services::{busybox_rootfs, free_port, missing, registry_config, which};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The running second engine.
pub struct Engine26 {
    /// `DOCKER_HOST` for it.
    pub host: String,
    dir: PathBuf,
    /// A process in its network namespace (the watchdog shell).
    ns_pid: u32,
    root: PathBuf,
}

/// The base image with busybox, as on the system engine.
pub const BUSYBOX: &str = "gantry-test/busybox:1";

/// Engines to stop at exit: their directory and namespace process.
static RUNNING: Mutex<Vec<(PathBuf, Child)>> = Mutex::new(Vec::new());

fn tools() -> PathBuf {
    super::repo_root().join(".tools/docker26/root")
}

/// The engine with its classic image store (overlay2), started on first
/// use; `None` (skipped, or failed in CI) when it is not installed.
pub fn engine26() -> Option<&'static Engine26> {
    static ENGINE: OnceLock<Option<Engine26>> = OnceLock::new();
    start_once(&ENGINE, false)
}

/// The engine with the containerd image store (what multi-platform images
/// and cache export need, and where the Engine API's tar-context BuildKit
/// builds are broken: moby/moby#47717).
pub fn engine26_containerd() -> Option<&'static Engine26> {
    static ENGINE: OnceLock<Option<Engine26>> = OnceLock::new();
    start_once(&ENGINE, true)
}

fn start_once(
    cell: &'static OnceLock<Option<Engine26>>,
    containerd_store: bool,
) -> Option<&'static Engine26> {
    let engine = cell.get_or_init(|| {
        let root = tools();
        if !root.join("usr/sbin/dockerd").is_file() {
            return None;
        }
        if which("unshare").is_none() || which("nsenter").is_none() || which("runc").is_none() {
            return None;
        }
        Some(Engine26::start(root, containerd_store))
    });
    if let Some(e) = engine {
        Some(e)
    } else {
        missing("the Docker 26 engine (.tools/docker26: run scripts/setup)");
        None
    }
}

extern "C" fn stop_at_exit() {
    let running: Vec<(PathBuf, Child)> = match RUNNING.lock() {
        Ok(mut r) => r.drain(..).collect(),
        Err(_) => return,
    };
    for (dir, unshare) in running {
        stop(&dir, unshare);
    }
}

/// Stops dockerd (its watchdog shell and `unshare` then exit) and removes
/// its directory.
fn stop(dir: &std::path::Path, mut unshare: Child) {
    if let Ok(pid) = std::fs::read_to_string(dir.join("dockerd.pid"))
        && let Ok(pid) = pid.trim().parse::<i32>()
    {
        // SAFETY: signalling a process id we started.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    let until = Instant::now() + Duration::from_secs(30);
    while matches!(unshare.try_wait(), Ok(None)) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = std::fs::remove_dir_all(dir);
}

impl Engine26 {
    fn start(root: PathBuf, containerd_store: bool) -> Engine26 {
        let dir = tempfile::Builder::new()
            .prefix("gantry-d26-")
            .tempdir()
            .unwrap()
            .keep();
        std::fs::write(
            dir.join("daemon.json"),
            format!(r#"{{"features": {{"containerd-snapshotter": {containerd_store}}}}}"#),
        )
        .unwrap();
        let d = dir.display();
        let r = root.display();
        // The watchdog: dockerd stops when this test binary is gone.
        let script = format!(
            "ip link set lo up && echo $$ > {d}/ns.pid && \
             PATH={r}/usr/sbin:{r}/usr/bin:$PATH {r}/usr/sbin/dockerd --host unix://{d}/docker.sock \
             --data-root {d}/data --exec-root {d}/exec --pidfile {d}/dockerd.pid \
             --iptables=false --ip6tables=false --ip-masq=false --config-file {d}/daemon.json \
             >{d}/dockerd.log 2>&1 & daemon=$!; \
             while kill -0 {parent} 2>/dev/null && kill -0 $daemon 2>/dev/null; do sleep 1; done; \
             kill $daemon 2>/dev/null; wait $daemon",
            parent = std::process::id()
        );
        let unshare = Command::new("unshare")
            .args(["--net", "--fork", "--", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("unshare runs");
        let engine = Engine26 {
            host: format!("unix://{d}/docker.sock"),
            ns_pid: wait_for_file(&dir.join("ns.pid")),
            dir: dir.clone(),
            root,
        };
        let mut running = RUNNING.lock().unwrap();
        if running.is_empty() {
            // SAFETY: registering a plain function to run at exit, once.
            unsafe { libc::atexit(stop_at_exit) };
        }
        running.push((dir.clone(), unshare));
        drop(running);
        let until = Instant::now() + Duration::from_secs(90);
        while engine.try_docker(&["version"]).is_err() {
            assert!(
                Instant::now() < until,
                "dockerd 26 did not answer within 90 s: {}",
                std::fs::read_to_string(dir.join("dockerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let mut child = engine
            .command(&["import", "-", BUSYBOX])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(&busybox_rootfs())
            .unwrap();
        assert!(child.wait().unwrap().success(), "docker import failed");
        engine
    }

    /// `docker` (26) talking to this engine, with its own client config.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(self.root.join("usr/bin/docker"));
        c.args(args)
            .env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", self.dir.join("client"))
            .env_remove("DOCKER_BUILDKIT");
        c
    }

    fn try_docker(&self, args: &[&str]) -> Result<String, String> {
        let out = self.command(args).output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).to_string());
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Runs `docker <args>` on this engine; panics with stderr on failure.
    pub fn docker(&self, args: &[&str]) -> String {
        self.try_docker(args)
            .unwrap_or_else(|e| panic!("docker {args:?} (26): {e}"))
    }

    /// Runs `docker <args>` on this engine; the error text when it fails.
    pub fn docker_result(&self, args: &[&str]) -> Result<String, String> {
        self.try_docker(args)
    }

    /// This engine's network namespace, for `nsenter --net=…`: a process
    /// started there reaches the engine's BuildKit (and it reaches the
    /// process) over `127.0.0.1`.
    pub fn netns(&self) -> String {
        format!("/proc/{}/ns/net", self.ns_pid)
    }

    /// A registry inside this engine's network namespace (so the engine
    /// reaches it at `127.0.0.1:<port>`), optionally with one htpasswd user.
    pub fn registry(&self, user: Option<(&str, &str)>) -> NsRegistry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config_path = registry_config(dir.path(), port, user);
        let child = Command::new("nsenter")
            .arg(format!("--net={}", self.netns()))
            .args(["docker-registry", "serve", config_path.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let registry = NsRegistry {
            host: format!("127.0.0.1:{port}"),
            child,
            ns_pid: self.ns_pid,
            _dir: dir,
        };
        let until = Instant::now() + Duration::from_secs(30);
        while registry.get("/v2/").is_none() {
            assert!(Instant::now() < until, "the registry did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        registry
    }
}

/// A registry in the second engine's network namespace; stops when dropped.
pub struct NsRegistry {
    pub host: String,
    child: Child,
    ns_pid: u32,
    _dir: tempfile::TempDir,
}

impl NsRegistry {
    /// `curl` inside the namespace: the HTTP status and body of `path`.
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        self.get_as(path, None, &[])
    }

    pub fn get_as(
        &self,
        path: &str,
        user: Option<(&str, &str)>,
        headers: &[&str],
    ) -> Option<(u16, String)> {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/proc/{}/ns/net", self.ns_pid)).args([
            "curl",
            "-s",
            "-w",
            "\n%{http_code}",
        ]);
        if let Some((u, p)) = user {
            c.args(["-u", &format!("{u}:{p}")]);
        }
        for h in headers {
            c.args(["-H", h]);
        }
        c.arg(format!("http://{}{path}", self.host));
        let out = c.output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (body, code) = text.rsplit_once('\n')?;
        let code: u16 = code.trim().parse().ok()?;
        (code != 0).then(|| (code, body.to_string()))
    }
}

impl Drop for NsRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for_file(path: &std::path::Path) -> u32 {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        assert!(
            Instant::now() < until,
            "the namespace of dockerd 26 did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
