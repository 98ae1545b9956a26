//! A BuildKit build the way buildx and the Docker CLI run one on a Docker
//! Engine: BuildKit's own API on `POST /grpc` (`Control.Solve` with the
//! Dockerfile frontend, progress from `Control.Status`), while our session
//! on `/session` serves the context and the Dockerfile through filesync,
//! secrets and registry logins.
//!
//! Against the tar on `/build` this sends only the files BuildKit does not
//! already hold, keeps `.dockerignore` to gantry's own filter with the
//! Dockerfile beside the context, reads the context on the containerd image
//! store too, and reaches what the `/build` endpoint cannot: several
//! platforms in one image and cache export.

use super::filesync::Files;
use super::http::{self, Endpoint};
use super::{session, trace};
use crate::docker::context::{Context, Sent};
use crate::docker::request::{CacheEntry, Failure, Line, Request};
use bollard_buildkit_proto::moby::buildkit::v1::control_client::ControlClient;
use bollard_buildkit_proto::moby::buildkit::v1::{
    CacheOptions, CacheOptionsEntry, ListWorkersRequest, SolveRequest, StatusRequest,
};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;

/// The exporter that writes into the engine's own image store (both the
/// classic store and the containerd one).
const EXPORTER: &str = "moby";

/// How long the progress may pause after the solve before it counts as
/// over: the last lines travel right behind the solve's answer.
const SETTLE: Duration = Duration::from_millis(300);

/// Whether the engine serves BuildKit's API on `/grpc`: one call that every
/// BuildKit answers. The error says why not.
pub async fn available(endpoint: &Endpoint, api_version: &str) -> Result<(), String> {
    let channel = http::grpc_channel(endpoint, api_version).await?;
    ControlClient::new(channel)
        .list_workers(ListWorkersRequest::default())
        .await
        .map(|_| ())
        .map_err(|s| s.message().to_string())
}

/// The cache entry as the solve request takes it.
fn proto(e: &CacheEntry) -> CacheOptionsEntry {
    CacheOptionsEntry {
        r#type: e.kind.clone(),
        attrs: e.attrs.clone(),
    }
}

/// The frontend's `cache-imports` form of a cache entry.
fn json(e: &CacheEntry) -> serde_json::Value {
    serde_json::json!({ "Type": e.kind, "Attrs": e.attrs })
}

/// The solve request for `req`: the Dockerfile frontend reading the
/// session's `context` and `dockerfile` locals, the engine's exporter.
pub fn request(req: &Request, dockerfile_name: &str, session_id: &str, id: &str) -> SolveRequest {
    let mut attrs: HashMap<String, String> = HashMap::new();
    attrs.insert("filename".into(), dockerfile_name.to_string());
    for (k, v) in &req.build_args {
        attrs.insert(format!("build-arg:{k}"), v.clone());
    }
    for (k, v) in &req.labels {
        attrs.insert(format!("label:{k}"), v.clone());
    }
    if let Some(target) = &req.target {
        attrs.insert("target".into(), target.clone());
    }
    if let Some(platform) = &req.platform {
        attrs.insert("platform".into(), platform.clone());
    }
    if req.no_cache {
        // Empty: no step comes from the cache.
        attrs.insert("no-cache".into(), String::new());
    }
    if req.pull {
        attrs.insert("image-resolve-mode".into(), "pull".into());
    }
    // The runner's cache URLs and token, for `gha` entries that do not name
    // their own: the engine's BuildKit cannot read gantry's environment.
    let with_runtime = |mut e: CacheEntry| {
        if e.kind == "gha" {
            for (k, v) in &req.gha {
                e.attrs.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        e
    };
    let imports: Vec<CacheEntry> = req
        .cache_from
        .iter()
        .map(|c| with_runtime(CacheEntry::parse(c)))
        .collect();
    if !imports.is_empty() {
        // The frontend resolves the imports itself, from this attribute.
        let json: Vec<_> = imports.iter().map(json).collect();
        attrs.insert(
            "cache-imports".into(),
            serde_json::Value::Array(json).to_string(),
        );
    }
    let mut exports: Vec<CacheOptionsEntry> = req
        .cache_to
        .iter()
        .map(|e| proto(&with_runtime(e.clone())))
        .collect();
    if req.inline_cache {
        exports.push(CacheOptionsEntry {
            r#type: "inline".into(),
            attrs: HashMap::new(),
        });
    }
    let mut exporter_attrs = HashMap::new();
    if !req.tags.is_empty() {
        exporter_attrs.insert("name".into(), req.tags.join(","));
    }
    SolveRequest {
        r#ref: id.to_string(),
        // The deprecated single exporter: the only form the BuildKit of
        // Docker 20.10 reads, still honoured by later ones.
        exporter_deprecated: EXPORTER.into(),
        exporter_attrs_deprecated: exporter_attrs,
        session: session_id.to_string(),
        frontend: "dockerfile.v0".into(),
        frontend_attrs: attrs,
        cache: Some(CacheOptions {
            exports,
            imports: imports.iter().map(proto).collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A name for the client's copy of a context on the engine, the same for
/// every build of the same directory: BuildKit then asks only for changes.
fn shared_key(req: &Request) -> String {
    use sha2::Digest as _;
    let dir = std::fs::canonicalize(&req.context_dir).unwrap_or_else(|_| req.context_dir.clone());
    let digest = sha2::Sha256::digest(dir.to_string_lossy().as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Builds `req`; returns what the exporter reported, what the context held
/// and the cached steps. Tags are set by the exporter (`name`).
pub async fn build(
    endpoint: &Endpoint,
    api_version: &str,
    req: &Request,
    progress: &(dyn Fn(Line<'_>) + Sync),
) -> Result<(HashMap<String, String>, Sent, (usize, usize)), Failure> {
    let ctx = Context::filtered(&req.context_dir, &req.dockerfile).map_err(Failure::Context)?;
    let files = Files::new(ctx, &req.dockerfile);
    let provided = session::Provided {
        secrets: req.secrets.clone(),
        logins: req.logins.clone(),
        files: Some(files.clone()),
    };
    let session = session::start(endpoint, api_version, "gantry", &shared_key(req), provided)
        .await
        .map_err(Failure::Engine)?;
    let channel = http::grpc_channel(endpoint, api_version)
        .await
        .map_err(Failure::Engine)?;
    let id = session::random_id();
    let request = request(req, files.dockerfile_name(), &session.id, &id);
    let mut control = ControlClient::new(channel.clone());
    let mut watch = ControlClient::new(channel);
    let (status_tx, mut status_rx) = mpsc::channel(64);
    let status_id = id.clone();
    let watcher = tokio::spawn(async move {
        let Ok(response) = watch.status(StatusRequest { r#ref: status_id }).await else {
            return;
        };
        let mut stream = response.into_inner();
        while let Ok(Some(status)) = stream.message().await {
            if status_tx.send(status).await.is_err() {
                return;
            }
        }
    });
    let mut trace = trace::Trace::default();
    let mut emit = |l: Line<'_>| progress(l);
    let solved = {
        let mut solve = Box::pin(control.solve(request));
        loop {
            tokio::select! {
                result = &mut solve => break result,
                Some(status) = status_rx.recv() => trace.apply(status, &mut emit),
            }
        }
    };
    // What is still in flight is the last steps' lines. The BuildKit of
    // Docker 20.10 ends the stream with the build, that of Docker 26 keeps
    // it open a while (seconds): a pause ends the wait.
    while let Ok(Some(status)) = tokio::time::timeout(SETTLE, status_rx.recv()).await {
        trace.apply(status, &mut emit);
    }
    watcher.abort();
    drop(session);
    // May walk the context (when BuildKit read only part of it).
    let counted = files.clone();
    let sent = tokio::task::spawn_blocking(move || counted.outcome())
        .await
        .map_err(|e| Failure::Engine(format!("counting the context stopped: {e}")))?
        .map_err(Failure::Context)?;
    // With -v: how much of the context BuildKit really read (a rebuild of
    // an unchanged context should need next to nothing).
    let fetched = files.fetched();
    emit(Line::Output(&format!(
        "context: BuildKit fetched {} of {} files ({} bytes)",
        fetched.files, sent.files, fetched.bytes
    )));
    match solved {
        Ok(response) => Ok((
            response.into_inner().exporter_response,
            sent,
            trace.cached(),
        )),
        Err(status) => Err(super::classify(
            status.message().to_string(),
            trace.failed(),
            &req.dockerfile_text,
        )),
    }
}

/// The image the exporter wrote: on the containerd image store an image is
/// named by its manifest (or index) digest, on the classic store by its
/// config digest.
pub fn image_id<S: std::hash::BuildHasher>(
    response: &HashMap<String, String, S>,
    containerd_store: bool,
) -> Option<String> {
    let keys = if containerd_store {
        ["containerimage.digest", "containerimage.config.digest"]
    } else {
        ["containerimage.config.digest", "containerimage.digest"]
    };
    keys.iter().find_map(|k| response.get(*k).cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_entries_parse_like_buildx() {
        let e = CacheEntry::parse("type=registry,ref=127.0.0.1:5000/app:cache,mode=max");
        assert_eq!(e.kind, "registry");
        assert_eq!(e.attrs["ref"], "127.0.0.1:5000/app:cache");
        assert_eq!(e.attrs["mode"], "max");
        let bare = CacheEntry::parse("ghcr.io/o/app:cache");
        assert_eq!(
            (bare.kind.as_str(), bare.attrs["ref"].as_str()),
            ("registry", "ghcr.io/o/app:cache")
        );
    }

    #[test]
    fn the_solve_request_carries_attributes_the_session_and_the_cache() {
        let req = Request {
            tags: vec!["app:1".into(), "app:latest".into()],
            labels: [("a".to_string(), "b c".to_string())].into_iter().collect(),
            build_args: [("V".to_string(), "1".to_string())].into_iter().collect(),
            platform: Some("linux/amd64,linux/arm64".into()),
            cache_from: vec!["type=registry,ref=r/app:cache".into()],
            cache_to: vec![CacheEntry::parse("type=registry,ref=r/app:cache,mode=max")],
            inline_cache: true,
            no_cache: true,
            ..Request::for_tests()
        };
        let s = request(&req, "api.Dockerfile", "sess", "ref1");
        assert_eq!((s.r#ref.as_str(), s.session.as_str()), ("ref1", "sess"));
        assert_eq!(s.frontend, "dockerfile.v0");
        let a = &s.frontend_attrs;
        assert_eq!(a["filename"], "api.Dockerfile");
        assert_eq!(a["label:a"], "b c");
        assert_eq!(a["build-arg:V"], "1");
        assert_eq!(a["platform"], "linux/amd64,linux/arm64");
        assert_eq!(a["no-cache"], "");
        assert_eq!(
            a["cache-imports"],
            r#"[{"Attrs":{"ref":"r/app:cache"},"Type":"registry"}]"#
        );
        assert_eq!(s.exporter_deprecated, "moby");
        assert_eq!(s.exporter_attrs_deprecated["name"], "app:1,app:latest");
        let cache = s.cache.unwrap();
        let kinds: Vec<_> = cache.exports.iter().map(|e| e.r#type.as_str()).collect();
        assert_eq!(kinds, ["registry", "inline"]);
        assert_eq!(cache.exports[0].attrs["mode"], "max");
        assert_eq!(cache.imports[0].attrs["ref"], "r/app:cache");
    }

    #[test]
    fn gha_entries_get_the_runner_s_cache_attributes_and_others_do_not() {
        let runtime: HashMap<String, String> = [
            ("url".to_string(), "https://cache.example/".to_string()),
            ("token".to_string(), "runtime-token".to_string()),
        ]
        .into_iter()
        .collect();
        let req = Request {
            cache_from: vec!["type=gha,scope=api".into(), "r/app:cache".into()],
            cache_to: vec![CacheEntry::parse("type=gha,mode=max,scope=api,token=own")],
            gha: runtime,
            ..Request::for_tests()
        };
        let s = request(&req, "Dockerfile", "s", "r");
        let cache = s.cache.unwrap();
        let import = &cache.imports[0];
        assert_eq!(import.r#type, "gha");
        assert_eq!(import.attrs["url"], "https://cache.example/");
        assert_eq!(import.attrs["token"], "runtime-token");
        assert_eq!(import.attrs["scope"], "api");
        assert!(!cache.imports[1].attrs.contains_key("token"));
        // An entry's own attribute wins.
        assert_eq!(cache.exports[0].attrs["token"], "own");
        assert_eq!(cache.exports[0].attrs["url"], "https://cache.example/");
        // The frontend's copy of the imports carries them too.
        assert!(s.frontend_attrs["cache-imports"].contains("runtime-token"));
    }

    #[test]
    fn the_image_id_depends_on_the_image_store() {
        let r: HashMap<String, String> = [
            ("containerimage.digest".to_string(), "sha256:m".to_string()),
            (
                "containerimage.config.digest".to_string(),
                "sha256:c".to_string(),
            ),
        ]
        .into_iter()
        .collect();
        assert_eq!(image_id(&r, true).as_deref(), Some("sha256:m"));
        assert_eq!(image_id(&r, false).as_deref(), Some("sha256:c"));
    }
}
