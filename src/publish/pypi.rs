//! PyPI's legacy upload API (<https://docs.pypi.org/api/upload/>), spoken
//! natively: one multipart POST per file with `:action=file_upload`, the
//! file's digests and its core metadata, authenticated as `__token__`. Which
//! files exist is read from the simple index (PEP 503 pages carry each file's
//! `#sha256=` digest), so a re-run can tell "already there" from "a different
//! file under this name".

use super::artifacts::{Artifact, normalize_name};
use super::http::{self, REFUSED};
use crate::error::{Error, Result};
use reqwest::multipart::{Form, Part};
use sha2::{Digest, Sha256};

/// The upload API's user name for API tokens (and minted trusted-publishing tokens).
pub const TOKEN_USER: &str = "__token__";

pub struct Index<'a> {
    pub client: &'a reqwest::Client,
    pub upload_url: &'a str,
    /// Ends with `/`.
    pub index_url: &'a str,
    pub token: Option<&'a str>,
}

/// A file as the index lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub url: String,
    pub sha256: String,
}

/// How an upload went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uploaded {
    Published,
    /// The index already holds a file under this name.
    Exists(String),
}

impl Index<'_> {
    /// The file of this name on the index, with its SHA-256 (read from the
    /// link's fragment, else by downloading it); `None` when absent.
    pub async fn find(&self, project: &str, file_name: &str) -> Result<Option<Listed>> {
        let page_url = format!("{}{}/", self.index_url, normalize_name(project));
        let mut req = self.client.get(&page_url);
        if self.same_host() {
            req = self.auth(req);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| http::unreachable("package index", &page_url, &e))?;
        let status = resp.status();
        // pypiserver redirects a project it does not hold to its fallback (pypi.org).
        if status == reqwest::StatusCode::NOT_FOUND || status.is_redirection() {
            return Ok(None);
        }
        let body = resp
            .text()
            .await
            .map_err(|e| http::unreachable("package index", &page_url, &e))?;
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(refused(&page_url, status, &body));
        }
        if !status.is_success() {
            return Err(Error::external(
                "package index",
                format!("{page_url} answered {}", http::said(status, &body)),
            ));
        }
        let Some(href) = links(&body)
            .into_iter()
            .find(|(href, text)| text == file_name || link_file(href) == file_name)
            .map(|(href, _)| href)
        else {
            return Ok(None);
        };
        let url = resolve(&page_url, &href);
        // Pages list one digest (pypiserver: md5 by default); any other than
        // sha256 means downloading the file to compare.
        let sha256 = if let Some((_, digest)) = href.split_once("#sha256=") {
            digest.to_ascii_lowercase()
        } else {
            let bytes = self
                .client
                .get(url.split('#').next().unwrap_or(&url))
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|e| http::unreachable("package index", &url, &e))?
                .bytes()
                .await
                .map_err(|e| http::unreachable("package index", &url, &e))?;
            super::artifacts::hex(&Sha256::digest(&bytes))
        };
        Ok(Some(Listed {
            url: url.split('#').next().unwrap_or(&url).to_string(),
            sha256,
        }))
    }

    /// Uploads one file.
    pub async fn upload(&self, a: &Artifact) -> Result<Uploaded> {
        let mut form = Form::new();
        for (k, v) in form_fields(a) {
            form = form.text(k, v);
        }
        let part = Part::bytes(a.bytes.clone())
            .file_name(a.file_name.clone())
            .mime_str("application/octet-stream")
            .map_err(|e| Error::external("package index", e.to_string()))?;
        form = form.part("content", part);
        let resp = match self
            .auth(self.client.post(self.upload_url))
            .multipart(form)
            .send()
            .await
        {
            Ok(resp) => resp,
            Err(e) => {
                // An index that refuses the credentials may answer from the
                // headers and close the connection without reading the file
                // (pypiserver does): the client then sees a broken pipe, not
                // the answer. Asked again without a file, it answers.
                if let Some(refusal) = self.refusal().await {
                    return Err(refusal);
                }
                return Err(http::unreachable("package index", self.upload_url, &e));
            }
        };
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        if status.is_success() {
            return Ok(Uploaded::Published);
        }
        // PyPI answers 400 "File already exists"; pypiserver 409.
        if status == reqwest::StatusCode::CONFLICT
            || (status == reqwest::StatusCode::BAD_REQUEST
                && body.to_ascii_lowercase().contains("already exists"))
        {
            return Ok(Uploaded::Exists(http::excerpt(&body)));
        }
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(refused(self.upload_url, status, &body));
        }
        Err(Error::external(
            "package index",
            format!(
                "{} refused {}: {}",
                self.upload_url,
                a.file_name,
                http::said(status, &body)
            ),
        ))
    }

    /// The index's answer to the credentials alone: an upload request
    /// without a file, which an index refuses (401/403) before it looks at
    /// the form, and otherwise rejects as incomplete (400) without storing
    /// anything. `None` unless it refuses them.
    async fn refusal(&self) -> Option<Error> {
        let form = Form::new()
            .text(":action", "file_upload")
            .text("protocol_version", "1");
        let resp = self
            .auth(self.client.post(self.upload_url))
            .multipart(form)
            .send()
            .await
            .ok()?;
        let status = resp.status();
        if status != reqwest::StatusCode::UNAUTHORIZED && status != reqwest::StatusCode::FORBIDDEN {
            return None;
        }
        let body = resp.text().await.unwrap_or_default();
        Some(refused(self.upload_url, status, &body))
    }

    fn auth(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.token {
            Some(t) => req.basic_auth(TOKEN_USER, Some(t)),
            None => req,
        }
    }

    /// The index is read with the upload credentials only on the upload's own
    /// host (a private index); pypi.org's pages are public.
    fn same_host(&self) -> bool {
        http::host(self.upload_url) == http::host(self.index_url)
    }
}

fn refused(url: &str, status: reqwest::StatusCode, body: &str) -> Error {
    Error::refused(
        REFUSED,
        format!("{url} refused the credentials: {}", http::said(status, body)),
    )
    .with_hint(
        "check the API token (PYPI_TOKEN, or the variable `token-env` names) and that it may upload this project; with trusted publishing, check the publisher configured on the index",
    )
}

/// The upload form: the API's own fields, then every core metadata field
/// under its API name (lower case, `-` as `_`; multiple-use fields repeated).
pub fn form_fields(a: &Artifact) -> Vec<(String, String)> {
    let mut out = vec![
        (":action".to_string(), "file_upload".to_string()),
        ("protocol_version".to_string(), "1".to_string()),
        ("filetype".to_string(), a.kind.filetype().to_string()),
        ("pyversion".to_string(), a.kind.pyversion().to_string()),
        ("sha256_digest".to_string(), a.sha256.clone()),
        ("blake2_256_digest".to_string(), a.blake2_256.clone()),
    ];
    for (key, value) in &a.metadata.fields {
        let field = match key.to_ascii_lowercase().as_str() {
            "metadata-version" => "metadata_version".to_string(),
            "classifier" => "classifiers".to_string(),
            "project-url" => "project_urls".to_string(),
            "home-page" => "home_page".to_string(),
            other => other.replace('-', "_"),
        };
        out.push((field, value.clone()));
    }
    if let Some(body) = &a.metadata.body {
        out.push(("description".to_string(), body.clone()));
    }
    out
}

/// `(href, text)` of every `<a>` on a simple index page.
fn links(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<a ") {
        rest = &rest[start..];
        let Some(end) = rest.find("</a>") else { break };
        let tag = &rest[..end];
        if let Some(h) = tag.find("href=\"") {
            let after = &tag[h + 6..];
            if let Some(q) = after.find('"') {
                let href = unescape(&after[..q]);
                let text = tag
                    .find('>')
                    .map(|g| unescape(tag[g + 1..].trim()))
                    .unwrap_or_default();
                out.push((href, text));
            }
        }
        rest = &rest[end + 4..];
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

/// The file name at the end of a link, without the fragment.
fn link_file(href: &str) -> &str {
    let path = href.split('#').next().unwrap_or(href);
    path.rsplit('/').next().unwrap_or(path)
}

/// Resolves a link relative to the page it is on.
fn resolve(page: &str, href: &str) -> String {
    match reqwest::Url::parse(page).and_then(|base| base.join(href)) {
        Ok(u) => u.to_string(),
        Err(_) => href.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::artifacts::{Kind, Metadata};

    #[test]
    fn simple_pages_give_links_and_digests() {
        let html = r#"<html><body><h1>Links for demo</h1>
<a href="../../packages/demo_pkg-1.0.0.tar.gz#sha256=ABC">demo_pkg-1.0.0.tar.gz</a><br>
<a href="https://files.example/demo_pkg-1.0.0-py3-none-any.whl#sha256=def" data-requires-python="&gt;=3.9">demo_pkg-1.0.0-py3-none-any.whl</a>
</body></html>"#;
        let l = links(html);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].1, "demo_pkg-1.0.0.tar.gz");
        assert_eq!(link_file(&l[1].0), "demo_pkg-1.0.0-py3-none-any.whl");
        assert_eq!(
            resolve("http://h:1/simple/demo-pkg/", &l[0].0),
            "http://h:1/packages/demo_pkg-1.0.0.tar.gz#sha256=ABC"
        );
    }

    #[test]
    fn the_form_carries_digests_and_metadata_under_api_names() {
        let a = Artifact {
            path: "x".into(),
            file_name: "demo_pkg-1.0.0-py3-none-any.whl".into(),
            kind: Kind::Wheel {
                pyversion: "py3".into(),
            },
            bytes: vec![],
            sha256: "s".into(),
            blake2_256: "b".into(),
            metadata: Metadata::parse(
                "Metadata-Version: 2.4\nName: demo-pkg\nVersion: 1.0.0\nRequires-Python: >=3.9\nClassifier: A\nClassifier: B\nProject-URL: Home, https://x\n\nLong text\n",
            ),
            manifest: None,
            name: "demo-pkg".into(),
            version: "1.0.0".into(),
        };
        let f = form_fields(&a);
        let get = |k: &str| {
            f.iter()
                .filter(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(get(":action"), ["file_upload"]);
        assert_eq!(get("protocol_version"), ["1"]);
        assert_eq!(get("filetype"), ["bdist_wheel"]);
        assert_eq!(get("pyversion"), ["py3"]);
        assert_eq!(get("metadata_version"), ["2.4"]);
        assert_eq!(get("requires_python"), [">=3.9"]);
        assert_eq!(get("classifiers"), ["A", "B"]);
        assert_eq!(get("project_urls"), ["Home, https://x"]);
        assert_eq!(get("description"), ["Long text\n"]);
        assert_eq!(get("sha256_digest"), ["s"]);
        assert_eq!(get("blake2_256_digest"), ["b"]);
    }

    /// An index that refuses the credentials from the request's headers
    /// and closes the connection without reading a large body, as
    /// pypiserver does: closed with unread data, the connection is reset,
    /// and the client can lose the 403 to the reset (the upload then failed
    /// now and then with a broken pipe). This one shows the worst case: the
    /// reset and no answer. A small body it reads whole and answers 403.
    /// Serves up to `n` requests (for 20 s at most) and returns the sizes
    /// of the bodies it read.
    fn refusing_index(n: usize) -> (String, std::thread::JoinHandle<Vec<usize>>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let mut read_sizes = Vec::new();
            listener.set_nonblocking(true).unwrap();
            let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while read_sizes.len() < n && std::time::Instant::now() < until {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    continue;
                };
                conn.set_nonblocking(false).unwrap();
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
                let length: usize = text
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if length > 64 * 1024 {
                    read_sizes.push(0);
                    continue;
                }
                let mut body = vec![0u8; length];
                conn.read_exact(&mut body).unwrap();
                read_sizes.push(length);
                let _ = conn.write_all(
                    b"HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\nConnection: close\r\n\r\nForbidden",
                );
            }
            read_sizes
        });
        (url, server)
    }

    #[test]
    fn credentials_refused_before_the_file_is_read_are_reported_as_refused() {
        let (url, server) = refusing_index(2);
        let a = Artifact {
            path: "x".into(),
            file_name: "demo_pkg-1.0.0-py3-none-any.whl".into(),
            kind: Kind::Wheel {
                pyversion: "py3".into(),
            },
            // Far more than the socket buffers hold: the index closes
            // while the file is still being sent.
            bytes: vec![7u8; 16 * 1024 * 1024],
            sha256: "s".into(),
            blake2_256: "b".into(),
            metadata: Metadata::parse("Metadata-Version: 2.4\nName: demo-pkg\nVersion: 1.0.0\n"),
            manifest: None,
            name: "demo-pkg".into(),
            version: "1.0.0".into(),
        };
        let client = http::client().unwrap();
        let index = Index {
            client: &client,
            upload_url: &url,
            index_url: &url,
            token: Some("pypi-wrong"),
        };
        let err = crate::runtime::block_on(index.upload(&a))
            .unwrap()
            .unwrap_err();
        assert_eq!(err.exit_code(), crate::error::exit::EXTERNAL);
        let text = err.to_string();
        assert!(
            text.contains("refused the credentials: 403 Forbidden"),
            "{text}"
        );
        // The upload was cut off unread; the second request had no file.
        let read = server.join().unwrap();
        assert_eq!(read[0], 0);
        assert_eq!(read.len(), 2, "{read:?}");
        assert!(read[1] > 0 && read[1] < 1024, "{read:?}");
    }
}
