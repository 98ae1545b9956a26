//! Where a package goes: PyPI or npm. Everything that differs between the
//! two (version scheme, declared version, digests, existence checks,
//! uploads, trusted publishing, URLs, what a built file must hold) is
//! answered here, so the publish command never asks which one it has.

use super::artifacts::{self, Artifact, normalize_name};
use super::npm::NpmAccess;
use super::oidc::IdTokenRequest;
use super::version::{self, Declared, Release, Scheme};
use super::{npm, oidc, pypi};
use crate::error::Result;
use crate::output::Printer;
use std::path::Path;

/// One registry, with what gantry needs to talk to it.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Pypi {
        /// The upload endpoint.
        upload_url: &'a str,
        /// The simple index (PEP 503) asked which files exist.
        index_url: &'a str,
    },
    Npm {
        /// Ends with `/`.
        registry: &'a str,
        access: Option<NpmAccess>,
        /// The dist-tag; default `latest`, or `next` for a prerelease.
        tag: Option<&'a str>,
    },
}

/// A file already on the registry: its digest and where to see it.
pub struct Listed {
    pub digest: String,
    pub url: String,
}

/// What an upload ended with.
pub enum Uploaded {
    Published,
    /// The registry already had it (someone published since the check);
    /// its message.
    Exists(String),
}

impl Target<'_> {
    /// How versions are written and compared.
    pub fn scheme(self) -> Scheme {
        match self {
            Target::Pypi { .. } => Scheme::Pep440,
            Target::Npm { .. } => Scheme::Semver,
        }
    }

    /// npm packages are built with `npm pack` by default and are `.tgz`.
    pub fn is_npm(self) -> bool {
        matches!(self, Target::Npm { .. })
    }

    /// The built files a package's build writes, for messages.
    pub fn file_kinds(self) -> &'static str {
        match self {
            Target::Pypi { .. } => ".whl or .tar.gz",
            Target::Npm { .. } => ".tgz",
        }
    }

    /// The version the package's sources declare (`None`: dynamic, known
    /// only from the built files).
    pub fn declared(self, dir: &Path, label: &str) -> Result<Option<Declared>> {
        match self {
            Target::Pypi { .. } => version::python_declared(dir, label),
            Target::Npm { .. } => version::npm_declared(dir, label),
        }
    }

    /// The digest the registry lists for a file: sha256 on PyPI, sha1
    /// `shasum` on npm.
    pub fn local_digest(self, artifact: &Artifact) -> String {
        match self {
            Target::Pypi { .. } => artifact.sha256.clone(),
            Target::Npm { .. } => npm::shasum(&artifact.bytes),
        }
    }

    /// An upload token from GitHub's ID token (trusted publishing).
    pub async fn trusted_token(
        self,
        client: &reqwest::Client,
        printer: &Printer,
        request: &IdTokenRequest,
        package: &str,
    ) -> Result<String> {
        match self {
            Target::Pypi { upload_url, .. } => {
                oidc::pypi_token(client, printer, request, upload_url).await
            }
            Target::Npm { registry, .. } => {
                let name = npm::escaped_name(package);
                oidc::npm_token(client, printer, request, registry, &name).await
            }
        }
    }

    /// Why trusted publishing cannot publish `package` here, when that is
    /// known before any exchange: npm lets a trusted publisher be added
    /// only to a package that exists, so it can never create one (PyPI's
    /// "pending publishers" can, so PyPI is never blocked here). A private
    /// (`access = "restricted"`) npm package is not asked: an anonymous
    /// read cannot see it, and the exchange's own answer says the rest.
    pub async fn trusted_publishing_blocked(
        self,
        client: &reqwest::Client,
        package: &str,
    ) -> Result<Option<String>> {
        match self {
            Target::Pypi { .. }
            | Target::Npm {
                access: Some(NpmAccess::Restricted),
                ..
            } => Ok(None),
            Target::Npm { registry, .. } => {
                let exists = npm_client(client, registry, None)
                    .package_exists(package)
                    .await?;
                Ok((!exists).then(|| {
                    format!(
                        "`{package}` does not exist on {registry} yet, and npm's trusted publishing (OIDC) cannot create a package: a trusted publisher can only be added to a package that exists"
                    )
                }))
            }
        }
    }

    /// The file (PyPI) or version (npm) on the registry, if it is there.
    pub async fn find(
        self,
        client: &reqwest::Client,
        artifact: &Artifact,
        token: Option<&str>,
    ) -> Result<Option<Listed>> {
        match self {
            Target::Pypi {
                upload_url,
                index_url,
            } => Ok(pypi_index(client, upload_url, index_url, token)
                .find(&artifact.name, &artifact.file_name)
                .await?
                .map(|l| Listed {
                    digest: l.sha256,
                    url: l.url,
                })),
            Target::Npm { registry, .. } => Ok(npm_client(client, registry, token)
                .version_shasum(&artifact.name, &artifact.version)
                .await?
                .map(|digest| Listed {
                    digest,
                    url: npm_url(registry, &artifact.name, &artifact.version),
                })),
        }
    }

    pub async fn upload(
        self,
        client: &reqwest::Client,
        artifact: &Artifact,
        token: Option<&str>,
    ) -> Result<Uploaded> {
        match self {
            Target::Pypi {
                upload_url,
                index_url,
            } => {
                let index = pypi_index(client, upload_url, index_url, token);
                Ok(match index.upload(artifact).await? {
                    pypi::Uploaded::Published => Uploaded::Published,
                    pypi::Uploaded::Exists(m) => Uploaded::Exists(m),
                })
            }
            Target::Npm {
                registry,
                access,
                tag,
            } => {
                let dist_tag = tag.map_or_else(
                    || {
                        if version::is_prerelease(Scheme::Semver, &artifact.version) {
                            "next".into()
                        } else {
                            "latest".into()
                        }
                    },
                    str::to_string,
                );
                let doc = npm::document(artifact, registry, &dist_tag, access);
                let r = npm_client(client, registry, token);
                Ok(match r.publish(&artifact.name, &doc).await? {
                    npm::Published::Published => Uploaded::Published,
                    npm::Published::Exists(m) => Uploaded::Exists(m),
                })
            }
        }
    }

    /// Where people see a published file.
    pub fn published_url(self, artifact: &Artifact) -> String {
        match self {
            Target::Pypi { index_url, .. } => {
                let name = normalize_name(&artifact.name);
                if index_url.starts_with("https://pypi.org/")
                    || index_url.starts_with("https://test.pypi.org/")
                {
                    let host = index_url.trim_end_matches("simple/");
                    format!("{host}project/{name}/{}/", artifact.version)
                } else {
                    format!("{index_url}{name}/")
                }
            }
            Target::Npm { registry, .. } => npm_url(registry, &artifact.name, &artifact.version),
        }
    }

    /// Name and version inside every built file match the package and the
    /// tag; the metadata the registry requires is there. Each problem is
    /// one line.
    pub fn validate(
        self,
        files: &[Artifact],
        release: &Release,
        declared: Option<&Declared>,
    ) -> std::result::Result<(), Vec<String>> {
        let scheme = self.scheme();
        let mut problems = Vec::new();
        for a in files {
            let f = &a.file_name;
            if a.name.is_empty() || a.version.is_empty() {
                problems.push(format!(
                    "{f}: the name or version is missing from its metadata"
                ));
                continue;
            }
            if !version::same(scheme, &a.version, &release.version) {
                problems.push(format!(
                    "{f}: holds version {} but the tag says {}",
                    a.version, release.version
                ));
            }
            if let Some(name) = declared.and_then(|d| d.name.as_deref()) {
                let same = match scheme {
                    Scheme::Pep440 => normalize_name(name) == normalize_name(&a.name),
                    Scheme::Semver => name == a.name,
                };
                if !same {
                    problems.push(format!(
                        "{f}: holds package `{}` but {} names `{name}`",
                        a.name,
                        declared.map_or("", |d| d.file.as_str())
                    ));
                }
            }
            if scheme == Scheme::Pep440 {
                if a.metadata.first("Metadata-Version").is_none() {
                    problems.push(format!("{f}: its metadata has no Metadata-Version"));
                }
                match artifacts::name_version_from_file(f) {
                    Some((n, v))
                        if normalize_name(&n) == normalize_name(&a.name)
                            && version::same(scheme, &v, &a.version) => {}
                    _ => problems.push(format!(
                        "{f}: the file name does not match the name and version inside ({} {})",
                        a.name, a.version
                    )),
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

fn npm_url(registry: &str, name: &str, version: &str) -> String {
    if registry.starts_with("https://registry.npmjs.org/") {
        format!("https://www.npmjs.com/package/{name}/v/{version}")
    } else {
        format!("{registry}{}", npm::escaped_name(name))
    }
}

/// PyPI's endpoints with the client and token of one publish.
fn pypi_index<'a>(
    client: &'a reqwest::Client,
    upload_url: &'a str,
    index_url: &'a str,
    token: Option<&'a str>,
) -> pypi::Index<'a> {
    pypi::Index {
        client,
        upload_url,
        index_url,
        token,
    }
}

/// An npm registry with the client and token of one publish.
fn npm_client<'a>(
    client: &'a reqwest::Client,
    registry: &'a str,
    token: Option<&'a str>,
) -> npm::NpmClient<'a> {
    npm::NpmClient {
        client,
        url: registry,
        token,
    }
}
