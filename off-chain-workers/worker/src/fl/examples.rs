//! A granted patient's training example, from exactly what the round's read returned: the
//! covariates and vital signs (as the drug-response workload takes them), the drug order
//! (`MedicationRequest`: which drug, and its dose against the drug's usual dose) and the outcome
//! assessment (`Condition`s in [`outcome::SYSTEM`], as `consentry_federated::fhir_export` writes
//! them). A patient without an order or an assessment is not an example; the round says how many.

use candle_core::Device;
use consentry_datastore::{MedicationKind, PatientData};
use consentry_federated::fhir_export::outcome;
use consentry_inference::pipeline::{build_tensors, RawRow};
use consentry_inference::train::Tensors;
use consentry_simulation::drugs::DrugLibrary;
use consentry_simulation::patient::PatientRecord;

use super::Prepared;

/// One patient's example.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub record: PatientRecord,
    pub drug: String,
    pub dose_multiplier: f64,
    /// `[response, adr]` as 0/1.
    pub y: [f32; 2],
}

/// The label of one outcome pair, if exactly one of its two codes was recorded.
fn label(data: &PatientData, yes: &str, no: &str) -> Result<f32, String> {
    let codes: Vec<&str> = data
        .conditions
        .iter()
        .filter(|c| c.system.as_deref() == Some(outcome::SYSTEM))
        .map(|c| c.code.as_str())
        .filter(|c| *c == yes || *c == no)
        .collect();
    match codes.as_slice() {
        [c] => Ok(if *c == yes { 1.0 } else { 0.0 }),
        [] => Err(format!("no `{yes}`/`{no}` assessment")),
        _ => Err(format!("{} `{yes}`/`{no}` assessments", codes.len())),
    }
}

/// The example of one read, or why the patient is not one.
pub fn example(data: &PatientData, drugs: &DrugLibrary) -> Result<Example, String> {
    let json = data.to_patient_record_json()?;
    let record = PatientRecord::from_json_str(&json.to_string()).map_err(|e| e.to_string())?;
    let order = data
        .medications
        .iter()
        .filter(|m| m.kind == MedicationKind::Request)
        .max_by_key(|m| m.at_ms)
        .ok_or("no drug order (MedicationRequest) among the EHR data read")?;
    let spec = drugs
        .get(&order.drug)
        .map_err(|e| format!("drug order: {e}"))?;
    if order.unit != "mg" {
        return Err(format!("drug order dose in `{}`, not mg", order.unit));
    }
    Ok(Example {
        record,
        drug: spec.name.clone(),
        dose_multiplier: order.dose / spec.default_regimen.dose_mg,
        y: [
            label(data, outcome::RESPONDED, outcome::NOT_RESPONDED)?,
            label(data, outcome::ADR, outcome::NO_ADR)?,
        ],
    })
}

/// The examples' tensors, standardised as the plan's reference population is (the GBDT-margin
/// input held at zero: the federated hybrid ships no trees).
pub fn tensors(prepared: &Prepared, examples: &[Example]) -> anyhow::Result<Tensors> {
    let features = &prepared.features;
    let mut tab = Vec::with_capacity(examples.len());
    let mut seq = Vec::with_capacity(examples.len());
    for e in examples {
        tab.push(features.tabular(&e.record, &e.drug, e.dose_multiplier)?);
        seq.push(features.sequence(&e.record));
    }
    let rows: Vec<RawRow> = examples
        .iter()
        .zip(tab.iter().zip(&seq))
        .map(|(e, (t, s))| (t.as_slice(), s.as_slice(), [0.0; 2], e.y))
        .collect();
    build_tensors(&prepared.standardizer, features, &rows, &Device::Cpu)
}

#[cfg(test)]
mod tests {
    use super::*;
    use consentry_datastore::{Pepper, Store};
    use consentry_federated::fhir_export;
    use consentry_inference::cohort::{Cohort, CohortConfig};

    /// Rows written as FHIR by the exporter, ingested by the store, read under a grant and
    /// turned back into examples carry the generator's labels, drug, dose and covariates.
    #[test]
    fn an_exported_row_reads_back_as_its_own_example() -> anyhow::Result<()> {
        let cohort = Cohort::generate(&CohortConfig {
            n_patients: 60,
            seed: 3,
            ..Default::default()
        })?;
        let drugs = DrugLibrary::builtin();
        let dir = tempfile::tempdir()?;
        let mut store = Store::open(&dir.path().join("store.sqlite"))?;
        let pepper = Pepper::from_bytes(b"examples-test-pepper-0123456789abcdef".to_vec())?;
        // Ordered 30 days ago; read now.
        let now = 1_790_000_000_000i64;
        let ordered = now - 30 * 86_400_000;
        let mut genotypes = String::new();
        for (i, row) in cohort.rows.iter().enumerate() {
            let id = format!("mrn-{i}");
            let bundle = fhir_export::bundle(row, &id, ordered, &drugs)?;
            store.ingest_bundle(&pepper, &bundle)?;
            genotypes.push_str(&fhir_export::genotype_lines(row, &id));
        }
        store.ingest_genotypes(&pepper, &genotypes)?;
        let (mut responders, mut reactions) = (0, 0);
        for (i, row) in cohort.rows.iter().enumerate() {
            let data = store.read_at(
                i as u64,
                pepper.pseudonym(&format!("mrn-{i}")),
                &super::super::Plan::categories(),
                now,
            )?;
            let e = example(&data, &drugs).map_err(anyhow::Error::msg)?;
            assert_eq!(e.y, row.y, "row {i}: labels");
            responders += row.y[0] as usize;
            reactions += row.y[1] as usize;
            assert_eq!(e.drug, row.drug, "row {i}: drug");
            assert!((e.dose_multiplier - row.dose_multiplier).abs() < 1e-9);
            let (got, want) = (&e.record, &row.record);
            assert_eq!(got.sex, want.sex);
            assert_eq!(got.genotypes, want.genotypes, "row {i}: genotypes");
            assert!((got.age_years - want.age_years).abs() < 1.0, "row {i}: age");
            assert!((got.weight_kg - want.weight_kg).abs() < 1e-9);
            assert!((got.serum_creatinine_mg_dl - want.serum_creatinine_mg_dl).abs() < 1e-9);
            assert_eq!(got.albumin_g_dl, want.albumin_g_dl);
            assert_eq!(got.alt_u_l, want.alt_u_l);
            assert_eq!(got.height_cm, want.height_cm);
            for (name, series) in &want.vitals {
                let values: Vec<f64> = series.iter().map(|s| s.value).collect();
                let read: Vec<f64> = got.vitals[name].iter().map(|s| s.value).collect();
                assert_eq!(read, values, "row {i}: {name}");
            }
            assert_eq!(got.vitals.len(), want.vitals.len());
        }
        // Both outcomes occur, so the labels were not all one value.
        assert!(responders > 0 && responders < cohort.rows.len());
        assert!(reactions > 0 && reactions < cohort.rows.len());
        Ok(())
    }

    #[test]
    fn a_patient_without_an_assessment_or_an_order_is_not_an_example() -> anyhow::Result<()> {
        let cohort = Cohort::generate(&CohortConfig {
            n_patients: 20,
            seed: 4,
            ..Default::default()
        })?;
        let drugs = DrugLibrary::builtin();
        let dir = tempfile::tempdir()?;
        let mut store = Store::open(&dir.path().join("store.sqlite"))?;
        let pepper = Pepper::from_bytes(b"examples-test-pepper-0123456789abcdef".to_vec())?;
        let now = 1_790_000_000_000i64;
        let mut bundle = fhir_export::bundle(&cohort.rows[0], "a", now - 86_400_000, &drugs)?;
        // Drop the ADR assessment: unlabelled, not negative.
        bundle["entry"]
            .as_array_mut()
            .expect("entries")
            .retain(|e| e["resource"]["id"] != "a-adr");
        store.ingest_bundle(&pepper, &bundle)?;
        let data = store.read_at(
            1,
            pepper.pseudonym("a"),
            &super::super::Plan::categories(),
            now,
        )?;
        let why = example(&data, &drugs).expect_err("no ADR assessment");
        assert!(why.contains("adverse-drug-reaction"), "{why}");

        let mut bundle = fhir_export::bundle(&cohort.rows[1], "b", now - 86_400_000, &drugs)?;
        bundle["entry"]
            .as_array_mut()
            .expect("entries")
            .retain(|e| e["resource"]["resourceType"] != "MedicationRequest");
        store.ingest_bundle(&pepper, &bundle)?;
        let data = store.read_at(
            2,
            pepper.pseudonym("b"),
            &super::super::Plan::categories(),
            now,
        )?;
        let why = example(&data, &drugs).expect_err("no order");
        assert!(why.contains("MedicationRequest"), "{why}");
        Ok(())
    }
}
