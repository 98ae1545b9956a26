//! The log (Rekor): a real RFC 6962 tree, and the checks of a proposed entry.

use super::*;

pub(super) struct Log {
    pub(super) key: Key,
    pub(super) tree_id: i64,
    pub(super) leaves: Vec<[u8; 32]>,
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
    pub(super) fn append(
        &mut self,
        body: Vec<u8>,
        integrated_time: i64,
    ) -> Result<(String, Value), String> {
        let leaf = leaf_hash(&body);
        let uuid = format!("{:016x}{}", self.tree_id, hex(&leaf));
        if self.leaves.contains(&leaf) {
            return Err(uuid);
        }
        self.leaves.push(leaf);
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
pub(super) fn canonical_body(proposed: &Value) -> Result<Vec<u8>, String> {
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
