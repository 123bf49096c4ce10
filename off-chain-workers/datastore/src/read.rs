//! Category-scoped reads with a read log: the only way clinical data leaves the store.
//!
//! The worker calls [`Store::read`] after the chain recorded a `Granted` access for exactly these
//! categories, passing the access record's id. The store cannot check the chain itself (it has no
//! chain dependency); what it guarantees is that (1) only the named categories are read, and (2)
//! every read writes a `read_log` row with that access id in the same transaction as the read,
//! so an auditor can match every read against the chain's audit log, and a read without a grant
//! shows up as a log row with no matching `Granted` record.

use rusqlite::{params, Transaction};
use serde::Serialize;

use consentry_primitives::{AccessId, CategorySet, DataCategory};

use crate::error::{Error, Result};
use crate::pepper::{from_hex, to_hex, Pseudonym};
use crate::store::Store;
use crate::time::age_years;

/// Demographics: what [`DataCategory::Demographics`] grants. No birth date, no identifier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Demographics {
    /// Age in whole years at the time of the read.
    pub age_years: u32,
    /// FHIR administrative gender (`male`, `female`, `other`, `unknown`).
    pub sex: String,
    /// Latest body weight in kg.
    pub weight_kg: Option<f64>,
    /// Latest body height in cm.
    pub height_cm: Option<f64>,
}

/// A laboratory or vital-sign value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observation {
    /// LOINC code.
    pub loinc: String,
    /// Human-readable name, if the source gave one.
    pub display: Option<String>,
    /// Value in `unit`.
    pub value: f64,
    /// UCUM unit.
    pub unit: String,
    /// When it was measured, ms since the Unix epoch.
    pub effective_ms: i64,
}

/// Whether a medication row is an order or a given dose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MedicationKind {
    /// `MedicationRequest`.
    Request,
    /// `MedicationAdministration`.
    Administration,
}

/// A medication request or administration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Medication {
    /// Request or administration.
    pub kind: MedicationKind,
    /// Drug name.
    pub drug: String,
    /// Drug code (RxNorm where the source used it).
    pub drug_code: Option<String>,
    /// Dose in `unit`.
    pub dose: f64,
    /// Dose unit.
    pub unit: String,
    /// Route, e.g. `Oral route`.
    pub route: Option<String>,
    /// When ordered or given, ms since the Unix epoch.
    pub at_ms: i64,
}

/// A diagnosis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    /// Code system (SNOMED CT, ICD-10, ...).
    pub system: Option<String>,
    /// Code.
    pub code: String,
    /// Human-readable name.
    pub display: String,
    /// Onset, ms since the Unix epoch.
    pub onset_ms: Option<i64>,
}

/// One pharmacogene's diplotype.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Genotype {
    /// Gene symbol.
    pub gene: String,
    /// Normalized diplotype (`*1/*4`, `G/A`, ...).
    pub diplotype: String,
}

/// What one read returned: only the granted categories are filled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatientData {
    /// Whose data.
    #[serde(serialize_with = "hex_one")]
    pub pseudonym: Pseudonym,
    /// The categories read (the grant).
    pub categories: CategorySet,
    /// [`DataCategory::Demographics`].
    pub demographics: Option<Demographics>,
    /// [`DataCategory::Labs`], oldest first.
    pub labs: Vec<Observation>,
    /// [`DataCategory::Wearable`]: vital-sign series, oldest first.
    pub vitals: Vec<Observation>,
    /// [`DataCategory::Ehr`]: medications, oldest first.
    pub medications: Vec<Medication>,
    /// [`DataCategory::Ehr`]: conditions.
    pub conditions: Vec<Condition>,
    /// [`DataCategory::Genomic`], by gene.
    pub genotypes: Vec<Genotype>,
}

fn hex_one<S: serde::Serializer>(p: &Pseudonym, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&to_hex(p))
}

impl PatientData {
    fn rows(&self) -> u64 {
        (usize::from(self.demographics.is_some())
            + self.labs.len()
            + self.vitals.len()
            + self.medications.len()
            + self.conditions.len()
            + self.genotypes.len()) as u64
    }
}

/// One row of the read log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadLogEntry {
    /// Row id, increasing.
    pub id: i64,
    /// The chain's access record id the read cited.
    pub access_id: AccessId,
    /// Whose data.
    #[serde(serialize_with = "hex_one")]
    pub pseudonym: Pseudonym,
    /// Categories read.
    pub categories: CategorySet,
    /// When, ms since the Unix epoch.
    pub at_ms: i64,
    /// Rows returned (the demographics row counts as one).
    pub rows_read: u64,
}

fn observations(tx: &Transaction<'_>, who: &str, category: &str) -> Result<Vec<Observation>> {
    let mut stmt = tx.prepare_cached(
        "SELECT loinc, display, value, unit, effective_ms FROM observations
         WHERE pseudonym = ?1 AND category = ?2 ORDER BY effective_ms, loinc, id",
    )?;
    let rows = stmt.query_map(params![who, category], |r| {
        Ok(Observation {
            loinc: r.get(0)?,
            display: r.get(1)?,
            value: r.get(2)?,
            unit: r.get(3)?,
            effective_ms: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn ehr(tx: &Transaction<'_>, who: &str) -> Result<(Vec<Medication>, Vec<Condition>)> {
    let mut stmt = tx.prepare_cached(
        "SELECT kind, drug, drug_code, dose, unit, route, at_ms FROM medications
         WHERE pseudonym = ?1 ORDER BY at_ms, id",
    )?;
    let meds = stmt
        .query_map([who], |r| {
            let kind: String = r.get(0)?;
            Ok(Medication {
                kind: if kind == "request" {
                    MedicationKind::Request
                } else {
                    MedicationKind::Administration
                },
                drug: r.get(1)?,
                drug_code: r.get(2)?,
                dose: r.get(3)?,
                unit: r.get(4)?,
                route: r.get(5)?,
                at_ms: r.get(6)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut stmt = tx.prepare_cached(
        "SELECT system, code, display, onset_ms FROM conditions WHERE pseudonym = ?1 ORDER BY id",
    )?;
    let conds = stmt
        .query_map([who], |r| {
            Ok(Condition {
                system: r.get(0)?,
                code: r.get(1)?,
                display: r.get(2)?,
                onset_ms: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok((meds, conds))
}

fn log_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReadLogEntry> {
    let hex: String = r.get(2)?;
    let cats: i64 = r.get(3)?;
    let access: i64 = r.get(1)?;
    Ok(ReadLogEntry {
        id: r.get(0)?,
        // Stored as the i64 with the same bits (SQLite integers are signed).
        access_id: access as u64,
        pseudonym: from_hex(&hex).unwrap_or_default(),
        categories: CategorySet(cats as u16),
        at_ms: r.get(4)?,
        rows_read: r.get::<_, i64>(5)? as u64,
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Store {
    /// Reads exactly `categories` of one patient for access record `access_id`, and logs the
    /// read in the same transaction. Categories the store does not hold (e.g. `Imaging`) read
    /// as empty. Errors, reading and logging nothing, for an unknown patient or undefined bits.
    pub fn read(
        &mut self,
        access_id: AccessId,
        pseudonym: Pseudonym,
        categories: &CategorySet,
    ) -> Result<PatientData> {
        self.read_at(access_id, pseudonym, categories, now_ms())
    }

    /// [`Store::read`] at a given time (ms since the epoch): the log's timestamp and the instant
    /// age is computed at. For replaying a workload at a fixed time, and for tests.
    pub fn read_at(
        &mut self,
        access_id: AccessId,
        pseudonym: Pseudonym,
        categories: &CategorySet,
        at_ms: i64,
    ) -> Result<PatientData> {
        if !categories.is_valid() {
            return Err(Error::InvalidCategories(categories.0));
        }
        let who = to_hex(&pseudonym);
        let tx = self.conn.transaction()?;
        let row = tx.query_row(
            "SELECT birth_day, sex, weight_kg, height_cm FROM patients WHERE pseudonym = ?1",
            [&who],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<f64>>(2)?,
                    r.get::<_, Option<f64>>(3)?,
                ))
            },
        );
        let (birth_day, sex, weight_kg, height_cm) = match row {
            Err(rusqlite::Error::QueryReturnedNoRows) => return Err(Error::UnknownPatient(who)),
            other => other?,
        };
        let mut data = PatientData {
            pseudonym,
            categories: *categories,
            demographics: None,
            labs: Vec::new(),
            vitals: Vec::new(),
            medications: Vec::new(),
            conditions: Vec::new(),
            genotypes: Vec::new(),
        };
        for c in categories.iter() {
            match c {
                DataCategory::Demographics => {
                    data.demographics = Some(Demographics {
                        age_years: age_years(birth_day, at_ms).max(0) as u32,
                        sex: sex.clone(),
                        weight_kg,
                        height_cm,
                    })
                }
                DataCategory::Labs => data.labs = observations(&tx, &who, "labs")?,
                DataCategory::Wearable => data.vitals = observations(&tx, &who, "vitals")?,
                DataCategory::Ehr => (data.medications, data.conditions) = ehr(&tx, &who)?,
                DataCategory::Genomic => {
                    let mut stmt = tx.prepare_cached(
                        "SELECT gene, diplotype FROM genotypes WHERE pseudonym = ?1 ORDER BY gene",
                    )?;
                    data.genotypes = stmt
                        .query_map([&who], |r| {
                            Ok(Genotype {
                                gene: r.get(0)?,
                                diplotype: r.get(1)?,
                            })
                        })?
                        .collect::<Result<_, _>>()?;
                }
                DataCategory::Imaging => {}
            }
        }
        tx.execute(
            "INSERT INTO read_log (access_id, pseudonym, categories, at_ms, rows_read)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                access_id as i64,
                who,
                categories.0,
                at_ms,
                data.rows() as i64
            ],
        )?;
        tx.commit()?;
        Ok(data)
    }

    /// Every read that cited `access_id`, oldest first.
    pub fn read_log(&self, access_id: AccessId) -> Result<Vec<ReadLogEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, access_id, pseudonym, categories, at_ms, rows_read FROM read_log
             WHERE access_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([access_id as i64], log_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every read of one patient's data, oldest first.
    pub fn reads_for(&self, pseudonym: &Pseudonym) -> Result<Vec<ReadLogEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, access_id, pseudonym, categories, at_ms, rows_read FROM read_log
             WHERE pseudonym = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([to_hex(pseudonym)], log_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
