//! Tiny configurations and data shared by the integration tests.
#![allow(dead_code)]

use candle_core::Device;
use consentry_inference::cohort::{Cohort, CohortConfig};
use consentry_inference::config::InferenceConfig;
use consentry_inference::models::bilstm::BiLstmConfig;
use consentry_inference::models::fusion::FusionConfig;
use consentry_inference::models::gbdt::GbdtConfig;
use consentry_inference::models::transformer::TransformerConfig;
use consentry_inference::pipeline::Prepared;
use consentry_inference::train::{GbdtPair, Tensors, TrainConfig};

/// A config file of `inference/configs`, found through the package directory `cargo test` sets
/// for the running test (the compile-time value names the clone that built the binary, which a
/// shared target directory reuses across clones).
pub fn config_file(name: &str) -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(
            || env!("CARGO_MANIFEST_DIR").into(),
            std::path::PathBuf::from,
        )
        .join("configs")
        .join(name)
}

/// Whether `python3` imports xgboost; with `CONSENTRY_REQUIRE_XGBOOST` set (scripts/test.sh
/// installs it and sets this) a missing package fails the calling test, so CI never counts a
/// skip as a pass.
pub fn xgboost_available(test: &str) -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import xgboost"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok || std::env::var_os("CONSENTRY_REQUIRE_XGBOOST").is_none(),
        "xgboost is required (CONSENTRY_REQUIRE_XGBOOST is set) but `import xgboost` failed: pip install xgboost"
    );
    if !ok {
        eprintln!("SKIPPED {test}: `python3 -c \"import xgboost\"` failed; run `pip install xgboost` to enable it");
    }
    ok
}

/// A configuration small enough that every test runs in seconds on one core.
pub fn tiny_config(n_patients: usize) -> InferenceConfig {
    InferenceConfig {
        cohort: CohortConfig {
            n_patients,
            seed: 11,
            seq_len: 8,
            ..Default::default()
        },
        gbdt: GbdtConfig {
            n_rounds: 30,
            max_depth: 3,
            ..Default::default()
        },
        bilstm: BiLstmConfig {
            hidden: 8,
            layers: 2,
            dropout: 0.0,
        },
        transformer: TransformerConfig {
            d_model: 8,
            heads: 2,
            layers: 1,
            ff_dim: 16,
            dropout: 0.0,
        },
        fusion: FusionConfig {
            hidden: [16, 8],
            dropout: 0.0,
        },
        train: TrainConfig {
            epochs: 3,
            batch_size: 32,
            seeds: vec![1],
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Cohort, features, boosters and train/test tensors for a tiny config.
pub struct Fixture {
    pub cfg: InferenceConfig,
    pub cohort: Cohort,
    pub data: Prepared,
    pub gbdt: GbdtPair,
    pub train: Tensors,
    pub test: Tensors,
}

pub fn fixture(n_patients: usize) -> Fixture {
    let cfg = tiny_config(n_patients);
    let cohort = Cohort::generate(&cfg.cohort).unwrap();
    let data = Prepared::new(&cohort, cfg.cohort.seq_len).unwrap();
    let names = data.spec.names();
    let (tr, va, te) = (&cohort.train, &cohort.valid, &cohort.test);
    let gbdt = GbdtPair::fit(
        &cfg.gbdt,
        &data.tab_rows(tr),
        &data.labels(tr),
        &data.tab_rows(va),
        &data.labels(va),
        &names,
    )
    .unwrap();
    let m = |idx: &[usize]| -> Vec<[f32; 2]> {
        idx.iter().map(|&i| gbdt.margins(&data.tab[i])).collect()
    };
    let train = data.tensors(tr, &m(tr), &Device::Cpu).unwrap();
    let test = data.tensors(te, &m(te), &Device::Cpu).unwrap();
    Fixture {
        cfg,
        cohort,
        data,
        gbdt,
        train,
        test,
    }
}
