//! Category-scoped reads: exactly the granted categories come back, and every read is logged with
//! the chain's access id in the same transaction.

mod common;

use common::*;
use consentry_datastore::{CategorySet, DataCategory as C, Error, MedicationKind, Store};

/// 2025-01-15T00:00:00Z (`date -u -d 2025-01-15 +%s`), in ms.
const JAN_15_2025: i64 = 1_736_899_200_000;
/// 2025-01-10T08:00:00Z, in ms.
const JAN_10_0800: i64 = 1_736_496_000_000;

fn loaded() -> (tempfile::TempDir, Store, [u8; 32], [u8; 32]) {
    let (d, mut store) = store();
    let me = store
        .ingest_bundle(&pepper(), &valid_bundle())
        .unwrap()
        .patients[0];
    let other = store
        .ingest_bundle(&pepper(), &other_bundle())
        .unwrap()
        .patients[0];
    store
        .ingest_genotypes(
            &pepper(),
            "MRN-000123\tCYP2C9\t*1/*3\nMRN-000123\tVKORC1\tG/A\n",
        )
        .unwrap();
    (d, store, me, other)
}

#[test]
fn each_category_reads_only_its_own_rows() {
    let (_d, mut store, me, _) = loaded();

    let labs = store
        .read_at(7, me, &CategorySet::of(&[C::Labs]), JAN_15_2025)
        .unwrap();
    assert_eq!(labs.labs.len(), 2);
    // Ordered by time; the +01:00 offset of the creatinine was applied (09:00+01:00 = 08:00Z).
    assert_eq!(labs.labs[0].loinc, "2160-0");
    assert_eq!(labs.labs[0].effective_ms, JAN_10_0800);
    assert_eq!(
        (labs.labs[0].value, labs.labs[0].unit.as_str()),
        (1.1, "mg/dL")
    );
    assert!(labs.demographics.is_none() && labs.vitals.is_empty() && labs.medications.is_empty());
    assert!(labs.conditions.is_empty() && labs.genotypes.is_empty());

    let demo = store
        .read_at(8, me, &CategorySet::of(&[C::Demographics]), JAN_15_2025)
        .unwrap();
    let d = demo.demographics.clone().unwrap();
    // Born 1960-05-20: 64 on 2025-01-15. Weight came from the body-weight Observation.
    assert_eq!(
        (d.age_years, d.sex.as_str(), d.weight_kg, d.height_cm),
        (64, "female", Some(72.5), None)
    );
    assert!(demo.labs.is_empty() && demo.vitals.is_empty());

    let vit = store
        .read_at(9, me, &CategorySet::of(&[C::Wearable]), JAN_15_2025)
        .unwrap();
    let mut codes: Vec<&str> = vit.vitals.iter().map(|o| o.loinc.as_str()).collect();
    codes.sort();
    // Heart rate and both blood-pressure components; body weight is demographics, not a vital.
    assert_eq!(codes, ["8462-4", "8480-6", "8867-4"]);
    assert!(vit.demographics.is_none() && vit.labs.is_empty());

    let ehr = store
        .read_at(10, me, &CategorySet::of(&[C::Ehr]), JAN_15_2025)
        .unwrap();
    assert_eq!(ehr.medications.len(), 2);
    assert_eq!(ehr.medications[0].kind, MedicationKind::Request);
    assert_eq!(ehr.medications[0].drug, "warfarin");
    assert_eq!(ehr.medications[0].drug_code.as_deref(), Some("11289"));
    assert_eq!(ehr.medications[1].kind, MedicationKind::Administration);
    assert_eq!(ehr.medications[1].route.as_deref(), Some("Oral route"));
    assert_eq!(ehr.conditions.len(), 1);
    assert_eq!(ehr.conditions[0].code, "49436004");
    assert_eq!(ehr.conditions[0].display, "Atrial fibrillation");
    assert!(ehr.genotypes.is_empty() && ehr.labs.is_empty());

    let gen = store
        .read_at(11, me, &CategorySet::of(&[C::Genomic]), JAN_15_2025)
        .unwrap();
    let g: Vec<(&str, &str)> = gen
        .genotypes
        .iter()
        .map(|g| (g.gene.as_str(), g.diplotype.as_str()))
        .collect();
    assert_eq!(g, [("CYP2C9", "*1/*3"), ("VKORC1", "G/A")]);
    assert!(gen.medications.is_empty() && gen.demographics.is_none());

    // Imaging is a defined category the store holds nothing for.
    let img = store
        .read_at(12, me, &CategorySet::of(&[C::Imaging]), JAN_15_2025)
        .unwrap();
    assert_eq!(
        img.labs.len() + img.vitals.len() + img.genotypes.len() + img.medications.len(),
        0
    );

    let all = store
        .read_at(13, me, &CategorySet::all(), JAN_15_2025)
        .unwrap();
    assert_eq!(
        (
            all.labs.len(),
            all.vitals.len(),
            all.medications.len(),
            all.conditions.len(),
            all.genotypes.len()
        ),
        (2, 3, 2, 1, 2)
    );
    assert!(all.demographics.is_some());
}

#[test]
fn every_read_is_logged_with_its_access_id() {
    let (_d, mut store, me, other) = loaded();
    assert!(store.reads_for(&me).unwrap().is_empty());

    let cats = CategorySet::of(&[C::Labs, C::Genomic]);
    store.read_at(42, me, &cats, JAN_15_2025).unwrap();
    store
        .read_at(
            43,
            me,
            &CategorySet::of(&[C::Demographics]),
            JAN_15_2025 + 1,
        )
        .unwrap();

    let log = store.read_log(42).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].access_id, 42);
    assert_eq!(log[0].pseudonym, me);
    assert_eq!(log[0].categories, cats);
    assert_eq!(log[0].at_ms, JAN_15_2025);
    assert_eq!(log[0].rows_read, 4, "2 labs + 2 genotypes");

    let mine = store.reads_for(&me).unwrap();
    assert_eq!(
        mine.iter().map(|e| e.access_id).collect::<Vec<_>>(),
        [42, 43]
    );
    assert_eq!(mine[1].rows_read, 1);
    // No access id was used for the other patient, and no other access id was used at all.
    assert!(store.reads_for(&other).unwrap().is_empty());
    assert!(store.read_log(44).unwrap().is_empty());
    assert_eq!(store.counts().unwrap().reads, 2);

    // Access ids above i64::MAX round-trip.
    store
        .read_at(u64::MAX, me, &CategorySet::empty(), JAN_15_2025)
        .unwrap();
    assert_eq!(store.read_log(u64::MAX).unwrap()[0].access_id, u64::MAX);

    // read() (wall clock) logs too.
    store.read(45, me, &CategorySet::of(&[C::Labs])).unwrap();
    assert!(store.read_log(45).unwrap()[0].at_ms > JAN_15_2025);
}

#[test]
fn failed_reads_read_and_log_nothing() {
    let (_d, mut store, me, _) = loaded();
    let e = store
        .read_at(1, [9u8; 32], &CategorySet::all(), JAN_15_2025)
        .unwrap_err();
    assert!(matches!(e, Error::UnknownPatient(_)), "{e:?}");
    let e = store
        .read_at(2, me, &CategorySet(1 << 15), JAN_15_2025)
        .unwrap_err();
    assert!(matches!(e, Error::InvalidCategories(0x8000)), "{e:?}");
    assert_eq!(store.counts().unwrap().reads, 0);
}

#[test]
fn the_read_log_is_append_only() {
    let (d, mut store, me, _) = loaded();
    store
        .read_at(5, me, &CategorySet::of(&[C::Labs]), JAN_15_2025)
        .unwrap();
    drop(store);
    let raw = rusqlite::Connection::open(d.path().join("store.sqlite")).unwrap();
    let del = raw
        .execute("DELETE FROM read_log", [])
        .unwrap_err()
        .to_string();
    assert!(del.contains("append-only"), "{del}");
    let upd = raw
        .execute("UPDATE read_log SET access_id = 6", [])
        .unwrap_err()
        .to_string();
    assert!(upd.contains("append-only"), "{upd}");
    let n: i64 = raw
        .query_row(
            "SELECT count(*) FROM read_log WHERE access_id = 5",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
}
