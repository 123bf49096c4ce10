//! Typed errors. Every variant that stems from user input names the offending
//! field and says how to fix it, because the CLI prints these verbatim.

use thiserror::Error;

/// Errors produced by the simulation library.
#[derive(Debug, Error)]
pub enum SimError {
    /// A user-supplied value is out of range or inconsistent.
    #[error("{field}: {message}")]
    InvalidInput {
        /// Dotted path of the offending field, e.g. `regimen.interval_h`.
        field: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The requested drug is not in the library.
    #[error("drug: unknown drug `{name}`; choose one of: {known}")]
    UnknownDrug {
        /// Name that was asked for.
        name: String,
        /// Comma-separated list of known drugs.
        known: String,
    },
    /// A pharmacogene we have no CPIC table for.
    #[error("genotypes.{gene}: unsupported gene; supported genes: {supported}")]
    UnknownGene {
        /// Gene symbol as given.
        gene: String,
        /// Comma-separated supported genes.
        supported: String,
    },
    /// An allele (star allele or rs genotype) we do not know the function of.
    #[error("genotypes.{gene}: unknown allele `{allele}` in diplotype `{diplotype}`; known alleles: {known}")]
    UnknownAllele {
        /// Gene symbol.
        gene: String,
        /// The diplotype string given.
        diplotype: String,
        /// The allele that could not be resolved.
        allele: String,
        /// Comma-separated known alleles.
        known: String,
    },
    /// A drug data file failed to parse or validate.
    #[error("drug data `{origin}`: {message}")]
    DrugData {
        /// File name or built-in id.
        origin: String,
        /// Parser or validation message.
        message: String,
    },
    /// FHIR bundle could not be mapped to a patient record.
    #[error("patient (FHIR): {0}")]
    Fhir(String),
    /// The numerical integrator failed.
    #[error("ode solver: {0}")]
    Ode(String),
    /// Plot rendering failed.
    #[error("plot: {0}")]
    Plot(String),
    /// Bayesian individualisation failed to converge to a usable estimate.
    #[error("fit: {0}")]
    Fit(String),
    /// Filesystem error.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// JSON (de)serialisation error.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

/// Convenience result alias.
pub type Result<T> = std::result::Result<T, SimError>;

/// Builds an [`SimError::InvalidInput`].
pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> SimError {
    SimError::InvalidInput {
        field: field.into(),
        message: message.into(),
    }
}

/// Rejects NaN, infinities and values not strictly positive.
pub(crate) fn require_positive(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("must be a finite number > 0 (got {v})"),
        ))
    }
}

/// Rejects NaN, infinities and negative values.
pub(crate) fn require_non_negative(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("must be a finite number >= 0 (got {v})"),
        ))
    }
}
