//! PEP 740 attestation objects: what a Trusted Publishing upload sends in
//! its `attestations` form field, one per distribution file. Each is a
//! DSSE-signed in-toto statement (predicate type PyPI publish v1) whose one
//! subject is the file, carried without the bundle's wrapping: the
//! certificate, the log entries, the statement and its signature.

use super::VerifyError;
use super::bundle::{Bundle, MEDIA_TYPE, TlogEntry, VerificationMaterial, X509Certificate};
use super::dsse::{self, Envelope};
use super::encoding::b64;
use super::intoto::{Statement, Subject};
use super::trust::TrustedRoot;
use super::verify::{self, Policy, Verified};
use serde::{Deserialize, Serialize};

pub const PYPI_PUBLISH_V1: &str = "https://docs.pypi.org/attestations/publish/v1";

/// One attestation object (PEP 740, version 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attestation {
    pub version: u32,
    pub verification_material: AttestationMaterial,
    pub envelope: AttestationEnvelope,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttestationMaterial {
    /// The signing certificate, DER.
    #[serde(with = "b64")]
    pub certificate: Vec<u8>,
    /// Log entries as in a bundle (protobuf-specs JSON).
    pub transparency_entries: Vec<TlogEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttestationEnvelope {
    /// The in-toto statement's JSON bytes.
    #[serde(with = "b64")]
    pub statement: Vec<u8>,
    #[serde(with = "b64")]
    pub signature: Vec<u8>,
}

/// The statement to sign for a distribution file: its name and sha256.
pub fn publish_statement(filename: &str, sha256_hex: &str) -> Statement {
    Statement::new(
        vec![Subject::sha256(filename, sha256_hex)],
        PYPI_PUBLISH_V1,
        serde_json::Value::Null,
    )
}

impl Attestation {
    /// The attestation of a DSSE bundle (as [`super::sign::sign_dsse`] makes).
    pub fn from_bundle(bundle: &Bundle) -> Result<Attestation, String> {
        let env = bundle
            .dsse_envelope
            .as_ref()
            .ok_or("the bundle has no DSSE envelope")?;
        let [signature] = env.signatures.as_slice() else {
            return Err(format!("{} signatures, not one", env.signatures.len()));
        };
        let cert = bundle
            .verification_material
            .certificate
            .as_ref()
            .ok_or("the bundle has no certificate")?;
        Ok(Attestation {
            version: 1,
            verification_material: AttestationMaterial {
                certificate: cert.raw_bytes.clone(),
                transparency_entries: bundle.verification_material.tlog_entries.clone(),
            },
            envelope: AttestationEnvelope {
                statement: env.payload.clone(),
                signature: signature.sig.clone(),
            },
        })
    }

    /// The bundle this attestation was cut from (PEP 740 fixes the payload type).
    pub fn to_bundle(&self) -> Bundle {
        Bundle {
            media_type: MEDIA_TYPE.into(),
            verification_material: VerificationMaterial {
                certificate: Some(X509Certificate {
                    raw_bytes: self.verification_material.certificate.clone(),
                }),
                tlog_entries: self.verification_material.transparency_entries.clone(),
                x509_certificate_chain: None,
                timestamp_verification_data: None,
            },
            message_signature: None,
            dsse_envelope: Some(Envelope {
                payload: self.envelope.statement.clone(),
                payload_type: dsse::IN_TOTO.into(),
                signatures: vec![dsse::Signature {
                    sig: self.envelope.signature.clone(),
                    keyid: String::new(),
                }],
            }),
        }
    }

    /// Verifies the attestation for the file `filename` with `sha256_hex`:
    /// the signature and log entry as any bundle, then that its one subject
    /// is this file and its predicate type is PyPI's.
    pub fn verify(
        &self,
        filename: &str,
        sha256_hex: &str,
        root: &TrustedRoot,
        policy: &Policy,
    ) -> Result<Verified, VerifyError> {
        if self.version != 1 {
            return Err(VerifyError::Malformed(format!(
                "attestation version {} is not 1",
                self.version
            )));
        }
        let bundle = self.to_bundle();
        let (verified, envelope) = verify::verify_dsse(&bundle, root, policy)?;
        let statement: Statement = serde_json::from_slice(&envelope.payload)
            .map_err(|e| VerifyError::Malformed(format!("the statement: {e}")))?;
        if statement.predicate_type != PYPI_PUBLISH_V1 {
            return Err(VerifyError::Malformed(format!(
                "predicate type `{}` is not {PYPI_PUBLISH_V1}",
                statement.predicate_type
            )));
        }
        let [subject] = statement.subject.as_slice() else {
            return Err(VerifyError::Malformed(format!(
                "{} subjects, not one",
                statement.subject.len()
            )));
        };
        if subject.name != filename {
            return Err(VerifyError::Malformed(format!(
                "the subject is `{}`, not `{filename}`",
                subject.name
            )));
        }
        verify::statement_has_subject(envelope, sha256_hex)?;
        Ok(verified)
    }
}

/// The `attestations` form field of an upload: a JSON array.
pub fn upload_field(attestations: &[Attestation]) -> String {
    serde_json::to_string(attestations).unwrap_or_default()
}
