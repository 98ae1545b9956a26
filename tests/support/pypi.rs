//! A real package index for `gantry publish`: pypiserver (from PyPI, pinned
//! in tests/requirements.txt) on a free port, uploads allowed to `__token__`
//! with one token, checked through an htpasswd file (apr1 hashes, which
//! passlib verifies without bcrypt).

use super::require_tool;
use super::services::free_port;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct PypiServer {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl PypiServer {
    /// Starts pypiserver accepting uploads from `__token__` with `token`.
    pub fn start(token: &str) -> Option<PypiServer> {
        let server = require_tool("pypi-server")?;
        let htpasswd = require_tool("htpasswd")?;
        let dir = tempfile::tempdir().unwrap();
        let packages = dir.path().join("packages");
        std::fs::create_dir_all(&packages).unwrap();
        let passwords = dir.path().join("htpasswd");
        let out = Command::new(htpasswd)
            .args(["-b", "-c", "-m"])
            .arg(&passwords)
            .args(["__token__", token])
            .output()
            .expect("htpasswd runs");
        assert!(
            out.status.success(),
            "htpasswd: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let child = Command::new(server)
            .args(["run", "-i", "127.0.0.1", "-p", &port.to_string()])
            .args(["-a", "update", "-P"])
            .arg(&passwords)
            .arg(&packages)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.path().join("server.log")).unwrap(),
            ))
            .spawn()
            .expect("pypi-server starts");
        let s = PypiServer { child, port, dir };
        for _ in 0..300 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("pypiserver did not listen on {port}:\n{}", s.log());
    }

    /// The upload URL (pypiserver takes uploads at its root).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The simple index for pip.
    pub fn simple(&self) -> String {
        format!("http://127.0.0.1:{}/simple/", self.port)
    }

    /// File names the index holds.
    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path().join("packages"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for PypiServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
