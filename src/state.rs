//! Pipeline state: what each step produced, so the next step needs no wiring
//! (`deploy` deploys the digest that `push` pushed).
//!
//! Lives in `$RUNNER_TEMP/gantry/state.json` in GitHub Actions (one file per
//! job) and in `.gantry/state.json` next to `gantry.toml` locally.

use crate::error::{Error, Result};
use crate::report::Verdict;
use crate::run_context::RunContext;
use crate::step::Step;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// The commit the recorded steps ran on.
    pub revision: Option<String>,
    pub steps: IndexMap<String, StepRecord>,
    /// Annotations the steps of this job have shown: GitHub shows at most
    /// 50 in one job, across its steps.
    #[serde(default)]
    pub annotations: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub verdict: Verdict,
    pub dry_run: bool,
    /// RFC 3339, UTC.
    pub finished_at: String,
    /// The same names and values as the step's `$GITHUB_OUTPUT`.
    pub outputs: IndexMap<String, String>,
    /// `SIGINT` or `SIGTERM` when the step was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<String>,
}

/// The names of the outputs through which steps hand images on: the one
/// place they are spelled (`$GITHUB_OUTPUT` and the state use the same).
pub mod key {
    /// `image-<name>-id`: the image id `build` produced.
    pub fn image_id(image: &str) -> String {
        format!("image-{image}-id")
    }

    /// `image-<name>-tags`: the local references `build` tagged, comma-separated.
    pub fn image_tags(image: &str) -> String {
        format!("image-{image}-tags")
    }

    /// `image-<name>-digest`: `<repository>@sha256:…` as `push` pushed it.
    pub fn image_digest(image: &str) -> String {
        format!("image-{image}-digest")
    }
}

/// What `gantry build` recorded for one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub image_id: String,
    /// Local references, `codewarden/api:sha-abc1234`, in tag-rule order.
    pub references: Vec<String>,
}

impl Built {
    /// The tags alone (`sha-abc1234`), as the registry sees them.
    pub fn tags(&self) -> Vec<String> {
        self.references
            .iter()
            .filter_map(|r| r.rsplit_once(':').map(|(_, tag)| tag.to_string()))
            .collect()
    }

    /// The outputs `build` writes for `image`.
    pub fn outputs(&self, image: &str) -> [(String, String); 2] {
        [
            (key::image_id(image), self.image_id.clone()),
            (key::image_tags(image), self.references.join(",")),
        ]
    }
}

/// Creates the state folder with its `.gitignore`: locally it sits in the
/// work tree, and whatever is written there first (a gate's log, by a run
/// that may die before it saves any state) must stay out of git.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        let _ = std::fs::write(&ignore, "*\n");
    }
    Ok(())
}

/// Where the state file lives for this run.
pub fn path(ctx: &RunContext, project_root: &Path) -> PathBuf {
    match (&ctx.runner_temp, ctx.ci) {
        (Some(tmp), true) => tmp.join("gantry").join("state.json"),
        _ => project_root.join(".gantry").join("state.json"),
    }
}

impl State {
    /// Loads the state for `revision`; a file written for another commit is
    /// stale and starts over, so a step never picks up an old digest.
    pub fn load(path: &Path, revision: Option<&str>) -> Result<State> {
        let fresh = State {
            version: VERSION,
            revision: revision.map(str::to_string),
            steps: IndexMap::new(),
            annotations: 0,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(fresh),
            Err(e) => return Err(io_error(path, "read", &e)),
        };
        let state: State = serde_json::from_str(&text).map_err(|e| {
            Error::external(
                "state",
                format!("{} is not a gantry state file: {e}", path.display()),
            )
            .with_hint("delete it to start the pipeline state over")
        })?;
        if state.version != VERSION || state.revision.as_deref() != revision {
            return Ok(fresh);
        }
        Ok(state)
    }

    /// Writes atomically (temp file + rename): a killed run never leaves half a file.
    pub fn save(&self, path: &Path) -> Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        create_dir(dir).map_err(|e| io_error(dir, "create", &e))?;
        let mut tmp =
            tempfile::NamedTempFile::new_in(dir).map_err(|e| io_error(dir, "write in", &e))?;
        serde_json::to_writer_pretty(&mut tmp, self)
            .map_err(|e| Error::external("state", format!("cannot serialise the state: {e}")))?;
        tmp.persist(path)
            .map_err(|e| io_error(path, "write", &e.error))?;
        Ok(())
    }

    /// What `build` built for `image` on this commit.
    pub fn built(&self, image: &str) -> Option<Built> {
        let outputs = &self.steps.get(Step::Build.as_str())?.outputs;
        Some(Built {
            image_id: outputs.get(&key::image_id(image))?.clone(),
            references: outputs
                .get(&key::image_tags(image))
                .map(|t| {
                    t.split(',')
                        .filter(|r| !r.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// The reference `push` pushed `image` as (`<repository>@sha256:…`).
    pub fn pushed(&self, image: &str) -> Option<&str> {
        let outputs = &self.steps.get(Step::Push.as_str())?.outputs;
        outputs.get(&key::image_digest(image)).map(String::as_str)
    }

    pub fn record(&mut self, step: &str, record: StepRecord) {
        self.steps.insert(step.to_string(), record);
    }
}

fn io_error(path: &Path, what: &str, e: &std::io::Error) -> Error {
    Error::external(
        "filesystem",
        format!("cannot {what} {}: {e}", path.display()),
    )
}

/// Now, as RFC 3339 UTC.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> StepRecord {
        StepRecord {
            verdict: Verdict::Passed,
            dry_run: false,
            finished_at: now(),
            outputs: [("verdict".to_string(), "passed".to_string())]
                .into_iter()
                .collect(),
            cancelled: None,
        }
    }

    #[test]
    fn saves_and_loads_for_the_same_revision_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".gantry/state.json");
        let mut s = State::load(&path, Some("abc")).unwrap();
        s.record("gate", record());
        s.save(&path).unwrap();
        assert_eq!(State::load(&path, Some("abc")).unwrap(), s);
        assert!(State::load(&path, Some("def")).unwrap().steps.is_empty());
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".gantry/.gitignore")).unwrap(),
            "*\n"
        );
    }

    #[test]
    fn images_are_read_back_as_build_and_push_wrote_them() {
        let built = Built {
            image_id: "sha256:abc".into(),
            references: vec!["codewarden/api:sha-1".into(), "codewarden/api:main".into()],
        };
        let mut s = State::default();
        let mut build = record();
        build.outputs.extend(built.outputs("api"));
        s.record("build", build);
        let mut push = record();
        let (k, v) = (key::image_digest("api"), "r/api@sha256:d".to_string());
        push.outputs.insert(k, v);
        s.record("push", push);
        assert_eq!(s.built("api"), Some(built.clone()));
        assert_eq!(built.tags(), ["sha-1", "main"]);
        assert_eq!(s.pushed("api"), Some("r/api@sha256:d"));
        assert_eq!(s.built("web"), None);
        assert_eq!(s.pushed("web"), None);
    }

    #[test]
    fn a_corrupt_file_is_an_error_that_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, "{not json").unwrap();
        let e = State::load(&path, None).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains("state.json"));
    }
}
