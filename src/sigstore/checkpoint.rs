//! Rekor's signed checkpoints: a signed note (transparency-dev's format)
//! whose text is the log's origin, its size and its root hash, followed by
//! a blank line and `— <name> <base64(key hint ‖ signature)>` lines.

use super::encoding::decode_b64;
use super::keys::PublicKey;

/// What a verified checkpoint says.
#[derive(Debug, PartialEq)]
pub(crate) struct Checkpoint {
    pub(crate) origin: String,
    pub(crate) size: u64,
    pub(crate) root_hash: Vec<u8>,
}

/// Parses `envelope` and checks that `key` signed it.
pub(crate) fn verify(envelope: &str, key: &PublicKey) -> Result<Checkpoint, String> {
    let Some(split) = envelope.find("\n\n") else {
        return Err("no blank line between the note and its signatures".into());
    };
    if envelope.matches("\n\n").count() != 1 {
        return Err("more than one blank line in the note".into());
    }
    // The signed text includes its own closing newline.
    let note = &envelope[..=split];
    let mut lines = note.lines();
    let origin = lines.next().unwrap_or_default().to_string();
    if origin.is_empty() {
        return Err("the note has no origin line".into());
    }
    let size = lines
        .next()
        .and_then(|l| l.parse::<u64>().ok())
        .ok_or("the note's second line is not a tree size")?;
    let root_hash = lines
        .next()
        .ok_or("the note has no root hash")
        .and_then(|l| decode_b64(l).map_err(|_| "the note's root hash is not base64"))?;

    let hint = &key.key_id[..4];
    for line in envelope[split + 2..].lines() {
        let Some(rest) = line.strip_prefix("\u{2014} ") else {
            continue;
        };
        let Some((_name, sig)) = rest.split_once(' ') else {
            continue;
        };
        let Ok(raw) = decode_b64(sig) else { continue };
        if raw.len() > 4 && &raw[..4] == hint {
            if key.verify(key.default_hash(), note.as_bytes(), &raw[4..]) {
                return Ok(Checkpoint {
                    origin,
                    size,
                    root_hash,
                });
            }
            return Err("the signature by the log's key does not verify".into());
        }
    }
    Err("no signature by the trust root's log key".into())
}
