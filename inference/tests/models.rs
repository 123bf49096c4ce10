//! Shapes and gradients of every component, a tiny overfit, pretrain-then-fuse, and save → load.

mod common;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarBuilder;
use consentry_inference::calibration::Platt;
use consentry_inference::checkpoint::{load_bundle, save_bundle};
use consentry_inference::models::bilstm::BiLstm;
use consentry_inference::models::fusion::FusionHead;
use consentry_inference::models::transformer::FeatureTransformer;
use consentry_inference::nn::seeded_var_builder;
use consentry_inference::train::{
    bce_loss, copy_encoders, fit, fit_hybrid_pretrained, EarlyStopping, Net, NeuralKind,
    NeuralModel, TrainConfig,
};

const KINDS: [NeuralKind; 4] = [
    NeuralKind::Logistic,
    NeuralKind::Lstm,
    NeuralKind::Transformer,
    NeuralKind::Hybrid,
];

fn vb(seed: u64) -> (candle_nn::VarMap, VarBuilder<'static>) {
    let map = candle_nn::VarMap::new();
    let vb = seeded_var_builder(&map, seed, &Device::Cpu);
    (map, vb)
}

#[test]
fn component_output_shapes() {
    let cfg = common::tiny_config(300);
    let (b, t, c, f) = (5, 7, 6, 11);
    let x = Tensor::randn(0f32, 1.0, (b, t, c), &Device::Cpu).unwrap();
    let (_m, v) = vb(1);
    let lstm = BiLstm::new(&cfg.bilstm, c, v).unwrap();
    assert_eq!(
        lstm.forward(&x, false).unwrap().dims(),
        &[b, 2 * cfg.bilstm.hidden]
    );
    let (_m, v) = vb(1);
    let tr = FeatureTransformer::new(&cfg.transformer, f, v).unwrap();
    let vals = Tensor::randn(0f32, 1.0, (b, f), &Device::Cpu).unwrap();
    let miss = Tensor::zeros((b, f), DType::F32, &Device::Cpu).unwrap();
    assert_eq!(
        tr.forward(&vals, &miss, false).unwrap().dims(),
        &[b, cfg.transformer.d_model]
    );
    let (_m, v) = vb(1);
    let head = FusionHead::new(&cfg.fusion, 13, v).unwrap();
    let h = Tensor::randn(0f32, 1.0, (b, 13), &Device::Cpu).unwrap();
    assert_eq!(head.forward(&h, false).unwrap().dims(), &[b, 2]);
}

#[test]
fn bidirectional_lstm_sees_both_ends_of_the_sequence() {
    // Changing only the first time step must change the forward half's final
    // state; changing only the last must change the backward half's.
    let cfg = common::tiny_config(300);
    let (_m, v) = vb(3);
    let lstm = BiLstm::new(&cfg.bilstm, 2, v).unwrap();
    let x = Tensor::randn(0f32, 1.0, (1, 6, 2), &Device::Cpu).unwrap();
    let base = lstm.forward(&x, false).unwrap().to_vec2::<f32>().unwrap()[0].clone();
    let bump = |t: usize| {
        let mut d = x.to_vec3::<f32>().unwrap();
        d[0][t][0] += 3.0;
        let x2 = Tensor::new(d, &Device::Cpu).unwrap();
        lstm.forward(&x2, false).unwrap().to_vec2::<f32>().unwrap()[0].clone()
    };
    let h = cfg.bilstm.hidden;
    let diff = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>();
    assert!(diff(&bump(0)[..h], &base[..h]) > 1e-4);
    assert!(diff(&bump(5)[h..], &base[h..]) > 1e-4);
}

#[test]
fn gradients_reach_every_parameter_and_match_finite_differences() {
    let fx = common::fixture(300);
    let batch = fx.train.select(&(0..16).collect::<Vec<u32>>()).unwrap();
    let pw = Tensor::new(&[[1.0f32, 2.0]], &Device::Cpu).unwrap();
    for kind in KINDS {
        let model = NeuralModel::build(kind, &fx.cfg, &fx.data.spec, 5, &Device::Cpu).unwrap();
        let loss =
            |m: &NeuralModel| bce_loss(&m.forward(&batch, false).unwrap(), &batch.y, &pw).unwrap();
        let grads = loss(&model).backward().unwrap();
        let vars: Vec<(String, Var)> = {
            let d = model.varmap.data().lock().unwrap();
            let mut v: Vec<_> = d.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        for (name, var) in &vars {
            let g = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("{kind:?}: no gradient for {name}"));
            let gv = g.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            assert!(
                gv.iter().all(|x| x.is_finite()),
                "{kind:?}/{name}: non-finite gradient"
            );
            // Central finite difference on the first element (f64 loss in f32 model: loose tolerance).
            let orig = var
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let eps = 1e-2f32;
            let set = |delta: f32| {
                let mut v = orig.clone();
                v[0] += delta;
                var.set(&Tensor::from_vec(v, var.shape(), &Device::Cpu).unwrap())
                    .unwrap();
            };
            set(eps);
            let lp = loss(&model).to_scalar::<f32>().unwrap();
            set(-eps);
            let lm = loss(&model).to_scalar::<f32>().unwrap();
            set(0.0);
            let fd = (lp - lm) / (2.0 * eps);
            assert!(
                (fd - gv[0]).abs() <= 2e-3 + 0.05 * gv[0].abs(),
                "{kind:?}/{name}: analytic {} vs finite difference {fd}",
                gv[0]
            );
        }
        let total: f32 = vars
            .iter()
            .map(|(_, v)| {
                grads
                    .get(v.as_tensor())
                    .unwrap()
                    .sqr()
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap()
            })
            .sum();
        assert!(total > 0.0, "{kind:?}: all gradients are zero");
    }
}

#[test]
fn tiny_hybrid_overfits_a_small_batch() {
    let fx = common::fixture(300);
    let small = fx.train.select(&(0..24).collect::<Vec<u32>>()).unwrap();
    let model =
        NeuralModel::build(NeuralKind::Hybrid, &fx.cfg, &fx.data.spec, 2, &Device::Cpu).unwrap();
    let cfg = TrainConfig {
        epochs: 150,
        batch_size: 24,
        lr: 1e-2,
        patience: 150,
        adr_pos_weight: Some(1.0),
        // Memorisation is about the loss; AUC saturates at 1 long before.
        early_stopping: EarlyStopping::ValLoss,
        ..Default::default()
    };
    let logs = fit(&model, &cfg, &small, &small, 2, false).unwrap();
    let first = logs[0].train_loss;
    let last = logs
        .iter()
        .map(|l| l.val_loss)
        .fold(f64::INFINITY, f64::min);
    assert!(
        last < 0.1 && last < first / 5.0,
        "loss {first} → {last}: should memorise 24 rows"
    );
    let p = model.predict_proba(&small, 64).unwrap();
    let y = small.y.to_vec2::<f32>().unwrap();
    for (pi, yi) in p.iter().zip(&y) {
        for k in 0..2 {
            assert_eq!(pi[k] >= 0.5, yi[k] > 0.5);
        }
    }
}

#[test]
fn save_load_gives_identical_predictions_and_detects_tampering() {
    let fx = common::fixture(300);
    let model =
        NeuralModel::build(NeuralKind::Hybrid, &fx.cfg, &fx.data.spec, 9, &Device::Cpu).unwrap();
    fit(&model, &fx.cfg.train, &fx.train, &fx.test, 9, false).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A non-trivial calibration, so applying it is visible in the prediction.
    let calibration = [Platt { a: 0.5, b: -0.25 }, Platt { a: 1.5, b: 0.1 }];
    let man = save_bundle(
        dir.path(),
        &fx.cfg,
        &fx.data,
        &model,
        &fx.gbdt,
        &calibration,
        9,
    )
    .unwrap();
    assert_eq!(man.model_version.len(), 64);
    let loaded = load_bundle(dir.path(), &Device::Cpu).unwrap();
    assert_eq!(loaded.manifest.model_version, man.model_version);
    assert_eq!(
        model.predict_proba(&fx.test, 64).unwrap(),
        loaded.hybrid.predict_proba(&fx.test, 64).unwrap()
    );
    for r in &fx.data.tab {
        assert_eq!(fx.gbdt.margins(r), loaded.gbdt.margins(r));
    }
    // End to end from a record: same prediction from the in-memory and reloaded bundle.
    let row = &fx.cohort.rows[fx.cohort.test[0]];
    let p1 = loaded
        .predict(&row.record, &row.drug, row.dose_multiplier, 8)
        .unwrap();
    let p2 = load_bundle(dir.path(), &Device::Cpu)
        .unwrap()
        .predict(&row.record, &row.drug, row.dose_multiplier, 8)
        .unwrap();
    assert_eq!(p1.response.probability, p2.response.probability);
    assert_eq!(p1.adr.probability, p2.adr.probability);
    // The served probability is the calibrated one; the raw one is kept beside it.
    assert_eq!(loaded.calibration, Some(calibration));
    let sig = |z: f64| 1.0 / (1.0 + (-z).exp());
    let logit = |p: f64| (p / (1.0 - p)).ln();
    let raw = p1.response.uncalibrated_probability;
    assert!((p1.response.probability - sig(0.5 * logit(raw) - 0.25)).abs() < 1e-12);
    assert_ne!(p1.response.probability, raw);
    // Flip one byte of the weights: the digest check must refuse the bundle.
    let w = dir.path().join("hybrid.safetensors");
    let mut bytes = std::fs::read(&w).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&w, bytes).unwrap();
    let err = load_bundle(dir.path(), &Device::Cpu)
        .err()
        .expect("tampered bundle must not load");
    assert!(err.to_string().contains("SHA-256"), "{err}");
}

#[test]
fn same_seed_same_model_different_seed_different_model() {
    let fx = common::fixture(300);
    let run = |seed| {
        let m = NeuralModel::build(
            NeuralKind::Transformer,
            &fx.cfg,
            &fx.data.spec,
            seed,
            &Device::Cpu,
        )
        .unwrap();
        fit(&m, &fx.cfg.train, &fx.train, &fx.test, seed, false).unwrap();
        m.predict_proba(&fx.test, 64).unwrap()
    };
    assert_eq!(run(4), run(4));
    assert_ne!(run(4), run(5));
}

#[test]
fn pretrained_hybrid_starts_from_the_baselines_encoders_and_fine_tuning_never_hurts() {
    let fx = common::fixture(300);
    let build = |kind| NeuralModel::build(kind, &fx.cfg, &fx.data.spec, 5, &Device::Cpu).unwrap();
    let (lstm, transformer, hybrid) = (
        build(NeuralKind::Lstm),
        build(NeuralKind::Transformer),
        build(NeuralKind::Hybrid),
    );
    fit(&lstm, &fx.cfg.train, &fx.train, &fx.test, 5, false).unwrap();
    fit(&transformer, &fx.cfg.train, &fx.train, &fx.test, 5, false).unwrap();
    copy_encoders(&hybrid, &lstm, &transformer).unwrap();
    // The hybrid's encoders now compute exactly what the trained baselines' encoders compute.
    let (Net::Hybrid(h), Net::Lstm(l), Net::Transformer(t)) =
        (&hybrid.net, &lstm.net, &transformer.net)
    else {
        panic!("wrong nets")
    };
    let x = &fx.test;
    let same = |a: Tensor, b: Tensor| {
        let d = (a - b).unwrap().abs().unwrap().max_all().unwrap();
        assert_eq!(d.to_scalar::<f32>().unwrap(), 0.0);
    };
    same(
        h.lstm.forward(&x.seq, false).unwrap(),
        l.encoder.forward(&x.seq, false).unwrap(),
    );
    same(
        h.transformer.forward(&x.values, &x.missing, false).unwrap(),
        t.encoder.forward(&x.values, &x.missing, false).unwrap(),
    );
    let cfg = TrainConfig {
        fuse_epochs: 4,
        finetune_epochs: 3,
        early_stopping: EarlyStopping::ValLoss,
        ..fx.cfg.train.clone()
    };
    let logs = fit_hybrid_pretrained(&hybrid, &cfg, &fx.train, &fx.test, 5, false).unwrap();
    let fuse: Vec<f64> = logs
        .iter()
        .filter(|l| l.stage == "hybrid fuse")
        .map(|l| l.val_loss)
        .collect();
    assert!(!fuse.is_empty() && fuse.len() <= 4);
    assert!(logs
        .iter()
        .all(|l| l.stage == "hybrid fuse" || l.stage == "hybrid finetune"));
    // The restored model is at least as good on validation as the best fused head.
    let pw = consentry_inference::train::pos_weights(&cfg, &fx.train).unwrap();
    let final_loss = bce_loss(&hybrid.forward(&fx.test, false).unwrap(), &fx.test.y, &pw)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap() as f64;
    let best_fuse = fuse.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(final_loss <= best_fuse + 1e-6, "{final_loss} > {best_fuse}");
    // A baseline of the wrong kind, or of another size, is refused.
    assert!(copy_encoders(&hybrid, &transformer, &lstm).is_err());
    let mut other = fx.cfg.clone();
    other.bilstm.hidden += 1;
    let wider =
        NeuralModel::build(NeuralKind::Lstm, &other, &fx.data.spec, 5, &Device::Cpu).unwrap();
    assert!(copy_encoders(&hybrid, &wider, &transformer).is_err());
}
