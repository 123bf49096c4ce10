//! One error type for the crate. Every variant that comes from bad input names where the input is
//! wrong (file, bundle entry and field path, or line number) so an operator can fix it without
//! reading code.

use std::path::PathBuf;

/// Result alias for the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The pepper file is unusable.
    #[error("pepper: {0}")]
    Pepper(String),
    /// The bundle as a whole is malformed (not JSON, not a Bundle, `entry` not an array).
    #[error("bundle: {0}")]
    Bundle(String),
    /// One resource of a bundle is malformed; nothing of the bundle was imported.
    #[error("{resource}: {field}: {message}")]
    Rejected {
        /// Where the resource sits, e.g. `entry[3] Observation/obs-7`.
        resource: String,
        /// Path of the bad field inside the resource, e.g. `valueQuantity.value`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// One line of a genotype file is malformed; nothing of the file was imported.
    #[error("line {line}: {message}")]
    Genotype {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A read named a pseudonym the store does not hold.
    #[error("no patient with pseudonym {0} in the store")]
    UnknownPatient(String),
    /// A read named categories outside the defined set (raw mask from outside).
    #[error("category mask {0:#06x} holds undefined categories")]
    InvalidCategories(u16),
    /// The database holds a value no ingest writes (edited by hand, or damaged).
    #[error("store: invalid {0}")]
    Corrupt(String),
    /// The database refused an operation.
    #[error("store: {0}")]
    Sql(#[from] rusqlite::Error),
}

impl Error {
    /// Adds the file a [`Error::Rejected`], [`Error::Bundle`] or [`Error::Genotype`] came from.
    pub(crate) fn in_file(self, path: &std::path::Path) -> anyhow::Error {
        anyhow::anyhow!("{}: {self}", path.display())
    }
}
