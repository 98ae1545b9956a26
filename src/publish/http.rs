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

/// What a server said, in one line: the status and its reason, then the
/// page's title (or first line of text) when it says more than the status.
///
/// PyPI (warehouse) puts its message in the status line and repeats it as
/// the page's title (`403 Invalid or non-existent authentication
/// information. See https://pypi.org/help/#invalid-auth for more
/// information.`); pypiserver's page only repeats the status (`Error: 403
/// Forbidden`). Either way the HTML itself is never shown.
pub fn said(status: reqwest::StatusCode, body: &str) -> String {
    let line = page_line(body);
    let rest = beyond_status(&line, status);
    if rest.is_empty() {
        status.to_string()
    } else {
        format!("{status}: {}", excerpt(rest))
    }
}

/// The `<title>` of an HTML page, else the first line with text.
fn page_line(body: &str) -> String {
    // ASCII lowercasing keeps byte offsets, so they index `body` too.
    let lower = body.to_ascii_lowercase();
    if let (Some(start), Some(end)) = (lower.find("<title>"), lower.find("</title>"))
        && start < end
    {
        return unescape(&body[start + "<title>".len()..end]);
    }
    body.lines()
        .map(strip_tags)
        .find(|l| !l.trim().is_empty())
        .map(|l| unescape(&l))
        .unwrap_or_default()
}

/// What a line says besides `403`, `Forbidden` or `Error: 403 Forbidden`.
fn beyond_status(line: &str, status: reqwest::StatusCode) -> &str {
    let reason = status.canonical_reason().unwrap_or("");
    let mut rest = line.trim();
    rest = strip_prefix_ci(rest, "error:").map_or(rest, str::trim_start);
    if let Some(after) = rest.strip_prefix(status.as_str()) {
        rest = after.trim_start();
    }
    rest = strip_prefix_ci(rest, reason).unwrap_or(rest);
    rest.trim_start_matches([':', '.', '-', ' '])
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn strip_tags(line: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in line.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn unescape(s: &str) -> String {
    let text = s
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#039;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
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

#[cfg(test)]
mod tests {
    use super::said;
    use reqwest::StatusCode;

    /// PyPI's page for a refused token (pyramid's HTML error page, its
    /// title and heading being the status line warehouse sets; the shape
    /// uv's publish code documents).
    const WAREHOUSE_403: &str = "<html>\n <head>\n  <title>403 Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth for more information.</title>\n </head>\n <body>\n  <h1>403 Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth for more information.</h1>\n  Access was denied to this resource.<br/><br/>\nInvalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth for more information.\n\n\n </body>\n</html>";

    /// pypiserver's (bottle's) error page, as it answers a wrong password.
    const PYPISERVER_403: &str = "\n    <!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n    <html>\n        <head>\n            <title>Error: 403 Forbidden</title>\n            <style type=\"text/css\">\n              html {background-color: #eee; font-family: sans;}\n            </style>\n        </head>\n        <body>\n            <h1>Error: 403 Forbidden</h1>\n            <p>Sorry, the requested URL <tt>&#039;http://127.0.0.1:38911/&#039;</tt>\n               caused an error:</p>\n            <pre>None</pre>\n        </body>\n    </html>\n";

    #[test]
    fn pypi_says_why_in_one_line() {
        assert_eq!(
            said(StatusCode::FORBIDDEN, WAREHOUSE_403),
            "403 Forbidden: Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth for more information."
        );
    }

    #[test]
    fn a_page_that_only_repeats_the_status_adds_nothing() {
        assert_eq!(said(StatusCode::FORBIDDEN, PYPISERVER_403), "403 Forbidden");
        assert_eq!(said(StatusCode::UNAUTHORIZED, ""), "401 Unauthorized");
        assert_eq!(said(StatusCode::FORBIDDEN, "Forbidden\n"), "403 Forbidden");
    }

    #[test]
    fn plain_text_gives_its_first_line() {
        assert_eq!(
            said(
                StatusCode::BAD_REQUEST,
                "\n  <p>Invalid &quot;version&quot;</p>\nmore\n"
            ),
            "400 Bad Request: Invalid \"version\""
        );
    }
}
