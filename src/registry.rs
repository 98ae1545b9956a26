//! Where an image is pushed, and with which credentials.
//!
//! ECR hosts look like `<account>.dkr.ecr.<region>.amazonaws.com`; `ecr`
//! alone means "the account and region of the AWS credentials", resolved
//! through `GetAuthorizationToken`. GHCR and Docker Hub have default
//! credential variables; any other host takes them from `[registries."host"]`.

use regex::Regex;
use serde::Serialize;
use std::sync::LazyLock;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Registry {
    /// Amazon ECR; `host` is `None` for plain `ecr` (resolved at push time).
    Ecr {
        host: Option<String>,
        region: Option<String>,
    },
    /// GitHub Container Registry.
    Ghcr,
    /// Docker Hub.
    DockerHub,
    /// Any other OCI registry, `host[:port]`.
    Other { host: String },
}

static ECR_HOST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")
        .expect("valid")
});

impl Registry {
    /// Reads `registry = "..."`; none means Docker Hub, as with `docker push`.
    pub fn parse(value: Option<&str>) -> Registry {
        let Some(value) = value.map(|v| v.trim().trim_end_matches('/')) else {
            return Registry::DockerHub;
        };
        let host = value
            .strip_prefix("https://")
            .or_else(|| value.strip_prefix("http://"))
            .unwrap_or(value);
        match host {
            "ecr" => Registry::Ecr {
                host: None,
                region: None,
            },
            "ghcr.io" => Registry::Ghcr,
            "docker.io" | "index.docker.io" | "registry-1.docker.io" => Registry::DockerHub,
            h => match ECR_HOST.captures(h) {
                Some(c) => Registry::Ecr {
                    host: Some(h.to_string()),
                    region: Some(c["region"].to_string()),
                },
                None => Registry::Other {
                    host: h.to_string(),
                },
            },
        }
    }

    /// The host part of image references, when known before any API call.
    pub fn host(&self) -> Option<&str> {
        match self {
            Registry::Ecr { host, .. } => host.as_deref(),
            Registry::Ghcr => Some("ghcr.io"),
            Registry::DockerHub => Some("docker.io"),
            Registry::Other { host } => Some(host),
        }
    }

    /// The host as a plan shows it before any API call: an `ecr` still to be
    /// resolved reads as the ECR host it becomes, never as a Docker Hub
    /// path (`ecr/codewarden/api`).
    pub fn planned_host(&self) -> String {
        match self {
            Registry::Ecr { host: None, region } => format!(
                "<account>.dkr.ecr.{}.amazonaws.com",
                region.as_deref().unwrap_or("<region>")
            ),
            other => other.display(),
        }
    }

    /// The key of `[registries."<key>"]` and of credential look-ups.
    pub fn display(&self) -> String {
        match self {
            Registry::Ecr { host: Some(h), .. } => h.clone(),
            Registry::Ecr { host: None, .. } => "ecr".into(),
            other => other.host().unwrap_or_default().to_string(),
        }
    }
}

/// The full reference `host/repository:tag` (Docker Hub without a host, as
/// the engine names it).
pub fn reference(host: &str, repository: &str, tag: &str) -> String {
    format!("{}:{tag}", repository_ref(host, repository))
}

/// `host/repository`, or `repository` alone for Docker Hub.
pub fn repository_ref(host: &str, repository: &str) -> String {
    if host == "docker.io" {
        repository.to_string()
    } else {
        format!("{host}/{repository}")
    }
}

/// Region of an ECR host, e.g. `us-east-1`.
pub fn ecr_region(host: &str) -> Option<String> {
    ECR_HOST.captures(host).map(|c| c["region"].to_string())
}

/// Whether a repository name is valid for OCI registries: lower-case
/// components of `[a-z0-9]` joined by `.`, `_`, `__`, `-`, separated by `/`.
pub fn valid_repository(name: &str) -> bool {
    static COMPONENT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$").expect("valid"));
    !name.is_empty() && name.len() <= 255 && name.split('/').all(|c| COMPONENT.is_match(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_shows_an_unresolved_ecr_as_the_host_it_becomes() {
        assert_eq!(
            Registry::parse(Some("ecr")).planned_host(),
            "<account>.dkr.ecr.<region>.amazonaws.com"
        );
        assert_eq!(Registry::parse(Some("ghcr.io")).planned_host(), "ghcr.io");
        assert_eq!(
            Registry::parse(Some("123456789012.dkr.ecr.eu-west-1.amazonaws.com")).planned_host(),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        );
    }

    #[test]
    fn registries_are_recognised() {
        assert_eq!(Registry::parse(None), Registry::DockerHub);
        assert_eq!(
            Registry::parse(Some("ecr")),
            Registry::Ecr {
                host: None,
                region: None
            }
        );
        assert_eq!(
            Registry::parse(Some("123456789012.dkr.ecr.eu-west-1.amazonaws.com")),
            Registry::Ecr {
                host: Some("123456789012.dkr.ecr.eu-west-1.amazonaws.com".into()),
                region: Some("eu-west-1".into())
            }
        );
        assert_eq!(Registry::parse(Some("https://ghcr.io/")), Registry::Ghcr);
        assert_eq!(
            Registry::parse(Some("127.0.0.1:5000")),
            Registry::Other {
                host: "127.0.0.1:5000".into()
            }
        );
    }

    #[test]
    fn references_drop_the_docker_hub_host() {
        assert_eq!(
            reference("docker.io", "codewarden/api", "1.2"),
            "codewarden/api:1.2"
        );
        assert_eq!(
            reference("ghcr.io", "codewarden/api", "1.2"),
            "ghcr.io/codewarden/api:1.2"
        );
    }

    #[test]
    fn repository_names_follow_the_distribution_grammar() {
        for ok in ["api", "codewarden/api", "a.b_c__d-e/f--g"] {
            assert!(valid_repository(ok), "{ok}");
        }
        for bad in ["", "Api", "api/", "/api", "a..b", "-a", "a b"] {
            assert!(!valid_repository(bad), "{bad}");
        }
    }
}
