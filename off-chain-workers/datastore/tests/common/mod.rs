//! Shared fixtures: a valid hand-written FHIR R4 bundle and a store in a temp dir.
#![allow(dead_code)]

use consentry_datastore::{Pepper, Store};
use serde_json::{json, Value};

/// The test pepper (26 bytes).
pub const PEPPER: &[u8] = b"consentry-test-pepper-0001";
/// `printf 'consentry-test-pepper-0001MRN-000123' | sha256sum`, computed by hand.
pub const MRN_000123_PSEUDONYM: &str =
    "050e6aaf41585c0b8b24bfa026fce45e1c4b143c4a2ec3577988270222e5fff4";

pub fn pepper() -> Pepper {
    Pepper::from_bytes(PEPPER).unwrap()
}

pub fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store.sqlite")).unwrap();
    (dir, store)
}

fn loinc(code: &str, display: &str) -> Value {
    json!({ "coding": [{ "system": "http://loinc.org", "code": code, "display": display }] })
}

fn cat(code: &str) -> Value {
    json!([{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": code }] }])
}

fn q(value: f64, unit: &str) -> Value {
    json!({ "value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit })
}

fn entry(resource: Value) -> Value {
    json!({ "resource": resource })
}

/// A valid bundle for patient `pat-1` (identifier MRN-000123, female, born 1960-05-20). Entries:
/// [0] Patient/pat-1, [1] Observation/obs-weight (72.5 kg), [2] Observation/obs-creat (labs),
/// [3] Observation/obs-alt (labs), [4] Observation/obs-hr (vitals),
/// [5] Observation/obs-bp (vitals panel: 2 components), [6] MedicationRequest/rx-1,
/// [7] MedicationAdministration/ma-1, [8] Condition/cond-1, [9] Encounter/enc-1 (skipped).
/// Rows it yields: 1 patient, 2 labs, 3 vitals, 2 medications, 1 condition.
pub fn valid_bundle() -> Value {
    let subject = json!({ "reference": "Patient/pat-1" });
    json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            entry(json!({
                "resourceType": "Patient", "id": "pat-1",
                "identifier": [{ "system": "https://hospital.example/mrn", "value": "MRN-000123" }],
                "gender": "female", "birthDate": "1960-05-20"
            })),
            entry(json!({
                "resourceType": "Observation", "id": "obs-weight", "status": "final",
                "category": cat("vital-signs"), "code": loinc("29463-7", "Body weight"),
                "subject": subject, "effectiveDateTime": "2025-01-10T08:00:00Z",
                "valueQuantity": q(72.5, "kg")
            })),
            entry(json!({
                "resourceType": "Observation", "id": "obs-creat", "status": "final",
                "category": cat("laboratory"), "code": loinc("2160-0", "Creatinine"),
                "subject": subject, "effectiveDateTime": "2025-01-10T09:00:00+01:00",
                "valueQuantity": q(1.1, "mg/dL")
            })),
            entry(json!({
                "resourceType": "Observation", "id": "obs-alt", "status": "final",
                "category": cat("laboratory"), "code": loinc("1742-6", "ALT"),
                "subject": subject, "effectiveDateTime": "2025-01-10T09:00:00Z",
                "valueQuantity": q(30.0, "U/L")
            })),
            entry(json!({
                "resourceType": "Observation", "id": "obs-hr", "status": "final",
                "category": cat("vital-signs"), "code": loinc("8867-4", "Heart rate"),
                "subject": subject, "effectiveDateTime": "2025-01-10T10:00:00Z",
                "valueQuantity": q(80.0, "/min")
            })),
            entry(json!({
                "resourceType": "Observation", "id": "obs-bp", "status": "final",
                "category": cat("vital-signs"), "code": loinc("85354-9", "Blood pressure panel"),
                "subject": subject, "effectiveDateTime": "2025-01-10T10:00:00Z",
                "component": [
                    { "code": loinc("8480-6", "Systolic"), "valueQuantity": q(132.0, "mm[Hg]") },
                    { "code": loinc("8462-4", "Diastolic"), "valueQuantity": q(84.0, "mm[Hg]") }
                ]
            })),
            entry(json!({
                "resourceType": "MedicationRequest", "id": "rx-1", "status": "active", "intent": "order",
                "medicationCodeableConcept": { "coding": [{ "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "11289", "display": "warfarin" }] },
                "subject": subject, "authoredOn": "2025-01-10",
                "dosageInstruction": [{ "route": { "text": "Oral route" }, "doseAndRate": [{ "doseQuantity": q(5.0, "mg") }] }]
            })),
            entry(json!({
                "resourceType": "MedicationAdministration", "id": "ma-1", "status": "completed",
                "medicationCodeableConcept": { "text": "warfarin" },
                "subject": subject, "effectiveDateTime": "2025-01-10T18:00:00Z",
                "dosage": { "route": { "text": "Oral route" }, "dose": q(5.0, "mg") }
            })),
            entry(json!({
                "resourceType": "Condition", "id": "cond-1",
                "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "49436004", "display": "Atrial fibrillation" }] },
                "subject": subject, "onsetDateTime": "2019-03-01"
            })),
            entry(json!({ "resourceType": "Encounter", "id": "enc-1", "status": "finished" })),
        ]
    })
}

/// A second, unrelated valid bundle (patient `other`, identifier MRN-777, one lab).
pub fn other_bundle() -> Value {
    json!({
        "resourceType": "Bundle", "type": "collection",
        "entry": [
            entry(json!({ "resourceType": "Patient", "id": "other",
                "identifier": [{ "value": "MRN-777" }], "gender": "male", "birthDate": "1975-01-01" })),
            entry(json!({
                "resourceType": "Observation", "id": "other-creat", "status": "final",
                "category": cat("laboratory"), "code": loinc("2160-0", "Creatinine"),
                "subject": { "reference": "Patient/other" }, "effectiveDateTime": "2025-01-11",
                "valueQuantity": q(0.9, "mg/dL")
            })),
        ]
    })
}
