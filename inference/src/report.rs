//! The evaluation experiment: train the GBDT, logistic regression, BiLSTM,
//! Transformer and hybrid over several seeds, score each on the held-out test
//! split, and write the report (JSON + the seed's Table 2 layout in Markdown)
//! with the honest comparison "hybrid minus baseline vs. spread across seeds".
//! With `train.hybrid_init = "pretrained"` each seed's hybrid starts
//! from the encoders of that seed's standalone BiLSTM and Transformer, and its
//! reported training time includes theirs.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use candle_core::Device;
use serde::Serialize;

use crate::calibration::Platt;
use crate::checkpoint::{save_bundle, save_safetensors, Calibration};
use crate::cohort::Cohort;
use crate::config::InferenceConfig;
use crate::explain::integrated_gradients::integrated_gradients;
use crate::explain::treeshap::tree_shap;
use crate::features::VITALS;
use crate::metrics::{evaluate, BinaryMetrics, ReliabilityBin};
use crate::pipeline::{attribution_names, baseline_tensors, Prepared};
use crate::train::{
    copy_encoders, fit, fit_hybrid_pretrained, oof_margins, EpochLog, GbdtPair, HybridInit,
    NeuralKind, NeuralModel, Tensors,
};

/// One model, one seed.
#[derive(Debug, Clone, Serialize)]
pub struct SeedRun {
    pub seed: u64,
    pub response: BinaryMetrics,
    pub adr: BinaryMetrics,
    pub train_secs: f64,
    pub epochs: Vec<EpochLog>,
}

/// Mean / std / min / max of one metric over seeds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spread {
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    fn of(v: &[f64]) -> Self {
        let n = v.len().max(1) as f64;
        let mean = v.iter().sum::<f64>() / n;
        let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
        Self {
            mean,
            std,
            min: v.iter().copied().fold(f64::INFINITY, f64::min),
            max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }

    /// max − min.
    pub fn range(&self) -> f64 {
        self.max - self.min
    }
}

/// All runs of one model.
#[derive(Debug, Clone, Serialize)]
pub struct ModelRuns {
    pub name: String,
    pub params: usize,
    pub runs: Vec<SeedRun>,
}

impl ModelRuns {
    /// Spread of `metric` (e.g. `|m| m.roc_auc`) for task 0 (response) or 1 (ADR).
    pub fn spread(&self, task: usize, metric: fn(&BinaryMetrics) -> f64) -> Spread {
        let v: Vec<f64> = self
            .runs
            .iter()
            .map(|r| metric(if task == 0 { &r.response } else { &r.adr }))
            .collect();
        Spread::of(&v)
    }
}

/// Hybrid vs one baseline on one task, by test ROC-AUC.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub task: String,
    pub baseline: String,
    pub hybrid_auc: Spread,
    pub baseline_auc: Spread,
    /// Mean hybrid AUC − mean baseline AUC.
    pub margin: f64,
    /// max(range of hybrid AUCs, range of baseline AUCs) over seeds.
    pub spread: f64,
    pub holds: bool,
}

/// One task's reliability diagram, before and after calibration.
#[derive(Debug, Clone, Serialize)]
pub struct Reliability {
    pub task: String,
    pub uncalibrated: Vec<ReliabilityBin>,
    pub calibrated: Vec<ReliabilityBin>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub cohort: serde_json::Value,
    pub config: InferenceConfig,
    pub models: Vec<ModelRuns>,
    pub comparisons: Vec<Comparison>,
    pub model_version: String,
    /// Mean |attribution| per feature over test rows (hybrid IG), per task.
    pub global_importance: Vec<(String, f64, f64)>,
    /// The hybrid with Platt scaling fitted per seed on the validation split, on the same test
    /// rows (ranking unchanged; calibration and the 0.5-threshold metrics move).
    pub calibrated_hybrid: ModelRuns,
    /// The saved hybrid's calibration (response, ADR).
    pub calibration: Calibration,
    /// Reliability diagrams of the saved hybrid on the test split, per task, before and after
    /// calibration (10 equal-width bins; drawn as `reliability_{task}.svg`).
    pub reliability: Vec<Reliability>,
    pub total_secs: f64,
}

/// What every model of one cohort trains and is scored on, built once: the GBDT pair on the
/// tabular view, the tensors of the three splits (the training rows carry the GBDT's
/// out-of-fold margins, the others the full booster's), and the labels.
pub struct Inputs {
    pub gbdt: GbdtPair,
    pub gbdt_secs: f64,
    pub train: Tensors,
    pub valid: Tensors,
    pub test: Tensors,
    pub valid_y: Vec<[f32; 2]>,
    /// Test labels by task: `[response, ADR]`.
    pub test_y: [Vec<f32>; 2],
}

impl Inputs {
    pub fn build(
        cfg: &InferenceConfig,
        cohort: &Cohort,
        data: &Prepared,
        device: &Device,
    ) -> Result<Self> {
        let names = data.spec.names();
        let (tr, va, te) = (&cohort.train, &cohort.valid, &cohort.test);
        let tg = Instant::now();
        let gbdt = GbdtPair::fit(
            &cfg.gbdt,
            &data.tab_rows(tr),
            &data.labels(tr),
            &data.tab_rows(va),
            &data.labels(va),
            &names,
        )?;
        let gbdt_secs = tg.elapsed().as_secs_f64();
        let oof = oof_margins(
            &cfg.gbdt,
            cfg.train.oof_folds,
            &data.tab_rows(tr),
            &data.labels(tr),
            cfg.cohort.seed,
            &names,
        )?;
        let margins = |idx: &[usize]| -> Vec<[f32; 2]> {
            idx.iter().map(|&i| gbdt.margins(&data.tab[i])).collect()
        };
        let test_y = data.labels(te);
        Ok(Self {
            train: data.tensors(tr, &oof, device)?,
            valid: data.tensors(va, &margins(va), device)?,
            test: data.tensors(te, &margins(te), device)?,
            valid_y: data.labels(va),
            test_y: [0, 1].map(|k| test_y.iter().map(|r| r[k]).collect()),
            gbdt,
            gbdt_secs,
        })
    }

    /// One run scored on the test split from its `[response, ADR]` probabilities.
    pub fn score(
        &self,
        p: &[[f64; 2]],
        seed: u64,
        train_secs: f64,
        epochs: Vec<EpochLog>,
    ) -> SeedRun {
        let col = |k: usize| p.iter().map(|p| p[k]).collect::<Vec<_>>();
        SeedRun {
            seed,
            response: evaluate(&col(0), &self.test_y[0]),
            adr: evaluate(&col(1), &self.test_y[1]),
            train_secs,
            epochs,
        }
    }

    /// A GBDT pair (deterministic given the data: one run, zero spread) scored on its test
    /// rows `rows`.
    pub fn gbdt_runs(
        &self,
        name: &str,
        pair: &GbdtPair,
        rows: &[Vec<f32>],
        secs: f64,
    ) -> ModelRuns {
        let p: Vec<[f64; 2]> = rows
            .iter()
            .map(|x| [pair.response.predict_proba(x), pair.adr.predict_proba(x)])
            .collect();
        ModelRuns {
            name: name.into(),
            params: tree_nodes(pair),
            runs: vec![self.score(&p, 0, secs, vec![])],
        }
    }

    /// Platt scaling of `model` fitted on the validation split, and its test probabilities
    /// `p_test` recalibrated with it.
    pub fn calibrate(
        &self,
        model: &NeuralModel,
        p_test: &[[f64; 2]],
    ) -> Result<(Calibration, Vec<[f64; 2]>)> {
        let pv = model.predict_proba(&self.valid, 256)?;
        let fit_task = |k: usize| {
            let p: Vec<f64> = pv.iter().map(|p| p[k]).collect();
            let y: Vec<f32> = self.valid_y.iter().map(|y| y[k]).collect();
            Platt::fit(&p, &y)
        };
        let c: Calibration = [fit_task(0)?, fit_task(1)?];
        let cal = p_test
            .iter()
            .map(|p| [c[0].apply(p[0]), c[1].apply(p[1])])
            .collect();
        Ok((c, cal))
    }
}

/// The GBDT on every feature: the tabular row followed by the flattened vital-sign series (NaN
/// where unobserved, routed by each split's learned missing direction). It sees the trend and
/// the bursts that the tabular view's means hide: the strongest baseline a reviewer would try
/// without hand-engineering series summaries. Returns the pair and its training seconds.
pub fn fit_gbdt_all_features(
    cfg: &InferenceConfig,
    cohort: &Cohort,
    data: &Prepared,
) -> Result<(GbdtPair, f64)> {
    let names = [data.spec.names(), data.spec.sequence_names()].concat();
    let t = Instant::now();
    let pair = GbdtPair::fit(
        &cfg.gbdt,
        &data.all_rows(&cohort.train),
        &data.labels(&cohort.train),
        &data.all_rows(&cohort.valid),
        &data.labels(&cohort.valid),
        &names,
    )?;
    Ok((pair, t.elapsed().as_secs_f64()))
}

/// The GBDT on the tabular view, the report's first row.
pub const GBDT_TABULAR: &str = "XGBoost-style GBDT (standalone)";
/// The GBDT on every feature.
pub const GBDT_ALL: &str = "XGBoost-style GBDT, all features (tabular + flattened vitals)";
/// The hybrid, the report's last model row.
pub const HYBRID: &str = "Hybrid (GBDT + BiLSTM + Transformer + fusion)";

fn tree_nodes(pair: &GbdtPair) -> usize {
    pair.response
        .trees
        .iter()
        .chain(&pair.adr.trees)
        .map(|t| t.left.len())
        .sum()
}

/// Runs the experiment; writes bundle, baselines, report.json and plots into `out`.
pub fn run_experiment(
    cfg: &InferenceConfig,
    out: &Path,
    device: &Device,
    progress: bool,
) -> Result<Report> {
    let t0 = Instant::now();
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let cohort = Cohort::generate(&cfg.cohort)?;
    let data = Prepared::new(&cohort, cfg.cohort.seq_len)?;
    let names = data.spec.names();
    let te = &cohort.test;
    let log = |s: &str| {
        if progress {
            eprintln!("{s}");
        }
    };
    log(&format!("cohort: {}", cohort.summary()));
    let inputs = Inputs::build(cfg, &cohort, &data, device)?;
    let gbdt = &inputs.gbdt;
    log(&format!(
        "gbdt: {} + {} trees in {:.1}s",
        gbdt.response.trees.len(),
        gbdt.adr.trees.len(),
        inputs.gbdt_secs
    ));
    // The GBDTs are deterministic given the data, so their spread over seeds is zero.
    let (gbdt_all, all_secs) = fit_gbdt_all_features(cfg, &cohort, &data)?;
    log(&format!(
        "gbdt on all features: {} + {} trees in {all_secs:.1}s",
        gbdt_all.response.trees.len(),
        gbdt_all.adr.trees.len()
    ));
    let mut models = vec![
        inputs.gbdt_runs(GBDT_TABULAR, gbdt, &data.tab_rows(te), inputs.gbdt_secs),
        inputs.gbdt_runs(GBDT_ALL, &gbdt_all, &data.all_rows(te), all_secs),
    ];
    let kinds = [
        (NeuralKind::Logistic, "Logistic Regression"),
        (NeuralKind::Lstm, "BiLSTM (standalone)"),
        (NeuralKind::Transformer, "Transformer (standalone)"),
        (NeuralKind::Hybrid, HYBRID),
    ];
    let mut first_hybrid: Option<(NeuralModel, u64, Calibration)> = None;
    // The first hybrid's test probabilities, before and after calibration (reliability diagrams).
    type Probabilities = Vec<[f64; 2]>;
    let mut first_hybrid_p: Option<(Probabilities, Probabilities)> = None;
    let mut calibrated_runs = Vec::new();
    // The standalone BiLSTM / Transformer of each seed (and their training
    // time): a `pretrained` hybrid starts from their encoders.
    let mut encoders: Vec<(u64, NeuralKind, NeuralModel, f64)> = Vec::new();
    let pretrained = cfg.train.hybrid_init == HybridInit::Pretrained;
    for (kind, label) in kinds {
        let mut runs = Vec::new();
        let mut params = 0;
        for &seed in &cfg.train.seeds {
            let model = NeuralModel::build(kind, cfg, &data.spec, seed, device)?;
            params = model.n_params();
            let ts = Instant::now();
            let (epochs, pretrain_secs) = if kind == NeuralKind::Hybrid && pretrained {
                let enc = |k: NeuralKind| {
                    encoders
                        .iter()
                        .find(|e| e.0 == seed && e.1 == k)
                        .context("pretrained encoder of this seed")
                };
                let (l, t) = (enc(NeuralKind::Lstm)?, enc(NeuralKind::Transformer)?);
                copy_encoders(&model, &l.2, &t.2)?;
                let logs = fit_hybrid_pretrained(
                    &model,
                    &cfg.train,
                    &inputs.train,
                    &inputs.valid,
                    seed,
                    progress,
                )?;
                (logs, l.3 + t.3)
            } else {
                (
                    fit(
                        &model,
                        &cfg.train,
                        &inputs.train,
                        &inputs.valid,
                        seed,
                        progress,
                    )?,
                    0.0,
                )
            };
            // A pretrained hybrid's time includes its encoders' pretraining.
            let train_secs = ts.elapsed().as_secs_f64() + pretrain_secs;
            let p = model.predict_proba(&inputs.test, 256)?;
            let run = inputs.score(&p, seed, train_secs, epochs);
            log(&format!(
                "{:<12} seed {seed}: test AUC response {:.3} ADR {:.3} ({} epochs, {train_secs:.1}s)",
                kind.name(),
                run.response.roc_auc,
                run.adr.roc_auc,
                run.epochs.len()
            ));
            let calibration = if kind == NeuralKind::Hybrid {
                let (c, cal) = inputs.calibrate(&model, &p)?;
                calibrated_runs.push(SeedRun {
                    epochs: vec![],
                    ..inputs.score(&cal, seed, train_secs, vec![])
                });
                if first_hybrid_p.is_none() {
                    first_hybrid_p = Some((p, cal));
                }
                Some(c)
            } else {
                None
            };
            runs.push(run);
            if kind != NeuralKind::Hybrid && seed == cfg.train.seeds[0] {
                save_safetensors(
                    &model,
                    &out.join(format!("baseline_{}.safetensors", kind.name())),
                )?;
            }
            if let (Some(c), None) = (calibration, &first_hybrid) {
                first_hybrid = Some((model, seed, c));
            } else if pretrained && matches!(kind, NeuralKind::Lstm | NeuralKind::Transformer) {
                encoders.push((seed, kind, model, train_secs));
            }
        }
        models.push(ModelRuns {
            name: label.into(),
            params,
            runs,
        });
    }
    let (hybrid, hseed, calibration) = first_hybrid.context("train.seeds is empty")?;
    let (p_raw, p_cal) = first_hybrid_p.context("train.seeds is empty")?;
    let reliability: Vec<Reliability> = [(0, "response"), (1, "adr")]
        .into_iter()
        .map(|(k, task)| {
            let col = |p: &[[f64; 2]]| p.iter().map(|p| p[k]).collect::<Vec<_>>();
            Reliability {
                task: task.into(),
                uncalibrated: crate::metrics::reliability(&col(&p_raw), &inputs.test_y[k], 10),
                calibrated: crate::metrics::reliability(&col(&p_cal), &inputs.test_y[k], 10),
            }
        })
        .collect();
    let manifest = save_bundle(out, cfg, &data, &hybrid, gbdt, &calibration, hseed)?;

    // Honest comparison: hybrid minus each baseline, against the seed spread.
    let h = models.last().expect("hybrid present").clone();
    let mut comparisons = Vec::new();
    for (task, tname) in [(0, "response"), (1, "adr")] {
        let ha = h.spread(task, |m| m.roc_auc);
        for b in &models[..models.len() - 1] {
            let ba = b.spread(task, |m| m.roc_auc);
            let spread = ha.range().max(ba.range());
            let margin = ha.mean - ba.mean;
            comparisons.push(Comparison {
                task: tname.into(),
                baseline: b.name.clone(),
                hybrid_auc: ha,
                baseline_auc: ba,
                margin,
                spread,
                holds: margin > spread,
            });
        }
    }

    // Global explanation: mean |IG| over (up to) 200 test rows, and GBDT TreeSHAP.
    let base = baseline_tensors(&data.spec, gbdt, device)?;
    let an = attribution_names(&data.spec);
    let mut imp = vec![[0.0f64; 2]; an.len()];
    let mut shap_imp = vec![0.0f64; names.len()];
    let sample: Vec<usize> = te.iter().copied().take(200).collect();
    for (k, &i) in sample.iter().enumerate() {
        let x = inputs.test.select(&[k as u32])?;
        let (pr, _) = tree_shap(&gbdt.response, &data.tab[i]);
        let (pa, _) = tree_shap(&gbdt.adr, &data.tab[i]);
        let ig = integrated_gradients(&hybrid, &x, &base, [&pr, &pa], VITALS.len(), 16)?;
        for (j, slot) in imp.iter_mut().enumerate() {
            slot[0] += ig[0].values[j].abs() / sample.len() as f64;
            slot[1] += ig[1].values[j].abs() / sample.len() as f64;
        }
        for (j, s) in shap_imp.iter_mut().enumerate() {
            *s += pa[j].abs() / sample.len() as f64;
        }
    }
    let global_importance = an
        .iter()
        .zip(&imp)
        .map(|(n, v)| (n.clone(), v[0], v[1]))
        .collect();

    let report = Report {
        cohort: cohort.summary(),
        config: cfg.clone(),
        models,
        comparisons,
        model_version: manifest.model_version,
        global_importance,
        calibrated_hybrid: ModelRuns {
            name: "Hybrid, Platt-calibrated on the validation split".into(),
            params: h.params + 4,
            runs: calibrated_runs,
        },
        calibration,
        reliability,
        total_secs: t0.elapsed().as_secs_f64(),
    };
    std::fs::write(out.join("report.json"), serde_json::to_vec_pretty(&report)?)?;
    std::fs::write(out.join("report.md"), markdown(&report))?;
    // Plots come last and only warn on failure: the report above is the deliverable.
    let plot = |file: &str, title: &str, names: &[String], v: &[f64]| {
        if let Err(e) = crate::plot::bar_chart_svg(&out.join(file), title, names, v, 20) {
            eprintln!("warning: could not draw {file}: {e}");
        }
    };
    plot(
        "importance_hybrid_response.svg",
        "Hybrid: mean |IG| — therapeutic response",
        &an,
        &imp.iter().map(|v| v[0]).collect::<Vec<_>>(),
    );
    plot(
        "importance_hybrid_adr.svg",
        "Hybrid: mean |IG| — ADR risk",
        &an,
        &imp.iter().map(|v| v[1]).collect::<Vec<_>>(),
    );
    for r in &report.reliability {
        let file = format!("reliability_{}.svg", r.task);
        let title = format!(
            "Hybrid (seed {hseed}): reliability on the test split — {}",
            r.task
        );
        let curves = [
            ("as trained", r.uncalibrated.as_slice()),
            ("Platt-calibrated on validation", r.calibrated.as_slice()),
        ];
        if let Err(e) = crate::plot::reliability_svg(&out.join(&file), &title, &curves) {
            eprintln!("warning: could not draw {file}: {e}");
        }
    }
    plot(
        "importance_gbdt_adr_treeshap.svg",
        "GBDT: mean |TreeSHAP| — ADR risk",
        &names,
        &shap_imp,
    );
    Ok(report)
}

fn cell(s: Spread, scale: f64, digits: usize) -> String {
    if s.std == 0.0 {
        format!("{:.*}", digits, s.mean * scale)
    } else {
        format!(
            "{:.*} ± {:.*}",
            digits,
            s.mean * scale,
            digits,
            s.std * scale
        )
    }
}

/// The seed's Table 2 layout (mean ± std over seeds), one table per task, plus the comparison.
pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    for (task, title) in [(0, "Therapeutic response"), (1, "Adverse drug reaction")] {
        s += &format!("\n### {title} (held-out test split)\n\n");
        s += "| Model | Accuracy (%) | Precision | Recall | F1-Score | ROC-AUC | Brier | ECE | seeds |\n";
        s += "|---|---|---|---|---|---|---|---|---|\n";
        for m in r.models.iter().chain([&r.calibrated_hybrid]) {
            s += &format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                m.name,
                cell(m.spread(task, |x| x.accuracy), 100.0, 1),
                cell(m.spread(task, |x| x.precision), 1.0, 3),
                cell(m.spread(task, |x| x.recall), 1.0, 3),
                cell(m.spread(task, |x| x.f1), 1.0, 3),
                cell(m.spread(task, |x| x.roc_auc), 1.0, 3),
                cell(m.spread(task, |x| x.brier), 1.0, 3),
                cell(m.spread(task, |x| x.ece), 1.0, 3),
                m.runs.len()
            );
        }
    }
    s += "\n### Ceilings (test ROC-AUC)\n\n| Ranking by | Response | ADR |\n|---|---|---|\n";
    for (label, v) in [
        (
            "the generating probability (oracle; includes the outcome noise)",
            &r.cohort["oracle_test_auc"],
        ),
        (
            "the noise-free logit (every latent known: the ceiling of any model)",
            &r.cohort["ceiling_test_auc"]["noise_free"],
        ),
        (
            "the noise-free logit, frailty and PK variability at their typical values",
            &r.cohort["ceiling_test_auc"]["typical_frailty_and_pk"],
        ),
    ] {
        let f = |t: &str| v[t].as_f64().map_or("–".into(), |x| format!("{x:.3}"));
        s += &format!("| {label} | {} | {} |\n", f("response"), f("adr"));
    }
    s += "\n### Hybrid vs. each baseline (test ROC-AUC; spread = max − min over seeds)\n\n";
    s += "| Task | Baseline | Hybrid AUC | Baseline AUC | Margin | Spread | Margin > spread |\n|---|---|---|---|---|---|---|\n";
    for c in &r.comparisons {
        s += &format!(
            "| {} | {} | {:.3} | {:.3} | {:+.3} | {:.3} | {} |\n",
            c.task,
            c.baseline,
            c.hybrid_auc.mean,
            c.baseline_auc.mean,
            c.margin,
            c.spread,
            if c.holds { "yes" } else { "**no**" }
        );
    }
    s
}
