//! One image build through the Docker Engine API (the classic builder; see
//! the README for why), streaming the context and the builder's output.

use super::context::{self, Context, ContextError, Sent};
use super::dockerfile;
use super::engine;
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

/// Everything one build needs, resolved.
pub struct Request {
    pub context: Context,
    /// The Dockerfile's name inside the context tar.
    pub dockerfile_name: String,
    /// The Dockerfile's text, to map failing steps to lines.
    pub dockerfile_text: String,
    /// Local references to tag, `repository:tag`; the first names the build.
    pub tags: Vec<String>,
    pub labels: HashMap<String, String>,
    pub build_args: HashMap<String, String>,
    pub target: Option<String>,
    pub platform: Option<String>,
    pub cache_from: Vec<String>,
    pub no_cache: bool,
    pub pull: bool,
}

#[derive(Debug, Clone)]
pub struct Built {
    pub image_id: String,
    pub sent: Sent,
}

/// Why a build did not produce an image.
#[derive(Debug, Clone)]
pub enum Failure {
    /// A build step failed: the pipeline says no.
    Step {
        step: usize,
        instruction: String,
        line: Option<usize>,
        message: String,
        tail: Vec<String>,
    },
    /// The Dockerfile does not parse: bad input.
    Syntax {
        line: Option<usize>,
        message: String,
    },
    /// A file of the context cannot be sent: bad input.
    Context(ContextError),
    /// The engine failed for another reason.
    Engine(String),
}

static STEP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^Step (?P<n>\d+)/\d+ : (?P<text>.*)$").expect("valid"));
static PARSE_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)line (\d+)").expect("valid"));

/// Builds and tags one image; `progress` receives each builder line.
pub async fn build(
    docker: &Docker,
    req: Request,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Built, Failure> {
    let (tx, mut rx) = mpsc::channel(context::DEPTH);
    let ctx = req.context;
    let walker = tokio::task::spawn_blocking(move || ctx.stream(tx));
    let body = bollard::body_try_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
    let options = BuildImageOptions {
        dockerfile: req.dockerfile_name.clone(),
        t: req.tags.first().cloned(),
        buildargs: Some(req.build_args),
        labels: Some(req.labels),
        target: req.target.unwrap_or_default(),
        platform: req.platform.unwrap_or_default(),
        cachefrom: (!req.cache_from.is_empty()).then_some(req.cache_from),
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
                        progress(line);
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
    Ok(Built { image_id, sent })
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
        let line = PARSE_LINE
            .captures(&message)
            .and_then(|c| c[1].parse().ok());
        return Failure::Syntax { line, message };
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
