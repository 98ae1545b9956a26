//! The parts of an X.509 certificate Sigstore verification reads, with
//! x509-cert; signatures are checked with ring.

use super::keys::{self, PublicKey};
use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode, asn1::ObjectIdentifier};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName};

/// Fulcio's OIDC issuer extension, v1: the raw UTF-8 bytes.
pub(crate) const OIDC_ISSUER_V1: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// Fulcio's OIDC issuer extension, v2: a DER UTF8String.
pub(crate) const OIDC_ISSUER_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
/// RFC 6962's embedded SCT list.
pub(crate) const SCT_LIST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
const CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
const SAN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");

pub(crate) struct Cert {
    pub(crate) der: Vec<u8>,
    pub(crate) cert: Certificate,
}

impl Cert {
    pub(crate) fn from_der(der: &[u8]) -> Result<Cert, String> {
        let cert = Certificate::from_der(der).map_err(|e| format!("not a DER certificate: {e}"))?;
        Ok(Cert {
            der: der.to_vec(),
            cert,
        })
    }

    pub(crate) fn not_before(&self) -> i64 {
        let v = &self.cert.tbs_certificate.validity;
        v.not_before.to_unix_duration().as_secs() as i64
    }

    pub(crate) fn not_after(&self) -> i64 {
        let v = &self.cert.tbs_certificate.validity;
        v.not_after.to_unix_duration().as_secs() as i64
    }

    pub(crate) fn subject(&self) -> String {
        self.cert.tbs_certificate.subject.to_string()
    }

    pub(crate) fn public_key(&self) -> Result<PublicKey, String> {
        PublicKey::from_spki(&self.cert.tbs_certificate.subject_public_key_info)
    }

    pub(crate) fn spki_der(&self) -> Vec<u8> {
        self.cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .unwrap_or_default()
    }

    /// Whether `issuer`'s key signed this certificate.
    pub(crate) fn is_signed_by(&self, issuer: &Cert) -> Result<bool, String> {
        let hash = keys::hash_of(&self.cert.signature_algorithm.oid)?;
        let key = issuer.public_key()?;
        let tbs = self
            .cert
            .tbs_certificate
            .to_der()
            .map_err(|e| e.to_string())?;
        let sig = self.cert.signature.raw_bytes();
        Ok(key.verify(hash, &tbs, sig))
    }

    pub(crate) fn extension(&self, oid: ObjectIdentifier) -> Option<&[u8]> {
        self.cert
            .tbs_certificate
            .extensions
            .as_ref()?
            .iter()
            .find(|e| e.extn_id == oid)
            .map(|e| e.extn_value.as_bytes())
    }

    pub(crate) fn is_ca(&self) -> bool {
        self.extension(BASIC_CONSTRAINTS)
            .and_then(|v| BasicConstraints::from_der(v).ok())
            .is_some_and(|b| b.ca)
    }

    /// The URIs and e-mail addresses the certificate is issued to.
    pub(crate) fn identities(&self) -> Vec<String> {
        let Some(san) = self
            .extension(SAN)
            .and_then(|v| SubjectAltName::from_der(v).ok())
        else {
            return vec![];
        };
        san.0
            .iter()
            .filter_map(|name| match name {
                GeneralName::UniformResourceIdentifier(uri) => Some(uri.to_string()),
                GeneralName::Rfc822Name(mail) => Some(mail.to_string()),
                _ => None,
            })
            .collect()
    }

    /// The OIDC issuer Fulcio recorded: the v2 extension, else the v1 one.
    pub(crate) fn oidc_issuer(&self) -> Option<String> {
        if let Some(v) = self.extension(OIDC_ISSUER_V2) {
            return String::from_der(v).ok();
        }
        self.extension(OIDC_ISSUER_V1)
            .and_then(|v| String::from_utf8(v.to_vec()).ok())
    }

    /// Sigstore's leaf profile: a key for digital signatures, for code signing.
    pub(crate) fn check_code_signing(&self) -> Result<(), String> {
        let usage = self
            .extension(KEY_USAGE)
            .and_then(|v| KeyUsage::from_der(v).ok())
            .ok_or("it has no key usage extension")?;
        if !usage.digital_signature() {
            return Err("its key usage does not include digital signature".into());
        }
        let eku = self
            .extension(EXT_KEY_USAGE)
            .and_then(|v| ExtendedKeyUsage::from_der(v).ok())
            .ok_or("it has no extended key usage extension")?;
        if !eku.0.contains(&CODE_SIGNING) {
            return Err("its extended key usage does not include code signing".into());
        }
        if self.is_ca() {
            return Err("it is a CA certificate".into());
        }
        Ok(())
    }

    /// The TBS certificate without its SCT list: what the CT log signed
    /// (RFC 6962 §3.2, the precertificate's TBS).
    pub(crate) fn precert_tbs_der(&self) -> Result<Vec<u8>, String> {
        let mut tbs = self.cert.tbs_certificate.clone();
        if let Some(exts) = tbs.extensions.as_mut() {
            exts.retain(|e| e.extn_id != SCT_LIST);
        }
        tbs.to_der().map_err(|e| e.to_string())
    }
}
