//! `gantry publish` against a real package index (pypiserver with htpasswd),
//! a stand-in for trusted publishing's OIDC endpoints, and a stand-in npm
//! registry that checks the publish document as the registry does.

use crate::support::calls::CallLog;
use crate::support::npm::{NpmRegistry, Trusted};
use crate::support::oidc::{AUDIENCE, OidcStandIn};
use crate::support::pypi::PypiServer;
use crate::support::scrub::scrub;
use crate::support::{Project, Runner, require_tool, test_path};
use sha2::{Digest, Sha256};
use std::process::Command;

pub(crate) const TOKEN: &str = "pypi-AgEIcHlwaS5vcmcCJGZpeHR1cmUtdG9rZW4tZm9yLWdhbnRyeQ";

/// A Python package built with hatchling (installed in .venv, so the build
/// runs without isolation and without the network).
pub(crate) fn python_project(index_url: &str, version: &str) -> Project {
    let p = Project::new();
    p.write(".gitignore", "dist/\n.gantry/\n")
        .write(
            "gantry.toml",
            &format!(
                "[publish.demo]\npypi = {{ path = \"sdk\", repository-url = \"{index_url}\" }}\nbuild = \"python -m build --no-isolation\"\n"
            ),
        )
        .write("sdk/README.md", "# gantry demo SDK\n\nA fixture package.\n")
        .write("sdk/src/gantry_demo_sdk/__init__.py", "VALUE = 1\n");
    set_version(&p, version);
    p.commit("demo sdk");
    p
}

fn set_version(p: &Project, version: &str) {
    p.write(
        "sdk/pyproject.toml",
        &format!(
            r#"[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "gantry-demo-sdk"
version = "{version}"
description = "A fixture package for gantry publish"
readme = "README.md"
requires-python = ">=3.8"
classifiers = ["Programming Language :: Python :: 3"]

[tool.hatch.build.targets.wheel]
packages = ["src/gantry_demo_sdk"]
"#
        ),
    );
}

fn tools() -> bool {
    require_tool("python").is_some() && require_tool("pip").is_some()
}

fn sha256_file(path: &std::path::Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `pip download` of one file kind back from the index; its sha256.
fn pip_download(index: &str, spec: &str, binary: bool) -> (String, String) {
    let dest = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("pip");
    cmd.env("PATH", test_path())
        .args([
            "download",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
        ])
        .args(["--index-url", index, "--dest"])
        .arg(dest.path())
        .args(if binary {
            ["--only-binary", ":all:"]
        } else {
            ["--no-binary", ":all:"]
        })
        .arg(spec);
    let out = cmd.output().expect("pip runs");
    assert!(
        out.status.success(),
        "pip download: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let file = std::fs::read_dir(dest.path())
        .unwrap()
        .flatten()
        .next()
        .unwrap();
    (
        file.file_name().to_string_lossy().into_owned(),
        sha256_file(&file.path()),
    )
}

fn dist_files(p: &Project) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(p.path().join("sdk/dist"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn publishes_an_sdist_and_a_wheel_that_pip_downloads_back_and_a_rerun_skips() {
    if !tools() {
        return;
    }
    let Some(index) = PypiServer::start(TOKEN) else {
        return;
    };
    let p = python_project(&index.url(), "1.2.3");
    p.git(&["tag", "v1.2.3"]);
    let runner = Runner::new();
    let sha = p.git(&["rev-parse", "HEAD"]);
    let mut env = runner.env("push", serde_json::json!({}), &sha);
    for (k, v) in &mut env {
        match k.as_str() {
            "GITHUB_REF" => *v = "refs/tags/v1.2.3".into(),
            "GITHUB_REF_NAME" => *v = "v1.2.3".into(),
            "GITHUB_REF_TYPE" => *v = "tag".into(),
            _ => {}
        }
    }
    let run = p
        .gantry()
        .envs(env.clone())
        .env("PYPI_TOKEN", TOKEN)
        .args(["publish"])
        .run()
        .code(0);
    let shown = |out: &str| {
        out.lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .any(|l| l.contains(TOKEN))
    };
    assert!(!shown(&run.all()), "{}", run.all());
    assert_eq!(
        index.files(),
        [
            "gantry_demo_sdk-1.2.3-py3-none-any.whl",
            "gantry_demo_sdk-1.2.3.tar.gz"
        ],
        "{}",
        index.log()
    );
    let outputs = runner.outputs();
    assert_eq!(outputs["publish-verdict"], "passed");
    assert_eq!(outputs["publish-demo-status"], "published");
    assert_eq!(outputs["publish-demo-version"], "1.2.3");
    let summary = runner.summary();
    assert!(summary.contains("| demo | 1.2.3 |"), "{summary}");
    assert!(summary.contains("published"), "{summary}");

    // What pip downloads is byte for byte what was built.
    let built: Vec<(String, String)> = dist_files(&p)
        .iter()
        .map(|f| {
            (
                f.file_name().unwrap().to_string_lossy().into_owned(),
                sha256_file(f),
            )
        })
        .collect();
    let wheel = pip_download(&index.simple(), "gantry-demo-sdk==1.2.3", true);
    let sdist = pip_download(&index.simple(), "gantry-demo-sdk==1.2.3", false);
    assert!(built.contains(&wheel), "{built:?} vs {wheel:?}");
    assert!(built.contains(&sdist), "{built:?} vs {sdist:?}");
    assert!(
        summary.contains(&wheel.1),
        "the summary shows the hashes: {summary}"
    );

    // Again: the same files are there, so nothing is uploaded.
    let again = p
        .gantry()
        .envs(env)
        .env("PYPI_TOKEN", TOKEN)
        .args(["publish"])
        .run()
        .code(0);
    assert!(
        again
            .all()
            .contains("skipped (already published, identical)"),
        "{}",
        again.all()
    );
    assert_eq!(runner.outputs()["publish-demo-status"], "skipped");
    assert_eq!(index.files().len(), 2);
}

#[test]
fn a_wrong_token_exits_3_and_the_token_is_in_no_output() {
    if !tools() {
        return;
    }
    let Some(index) = PypiServer::start(TOKEN) else {
        return;
    };
    let p = python_project(&index.url(), "0.4.0");
    let wrong = "pypi-wrong-token-0123456789abcdef";
    let run = p
        .gantry()
        .env("PYPI_TOKEN", wrong)
        .args(["publish", "--tag", "v0.4.0", "--format", "json"])
        .run()
        .code(3);
    assert!(!run.all().contains(wrong), "{}", run.all());
    assert!(
        run.all().contains("refused the credentials"),
        "{}",
        run.all()
    );
    assert!(index.files().is_empty());

    // What the index answered, in one line: its HTML error page is never
    // shown (pypiserver's only repeats the status); then what to do.
    let run = p
        .gantry()
        .env("PYPI_TOKEN", wrong)
        .args(["publish", "--tag", "v0.4.0"])
        .run()
        .code(3);
    let error: Vec<&str> = run
        .stderr
        .lines()
        .skip_while(|l| !l.starts_with("error:"))
        .collect();
    insta::assert_snapshot!(scrub(&error.join("\n"), &p.path()), @r###"
    error: registry credentials: http://127.0.0.1:[PORT]/ refused the credentials: 403 Forbidden
    hint: check the API token (PYPI_TOKEN, or the variable `token-env` names) and that it may upload this project; with trusted publishing, check the publisher configured on the index
    "###);
}

#[test]
fn a_tag_that_does_not_match_the_version_fails_before_anything_is_built() {
    if !tools() {
        return;
    }
    let p = python_project("http://127.0.0.1:9/", "1.2.3");
    let run = p
        .gantry()
        .env("PYPI_TOKEN", TOKEN)
        .args(["publish", "--tag", "v1.3.0"])
        .run()
        .code(1);
    insta::assert_snapshot!(scrub(&run.all(), &p.path()), @r###"
    Changes
      publish: failed (no remote changes)
    Verdict: failed
    release v1.3.0 (--tag): demo 1.3.0
    error: sdk/pyproject.toml: demo: version does not match the tag: declared 1.2.3, tagged 1.3.0
    "###);
    assert!(dist_files(&p).is_empty(), "nothing is built");

    // PEP 440 forms compare as versions: v1.2.3-rc.1 is 1.2.3rc1.
    set_version(&p, "1.2.3rc1");
    let run = p
        .gantry()
        .args(["publish", "--tag", "v1.2.3-rc.1", "--dry-run"])
        .run();
    assert!(
        !run.all().contains("does not match the tag"),
        "{}",
        run.all()
    );
}

#[test]
fn a_different_file_under_a_published_name_fails_and_uploads_nothing() {
    if !tools() {
        return;
    }
    let Some(index) = PypiServer::start(TOKEN) else {
        return;
    };
    let p = python_project(&index.url(), "2.0.0");
    p.gantry()
        .env("PYPI_TOKEN", TOKEN)
        .args(["publish", "--tag", "v2.0.0"])
        .run()
        .code(0);
    let before: Vec<String> = index.files();
    p.write("sdk/src/gantry_demo_sdk/__init__.py", "VALUE = 2\n");
    let run = p
        .gantry()
        .env("PYPI_TOKEN", TOKEN)
        .args(["publish", "--tag", "v2.0.0"])
        .run()
        .code(1);
    assert!(run.all().contains("with other contents"), "{}", run.all());
    assert_eq!(index.files(), before);
}

#[test]
fn a_dry_run_builds_and_checks_but_uploads_nothing() {
    if !tools() {
        return;
    }
    let Some(index) = PypiServer::start(TOKEN) else {
        return;
    };
    let p = python_project(&index.url(), "3.1.0");
    let run = p
        .gantry()
        .args(["publish", "--tag", "v3.1.0", "--dry-run"])
        .run()
        .code(0);
    assert_eq!(dist_files(&p).len(), 2, "the dry run builds");
    insta::assert_snapshot!(scrub(&run.stdout, &p.path()), @r###"
    Plan (dry run: nothing remote was changed)
      legend: + create  ~ update  - delete  > run  ^ upload
      publish: would change (2 changes)
        ^ pypi gantry-demo-sdk gantry_demo_sdk-3.1.0-py3-none-any.whl: upload (new)
        ^ pypi gantry-demo-sdk gantry_demo_sdk-3.1.0.tar.gz: upload (new)
    Verdict: would change (dry run)
    "###);
    assert!(index.files().is_empty());
}

#[test]
fn without_a_release_tag_publish_and_the_pipeline_pass_doing_nothing() {
    let p = python_project("http://127.0.0.1:9/", "1.0.0");
    let run = p.gantry().args(["publish"]).run().code(0);
    insta::assert_snapshot!(scrub(&run.all(), &p.path()), @r###"
    Changes
      publish: passed (no remote changes)
    Verdict: passed
    not a release: no tag (no tag points at HEAD)
    "###);
    // `gantry run` includes publish when [publish.*] is configured.
    let run = p.gantry().args(["run", "--dry-run"]).run().code(0);
    insta::assert_snapshot!(scrub(&run.stdout, &p.path()), @r###"
    Plan (dry run: nothing remote was changed)
      publish: passed (no remote changes)
    Verdict: passed (dry run)
    "###);
    // A tag that is not a release is not one either.
    let run = p
        .gantry()
        .args(["publish", "--tag", "nightly"])
        .run()
        .code(0);
    insta::assert_snapshot!(scrub(&run.all(), &p.path()), @r###"
    Changes
      publish: passed (no remote changes)
    Verdict: passed
    not a release: tag `nightly` is neither v<version> nor <package>-v<version>
    "###);
    assert!(dist_files(&p).is_empty());
}

#[test]
fn trusted_publishing_exchanges_the_id_token_and_uploads_with_the_masked_minted_token() {
    if !tools() {
        return;
    }
    let minted = "pypi-minted-AgENdGVzdC5weXBpLm9yZwIkOGQ5Y2Ex";
    let Some(index) = PypiServer::start(minted) else {
        return;
    };
    let request_token = "ghs_request_token_0123456789";
    let id_token = "eyJhbGciOiJSUzI1NiJ9.github-id-token.signature";
    let oidc = OidcStandIn::start(request_token, id_token, minted, index.port);
    let p = python_project(&oidc.url(), "0.9.0");
    let runner = Runner::new();
    let sha = p.git(&["rev-parse", "HEAD"]);
    let run = p
        .gantry()
        .envs(runner.env("push", serde_json::json!({}), &sha))
        .env("GITHUB_REF_TYPE", "tag")
        .env("GITHUB_REF_NAME", "demo-v0.9.0")
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", &oidc.token_request_url())
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", request_token)
        .args(["publish"])
        .run()
        .code(0);
    let seen = oidc.seen.lock().unwrap();
    assert_eq!(seen.audiences, [AUDIENCE]);
    assert_eq!(seen.exchanged, [id_token]);
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("__token__:{minted}")
        )
    );
    assert!(seen.upstream_auth.contains(&basic), "{seen:?}");
    assert_eq!(index.files().len(), 2, "{}", index.log());
    // Masked: announced to the runner, then never shown.
    assert!(
        run.stdout.contains(&format!("::add-mask::{minted}")),
        "{}",
        run.stdout
    );
    for secret in [minted, id_token, request_token] {
        let shown = run
            .all()
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .any(|l| l.contains(secret));
        assert!(!shown, "{secret} shown:\n{}", run.all());
    }
    assert!(!runner.summary().contains(minted));
    assert!(!runner.state().contains(minted));
}

/// A JavaScript package with no dependencies: `npm pack` works offline.
pub(crate) fn npm_project(registry: &str, version: &str) -> Project {
    let p = Project::new();
    p.write(".gitignore", "*.tgz\n.gantry/\n")
        .write(
            "gantry.toml",
            &format!("[publish.js-sdk]\nnpm = {{ path = \"js\", registry = \"{registry}\", access = \"public\" }}\n"),
        )
        .write(
            "js/package.json",
            &format!(
                r#"{{"name": "@gantry-test/sdk", "version": "{version}", "description": "fixture", "main": "index.js", "license": "MIT"}}"#
            ),
        )
        .write("js/index.js", "module.exports = 1;\n");
    p.commit("js sdk");
    p
}

#[test]
fn npm_pack_is_published_with_a_document_the_registry_accepts_and_a_rerun_skips() {
    if require_tool("npm").is_none() {
        return;
    }
    let npm_token = "npm_0123456789abcdefghijklmnopqrstuvwxyz";
    let registry = NpmRegistry::start(npm_token);
    let p = npm_project(&registry.url(), "2.0.0-rc.1");
    let run = p
        .gantry()
        .env("NPM_TOKEN", npm_token)
        .args(["publish", "--tag", "js-sdk-v2.0.0-rc.1"])
        .run()
        .code(0);
    assert!(!run.all().contains(npm_token), "{}", run.all());
    {
        let st = registry.state.lock().unwrap();
        assert!(st.refusals.is_empty(), "{:?}", st.refusals);
        let packument = &st.packuments["@gantry-test/sdk"];
        // A prerelease goes to `next`, never `latest`.
        assert_eq!(packument["dist-tags"]["next"], "2.0.0-rc.1");
        assert!(packument["dist-tags"].get("latest").is_none());
        assert_eq!(st.documents[0]["access"], "public");
        assert_eq!(st.authorizations, [format!("Bearer {npm_token}")]);
    }
    let again = p
        .gantry()
        .env("NPM_TOKEN", npm_token)
        .args(["publish", "--tag", "js-sdk-v2.0.0-rc.1"])
        .run()
        .code(0);
    assert!(again.all().contains("skipped"), "{}", again.all());
    assert_eq!(registry.state.lock().unwrap().documents.len(), 1);

    // Other contents under the published version: refused before publishing.
    p.write("js/index.js", "module.exports = 2;\n");
    let conflict = p
        .gantry()
        .env("NPM_TOKEN", npm_token)
        .args(["publish", "--tag", "js-sdk-v2.0.0-rc.1"])
        .run()
        .code(1);
    assert!(
        conflict.all().contains("with other contents"),
        "{}",
        conflict.all()
    );
    assert_eq!(registry.state.lock().unwrap().documents.len(), 1);
}

#[test]
fn npm_trusted_publishing_exchanges_the_id_token_for_a_masked_publish_token() {
    if require_tool("npm").is_none() {
        return;
    }
    let trusted = Trusted {
        request_token: "ghs_npm_request_token_0123456789".into(),
        id_token: "eyJhbGciOiJSUzI1NiJ9.npm-id-token.signature".into(),
        minted: "npm_minted_short_lived_0123456789abcdef".into(),
    };
    let registry = NpmRegistry::start_trusted(trusted.clone());
    registry.existing("@gantry-test/sdk");
    let p = npm_project(&registry.url(), "1.0.0");
    let runner = Runner::new();
    let sha = p.git(&["rev-parse", "HEAD"]);
    let run = p
        .gantry()
        .envs(runner.env("push", serde_json::json!({}), &sha))
        .env("GITHUB_REF_TYPE", "tag")
        .env("GITHUB_REF_NAME", "v1.0.0")
        .env(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            &registry.token_request_url(),
        )
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", &trusted.request_token)
        .args(["publish"])
        .run()
        .code(0);
    let st = registry.state.lock().unwrap();
    assert_eq!(st.exchanged, ["@gantry-test/sdk"]);
    assert_eq!(st.authorizations, [format!("Bearer {}", trusted.minted)]);
    assert_eq!(
        st.packuments["@gantry-test/sdk"]["dist-tags"]["latest"],
        "1.0.0"
    );
    for secret in [&trusted.minted, &trusted.id_token, &trusted.request_token] {
        let shown = run
            .all()
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .any(|l| l.contains(secret.as_str()));
        assert!(!shown, "{secret} shown:\n{}", run.all());
    }
    assert!(runner.outputs()["publish-js-sdk-status"] == "published");
}

/// npm lets a trusted publisher be added only to a package that exists, so
/// the first release of a package through OIDC can never work: gantry
/// asks the registry before any exchange and says what to do (exit 2, no
/// ID token asked for, no exchange, no PUT); a CI dry run shows it as a
/// refusal. After a token publish created the package and its trusted
/// publisher was added, trusted publishing releases the next version.
#[test]
fn npm_first_release_through_trusted_publishing_is_refused_before_any_exchange() {
    if require_tool("npm").is_none() {
        return;
    }
    let trusted = Trusted {
        request_token: "ghs_npm_request_token_first_0123456789".into(),
        id_token: "eyJhbGciOiJSUzI1NiJ9.npm-first-id-token.signature".into(),
        minted: "npm_minted_first_short_lived_0123456789".into(),
    };
    let npm_token = "npm_first_release_token_0123456789abcdef";
    let log = CallLog::new();
    let registry = NpmRegistry::start_trusted_and_token(trusted.clone(), npm_token, log.clone());
    let p = npm_project(&registry.url(), "1.0.0");
    let runner = Runner::new();
    let in_ci = |tag: &str| {
        let sha = p.git(&["rev-parse", "HEAD"]);
        p.gantry()
            .envs(runner.env("push", serde_json::json!({}), &sha))
            .env("GITHUB_REF_TYPE", "tag")
            .env("GITHUB_REF_NAME", tag)
            .env(
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                &registry.token_request_url(),
            )
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", &trusted.request_token)
            .args(["publish"])
    };
    let keys = |from: usize| -> Vec<String> {
        log.all()[from..]
            .iter()
            .map(crate::support::calls::Call::key)
            .collect()
    };

    // The CI dry run (the release workflow's check job) refuses.
    let dry = in_ci("v1.0.0").args(["--dry-run"]).run().code(1);
    let plan: Vec<&str> = dry
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Plan "))
        .collect();
    insta::assert_snapshot!(scrub(&plan.join("\n"), &p.path()), @r###"
    Plan (dry run: nothing remote was changed)
      legend: + create  ~ update  - delete  > run  ^ upload
      publish: failed (1 change)
        ^ npm @gantry-test/sdk gantry-test-sdk-1.0.0.tgz: refused: `@gantry-test/sdk` does not exist on the registry and trusted publishing (OIDC) cannot create it; publish the first version with NPM_TOKEN
    Verdict: failed (dry run)
    "###);
    assert!(
        dry.stdout.contains(
            "::error title=js-sdk%3A trusted publishing cannot create the package::`@gantry-test/sdk` does not exist"
        ),
        "{}",
        dry.stdout
    );

    // The real run stops before asking GitHub for an ID token.
    let start = log.len();
    let run = in_ci("v1.0.0").run().code(2);
    insta::assert_snapshot!(scrub(&run.commands("::error").join("\n"), &p.path()), @"::error::`@gantry-test/sdk` does not exist on http://127.0.0.1:[PORT]/ yet, and npm's trusted publishing (OIDC) cannot create a package: a trusted publisher can only be added to a package that exists%0Ahint: publish the first version with a token: set NPM_TOKEN from a secret for this one release; then add the trusted publisher to `@gantry-test/sdk` on npmjs.com (the package's Settings → Trusted Publisher: GitHub Actions, repository codewarden/app, this workflow's file name), or run `npm trust github @gantry-test/sdk --repo codewarden/app --file <workflow>.yml`; later releases need no token");
    assert_eq!(
        keys(start),
        ["npm GET @gantry-test/sdk"],
        "only the existence check: no ID token, no exchange, no PUT"
    );
    assert!(registry.state.lock().unwrap().packuments.is_empty());

    // The first release with a token creates the package...
    let first = p
        .gantry()
        .env("NPM_TOKEN", npm_token)
        .args(["publish", "--tag", "v1.0.0"])
        .run()
        .code(0);
    assert!(!first.all().contains(npm_token), "{}", first.all());
    // ...which has no trusted publisher yet: npm's exchange says
    // "package not found" (exit 3, what npm said, and what to do).
    p.write(
        "js/package.json",
        r#"{"name": "@gantry-test/sdk", "version": "1.0.1", "description": "fixture", "main": "index.js", "license": "MIT"}"#,
    );
    p.commit("1.0.1");
    let untrusted = in_ci("v1.0.1").run().code(3);
    assert!(
        untrusted
            .stdout
            .contains("404 Not Found OIDC token exchange error - package not found"),
        "{}",
        untrusted.stdout
    );
    // Once the trusted publisher is added, OIDC publishes 1.0.1.
    registry.trust("@gantry-test/sdk");
    let start = log.len();
    let run = in_ci("v1.0.1").run().code(0);
    assert!(
        keys(start).contains(&"npm oidc-exchange @gantry-test/sdk".to_string()),
        "{:?}",
        keys(start)
    );
    let st = registry.state.lock().unwrap();
    assert_eq!(
        st.authorizations,
        [
            format!("Bearer {npm_token}"),
            format!("Bearer {}", trusted.minted)
        ]
    );
    assert_eq!(
        st.packuments["@gantry-test/sdk"]["dist-tags"]["latest"],
        "1.0.1"
    );
    for secret in [
        npm_token,
        &trusted.minted,
        &trusted.id_token,
        &trusted.request_token,
    ] {
        let shown = run
            .all()
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .any(|l| l.contains(secret));
        assert!(!shown, "{secret} shown:\n{}", run.all());
    }
}

/// What a user reads in a dry run: one upload per file under a legend.
/// (That the real run uploads exactly these is `fidelity::publish_npm_package`.)
#[test]
fn the_dry_run_shows_one_upload_per_file() {
    if require_tool("npm").is_none() {
        return;
    }
    let npm_token = "npm_0123456789abcdefghijklmnopqrstuvwxyz";
    let registry = NpmRegistry::start(npm_token);
    let p = npm_project(&registry.url(), "3.1.0");
    let publish = |extra: &[&str]| {
        p.gantry()
            .env("NPM_TOKEN", npm_token)
            .args(["publish", "--tag", "js-sdk-v3.1.0"])
            .args(extra)
            .run()
            .code(0)
    };
    let dry = publish(&["--dry-run"]);
    let shown = crate::support::scrub::scrub(&dry.stdout, &p.path());
    insta::assert_snapshot!(shown, @r###"
    Plan (dry run: nothing remote was changed)
      legend: + create  ~ update  - delete  > run  ^ upload
      publish: would change (1 change)
        ^ npm @gantry-test/sdk gantry-test-sdk-3.1.0.tgz: upload (new)
    Verdict: would change (dry run)
    "###);
}
