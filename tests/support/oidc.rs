//! A stand-in for trusted publishing's two parties: GitHub's OIDC token
//! endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL`, bearer
//! `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, `&audience=` → `{"value": <id token>}`)
//! and a package index's `/_/oidc/audience` and `/_/oidc/mint-token`
//! (`{"token": <id token>}` → `{"token": <api token>}`). Every other request
//! is passed on to a real index (pypiserver), which only accepts the minted
//! token, so an upload proves that the minted token was used.

use super::calls::{Call, CallLog};
use super::services::free_port;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

pub const AUDIENCE: &str = "gantry-test-index";

#[derive(Default, Debug)]
pub struct Seen {
    /// Audiences GitHub's endpoint was asked for.
    pub audiences: Vec<String>,
    /// ID tokens presented for exchange.
    pub exchanged: Vec<String>,
    /// Authorization headers of requests passed on to the index.
    pub upstream_auth: Vec<String>,
}

pub struct OidcStandIn {
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub port: u16,
    pub seen: Arc<Mutex<Seen>>,
    /// Every call, in the shape every stand-in shares.
    pub log: CallLog,
}

impl OidcStandIn {
    /// `request_token` opens GitHub's endpoint; `id_token` is what it
    /// issues; `minted` is what the index mints; the rest goes to `upstream`.
    pub fn start(request_token: &str, id_token: &str, minted: &str, upstream: u16) -> OidcStandIn {
        Self::start_logged(request_token, id_token, minted, upstream, CallLog::new())
    }

    /// As [`OidcStandIn::start`], appending every call to `log`.
    pub fn start_logged(
        request_token: &str,
        id_token: &str,
        minted: &str,
        upstream: u16,
        log: CallLog,
    ) -> OidcStandIn {
        let port = free_port();
        let server = Arc::new(tiny_http::Server::http(("127.0.0.1", port)).unwrap());
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (s, st, calls) = (server.clone(), seen.clone(), log.clone());
        let (request_token, id_token, minted) = (
            request_token.to_string(),
            id_token.to_string(),
            minted.to_string(),
        );
        let thread = std::thread::spawn(move || {
            for mut req in s.incoming_requests() {
                let url = req.url().to_string();
                let auth = header(&req, "Authorization");
                let mut body = Vec::new();
                let _ = req.as_reader().read_to_end(&mut body);
                calls.push(call_of(&req, &body));
                let reply = |code: u16, v: Value| {
                    tiny_http::Response::from_data(v.to_string().into_bytes())
                        .with_status_code(code)
                        .with_header(
                            "Content-Type: application/json"
                                .parse::<tiny_http::Header>()
                                .unwrap(),
                        )
                };
                let resp = if url.starts_with("/github/token") {
                    let audience = url
                        .split(['?', '&'])
                        .find_map(|p| p.strip_prefix("audience="))
                        .unwrap_or("")
                        .to_string();
                    st.lock().unwrap().audiences.push(audience.clone());
                    if auth != format!("Bearer {request_token}") {
                        reply(401, json!({"message": "bad request token"}))
                    } else if audience != AUDIENCE {
                        reply(400, json!({"message": "unexpected audience"}))
                    } else {
                        reply(200, json!({ "count": 1, "value": id_token }))
                    }
                } else if url == "/_/oidc/audience" {
                    reply(200, json!({ "audience": AUDIENCE }))
                } else if url == "/_/oidc/mint-token" {
                    let presented = serde_json::from_slice::<Value>(&body)
                        .ok()
                        .and_then(|v| v["token"].as_str().map(str::to_string))
                        .unwrap_or_default();
                    st.lock().unwrap().exchanged.push(presented.clone());
                    if presented == id_token {
                        reply(200, json!({ "success": true, "token": minted }))
                    } else {
                        reply(
                            422,
                            json!({"message": "invalid", "errors": [{"code": "invalid-token", "description": "unknown token"}]}),
                        )
                    }
                } else {
                    st.lock().unwrap().upstream_auth.push(auth.clone());
                    let (code, headers, data) = forward(&req, &body, upstream);
                    let mut r = tiny_http::Response::from_data(data).with_status_code(code);
                    for (k, v) in headers {
                        if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
                            r = r.with_header(h);
                        }
                    }
                    let _ = req.respond(r);
                    continue;
                };
                let _ = req.respond(resp);
            }
        });
        OidcStandIn {
            server,
            thread: Some(thread),
            port,
            seen,
            log,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// What goes into `ACTIONS_ID_TOKEN_REQUEST_URL` (GitHub's has a query already).
    pub fn token_request_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/github/token?api-version=2.0",
            self.port
        )
    }
}

impl Drop for OidcStandIn {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A request as the shared log records it: GitHub's token and the index's
/// mint change nothing; a `POST` passed on to the index is an upload of the
/// file its multipart body names.
fn call_of(req: &tiny_http::Request, body: &[u8]) -> Call {
    let url = req.url();
    if url.starts_with("/github/token") {
        return Call::new("oidc", "token", AUDIENCE, false);
    }
    if url.starts_with("/_/oidc/") {
        let op = url.trim_start_matches("/_/oidc/");
        return Call::new("pypi", op, "", false);
    }
    let method = req.method().as_str();
    if method != "POST" {
        return Call::new("pypi", method, url, false);
    }
    let text = String::from_utf8_lossy(body);
    let file = text
        .split("filename=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default();
    Call::new("pypi", "upload", file, true)
}

fn header(req: &tiny_http::Request, name: &'static str) -> String {
    req.headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.to_string())
        .unwrap_or_default()
}

/// Sends the request on to `127.0.0.1:<port>` and returns its answer.
fn forward(
    req: &tiny_http::Request,
    body: &[u8],
    port: u16,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n",
        req.method(),
        req.url()
    );
    for h in req.headers() {
        let f = h.field.as_str().as_str().to_ascii_lowercase();
        if !["host", "connection", "content-length", "transfer-encoding"].contains(&f.as_str()) {
            head.push_str(&format!("{}: {}\r\n", h.field, h.value));
        }
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("upstream index answers");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP response");
    let text = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = text.split("\r\n");
    let code: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(502);
    let mut headers = Vec::new();
    let mut chunked = false;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            let k = k.trim().to_string();
            let lower = k.to_ascii_lowercase();
            if lower == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked") {
                chunked = true;
            }
            if ![
                "connection",
                "content-length",
                "transfer-encoding",
                "date",
                "server",
            ]
            .contains(&lower.as_str())
            {
                headers.push((k, v.trim().to_string()));
            }
        }
    }
    let mut data = raw[split + 4..].to_vec();
    if chunked {
        data = dechunk(&data);
    }
    (code, headers, data)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
    out
}
