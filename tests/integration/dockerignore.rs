//! gantry's `.dockerignore` matcher against Docker itself. Each case builds a
//! context with the real `docker build` (classic builder, `FROM scratch`,
//! `COPY . /ctx/`), lists the files that reached the image, and compares them
//! with what a walker using `DockerIgnore` keeps. Unlike the other modules
//! this checks the library rather than the binary, because the oracle is
//! Docker, not gantry's output.

use crate::support;
use gantry::docker::ignore::DockerIgnore;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

const DOCKERFILE: &str = "FROM scratch\nCOPY . /ctx/\n";

/// A build context: files (each holding its own path), symlinks
/// (path, target) and the ignore file.
struct Tree<'a> {
    ignore: &'a str,
    files: &'a [&'a str],
    symlinks: &'a [(&'a str, &'a str)],
}

#[test]
fn docs_example_comments_and_single_level_wildcards() {
    check(Tree {
        ignore: "# comment\n*/temp*\n*/*/temp*\ntemp?\n #hash\n",
        files: &[
            "somedir/temporary.txt",
            "somedir/temp/inner.txt",
            "somedir/keep.txt",
            "somedir/subdir/temporary.txt",
            "somedir/subdir/keep.txt",
            "a/b/c/temp.x",
            "temporary.txt",
            "tempa",
            "tempb",
            "temp",
            "tempab",
            "# comment",
            "#hash",
            "keep.txt",
        ],
        symlinks: &[],
    });
}

#[test]
fn last_match_wins_exception_then_exclusion() {
    check(Tree {
        ignore: "*.md\n!README*.md\nREADME-secret.md\n",
        files: MARKDOWN,
        symlinks: &[],
    });
}

#[test]
fn last_match_wins_exclusion_then_exception() {
    check(Tree {
        ignore: "*.md\nREADME-secret.md\n!README*.md\n",
        files: MARKDOWN,
        symlinks: &[],
    });
}

const MARKDOWN: &[&str] = &[
    "README.md",
    "README-secret.md",
    "README-public.md",
    "CHANGES.md",
    "docs/guide.md",
    "docs/README.md",
    "main.go",
];

/// Excluded directories, exceptions inside them, and Docker's textual test
/// for entering a directory (`!**/*.txt` does not reach into node_modules).
#[test]
fn directories_and_exceptions_inside_them() {
    check(Tree {
        ignore: "docs\n!docs/keep.md\nnode_modules\n.git\nbuild/\n/abs\n!**/*.txt\n\
                 a/*\n!a\nvendor\n!*/keep.md\n",
        files: &[
            "docs/keep.md",
            "docs/other.md",
            "docs/notes.txt",
            "docs/sub/keep.md",
            "node_modules/pkg/index.js",
            "node_modules/readme.txt",
            ".git/HEAD",
            ".gitignore",
            "build/out.bin",
            "abs",
            "sub/abs",
            "a/x",
            "a/y/z",
            "notes.txt",
            "vendor/keep.md",
            "vendor/lib.go",
            "src/main.go",
        ],
        symlinks: &[
            ("link-to-docs", "docs"),
            ("link-to-file", "notes.txt"),
            ("docs/link", "../src"),
            ("dangling", "nowhere"),
        ],
    });
}

#[test]
fn globstar_prefix_and_suffix_forms() {
    check(Tree {
        ignore: "**/*.log\na/**/b\n**/tmp\nfoo**\n**.bak\nx/**\n**/deep/**\n",
        files: &[
            "app.log",
            "d/e/f.log",
            "d/e/f.logx",
            "a/b",
            "a/x/b",
            "a/x/y/b",
            "a/xb",
            "a/keep",
            "tmp/1",
            "q/tmp/2",
            "q/mytmp",
            "food/x",
            "foo",
            "foobar",
            "fo",
            "z.bak",
            "d/z.bak",
            "zbak",
            "x/1",
            "x/y/2",
            "deep/1",
            "k/deep/2",
            "k/deeper/3",
        ],
        symlinks: &[],
    });
}

/// Escapes and classes mean what Docker's Go regexp makes of them: `\d` is
/// a digit, `^` after a wildcard is an anchor, `[!x]` is not a negation, and
/// `[[:upper:]]*` excludes the Dockerfile too.
#[test]
fn escapes_classes_and_regexp_quirks() {
    check(Tree {
        ignore: "file\\d\na^b\nc^d*\n\\*star\nq[0-9]\nr[^0-9]\ns[!x]\nt\\?\n\
                 [[:upper:]]*\nu?v\nw[/]z\n",
        files: &[
            "file1",
            "filex",
            "a^b",
            "c^dx",
            "*star",
            "xstar",
            "q1",
            "qa",
            "ra",
            "r1",
            "s!",
            "sx",
            "sy",
            "t?",
            "tx",
            "Upper.txt",
            "lower.txt",
            "u/v",
            "uxv",
            "w/z",
            "w/y",
        ],
        symlinks: &[],
    });
}

/// An exception for a directory does not rescue a path below it that an
/// earlier line excluded by name: the walker never tried the exception on
/// the directory, so it is not inherited.
#[test]
fn exceptions_for_parents_of_excluded_paths() {
    check(Tree {
        ignore: "*\n!src\n!*.toml\nsrc/gen/out.rs\n!src/gen\nlib/a/file\n!lib\n",
        files: &[
            "Cargo.toml",
            "Cargo.lock",
            "README.md",
            "src/main.rs",
            "src/gen/out.rs",
            "src/gen/other.rs",
            "lib/a/file",
            "lib/a/other",
            "lib/b",
            "sub/x.toml",
        ],
        symlinks: &[],
    });
}

/// Byte-order mark, CRLF, blank lines, whitespace, `./`, `//`, `..`, leading
/// and trailing `/`, a lone `/`, and `!../../i`, which Go cleans into `i`.
#[test]
fn cleaning_whitespace_and_line_endings() {
    check(Tree {
        ignore: "\u{feff}./a\r\nb//c\r\n\r\nd/../e\r\n/f/\r\n   g   \r\n!  g\r\nh\r\n#h\r\n\
                 !../../i\r\n/\r\n",
        files: &[
            "a", "b/c", "b/d", "e", "d/e", "f/x", "g", "h", "#h", "i", "j",
        ],
        symlinks: &[],
    });
}

/// What gantry refuses, Docker refuses too (the build fails).
#[test]
fn invalid_patterns_fail_both() {
    for ignore in ["ok\n[abc\n", "!\n", "x\\q\n"] {
        assert!(DockerIgnore::parse(ignore).is_err(), "{ignore:?}");
        let Some(docker) = support::require_docker() else {
            return;
        };
        let ctx = tempfile::tempdir().unwrap();
        write_tree(
            ctx.path(),
            &Tree {
                ignore,
                files: &["file"],
                symlinks: &[],
            },
        );
        let image = Image::new(&docker);
        let out = image.build(ctx.path());
        assert!(
            !out.status.success(),
            "docker accepted {ignore:?}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn check(tree: Tree) {
    let Some(docker) = support::require_docker() else {
        return;
    };
    let ctx = tempfile::tempdir().unwrap();
    write_tree(ctx.path(), &tree);
    let expected = kept_by_gantry(ctx.path(), tree.ignore);
    let actual = kept_by_docker(&docker, ctx.path());
    let only_docker: Vec<_> = actual.difference(&expected).collect();
    let only_gantry: Vec<_> = expected.difference(&actual).collect();
    assert!(
        only_docker.is_empty() && only_gantry.is_empty(),
        "ignore file {:?}\nonly in the image: {only_docker:?}\nonly kept by gantry: \
         {only_gantry:?}\nimage: {actual:?}",
        tree.ignore
    );
}

fn write_tree(root: &Path, tree: &Tree) {
    for file in tree.files {
        let path = root.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, file).unwrap();
    }
    for (link, target) in tree.symlinks {
        let path = root.join(link);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, path).unwrap();
    }
    std::fs::write(root.join("Dockerfile"), DOCKERFILE).unwrap();
    std::fs::write(root.join(".dockerignore"), tree.ignore).unwrap();
}

/// What a context walker built on `DockerIgnore` keeps, plus what the
/// classic builder does to the two build files.
fn kept_by_gantry(root: &Path, ignore: &str) -> BTreeSet<String> {
    let original = DockerIgnore::parse(ignore).unwrap();
    let mut rules = original.clone();
    // The CLI's TrimBuildFilesFromExcludes, in its order.
    rules.keep(".dockerignore");
    rules.keep("Dockerfile");
    let mut kept = BTreeSet::new();
    walk(root, "", &rules, &mut kept);
    // The daemon then deletes them if the ignore file excluded them (moby
    // builder/remotecontext/detect.go, removeDockerfile).
    for name in [".dockerignore", "Dockerfile"] {
        if original.is_excluded(name) {
            kept.remove(name);
        }
    }
    kept
}

fn walk(dir: &Path, prefix: &str, rules: &DockerIgnore, kept: &mut BTreeSet<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name().into_string().unwrap();
        let rel = match prefix {
            "" => name,
            _ => format!("{prefix}/{name}"),
        };
        let kind = entry.file_type().unwrap();
        if rules.is_excluded(&rel) {
            if kind.is_dir() && rules.may_reinclude_under(&rel) {
                walk(&entry.path(), &rel, rules, kept);
            }
            continue;
        }
        if kind.is_dir() {
            walk(&entry.path(), &rel, rules, kept);
        } else {
            kept.insert(describe(&entry.path(), rel));
        }
    }
}

/// A file by its path; a symlink by its path and target.
fn describe(path: &Path, rel: String) -> String {
    match std::fs::read_link(path) {
        Ok(target) => format!("{rel} -> {}", target.display()),
        Err(_) => rel,
    }
}

/// The regular files and symlinks under /ctx in the built image.
fn kept_by_docker(docker: &Path, ctx: &Path) -> BTreeSet<String> {
    let image = Image::new(docker);
    let out = image.build(ctx);
    assert!(
        out.status.success(),
        "docker build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let container = image.create();
    let export = tempfile::tempdir().unwrap();
    let tar = export.path().join("rootfs.tar");
    run(docker, &["export", "-o", tar.to_str().unwrap(), &container]);
    let root = export.path().join("root");
    std::fs::create_dir(&root).unwrap();
    run(
        Path::new("tar"),
        &[
            "-xf",
            tar.to_str().unwrap(),
            "-C",
            root.to_str().unwrap(),
            "ctx",
        ],
    );
    let mut files = BTreeSet::new();
    collect(&root.join("ctx"), "", &mut files);
    files
}

fn collect(dir: &Path, prefix: &str, files: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let rel = match prefix {
            "" => name,
            _ => format!("{prefix}/{name}"),
        };
        if entry.file_type().unwrap().is_dir() {
            collect(&entry.path(), &rel, files);
        } else {
            files.insert(describe(&entry.path(), rel));
        }
    }
}

/// An image with a tag no parallel test shares, and its container; both are
/// removed when dropped, whatever the test's outcome.
struct Image {
    docker: PathBuf,
    tag: String,
    container: std::cell::RefCell<Option<String>>,
}

impl Image {
    fn new(docker: &Path) -> Image {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        Image {
            docker: docker.to_path_buf(),
            tag: format!("gantry-dockerignore-oracle:{}-{n}", std::process::id()),
            container: std::cell::RefCell::new(None),
        }
    }

    fn build(&self, ctx: &Path) -> Output {
        Command::new(&self.docker)
            .args(["build", "-q", "-t", &self.tag, "."])
            .current_dir(ctx)
            // The classic builder: this CLI has no buildx.
            .env("DOCKER_BUILDKIT", "0")
            .output()
            .expect("docker runs")
    }

    /// A container that is never started; scratch has no command, so one is named.
    fn create(&self) -> String {
        let id = run(&self.docker, &["create", &self.tag, "/nothing"]);
        *self.container.borrow_mut() = Some(id.clone());
        id
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        if let Some(id) = self.container.borrow_mut().take() {
            let _ = Command::new(&self.docker).args(["rm", "-f", &id]).output();
        }
        let _ = Command::new(&self.docker)
            .args(["rmi", "-f", &self.tag])
            .output();
    }
}

fn run(program: &Path, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{} {args:?}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} {args:?}:\n{}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
