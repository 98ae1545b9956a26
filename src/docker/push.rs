//! Pushing through the Docker Engine, and asking a registry (through the
//! engine's distribution endpoint) what a tag points at.

use super::engine;
use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::query_parameters::PushImageOptions;
use futures_util::StreamExt;
use regex::Regex;
use std::sync::LazyLock;

/// User name and password (or token) for a registry.
#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the password, even in debug output.
        write!(
            f,
            "Credentials {{ username: {:?}, password: *** }}",
            self.username
        )
    }
}

fn docker_credentials(host: &str, creds: Option<&Credentials>) -> Option<DockerCredentials> {
    creds.map(|c| DockerCredentials {
        username: Some(c.username.clone()),
        password: Some(c.password.clone()),
        serveraddress: Some(host.to_string()),
        ..Default::default()
    })
}

/// Why a registry call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryError {
    /// The registry refused the credentials (or their absence).
    Unauthorized(String),
    /// The registry refused to overwrite an existing tag.
    TagExists(String),
    Other(String),
}

impl RegistryError {
    fn from_message(message: String) -> Self {
        let lower = message.to_lowercase();
        if lower.contains("unauthorized")
            || lower.contains("authentication required")
            || lower.contains("no basic auth credentials")
            || lower.contains("denied")
            || lower.contains("401")
        {
            RegistryError::Unauthorized(message)
        } else if lower.contains("already exists") && lower.contains("cannot be overwritten") {
            RegistryError::TagExists(message)
        } else {
            RegistryError::Other(message)
        }
    }

    pub fn message(&self) -> &str {
        match self {
            RegistryError::Unauthorized(m)
            | RegistryError::TagExists(m)
            | RegistryError::Other(m) => m,
        }
    }
}

/// What a push reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// `sha256:…` of the manifest the registry stored.
    pub digest: String,
    pub layers_pushed: usize,
    pub layers_existing: usize,
}

static DIGEST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"digest: (sha256:[0-9a-f]{64})").expect("valid"));

/// Pushes `repository:tag` (repository including the registry host).
/// `progress` gets `(layers done, layers seen)` as layers finish.
pub async fn push(
    docker: &Docker,
    host: &str,
    repository: &str,
    tag: &str,
    creds: Option<&Credentials>,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Pushed, RegistryError> {
    let options = PushImageOptions {
        tag: Some(tag.to_string()),
        ..Default::default()
    };
    let mut stream = docker.push_image(repository, Some(options), docker_credentials(host, creds));
    let (mut seen, mut pushed, mut existing) = (0, 0, 0);
    let mut digest = None;
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| RegistryError::from_message(engine::message(&e)))?;
        if let Some(detail) = info.error_detail {
            return Err(RegistryError::from_message(
                detail.message.unwrap_or_default(),
            ));
        }
        let status = info.status.unwrap_or_default();
        match status.as_str() {
            "Preparing" => seen += 1,
            "Pushed" => pushed += 1,
            "Layer already exists" => existing += 1,
            s => {
                if let Some(c) = DIGEST.captures(s) {
                    digest = Some(c[1].to_string());
                }
                continue;
            }
        }
        progress(pushed + existing, seen);
    }
    match digest {
        Some(digest) => Ok(Pushed {
            digest,
            layers_pushed: pushed,
            layers_existing: existing,
        }),
        None => Err(RegistryError::Other(
            "the engine did not report the pushed digest".into(),
        )),
    }
}

/// The digest `repository:tag` has in its registry, `None` when the tag does
/// not exist. Read-only; also proves the credentials work.
pub async fn remote_digest(
    docker: &Docker,
    host: &str,
    reference: &str,
    creds: Option<&Credentials>,
) -> Result<Option<String>, RegistryError> {
    match docker
        .inspect_registry_image(reference, docker_credentials(host, creds))
        .await
    {
        Ok(info) => Ok(info.descriptor.digest),
        Err(e) => {
            let message = engine::message(&e);
            let lower = message.to_lowercase();
            if lower.contains("manifest unknown")
                || lower.contains("not found")
                || lower.contains("name unknown")
            {
                Ok(None)
            } else {
                Err(RegistryError::from_message(message))
            }
        }
    }
}

/// The digests a local image is known under in `repository` (`host/name`),
/// from earlier pushes or pulls.
pub async fn local_digests(
    docker: &Docker,
    image_id: &str,
    repository: &str,
) -> Result<Vec<String>, String> {
    let info = docker
        .inspect_image(image_id)
        .await
        .map_err(|e| engine::message(&e))?;
    Ok(info
        .repo_digests
        .unwrap_or_default()
        .into_iter()
        .filter_map(|d| {
            let (repo, digest) = d.split_once('@')?;
            (repo == repository).then(|| digest.to_string())
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_errors_are_classified() {
        assert!(matches!(
            RegistryError::from_message("unauthorized: authentication required".into()),
            RegistryError::Unauthorized(_)
        ));
        assert!(matches!(
            RegistryError::from_message(
                "tag invalid: The image tag '1.0' already exists in the 'api' repository and cannot be overwritten because the repository is immutable.".into()
            ),
            RegistryError::TagExists(_)
        ));
    }

    #[test]
    fn credentials_never_print_their_password() {
        let c = Credentials {
            username: "AWS".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
