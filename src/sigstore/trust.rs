//! The trust root (`trusted_root.json`, protobuf-specs'
//! `dev.sigstore.trustroot.v1.TrustedRoot`): the Fulcio CA chains, the
//! Rekor and CT log keys, each with the window it may be used in.

use super::VerifyError;
use super::bundle::X509Certificate;
use super::encoding::{b64, parse_time};
use super::keys::PublicKey;
use super::x509::Cert;
use serde::{Deserialize, Serialize};

pub const MEDIA_TYPE: &str = "application/vnd.dev.sigstore.trustedroot+json;version=0.1";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustedRoot {
    pub media_type: String,
    #[serde(default)]
    pub tlogs: Vec<TransparencyLogInstance>,
    #[serde(default)]
    pub certificate_authorities: Vec<CertificateAuthority>,
    #[serde(default)]
    pub ctlogs: Vec<TransparencyLogInstance>,
    #[serde(default)]
    pub timestamp_authorities: Vec<CertificateAuthority>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransparencyLogInstance {
    pub base_url: String,
    pub hash_algorithm: String,
    pub public_key: LogPublicKey,
    pub log_id: super::bundle::LogId,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogPublicKey {
    /// DER SubjectPublicKeyInfo.
    #[serde(with = "b64")]
    pub raw_bytes: Vec<u8>,
    /// e.g. `PKIX_ECDSA_P256_SHA_256`.
    pub key_details: String,
    pub valid_for: TimeRange,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimeRange {
    /// RFC 3339.
    pub start: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateAuthority {
    #[serde(default)]
    pub subject: DistinguishedName,
    #[serde(default)]
    pub uri: String,
    pub cert_chain: CertChain,
    pub valid_for: TimeRange,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DistinguishedName {
    #[serde(default)]
    pub organization: String,
    #[serde(default)]
    pub common_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CertChain {
    /// Leaf-most first, the root last.
    pub certificates: Vec<X509Certificate>,
}

impl TrustedRoot {
    pub fn from_json(text: &str) -> Result<TrustedRoot, VerifyError> {
        let root: TrustedRoot =
            serde_json::from_str(text).map_err(|e| VerifyError::TrustRoot(e.to_string()))?;
        if root.media_type != MEDIA_TYPE {
            return Err(VerifyError::TrustRoot(format!(
                "media type `{}` is not `{MEDIA_TYPE}`",
                root.media_type
            )));
        }
        Ok(root)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

impl TimeRange {
    /// Whether `time` (seconds since the epoch) falls in the window.
    pub(crate) fn contains(&self, time: i64) -> Result<bool, String> {
        let start = parse_time(&self.start)?;
        let end = self.end.as_deref().map(parse_time).transpose()?;
        Ok(start <= time && end.is_none_or(|e| time <= e))
    }
}

/// A log of the trust root, matched by the key id the entry names.
pub(crate) struct TrustedLog {
    pub(crate) key: PublicKey,
    pub(crate) valid_for: TimeRange,
}

/// The log among `logs` whose key has `key_id` (computed from the key
/// itself, never taken from the file's `logId`).
pub(crate) fn find_log(logs: &[TransparencyLogInstance], key_id: &[u8]) -> Option<TrustedLog> {
    for log in logs {
        // A key of a kind gantry cannot use (RSA) cannot be the one that
        // signed; sigstore-python skips such keys too.
        let Ok(key) = PublicKey::from_spki_der(&log.public_key.raw_bytes) else {
            continue;
        };
        if key.key_id == key_id {
            return Some(TrustedLog {
                key,
                valid_for: log.public_key.valid_for.clone(),
            });
        }
    }
    None
}

/// The parsed chains of the Fulcio CAs, each with its window.
pub(crate) fn ca_chains(root: &TrustedRoot) -> Result<Vec<(Vec<Cert>, TimeRange)>, String> {
    root.certificate_authorities
        .iter()
        .map(|ca| {
            let certs = ca
                .cert_chain
                .certificates
                .iter()
                .map(|c| Cert::from_der(&c.raw_bytes))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("CA {}: {e}", ca.uri))?;
            Ok((certs, ca.valid_for.clone()))
        })
        .collect()
}
