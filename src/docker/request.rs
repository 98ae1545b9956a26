//! What one build asks for and what it can report, shared by both routes
//! (the classic builder and BuildKit): the request, cache entries, registry
//! logins, output lines and failures.

use super::context::ContextError;
use regex::Regex;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::LazyLock;

static PARSE_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)line (\d+)").expect("valid"));

/// Everything one build needs, resolved.
#[derive(Clone, Default)]
pub struct Request {
    /// The context directory.
    pub context_dir: PathBuf,
    /// The Dockerfile (inside the context or not).
    pub dockerfile: PathBuf,
    /// The Dockerfile's text, to map failing steps to lines.
    pub dockerfile_text: String,
    /// Local references to tag, `repository:tag`; the first names the build.
    pub tags: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub build_args: HashMap<String, String>,
    pub target: Option<String>,
    pub platform: Option<String>,
    pub cache_from: Vec<String>,
    /// Write cache metadata into the image (BuildKit's inline cache).
    pub inline_cache: bool,
    /// Cache exports (`registry`, `gha`, `local`): a solve on the
    /// containerd image store only.
    pub cache_to: Vec<CacheEntry>,
    pub no_cache: bool,
    pub pull: bool,
    /// Attributes for every `gha` cache entry (the runner's cache URLs and
    /// token): passed to the engine's BuildKit only.
    pub gha: HashMap<String, String>,
    /// Build secrets by id (BuildKit only).
    pub secrets: HashMap<String, Vec<u8>>,
    /// Registry logins by host, for base and cache images (BuildKit only).
    pub logins: HashMap<String, Login>,
}

#[cfg(test)]
impl Request {
    pub fn for_tests() -> Self {
        Request::default()
    }
}

/// What `cache-to` asks for.
#[derive(Debug, Default, PartialEq)]
pub struct CacheTo {
    /// `type=inline`: cache metadata in the image (BuildKit only).
    pub inline: bool,
    /// Entries exported by BuildKit itself (`registry`, `gha`, `local`),
    /// which only a solve on the containerd image store can do.
    pub exports: Vec<String>,
}

pub fn cache_to(entries: &[String]) -> CacheTo {
    let mut out = CacheTo::default();
    for entry in entries {
        if CacheEntry::parse(entry).kind == "inline" {
            out.inline = true;
        } else {
            out.exports.push(entry.clone());
        }
    }
    out
}

/// A cache import or export as BuildKit takes it (`type=registry,ref=…`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheEntry {
    pub kind: String,
    pub attrs: HashMap<String, String>,
}

impl CacheEntry {
    /// `type=registry,ref=r/app:cache,mode=max`; a bare reference is a
    /// registry cache.
    pub fn parse(text: &str) -> CacheEntry {
        let mut entry = CacheEntry::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some(("type", v)) => entry.kind = v.to_string(),
                Some((k, v)) => {
                    entry.attrs.insert(k.to_string(), v.to_string());
                }
                None => {
                    entry.attrs.insert("ref".into(), part.to_string());
                }
            }
        }
        if entry.kind.is_empty() {
            entry.kind = "registry".into();
        }
        entry
    }
}

/// A registry login for base and cache images (BuildKit's session serves it).
#[derive(Clone)]
pub struct Login {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Login({}, ***)", self.username)
    }
}

/// One line of builder output: a step (started, cached, done) or what a
/// step printed.
#[derive(Debug, Clone, Copy)]
pub enum Line<'a> {
    Step(&'a str),
    Output(&'a str),
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

/// The `line N` an engine message names.
pub fn line_in(message: &str) -> Option<usize> {
    PARSE_LINE.captures(message).and_then(|c| c[1].parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_cache_is_told_apart_from_exports() {
        let got = cache_to(&[
            "type=inline".into(),
            "type=registry,ref=r/app:cache,mode=max".into(),
            "type=gha".into(),
        ]);
        assert!(got.inline);
        assert_eq!(got.exports.len(), 2);
    }
}
