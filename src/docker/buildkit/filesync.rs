//! The session's FileSync service: BuildKit pulls the build context and the
//! Dockerfile from gantry instead of receiving a tar, as it does from buildx
//! and the Docker CLI.
//!
//! The protocol is fsutil's DiffCopy stream (`fsutil/types/wire.proto`,
//! `session/filesync/filesync.proto`): the client sends one STAT packet per
//! directory, file or link (a directory's entries in byte order of their
//! names, a directory before what it holds, numbered from 0 in the order
//! sent), then an empty STAT. BuildKit compares them with its copy from the
//! previous build (kept under the session's shared key) and REQuests by
//! number only the files that changed; each comes back as DATA packets and an
//! empty DATA. BuildKit ends with FIN, answered with FIN; ERR carries an
//! error either way. The request's metadata names the directory
//! (`dir-name`: the frontend's `context` or `dockerfile`) and may narrow it
//! (`include-patterns`). The `exclude-patterns` BuildKit derives from
//! `.dockerignore` are not used: gantry's own filter, the Docker CLI's exact
//! rules, decides what the context holds.

use crate::docker::context::{self, Context, ContextError, Entry, Kind, Sent};
use bollard_buildkit_proto::fsutil::types::packet::PacketType;
use bollard_buildkit_proto::fsutil::types::{Packet, Stat};
use bollard_buildkit_proto::moby::filesync::v1::file_sync_server::FileSync;
pub use bollard_buildkit_proto::moby::filesync::v1::file_sync_server::FileSyncServer;
use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tonic::{Request, Response, Status, Streaming};

/// The local source the Dockerfile frontend reads the context from.
pub const CONTEXT: &str = "context";
/// The local source it reads the Dockerfile from.
pub const DOCKERFILE: &str = "dockerfile";

/// Data per packet: small enough for any gRPC message limit; with the
/// channel's depth it bounds the memory a transfer takes.
const CHUNK: usize = 32 * 1024;
const DEPTH: usize = 16;

/// What one build serves: the filtered context and the Dockerfile.
#[derive(Clone)]
pub struct Files {
    inner: Arc<Inner>,
}

struct Inner {
    context: Context,
    dockerfile: PathBuf,
    dockerfile_name: String,
    outcome: Mutex<Outcome>,
}

#[derive(Default)]
struct Outcome {
    /// What the whole context holds, once BuildKit has listed all of it.
    sent: Option<Sent>,
    fetched: Fetched,
    error: Option<ContextError>,
}

/// The files BuildKit asked for, in all its loads of the context and the
/// Dockerfile: those it does not hold from the previous build of the same
/// directory (and the few it always fetches anew: the Dockerfile, and
/// `.dockerignore` on BuildKit 0.10 and later).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Fetched {
    pub files: u64,
    pub bytes: u64,
}

impl Files {
    /// Serves `context` as the `context` local, and the Dockerfile as the
    /// only file of the `dockerfile` local (so it reaches BuildKit even when
    /// `.dockerignore` excludes it, and never lands in the image unless the
    /// context holds it).
    pub fn new(context: Context, dockerfile: &Path) -> Self {
        let dockerfile_name = dockerfile
            .file_name()
            .map_or_else(|| "Dockerfile".into(), |n| n.to_string_lossy().into_owned());
        Files {
            inner: Arc::new(Inner {
                context,
                dockerfile: dockerfile.to_path_buf(),
                dockerfile_name,
                outcome: Mutex::new(Outcome::default()),
            }),
        }
    }

    /// The Dockerfile's name in the `dockerfile` local (the frontend's
    /// `filename`).
    pub fn dockerfile_name(&self) -> &str {
        &self.inner.dockerfile_name
    }

    /// The files BuildKit fetched so far, and their bytes.
    pub fn fetched(&self) -> Fetched {
        lock(&self.inner.outcome).fetched
    }

    /// What the context holds (its files, their bytes, likely secrets), the
    /// same on every route, or the file that could not be read.
    pub fn outcome(&self) -> Result<Sent, ContextError> {
        let outcome = lock(&self.inner.outcome);
        match (&outcome.error, &outcome.sent) {
            (Some(e), _) => Err(e.clone()),
            (None, Some(sent)) => Ok(sent.clone()),
            // BuildKit read only part of it (a Dockerfile whose COPY names
            // its sources narrows the load): the rest is counted here,
            // from what gantry would have listed. An entry that cannot be
            // read did not stop this build, so it ends the count quietly.
            (None, None) => {
                drop(outcome);
                let mut sent = Sent::default();
                let _ = self.inner.context.walk_pruned(&|_| true, &mut |e| {
                    count(e, &mut sent);
                    Ok(())
                });
                Ok(sent)
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking walker thread aborts the process (panic = "abort"), so a
    // poisoned lock still holds consistent data.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

type Out = mpsc::Sender<Result<Packet, Status>>;
type Ids = Arc<Mutex<HashMap<u32, PathBuf>>>;

#[tonic::async_trait]
impl FileSync for Files {
    type DiffCopyStream =
        Pin<Box<dyn futures_util::Stream<Item = Result<Packet, Status>> + Send + 'static>>;

    async fn diff_copy(
        &self,
        request: Request<Streaming<Packet>>,
    ) -> Result<Response<Self::DiffCopyStream>, Status> {
        let header = |key: &str| -> Vec<String> {
            request
                .metadata()
                .get_all(key)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(decode_header)
                .collect()
        };
        let dir = header("dir-name").into_iter().next().unwrap_or_default();
        // BuildKit 0.10 and later (Docker 23+) name the single files they
        // want (`.dockerignore`, the Dockerfile) as `followpaths`, which
        // fsutil adds to the include patterns. Ignored, they made the
        // `.dockerignore` load fetch the whole context, on every build.
        let mut patterns = header("include-patterns");
        patterns.extend(follow(&self.inner.context.root, &header("followpaths")));
        let includes = Includes::new(&patterns);
        let dockerfile = match dir.as_str() {
            CONTEXT => false,
            DOCKERFILE => true,
            other => {
                return Err(Status::not_found(format!(
                    "no access allowed to dir {other:?}"
                )));
            }
        };
        let mut incoming = request.into_inner();
        let (tx, mut rx) = mpsc::channel(DEPTH);
        let ids: Ids = Arc::default();
        let inner = self.inner.clone();
        let (walk_tx, walk_ids) = (tx.clone(), ids.clone());
        tokio::task::spawn_blocking(move || {
            if dockerfile {
                inner.walk_dockerfile(&includes, &walk_ids, &walk_tx);
            } else {
                inner.walk_context(&includes, &walk_ids, &walk_tx);
            }
        });
        // One thread reads the requested files, one at a time.
        let (want, wanted) = std::sync::mpsc::channel::<(u32, PathBuf)>();
        let data_tx = tx.clone();
        let counted = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            for (id, path) in wanted {
                let Some(bytes) = send_file(id, &path, &data_tx) else {
                    break;
                };
                let mut outcome = lock(&counted.outcome);
                outcome.fetched.files += 1;
                outcome.fetched.bytes += bytes;
            }
        });
        tokio::spawn(async move {
            loop {
                let Ok(Some(packet)) = incoming.message().await else {
                    break;
                };
                match packet.r#type() {
                    PacketType::PacketReq => {
                        let path = lock(&ids).remove(&packet.id);
                        let Some(path) = path else {
                            let _ = tx
                                .send(Err(Status::invalid_argument(format!(
                                    "invalid file id {}",
                                    packet.id
                                ))))
                                .await;
                            break;
                        };
                        if want.send((packet.id, path)).is_err() {
                            break;
                        }
                    }
                    PacketType::PacketFin => {
                        // BuildKit has all it asked for.
                        let _ = tx.send(Ok(packet_of(PacketType::PacketFin))).await;
                        break;
                    }
                    PacketType::PacketErr => break,
                    _ => {}
                }
            }
        });
        let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
        Ok(Response::new(Box::pin(stream)))
    }

    type TarStreamStream = Self::DiffCopyStream;

    async fn tar_stream(
        &self,
        _: Request<Streaming<Packet>>,
    ) -> Result<Response<Self::TarStreamStream>, Status> {
        Err(Status::unimplemented("tar_stream"))
    }
}

fn packet_of(kind: PacketType) -> Packet {
    Packet {
        r#type: kind as i32,
        ..Default::default()
    }
}

/// Sends a file's bytes as DATA packets and the closing empty one; the
/// bytes sent, or `None` when BuildKit has gone or the file failed.
fn send_file(id: u32, path: &Path, tx: &Out) -> Option<u64> {
    let data = |bytes: Vec<u8>| Packet {
        r#type: PacketType::PacketData as i32,
        id,
        data: bytes,
        ..Default::default()
    };
    let mut bytes = 0;
    match fs::File::open(path) {
        Ok(mut file) => loop {
            let mut buf = vec![0u8; CHUNK];
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    buf.truncate(n);
                    bytes += n as u64;
                    tx.blocking_send(Ok(data(buf))).ok()?;
                }
                Err(e) => {
                    let _ =
                        tx.blocking_send(Err(Status::internal(format!("{}: {e}", path.display()))));
                    return None;
                }
            }
        },
        Err(e) => {
            let _ = tx.blocking_send(Err(Status::internal(format!("{}: {e}", path.display()))));
            return None;
        }
    }
    tx.blocking_send(Ok(data(Vec::new()))).ok()?;
    Some(bytes)
}

/// fsutil's `FollowLinks` inside the context: each path, and where a part
/// of it is a symbolic link, the link and the same path through its target
/// (so a linked `.dockerignore` arrives with the file it points to).
fn follow(root: &Path, paths: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for p in paths {
        follow_one(root, p, &mut out);
    }
    out
}

fn follow_one(root: &Path, path: &str, out: &mut Vec<String>) {
    let parts = clean(path);
    for at in 1..=parts.len() {
        let current = parts[..at].join("/");
        let Ok(target) = fs::read_link(root.join(&current)) else {
            continue;
        };
        // A link seen before is a loop (or done): its path is enough.
        if out.contains(&current) {
            return;
        }
        out.push(current);
        let base = if target.is_absolute() {
            String::new()
        } else {
            parts[..at - 1].join("/")
        };
        let rest = parts[at..].join("/");
        let next = format!("{base}/{}/{rest}", target.to_string_lossy());
        follow_one(root, &next, out);
        return;
    }
    let path = parts.join("/");
    if !path.is_empty() && !out.contains(&path) {
        out.push(path);
    }
}

/// A path's parts inside the context: `.` dropped, `..` taken back, never
/// above the root (as Go's `filepath.Join("/", …)` cleans it).
fn clean(path: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts
}

impl Inner {
    fn walk_dockerfile(&self, includes: &Includes, ids: &Ids, tx: &Out) {
        let name = &self.dockerfile_name;
        if includes.is_empty() || includes.matches(name) {
            // Followed like the frontend's `followpaths`: a linked
            // Dockerfile is sent as the file it points to.
            match fs::metadata(&self.dockerfile) {
                Ok(meta) => {
                    lock(ids).insert(0, self.dockerfile.clone());
                    if tx
                        .blocking_send(Ok(stat_packet(name, &meta, None)))
                        .is_err()
                    {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(Status::not_found(format!(
                        "{}: {e}",
                        self.dockerfile.display()
                    ))));
                    return;
                }
            }
        }
        let _ = tx.blocking_send(Ok(packet_of(PacketType::PacketStat)));
    }

    fn walk_context(&self, includes: &Includes, ids: &Ids, tx: &Out) {
        let root = &self.context.root;
        let mut emitted: Vec<String> = Vec::new();
        let mut next: u32 = 0;
        let mut sent = Sent::default();
        // BuildKit may hang up before the end (a transfer it no longer
        // needs); if it needed it, the solve says why.
        let gone = std::cell::Cell::new(false);
        let send = |packet: Packet| -> Result<(), ContextError> {
            tx.blocking_send(Ok(packet)).map_err(|_| {
                gone.set(true);
                ContextError {
                    path: root.clone(),
                    message: "BuildKit stopped reading".into(),
                    hint: String::new(),
                }
            })
        };
        let result = self
            .context
            .walk_pruned(&|dir| includes.may_hold(dir), &mut |e: &Entry| {
                if !includes.is_empty() && !includes.matches(&e.rel) {
                    return Ok(());
                }
                // A directory the ignore file excludes still comes first
                // when it holds a file it re-includes: BuildKit wants every
                // parent before its children.
                emitted.retain(|d| e.rel.starts_with(&format!("{d}/")));
                let parents: Vec<&str> = e
                    .rel
                    .match_indices('/')
                    .map(|(at, _)| &e.rel[..at])
                    .collect();
                for parent in parents.iter().skip(emitted.len()) {
                    let path = root.join(parent);
                    let meta =
                        fs::symlink_metadata(&path).map_err(|err| context::io_error(&path, err))?;
                    send(stat_packet(parent, &meta, None))?;
                    emitted.push((*parent).to_string());
                    next += 1;
                }
                let link = match &e.kind {
                    Kind::Symlink(target) => Some(target.as_path()),
                    _ => None,
                };
                // The id is known before its STAT leaves: BuildKit may ask
                // for the file as soon as it reads the STAT, before this
                // thread runs again (seen under load as "invalid file id").
                if matches!(e.kind, Kind::File) {
                    lock(ids).insert(next, e.path.clone());
                }
                send(stat_packet(&e.rel, &e.meta, link))?;
                match e.kind {
                    Kind::Dir => emitted.push(e.rel.clone()),
                    Kind::File => count(e, &mut sent),
                    Kind::Symlink(_) => {}
                }
                next += 1;
                Ok(())
            });
        match result {
            Ok(()) => {
                let _ = send(packet_of(PacketType::PacketStat));
                if includes.is_empty() {
                    lock(&self.outcome).sent = Some(sent);
                }
            }
            Err(_) if gone.get() => {}
            Err(e) => {
                let _ = tx.blocking_send(Ok(Packet {
                    r#type: PacketType::PacketErr as i32,
                    data: format!("{}: {}", e.path.display(), e.message).into_bytes(),
                    ..Default::default()
                }));
                lock(&self.outcome).error.get_or_insert(e);
            }
        }
    }
}

/// Counts a regular file of the context.
fn count(e: &Entry, sent: &mut Sent) {
    if matches!(e.kind, Kind::File) {
        sent.files += 1;
        sent.bytes += e.meta.len();
        if context::likely_secret(&e.rel, &e.path) {
            sent.likely_secrets.push(e.rel.clone());
        }
    }
}

/// Go's `os.FileMode` bits, which fsutil's `Stat.mode` carries.
const GO_DIR: u32 = 1 << 31;
const GO_SYMLINK: u32 = 1 << 27;
const GO_SETUID: u32 = 1 << 23;
const GO_SETGID: u32 = 1 << 22;
const GO_STICKY: u32 = 1 << 20;

/// A STAT packet for `rel`. Owners are root, as in the tar the Docker CLI
/// sends: the image does not depend on who checked the files out.
fn stat_packet(rel: &str, meta: &fs::Metadata, link: Option<&Path>) -> Packet {
    let unix = meta.mode();
    let mut mode = unix & 0o777;
    for (bit, go) in [
        (0o4000, GO_SETUID),
        (0o2000, GO_SETGID),
        (0o1000, GO_STICKY),
    ] {
        if unix & bit != 0 {
            mode |= go;
        }
    }
    let ft = meta.file_type();
    if ft.is_dir() {
        mode |= GO_DIR;
    } else if ft.is_symlink() {
        mode |= GO_SYMLINK;
    }
    Packet {
        r#type: PacketType::PacketStat as i32,
        stat: Some(Stat {
            path: rel.to_string(),
            mode,
            size: if ft.is_dir() { 0 } else { meta.len() as i64 },
            mod_time: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            linkname: link
                .map(|l| l.to_string_lossy().into_owned())
                .unwrap_or_default(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// BuildKit escapes header values that are not printable ASCII.
fn decode_header(value: &str) -> String {
    if !value.contains('%') {
        return value.to_string();
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `include-patterns`: a path is included when a pattern matches it or one
/// of its parents (fsutil's rule); the frontend uses them to read only
/// `.dockerignore` or only the Dockerfile.
struct Includes(Vec<Vec<glob::Pattern>>);

impl Includes {
    fn new(patterns: &[String]) -> Self {
        Includes(
            patterns
                .iter()
                .map(|p| {
                    p.trim_start_matches("./")
                        .trim_start_matches('/')
                        .split('/')
                        .filter(|c| !c.is_empty() && *c != ".")
                        .map(|c| {
                            glob::Pattern::new(c).unwrap_or_else(|_| {
                                glob::Pattern::new(&glob::Pattern::escape(c)).expect("escaped")
                            })
                        })
                        .collect()
                })
                .filter(|p: &Vec<glob::Pattern>| !p.is_empty())
                .collect(),
        )
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn any_depth(pattern: &[glob::Pattern]) -> bool {
        pattern.iter().any(|c| c.as_str() == "**")
    }

    fn matches(&self, rel: &str) -> bool {
        let parts: Vec<&str> = rel.split('/').collect();
        self.0.iter().any(|p| {
            if Self::any_depth(p) {
                return true;
            }
            parts.len() >= p.len() && p.iter().zip(&parts).all(|(c, part)| c.matches(part))
        })
    }

    /// Whether anything under `dir` may be included.
    fn may_hold(&self, dir: &str) -> bool {
        if self.is_empty() {
            return true;
        }
        let parts: Vec<&str> = dir.split('/').collect();
        self.0
            .iter()
            .any(|p| Self::any_depth(p) || p.iter().zip(&parts).all(|(c, part)| c.matches(part)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_patterns_take_a_path_and_what_it_holds() {
        let inc = Includes::new(&["./.dockerignore".into(), "api/*.toml".into()]);
        assert!(inc.matches(".dockerignore"));
        assert!(inc.matches("api/app.toml"));
        assert!(!inc.matches("api/app.py"));
        assert!(!inc.matches("Dockerfile"));
        assert!(inc.may_hold("api"));
        assert!(!inc.may_hold("web"));
        assert!(Includes::new(&[]).may_hold("web"));
    }

    #[test]
    fn modes_are_go_file_modes() {
        let dir = tempfile::tempdir().unwrap();
        let meta = fs::symlink_metadata(dir.path()).unwrap();
        let stat = stat_packet("d", &meta, None).stat.unwrap();
        assert_eq!(stat.mode & GO_DIR, GO_DIR);
        assert_eq!(stat.size, 0);
        std::os::unix::fs::symlink("target", dir.path().join("l")).unwrap();
        let meta = fs::symlink_metadata(dir.path().join("l")).unwrap();
        let stat = stat_packet("l", &meta, Some(Path::new("target")))
            .stat
            .unwrap();
        assert_eq!(stat.mode & GO_SYMLINK, GO_SYMLINK);
        assert_eq!(stat.linkname, "target");
        assert_eq!((stat.uid, stat.gid), (0, 0));
    }

    #[test]
    fn escaped_header_values_are_decoded() {
        assert_eq!(decode_header("caf%C3%A9"), "café");
        assert_eq!(decode_header("plain"), "plain");
        assert_eq!(decode_header("100%"), "100%");
    }

    /// `followpaths` (how BuildKit 0.10+ asks for `.dockerignore` alone)
    /// narrow the walk to the named file, and to a link's target with it.
    #[test]
    fn follow_paths_take_the_named_files_and_link_targets_only() {
        let dir = tempfile::tempdir().unwrap();
        for p in ["Dockerfile", "conf/ignore", "src/a.txt", "src/b.txt"] {
            let path = dir.path().join(p);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "x").unwrap();
        }
        std::os::unix::fs::symlink("conf/ignore", dir.path().join(".dockerignore")).unwrap();
        std::os::unix::fs::symlink("loop", dir.path().join("loop")).unwrap();
        let root = dir.path();
        assert_eq!(follow(root, &["Dockerfile".into()]), ["Dockerfile"]);
        assert_eq!(
            follow(root, &["./.dockerignore".into()]),
            [".dockerignore", "conf/ignore"]
        );
        assert_eq!(follow(root, &["loop/x".into()]), ["loop"]);
        assert_eq!(follow(root, &["../../Dockerfile".into()]), ["Dockerfile"]);
        let ctx = Context::filtered(root, &root.join("Dockerfile")).unwrap();
        let files = Files::new(ctx, &root.join("Dockerfile"));
        let (tx, mut rx) = mpsc::channel(1024);
        let ids: Ids = Arc::default();
        let includes = Includes::new(&follow(root, &[".dockerignore".into()]));
        files.inner.walk_context(&includes, &ids, &tx);
        drop(tx);
        let mut paths = Vec::new();
        while let Ok(Ok(p)) = rx.try_recv() {
            paths.push(p.stat.map(|s| s.path).unwrap_or_default());
        }
        assert_eq!(paths, [".dockerignore", "conf", "conf/ignore", ""]);
        // BuildKit listed part of the context; the report counts all of it.
        let sent = files.outcome().unwrap();
        assert_eq!((sent.files, sent.bytes), (4, 4));
    }

    /// Walks a context the way BuildKit receives it: parents first, each
    /// directory in byte order, an excluded directory sent only as the
    /// parent of a file it re-includes.
    #[test]
    fn the_walk_sends_parents_first_in_byte_order() {
        let dir = tempfile::tempdir().unwrap();
        for (p, text) in [
            ("Dockerfile", "FROM scratch"),
            (".dockerignore", "logs\n!logs/keep.txt\nDockerfile\n"),
            ("logs/a.log", ""),
            ("logs/keep.txt", "k"),
            ("B", ""),
            ("a.txt", "hello"),
        ] {
            let path = dir.path().join(p);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        let ctx = Context::filtered(dir.path(), &dir.path().join("Dockerfile")).unwrap();
        let files = Files::new(ctx, &dir.path().join("Dockerfile"));
        let (tx, mut rx) = mpsc::channel(1024);
        let ids: Ids = Arc::default();
        files.inner.walk_context(&Includes::new(&[]), &ids, &tx);
        drop(tx);
        let mut paths = Vec::new();
        while let Ok(Ok(p)) = rx.try_recv() {
            paths.push(p.stat.map(|s| s.path).unwrap_or_default());
        }
        assert_eq!(
            paths,
            [".dockerignore", "B", "a.txt", "logs", "logs/keep.txt", ""]
        );
        let sent = files.outcome().unwrap();
        assert_eq!((sent.files, sent.bytes), (4, 37));
        // Regular files are requested by their number in the stream.
        let ids = lock(&ids);
        assert_eq!(ids[&4], dir.path().join("logs/keep.txt"));
        assert!(!ids.contains_key(&3));
    }
}
