//! The files a build produced, and what is inside them: the core metadata
//! of wheels (`*.dist-info/METADATA`, a zip) and sdists (`<name>-<version>/PKG-INFO`,
//! a tar.gz), and the `package.json` of npm tarballs. Uploads are described
//! from these, never from the project files, so what is published is what
//! was built.

use blake2::Blake2b;
use blake2::digest::consts::U32;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What kind of file it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `pyversion` is the wheel's Python tag (`py3`, `cp312`).
    Wheel {
        pyversion: String,
    },
    Sdist,
    NpmTarball,
}

impl Kind {
    /// The upload API's `filetype`.
    pub fn filetype(&self) -> &'static str {
        match self {
            Kind::Wheel { .. } => "bdist_wheel",
            Kind::Sdist => "sdist",
            Kind::NpmTarball => "npm",
        }
    }

    /// The upload API's `pyversion` (`source` for an sdist).
    pub fn pyversion(&self) -> &str {
        match self {
            Kind::Wheel { pyversion } => pyversion,
            _ => "source",
        }
    }
}

/// Core metadata (RFC 822 style headers and a body).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// Headers in order; a header may repeat (`Classifier`, `Requires-Dist`).
    pub fields: Vec<(String, String)>,
    /// The long description, when it is the message body.
    pub body: Option<String>,
}

impl Metadata {
    pub fn first(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// Parses METADATA / PKG-INFO: `Key: value` lines, continuation lines
    /// starting with whitespace, then an empty line and the body.
    pub fn parse(text: &str) -> Metadata {
        let mut meta = Metadata::default();
        let mut lines = text.split('\n');
        for line in lines.by_ref() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() {
                break;
            }
            if line.starts_with([' ', '\t']) {
                if let Some((_, v)) = meta.fields.last_mut() {
                    // Old-style multi-line Description: "        |text".
                    let cont = line.trim_start();
                    let cont = cont.strip_prefix('|').unwrap_or(cont);
                    v.push('\n');
                    v.push_str(cont);
                }
                continue;
            }
            if let Some((k, v)) = line.split_once(':') {
                meta.fields
                    .push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let body: Vec<&str> = lines.collect();
        let body = body.join("\n");
        if !body.trim().is_empty() {
            meta.body = Some(body);
        }
        meta
    }
}

/// One built file, read whole (uploads need its bytes and digests).
#[derive(Debug, Clone)]
pub struct Artifact {
    pub path: PathBuf,
    pub file_name: String,
    pub kind: Kind,
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub blake2_256: String,
    /// Python core metadata (empty for npm tarballs).
    pub metadata: Metadata,
    /// `package.json` inside an npm tarball.
    pub manifest: Option<serde_json::Value>,
    /// Name and version inside the file.
    pub name: String,
    pub version: String,
}

/// Files in `dir` and their modification times, to tell what a build wrote.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<SystemTime>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| {
            let modified = e.metadata().ok().and_then(|m| m.modified().ok());
            (e.path(), modified)
        })
        .collect()
}

/// Files that are new or rewritten since `before`, with a publishable
/// extension (`.whl`, `.tar.gz`, or `.tgz` for npm).
pub fn written_since(
    dir: &Path,
    before: &BTreeMap<PathBuf, Option<SystemTime>>,
    npm: bool,
) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = snapshot(dir)
        .into_iter()
        .filter(|(p, m)| before.get(p) != Some(m))
        .map(|(p, _)| p)
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if npm {
                n.ends_with(".tgz")
            } else {
                n.ends_with(".whl") || n.ends_with(".tar.gz")
            }
        })
        .collect();
    out.sort();
    out
}

/// Reads a built file and what it says about itself.
pub fn read(path: &Path) -> Result<Artifact, String> {
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("the file name is not UTF-8")?
        .to_string();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let (kind, metadata, manifest) = if file_name.ends_with(".whl") {
        let pyversion = wheel_python_tag(&file_name)
            .ok_or("not a wheel file name (<name>-<version>-<python>-<abi>-<platform>.whl)")?;
        let meta = wheel_metadata(&bytes)?;
        (Kind::Wheel { pyversion }, meta, None)
    } else if file_name.ends_with(".tar.gz") {
        (Kind::Sdist, sdist_metadata(&bytes)?, None)
    } else if file_name.ends_with(".tgz") {
        (
            Kind::NpmTarball,
            Metadata::default(),
            Some(npm_manifest(&bytes)?),
        )
    } else {
        return Err("not a wheel, sdist or npm tarball".into());
    };
    let (name, version) = match &manifest {
        Some(m) => (
            m.get("name")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string(),
            m.get("version")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string(),
        ),
        None => (
            metadata.first("Name").unwrap_or("").to_string(),
            metadata.first("Version").unwrap_or("").to_string(),
        ),
    };
    Ok(Artifact {
        path: path.to_path_buf(),
        file_name,
        kind,
        sha256: hex(&Sha256::digest(&bytes)),
        blake2_256: hex(&Blake2b::<U32>::digest(&bytes)),
        bytes,
        metadata,
        manifest,
        name,
        version,
    })
}

/// The Python tag of `<name>-<version>(-<build>)?-<python>-<abi>-<platform>.whl`.
fn wheel_python_tag(file_name: &str) -> Option<String> {
    let stem = file_name.strip_suffix(".whl")?;
    let parts: Vec<&str> = stem.split('-').collect();
    (parts.len() == 5 || parts.len() == 6).then(|| parts[parts.len() - 3].to_string())
}

/// `<name>` and `<version>` from a wheel or sdist file name.
pub fn name_version_from_file(file_name: &str) -> Option<(String, String)> {
    let stem = file_name
        .strip_suffix(".whl")
        .or_else(|| file_name.strip_suffix(".tar.gz"))?;
    if file_name.ends_with(".whl") {
        let mut parts = stem.split('-');
        Some((parts.next()?.to_string(), parts.next()?.to_string()))
    } else {
        let (n, v) = stem.rsplit_once('-')?;
        Some((n.to_string(), v.to_string()))
    }
}

fn wheel_metadata(bytes: &[u8]) -> Result<Metadata, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a zip archive: {e}"))?;
    let name = zip
        .file_names()
        .filter_map(|n| n.ok().map(std::borrow::Cow::into_owned))
        .find(|n| {
            n.split('/').count() == 2
                && n.ends_with("/METADATA")
                && n.split('/')
                    .next()
                    .is_some_and(|d| d.ends_with(".dist-info"))
        })
        .ok_or("no *.dist-info/METADATA inside")?;
    let mut text = String::new();
    zip.by_name(&name)
        .map_err(|e| format!("cannot open {name}: {e}"))?
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read {name}: {e}"))?;
    Ok(Metadata::parse(&text))
}

fn sdist_metadata(bytes: &[u8]) -> Result<Metadata, String> {
    let text = tar_gz_entry(bytes, |p| {
        let parts: Vec<&str> = p
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .collect();
        parts.len() == 2 && parts[1] == "PKG-INFO"
    })?
    .ok_or("no <name>-<version>/PKG-INFO inside")?;
    Ok(Metadata::parse(&text))
}

fn npm_manifest(bytes: &[u8]) -> Result<serde_json::Value, String> {
    // npm packs everything under `package/`; the first directory's name is not checked by npm.
    let text = tar_gz_entry(bytes, |p| {
        let parts: Vec<&str> = p
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .collect();
        parts.len() == 2 && parts[1] == "package.json"
    })?
    .ok_or("no package/package.json inside")?;
    serde_json::from_str(&text).map_err(|e| format!("package.json is not valid JSON: {e}"))
}

/// The text of the first entry of a tar.gz whose path matches.
fn tar_gz_entry(bytes: &[u8], wanted: impl Fn(&str) -> bool) -> Result<Option<String>, String> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let entries = archive
        .entries()
        .map_err(|e| format!("not a tar.gz archive: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("not a tar.gz archive: {e}"))?;
        let path = entry
            .path()
            .map_err(|e| format!("bad path in archive: {e}"))?
            .to_string_lossy()
            .into_owned();
        if wanted(&path) {
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read {path}: {e}"))?;
            return Ok(Some(text));
        }
    }
    Ok(None)
}

/// PEP 503 normalised name: lower case, runs of `-`, `_`, `.` as one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn metadata_headers_repeat_continue_and_end_at_the_body() {
        let m = Metadata::parse(
            "Metadata-Version: 2.4\nName: codewarden-sdk\nVersion: 0.1.0\nClassifier: A\nClassifier: B\nLicense: line one\n        |line two\n\n# Readme\n\ntext\n",
        );
        assert_eq!(m.first("name"), Some("codewarden-sdk"));
        assert_eq!(
            m.fields.iter().filter(|(k, _)| k == "Classifier").count(),
            2
        );
        assert_eq!(m.first("License"), Some("line one\nline two"));
        assert_eq!(m.body.as_deref(), Some("# Readme\n\ntext\n"));
    }

    #[test]
    fn names_normalise_as_pep_503() {
        assert_eq!(normalize_name("Codewarden_SDK"), "codewarden-sdk");
        assert_eq!(normalize_name("a.-_b"), "a-b");
    }

    #[test]
    fn wheel_and_sdist_file_names() {
        assert_eq!(
            wheel_python_tag("codewarden_sdk-0.1.0-py3-none-any.whl").as_deref(),
            Some("py3")
        );
        assert_eq!(
            name_version_from_file("codewarden_sdk-0.1.0.tar.gz"),
            Some(("codewarden_sdk".into(), "0.1.0".into()))
        );
    }

    #[test]
    fn reads_metadata_from_a_wheel_and_an_sdist() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = dir.path().join("demo_pkg-1.0.0-py3-none-any.whl");
        {
            let mut z = zip::ZipWriter::new(std::fs::File::create(&wheel).unwrap());
            z.start_file(
                "demo_pkg/__init__.py",
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
            z.start_file(
                "demo_pkg-1.0.0.dist-info/METADATA",
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
            z.write_all(b"Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0.0\n")
                .unwrap();
            z.finish().unwrap();
        }
        let a = read(&wheel).unwrap();
        assert_eq!((a.name.as_str(), a.version.as_str()), ("demo-pkg", "1.0.0"));
        assert_eq!(a.kind.pyversion(), "py3");
        assert_eq!(a.sha256.len(), 64);
        assert_eq!(a.blake2_256.len(), 64);

        let sdist = dir.path().join("demo_pkg-1.0.0.tar.gz");
        {
            let gz = flate2::write::GzEncoder::new(
                std::fs::File::create(&sdist).unwrap(),
                flate2::Compression::default(),
            );
            let mut t = tar::Builder::new(gz);
            let body = b"Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0.0\n";
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            t.append_data(&mut h, "demo_pkg-1.0.0/PKG-INFO", &body[..])
                .unwrap();
            t.into_inner().unwrap().finish().unwrap();
        }
        let s = read(&sdist).unwrap();
        assert_eq!(s.kind, Kind::Sdist);
        assert_eq!(s.kind.pyversion(), "source");
        assert_eq!(s.version, "1.0.0");
    }

    #[test]
    fn blake2_256_matches_pythons_hashlib() {
        // hashlib.blake2b(b"abc", digest_size=32).hexdigest()
        assert_eq!(
            hex(&Blake2b::<U32>::digest(b"abc")),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"
        );
    }
}
