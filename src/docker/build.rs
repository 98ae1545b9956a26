//! One image build through the Docker Engine API, with BuildKit (see
//! `buildkit`) or the classic builder, streaming the context and the
//! builder's output.

use super::buildkit::{self, http::Endpoint};
use super::context::{self, Context, Sent};
use super::dockerfile;
use super::engine;
use super::request::{Failure, Line, Request, line_in};
use bollard::Docker;
use bollard::models::ImageId;
use bollard::query_parameters::{BuildImageOptions, BuilderVersion, TagImageOptions};
use futures_util::StreamExt;
use regex::Regex;
use std::collections::{HashMap, VecDeque};
use std::sync::LazyLock;
use tokio::sync::mpsc;

/// Lines of builder output kept to show when a step fails.
const TAIL: usize = 30;

/// Which builder of the engine builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Builder {
    BuildKit,
    Classic,
}

/// What the engine builds with, found once per run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Engine {
    pub builder: Builder,
    /// BuildKit's API on `/grpc`: a solve with the context through the
    /// session's filesync; otherwise a tar on `/build`.
    pub solve: bool,
    /// Images live in containerd: multi-platform images and cache export.
    pub containerd_store: bool,
}

impl Engine {
    pub const CLASSIC: Engine = Engine {
        builder: Builder::Classic,
        solve: false,
        containerd_store: false,
    };

    /// Whether several platforms can make one image (an index).
    pub fn multi_platform(&self) -> bool {
        self.builder == Builder::BuildKit && self.solve && self.containerd_store
    }

    /// Whether BuildKit can export a cache (`registry`, `gha`, `local`):
    /// the engine's BuildKit has those exporters on the containerd image
    /// store only.
    pub fn cache_export(&self) -> bool {
        self.multi_platform()
    }
}

/// The builder to use when `wanted` is asked for: BuildKit needs a Linux
/// engine speaking API 1.39 or later; a solve over `/grpc` where the engine
/// serves it, a tar on `/build` otherwise; the classic builder when neither
/// can read the context. The reason for a fallback is told once.
pub async fn choose(
    docker: &Docker,
    docker_host: Option<&str>,
    wanted: Builder,
) -> (Engine, Option<String>) {
    if wanted == Builder::Classic {
        return (Engine::CLASSIC, None);
    }
    let version = docker.version().await.ok();
    let api = version.as_ref().and_then(|v| v.api_version.clone());
    let os = version.as_ref().and_then(|v| v.os.clone());
    if let Err(why) = supports_buildkit(api.as_deref(), os.as_deref()) {
        return (
            Engine::CLASSIC,
            Some(format!("{why}: building with the classic builder")),
        );
    }
    let info = docker.info().await.ok();
    let containerd_store = info
        .and_then(|i| i.driver_status)
        .unwrap_or_default()
        .iter()
        .flatten()
        .any(|v| v.contains("containerd.snapshotter"));
    let endpoint = Endpoint::parse(docker_host);
    let api = docker.client_version().to_string();
    let grpc = buildkit::solve::available(&endpoint, &api).await;
    match (grpc, containerd_store) {
        (Ok(()), _) => (
            Engine {
                builder: Builder::BuildKit,
                solve: true,
                containerd_store,
            },
            None,
        ),
        (Err(why), false) => (
            Engine {
                builder: Builder::BuildKit,
                solve: false,
                containerd_store,
            },
            Some(format!(
                "the engine does not serve BuildKit's API on /grpc ({why}): sending the context as a tar on /build"
            )),
        ),
        // The engine's BuildKit cannot read a context sent with the build
        // request when images live in containerd (moby/moby#47717).
        (Err(why), true) => (
            Engine::CLASSIC,
            Some(format!(
                "the engine does not serve BuildKit's API on /grpc ({why}) and keeps images in the containerd image store, where BuildKit cannot read a context sent on /build (moby/moby#47717): building with the classic builder"
            )),
        ),
    }
}

fn supports_buildkit(api: Option<&str>, os: Option<&str>) -> Result<(), String> {
    let minor = api
        .and_then(|a| a.strip_prefix("1."))
        .and_then(|m| m.parse::<u32>().ok());
    match (minor, os) {
        (_, Some(os)) if !os.eq_ignore_ascii_case("linux") => {
            Err(format!("the {os} engine has no BuildKit"))
        }
        (Some(m), _) if m < 39 => Err(format!(
            "the engine speaks API 1.{m}, BuildKit builds need 1.39 or later"
        )),
        (None, _) => Err("the engine did not say its API version".into()),
        _ => Ok(()),
    }
}
#[derive(Debug, Clone)]
pub struct Built {
    pub image_id: String,
    pub sent: Sent,
    pub builder: Builder,
    /// Steps taken from the cache, of all steps (BuildKit only).
    pub cached: Option<(usize, usize)>,
}

static STEP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^Step (?P<n>\d+)/\d+ : (?P<text>.*)$").expect("valid"));

/// Builds and tags one image; `progress` receives each builder line.
/// `docker_host` is where `docker` is connected (BuildKit's calls go there
/// too).
pub async fn build(
    docker: &Docker,
    docker_host: Option<&str>,
    engine: Engine,
    req: Request,
    progress: &(dyn Fn(Line<'_>) + Sync),
) -> Result<Built, Failure> {
    let builder = engine.builder;
    let (image_id, sent, cached) = match builder {
        Builder::BuildKit if engine.solve => {
            let endpoint = Endpoint::parse(docker_host);
            let api = docker.client_version().to_string();
            let (response, sent, cached) =
                buildkit::solve::build(&endpoint, &api, &req, progress).await?;
            let id = match buildkit::solve::image_id(&response, engine.containerd_store) {
                Some(id) => id,
                None => inspect_id(docker, &req.tags).await?,
            };
            (id, sent, Some(cached))
        }
        Builder::BuildKit => {
            let endpoint = Endpoint::parse(docker_host);
            let api = docker.client_version().to_string();
            let (id, sent, cached) = buildkit::build(&endpoint, &api, &req, progress).await?;
            (id, sent, Some(cached))
        }
        Builder::Classic => {
            let (id, sent) = classic(docker, &req, progress).await?;
            (id, sent, None)
        }
    };
    for reference in &req.tags {
        let (repo, tag) = reference.rsplit_once(':').unwrap_or((reference, "latest"));
        docker
            .tag_image(
                &image_id,
                Some(TagImageOptions {
                    repo: Some(repo.to_string()),
                    tag: Some(tag.to_string()),
                }),
            )
            .await
            .map_err(|e| {
                Failure::Engine(format!("cannot tag {reference}: {}", engine::message(&e)))
            })?;
    }
    Ok(Built {
        image_id,
        sent,
        builder,
        cached,
    })
}

/// The id of the image the first tag names.
async fn inspect_id(docker: &Docker, tags: &[String]) -> Result<String, Failure> {
    let missing = || Failure::Engine("the engine finished without reporting an image id".into());
    let first = tags.first().ok_or_else(missing)?;
    let image = docker
        .inspect_image(first)
        .await
        .map_err(|e| Failure::Engine(format!("cannot inspect {first}: {}", engine::message(&e))))?;
    image.id.ok_or_else(missing)
}

/// The classic builder: labels go in one generated `LABEL` line (see
/// [`dockerfile::with_labels`]), the API's `labels` only when the
/// Dockerfile cannot take it.
async fn classic(
    docker: &Docker,
    req: &Request,
    progress: &(dyn Fn(Line<'_>) + Sync),
) -> Result<(String, Sent), Failure> {
    let generated =
        dockerfile::with_labels(&req.dockerfile_text, &req.labels, req.target.as_deref());
    let api_labels: HashMap<String, String> = if generated.is_some() {
        HashMap::new()
    } else {
        req.labels.clone().into_iter().collect()
    };
    let (ctx, dockerfile_name) = Context::prepare(
        &req.context_dir,
        &req.dockerfile,
        generated.map(String::into_bytes),
    )
    .map_err(Failure::Context)?;
    let (tx, mut rx) = mpsc::channel(context::DEPTH);
    let walker = tokio::task::spawn_blocking(move || ctx.stream(tx));
    let body = bollard::body_try_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
    let mut build_args = req.build_args.clone();
    if req.inline_cache {
        build_args.insert("BUILDKIT_INLINE_CACHE".into(), "1".into());
    }
    let options = BuildImageOptions {
        dockerfile: dockerfile_name,
        t: req.tags.first().cloned(),
        buildargs: Some(build_args),
        labels: Some(api_labels),
        target: req.target.clone().unwrap_or_default(),
        platform: req.platform.clone().unwrap_or_default(),
        cachefrom: (!req.cache_from.is_empty()).then(|| req.cache_from.clone()),
        nocache: req.no_cache,
        pull: req.pull.then(|| "1".to_string()),
        rm: true,
        forcerm: true,
        version: BuilderVersion::BuilderV1,
        ..Default::default()
    };
    let mut stream = docker.build_image(options, None, Some(body));
    let mut tail: VecDeque<String> = VecDeque::new();
    let mut step: Option<(usize, String)> = None;
    let mut image_id = None;
    let mut engine_error = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(text) = info.stream {
                    for line in text.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
                        if let Some(c) = STEP.captures(line) {
                            step = Some((c["n"].parse().unwrap_or(0), c["text"].to_string()));
                            tail.clear();
                        }
                        if tail.len() == TAIL {
                            tail.pop_front();
                        }
                        tail.push_back(line.to_string());
                        if line.starts_with("Step ") {
                            progress(Line::Step(line));
                        } else {
                            progress(Line::Output(line));
                        }
                    }
                }
                if let Some(ImageId { id: Some(id) }) = info.aux {
                    image_id = Some(id);
                }
            }
            Err(e) => {
                engine_error = Some(engine::message(&e));
                break;
            }
        }
    }
    drop(stream);
    let walked = walker
        .await
        .map_err(|e| Failure::Engine(format!("the context walker stopped: {e}")))?;
    let sent = match walked {
        Ok(sent) => sent,
        // The engine hung up first: its own error says why.
        Err(e) if engine_error.is_some() && e.message.contains("closed the connection") => {
            Sent::default()
        }
        Err(e) => return Err(Failure::Context(e)),
    };
    if let Some(message) = engine_error {
        return Err(classify(message, step, tail.into(), &req.dockerfile_text));
    }
    let Some(image_id) = image_id else {
        return Err(Failure::Engine(
            "the engine finished without reporting an image id".into(),
        ));
    };
    Ok((image_id, sent))
}

fn classify(
    message: String,
    step: Option<(usize, String)>,
    tail: Vec<String>,
    dockerfile_text: &str,
) -> Failure {
    let lower = message.to_lowercase();
    if lower.contains("parse error")
        || lower.contains("unknown instruction")
        || lower.contains("dockerfile parse")
    {
        let line = line_in(&message);
        return Failure::Syntax { line, message };
    }
    // The classic builder's word for a Dockerfile without FROM: bad input
    // (exit 2 at the file), not an engine failure, as on the BuildKit path.
    if lower.contains("no build stage") || lower.contains("contains no stages") {
        let line = dockerfile::instructions(dockerfile_text)
            .first()
            .map(|i| i.line);
        return Failure::Syntax {
            line,
            message: format!("{message} (a Dockerfile starts with FROM)"),
        };
    }
    match step {
        Some((n, instruction)) => {
            let line = dockerfile::line_of_step(
                &dockerfile::instructions(dockerfile_text),
                n,
                &instruction,
            );
            Failure::Step {
                step: n,
                instruction,
                line,
                message,
                tail,
            }
        }
        None => Failure::Engine(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_run_step_points_at_its_dockerfile_line() {
        let text = "FROM base\n\nRUN echo ok\nRUN false \\\n  && true\n";
        match classify(
            "The command '/bin/sh -c false   && true' returned a non-zero code: 1".into(),
            Some((3, "RUN false   && true".into())),
            vec!["Step 3/3 : RUN false   && true".into()],
            text,
        ) {
            Failure::Step { line, step, .. } => assert_eq!((line, step), (Some(4), 3)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_dockerfile_without_from_is_bad_input_at_its_first_line() {
        match classify(
            "no build stage in current context".into(),
            None,
            vec![],
            "# syntax comment\n\nRUN echo hi\n",
        ) {
            Failure::Syntax { line, message } => {
                assert_eq!(line, Some(3));
                assert!(message.contains("starts with FROM"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn buildkit_needs_a_linux_engine_with_api_1_39() {
        assert_eq!(supports_buildkit(Some("1.41"), Some("linux")), Ok(()));
        assert!(supports_buildkit(Some("1.38"), Some("linux")).is_err());
        assert!(supports_buildkit(Some("1.45"), Some("windows")).is_err());
        assert!(supports_buildkit(None, None).is_err());
    }

    #[test]
    fn parse_errors_are_syntax_failures_with_a_line() {
        match classify(
            "dockerfile parse error line 2: unknown instruction: RUNN".into(),
            None,
            vec![],
            "",
        ) {
            Failure::Syntax { line, .. } => assert_eq!(line, Some(2)),
            other => panic!("{other:?}"),
        }
    }
}
