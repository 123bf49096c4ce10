//! A whole study in one process, through the same code a deployment runs:
//! every round each site's [`SiteClient`] trains from the global model on its
//! granted patients (DP-SGD or not), the uploads go through [`aggregation`]
//! (secure aggregation or in the clear) into [`FedAvg`], the new global model
//! is evaluated on the fixed test set, and the accountant's inputs and the
//! cumulative ε are recorded.
//!
//! Privacy: the study's target ε (for δ) covers **all rounds**. σ is
//! calibrated once, before round 1, by `consentry-privacy` for
//! `rounds × local_steps` steps at sampling rate `q`; every site uses the same
//! (q, σ, C, steps) per round. A patient belongs to one site (parallel
//! composition), so a patient's ε is that of the rounds their site trained in;
//! the report's ε is the worst case, a patient granted in every round that ran.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::Device;
use consentry_inference::models::gbdt::GbdtConfig;
use consentry_inference::train::{oof_margins, GbdtPair, NeuralModel, Tensors};
use consentry_privacy::{calibrate_noise_multiplier, DpSgdEvent, RdpAccountant};
use serde::{Deserialize, Serialize};

use crate::aggregation::{aggregate_in_the_clear, Aggregated, Aggregation};
use crate::client::{DpSgd, LocalTraining, LocalUpdate, SiteClient};
use crate::data::{dirichlet_split, profiles, SiteProfile, SplitSpec, StudyData};
use crate::model::{evaluate, Eval, ModelSpec};
use crate::optim::OptimizerKind;
use crate::params::{flatten, load, ParamLayout};
use crate::strategy::{FedAvg, SiteUpdate};

/// Patient-level DP for the whole study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrivacySpec {
    /// ε for the whole study (all rounds).
    pub target_epsilon: f64,
    pub delta: f64,
    /// Poisson sampling rate q per DP-SGD step.
    pub sampling_rate: f64,
    /// Per-patient clipping norm C.
    pub clip_norm: f64,
    /// DP-SGD steps per site per round.
    pub local_steps: usize,
}

/// Local training settings shared by all sites.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalSpec {
    pub optimizer: OptimizerKind,
    pub lr: f64,
    /// Without DP: local epochs per round.
    pub epochs: usize,
    /// Without DP: mini-batch size.
    pub batch_size: usize,
}

/// One study run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyConfig {
    /// Row label in the report.
    pub name: String,
    /// 1 = centralized (all training patients pooled at one "site", no split).
    pub n_sites: usize,
    /// Dirichlet α of the non-IID split.
    pub alpha: f64,
    /// Fewest patients per site the split accepts.
    pub min_site_patients: usize,
    pub rounds: usize,
    pub model: ModelSpec,
    pub local: LocalSpec,
    /// `None` = no DP (ε = ∞).
    pub privacy: Option<PrivacySpec>,
    pub aggregation: Aggregation,
    /// Fewest sites whose input must reach the sum for a round to complete
    /// (SecAgg's Shamir threshold t); 0 = `ceil(2n/3)`.
    pub threshold: usize,
    /// Secure aggregation's quantizer range (per coordinate of a site's change).
    #[serde(default = "default_secagg_clip")]
    pub secagg_clip: f64,
    /// Model initialisation, split, sampling and noise seeds derive from this.
    pub seed: u64,
    /// Sites that drop out (crash after sharing keys, before sending their input), per round (1-based).
    pub dropouts: Vec<(usize, usize)>,
    /// Patients whose consent ends before a round (1-based): absent from it and every later round.
    pub revocations: Vec<(usize, String)>,
    /// Centralized only: the full hybrid, with the GBDT pair fitted on the
    /// pooled training patients (early stopping on the public split) and its
    /// out-of-fold margins as the fusion head's input, instead of zeros.
    #[serde(default)]
    pub gbdt: Option<GbdtConfig>,
}

impl StudyConfig {
    /// The Shamir / completion threshold for `n` sites.
    pub fn threshold_for(&self, n: usize) -> usize {
        if self.threshold > 0 {
            self.threshold
        } else {
            (2 * n).div_ceil(3).max(1)
        }
    }
}

fn default_secagg_clip() -> f64 {
    crate::aggregation::SECAGG_CLIP
}

/// What happened in one round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    pub round: usize,
    /// Sites that trained.
    pub trained: Vec<usize>,
    /// Sites that dropped out after training (their input never reached the sum).
    pub dropped: Vec<usize>,
    /// Sites whose input is in the aggregate.
    pub aggregated: Vec<usize>,
    /// `Σ n_k` over the aggregated sites.
    pub total_n: f64,
    /// Granted patients per trained site (`n_k`).
    pub n_by_site: BTreeMap<usize, u64>,
    /// The accountant's inputs for this round (every site used the same), with C.
    pub dp: Option<DpSgd>,
    /// ε spent by the whole study so far (RDP, for the study's δ).
    pub epsilon_cumulative: Option<f64>,
    pub test_auc_response: f64,
    pub test_auc_adr: f64,
    /// ROC-AUC on the public reference split (what model selection looks at).
    pub public_auc_response: f64,
    pub public_auc_adr: f64,
    /// Per-patient gradients (DP) or rows (no DP) processed by all sites.
    pub examples: usize,
    /// Mean fraction of per-patient gradients clipped (DP).
    pub clipped_frac: f64,
    /// Largest |aggregate − exact weighted mean| (quantization error).
    pub aggregation_max_abs_error: f64,
    pub secs_train: f64,
    pub secs_aggregate: f64,
}

/// The privacy part of a run's report: everything needed to recompute ε.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrivacySummary {
    pub accountant: String,
    pub neighbouring_relation: String,
    pub target_epsilon: f64,
    pub delta: f64,
    pub sampling_rate: f64,
    pub noise_multiplier: f64,
    pub clip_norm: f64,
    pub steps_per_round: usize,
    /// Steps of the worst-case patient over the rounds that ran.
    pub total_steps: u64,
    /// One event per round that ran, in order (compose them to recompute ε).
    pub events: Vec<DpSgdEvent>,
    /// ε of the whole study for `delta`.
    pub epsilon: f64,
}

/// A run's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyReport {
    pub config: StudyConfig,
    pub n_params: usize,
    pub sites: Vec<SiteProfile>,
    pub rounds: Vec<RoundRecord>,
    /// Test metrics of the **selected** global model: the round with the best
    /// mean ROC-AUC on the public reference split (the test set chooses nothing).
    pub test: Eval,
    /// The selected round (1-based).
    pub selected_round: usize,
    /// Test metrics of the final round's model.
    pub test_final: Eval,
    pub privacy: Option<PrivacySummary>,
    pub secs: f64,
}

/// Per-site detail of a round that stays out of the JSON report (the worker's read log).
#[derive(Debug, Clone, PartialEq)]
pub struct RoundOutcome {
    pub record: RoundRecord,
    /// Patients each trained site read this round.
    pub read: BTreeMap<usize, Vec<String>>,
}

/// A study in progress.
pub struct Simulation<'a> {
    pub cfg: StudyConfig,
    data: &'a StudyData,
    sites: Vec<SiteClient>,
    /// Patient ids held by each site.
    holdings: Vec<Vec<String>>,
    revoked: BTreeSet<String>,
    global: Vec<f32>,
    layout: ParamLayout,
    evaluator: NeuralModel,
    test: Tensors,
    public: Tensors,
    /// (mean public AUC, round, parameters) of the best round so far.
    best: Option<(f64, usize, Vec<f32>)>,
    fedavg: FedAvg,
    noise_multiplier: Option<f64>,
    accountant: RdpAccountant,
    events: Vec<DpSgdEvent>,
    rounds: Vec<RoundRecord>,
    profiles: Vec<SiteProfile>,
    started: Instant,
}

fn mix(seed: u64, a: u64, b: u64) -> u64 {
    // SplitMix64 over the three values: distinct streams per (round, site).
    let mut z =
        seed ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of a study's site split, derived from its seed.
pub fn split_seed(seed: u64) -> u64 {
    mix(seed, 0x5117, 0)
}

impl<'a> Simulation<'a> {
    /// Splits the pool into sites, builds every site's client and the initial
    /// global model, and calibrates σ for the whole study.
    pub fn new(cfg: StudyConfig, data: &'a StudyData) -> Result<Self> {
        if cfg.rounds == 0 {
            bail!("a study needs at least one round");
        }
        let device = Device::Cpu;
        let split = dirichlet_split(
            data,
            &SplitSpec {
                n_sites: cfg.n_sites,
                alpha: cfg.alpha,
                seed: split_seed(cfg.seed),
                min_patients: cfg.min_site_patients,
            },
        )?;
        let features = &data.prepared.spec;
        // The full hybrid (centralized only): GBDT margins instead of zeros.
        let gbdt_margins = match &cfg.gbdt {
            None => None,
            Some(g) => {
                if split.len() != 1 {
                    bail!("the GBDT branch is only for the centralized baseline (n_sites = 1)");
                }
                Some(gbdt_inputs(data, g, cfg.seed)?)
            }
        };
        let evaluator = cfg.model.build(features, cfg.seed, &device)?;
        let global = flatten(&evaluator.varmap)?;
        let layout = ParamLayout::of(&evaluator.varmap);
        let mut sites = Vec::with_capacity(split.len());
        let mut holdings = Vec::with_capacity(split.len());
        for (k, rows) in split.iter().enumerate() {
            let ids: Vec<String> = rows.iter().map(|&r| data.patient_id(r)).collect();
            // Each site builds the architecture itself; the global model overwrites its init.
            let model = cfg
                .model
                .build(features, mix(cfg.seed, 0x517E, k as u64), &device)?;
            let tensors = match &gbdt_margins {
                Some((train, _, _)) => data.prepared.tensors(rows, train, &device)?,
                None => data.tensors(rows, &device)?,
            };
            sites.push(SiteClient::new(
                k,
                ids.clone(),
                tensors,
                model,
                data.adr_pos_weight,
            )?);
            holdings.push(ids);
        }
        let noise_multiplier = match &cfg.privacy {
            Some(p) => Some(
                calibrate_noise_multiplier(
                    p.sampling_rate,
                    (cfg.rounds * p.local_steps) as u64,
                    p.target_epsilon,
                    p.delta,
                )
                .with_context(|| {
                    format!(
                        "calibrating σ for ε = {} over {} rounds × {} steps at q = {}",
                        p.target_epsilon, cfg.rounds, p.local_steps, p.sampling_rate
                    )
                })?,
            ),
            None => None,
        };
        let fedavg = FedAvg {
            min_sites: cfg.threshold_for(split.len()),
        };
        Ok(Self {
            profiles: profiles(data, &split),
            test: match &gbdt_margins {
                Some((_, test, _)) => data.prepared.tensors(&data.test, test, &device)?,
                None => data.tensors(&data.test, &device)?,
            },
            public: match &gbdt_margins {
                Some((_, _, public)) => data.prepared.tensors(&data.public, public, &device)?,
                None => data.tensors(&data.public, &device)?,
            },
            best: None,
            cfg,
            data,
            sites,
            holdings,
            revoked: BTreeSet::new(),
            global,
            layout,
            evaluator,
            fedavg,
            noise_multiplier,
            accountant: RdpAccountant::new(),
            events: Vec::new(),
            rounds: Vec::new(),
            started: Instant::now(),
        })
    }

    /// The calibrated noise multiplier (DP runs).
    pub fn noise_multiplier(&self) -> Option<f64> {
        self.noise_multiplier
    }

    /// The current global parameters.
    pub fn global(&self) -> &[f32] {
        &self.global
    }

    /// Patient ids held by each site.
    pub fn holdings(&self) -> &[Vec<String>] {
        &self.holdings
    }

    /// The patient's consent ended: absent from every later round.
    pub fn revoke(&mut self, patient: &str) {
        self.revoked.insert(patient.to_string());
    }

    /// The granted cohort of site `k` for the next round (what the worker gets
    /// back from `request_access_batch`: everyone it holds minus revoked).
    pub fn granted(&self, k: usize) -> Vec<String> {
        self.holdings[k]
            .iter()
            .filter(|id| !self.revoked.contains(*id))
            .cloned()
            .collect()
    }

    fn local_training(&self) -> LocalTraining {
        let l = &self.cfg.local;
        LocalTraining {
            optimizer: l.optimizer,
            lr: l.lr,
            epochs: l.epochs,
            batch_size: l.batch_size,
            dp: self.cfg.privacy.as_ref().map(|p| DpSgd {
                sampling_rate: p.sampling_rate,
                noise_multiplier: self.noise_multiplier.unwrap_or(0.0),
                clip_norm: p.clip_norm,
                steps: p.local_steps,
            }),
            seeded_noise: true,
        }
    }

    /// Runs the next round; `dropped` sites train but never deliver their
    /// input. Fails (and changes nothing) when fewer than the threshold deliver.
    pub fn run_round(&mut self, dropped: &[usize]) -> Result<RoundOutcome> {
        let round = self.rounds.len() + 1;
        let local = self.local_training();
        let t0 = Instant::now();
        let mut updates: Vec<LocalUpdate> = Vec::new();
        for k in 0..self.sites.len() {
            let granted = self.granted(k);
            if granted.is_empty() {
                continue;
            }
            let seed = mix(self.cfg.seed, round as u64, k as u64 + 1);
            updates.push(self.sites[k].train_round(&self.global, &granted, &local, seed)?);
        }
        let secs_train = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let delivered: Vec<SiteUpdate> = updates
            .iter()
            .filter(|u| !dropped.contains(&u.site))
            .map(|u| SiteUpdate {
                site: u.site,
                n: u.n,
                values: u.delta.clone(),
            })
            .collect();
        let agg: Aggregated = match self.cfg.aggregation {
            Aggregation::InTheClear => aggregate_in_the_clear(&self.fedavg, &delivered)?,
            Aggregation::SecAgg => crate::aggregation::aggregate_secure(
                &self.fedavg,
                &updates
                    .iter()
                    .map(|u| SiteUpdate {
                        site: u.site,
                        n: u.n,
                        values: u.delta.clone(),
                    })
                    .collect::<Vec<_>>(),
                dropped,
                self.fedavg.min_sites,
                self.cfg.secagg_clip,
                mix(self.cfg.seed, round as u64, 0x5EC),
            )?,
        };
        self.global = FedAvg::apply(&self.global, &agg.mean_delta)?;
        let secs_aggregate = t1.elapsed().as_secs_f64();
        // Every site that trained read its patients; the round counts for the accountant.
        let dp = local.dp;
        let epsilon_cumulative = match &dp {
            Some(d) if !updates.is_empty() => {
                let ev = DpSgdEvent::new(d.sampling_rate, d.noise_multiplier, d.steps as u64)?;
                self.accountant.compose(&ev)?;
                self.events.push(ev);
                let delta = self.cfg.privacy.as_ref().map_or(1e-5, |p| p.delta);
                Some(self.accountant.epsilon(delta)?.epsilon)
            }
            _ => None,
        };
        load(&self.evaluator.varmap, &self.layout, &self.global)?;
        let ev = evaluate(&self.evaluator, &self.test)?;
        let pe = evaluate(&self.evaluator, &self.public)?;
        let score = (pe.response.roc_auc + pe.adr.roc_auc) / 2.0;
        if self.best.as_ref().is_none_or(|(b, _, _)| score > *b) {
            self.best = Some((score, round, self.global.clone()));
        }
        let examples = updates.iter().map(|u| u.examples).sum();
        let record = RoundRecord {
            round,
            trained: updates.iter().map(|u| u.site).collect(),
            dropped: dropped.to_vec(),
            aggregated: agg.included.clone(),
            total_n: agg.total_n,
            n_by_site: updates.iter().map(|u| (u.site, u.n)).collect(),
            dp,
            epsilon_cumulative,
            test_auc_response: ev.response.roc_auc,
            test_auc_adr: ev.adr.roc_auc,
            public_auc_response: pe.response.roc_auc,
            public_auc_adr: pe.adr.roc_auc,
            examples,
            clipped_frac: if updates.is_empty() {
                0.0
            } else {
                updates.iter().map(|u| u.clipped_frac).sum::<f64>() / updates.len() as f64
            },
            aggregation_max_abs_error: agg.max_abs_error,
            secs_train,
            secs_aggregate,
        };
        self.rounds.push(record.clone());
        Ok(RoundOutcome {
            record,
            read: updates.into_iter().map(|u| (u.site, u.trained)).collect(),
        })
    }

    /// Runs every remaining round of the config (applying its dropouts and revocations).
    pub fn run(mut self, progress: bool) -> Result<StudyReport> {
        while self.rounds.len() < self.cfg.rounds {
            let round = self.rounds.len() + 1;
            for (r, p) in self.cfg.revocations.clone() {
                if r == round {
                    self.revoke(&p);
                }
            }
            let dropped: Vec<usize> = self
                .cfg
                .dropouts
                .iter()
                .filter(|(r, _)| *r == round)
                .map(|(_, s)| *s)
                .collect();
            let o = self.run_round(&dropped)?;
            if progress {
                eprintln!(
                    "[{}] round {round}/{}: test AUC response {:.3} ADR {:.3}{} ({:.1}s train, {:.2}s aggregate)",
                    self.cfg.name,
                    self.cfg.rounds,
                    o.record.test_auc_response,
                    o.record.test_auc_adr,
                    o.record
                        .epsilon_cumulative
                        .map_or(String::new(), |e| format!(", ε {e:.3}")),
                    o.record.secs_train,
                    o.record.secs_aggregate
                );
            }
        }
        self.finish()
    }

    /// The report of the rounds run so far.
    pub fn finish(self) -> Result<StudyReport> {
        load(&self.evaluator.varmap, &self.layout, &self.global)?;
        let test_final = evaluate(&self.evaluator, &self.test)?;
        let (selected_round, test) = match &self.best {
            Some((_, r, w)) => {
                load(&self.evaluator.varmap, &self.layout, w)?;
                (*r, evaluate(&self.evaluator, &self.test)?)
            }
            None => (0, test_final),
        };
        let privacy = match (&self.cfg.privacy, self.noise_multiplier) {
            (Some(p), Some(sigma)) => Some(PrivacySummary {
                accountant:
                    "rdp (consentry-privacy: Poisson-subsampled Gaussian, dp-accounting's orders)"
                        .into(),
                neighbouring_relation: "add_or_remove_one (one patient)".into(),
                target_epsilon: p.target_epsilon,
                delta: p.delta,
                sampling_rate: p.sampling_rate,
                noise_multiplier: sigma,
                clip_norm: p.clip_norm,
                steps_per_round: p.local_steps,
                total_steps: self.events.iter().map(|e| e.steps).sum(),
                events: self.events.clone(),
                epsilon: if self.events.is_empty() {
                    0.0
                } else {
                    self.accountant.epsilon(p.delta)?.epsilon
                },
            }),
            _ => None,
        };
        Ok(StudyReport {
            n_params: self.layout.len(),
            sites: self.profiles,
            rounds: self.rounds,
            test,
            selected_round,
            test_final,
            privacy,
            secs: self.started.elapsed().as_secs_f64(),
            config: self.cfg,
        })
    }

    /// The data the study runs on.
    pub fn data(&self) -> &StudyData {
        self.data
    }
}

type Margins = Vec<[f32; 2]>;

/// GBDT margins for the centralized full hybrid: out-of-fold (3 folds) for
/// the pool's rows, the full pair's for the test and public rows.
fn gbdt_inputs(
    data: &StudyData,
    cfg: &GbdtConfig,
    seed: u64,
) -> Result<(Margins, Margins, Margins)> {
    let p = &data.prepared;
    let names = p.spec.names();
    let pair = GbdtPair::fit(
        cfg,
        &p.tab_rows(&data.pool),
        &p.labels(&data.pool),
        &p.tab_rows(&data.public),
        &p.labels(&data.public),
        &names,
    )?;
    let oof = oof_margins(
        cfg,
        3,
        &p.tab_rows(&data.pool),
        &p.labels(&data.pool),
        seed,
        &names,
    )?;
    let test = data.test.iter().map(|&i| pair.margins(&p.tab[i])).collect();
    let public = data
        .public
        .iter()
        .map(|&i| pair.margins(&p.tab[i]))
        .collect();
    Ok((oof, test, public))
}

/// Runs one study from its config.
pub fn simulate(cfg: StudyConfig, data: &StudyData, progress: bool) -> Result<StudyReport> {
    Simulation::new(cfg, data)?.run(progress)
}
