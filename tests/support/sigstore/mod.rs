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

mod fulcio;
mod issuer;
mod rekor;

use fulcio::{Ca, signing_cert};
pub use issuer::{Issuer, Job};
use rekor::{Log, canonical_body};

/// GitHub Actions' OIDC issuer, as Fulcio records it.
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// What Fulcio expects in `aud`.
pub const AUDIENCE: &str = "sigstore";
/// The test instance's start: the trust root's keys are valid from here.
const VALID_FROM: &str = "2020-01-01T00:00:00Z";
/// How long Fulcio's certificates last.
pub const CERT_LIFETIME: Duration = Duration::from_secs(600);

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
        let issuer = Arc::new(Issuer {
            key: Key::generate(),
            url: GITHUB_ISSUER.to_string(),
        });
        let ca = Arc::new(Ca::new());
        let log_key = Key::generate();
        let log_key_spki = log_key.spki();
        let log = Arc::new(Mutex::new(Log {
            key: log_key,
            tree_id: 3_904_496_407_287_907_110,
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
