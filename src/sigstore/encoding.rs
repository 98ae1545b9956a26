//! The encodings Sigstore's JSON uses: protobuf JSON (bytes as standard
//! base64, 64-bit integers as decimal strings), PEM, and RFC 3339 times.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// `bytes` fields of protobuf JSON: base64 with padding.
pub(crate) mod b64 {
    use super::{Engine, STANDARD};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        super::decode_b64(&text).map_err(serde::de::Error::custom)
    }
}

/// Repeated `bytes` fields.
pub(crate) mod b64_list {
    use super::{Engine, STANDARD};
    use serde::{Deserialize, Deserializer, Serializer, ser::SerializeSeq};

    pub(crate) fn serialize<S: Serializer>(list: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(list.len()))?;
        for bytes in list {
            seq.serialize_element(&STANDARD.encode(bytes))?;
        }
        seq.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|t| super::decode_b64(t).map_err(serde::de::Error::custom))
            .collect()
    }
}

/// `int64` fields of protobuf JSON: written as strings, read from either.
pub(crate) mod int64 {
    use serde::{Deserialize, Deserializer, Serializer};

    // serde's `with` hands fields by reference.
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(crate) fn serialize<S: Serializer>(n: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&n.to_string())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Text(String),
            Number(i64),
        }
        match Either::deserialize(d)? {
            Either::Number(n) => Ok(n),
            Either::Text(t) => t
                .parse()
                .map_err(|_| serde::de::Error::custom(format!("`{t}` is not an integer"))),
        }
    }
}

/// Protobuf JSON readers accept URL-safe base64 and missing padding too.
pub(crate) fn decode_b64(text: &str) -> Result<Vec<u8>, String> {
    let standard = text.replace('-', "+").replace('_', "/");
    let trimmed = standard.trim_end_matches('=');
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(trimmed)
        .map_err(|e| format!("invalid base64: {e}"))
}

pub(crate) fn encode_b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// PEM with 64-column lines and a closing newline: the exact text Go's
/// `pem.Encode` and Python's `cryptography` write, which Rekor stores and
/// verifiers compare byte for byte.
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The DER inside the first PEM block labelled `label`.
pub(crate) fn pem_decode(label: &str, text: &str) -> Result<Vec<u8>, String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text
        .find(&begin)
        .ok_or_else(|| format!("no `{begin}` block"))?;
    let rest = &text[start + begin.len()..];
    let stop = rest.find(&end).ok_or_else(|| format!("no `{end}` line"))?;
    let body: String = rest[..stop].split_whitespace().collect();
    decode_b64(&body)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn unhex(text: &str) -> Result<Vec<u8>, String> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return Err(format!("`{text}` is not hexadecimal"));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&text[i..i + 2], 16)
                .map_err(|_| format!("`{text}` is not hexadecimal"))
        })
        .collect()
}

/// Seconds since the epoch of an RFC 3339 time (`2021-10-07T13:28:20Z`).
pub(crate) fn parse_time(text: &str) -> Result<i64, String> {
    let t = humantime::parse_rfc3339_weak(text.trim_end_matches('Z'))
        .map_err(|e| format!("`{text}` is not an RFC 3339 time: {e}"))?;
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| format!("`{text}` is before 1970"))?
        .as_secs();
    Ok(secs as i64)
}

/// An RFC 3339 time for messages.
pub(crate) fn format_time(secs: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trips_and_wraps_at_64_columns() {
        let der: Vec<u8> = (0..=255).collect();
        let text = pem("CERTIFICATE", &der);
        assert!(text.lines().skip(1).all(|l| l.len() <= 64));
        assert!(text.ends_with("-----END CERTIFICATE-----\n"));
        assert_eq!(pem_decode("CERTIFICATE", &text).unwrap(), der);
    }

    #[test]
    fn times_parse_with_and_without_fractions() {
        assert_eq!(parse_time("2021-10-07T13:28:20Z").unwrap(), 1_633_613_300);
        assert_eq!(parse_time("2021-10-07T13:28:20.5Z").unwrap(), 1_633_613_300);
        assert_eq!(format_time(1_633_613_300), "2021-10-07T13:28:20Z");
    }

    #[test]
    fn base64_accepts_url_safe_and_unpadded() {
        assert_eq!(decode_b64("-_8").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(decode_b64("+/8=").unwrap(), vec![0xfb, 0xff]);
        assert!(decode_b64("!!").is_err());
    }
}
