//! The build context: walk the context directory, apply `.dockerignore` the
//! way Docker does, and stream a tar of what is left to the engine, a chunk
//! at a time (never the whole archive in memory).

use super::ignore::DockerIgnore;
use bytes::Bytes;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;

/// The name under which a generated (or out-of-context) Dockerfile travels.
/// Fixed, not random, so the context of an unchanged commit is identical and
/// the build cache hits.
pub const GENERATED: &str = ".gantry.Dockerfile";

/// Size of the chunks sent to the engine; with the channel's depth this
/// bounds the memory a build context takes, whatever its size.
const CHUNK: usize = 256 * 1024;
/// Chunks in flight between the walker and the HTTP body.
pub const DEPTH: usize = 8;

/// What to send.
#[derive(Debug)]
pub struct Context {
    pub root: PathBuf,
    pub ignore: DockerIgnore,
    /// The ignore file used, if any (for messages).
    pub ignore_file: Option<PathBuf>,
    /// A Dockerfile outside the context travels inside the tar under this
    /// name, as the Docker CLI does.
    pub extra_dockerfile: Option<(String, Vec<u8>)>,
}

/// A problem with a file of the context: bad input, exit 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextError {
    pub path: PathBuf,
    pub message: String,
    pub hint: String,
}

/// What was sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sent {
    pub files: u64,
    pub bytes: u64,
    /// Files that look like secrets and were sent (relative to the context).
    pub likely_secrets: Vec<String>,
}

/// The ignore file for a build: `<Dockerfile>.dockerignore` next to the
/// Dockerfile wins over `<context>/.dockerignore`.
pub fn ignore_file(context: &Path, dockerfile: &Path) -> Option<PathBuf> {
    let specific = PathBuf::from(format!("{}.dockerignore", dockerfile.display()));
    if specific.is_file() {
        return Some(specific);
    }
    let general = context.join(".dockerignore");
    general.is_file().then_some(general)
}

impl Context {
    /// The context exactly as the user's ignore file filters it: what
    /// BuildKit pulls through filesync, where the Dockerfile travels on its
    /// own and nothing needs to be kept for the engine.
    pub fn filtered(root: &Path, dockerfile: &Path) -> Result<Context, ContextError> {
        let ignore_path = ignore_file(root, dockerfile);
        let ignore = match &ignore_path {
            Some(p) => {
                let text = fs::read_to_string(p).map_err(|e| ContextError {
                    path: p.clone(),
                    message: format!("cannot read: {e}"),
                    hint: "make the ignore file readable".into(),
                })?;
                DockerIgnore::parse(&text).map_err(|e| ContextError {
                    path: p.clone(),
                    message: e.to_string(),
                    hint: "fix the pattern (see Docker's .dockerignore syntax)".into(),
                })?
            }
            None => DockerIgnore::parse("").map_err(|e| ContextError {
                path: root.to_path_buf(),
                message: e.to_string(),
                hint: "report this: an empty ignore file should always parse".into(),
            })?,
        };
        Ok(Context {
            root: root.to_path_buf(),
            ignore,
            ignore_file: ignore_path,
            extra_dockerfile: None,
        })
    }

    /// Reads the ignore file and keeps the Dockerfile and the ignore file
    /// (the engine needs them; the Docker CLI does the same). `generated` is a
    /// Dockerfile to send instead of the file (gantry's labels added); it
    /// travels under [`GENERATED`], as does a Dockerfile outside the context.
    /// Returns the context and the Dockerfile's name inside it.
    pub fn prepare(
        root: &Path,
        dockerfile: &Path,
        generated: Option<Vec<u8>>,
    ) -> Result<(Context, String), ContextError> {
        let Context {
            mut ignore,
            ignore_file: ignore_path,
            ..
        } = Context::filtered(root, dockerfile)?;
        let inside = dockerfile
            .strip_prefix(root)
            .ok()
            .map(crate::paths::slashed);
        let (dockerfile_name, extra) = match (generated, inside) {
            (Some(content), _) => (
                GENERATED.to_string(),
                Some((GENERATED.to_string(), content)),
            ),
            (None, Some(rel)) => (rel, None),
            (None, None) => {
                let content = fs::read(dockerfile).map_err(|e| ContextError {
                    path: dockerfile.to_path_buf(),
                    message: format!("cannot read the Dockerfile: {e}"),
                    hint: "check `dockerfile` in gantry.toml".into(),
                })?;
                (
                    GENERATED.to_string(),
                    Some((GENERATED.to_string(), content)),
                )
            }
        };
        if extra.is_none() {
            // The file the engine reads is always sent (the user's patterns
            // decide only whether it stays in the context afterwards).
            ignore.keep(&dockerfile_name);
        }
        if let Some(p) = &ignore_path
            && let Ok(rel) = p.strip_prefix(root)
        {
            ignore.keep(&crate::paths::slashed(rel));
        }
        Ok((
            Context {
                root: root.to_path_buf(),
                ignore,
                ignore_file: ignore_path,
                extra_dockerfile: extra,
            },
            dockerfile_name,
        ))
    }

    /// Writes the tar into `tx`, chunk by chunk. Runs on a blocking thread.
    pub fn stream(&self, tx: mpsc::Sender<io::Result<Bytes>>) -> Result<Sent, ContextError> {
        let writer = ChunkWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let mut tar = tar::Builder::new(writer);
        tar.mode(tar::HeaderMode::Deterministic);
        tar.follow_symlinks(false);
        let mut sent = Sent::default();
        let generated = self.extra_dockerfile.is_some();
        let result = self.walk(&mut |entry| {
            // Replaced below by a copy that also names the generated Dockerfile.
            if generated && entry.rel == ".dockerignore" {
                return Ok(());
            }
            add(&mut tar, entry, &mut sent)
        });
        let result = result.and_then(|()| {
            if let Some((name, content)) = &self.extra_dockerfile {
                append_file(&mut tar, name, content).map_err(|e| io_error(&self.root, e))?;
                // The daemon reads the Dockerfile, then drops the Dockerfile and
                // .dockerignore from the context when .dockerignore excludes them
                // (what the Docker CLI relies on too): so `COPY .` never copies
                // the generated file into the image.
                let original = fs::read(self.root.join(".dockerignore")).ok();
                let mut ignore = original.clone().unwrap_or_default();
                ignore.extend_from_slice(format!("\n{name}\n").as_bytes());
                if original.is_none() {
                    // There was no .dockerignore: the one sent here goes too.
                    ignore.extend_from_slice(b".dockerignore\n");
                }
                append_file(&mut tar, ".dockerignore", &ignore)
                    .map_err(|e| io_error(&self.root, e))?;
            }
            tar.finish().map_err(|e| io_error(&self.root, e))?;
            tar.get_mut().flush().map_err(|e| io_error(&self.root, e))
        });
        if let Err(e) = &result {
            // Abort the upload so the engine does not build a half context.
            let _ = tx.blocking_send(Err(io::Error::other(e.message.clone())));
        }
        result.map(|()| sent)
    }

    /// The paths that would be sent, in order (directories end with `/`).
    pub fn list(&self) -> Result<Vec<String>, ContextError> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            out.push(match e.kind {
                Kind::Dir => format!("{}/", e.rel),
                _ => e.rel.clone(),
            });
            Ok(())
        })?;
        Ok(out)
    }

    fn walk(
        &self,
        visit: &mut dyn FnMut(&Entry) -> Result<(), ContextError>,
    ) -> Result<(), ContextError> {
        self.walk_dir(&self.root, "", &|_| true, visit)
    }

    /// Visits what the ignore file keeps, each directory's entries in byte
    /// order of their names, a directory before what it holds (BuildKit's
    /// filesync wants exactly this order). Directories for which `descend`
    /// says no are not entered.
    pub(crate) fn walk_pruned(
        &self,
        descend: &dyn Fn(&str) -> bool,
        visit: &mut dyn FnMut(&Entry) -> Result<(), ContextError>,
    ) -> Result<(), ContextError> {
        self.walk_dir(&self.root, "", descend, visit)
    }

    fn walk_dir(
        &self,
        dir: &Path,
        rel_dir: &str,
        descend: &dyn Fn(&str) -> bool,
        visit: &mut dyn FnMut(&Entry) -> Result<(), ContextError>,
    ) -> Result<(), ContextError> {
        let reader = fs::read_dir(dir).map_err(|e| ContextError {
            path: dir.to_path_buf(),
            message: format!("cannot read directory: {e}"),
            hint: "make it readable, or exclude it in .dockerignore".into(),
        })?;
        let mut names: Vec<_> = reader
            .map(|r| r.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(|e| io_error(dir, e))?;
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let name = name.to_string_lossy();
            let rel = if rel_dir.is_empty() {
                name.to_string()
            } else {
                format!("{rel_dir}/{name}")
            };
            let meta = fs::symlink_metadata(&path).map_err(|e| io_error(&path, e))?;
            let ft = meta.file_type();
            let excluded = self.ignore.is_excluded(&rel);
            if ft.is_dir() {
                if excluded && !self.ignore.may_reinclude_under(&rel) {
                    continue;
                }
                if !excluded {
                    visit(&Entry {
                        path: path.clone(),
                        rel: rel.clone(),
                        kind: Kind::Dir,
                        meta: meta.clone(),
                    })?;
                }
                if descend(&rel) {
                    self.walk_dir(&path, &rel, descend, visit)?;
                }
                continue;
            }
            if excluded {
                continue;
            }
            let kind = if ft.is_symlink() {
                Kind::Symlink(fs::read_link(&path).map_err(|e| io_error(&path, e))?)
            } else if ft.is_file() {
                Kind::File
            } else {
                let what = if ft.is_fifo() {
                    "a named pipe"
                } else if ft.is_socket() {
                    "a socket"
                } else {
                    "a device file"
                };
                return Err(ContextError {
                    path,
                    message: format!("is {what}, which cannot be sent to the Docker Engine"),
                    hint: format!("exclude `{rel}` in .dockerignore"),
                });
            };
            visit(&Entry {
                path,
                rel,
                kind,
                meta,
            })?;
        }
        Ok(())
    }
}

pub(crate) struct Entry {
    pub(crate) path: PathBuf,
    pub(crate) rel: String,
    pub(crate) kind: Kind,
    pub(crate) meta: fs::Metadata,
}

pub(crate) enum Kind {
    File,
    Dir,
    Symlink(PathBuf),
}

fn add<W: Write>(
    tar: &mut tar::Builder<W>,
    e: &Entry,
    sent: &mut Sent,
) -> Result<(), ContextError> {
    let mut h = tar::Header::new_gnu();
    h.set_mode(e.meta.mode() & 0o7777);
    h.set_mtime(e.meta.mtime().max(0) as u64);
    h.set_uid(0);
    h.set_gid(0);
    match &e.kind {
        Kind::Dir => {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_size(0);
            tar.append_data(&mut h, format!("{}/", e.rel), io::empty())
                .map_err(|err| io_error(&e.path, err))?;
        }
        Kind::Symlink(target) => {
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            tar.append_link(&mut h, &e.rel, target)
                .map_err(|err| io_error(&e.path, err))?;
        }
        Kind::File => {
            let file = fs::File::open(&e.path).map_err(|err| ContextError {
                path: e.path.clone(),
                message: format!("cannot read: {err}"),
                hint: format!("make it readable, or exclude `{}` in .dockerignore", e.rel),
            })?;
            h.set_entry_type(tar::EntryType::Regular);
            h.set_size(e.meta.len());
            tar.append_data(&mut h, &e.rel, file)
                .map_err(|err| io_error(&e.path, err))?;
            sent.files += 1;
            sent.bytes += e.meta.len();
            if likely_secret(&e.rel, &e.path) {
                sent.likely_secrets.push(e.rel.clone());
            }
        }
    }
    Ok(())
}

fn append_file<W: Write>(tar: &mut tar::Builder<W>, name: &str, content: &[u8]) -> io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_size(content.len() as u64);
    h.set_mode(0o644);
    tar.append_data(&mut h, name, content)
}

/// Files that usually hold credentials and rarely belong in an image (the
/// rule is shared with `scan --fs`: `crate::secret_files`).
pub fn likely_secret(rel: &str, path: &Path) -> bool {
    crate::secret_files::rule(rel, path).is_some()
}

pub(crate) fn io_error(path: &Path, e: io::Error) -> ContextError {
    let hint = if e.raw_os_error() == Some(libc::ELOOP) {
        "a symbolic link points back at itself: fix or exclude it".to_string()
    } else {
        "check the file and its permissions".to_string()
    };
    ContextError {
        path: path.to_path_buf(),
        message: e.to_string(),
        hint,
    }
}

/// Buffers tar output and hands it to the HTTP body in chunks.
struct ChunkWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the Docker Engine closed the connection",
            )
        })
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (p, text) in files {
            let path = dir.path().join(p);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn the_dockerfile_and_ignore_file_are_always_sent() {
        let dir = tree(&[
            ("Dockerfile", "FROM scratch"),
            (".dockerignore", "*\n"),
            ("app.py", ""),
        ]);
        let (ctx, name) =
            Context::prepare(dir.path(), &dir.path().join("Dockerfile"), None).unwrap();
        assert_eq!(name, "Dockerfile");
        assert_eq!(ctx.list().unwrap(), [".dockerignore", "Dockerfile"]);
    }

    #[test]
    fn a_dockerfile_specific_ignore_file_wins() {
        let dir = tree(&[
            ("docker/api.Dockerfile", "FROM scratch"),
            ("docker/api.Dockerfile.dockerignore", "secret\n"),
            (".dockerignore", "app.py\n"),
            ("app.py", ""),
            ("secret", ""),
        ]);
        let (ctx, _) =
            Context::prepare(dir.path(), &dir.path().join("docker/api.Dockerfile"), None).unwrap();
        let files = ctx.list().unwrap();
        assert!(files.contains(&"app.py".to_string()), "{files:?}");
        assert!(!files.contains(&"secret".to_string()), "{files:?}");
    }

    #[test]
    fn a_fifo_in_the_context_is_a_clear_error() {
        let dir = tree(&[("Dockerfile", "FROM scratch")]);
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let (ctx, _) = Context::prepare(dir.path(), &dir.path().join("Dockerfile"), None).unwrap();
        let e = ctx.list().unwrap_err();
        assert_eq!(e.path, fifo);
        assert!(e.message.contains("named pipe"));
        assert_eq!(e.hint, "exclude `pipe` in .dockerignore");
    }

    #[test]
    fn likely_secrets_are_recognised() {
        let dir = tree(&[
            (".npmrc", "//registry.npmjs.org/:_authToken=abc"),
            ("ok/.npmrc", "save-exact=true"),
        ]);
        for s in [
            ".env",
            "api/.env.production",
            "tls/server.pem",
            "id_rsa.pub",
            "keys/app.key",
            ".aws/credentials",
        ] {
            assert!(likely_secret(s, Path::new("/nonexistent")), "{s}");
        }
        for s in [".env.example", "README.md", "environment.py"] {
            assert!(!likely_secret(s, Path::new("/nonexistent")), "{s}");
        }
        assert!(likely_secret(".npmrc", &dir.path().join(".npmrc")));
        assert!(!likely_secret("ok/.npmrc", &dir.path().join("ok/.npmrc")));
    }

    #[test]
    fn the_stream_is_a_tar_of_the_kept_files_with_links_as_links() {
        let dir = tree(&[
            ("Dockerfile", "FROM scratch"),
            ("a/b.txt", "hello"),
            (".dockerignore", "a/skip\n"),
            ("a/skip", ""),
        ]);
        std::os::unix::fs::symlink("b.txt", dir.path().join("a/link")).unwrap();
        let (ctx, _) = Context::prepare(dir.path(), &dir.path().join("Dockerfile"), None).unwrap();
        let (tx, mut rx) = mpsc::channel(DEPTH);
        let handle = std::thread::spawn(move || ctx.stream(tx));
        let mut bytes = Vec::new();
        while let Some(chunk) = rx.blocking_recv() {
            bytes.extend_from_slice(&chunk.unwrap());
        }
        let sent = handle.join().unwrap().unwrap();
        assert_eq!(sent.files, 3);
        let mut archive = tar::Archive::new(bytes.as_slice());
        let mut names = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let name = entry.path().unwrap().display().to_string();
            if name == "a/link" {
                assert_eq!(entry.header().entry_type(), tar::EntryType::Symlink);
                assert_eq!(
                    entry.link_name().unwrap().unwrap().display().to_string(),
                    "b.txt"
                );
            }
            names.push(name);
        }
        assert_eq!(
            names,
            [".dockerignore", "Dockerfile", "a/", "a/b.txt", "a/link"]
        );
    }
}
