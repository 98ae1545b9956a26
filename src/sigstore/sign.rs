//! Keyless signing: an ephemeral P-256 key, a certificate from Fulcio for
//! the OIDC identity token (`POST /api/v2/signingCert`, the key's proof of
//! possession being its signature over the token's `sub`), and an entry in
//! Rekor (`POST /api/v1/log/entries`: `hashedrekord` for a message
//! signature, `dsse` for an envelope), packed as a bundle v0.3.

use super::SignError;
use super::bundle::{
    Bundle, Checkpoint, HashOutput, InclusionPromise, InclusionProof, KindVersion, LogId,
    MEDIA_TYPE, MessageSignature, TlogEntry, VerificationMaterial, X509Certificate,
};
use super::dsse::{self, Envelope};
use super::encoding::{decode_b64, encode_b64, hex, pem, pem_decode, sha256, unhex};
use super::keys::SigningKey;
use serde_json::{Value, json};

/// Where the CA and the log are.
#[derive(Debug, Clone)]
pub struct Services {
    /// Fulcio's base URL.
    pub fulcio: String,
    /// Rekor's base URL.
    pub rekor: String,
}

impl Services {
    /// The public-good instance run by the Sigstore project.
    pub fn public_good() -> Services {
        Services {
            fulcio: "https://fulcio.sigstore.dev".into(),
            rekor: "https://rekor.sigstore.dev".into(),
        }
    }
}

/// Signs `artifact`: a bundle with a message signature.
pub async fn sign_artifact(
    client: &reqwest::Client,
    services: &Services,
    id_token: &str,
    artifact: &[u8],
) -> Result<Bundle, SignError> {
    let key = SigningKey::generate().map_err(SignError::Key)?;
    let cert = certificate(client, services, id_token, &key).await?;
    let signature = key.sign(artifact).map_err(SignError::Key)?;
    let digest = sha256(artifact);
    let cert_pem = pem("CERTIFICATE", &cert);
    let proposed = json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hex(&digest)}},
            "signature": {
                "content": encode_b64(&signature),
                "publicKey": {"content": encode_b64(cert_pem.as_bytes())},
            },
        },
    });
    let entry = log_entry(client, services, &proposed).await?;
    Ok(Bundle {
        media_type: MEDIA_TYPE.into(),
        verification_material: material(cert, entry),
        message_signature: Some(MessageSignature {
            message_digest: Some(HashOutput {
                algorithm: "SHA2_256".into(),
                digest: digest.to_vec(),
            }),
            signature,
        }),
        dsse_envelope: None,
    })
}

/// Signs `payload` in a DSSE envelope of `payload_type` (for in-toto
/// statements [`dsse::IN_TOTO`]).
pub async fn sign_dsse(
    client: &reqwest::Client,
    services: &Services,
    id_token: &str,
    payload_type: &str,
    payload: &[u8],
) -> Result<Bundle, SignError> {
    let key = SigningKey::generate().map_err(SignError::Key)?;
    let cert = certificate(client, services, id_token, &key).await?;
    let sig = key
        .sign(&dsse::pae(payload_type, payload))
        .map_err(SignError::Key)?;
    let envelope = Envelope {
        payload: payload.to_vec(),
        payload_type: payload_type.into(),
        signatures: vec![dsse::Signature {
            sig,
            keyid: String::new(),
        }],
    };
    let envelope_json = serde_json::to_string(&envelope).unwrap_or_default();
    let cert_pem = pem("CERTIFICATE", &cert);
    let proposed = json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {"proposedContent": {
            "envelope": envelope_json,
            "verifiers": [encode_b64(cert_pem.as_bytes())],
        }},
    });
    let entry = log_entry(client, services, &proposed).await?;
    Ok(Bundle {
        media_type: MEDIA_TYPE.into(),
        verification_material: material(cert, entry),
        message_signature: None,
        dsse_envelope: Some(envelope),
    })
}

fn material(cert: Vec<u8>, entry: TlogEntry) -> VerificationMaterial {
    VerificationMaterial {
        certificate: Some(X509Certificate { raw_bytes: cert }),
        tlog_entries: vec![entry],
        x509_certificate_chain: None,
        timestamp_verification_data: None,
    }
}

/// The token's `sub` claim, read without verifying it: Fulcio verifies the
/// token; the client only proves it holds the key for this subject.
fn subject_of(id_token: &str) -> Result<String, SignError> {
    let claims = id_token
        .split('.')
        .nth(1)
        .ok_or_else(|| SignError::Token("it is not a JWT (no payload part)".into()))?;
    let raw =
        decode_b64(claims).map_err(|_| SignError::Token("its payload is not base64url".into()))?;
    let v: Value = serde_json::from_slice(&raw)
        .map_err(|_| SignError::Token("its payload is not JSON".into()))?;
    v["sub"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| SignError::Token("it has no `sub` claim".into()))
}

/// Asks Fulcio for a certificate binding `key` to the token's identity;
/// returns the leaf's DER.
async fn certificate(
    client: &reqwest::Client,
    services: &Services,
    id_token: &str,
    key: &SigningKey,
) -> Result<Vec<u8>, SignError> {
    let sub = subject_of(id_token)?;
    let proof = key.sign(sub.as_bytes()).map_err(SignError::Key)?;
    let request = json!({
        "credentials": {"oidcIdentityToken": id_token},
        "publicKeyRequest": {
            "publicKey": {"algorithm": "ECDSA", "content": pem("PUBLIC KEY", &key.public_spki_der())},
            "proofOfPossession": encode_b64(&proof),
        },
    });
    let url = format!(
        "{}/api/v2/signingCert",
        services.fulcio.trim_end_matches('/')
    );
    let answer = post(client, "Fulcio", &url, &request).await?;
    let bad = |detail: &str| SignError::Response {
        service: "Fulcio",
        detail: detail.to_string(),
    };
    let chain = answer["signedCertificateEmbeddedSct"]["chain"]["certificates"]
        .as_array()
        .ok_or_else(|| bad("no signedCertificateEmbeddedSct.chain.certificates"))?;
    let leaf = chain
        .first()
        .and_then(Value::as_str)
        .ok_or_else(|| bad("an empty certificate chain"))?;
    pem_decode("CERTIFICATE", leaf).map_err(|e| bad(&format!("the leaf certificate: {e}")))
}

/// Submits `proposed` to Rekor and turns its `LogEntry` answer into the
/// bundle's entry.
async fn log_entry(
    client: &reqwest::Client,
    services: &Services,
    proposed: &Value,
) -> Result<TlogEntry, SignError> {
    let url = format!(
        "{}/api/v1/log/entries",
        services.rekor.trim_end_matches('/')
    );
    let answer = post(client, "Rekor", &url, proposed).await?;
    let bad = |detail: String| SignError::Response {
        service: "Rekor",
        detail,
    };
    let entry = answer
        .as_object()
        .and_then(|m| m.values().next())
        .ok_or_else(|| bad("no entry in the answer".into()))?;
    let text = |v: &Value, name: &str| {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| bad(format!("no `{name}`")))
    };
    let int = |v: &Value, name: &str| v.as_i64().ok_or_else(|| bad(format!("no `{name}`")));
    let body = decode_b64(&text(&entry["body"], "body")?).map_err(bad)?;
    let kind: Value = serde_json::from_slice(&body).map_err(|e| bad(format!("body: {e}")))?;
    let proof = &entry["verification"]["inclusionProof"];
    let hashes = proof["hashes"]
        .as_array()
        .ok_or_else(|| bad("no inclusionProof.hashes".into()))?
        .iter()
        .map(|h| unhex(h.as_str().unwrap_or("?")).map_err(&bad))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TlogEntry {
        log_index: int(&entry["logIndex"], "logIndex")?,
        log_id: LogId {
            key_id: unhex(&text(&entry["logID"], "logID")?).map_err(&bad)?,
        },
        kind_version: KindVersion {
            kind: text(&kind["kind"], "kind")?,
            version: text(&kind["apiVersion"], "apiVersion")?,
        },
        integrated_time: int(&entry["integratedTime"], "integratedTime")?,
        inclusion_promise: Some(InclusionPromise {
            signed_entry_timestamp: decode_b64(&text(
                &entry["verification"]["signedEntryTimestamp"],
                "signedEntryTimestamp",
            )?)
            .map_err(&bad)?,
        }),
        inclusion_proof: Some(InclusionProof {
            log_index: int(&proof["logIndex"], "inclusionProof.logIndex")?,
            root_hash: unhex(&text(&proof["rootHash"], "rootHash")?).map_err(&bad)?,
            tree_size: int(&proof["treeSize"], "treeSize")?,
            hashes,
            checkpoint: Checkpoint {
                envelope: text(&proof["checkpoint"], "checkpoint")?,
            },
        }),
        canonicalized_body: body,
    })
}

async fn post(
    client: &reqwest::Client,
    service: &'static str,
    url: &str,
    body: &Value,
) -> Result<Value, SignError> {
    let resp = client
        .post(url)
        .header("Accept", "application/json")
        .json(body)
        .send()
        .await
        .map_err(|e| SignError::Unreachable {
            service,
            url: url.to_string(),
            cause: e.to_string(),
        })?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| text.chars().take(300).collect());
        return Err(SignError::Refused {
            service,
            status: status.as_u16(),
            message,
        });
    }
    serde_json::from_str(&text).map_err(|e| SignError::Response {
        service,
        detail: format!("not JSON: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subject_is_read_from_the_tokens_payload() {
        let payload = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            br#"{"sub":"repo:acme/api:ref:refs/heads/main"}"#,
        );
        let token = format!("e30.{payload}.sig");
        assert_eq!(
            subject_of(&token).unwrap(),
            "repo:acme/api:ref:refs/heads/main"
        );
        assert!(matches!(subject_of("opaque"), Err(SignError::Token(_))));
        // The token never appears in the error.
        let e = subject_of("secret-token-value").unwrap_err().to_string();
        assert!(!e.contains("secret-token-value"));
    }
}
