//! What went wrong, named: each variant says which check failed and what
//! was found, so a refusal can be acted on.

/// Why a bundle was refused.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("not a usable Sigstore bundle: {0}")]
    Malformed(String),
    #[error("bundle media type `{0}` is not a Sigstore bundle v0.2 or v0.3")]
    MediaType(String),
    #[error("the trust root is unusable: {0}")]
    TrustRoot(String),
    #[error("the log entry comes from log {log_id}, which the trust root does not list")]
    UnknownLog { log_id: String },
    #[error("the log key of {log_id} was not valid at the entry's integrated time {time}")]
    LogKeyOutOfWindow { log_id: String, time: String },
    #[error("the bundle has no signed entry timestamp, so the time of signing cannot be trusted")]
    NoTrustedTime,
    #[error("the signed entry timestamp does not verify with the log's key")]
    SignedEntryTimestamp,
    #[error("the inclusion proof does not hold: {0}")]
    InclusionProof(String),
    #[error("the checkpoint does not hold: {0}")]
    Checkpoint(String),
    #[error("the certificate does not chain to a Fulcio CA of the trust root at {time}: {detail}")]
    Chain { time: String, detail: String },
    #[error(
        "the certificate was not valid when the log integrated the entry ({time}): it is valid from {not_before} to {not_after}"
    )]
    CertificateExpired {
        time: String,
        not_before: String,
        not_after: String,
    },
    #[error("the certificate's embedded SCT does not hold: {0}")]
    Sct(String),
    #[error("the certificate is not a Sigstore signing certificate: {0}")]
    Usage(String),
    #[error("identity mismatch: expected {expected}, the certificate is issued to {found:?}")]
    Identity {
        expected: String,
        found: Vec<String>,
    },
    #[error("OIDC issuer mismatch: expected {expected}, the certificate names {found}")]
    Issuer { expected: String, found: String },
    #[error("the artifact's sha256 is {actual}, the bundle signs {expected}")]
    Digest { expected: String, actual: String },
    #[error("the signature over {what} does not verify with the certificate's key")]
    Signature { what: &'static str },
    #[error("the log entry does not match the bundle: {0}")]
    EntryMismatch(String),
}

/// Why signing failed. Never carries the identity token.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("the OIDC identity token is unusable: {0}")]
    Token(String),
    #[error("{0}")]
    Key(String),
    #[error("{service} at {url} did not answer: {cause}")]
    Unreachable {
        service: &'static str,
        url: String,
        cause: String,
    },
    #[error("{service} refused the request ({status}): {message}")]
    Refused {
        service: &'static str,
        status: u16,
        message: String,
    },
    #[error("{service} answered something unexpected: {detail}")]
    Response {
        service: &'static str,
        detail: String,
    },
}
