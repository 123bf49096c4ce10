//! Criterion benchmarks of the living twin: MAP fits and dose recommendations per second.
//!
//! Run: `cargo bench -p consentry-simulation --bench mipd` (figures in docs/BENCHMARKS.md).

use std::hint::black_box;
use std::time::Duration;

use consentry_simulation::mipd::{fit, recommend, FitSettings, RecommendSettings};
use consentry_simulation::pk::{Dose, Route};
use consentry_simulation::tdm::{Level, TdmRecord};
use consentry_simulation::{personalize, DrugLibrary, PatientRecord};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn twin(c: &mut Criterion) {
    let lib = DrugLibrary::builtin();
    let patient = PatientRecord::reference();
    let level = |time_h, conc_mg_l| Level { time_h, conc_mg_l };
    // Vancomycin: two-compartment infusion, peak and trough after the 4th dose (two η).
    let vanco = lib.get("vancomycin").unwrap();
    let vanco_tdm = TdmRecord {
        doses: (0..4)
            .map(|k| Dose {
                time_h: 12.0 * k as f64,
                amount_mg: 1000.0,
                route: Route::Infusion { duration_h: 1.0 },
            })
            .collect(),
        levels: vec![level(38.0, 31.5), level(47.5, 18.2)],
    };
    // Tacrolimus: one-compartment oral with lag, two troughs and a peak (three η).
    let tacro = lib.get("tacrolimus").unwrap();
    let tacro_tdm = TdmRecord {
        doses: (0..8)
            .map(|k| Dose {
                time_h: 12.0 * k as f64,
                amount_mg: 3.0,
                route: Route::Oral,
            })
            .collect(),
        levels: vec![level(71.5, 0.009), level(85.5, 0.019), level(95.5, 0.0088)],
    };
    let mut g = c.benchmark_group("twin");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(8));
    for (name, drug, tdm) in [
        ("vancomycin", vanco, &vanco_tdm),
        ("tacrolimus", tacro, &tacro_tdm),
    ] {
        let prior = personalize(drug, &patient).unwrap().params;
        // The fit alone (no posterior draws) and with the 1000 draws a recommendation uses.
        let bare = FitSettings {
            draws: 0,
            ..FitSettings::default()
        };
        g.bench_function(format!("{name}/fit"), |b| {
            b.iter(|| fit(drug, prior, black_box(tdm), bare).unwrap())
        });
        let f = fit(drug, prior, tdm, FitSettings::default()).unwrap();
        g.bench_function(format!("{name}/fit+1000_draws"), |b| {
            b.iter(|| fit(drug, prior, black_box(tdm), FitSettings::default()).unwrap())
        });
        g.bench_function(format!("{name}/recommend_1000_draws"), |b| {
            b.iter(|| {
                recommend(
                    drug,
                    black_box(&f),
                    &tdm.doses,
                    &RecommendSettings::default(),
                )
                .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, twin);
criterion_main!(benches);
