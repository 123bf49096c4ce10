//! # Consentry wallet
//!
//! The patient's and the institution's wallet, and the auditor's proof check:
//!
//! - [`keystore`]: keys from BIP-39 mnemonics or dev URIs, encrypted at rest (scrypt →
//!   XChaCha20-Poly1305), one key per 0600 JSON file.
//! - [`patient`] and [`institution`]: each operation signs one transaction locally, submits it to
//!   a node or through the API's relay ([`chain`]) and returns what the finalized chain reported.
//! - [`proof`]: the storage-proof document the API serves for an access record ([`proof::ProofDoc`])
//!   and its verification against a node the auditor chooses, trusting nothing the API says.
//! - [`contracts`] and [`council`]: institutions' contracts, deployed by council motion, and the
//!   council's motions (list, vote, close).
//! - [`cli`]: `consentry wallet|institution|audit|contracts|council` (clap), hooked into the
//!   `consentry` binary.

pub mod chain;
pub mod cli;
pub mod contracts;
pub mod council;
pub mod institution;
pub mod jobs;
pub mod keystore;
pub mod names;
pub mod patient;
pub mod proof;
pub mod session;
pub mod view;

pub use proof::{verify_proof, ProofDoc, VerifyError};
