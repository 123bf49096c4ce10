//! A site's training patients as the hospital holds them: FHIR R4 (and a genotype file) that
//! `consentry-datastore` ingests, so a federated round reads them through the consent gate and
//! the read log like any other data.
//!
//! One cohort row ([`CohortRow`]) becomes one Patient with
//! - body weight and height (vital-signs Observations), serum creatinine, albumin and ALT
//!   (laboratory Observations) the day before the order;
//! - the 48 hours of heart rate and blood pressure before the order (vital-signs Observations at
//!   their own times);
//! - the drug order (MedicationRequest, the drug's usual dose × the row's dose multiplier);
//! - the outcome assessment two weeks later, as two Conditions coded in [`outcome::SYSTEM`]:
//!   response or not, adverse reaction or not. Both states are explicit, so a patient without an
//!   assessment is unlabelled rather than negative;
//! - genotype calls as `identifier, gene, diplotype` lines.
//!
//! Dates are written with `chrono`. The reverse (a read → a training example) is the worker's
//! (`consentry_worker::fl::examples`), which sees only what the read returned.

use anyhow::{Context, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use consentry_inference::cohort::CohortRow;
use consentry_simulation::drugs::DrugLibrary;
use consentry_simulation::patient::Sex;
use serde_json::{json, Value};

/// The outcome assessment's codes: one CodeSystem, one code per state.
pub mod outcome {
    /// The CodeSystem of the outcome Conditions.
    pub const SYSTEM: &str = "https://consentry.dev/fhir/CodeSystem/drug-outcome";
    /// The drug achieved its therapeutic response.
    pub const RESPONDED: &str = "responded";
    /// It did not.
    pub const NOT_RESPONDED: &str = "not-responded";
    /// An adverse drug reaction was recorded.
    pub const ADR: &str = "adverse-drug-reaction";
    /// None was.
    pub const NO_ADR: &str = "no-adverse-drug-reaction";
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
const LOINC: &str = "http://loinc.org";
const UCUM: &str = "http://unitsofmeasure.org";
const OBS_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
/// The identifier system of exported patients.
pub const IDENTIFIER_SYSTEM: &str = "https://consentry.dev/fhir/sid/synthetic-mrn";

/// The vital-sign series of a record, by the record's name: LOINC code, display, UCUM unit.
const VITALS: [(&str, &str, &str, &str); 3] = [
    ("heart_rate_bpm", "8867-4", "Heart rate", "/min"),
    (
        "systolic_bp_mmhg",
        "8480-6",
        "Systolic blood pressure",
        "mm[Hg]",
    ),
    (
        "diastolic_bp_mmhg",
        "8462-4",
        "Diastolic blood pressure",
        "mm[Hg]",
    ),
];

fn date_time(ms: i64) -> Result<String> {
    Ok(DateTime::<Utc>::from_timestamp_millis(ms)
        .context("time out of range")?
        .to_rfc3339_opts(SecondsFormat::Millis, true))
}

struct Builder {
    pid: String,
    entries: Vec<Value>,
}

impl Builder {
    fn push(&mut self, rtype: &str, suffix: &str, mut resource: Value) {
        let id = format!("{}-{suffix}", self.pid);
        resource["resourceType"] = json!(rtype);
        resource["id"] = json!(id);
        resource["subject"] = json!({ "reference": format!("Patient/{}", self.pid) });
        self.entries.push(json!({ "resource": resource }));
    }

    #[allow(clippy::too_many_arguments)]
    fn quantity(
        &mut self,
        suffix: &str,
        category: &str,
        loinc: &str,
        display: &str,
        value: f64,
        unit: &str,
        at_ms: i64,
    ) -> Result<()> {
        self.push(
            "Observation",
            suffix,
            json!({
                "status": "final",
                "category": [{ "coding": [{ "system": OBS_CATEGORY, "code": category }] }],
                "code": { "coding": [{ "system": LOINC, "code": loinc, "display": display }] },
                "effectiveDateTime": date_time(at_ms)?,
                "valueQuantity": { "value": value, "unit": unit, "system": UCUM, "code": unit },
            }),
        );
        Ok(())
    }

    fn outcome(&mut self, suffix: &str, code: &str, at_ms: i64) -> Result<()> {
        self.push(
            "Condition",
            suffix,
            json!({
                "code": { "coding": [{ "system": outcome::SYSTEM, "code": code, "display": code }] },
                "onsetDateTime": date_time(at_ms)?,
            }),
        );
        Ok(())
    }
}

/// The patient of `row` as a FHIR R4 collection Bundle, identified by `identifier`, with the
/// drug ordered at `ordered_ms` (ms since the Unix epoch).
pub fn bundle(
    row: &CohortRow,
    identifier: &str,
    ordered_ms: i64,
    drugs: &DrugLibrary,
) -> Result<Value> {
    let r = &row.record;
    let usual = drugs
        .get(&row.drug)
        .with_context(|| format!("drug `{}`", row.drug))?
        .default_regimen
        .dose_mg;
    let born_ms = ordered_ms - (r.age_years * 365.2425 * DAY_MS as f64) as i64;
    let born = DateTime::<Utc>::from_timestamp_millis(born_ms).context("birth date")?;
    let mut b = Builder {
        pid: identifier.to_string(),
        entries: vec![json!({ "resource": {
            "resourceType": "Patient",
            "id": identifier,
            "identifier": [{ "system": IDENTIFIER_SYSTEM, "value": identifier }],
            "gender": match r.sex { Sex::Female => "female", Sex::Male => "male" },
            "birthDate": born.format("%Y-%m-%d").to_string(),
        }})],
    };
    let before = ordered_ms - DAY_MS;
    b.quantity(
        "weight",
        "vital-signs",
        "29463-7",
        "Body weight",
        r.weight_kg,
        "kg",
        before,
    )?;
    if let Some(h) = r.height_cm {
        b.quantity(
            "height",
            "vital-signs",
            "8302-2",
            "Body height",
            h,
            "cm",
            before,
        )?;
    }
    b.quantity(
        "creatinine",
        "laboratory",
        "2160-0",
        "Creatinine [Mass/volume] in Serum or Plasma",
        r.serum_creatinine_mg_dl,
        "mg/dL",
        before,
    )?;
    if let Some(a) = r.albumin_g_dl {
        b.quantity(
            "albumin",
            "laboratory",
            "1751-7",
            "Albumin [Mass/volume] in Serum or Plasma",
            a,
            "g/dL",
            before,
        )?;
    }
    if let Some(a) = r.alt_u_l {
        b.quantity(
            "alt",
            "laboratory",
            "1742-6",
            "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
            a,
            "U/L",
            before,
        )?;
    }
    // The series' hours count from the start of the 48-hour window before the order.
    let window = ordered_ms - 48 * HOUR_MS;
    for (name, loinc, display, unit) in VITALS {
        for (k, s) in r.vitals.get(name).into_iter().flatten().enumerate() {
            let at = window + (s.time_h * HOUR_MS as f64).round() as i64;
            b.quantity(
                &format!("{loinc}-{k}"),
                "vital-signs",
                loinc,
                display,
                s.value,
                unit,
                at,
            )?;
        }
    }
    b.push(
        "MedicationRequest",
        "order",
        json!({
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": { "text": row.drug },
            "authoredOn": date_time(ordered_ms)?,
            "dosageInstruction": [{ "doseAndRate": [{ "doseQuantity": {
                "value": usual * row.dose_multiplier, "unit": "mg", "system": UCUM, "code": "mg"
            }}]}],
        }),
    );
    let assessed = ordered_ms + 14 * DAY_MS;
    let [response, adr] = row.y;
    b.outcome(
        "response",
        if response > 0.5 {
            outcome::RESPONDED
        } else {
            outcome::NOT_RESPONDED
        },
        assessed,
    )?;
    b.outcome(
        "adr",
        if adr > 0.5 {
            outcome::ADR
        } else {
            outcome::NO_ADR
        },
        assessed,
    )?;
    Ok(json!({ "resourceType": "Bundle", "type": "collection", "entry": b.entries }))
}

/// The row's genotype calls as `identifier\tgene\tdiplotype` lines.
pub fn genotype_lines(row: &CohortRow, identifier: &str) -> String {
    row.record
        .genotypes
        .iter()
        .map(|(gene, diplotype)| format!("{identifier}\t{gene}\t{diplotype}\n"))
        .collect()
}
