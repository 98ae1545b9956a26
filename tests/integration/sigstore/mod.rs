//! Sigstore: gantry signs through stand-ins for Fulcio and Rekor, and
//! what it signs is judged by the reference verifier (sigstore-python, with
//! the stand-ins' trust root) and by gantry's own verifier; each refusal
//! is checked with both. sigstore-python also signs against the stand-ins,
//! and gantry verifies its bundles.

use crate::support::require_tool;
use crate::support::sigstore::{GITHUB_ISSUER, Job, Key, Sigstore};
use gantry::sigstore::bundle::Bundle;
use gantry::sigstore::trust::TrustedRoot;
use gantry::sigstore::verify::{self, Policy};
use gantry::sigstore::{SignError, VerifyError, dsse, intoto, sign};
use serde_json::{Value, json};
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;

mod pep740;
mod recorded;
mod refusals;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn client() -> reqwest::Client {
    gantry::publish::http::client().unwrap()
}

fn sign_blob(s: &Sigstore, job: &Job, data: &[u8]) -> Result<Bundle, SignError> {
    block_on(sign::sign_artifact(
        &client(),
        &s.services(),
        &s.issuer.token(job),
        data,
    ))
}

fn sha256_hex(data: &[u8]) -> String {
    crate::support::sigstore::hex(&sha2::Sha256::digest(data))
}

/// An in-toto statement with SLSA provenance for `subject`, signed.
fn sign_statement(s: &Sigstore, job: &Job, name: &str, subject: &[u8]) -> Bundle {
    let build = intoto::GithubBuild {
        server_url: "https://github.com".into(),
        repository: job.repository.clone(),
        commit: job.sha.clone(),
        git_ref: job.git_ref.clone(),
        workflow_ref: job.workflow_ref(),
        event_name: job.event_name.clone(),
        run_id: "77".into(),
        run_attempt: "1".into(),
        runner_environment: "github-hosted".into(),
        ..intoto::GithubBuild::default()
    };
    let statement = intoto::Statement::new(
        vec![intoto::Subject::sha256(name, &sha256_hex(subject))],
        intoto::SLSA_PROVENANCE_V1,
        intoto::slsa_provenance(&build),
    );
    block_on(sign::sign_dsse(
        &client(),
        &s.services(),
        &s.issuer.token(job),
        dsse::IN_TOTO,
        &statement.to_json(),
    ))
    .unwrap()
}

fn root_of(v: &Value) -> TrustedRoot {
    TrustedRoot::from_json(&v.to_string()).unwrap()
}

/// sigstore-python, offline, with the stand-ins' trust config.
struct Reference {
    bin: PathBuf,
    dir: tempfile::TempDir,
}

impl Reference {
    fn find() -> Option<Reference> {
        Some(Reference {
            bin: require_tool("sigstore")?,
            dir: tempfile::tempdir().unwrap(),
        })
    }

    fn write(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        p
    }

    /// `sigstore --trust-config <cfg> verify identity …`: Ok(stderr) when
    /// it accepts, Err(stderr) when it refuses.
    fn verify(
        &self,
        config: &Value,
        bundle: &Bundle,
        artifact: &Path,
        identity: &str,
    ) -> Result<String, String> {
        let cfg = self.write("trust_config.json", config.to_string().as_bytes());
        let b = self.write("artifact.sigstore.json", bundle.to_json().as_bytes());
        let out = Command::new(&self.bin)
            .arg("--trust-config")
            .arg(&cfg)
            .args(["verify", "identity", "--bundle"])
            .arg(&b)
            .args([
                "--cert-identity",
                identity,
                "--cert-oidc-issuer",
                GITHUB_ISSUER,
            ])
            .arg(artifact)
            // rich wraps its log lines to the terminal's width; one line each.
            .env("COLUMNS", "10000")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            Ok(text)
        } else {
            Err(text)
        }
    }
}

#[test]
fn gantry_signs_a_blob_that_sigstore_python_and_gantry_accept() {
    let Some(reference) = Reference::find() else {
        return;
    };
    let s = Sigstore::start();
    let job = Job::default();
    let data = b"trivy_0.68.1_Linux-64bit.tar.gz contents";
    let bundle = sign_blob(&s, &job, data).unwrap();

    // What the services saw: one key with its proof, one hashedrekord entry.
    assert_eq!(s.seen.lock().unwrap().fulcio, ["publicKeyRequest"]);
    assert_eq!(s.seen.lock().unwrap().rekor, ["hashedrekord"]);
    assert_eq!(s.log_size(), 1);
    let json: Value = serde_json::from_str(&bundle.to_json()).unwrap();
    assert_eq!(
        json["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    assert_eq!(
        json["messageSignature"]["messageDigest"]["algorithm"],
        "SHA2_256"
    );
    assert_eq!(
        json["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["kind"],
        "hashedrekord"
    );

    let artifact = reference.write("artifact.tar.gz", data);
    let config = s.client_trust_config(&s.trusted_root());
    let said = reference
        .verify(&config, &bundle, &artifact, &job.identity())
        .expect("sigstore-python accepts gantry's bundle");
    assert!(said.contains("OK: "), "{said}");

    let verified = verify::verify_artifact(
        &bundle,
        data,
        &root_of(&s.trusted_root()),
        &Policy::exact(&job.identity(), GITHUB_ISSUER),
    )
    .unwrap();
    assert_eq!(
        verified.identity,
        "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main"
    );
    assert_eq!(verified.log_index, 0);

    // A pattern must match the whole identity.
    let root = root_of(&s.trusted_root());
    let any_workflow = Policy::regex(
        r"https://github\.com/acme/shop/\.github/workflows/.*",
        GITHUB_ISSUER,
    )
    .unwrap();
    verify::verify_artifact(&bundle, data, &root, &any_workflow).unwrap();
    let partial = Policy::regex("acme/shop", GITHUB_ISSUER).unwrap();
    assert!(matches!(
        verify::verify_artifact(&bundle, data, &root, &partial),
        Err(VerifyError::Identity { .. })
    ));
}

#[test]
fn gantry_signs_an_in_toto_statement_that_sigstore_python_and_gantry_accept() {
    let Some(reference) = Reference::find() else {
        return;
    };
    let s = Sigstore::start();
    let job = Job::default();
    let wheel = b"shop_sdk-1.2.3-py3-none-any.whl contents";
    let bundle = sign_statement(&s, &job, "shop_sdk-1.2.3-py3-none-any.whl", wheel);
    assert_eq!(s.seen.lock().unwrap().rekor, ["dsse"]);

    // sigstore-python checks the envelope and that a subject is this file.
    let artifact = reference.write("shop_sdk-1.2.3-py3-none-any.whl", wheel);
    let config = s.client_trust_config(&s.trusted_root());
    let said = reference
        .verify(&config, &bundle, &artifact, &job.identity())
        .expect("sigstore-python accepts gantry's DSSE bundle");
    assert!(
        said.contains(intoto::SLSA_PROVENANCE_V1),
        "it prints the statement: {said}"
    );

    let root = root_of(&s.trusted_root());
    let (verified, envelope) = verify::verify_dsse(
        &bundle,
        &root,
        &Policy::exact(&job.identity(), GITHUB_ISSUER),
    )
    .unwrap();
    assert_eq!(verified.identity, job.identity());
    verify::statement_has_subject(envelope, &sha256_hex(wheel)).unwrap();
    let statement: Value = serde_json::from_slice(&envelope.payload).unwrap();
    assert_eq!(
        statement["predicate"]["runDetails"]["builder"]["id"],
        job.identity(),
        "the builder is the workflow that signed"
    );
}

#[test]
fn sigstore_python_signs_against_the_stand_ins_and_gantry_verifies_its_bundles() {
    let Some(reference) = Reference::find() else {
        return;
    };
    let s = Sigstore::start();
    let job = Job::default();
    let config = reference.write(
        "trust_config.json",
        s.client_trust_config(&s.trusted_root())
            .to_string()
            .as_bytes(),
    );
    let data = b"signed by the reference client";
    let artifact = reference.write("blob.txt", data);
    let bundle_path = reference.dir.path().join("blob.sigstore.json");
    let out = Command::new(&reference.bin)
        .arg("--trust-config")
        .arg(&config)
        .args([
            "sign",
            "--identity-token",
            &s.issuer.token(&job),
            "--bundle",
        ])
        .arg(&bundle_path)
        .arg(&artifact)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sigstore sign: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It used a CSR as its proof of possession, and Rekor logged a hashedrekord.
    assert_eq!(s.seen.lock().unwrap().fulcio, ["certificateSigningRequest"]);
    assert_eq!(s.seen.lock().unwrap().rekor, ["hashedrekord"]);

    let bundle = Bundle::from_json(&std::fs::read_to_string(&bundle_path).unwrap()).unwrap();
    let root = root_of(&s.trusted_root());
    let policy = Policy::exact(&job.identity(), GITHUB_ISSUER);
    verify::verify_artifact(&bundle, data, &root, &policy).unwrap();
    assert!(matches!(
        verify::verify_artifact(&bundle, b"something else", &root, &policy),
        Err(VerifyError::Digest { .. })
    ));
}

#[test]
fn the_stand_ins_refuse_what_fulcio_and_rekor_refuse() {
    let s = Sigstore::start();
    let job = Job::default();
    let services = s.services();
    let sign_with = |token: &str| block_on(sign::sign_artifact(&client(), &services, token, b"x"));

    // A token for another audience, and one signed by someone else.
    let err = sign_with(&s.issuer.token_for(&job, "pypi")).unwrap_err();
    assert!(
        matches!(
            err,
            SignError::Refused {
                service: "Fulcio",
                status: 401,
                ..
            }
        ),
        "{err}"
    );
    let mut forged = s.issuer.token(&job);
    forged.truncate(forged.rfind('.').unwrap());
    forged.push_str(".AAAA");
    let err = sign_with(&forged).unwrap_err();
    assert!(
        matches!(
            err,
            SignError::Refused {
                service: "Fulcio",
                status: 401,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        !err.to_string().contains(&forged),
        "the token stays out of errors"
    );

    // A key whose proof of possession is over another subject.
    let key = Key::generate();
    let request = json!({
        "credentials": {"oidcIdentityToken": s.issuer.token(&job)},
        "publicKeyRequest": {
            "publicKey": {"algorithm": "ECDSA", "content": crate::support::sigstore::pem("PUBLIC KEY", &key.spki())},
            "proofOfPossession": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, key.sign(b"repo:mallory/shop:ref:refs/heads/main")),
        },
    });
    let status = block_on(async {
        client()
            .post(format!("{}/api/v2/signingCert", s.fulcio_url))
            .json(&request)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 400);

    // Rekor refuses a signature that is not over the digest it names.
    let entry = json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": sha256_hex(b"one")}},
            "signature": {
                "content": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, key.sign(b"two")),
                "publicKey": {"content": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, crate::support::sigstore::pem("PUBLIC KEY", &key.spki()))},
            },
        },
    });
    let status = block_on(async {
        client()
            .post(format!("{}/api/v1/log/entries", s.rekor_url))
            .json(&entry)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 400);
    assert_eq!(s.log_size(), 0, "nothing was logged");
}
