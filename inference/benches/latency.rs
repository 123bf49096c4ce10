//! Hybrid inference latency (batch 1) and throughput (batch 256) on the
//! default device, small config (`configs/small.toml`) unless
//! `CONSENTRY_BENCH_CONFIG` points at another TOML (e.g. `configs/seed.toml`).
//! Weights are freshly initialised: timing does not depend on their values.
//! The PyTorch side of the comparison is `benches/torch_reference.py`.

use candle_core::{DType, Tensor};
use consentry_inference::config::InferenceConfig;
use consentry_inference::features::FeatureSpec;
use consentry_inference::train::{NeuralKind, NeuralModel, Tensors};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn config() -> InferenceConfig {
    let path = std::env::var("CONSENTRY_BENCH_CONFIG")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/configs/small.toml").into());
    InferenceConfig::load(std::path::Path::new(&path)).expect("bench config")
}

fn bench(c: &mut Criterion) {
    let cfg = config();
    let dev = consentry_inference::default_device();
    let spec = FeatureSpec {
        drugs: (0..5).map(|i| format!("drug{i}")).collect(),
        seq_len: cfg.cohort.seq_len,
    };
    let model = NeuralModel::build(NeuralKind::Hybrid, &cfg, &spec, 1, &dev).expect("model");
    let mut g = c.benchmark_group("hybrid_forward");
    g.sample_size(20);
    for b in [1usize, 256] {
        let t = Tensors {
            values: Tensor::randn(0f32, 1.0, (b, spec.n_tabular()), &dev).unwrap(),
            missing: Tensor::zeros((b, spec.n_tabular()), DType::F32, &dev).unwrap(),
            seq: Tensor::randn(0f32, 1.0, (b, spec.seq_len, spec.seq_channels()), &dev).unwrap(),
            gbdt: Tensor::randn(0f32, 1.0, (b, 2), &dev).unwrap(),
            y: Tensor::zeros((b, 2), DType::F32, &dev).unwrap(),
        };
        g.throughput(Throughput::Elements(b as u64));
        g.bench_with_input(BenchmarkId::from_parameter(b), &t, |bench, t| {
            bench.iter(|| {
                let p = candle_nn::ops::sigmoid(&model.forward(t, false).unwrap()).unwrap();
                // Forces the result off the device so GPU timings include completion.
                p.to_vec2::<f32>().unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
