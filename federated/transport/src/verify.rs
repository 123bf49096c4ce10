//! Certificate verifiers that pin each peer to its institution's registered key.
//!
//! A peer's certificate is read for two things only: the institution it claims
//! (`inst-<id>.consentry`, exactly one such name) and its SubjectPublicKeyInfo. The peer is
//! accepted iff the SHA-256 of that SPKI equals the key the [`Registry`] holds for the claimed
//! institution and the institution is active. The handshake signature (TLS 1.3
//! `CertificateVerify`) is still checked against that same SPKI with the ring provider's
//! algorithms, so a peer that merely replays someone's certificate without the private key fails.
//!
//! There is no chain building and no validity-period check, on purpose: certificates are
//! self-signed, and the registered key, not an issuer or a date, is the trust anchor; key
//! rotation and revocation happen on chain (a new `TransportKeys` value, or suspension).

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, OtherError};
use rustls::{PeerIncompatible, SignatureScheme};

use crate::identity::{parse_institution_dns_name, spki_sha256, InstitutionId};
use crate::registry::Registry;

/// Why a peer was refused. Carried inside the rustls error of the refusing side (see
/// [`refusal_of`]) and recorded in a [`RefusalLog`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerRefusal {
    /// The certificate is not parseable X.509.
    #[error("peer certificate is malformed: {0}")]
    MalformedCertificate(String),
    /// The certificate names no institution (`inst-<id>.consentry`).
    #[error("peer certificate names no institution (expected a DNS name inst-<id>.consentry)")]
    NoInstitutionName,
    /// The certificate names more than one institution.
    #[error("peer certificate names several institutions ({0:?}): refusing the ambiguity")]
    SeveralInstitutions(Vec<InstitutionId>),
    /// The peer sent intermediates; institution certificates are single self-signed ones.
    #[error("peer sent a certificate chain; institutions present one self-signed certificate")]
    UnexpectedChain,
    /// The institution is unknown or has no transport key on record.
    #[error("institution {institution} has no registered transport key")]
    Unregistered {
        /// The institution the certificate names.
        institution: InstitutionId,
    },
    /// The certificate's key is not the one registered for the institution it names.
    #[error("key of the certificate naming institution {institution} (SPKI SHA-256 {presented}) is not its registered key ({registered})")]
    KeyMismatch {
        /// The institution the certificate names.
        institution: InstitutionId,
        /// Hex SHA-256 of the presented SPKI.
        presented: String,
        /// Hex SHA-256 of the registered SPKI.
        registered: String,
    },
    /// The institution is suspended.
    #[error("institution {institution} is suspended")]
    Suspended {
        /// The suspended institution.
        institution: InstitutionId,
    },
    /// The server is a registered institution, but not the aggregator this client expects.
    #[error("server is institution {got}, expected the aggregator institution {expected}")]
    UnexpectedPeer {
        /// The aggregator's institution.
        expected: InstitutionId,
        /// The institution the server's certificate names.
        got: InstitutionId,
    },
}

/// What a certificate claims: an institution and the digest of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertClaim {
    /// The institution named by the certificate.
    pub institution: InstitutionId,
    /// SHA-256 of its SubjectPublicKeyInfo.
    pub spki_sha256: [u8; 32],
}

/// Reads the institution and SPKI digest from a certificate, without judging them.
pub fn read_claim(cert: &CertificateDer<'_>) -> Result<CertClaim, PeerRefusal> {
    let ee = webpki::EndEntityCert::try_from(cert)
        .map_err(|e| PeerRefusal::MalformedCertificate(format!("{e:?}")))?;
    let mut named: Vec<InstitutionId> = ee
        .valid_dns_names()
        .filter_map(parse_institution_dns_name)
        .collect();
    named.sort_unstable();
    named.dedup();
    let institution = match named.as_slice() {
        [] => return Err(PeerRefusal::NoInstitutionName),
        [one] => *one,
        _ => return Err(PeerRefusal::SeveralInstitutions(named)),
    };
    Ok(CertClaim {
        institution,
        spki_sha256: spki_sha256(ee.subject_public_key_info().as_ref()),
    })
}

/// The whole admission decision for a presented certificate: the claim must match an active
/// registered key. Also used per request, so a suspension or key rotation during a long-lived
/// connection takes effect at the next request.
pub fn check_peer<R: Registry + ?Sized>(
    registry: &R,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
) -> Result<InstitutionId, PeerRefusal> {
    if !intermediates.is_empty() {
        return Err(PeerRefusal::UnexpectedChain);
    }
    let claim = read_claim(end_entity)?;
    check_claim(registry, &claim)?;
    Ok(claim.institution)
}

pub(crate) fn check_claim<R: Registry + ?Sized>(
    registry: &R,
    claim: &CertClaim,
) -> Result<(), PeerRefusal> {
    let registered = registry
        .lookup(claim.institution)
        .ok_or(PeerRefusal::Unregistered {
            institution: claim.institution,
        })?;
    // Key before status: a stranger's certificate naming a suspended institution is reported
    // as the forgery it is, not as that institution's suspension.
    if registered.spki_sha256 != claim.spki_sha256 {
        return Err(PeerRefusal::KeyMismatch {
            institution: claim.institution,
            presented: hex::encode(claim.spki_sha256),
            registered: hex::encode(registered.spki_sha256),
        });
    }
    if !registered.active {
        return Err(PeerRefusal::Suspended {
            institution: claim.institution,
        });
    }
    Ok(())
}

/// The [`PeerRefusal`] inside a rustls error raised by these verifiers, if that is what it is.
pub fn refusal_of(error: &rustls::Error) -> Option<&PeerRefusal> {
    match error {
        rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(e))) => {
            e.downcast_ref::<PeerRefusal>()
        }
        _ => None,
    }
}

fn to_rustls(refusal: PeerRefusal) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(refusal))))
}

/// The most recent refusals of one side (the TLS handshake cannot tell the refused peer why,
/// beyond an alert, so the reason is kept here and logged).
#[derive(Debug, Clone, Default)]
pub struct RefusalLog {
    inner: Arc<Mutex<VecDeque<PeerRefusal>>>,
}

const REFUSAL_LOG_LEN: usize = 256;

impl RefusalLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a refusal (keeping the last 256) and logs it.
    pub fn record(&self, refusal: &PeerRefusal) {
        tracing::warn!(%refusal, "refused a federated-round peer");
        let mut log = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() == REFUSAL_LOG_LEN {
            log.pop_front();
        }
        log.push_back(refusal.clone());
    }

    /// The recorded refusals, oldest first.
    pub fn entries(&self) -> Vec<PeerRefusal> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

fn algorithms() -> WebPkiSupportedAlgorithms {
    rustls::crypto::ring::default_provider().signature_verification_algorithms
}

fn tls13_signature(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    algs: &WebPkiSupportedAlgorithms,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    // The certificate here is the one the verifier already pinned (rustls passes the same
    // end-entity certificate), so a valid signature proves possession of the registered key.
    rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
}

/// Server side: requires a client certificate and admits it only as described in the module
/// documentation.
pub struct PinnedClientVerifier {
    registry: Arc<dyn Registry>,
    log: RefusalLog,
    algs: WebPkiSupportedAlgorithms,
}

impl PinnedClientVerifier {
    /// A verifier over `registry`, recording refusals in `log`.
    pub fn new(registry: Arc<dyn Registry>, log: RefusalLog) -> Self {
        Self {
            registry,
            log,
            algs: algorithms(),
        }
    }
}

impl fmt::Debug for PinnedClientVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PinnedClientVerifier")
    }
}

impl ClientCertVerifier for PinnedClientVerifier {
    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // No CA: hint nothing, clients send their one institution certificate.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match check_peer(&*self.registry, end_entity, intermediates) {
            Ok(_) => Ok(ClientCertVerified::assertion()),
            Err(refusal) => {
                self.log.record(&refusal);
                Err(to_rustls(refusal))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // Unreachable with a TLS 1.3-only config; refuse rather than trust if that ever changes.
        Err(PeerIncompatible::Tls12NotOffered.into())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// Client side: admits only the aggregator's institution, by its registered key.
pub struct PinnedServerVerifier {
    registry: Arc<dyn Registry>,
    expected: InstitutionId,
    log: RefusalLog,
    algs: WebPkiSupportedAlgorithms,
}

impl PinnedServerVerifier {
    /// A verifier that accepts only `expected` (the aggregator's institution) as registered in
    /// `registry`.
    pub fn new(registry: Arc<dyn Registry>, expected: InstitutionId, log: RefusalLog) -> Self {
        Self {
            registry,
            expected,
            log,
            algs: algorithms(),
        }
    }
}

impl fmt::Debug for PinnedServerVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PinnedServerVerifier(expects {})", self.expected)
    }
}

impl ServerCertVerifier for PinnedServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        // The host name or IP the client dialled proves nothing here (aggregators move, tests
        // use 127.0.0.1); the pinned institution key is what authenticates the server.
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let result = check_peer(&*self.registry, end_entity, intermediates).and_then(|got| {
            if got == self.expected {
                Ok(())
            } else {
                Err(PeerRefusal::UnexpectedPeer {
                    expected: self.expected,
                    got,
                })
            }
        });
        match result {
            Ok(()) => Ok(ServerCertVerified::assertion()),
            Err(refusal) => {
                self.log.record(&refusal);
                Err(to_rustls(refusal))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(PeerIncompatible::Tls12NotOffered.into())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{KeyAlgorithm, TransportIdentity};
    use crate::registry::InMemoryRegistry;

    fn cert_with_names(names: &[&str]) -> CertificateDer<'static> {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = rcgen::CertificateParams::new(names);
        params.alg = &rcgen::PKCS_ED25519;
        let cert = rcgen::Certificate::from_params(params).unwrap();
        CertificateDer::from(cert.serialize_der().unwrap())
    }

    #[test]
    fn certificates_must_name_exactly_one_institution() {
        let reg = InMemoryRegistry::new();
        assert_eq!(
            check_peer(&reg, &cert_with_names(&["hospital.example"]), &[]),
            Err(PeerRefusal::NoInstitutionName)
        );
        assert_eq!(
            check_peer(
                &reg,
                &cert_with_names(&["inst-1.consentry", "inst-2.consentry"]),
                &[]
            ),
            Err(PeerRefusal::SeveralInstitutions(vec![1, 2]))
        );
        assert!(matches!(
            check_peer(&reg, &CertificateDer::from(vec![0x30, 0x03, 1, 2, 3]), &[]),
            Err(PeerRefusal::MalformedCertificate(_))
        ));
        let one = cert_with_names(&["inst-1.consentry"]);
        assert_eq!(
            check_peer(&reg, &one, std::slice::from_ref(&one)),
            Err(PeerRefusal::UnexpectedChain)
        );
    }

    #[test]
    fn admission_order_and_reasons() {
        let reg = InMemoryRegistry::new();
        let a = TransportIdentity::generate(1, KeyAlgorithm::Ed25519).unwrap();
        let stranger = TransportIdentity::generate(1, KeyAlgorithm::EcdsaP256).unwrap();
        assert_eq!(
            check_peer(&reg, a.cert_der(), &[]),
            Err(PeerRefusal::Unregistered { institution: 1 })
        );
        reg.register(1, a.spki_sha256());
        assert_eq!(check_peer(&reg, a.cert_der(), &[]), Ok(1));
        reg.set_active(1, false);
        assert_eq!(
            check_peer(&reg, a.cert_der(), &[]),
            Err(PeerRefusal::Suspended { institution: 1 })
        );
        // A stranger's certificate naming a suspended institution is reported as the key
        // mismatch it is, not as that institution's suspension.
        assert!(matches!(
            check_peer(&reg, stranger.cert_der(), &[]),
            Err(PeerRefusal::KeyMismatch { institution: 1, .. })
        ));
        reg.remove(1);
        assert_eq!(
            check_peer(&reg, a.cert_der(), &[]),
            Err(PeerRefusal::Unregistered { institution: 1 })
        );
        // The refusal survives the trip through a rustls error.
        let e = to_rustls(PeerRefusal::Suspended { institution: 1 });
        assert_eq!(
            refusal_of(&e),
            Some(&PeerRefusal::Suspended { institution: 1 })
        );
    }
}
