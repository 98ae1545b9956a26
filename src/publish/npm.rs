//! The npm registry's publish API, spoken natively: one PUT of the publish
//! document to `<registry>/<escaped name>` (as libnpmpublish builds it: the
//! manifest from the tarball's package.json with `_id` and `dist`
//! (`integrity` sha512 SRI, `shasum` sha1 hex, `tarball`), the dist-tag, and
//! the tarball as a base64 attachment with its `length`). Whether a version
//! exists is read from the packument.

use super::artifacts::{Artifact, hex};
use super::http::{self, REFUSED};
use crate::error::{Error, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::Sha1;
use sha2::{Digest, Sha512};

/// `@scope/name` → `@scope%2fname`, as npm-package-arg escapes it.
pub fn escaped_name(name: &str) -> String {
    name.replacen('/', "%2f", 1)
}

/// `sha512-<base64>`.
pub fn integrity(bytes: &[u8]) -> String {
    format!("sha512-{}", STANDARD.encode(Sha512::digest(bytes)))
}

pub fn shasum(bytes: &[u8]) -> String {
    hex(&Sha1::digest(bytes))
}

/// The publish document for one tarball.
pub fn document(
    a: &Artifact,
    registry: &str,
    tag: &str,
    access: Option<NpmAccess>,
) -> serde_json::Value {
    let mut manifest = a.manifest.clone().unwrap_or_default();
    let name = a.name.clone();
    let version = a.version.clone();
    let tarball_name = format!("{name}-{version}.tgz");
    if let Some(m) = manifest.as_object_mut() {
        m.insert("_id".into(), format!("{name}@{version}").into());
        m.insert(
            "dist".into(),
            serde_json::json!({
                "integrity": integrity(&a.bytes),
                "shasum": shasum(&a.bytes),
                "tarball": format!("{registry}{name}/-/{tarball_name}"),
            }),
        );
    }
    let mut doc = serde_json::json!({
        "_id": name,
        "name": name,
        "description": manifest.get("description").cloned().unwrap_or(serde_json::Value::Null),
        "dist-tags": { tag: version },
        "versions": { version.clone(): manifest },
        "_attachments": {
            tarball_name: {
                "content_type": "application/octet-stream",
                "data": STANDARD.encode(&a.bytes),
                "length": a.bytes.len(),
            }
        },
    });
    if let Some(access) = access {
        doc["access"] = serde_json::to_value(access).unwrap_or_default();
    }
    doc
}

/// `access` of a scoped package's first publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NpmAccess {
    Public,
    Restricted,
}

pub struct NpmClient<'a> {
    pub client: &'a reqwest::Client,
    /// Ends with `/`.
    pub url: &'a str,
    pub token: Option<&'a str>,
}

/// How a publish went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    Published,
    /// The registry refused because the version exists (403/409).
    Exists(String),
}

impl NpmClient<'_> {
    /// Whether the registry has the package at all (any version). npm's
    /// trusted publishing can only publish to a package that exists, so
    /// this is asked before the OIDC exchange. Asked anonymously when there
    /// is no token: npm answers 404 to an anonymous read of a private
    /// package too, which is why the caller skips it for those.
    pub async fn package_exists(&self, name: &str) -> Result<bool> {
        let url = format!("{}{}", self.url, escaped_name(name));
        let resp = self
            .auth(self.client.get(&url))
            // The abbreviated packument: existence is all that is asked.
            .header("Accept", "application/vnd.npm.install-v1+json")
            .send()
            .await
            .map_err(|e| http::unreachable("npm registry", &url, &e))?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(false);
        }
        if status.is_success() {
            return Ok(true);
        }
        let body = resp.text().await.unwrap_or_default();
        Err(Error::external(
            "npm registry",
            format!("{url} answered {status}: {}", http::excerpt(&body)),
        ))
    }

    /// The shasum of `version` when the registry has it.
    pub async fn version_shasum(&self, name: &str, version: &str) -> Result<Option<String>> {
        let url = format!("{}{}", self.url, escaped_name(name));
        let resp = self
            .auth(self.client.get(&url))
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| http::unreachable("npm registry", &url, &e))?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let body = resp.text().await.unwrap_or_default();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(refused(&url, status, &body));
        }
        if !status.is_success() {
            return Err(Error::external(
                "npm registry",
                format!("{url} answered {status}: {}", http::excerpt(&body)),
            ));
        }
        let packument: serde_json::Value = serde_json::from_str(&body).map_err(|e| {
            Error::external("npm registry", format!("{url} is not a packument: {e}"))
        })?;
        Ok(packument
            .get("versions")
            .and_then(|v| v.get(version))
            .map(|v| {
                v.pointer("/dist/shasum")
                    .and_then(|s| s.as_str())
                    .unwrap_or("")
                    .to_string()
            }))
    }

    pub async fn publish(&self, name: &str, doc: &serde_json::Value) -> Result<Published> {
        let url = format!("{}{}", self.url, escaped_name(name));
        let resp = self
            .auth(self.client.put(&url))
            .header("npm-command", "publish")
            .json(doc)
            .send()
            .await
            .map_err(|e| http::unreachable("npm registry", &url, &e))?;
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        if status.is_success() {
            return Ok(Published::Published);
        }
        let lower = body.to_ascii_lowercase();
        if status == reqwest::StatusCode::CONFLICT
            || (status == reqwest::StatusCode::FORBIDDEN
                && (lower.contains("previously published")
                    || lower.contains("cannot publish over")))
        {
            return Ok(Published::Exists(http::excerpt(&body)));
        }
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(refused(&url, status, &body));
        }
        Err(Error::external(
            "npm registry",
            format!(
                "{url} refused the publish: {status} {}",
                http::excerpt(&body)
            ),
        ))
    }

    fn auth(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }
}

fn refused(url: &str, status: reqwest::StatusCode, body: &str) -> Error {
    Error::refused(
        REFUSED,
        format!("{url} refused the credentials: {status} {}", http::excerpt(body)),
    )
    .with_hint("check the access token (NPM_TOKEN, or the variable `token-env` names) and that it may publish this package")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::artifacts::{Kind, Metadata};

    #[test]
    fn the_document_has_what_the_registry_checks() {
        let bytes = b"tarball".to_vec();
        let a = Artifact {
            path: "x".into(),
            file_name: "cw-sdk-1.0.0.tgz".into(),
            kind: Kind::NpmTarball,
            sha256: String::new(),
            blake2_256: String::new(),
            metadata: Metadata::default(),
            manifest: Some(
                serde_json::json!({"name": "@cw/sdk", "version": "1.0.0", "description": "d"}),
            ),
            name: "@cw/sdk".into(),
            version: "1.0.0".into(),
            bytes,
        };
        let d = document(
            &a,
            "https://registry.npmjs.org/",
            "next",
            Some(NpmAccess::Public),
        );
        assert_eq!(d["_id"], "@cw/sdk");
        assert_eq!(d["dist-tags"]["next"], "1.0.0");
        assert_eq!(d["access"], "public");
        let v = &d["versions"]["1.0.0"];
        assert_eq!(v["_id"], "@cw/sdk@1.0.0");
        assert_eq!(v["dist"]["shasum"], shasum(b"tarball"));
        assert!(
            v["dist"]["integrity"]
                .as_str()
                .unwrap()
                .starts_with("sha512-")
        );
        let att = &d["_attachments"]["@cw/sdk-1.0.0.tgz"];
        assert_eq!(att["length"], 7);
        assert_eq!(att["data"], STANDARD.encode(b"tarball"));
        assert_eq!(escaped_name("@cw/sdk"), "@cw%2fsdk");
        // printf abc | sha1sum
        assert_eq!(shasum(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }
}
