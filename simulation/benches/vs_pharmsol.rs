//! Same work in pharmsol 0.27.1: one-compartment oral model, one dose,
//! hourly predictions over 24 h (25 points), per-patient parameters drawn
//! from the same log-normal distribution, parallel over patients with rayon.
//!
//! Run: `cargo bench -p consentry-simulation --bench vs_pharmsol`

use std::hint::black_box;
use std::time::Duration;

use consentry_simulation::pk::ode::OdeOptions;
use consentry_simulation::pk::PkParams;
use consentry_simulation::population::{oral_grid_closed_form, oral_grid_ode, PopParams};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pharmsol::prelude::*;
use pharmsol::{Cache, Parameters};
use rayon::prelude::*;

const OMEGA: [[f64; 3]; 3] = [[0.09, 0.0, 0.0], [0.0, 0.04, 0.0], [0.0, 0.0, 0.25]];
const DOSE: f64 = 100.0;
const F: f64 = 0.8;

fn subject() -> Subject {
    let mut b = Subject::builder("1").bolus(0.0, F * DOSE, "oral");
    for h in 0..=24 {
        b = b.observation(h as f64, 0.0, "cp");
    }
    b.build()
}

fn compare(c: &mut Criterion) {
    let analytical = analytical! {
        name: "one_cmt_oral",
        params: [ka, ke, v],
        states: [gut, central],
        outputs: [cp],
        routes: [
            bolus(oral) -> gut,
        ],
        structure: one_compartment_with_absorption,
        out: |x, _p, _t, _cov, y| {
            y[cp] = x[central] / v;
        },
    }
    .disable_cache();
    let ode = ode! {
        name: "one_cmt_oral",
        params: [ka, ke, v],
        states: [gut, central],
        outputs: [cp],
        routes: [
            bolus(oral) -> gut,
        ],
        diffeq: |x, _p, _t, dx, _cov| {
            dx[gut] = -ka * x[gut];
            dx[central] = ka * x[gut] - ke * x[central];
        },
        out: |x, _p, _t, _cov, y| {
            y[cp] = x[central] / v;
        },
    }
    .disable_cache();
    let ode_matched = ode.clone().with_tolerances(1e-6, 1e-9);
    let subj = subject();
    let typ = PkParams::one_compartment(10.0, 100.0, 1.0, F);

    let mut g = c.benchmark_group("vs_pharmsol_oral_24h");
    g.sample_size(10).measurement_time(Duration::from_secs(8));

    for (n_cf, n_ode) in [(200_000usize, 10_000usize)] {
        let pop = PopParams::sample(&typ, &OMEGA, n_cf, 1).unwrap();
        // Parameters are built outside the timed region for both libraries.
        let params: Vec<Parameters> = (0..n_cf)
            .map(|i| {
                Parameters::with_model(
                    &analytical,
                    [
                        ("ka", pop.ka[i]),
                        ("ke", pop.cl[i] / pop.v[i]),
                        ("v", pop.v[i]),
                    ],
                )
                .unwrap()
            })
            .collect();
        // Sanity: both libraries agree on patient 0.
        let pred = analytical.estimate_predictions(&subj, &params[0]).unwrap();
        let mut mine = vec![0.0; 25];
        consentry_simulation::pk::one_compartment::oral_grid(
            &mut mine, 1.0, F, DOSE, pop.ka[0], pop.v[0], pop.cl[0],
        );
        for (p, m) in pred.predictions().iter().zip(&mine) {
            assert!(
                (p.prediction() - m).abs() <= 1e-9 * m.abs().max(1e-9),
                "{} vs {m}",
                p.prediction()
            );
        }

        let mut out = vec![0.0; n_cf * 25];
        g.throughput(Throughput::Elements(n_cf as u64));
        g.bench_function(format!("consentry_closed_form_{n_cf}"), |b| {
            b.iter(|| oral_grid_closed_form(black_box(&pop), F, DOSE, 1.0, 25, &mut out).unwrap())
        });
        g.bench_function(format!("pharmsol_analytical_{n_cf}"), |b| {
            b.iter(|| {
                params
                    .par_iter()
                    .map(|p| {
                        analytical
                            .estimate_predictions(&subj, p)
                            .unwrap()
                            .predictions()
                            .len()
                    })
                    .sum::<usize>()
            })
        });

        let pop_o = PopParams {
            cl: pop.cl[..n_ode].to_vec(),
            v: pop.v[..n_ode].to_vec(),
            ka: pop.ka[..n_ode].to_vec(),
        };
        let mut out = vec![0.0; n_ode * 25];
        g.throughput(Throughput::Elements(n_ode as u64));
        g.bench_function(format!("consentry_ode_rtol1e-6_{n_ode}"), |b| {
            b.iter(|| {
                oral_grid_ode(
                    black_box(&pop_o),
                    F,
                    DOSE,
                    1.0,
                    25,
                    OdeOptions::FAST,
                    &mut out,
                )
                .unwrap()
            })
        });
        g.bench_function(format!("consentry_ode_rtol1e-4_{n_ode}"), |b| {
            b.iter(|| {
                oral_grid_ode(
                    black_box(&pop_o),
                    F,
                    DOSE,
                    1.0,
                    25,
                    OdeOptions {
                        rtol: 1e-4,
                        atol: 1e-4,
                    },
                    &mut out,
                )
                .unwrap()
            })
        });
        g.bench_function(format!("pharmsol_ode_default_rtol1e-4_{n_ode}"), |b| {
            b.iter(|| {
                params[..n_ode]
                    .par_iter()
                    .map(|p| {
                        ode.estimate_predictions(&subj, p)
                            .unwrap()
                            .predictions()
                            .len()
                    })
                    .sum::<usize>()
            })
        });
        g.bench_function(format!("pharmsol_ode_rtol1e-6_{n_ode}"), |b| {
            b.iter(|| {
                params[..n_ode]
                    .par_iter()
                    .map(|p| {
                        ode_matched
                            .estimate_predictions(&subj, p)
                            .unwrap()
                            .predictions()
                            .len()
                    })
                    .sum::<usize>()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, compare);
criterion_main!(benches);
