//! `consentry train | predict | explain` subcommands (clap 4 derive). The lead
//! wires [`Command`] into the single `consentry` binary; `examples/consentry_inference.rs`
//! runs them standalone.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use consentry_simulation::patient::PatientRecord;

use crate::checkpoint::load_bundle;
use crate::config::InferenceConfig;
use crate::device::{device_from_env, device_name, select_device, DeviceChoice};
use crate::pipeline::Attribution;

/// Inference subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate the synthetic cohort, train the hybrid and every baseline over
    /// the configured seeds, evaluate on the test split, write the model bundle
    /// and the report.
    Train(TrainArgs),
    /// Predict response probability and ADR risk for a patient and a drug, with the top attributions.
    Predict(PredictArgs),
    /// Full per-feature explanation of one prediction (IG for the hybrid, TreeSHAP for the GBDT) as JSON.
    Explain(PredictArgs),
    /// Test ROC-AUC of every model against the size of its training split (fresh cohorts of
    /// the config's generator), with the ceilings of the same test rows: the report's learning
    /// curves (inference/reports/learning_curve.md).
    LearningCurve(LearningCurveArgs),
    /// The synthetic cohort: `export` writes it as CSV, exactly as a training config sees it.
    #[command(subcommand)]
    Cohort(CohortCommand),
}

/// `consentry cohort …`.
#[derive(Debug, Subcommand)]
pub enum CohortCommand {
    /// Write the cohort and split of a training config as CSV: features, labels, split, and the
    /// generating (oracle) probabilities in their own columns.
    Export(CohortExportArgs),
}

/// `consentry cohort export`.
#[derive(Debug, Args)]
pub struct CohortExportArgs {
    /// TOML config whose [cohort] section to use, e.g. inference/configs/small.toml.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Override cohort.n_patients.
    #[arg(long)]
    pub n: Option<usize>,
    /// Override cohort.seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output CSV file.
    #[arg(long)]
    pub csv: PathBuf,
}

/// `consentry train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// TOML config (sizes, training, cohort), e.g. inference/configs/small.toml.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Output directory for the bundle, report.json, report.md and plots.
    #[arg(long, default_value = "artifacts/inference")]
    pub out: PathBuf,
    /// Override cohort.n_patients.
    #[arg(long)]
    pub patients: Option<usize>,
    /// Override train.seeds (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub seeds: Option<Vec<u64>>,
    /// Also write the Markdown report to this file (e.g. docs/inference-report.md).
    #[arg(long)]
    pub report_md: Option<PathBuf>,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub device: DeviceArg,
}

/// `consentry learning-curve`.
#[derive(Debug, Args)]
pub struct LearningCurveArgs {
    /// TOML config (model sizes, training), e.g. inference/configs/small.toml; its [cohort]
    /// section gives the generator's seed and sequence length, the sizes come from --size.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A training size, `ROWS` or `ROWS:SEED,SEED,...` (default seeds: train.seeds); repeat it,
    /// e.g. --size 2400 --size 12000 --size 48000:1.
    #[arg(long = "size", required = true)]
    pub sizes: Vec<crate::learning_curve::Size>,
    /// Test rows of every point.
    #[arg(long, default_value_t = 4800)]
    pub test_rows: usize,
    /// Also train the real xgboost package (this Python must import it) on the same rows.
    #[arg(long, value_name = "PYTHON")]
    pub xgboost_python: Option<PathBuf>,
    /// Output directory: learning_curve.json, learning_curve.md, learning_curve_{task}.svg.
    #[arg(long, default_value = "artifacts/learning-curve")]
    pub out: PathBuf,
    /// No progress lines.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub device: DeviceArg,
}

/// `consentry predict` / `consentry explain`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Bundle directory written by `consentry train --out`.
    #[arg(long, default_value = "artifacts/inference")]
    pub model: PathBuf,
    /// Patient JSON: a PatientRecord object or a FHIR R4 Bundle.
    #[arg(long)]
    pub patient: PathBuf,
    /// Drug name (one the model was trained on, e.g. warfarin).
    #[arg(long)]
    pub drug: String,
    /// Dose as a multiple of the drug's default regimen.
    #[arg(long, default_value_t = 1.0)]
    pub dose_multiplier: f64,
    /// Attributions to print per task.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Integrated-Gradients path points.
    #[arg(long, default_value_t = 32)]
    pub ig_steps: usize,
    #[command(flatten)]
    pub device: DeviceArg,
}

/// `--device`, shared by the subcommands that run the neural models.
#[derive(Debug, Args)]
pub struct DeviceArg {
    /// Device for the neural models: auto, cpu, cuda or cuda:N. auto = cuda:0
    /// in a `--features cuda` build when a GPU opens, else the CPU; cuda fails
    /// if there is none. Default: $CONSENTRY_DEVICE, else auto.
    #[arg(long = "device", value_name = "auto|cpu|cuda[:N]")]
    pub choice: Option<DeviceChoice>,
}

impl DeviceArg {
    /// The device for the flag, or `$CONSENTRY_DEVICE` when the flag is absent.
    fn open(&self) -> Result<candle_core::Device> {
        match self.choice {
            Some(c) => select_device(c, "--device"),
            None => device_from_env(),
        }
    }
}

/// Runs one subcommand.
pub fn run(cmd: Command) -> Result<()> {
    match cmd {
        Command::Train(a) => train(a),
        Command::Predict(a) => predict(a, false),
        Command::Explain(a) => predict(a, true),
        Command::LearningCurve(a) => learning_curve(a),
        Command::Cohort(CohortCommand::Export(a)) => export(a),
    }
}

/// The config at `path` (or the default) after `edit` applies the command's overrides,
/// validated; `n_flag` names the flag that sets the cohort size in the error.
fn load_config(
    path: Option<&PathBuf>,
    n_flag: &str,
    edit: impl FnOnce(&mut InferenceConfig),
) -> Result<InferenceConfig> {
    let mut cfg = match path {
        Some(p) => InferenceConfig::load(p)?,
        None => InferenceConfig::default(),
    };
    edit(&mut cfg);
    cfg.validate()?;
    if cfg.cohort.n_patients < 200 {
        bail!("{n_flag} / cohort.n_patients = {} is too small for a stratified split; use at least 200", cfg.cohort.n_patients);
    }
    Ok(cfg)
}

fn export(a: CohortExportArgs) -> Result<()> {
    let cfg = load_config(a.config.as_ref(), "--n", |c| {
        if let Some(n) = a.n {
            c.cohort.n_patients = n;
        }
        if let Some(s) = a.seed {
            c.cohort.seed = s;
        }
    })?;
    let cohort = crate::cohort::Cohort::generate(&cfg.cohort)?;
    let data = crate::pipeline::Prepared::new(&cohort, cfg.cohort.seq_len)?;
    let file = std::fs::File::create(&a.csv)
        .with_context(|| format!("csv: cannot create {}", a.csv.display()))?;
    crate::export::write_csv(&cohort, &data, std::io::BufWriter::new(file))?;
    eprintln!(
        "wrote {} rows ({} train, {} valid, {} test) to {}",
        cohort.rows.len(),
        cohort.train.len(),
        cohort.valid.len(),
        cohort.test.len(),
        a.csv.display()
    );
    Ok(())
}

fn train(a: TrainArgs) -> Result<()> {
    let cfg = load_config(a.config.as_ref(), "--patients", |c| {
        if let Some(n) = a.patients {
            c.cohort.n_patients = n;
        }
        if let Some(s) = a.seeds.clone() {
            c.train.seeds = s;
        }
    })?;
    let device = a.device.open()?;
    if !a.quiet {
        eprintln!("neural models on {}", device_name(&device));
    }
    let report = crate::report::run_experiment(&cfg, &a.out, &device, !a.quiet)?;
    let md = crate::report::markdown(&report);
    println!("{md}");
    println!("model version (SHA-256): {}", report.model_version);
    println!("wrote {}", a.out.display());
    if let Some(p) = a.report_md {
        std::fs::write(&p, md).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

fn learning_curve(a: LearningCurveArgs) -> Result<()> {
    let cfg = load_config(a.config.as_ref(), "--size", |_| {})?;
    if a.test_rows < 200 {
        bail!(
            "--test-rows {} is too few to score an AUC; use at least 200",
            a.test_rows
        );
    }
    let device = a.device.open()?;
    let plan = crate::learning_curve::Plan {
        sizes: a.sizes,
        test_rows: a.test_rows,
        xgboost_python: a.xgboost_python,
    };
    let curve = crate::learning_curve::run(&cfg, &plan, &device, !a.quiet)?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("--out {}", a.out.display()))?;
    std::fs::write(
        a.out.join("learning_curve.json"),
        serde_json::to_vec_pretty(&curve)?,
    )?;
    let md = crate::learning_curve::markdown(&curve);
    std::fs::write(a.out.join("learning_curve.md"), &md)?;
    crate::learning_curve::plots(&curve, &a.out)?;
    println!("{md}");
    println!("wrote {}", a.out.display());
    Ok(())
}

fn top_lines(a: &[Attribution], k: usize) -> String {
    a.iter()
        .take(k)
        .map(|x| format!("    {:>+8.4}  {}", x.value, x.feature))
        .collect::<Vec<_>>()
        .join("\n")
}

fn predict(a: PredictArgs, full: bool) -> Result<()> {
    if !(a.dose_multiplier.is_finite() && a.dose_multiplier > 0.0) {
        bail!(
            "--dose-multiplier must be a positive number (got {})",
            a.dose_multiplier
        );
    }
    let device = a.device.open()?;
    let text = std::fs::read_to_string(&a.patient)
        .with_context(|| format!("reading --patient {}", a.patient.display()))?;
    let record = PatientRecord::from_json_str(&text)
        .map_err(|e| anyhow::anyhow!("--patient {}: {e}", a.patient.display()))?;
    let bundle = load_bundle(&a.model, &device)?;
    let p = bundle.predict(&record, &a.drug, a.dose_multiplier, a.ig_steps.max(2))?;
    if full {
        println!("{}", serde_json::to_string_pretty(&p)?);
        return Ok(());
    }
    println!("model version: {}", p.model_version);
    println!(
        "{} x{} for patient {}",
        p.drug,
        p.dose_multiplier,
        p.patient_id.as_deref().unwrap_or("(no id)")
    );
    for (name, t) in [("response", &p.response), ("ADR risk", &p.adr)] {
        println!(
            "  P({name}) = {:.3}   (GBDT alone {:.3})",
            t.probability, t.gbdt_probability
        );
        println!(
            "  top attributions (logit units, hybrid IG):\n{}",
            top_lines(&t.hybrid_ig, a.top)
        );
    }
    Ok(())
}
