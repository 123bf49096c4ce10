//! # consentry-datastore
//!
//! The institution's patient data store: the only place where a pseudonym is linked to a local
//! patient identifier, and where clinical data lives. Nothing here goes on chain.
//!
//! - [`Store::open`] creates or opens the SQLite store (`schema.rs`).
//! - [`Store::ingest_bundle`] imports an HL7 FHIR R4 `Bundle` in one transaction, rejecting a
//!   malformed bundle whole with the entry, resource and field path (`fhir.rs`, `ingest.rs`);
//!   [`Store::ingest_genotypes`] imports a pharmacogenomic genotype file (`genotype.rs`).
//! - [`Pepper`] turns a local identifier into the on-chain pseudonym `SHA-256(pepper ‖ id)`.
//! - [`Store::read`] is the only way clinical data leaves the store: it returns exactly the
//!   granted [`CategorySet`] and logs the read with the chain's access id in the same transaction
//!   (`read.rs`); [`Store::read_log`] and [`Store::reads_for`] let an auditor check every read.
//! - [`synth`] writes seeded synthetic patients as FHIR bundles plus a genotype file.
//! - [`wearable`] names the vital signs wearables stream (LOINC, UCUM, possible ranges) and maps a
//!   sample to a FHIR `Observation`.
//! - [`cli`] holds `consentry ingest` and `consentry synth`.

pub mod cli;
mod error;
mod features;
mod fhir;
mod genotype;
mod ingest;
mod pepper;
mod read;
mod schema;
mod store;
pub mod synth;
mod time;
pub mod wearable;

pub use consentry_primitives::{AccessId, CategorySet, DataCategory};
pub use error::{Error, Result};
pub use genotype::{normalize_diplotype, parse_genotype_file, GenotypeLine, GENES};
pub use ingest::BundleReport;
pub use pepper::{from_hex, to_hex, Pepper, Pseudonym, MIN_PEPPER_LEN};
pub use read::{
    Condition, Demographics, Genotype, Medication, MedicationKind, Observation, PatientData,
    ReadLogEntry,
};
pub use store::{Counts, Store};
