//! Maps what tools print (paths relative to the gate's directory, absolute
//! paths, `file://` URLs) onto repository paths, which is what GitHub needs
//! to attach an annotation to a file.

use super::junit::Failure;
use regex::Regex;
use std::path::Path;
use std::sync::LazyLock;

/// A file position inside the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: Option<u32>,
    pub col: Option<u32>,
}

/// A path as a tool printed it, made relative to the repository root.
/// Paths outside the repository are returned unchanged.
pub fn repo_relative(path: &str, gate_dir: &Path, repo_root: &Path) -> String {
    let path = path.strip_prefix("file://").unwrap_or(path);
    let full = crate::paths::lexical(&gate_dir.join(path));
    match full.strip_prefix(repo_root) {
        Ok(rel) => rel.to_string_lossy().into_owned(),
        Err(_) => path.to_string(),
    }
}

/// Where a failed test is: the report's `file`/`line` attributes, else the
/// first `path:line` in its details that names a file in the repository
/// (the test itself for pytest and node), else its class name as a path.
pub fn of_failure(f: &Failure, gate_dir: &Path, repo_root: &Path) -> Option<Location> {
    if let Some(file) = &f.file {
        return Some(Location {
            file: repo_relative(file, gate_dir, repo_root),
            line: f.line,
            col: None,
        });
    }
    if let Some(loc) = first_in_text(&f.details, gate_dir, repo_root) {
        return Some(loc);
    }
    let class = f.classname.as_deref()?;
    ["py", "js", "mjs", "ts"].iter().find_map(|ext| {
        let candidate = format!("{}.{ext}", class.replace('.', "/"));
        gate_dir.join(&candidate).is_file().then(|| Location {
            file: repo_relative(&candidate, gate_dir, repo_root),
            line: None,
            col: None,
        })
    })
}

/// The first `path:line[:col]` in `text` whose file exists in the repository.
pub fn first_in_text(text: &str, gate_dir: &Path, repo_root: &Path) -> Option<Location> {
    static POSITION: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?:file://)?(?P<path>[\w@.+\-/]*[\w@+\-]\.[A-Za-z0-9]+):(?P<line>\d+)(?::(?P<col>\d+))?")
            .expect("valid")
    });
    POSITION.captures_iter(text).find_map(|c| {
        let path = &c["path"];
        let full = crate::paths::lexical(&gate_dir.join(path));
        if !full.starts_with(repo_root) || !full.is_file() {
            return None;
        }
        Some(Location {
            file: repo_relative(path, gate_dir, repo_root),
            line: c["line"].parse().ok(),
            col: c.name("col").and_then(|m| m.as_str().parse().ok()),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_repository_relative() {
        let root = Path::new("/repo");
        let dir = Path::new("/repo/api");
        assert_eq!(repo_relative("tests/t.py", dir, root), "api/tests/t.py");
        assert_eq!(repo_relative("/repo/web/a.js", dir, root), "web/a.js");
        assert_eq!(repo_relative("../web/./a.js", dir, root), "web/a.js");
        assert_eq!(
            repo_relative("file:///repo/api/x.mjs", dir, root),
            "api/x.mjs"
        );
        assert_eq!(repo_relative("/usr/lib/x.py", dir, root), "/usr/lib/x.py");
    }

    #[test]
    fn the_first_existing_file_in_a_stack_is_the_location() {
        let repo = tempfile::tempdir().unwrap();
        let root = repo.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("web/test")).unwrap();
        std::fs::write(root.join("web/test/a.test.js"), "").unwrap();
        let stack = format!(
            "AssertionError\n    at node:internal/x:1:2\n    at /usr/lib/node.js:5:1\n    at TestContext.<anonymous> (file://{}/web/test/a.test.js:4:30)\n",
            root.display()
        );
        let loc = first_in_text(&stack, &root.join("web"), &root).unwrap();
        assert_eq!(
            loc,
            Location {
                file: "web/test/a.test.js".into(),
                line: Some(4),
                col: Some(30)
            }
        );
        assert_eq!(first_in_text("nothing/here.py:3", &root, &root), None);
    }
}
