//! Paths worked out as text, where the file system must not be asked (the
//! path may not exist yet, or a symbolic link must not be followed).

use std::path::{Component, Path, PathBuf};

/// `.` and `..` resolved without the file system: `a/./b/../c` is `a/c`.
pub fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A relative path with forward slashes, as `.dockerignore` patterns and
/// tar entries write it, whatever the platform's separator.
pub fn slashed(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::{lexical, slashed};
    use std::path::Path;

    #[test]
    fn dots_are_resolved_as_text() {
        assert_eq!(lexical(Path::new("/r/a/./b/../c")), Path::new("/r/a/c"));
        assert_eq!(lexical(Path::new("/r/app/..")), Path::new("/r"));
        assert_eq!(lexical(Path::new("a/../../b")), Path::new("b"));
    }

    #[test]
    fn components_are_joined_with_slashes() {
        assert_eq!(slashed(Path::new("a/./b/c.txt")), "a/b/c.txt");
        assert_eq!(slashed(Path::new("")), "");
    }
}
