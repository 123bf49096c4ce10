//! The store handle: opening the database and counting rows.
//!
//! Writes go through [`Store::ingest_bundle`] and [`Store::ingest_genotypes`] (`ingest.rs`);
//! clinical data comes out only through [`Store::read`] (`read.rs`), which logs every read.

use std::path::Path;

use rusqlite::Connection;
use serde::Serialize;

use crate::error::Result;
use crate::schema::SCHEMA;

/// The institution's patient data store (one SQLite file).
pub struct Store {
    pub(crate) conn: Connection,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.conn.path())
            .finish()
    }
}

/// Row counts per table: what an operator or a test may know without reading clinical data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    /// Patients (pseudonyms).
    pub patients: u64,
    /// Laboratory observations.
    pub labs: u64,
    /// Vital-sign observations.
    pub vitals: u64,
    /// Medication requests and administrations.
    pub medications: u64,
    /// Conditions.
    pub conditions: u64,
    /// Genotype calls.
    pub genotypes: u64,
    /// Logged reads.
    pub reads: u64,
}

impl Store {
    /// Opens (creating if needed) the store at `path` and brings the schema up.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self { conn })
    }

    /// Row counts per table.
    pub fn counts(&self) -> Result<Counts> {
        let n = |sql: &str| -> Result<u64> {
            Ok(self.conn.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
        };
        Ok(Counts {
            patients: n("SELECT count(*) FROM patients")?,
            labs: n("SELECT count(*) FROM observations WHERE category = 'labs'")?,
            vitals: n("SELECT count(*) FROM observations WHERE category = 'vitals'")?,
            medications: n("SELECT count(*) FROM medications")?,
            conditions: n("SELECT count(*) FROM conditions")?,
            genotypes: n("SELECT count(*) FROM genotypes")?,
            reads: n("SELECT count(*) FROM read_log")?,
        })
    }

    /// Whether the store holds a patient with this pseudonym (not clinical data: the worker
    /// checks this before asking the chain for access).
    pub fn has_patient(&self, pseudonym: &crate::Pseudonym) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM patients WHERE pseudonym = ?1)",
            [crate::pepper::to_hex(pseudonym)],
            |r| r.get(0),
        )?)
    }

    /// Every patient's pseudonym, ascending (not clinical data: the cohort a federated round
    /// asks the chain about).
    pub fn pseudonyms(&self) -> Result<Vec<crate::Pseudonym>> {
        let mut stmt = self
            .conn
            .prepare("SELECT pseudonym FROM patients ORDER BY pseudonym")?;
        let hex: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<std::result::Result<_, _>>()?;
        hex.iter()
            .map(|h| {
                crate::pepper::from_hex(h)
                    .ok_or_else(|| crate::Error::Corrupt(format!("pseudonym {h:?} in the store")))
            })
            .collect()
    }
}
