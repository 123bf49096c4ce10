//! # consentry-simulation
//!
//! Mechanistic PK/PD half of the Consentry digital twin: answers "what happens
//! if this patient takes this drug at this dose?" without any chain
//! dependency. See `README.md` for the public API summary.

#![warn(missing_docs)]

pub mod cli;
pub mod drugs;
pub mod error;
pub mod metrics;
pub mod patient;
pub mod pd;
pub mod personalize;
pub mod pgx;
pub mod pk;
pub mod plot;
pub mod population;
pub mod regimen;
pub mod renal;

pub use drugs::{DrugLibrary, DrugSpec};
pub use error::{Result, SimError};
pub use patient::{PatientRecord, Sex};
pub use personalize::{personalize, Personalized};
pub use pgx::Phenotype;
pub use pk::one_compartment::oral_concentration;
pub use pk::{Dose, PkParams, Route};
pub use regimen::Regimen;
