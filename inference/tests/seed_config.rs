//! The seed paper's sizes are one config (`configs/seed.toml`): it loads, says what §3.3 says, and
//! builds a hybrid of those sizes that runs. Training it is a GPU job (`inference/README.md`).

mod common;

use candle_core::{DType, Device, Tensor};
use consentry_inference::config::InferenceConfig;
use consentry_inference::features::FeatureSpec;
use consentry_inference::models::fusion::Hybrid;
use consentry_inference::nn::seeded_var_builder;

#[test]
fn the_seed_config_has_the_papers_sizes_and_builds_a_hybrid_that_runs() {
    let cfg = InferenceConfig::load(&common::config_file("seed.toml")).unwrap();
    assert_eq!((cfg.bilstm.layers, cfg.bilstm.hidden), (3, 256));
    assert_eq!(
        (
            cfg.transformer.d_model,
            cfg.transformer.heads,
            cfg.transformer.layers
        ),
        (512, 8, 4)
    );
    assert_eq!(cfg.gbdt.max_depth, 8);

    let spec = FeatureSpec {
        drugs: vec!["warfarin".into(), "tacrolimus".into()],
        seq_len: cfg.cohort.seq_len,
    };
    let map = candle_nn::VarMap::new();
    let vb = seeded_var_builder(&map, 1, &Device::Cpu);
    let (f, c) = (spec.n_tabular(), spec.seq_channels());
    let hybrid = Hybrid::new(&cfg.bilstm, &cfg.transformer, &cfg.fusion, f, c, vb).unwrap();
    assert_eq!(
        hybrid.lstm.out_dim(),
        2 * 256,
        "bidirectional, 256 per direction"
    );
    assert_eq!(hybrid.transformer.out_dim(), 512);

    let b = 2;
    let dev = Device::Cpu;
    let gbdt = Tensor::randn(0f32, 1.0, (b, 2), &dev).unwrap();
    let seq = Tensor::randn(0f32, 1.0, (b, spec.seq_len, c), &dev).unwrap();
    let values = Tensor::randn(0f32, 1.0, (b, f), &dev).unwrap();
    let missing = Tensor::zeros((b, f), DType::F32, &dev).unwrap();
    let logits = hybrid
        .forward(&gbdt, &seq, &values, &missing, false)
        .unwrap();
    assert_eq!(logits.dims(), &[b, 2]);
    let logits: Vec<Vec<f32>> = logits.to_vec2().unwrap();
    assert!(logits.iter().flatten().all(|x| x.is_finite()));
}
