//! Prints simulated poor/normal exposure ratios next to the literature range
//! cited in each drug file: `cargo run --release --example pgx_ratios`.

use consentry_simulation::pk::{closed_form, Dose};
use consentry_simulation::{personalize, DrugLibrary, PatientRecord};

fn auc_inf(drug: &consentry_simulation::DrugSpec, gene: &str, dip: &str) -> f64 {
    let mut p = PatientRecord::reference();
    p.genotypes.insert(gene.into(), dip.into());
    let ind = personalize(drug, &p).expect("library drug personalises");
    let r = &drug.default_regimen;
    let dose = [Dose {
        time_h: 0.0,
        amount_mg: r.dose_mg,
        route: r.route,
    }];
    let horizon = 12.0 * std::f64::consts::LN_2 / ind.params.terminal_rate() + 48.0;
    let h = horizon / 20_000.0;
    let times: Vec<f64> = (0..=20_000).map(|j| j as f64 * h).collect();
    let c = closed_form::profile(&ind.params, &dose, &times).expect("valid parameters");
    consentry_simulation::metrics::profile_metrics(
        &times,
        &c,
        0.0,
        horizon,
        ind.params.terminal_rate(),
        None,
    )
    .auc_inf
}

fn main() {
    println!("| drug | gene | poor vs normal | simulated AUC ratio | literature range | source |");
    println!("|---|---|---|---|---|---|");
    for d in DrugLibrary::builtin().iter() {
        for e in &d.expected_ratio {
            let ratio =
                auc_inf(d, &e.gene, &e.poor_diplotype) / auc_inf(d, &e.gene, &e.normal_diplotype);
            println!(
                "| {} | {} | {} vs {} | {:.2} | {}–{} | {} |",
                d.name,
                e.gene,
                e.poor_diplotype,
                e.normal_diplotype,
                ratio,
                e.ratio_min,
                e.ratio_max,
                e.source
            );
        }
    }
}
