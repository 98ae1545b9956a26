//! A small vulnerability database in Trivy's own format, served the way
//! the public one is: the public database cannot be downloaded here, so a
//! real vulnerability scan needs one of its own.
//!
//! `trivy-db/main.go` writes `trivy.db` (bbolt) and `metadata.json` from
//! `trivy-db/fixture.json`, with Debian's Go and bbolt (`scripts/setup`).
//! It is built once per fixture and day under the target directory, then
//! packed and pushed as trivy-db publishes it: an OCI artifact whose single
//! layer `db.tar.gz` holds both files.

use super::services::{missing, which};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The vulnerability the fixture plants: Alpine 3.19's musl before this
/// fix is vulnerable (Alpine's secdb, CVE-2025-26519).
pub const CVE: &str = "CVE-2025-26519";
pub const PACKAGE: &str = "musl";
pub const VULNERABLE_VERSION: &str = "1.2.4_git20230717-r4";
pub const FIXED_VERSION: &str = "1.2.4_git20230717-r5";

/// The media types of Trivy's published database (ghcr.io/aquasecurity/trivy-db).
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.aquasec.trivy.config.v1+json";
pub const LAYER_MEDIA_TYPE: &str = "application/vnd.aquasec.trivy.db.layer.v1.tar+gzip";
const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// Where the database lives in a registry: `--db-repository` names it.
pub const REPOSITORY: &str = "aquasecurity/trivy-db";
/// The tag Trivy asks for: the database's schema version.
pub const TAG: &str = "2";

/// Where Debian's golang-github-coreos-bbolt-dev puts bbolt (GOPATH mode).
const GOPATH: &str = "/usr/share/gocode";

fn source_dir() -> PathBuf {
    super::repo_root().join("tests/support/trivy-db")
}

/// The directory holding `trivy.db` and `metadata.json`, built on first
/// use; `None` (skipped, or failed in CI) when Go or bbolt is missing.
pub fn database() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        if which("go").is_none() || !Path::new(GOPATH).join("src/go.etcd.io/bbolt").is_dir() {
            missing("Go with bbolt (golang-go, golang-github-coreos-bbolt-dev)");
            return None;
        }
        Some(build())
    })
    .as_deref()
}

/// Builds the database unless this fixture's was already built today:
/// `metadata.json` says the next update is a day after the build, so a
/// database from today is still one Trivy keeps in its cache.
fn build() -> PathBuf {
    let src = source_dir();
    let mut hash = Sha256::new();
    for file in ["main.go", "fixture.json"] {
        hash.update(std::fs::read(src.join(file)).unwrap());
    }
    let day = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86_400;
    hash.update(day.to_le_bytes());
    let key: String = hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // target/debug/gantry → target/debug/trivy-db/<key>
    let root = Path::new(env!("CARGO_BIN_EXE_gantry"))
        .parent()
        .unwrap()
        .join("trivy-db");
    let dir = root.join(&key);
    if dir.join("metadata.json").is_file() {
        return dir;
    }
    std::fs::create_dir_all(&root).unwrap();
    // Written aside and renamed, so a test binary running at the same time
    // never reads half a database.
    let work = tempfile::tempdir_in(&root).unwrap();
    let out = work.path().join("db");
    let status = Command::new("go")
        .args(["run", "main.go", "fixture.json"])
        .arg(&out)
        .current_dir(&src)
        .env("GO111MODULE", "off")
        .env("GOPATH", GOPATH)
        .env("GOCACHE", root.join("go-build"))
        .env("GOFLAGS", "")
        .status()
        .expect("go runs");
    assert!(status.success(), "building the Trivy database failed");
    // Another process may have won the race: its database is as good.
    let _ = std::fs::rename(&out, &dir);
    assert!(dir.join("trivy.db").is_file());
    dir
}

/// `db.tar.gz`: the layer Trivy downloads and unpacks into `<cache>/db`.
pub fn layer(dir: &Path) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for file in ["trivy.db", "metadata.json"] {
        tar.append_path_with_name(dir.join(file), file).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

fn digest(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// Pushes the database to `registry` (host:port, plain HTTP, no auth) as
/// `aquasecurity/trivy-db:2`, the way trivy-db publishes it (`oras push`
/// with these media types); returns the `--db-repository` to give Trivy.
pub fn push(registry: &str, dir: &Path) -> String {
    let config = b"{}".to_vec();
    let layer = layer(dir);
    upload(registry, &config);
    upload(registry, &layer);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {
            "mediaType": CONFIG_MEDIA_TYPE,
            "digest": digest(&config),
            "size": config.len(),
        },
        "layers": [{
            "mediaType": LAYER_MEDIA_TYPE,
            "digest": digest(&layer),
            "size": layer.len(),
            // Trivy names the downloaded file after this annotation.
            "annotations": { "org.opencontainers.image.title": "db.tar.gz" },
        }],
    })
    .to_string();
    curl(&[
        "-X",
        "PUT",
        "-H",
        &format!("Content-Type: {MANIFEST_MEDIA_TYPE}"),
        "--data-binary",
        &manifest,
        &format!("http://{registry}/v2/{REPOSITORY}/manifests/{TAG}"),
    ]);
    format!("{registry}/{REPOSITORY}:{TAG}")
}

/// A blob upload in two requests (distribution's POST, then PUT with the digest).
fn upload(registry: &str, blob: &[u8]) {
    let headers = curl(&[
        "-X",
        "POST",
        "-D",
        "-",
        "-o",
        "/dev/null",
        &format!("http://{registry}/v2/{REPOSITORY}/blobs/uploads/"),
    ]);
    let location = headers
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("location")
                .then(|| v.trim().to_string())
        })
        .expect("the registry answers an upload with its Location");
    let location = if location.starts_with('/') {
        format!("http://{registry}{location}")
    } else {
        location
    };
    let sep = if location.contains('?') { '&' } else { '?' };
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), blob).unwrap();
    curl(&[
        "-X",
        "PUT",
        "-H",
        "Content-Type: application/octet-stream",
        "--data-binary",
        &format!("@{}", file.path().display()),
        &format!("{location}{sep}digest={}", digest(blob)),
    ]);
}

/// Runs curl, failing the test on an HTTP error; returns stdout.
fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-sS", "--fail-with-body"])
        .args(args)
        .output()
        .expect("curl runs");
    assert!(
        out.status.success(),
        "curl {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `/etc/os-release` of Alpine 3.19, the release the fixture's advisories are for.
pub const OS_RELEASE: &str = "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\nHOME_URL=\"https://alpinelinux.org/\"\n";

/// apk's database of installed packages (`/lib/apk/db/installed`) listing
/// musl at the vulnerable version.
pub fn apk_installed() -> String {
    format!(
        "P:{PACKAGE}\nV:{VULNERABLE_VERSION}\nA:x86_64\nL:MIT\no:{PACKAGE}\nT:the musl c library (libc) implementation\nU:https://musl.libc.org/\nF:lib\nR:ld-musl-x86_64.so.1\nR:libc.musl-x86_64.so.1\n\n"
    )
}
