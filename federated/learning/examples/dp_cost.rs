//! Cost of patient-level DP-SGD in candle: one backward pass per patient vs.
//! one per mini-batch. `cargo run --release -p consentry-federated --example dp_cost [bilstm_hidden d_model seq_len]`
use std::time::Instant;

use anyhow::Result;
use candle_core::Device;
use consentry_federated::client::{DpSgd, LocalTraining, SiteClient};
use consentry_federated::data::{CohortSpec, StudyData};
use consentry_federated::model::ModelSpec;
use consentry_federated::optim::OptimizerKind;

fn main() -> Result<()> {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|s| s.parse().ok())
        .collect();
    let mut spec = ModelSpec::default();
    let mut cohort = CohortSpec {
        n_patients: 3000,
        ..Default::default()
    };
    if a.len() == 3 {
        spec.bilstm.hidden = a[0];
        spec.transformer.d_model = a[1];
        spec.transformer.ff_dim = 2 * a[1];
        cohort.seq_len = a[2];
    }
    let t = Instant::now();
    let data = StudyData::generate(&cohort)?;
    println!(
        "cohort {} rows: {:.2}s",
        cohort.n_patients,
        t.elapsed().as_secs_f64()
    );
    let dev = Device::Cpu;
    let rows: Vec<usize> = data.pool[..1000].to_vec();
    let ids: Vec<String> = rows.iter().map(|&r| data.patient_id(r)).collect();
    let model = spec.build(&data.prepared.spec, 1, &dev)?;
    println!("params: {}", model.n_params());
    let mut site = SiteClient::new(
        0,
        ids.clone(),
        data.tensors(&rows, &dev)?,
        model,
        data.adr_pos_weight,
    )?;
    let global = consentry_federated::params::flatten(&site.model().varmap)?;
    let dp = LocalTraining {
        optimizer: OptimizerKind::Adam,
        lr: 1e-3,
        epochs: 1,
        batch_size: 64,
        dp: Some(DpSgd {
            sampling_rate: 0.1,
            noise_multiplier: 1.0,
            clip_norm: 1.0,
            steps: 3,
        }),
        seeded_noise: true,
    };
    let u = site.train_round(&global, &ids, &dp, 1)?;
    println!(
        "DP-SGD: {} per-patient gradients in {:.2}s = {:.2} ms each",
        u.examples,
        u.secs,
        1e3 * u.secs / u.examples as f64
    );
    let plain = LocalTraining { dp: None, ..dp };
    let u = site.train_round(&global, &ids, &plain, 1)?;
    println!(
        "no DP: {} rows in batches of 64 in {:.2}s = {:.3} ms per row",
        u.examples,
        u.secs,
        1e3 * u.secs / u.examples as f64
    );
    Ok(())
}
