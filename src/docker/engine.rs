//! Connecting to the Docker Engine, with errors that say what to do.

use crate::error::{Error, Result};
use bollard::Docker;

/// The socket the engine listens on when `DOCKER_HOST` is not set.
const DEFAULT_SOCKET: &str = "/var/run/docker.sock";
/// Seconds an engine call may take; builds and pushes stream, so this bounds silence, not work.
const TIMEOUT_SECS: u64 = 3600;

/// Connects to `docker_host` (`unix://…` or `tcp://…`, default the local
/// socket), checks the engine answers, and agrees on an API version.
pub async fn connect(docker_host: Option<&str>) -> Result<Docker> {
    let host = docker_host.unwrap_or(DEFAULT_SOCKET);
    let connected = if let Some(addr) = host
        .strip_prefix("tcp://")
        .or_else(|| host.strip_prefix("http://"))
    {
        Docker::connect_with_http(addr, TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
    } else {
        let path = host.strip_prefix("unix://").unwrap_or(host);
        Docker::connect_with_unix(path, TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
    };
    let docker = connected.map_err(|e| unreachable(host, &e.to_string()))?;
    docker
        .ping()
        .await
        .map_err(|e| unreachable(host, &e.to_string()))?;
    // The engine may be older than bollard's default API version (Debian's
    // 20.10 speaks 1.41): talk the highest version both know.
    docker
        .negotiate_version()
        .await
        .map_err(|e| unreachable(host, &e.to_string()))
}

fn unreachable(host: &str, detail: &str) -> Error {
    Error::external("Docker", format!("the engine at {host} does not answer: {detail}")).with_hint(
        "start Docker (or set DOCKER_HOST to where it listens) and check that this user may use its socket",
    )
}

/// The engine's own message from a bollard error, without bollard's wrapping.
pub fn message(e: &bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        bollard::errors::Error::DockerStreamError { error } => error.clone(),
        other => other.to_string(),
    }
}
