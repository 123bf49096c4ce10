//! `consentry fl simulate | report` (clap 4 derive). Wired into the
//! `consentry` binary as `consentry fl …`; `examples/consentry_fl.rs` runs the
//! same commands standalone.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use crate::aggregation::Aggregation;
use crate::data::{CohortSpec, StudyData};
use crate::model::ModelSpec;
use crate::optim::OptimizerKind;
use crate::simulate::{simulate, LocalSpec, PrivacySpec, StudyConfig};

/// Federated learning subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one federated (or, with `--sites 1`, centralized) study in one process:
    /// non-IID sites, FedAvg rounds, patient-level DP-SGD for a whole-study ε,
    /// secure aggregation; prints a summary (or the whole report with --json).
    Simulate(SimulateArgs),
    /// Run the grid of docs/FEDERATED.md (centralized vs 5, 10, 20 sites; no DP
    /// and ε = 0.5, 2, 8) and write the Markdown table and the JSON report.
    Report(ReportArgs),
}

/// Settings shared by `simulate` and `report`.
#[derive(Debug, Clone, Args)]
pub struct StudyArgs {
    /// Synthetic population size (test and public reference splits included).
    #[arg(long, default_value_t = 15_000)]
    pub patients: usize,
    /// Cohort seed.
    #[arg(long, default_value_t = 7)]
    pub cohort_seed: u64,
    /// Fraction of the population held out as the test set.
    #[arg(long, default_value_t = 0.35)]
    pub test_frac: f64,
    /// Fraction used as public reference data (standardiser, ADR class weight).
    #[arg(long, default_value_t = 0.05)]
    pub public_frac: f64,
    /// Time bins of the 48-hour vital-sign window.
    #[arg(long, default_value_t = 8)]
    pub seq_len: usize,
    /// Dirichlet α of the non-IID split over (drug × age band) strata.
    #[arg(long, default_value_t = 0.5)]
    pub alpha: f64,
    /// Fewest patients per site.
    #[arg(long, default_value_t = 100)]
    pub min_site_patients: usize,
    /// Local optimiser.
    #[arg(long, value_enum, default_value_t = Opt::Adam)]
    pub optimizer: Opt,
    /// Local learning rate without DP.
    #[arg(long, default_value_t = 3e-3)]
    pub lr: f64,
    /// Local optimiser under DP (steps on the noised gradient: post-processing).
    #[arg(long, value_enum, default_value_t = Opt::Sgd)]
    pub optimizer_dp: Opt,
    /// Local learning rate under DP.
    #[arg(long, default_value_t = 1.0)]
    pub dp_lr: f64,
    /// Local epochs per round without DP.
    #[arg(long, default_value_t = 3)]
    pub local_epochs: usize,
    /// Mini-batch size without DP.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// DP: Poisson sampling rate q per step.
    #[arg(long, default_value_t = 0.03)]
    pub q: f64,
    /// DP: per-patient clipping norm C.
    #[arg(long, default_value_t = 1.0)]
    pub clip: f64,
    /// DP: DP-SGD steps per site per round.
    #[arg(long, default_value_t = 10)]
    pub local_steps: usize,
    /// Aggregate in the clear instead of through secure aggregation.
    #[arg(long)]
    pub in_the_clear: bool,
    /// Secure aggregation's quantizer range per coordinate of a site's change.
    #[arg(long, default_value_t = crate::aggregation::SECAGG_CLIP)]
    pub secagg_clip: f64,
    /// Model, split, sampling and noise seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Local optimiser names on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Opt {
    Adam,
    Sgd,
}

/// `consentry fl simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Sites (1 = centralized: every training patient at one site).
    #[arg(long, default_value_t = 10)]
    pub sites: usize,
    /// FedAvg rounds.
    #[arg(long, default_value_t = 10)]
    pub rounds: usize,
    /// ε for the whole study; omit or `inf` for no DP.
    #[arg(long, default_value = "inf")]
    pub epsilon: String,
    /// δ of the study.
    #[arg(long, default_value_t = 1e-5)]
    pub delta: f64,
    /// A site that drops out in a round, as ROUND:SITE (repeatable).
    #[arg(long = "drop", value_name = "ROUND:SITE")]
    pub drops: Vec<String>,
    /// Print the whole JSON report instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON report to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No per-round progress on stderr.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub study: StudyArgs,
}

/// `consentry fl report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// FedAvg rounds of every run.
    #[arg(long, default_value_t = 10)]
    pub rounds: usize,
    /// Site counts of the federated rows.
    #[arg(long, value_delimiter = ',', default_value = "5,10,20")]
    pub sites: Vec<usize>,
    /// Whole-study ε of the DP rows.
    #[arg(long, value_delimiter = ',', default_value = "0.5,2,8")]
    pub epsilons: Vec<f64>,
    /// δ of the study.
    #[arg(long, default_value_t = 1e-5)]
    pub delta: f64,
    /// Markdown output.
    #[arg(long, default_value = "docs/FEDERATED.md")]
    pub md: PathBuf,
    /// JSON output (every run's config, rounds, accountant inputs and ε).
    #[arg(long, default_value = "docs/federated-report.json")]
    pub json: PathBuf,
    /// No per-round progress on stderr.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub study: StudyArgs,
}

impl StudyArgs {
    /// The population spec.
    pub fn cohort(&self) -> CohortSpec {
        CohortSpec {
            n_patients: self.patients,
            seed: self.cohort_seed,
            test_frac: self.test_frac,
            public_frac: self.public_frac,
            seq_len: self.seq_len,
        }
    }

    /// A run's config.
    pub fn config(
        &self,
        name: String,
        sites: usize,
        rounds: usize,
        epsilon: Option<f64>,
        delta: f64,
    ) -> StudyConfig {
        StudyConfig {
            name,
            n_sites: sites,
            alpha: self.alpha,
            min_site_patients: self.min_site_patients,
            rounds,
            model: ModelSpec::default(),
            local: LocalSpec {
                optimizer: match (epsilon.is_some(), self.optimizer, self.optimizer_dp) {
                    (false, Opt::Adam, _) | (true, _, Opt::Adam) => OptimizerKind::Adam,
                    _ => OptimizerKind::Sgd,
                },
                lr: if epsilon.is_some() {
                    self.dp_lr
                } else {
                    self.lr
                },
                epochs: self.local_epochs,
                batch_size: self.batch_size,
            },
            privacy: epsilon.map(|e| PrivacySpec {
                target_epsilon: e,
                delta,
                sampling_rate: self.q,
                clip_norm: self.clip,
                local_steps: self.local_steps,
            }),
            aggregation: if self.in_the_clear {
                Aggregation::InTheClear
            } else {
                Aggregation::SecAgg
            },
            threshold: 0,
            secagg_clip: self.secagg_clip,
            seed: self.seed,
            dropouts: Vec::new(),
            revocations: Vec::new(),
            gbdt: None,
        }
    }
}

/// Parses `--epsilon`: a positive number, or `inf` / `none` for no DP.
pub fn parse_epsilon(s: &str) -> Result<Option<f64>> {
    match s.trim().to_ascii_lowercase().as_str() {
        "inf" | "infinity" | "none" | "∞" => Ok(None),
        t => {
            let e: f64 = t
                .parse()
                .with_context(|| format!("--epsilon {s}: a positive number or `inf`"))?;
            if !(e > 0.0 && e.is_finite()) {
                bail!("--epsilon {s}: must be positive (or `inf` for no DP)");
            }
            Ok(Some(e))
        }
    }
}

fn parse_pair(s: &str) -> Result<(usize, usize)> {
    let (a, b) = s
        .split_once(':')
        .with_context(|| format!("`{s}`: expected ROUND:SITE"))?;
    Ok((a.parse()?, b.parse()?))
}

/// Runs a subcommand.
pub fn run(cmd: Command) -> Result<()> {
    match cmd {
        Command::Simulate(a) => {
            let eps = parse_epsilon(&a.epsilon)?;
            let data = StudyData::generate(&a.study.cohort())?;
            let name = if a.sites == 1 {
                "centralized".to_string()
            } else {
                format!("federated, {} sites", a.sites)
            };
            let mut cfg = a.study.config(name, a.sites, a.rounds, eps, a.delta);
            cfg.dropouts = a
                .drops
                .iter()
                .map(|s| parse_pair(s))
                .collect::<Result<_>>()?;
            let report = simulate(cfg, &data, !a.quiet)?;
            let json = serde_json::to_string_pretty(&report)?;
            if let Some(p) = &a.out {
                std::fs::write(p, &json).with_context(|| format!("writing {}", p.display()))?;
            }
            if a.json {
                println!("{json}");
            } else {
                println!(
                    "{}: test ROC-AUC response {:.4}, ADR {:.4}; accuracy {:.3}, F1 {:.3}; {}; {} params, {:.0}s",
                    report.config.name,
                    report.test.response.roc_auc,
                    report.test.adr.roc_auc,
                    report.test.response.accuracy,
                    report.test.response.f1,
                    report.privacy.as_ref().map_or("no DP".to_string(), |p| format!(
                        "ε = {:.3} (δ = {}, σ = {:.3}, q = {}, C = {}, {} steps)",
                        p.epsilon, p.delta, p.noise_multiplier, p.sampling_rate, p.clip_norm, p.total_steps
                    )),
                    report.n_params,
                    report.secs
                );
            }
            Ok(())
        }
        Command::Report(a) => crate::report::run_grid(&a),
    }
}
