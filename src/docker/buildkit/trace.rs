//! BuildKit's progress: the `moby.buildkit.trace` messages of a build
//! (base64 protobuf `StatusResponse`s), folded into one line per step
//! (started, cached, done with its time, or failed) and the steps' output.

use crate::docker::request::Line;
use base64::Engine as _;
use bollard_buildkit_proto::google::protobuf::Timestamp;
use bollard_buildkit_proto::moby::buildkit::v1::StatusResponse;
use indexmap::IndexMap;
use prost::Message as _;
use std::collections::VecDeque;

/// Lines of a step's output kept to show when it fails.
const TAIL: usize = 30;

/// Decodes the `aux` of a `moby.buildkit.trace` message.
pub fn decode(aux: &str) -> Option<StatusResponse> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(aux).ok()?;
    StatusResponse::decode(bytes.as_slice()).ok()
}

#[derive(Debug, Default)]
struct Vertex {
    n: usize,
    name: String,
    started: Option<f64>,
    done: bool,
    cached: bool,
    error: String,
    tail: VecDeque<String>,
    partial: String,
}

impl Vertex {
    fn push_line(&mut self, line: String, emit: &mut dyn FnMut(Line<'_>)) {
        if line.is_empty() {
            return;
        }
        emit(Line::Output(&format!("#{} {line}", self.n)));
        if self.tail.len() == TAIL {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }
}

/// The state of every step seen so far.
#[derive(Debug, Default)]
pub struct Trace {
    vertices: IndexMap<String, Vertex>,
}

/// The step that failed, as BuildKit named it.
#[derive(Debug, Clone, PartialEq)]
pub struct Failed {
    pub name: String,
    pub error: String,
    pub tail: Vec<String>,
}

fn seconds(t: Option<&Timestamp>) -> Option<f64> {
    t.map(|t| t.seconds as f64 + f64::from(t.nanos) / 1e9)
}

impl Trace {
    /// Folds one status into the state, emitting what changed.
    pub fn apply(&mut self, status: StatusResponse, emit: &mut dyn FnMut(Line<'_>)) {
        for log in status.logs {
            let next = self.vertices.len() + 1;
            let entry = self.vertices.entry(log.vertex.clone()).or_default();
            if entry.n == 0 {
                entry.n = next;
            }
            entry.partial.push_str(&String::from_utf8_lossy(&log.msg));
            while let Some(at) = entry.partial.find('\n') {
                let line: String = entry.partial.drain(..=at).collect();
                let line = line.trim_end().to_string();
                entry.push_line(line, emit);
            }
        }
        for v in status.vertexes {
            let next = self.vertices.len() + 1;
            let entry = self.vertices.entry(v.digest.clone()).or_default();
            if entry.n == 0 {
                entry.n = next;
            }
            entry.name.clone_from(&v.name);
            let internal = v.name.starts_with("[internal]") || v.name.starts_with("[auth]");
            let say = |text: &str, emit: &mut dyn FnMut(Line<'_>)| {
                if internal {
                    emit(Line::Output(text));
                } else {
                    emit(Line::Step(text));
                }
            };
            if entry.started.is_none()
                && let Some(t) = seconds(v.started.as_ref())
            {
                entry.started = Some(t);
                if !v.cached && v.completed.is_none() {
                    say(&format!("#{} {}", entry.n, v.name), emit);
                }
            }
            if entry.done {
                continue;
            }
            if v.completed.is_some() || !v.error.is_empty() {
                // Output without a final newline is still output.
                let rest = std::mem::take(&mut entry.partial);
                entry.push_line(rest.trim_end().to_string(), emit);
            }
            if !v.error.is_empty() {
                entry.done = true;
                entry.error.clone_from(&v.error);
                say(&format!("#{} ERROR {}: {}", entry.n, v.name, v.error), emit);
            } else if v.cached {
                entry.done = true;
                entry.cached = true;
                say(&format!("#{} CACHED {}", entry.n, v.name), emit);
            } else if let Some(end) = seconds(v.completed.as_ref()) {
                entry.done = true;
                let took = entry.started.map_or(0.0, |s| (end - s).max(0.0));
                say(&format!("#{} DONE {} {took:.1}s", entry.n, v.name), emit);
            }
        }
    }

    /// The last step that reported an error.
    pub fn failed(&self) -> Option<Failed> {
        self.vertices
            .values()
            .filter(|v| !v.error.is_empty())
            .max_by_key(|v| v.n)
            .map(|v| {
                let mut tail: Vec<String> = v.tail.iter().cloned().collect();
                if !v.partial.trim().is_empty() {
                    tail.push(v.partial.trim_end().to_string());
                }
                Failed {
                    name: v.name.clone(),
                    error: v.error.clone(),
                    tail,
                }
            })
    }

    /// How many steps were taken from the cache, of how many.
    pub fn cached(&self) -> (usize, usize) {
        let steps = self
            .vertices
            .values()
            .filter(|v| v.done && !v.name.starts_with("[internal]"));
        let (mut cached, mut all) = (0, 0);
        for v in steps {
            all += 1;
            cached += usize::from(v.cached);
        }
        (cached, all)
    }
}

/// `[stage 2/3] RUN make` → `(Some(2), "RUN make")`: the step's number in
/// its stage and the Dockerfile instruction, to find its line.
pub fn instruction(name: &str) -> (Option<usize>, &str) {
    let Some(rest) = name.strip_prefix('[') else {
        return (None, name);
    };
    let Some((label, text)) = rest.split_once("] ") else {
        return (None, name);
    };
    let step = label
        .rsplit(' ')
        .next()
        .and_then(|s| s.split('/').next())
        .and_then(|n| n.parse().ok());
    (step, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard_buildkit_proto::moby::buildkit::v1::{Vertex as V, VertexLog};

    #[allow(clippy::unnecessary_wraps)] // fills `Option` fields
    fn at(seconds: i64, nanos: i32) -> Option<Timestamp> {
        Some(Timestamp { seconds, nanos })
    }

    #[test]
    fn steps_are_started_cached_done_and_failed_with_their_output() {
        let mut trace = Trace::default();
        let mut lines = Vec::new();
        let mut emit = |l: Line<'_>| {
            lines.push(match l {
                Line::Step(s) => format!("step {s}"),
                Line::Output(s) => format!("out {s}"),
            });
        };
        let run = V {
            digest: "b".into(),
            name: "[2/3] RUN make".into(),
            started: at(10, 0),
            ..Default::default()
        };
        let status = StatusResponse {
            vertexes: vec![
                V {
                    digest: "a".into(),
                    name: "[1/3] FROM base".into(),
                    cached: true,
                    started: at(9, 0),
                    completed: at(9, 0),
                    ..Default::default()
                },
                run.clone(),
            ],
            ..Default::default()
        };
        trace.apply(status, &mut emit);
        let output = StatusResponse {
            logs: vec![VertexLog {
                vertex: "b".into(),
                msg: b"compiling\npart".to_vec(),
                ..Default::default()
            }],
            ..Default::default()
        };
        trace.apply(output, &mut emit);
        let done = StatusResponse {
            vertexes: vec![V {
                completed: at(11, 500_000_000),
                error: "exit code: 2".into(),
                ..run
            }],
            logs: vec![VertexLog {
                vertex: "b".into(),
                msg: b"ial\n".to_vec(),
                ..Default::default()
            }],
            ..Default::default()
        };
        trace.apply(done, &mut emit);
        assert_eq!(
            lines,
            [
                "step #1 CACHED [1/3] FROM base",
                "step #2 [2/3] RUN make",
                "out #2 compiling",
                "out #2 partial",
                "step #2 ERROR [2/3] RUN make: exit code: 2",
            ]
        );
        let failed = trace.failed().unwrap();
        assert_eq!(failed.name, "[2/3] RUN make");
        assert_eq!(failed.tail, ["compiling", "partial"]);
        assert_eq!(trace.cached(), (1, 2));
    }

    #[test]
    fn step_names_give_the_instruction() {
        assert_eq!(instruction("[build 2/3] RUN make"), (Some(2), "RUN make"));
        assert_eq!(instruction("[3/3] COPY . /app"), (Some(3), "COPY . /app"));
        assert_eq!(
            instruction("[internal] load metadata"),
            (None, "load metadata")
        );
        assert_eq!(
            instruction("exporting to image"),
            (None, "exporting to image")
        );
    }

    #[test]
    fn trace_messages_decode_from_base64_protobuf() {
        let status = StatusResponse {
            vertexes: vec![V {
                digest: "d".into(),
                name: "x".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let text = base64::engine::general_purpose::STANDARD.encode(status.encode_to_vec());
        assert_eq!(decode(&text), Some(status));
        assert_eq!(decode("not base64!"), None);
    }
}
