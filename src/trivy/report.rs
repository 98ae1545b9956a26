//! Trivy's JSON report (`--format json`, SchemaVersion 2) in typed form.
//!
//! Only the fields gantry uses are modelled; every other field is ignored, so
//! a newer Trivy that adds fields still parses. Names follow Trivy's Go
//! structs (`pkg/types/report.go`), which serialize in PascalCase.

use super::severity::Severity;
use indexmap::IndexMap;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Report {
    pub schema_version: u32,
    #[serde(default)]
    pub artifact_name: String,
    #[serde(default)]
    pub artifact_type: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub results: Vec<TargetResult>,
}

impl Report {
    /// Adds a secret finding that did not come from Trivy (a file whose name
    /// says it holds credentials), to `target`'s result, so the policy, the
    /// ignore files, the table, SARIF and annotations treat it like any other.
    pub fn add_secret(&mut self, target: &str, rule_id: &str, title: &str, severity: Severity) {
        let secret = Secret {
            rule_id: rule_id.to_string(),
            category: "file name".to_string(),
            severity,
            title: title.to_string(),
            start_line: None,
            end_line: None,
            matched: String::new(),
        };
        match self
            .results
            .iter_mut()
            .find(|r| r.target == target && r.class == "secret")
        {
            Some(r) => r.secrets.push(secret),
            None => self.results.push(TargetResult {
                target: target.to_string(),
                class: "secret".to_string(),
                secrets: vec![secret],
                ..TargetResult::default()
            }),
        }
    }
}

/// One scanned target inside the artifact: an OS, a lock file, a Dockerfile,
/// a file holding secrets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetResult {
    pub target: String,
    /// `os-pkgs`, `lang-pkgs`, `config`, `secret`, `license`, `license-file`.
    #[serde(default)]
    pub class: String,
    #[serde(default, rename = "Type")]
    pub kind: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub vulnerabilities: Vec<Vulnerability>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub misconfigurations: Vec<Misconfiguration>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub secrets: Vec<Secret>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub licenses: Vec<License>,
    /// Findings a VEX document or an ignore file suppressed (`--show-suppressed`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub experimental_modified_findings: Vec<ModifiedFinding>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Vulnerability {
    #[serde(rename = "VulnerabilityID")]
    pub vulnerability_id: String,
    #[serde(default)]
    pub pkg_name: String,
    #[serde(default, rename = "PkgID")]
    pub pkg_id: String,
    /// Where a language package was found (a jar, a lock file).
    #[serde(default)]
    pub pkg_path: String,
    #[serde(default)]
    pub pkg_identifier: PkgIdentifier,
    #[serde(default)]
    pub installed_version: String,
    /// May list several versions: `"2.6.9, 3.1.0"`.
    #[serde(default)]
    pub fixed_version: String,
    /// `fixed`, `affected`, `will_not_fix`, `fix_deferred`, `end_of_life`, ...
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub severity: Severity,
    #[serde(default)]
    pub title: String,
    #[serde(default, rename = "PrimaryURL")]
    pub primary_url: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub references: Vec<String>,
    #[serde(default, rename = "CVSS", deserialize_with = "null_as_default")]
    pub cvss: IndexMap<String, Cvss>,
    pub layer: Option<Layer>,
}

impl Vulnerability {
    /// The fixed versions, split (Trivy joins several with ", ").
    pub fn fixed_versions(&self) -> Vec<&str> {
        self.fixed_version
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The highest CVSS v3 score any source gives.
    pub fn cvss_score(&self) -> Option<f64> {
        self.cvss
            .values()
            .filter_map(|c| c.v3_score.or(c.v40_score))
            .fold(None, |best, s| Some(best.map_or(s, |b: f64| b.max(s))))
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PkgIdentifier {
    #[serde(default, rename = "PURL")]
    pub purl: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Cvss {
    #[serde(rename = "V3Score")]
    pub v3_score: Option<f64>,
    #[serde(rename = "V3Vector")]
    pub v3_vector: Option<String>,
    #[serde(rename = "V40Score")]
    pub v40_score: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Layer {
    #[serde(rename = "Digest")]
    pub digest: Option<String>,
    #[serde(rename = "DiffID")]
    pub diff_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Misconfiguration {
    #[serde(default, rename = "ID")]
    pub id: String,
    /// `AVD-DS-0002` in older reports; ignore files may name either.
    #[serde(default, rename = "AVDID")]
    pub avd_id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub resolution: String,
    #[serde(default)]
    pub severity: Severity,
    #[serde(default, rename = "PrimaryURL")]
    pub primary_url: String,
    /// `FAIL`, `PASS` (with `--include-non-failures`), `EXCEPTION`.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub cause_metadata: CauseMetadata,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CauseMetadata {
    #[serde(default)]
    pub resource: String,
    pub start_line: Option<u32>,
    pub end_line: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Secret {
    #[serde(rename = "RuleID")]
    pub rule_id: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub severity: Severity,
    #[serde(default)]
    pub title: String,
    pub start_line: Option<u32>,
    pub end_line: Option<u32>,
    /// The matched line with the secret already replaced by `*` by Trivy.
    #[serde(default, rename = "Match")]
    pub matched: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct License {
    #[serde(default)]
    pub severity: Severity,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub pkg_name: String,
    #[serde(default)]
    pub file_path: String,
    /// The license (`GPL-3.0`): what an ignore entry names.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub link: String,
}

/// A finding that Trivy suppressed (VEX `not_affected`, an ignore file).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifiedFinding {
    #[serde(default, rename = "Type")]
    pub kind: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub statement: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub finding: serde_json::Value,
}

impl ModifiedFinding {
    /// The suppressed finding's id, whatever its kind.
    pub fn id(&self) -> String {
        ["VulnerabilityID", "ID", "RuleID", "Name"]
            .iter()
            .find_map(|k| self.finding.get(*k).and_then(|v| v.as_str()))
            .unwrap_or("")
            .to_string()
    }
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Why a report could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("not JSON or not a Trivy report: {0}")]
    Json(#[from] serde_json::Error),
    #[error("SchemaVersion {0} is not the version gantry reads (2)")]
    Schema(u32),
}

/// Parses Trivy's JSON report; only SchemaVersion 2 is accepted, since the
/// meaning of the fields changed between versions.
pub fn parse(text: &str) -> Result<Report, ReadError> {
    let report: Report = serde_json::from_str(text)?;
    if report.schema_version != 2 {
        return Err(ReadError::Schema(report.schema_version));
    }
    Ok(report)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::PathBuf;

    /// Trivy's own integration test outputs, read in place.
    pub(crate) fn data_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/trivy-reports")
    }

    pub(crate) fn load(name: &str) -> Report {
        let text = std::fs::read_to_string(data_dir().join(name)).unwrap();
        parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// Every report Trivy wrote in its own tests: the SchemaVersion 2 ones
    /// parse; the others (SBOMs, id lists) are refused, never misread.
    #[test]
    fn every_shared_report_parses_or_is_refused() {
        let Some(_) = crate::test_skip::shared_data("trivy-reports") else {
            return;
        };
        let mut parsed = 0;
        for entry in std::fs::read_dir(data_dir()).expect("../shared/data/trivy-reports") {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if raw.get("SchemaVersion").and_then(serde_json::Value::as_u64) == Some(2) {
                let report = parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(
                    report.results.len(),
                    raw["Results"].as_array().map_or(0, Vec::len),
                    "{name}"
                );
                parsed += 1;
            } else {
                assert!(parse(&text).is_err(), "{name} should be refused");
            }
        }
        assert!(parsed >= 80, "only {parsed} reports parsed");
    }

    #[test]
    fn fields_are_read() {
        let Some(_) = crate::test_skip::shared_data("trivy-reports") else {
            return;
        };
        let r = load("npm-with-suppressed.json");
        let modified = &r.results[0].experimental_modified_findings;
        assert!(!modified.is_empty());
        assert_eq!(modified[0].status, "not_affected");
        assert_eq!(modified[0].id(), "CVE-2017-16137");

        let r = load("alpine-39.json");
        let v = &r.results[0].vulnerabilities[0];
        assert!(!v.installed_version.is_empty() && v.layer.is_some());
        assert!(v.primary_url.starts_with("https://"));

        let r = load("secrets.json");
        let s = r.results.iter().flat_map(|r| &r.secrets).next().unwrap();
        assert!(s.start_line.is_some() && !s.rule_id.is_empty());
    }

    #[test]
    fn fixed_version_may_list_several() {
        let v = Vulnerability {
            fixed_version: "2.6.9, 3.1.0".into(),
            ..Default::default()
        };
        assert_eq!(v.fixed_versions(), ["2.6.9", "3.1.0"]);
    }
}
