//! Trusted publishing: GitHub Actions' OIDC ID token, exchanged for a
//! short-lived upload token. PyPI: the audience from `<index>/_/oidc/audience`,
//! the exchange at `<index>/_/oidc/mint-token` (as pypa/gh-action-pypi-publish).
//! npm: audience `npm:<registry host>`, the exchange at
//! `<registry>/-/npm/v1/oidc/token/exchange/package/<name>` (as the npm CLI).
//! Every token is masked the moment it is received.

use super::http::{self, REFUSED};
use crate::error::{Error, Result};
use crate::output::Printer;

/// `ACTIONS_ID_TOKEN_REQUEST_URL` and its bearer token.
#[derive(Debug, Clone)]
pub struct IdTokenRequest {
    pub url: String,
    pub token: String,
}

/// Asks GitHub for an ID token for `audience`.
pub async fn github_id_token(
    client: &reqwest::Client,
    printer: &Printer,
    request: &IdTokenRequest,
    audience: &str,
) -> Result<String> {
    let mut url = reqwest::Url::parse(&request.url).map_err(|e| {
        Error::external(
            "GitHub OIDC",
            format!("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL: {e}"),
        )
    })?;
    url.query_pairs_mut().append_pair("audience", audience);
    let resp = client
        .get(url.clone())
        .bearer_auth(&request.token)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| http::unreachable("GitHub OIDC", &request.url, &e))?;
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(Error::external(
            "GitHub OIDC",
            format!(
                "the ID token request failed: {status} {}",
                http::excerpt(&body)
            ),
        )
        .with_hint("the job needs `permissions: id-token: write`"));
    }
    let value = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("value")?.as_str().map(str::to_string))
        .ok_or_else(|| Error::external("GitHub OIDC", "the ID token response has no `value`"))?;
    printer.mask(&value);
    Ok(value)
}

/// PyPI trusted publishing: returns the minted API token (masked).
pub async fn pypi_token(
    client: &reqwest::Client,
    printer: &Printer,
    request: &IdTokenRequest,
    upload_url: &str,
) -> Result<String> {
    let base = http::origin(upload_url)
        .ok_or_else(|| Error::usage(format!("`{upload_url}` is not a URL"), None))?;
    let audience_url = format!("{base}/_/oidc/audience");
    let resp = client
        .get(&audience_url)
        .send()
        .await
        .map_err(|e| http::unreachable("package index", &audience_url, &e))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(Error::external(
            "package index",
            format!(
                "{audience_url} answered {status}: the index does not offer trusted publishing"
            ),
        )
        .with_hint("use an API token (PYPI_TOKEN) for this index"));
    }
    let audience = resp
        .json::<serde_json::Value>()
        .await
        .ok()
        .and_then(|v| v.get("audience")?.as_str().map(str::to_string))
        .ok_or_else(|| {
            Error::external(
                "package index",
                format!("{audience_url} gave no `audience`"),
            )
        })?;
    let id_token = github_id_token(client, printer, request, &audience).await?;
    let mint_url = format!("{base}/_/oidc/mint-token");
    let resp = client
        .post(&mint_url)
        .json(&serde_json::json!({ "token": id_token }))
        .send()
        .await
        .map_err(|e| http::unreachable("package index", &mint_url, &e))?;
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    if !status.is_success() {
        let reasons = body
            .get("errors")
            .and_then(|e| e.as_array())
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        format!(
                            "{}: {}",
                            e.get("code").and_then(|c| c.as_str()).unwrap_or("?"),
                            e.get("description").and_then(|d| d.as_str()).unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        return Err(Error::refused(
            REFUSED,
            format!("{mint_url} refused the trusted publishing exchange: {status} {reasons}"),
        )
        .with_hint("check the trusted publisher on the index: repository, workflow file and environment must match this run"));
    }
    let token = body
        .get("token")
        .and_then(|t| t.as_str())
        .map(str::to_string)
        .ok_or_else(|| Error::external("package index", format!("{mint_url} gave no `token`")))?;
    printer.mask(&token);
    Ok(token)
}

/// npm trusted publishing: returns the exchanged publish token (masked).
pub async fn npm_token(
    client: &reqwest::Client,
    printer: &Printer,
    request: &IdTokenRequest,
    registry: &str,
    escaped_name: &str,
) -> Result<String> {
    let host = reqwest::Url::parse(registry)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .ok_or_else(|| Error::usage(format!("`{registry}` is not a URL"), None))?;
    let id_token = github_id_token(client, printer, request, &format!("npm:{host}")).await?;
    let url = format!("{registry}-/npm/v1/oidc/token/exchange/package/{escaped_name}");
    let resp = client
        .post(&url)
        .bearer_auth(&id_token)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| http::unreachable("npm registry", &url, &e))?;
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        // npm says why in `message` (the npm CLI logs `body.message`);
        // a missing package and one without a matching trusted publisher
        // both answer 404 `OIDC token exchange error - package not found`.
        let said = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("message")?.as_str().map(str::to_string))
            .unwrap_or_else(|| http::excerpt(&body));
        return Err(Error::refused(
            REFUSED,
            format!("{url} refused the trusted publishing exchange: {status} {said}"),
        )
        .with_hint("the package must exist and list this repository and workflow file as its trusted publisher (npmjs.com: the package's Settings → Trusted Publisher); a first release needs NPM_TOKEN"));
    }
    let token = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("token")?.as_str().map(str::to_string))
        .ok_or_else(|| Error::external("npm registry", format!("{url} gave no `token`")))?;
    printer.mask(&token);
    Ok(token)
}
