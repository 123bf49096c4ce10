//! How each model improves with the size of its training split, against the ceilings of the same
//! test rows (`consentry inference learning-curve`; the committed run is
//! `reports/learning_curve.md`).
//!
//! For each training size `N` a fresh cohort is generated with the config's cohort seed and split
//! `N` / `N/3` / `test_rows` (train / validation / test: the small config's 3 : 1 ratio of
//! training to validation rows, and one test size for every point so that every point carries the
//! same sampling noise). Every point trains the GBDT on the tabular view and on every feature,
//! logistic regression, and the hybrid (raw and Platt-calibrated on its validation split) over
//! that point's seeds; with `--xgboost-python`, the real `xgboost` package trains on the same rows
//! exported by [`crate::export`] (`scripts/xgboost_baseline.py`) and its test probabilities are
//! scored here by the same metrics code as ours.
//!
//! The standalone BiLSTM and Transformer are left out: the hybrid contains both encoders and
//! beats each of them in the main report, and at 48k rows they would double the run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::Device;
use serde::{Deserialize, Serialize};

use crate::cohort::Cohort;
use crate::config::InferenceConfig;
use crate::pipeline::Prepared;
use crate::plot::{line_chart_svg, Series};
use crate::report::{
    fit_gbdt_all_features, Inputs, ModelRuns, SeedRun, GBDT_ALL, GBDT_TABULAR, HYBRID,
};
use crate::train::{fit, NeuralKind, NeuralModel};
use plotters::prelude::SeriesLabelPosition;

/// Label of the Platt-calibrated hybrid.
pub const HYBRID_CALIBRATED: &str = "Hybrid, Platt-calibrated on validation";
/// Label of the real xgboost package's runs.
pub const XGBOOST: &str = "xgboost (Python package), all features";

/// One training size and the seeds its neural models (and xgboost) are trained with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Size {
    pub train_rows: usize,
    pub seeds: Vec<u64>,
}

impl std::str::FromStr for Size {
    type Err = anyhow::Error;

    /// `N` or `N:s1,s2,...`.
    fn from_str(s: &str) -> Result<Self> {
        let (n, seeds) = match s.split_once(':') {
            Some((n, seeds)) => (n, Some(seeds)),
            None => (s, None),
        };
        let train_rows: usize = n
            .trim()
            .parse()
            .with_context(|| format!("--size {s}: `{n}` is not a number of training rows"))?;
        if train_rows < 150 {
            bail!("--size {s}: at least 150 training rows are needed for a stratified split");
        }
        let seeds = match seeds {
            Some(list) => list
                .split(',')
                .map(|x| {
                    x.trim()
                        .parse()
                        .with_context(|| format!("--size {s}: seed `{x}` is not a number"))
                })
                .collect::<Result<Vec<u64>>>()?,
            None => vec![],
        };
        Ok(Self { train_rows, seeds })
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub sizes: Vec<Size>,
    pub test_rows: usize,
    /// A Python interpreter with `xgboost` installed, to add the real package's runs.
    pub xgboost_python: Option<PathBuf>,
}

/// One training size: its split, ceilings and every model's runs.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub train_rows: usize,
    pub valid_rows: usize,
    pub test_rows: usize,
    /// `oracle_test_auc` and `ceiling_test_auc` of [`Cohort::summary`].
    pub ceilings: serde_json::Value,
    pub models: Vec<ModelRuns>,
    pub secs: f64,
}

/// The whole curve.
#[derive(Debug, Clone, Serialize)]
pub struct LearningCurve {
    pub config: InferenceConfig,
    pub points: Vec<Point>,
    /// The xgboost package's version, when it ran.
    pub xgboost_version: Option<String>,
    pub total_secs: f64,
}

#[derive(Deserialize)]
struct XgbOut {
    version: String,
    /// Cohort row numbers of the test split, in the order of the probabilities.
    rows: Vec<usize>,
    runs: Vec<XgbRun>,
}

#[derive(Deserialize)]
struct XgbRun {
    seed: u64,
    secs: f64,
    response: Vec<f64>,
    adr: Vec<f64>,
}

/// The cohort config of one point: `n` rows split `n` / `n/3` / `test_rows`.
fn point_config(cfg: &InferenceConfig, train_rows: usize, test_rows: usize) -> InferenceConfig {
    let valid = train_rows / 3;
    let n = train_rows + valid + test_rows;
    let mut c = cfg.clone();
    c.cohort.n_patients = n;
    c.cohort.valid_frac = valid as f64 / n as f64;
    c.cohort.test_frac = test_rows as f64 / n as f64;
    c
}

fn xgboost(
    python: &Path,
    cohort: &Cohort,
    data: &Prepared,
    seeds: &[u64],
    inputs: &Inputs,
) -> Result<(String, Vec<SeedRun>)> {
    let dir = tempfile::tempdir()?;
    let csv = dir.path().join("cohort.csv");
    let file = std::fs::File::create(&csv)?;
    crate::export::write_csv(cohort, data, std::io::BufWriter::new(file))?;
    // Embedded, so the binary never runs a script from another checkout than its own source.
    let script = dir.path().join("xgboost_baseline.py");
    std::fs::write(&script, include_str!("../scripts/xgboost_baseline.py"))?;
    let seeds_arg = seeds
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let out = Command::new(python)
        .arg(&script)
        .args(["--csv", &csv.to_string_lossy(), "--seeds", &seeds_arg])
        .output()
        .with_context(|| format!("--xgboost-python: cannot run {}", python.display()))?;
    if !out.status.success() {
        bail!(
            "scripts/xgboost_baseline.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let x: XgbOut = serde_json::from_slice(&out.stdout)
        .context("reading the output of scripts/xgboost_baseline.py")?;
    // The script lists test rows in file order; score them in the test split's order.
    let at: std::collections::HashMap<usize, usize> = x
        .rows
        .iter()
        .enumerate()
        .map(|(k, &row)| (row, k))
        .collect();
    let order = cohort
        .test
        .iter()
        .map(|i| at.get(i).copied())
        .collect::<Option<Vec<usize>>>()
        .filter(|o| o.len() == x.rows.len())
        .context("xgboost_baseline.py scored other rows than the test split")?;
    if x.runs
        .iter()
        .any(|r| r.response.len() != order.len() || r.adr.len() != order.len())
    {
        bail!("xgboost_baseline.py returned a run with a probability per row missing");
    }
    let runs = x
        .runs
        .into_iter()
        .map(|r| {
            let p: Vec<[f64; 2]> = order.iter().map(|&k| [r.response[k], r.adr[k]]).collect();
            inputs.score(&p, r.seed, r.secs, vec![])
        })
        .collect();
    Ok((x.version, runs))
}

/// Runs the plan.
pub fn run(
    cfg: &InferenceConfig,
    plan: &Plan,
    device: &Device,
    progress: bool,
) -> Result<LearningCurve> {
    let t0 = Instant::now();
    let mut points = Vec::new();
    let mut xgboost_version = None;
    for size in &plan.sizes {
        let tp = Instant::now();
        let pc = point_config(cfg, size.train_rows, plan.test_rows);
        let seeds = if size.seeds.is_empty() {
            &cfg.train.seeds
        } else {
            &size.seeds
        };
        let cohort = Cohort::generate(&pc.cohort)?;
        let data = Prepared::new(&cohort, pc.cohort.seq_len)?;
        let inputs = Inputs::build(&pc, &cohort, &data, device)?;
        let (all, all_secs) = fit_gbdt_all_features(&pc, &cohort, &data)?;
        let te = &cohort.test;
        let mut models = vec![
            inputs.gbdt_runs(
                GBDT_TABULAR,
                &inputs.gbdt,
                &data.tab_rows(te),
                inputs.gbdt_secs,
            ),
            inputs.gbdt_runs(GBDT_ALL, &all, &data.all_rows(te), all_secs),
        ];
        if let Some(py) = &plan.xgboost_python {
            let (version, runs) = xgboost(py, &cohort, &data, seeds, &inputs)?;
            xgboost_version = Some(version);
            models.push(ModelRuns {
                name: XGBOOST.into(),
                params: 0,
                runs,
            });
        }
        let mut calibrated = Vec::new();
        for (kind, label) in [
            (NeuralKind::Logistic, "Logistic Regression"),
            (NeuralKind::Hybrid, HYBRID),
        ] {
            let mut runs = Vec::new();
            let mut params = 0;
            for &seed in seeds {
                let model = NeuralModel::build(kind, &pc, &data.spec, seed, device)?;
                params = model.n_params();
                let ts = Instant::now();
                let epochs = fit(&model, &pc.train, &inputs.train, &inputs.valid, seed, false)?;
                let secs = ts.elapsed().as_secs_f64();
                let p = model.predict_proba(&inputs.test, 256)?;
                let run = inputs.score(&p, seed, secs, epochs);
                if kind == NeuralKind::Hybrid {
                    let (_, cal) = inputs.calibrate(&model, &p)?;
                    calibrated.push(inputs.score(&cal, seed, secs, vec![]));
                }
                if progress {
                    eprintln!(
                        "{} rows, {} seed {seed}: test AUC response {:.3} ADR {:.3} ({secs:.0}s)",
                        size.train_rows,
                        kind.name(),
                        run.response.roc_auc,
                        run.adr.roc_auc
                    );
                }
                runs.push(run);
            }
            models.push(ModelRuns {
                name: label.into(),
                params,
                runs,
            });
        }
        models.push(ModelRuns {
            name: HYBRID_CALIBRATED.into(),
            params: models.last().map_or(0, |m| m.params + 4),
            runs: calibrated,
        });
        let summary = cohort.summary();
        let point = Point {
            train_rows: cohort.train.len(),
            valid_rows: cohort.valid.len(),
            test_rows: cohort.test.len(),
            ceilings: serde_json::json!({
                "oracle": summary["oracle_test_auc"],
                "noise_free": summary["ceiling_test_auc"]["noise_free"],
                "typical_frailty_and_pk": summary["ceiling_test_auc"]["typical_frailty_and_pk"],
            }),
            models,
            secs: tp.elapsed().as_secs_f64(),
        };
        if progress {
            eprintln!("{}", markdown_point(&point));
        }
        points.push(point);
    }
    Ok(LearningCurve {
        config: cfg.clone(),
        points,
        xgboost_version,
        total_secs: t0.elapsed().as_secs_f64(),
    })
}

const TASKS: [(usize, &str); 2] = [(0, "response"), (1, "adr")];

fn auc_cell(m: &ModelRuns, task: usize) -> String {
    let s = m.spread(task, |x| x.roc_auc);
    if m.runs.len() > 1 {
        format!("{:.3} ± {:.3} (n={})", s.mean, s.std, m.runs.len())
    } else {
        format!("{:.3}", s.mean)
    }
}

fn markdown_point(p: &Point) -> String {
    let mut s = format!(
        "#### {} training rows ({} validation, {} test; {:.0} s)\n\n| Model | Response AUC | ADR AUC | Response ECE | ADR ECE |\n|---|---|---|---|---|\n",
        p.train_rows, p.valid_rows, p.test_rows, p.secs
    );
    for m in &p.models {
        s += &format!(
            "| {} | {} | {} | {:.3} | {:.3} |\n",
            m.name,
            auc_cell(m, 0),
            auc_cell(m, 1),
            m.spread(0, |x| x.ece).mean,
            m.spread(1, |x| x.ece).mean
        );
    }
    for (key, label) in [
        ("oracle", "oracle (generating probability)"),
        ("noise_free", "ceiling: noise-free logit"),
        (
            "typical_frailty_and_pk",
            "noise-free, typical frailty and PK",
        ),
    ] {
        let c = &p.ceilings[key];
        s += &format!(
            "| *{label}* | {:.3} | {:.3} | | |\n",
            c["response"].as_f64().unwrap_or(f64::NAN),
            c["adr"].as_f64().unwrap_or(f64::NAN)
        );
    }
    s
}

/// The curve as Markdown: one table of test ROC-AUC per task (rows: models, columns: sizes),
/// then each point's full table.
pub fn markdown(c: &LearningCurve) -> String {
    let mut s = String::new();
    for (task, title) in TASKS {
        s += &format!(
            "\n### Test ROC-AUC by training rows — {title}\n\n| Model | {} |\n|---{}|\n",
            c.points
                .iter()
                .map(|p| p.train_rows.to_string())
                .collect::<Vec<_>>()
                .join(" | "),
            "|---".repeat(c.points.len())
        );
        let names: Vec<&str> = c.points[0].models.iter().map(|m| m.name.as_str()).collect();
        for name in names {
            let cells: Vec<String> = c
                .points
                .iter()
                .map(|p| {
                    p.models
                        .iter()
                        .find(|m| m.name == name)
                        .map_or("–".into(), |m| auc_cell(m, task))
                })
                .collect();
            s += &format!("| {name} | {} |\n", cells.join(" | "));
        }
        for key in ["oracle", "noise_free"] {
            let cells: Vec<String> = c
                .points
                .iter()
                .map(|p| format!("{:.3}", p.ceilings[key][title].as_f64().unwrap_or(f64::NAN)))
                .collect();
            s += &format!("| *{key}* | {} |\n", cells.join(" | "));
        }
    }
    s += "\n### Each training size\n\n";
    for p in &c.points {
        s += &markdown_point(p);
        s += "\n";
    }
    s
}

/// `learning_curve_{task}.svg` in `out`: mean test AUC against training rows (log scale), one line
/// per model, the ceilings dashed.
pub fn plots(c: &LearningCurve, out: &Path) -> Result<()> {
    let xs: Vec<f64> = c.points.iter().map(|p| p.train_rows as f64).collect();
    let (lo, hi) = (
        xs.iter().copied().fold(f64::INFINITY, f64::min),
        xs.iter().copied().fold(0.0, f64::max),
    );
    for (task, name) in TASKS {
        let models: Vec<&ModelRuns> = c.points[0].models.iter().collect();
        let mut series: Vec<Series> = models
            .iter()
            .map(|m| Series {
                label: &m.name,
                points: c
                    .points
                    .iter()
                    .filter_map(|p| p.models.iter().find(|x| x.name == m.name))
                    .zip(&xs)
                    .map(|(m, &x)| (x, m.spread(task, |r| r.roc_auc).mean))
                    .collect(),
                reference: false,
            })
            .collect();
        for (key, label) in [("oracle", "oracle"), ("noise_free", "noise-free ceiling")] {
            series.push(Series {
                label,
                points: c
                    .points
                    .iter()
                    .zip(&xs)
                    .map(|(p, &x)| (x, p.ceilings[key][name].as_f64().unwrap_or(f64::NAN)))
                    .collect(),
                reference: true,
            });
        }
        let ys = series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
        let ymin = ys.fold(1.0f64, f64::min);
        line_chart_svg(
            &out.join(format!("learning_curve_{name}.svg")),
            &format!("Test ROC-AUC by training rows — {name}"),
            "training rows (log scale)",
            "test ROC-AUC",
            lo * 0.8..hi * 1.25,
            // Room above the ceilings (< 0.9 on this cohort) for the legend.
            (ymin - 0.02).max(0.4)..1.05,
            true,
            SeriesLabelPosition::UpperRight,
            &series,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_and_without_seeds() {
        assert_eq!(
            "2400".parse::<Size>().unwrap(),
            Size {
                train_rows: 2400,
                seeds: vec![]
            }
        );
        assert_eq!(
            "48000:1,2".parse::<Size>().unwrap(),
            Size {
                train_rows: 48000,
                seeds: vec![1, 2]
            }
        );
        let e = "12k:1".parse::<Size>().unwrap_err().to_string();
        assert!(e.contains("12k"), "{e}");
        assert!("100".parse::<Size>().is_err());
    }

    #[test]
    fn point_split_has_the_requested_sizes() {
        let c = point_config(&InferenceConfig::default(), 2400, 4800);
        assert_eq!(c.cohort.n_patients, 2400 + 800 + 4800);
        let n = c.cohort.n_patients as f64;
        assert!((c.cohort.valid_frac * n - 800.0).abs() < 1e-9);
        assert!((c.cohort.test_frac * n - 4800.0).abs() < 1e-9);
    }
}
