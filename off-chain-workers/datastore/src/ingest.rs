//! Writing into the store: one SQL transaction per bundle or genotype file, so a rejected input
//! leaves the store exactly as it was.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{params, OptionalExtension, Transaction};
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::fhir::{parse_bundle, reject, Origin};
use crate::genotype::parse_genotype_file;
use crate::pepper::{to_hex, Pepper, Pseudonym};
use crate::store::Store;

/// What one bundle added (or replaced: re-importing a resource replaces its rows).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BundleReport {
    /// Pseudonyms of the bundle's Patients, in bundle order (what the chain's `enrol` takes).
    #[serde(serialize_with = "hex_list")]
    pub patients: Vec<Pseudonym>,
    /// Laboratory and vital-sign rows.
    pub observations: usize,
    /// Body weights and heights applied to patient rows.
    pub body_measurements: usize,
    /// Medication rows.
    pub medications: usize,
    /// Condition rows.
    pub conditions: usize,
    /// Resources left out, by kind.
    pub skipped: BTreeMap<String, usize>,
}

fn hex_list<S: serde::Serializer>(v: &[Pseudonym], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(to_hex))
}

/// Resolves `subject.reference`s to pseudonyms: Patients of the same bundle first, then the store.
struct Resolver<'a> {
    local: HashMap<String, Pseudonym>,
    pepper: &'a Pepper,
}

impl Resolver<'_> {
    fn resolve(&self, tx: &Transaction<'_>, origin: &Origin) -> Result<String> {
        let r = origin.subject.as_str();
        if let Some(p) = self.local.get(r) {
            return Ok(to_hex(p));
        }
        // `Patient/x` or `https://host/fhir/Patient/x`: a patient imported earlier.
        if let Some((_, id)) = r.rsplit_once("Patient/") {
            let mut stmt =
                tx.prepare_cached("SELECT pseudonym FROM patients WHERE fhir_id = ?1")?;
            let hits: Vec<String> = stmt
                .query_map([id], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            match hits.len() {
                1 => return Ok(hits.into_iter().next().unwrap_or_default()),
                0 => {}
                n => {
                    return Err(reject(
                        &origin.label,
                        "subject.reference",
                        format!("`{r}` is ambiguous: {n} patients in the store have that FHIR id"),
                    ))
                }
            }
            let by_identifier = to_hex(&self.pepper.pseudonym(id));
            let known: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM patients WHERE pseudonym = ?1",
                    [&by_identifier],
                    |row| row.get(0),
                )
                .optional()?;
            if known.is_some() {
                return Ok(by_identifier);
            }
        }
        Err(reject(
            &origin.label,
            "subject.reference",
            format!("`{r}` resolves to no Patient in this bundle or in the store"),
        ))
    }
}

impl Store {
    /// Imports one FHIR R4 Bundle given as JSON text. See [`Store::ingest_bundle`].
    pub fn ingest_bundle_str(&mut self, pepper: &Pepper, json: &str) -> Result<BundleReport> {
        let v: Value = serde_json::from_str(json)
            .map_err(|e| Error::Bundle(format!("not valid JSON: {e}")))?;
        self.ingest_bundle(pepper, &v)
    }

    /// Imports one FHIR R4 Bundle in one transaction: the whole bundle or, on any error, nothing.
    pub fn ingest_bundle(&mut self, pepper: &Pepper, bundle: &Value) -> Result<BundleReport> {
        let parsed = parse_bundle(bundle)?;
        let tx = self.conn.transaction()?;
        let mut report = BundleReport {
            skipped: parsed.skipped,
            ..Default::default()
        };
        let mut resolver = Resolver {
            local: HashMap::new(),
            pepper,
        };
        for p in &parsed.patients {
            let psn = pepper.pseudonym(&p.identifier);
            let hex = to_hex(&psn);
            let keys = p
                .fhir_id
                .iter()
                .map(|id| format!("Patient/{id}"))
                .chain(p.full_url.clone());
            for key in keys {
                if resolver
                    .local
                    .insert(key.clone(), psn)
                    .is_some_and(|prev| prev != psn)
                {
                    return Err(reject(
                        &p.label,
                        "id",
                        format!("`{key}` names two different Patients in this bundle"),
                    ));
                }
            }
            let existing: Option<String> = tx
                .query_row(
                    "SELECT pseudonym FROM patients WHERE local_identifier = ?1",
                    [&p.identifier],
                    |r| r.get(0),
                )
                .optional()?;
            if existing.is_some_and(|e| e != hex) {
                return Err(reject(
                    &p.label,
                    "identifier",
                    "already in the store under another pseudonym: was the store filled with a different pepper?",
                ));
            }
            tx.execute(
                "INSERT INTO patients (pseudonym, local_identifier, fhir_id, birth_date, birth_day, sex)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (pseudonym) DO UPDATE SET fhir_id = excluded.fhir_id,
                   birth_date = excluded.birth_date, birth_day = excluded.birth_day, sex = excluded.sex",
                params![hex, p.identifier, p.fhir_id, p.birth_date, p.birth_day, p.sex],
            )?;
            report.patients.push(psn);
        }
        for b in &parsed.body {
            let who = resolver.resolve(&tx, &b.origin)?;
            let sql = if b.is_weight {
                "UPDATE patients SET weight_kg = ?2, weight_at_ms = ?3
                 WHERE pseudonym = ?1 AND (weight_at_ms IS NULL OR weight_at_ms <= ?3)"
            } else {
                "UPDATE patients SET height_cm = ?2, height_at_ms = ?3
                 WHERE pseudonym = ?1 AND (height_at_ms IS NULL OR height_at_ms <= ?3)"
            };
            tx.execute(sql, params![who, b.value, b.at_ms])?;
            report.body_measurements += 1;
        }
        for o in &parsed.observations {
            let who = resolver.resolve(&tx, &o.origin)?;
            tx.execute(
                "INSERT OR REPLACE INTO observations
                 (pseudonym, source, category, loinc, display, value, unit, effective_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    who,
                    o.origin.source,
                    o.category,
                    o.loinc,
                    o.display,
                    o.value,
                    o.unit,
                    o.effective_ms
                ],
            )?;
            report.observations += 1;
        }
        for m in &parsed.medications {
            let who = resolver.resolve(&tx, &m.origin)?;
            tx.execute(
                "INSERT OR REPLACE INTO medications
                 (pseudonym, source, kind, drug, drug_code, dose, unit, route, at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    who,
                    m.origin.source,
                    m.kind,
                    m.drug,
                    m.drug_code,
                    m.dose,
                    m.unit,
                    m.route,
                    m.at_ms
                ],
            )?;
            report.medications += 1;
        }
        for c in &parsed.conditions {
            let who = resolver.resolve(&tx, &c.origin)?;
            tx.execute(
                "INSERT OR REPLACE INTO conditions (pseudonym, source, system, code, display, onset_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![who, c.origin.source, c.system, c.code, c.display, c.onset_ms],
            )?;
            report.conditions += 1;
        }
        tx.commit()?;
        Ok(report)
    }

    /// Imports a genotype file (TSV/CSV text) in one transaction. Every identifier must belong to
    /// a patient already in the store. Returns the number of distinct (patient, gene) calls stored.
    pub fn ingest_genotypes(&mut self, pepper: &Pepper, text: &str) -> Result<usize> {
        let lines = parse_genotype_file(text)?;
        let tx = self.conn.transaction()?;
        let mut seen: HashMap<(String, String), (usize, String)> = HashMap::new();
        for l in &lines {
            let key = (l.identifier.clone(), l.gene.clone());
            if let Some((first, d)) = seen.get(&key) {
                if *d != l.diplotype {
                    return Err(Error::Genotype {
                        line: l.line,
                        message: format!(
                            "{} for `{}` conflicts with line {first} ({d})",
                            l.gene, l.identifier
                        ),
                    });
                }
            }
            seen.insert(key, (l.line, l.diplotype.clone()));
            let hex = to_hex(&pepper.pseudonym(&l.identifier));
            let known: Option<i64> = tx
                .query_row("SELECT 1 FROM patients WHERE pseudonym = ?1", [&hex], |r| {
                    r.get(0)
                })
                .optional()?;
            if known.is_none() {
                return Err(Error::Genotype {
                    line: l.line,
                    message: format!(
                        "no patient with identifier `{}` in the store; ingest their FHIR bundle first",
                        l.identifier
                    ),
                });
            }
            tx.execute(
                "INSERT OR REPLACE INTO genotypes (pseudonym, gene, diplotype) VALUES (?1, ?2, ?3)",
                params![hex, l.gene, l.diplotype],
            )?;
        }
        tx.commit()?;
        Ok(seen.len())
    }
}
