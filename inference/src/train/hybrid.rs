//! Pretrain-then-fuse training of the hybrid, the usual way stacked hybrids
//! are trained:
//!
//! 1. **Pretrain** — the BiLSTM and the Transformer are trained alone (they are
//!    the standalone baselines of the same seed); [`copy_encoders`] copies
//!    their encoder weights into the hybrid. The variable names line up:
//!    `lstm.*` and `transformer.*` in both the baselines and the hybrid (the
//!    baselines' linear `head.*` is not copied).
//! 2. **Fuse** — with the encoders frozen, their representations of every
//!    training and validation row are computed once (eval mode) and only the
//!    fusion head (`fusion.*`) is trained on `[GBDT margins ‖ BiLSTM ‖
//!    Transformer]`, early-stopped on the validation split.
//! 3. **Fine-tune** — everything jointly at `finetune_lr_frac · lr`, early
//!    stopping on the validation split; the fused model counts as the first
//!    candidate, so fine-tuning is kept only if it improves on it.
//!
//! This is the standard way stacked hybrids are trained and it is cheap (the
//! head trains on precomputed encodings), but it is **not the default**
//! (`train.hybrid_init = "scratch"` is): over 3 cohorts × 3 seeds it was worse
//! on ADR and more seed-dependent than joint training from scratch. The hybrid
//! inherits each baseline seed's weaknesses (one weak Transformer seed gives a
//! weak hybrid), and the head is fitted on *in-sample* encodings of the
//! training rows, which look better than they will on new rows — unlike the
//! GBDT margins, hidden representations cannot be produced out-of-fold, since
//! each refit learns a different basis. See the crate README for the numbers.

use anyhow::{bail, Result};
use candle_core::Tensor;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::{
    bce_loss, pos_weights, run_stage, EpochLog, Net, NeuralKind, NeuralModel, Stage, Tensors,
    TrainConfig,
};
use crate::models::fusion::Hybrid;
use crate::nn::seed_dropout;

fn hybrid_of(model: &NeuralModel) -> Result<&Hybrid> {
    match &model.net {
        Net::Hybrid(h) => Ok(h),
        _ => bail!("expected a hybrid model, got {}", model.kind.name()),
    }
}

/// Copies the encoder weights of a trained standalone BiLSTM (`lstm.*`) and
/// Transformer (`transformer.*`) into `hybrid`. All three must come from the
/// same config; every encoder variable of the hybrid must be found with the
/// same shape.
pub fn copy_encoders(
    hybrid: &NeuralModel,
    lstm: &NeuralModel,
    transformer: &NeuralModel,
) -> Result<()> {
    hybrid_of(hybrid)?;
    let dst = hybrid.varmap.data().lock().expect("varmap lock");
    for (prefix, src, kind) in [
        ("lstm.", lstm, NeuralKind::Lstm),
        ("transformer.", transformer, NeuralKind::Transformer),
    ] {
        if src.kind != kind {
            bail!(
                "copy_encoders: expected a {} model, got {}",
                kind.name(),
                src.kind.name()
            );
        }
        let src = src.varmap.data().lock().expect("varmap lock");
        let mut copied = 0;
        for (name, var) in dst.iter().filter(|(n, _)| n.starts_with(prefix)) {
            let Some(s) = src.get(name) else {
                bail!(
                    "copy_encoders: {name} is missing from the pretrained {}",
                    kind.name()
                );
            };
            if s.shape() != var.shape() {
                bail!(
                    "copy_encoders: {name} has shape {:?} in the pretrained model, {:?} in the hybrid (different configs?)",
                    s.shape(),
                    var.shape()
                );
            }
            var.set(s.as_tensor())?;
            copied += 1;
        }
        let expected = src.keys().filter(|n| n.starts_with(prefix)).count();
        if copied != expected || copied == 0 {
            bail!(
                "copy_encoders: copied {copied} of {expected} `{prefix}*` variables from the {}",
                kind.name()
            );
        }
    }
    Ok(())
}

/// Fusion-head inputs for all rows of `t`, encoders in eval mode, detached.
fn frozen_features(h: &Hybrid, t: &Tensors) -> Result<Tensor> {
    let mut parts = Vec::new();
    for s in (0..t.len()).step_by(512) {
        let idx: Vec<u32> = (s as u32..(s + 512).min(t.len()) as u32).collect();
        let b = t.select(&idx)?;
        parts.push(
            h.features(&b.gbdt, &b.seq, &b.values, &b.missing, false)?
                .detach(),
        );
    }
    Ok(Tensor::cat(&parts, 0)?)
}

/// Stages 2 and 3 (fuse, fine-tune) for a hybrid whose encoders were set
/// with [`copy_encoders`]. Returns the logs of both stages (`stage` = `hybrid fuse`
/// or `hybrid finetune`); the best weights by `cfg.early_stopping` are restored.
pub fn fit_hybrid_pretrained(
    model: &NeuralModel,
    cfg: &TrainConfig,
    train: &Tensors,
    valid: &Tensors,
    seed: u64,
    progress: bool,
) -> Result<Vec<EpochLog>> {
    let h = hybrid_of(model)?;
    seed_dropout(seed);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let pw = pos_weights(cfg, train)?;
    let mut logs = Vec::new();

    // Fuse: only the head learns, on frozen encodings.
    let head_vars = {
        let data = model.varmap.data().lock().expect("varmap lock");
        let mut v: Vec<_> = data
            .iter()
            .filter(|(n, _)| n.starts_with("fusion."))
            .collect();
        v.sort_by(|a, b| a.0.cmp(b.0)); // HashMap order is not stable across runs
        v.into_iter()
            .map(|(_, var)| var.clone())
            .collect::<Vec<_>>()
    };
    let (ftr, fva) = (frozen_features(h, train)?, frozen_features(h, valid)?);
    let head_loss = |idx: &[u32]| -> Result<Tensor> {
        let i = Tensor::new(idx, ftr.device())?;
        let logits = h.head.forward(&ftr.index_select(&i, 0)?, true)?;
        Ok(bce_loss(&logits, &train.y.index_select(&i, 0)?, &pw)?)
    };
    let head_valid = || -> Result<Tensor> { Ok(h.head.forward(&fva, false)?) };
    let fuse = Stage {
        name: "hybrid fuse",
        vars: head_vars,
        lr: cfg.lr,
        epochs: cfg.fuse_epochs.max(1),
        keep_start: false,
        batch_loss: &head_loss,
        valid_logits: &head_valid,
        pw: &pw,
    };
    run_stage(
        &fuse,
        cfg,
        train.len(),
        valid,
        &mut rng,
        progress,
        &mut logs,
    )?;

    // Fine-tune: everything, at a lower learning rate, kept only if it helps.
    if cfg.finetune_epochs > 0 {
        let joint_loss = |idx: &[u32]| -> Result<Tensor> {
            let b = train.select(idx)?;
            Ok(bce_loss(&model.forward(&b, true)?, &b.y, &pw)?)
        };
        let joint_valid = || -> Result<Tensor> { Ok(model.forward(valid, false)?) };
        let tune = Stage {
            name: "hybrid finetune",
            vars: model.varmap.all_vars(),
            lr: cfg.lr * cfg.finetune_lr_frac,
            epochs: cfg.finetune_epochs,
            keep_start: true,
            batch_loss: &joint_loss,
            valid_logits: &joint_valid,
            pw: &pw,
        };
        run_stage(
            &tune,
            cfg,
            train.len(),
            valid,
            &mut rng,
            progress,
            &mut logs,
        )?;
    }
    Ok(logs)
}
