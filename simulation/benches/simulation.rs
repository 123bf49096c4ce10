//! Criterion benchmarks: single-patient latency and population throughput.
//!
//! Run: `cargo bench -p consentry-simulation --bench simulation`

use std::hint::black_box;
use std::time::Duration;

use consentry_simulation::pk::ode::{simulate, OdeOptions};
use consentry_simulation::pk::{closed_form, PkParams};
use consentry_simulation::population::{oral_grid_closed_form, oral_grid_ode, PopParams};
use consentry_simulation::regimen::time_grid;
use consentry_simulation::{personalize, DrugLibrary, PatientRecord};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const OMEGA: [[f64; 3]; 3] = [[0.09, 0.0, 0.0], [0.0, 0.04, 0.0], [0.0, 0.0, 0.25]];

fn single_patient(c: &mut Criterion) {
    let lib = DrugLibrary::builtin();
    let meto = lib.get("metoprolol").unwrap();
    let patient = PatientRecord::reference();
    // 7 days of metoprolol 100 mg q12h, 15-min grid (673 points).
    let regimen = consentry_simulation::Regimen {
        n_doses: 14,
        ..meto.default_regimen.clone()
    };
    let times = time_grid(0.0, 168.0, 0.25).unwrap();
    let mut g = c.benchmark_group("single_patient_7day");
    g.bench_function("personalize+closed_form", |b| {
        b.iter(|| {
            let ind = personalize(meto, black_box(&patient)).unwrap();
            let doses = regimen.doses().unwrap();
            closed_form::profile(&ind.params, &doses, &times).unwrap()
        })
    });
    let ind = personalize(meto, &patient).unwrap();
    let doses = regimen.doses().unwrap();
    g.bench_function("ode_dopri5_accurate", |b| {
        b.iter(|| simulate(&ind.params, &doses, black_box(&times), OdeOptions::ACCURATE).unwrap())
    });
    g.bench_function("ode_dopri5_fast", |b| {
        b.iter(|| simulate(&ind.params, &doses, black_box(&times), OdeOptions::FAST).unwrap())
    });
    g.finish();
}

fn population(c: &mut Criterion) {
    let typ = PkParams::one_compartment(10.0, 100.0, 1.0, 0.8);
    let n_t = 25; // hourly, 0..=24 h
    let mut g = c.benchmark_group("population_oral_24h");
    g.sample_size(10).measurement_time(Duration::from_secs(8));

    let n = 1_000_000;
    let pop = PopParams::sample(&typ, &OMEGA, n, 1).unwrap();
    let mut out = vec![0.0; n * n_t];
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("closed_form_1M", |b| {
        b.iter(|| oral_grid_closed_form(black_box(&pop), 0.8, 100.0, 1.0, n_t, &mut out).unwrap())
    });
    g.bench_function("sample+closed_form_1M", |b| {
        b.iter(|| {
            let pop = PopParams::sample(&typ, &OMEGA, n, black_box(2)).unwrap();
            oral_grid_closed_form(&pop, 0.8, 100.0, 1.0, n_t, &mut out).unwrap()
        })
    });
    drop(out);

    let n = 20_000;
    let pop = PopParams::sample(&typ, &OMEGA, n, 1).unwrap();
    let mut out = vec![0.0; n * n_t];
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("ode_fast_20k", |b| {
        b.iter(|| {
            oral_grid_ode(
                black_box(&pop),
                0.8,
                100.0,
                1.0,
                n_t,
                OdeOptions::FAST,
                &mut out,
            )
            .unwrap()
        })
    });
    g.bench_function("ode_pharmsol_default_tol_20k", |b| {
        b.iter(|| {
            oral_grid_ode(
                black_box(&pop),
                0.8,
                100.0,
                1.0,
                n_t,
                OdeOptions {
                    rtol: 1e-4,
                    atol: 1e-4,
                },
                &mut out,
            )
            .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, single_patient, population);
criterion_main!(benches);
