//! Whom a registry client trusts: the registry's `ca_file` (when configured) and the system
//! store, as before; the system store is read only when a certificate needs it, and then once
//! per process.
//!
//! Why not reqwest's default (rustls-platform-verifier, `tls_certs_merge`): it reads and parses
//! every file of the system store (147 in /etc/ssl/certs here) each time a client is built, at
//! the start of every headless command, also for a registry behind a private CA that never
//! needs one of them. Verifying against the union of two root sets succeeds exactly when
//! verifying against one of them does (a chain ends at one root; the intermediates are the
//! server's either way), so trying the `ca_file` roots first and the system store second
//! accepts and refuses the same certificates as the merged store did.
//!
//! Why not webpki-roots (Mozilla's roots compiled in, nothing to read): it would drop the roots
//! an organisation installs in the system store (a TLS-inspecting proxy's CA, an internal
//! registry's), which users of a corporate ACR mirror rely on.

use std::sync::{Arc, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};

/// The system store's verifier, built on first use. Once per process: the store is read at
/// most once, however many clients are built (the TUI builds one per registry and task);
/// roots added to the system while berth runs are seen at its next start.
static SYSTEM: OnceLock<Result<Arc<rustls_platform_verifier::Verifier>, String>> = OnceLock::new();

fn system(
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<rustls_platform_verifier::Verifier>, Error> {
    SYSTEM
        .get_or_init(|| {
            rustls_platform_verifier::Verifier::new(Arc::clone(provider))
                .map(Arc::new)
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(Error::General)
}

/// `ca_file`'s roots first, the system store (lazily) for what they do not vouch for.
#[derive(Debug)]
struct Verifier {
    provider: Arc<CryptoProvider>,
    extra: Option<Arc<WebPkiServerVerifier>>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let extra_error = match &self.extra {
            Some(v) => {
                match v.verify_server_cert(
                    end_entity,
                    intermediates,
                    server_name,
                    ocsp_response,
                    now,
                ) {
                    Ok(ok) => return Ok(ok),
                    Err(e) => Some(e),
                }
            }
            None => None,
        };
        let system_result = system(&self.provider).and_then(|v| {
            v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        });
        match (system_result, extra_error) {
            (Ok(ok), _) => Ok(ok),
            // The chain reached a `ca_file` root and failed for another reason (expired, wrong
            // name): that is what the merged store reported, not the system's "unknown issuer".
            (Err(_), Some(e))
                if !matches!(
                    e,
                    Error::InvalidCertificate(CertificateError::UnknownIssuer)
                ) =>
            {
                Err(e)
            }
            (Err(e), _) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The rustls configuration of a registry client trusting `extra_roots` (DER, from `ca_file`)
/// and the system store, offering HTTP/2 and HTTP/1.1 as reqwest does. The error is a message
/// for a [`super::error::RegistryError::Config`].
pub fn client_config(
    extra_roots: Vec<CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, String> {
    // The provider reqwest itself would pick: an installed default, else aws-lc-rs.
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let extra = if extra_roots.is_empty() {
        None
    } else {
        let mut roots = RootCertStore::empty();
        for cert in extra_roots {
            roots
                .add(cert)
                .map_err(|e| format!("a certificate of ca_file is not usable as a root: {e}"))?;
        }
        Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                .build()
                .map_err(|e| e.to_string())?,
        )
    };
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Verifier { provider, extra }))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
