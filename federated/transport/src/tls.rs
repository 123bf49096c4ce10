//! rustls configurations for both ends: TLS 1.3 only, ring provider, mutual authentication with
//! the pinned verifiers of [`crate::verify`], no session resumption.

use std::sync::Arc;

use rustls::client::Resumption;
use rustls::server::NoServerSessionStorage;

use crate::identity::{InstitutionId, TransportIdentity};
use crate::registry::Registry;
use crate::verify::{PinnedClientVerifier, PinnedServerVerifier, RefusalLog};

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[error("TLS configuration: {0}")]
pub struct TlsConfigError(#[from] rustls::Error);

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The aggregator's server configuration: TLS 1.3 only, a client certificate is required and
/// admitted only if it is the active registered key of the institution it names; the server
/// presents `identity`.
pub fn server_config(
    identity: &TransportIdentity,
    registry: Arc<dyn Registry>,
    refusals: RefusalLog,
) -> Result<rustls::ServerConfig, TlsConfigError> {
    let (chain, key) = identity.chain_and_key();
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(Arc::new(PinnedClientVerifier::new(registry, refusals)))
        .with_single_cert(chain, key)?;
    // No resumption: a resumed TLS 1.3 session skips the client-certificate verifier, so a
    // site suspended after its first handshake could come back on a ticket. Handshakes are
    // few (one connection per site per round), so full ones cost nothing that matters.
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// A site's client configuration: TLS 1.3 only, presents `identity`, accepts only a server
/// whose certificate is the active registered key of `aggregator`.
pub fn client_config(
    identity: &TransportIdentity,
    aggregator: InstitutionId,
    registry: Arc<dyn Registry>,
    refusals: RefusalLog,
) -> Result<rustls::ClientConfig, TlsConfigError> {
    let (chain, key) = identity.chain_and_key();
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous() // a custom verifier: pinning replaces the web PKI, it does not skip checks
        .with_custom_certificate_verifier(Arc::new(PinnedServerVerifier::new(
            registry, aggregator, refusals,
        )))
        .with_client_auth_cert(chain, key)?;
    config.resumption = Resumption::disabled();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
