//! The site's DP-SGD: clipping bounds, the noise's standard deviation, and
//! patients outside the granted cohort never influencing the update.

use candle_core::Device;
use consentry_federated::client::{DpSgd, LocalTraining, SiteClient};
use consentry_federated::data::{CohortSpec, StudyData};
use consentry_federated::dp::{clip_l2, l2_norm, seeded_rng};
use consentry_federated::model::ModelSpec;
use consentry_federated::optim::OptimizerKind;
use consentry_federated::params::flatten;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

fn data() -> StudyData {
    StudyData::generate(&CohortSpec {
        n_patients: 400,
        seq_len: 4,
        ..Default::default()
    })
    .unwrap()
}

/// A site holding `rows` of the pool under the ids of `id_rows` (normally the same rows).
fn site(d: &StudyData, rows: &[usize], id_rows: &[usize]) -> SiteClient {
    let dev = Device::Cpu;
    let ids = id_rows.iter().map(|&r| d.patient_id(r)).collect();
    let model = ModelSpec::default()
        .build(&d.prepared.spec, 3, &dev)
        .unwrap();
    SiteClient::new(
        0,
        ids,
        d.tensors(rows, &dev).unwrap(),
        model,
        d.adr_pos_weight,
    )
    .unwrap()
}

fn dp(sigma: f64, c: f64, q: f64) -> LocalTraining {
    LocalTraining {
        optimizer: OptimizerKind::Adam,
        lr: 1e-2,
        epochs: 1,
        batch_size: 8,
        dp: Some(DpSgd {
            sampling_rate: q,
            noise_multiplier: sigma,
            clip_norm: c,
            steps: 3,
        }),
        seeded_noise: true,
    }
}

#[test]
fn clipped_per_patient_gradients_are_within_the_norm() {
    let d = data();
    let rows: Vec<usize> = d.pool[..20].to_vec();
    let s = site(&d, &rows, &rows);
    let mut raw_norms = Vec::new();
    for i in 0..rows.len() {
        let g = s.patient_gradient(i).unwrap();
        let norm = l2_norm(&g);
        raw_norms.push(norm);
        // C below every norm: each is scaled onto the sphere of radius C.
        let c = 1e-3;
        let mut clipped = g.clone();
        let factor = clip_l2(&mut clipped, c);
        assert!(factor < 1.0 && factor > 0.0);
        assert!(
            l2_norm(&clipped) <= c * (1.0 + 1e-5),
            "{} > {c}",
            l2_norm(&clipped)
        );
        // The direction is kept.
        let dot: f64 = g
            .iter()
            .zip(&clipped)
            .map(|(a, b)| *a as f64 * *b as f64)
            .sum();
        assert!((dot / (norm * l2_norm(&clipped)) - 1.0).abs() < 1e-5);
        // C above the norm: untouched.
        let mut same = g.clone();
        clip_l2(&mut same, norm * 2.0);
        assert_eq!(same, g);
    }
    assert!(
        raw_norms.iter().all(|&n| n > 1e-3),
        "gradients should be larger than the test's C"
    );
}

#[test]
fn noise_std_is_sigma_times_c() {
    let d = data();
    let rows: Vec<usize> = d.pool[..50].to_vec();
    let s = site(&d, &rows, &rows);
    let local: Vec<usize> = (0..rows.len()).collect();
    let (sigma, c, q) = (1.7, 0.5, 0.2);
    let cfg = dp(sigma, c, q).dp.unwrap();
    // Same batch (same sampling seed), independent noise: the difference is noise only.
    let (g1, n1, _) = s
        .dp_gradient(
            &local,
            &cfg,
            &mut Xoshiro256PlusPlus::seed_from_u64(9),
            &mut seeded_rng(1),
        )
        .unwrap();
    let (g2, n2, _) = s
        .dp_gradient(
            &local,
            &cfg,
            &mut Xoshiro256PlusPlus::seed_from_u64(9),
            &mut seeded_rng(2),
        )
        .unwrap();
    assert_eq!(n1, n2);
    // g = (Σ clipped + N(0, σ²C²)) / (q·n): (g1 − g2)·q·n / √2 ~ N(0, σ²C²) per coordinate.
    let scale = q * rows.len() as f64 / 2f64.sqrt();
    let diffs: Vec<f64> = g1.iter().zip(&g2).map(|(a, b)| (a - b) * scale).collect();
    let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
    let sd = (diffs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / diffs.len() as f64).sqrt();
    assert!(diffs.len() > 5000);
    assert!(mean.abs() < 0.05 * sigma * c, "mean {mean}");
    assert!(
        (sd / (sigma * c) - 1.0).abs() < 0.03,
        "sd {sd}, σ·C = {}",
        sigma * c
    );
    // σ = 0: no noise at all, the two draws agree exactly.
    let cfg0 = DpSgd {
        noise_multiplier: 0.0,
        ..cfg
    };
    let (a, _, _) = s
        .dp_gradient(
            &local,
            &cfg0,
            &mut Xoshiro256PlusPlus::seed_from_u64(9),
            &mut seeded_rng(1),
        )
        .unwrap();
    let (b, _, _) = s
        .dp_gradient(
            &local,
            &cfg0,
            &mut Xoshiro256PlusPlus::seed_from_u64(9),
            &mut seeded_rng(2),
        )
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn a_patient_outside_the_granted_cohort_contributes_nothing() {
    let d = data();
    let rows: Vec<usize> = d.pool[..30].to_vec();
    // Site B holds other data (another patient's row) under the last patient's id.
    let mut other = rows.clone();
    *other.last_mut().unwrap() = d.pool[40];
    let mut a = site(&d, &rows, &rows);
    let mut b = site(&d, &other, &rows);
    let global = flatten(&a.model().varmap).unwrap();
    let ids: Vec<String> = rows.iter().map(|&r| d.patient_id(r)).collect();
    let excluded = ids.last().unwrap().clone();
    let granted: Vec<String> = ids[..ids.len() - 1].to_vec();
    for cfg in [
        dp(1.0, 1.0, 0.5),
        LocalTraining {
            dp: None,
            ..dp(0.0, 1.0, 1.0)
        },
    ] {
        let ua = a.train_round(&global, &granted, &cfg, 5).unwrap();
        let ub = b.train_round(&global, &granted, &cfg, 5).unwrap();
        assert_eq!(
            ua.delta, ub.delta,
            "the excluded patient's data changed the update"
        );
        assert_eq!(ua.n, 29);
        assert!(!ua.trained.contains(&excluded));
        // Granted, the same patient's (different) data does change it.
        let ua = a.train_round(&global, &ids, &cfg, 5).unwrap();
        let ub = b.train_round(&global, &ids, &cfg, 5).unwrap();
        assert_ne!(ua.delta, ub.delta);
        assert!(ua.trained.contains(&excluded));
    }
    // A granted id the site does not hold is refused, not silently skipped.
    let mut bad = granted.clone();
    bad.push("synthetic-99999".into());
    assert!(a.train_round(&global, &bad, &dp(1.0, 1.0, 0.5), 5).is_err());
}
