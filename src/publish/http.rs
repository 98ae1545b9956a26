//! The HTTP client shared by the registries, and how its failures read.

use crate::error::Error;

/// The `system` of errors where a registry refused the credentials (exit 3,
/// never retried).
pub const REFUSED: &str = "registry credentials";

/// One client for the whole run: rustls with the system's roots, no
/// redirects (a credential must never follow one to another host).
pub fn client() -> Result<reqwest::Client, Error> {
    let tls = crate::https::client_config().map_err(|e| Error::external("HTTP client", e))?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(concat!("gantry/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(300))
        .build()
        .map_err(|e| Error::external("HTTP client", format!("cannot start: {e}")))
}

/// A request that got no answer.
pub fn unreachable(system: &'static str, url: &str, e: &reqwest::Error) -> Error {
    let mut cause = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = format!("{cause}: {s}");
        source = s.source();
    }
    Error::external(system, format!("{url}: {cause}"))
}

/// The start of a response body, on one line, for error messages.
pub fn excerpt(body: &str) -> String {
    let text: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// `scheme://host:port` of a URL.
pub fn origin(url: &str) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    Some(u.origin().ascii_serialization())
}

/// The host (and port) of a URL.
pub fn host(url: &str) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?))
}
