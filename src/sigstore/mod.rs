//! Sigstore, keyless: sign a blob or a DSSE envelope with an ephemeral key,
//! a Fulcio certificate for the job's OIDC identity and a Rekor entry, as a
//! Sigstore bundle v0.3; and verify such a bundle against a trust root
//! (`trusted_root.json`) and an identity policy.
//!
//! An integration module: it knows Sigstore's formats and services, nothing
//! of gantry.toml. The trust root is always passed in, so the public-good
//! instance, a private one and the tests' stand-ins share every line.

pub mod bundle;
mod checkpoint;
pub mod dsse;
mod encoding;
mod error;
pub mod intoto;
mod keys;
mod merkle;
pub mod pep740;
mod sct;
pub mod sign;
pub mod trust;
pub mod verify;
mod x509;

pub use error::{SignError, VerifyError};
