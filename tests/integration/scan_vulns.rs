//! `gantry scan` looking for vulnerabilities for real: the real Trivy
//! downloads a small database in its own format (`support::trivy_db`) from
//! a local registry, as it downloads the public one, and matches the
//! packages of an image built by gantry against it.

use crate::support::scrub::scrub;
use crate::support::services::{Registry, docker_available, remove_images, system_docker};
use crate::support::trivy_db::{self, CVE, FIXED_VERSION, PACKAGE, VULNERABLE_VERSION};
use crate::support::{Gantry, Project, Runner, require_tool};
use std::path::PathBuf;

/// A project whose image (`FROM scratch`: Alpine 3.19's os-release and an
/// apk database listing the vulnerable musl) gantry has built, and a
/// registry serving the database. Every gantry run is a step of one job on
/// a simulated runner, so the scans find the build's state.
struct Fixture {
    project: Project,
    runner: Runner,
    registry: Option<Registry>,
    db_repository: String,
    repository: String,
}

impl Fixture {
    /// `None` when Trivy, Docker, the registry or Go is missing (skipped).
    fn new(name: &str) -> Option<Fixture> {
        if require_tool("trivy").is_none() || !docker_available() {
            return None;
        }
        let db = trivy_db::database()?;
        let registry = Registry::start(None)?;
        let db_repository = trivy_db::push(&registry.host, db);
        let repository = format!("gantry-test/vulns-{name}-{}", std::process::id());
        let project = Project::new();
        project.write("app/os-release", trivy_db::OS_RELEASE);
        project.write("app/installed", &trivy_db::apk_installed());
        project.write(
            "app/Dockerfile",
            "FROM scratch\nCOPY os-release /etc/os-release\nCOPY installed /lib/apk/db/installed\n",
        );
        project.write(".gitignore", ".trivy-cache/\n.gantry/\n");
        let f = Fixture {
            project,
            runner: Runner::new(),
            registry: Some(registry),
            db_repository,
            repository,
        };
        f.configure("");
        f.project.commit("image with a vulnerable musl");
        f.gantry().args(["build"]).run().code(0);
        Some(f)
    }

    /// gantry in the project, in the runner's job.
    fn gantry(&self) -> Gantry {
        let sha = self.project.git(&["rev-parse", "HEAD"]);
        self.project
            .gantry()
            .envs(self.runner.env("push", serde_json::json!({}), &sha))
    }

    /// Writes gantry.toml: only vulnerabilities, the database from the
    /// local registry, Trivy's cache in the project; `extra` goes in [scan].
    fn configure(&self, extra: &str) {
        self.project.write(
            "gantry.toml",
            &format!(
                "[images.app]\ncontext = \"app\"\nrepository = \"{}\"\n\n[scan]\nvulnerabilities = true\nsecrets = false\nmisconfigurations = false\ncache-dir = \"{}\"\ndb-repository = [\"{}\"]\n{extra}",
                self.repository,
                self.cache().display(),
                self.db_repository,
            ),
        );
    }

    fn cache(&self) -> PathBuf {
        self.project.path().join(".trivy-cache")
    }

    /// When Trivy downloaded the database in the project's cache
    /// (`<cache>/db/metadata.json`); `None` when it is not there.
    fn downloaded_at(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.cache().join("db/metadata.json")).ok()?;
        let meta: serde_json::Value = serde_json::from_str(&text).unwrap();
        Some(meta["DownloadedAt"].as_str()?.to_string())
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        remove_images(&system_docker, &self.repository);
    }
}

#[test]
fn a_planted_cve_is_found_counted_fails_at_high_and_named_in_the_sarif() {
    let Some(f) = Fixture::new("found") else {
        return;
    };
    let r = f.gantry().args(["scan"]).run().code(1);
    assert!(r.all().contains(CVE), "{}", r.all());
    let outputs = f.runner.outputs();
    assert_eq!(outputs["scan-verdict"], "failed");
    assert_eq!(outputs["scan-high"], "1");
    assert_eq!(outputs["scan-critical"], "0");
    // The summary row carries the package, the installed version and the fix.
    let summary = scrub(&f.runner.summary(), &f.project.path());
    let row = summary
        .lines()
        .find(|l| l.contains(CVE))
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(row.starts_with("| HIGH |"), "{row}");
    assert!(
        row.contains(PACKAGE) && row.contains(FIXED_VERSION),
        "{row}"
    );

    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&outputs["scan-sarif"]).unwrap()).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let result = results
        .iter()
        .find(|r| r["ruleId"] == CVE)
        .unwrap_or_else(|| panic!("{sarif:#}"));
    assert_eq!(result["level"], "error");
    assert!(
        sarif["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|rule| rule["id"] == CVE),
        "{sarif:#}"
    );

    // Trivy took the database from the local registry, the only one it was given.
    let downloaded = f.downloaded_at().expect("the database is in the cache");
    assert_ne!(downloaded, "0001-01-01T00:00:00Z");
}

#[test]
fn the_counts_in_json_and_fail_at_critical_lets_a_high_cve_pass() {
    let Some(f) = Fixture::new("json") else {
        return;
    };
    f.configure("fail-at = \"critical\"\n");
    let r = f.gantry().args(["scan", "--format", "json"]).run().code(0);
    let doc = r.json();
    assert_eq!(doc["verdict"], "passed");
    let target = &doc["detail"]["targets"][0];
    assert_eq!(target["counts"]["high"], 1, "{doc:#}");
    let finding = target["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == CVE)
        .unwrap_or_else(|| panic!("{doc:#}"));
    let text = finding.to_string();
    assert!(
        text.contains(PACKAGE) && text.contains(VULNERABLE_VERSION) && text.contains(FIXED_VERSION),
        "{finding:#}"
    );
}

#[test]
fn an_ignore_entry_for_the_cve_lets_the_scan_pass() {
    let Some(f) = Fixture::new("ignored") else {
        return;
    };
    f.project.write(
        ".trivyignore.yaml",
        &format!(
            "vulnerabilities:\n  - id: {CVE}\n    statement: iconv is never given EUC-KR input\n"
        ),
    );
    let r = f.gantry().args(["scan", "--format", "json"]).run().code(0);
    let doc = r.json();
    assert_eq!(doc["verdict"], "passed");
    assert_eq!(doc["outputs"]["scan-ignored"], "1");
    assert_eq!(doc["outputs"]["scan-high"], "0");
    let ignored = &doc["detail"]["targets"][0]["ignored"][0];
    assert_eq!(ignored["finding"]["id"], CVE, "{doc:#}");
    let origin = ignored["rule"]["origin"].as_str().unwrap();
    assert!(origin.starts_with(".trivyignore.yaml ("), "{origin}");
}

#[test]
fn the_second_scan_takes_the_database_from_the_cache() {
    let Some(mut f) = Fixture::new("cached") else {
        return;
    };
    f.gantry().args(["scan"]).run().code(1);
    let first = f.downloaded_at();
    // No registry any more: a download would fail the scan (exit 3).
    drop(f.registry.take());
    let r = f.gantry().args(["scan"]).run().code(1);
    assert!(r.all().contains(CVE), "{}", r.all());
    assert!(
        first.is_some(),
        "the first scan left no database in the cache"
    );
    assert_eq!(
        f.downloaded_at(),
        first,
        "the database was downloaded again"
    );
}
