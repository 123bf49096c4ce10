//! Numerical checks of the PK engines against textbook results.

use consentry_simulation::pk::ode::{simulate, OdeOptions};
use consentry_simulation::pk::one_compartment::{
    accumulation_factor, oral_concentration, oral_grid,
};
use consentry_simulation::pk::{closed_form, Dose, PkParams, Route};
use consentry_simulation::regimen::{time_grid, LateDose, Regimen};

fn rel_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

fn assert_ode_matches(p: &PkParams, doses: &[Dose], times: &[f64]) {
    let cf = closed_form::concentrations(p, doses, times).unwrap();
    let ode = simulate(p, doses, times, OdeOptions::ACCURATE).unwrap();
    let peak = cf.iter().copied().fold(0.0, f64::max);
    let mut worst = 0.0_f64;
    for (j, (&a, &b)) in ode.conc.iter().zip(&cf).enumerate() {
        // Relative error where the concentration is meaningful; points that are
        // exactly zero in the closed form (before absorption starts) must be ~0.
        if b > 1e-6 * peak {
            let e = rel_err(a, b);
            worst = worst.max(e);
            assert!(e < 1e-6, "t={} ode={a} closed={b} rel={e}", times[j]);
        } else {
            assert!(a.abs() < 1e-9 * peak, "t={} ode={a} closed={b}", times[j]);
        }
    }
    assert!(worst < 1e-6);
}

#[test]
fn eq5_closed_form_satisfies_the_ode() {
    // Independent check of eq. 5: finite-difference dC/dt must equal
    // F·D·ka·e^(−ka t)/Vd − (CL/Vd)·C.
    let (f, d, ka, v, cl) = (0.5, 100.0, 1.2, 50.0, 5.0);
    for &t in &[0.5, 1.0, 3.0, 10.0, 30.0] {
        let h = 1e-5;
        let dcdt = (oral_concentration(t + h, f, d, ka, v, cl)
            - oral_concentration(t - h, f, d, ka, v, cl))
            / (2.0 * h);
        let rhs =
            f * d * ka * (-ka * t).exp() / v - cl / v * oral_concentration(t, f, d, ka, v, cl);
        assert!((dcdt - rhs).abs() < 1e-7, "t={t}: {dcdt} vs {rhs}");
    }
    // ka == k limit is continuous.
    let k = cl / v;
    let near = oral_concentration(2.0, f, d, k * (1.0 + 1e-7), v, cl);
    let at = oral_concentration(2.0, f, d, k, v, cl);
    assert!(rel_err(near, at) < 1e-5);
}

#[test]
fn grid_kernel_matches_pointwise_formula() {
    let mut out = vec![0.0; 25];
    oral_grid(&mut out, 1.0, 0.8, 200.0, 0.9, 40.0, 4.0);
    for (j, &c) in out.iter().enumerate() {
        let exact = oral_concentration(j as f64, 0.8, 200.0, 0.9, 40.0, 4.0);
        assert!((c - exact).abs() <= 1e-12 * exact.max(1e-3));
    }
}

#[test]
fn ode_matches_closed_form_oral_multiple_dose_with_lag_missed_and_late() {
    let p = PkParams {
        tlag_h: 0.5,
        ..PkParams::one_compartment(6.0, 60.0, 1.1, 0.7)
    };
    let mut r = Regimen::new(100.0, 12.0, 14, Route::Oral);
    r.loading_dose_mg = Some(200.0);
    r.missed = vec![4];
    r.late = vec![LateDose {
        index: 7,
        delay_h: 3.0,
    }];
    let times = time_grid(0.0, r.end_h(), 0.25).unwrap();
    assert_ode_matches(&p, &r.doses().unwrap(), &times);
}

#[test]
fn ode_matches_closed_form_iv_bolus_infusion_and_two_compartment() {
    let two = PkParams {
        cl_l_h: 4.5,
        v_l: 58.4,
        ka_per_h: 1.0,
        f: 1.0,
        tlag_h: 0.0,
        q_l_h: 6.5,
        v2_l: 38.4,
    };
    let inf = Regimen::new(1000.0, 12.0, 8, Route::Infusion { duration_h: 1.0 });
    let times = time_grid(0.0, inf.end_h(), 0.5).unwrap();
    assert_ode_matches(&two, &inf.doses().unwrap(), &times);
    let bolus = Regimen::new(500.0, 8.0, 9, Route::IvBolus);
    let times = time_grid(0.0, bolus.end_h(), 0.5).unwrap();
    assert_ode_matches(&two, &bolus.doses().unwrap(), &times);
    let one = PkParams::one_compartment(3.0, 30.0, 1.0, 1.0);
    assert_ode_matches(&one, &bolus.doses().unwrap(), &times);
    // Two-compartment oral with lag, irregular observation times.
    let oral2 = PkParams {
        tlag_h: 0.3,
        ka_per_h: 2.0,
        f: 0.6,
        ..two
    };
    let r = Regimen::new(300.0, 24.0, 5, Route::Oral);
    let irregular: Vec<f64> = (0..200).map(|j| 0.013 + j as f64 * 0.6).collect();
    assert_ode_matches(&oral2, &r.doses().unwrap(), &irregular);
}

#[test]
fn mass_balance_holds_in_the_ode() {
    let p = PkParams {
        cl_l_h: 4.0,
        v_l: 30.0,
        ka_per_h: 0.8,
        f: 0.6,
        tlag_h: 0.25,
        q_l_h: 3.0,
        v2_l: 50.0,
    };
    let doses = vec![
        Dose {
            time_h: 0.0,
            amount_mg: 100.0,
            route: Route::Oral,
        },
        Dose {
            time_h: 6.0,
            amount_mg: 50.0,
            route: Route::IvBolus,
        },
        Dose {
            time_h: 10.0,
            amount_mg: 80.0,
            route: Route::Infusion { duration_h: 4.0 },
        },
    ];
    let times = time_grid(0.0, 48.0, 0.5).unwrap();
    let sol = simulate(&p, &doses, &times, OdeOptions::ACCURATE).unwrap();
    for (t, a) in times.iter().zip(&sol.amounts) {
        let total: f64 = a.iter().sum();
        // Input by hand: F·oral after its lag, bolus at 6 h, infusion 20 mg/h from 10 to 14 h.
        let expect = if *t >= 0.25 { 60.0 } else { 0.0 }
            + if *t >= 6.0 { 50.0 } else { 0.0 }
            + 20.0 * (t - 10.0).clamp(0.0, 4.0);
        assert!(
            (total - expect).abs() < 1e-7 * expect.max(1.0),
            "t={t}: {total} vs {expect}"
        );
        assert!(a.iter().all(|&x| x >= -1e-9));
    }
    // Eliminated amount equals CL·AUC of the central concentration (fine grid
    // so that trapezoid error stays below 1e-4).
    let fine = time_grid(0.0, 48.0, 0.005).unwrap();
    let sol_f = simulate(&p, &doses, &fine, OdeOptions::ACCURATE).unwrap();
    // The trapezoid over [6 − h, 6] treats the bolus jump 50/V as linear and so
    // adds a spurious h/2 · 50/V, removed here.
    let auc = consentry_simulation::metrics::auc(&fine, &sol_f.conc, 0.0, 48.0)
        - 0.5 * 0.005 * 50.0 / p.v_l;
    let elim = sol.amounts.last().unwrap()[3];
    assert!(
        rel_err(elim, p.cl_l_h * auc) < 1e-4,
        "{elim} vs {}",
        p.cl_l_h * auc
    );
}

#[test]
fn single_dose_auc_is_f_dose_over_cl() {
    // Textbook: AUC0–∞ = F·D/CL for any linear model.
    let p = PkParams {
        cl_l_h: 5.0,
        v_l: 40.0,
        ka_per_h: 1.5,
        f: 0.8,
        tlag_h: 0.5,
        q_l_h: 2.0,
        v2_l: 60.0,
    };
    let doses = [Dose {
        time_h: 0.0,
        amount_mg: 250.0,
        route: Route::Oral,
    }];
    let times = time_grid(0.0, 600.0, 0.05).unwrap();
    let c = closed_form::concentrations(&p, &doses, &times).unwrap();
    let m = consentry_simulation::metrics::profile_metrics(
        &times,
        &c,
        0.0,
        600.0,
        p.terminal_rate(),
        None,
    );
    assert!(
        rel_err(m.auc_inf, 0.8 * 250.0 / 5.0) < 1e-3,
        "{}",
        m.auc_inf
    );
}

#[test]
fn steady_state_accumulation_matches_textbook_factor() {
    // IV bolus, one compartment: C_ss(t)/C_1(t) = R = 1/(1 − e^(−kτ)) exactly.
    let p = PkParams::one_compartment(5.0, 50.0, 1.0, 1.0);
    let k = p.k10();
    let tau = 8.0;
    let n = 40; // e^(−k·n·τ) = e^(−32) ≈ 1e-14: steady state to machine precision.
    let r = accumulation_factor(k, tau);
    assert!(rel_err(r, 1.0 / (1.0 - (-0.8_f64).exp())) < 1e-15);
    let doses = Regimen::new(100.0, tau, n, Route::IvBolus).doses().unwrap();
    let last = (n - 1) as f64 * tau;
    for dt in [0.0, 1.0, 4.0, 7.5] {
        let t = [dt, last + dt];
        let cf = closed_form::concentrations(&p, &doses, &t).unwrap();
        let ode = simulate(&p, &doses, &t, OdeOptions::ACCURATE).unwrap().conc;
        let c1 = 100.0 / 50.0 * (-k * dt).exp();
        assert!(rel_err(cf[1] / c1, r) < 1e-9);
        assert!(
            rel_err(ode[1] / c1, r) < 1e-6,
            "ode ratio {} vs R {r}",
            ode[1] / c1
        );
    }
    // Oral: AUC over a steady-state interval equals single-dose AUC0–∞ = F·D/CL.
    let po = PkParams::one_compartment(5.0, 50.0, 1.2, 0.6);
    let reg = Regimen::new(100.0, tau, n, Route::Oral);
    let times = time_grid(0.0, reg.end_h(), 0.01).unwrap();
    let c = closed_form::concentrations(&po, &reg.doses().unwrap(), &times).unwrap();
    let auc_ss = consentry_simulation::metrics::auc(&times, &c, last, last + tau);
    assert!(rel_err(auc_ss, 0.6 * 100.0 / 5.0) < 1e-4, "{auc_ss}");
}

#[test]
fn bad_parameters_are_typed_errors() {
    let bad = PkParams::one_compartment(-1.0, 50.0, 1.0, 1.0);
    let e = closed_form::concentrations(&bad, &[], &[0.0])
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("pk.cl_l_h:"), "{e}");
    let e = Regimen::new(100.0, 0.0, 3, Route::Oral)
        .doses()
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("regimen.interval_h:"), "{e}");
    let e = simulate(
        &PkParams::one_compartment(1.0, 1.0, 1.0, 1.5),
        &[],
        &[0.0],
        OdeOptions::FAST,
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("pk.f:"), "{e}");
}

#[test]
fn grid_recurrence_equals_pointwise_superposition() {
    let cases = [
        (
            PkParams {
                tlag_h: 0.37,
                ..PkParams::one_compartment(6.0, 60.0, 1.1, 0.7)
            },
            Route::Oral,
        ),
        (
            PkParams {
                cl_l_h: 4.5,
                v_l: 58.4,
                ka_per_h: 2.0,
                f: 0.6,
                tlag_h: 0.0,
                q_l_h: 6.5,
                v2_l: 38.4,
            },
            Route::Oral,
        ),
        (
            PkParams {
                cl_l_h: 4.5,
                v_l: 58.4,
                ka_per_h: 1.0,
                f: 1.0,
                tlag_h: 0.0,
                q_l_h: 6.5,
                v2_l: 38.4,
            },
            Route::Infusion { duration_h: 1.3 },
        ),
        (
            PkParams::one_compartment(3.0, 30.0, 1.0, 1.0),
            Route::IvBolus,
        ),
        // ka == k: removable singularity handled pointwise.
        (PkParams::one_compartment(3.0, 30.0, 0.1, 1.0), Route::Oral),
    ];
    for (p, route) in cases {
        let mut r = Regimen::new(100.0, 12.0, 14, route);
        r.late = vec![LateDose {
            index: 3,
            delay_h: 1.1,
        }];
        let doses = r.doses().unwrap();
        let times = time_grid(-2.0, r.end_h(), 0.25).unwrap();
        let pointwise = closed_form::concentrations(&p, &doses, &times).unwrap();
        let mut grid = vec![0.0; times.len()];
        closed_form::concentrations_grid(&p, &p.disposition(), &doses, -2.0, 0.25, &mut grid);
        let peak = pointwise.iter().copied().fold(0.0, f64::max);
        for (j, (a, b)) in grid.iter().zip(&pointwise).enumerate() {
            assert!(
                (a - b).abs() <= 1e-11 * peak,
                "{route:?} t={}: {a} vs {b}",
                times[j]
            );
        }
    }
}
