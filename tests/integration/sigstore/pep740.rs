//! PEP 740 attestation objects, judged by pypi-attestations and by gantry.

use super::*;

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
