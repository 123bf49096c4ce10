//! TreeSHAP must equal the brute-force Shapley values (seed equation 7) of the
//! same cover-weighted conditional-expectation game, on small random boosters.

use consentry_inference::explain::treeshap::{brute_force_shap, tree_shap};
use consentry_inference::models::gbdt::{Gbdt, GbdtConfig};
use rand::{Rng, SeedableRng};

fn data(n: usize, m: usize, seed: u64) -> (Vec<Vec<f32>>, Vec<f32>) {
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut x = Vec::new();
    let mut y = Vec::new();
    for _ in 0..n {
        let row: Vec<f32> = (0..m)
            .map(|_| {
                if rng.gen_bool(0.1) {
                    f32::NAN
                } else {
                    rng.gen_range(-2.0..2.0)
                }
            })
            .collect();
        let v = |j: usize| if row[j].is_nan() { 0.5 } else { row[j] };
        // Interactions and repeated use of the same feature along a path.
        let z = v(0) * v(1) + (v(2) > 0.3) as i32 as f32 - 0.5 * v(0) * v(0) + 0.3 * v(3);
        y.push(if rng.gen_bool(1.0 / (1.0 + (-(z as f64) * 2.0).exp())) {
            1.0
        } else {
            0.0
        });
        x.push(row);
    }
    (x, y)
}

#[test]
fn treeshap_equals_brute_force_shapley() {
    for (seed, m, depth) in [(1u64, 4usize, 3usize), (2, 5, 4), (3, 6, 5)] {
        let (x, y) = data(600, m, seed);
        let cfg = GbdtConfig {
            max_depth: depth,
            n_rounds: 6,
            learning_rate: 0.3,
            max_bins: 16,
            ..Default::default()
        };
        let model = Gbdt::fit(&cfg, &x, &y, None, vec![]).unwrap();
        assert!(
            model.trees.iter().any(|t| t.left.len() > 7),
            "trees should be non-trivial"
        );
        for row in x.iter().take(25) {
            let (phi, expected) = tree_shap(&model, row);
            let brute = brute_force_shap(&model, row);
            for (a, b) in phi.iter().zip(&brute) {
                assert!(
                    (a - b).abs() < 1e-9 * (1.0 + b.abs()),
                    "TreeSHAP {a} vs brute force {b}"
                );
            }
            // Local accuracy: the attributions add up to the margin.
            let total = expected + phi.iter().sum::<f64>();
            assert!((total - model.predict_margin(row)).abs() < 1e-4);
        }
    }
}

#[test]
fn unused_feature_gets_zero_attribution() {
    let (mut x, y) = data(400, 4, 9);
    for r in x.iter_mut() {
        r.push(1.0); // constant column: never split on
    }
    let model = Gbdt::fit(
        &GbdtConfig {
            n_rounds: 5,
            ..Default::default()
        },
        &x,
        &y,
        None,
        vec![],
    )
    .unwrap();
    for row in x.iter().take(10) {
        assert_eq!(tree_shap(&model, row).0[4], 0.0);
    }
}
