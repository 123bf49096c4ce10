//! Synthetic training cohort with a documented generating process.
//!
//! Each row is one patient given one drug of the simulation crate's built-in
//! library (`DrugLibrary::builtin()`: metoprolol/CYP2D6, warfarin/CYP2C9 +
//! VKORC1, simvastatin/SLCO1B1, tacrolimus/CYP3A5, vancomycin/renal) at a dose
//! multiple of its default regimen. Per row, with `N(·)` independent noise:
//!
//! 1. **Demographics and latent state.** age ~ N(58, 16) clipped to 18–92;
//!    sex ~ Bernoulli(0.5); weight lognormal by sex; an *unobserved* frailty
//!    `f ~ N(0, 1)` (confounder) raises creatinine and heart rate, lowers
//!    albumin, lowers response and raises ADR risk.
//! 2. **Labs.** creatinine = sex base · exp(0.006·(age−50) + 0.12·f + N(0, 0.15));
//!    albumin = 4.1 − 0.25·f + N(0, 0.3); ALT lognormal.
//! 3. **Genotype → phenotype.** Diplotypes drawn from allele frequencies
//!    ([`ALLELES`]); phenotypes via `consentry_simulation::pgx` (CPIC).
//! 4. **Exposure.** `consentry_simulation::personalize` gives the individual
//!    PK parameters from genotype, eGFR and weight; log-normal between-subject
//!    variability from the drug's `omega` is added; steady-state
//!    concentrations over the last dosing interval come from the closed-form
//!    superposition `pk::closed_form::concentrations`. The exposure score is
//!    `e = ln(C / C_ref) − ln(pd_c50_multiplier)`, where `C` is the drug's
//!    window metric (trough / Cmax / Cavg; Cavg if none) and `C_ref` that of
//!    the reference patient at the default dose; the VKORC1 C50 multiplier
//!    makes warfarin-sensitive genotypes act like higher exposure.
//! 5. **Vital signs** (48 h, hourly, ±10 min jitter): heart rate, systolic and
//!    diastolic pressure with circadian rhythm and measurement noise, plus two
//!    latent *dynamic* patterns whose 48-h means are ~0, so the tabular means
//!    barely reveal them: a disease trajectory `d ~ N(0, 1)` (a centred linear
//!    trend in BP and HR; worsening lowers response) and autonomic instability
//!    `a` (25 % of patients; 3 bursts of tachycardia with a BP dip in the last
//!    24 h; raises ADR risk, more so at high exposure).
//! 6. **Outcomes.**
//!    `logit P(response) = −0.3 + 2.2·tanh(1.3·(e + 0.35)) − 0.5·f − 0.9·d + N(0, 0.5)`;
//!    `logit P(ADR) = −4.0 + 1.6·softplus(2·(e − 0.4)) + 0.35·(age−58)/16 + 0.5·[eGFR<60] +
//!    0.45·f + a·(1.8 + 0.8·max(e, 0)) + N(0, 0.5)`. Labels are Bernoulli draws,
//!    so even the generating model cannot predict them perfectly.
//! 7. **Missingness.** height 20 %, albumin 30 %, ALT 25 %, each genotype 15 %
//!    (25 % over age 75: not tested), 10 % of vital samples dropped, 8 % of
//!    patients without any vitals. Exposure always uses the *true* genotype.
//!
//! No feature is a function of the label; the response rate is ≈ 60 % and the
//! ADR rate ≈ 15 % (class imbalance), reported by [`Cohort::summary`].

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use consentry_simulation::drugs::DrugSpec;
use consentry_simulation::patient::{PatientRecord, Sex, VitalSample};
use consentry_simulation::pk::closed_form::concentrations;
use consentry_simulation::{personalize, DrugLibrary, PkParams};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

/// Cohort size, seed and split fractions.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct CohortConfig {
    pub n_patients: usize,
    pub seed: u64,
    /// Fraction for validation and for test (the rest trains).
    pub valid_frac: f64,
    pub test_frac: f64,
    /// Time bins of the 48-hour vital-sign window fed to the LSTM.
    pub seq_len: usize,
}

impl Default for CohortConfig {
    fn default() -> Self {
        Self {
            n_patients: 4000,
            seed: 7,
            valid_frac: 0.2,
            test_frac: 0.2,
            seq_len: 24,
        }
    }
}

/// Allele frequencies per gene (approximate European-ancestry values; CYP3A5
/// *1 raised to mix ancestries).
pub const ALLELES: &[(&str, &[(&str, f64)])] = &[
    (
        "CYP2D6",
        &[
            ("*1", 0.35),
            ("*2", 0.27),
            ("*4", 0.19),
            ("*41", 0.09),
            ("*10", 0.03),
            ("*5", 0.03),
            ("*1x2", 0.02),
            ("*9", 0.02),
        ],
    ),
    ("CYP2C9", &[("*1", 0.80), ("*2", 0.12), ("*3", 0.08)]),
    (
        "CYP2C19",
        &[("*1", 0.62), ("*2", 0.15), ("*17", 0.21), ("*3", 0.02)],
    ),
    ("CYP3A5", &[("*3", 0.75), ("*1", 0.25)]),
    ("SLCO1B1", &[("*1", 0.80), ("*5", 0.15), ("*14", 0.05)]),
    ("VKORC1", &[("G", 0.6), ("A", 0.4)]),
];

/// Dose multiples of the default regimen and their probabilities.
const DOSES: [(f64, f64); 5] = [
    (0.5, 0.1),
    (0.75, 0.2),
    (1.0, 0.45),
    (1.5, 0.15),
    (2.0, 0.1),
];

/// One cohort row: the FHIR-shaped record (with missing values), the query
/// and the outcomes, plus the latent quantities (for documentation/tests only —
/// never used as features).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CohortRow {
    pub record: PatientRecord,
    pub drug: String,
    pub dose_multiplier: f64,
    /// `[response, adr]` as 0/1.
    pub y: [f32; 2],
    pub latent: Latent,
}

/// Hidden generating quantities of a row.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Latent {
    pub frailty: f64,
    pub exposure: f64,
    pub trend: f64,
    pub instability: f64,
    pub p_response: f64,
    pub p_adr: f64,
    /// `[response, ADR]` logits without the per-patient outcome noise: `p = σ(logit + noise)`.
    /// No model can know the noise, so ranking by these logits is the best any model can do
    /// (`ceiling_test_auc.noise_free` in [`Cohort::summary`]).
    #[serde(default)]
    pub logit: [f64; 2],
    /// The outcome noise drawn for each task.
    #[serde(default)]
    pub noise: [f64; 2],
    /// The noise-free logits with frailty at its mean (0) and the exposure of the drug's typical
    /// PK parameters for this patient's covariates (no between-subject variability): what is
    /// left when the two latents no record states are unknown rather than inferred.
    #[serde(default)]
    pub logit_typical: [f64; 2],
}

/// A generated cohort with its stratified split.
#[derive(Debug, Clone)]
pub struct Cohort {
    pub rows: Vec<CohortRow>,
    pub train: Vec<usize>,
    pub valid: Vec<usize>,
    pub test: Vec<usize>,
    pub drugs: Vec<String>,
}

fn pick<'a, R: Rng>(rng: &mut R, table: &[(&'a str, f64)]) -> &'a str {
    let u: f64 = rng.gen::<f64>() * table.iter().map(|t| t.1).sum::<f64>();
    let mut acc = 0.0;
    for (a, p) in table {
        acc += p;
        if u < acc {
            return a;
        }
    }
    table[table.len() - 1].0
}

fn softplus(x: f64) -> f64 {
    if x > 30.0 {
        x
    } else {
        x.exp().ln_1p()
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Steady-state exposure metric over the last dosing interval (mg/L).
fn exposure_metric(drug: &DrugSpec, params: &PkParams, dose_multiplier: f64) -> Result<f64> {
    let mut reg = drug.default_regimen.clone();
    reg.dose_mg *= dose_multiplier;
    reg.loading_dose_mg = reg.loading_dose_mg.map(|d| d * dose_multiplier);
    let doses = reg.doses().context("regimen doses")?;
    let t_last = reg.start_h + reg.n_doses.saturating_sub(1) as f64 * reg.interval_h;
    let times: Vec<f64> = (0..=24)
        .map(|k| t_last + k as f64 * reg.interval_h / 24.0)
        .collect();
    let c = concentrations(params, &doses, &times).context("closed-form concentrations")?;
    use consentry_simulation::drugs::TargetMetric;
    let metric = drug
        .window
        .as_ref()
        .map_or(TargetMetric::Cavg, |w| w.metric);
    Ok(match metric {
        TargetMetric::Trough => c[c.len() - 1],
        TargetMetric::Cmax => c.iter().copied().fold(0.0, f64::max),
        TargetMetric::Cavg => c.iter().sum::<f64>() / c.len() as f64,
        TargetMetric::Auc24 => 24.0 * c.iter().sum::<f64>() / c.len() as f64,
    })
}

/// Genotype panel with the true diplotypes.
fn genotypes<R: Rng>(rng: &mut R) -> BTreeMap<String, String> {
    ALLELES
        .iter()
        .map(|(gene, table)| {
            let (a, b) = (pick(rng, table), pick(rng, table));
            (gene.to_string(), format!("{a}/{b}"))
        })
        .collect()
}

/// 48 hourly samples per vital, with the latent trend and instability bursts.
fn vitals<R: Rng>(
    rng: &mut R,
    frailty: f64,
    age: f64,
    trend: f64,
    instability: f64,
) -> BTreeMap<String, Vec<VitalSample>> {
    let n = |rng: &mut R, s: f64| Normal::new(0.0, s).expect("positive sd").sample(rng);
    let hr0 = 72.0 + 5.0 * frailty + n(rng, 6.0);
    let sbp0 = 125.0 + 0.3 * (age - 58.0) + n(rng, 10.0);
    let dbp0 = 78.0 + n(rng, 7.0);
    let phase = rng.gen_range(0.0..std::f64::consts::TAU);
    let bursts: Vec<f64> = (0..3).map(|_| rng.gen_range(24.0..46.0)).collect();
    let mut out: BTreeMap<String, Vec<VitalSample>> = BTreeMap::new();
    for h in 0..48 {
        let t = h as f64 + rng.gen_range(-0.17..0.17);
        let circ = (std::f64::consts::TAU * t / 24.0 + phase).sin();
        let ramp = t / 48.0 - 0.5; // centred: the trend leaves the mean unchanged
        let burst: f64 = bursts
            .iter()
            .map(|&b| (-(t - b).powi(2) / 2.0).exp())
            .sum::<f64>()
            * instability;
        let hr = hr0 + 4.0 * circ + 6.0 * trend * ramp + 28.0 * burst + n(rng, 3.0);
        let sbp = sbp0 + 6.0 * circ + 14.0 * trend * ramp - 14.0 * burst + n(rng, 5.0);
        let dbp = dbp0 + 3.0 * circ + 7.0 * trend * ramp - 8.0 * burst + n(rng, 4.0);
        for (name, v) in [
            ("heart_rate_bpm", hr),
            ("systolic_bp_mmhg", sbp),
            ("diastolic_bp_mmhg", dbp),
        ] {
            if rng.gen_bool(0.9) {
                out.entry(name.to_string()).or_default().push(VitalSample {
                    time_h: t.max(0.0),
                    value: v,
                });
            }
        }
    }
    out
}

impl Cohort {
    /// Generates `cfg.n_patients` rows and a stratified train/valid/test split.
    pub fn generate(cfg: &CohortConfig) -> Result<Self> {
        let lib = DrugLibrary::builtin();
        let drugs: Vec<String> = lib.names().iter().map(|s| s.to_string()).collect();
        let mut reference = BTreeMap::new();
        for d in &drugs {
            let spec = lib.get(d)?;
            let p = personalize(spec, &PatientRecord::reference())?;
            reference.insert(d.clone(), exposure_metric(spec, &p.params, 1.0)?);
        }
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(cfg.seed);
        let std_n = Normal::<f64>::new(0.0, 1.0).expect("unit normal");
        let mut rows = Vec::with_capacity(cfg.n_patients);
        for i in 0..cfg.n_patients {
            let mut z = || std_n.sample(&mut rng);
            let (zf, za, zw, zc, zal, zalt, zh) = (z(), z(), z(), z(), z(), z(), z());
            let frailty = zf;
            let age = (58.0 + 16.0 * za).clamp(18.0, 92.0);
            let sex = if rng.gen_bool(0.5) {
                Sex::Male
            } else {
                Sex::Female
            };
            let male = sex == Sex::Male;
            let weight = ((if male { 84.0f64 } else { 70.0f64 }).ln() + 0.18 * zw)
                .exp()
                .clamp(38.0, 180.0);
            let height = (if male { 176.0 } else { 163.0 }) + 7.0 * zh;
            let scr_base = if male { 0.95 } else { 0.75 };
            let creat = (scr_base * (0.006 * (age - 50.0) + 0.12 * frailty + 0.15 * zc).exp())
                .clamp(0.3, 8.0);
            let albumin = (4.1 - 0.25 * frailty + 0.3 * zal).clamp(1.5, 5.5);
            let alt = (25f64.ln() + 0.4 * zalt).exp();
            let true_geno = genotypes(&mut rng);
            let drug = drugs
                .choose(&mut rng)
                .expect("library is not empty")
                .clone();
            let dose = DOSES[{
                let u: f64 = rng.gen();
                let mut acc = 0.0;
                DOSES
                    .iter()
                    .position(|(_, p)| {
                        acc += p;
                        u < acc
                    })
                    .unwrap_or(2)
            }]
            .0;
            let mut record = PatientRecord {
                id: Some(format!("synthetic-{:05}", i)),
                age_years: age,
                sex,
                weight_kg: weight,
                height_cm: Some(height),
                serum_creatinine_mg_dl: creat,
                albumin_g_dl: Some(albumin),
                alt_u_l: Some(alt),
                genotypes: true_geno.clone(),
                vitals: BTreeMap::new(),
            };
            // Exposure from the true genotype and between-subject variability.
            let spec = lib.get(&drug)?;
            let pers = personalize(spec, &record)
                .with_context(|| format!("personalising {drug} for row {i}"))?;
            let om = &spec.variability.omega;
            let e_typical = (exposure_metric(spec, &pers.params, dose)? / reference[&drug]).ln()
                - pers.pd_c50_multiplier.ln();
            let mut params = pers.params;
            params.cl_l_h *= (om[0][0].sqrt() * std_n.sample(&mut rng)).exp();
            params.v_l *= (om[1][1].sqrt() * std_n.sample(&mut rng)).exp();
            params.ka_per_h *= (om[2][2].sqrt() * std_n.sample(&mut rng)).exp();
            let c = exposure_metric(spec, &params, dose)?;
            let e = (c / reference[&drug]).ln() - pers.pd_c50_multiplier.ln();
            let trend = std_n.sample(&mut rng);
            let instability = if rng.gen_bool(0.25) {
                rng.gen_range(0.7..1.3)
            } else {
                0.0
            };
            let egfr = pers.egfr;
            let mut noise = || Normal::new(0.0, 0.5).expect("sd").sample(&mut rng);
            let noise = [noise(), noise()];
            let response_logit = |e: f64, frailty: f64| {
                -0.3 + 2.2 * (1.3 * (e + 0.35)).tanh() - 0.5 * frailty - 0.9 * trend
            };
            let adr_logit = |e: f64, frailty: f64| {
                -4.0 + 1.6 * softplus(2.0 * (e - 0.4))
                    + 0.35 * (age - 58.0) / 16.0
                    + 0.5 * (egfr < 60.0) as u8 as f64
                    + 0.45 * frailty
                    + instability * (1.8 + 0.8 * e.max(0.0))
            };
            let logit = [response_logit(e, frailty), adr_logit(e, frailty)];
            let logit_typical = [response_logit(e_typical, 0.0), adr_logit(e_typical, 0.0)];
            let (zr, za_) = (logit[0] + noise[0], logit[1] + noise[1]);
            let (p_response, p_adr) = (sigmoid(zr), sigmoid(za_));
            let y = [
                rng.gen_bool(p_response) as u8 as f32,
                rng.gen_bool(p_adr) as u8 as f32,
            ];
            // Observed record: vitals and missingness.
            if rng.gen_bool(0.92) {
                record.vitals = vitals(&mut rng, frailty, age, trend, instability);
            }
            if rng.gen_bool(0.2) {
                record.height_cm = None;
            }
            if rng.gen_bool(0.3) {
                record.albumin_g_dl = None;
            }
            if rng.gen_bool(0.25) {
                record.alt_u_l = None;
            }
            let p_miss = if age > 75.0 { 0.25 } else { 0.15 };
            record.genotypes.retain(|_, _| !rng.gen_bool(p_miss));
            let latent = Latent {
                frailty,
                exposure: e,
                trend,
                instability,
                p_response,
                p_adr,
                logit,
                noise,
                logit_typical,
            };
            rows.push(CohortRow {
                record,
                drug,
                dose_multiplier: dose,
                y,
                latent,
            });
        }
        let (train, valid, test) = stratified_split(&rows, cfg.valid_frac, cfg.test_frac, cfg.seed);
        Ok(Self {
            rows,
            train,
            valid,
            test,
            drugs,
        })
    }

    /// Prevalences and sizes, for the report.
    pub fn summary(&self) -> serde_json::Value {
        let rate = |idx: &[usize], k: usize| {
            idx.iter().map(|&i| self.rows[i].y[k] as f64).sum::<f64>() / idx.len().max(1) as f64
        };
        let yr: Vec<f32> = self.test.iter().map(|&i| self.rows[i].y[0]).collect();
        let ya: Vec<f32> = self.test.iter().map(|&i| self.rows[i].y[1]).collect();
        let pr: Vec<f64> = self
            .test
            .iter()
            .map(|&i| self.rows[i].latent.p_response)
            .collect();
        let pa: Vec<f64> = self
            .test
            .iter()
            .map(|&i| self.rows[i].latent.p_adr)
            .collect();
        let exposure: BTreeMap<&str, [f64; 2]> = self
            .drugs
            .iter()
            .map(|d| {
                let e: Vec<f64> = self
                    .rows
                    .iter()
                    .filter(|r| &r.drug == d)
                    .map(|r| r.latent.exposure)
                    .collect();
                let m = e.iter().sum::<f64>() / e.len().max(1) as f64;
                let sd =
                    (e.iter().map(|x| (x - m).powi(2)).sum::<f64>() / e.len().max(1) as f64).sqrt();
                (d.as_str(), [m, sd])
            })
            .collect();
        let auc_of = |f: fn(&Latent) -> [f64; 2]| {
            let s: Vec<[f64; 2]> = self.test.iter().map(|&i| f(&self.rows[i].latent)).collect();
            let col = |k: usize| s.iter().map(|v| v[k]).collect::<Vec<_>>();
            serde_json::json!({"response": crate::metrics::roc_auc(&col(0), &yr), "adr": crate::metrics::roc_auc(&col(1), &ya)})
        };
        serde_json::json!({
            // Test ROC-AUC of the true generating probabilities, noise included: no model reaches it.
            "oracle_test_auc": {"response": crate::metrics::roc_auc(&pr, &yr), "adr": crate::metrics::roc_auc(&pa, &ya)},
            // Where the gap to the oracle comes from. `noise_free`: every latent known but the
            // per-patient outcome noise, the ceiling of any model. `typical_frailty_and_pk`: also
            // without the unobserved frailty and PK variability (a reference point, not a bound:
            // labs and vitals carry some of both).
            "ceiling_test_auc": {
                "noise_free": auc_of(|l| l.logit),
                "typical_frailty_and_pk": auc_of(|l| l.logit_typical),
            },
            "exposure_mean_sd_by_drug": exposure,
            "n": self.rows.len(),
            "train": self.train.len(), "valid": self.valid.len(), "test": self.test.len(),
            "response_rate": {"train": rate(&self.train, 0), "valid": rate(&self.valid, 0), "test": rate(&self.test, 0)},
            "adr_rate": {"train": rate(&self.train, 1), "valid": rate(&self.valid, 1), "test": rate(&self.test, 1)},
            "drugs": self.drugs,
        })
    }
}

/// Split stratified on the joint label (response × ADR), seeded.
pub fn stratified_split(
    rows: &[CohortRow],
    valid_frac: f64,
    test_frac: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x5EED_5917);
    let (mut tr, mut va, mut te) = (Vec::new(), Vec::new(), Vec::new());
    for stratum in 0..4u8 {
        let mut idx: Vec<usize> = (0..rows.len())
            .filter(|&i| (rows[i].y[0] as u8) * 2 + rows[i].y[1] as u8 == stratum)
            .collect();
        idx.shuffle(&mut rng);
        let n_te = (idx.len() as f64 * test_frac).round() as usize;
        let n_va = (idx.len() as f64 * valid_frac).round() as usize;
        te.extend_from_slice(&idx[..n_te]);
        va.extend_from_slice(&idx[n_te..n_te + n_va]);
        tr.extend_from_slice(&idx[n_te + n_va..]);
    }
    tr.sort_unstable();
    va.sort_unstable();
    te.sort_unstable();
    (tr, va, te)
}
