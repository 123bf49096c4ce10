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
use crate::metrics::{evaluate, BinaryMetrics};
use crate::pipeline::{attribution_names, baseline_tensors, Prepared};
use crate::train::{
    copy_encoders, fit, fit_hybrid_pretrained, oof_margins, EpochLog, GbdtPair, HybridInit,
    NeuralKind, NeuralModel,
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
    pub total_secs: f64,
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
    let (tr, va, te) = (&cohort.train, &cohort.valid, &cohort.test);
    let log = |s: &str| {
        if progress {
            eprintln!("{s}");
        }
    };
    log(&format!("cohort: {}", cohort.summary()));
    // GBDT: deterministic given the data, so its spread over seeds is zero.
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
    log(&format!(
        "gbdt: {} + {} trees in {gbdt_secs:.1}s",
        gbdt.response.trees.len(),
        gbdt.adr.trees.len()
    ));
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
    let train_t = data.tensors(tr, &oof, device)?;
    let valid_t = data.tensors(va, &margins(va), device)?;
    let test_t = data.tensors(te, &margins(te), device)?;
    let test_y = data.labels(te);
    let valid_y = data.labels(va);
    let yr: Vec<f32> = test_y.iter().map(|r| r[0]).collect();
    let ya: Vec<f32> = test_y.iter().map(|r| r[1]).collect();

    let gp: Vec<[f64; 2]> = te
        .iter()
        .map(|&i| {
            [
                gbdt.response.predict_proba(&data.tab[i]),
                gbdt.adr.predict_proba(&data.tab[i]),
            ]
        })
        .collect();
    let gbdt_run = SeedRun {
        seed: 0,
        response: evaluate(&gp.iter().map(|p| p[0]).collect::<Vec<_>>(), &yr),
        adr: evaluate(&gp.iter().map(|p| p[1]).collect::<Vec<_>>(), &ya),
        train_secs: gbdt_secs,
        epochs: vec![],
    };
    let n_nodes: usize = gbdt
        .response
        .trees
        .iter()
        .chain(&gbdt.adr.trees)
        .map(|t| t.left.len())
        .sum();
    let mut models = vec![ModelRuns {
        name: "XGBoost-style GBDT (standalone)".into(),
        params: n_nodes,
        runs: vec![gbdt_run],
    }];
    let kinds = [
        (NeuralKind::Logistic, "Logistic Regression"),
        (NeuralKind::Lstm, "BiLSTM (standalone)"),
        (NeuralKind::Transformer, "Transformer (standalone)"),
        (
            NeuralKind::Hybrid,
            "Hybrid (GBDT + BiLSTM + Transformer + fusion)",
        ),
    ];
    let mut first_hybrid: Option<(NeuralModel, u64, Calibration)> = None;
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
                let logs =
                    fit_hybrid_pretrained(&model, &cfg.train, &train_t, &valid_t, seed, progress)?;
                (logs, l.3 + t.3)
            } else {
                (
                    fit(&model, &cfg.train, &train_t, &valid_t, seed, progress)?,
                    0.0,
                )
            };
            // A pretrained hybrid's time includes its encoders' pretraining.
            let train_secs = ts.elapsed().as_secs_f64() + pretrain_secs;
            let p = model.predict_proba(&test_t, 256)?;
            let run = SeedRun {
                seed,
                response: evaluate(&p.iter().map(|p| p[0]).collect::<Vec<_>>(), &yr),
                adr: evaluate(&p.iter().map(|p| p[1]).collect::<Vec<_>>(), &ya),
                train_secs,
                epochs,
            };
            log(&format!(
                "{:<12} seed {seed}: test AUC response {:.3} ADR {:.3} ({} epochs, {train_secs:.1}s)",
                kind.name(),
                run.response.roc_auc,
                run.adr.roc_auc,
                run.epochs.len()
            ));
            let calibration = if kind == NeuralKind::Hybrid {
                let pv = model.predict_proba(&valid_t, 256)?;
                let fit_task = |k: usize| {
                    let p: Vec<f64> = pv.iter().map(|p| p[k]).collect();
                    let y: Vec<f32> = valid_y.iter().map(|y| y[k]).collect();
                    Platt::fit(&p, &y)
                };
                let c: Calibration = [fit_task(0)?, fit_task(1)?];
                let cal = |k: usize| p.iter().map(|p| c[k].apply(p[k])).collect::<Vec<_>>();
                calibrated_runs.push(SeedRun {
                    response: evaluate(&cal(0), &yr),
                    adr: evaluate(&cal(1), &ya),
                    epochs: vec![],
                    ..run.clone()
                });
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
    let manifest = save_bundle(out, cfg, &data, &hybrid, &gbdt, &calibration, hseed)?;

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
    let base = baseline_tensors(&data.spec, &gbdt, device)?;
    let an = attribution_names(&data.spec);
    let mut imp = vec![[0.0f64; 2]; an.len()];
    let mut shap_imp = vec![0.0f64; names.len()];
    let sample: Vec<usize> = te.iter().copied().take(200).collect();
    for (k, &i) in sample.iter().enumerate() {
        let x = test_t.select(&[k as u32])?;
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
