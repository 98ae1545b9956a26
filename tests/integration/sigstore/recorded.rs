//! Bundles made by Sigstore's real services (tests/support/sigstore/recorded,
//! see its README), verified by gantry against the real trust roots: the
//! public-good instance's P-384 CA chain, CT log, Rekor key and checkpoints,
//! which no stand-in of ours made.

use super::*;

fn recorded(name: &str) -> PathBuf {
    crate::support::repo_root()
        .join("tests/support/sigstore/recorded")
        .join(name)
}

fn load(name: &str) -> (Vec<u8>, Bundle) {
    let artifact = std::fs::read(recorded(name)).unwrap();
    let bundle = std::fs::read_to_string(recorded(&format!("{name}.sigstore"))).unwrap();
    (artifact, Bundle::from_json(&bundle).unwrap())
}

fn trust_root(name: &str) -> TrustedRoot {
    TrustedRoot::from_json(&std::fs::read_to_string(recorded(name)).unwrap()).unwrap()
}

#[test]
fn a_github_actions_bundle_from_the_public_good_instance_verifies_and_nothing_else_does() {
    let (wheel, bundle) = load("bundle_v3_github.whl");
    let root = trust_root("production_trusted_root.json");
    let release =
        "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2";
    let verified = verify::verify_artifact(
        &bundle,
        &wheel,
        &root,
        &Policy::exact(release, GITHUB_ISSUER),
    )
    .unwrap();
    assert_eq!(verified.identity, release);
    // The identity of a release workflow, as issue #21 pins Trivy's.
    let any_tag = Policy::regex(
        r"https://github\.com/trailofbits/rfc8785\.py/\.github/workflows/release\.yml@refs/tags/v.*",
        GITHUB_ISSUER,
    )
    .unwrap();
    verify::verify_artifact(&bundle, &wheel, &root, &any_tag).unwrap();

    let mut changed = wheel.clone();
    changed[100] ^= 1;
    assert!(matches!(
        verify::verify_artifact(&bundle, &changed, &root, &any_tag),
        Err(VerifyError::Digest { .. })
    ));
    let main_only = Policy::exact(
        "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/heads/main",
        GITHUB_ISSUER,
    );
    assert!(matches!(
        verify::verify_artifact(&bundle, &wheel, &root, &main_only),
        Err(VerifyError::Identity { .. })
    ));
    // The staging instance's trust root does not vouch for it.
    let err = verify::verify_artifact(
        &bundle,
        &wheel,
        &trust_root("staging_trusted_root.json"),
        &any_tag,
    )
    .unwrap_err();
    assert!(matches!(err, VerifyError::UnknownLog { .. }), "{err}");
}

#[test]
fn a_staging_v03_bundle_verifies_with_the_staging_trust_root_only() {
    let (text, bundle) = load("bundle_v3.txt");
    let policy = Policy::exact("william@yossarian.net", "https://github.com/login/oauth");
    let staging = trust_root("staging_trusted_root.json");
    verify::verify_artifact(&bundle, &text, &staging, &policy).unwrap();
    let err = verify::verify_artifact(
        &bundle,
        &text,
        &trust_root("production_trusted_root.json"),
        &policy,
    )
    .unwrap_err();
    assert!(matches!(err, VerifyError::UnknownLog { .. }), "{err}");
    // A log entry whose recorded time was moved is no longer the one the log signed.
    let mut moved = bundle.clone();
    moved.verification_material.tlog_entries[0].integrated_time -= 60;
    assert!(matches!(
        verify::verify_artifact(&moved, &text, &staging, &policy),
        Err(VerifyError::SignedEntryTimestamp)
    ));
    // A checkpoint whose text was edited no longer carries the log's signature.
    let mut edited = bundle.clone();
    let proof = edited.verification_material.tlog_entries[0]
        .inclusion_proof
        .as_mut()
        .unwrap();
    proof.checkpoint.envelope = proof.checkpoint.envelope.replacen(" - ", " - 1", 1);
    let err = verify::verify_artifact(&edited, &text, &staging, &policy).unwrap_err();
    assert!(matches!(err, VerifyError::Checkpoint(_)), "{err}");
}
