//! Institution transport identities: a key pair and a self-signed certificate naming the
//! institution (`inst-<id>.consentry` as its only DNS subject alternative name).
//!
//! There is no certificate authority: trust comes from the key each institution registered on
//! chain (the SHA-256 of its SubjectPublicKeyInfo, [`spki_sha256`]). The certificate is only the
//! envelope TLS needs to carry the public key and the institution's claimed id; its issuer,
//! validity period and self-signature prove nothing the holder of the key could not forge, so the
//! verifiers ([`crate::verify`]) ignore them and check the name against the registered key.

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

/// An institution's id, as `consentry_primitives::InstitutionId` (the identity pallet's key).
pub type InstitutionId = u32;

const NAME_PREFIX: &str = "inst-";
const NAME_SUFFIX: &str = ".consentry";

/// The DNS name a transport certificate carries for `institution`: `inst-<id>.consentry`.
pub fn institution_dns_name(institution: InstitutionId) -> String {
    format!("{NAME_PREFIX}{institution}{NAME_SUFFIX}")
}

/// The institution a DNS name `inst-<id>.consentry` names, in canonical decimal (no sign, no
/// leading zeros: one name per id, so two spellings cannot name the same institution).
pub fn parse_institution_dns_name(name: &str) -> Option<InstitutionId> {
    let digits = name.strip_prefix(NAME_PREFIX)?.strip_suffix(NAME_SUFFIX)?;
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || (digits.len() > 1 && digits.starts_with('0'))
    {
        return None;
    }
    digits.parse().ok()
}

/// SHA-256 of a DER SubjectPublicKeyInfo: the value the identity pallet stores per institution
/// (`TransportKeys`) and the verifiers pin peers to.
pub fn spki_sha256(spki_der: &[u8]) -> [u8; 32] {
    Sha256::digest(spki_der).into()
}

/// Signature algorithm of a transport key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// Ed25519 (RFC 8410): the default, small and deterministic.
    Ed25519,
    /// ECDSA on P-256 with SHA-256, for institutions whose HSMs have no Ed25519.
    EcdsaP256,
}

impl KeyAlgorithm {
    fn rcgen(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            KeyAlgorithm::Ed25519 => &rcgen::PKCS_ED25519,
            KeyAlgorithm::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        }
    }
}

/// Why an identity could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// rcgen refused to generate or sign.
    #[error("certificate generation: {0}")]
    Generate(String),
    /// The certificate is not parseable X.509.
    #[error("certificate is not valid X.509: {0}")]
    BadCertificate(String),
    /// The certificate does not name the institution it is loaded for.
    #[error("certificate names {found:?}, not institution {expected}")]
    WrongName {
        /// The institution it was loaded for.
        expected: InstitutionId,
        /// What the certificate names, if anything.
        found: Option<InstitutionId>,
    },
}

/// One institution's transport identity: its certificate chain (one self-signed certificate)
/// and private key, as rustls takes them.
pub struct TransportIdentity {
    institution: InstitutionId,
    cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
    spki_sha256: [u8; 32],
}

impl std::fmt::Debug for TransportIdentity {
    // Never print the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportIdentity")
            .field("institution", &self.institution)
            .field("spki_sha256", &hex::encode(self.spki_sha256))
            .finish_non_exhaustive()
    }
}

impl Clone for TransportIdentity {
    fn clone(&self) -> Self {
        Self {
            institution: self.institution,
            cert: self.cert.clone(),
            key: self.key.clone_key(),
            spki_sha256: self.spki_sha256,
        }
    }
}

impl TransportIdentity {
    /// A fresh key pair and a self-signed certificate naming `institution`.
    pub fn generate(
        institution: InstitutionId,
        algorithm: KeyAlgorithm,
    ) -> Result<Self, IdentityError> {
        let key_pair = rcgen::KeyPair::generate(algorithm.rcgen())
            .map_err(|e| IdentityError::Generate(e.to_string()))?;
        Self::certify(institution, key_pair)
    }

    /// A certificate naming `institution` over an existing PKCS#8 key (e.g. to re-issue the
    /// certificate for a key already registered on chain). Tests use it to forge a certificate
    /// that names one institution with another's key.
    pub fn from_pkcs8_key(
        institution: InstitutionId,
        pkcs8_der: &[u8],
    ) -> Result<Self, IdentityError> {
        let key_pair = rcgen::KeyPair::from_der(pkcs8_der)
            .map_err(|e| IdentityError::Generate(e.to_string()))?;
        Self::certify(institution, key_pair)
    }

    fn certify(
        institution: InstitutionId,
        key_pair: rcgen::KeyPair,
    ) -> Result<Self, IdentityError> {
        let alg = key_pair.algorithm();
        let mut params = rcgen::CertificateParams::new(vec![institution_dns_name(institution)]);
        params.alg = alg;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, institution_dns_name(institution));
        params.key_pair = Some(key_pair);
        let cert = rcgen::Certificate::from_params(params)
            .map_err(|e| IdentityError::Generate(e.to_string()))?;
        let der = cert
            .serialize_der()
            .map_err(|e| IdentityError::Generate(e.to_string()))?;
        let key = cert.serialize_private_key_der();
        Self::from_der(institution, der, key)
    }

    /// Loads a stored certificate and PKCS#8 key, checking that the certificate names
    /// `institution`. (That the key matches the certificate is checked by rustls when the
    /// identity is put into a TLS configuration.)
    pub fn from_der(
        institution: InstitutionId,
        cert_der: Vec<u8>,
        pkcs8_der: Vec<u8>,
    ) -> Result<Self, IdentityError> {
        let cert = CertificateDer::from(cert_der);
        let claim = crate::verify::read_claim(&cert)
            .map_err(|e| IdentityError::BadCertificate(e.to_string()))?;
        if claim.institution != institution {
            return Err(IdentityError::WrongName {
                expected: institution,
                found: Some(claim.institution),
            });
        }
        Ok(Self {
            institution,
            cert,
            key: PrivatePkcs8KeyDer::from(pkcs8_der),
            spki_sha256: claim.spki_sha256,
        })
    }

    /// The institution this identity names.
    pub fn institution(&self) -> InstitutionId {
        self.institution
    }

    /// The value to register on chain: SHA-256 of the certificate's SubjectPublicKeyInfo.
    pub fn spki_sha256(&self) -> [u8; 32] {
        self.spki_sha256
    }

    /// The certificate, DER.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// The private key, PKCS#8 DER (to store it; keep it secret).
    pub fn pkcs8_der(&self) -> &[u8] {
        self.key.secret_pkcs8_der()
    }

    pub(crate) fn chain_and_key(&self) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        (
            vec![self.cert.clone()],
            PrivateKeyDer::Pkcs8(self.key.clone_key()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_canonical() {
        for id in [0, 7, 4_294_967_295] {
            assert_eq!(
                parse_institution_dns_name(&institution_dns_name(id)),
                Some(id)
            );
        }
        for bad in [
            "inst-.consentry",
            "inst-07.consentry",
            "inst-+7.consentry",
            "inst-7.consentry.evil",
            "inst-4294967296.consentry",
            "x-7.consentry",
        ] {
            assert_eq!(parse_institution_dns_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn generated_identity_names_its_institution_and_digest_is_of_spki() {
        for alg in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256] {
            let id = TransportIdentity::generate(42, alg).unwrap();
            let claim = crate::verify::read_claim(id.cert_der()).unwrap();
            assert_eq!(claim.institution, 42);
            let key = rcgen::KeyPair::from_der(id.pkcs8_der()).unwrap();
            assert_eq!(id.spki_sha256(), spki_sha256(&key.public_key_der()));
            // Loading it for another institution is refused.
            assert!(matches!(
                TransportIdentity::from_der(43, id.cert_der().to_vec(), id.pkcs8_der().to_vec()),
                Err(IdentityError::WrongName {
                    expected: 43,
                    found: Some(42)
                })
            ));
        }
    }
}
