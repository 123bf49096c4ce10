//! PatientRecord JSON and FHIR R4 Bundle parsing.

use consentry_simulation::{PatientRecord, Sex};

const BUNDLE: &str = include_str!("../data/examples/patient-bundle.json");
const RECORD: &str = include_str!("../data/examples/patient.json");

#[test]
fn fhir_bundle_maps_to_patient_record() {
    let p = PatientRecord::from_json_str(BUNDLE).unwrap();
    assert_eq!(p.id.as_deref(), Some("fhir-007"));
    assert_eq!(p.sex, Sex::Male);
    // 1970-06-15 → 2026-03-01 is 55 years and 259 days.
    assert!(
        (p.age_years - (55.0 + 259.0 / 365.2425)).abs() < 0.01,
        "{}",
        p.age_years
    );
    // Latest weight wins (80 kg on 02-20 over 180 lb on 02-01).
    assert_eq!(p.weight_kg, 80.0);
    assert!((p.height_cm.unwrap() - 180.0).abs() < 1e-9);
    // 97.26 µmol/L ÷ 88.42 = 1.1 mg/dL.
    assert!((p.serum_creatinine_mg_dl - 1.1).abs() < 1e-3);
    assert_eq!(p.genotypes.get("CYP2D6").map(String::as_str), Some("*1/*4"));
    assert_eq!(p.genotypes.get("CYP2C9").map(String::as_str), Some("*1/*2"));
    assert_eq!(p.vitals["systolic_bp_mmhg"][0].value, 128.0);
    assert_eq!(p.vitals["heart_rate_bpm"].len(), 1);
}

#[test]
fn plain_record_roundtrips_and_bad_values_name_the_field() {
    let p = PatientRecord::from_json_str(RECORD).unwrap();
    assert_eq!(p.sex, Sex::Female);
    let back = PatientRecord::from_json_str(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(p, back);
    let bad = RECORD.replace("\"weight_kg\": 58.0", "\"weight_kg\": -5");
    let e = PatientRecord::from_json_str(&bad).unwrap_err().to_string();
    assert!(e.starts_with("patient.weight_kg:"), "{e}");
    let bad = RECORD.replace(
        "\"serum_creatinine_mg_dl\": 1.1",
        "\"serum_creatinine_mg_dl\": 97",
    );
    let e = PatientRecord::from_json_str(&bad).unwrap_err().to_string();
    assert!(e.contains("88.42"), "{e}");
    let no_weight = BUNDLE.replace("29463-7", "00000-0");
    let e = PatientRecord::from_json_str(&no_weight)
        .unwrap_err()
        .to_string();
    assert!(e.contains("29463-7"), "{e}");
}
