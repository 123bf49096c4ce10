//! FHIR and genotype ingest against a real SQLite store: valid input goes in, each kind of
//! malformed input is rejected whole with the resource and field named, leaving the store as it was.

mod common;

use common::*;
use consentry_datastore::{to_hex, Counts, Error, Pepper};
use serde_json::{json, Value};

fn counts(labs: u64, vitals: u64, patients: u64, meds: u64, conds: u64, genotypes: u64) -> Counts {
    Counts {
        patients,
        labs,
        vitals,
        medications: meds,
        conditions: conds,
        genotypes,
        reads: 0,
    }
}

#[test]
fn pseudonym_is_sha256_of_pepper_then_identifier() {
    let p = pepper();
    assert_eq!(to_hex(&p.pseudonym("MRN-000123")), MRN_000123_PSEUDONYM);

    // Loaded from a file: one trailing newline is not part of the pepper.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("pepper");
    std::fs::write(&f, [PEPPER, b"\n"].concat()).unwrap();
    let loaded = Pepper::load(&f).unwrap();
    assert_eq!(
        to_hex(&loaded.pseudonym("MRN-000123")),
        MRN_000123_PSEUDONYM
    );
    assert!(
        !format!("{loaded:?}").contains("consentry-test"),
        "Debug leaks the pepper"
    );

    std::fs::write(&f, b"too-short-15byt").unwrap();
    let e = Pepper::load(&f).unwrap_err().to_string();
    assert!(e.contains("15 bytes") && e.contains("at least 16"), "{e}");
}

#[test]
fn a_valid_bundle_is_imported() {
    let (_d, mut store) = store();
    let report = store.ingest_bundle(&pepper(), &valid_bundle()).unwrap();
    assert_eq!(report.patients.len(), 1);
    assert_eq!(to_hex(&report.patients[0]), MRN_000123_PSEUDONYM);
    assert_eq!(report.observations, 5);
    assert_eq!(report.body_measurements, 1);
    assert_eq!(report.skipped.get("Encounter"), Some(&1));
    assert_eq!(store.counts().unwrap(), counts(2, 3, 1, 2, 1, 0));
    assert!(store.has_patient(&report.patients[0]).unwrap());

    // Re-importing the same bundle replaces rows instead of duplicating them.
    store.ingest_bundle(&pepper(), &valid_bundle()).unwrap();
    assert_eq!(store.counts().unwrap(), counts(2, 3, 1, 2, 1, 0));
}

#[test]
fn references_resolve_to_patients_already_in_the_store() {
    let (_d, mut store) = store();
    store.ingest_bundle(&pepper(), &valid_bundle()).unwrap();
    let later = json!({
        "resourceType": "Bundle", "type": "collection",
        "entry": [{ "resource": {
            "resourceType": "Condition", "id": "cond-2",
            "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "38341003" }] },
            "subject": { "reference": "Patient/pat-1" }
        }}]
    });
    store.ingest_bundle(&pepper(), &later).unwrap();
    assert_eq!(store.counts().unwrap().conditions, 2);
}

/// Applies `edit` to the valid bundle; the ingest must fail with an error starting with
/// `expect_prefix` and containing `expect_message`, and change nothing in the store.
fn assert_rejected(edit: impl FnOnce(&mut Value), expect_prefix: &str, expect_message: &str) {
    let (_d, mut store) = store();
    store.ingest_bundle(&pepper(), &other_bundle()).unwrap();
    let before = store.counts().unwrap();
    let mut b = valid_bundle();
    edit(&mut b);
    let err = store.ingest_bundle(&pepper(), &b).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, Error::Rejected { .. } | Error::Bundle(_)),
        "{err:?}"
    );
    assert!(
        msg.starts_with(expect_prefix),
        "`{msg}` does not start with `{expect_prefix}`"
    );
    assert!(
        msg.contains(expect_message),
        "`{msg}` lacks `{expect_message}`"
    );
    assert_eq!(
        store.counts().unwrap(),
        before,
        "store changed by a rejected bundle: {msg}"
    );
    // In particular the bundle's valid Patient (entry 0) did not go in.
    assert!(!store
        .has_patient(&pepper().pseudonym("MRN-000123"))
        .unwrap());
}

fn res(b: &mut Value, i: usize) -> &mut Value {
    &mut b["entry"][i]["resource"]
}

#[test]
fn wrong_value_type_names_the_field() {
    assert_rejected(
        |b| res(b, 3)["valueQuantity"]["value"] = json!("thirty"),
        "entry[3] Observation/obs-alt: valueQuantity.value: ",
        "expected a number",
    );
}

#[test]
fn missing_required_patient_field() {
    assert_rejected(
        |b| {
            res(b, 0).as_object_mut().unwrap().remove("birthDate");
        },
        "entry[0] Patient/pat-1: birthDate: ",
        "required field is missing",
    );
}

#[test]
fn bad_codes_and_dates() {
    assert_rejected(
        |b| res(b, 0)["gender"] = json!("f"),
        "entry[0] Patient/pat-1: gender: ",
        "not one of male, female",
    );
    assert_rejected(
        |b| res(b, 0)["birthDate"] = json!("1960-02-30"),
        "entry[0] Patient/pat-1: birthDate: ",
        "not a FHIR date",
    );
    // A LOINC code with a wrong check digit (heart rate is 8867-4).
    assert_rejected(
        |b| res(b, 4)["code"]["coding"][0]["code"] = json!("8867-5"),
        "entry[4] Observation/obs-hr: code.coding[0].code: ",
        "not a valid LOINC code",
    );
    assert_rejected(
        |b| res(b, 4)["code"]["coding"][0]["system"] = json!("http://example.org/local"),
        "entry[4] Observation/obs-hr: code.coding: ",
        "no LOINC coding",
    );
    assert_rejected(
        |b| res(b, 7)["effectiveDateTime"] = json!("yesterday"),
        "entry[7] MedicationAdministration/ma-1: effectiveDateTime: ",
        "not a FHIR dateTime",
    );
    assert_rejected(
        |b| res(b, 1)["valueQuantity"]["code"] = json!("stone"),
        "entry[1] Observation/obs-weight: valueQuantity.code: ",
        "unit must be kg",
    );
    assert_rejected(
        |b| {
            res(b, 2).as_object_mut().unwrap().remove("category");
        },
        "entry[2] Observation/obs-creat: category: ",
        "laboratory",
    );
}

#[test]
fn nested_paths_are_named() {
    assert_rejected(
        |b| {
            res(b, 5)["component"][1]["valueQuantity"]
                .as_object_mut()
                .unwrap()
                .remove("value");
        },
        "entry[5] Observation/obs-bp: component[1].valueQuantity.value: ",
        "required field is missing",
    );
    assert_rejected(
        |b| {
            res(b, 6)["dosageInstruction"][0]
                .as_object_mut()
                .unwrap()
                .remove("doseAndRate");
        },
        "entry[6] MedicationRequest/rx-1: dosageInstruction[0].doseAndRate[0].doseQuantity: ",
        "required",
    );
    assert_rejected(
        |b| res(b, 8)["code"]["coding"] = json!("oops"),
        "entry[8] Condition/cond-1: code.coding: ",
        "expected an array",
    );
    assert_rejected(
        |b| {
            res(b, 3)["valueQuantity"]
                .as_object_mut()
                .unwrap()
                .remove("code");
            res(b, 3)["valueQuantity"]
                .as_object_mut()
                .unwrap()
                .remove("unit");
        },
        "entry[3] Observation/obs-alt: valueQuantity.code: ",
        "unit is required",
    );
}

#[test]
fn unresolvable_reference_is_rejected() {
    assert_rejected(
        |b| res(b, 2)["subject"]["reference"] = json!("Patient/nobody"),
        "entry[2] Observation/obs-creat: subject.reference: ",
        "`Patient/nobody` resolves to no Patient",
    );
    assert_rejected(
        |b| res(b, 8)["subject"]["reference"] = json!("Group/1"),
        "entry[8] Condition/cond-1: subject.reference: ",
        "expected a reference to a Patient",
    );
}

#[test]
fn malformed_bundle_structure() {
    assert_rejected(
        |b| b["entry"][4] = json!({ "fullUrl": "urn:uuid:1" }),
        "entry[4]: resource: ",
        "required",
    );
    assert_rejected(
        |b| b["resourceType"] = json!("Patient"),
        "bundle: resourceType",
        "Bundle",
    );
    assert_rejected(
        |b| b["entry"] = json!({}),
        "bundle: entry",
        "expected an array",
    );
    let (_d, mut store) = store();
    let e = store
        .ingest_bundle_str(&pepper(), "{ not json")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("bundle: not valid JSON"), "{e}");
    assert_eq!(store.counts().unwrap(), Counts::default());
}

#[test]
fn a_different_pepper_on_the_same_store_is_refused() {
    let (_d, mut store) = store();
    store.ingest_bundle(&pepper(), &valid_bundle()).unwrap();
    let before = store.counts().unwrap();
    let other = Pepper::from_bytes(b"another-pepper-of-32-bytes-long!".to_vec()).unwrap();
    let e = store
        .ingest_bundle(&other, &valid_bundle())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("entry[0] Patient/pat-1: identifier: ") && e.contains("different pepper"),
        "{e}"
    );
    assert_eq!(store.counts().unwrap(), before);
}

#[test]
fn genotype_files() {
    let (_d, mut store) = store();
    store.ingest_bundle(&pepper(), &valid_bundle()).unwrap();
    store.ingest_bundle(&pepper(), &other_bundle()).unwrap();
    let n = store
        .ingest_genotypes(
            &pepper(),
            "identifier\tgene\tdiplotype\nMRN-000123\tCYP2C9\t*1/*3\nMRN-000123\tVKORC1\t-1639GA\nMRN-777\tCYP2D6\t*1/*4\n",
        )
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(store.counts().unwrap().genotypes, 3);
    let before = store.counts().unwrap();

    let cases = [
        // Unknown gene, on line 3 (after a comment line).
        (
            "MRN-777,CYP2C19,*1/*17\n# comment\nMRN-777,CYP9Z9,*1/*1\n",
            3,
            "unknown gene `CYP9Z9`",
        ),
        // Bad diplotype syntax for the gene.
        (
            "MRN-777\tCYP2D6\t*1/*2\nMRN-777\tCYP2C19\t*1x2/*2\n",
            2,
            "CYP2C19 diplotype `*1x2/*2` is malformed",
        ),
        (
            "MRN-777\tVKORC1\tC/T\n",
            1,
            "VKORC1 diplotype `C/T` is malformed",
        ),
        // A patient the store does not hold.
        (
            "MRN-777\tCYP3A5\t*3/*3\nMRN-999\tCYP3A5\t*1/*3\n",
            2,
            "no patient with identifier `MRN-999`",
        ),
        // Two different calls for one gene.
        (
            "MRN-777\tSLCO1B1\t*1/*5\nMRN-777\tSLCO1B1\t*1/*1\n",
            2,
            "conflicts with line 1",
        ),
        ("MRN-777\tSLCO1B1\n", 1, "expected 3 columns"),
    ];
    for (text, line, want) in cases {
        match store.ingest_genotypes(&pepper(), text) {
            Err(Error::Genotype { line: l, message }) => {
                assert_eq!(l, line, "{message}");
                assert!(message.contains(want), "`{message}` lacks `{want}`");
            }
            other => panic!("{text:?} gave {other:?}"),
        }
        assert_eq!(
            store.counts().unwrap(),
            before,
            "{text:?} changed the store"
        );
    }
}
