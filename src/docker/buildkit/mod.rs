//! One image build with BuildKit through the Engine API.
//!
//! The design: our own build session over `POST /session` (health, registry
//! credentials, build secrets, and the context through filesync) and, where
//! the engine serves BuildKit's API on `/grpc`, a solve there (`solve`), as
//! buildx does: BuildKit pulls only the files it lacks, so the client's
//! memory stays flat and a rebuild sends almost nothing. Engines without
//! `/grpc` get `POST /build?version=2&session=<id>` streaming the same
//! filtered context tar as the classic builder (`build` below), with
//! progress and the image id on the build's JSON stream
//! (`moby.buildkit.trace`, `moby.image.id`). bollard's own BuildKit paths
//! cannot serve secrets on `/build`, and on `/grpc` hold the whole context
//! in memory and report no progress, hence our own calls in `http`.

pub mod filesync;
pub mod http;
pub mod session;
pub mod solve;
pub mod trace;

use super::context::{self, Context};
use super::request::{Failure, Line, Request};
use http::Endpoint;

/// The build's JSON message (the parts a BuildKit build sends).
#[derive(Debug, serde::Deserialize)]
struct Message {
    id: Option<String>,
    aux: Option<serde_json::Value>,
    stream: Option<String>,
    error: Option<String>,
    #[serde(rename = "errorDetail")]
    error_detail: Option<ErrorDetail>,
}

#[derive(Debug, serde::Deserialize)]
struct ErrorDetail {
    message: Option<String>,
}

/// The build query of the Engine API, as `/v<api>/build?…`.
pub fn query(req: &Request, dockerfile_name: &str, session_id: &str, api_version: &str) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("version", "2");
    q.append_pair("session", session_id);
    q.append_pair("dockerfile", dockerfile_name);
    if let Some(first) = req.tags.first() {
        q.append_pair("t", first);
    }
    let mut build_args = req.build_args.clone();
    if req.inline_cache {
        // The engine's way to write cache metadata into the image itself.
        build_args.insert("BUILDKIT_INLINE_CACHE".into(), "1".into());
    }
    q.append_pair("buildargs", &json(&build_args));
    q.append_pair("labels", &json(&req.labels));
    if !req.cache_from.is_empty() {
        q.append_pair("cachefrom", &json(&req.cache_from));
    }
    if let Some(target) = &req.target {
        q.append_pair("target", target);
    }
    if let Some(platform) = &req.platform {
        q.append_pair("platform", platform);
    }
    if req.no_cache {
        q.append_pair("nocache", "1");
    }
    if req.pull {
        q.append_pair("pull", "1");
    }
    q.append_pair("rm", "1");
    q.append_pair("forcerm", "1");
    format!("/v{api_version}/build?{}", q.finish())
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Builds `req` with BuildKit; tags are applied by the caller.
pub async fn build(
    endpoint: &Endpoint,
    api_version: &str,
    req: &Request,
    progress: &(dyn Fn(Line<'_>) + Sync),
) -> Result<(String, context::Sent, (usize, usize)), Failure> {
    // Labels travel in the API's `labels`: BuildKit keeps every file of the
    // tar, so a generated Dockerfile would land in the image.
    let (ctx, dockerfile_name) =
        Context::prepare(&req.context_dir, &req.dockerfile, None).map_err(Failure::Context)?;
    let provided = session::Provided {
        secrets: req.secrets.clone(),
        logins: req.logins.clone(),
        files: None,
    };
    let session = session::start(endpoint, api_version, "gantry", "", provided)
        .await
        .map_err(Failure::Engine)?;
    let path = query(req, &dockerfile_name, &session.id, api_version);
    let (tx, rx) = tokio::sync::mpsc::channel(context::DEPTH);
    let walker = tokio::task::spawn_blocking(move || ctx.stream(tx));
    let mut trace = trace::Trace::default();
    let mut image_id = None;
    let mut engine_error = None;
    match http::post_build(endpoint, path, rx).await {
        Err(e) => engine_error = Some(e),
        Ok(mut lines) => {
            while let Some(line) = lines.recv().await {
                let line = match line {
                    Ok(l) => l,
                    Err(e) => {
                        engine_error = Some(e);
                        break;
                    }
                };
                let Ok(msg) = serde_json::from_slice::<Message>(&line) else {
                    continue;
                };
                if let Some(e) = msg.error_detail.and_then(|d| d.message).or(msg.error) {
                    engine_error = Some(e);
                    continue;
                }
                match (msg.id.as_deref(), msg.aux) {
                    (Some("moby.buildkit.trace"), Some(serde_json::Value::String(aux))) => {
                        if let Some(status) = trace::decode(&aux) {
                            trace.apply(status, &mut |l| progress(l));
                        }
                    }
                    (Some("moby.image.id"), Some(aux)) => {
                        image_id = aux.get("ID").and_then(|v| v.as_str()).map(str::to_string);
                    }
                    _ => {}
                }
                if let Some(text) = msg.stream {
                    for l in text.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
                        progress(Line::Output(l));
                    }
                }
            }
        }
    }
    drop(session);
    let walked = walker
        .await
        .map_err(|e| Failure::Engine(format!("the context walker stopped: {e}")))?;
    let sent = match walked {
        Ok(sent) => sent,
        Err(e) if engine_error.is_some() && e.message.contains("closed the connection") => {
            context::Sent::default()
        }
        Err(e) => return Err(Failure::Context(e)),
    };
    if let Some(message) = engine_error {
        return Err(classify(message, trace.failed(), &req.dockerfile_text));
    }
    let Some(id) = image_id else {
        return Err(Failure::Engine(
            "the engine finished without reporting an image id".into(),
        ));
    };
    Ok((id, sent, trace.cached()))
}

/// What a failed BuildKit build means: a Dockerfile that does not parse (or
/// has no `FROM`) is bad input, a failing step of the Dockerfile is the
/// pipeline saying no, anything else (a base image that cannot be pulled, an
/// engine error) is the outside world failing.
pub fn classify(message: String, failed: Option<trace::Failed>, dockerfile_text: &str) -> Failure {
    let lower = message.to_lowercase();
    if lower.contains("parse error")
        || lower.contains("unknown instruction")
        || lower.contains("unknown flag")
    {
        return Failure::Syntax {
            line: super::request::line_in(&message),
            message,
        };
    }
    if lower.contains("no build stage") || lower.contains("contains no stages") {
        let first = super::dockerfile::instructions(dockerfile_text)
            .first()
            .map(|i| i.line);
        return Failure::Syntax {
            line: first,
            message: format!("{message} (a Dockerfile starts with FROM)"),
        };
    }
    match failed {
        Some(f) if !f.name.starts_with("[internal]") && f.name.starts_with('[') => {
            let (step, instruction) = trace::instruction(&f.name);
            let instructions = super::dockerfile::instructions(dockerfile_text);
            // Matched by text: a step's number counts within its stage.
            let line = super::dockerfile::line_of_step(&instructions, 0, instruction);
            let step_failed = instruction
                .split_whitespace()
                .next()
                .is_some_and(|w| !w.eq_ignore_ascii_case("FROM"));
            if !step_failed {
                return Failure::Engine(message);
            }
            Failure::Step {
                step: step.unwrap_or(0),
                instruction: instruction.to_string(),
                line,
                message,
                tail: f.tail,
            }
        }
        _ => Failure::Engine(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unnecessary_wraps)] // fills an `Option` argument
    fn failed(name: &str) -> Option<trace::Failed> {
        Some(trace::Failed {
            name: name.into(),
            error: "exit code: 1".into(),
            tail: vec!["boom".into()],
        })
    }

    #[test]
    fn a_failing_step_points_at_its_line() {
        let text = "FROM base AS build\nRUN true\n\nRUN false \\\n  && true\n";
        match classify(
            "process \"/bin/sh -c false   && true\" did not complete successfully: exit code: 1"
                .into(),
            failed("[build 3/3] RUN false   && true"),
            text,
        ) {
            Failure::Step {
                line, step, tail, ..
            } => {
                assert_eq!((line, step), (Some(4), 3));
                assert_eq!(tail, ["boom"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parse_errors_and_a_missing_from_are_bad_input() {
        match classify(
            "failed to solve with frontend dockerfile.v0: failed to create LLB definition: dockerfile parse error line 2: unknown instruction: RUNN".into(),
            None,
            "",
        ) {
            Failure::Syntax { line, .. } => assert_eq!(line, Some(2)),
            other => panic!("{other:?}"),
        }
        match classify(
            "failed to create LLB definition: no build stage in current context".into(),
            None,
            "# c\n\nRUN true\n",
        ) {
            Failure::Syntax { line, .. } => assert_eq!(line, Some(3)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_base_image_that_cannot_be_pulled_is_an_engine_failure() {
        assert!(matches!(
            classify(
                "failed to resolve source metadata: 401 Unauthorized".into(),
                failed("[internal] load metadata for 127.0.0.1:5000/base:1"),
                "FROM 127.0.0.1:5000/base:1\n",
            ),
            Failure::Engine(_)
        ));
        assert!(matches!(
            classify(
                "pull access denied".into(),
                failed("[1/2] FROM 127.0.0.1:5000/base:1"),
                "FROM 127.0.0.1:5000/base:1\n",
            ),
            Failure::Engine(_)
        ));
    }

    #[test]
    fn the_query_carries_labels_args_and_the_session() {
        let req = Request {
            tags: vec!["app:1".into(), "app:latest".into()],
            labels: [("a".to_string(), "b c".to_string())].into_iter().collect(),
            inline_cache: true,
            no_cache: true,
            ..Request::for_tests()
        };
        let q = query(&req, "Dockerfile", "s1", "1.41");
        assert!(
            q.starts_with("/v1.41/build?version=2&session=s1&dockerfile=Dockerfile&t=app%3A1&"),
            "{q}"
        );
        assert!(q.contains("labels=%7B%22a%22%3A%22b+c%22%7D"), "{q}");
        assert!(q.contains("BUILDKIT_INLINE_CACHE"), "{q}");
        assert!(q.contains("nocache=1"), "{q}");
    }
}
