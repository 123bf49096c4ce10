//! Parameter count of the federated hybrid for an inference config (default
//! `inference/configs/small.toml`) and for the study's grid model:
//! `cargo run --release -p consentry-federated --example param_count [config.toml]`.
use anyhow::Result;
use candle_core::Device;
use consentry_federated::model::ModelSpec;
use consentry_inference::config::InferenceConfig;
use consentry_inference::features::FeatureSpec;

fn main() -> Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "inference/configs/small.toml".into());
    let cfg = InferenceConfig::load(std::path::Path::new(&path))?;
    let drugs = consentry_simulation_drugs();
    for (name, spec, seq_len) in [
        (
            path.as_str(),
            ModelSpec::from_inference(&cfg),
            cfg.cohort.seq_len,
        ),
        (
            "grid model (ModelSpec::default, seq_len 8)",
            ModelSpec::default(),
            8,
        ),
    ] {
        let fs = FeatureSpec {
            drugs: drugs.clone(),
            seq_len,
        };
        let m = spec.build(&fs, 1, &Device::Cpu)?;
        println!("{name}: {} parameters", m.n_params());
    }
    Ok(())
}

/// The cohort's drug list (five built-in drugs): the one-hot width of the tabular view.
fn consentry_simulation_drugs() -> Vec<String> {
    [
        "metoprolol",
        "warfarin",
        "simvastatin",
        "tacrolimus",
        "vancomycin",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}
