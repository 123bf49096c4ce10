//! Populations (reproducibility, IIV statistics, PTA) and PD models.

use consentry_simulation::pd::{
    adr_risk, effect_compartment, Emax, IndirectKind, IndirectResponse,
};
use consentry_simulation::pk::ode::OdeOptions;
use consentry_simulation::pk::PkParams;
use consentry_simulation::population::{
    compare_regimens, oral_grid_closed_form, oral_grid_ode, simulate_population, PopParams,
    PopulationSettings,
};
use consentry_simulation::regimen::{time_grid, Regimen};
use consentry_simulation::{personalize, DrugLibrary, PatientRecord};

#[test]
fn population_sampling_is_reproducible_and_matches_omega() {
    let typ = PkParams::one_compartment(10.0, 100.0, 1.0, 0.8);
    let omega = [[0.09, 0.03, 0.0], [0.03, 0.04, 0.0], [0.0, 0.0, 0.25]];
    let a = PopParams::sample(&typ, &omega, 50_000, 7).unwrap();
    let b = PopParams::sample(&typ, &omega, 50_000, 7).unwrap();
    assert_eq!(a, b);
    let c = PopParams::sample(&typ, &omega, 50_000, 8).unwrap();
    assert_ne!(a.cl, c.cl);
    // Thread-count independence: a 1-thread pool gives identical draws.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let d = pool.install(|| PopParams::sample(&typ, &omega, 50_000, 7).unwrap());
    assert_eq!(a, d);
    // Sample covariance of log-parameters ≈ Ω (SE of a variance 0.09 with n=5e4 is ~6e-4).
    let n = a.len() as f64;
    let l_cl: Vec<f64> = a.cl.iter().map(|x| (x / 10.0).ln()).collect();
    let l_v: Vec<f64> = a.v.iter().map(|x| (x / 100.0).ln()).collect();
    let mean = |x: &[f64]| x.iter().sum::<f64>() / n;
    let (m1, m2) = (mean(&l_cl), mean(&l_v));
    let var_cl = l_cl.iter().map(|x| (x - m1).powi(2)).sum::<f64>() / n;
    let cov = l_cl
        .iter()
        .zip(&l_v)
        .map(|(x, y)| (x - m1) * (y - m2))
        .sum::<f64>()
        / n;
    assert!(
        m1.abs() < 0.005 && (var_cl - 0.09).abs() < 0.004 && (cov - 0.03).abs() < 0.003,
        "{m1} {var_cl} {cov}"
    );
    assert!(PopParams::sample(
        &typ,
        &[[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        10,
        1
    )
    .is_err());
}

#[test]
fn population_fast_paths_agree() {
    let typ = PkParams::one_compartment(10.0, 100.0, 1.0, 0.8);
    let omega = [[0.09, 0.0, 0.0], [0.0, 0.04, 0.0], [0.0, 0.0, 0.25]];
    let pop = PopParams::sample(&typ, &omega, 300, 1).unwrap();
    let (mut cf, mut ode) = (vec![0.0; 300 * 25], vec![0.0; 300 * 25]);
    oral_grid_closed_form(&pop, 0.8, 100.0, 1.0, 25, &mut cf).unwrap();
    let e = oral_grid_closed_form(&pop, 0.8, 100.0, 1.0, 24, &mut cf)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("out: buffer holds"), "{e}");
    oral_grid_ode(&pop, 0.8, 100.0, 1.0, 25, OdeOptions::ACCURATE, &mut ode).unwrap();
    for (a, b) in cf.iter().zip(&ode) {
        assert!((a - b).abs() <= 1e-6 * a.abs().max(1e-6), "{a} {b}");
    }
    // The benchmarked FAST tolerances (rtol 1e-6) stay within 1e-4 of the peak.
    oral_grid_ode(&pop, 0.8, 100.0, 1.0, 25, OdeOptions::FAST, &mut ode).unwrap();
    for (row_cf, row_ode) in cf.chunks(25).zip(ode.chunks(25)) {
        let peak = row_cf.iter().copied().fold(0.0, f64::max);
        for (a, b) in row_cf.iter().zip(row_ode) {
            assert!((a - b).abs() <= 1e-4 * peak, "{a} {b}");
        }
    }
}

#[test]
fn population_summary_and_virtual_trial() {
    let lib = DrugLibrary::builtin();
    let tac = lib.get("tacrolimus").unwrap();
    let ind = personalize(tac, &PatientRecord::reference()).unwrap();
    let settings = PopulationSettings {
        n: 2000,
        seed: 11,
        residual_error: false,
    };
    let low = Regimen::new(1.0, 12.0, 14, consentry_simulation::Route::Oral);
    let high = Regimen::new(6.0, 12.0, 14, consentry_simulation::Route::Oral);
    let arms = compare_regimens(tac, &ind.params, &[low.clone(), high], 0.5, settings).unwrap();
    let (a, b) = (&arms[0].summary, &arms[1].summary);
    // Common random numbers: six times the dose gives six times every percentile
    // (linear PK); bands are stored in f32, hence 1e-6.
    for (x, y) in a.p50.iter().zip(&b.p50) {
        assert!((y - 6.0 * x).abs() <= 1e-6 * y.abs().max(1e-12));
    }
    assert!(b.prob_toxicity.unwrap() > a.prob_toxicity.unwrap());
    for s in [a, b] {
        for j in 0..s.p50.len() {
            assert!(s.p05[j] <= s.p50[j] && s.p50[j] <= s.p95[j]);
        }
        let pta = s.prob_target_attainment.unwrap();
        assert!((0.0..=1.0).contains(&pta));
    }
    let times = time_grid(0.0, low.end_h(), 0.5).unwrap();
    let again = simulate_population(tac, &ind.params, &low, &times, settings, None).unwrap();
    assert_eq!(&again, a);
    let with_err = simulate_population(
        tac,
        &ind.params,
        &low,
        &times,
        PopulationSettings {
            residual_error: true,
            ..settings
        },
        None,
    )
    .unwrap();
    assert_ne!(with_err.p50, a.p50);
}

#[test]
fn emax_and_effect_compartment_match_analytic_results() {
    let m = Emax {
        e0: 10.0,
        emax: 90.0,
        ec50: 2.0,
        hill: 2.0,
    };
    assert!((m.effect(2.0) - 55.0).abs() < 1e-12);
    assert!((m.effect(0.0) - 10.0).abs() < 1e-12);
    // Constant C0 from t = 0: Ce(t) = C0·(1 − e^(−ke0 t)).
    let times: Vec<f64> = (0..=100).map(|j| j as f64 * 0.1).collect();
    let conc = vec![3.0; times.len()];
    let ce = effect_compartment(&times, &conc, 0.7).unwrap();
    // The first sample starts at Ce = 0 while C jumps to 3, so compare after the grid's first interval
    // with the exact solution for an input that ramps 3→3 (constant) from Ce(0)=0.
    for (t, c) in times.iter().zip(&ce) {
        assert!((c - 3.0 * (1.0 - (-0.7 * t).exp())).abs() < 1e-12, "t={t}");
    }
    // Linear ramp C = t: Ce = t − (1 − e^(−k t))/k.
    let ramp: Vec<f64> = times.clone();
    let ce = effect_compartment(&times, &ramp, 0.7).unwrap();
    for (t, c) in times.iter().zip(&ce) {
        assert!((c - (t - (1.0 - (-0.7 * t).exp()) / 0.7)).abs() < 1e-12);
    }
}

#[test]
fn indirect_response_reaches_analytic_steady_state() {
    let times: Vec<f64> = (0..=2000).map(|j| j as f64 * 0.5).collect();
    let c = vec![1.0; times.len()];
    for (kind, expect) in [
        (IndirectKind::InhibitProduction, 100.0 * (1.0 - 0.8 * 0.5)),
        (IndirectKind::InhibitLoss, 100.0 / (1.0 - 0.8 * 0.5)),
        (IndirectKind::StimulateProduction, 100.0 * (1.0 + 0.8 * 0.5)),
        (IndirectKind::StimulateLoss, 100.0 / (1.0 + 0.8 * 0.5)),
    ] {
        let m = IndirectResponse {
            kind,
            kin: 5.0,
            kout: 0.05,
            max_effect: 0.8,
            c50: 1.0,
            hill: 1.0,
        };
        let r = m.simulate(&times, &c).unwrap();
        assert!((r[0] - 100.0).abs() < 1e-12);
        assert!(
            (r.last().unwrap() - expect).abs() < 1e-6,
            "{kind:?}: {} vs {expect}",
            r.last().unwrap()
        );
    }
    // Type I transient, constant drive: R(t) = Rss + (R0 − Rss)e^(−kout t).
    let m = IndirectResponse {
        kind: IndirectKind::InhibitProduction,
        kin: 5.0,
        kout: 0.05,
        max_effect: 0.8,
        c50: 1.0,
        hill: 1.0,
    };
    let r = m.simulate(&times, &c).unwrap();
    for (t, v) in times.iter().zip(&r).step_by(50) {
        let exact = 60.0 + 40.0 * (-0.05 * t).exp();
        assert!((v - exact).abs() < 1e-6, "t={t}: {v} vs {exact}");
    }
}

#[test]
fn adr_risk_uses_only_exposure_above_threshold() {
    let t = [0.0, 1.0, 2.0];
    assert_eq!(adr_risk(&t, &[0.0, 1.0, 0.0], 2.0, 1.0), 0.0);
    // Triangle above threshold 1: peak 3 at t=1 → area = 2·1 = 2 (two triangles of base 1, height 2).
    let r = adr_risk(&t, &[1.0, 3.0, 1.0], 1.0, 0.5);
    assert!((r - (1.0 - (-1.0_f64).exp())).abs() < 1e-12);
    // Crossing segment: C 0→2 over 1 h, threshold 1 → area 0.25.
    let r = adr_risk(&[0.0, 1.0], &[0.0, 2.0], 1.0, 1.0);
    assert!((r - (1.0 - (-0.25_f64).exp())).abs() < 1e-12);
}
