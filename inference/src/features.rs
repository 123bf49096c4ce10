//! Feature extraction from the FHIR-derived [`PatientRecord`] the worker's
//! store holds (`consentry_simulation::patient`), plus the standardisation the
//! neural models need.
//!
//! Two views of a (patient, drug, dose) query:
//! - **tabular** (`f32`, NaN = missing): demographics, labs, eGFR, one
//!   phenotype code per pharmacogene, the drug (one-hot), the dose multiplier
//!   and the 48-hour *mean* of each vital sign, which is what an EHR table
//!   holds. GBDT, logistic regression and the Transformer read this view.
//! - **sequence** `[T, C]`: each vital sign resampled onto `T` equal bins over
//!   the last 48 hours (bin mean, NaN where no sample fell). The BiLSTM reads
//!   this view, with a 0/1 "observed" channel per vital.

use consentry_simulation::patient::{PatientRecord, Sex};
use consentry_simulation::pgx::{self, Phenotype, Vkorc1};
use serde::{Deserialize, Serialize};

/// Pharmacogenes used as features (CPIC phenotype per gene, VKORC1 genotype).
pub const GENES: [&str; 6] = ["CYP2D6", "CYP2C9", "CYP2C19", "CYP3A5", "SLCO1B1", "VKORC1"];
/// Vital-sign series used (names as in `PatientRecord::vitals`).
pub const VITALS: [&str; 3] = ["heart_rate_bpm", "systolic_bp_mmhg", "diastolic_bp_mmhg"];
/// Length of the vital-sign window the sequence view covers, in hours.
pub const WINDOW_H: f64 = 48.0;

/// Ordinal code of a metabolizer phenotype (Poor = 0 … Ultrarapid = 4).
pub fn phenotype_code(p: Phenotype) -> f32 {
    match p {
        Phenotype::Poor => 0.0,
        Phenotype::Intermediate => 1.0,
        Phenotype::Normal => 2.0,
        Phenotype::Rapid => 3.0,
        Phenotype::Ultrarapid => 4.0,
    }
}

/// Column layout of the tabular view; stored in every checkpoint manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FeatureSpec {
    /// Drug names in one-hot order.
    pub drugs: Vec<String>,
    /// Time bins of the sequence view.
    pub seq_len: usize,
}

impl FeatureSpec {
    /// Tabular column names.
    pub fn names(&self) -> Vec<String> {
        let mut n: Vec<String> = [
            "age_years",
            "sex_male",
            "weight_kg",
            "height_cm",
            "serum_creatinine_mg_dl",
            "egfr_ml_min",
            "albumin_g_dl",
            "alt_u_l",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        n.extend(GENES.iter().map(|g| format!("pgx_{g}")));
        n.extend(self.drugs.iter().map(|d| format!("drug={d}")));
        n.push("dose_multiplier".into());
        n.extend(VITALS.iter().map(|v| format!("mean_{v}")));
        n
    }

    /// Names of the flattened sequence view, `seq_t{bin}_{vital}` (bin 0 oldest), in the order of
    /// [`FeatureSpec::sequence`].
    pub fn sequence_names(&self) -> Vec<String> {
        (0..self.seq_len)
            .flat_map(|t| VITALS.iter().map(move |v| format!("seq_t{t}_{v}")))
            .collect()
    }

    /// Number of tabular columns.
    pub fn n_tabular(&self) -> usize {
        8 + GENES.len() + self.drugs.len() + 1 + VITALS.len()
    }

    /// Channels of the sequence view fed to the LSTM (values + observed flags).
    pub fn seq_channels(&self) -> usize {
        2 * VITALS.len()
    }

    /// Index of a drug, or an error that lists the known drugs.
    pub fn drug_index(&self, drug: &str) -> anyhow::Result<usize> {
        self.drugs
            .iter()
            .position(|d| d.eq_ignore_ascii_case(drug))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "drug `{drug}` is not one the model was trained on; use one of: {}",
                    self.drugs.join(", ")
                )
            })
    }

    /// Tabular row for a query. Unparseable genotypes are treated as missing.
    pub fn tabular(
        &self,
        p: &PatientRecord,
        drug: &str,
        dose_multiplier: f64,
    ) -> anyhow::Result<Vec<f32>> {
        let di = self.drug_index(drug)?;
        let nan = f32::NAN;
        let egfr = consentry_simulation::renal::egfr_ckd_epi_2021(
            p.serum_creatinine_mg_dl,
            p.age_years,
            p.sex,
        )
        .map(|v| v as f32)
        .unwrap_or(nan);
        let mut row = vec![
            p.age_years as f32,
            (p.sex == Sex::Male) as u8 as f32,
            p.weight_kg as f32,
            p.height_cm.map_or(nan, |v| v as f32),
            p.serum_creatinine_mg_dl as f32,
            egfr,
            p.albumin_g_dl.map_or(nan, |v| v as f32),
            p.alt_u_l.map_or(nan, |v| v as f32),
        ];
        for g in GENES {
            let code = p
                .genotypes
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(g))
                .and_then(|(_, d)| {
                    if g == "VKORC1" {
                        pgx::vkorc1(d).ok().map(|v| match v {
                            Vkorc1::GG => 0.0,
                            Vkorc1::GA => 1.0,
                            Vkorc1::AA => 2.0,
                        })
                    } else {
                        pgx::phenotype(g, d).ok().map(phenotype_code)
                    }
                });
            row.push(code.unwrap_or(nan));
        }
        row.extend((0..self.drugs.len()).map(|i| (i == di) as u8 as f32));
        row.push(dose_multiplier as f32);
        for v in VITALS {
            let s = p.vitals.get(v).filter(|s| !s.is_empty());
            row.push(s.map_or(nan, |s| {
                (s.iter().map(|x| x.value).sum::<f64>() / s.len() as f64) as f32
            }));
        }
        Ok(row)
    }

    /// Sequence view `[T * C]` (row-major, NaN where unobserved).
    pub fn sequence(&self, p: &PatientRecord) -> Vec<f32> {
        let t = self.seq_len;
        let c = VITALS.len();
        let mut sum = vec![0.0f64; t * c];
        let mut cnt = vec![0u32; t * c];
        let end = VITALS
            .iter()
            .filter_map(|v| p.vitals.get(*v))
            .flat_map(|s| s.iter().map(|x| x.time_h))
            .fold(f64::NEG_INFINITY, f64::max);
        let dt = WINDOW_H / t as f64;
        for (ci, v) in VITALS.iter().enumerate() {
            for s in p.vitals.get(*v).into_iter().flatten() {
                let back = end - s.time_h;
                if !(0.0..WINDOW_H).contains(&back) || !s.value.is_finite() {
                    continue;
                }
                let bin = t - 1 - ((back / dt) as usize).min(t - 1);
                sum[bin * c + ci] += s.value;
                cnt[bin * c + ci] += 1;
            }
        }
        sum.iter()
            .zip(&cnt)
            .map(|(&s, &n)| {
                if n == 0 {
                    f32::NAN
                } else {
                    (s / n as f64) as f32
                }
            })
            .collect()
    }
}

/// Per-column mean / standard deviation fitted on the training split (NaN ignored).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Standardizer {
    pub tab_mean: Vec<f32>,
    pub tab_std: Vec<f32>,
    pub seq_mean: Vec<f32>,
    pub seq_std: Vec<f32>,
}

fn mean_std(vals: impl Iterator<Item = f32>) -> (f32, f32) {
    let v: Vec<f64> = vals.filter(|x| !x.is_nan()).map(|x| x as f64).collect();
    if v.is_empty() {
        return (0.0, 1.0);
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let s = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
    (m as f32, if s > 1e-6 { s as f32 } else { 1.0 })
}

impl Standardizer {
    /// Fits on tabular rows and flattened `[T*C]` sequences.
    pub fn fit(tab: &[Vec<f32>], seq: &[Vec<f32>], channels: usize) -> Self {
        let f = tab.first().map_or(0, |r| r.len());
        let (tab_mean, tab_std) = (0..f).map(|j| mean_std(tab.iter().map(|r| r[j]))).unzip();
        let (seq_mean, seq_std) = (0..channels)
            .map(|c| {
                mean_std(
                    seq.iter()
                        .flat_map(|s| s.iter().skip(c).step_by(channels).copied()),
                )
            })
            .unzip();
        Self {
            tab_mean,
            tab_std,
            seq_mean,
            seq_std,
        }
    }

    /// Standardised values (0 where missing) and 0/1 missing flags.
    pub fn tabular(&self, row: &[f32]) -> (Vec<f32>, Vec<f32>) {
        row.iter()
            .enumerate()
            .map(|(j, &x)| {
                if x.is_nan() {
                    (0.0, 1.0)
                } else {
                    ((x - self.tab_mean[j]) / self.tab_std[j], 0.0)
                }
            })
            .unzip()
    }

    /// LSTM input `[T * 2C]`: standardised values (last observation carried
    /// forward, 0 before the first) followed by per-channel observed flags.
    pub fn sequence(&self, seq: &[f32]) -> Vec<f32> {
        let c = self.seq_mean.len();
        let t = seq.len() / c.max(1);
        let mut out = Vec::with_capacity(t * 2 * c);
        let mut last = vec![0.0f32; c];
        for ti in 0..t {
            let mut flags = Vec::with_capacity(c);
            for ci in 0..c {
                let x = seq[ti * c + ci];
                if x.is_nan() {
                    flags.push(0.0);
                } else {
                    last[ci] = (x - self.seq_mean[ci]) / self.seq_std[ci];
                    flags.push(1.0);
                }
                out.push(last[ci]);
            }
            out.extend(flags);
        }
        out
    }
}
