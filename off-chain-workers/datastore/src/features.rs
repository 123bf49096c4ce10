//! The twin's covariates from a scoped read.
//!
//! `consentry_simulation::patient::PatientRecord` (and the inference crate's features, built on
//! it) is what the PK/PD and drug-response workloads take. [`PatientData::to_patient_record_json`]
//! builds that record's JSON from what a read returned, so the worker feeds the workloads exactly
//! the granted data. It is JSON rather than the type itself so this crate does not depend on the
//! simulation crate.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::read::{Observation, PatientData};
use crate::to_hex;

/// Vital-sign series names the twin uses, by LOINC code.
const VITALS: [(&str, &str); 3] = [
    ("8867-4", "heart_rate_bpm"),
    ("8480-6", "systolic_bp_mmhg"),
    ("8462-4", "diastolic_bp_mmhg"),
];

/// Latest value of `loinc` among `obs`, converted to the record's unit by `convert(unit)`.
fn latest(
    obs: &[Observation],
    loincs: &[&str],
    convert: impl Fn(&str) -> Option<f64>,
) -> Option<f64> {
    obs.iter()
        .filter(|o| loincs.contains(&o.loinc.as_str()))
        .max_by_key(|o| o.effective_ms)
        .and_then(|o| convert(&o.unit).map(|f| o.value * f))
}

impl PatientData {
    /// The simulation crate's `PatientRecord` as JSON, from this read. Needs Demographics (age,
    /// male/female sex, weight) and a serum creatinine among the Labs (LOINC 2160-0 or 38483-4);
    /// genotypes and vitals are included only if their categories were read. The error names
    /// what is missing.
    pub fn to_patient_record_json(&self) -> Result<Value, String> {
        let d = self
            .demographics
            .as_ref()
            .ok_or("needs the Demographics category (age, sex, weight)")?;
        let sex = match d.sex.as_str() {
            s @ ("male" | "female") => s,
            other => {
                return Err(format!(
                    "sex `{other}`: the renal model needs male or female"
                ))
            }
        };
        let weight = d
            .weight_kg
            .ok_or("no body weight (LOINC 29463-7) in the store")?;
        let scr = latest(&self.labs, &["2160-0", "38483-4"], |u| match u {
            "mg/dL" => Some(1.0),
            "umol/L" | "µmol/L" => Some(1.0 / 88.42),
            _ => None,
        })
        .ok_or("no serum creatinine (LOINC 2160-0, mg/dL or umol/L) among the Labs read")?;
        let albumin = latest(&self.labs, &["1751-7"], |u| match u {
            "g/dL" => Some(1.0),
            "g/L" => Some(0.1),
            _ => None,
        });
        let alt = latest(&self.labs, &["1742-6"], |u| (u == "U/L").then_some(1.0));
        let genotypes: BTreeMap<&str, &str> = self
            .genotypes
            .iter()
            .map(|g| (g.gene.as_str(), g.diplotype.as_str()))
            .collect();
        let mut vitals = BTreeMap::new();
        for (code, name) in VITALS {
            let series: Vec<&Observation> =
                self.vitals.iter().filter(|o| o.loinc == code).collect();
            if let Some(t0) = series.iter().map(|o| o.effective_ms).min() {
                let samples: Vec<Value> = series
                    .iter()
                    .map(|o| json!({ "time_h": (o.effective_ms - t0) as f64 / 3.6e6, "value": o.value }))
                    .collect();
                vitals.insert(name, samples);
            }
        }
        Ok(json!({
            "id": to_hex(&self.pseudonym),
            "age_years": d.age_years as f64,
            "sex": sex,
            "weight_kg": weight,
            "height_cm": d.height_cm,
            "serum_creatinine_mg_dl": scr,
            "albumin_g_dl": albumin,
            "alt_u_l": alt,
            "genotypes": genotypes,
            "vitals": vitals,
        }))
    }
}
