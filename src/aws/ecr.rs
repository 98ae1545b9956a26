//! Amazon ECR: log in, find or create repositories, read what a tag points at.

use super::error;
use crate::error::Result;
use aws_sdk_ecr::types::{ImageIdentifier, ImageScanningConfiguration, ImageTagMutability};
use base64::Engine as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TagMutability {
    Mutable,
    Immutable,
}

pub struct Ecr {
    client: aws_sdk_ecr::Client,
}

/// What `GetAuthorizationToken` gives: a registry host and a 12-hour login.
pub struct Login {
    /// `<account>.dkr.ecr.<region>.amazonaws.com`
    pub host: String,
    pub username: String,
    /// A secret: the caller must register it for redaction.
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub uri: String,
    pub mutability: TagMutability,
}

impl Ecr {
    /// A client for `region`, or the default chain's region.
    pub async fn connect(region: Option<String>) -> Ecr {
        let config = super::config(region).await;
        Ecr {
            client: aws_sdk_ecr::Client::new(&config),
        }
    }

    pub async fn login(&self) -> Result<Login> {
        let out = self
            .client
            .get_authorization_token()
            .send()
            .await
            .map_err(|e| error("AWS ECR", "GetAuthorizationToken failed", e))?;
        let data = out.authorization_data().first().ok_or_else(|| {
            crate::error::Error::external(
                "AWS ECR",
                "GetAuthorizationToken returned no authorization data",
            )
        })?;
        let token = data.authorization_token().unwrap_or_default();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                crate::error::Error::external(
                    "AWS ECR",
                    "the authorization token is not base64 `user:password`",
                )
            })?;
        let (username, password) = decoded.split_once(':').ok_or_else(|| {
            crate::error::Error::external(
                "AWS ECR",
                "the authorization token is not `user:password`",
            )
        })?;
        let endpoint = data.proxy_endpoint().unwrap_or_default();
        let host = endpoint
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        Ok(Login {
            host,
            username: username.to_string(),
            password: password.to_string(),
        })
    }

    /// The repository, `None` when it does not exist.
    pub async fn repository(&self, name: &str) -> Result<Option<Repository>> {
        match self
            .client
            .describe_repositories()
            .repository_names(name)
            .send()
            .await
        {
            Ok(out) => Ok(out.repositories().first().map(|r| Repository {
                uri: r.repository_uri().unwrap_or_default().to_string(),
                mutability: mutability(r.image_tag_mutability()),
            })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(aws_sdk_ecr::operation::describe_repositories::DescribeRepositoriesError::is_repository_not_found_exception) =>
            {
                Ok(None)
            }
            Err(e) => Err(error(
                "AWS ECR",
                &format!("DescribeRepositories {name} failed"),
                e,
            )),
        }
    }

    /// Creates a repository that scans images on push.
    pub async fn create_repository(&self, name: &str, tags: TagMutability) -> Result<Repository> {
        let out = self
            .client
            .create_repository()
            .repository_name(name)
            .image_tag_mutability(match tags {
                TagMutability::Mutable => ImageTagMutability::Mutable,
                TagMutability::Immutable => ImageTagMutability::Immutable,
            })
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(true)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| error("AWS ECR", &format!("CreateRepository {name} failed"), e))?;
        let r = out.repository().ok_or_else(|| {
            crate::error::Error::external("AWS ECR", "CreateRepository returned no repository")
        })?;
        Ok(Repository {
            uri: r.repository_uri().unwrap_or_default().to_string(),
            mutability: mutability(r.image_tag_mutability()),
        })
    }

    /// The digest a tag points at, `None` when the tag does not exist.
    pub async fn tag_digest(&self, repository: &str, tag: &str) -> Result<Option<String>> {
        let id = ImageIdentifier::builder().image_tag(tag).build();
        match self
            .client
            .describe_images()
            .repository_name(repository)
            .image_ids(id)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .image_details()
                .first()
                .and_then(|d| d.image_digest().map(str::to_string))),
            Err(e)
                if e.as_service_error()
                    .is_some_and(aws_sdk_ecr::operation::describe_images::DescribeImagesError::is_image_not_found_exception) =>
            {
                Ok(None)
            }
            Err(e) => Err(error(
                "AWS ECR",
                &format!("DescribeImages {repository}:{tag} failed"),
                e,
            )),
        }
    }
}

fn mutability(m: Option<&ImageTagMutability>) -> TagMutability {
    match m {
        Some(ImageTagMutability::Immutable) => TagMutability::Immutable,
        _ => TagMutability::Mutable,
    }
}
