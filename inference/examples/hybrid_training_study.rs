//! Compares ways of training the hybrid on the same baselines, over several
//! cohorts and seeds (the table in the crate README, "Evaluation"):
//!
//! `cargo run --release -p consentry-inference --example hybrid_training_study -- inference/configs/study.toml 7,8,9 1,2,3`
//!
//! For each cohort seed: GBDT pair and out-of-fold margins; for each training
//! seed: logistic regression, BiLSTM and Transformer, then the hybrid trained
//! jointly from scratch and with pretrain-then-fuse variants (the pretrained
//! ones start from that seed's BiLSTM and Transformer). Prints test ROC-AUC
//! (response, ADR) and training seconds per model. Slow: minutes per seed on 2 cores.
//! The neural models run on the device named by `CONSENTRY_DEVICE` (default `auto`).

use anyhow::{Context, Result};
use consentry_inference::cohort::Cohort;
use consentry_inference::config::InferenceConfig;
use consentry_inference::metrics::roc_auc;
use consentry_inference::pipeline::Prepared;
use consentry_inference::train::{
    copy_encoders, fit, fit_hybrid_pretrained, oof_margins, GbdtPair, HybridInit, NeuralKind,
    NeuralModel, Tensors, TrainConfig,
};
use std::time::Instant;

fn aucs(p: &[[f64; 2]], yr: &[f32], ya: &[f32]) -> (f64, f64) {
    let col = |k: usize| p.iter().map(|p| p[k]).collect::<Vec<_>>();
    (roc_auc(&col(0), yr), roc_auc(&col(1), ya))
}

fn seeds(arg: Option<&String>, what: &str) -> Result<Vec<u64>> {
    arg.with_context(|| format!("missing {what} (comma-separated)"))?
        .split(',')
        .map(|s| s.trim().parse().with_context(|| format!("bad {what}: {s}")))
        .collect()
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .context("usage: hybrid_training_study <config.toml> <cohort seeds> <training seeds>")?;
    let base = InferenceConfig::load(std::path::Path::new(path))?;
    let (cohorts, train_seeds) = (
        seeds(args.get(2), "cohort seeds")?,
        seeds(args.get(3), "training seeds")?,
    );
    // CONSENTRY_DEVICE (auto, cpu, cuda, cuda:N); auto is the CPU unless built with `cuda`.
    let dev = consentry_inference::device_from_env()?;
    for c in cohorts {
        let mut cfg = base.clone();
        cfg.cohort.seed = c;
        let cohort = Cohort::generate(&cfg.cohort)?;
        let data = Prepared::new(&cohort, cfg.cohort.seq_len)?;
        let names = data.spec.names();
        let (tr, va, te) = (&cohort.train, &cohort.valid, &cohort.test);
        let (tx, ty) = (data.tab_rows(tr), data.labels(tr));
        let gbdt = GbdtPair::fit(
            &cfg.gbdt,
            &tx,
            &ty,
            &data.tab_rows(va),
            &data.labels(va),
            &names,
        )?;
        let oof = oof_margins(&cfg.gbdt, cfg.train.oof_folds, &tx, &ty, c, &names)?;
        let margins = |idx: &[usize]| -> Vec<[f32; 2]> {
            idx.iter().map(|&i| gbdt.margins(&data.tab[i])).collect()
        };
        let train: Tensors = data.tensors(tr, &oof, &dev)?;
        let valid = data.tensors(va, &margins(va), &dev)?;
        let test = data.tensors(te, &margins(te), &dev)?;
        let y = data.labels(te);
        let yr: Vec<f32> = y.iter().map(|r| r[0]).collect();
        let ya: Vec<f32> = y.iter().map(|r| r[1]).collect();
        let gp: Vec<[f64; 2]> = te
            .iter()
            .map(|&i| {
                let x = &data.tab[i];
                [gbdt.response.predict_proba(x), gbdt.adr.predict_proba(x)]
            })
            .collect();
        let (gr, ga) = aucs(&gp, &yr, &ya);
        println!(
            "cohort {c}: gbdt {gr:.3} {ga:.3}  oracle {}",
            cohort.summary()["oracle_test_auc"]
        );
        for &s in &train_seeds {
            let mut line = format!("  seed {s}:");
            let mut trained = Vec::new();
            for kind in [
                NeuralKind::Logistic,
                NeuralKind::Lstm,
                NeuralKind::Transformer,
            ] {
                let m = NeuralModel::build(kind, &cfg, &data.spec, s, &dev)?;
                let t0 = Instant::now();
                fit(&m, &cfg.train, &train, &valid, s, false)?;
                let (r, a) = aucs(&m.predict_proba(&test, 512)?, &yr, &ya);
                let secs = t0.elapsed().as_secs_f64();
                line += &format!(" {} {r:.3} {a:.3} ({secs:.0}s) |", kind.name());
                trained.push(m);
            }
            let variants = [
                (
                    "scratch",
                    TrainConfig {
                        hybrid_init: HybridInit::Scratch,
                        ..cfg.train.clone()
                    },
                ),
                (
                    "pretrained",
                    TrainConfig {
                        hybrid_init: HybridInit::Pretrained,
                        ..cfg.train.clone()
                    },
                ),
                (
                    "pretrained-joint",
                    TrainConfig {
                        hybrid_init: HybridInit::Pretrained,
                        fuse_epochs: 1,
                        finetune_epochs: cfg.train.epochs,
                        finetune_lr_frac: 1.0,
                        ..cfg.train.clone()
                    },
                ),
            ];
            for (name, tc) in variants {
                let h = NeuralModel::build(NeuralKind::Hybrid, &cfg, &data.spec, s, &dev)?;
                let t0 = Instant::now();
                if tc.hybrid_init == HybridInit::Scratch {
                    fit(&h, &tc, &train, &valid, s, false)?;
                } else {
                    copy_encoders(&h, &trained[1], &trained[2])?;
                    fit_hybrid_pretrained(&h, &tc, &train, &valid, s, false)?;
                }
                let (r, a) = aucs(&h.predict_proba(&test, 512)?, &yr, &ya);
                let secs = t0.elapsed().as_secs_f64();
                line += &format!(" {name} {r:.3} {a:.3} ({secs:.0}s) |");
            }
            println!("{line}");
        }
    }
    Ok(())
}
