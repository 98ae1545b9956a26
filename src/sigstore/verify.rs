//! Verifying a bundle: the log entry (signed entry timestamp, inclusion
//! proof against a checkpoint signed by the log key), the certificate
//! (chain to a Fulcio CA at the log's time, embedded SCT, Sigstore's leaf
//! profile, the expected identity and issuer), then the signature and that
//! the log entry records exactly this signature.

use super::VerifyError;
use super::bundle::{Bundle, MEDIA_TYPE, MEDIA_TYPE_ALT, MEDIA_TYPE_V02, TlogEntry};
use super::dsse::{self, Envelope};
use super::encoding::{decode_b64, encode_b64, format_time, hex, sha256};
use super::keys::Hash;
use super::trust::{self, TrustedRoot};
use super::x509::Cert;
use super::{checkpoint, merkle, sct};
use serde_json::Value;

/// Whom the certificate must be issued to.
#[derive(Debug, Clone)]
pub enum Identity {
    /// The SAN exactly (for GitHub: `https://github.com/<owner>/<repo>/.github/workflows/<file>@<ref>`).
    Exact(String),
    /// Any SAN the (anchored) pattern matches.
    Regex(regex::Regex),
}

/// What a bundle must prove besides its own integrity.
#[derive(Debug, Clone)]
pub struct Policy {
    pub identity: Identity,
    /// The OIDC issuer, e.g. `https://token.actions.githubusercontent.com`.
    pub issuer: String,
}

impl Policy {
    pub fn exact(identity: &str, issuer: &str) -> Policy {
        Policy {
            identity: Identity::Exact(identity.to_string()),
            issuer: issuer.to_string(),
        }
    }

    /// `pattern` must match a whole SAN.
    pub fn regex(pattern: &str, issuer: &str) -> Result<Policy, regex::Error> {
        Ok(Policy {
            identity: Identity::Regex(regex::Regex::new(&format!("^(?:{pattern})$"))?),
            issuer: issuer.to_string(),
        })
    }
}

/// What a verified bundle established.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The certificate's SAN that matched the policy.
    pub identity: String,
    pub issuer: String,
    /// When the log integrated the entry (seconds since the epoch).
    pub integrated_time: i64,
    pub log_index: i64,
}

/// Verifies a bundle with a message signature over `artifact`.
pub fn verify_artifact(
    bundle: &Bundle,
    artifact: &[u8],
    root: &TrustedRoot,
    policy: &Policy,
) -> Result<Verified, VerifyError> {
    let Some(sig) = &bundle.message_signature else {
        return Err(VerifyError::Malformed(
            "the bundle has no message signature (is it a DSSE bundle?)".into(),
        ));
    };
    let (leaf, entry, verified) = verify_common(bundle, root, policy)?;
    let digest = sha256(artifact);
    if let Some(md) = &sig.message_digest
        && md.digest != digest
    {
        return Err(VerifyError::Digest {
            expected: hex(&md.digest),
            actual: hex(&digest),
        });
    }
    let key = leaf.public_key().map_err(VerifyError::Usage)?;
    if !key.verify(Hash::Sha256, artifact, &sig.signature) {
        return Err(VerifyError::Signature {
            what: "the artifact",
        });
    }
    check_hashedrekord(&entry.canonicalized_body, &leaf, &sig.signature, &digest)?;
    Ok(verified)
}

/// Verifies a bundle with a DSSE envelope; returns the envelope, whose
/// payload the caller must still read (for an in-toto statement: its subjects).
pub fn verify_dsse<'b>(
    bundle: &'b Bundle,
    root: &TrustedRoot,
    policy: &Policy,
) -> Result<(Verified, &'b Envelope), VerifyError> {
    let Some(envelope) = &bundle.dsse_envelope else {
        return Err(VerifyError::Malformed(
            "the bundle has no DSSE envelope (is it a message signature?)".into(),
        ));
    };
    let (leaf, entry, verified) = verify_common(bundle, root, policy)?;
    let [signature] = envelope.signatures.as_slice() else {
        return Err(VerifyError::Malformed(format!(
            "the envelope has {} signatures, not one",
            envelope.signatures.len()
        )));
    };
    let key = leaf.public_key().map_err(VerifyError::Usage)?;
    let pae = dsse::pae(&envelope.payload_type, &envelope.payload);
    if !key.verify(Hash::Sha256, &pae, &signature.sig) {
        return Err(VerifyError::Signature {
            what: "the DSSE envelope",
        });
    }
    check_dsse_entry(&entry.canonicalized_body, &leaf, envelope)?;
    Ok((verified, envelope))
}

/// Checks (for a bundle from [`verify_dsse`]) that the in-toto statement
/// names a subject with this sha256.
pub fn statement_has_subject(envelope: &Envelope, sha256_hex: &str) -> Result<(), VerifyError> {
    if envelope.payload_type != dsse::IN_TOTO {
        return Err(VerifyError::Malformed(format!(
            "the envelope carries `{}`, not an in-toto statement",
            envelope.payload_type
        )));
    }
    let statement: super::intoto::Statement = serde_json::from_slice(&envelope.payload)
        .map_err(|e| VerifyError::Malformed(format!("the in-toto statement: {e}")))?;
    let digests: Vec<String> = statement
        .subject
        .iter()
        .filter_map(|s| s.digest.get("sha256").cloned())
        .collect();
    if digests.iter().any(|d| d.eq_ignore_ascii_case(sha256_hex)) {
        Ok(())
    } else {
        Err(VerifyError::Digest {
            expected: digests.join(", "),
            actual: sha256_hex.to_string(),
        })
    }
}

/// Steps shared by both kinds: the log entry, then the certificate.
fn verify_common<'b>(
    bundle: &'b Bundle,
    root: &TrustedRoot,
    policy: &Policy,
) -> Result<(Cert, &'b TlogEntry, Verified), VerifyError> {
    let material = &bundle.verification_material;
    // v0.2 and v0.3 both require an inclusion proof with a checkpoint; they
    // differ only in where the leaf certificate sits.
    let cert = match bundle.media_type.as_str() {
        MEDIA_TYPE | MEDIA_TYPE_ALT => material.certificate.as_ref(),
        MEDIA_TYPE_V02 => material
            .x509_certificate_chain
            .as_ref()
            .and_then(|c| c.certificates.first()),
        other => return Err(VerifyError::MediaType(other.to_string())),
    }
    .ok_or_else(|| VerifyError::Malformed("the bundle has no certificate".into()))?;
    let leaf = Cert::from_der(&cert.raw_bytes).map_err(VerifyError::Malformed)?;
    let [entry] = material.tlog_entries.as_slice() else {
        return Err(VerifyError::Malformed(format!(
            "the bundle has {} log entries, not one",
            material.tlog_entries.len()
        )));
    };
    let time = verify_log_entry(entry, root)?;
    verify_chain(&leaf, root, time)?;
    sct::verify(&leaf, root, time)?;
    leaf.check_code_signing().map_err(VerifyError::Usage)?;
    let identity = check_policy(&leaf, policy)?;
    Ok((
        leaf,
        entry,
        Verified {
            identity,
            issuer: policy.issuer.clone(),
            integrated_time: time,
            log_index: entry.log_index,
        },
    ))
}

/// The log entry: its log is trusted, its SET holds (which makes its
/// integrated time trustworthy) and it is in the tree a signed checkpoint
/// commits to. Returns the integrated time.
fn verify_log_entry(entry: &TlogEntry, root: &TrustedRoot) -> Result<i64, VerifyError> {
    let log_id = hex(&entry.log_id.key_id);
    let log = trust::find_log(&root.tlogs, &entry.log_id.key_id).ok_or_else(|| {
        VerifyError::UnknownLog {
            log_id: log_id.clone(),
        }
    })?;
    let time = entry.integrated_time;
    if !log
        .valid_for
        .contains(time)
        .map_err(VerifyError::TrustRoot)?
    {
        return Err(VerifyError::LogKeyOutOfWindow {
            log_id,
            time: format_time(time),
        });
    }

    // The SET: the log's signature over the entry's canonical JSON (RFC 8785:
    // sorted keys, no spaces), which binds the integrated time.
    let promise = entry
        .inclusion_promise
        .as_ref()
        .ok_or(VerifyError::NoTrustedTime)?;
    let payload = format!(
        r#"{{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{}}}"#,
        encode_b64(&entry.canonicalized_body),
        entry.integrated_time,
        log_id,
        entry.log_index
    );
    if !log.key.verify(
        log.key.default_hash(),
        payload.as_bytes(),
        &promise.signed_entry_timestamp,
    ) {
        return Err(VerifyError::SignedEntryTimestamp);
    }

    let proof = entry.inclusion_proof.as_ref().ok_or_else(|| {
        VerifyError::InclusionProof("the bundle has none (v0.3 requires one)".into())
    })?;
    let (Ok(index), Ok(size)) = (
        u64::try_from(proof.log_index),
        u64::try_from(proof.tree_size),
    ) else {
        return Err(VerifyError::InclusionProof(
            "negative index or tree size".into(),
        ));
    };
    let leaf = merkle::leaf_hash(&entry.canonicalized_body);
    merkle::verify_inclusion(index, size, leaf, &proof.hashes, &proof.root_hash)
        .map_err(VerifyError::InclusionProof)?;
    let signed = checkpoint::verify(&proof.checkpoint.envelope, &log.key)
        .map_err(VerifyError::Checkpoint)?;
    if signed.root_hash != proof.root_hash || signed.size != size {
        return Err(VerifyError::Checkpoint(format!(
            "it commits to size {} root {}, the proof to size {size} root {}",
            signed.size,
            hex(&signed.root_hash),
            hex(&proof.root_hash)
        )));
    }
    Ok(time)
}

/// The leaf chains to a CA of the trust root that was valid at `time`, and
/// every certificate on the way was valid then.
fn verify_chain(leaf: &Cert, root: &TrustedRoot, time: i64) -> Result<(), VerifyError> {
    let chain_err = |detail: String| VerifyError::Chain {
        time: format_time(time),
        detail,
    };
    if !(leaf.not_before() <= time && time <= leaf.not_after()) {
        return Err(VerifyError::CertificateExpired {
            time: format_time(time),
            not_before: format_time(leaf.not_before()),
            not_after: format_time(leaf.not_after()),
        });
    }
    let chains = trust::ca_chains(root).map_err(VerifyError::TrustRoot)?;
    if chains.is_empty() {
        return Err(VerifyError::TrustRoot("it lists no Fulcio CA".into()));
    }
    let mut tried = Vec::new();
    for (certs, window) in &chains {
        if !window.contains(time).map_err(VerifyError::TrustRoot)? {
            tried.push(format!("{} (not valid then)", subject_of(certs)));
            continue;
        }
        match chain_holds(leaf, certs, time) {
            Ok(()) => return Ok(()),
            Err(why) => tried.push(format!("{}: {why}", subject_of(certs))),
        }
    }
    Err(chain_err(format!("tried {}", tried.join("; "))))
}

fn subject_of(certs: &[Cert]) -> String {
    certs
        .last()
        .map_or_else(|| "an empty chain".into(), Cert::subject)
}

fn chain_holds(leaf: &Cert, certs: &[Cert], time: i64) -> Result<(), String> {
    let mut child = leaf;
    for ca in certs {
        if !ca.is_ca() {
            return Err(format!("{} is not a CA", ca.subject()));
        }
        if !(ca.not_before() <= time && time <= ca.not_after()) {
            return Err(format!("{} was not valid then", ca.subject()));
        }
        if !child.is_signed_by(ca)? {
            return Err(format!("{} did not sign {}", ca.subject(), describe(child)));
        }
        child = ca;
    }
    Ok(())
}

fn describe(cert: &Cert) -> String {
    let s = cert.subject();
    if s.is_empty() {
        "the signing certificate".into()
    } else {
        s
    }
}

fn check_policy(leaf: &Cert, policy: &Policy) -> Result<String, VerifyError> {
    let found_issuer = leaf.oidc_issuer().unwrap_or_default();
    if found_issuer != policy.issuer {
        return Err(VerifyError::Issuer {
            expected: policy.issuer.clone(),
            found: if found_issuer.is_empty() {
                "none".into()
            } else {
                found_issuer
            },
        });
    }
    let sans = leaf.identities();
    let hit = sans.iter().find(|san| match &policy.identity {
        Identity::Exact(want) => *san == want,
        Identity::Regex(re) => re.is_match(san),
    });
    match hit {
        Some(san) => Ok(san.clone()),
        None => Err(VerifyError::Identity {
            expected: match &policy.identity {
                Identity::Exact(s) => s.clone(),
                Identity::Regex(re) => format!("a match of /{}/", re.as_str()),
            },
            found: sans,
        }),
    }
}

fn body(canonicalized: &[u8]) -> Result<Value, VerifyError> {
    serde_json::from_slice(canonicalized)
        .map_err(|e| VerifyError::EntryMismatch(format!("its body is not JSON: {e}")))
}

/// The certificate a body names (base64 of PEM), compared as DER.
fn same_cert(b64_pem: Option<&str>, leaf: &Cert) -> bool {
    b64_pem
        .and_then(|t| decode_b64(t).ok())
        .and_then(|p| String::from_utf8(p).ok())
        .and_then(|p| super::encoding::pem_decode("CERTIFICATE", &p).ok())
        .is_some_and(|der| der == leaf.der)
}

/// A `hashedrekord` 0.0.1 entry records this digest, signature and certificate.
fn check_hashedrekord(
    canonicalized: &[u8],
    leaf: &Cert,
    sig: &[u8],
    digest: &[u8; 32],
) -> Result<(), VerifyError> {
    let v = body(canonicalized)?;
    let mismatch = |what: &str| Err(VerifyError::EntryMismatch(what.to_string()));
    if v["kind"] != "hashedrekord" || v["apiVersion"] != "0.0.1" {
        return mismatch(&format!(
            "it is a {} {} entry, not hashedrekord 0.0.1",
            v["kind"], v["apiVersion"]
        ));
    }
    let spec = &v["spec"];
    if spec["data"]["hash"]["algorithm"] != "sha256"
        || spec["data"]["hash"]["value"].as_str() != Some(hex(digest).as_str())
    {
        return mismatch("it records another artifact digest");
    }
    if spec["signature"]["content"].as_str() != Some(encode_b64(sig).as_str()) {
        return mismatch("it records another signature");
    }
    if !same_cert(spec["signature"]["publicKey"]["content"].as_str(), leaf) {
        return mismatch("it records another certificate");
    }
    Ok(())
}

/// A `dsse` 0.0.1 entry records this payload's hash and the envelope's
/// signature by this certificate. (Its envelope hash covers JSON the log
/// saw and the bundle need not reproduce, so it cannot be checked.)
fn check_dsse_entry(canonicalized: &[u8], leaf: &Cert, env: &Envelope) -> Result<(), VerifyError> {
    let v = body(canonicalized)?;
    let mismatch = |what: &str| Err(VerifyError::EntryMismatch(what.to_string()));
    if v["kind"] != "dsse" || v["apiVersion"] != "0.0.1" {
        return mismatch(&format!(
            "it is a {} {} entry, not dsse 0.0.1",
            v["kind"], v["apiVersion"]
        ));
    }
    let spec = &v["spec"];
    let payload_hash = hex(&sha256(&env.payload));
    if spec["payloadHash"]["algorithm"] != "sha256"
        || spec["payloadHash"]["value"].as_str() != Some(payload_hash.as_str())
    {
        return mismatch("it records another payload");
    }
    let sigs = spec["signatures"].as_array().cloned().unwrap_or_default();
    let ours = encode_b64(&env.signatures[0].sig);
    let recorded = sigs.len() == env.signatures.len()
        && sigs.iter().any(|s| {
            s["signature"].as_str() == Some(ours.as_str())
                && same_cert(s["verifier"].as_str(), leaf)
        });
    if !recorded {
        return mismatch("it records other signatures or another certificate");
    }
    Ok(())
}
