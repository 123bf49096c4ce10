//! The synthetic generator: deterministic per seed, and its output round-trips through ingest and
//! is accepted by the simulation crate's own FHIR parser and pharmacogenomic tables.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use consentry_datastore::cli::{self, IngestArgs, SynthArgs};
use consentry_datastore::{synth, CategorySet, Counts, Store};
use serde_json::Value;

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn same_seed_same_bytes_other_seed_other_patients() {
    let d = tempfile::tempdir().unwrap();
    let (a, b, c) = (d.path().join("a"), d.path().join("b"), d.path().join("c"));
    synth::write(42, 20, &a, None).unwrap();
    synth::write(42, 20, &b, None).unwrap();
    synth::write(43, 20, &c, None).unwrap();
    let (fa, fb, fc) = (files(&a), files(&b), files(&c));
    assert_eq!(fa.len(), 21, "20 bundles + genotypes.tsv");
    assert_eq!(fa, fb);
    assert_ne!(fa["patient-00000.json"], fc["patient-00000.json"]);
    // A patient does not depend on how many were generated.
    assert_eq!(synth::patient(42, 7), synth::generate(42, 30)[7]);
}

/// Counts rows the store should hold, straight from the bundle JSON (independent of the ingest).
fn expected_rows(bundles: &[Value]) -> Counts {
    let mut c = Counts::default();
    for b in bundles {
        for e in b["entry"].as_array().unwrap() {
            let r = &e["resource"];
            match r["resourceType"].as_str().unwrap() {
                "Patient" => c.patients += 1,
                "Condition" => c.conditions += 1,
                "MedicationRequest" | "MedicationAdministration" => c.medications += 1,
                "Observation" => {
                    let code = r["code"]["coding"][0]["code"].as_str().unwrap();
                    if code == "29463-7" || code == "8302-2" {
                        continue; // weight and height live on the patient row
                    }
                    let n = r["component"].as_array().map_or(1, Vec::len) as u64;
                    match r["category"][0]["coding"][0]["code"].as_str().unwrap() {
                        "laboratory" => c.labs += n,
                        "vital-signs" => c.vitals += n,
                        other => panic!("category {other}"),
                    }
                }
                other => panic!("unexpected {other}"),
            }
        }
    }
    c
}

#[test]
fn fifty_patients_round_trip_through_ingest() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("synth");
    cli::synth(&SynthArgs {
        count: 50,
        seed: 2025,
        out: out.clone(),
        genotypes: None,
    })
    .unwrap();
    let pepper_file = d.path().join("pepper");
    std::fs::write(&pepper_file, PEPPER).unwrap();
    let db = d.path().join("store.sqlite");
    cli::ingest(&IngestArgs {
        store: db.clone(),
        pepper_file,
        files: vec![out.clone()],
    })
    .unwrap();

    let bundles: Vec<Value> = (0..50)
        .map(|i| {
            serde_json::from_slice(
                &std::fs::read(out.join(format!("patient-{i:05}.json"))).unwrap(),
            )
            .unwrap()
        })
        .collect();
    let mut want = expected_rows(&bundles);
    want.genotypes = 50 * 6;
    let mut store = Store::open(&db).unwrap();
    let got = store.counts().unwrap();
    assert_eq!(got, want);
    assert_eq!(got.patients, 50);
    assert!(got.labs == 50 * 12 && got.vitals == 50 * 18 * 5, "{got:?}");
    assert!(got.medications > 0 && got.conditions > 0, "{got:?}");

    // The synthetic patient reads back whole, with plausible demographics.
    let p = synth::patient(2025, 3);
    let data = store
        .read_at(
            1,
            pepper().pseudonym(&p.identifier),
            &CategorySet::all(),
            synth::AS_OF,
        )
        .unwrap();
    let demo = data.demographics.unwrap();
    assert!((18..=90).contains(&demo.age_years), "{demo:?}");
    assert!(demo.weight_kg.is_some() && demo.height_cm.is_some());
    assert_eq!(data.genotypes.len(), 6);
    assert_eq!(data.labs.len(), 12);
}

#[test]
fn synthetic_patients_are_usable_by_the_twin() {
    use consentry_simulation::patient::PatientRecord;
    use consentry_simulation::pgx;
    for p in synth::generate(9, 200) {
        let rec = PatientRecord::from_json_str(&p.bundle.to_string())
            .unwrap_or_else(|e| panic!("{}: {e}", p.identifier));
        assert!((18.0..=91.0).contains(&rec.age_years), "{}", rec.age_years);
        assert!((0.4..=10.0).contains(&rec.serum_creatinine_mg_dl));
        assert_eq!(rec.vitals["heart_rate_bpm"].len(), 18);
        for (gene, d) in &p.genotypes {
            if gene == "VKORC1" {
                pgx::vkorc1(d).unwrap();
            } else {
                pgx::assess(gene, d).unwrap_or_else(|e| panic!("{gene} {d}: {e}"));
            }
        }
    }
}

#[test]
fn cohort_looks_like_a_hospital_population() {
    let ps = synth::generate(1, 400);
    let female = ps
        .iter()
        .filter(|p| p.bundle["entry"][0]["resource"]["gender"] == "female")
        .count();
    assert!((160..=240).contains(&female), "{female} of 400 female");
    let texts: Vec<String> = ps.iter().map(|p| p.bundle.to_string()).collect();
    let on = |drug: &str| {
        let needle = format!("\"text\":\"{drug}\"");
        texts.iter().filter(|t| t.contains(&needle)).count()
    };
    for drug in ["warfarin", "clopidogrel", "simvastatin", "tacrolimus"] {
        assert!(on(drug) >= 4, "only {} of 400 on {drug}", on(drug));
    }
    // CYP2D6 poor metabolizers (two no-function alleles) are a few percent of Europeans.
    let pm = ps
        .iter()
        .filter(|p| {
            let d = &p.genotypes[0].1;
            d.split('/').all(|a| ["*3", "*4", "*5", "*6"].contains(&a))
        })
        .count();
    assert!((4..=40).contains(&pm), "{pm} CYP2D6 PMs of 400");
}

#[test]
fn ingest_cli_reports_rejected_files_and_keeps_the_rest() {
    let d = tempfile::tempdir().unwrap();
    let good = d.path().join("good.json");
    let bad = d.path().join("bad.json");
    std::fs::write(&good, other_bundle().to_string()).unwrap();
    let mut b = valid_bundle();
    b["entry"][3]["resource"]["valueQuantity"]["value"] = "x".into();
    std::fs::write(&bad, b.to_string()).unwrap();
    let pepper_file = d.path().join("pepper");
    std::fs::write(&pepper_file, PEPPER).unwrap();
    let db = d.path().join("s.sqlite");
    let e = cli::ingest(&IngestArgs {
        store: db.clone(),
        pepper_file,
        files: vec![good, bad],
    })
    .unwrap_err();
    assert!(e.to_string().contains("1 input(s) rejected"), "{e}");
    assert_eq!(Store::open(&db).unwrap().counts().unwrap().patients, 1);
}

#[test]
fn a_full_read_feeds_the_twin_and_a_partial_one_says_what_is_missing() {
    use consentry_datastore::DataCategory as C;
    use consentry_simulation::patient::{from_fhir_bundle, PatientRecord};
    let d = tempfile::tempdir().unwrap();
    let mut store = Store::open(&d.path().join("s.sqlite")).unwrap();
    let p = synth::patient(5, 0);
    store.ingest_bundle(&pepper(), &p.bundle).unwrap();
    let tsv: String = p
        .genotypes
        .iter()
        .map(|(g, d)| format!("{}\t{g}\t{d}\n", p.identifier))
        .collect();
    store.ingest_genotypes(&pepper(), &tsv).unwrap();
    let who = pepper().pseudonym(&p.identifier);

    let all = store
        .read_at(1, who, &CategorySet::all(), synth::AS_OF)
        .unwrap();
    let rec =
        PatientRecord::from_json_str(&all.to_patient_record_json().unwrap().to_string()).unwrap();
    // Same covariates as the simulation crate's own parse of the source bundle.
    let direct = from_fhir_bundle(&p.bundle).unwrap();
    assert_eq!(rec.sex, direct.sex);
    assert_eq!(rec.weight_kg, direct.weight_kg);
    assert!((rec.serum_creatinine_mg_dl - direct.serum_creatinine_mg_dl).abs() < 1e-12);
    assert_eq!(rec.alt_u_l, direct.alt_u_l);
    assert_eq!(rec.age_years, direct.age_years.floor());
    assert_eq!(
        rec.vitals["heart_rate_bpm"].len(),
        direct.vitals["heart_rate_bpm"].len()
    );
    assert_eq!(rec.genotypes.len(), 6);

    // Without Genomic, no genotypes reach the twin; without Labs, it cannot be built.
    let no_gen = store
        .read_at(
            2,
            who,
            &CategorySet::of(&[C::Demographics, C::Labs]),
            synth::AS_OF,
        )
        .unwrap();
    let rec = PatientRecord::from_json_str(&no_gen.to_patient_record_json().unwrap().to_string())
        .unwrap();
    assert!(rec.genotypes.is_empty() && rec.vitals.is_empty());
    let demo = store
        .read_at(3, who, &CategorySet::of(&[C::Demographics]), synth::AS_OF)
        .unwrap();
    assert!(demo
        .to_patient_record_json()
        .unwrap_err()
        .contains("creatinine"));
}
