//! The non-IID split: a partition of the training pool, reproducible, with
//! sites that really differ; test and public rows never reach a site.

use std::collections::BTreeSet;

use consentry_federated::data::{dirichlet_split, profiles, CohortSpec, SplitSpec, StudyData};

#[test]
fn dirichlet_split_partitions_the_pool_into_different_sites() {
    let d = StudyData::generate(&CohortSpec {
        n_patients: 3000,
        seq_len: 4,
        ..Default::default()
    })
    .unwrap();
    let spec = SplitSpec {
        n_sites: 5,
        alpha: 0.5,
        seed: 11,
        min_patients: 50,
    };
    let sites = dirichlet_split(&d, &spec).unwrap();
    assert_eq!(
        sites,
        dirichlet_split(&d, &spec).unwrap(),
        "same seed, same split"
    );
    let all: Vec<usize> = sites.iter().flatten().copied().collect();
    let set: BTreeSet<usize> = all.iter().copied().collect();
    assert_eq!(all.len(), set.len(), "a patient at two sites");
    assert_eq!(set, d.pool.iter().copied().collect::<BTreeSet<_>>());
    for held_out in d.test.iter().chain(&d.public) {
        assert!(!set.contains(held_out));
    }
    assert!(sites.iter().all(|s| s.len() >= 50));
    // Sites differ in drug mix: some drug's share differs by over 15 points between two sites.
    let p = profiles(&d, &sites);
    let share =
        |k: usize, drug: &str| *p[k].drugs.get(drug).unwrap_or(&0) as f64 / p[k].patients as f64;
    let spread = d
        .cohort
        .drugs
        .iter()
        .map(|drug| {
            let v: Vec<f64> = (0..5).map(|k| share(k, drug)).collect();
            v.iter().copied().fold(0.0, f64::max) - v.iter().copied().fold(1.0, f64::min)
        })
        .fold(0.0, f64::max);
    assert!(spread > 0.15, "drug shares differ by at most {spread}");
    // An impossible minimum is refused, not silently ignored.
    assert!(dirichlet_split(
        &d,
        &SplitSpec {
            min_patients: 10_000,
            ..spec
        }
    )
    .is_err());
}
