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
fn a_tampered_artifact_is_refused_by_both_verifiers() {
    let Some(reference) = Reference::find() else {
        return;
    };
    let s = Sigstore::start();
    let job = Job::default();
    let config = s.client_trust_config(&s.trusted_root());
    let root = root_of(&s.trusted_root());
    let policy = Policy::exact(&job.identity(), GITHUB_ISSUER);

    // A blob that is not the one signed.
    let bundle = sign_blob(&s, &job, b"the release archive").unwrap();
    let other = reference.write("other.tar.gz", b"the release archivE");
    let refused = reference
        .verify(&config, &bundle, &other, &job.identity())
        .unwrap_err();
    assert!(
        refused.contains("Bundle message digest mismatch"),
        "{refused}"
    );
    assert!(matches!(
        verify::verify_artifact(&bundle, b"the release archivE", &root, &policy),
        Err(VerifyError::Digest { .. })
    ));
    // Without the digest in the bundle, the signature itself fails.
    let mut bare = bundle.clone();
    bare.message_signature.as_mut().unwrap().message_digest = None;
    assert!(matches!(
        verify::verify_artifact(&bare, b"the release archivE", &root, &policy),
        Err(VerifyError::Signature { .. })
    ));

    // A statement about another file.
    let bundle = sign_statement(&s, &job, "image", b"sha256 of the pushed image");
    let elsewhere = reference.write("image", b"an image pushed by hand");
    let refused = reference
        .verify(&config, &bundle, &elsewhere, &job.identity())
        .unwrap_err();
    assert!(refused.contains("no subject for digest"), "{refused}");
    let (_, envelope) = verify::verify_dsse(&bundle, &root, &policy).unwrap();
    assert!(matches!(
        verify::statement_has_subject(envelope, &sha256_hex(b"an image pushed by hand")),
        Err(VerifyError::Digest { .. })
    ));

    // A statement whose subject digest was edited after signing.
    let mut edited = bundle.clone();
    let env = edited.dsse_envelope.as_mut().unwrap();
    let text = String::from_utf8(env.payload.clone()).unwrap();
    env.payload = text
        .replace(
            &sha256_hex(b"sha256 of the pushed image"),
            &sha256_hex(b"an image pushed by hand"),
        )
        .into_bytes();
    let refused = reference
        .verify(&config, &edited, &elsewhere, &job.identity())
        .unwrap_err();
    assert!(refused.contains("DSSE: invalid signature"), "{refused}");
    assert!(matches!(
        verify::verify_dsse(&edited, &root, &policy),
        Err(VerifyError::Signature { .. })
    ));
}

#[test]
fn a_wrong_identity_is_refused_by_both_verifiers() {
    let Some(reference) = Reference::find() else {
        return;
    };
    let s = Sigstore::start();
    let job = Job::default();
    let data = b"an artifact";
    let bundle = sign_blob(&s, &job, data).unwrap();
    let artifact = reference.write("artifact", data);
    let config = s.client_trust_config(&s.trusted_root());
    let root = root_of(&s.trusted_root());

    let fork = Job {
        repository: "mallory/shop".into(),
        ..Job::default()
    };
    let refused = reference
        .verify(&config, &bundle, &artifact, &fork.identity())
        .unwrap_err();
    assert!(refused.contains("do not match"), "{refused}");
    let err = verify::verify_artifact(
        &bundle,
        data,
        &root,
        &Policy::exact(&fork.identity(), GITHUB_ISSUER),
    )
    .unwrap_err();
    assert!(matches!(err, VerifyError::Identity { .. }), "{err}");
    assert!(
        err.to_string().contains(&job.identity()),
        "it names what it found: {err}"
    );

    let err = verify::verify_artifact(
        &bundle,
        data,
        &root,
        &Policy::exact(&job.identity(), "https://accounts.google.com"),
    )
    .unwrap_err();
    assert!(
        matches!(err, VerifyError::Issuer { ref found, .. } if found == GITHUB_ISSUER),
        "{err}"
    );
}

#[test]
fn a_certificate_expired_when_the_log_integrated_the_entry_is_refused_by_both_verifiers() {
    let Some(reference) = Reference::find() else {
        return;
    };
    let s = Sigstore::start();
    let job = Job::default();
    // The log's clock says an hour later: past the 10-minute certificate.
    s.rekor_clock.store(3600, Ordering::SeqCst);
    let data = b"signed too late";
    let bundle = sign_blob(&s, &job, data).unwrap();
    let artifact = reference.write("artifact", data);
    let config = s.client_trust_config(&s.trusted_root());

    let refused = reference
        .verify(&config, &bundle, &artifact, &job.identity())
        .unwrap_err();
    assert!(
        refused.contains("cert is not valid at validation time"),
        "{refused}"
    );
    let err = verify::verify_artifact(
        &bundle,
        data,
        &root_of(&s.trusted_root()),
        &Policy::exact(&job.identity(), GITHUB_ISSUER),
    )
    .unwrap_err();
    assert!(
        matches!(err, VerifyError::CertificateExpired { .. }),
        "{err}"
    );

    // And a certificate not yet valid when logged.
    s.rekor_clock.store(0, Ordering::SeqCst);
    s.fulcio_clock.store(3600, Ordering::SeqCst);
    let bundle = sign_blob(&s, &job, data).unwrap();
    let refused = reference
        .verify(&config, &bundle, &artifact, &job.identity())
        .unwrap_err();
    assert!(
        refused.contains("cert is not valid at validation time"),
        "{refused}"
    );
    let err = verify::verify_artifact(
        &bundle,
        data,
        &root_of(&s.trusted_root()),
        &Policy::exact(&job.identity(), GITHUB_ISSUER),
    )
    .unwrap_err();
    assert!(
        matches!(err, VerifyError::CertificateExpired { .. }),
        "{err}"
    );
}

#[test]
fn a_trust_root_with_another_log_key_is_refused_by_both_verifiers() {
    let Some(reference) = Reference::find() else {
        return;
    };
    let s = Sigstore::start();
    let job = Job::default();
    let data = b"an artifact";
    let bundle = sign_blob(&s, &job, data).unwrap();
    let artifact = reference.write("artifact", data);
    let wrong = s.trusted_root_with_log_key(&Key::generate().spki());

    let refused = reference
        .verify(
            &s.client_trust_config(&wrong),
            &bundle,
            &artifact,
            &job.identity(),
        )
        .unwrap_err();
    assert!(
        refused.contains("checkpoint: invalid signature"),
        "{refused}"
    );
    let policy = Policy::exact(&job.identity(), GITHUB_ISSUER);
    let err = verify::verify_artifact(&bundle, data, &root_of(&wrong), &policy).unwrap_err();
    assert!(matches!(err, VerifyError::UnknownLog { .. }), "{err}");

    // A log entry re-signed by an impostor under the real log id still fails
    // on its signatures: here, a checkpoint from another tree.
    let mut forged = bundle.clone();
    let proof = forged.verification_material.tlog_entries[0]
        .inclusion_proof
        .as_mut()
        .unwrap();
    proof.root_hash = vec![7; 32];
    let root = root_of(&s.trusted_root());
    let err = verify::verify_artifact(&forged, data, &root, &policy).unwrap_err();
    assert!(matches!(err, VerifyError::InclusionProof(_)), "{err}");
    let mut no_set = bundle.clone();
    no_set.verification_material.tlog_entries[0].integrated_time += 1;
    let err = verify::verify_artifact(&no_set, data, &root, &policy).unwrap_err();
    assert!(matches!(err, VerifyError::SignedEntryTimestamp), "{err}");
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

#[test]
fn certificates_from_another_ca_or_with_another_ct_log_are_refused_by_both_verifiers() {
    let Some(reference) = Reference::find() else {
        return;
    };
    let s = Sigstore::start();
    let other = Sigstore::start();
    let job = Job::default();
    let data = b"an artifact";
    let bundle = sign_blob(&s, &job, data).unwrap();
    let artifact = reference.write("artifact", data);
    let policy = Policy::exact(&job.identity(), GITHUB_ISSUER);

    // The trust root names another Fulcio CA.
    let mut wrong_ca = s.trusted_root();
    wrong_ca["certificateAuthorities"] = other.trusted_root()["certificateAuthorities"].clone();
    let refused = reference
        .verify(
            &s.client_trust_config(&wrong_ca),
            &bundle,
            &artifact,
            &job.identity(),
        )
        .unwrap_err();
    assert!(
        refused.contains("failed to build timestamp certificate chain"),
        "{refused}"
    );
    let err = verify::verify_artifact(&bundle, data, &root_of(&wrong_ca), &policy).unwrap_err();
    assert!(matches!(err, VerifyError::Chain { .. }), "{err}");

    // The trust root names another CT log: the embedded SCT is no promise.
    let mut wrong_ct = s.trusted_root();
    wrong_ct["ctlogs"] = other.trusted_root()["ctlogs"].clone();
    let refused = reference
        .verify(
            &s.client_trust_config(&wrong_ct),
            &bundle,
            &artifact,
            &job.identity(),
        )
        .unwrap_err();
    assert!(refused.contains("failed to verify SCT"), "{refused}");
    let err = verify::verify_artifact(&bundle, data, &root_of(&wrong_ct), &policy).unwrap_err();
    assert!(matches!(err, VerifyError::Sct(_)), "{err}");
}

/// pypi-attestations verifies against Sigstore's public-good instance only
/// (`Verifier.production`); this script hands it the stand-ins' trust root
/// in that place and runs its own `Attestation.verify` for a GitHub
/// Trusted Publisher.
const PEP740_VERIFY: &str = r#"
import sys
from pathlib import Path
from pypi_attestations import Attestation, Distribution, GitHubPublisher
from sigstore.models import ClientTrustConfig
from sigstore.verify import Verifier

config, attestation, dist, repository, workflow = sys.argv[1:6]
root = ClientTrustConfig.from_json(Path(config).read_text()).trusted_root
Verifier.production = classmethod(lambda cls, offline=False: cls(trusted_root=root))
att = Attestation.model_validate_json(Path(attestation).read_text())
predicate_type, _ = att.verify(
    GitHubPublisher(repository=repository, workflow=workflow),
    Distribution.from_file(Path(dist)),
)
print("OK", predicate_type)
"#;

#[test]
fn pep740_attestations_gantry_makes_are_accepted_by_pypi_attestations_and_gantry() {
    use gantry::sigstore::pep740::{self, Attestation};
    let Some(reference) = Reference::find() else {
        return;
    };
    let python = reference.bin.with_file_name("python");
    let s = Sigstore::start();
    let job = Job::default();
    let name = "shop_sdk-1.2.3-py3-none-any.whl";
    let wheel = b"PK\x03\x04 a wheel";
    let statement = pep740::publish_statement(name, &sha256_hex(wheel));
    let bundle = block_on(sign::sign_dsse(
        &client(),
        &s.services(),
        &s.issuer.token(&job),
        dsse::IN_TOTO,
        &statement.to_json(),
    ))
    .unwrap();
    let attestation = Attestation::from_bundle(&bundle).unwrap();
    // The upload field is a JSON array of PEP 740 objects.
    let field: Value =
        serde_json::from_str(&pep740::upload_field(std::slice::from_ref(&attestation))).unwrap();
    assert_eq!(field[0]["version"], 1);
    assert!(
        field[0]["verification_material"]["transparency_entries"][0]["inclusionProof"].is_object()
    );

    let script = reference.write("verify_pep740.py", PEP740_VERIFY.as_bytes());
    let config = reference.write(
        "trust_config.json",
        s.client_trust_config(&s.trusted_root())
            .to_string()
            .as_bytes(),
    );
    let att_path = reference.write("attestation.json", field[0].to_string().as_bytes());
    let run = |dist: &Path, repository: &str| {
        let out = Command::new(&python)
            .arg(&script)
            .arg(&config)
            .arg(&att_path)
            .arg(dist)
            .args([repository, job.workflow_file.as_str()])
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let dist = reference.write(name, wheel);
    let (ok, said) = run(&dist, &job.repository);
    assert!(ok, "pypi-attestations accepts gantry's attestation: {said}");
    assert!(said.contains(pep740::PYPI_PUBLISH_V1), "{said}");

    // Another file under the same name, and another repository's publisher.
    let (ok, said) = run(
        &reference.write(name, b"PK\x03\x04 another wheel"),
        &job.repository,
    );
    assert!(
        !ok && said.contains("subject does not match distribution digest"),
        "{said}"
    );
    let (ok, said) = run(&dist, "mallory/shop");
    assert!(!ok && said.contains("VerificationError"), "{said}");

    let root = root_of(&s.trusted_root());
    let policy = Policy::exact(&job.identity(), GITHUB_ISSUER);
    attestation
        .verify(name, &sha256_hex(wheel), &root, &policy)
        .unwrap();
    assert!(matches!(
        attestation.verify(name, &sha256_hex(b"another wheel"), &root, &policy),
        Err(VerifyError::Digest { .. })
    ));
    assert!(matches!(
        attestation.verify(
            "shop_sdk-9.9.9-py3-none-any.whl",
            &sha256_hex(wheel),
            &root,
            &policy
        ),
        Err(VerifyError::Malformed(_))
    ));
}
