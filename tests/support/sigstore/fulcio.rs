//! The CA (Fulcio) with its CT log, and `POST /api/v2/signingCert`.

use super::*;

const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
const SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");

pub(super) struct Ca {
    pub(super) key: Key,
    pub(super) cert: Vec<u8>,
    pub(super) name: Name,
    pub(super) ct_key: Key,
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
    pub(super) fn new() -> Ca {
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
    pub(super) fn issue(&self, spki: &[u8], claims: &Value, not_before: i64) -> Vec<u8> {
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

/// Fulcio's `CreateSigningCertificate`.
pub(super) fn signing_cert(
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
