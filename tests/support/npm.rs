//! A stand-in for the npm registry (which cannot be reached here): it
//! checks a publish document the way the registry does (name and `_id`,
//! one version whose manifest matches, `dist.integrity` sha512 and
//! `dist.shasum` sha1 of the attached tarball, dist-tags pointing at it, the
//! base64 attachment named `<name>-<version>.tgz` with its `length`, and a
//! tarball whose package.json agrees), refuses a version that exists with
//! 403 as the registry does, and serves packuments and tarballs. For trusted
//! publishing it also plays GitHub's ID token endpoint (`/github/token`,
//! audience `npm:127.0.0.1`) and the registry's exchange
//! (`/-/npm/v1/oidc/token/exchange/package/<name>`). As on npm, the exchange
//! succeeds only for a package that exists and has a trusted publisher
//! (which can only be added to an existing package: `npm trust` and the
//! settings page both require it); otherwise it answers what
//! registry.npmjs.org answers, 404 `{"message": "OIDC token exchange error -
//! package not found"}` (the body npm's CLI logs, npm/cli#8678, #9923). A
//! token publish of a new package creates it.

use super::calls::{Call, CallLog};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha1::Sha1;
use sha2::{Digest, Sha512};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct State {
    pub packuments: BTreeMap<String, Value>,
    pub tarballs: BTreeMap<String, Vec<u8>>,
    /// Every PUT's document, accepted or not.
    pub documents: Vec<Value>,
    /// Why documents were refused.
    pub refusals: Vec<String>,
    /// Authorization headers seen on PUTs.
    pub authorizations: Vec<String>,
    /// Packages whose trusted publishing exchange succeeded.
    pub exchanged: Vec<String>,
    /// Packages with a trusted publisher configured.
    pub trusted: std::collections::BTreeSet<String>,
}

/// Trusted publishing: the GitHub request token, the ID token GitHub issues
/// and the token the registry exchanges it for.
#[derive(Clone)]
pub struct Trusted {
    pub request_token: String,
    pub id_token: String,
    pub minted: String,
}

pub struct NpmRegistry {
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub port: u16,
    pub state: Arc<Mutex<State>>,
    /// Every call, in the shape every stand-in shares.
    pub log: CallLog,
}

impl NpmRegistry {
    /// Accepts publishes with `Authorization: Bearer <token>`.
    pub fn start(token: &str) -> NpmRegistry {
        Self::serve(vec![token.into()], None, CallLog::new())
    }

    /// As [`NpmRegistry::start`], appending every call to `log`.
    pub fn start_logged(token: &str, log: CallLog) -> NpmRegistry {
        Self::serve(vec![token.into()], None, log)
    }

    /// Accepts publishes only with the token minted by trusted publishing
    /// (for packages made to exist with [`NpmRegistry::existing`]).
    pub fn start_trusted(trusted: Trusted) -> NpmRegistry {
        let minted = trusted.minted.clone();
        Self::serve(vec![minted], Some(trusted), CallLog::new())
    }

    /// Trusted publishing beside an ordinary publish token (the first
    /// release's), logged.
    pub fn start_trusted_and_token(trusted: Trusted, token: &str, log: CallLog) -> NpmRegistry {
        let minted = trusted.minted.clone();
        Self::serve(vec![minted, token.into()], Some(trusted), log)
    }

    /// `name` exists (an earlier release, `0.0.1`, published by hand) and
    /// lists this repository as its trusted publisher.
    pub fn existing(&self, name: &str) -> &Self {
        let mut st = self.state.lock().unwrap();
        st.packuments.insert(
            name.into(),
            json!({
                "_id": name, "name": name,
                "dist-tags": { "latest": "0.0.1" },
                "versions": { "0.0.1": { "name": name, "version": "0.0.1", "dist": { "shasum": "0" } } },
            }),
        );
        st.trusted.insert(name.into());
        self
    }

    /// Adds the trusted publisher to `name`, as its settings page does:
    /// only a package that exists can have one.
    pub fn trust(&self, name: &str) {
        let mut st = self.state.lock().unwrap();
        assert!(
            st.packuments.contains_key(name),
            "npm adds a trusted publisher only to a package that exists"
        );
        st.trusted.insert(name.into());
    }

    /// What goes into `ACTIONS_ID_TOKEN_REQUEST_URL`.
    pub fn token_request_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/github/token?api-version=2.0",
            self.port
        )
    }

    fn serve(tokens: Vec<String>, trusted: Option<Trusted>, log: CallLog) -> NpmRegistry {
        // Port 0: the kernel picks a free one as it binds, so no other
        // test can take it between a lookup and the bind.
        let server = Arc::new(tiny_http::Server::http(("127.0.0.1", 0)).unwrap());
        let port = server.server_addr().to_ip().expect("a TCP listener").port();
        let state = Arc::new(Mutex::new(State::default()));
        let (s, st) = (server.clone(), state.clone());
        let calls = log.clone();
        let thread = std::thread::spawn(move || {
            for mut req in s.incoming_requests() {
                calls.push(call_of(&req));
                let (code, body) = match &trusted {
                    Some(t)
                        if req.url().starts_with("/github/")
                            || req.url().starts_with("/-/npm/v1/oidc/") =>
                    {
                        oidc(&req, &st, t)
                    }
                    _ => handle(&mut req, &st, &tokens, port),
                };
                let resp = tiny_http::Response::from_data(body)
                    .with_status_code(code)
                    .with_header(
                        "Content-Type: application/json"
                            .parse::<tiny_http::Header>()
                            .unwrap(),
                    );
                let _ = req.respond(resp);
            }
        });
        NpmRegistry {
            server,
            thread: Some(thread),
            port,
            state,
            log,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

impl Drop for NpmRegistry {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A request as the shared log records it: a publish (`PUT`) is the one
/// mutation; reads, GitHub's ID token and the exchange for a short-lived
/// token change nothing the registry holds.
fn call_of(req: &tiny_http::Request) -> Call {
    let path = req.url().split('?').next().unwrap_or("");
    if path.starts_with("/github/") {
        return Call::new("oidc", "token", "npm:127.0.0.1", false);
    }
    if let Some(package) = path.strip_prefix("/-/npm/v1/oidc/token/exchange/package/") {
        return Call::new("npm", "oidc-exchange", &package.replace("%2f", "/"), false);
    }
    let name = path
        .trim_start_matches('/')
        .replace("%2f", "/")
        .replace("%2F", "/");
    let method = req.method().as_str().to_string();
    let mutating = method == "PUT";
    Call::new("npm", &method, &name, mutating)
}

/// GitHub's ID token endpoint and the registry's exchange.
fn oidc(req: &tiny_http::Request, state: &Mutex<State>, t: &Trusted) -> (u16, Vec<u8>) {
    let auth = req
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .map(|h| h.value.to_string())
        .unwrap_or_default();
    let url = req.url().to_string();
    if url.starts_with("/github/token") {
        let audience = url
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("audience="))
            .unwrap_or("");
        if auth != format!("Bearer {}", t.request_token) {
            return error(401, "bad request token");
        }
        if audience != "npm%3A127.0.0.1" && audience != "npm:127.0.0.1" {
            return error(400, &format!("unexpected audience {audience}"));
        }
        return (200, json!({ "value": t.id_token }).to_string().into_bytes());
    }
    let Some(package) = url.strip_prefix("/-/npm/v1/oidc/token/exchange/package/") else {
        return error(404, "Not found");
    };
    if req.method() != &tiny_http::Method::Post || auth != format!("Bearer {}", t.id_token) {
        return message(401, "OIDC token exchange error - invalid token");
    }
    let name = package.replace("%2f", "/").replace("%2F", "/");
    let mut st = state.lock().unwrap();
    // npm does not say which: no such package, or no trusted publisher
    // matching this repository and workflow.
    if !st.packuments.contains_key(&name) || !st.trusted.contains(&name) {
        return message(404, "OIDC token exchange error - package not found");
    }
    st.exchanged.push(name);
    (201, json!({ "token": t.minted }).to_string().into_bytes())
}

/// The exchange's error body, as npm's CLI reads it (`body.message`).
fn message(code: u16, message: &str) -> (u16, Vec<u8>) {
    (code, json!({ "message": message }).to_string().into_bytes())
}

fn error(code: u16, message: &str) -> (u16, Vec<u8>) {
    (code, json!({ "error": message }).to_string().into_bytes())
}

fn handle(
    req: &mut tiny_http::Request,
    state: &Mutex<State>,
    tokens: &[String],
    port: u16,
) -> (u16, Vec<u8>) {
    let path = req.url().split('?').next().unwrap_or("").to_string();
    let name = path
        .trim_start_matches('/')
        .replace("%2f", "/")
        .replace("%2F", "/");
    let auth = req
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .map(|h| h.value.to_string())
        .unwrap_or_default();
    match req.method() {
        tiny_http::Method::Get => {
            let st = state.lock().unwrap();
            if let Some((_, file)) = name.split_once("/-/") {
                return match st.tarballs.get(file) {
                    Some(t) => (200, t.clone()),
                    None => error(404, "Not found"),
                };
            }
            match st.packuments.get(&name) {
                Some(p) => (200, p.to_string().into_bytes()),
                None => error(404, "Not found"),
            }
        }
        tiny_http::Method::Put => {
            let mut body = String::new();
            if req.as_reader().read_to_string(&mut body).is_err() {
                return error(400, "unreadable body");
            }
            let mut st = state.lock().unwrap();
            st.authorizations.push(auth.clone());
            let doc: Value = match serde_json::from_str(&body) {
                Ok(d) => d,
                Err(e) => return error(400, &format!("invalid JSON: {e}")),
            };
            st.documents.push(doc.clone());
            if !tokens.iter().any(|t| auth == format!("Bearer {t}")) {
                return error(401, "You must be logged in to publish packages.");
            }
            match check(&name, &doc, &st, port) {
                Ok((version, tag, file, tarball)) => {
                    let mut manifest = doc["versions"][&version].clone();
                    manifest["dist"]["tarball"] =
                        format!("http://127.0.0.1:{port}/{name}/-/{file}").into();
                    let p = st.packuments.entry(name.clone()).or_insert_with(
                        || json!({ "_id": name, "name": name, "dist-tags": {}, "versions": {} }),
                    );
                    p["versions"][&version] = manifest;
                    p["dist-tags"][&tag] = version.clone().into();
                    st.tarballs.insert(file, tarball);
                    (201, json!({ "ok": true }).to_string().into_bytes())
                }
                Err((code, why)) => {
                    st.refusals.push(why.clone());
                    error(code, &why)
                }
            }
        }
        _ => error(405, "method not allowed"),
    }
}

type Accepted = (String, String, String, Vec<u8>);

fn check(name: &str, doc: &Value, st: &State, _port: u16) -> Result<Accepted, (u16, String)> {
    let bad = |m: String| Err((400, m));
    if doc["name"] != name || doc["_id"] != name {
        return bad(format!("name and _id must be `{name}`"));
    }
    let versions = doc["versions"].as_object().cloned().unwrap_or_default();
    if versions.len() != 1 {
        return bad("exactly one version must be published".into());
    }
    let (version, manifest) = versions.into_iter().next().unwrap();
    if manifest["name"] != name || manifest["version"] != version.as_str() {
        return bad("the version's manifest does not match".into());
    }
    if manifest["_id"] != format!("{name}@{version}").as_str() {
        return bad("the version's _id must be name@version".into());
    }
    if let Some(p) = st.packuments.get(name)
        && p["versions"].get(&version).is_some()
    {
        return Err((
            403,
            format!("You cannot publish over the previously published versions: {version}."),
        ));
    }
    let tags = doc["dist-tags"].as_object().cloned().unwrap_or_default();
    if tags.len() != 1 || tags.values().next().unwrap() != version.as_str() {
        return bad("dist-tags must hold one tag pointing at the version".into());
    }
    let tag = tags.keys().next().unwrap().clone();
    let attachments = doc["_attachments"].as_object().cloned().unwrap_or_default();
    let file = format!("{name}-{version}.tgz");
    if attachments.len() != 1 || !attachments.contains_key(&file) {
        return bad(format!("one attachment named {file} is required"));
    }
    let att = &attachments[&file];
    if att["content_type"].as_str().is_none() {
        return bad("the attachment has no content_type".into());
    }
    let Ok(tarball) = STANDARD.decode(att["data"].as_str().unwrap_or("")) else {
        return bad("the attachment is not base64".into());
    };
    if att["length"].as_u64() != Some(tarball.len() as u64) {
        return bad("the attachment's length is wrong".into());
    }
    let integrity = format!("sha512-{}", STANDARD.encode(Sha512::digest(&tarball)));
    if manifest["dist"]["integrity"] != integrity.as_str() {
        return bad("dist.integrity does not match the tarball".into());
    }
    let shasum: String = Sha1::digest(&tarball)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if manifest["dist"]["shasum"] != shasum.as_str() {
        return bad("dist.shasum does not match the tarball".into());
    }
    let inner = package_json(&tarball)
        .ok_or((400, "the tarball has no package/package.json".to_string()))?;
    if inner["name"] != name || inner["version"] != version.as_str() {
        return bad("the tarball's package.json does not match the document".into());
    }
    Ok((
        version,
        tag,
        file.rsplit('/').next().unwrap().to_string(),
        tarball,
    ))
}

fn package_json(tarball: &[u8]) -> Option<Value> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tarball));
    for entry in archive.entries().ok()? {
        let mut entry = entry.ok()?;
        if entry.path().ok()?.to_string_lossy() == "package/package.json" {
            let mut text = String::new();
            entry.read_to_string(&mut text).ok()?;
            return serde_json::from_str(&text).ok();
        }
    }
    None
}
