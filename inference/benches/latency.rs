//! Hybrid inference latency (batch 1) and throughput (batch 256), small config
//! (`configs/small.toml`) unless `CONSENTRY_BENCH_CONFIG` points at another
//! TOML (e.g. `configs/seed.toml`).
//!
//! Device: `CONSENTRY_DEVICE` (`cpu`, `cuda`, `cuda:N`, `auto`). Unset, a
//! default build benches the CPU and a `--features cuda` build the GPU
//! (`cuda:0`), failing with a message that names `CONSENTRY_DEVICE` when no
//! GPU can be opened, so a GPU run can never silently time the CPU:
//! `cargo bench -p consentry-inference --features cuda --bench latency`
//! (built without nvcc by `inference/scripts/cuda-build.sh --bench latency`).
//! criterion owns the command line, hence an environment variable rather
//! than a `--device` flag.
//! Weights are freshly initialised: timing does not depend on their values.
//! The PyTorch side of the comparison is `benches/torch_reference.py`.

use candle_core::{DType, Tensor};
use consentry_inference::config::InferenceConfig;
use consentry_inference::features::FeatureSpec;
use consentry_inference::train::{NeuralKind, NeuralModel, Tensors};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn config() -> InferenceConfig {
    // The package's directory as `cargo bench` sets it, the build tree's, else relative to the
    // working directory (a binary carried to another machine and run from the repository root).
    let here = std::env::var("CARGO_MANIFEST_DIR").map(|d| format!("{d}/configs/small.toml"));
    let path = std::env::var("CONSENTRY_BENCH_CONFIG").unwrap_or_else(|_| {
        [
            here.as_deref().unwrap_or_default(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/configs/small.toml"),
            "inference/configs/small.toml",
            "configs/small.toml",
        ]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or("inference/configs/small.toml")
        .into()
    });
    InferenceConfig::load(std::path::Path::new(&path))
        .unwrap_or_else(|e| panic!("bench config {path} (set CONSENTRY_BENCH_CONFIG): {e}"))
}

fn device() -> candle_core::Device {
    use consentry_inference::device::{
        choice_from_env, cuda_compiled, device_name, DeviceChoice, DEVICE_ENV,
    };
    let fail = |e: anyhow::Error, note: &str| -> ! {
        eprintln!("error: {e}{note}");
        std::process::exit(2)
    };
    // Unset, the bench times the device the build is for, never `auto`'s silent fallback.
    let (choice, note) = match choice_from_env() {
        Ok(Some(c)) => (c, ""),
        Ok(None) if cuda_compiled() => (
            DeviceChoice::Cuda(0),
            " [CONSENTRY_DEVICE is unset, and a `--features cuda` build benches cuda:0]",
        ),
        Ok(None) => (DeviceChoice::Cpu, ""),
        Err(e) => fail(e, ""),
    };
    let dev =
        consentry_inference::select_device(choice, DEVICE_ENV).unwrap_or_else(|e| fail(e, note));
    eprintln!("hybrid_forward on {}", device_name(&dev));
    dev
}

fn bench(c: &mut Criterion) {
    let cfg = config();
    let dev = device();
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
