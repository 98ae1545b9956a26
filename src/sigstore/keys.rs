//! Public keys from DER SubjectPublicKeyInfo, checked with ring (gantry's one
//! crypto library), and the ephemeral P-256 signing key.

use super::encoding::sha256;
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use x509_cert::der::{Decode, Encode, asn1::ObjectIdentifier};
use x509_cert::spki::SubjectPublicKeyInfoOwned;

const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
pub(crate) const ECDSA_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
pub(crate) const ECDSA_SHA384: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");

#[derive(Debug, Clone, Copy, PartialEq)]
enum Curve {
    P256,
    P384,
    Ed25519,
}

/// A verifying key: the curve and the raw public point.
#[derive(Debug, Clone)]
pub(crate) struct PublicKey {
    curve: Curve,
    point: Vec<u8>,
    /// RFC 6962 key id: sha256 of the DER SubjectPublicKeyInfo.
    pub(crate) key_id: [u8; 32],
}

/// The hash a signature was made with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Hash {
    Sha256,
    Sha384,
}

impl PublicKey {
    pub(crate) fn from_spki_der(der: &[u8]) -> Result<PublicKey, String> {
        let spki = SubjectPublicKeyInfoOwned::from_der(der)
            .map_err(|e| format!("not a DER public key: {e}"))?;
        Self::from_spki(&spki)
    }

    pub(crate) fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<PublicKey, String> {
        let der = spki.to_der().map_err(|e| e.to_string())?;
        let curve = if spki.algorithm.oid == ED25519 {
            Curve::Ed25519
        } else if spki.algorithm.oid == EC_PUBLIC_KEY {
            let param = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
            match param {
                Some(p) if p == P256 => Curve::P256,
                Some(p) if p == P384 => Curve::P384,
                other => return Err(format!("unsupported elliptic curve {other:?}")),
            }
        } else {
            return Err(format!("unsupported key algorithm {}", spki.algorithm.oid));
        };
        Ok(PublicKey {
            curve,
            point: spki.subject_public_key.raw_bytes().to_vec(),
            key_id: sha256(&der),
        })
    }

    /// The key's natural hash: P-256 signs SHA-256, P-384 SHA-384.
    pub(crate) fn default_hash(&self) -> Hash {
        match self.curve {
            Curve::P384 => Hash::Sha384,
            Curve::P256 | Curve::Ed25519 => Hash::Sha256,
        }
    }

    /// Checks an ASN.1 DER ECDSA (or Ed25519) signature over `message`.
    pub(crate) fn verify(&self, hash: Hash, message: &[u8], sig: &[u8]) -> bool {
        let alg: &dyn VerificationAlgorithm = match (self.curve, hash) {
            (Curve::P256, Hash::Sha256) => &signature::ECDSA_P256_SHA256_ASN1,
            (Curve::P256, Hash::Sha384) => &signature::ECDSA_P256_SHA384_ASN1,
            (Curve::P384, Hash::Sha256) => &signature::ECDSA_P384_SHA256_ASN1,
            (Curve::P384, Hash::Sha384) => &signature::ECDSA_P384_SHA384_ASN1,
            (Curve::Ed25519, _) => &signature::ED25519,
        };
        UnparsedPublicKey::new(alg, &self.point)
            .verify(message, sig)
            .is_ok()
    }
}

/// The hash of an X.509 signature algorithm.
pub(crate) fn hash_of(sig_alg: &ObjectIdentifier) -> Result<Hash, String> {
    if *sig_alg == ECDSA_SHA256 {
        Ok(Hash::Sha256)
    } else if *sig_alg == ECDSA_SHA384 {
        Ok(Hash::Sha384)
    } else {
        Err(format!("unsupported signature algorithm {sig_alg}"))
    }
}

/// An ephemeral ECDSA P-256 key: made for one signature, never stored.
pub(crate) struct SigningKey {
    pair: signature::EcdsaKeyPair,
    rng: ring::rand::SystemRandom,
}

impl SigningKey {
    pub(crate) fn generate() -> Result<SigningKey, String> {
        let rng = ring::rand::SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_ASN1_SIGNING;
        let pkcs8 = signature::EcdsaKeyPair::generate_pkcs8(alg, &rng)
            .map_err(|_| "cannot generate a P-256 key".to_string())?;
        let pair = signature::EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng)
            .map_err(|_| "cannot load the generated P-256 key".to_string())?;
        Ok(SigningKey { pair, rng })
    }

    /// An ASN.1 DER ECDSA signature over sha256(`message`).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        self.pair
            .sign(&self.rng, message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| "ECDSA signing failed".to_string())
    }

    /// The public key as DER SubjectPublicKeyInfo.
    pub(crate) fn public_spki_der(&self) -> Vec<u8> {
        use ring::signature::KeyPair;
        p256_spki(self.pair.public_key().as_ref())
    }
}

/// SubjectPublicKeyInfo { id-ecPublicKey, prime256v1 } around an uncompressed point.
pub(crate) fn p256_spki(point: &[u8]) -> Vec<u8> {
    // SEQUENCE(0x59) { SEQUENCE(0x13) { OID ecPublicKey, OID prime256v1 }, BIT STRING(0x42) }
    let mut der = vec![
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    der.extend_from_slice(point);
    der
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_verifies_its_own_signature_and_nothing_else() {
        let key = SigningKey::generate().unwrap();
        let public = PublicKey::from_spki_der(&key.public_spki_der()).unwrap();
        let sig = key.sign(b"artifact").unwrap();
        assert!(public.verify(Hash::Sha256, b"artifact", &sig));
        assert!(!public.verify(Hash::Sha256, b"artifacT", &sig));
        let other = SigningKey::generate().unwrap();
        let other = PublicKey::from_spki_der(&other.public_spki_der()).unwrap();
        assert!(!other.verify(Hash::Sha256, b"artifact", &sig));
        assert_ne!(public.key_id, other.key_id);
    }
}
