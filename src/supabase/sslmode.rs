//! TLS for database connections, with libpq's `sslmode` meanings.
//!
//! Supabase's database and pooler certificates are signed by Supabase's own
//! CA ("Supabase Root 2021 CA", `prod-ca-2021.crt` in the dashboard), which
//! is in no system trust store. So, like the Supabase CLI, a remote
//! connection is encrypted by default without checking the certificate;
//! `sslmode=verify-ca` / `verify-full` (or `[migrate] ssl-root-cert`) check
//! it against the system's roots plus the given CA.

use crate::error::{Error, Result};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Encrypted, certificate not checked (`sslmode=require`, `prefer`).
    Nothing,
    /// Chain checked, host name not (`verify-ca`).
    Chain,
    /// Chain and host name checked (`verify-full`).
    Full,
}

/// The TLS a connection uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSpec {
    /// `None`: plain TCP. `Some(false)`: TLS when the server offers it
    /// (`prefer`); `Some(true)`: TLS or nothing.
    pub required: Option<bool>,
    pub verify: Verify,
    /// A CA added to the system's roots.
    pub root_cert: Option<PathBuf>,
    /// `sslrootcert=system`: the system's roots only, host name checked.
    pub system_roots_only: bool,
}

impl TlsSpec {
    pub const OFF: TlsSpec = TlsSpec {
        required: None,
        verify: Verify::Nothing,
        root_cert: None,
        system_roots_only: false,
    };

    /// From libpq's `sslmode` and `sslrootcert` (either may be absent), the
    /// configured CA, and whether the host is on this machine.
    pub fn from_params(
        sslmode: Option<&str>,
        sslrootcert: Option<&str>,
        configured_ca: Option<&Path>,
        local: bool,
    ) -> Result<TlsSpec> {
        let root_cert = match sslrootcert {
            Some("system") | None => configured_ca.map(Path::to_path_buf),
            Some(path) => Some(PathBuf::from(path)),
        };
        let system_roots_only = sslrootcert == Some("system");
        let has_ca = root_cert.is_some() || system_roots_only;
        let (required, verify) = match sslmode {
            Some("disable") => (None, Verify::Nothing),
            Some("allow" | "prefer") => (Some(false), Verify::Nothing),
            // libpq: `require` with a root certificate verifies the chain.
            Some("require") if has_ca => (Some(true), Verify::Chain),
            Some("require") => (Some(true), Verify::Nothing),
            Some("verify-ca") => (Some(true), Verify::Chain),
            Some("verify-full") => (Some(true), Verify::Full),
            Some(other) => {
                return Err(Error::usage(
                    format!("sslmode={other} is not a PostgreSQL sslmode"),
                    Some("use disable, allow, prefer, require, verify-ca or verify-full".into()),
                ));
            }
            None if has_ca => (Some(true), Verify::Full),
            None if local => (None, Verify::Nothing),
            None => (Some(true), Verify::Nothing),
        };
        Ok(TlsSpec {
            required,
            verify,
            root_cert,
            system_roots_only,
        })
    }

    /// How the connection is described in the pre-flight line.
    pub fn describe(&self) -> &'static str {
        match (self.required, self.verify) {
            (None, _) => "no TLS",
            (Some(_), Verify::Nothing) => "TLS (certificate not verified)",
            (Some(_), Verify::Chain) => "TLS (certificate chain verified)",
            (Some(_), Verify::Full) => "TLS (certificate verified)",
        }
    }

    /// The rustls configuration for this spec.
    pub fn client_config(&self) -> Result<ClientConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::external("tls", e.to_string()))?;
        let config = match self.verify {
            Verify::Nothing => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth(),
            Verify::Chain => {
                let inner =
                    WebPkiServerVerifier::builder_with_provider(Arc::new(self.roots()?), provider)
                        .build()
                        .map_err(|e| Error::external("tls", e.to_string()))?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(ChainOnly(inner)))
                    .with_no_client_auth()
            }
            Verify::Full => builder
                .with_root_certificates(self.roots()?)
                .with_no_client_auth(),
        };
        Ok(config)
    }

    fn roots(&self) -> Result<RootCertStore> {
        let mut roots = RootCertStore::empty();
        if self.root_cert.is_none() || self.system_roots_only {
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
        if let Some(path) = &self.root_cert {
            if !self.system_roots_only {
                roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            }
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(std::iter::Iterator::collect::<Result<Vec<_>, _>>)
                .map_err(|e| {
                    Error::usage(
                        format!("cannot read the CA certificate {}: {e}", path.display()),
                        Some("give a PEM file (Supabase: Database Settings → SSL → Download certificate)".into()),
                    )
                })?;
            roots.add_parsable_certificates(certs);
        }
        if roots.is_empty() {
            return Err(Error::external("tls", "no trusted root certificates were found")
                .with_hint("install the system's CA certificates (Debian: ca-certificates) or set [migrate] ssl-root-cert"));
        }
        Ok(roots)
    }
}

/// Accepts any certificate but still checks the handshake's signatures:
/// the connection is encrypted, not authenticated (`sslmode=require`).
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted root; the name may differ.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_hosts_get_tls_by_default_and_local_ones_do_not() {
        let remote = TlsSpec::from_params(None, None, None, false).unwrap();
        assert_eq!(
            (remote.required, remote.verify),
            (Some(true), Verify::Nothing)
        );
        assert_eq!(
            TlsSpec::from_params(None, None, None, true).unwrap(),
            TlsSpec::OFF
        );
        let local_required = TlsSpec::from_params(Some("require"), None, None, true).unwrap();
        assert_eq!(local_required.required, Some(true));
    }

    #[test]
    fn a_root_certificate_turns_verification_on() {
        let ca = Path::new("ca.pem");
        let s = TlsSpec::from_params(None, None, Some(ca), false).unwrap();
        assert_eq!((s.verify, s.root_cert.as_deref()), (Verify::Full, Some(ca)));
        let s = TlsSpec::from_params(Some("require"), Some("other.pem"), Some(ca), false).unwrap();
        assert_eq!(
            (s.verify, s.root_cert.unwrap()),
            (Verify::Chain, PathBuf::from("other.pem"))
        );
        let s = TlsSpec::from_params(Some("verify-full"), Some("system"), None, false).unwrap();
        assert!(s.system_roots_only && s.verify == Verify::Full);
        assert_eq!(
            TlsSpec::from_params(Some("disable"), None, Some(ca), false)
                .unwrap()
                .required,
            None
        );
        assert_eq!(
            TlsSpec::from_params(Some("bogus"), None, None, false)
                .unwrap_err()
                .exit_code(),
            2
        );
    }
}
