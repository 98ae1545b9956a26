//! Table tests for `.dockerignore` matching. Every expectation here was read
//! from Docker's source; the ones marked "oracle" are also checked against a
//! real `docker build` in tests/integration/dockerignore.rs.

use super::*;

fn ignore(lines: &[&str]) -> DockerIgnore {
    DockerIgnore::parse(&lines.join("\n")).unwrap_or_else(|e| panic!("{lines:?} should parse: {e}"))
}

/// (patterns, path, excluded?)
const CASES: &[(&[&str], &str, bool)] = &[
    // The docs' example.
    (&["*/temp*"], "somedir/temporary.txt", true),
    (&["*/temp*"], "somedir/temp", true),
    (&["*/temp*"], "temporary.txt", false),
    (&["*/temp*"], "somedir/temp/inner.txt", true),
    (&["*/temp*"], "a/b/temporary.txt", false),
    (&["*/*/temp*"], "somedir/subdir/temporary.txt", true),
    (&["*/*/temp*"], "somedir/temporary.txt", false),
    (&["temp?"], "tempa", true),
    (&["temp?"], "temp", false),
    (&["temp?"], "tempab", false),
    (&["temp?"], "dir/tempa", false),
    (&["temp?"], "tempa/inner", true),
    // Comments only in column 1; whitespace trimmed; blank lines skipped.
    (&["# comment"], "# comment", false),
    (&[" # spaced"], "# spaced", true),
    (&["#x", "y"], "#x", false),
    (&["  spaced.txt  "], "spaced.txt", true),
    (&["", "   ", "a"], "a", true),
    (&["\tb\t"], "b", true),
    (&["*", "!  kept"], "kept", false),
    // Cleaning: `./`, `//`, `..`, leading and trailing `/`.
    (&["./a"], "a", true),
    (&["b//c"], "b/c", true),
    (&["d/../e"], "e", true),
    (&["d/../e"], "d/e", false),
    (&["/abs"], "abs", true),
    (&["/abs"], "sub/abs", false),
    (&["dir/"], "dir", true),
    (&["dir/"], "dir/file", true),
    (&["/dir/sub/"], "dir/sub/x", true),
    (&["../outside"], "outside", false),
    (&["/"], "anything", false),
    (&["."], "a", false),
    // Go cleans `!` with the pattern, so `!..` is eaten by the next `..`.
    (&["!../../a"], "a", true),
    // `*` and `?` never cross `/`, but the pattern matches parents.
    (&["*"], "a", true),
    (&["*"], "a/b", true),
    (&["*"], ".hidden", true),
    (&["*.go"], "main.go", true),
    (&["*.go"], "cmd/main.go", false),
    (&["a*b"], "a/b", false),
    (&["a?b"], "a/b", false),
    (&["a?b"], "axb", true),
    (&["?"], "ü", true),
    (&["ü*"], "über", true),
    // `**`: any number of directories, zero included.
    (&["**/*.go"], "main.go", true),
    (&["**/*.go"], "a/b/c.go", true),
    (&["**/*.go"], "a/b/c.gox", false),
    (&["a/**/b"], "a/b", true),
    (&["a/**/b"], "a/x/b", true),
    (&["a/**/b"], "a/x/y/b", true),
    (&["a/**/b"], "a/xb", false),
    (&["**"], "anything/at/all", true),
    (&["**/tmp"], "tmp", true),
    (&["**/tmp"], "x/y/tmp/file", true),
    (&["**/tmp"], "x/mytmp", false),
    // A leading `**` without `/` is a plain suffix test in patternmatcher.
    (&["**tmp"], "x/mytmp", true),
    (&["**.bak"], "d/z.bak", true),
    (&["foo/**"], "foo", false),
    (&["foo/**"], "foo/x/y", true),
    // A trailing `**` after plain text is a plain prefix test.
    (&["foo**"], "food/x", true),
    (&["a**b"], "axb", false),
    (&["a**b"], "ax/b", true),
    (&["**/foo/**"], "a/foo/b", true),
    (&["**/foo/**"], "foo/x", true),
    (&["**/foo/**"], "foo", false),
    // Escapes and classes, as the Go regexp Docker builds reads them.
    (&["\\*star"], "*star", true),
    (&["\\*star"], "xstar", false),
    (&["t\\?"], "t?", true),
    (&["t\\?"], "tx", false),
    (&["\\[lit\\]"], "[lit]", true),
    (&["file\\d"], "file1", true),
    (&["file\\d"], "filed", false),
    (&["q[0-9]"], "q5", true),
    (&["q[0-9]"], "qa", false),
    (&["[a-c]x"], "bx", true),
    (&["r[^0-9]"], "ra", true),
    (&["r[^0-9]"], "r1", false),
    (&["s[!x]"], "s!", true),
    (&["s[!x]"], "sx", true),
    (&["s[!x]"], "sy", false),
    (&["[\\]]"], "]", true),
    (&["a[/]b"], "a/b", true),
    (&["[[:upper:]]*"], "Readme", true),
    (&["[[:upper:]]*"], "readme", false),
    (&["a^b"], "a^b", true),
    (&["a^b*"], "a^bc", false),
    (&["x.y"], "xzy", false),
    (&["a+b"], "a+b", true),
    (&["x\\b"], "x", true),
    (&["x\\b"], "x\\b", false),
    (&["(paren)*"], "(paren)x", true),
    (&["{a,b}"], "a", false),
    (&["{a,b}"], "{a,b}", true),
    // `!` re-includes; the last matching line wins, both ways.
    (&["*.md", "!README.md"], "README.md", false),
    (&["*.md", "!README.md"], "CHANGES.md", true),
    (
        &["*.md", "!README*.md", "README-secret.md"],
        "README-secret.md",
        true,
    ),
    (
        &["*.md", "!README*.md", "README-secret.md"],
        "README.md",
        false,
    ),
    (
        &["*.md", "README-secret.md", "!README*.md"],
        "README-secret.md",
        false,
    ),
    (&["!a", "a"], "a", true),
    (&["a", "!a"], "a", false),
    (&["a", "!a", "a"], "a", true),
    // Directories: a match excludes everything below, unless an exception
    // re-includes inside it.
    (&["docs", "!docs/keep.md"], "docs/keep.md", false),
    (&["docs", "!docs/keep.md"], "docs/other.md", true),
    (&["docs", "!docs/keep.md"], "docs", true),
    (&["docs", "!**/*.md"], "docs/a.md", false),
    (&["node_modules"], "node_modules/pkg/index.js", true),
    (&["node_modules"], "src/node_modules/x", false),
    (&["**/node_modules"], "src/node_modules/x", true),
    (&[".git"], ".git/HEAD", true),
    (&[".git"], ".gitignore", false),
    (&["*", "!src"], "src/main.rs", false),
    (&["*", "!src"], "lib/x", true),
    (&["a", "!a/b"], "a/b/c", false),
    (&["a", "!a/b", "a/b/c"], "a/b/c", true),
    (&["build", "!build/keep", "!build"], "build/x", false),
    (&[".dockerignore"], ".dockerignore", true),
    // An exception for a parent does not rescue a path excluded by name.
    (&["dir/sub/file", "!dir"], "dir/sub/file", true),
    // The walker's order (oracle): `!a` was not tried for `a` (nothing was
    // excluded yet), so it is not inherited by `a/x`.
    (&["a/*", "!a"], "a/x", true),
    (&["a/*", "!a"], "a", false),
    // Paths are cleaned too; the root is never excluded.
    (&["a"], "./a/", true),
    (&["a/b"], "a//b", true),
    (&["*"], ".", false),
    (&["*"], "", false),
];

#[test]
fn table() {
    let mut failures = Vec::new();
    for (patterns, path, expected) in CASES {
        let got = ignore(patterns).is_excluded(path);
        if got != *expected {
            failures.push(format!("{patterns:?} {path:?}: got {got}, want {expected}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(CASES.len() >= 80, "{} cases", CASES.len());
}

/// (patterns, directory, must descend?)
const DESCEND: &[(&[&str], &str, bool)] = &[
    (&["docs", "!docs/keep.md"], "docs", true),
    (&["docs"], "docs", false),
    (&["docs", "!**/*.md"], "docs", false),
    (&["docs", "!*/keep.md"], "docs", false),
    (&["a", "!a/b/c"], "a/b", true),
    (&["a", "!a/b/c"], "a/bc", false),
    (&["a", "!a"], "a", true),
    (&["a", "!ab"], "a", false),
    (&["a", "!a/b"], "./a/", true),
];

#[test]
fn descend() {
    for (patterns, dir, expected) in DESCEND {
        let got = ignore(patterns).may_reinclude_under(dir);
        assert_eq!(got, *expected, "{patterns:?} {dir:?}");
    }
}

/// (patterns, directory, must BuildKit descend?)
const DESCEND_BUILDKIT: &[(&[&str], &str, bool)] = &[
    (&["docs", "!docs/keep.md"], "docs", true),
    (&["docs"], "docs", false),
    (&["docs", "!**/*.md"], "docs", true),
    (&["docs", "!*/keep.md"], "node_modules", true),
    (&["docs", "!docs/**"], "docs", true),
    (&["docs", "!docs/*"], "docs", true),
    (&["a", "!a/b/**"], "a/b", true),
    (&["a", "!a/b/**"], "a/c", false),
    (&["a", "!ab"], "a", false),
];

#[test]
fn descend_buildkit() {
    for (patterns, dir, expected) in DESCEND_BUILDKIT {
        let got = ignore(patterns).may_reinclude_under_buildkit(dir);
        assert_eq!(got, *expected, "{patterns:?} {dir:?}");
    }
}

/// The files a walker keeps from `files`, entering directories as Docker does.
fn walk(ignore: &DockerIgnore, files: &[&str]) -> Vec<String> {
    files
        .iter()
        .filter(|file| {
            let mut end = 0;
            // Every directory on the way must be entered.
            while let Some(i) = file[end..].find('/') {
                end += i;
                let dir = &file[..end];
                if ignore.is_excluded(dir) && !ignore.may_reinclude_under(dir) {
                    return false;
                }
                end += 1;
            }
            !ignore.is_excluded(file)
        })
        .map(std::string::ToString::to_string)
        .collect()
}

#[test]
fn a_wildcard_exception_does_not_reach_into_an_excluded_directory() {
    let files = ["docs/a.md", "docs/b.txt", "top.md"];
    let rules = ignore(&["docs", "!**/*.md"]);
    assert_eq!(walk(&rules, &files), ["top.md"]);
    // A literal exception under docs/ opens it, and then the wildcard counts.
    let rules = ignore(&["docs", "!docs/none", "!**/*.md"]);
    assert_eq!(walk(&rules, &files), ["docs/a.md", "top.md"]);
}

#[test]
fn keep_adds_an_exception_only_for_an_excluded_path() {
    let mut rules = ignore(&["*"]);
    assert!(rules.is_excluded("Dockerfile"));
    rules.keep(".dockerignore");
    rules.keep("Dockerfile");
    assert!(!rules.is_excluded("Dockerfile"));
    assert!(!rules.is_excluded(".dockerignore"));
    assert!(rules.is_excluded("other"));
    assert_eq!(rules.patterns.len(), 3);

    let mut rules = ignore(&["*.md"]);
    rules.keep("Dockerfile");
    assert_eq!(rules.patterns.len(), 1);

    let mut rules = DockerIgnore::default();
    rules.keep("Dockerfile");
    assert!(rules.is_empty());
}

#[test]
fn keep_a_nested_dockerfile_opens_its_directory() {
    let mut rules = ignore(&["build"]);
    rules.keep("build/Dockerfile");
    assert!(!rules.is_excluded("build/Dockerfile"));
    assert!(rules.is_excluded("build/other"));
    assert!(rules.may_reinclude_under("build"));
}

#[test]
fn keep_a_name_that_is_not_a_valid_pattern_literally() {
    let mut rules = ignore(&["Docker*"]);
    rules.keep("Dockerfile[");
    assert!(!rules.is_excluded("Dockerfile["));
    assert!(rules.is_excluded("Dockerfile2"));
}

#[test]
fn byte_order_mark_and_crlf_are_ignored() {
    let rules = DockerIgnore::parse("\u{feff}a\r\n#c\r\nb\r\n").unwrap();
    assert!(rules.is_excluded("a"));
    assert!(rules.is_excluded("b"));
    assert!(!rules.is_excluded("#c"));
    assert_eq!(rules.patterns.len(), 2);
}

#[test]
fn empty_files() {
    assert!(DockerIgnore::parse("").unwrap().is_empty());
    assert!(DockerIgnore::parse("# only\n\n   \n").unwrap().is_empty());
    assert!(!DockerIgnore::parse("x").unwrap().is_empty());
    assert!(!DockerIgnore::default().is_excluded("x"));
}

/// (file text, line, pattern, words in the reason)
const ERRORS: &[(&str, usize, &str, &str)] = &[
    ("ok\n[abc", 2, "[abc", "closing"),
    ("a\n\n!\n", 3, "!", "after it"),
    ("a\n!   ", 2, "!", "after it"),
    // `!/` cleans to `!`, which Docker refuses.
    ("!/", 1, "!/", "after it"),
    ("x\\", 1, "x\\", "lone"),
    ("[]", 1, "[]", "empty"),
    ("[a-]", 1, "[a-]", "empty"),
    ("# fine\n[z-a]", 2, "[z-a]", "backwards"),
    ("\\pL", 1, "\\pL", "escape"),
    ("[\\q]", 1, "[\\q]", "escape"),
    ("[*]", 1, "[*]", "inside"),
    ("[[:nope:]]", 1, "[[:nope:]]", "not a character class"),
];

#[test]
fn errors_name_the_line_and_the_pattern() {
    for (text, line, pattern, reason) in ERRORS {
        let err = DockerIgnore::parse(text).expect_err(text);
        assert_eq!(err.line, *line, "{text:?}");
        assert_eq!(err.pattern, *pattern, "{text:?}");
        assert!(err.reason.contains(reason), "{text:?}: {}", err.reason);
    }
    let err = DockerIgnore::parse("ok\n  [abc  ").unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 2: invalid pattern `[abc`: `[` has no closing `]`"
    );
}

#[test]
fn valid_corners_parse() {
    for text in [
        "#[ not a pattern",
        "[a-c]",
        "[^a]",
        "\\\\",
        "[[:^digit:]]",
        "a\\ b",
    ] {
        DockerIgnore::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    }
    assert!(ignore(&["a\\ b"]).is_excluded("a b"));
    assert!(ignore(&["[[:^digit:]]"]).is_excluded("x"));
    assert!(!ignore(&["[[:^digit:]]"]).is_excluded("1"));
}
