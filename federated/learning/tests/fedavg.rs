//! FedAvg on real model parameters: weights proportional to n_k, hand-checked
//! values, a model of another shape refused.

use candle_core::Device;
use consentry_federated::model::ModelSpec;
use consentry_federated::params::{flatten, load, ParamLayout};
use consentry_federated::strategy::{FedAvg, SiteUpdate};
use consentry_inference::features::FeatureSpec;

fn spec() -> FeatureSpec {
    FeatureSpec {
        drugs: vec!["a".into(), "b".into()],
        seq_len: 4,
    }
}

#[test]
fn fedavg_weights_are_proportional_to_granted_patients() {
    let ms = ModelSpec::default();
    let dev = Device::Cpu;
    let m1 = ms.build(&spec(), 1, &dev).unwrap();
    let m2 = ms.build(&spec(), 2, &dev).unwrap();
    let (w1, w2) = (flatten(&m1.varmap).unwrap(), flatten(&m2.varmap).unwrap());
    assert_ne!(w1, w2);
    // Site 0 has 100 patients, site 1 has 300: the average is 1/4 w1 + 3/4 w2.
    let avg = FedAvg::default()
        .aggregate(&[
            SiteUpdate {
                site: 0,
                n: 100,
                values: w1.clone(),
            },
            SiteUpdate {
                site: 1,
                n: 300,
                values: w2.clone(),
            },
        ])
        .unwrap();
    for ((a, x), y) in avg.iter().zip(&w1).zip(&w2) {
        let want = 0.25 * *x as f64 + 0.75 * *y as f64;
        assert!((*a as f64 - want).abs() < 1e-6, "{a} vs {want}");
    }
    // Equal counts: the plain mean; swapping the sites changes nothing.
    let a = FedAvg::default()
        .aggregate(&[
            SiteUpdate {
                site: 0,
                n: 7,
                values: w1.clone(),
            },
            SiteUpdate {
                site: 1,
                n: 7,
                values: w2.clone(),
            },
        ])
        .unwrap();
    let b = FedAvg::default()
        .aggregate(&[
            SiteUpdate {
                site: 1,
                n: 7,
                values: w2.clone(),
            },
            SiteUpdate {
                site: 0,
                n: 7,
                values: w1.clone(),
            },
        ])
        .unwrap();
    assert_eq!(a, b);
    assert!((a[0] as f64 - (w1[0] as f64 + w2[0] as f64) / 2.0).abs() < 1e-6);
    // The average loads back into the architecture.
    load(&m1.varmap, &ParamLayout::of(&m1.varmap), &avg).unwrap();
    assert_eq!(flatten(&m1.varmap).unwrap(), avg);
}

#[test]
fn a_model_of_another_shape_is_refused() {
    let dev = Device::Cpu;
    let small = ModelSpec::default().build(&spec(), 1, &dev).unwrap();
    let mut wide = ModelSpec::default();
    wide.bilstm.hidden = 24;
    let wide = wide.build(&spec(), 1, &dev).unwrap();
    let w = flatten(&wide.varmap).unwrap();
    let err = load(&small.varmap, &ParamLayout::of(&wide.varmap), &w).unwrap_err();
    assert!(err.to_string().contains("layout mismatch"), "{err}");
    // Same layout but a vector of the other model's length: refused too.
    assert!(load(&small.varmap, &ParamLayout::of(&small.varmap), &w).is_err());
    // FedAvg itself refuses mixed lengths.
    let s = flatten(&small.varmap).unwrap();
    assert!(FedAvg::default()
        .aggregate(&[
            SiteUpdate {
                site: 0,
                n: 1,
                values: s
            },
            SiteUpdate {
                site: 1,
                n: 1,
                values: w
            },
        ])
        .is_err());
}

#[test]
fn secure_aggregation_gives_fedavg_of_the_delivered_sites() {
    use consentry_federated::aggregation::{aggregate_in_the_clear, aggregate_secure, secagg_bits};
    use rand::{Rng, SeedableRng};
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(4);
    let ns = [120u64, 40, 300, 75];
    let updates: Vec<SiteUpdate> = ns
        .iter()
        .enumerate()
        .map(|(k, &n)| SiteUpdate {
            site: k,
            n,
            values: (0..500).map(|_| rng.gen_range(-3.0f32..3.0)).collect(),
        })
        .collect();
    let f = FedAvg { min_sites: 3 };
    // Site 1 drops after sharing keys: the sum covers sites 0, 2, 3 only.
    let secure = aggregate_secure(&f, &updates, &[1], 3, 8.0, 9).unwrap();
    let delivered: Vec<SiteUpdate> = updates.iter().filter(|u| u.site != 1).cloned().collect();
    let clear = aggregate_in_the_clear(&f, &delivered).unwrap();
    assert_eq!(secure.included, vec![0, 2, 3]);
    assert_eq!(secure.total_n, 495.0);
    let step = 2.0 * 8.0 / ((1u64 << secagg_bits(4, 300).unwrap()) - 1) as f64;
    for (s, c) in secure.mean_delta.iter().zip(&clear.mean_delta) {
        assert!(((s - c) as f64).abs() <= step, "{s} vs {c} (step {step})");
    }
    assert!(secure.max_abs_error <= step);
    // Two of four dropping leaves fewer than t = 3: refused.
    assert!(aggregate_secure(&f, &updates, &[1, 2], 3, 8.0, 9).is_err());
}
