//! Real services for the tests: the Docker Engine (with a base image made by
//! `docker import`, since nothing can be pulled), a CNCF distribution
//! registry with htpasswd auth, and moto for the AWS APIs. Each starts on a
//! free port in a temp dir and stops when dropped.

use super::test_path;
use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Fails in CI, records the test as skipped elsewhere.
pub fn missing(what: &str) -> bool {
    super::skip(&format!("{what} is not available; run scripts/setup"));
    false
}

/// Whether the Docker Engine answers.
pub fn docker_available() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        Command::new("docker")
            .args(["version", "--format", "{{.Server.Version}}"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }) || missing("the Docker Engine")
}

/// Runs `docker <args>` and returns stdout; panics with stderr on failure.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A base image with busybox as `/bin/sh` and friends, made once per test
/// run with `docker import` from Debian's busybox-static.
pub fn busybox_image() -> &'static str {
    const NAME: &str = "gantry-test/busybox:1";
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        if Command::new("docker")
            .args(["image", "inspect", NAME])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            return;
        }
        let bytes = busybox_rootfs();
        let mut child = Command::new("docker")
            .args(["import", "-", NAME])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&bytes).unwrap();
        assert!(child.wait().unwrap().success(), "docker import failed");
    });
    NAME
}

/// A tiny root filesystem (tar) with Debian's static busybox as `/bin/sh`
/// and a few commands, for `docker import`.
pub fn busybox_rootfs() -> Vec<u8> {
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .expect("busybox-static is installed (scripts/setup)");
    let mut tar = tar::Builder::new(Vec::new());
    tar.append_path_with_name(busybox, "bin/busybox").unwrap();
    for cmd in [
        "sh", "echo", "cat", "ls", "true", "false", "mkdir", "touch", "env", "sleep", "test", "wc",
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        tar.append_link(&mut h, format!("bin/{cmd}"), "busybox")
            .unwrap();
    }
    tar.into_inner().unwrap()
}

/// Files every container has, put there by the engine rather than the image.
const RUNTIME_FILES: &[&str] = &[
    ".dockerenv",
    "dev/console",
    "etc/hostname",
    "etc/hosts",
    "etc/mtab",
    "etc/resolv.conf",
];

/// How a test runs `docker` against one engine (the system's, or the second
/// engine of `dockerd.rs`): the command for `args`, not yet run.
pub type DockerCommand<'a> = &'a dyn Fn(&[&str]) -> Command;

/// `docker <args>` on the system engine.
pub fn system_docker(args: &[&str]) -> Command {
    let mut c = Command::new("docker");
    c.args(args);
    c
}

/// Runs a `docker` command; its stdout, trimmed; panics with stderr.
fn run_docker(docker: DockerCommand, args: &[&str]) -> String {
    let out = docker(args).output().expect("docker runs");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// An image's file system as `docker export` writes it: no container
/// runs, so nothing it would print can be lost.
fn export(docker: DockerCommand, image: &str) -> Vec<u8> {
    let container = run_docker(docker, &["create", image, "/nothing"]);
    let out = docker(&["export", &container]).output().unwrap();
    run_docker(docker, &["rm", "-f", &container]);
    out.stdout
}

/// The files and links (not directories) inside an image, without the
/// files the engine adds to every container.
pub fn files_in(docker: DockerCommand, image: &str) -> Vec<String> {
    let tar = export(docker, image);
    let mut archive = tar::Archive::new(tar.as_slice());
    let mut files: Vec<String> = archive
        .entries()
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let kind = e.header().entry_type();
            let path = e.path().ok()?.display().to_string();
            (kind.is_file() || kind.is_symlink())
                .then_some(path)
                .filter(|p| !RUNTIME_FILES.contains(&p.as_str()))
        })
        .collect();
    files.sort();
    files
}

/// [`files_in`] an image of the system engine.
pub fn image_files(image: &str) -> Vec<String> {
    files_in(&system_docker, image)
}

/// A file's text inside an image, trimmed.
pub fn read_in(docker: DockerCommand, image: &str, path: &str) -> String {
    let tar = export(docker, image);
    let mut archive = tar::Archive::new(tar.as_slice());
    let wanted = path.trim_start_matches('/');
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_string_lossy() == wanted {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
            return text.trim().to_string();
        }
    }
    panic!("{path} is not in {image}");
}

/// An image's label `key` (empty when it has none).
pub fn label_in(docker: DockerCommand, image: &str, key: &str) -> String {
    run_docker(
        docker,
        &[
            "image",
            "inspect",
            "--format",
            &format!("{{{{index .Config.Labels \"{key}\"}}}}"),
            image,
        ],
    )
}

/// Removes every image of `repository`, whatever its tags.
pub fn remove_images(docker: DockerCommand, repository: &str) {
    let ids = run_docker(docker, &["images", "-q", repository]);
    for id in ids.lines().collect::<std::collections::BTreeSet<_>>() {
        let _ = docker(&["rmi", "-f", id]).output();
    }
}

/// Writes the configuration of a distribution registry listening on
/// 127.0.0.1:`port` with its storage in `dir` (deletes allowed) and, for
/// `user`, an htpasswd file; returns the configuration file.
pub fn registry_config(dir: &std::path::Path, port: u16, user: Option<(&str, &str)>) -> PathBuf {
    let mut config = format!(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
        dir.join("data").display()
    );
    if let Some((name, password)) = user {
        let out = Command::new("htpasswd")
            .args(["-Bbn", name, password])
            .output()
            .expect("htpasswd (apache2-utils) runs");
        std::fs::write(dir.join("htpasswd"), out.stdout).unwrap();
        config.push_str(&format!(
            "auth:\n  htpasswd:\n    realm: gantry-test\n    path: {}\n",
            dir.join("htpasswd").display()
        ));
    }
    let path = dir.join("config.yml");
    std::fs::write(&path, config).unwrap();
    path
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_for_port(port: u16, child: &mut Child, what: &str) {
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on port {port} within 30 s");
}

/// A local registry (`docker-registry` from Debian), optionally with one
/// htpasswd user.
pub struct Registry {
    pub host: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Registry {
    pub fn start(user: Option<(&str, &str)>) -> Option<Registry> {
        if which("docker-registry").is_none() {
            missing("docker-registry");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config_path = registry_config(dir.path(), port, user);
        let mut child = Command::new("docker-registry")
            .args(["serve", config_path.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(port, &mut child, "docker-registry");
        Some(Registry {
            host: format!("127.0.0.1:{port}"),
            child,
            _dir: dir,
        })
    }

    /// The registry's own digest for `repo:tag` (`Docker-Content-Digest`).
    pub fn manifest_digest(
        &self,
        repo: &str,
        tag: &str,
        user: Option<(&str, &str)>,
    ) -> Option<String> {
        let mut args = vec![
            "-sfI".to_string(),
            "-H".into(),
            "Accept: application/vnd.docker.distribution.manifest.v2+json".into(),
        ];
        if let Some((u, p)) = user {
            args.extend(["-u".into(), format!("{u}:{p}")]);
        }
        args.push(format!("http://{}/v2/{repo}/manifests/{tag}", self.host));
        let out = Command::new("curl").args(&args).output().ok()?;
        String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("docker-content-digest")
                .then(|| v.trim().to_string())
        })
    }
}

impl Registry {
    /// Stops the registry: from now on every request to it fails.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// moto's server standing in for the AWS APIs.
pub struct Moto {
    pub endpoint: String,
    child: Child,
}

impl Moto {
    pub fn start() -> Option<Moto> {
        let Some(bin) = which("moto_server") else {
            missing("moto_server");
            return None;
        };
        let port = free_port();
        let mut child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(port, &mut child, "moto_server");
        Some(Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
        })
    }

    /// The environment the AWS SDK needs to talk to this moto.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing-secret-key"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&test_path())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
