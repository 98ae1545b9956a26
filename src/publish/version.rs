//! Release tags and package versions: which packages a tag selects, the
//! version each package declares, and whether the two are the same version
//! (PEP 440 for Python, semver for npm, so `v1.2.3-rc.1` matches `1.2.3rc1`).

use crate::error::{Error, Result};
use pep440_rs::Version as Pep440;
use std::path::Path;
use std::str::FromStr;

/// What a release tag asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// `Some(name)` for `<name>-v1.2.3`; `None` (every package) for `v1.2.3`.
    pub package: Option<String>,
    /// The version as written after the `v`.
    pub version: String,
}

/// `v1.2.3` → every package; `<name>-v1.2.3` → that package. Any other tag
/// is not a release. The longest matching name wins (`sdk-v1` vs `sdk-js-v1`).
pub fn parse_tag(tag: &str, names: &[String]) -> Option<Release> {
    let mut sorted: Vec<&String> = names.iter().collect();
    sorted.sort_by_key(|n| std::cmp::Reverse(n.len()));
    for name in sorted {
        if let Some(rest) = tag
            .strip_prefix(name.as_str())
            .and_then(|r| r.strip_prefix('-'))
            && let Some(version) = version_part(rest)
        {
            return Some(Release {
                package: Some(name.clone()),
                version,
            });
        }
    }
    version_part(tag).map(|version| Release {
        package: None,
        version,
    })
}

fn version_part(text: &str) -> Option<String> {
    let v = text.strip_prefix('v')?;
    v.starts_with(|c: char| c.is_ascii_digit())
        .then(|| v.to_string())
}

/// Which version scheme a registry uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Pep440,
    Semver,
}

/// Whether two version strings are the same version under `scheme`. A
/// string that does not parse only equals itself.
pub fn same(scheme: Scheme, a: &str, b: &str) -> bool {
    match scheme {
        Scheme::Pep440 => match (Pep440::from_str(a), Pep440::from_str(b)) {
            (Ok(x), Ok(y)) => x.cmp(&y) == std::cmp::Ordering::Equal,
            _ => a == b,
        },
        Scheme::Semver => match (semver_parse(a), semver_parse(b)) {
            (Some(x), Some(y)) => x.cmp_precedence(&y) == std::cmp::Ordering::Equal,
            _ => a == b,
        },
    }
}

/// Whether a version is a prerelease (`1.2.3-rc.1`, `1.2.3rc1`, `2.0.0.dev1`).
pub fn is_prerelease(scheme: Scheme, v: &str) -> bool {
    match scheme {
        Scheme::Pep440 => Pep440::from_str(v).is_ok_and(|x| x.any_prerelease()),
        Scheme::Semver => semver_parse(v).is_some_and(|x| !x.pre.is_empty()),
    }
}

/// Whether the version is valid in its scheme.
pub fn valid(scheme: Scheme, v: &str) -> bool {
    match scheme {
        Scheme::Pep440 => Pep440::from_str(v).is_ok(),
        Scheme::Semver => semver_parse(v).is_some(),
    }
}

fn semver_parse(v: &str) -> Option<semver::Version> {
    semver::Version::parse(v.trim().trim_start_matches(['v', '='])).ok()
}

/// A version declared in a project file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub version: String,
    /// `sdk/python/pyproject.toml`, for messages.
    pub file: String,
    /// The package name declared next to it, when there is one.
    pub name: Option<String>,
}

/// The version a Python package declares: `[project] version` in
/// pyproject.toml, else (a dynamic version built by maturin) `[package]
/// version` in Cargo.toml. `None` when the version is only known after the
/// build (setuptools-scm, hatch-vcs): the built files are checked instead.
pub fn python_declared(dir: &Path, label: &str) -> Result<Option<Declared>> {
    let file = dir.join("pyproject.toml");
    let doc = read_toml(&file, &format!("{label}/pyproject.toml"))?;
    let project = doc.get("project");
    let name = project
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_string);
    if let Some(v) = project
        .and_then(|p| p.get("version"))
        .and_then(|v| v.as_str())
    {
        return Ok(Some(Declared {
            version: v.to_string(),
            file: format!("{label}/pyproject.toml"),
            name,
        }));
    }
    let cargo = dir.join("Cargo.toml");
    if cargo.is_file() {
        let c = read_toml(&cargo, &format!("{label}/Cargo.toml"))?;
        if let Some(v) = c
            .get("package")
            .and_then(|p| p.get("version"))
            .and_then(|v| v.as_str())
        {
            return Ok(Some(Declared {
                version: v.to_string(),
                file: format!("{label}/Cargo.toml"),
                name,
            }));
        }
    }
    Ok(None)
}

/// The version and name in package.json.
pub fn npm_declared(dir: &Path, label: &str) -> Result<Option<Declared>> {
    let file = dir.join("package.json");
    let shown = format!("{label}/package.json");
    let text = std::fs::read_to_string(&file)
        .map_err(|e| Error::usage(format!("cannot read {shown}: {e}"), None))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::usage(format!("{shown} is not valid JSON: {e}"), None))?;
    Ok(json
        .get("version")
        .and_then(|v| v.as_str())
        .map(|v| Declared {
            version: v.to_string(),
            file: shown,
            name: json
                .get("name")
                .and_then(|n| n.as_str())
                .map(str::to_string),
        }))
}

fn read_toml(path: &Path, shown: &str) -> Result<toml::Table> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("cannot read {shown}: {e}"), None))?;
    text.parse::<toml::Table>()
        .map_err(|e| Error::usage(format!("{shown} does not parse: {}", e.message()), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(std::string::ToString::to_string).collect()
    }

    #[test]
    fn tags_select_every_package_or_one() {
        let n = names(&["sdk", "sdk-js"]);
        assert_eq!(
            parse_tag("v1.2.3", &n),
            Some(Release {
                package: None,
                version: "1.2.3".into()
            })
        );
        assert_eq!(
            parse_tag("sdk-js-v2.0.0-rc.1", &n),
            Some(Release {
                package: Some("sdk-js".into()),
                version: "2.0.0-rc.1".into()
            })
        );
        assert_eq!(
            parse_tag("sdk-v1", &n).unwrap().package.as_deref(),
            Some("sdk")
        );
        assert_eq!(parse_tag("release-2024", &n), None);
        assert_eq!(parse_tag("vnext", &n), None);
        assert_eq!(parse_tag("other-v1.0.0", &n), None);
    }

    #[test]
    fn pep440_compares_normalised_forms() {
        assert!(same(Scheme::Pep440, "1.2.3-rc.1", "1.2.3rc1"));
        assert!(same(Scheme::Pep440, "1.0", "1.0.0"));
        assert!(same(Scheme::Pep440, "2.0.0-alpha.2", "2.0.0a2"));
        assert!(!same(Scheme::Pep440, "1.2.3", "1.2.4"));
        assert!(!same(Scheme::Pep440, "1.2.3", "1.2.3rc1"));
        assert!(is_prerelease(Scheme::Pep440, "1.2.3-rc.1"));
        assert!(!is_prerelease(Scheme::Pep440, "1.2.3.post1"));
    }

    #[test]
    fn semver_compares_precedence() {
        assert!(same(Scheme::Semver, "1.2.3", "1.2.3"));
        assert!(same(Scheme::Semver, "1.2.3+build.5", "1.2.3"));
        assert!(!same(Scheme::Semver, "1.2.3-rc.1", "1.2.3"));
        assert!(is_prerelease(Scheme::Semver, "1.2.3-rc.1"));
        assert!(!is_prerelease(Scheme::Semver, "1.2.3"));
        assert!(!valid(Scheme::Semver, "1.2"));
    }

    #[test]
    fn declared_versions_come_from_the_project_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[project]\nname = \"Codewarden_SDK\"\nversion = \"0.3.0\"\n",
        )
        .unwrap();
        let d = python_declared(dir.path(), "sdk").unwrap().unwrap();
        assert_eq!(d.version, "0.3.0");
        assert_eq!(d.file, "sdk/pyproject.toml");
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[project]\nname = \"x\"\ndynamic = [\"version\"]\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"x\"\nversion = \"0.4.0\"\n",
        )
        .unwrap();
        let d = python_declared(dir.path(), "sdk").unwrap().unwrap();
        assert_eq!(
            (d.version.as_str(), d.file.as_str()),
            ("0.4.0", "sdk/Cargo.toml")
        );
        std::fs::write(
            dir.path().join("package.json"),
            r#"{"name":"@cw/sdk","version":"1.0.0"}"#,
        )
        .unwrap();
        let d = npm_declared(dir.path(), "js").unwrap().unwrap();
        assert_eq!(d.name.as_deref(), Some("@cw/sdk"));
    }
}
