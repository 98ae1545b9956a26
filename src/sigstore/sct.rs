//! The certificate's embedded signed certificate timestamp (RFC 6962): a
//! CT log of the trust root promised to publish the certificate.

use super::VerifyError;
use super::encoding::{hex, sha256};
use super::keys::Hash;
use super::trust::{self, TrustedRoot};
use super::x509::{Cert, SCT_LIST};

/// The certificate's embedded SCT: a CT log of the trust root promised to
/// publish it (RFC 6962 §3.2, over the precertificate's TBS).
pub(crate) fn verify(leaf: &Cert, root: &TrustedRoot, time: i64) -> Result<(), VerifyError> {
    let err = |m: &str| VerifyError::Sct(m.to_string());
    let value = leaf
        .extension(SCT_LIST)
        .ok_or_else(|| err("the certificate has none"))?;
    let list = <x509_cert::der::asn1::OctetString as x509_cert::der::Decode>::from_der(value)
        .map_err(|_| err("the SCT list is not an OCTET STRING"))?;
    let scts = parse_sct_list(list.as_bytes()).ok_or_else(|| err("the SCT list is malformed"))?;
    let [sct] = scts.as_slice() else {
        return Err(err(&format!("expected one SCT, found {}", scts.len())));
    };
    if sct.version != 0 || sct.hash_alg != 4 {
        return Err(err("only v1 SCTs over SHA-256 are supported"));
    }
    let log = trust::find_log(&root.ctlogs, &sct.log_id).ok_or_else(|| {
        VerifyError::Sct(format!(
            "it is signed by CT log {}, which the trust root does not list",
            hex(&sct.log_id)
        ))
    })?;
    if !log
        .valid_for
        .contains(time)
        .map_err(VerifyError::TrustRoot)?
    {
        return Err(err("the CT log's key was not valid at the time of signing"));
    }
    // The issuer is the first CA of the chain that verified: find it again.
    let issuer_key_hash = trust::ca_chains(root)
        .map_err(VerifyError::TrustRoot)?
        .iter()
        .filter_map(|(certs, _)| certs.first())
        .find(|ca| leaf.is_signed_by(ca).unwrap_or(false))
        .map(|ca| sha256(&ca.spki_der()))
        .ok_or_else(|| err("no issuer for the precertificate"))?;
    let tbs = leaf.precert_tbs_der().map_err(VerifyError::Sct)?;
    let mut signed = vec![0u8, 0u8]; // v1, certificate_timestamp
    signed.extend_from_slice(&sct.timestamp.to_be_bytes());
    signed.extend_from_slice(&1u16.to_be_bytes()); // precert_entry
    signed.extend_from_slice(&issuer_key_hash);
    let len = u32::try_from(tbs.len()).unwrap_or(u32::MAX).to_be_bytes();
    signed.extend_from_slice(&len[1..]);
    signed.extend_from_slice(&tbs);
    signed.extend_from_slice(
        &u16::try_from(sct.extensions.len())
            .unwrap_or(0)
            .to_be_bytes(),
    );
    signed.extend_from_slice(&sct.extensions);
    if !log.key.verify(Hash::Sha256, &signed, &sct.signature) {
        return Err(err("its signature does not verify with the CT log's key"));
    }
    Ok(())
}

struct Sct {
    version: u8,
    log_id: Vec<u8>,
    timestamp: u64,
    extensions: Vec<u8>,
    hash_alg: u8,
    signature: Vec<u8>,
}

/// RFC 6962's `SignedCertificateTimestampList` (TLS encoding).
fn parse_sct_list(data: &[u8]) -> Option<Vec<Sct>> {
    fn take<'a>(d: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, tail) = (d.get(..n)?, d.get(n..)?);
        *d = tail;
        Some(head)
    }
    fn u16_at(d: &mut &[u8]) -> Option<usize> {
        take(d, 2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    }
    let mut d = data;
    let total = u16_at(&mut d)?;
    let mut list = take(&mut d, total)?;
    let mut out = Vec::new();
    while !list.is_empty() {
        let len = u16_at(&mut list)?;
        let mut s = take(&mut list, len)?;
        let version = take(&mut s, 1)?[0];
        let log_id = take(&mut s, 32)?.to_vec();
        let timestamp = u64::from_be_bytes(take(&mut s, 8)?.try_into().ok()?);
        let ext_len = u16_at(&mut s)?;
        let extensions = take(&mut s, ext_len)?.to_vec();
        let hash_alg = take(&mut s, 1)?[0];
        let _sig_alg = take(&mut s, 1)?[0];
        let sig_len = u16_at(&mut s)?;
        let signature = take(&mut s, sig_len)?.to_vec();
        out.push(Sct {
            version,
            log_id,
            timestamp,
            extensions,
            hash_alg,
            signature,
        });
    }
    Some(out)
}
