//! The Sigstore bundle v0.3 (`application/vnd.dev.sigstore.bundle.v0.3+json`)
//! in protobuf-specs' JSON field names: the signing certificate, one
//! transparency log entry with its inclusion proof and promise, and either a
//! message signature or a DSSE envelope.

use super::dsse::Envelope;
use super::encoding::{b64, b64_list, int64};
use serde::{Deserialize, Serialize};

/// The media type gantry writes.
pub const MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The same version under its older spelling, which verifiers still accept.
pub const MEDIA_TYPE_ALT: &str = "application/vnd.dev.sigstore.bundle+json;version=0.3";
/// v0.2: the same, but the certificate comes in a one-element "chain".
pub const MEDIA_TYPE_V02: &str = "application/vnd.dev.sigstore.bundle+json;version=0.2";

/// A Sigstore bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub media_type: String,
    pub verification_material: VerificationMaterial,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_signature: Option<MessageSignature>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsse_envelope: Option<Envelope>,
}

impl Bundle {
    /// The bundle as the JSON document verifiers read.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<Bundle, super::VerifyError> {
        serde_json::from_str(text).map_err(|e| super::VerifyError::Malformed(e.to_string()))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMaterial {
    /// v0.3 carries the leaf certificate alone; the chain is the trust root's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<X509Certificate>,
    /// v0.2's place for the leaf (first); gantry writes v0.3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x509_certificate_chain: Option<CertificateChain>,
    #[serde(default)]
    pub tlog_entries: Vec<TlogEntry>,
    /// RFC 3161 timestamps: gantry writes none and relies on the log's time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_verification_data: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct X509Certificate {
    #[serde(with = "b64")]
    pub raw_bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificateChain {
    pub certificates: Vec<X509Certificate>,
}

/// One Rekor entry (protobuf-specs `TransparencyLogEntry`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlogEntry {
    #[serde(with = "int64")]
    pub log_index: i64,
    pub log_id: LogId,
    pub kind_version: KindVersion,
    #[serde(with = "int64")]
    pub integrated_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion_promise: Option<InclusionPromise>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion_proof: Option<InclusionProof>,
    /// The entry exactly as the log hashed it into its tree.
    #[serde(with = "b64")]
    pub canonicalized_body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogId {
    /// sha256 of the log key's DER SubjectPublicKeyInfo.
    #[serde(with = "b64")]
    pub key_id: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindVersion {
    pub kind: String,
    pub version: String,
}

/// The signed entry timestamp (SET): the log's promise to include the entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionPromise {
    #[serde(with = "b64")]
    pub signed_entry_timestamp: Vec<u8>,
}

/// An RFC 6962 audit path to a root that a signed checkpoint names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    #[serde(with = "int64")]
    pub log_index: i64,
    #[serde(with = "b64")]
    pub root_hash: Vec<u8>,
    #[serde(with = "int64")]
    pub tree_size: i64,
    #[serde(with = "b64_list")]
    pub hashes: Vec<Vec<u8>>,
    pub checkpoint: Checkpoint,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The signed note, as text.
    pub envelope: String,
}

/// A signature over an artifact's bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSignature {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_digest: Option<HashOutput>,
    #[serde(with = "b64")]
    pub signature: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HashOutput {
    /// `SHA2_256` (protobuf-specs' `HashAlgorithm`).
    pub algorithm: String,
    #[serde(with = "b64")]
    pub digest: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_integers_as_strings_or_numbers_and_writes_strings() {
        let json = r#"{"logIndex":"7","logId":{"keyId":"AAE="},"kindVersion":{"kind":"hashedrekord","version":"0.0.1"},"integratedTime":1700000000,"canonicalizedBody":"e30="}"#;
        let entry: TlogEntry = serde_json::from_str(json).unwrap();
        assert_eq!(entry.log_index, 7);
        assert_eq!(entry.integrated_time, 1_700_000_000);
        assert_eq!(entry.canonicalized_body, b"{}");
        let back = serde_json::to_value(&entry).unwrap();
        assert_eq!(back["integratedTime"], "1700000000");
        assert_eq!(back["logId"]["keyId"], "AAE=");
        assert!(back.get("inclusionPromise").is_none());
    }
}
