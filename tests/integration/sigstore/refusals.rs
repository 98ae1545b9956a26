//! Each way a bundle can be wrong, refused by sigstore-python and by gantry.

use super::*;

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
