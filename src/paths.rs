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

#[cfg(test)]
mod tests {
    use super::lexical;
    use std::path::Path;

    #[test]
    fn dots_are_resolved_as_text() {
        assert_eq!(lexical(Path::new("/r/a/./b/../c")), Path::new("/r/a/c"));
        assert_eq!(lexical(Path::new("/r/app/..")), Path::new("/r"));
        assert_eq!(lexical(Path::new("a/../../b")), Path::new("b"));
    }
}
