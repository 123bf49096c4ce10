//! # consentry-simulation
//!
//! Mechanistic PK/PD half of the Consentry digital twin: answers "what happens
//! if this patient takes this drug at this dose?" without any chain
//! dependency. See `README.md` for the public API summary.
//!
//! ```
//! use consentry_simulation::{oral_concentration, personalize, pgx, DrugLibrary, PatientRecord, Phenotype};
//!
//! let lib = DrugLibrary::builtin();
//! let mut patient = PatientRecord::reference();
//! patient.genotypes.insert("CYP2D6".into(), "*4/*4".into());
//! assert_eq!(pgx::phenotype("CYP2D6", "*4/*4")?, Phenotype::Poor);
//!
//! let ind = personalize(lib.get("metoprolol")?, &patient)?;
//! let p = ind.params;
//! let c_2h = oral_concentration(2.0, p.f, 100.0, p.ka_per_h, p.v_l, p.cl_l_h);
//! assert!(c_2h > 0.0);
//! # Ok::<(), consentry_simulation::SimError>(())
//! ```

#![warn(missing_docs)]

pub mod cli;
pub mod drugs;
pub mod error;
pub mod metrics;
pub mod mipd;
pub mod patient;
pub mod pd;
pub mod personalize;
pub mod pgx;
pub mod pk;
pub mod plot;
pub mod population;
pub mod regimen;
pub mod renal;
pub mod tdm;

pub use drugs::{DrugLibrary, DrugSpec};
pub use error::{Result, SimError};
pub use patient::{PatientRecord, Sex};
pub use personalize::{personalize, Personalized};
pub use pgx::Phenotype;
pub use pk::one_compartment::oral_concentration;
pub use pk::{Dose, PkParams, Route};
pub use regimen::Regimen;
