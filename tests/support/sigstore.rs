//! Stand-ins for Sigstore's services, faithful to their published APIs:
//!
//! - an OIDC issuer that signs GitHub Actions ID tokens (ES256, the claims
//!   GitHub documents);
//! - Fulcio (`POST /api/v2/signingCert`, fulcio.proto's JSON): checks the
//!   token's signature, issuer, audience and expiry, and the proof of
//!   possession (a signature over `sub`, or a self-signed CSR), then issues
//!   a 10-minute certificate from a test CA with Fulcio's GitHub workflow
//!   extensions and an embedded SCT from a test CT log;
//! - Rekor (`POST /api/v1/log/entries`, rekor's OpenAPI): checks the
//!   `hashedrekord` or `dsse` proposal's signatures, appends the canonical
//!   body to a real RFC 6962 Merkle tree and answers with the `LogEntry`
//!   (signed entry timestamp, inclusion proof, signed checkpoint);
//! - the trust root (`trusted_root.json`) naming the CA and both logs, and
//!   sigstore-python's client trust config around it.

use super::services::free_port;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use ring::rand::SystemRandom;
use ring::signature::{self as sig, EcdsaKeyPair, KeyPair, UnparsedPublicKey};
use serde_json::{Value, json};
use sha2::Digest;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use x509_cert::der::asn1::{BitString, Ia5String, ObjectIdentifier, OctetString, UtcTime};
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate, Version};

/// GitHub Actions' OIDC issuer, as Fulcio records it.
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// What Fulcio expects in `aud`.
pub const AUDIENCE: &str = "sigstore";
/// The test instance's start: the trust root's keys are valid from here.
const VALID_FROM: &str = "2020-01-01T00:00:00Z";
/// How long Fulcio's certificates last.
pub const CERT_LIFETIME: Duration = Duration::from_secs(600);

const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
const SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");

/// One P-256 key of the test instance.
pub struct Key {
    pair: EcdsaKeyPair,
    fixed: EcdsaKeyPair,
}

impl Key {
    pub fn generate() -> Key {
        let rng = SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        Key {
            pair: EcdsaKeyPair::from_pkcs8(
                &sig::ECDSA_P256_SHA256_ASN1_SIGNING,
                pkcs8.as_ref(),
                &rng,
            )
            .unwrap(),
            fixed: EcdsaKeyPair::from_pkcs8(
                &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
                pkcs8.as_ref(),
                &rng,
            )
            .unwrap(),
        }
    }

    /// ASN.1 DER ECDSA over sha256(`msg`).
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.pair
            .sign(&SystemRandom::new(), msg)
            .unwrap()
            .as_ref()
            .to_vec()
    }

    /// JOSE's r‖s form (ES256).
    fn sign_fixed(&self, msg: &[u8]) -> Vec<u8> {
        self.fixed
            .sign(&SystemRandom::new(), msg)
            .unwrap()
            .as_ref()
            .to_vec()
    }

    pub fn point(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// DER SubjectPublicKeyInfo.
    pub fn spki(&self) -> Vec<u8> {
        let mut der = vec![
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ];
        der.extend_from_slice(self.point());
        der
    }

    /// RFC 6962 key id.
    pub fn key_id(&self) -> [u8; 32] {
        sha2::Sha256::digest(self.spki()).into()
    }
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

fn unpem(text: &str) -> Option<Vec<u8>> {
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    STANDARD.decode(body.trim()).ok()
}

/// RFC 8785 for the JSON Rekor signs: keys sorted, no spaces.
pub fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String((*k).clone()), canonical(&m[*k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------
// The OIDC issuer: GitHub Actions ID tokens.

/// The claims of a GitHub Actions job's ID token (GitHub's documented set).
#[derive(Clone, Debug)]
pub struct Job {
    pub repository: String,
    pub workflow_file: String,
    pub git_ref: String,
    pub sha: String,
    pub event_name: String,
}

impl Default for Job {
    fn default() -> Job {
        Job {
            repository: "acme/shop".into(),
            workflow_file: "release.yml".into(),
            git_ref: "refs/heads/main".into(),
            sha: "4f3c1d2e5b6a79808f1e2d3c4b5a69788f7e6d5c".into(),
            event_name: "push".into(),
        }
    }
}

impl Job {
    /// `owner/repo/.github/workflows/file@ref`.
    pub fn workflow_ref(&self) -> String {
        format!(
            "{}/.github/workflows/{}@{}",
            self.repository, self.workflow_file, self.git_ref
        )
    }

    /// The certificate identity Fulcio derives: the workflow's URL.
    pub fn identity(&self) -> String {
        format!("https://github.com/{}", self.workflow_ref())
    }
}

pub struct Issuer {
    key: Key,
    pub url: String,
}

impl Issuer {
    /// A token for `job`, valid for five minutes, with `audience`.
    pub fn token_for(&self, job: &Job, audience: &str) -> String {
        let t = now();
        let owner = job.repository.split('/').next().unwrap_or_default();
        let claims = json!({
            "jti": format!("{t}-{}", job.sha),
            "sub": format!("repo:{}:ref:{}", job.repository, job.git_ref),
            "aud": audience,
            "ref": job.git_ref,
            "sha": job.sha,
            "repository": job.repository,
            "repository_owner": owner,
            "repository_owner_id": "1001",
            "repository_id": "2002",
            "repository_visibility": "public",
            "run_id": "77",
            "run_number": "5",
            "run_attempt": "1",
            "actor": "octocat",
            "actor_id": "3003",
            "workflow": "Release",
            "event_name": job.event_name,
            "ref_type": "branch",
            "job_workflow_ref": job.workflow_ref(),
            "job_workflow_sha": job.sha,
            "workflow_ref": job.workflow_ref(),
            "workflow_sha": job.sha,
            "runner_environment": "github-hosted",
            "iss": self.url,
            "iat": t,
            "nbf": t - 5,
            "exp": t + 300,
        });
        self.sign_claims(&claims)
    }

    pub fn token(&self, job: &Job) -> String {
        self.token_for(job, AUDIENCE)
    }

    pub fn sign_claims(&self, claims: &Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","typ":"JWT","kid":"test"}"#);
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let input = format!("{header}.{body}");
        let signature = URL_SAFE_NO_PAD.encode(self.key.sign_fixed(input.as_bytes()));
        format!("{input}.{signature}")
    }

    /// What Fulcio checks: the signature by this issuer's key, `iss`,
    /// `aud` and the validity window. Returns the claims.
    fn check(&self, token: &str) -> Result<Value, String> {
        let parts: Vec<&str> = token.split('.').collect();
        let [header, body, signature] = parts.as_slice() else {
            return Err("not a JWT".into());
        };
        let sig = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| "bad signature encoding")?;
        UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, self.key.point())
            .verify(format!("{header}.{body}").as_bytes(), &sig)
            .map_err(|_| "the token's signature does not verify")?;
        let claims: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(body)
                .map_err(|_| "bad payload encoding")?,
        )
        .map_err(|_| "payload is not JSON")?;
        if claims["iss"] != self.url.as_str() {
            return Err(format!("unknown issuer {}", claims["iss"]));
        }
        let aud_ok = match &claims["aud"] {
            Value::String(a) => a == AUDIENCE,
            Value::Array(list) => list.iter().any(|a| a == AUDIENCE),
            _ => false,
        };
        if !aud_ok {
            return Err(format!("audience {} is not {AUDIENCE}", claims["aud"]));
        }
        let t = now();
        if claims["exp"].as_i64().unwrap_or(0) <= t {
            return Err("the token has expired".into());
        }
        if claims["nbf"].as_i64().is_some_and(|n| n > t + 5) {
            return Err("the token is not valid yet".into());
        }
        Ok(claims)
    }
}

// ---------------------------------------------------------------------------
// The CA (Fulcio) and the CT log.

struct Ca {
    key: Key,
    cert: Vec<u8>,
    name: Name,
    ct_key: Key,
}

fn utc(secs: i64) -> Time {
    Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(secs as u64)).unwrap())
}

fn ext(oid: ObjectIdentifier, critical: bool, value: Vec<u8>) -> Extension {
    Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value).unwrap(),
    }
}

fn oid(s: &str) -> ObjectIdentifier {
    ObjectIdentifier::new(s).unwrap()
}

fn serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut bytes).unwrap();
    bytes[0] = (bytes[0] & 0x7f) | 0x01; // positive, no leading zero
    SerialNumber::new(&bytes).unwrap()
}

fn key_identifier(spki: &[u8]) -> OctetString {
    OctetString::new(sha2::Sha256::digest(spki)[..20].to_vec()).unwrap()
}

fn signed(tbs: TbsCertificate, key: &Key) -> Vec<u8> {
    let signature = key.sign(&tbs.to_der().unwrap());
    Certificate {
        tbs_certificate: tbs,
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: ECDSA_SHA256,
            parameters: None,
        },
        signature: BitString::from_bytes(&signature).unwrap(),
    }
    .to_der()
    .unwrap()
}

impl Ca {
    fn new() -> Ca {
        let key = Key::generate();
        let name: Name = "CN=gantry test Fulcio,O=gantry tests".parse().unwrap();
        let spki = SubjectPublicKeyInfoOwned::from_der(&key.spki()).unwrap();
        let t = now();
        let tbs = TbsCertificate {
            version: Version::V3,
            serial_number: serial(),
            signature: AlgorithmIdentifierOwned {
                oid: ECDSA_SHA256,
                parameters: None,
            },
            issuer: name.clone(),
            validity: Validity {
                not_before: utc(t - 86_400 * 365),
                not_after: utc(t + 86_400 * 365 * 5),
            },
            subject: name.clone(),
            subject_public_key_info: spki,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(vec![
                ext(
                    oid("2.5.29.15"),
                    true,
                    KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign)
                        .to_der()
                        .unwrap(),
                ),
                ext(
                    oid("2.5.29.19"),
                    true,
                    BasicConstraints {
                        ca: true,
                        path_len_constraint: Some(1),
                    }
                    .to_der()
                    .unwrap(),
                ),
                ext(
                    oid("2.5.29.14"),
                    false,
                    SubjectKeyIdentifier(key_identifier(&key.spki()))
                        .to_der()
                        .unwrap(),
                ),
            ]),
        };
        let cert = signed(tbs, &key);
        Ca {
            key,
            cert,
            name,
            ct_key: Key::generate(),
        }
    }

    /// A Fulcio certificate for `spki` and a GitHub token's claims, valid
    /// from `not_before` for [`CERT_LIFETIME`], with an embedded SCT.
    fn issue(&self, spki: &[u8], claims: &Value, not_before: i64) -> Vec<u8> {
        let c = |name: &str| claims[name].as_str().unwrap_or_default().to_string();
        let server = "https://github.com";
        let identity = format!("{server}/{}", c("job_workflow_ref"));
        let raw = |id: &str, v: String| {
            ext(
                oid(&format!("1.3.6.1.4.1.57264.1.{id}")),
                false,
                v.into_bytes(),
            )
        };
        let utf8 = |id: &str, v: String| {
            ext(
                oid(&format!("1.3.6.1.4.1.57264.1.{id}")),
                false,
                v.to_der().unwrap(),
            )
        };
        let san = SubjectAltName(vec![GeneralName::UniformResourceIdentifier(
            Ia5String::new(&identity).unwrap(),
        )]);
        let mut extensions = vec![
            ext(
                oid("2.5.29.15"),
                true,
                KeyUsage(KeyUsages::DigitalSignature.into())
                    .to_der()
                    .unwrap(),
            ),
            ext(
                oid("2.5.29.37"),
                false,
                ExtendedKeyUsage(vec![CODE_SIGNING]).to_der().unwrap(),
            ),
            ext(
                oid("2.5.29.14"),
                false,
                SubjectKeyIdentifier(key_identifier(spki)).to_der().unwrap(),
            ),
            ext(
                oid("2.5.29.35"),
                false,
                AuthorityKeyIdentifier {
                    key_identifier: Some(key_identifier(&self.key.spki())),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                }
                .to_der()
                .unwrap(),
            ),
            // The subject is empty, so the SAN is critical (RFC 5280 §4.2.1.6).
            ext(oid("2.5.29.17"), true, san.to_der().unwrap()),
            // Fulcio's GitHub extensions (fulcio docs/oid-info.md): 1.1–1.6
            // hold raw bytes, 1.8 onwards DER UTF8Strings.
            raw("1", c("iss")),
            raw("2", c("event_name")),
            raw("3", c("sha")),
            raw("4", c("workflow")),
            raw("5", c("repository")),
            raw("6", c("ref")),
            utf8("8", c("iss")),
            utf8("9", identity.clone()),
            utf8("10", c("job_workflow_sha")),
            utf8("11", c("runner_environment")),
            utf8("12", format!("{server}/{}", c("repository"))),
            utf8("13", c("sha")),
            utf8("14", c("ref")),
            utf8("15", c("repository_id")),
            utf8("16", format!("{server}/{}", c("repository_owner"))),
            utf8("17", c("repository_owner_id")),
            utf8("18", format!("{server}/{}", c("workflow_ref"))),
            utf8("19", c("workflow_sha")),
            utf8("20", c("event_name")),
            utf8(
                "21",
                format!(
                    "{server}/{}/actions/runs/{}/attempts/{}",
                    c("repository"),
                    c("run_id"),
                    c("run_attempt")
                ),
            ),
            utf8("22", c("repository_visibility")),
        ];
        let mut tbs = TbsCertificate {
            version: Version::V3,
            serial_number: serial(),
            signature: AlgorithmIdentifierOwned {
                oid: ECDSA_SHA256,
                parameters: None,
            },
            issuer: self.name.clone(),
            validity: Validity {
                not_before: utc(not_before),
                not_after: utc(not_before + CERT_LIFETIME.as_secs() as i64),
            },
            subject: Name::default(),
            subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(spki).unwrap(),
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(extensions.clone()),
        };
        // The CT log signs the precertificate: this TBS without the SCT list.
        let sct = self.sct(&tbs.to_der().unwrap());
        extensions.push(ext(
            SCT_LIST,
            false,
            OctetString::new(sct).unwrap().to_der().unwrap(),
        ));
        tbs.extensions = Some(extensions);
        signed(tbs, &self.key)
    }

    /// An RFC 6962 `SignedCertificateTimestampList` with one SCT over the
    /// precertificate `tbs` issued by this CA.
    fn sct(&self, tbs: &[u8]) -> Vec<u8> {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let issuer_key_hash: [u8; 32] = sha2::Sha256::digest(self.key.spki()).into();
        let mut signed = vec![0u8, 0u8];
        signed.extend_from_slice(&timestamp.to_be_bytes());
        signed.extend_from_slice(&1u16.to_be_bytes());
        signed.extend_from_slice(&issuer_key_hash);
        signed.extend_from_slice(&(tbs.len() as u32).to_be_bytes()[1..]);
        signed.extend_from_slice(tbs);
        signed.extend_from_slice(&0u16.to_be_bytes());
        let signature = self.ct_key.sign(&signed);

        let mut sct = vec![0u8];
        sct.extend_from_slice(&self.ct_key.key_id());
        sct.extend_from_slice(&timestamp.to_be_bytes());
        sct.extend_from_slice(&0u16.to_be_bytes());
        sct.extend_from_slice(&[4, 3]); // sha256, ecdsa
        sct.extend_from_slice(&(signature.len() as u16).to_be_bytes());
        sct.extend_from_slice(&signature);
        let mut list = ((sct.len() + 2) as u16).to_be_bytes().to_vec();
        list.extend_from_slice(&(sct.len() as u16).to_be_bytes());
        list.extend_from_slice(&sct);
        list
    }
}

// ---------------------------------------------------------------------------
// The log (Rekor).

struct Log {
    key: Key,
    tree_id: i64,
    /// Canonical bodies, in log order.
    bodies: Vec<Vec<u8>>,
    leaves: Vec<[u8; 32]>,
}

fn leaf_hash(data: &[u8]) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

fn node_hash(l: &[u8; 32], r: &[u8; 32]) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    h.update([1u8]);
    h.update(l);
    h.update(r);
    h.finalize().into()
}

/// RFC 6962 §2.1: the tree hash of `leaves`.
fn tree_hash(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        1 => leaves[0],
        n => {
            let k = n.next_power_of_two() / 2;
            node_hash(&tree_hash(&leaves[..k]), &tree_hash(&leaves[k..]))
        }
    }
}

/// RFC 6962 §2.1.1: the audit path of leaf `m`, lowest level first.
fn audit_path(m: usize, leaves: &[[u8; 32]]) -> Vec<[u8; 32]> {
    if leaves.len() <= 1 {
        return vec![];
    }
    let k = leaves.len().next_power_of_two() / 2;
    let (mut path, sibling) = if m < k {
        (audit_path(m, &leaves[..k]), tree_hash(&leaves[k..]))
    } else {
        (audit_path(m - k, &leaves[k..]), tree_hash(&leaves[..k]))
    };
    path.push(sibling);
    path
}

const LOG_ORIGIN: &str = "rekor.gantry.test";

impl Log {
    fn checkpoint(&self) -> String {
        let root = tree_hash(&self.leaves);
        let note = format!(
            "{LOG_ORIGIN} - {}\n{}\n{}\n",
            self.tree_id,
            self.leaves.len(),
            STANDARD.encode(root)
        );
        let mut sig = self.key.key_id()[..4].to_vec();
        sig.extend_from_slice(&self.key.sign(note.as_bytes()));
        format!("{note}\n\u{2014} {LOG_ORIGIN} {}\n", STANDARD.encode(sig))
    }

    /// Appends `body`; returns Rekor's `LogEntry` answer and the UUID.
    fn append(&mut self, body: Vec<u8>, integrated_time: i64) -> Result<(String, Value), String> {
        let leaf = leaf_hash(&body);
        let uuid = format!("{:016x}{}", self.tree_id, hex(&leaf));
        if self.leaves.contains(&leaf) {
            return Err(uuid);
        }
        self.leaves.push(leaf);
        self.bodies.push(body.clone());
        let index = self.leaves.len() - 1;
        let log_id = hex(&self.key.key_id());
        let body_b64 = STANDARD.encode(&body);
        let set_payload = canonical(&json!({
            "body": body_b64,
            "integratedTime": integrated_time,
            "logID": log_id,
            "logIndex": index,
        }));
        let set = self.key.sign(set_payload.as_bytes());
        let hashes: Vec<String> = audit_path(index, &self.leaves)
            .iter()
            .map(|h| hex(h))
            .collect();
        let entry = json!({
            "body": body_b64,
            "integratedTime": integrated_time,
            "logID": log_id,
            "logIndex": index,
            "verification": {
                "inclusionProof": {
                    "checkpoint": self.checkpoint(),
                    "hashes": hashes,
                    "logIndex": index,
                    "rootHash": hex(&tree_hash(&self.leaves)),
                    "treeSize": self.leaves.len(),
                },
                "signedEntryTimestamp": STANDARD.encode(set),
            },
        });
        Ok((uuid.clone(), json!({ uuid: entry })))
    }
}

/// The key a certificate or PEM public key in a proposal holds.
fn proposal_key(b64_pem: &str) -> Result<(Vec<u8>, String), String> {
    let text = String::from_utf8(STANDARD.decode(b64_pem).map_err(|_| "not base64")?)
        .map_err(|_| "not PEM text")?;
    let der = unpem(&text).ok_or("not PEM")?;
    if text.contains("BEGIN CERTIFICATE") {
        let cert = Certificate::from_der(&der).map_err(|e| format!("bad certificate: {e}"))?;
        let point = cert
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes()
            .to_vec();
        // Rekor stores the verifier in its canonical form: the PEM re-encoded.
        Ok((point, STANDARD.encode(pem("CERTIFICATE", &der))))
    } else {
        let spki = SubjectPublicKeyInfoOwned::from_der(&der).map_err(|e| e.to_string())?;
        Ok((
            spki.subject_public_key.raw_bytes().to_vec(),
            STANDARD.encode(pem("PUBLIC KEY", &der)),
        ))
    }
}

/// Rekor's checks of a proposed entry; returns its canonical body.
fn canonical_body(proposed: &Value) -> Result<Vec<u8>, String> {
    let kind = proposed["kind"].as_str().unwrap_or_default();
    if proposed["apiVersion"] != "0.0.1" {
        return Err(format!("unsupported apiVersion {}", proposed["apiVersion"]));
    }
    let spec = &proposed["spec"];
    match kind {
        "hashedrekord" => {
            let algorithm = spec["data"]["hash"]["algorithm"]
                .as_str()
                .unwrap_or_default();
            let value = spec["data"]["hash"]["value"].as_str().unwrap_or_default();
            if algorithm != "sha256" || value.len() != 64 {
                return Err("data.hash must be a sha256 hex digest".into());
            }
            let digest: Vec<u8> = (0..32)
                .map(|i| u8::from_str_radix(&value[2 * i..2 * i + 2], 16))
                .collect::<Result<_, _>>()
                .map_err(|_| "data.hash.value is not hex")?;
            let sig_b64 = spec["signature"]["content"].as_str().unwrap_or_default();
            let signature = STANDARD
                .decode(sig_b64)
                .map_err(|_| "signature is not base64")?;
            let (point, verifier) = proposal_key(
                spec["signature"]["publicKey"]["content"]
                    .as_str()
                    .unwrap_or_default(),
            )?;
            // A signature over the bare digest: what a prehash verifier checks.
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                .map_err(|_| "only P-256 keys are supported here")?;
            let sig = p256::ecdsa::Signature::from_der(&signature)
                .map_err(|_| "signature is not DER ECDSA")?;
            key.verify_prehash(&digest, &sig)
                .map_err(|_| "verifying signature: invalid signature when validating ASN.1 encoded signature")?;
            Ok(canonical(&json!({
                "apiVersion": "0.0.1",
                "kind": "hashedrekord",
                "spec": {
                    "data": {"hash": {"algorithm": "sha256", "value": value}},
                    "signature": {"content": sig_b64, "publicKey": {"content": verifier}},
                },
            }))
            .into_bytes())
        }
        "dsse" => {
            let content = &spec["proposedContent"];
            let envelope_text = content["envelope"].as_str().ok_or("no envelope")?;
            let envelope: Value =
                serde_json::from_str(envelope_text).map_err(|e| format!("envelope: {e}"))?;
            let payload = STANDARD
                .decode(envelope["payload"].as_str().unwrap_or_default())
                .map_err(|_| "payload is not base64")?;
            let payload_type = envelope["payloadType"].as_str().unwrap_or_default();
            let mut pae = format!(
                "DSSEv1 {} {payload_type} {} ",
                payload_type.len(),
                payload.len()
            )
            .into_bytes();
            pae.extend_from_slice(&payload);
            let verifiers: Vec<(Vec<u8>, String)> = content["verifiers"]
                .as_array()
                .ok_or("no verifiers")?
                .iter()
                .map(|v| proposal_key(v.as_str().unwrap_or_default()))
                .collect::<Result<_, _>>()?;
            let mut signatures = Vec::new();
            for s in envelope["signatures"].as_array().ok_or("no signatures")? {
                let sig_b64 = s["sig"].as_str().unwrap_or_default();
                let raw = STANDARD.decode(sig_b64).map_err(|_| "sig is not base64")?;
                let by = verifiers.iter().find(|(point, _)| {
                    UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_ASN1, point)
                        .verify(&pae, &raw)
                        .is_ok()
                });
                let Some((_, verifier)) = by else {
                    return Err("could not verify envelope: no verifier for a signature".into());
                };
                signatures.push(json!({"signature": sig_b64, "verifier": verifier}));
            }
            signatures.sort_by_key(|s| s["signature"].as_str().unwrap_or_default().to_string());
            Ok(canonical(&json!({
                "apiVersion": "0.0.1",
                "kind": "dsse",
                "spec": {
                    "envelopeHash": {"algorithm": "sha256", "value": hex(&sha2::Sha256::digest(envelope_text.as_bytes()))},
                    "payloadHash": {"algorithm": "sha256", "value": hex(&sha2::Sha256::digest(&payload))},
                    "signatures": signatures,
                },
            }))
            .into_bytes())
        }
        other => Err(format!("unsupported kind `{other}`")),
    }
}

// ---------------------------------------------------------------------------
// The running instance.

/// What the stand-ins saw.
#[derive(Default, Debug)]
pub struct Seen {
    /// Fulcio requests: "publicKeyRequest" or "certificateSigningRequest".
    pub fulcio: Vec<String>,
    /// Rekor entry kinds accepted.
    pub rekor: Vec<String>,
}

pub struct Sigstore {
    pub issuer: Arc<Issuer>,
    ca: Arc<Ca>,
    log: Arc<Mutex<Log>>,
    log_key_spki: Vec<u8>,
    /// Seconds added to Rekor's clock (integrated time).
    pub rekor_clock: Arc<AtomicI64>,
    /// Seconds added to the start of Fulcio's certificates.
    pub fulcio_clock: Arc<AtomicI64>,
    pub seen: Arc<Mutex<Seen>>,
    servers: Vec<Arc<tiny_http::Server>>,
    threads: Vec<std::thread::JoinHandle<()>>,
    pub fulcio_url: String,
    pub rekor_url: String,
}

fn reply(req: tiny_http::Request, code: u16, body: &Value) {
    let resp = tiny_http::Response::from_data(body.to_string().into_bytes())
        .with_status_code(code)
        .with_header(
            "Content-Type: application/json"
                .parse::<tiny_http::Header>()
                .unwrap(),
        );
    let _ = req.respond(resp);
}

fn bearer(req: &tiny_http::Request) -> Option<String> {
    req.headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .and_then(|h| h.value.as_str().strip_prefix("Bearer ").map(str::to_string))
}

impl Sigstore {
    pub fn start() -> Sigstore {
        let issuer_port = free_port();
        let issuer = Arc::new(Issuer {
            key: Key::generate(),
            url: GITHUB_ISSUER.to_string(),
        });
        let _ = issuer_port;
        let ca = Arc::new(Ca::new());
        let log_key = Key::generate();
        let log_key_spki = log_key.spki();
        let log = Arc::new(Mutex::new(Log {
            key: log_key,
            tree_id: 3_904_496_407_287_907_110,
            bodies: vec![],
            leaves: vec![],
        }));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let rekor_clock = Arc::new(AtomicI64::new(0));
        let fulcio_clock = Arc::new(AtomicI64::new(0));

        let fulcio_port = free_port();
        let fulcio = Arc::new(tiny_http::Server::http(("127.0.0.1", fulcio_port)).unwrap());
        let (srv, iss, ca2, seen2, clock) = (
            fulcio.clone(),
            issuer.clone(),
            ca.clone(),
            seen.clone(),
            fulcio_clock.clone(),
        );
        let fulcio_thread = std::thread::spawn(move || {
            for mut req in srv.incoming_requests() {
                let mut body = Vec::new();
                let _ = req.as_reader().read_to_end(&mut body);
                match (req.method().as_str(), req.url()) {
                    ("POST", "/api/v2/signingCert") => {
                        let token = bearer(&req);
                        let (code, answer) = signing_cert(
                            &iss,
                            &ca2,
                            &seen2,
                            &body,
                            token,
                            clock.load(Ordering::SeqCst),
                        );
                        reply(req, code, &answer);
                    }
                    ("GET", "/api/v2/trustBundle") => {
                        let chain =
                            json!({"chains": [{"certificates": [pem("CERTIFICATE", &ca2.cert)]}]});
                        reply(req, 200, &chain);
                    }
                    _ => reply(req, 404, &json!({"code": 5, "message": "Not Found"})),
                }
            }
        });

        let rekor_port = free_port();
        let rekor = Arc::new(tiny_http::Server::http(("127.0.0.1", rekor_port)).unwrap());
        let (srv, log2, seen2, clock) = (
            rekor.clone(),
            log.clone(),
            seen.clone(),
            rekor_clock.clone(),
        );
        let rekor_thread = std::thread::spawn(move || {
            for mut req in srv.incoming_requests() {
                let mut body = Vec::new();
                let _ = req.as_reader().read_to_end(&mut body);
                if req.method().as_str() != "POST" || req.url() != "/api/v1/log/entries" {
                    reply(req, 404, &json!({"code": 404, "message": "path not found"}));
                    continue;
                }
                let proposed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                match canonical_body(&proposed) {
                    Err(message) => reply(req, 400, &json!({"code": 400, "message": message})),
                    Ok(canonical) => {
                        let time = now() + clock.load(Ordering::SeqCst);
                        match log2.lock().unwrap().append(canonical, time) {
                            Ok((uuid, answer)) => {
                                seen2
                                    .lock()
                                    .unwrap()
                                    .rekor
                                    .push(proposed["kind"].as_str().unwrap_or_default().into());
                                let location = format!("Location: /api/v1/log/entries/{uuid}");
                                let resp =
                                    tiny_http::Response::from_data(answer.to_string().into_bytes())
                                        .with_status_code(201)
                                        .with_header(
                                            "Content-Type: application/json"
                                                .parse::<tiny_http::Header>()
                                                .unwrap(),
                                        )
                                        .with_header(
                                            location.parse::<tiny_http::Header>().unwrap(),
                                        );
                                let _ = req.respond(resp);
                            }
                            Err(uuid) => reply(
                                req,
                                409,
                                &json!({"code": 409, "message": format!("An equivalent entry already exists in the transparency log with UUID {uuid}")}),
                            ),
                        }
                    }
                }
            }
        });

        Sigstore {
            issuer,
            ca,
            log,
            log_key_spki,
            rekor_clock,
            fulcio_clock,
            seen,
            servers: vec![fulcio, rekor],
            threads: vec![fulcio_thread, rekor_thread],
            fulcio_url: format!("http://127.0.0.1:{fulcio_port}"),
            rekor_url: format!("http://127.0.0.1:{rekor_port}"),
        }
    }

    pub fn services(&self) -> gantry::sigstore::sign::Services {
        gantry::sigstore::sign::Services {
            fulcio: self.fulcio_url.clone(),
            rekor: self.rekor_url.clone(),
        }
    }

    /// Entries the log holds.
    pub fn log_size(&self) -> usize {
        self.log.lock().unwrap().leaves.len()
    }

    /// `trusted_root.json` for this instance.
    pub fn trusted_root(&self) -> Value {
        self.trusted_root_with_log_key(&self.log_key_spki)
    }

    /// The trust root, but naming `spki` as Rekor's key.
    pub fn trusted_root_with_log_key(&self, spki: &[u8]) -> Value {
        let log = |url: &str, spki: &[u8]| {
            json!({
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": STANDARD.encode(spki),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": VALID_FROM},
                },
                "logId": {"keyId": STANDARD.encode(sha2::Sha256::digest(spki))},
            })
        };
        json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(&self.rekor_url, spki)],
            "certificateAuthorities": [{
                "subject": {"organization": "gantry tests", "commonName": "gantry test Fulcio"},
                "uri": self.fulcio_url,
                "certChain": {"certificates": [{"rawBytes": STANDARD.encode(&self.ca.cert)}]},
                "validFor": {"start": VALID_FROM},
            }],
            "ctlogs": [log("https://ctfe.gantry.test", &self.ca.ct_key.spki())],
            "timestampAuthorities": [],
        })
    }

    /// sigstore-python's `--trust-config`: the trust root and where to sign.
    pub fn client_trust_config(&self, trusted_root: &Value) -> Value {
        let service = |url: &str| json!({"url": url, "majorApiVersion": 1, "validFor": {"start": VALID_FROM}, "operator": "gantry-tests"});
        json!({
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": trusted_root,
            "signingConfig": {
                "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
                "caUrls": [service(&self.fulcio_url)],
                "oidcUrls": [service(GITHUB_ISSUER)],
                "rekorTlogUrls": [service(&self.rekor_url)],
                "tsaUrls": [],
                "rekorTlogConfig": {"selector": "ANY"},
                "tsaConfig": {"selector": "ANY"},
            },
        })
    }
}

impl Drop for Sigstore {
    fn drop(&mut self) {
        for s in &self.servers {
            s.unblock();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Fulcio's `CreateSigningCertificate`.
fn signing_cert(
    issuer: &Issuer,
    ca: &Ca,
    seen: &Mutex<Seen>,
    body: &[u8],
    header_token: Option<String>,
    clock: i64,
) -> (u16, Value) {
    // gRPC status codes in grpc-gateway's error body, as Fulcio answers.
    let invalid = |m: &str| (400, json!({"code": 3, "message": m, "details": []}));
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return invalid("The request body is not JSON");
    };
    let token = request["credentials"]["oidcIdentityToken"]
        .as_str()
        .map(str::to_string)
        .or(header_token);
    let Some(token) = token else {
        return (
            401,
            json!({"code": 16, "message": "The OIDC token is missing", "details": []}),
        );
    };
    let claims = match issuer.check(&token) {
        Ok(c) => c,
        Err(why) => {
            return (
                401,
                json!({"code": 16, "message": format!("There was an error processing the identity token: {why}"), "details": []}),
            );
        }
    };
    let sub = claims["sub"].as_str().unwrap_or_default();
    let spki = if let Some(csr_b64) = request["certificateSigningRequest"].as_str() {
        seen.lock()
            .unwrap()
            .fulcio
            .push("certificateSigningRequest".into());
        let Some(der) = STANDARD
            .decode(csr_b64)
            .ok()
            .and_then(|p| String::from_utf8(p).ok())
            .and_then(|p| unpem(&p))
        else {
            return invalid("The certificate signing request is not base64 PEM");
        };
        let Ok(csr) = x509_cert::request::CertReq::from_der(&der) else {
            return invalid("The certificate signing request could not be parsed");
        };
        let info = csr.info.to_der().unwrap();
        let point = csr.info.public_key.subject_public_key.raw_bytes();
        let ok = UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_ASN1, point)
            .verify(&info, csr.signature.raw_bytes())
            .is_ok();
        if !ok {
            return invalid("The certificate signing request's signature is invalid");
        }
        csr.info.public_key.to_der().unwrap()
    } else {
        seen.lock().unwrap().fulcio.push("publicKeyRequest".into());
        let key = &request["publicKeyRequest"];
        let Some(der) = key["publicKey"]["content"].as_str().and_then(unpem) else {
            return invalid("The public key is not PEM");
        };
        let Ok(spki) = SubjectPublicKeyInfoOwned::from_der(&der) else {
            return invalid("The public key could not be parsed");
        };
        let proof = STANDARD
            .decode(key["proofOfPossession"].as_str().unwrap_or_default())
            .unwrap_or_default();
        let ok = UnparsedPublicKey::new(
            &sig::ECDSA_P256_SHA256_ASN1,
            spki.subject_public_key.raw_bytes(),
        )
        .verify(sub.as_bytes(), &proof)
        .is_ok();
        if !ok {
            return invalid("The signature supplied in the request could not be verified");
        }
        der
    };
    let cert = ca.issue(&spki, &claims, now() + clock);
    (
        201,
        json!({"signedCertificateEmbeddedSct": {"chain": {"certificates": [
            pem("CERTIFICATE", &cert),
            pem("CERTIFICATE", &ca.cert),
        ]}}}),
    )
}
