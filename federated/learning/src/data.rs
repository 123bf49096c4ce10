//! The study's data: one synthetic population (the inference crate's
//! generator, [`consentry_inference::cohort`]), split once into
//!
//! - a **test** set, fixed and the same for every method (centralized and every
//!   federated run), never trained on;
//! - a **public reference** set, standing in for published reference ranges:
//!   the feature standardiser and the ADR class weight are computed from it
//!   (not from any site's patients, so they leak nothing about them and are
//!   the same for every method);
//! - the **training pool**, which the centralized baseline pools and the
//!   federated runs split into sites ([`dirichlet_split`], non-IID).
//!
//! Each patient is one cohort row (one patient, one drug), identified by the
//! record id (`synthetic-00042`): the id a site's worker gets back from the
//! chain's `request_access_batch`.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use candle_core::Device;
use consentry_inference::cohort::{Cohort, CohortConfig, CohortRow};
use consentry_inference::features::{Standardizer, VITALS};
use consentry_inference::pipeline::Prepared;
use consentry_inference::train::Tensors;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_distr::{Distribution, Gamma};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

/// The population and its fixed splits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohortSpec {
    pub n_patients: usize,
    pub seed: u64,
    /// Fraction held out as the test set.
    pub test_frac: f64,
    /// Fraction used as public reference data (standardiser, ADR class weight).
    pub public_frac: f64,
    /// Time bins of the 48-hour vital-sign window.
    pub seq_len: usize,
}

impl Default for CohortSpec {
    fn default() -> Self {
        Self {
            n_patients: 20_000,
            seed: 7,
            test_frac: 0.2,
            public_frac: 0.05,
            seq_len: 12,
        }
    }
}

/// The generated population with features extracted and the splits fixed.
pub struct StudyData {
    pub spec: CohortSpec,
    pub cohort: Cohort,
    /// Features of every row; its standardiser is fitted on `public`.
    pub prepared: Prepared,
    /// Rows the sites (or the centralized baseline) train on.
    pub pool: Vec<usize>,
    /// Public reference rows.
    pub public: Vec<usize>,
    /// Held-out test rows.
    pub test: Vec<usize>,
    /// ADR positive-class weight (#neg / #pos on the public rows), fixed for every method.
    pub adr_pos_weight: f64,
}

impl StudyData {
    /// Generates the population (stratified split on response × ADR).
    pub fn generate(spec: &CohortSpec) -> Result<Self> {
        if !(spec.test_frac > 0.0
            && spec.public_frac > 0.0
            && spec.test_frac + spec.public_frac < 1.0)
        {
            bail!("cohort: test_frac and public_frac must be positive and sum to less than 1");
        }
        let cohort = Cohort::generate(&CohortConfig {
            n_patients: spec.n_patients,
            seed: spec.seed,
            valid_frac: spec.public_frac,
            test_frac: spec.test_frac,
            seq_len: spec.seq_len,
        })?;
        let mut prepared = Prepared::new(&cohort, spec.seq_len)?;
        let (pool, public, test) = (
            cohort.train.clone(),
            cohort.valid.clone(),
            cohort.test.clone(),
        );
        prepared.standardizer = Standardizer::fit(
            &prepared.tab_rows(&public),
            &public
                .iter()
                .map(|&i| prepared.seq[i].clone())
                .collect::<Vec<_>>(),
            VITALS.len(),
        );
        let pos = public
            .iter()
            .filter(|&&i| cohort.rows[i].y[1] > 0.5)
            .count()
            .max(1) as f64;
        let adr_pos_weight = (public.len() as f64 - pos) / pos;
        Ok(Self {
            spec: spec.clone(),
            cohort,
            prepared,
            pool,
            public,
            test,
            adr_pos_weight,
        })
    }

    /// The patient id of a row.
    pub fn patient_id(&self, row: usize) -> String {
        self.cohort.rows[row]
            .record
            .id
            .clone()
            .unwrap_or_else(|| format!("row-{row}"))
    }

    /// Device tensors of `rows` with the GBDT-margin input held at zero (the
    /// federated hybrid ships no trees; see the crate README).
    pub fn tensors(&self, rows: &[usize], device: &Device) -> Result<Tensors> {
        self.prepared
            .tensors(rows, &vec![[0.0f32; 2]; rows.len()], device)
    }

    /// Labels `[response, adr]` of `rows`.
    pub fn labels(&self, rows: &[usize]) -> Vec<[f32; 2]> {
        self.prepared.labels(rows)
    }
}

/// How the training pool is split into sites.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitSpec {
    pub n_sites: usize,
    /// Dirichlet concentration per stratum (smaller = more skewed; ∞ would be IID).
    pub alpha: f64,
    pub seed: u64,
    /// Fewest patients a site may get (the split is redrawn until all have it).
    pub min_patients: usize,
}

/// Age bands of the stratifying attribute.
pub const AGE_BANDS: [(f64, &str); 3] = [(45.0, "<45"), (65.0, "45-64"), (f64::INFINITY, "65+")];

/// The stratum of a row: (drug, age band) — a site's case mix is which drugs
/// its patients get (a transplant centre gives tacrolimus, a cardiology
/// service metoprolol and warfarin) and how old they are.
pub fn stratum(row: &CohortRow, drugs: &[String]) -> usize {
    let d = drugs.iter().position(|x| x == &row.drug).unwrap_or(0);
    let a = AGE_BANDS
        .iter()
        .position(|(hi, _)| row.record.age_years < *hi)
        .unwrap_or(AGE_BANDS.len() - 1);
    d * AGE_BANDS.len() + a
}

/// Non-IID split (Hsu et al. 2019, arXiv 1909.06335, applied to strata instead
/// of labels): for every (drug × age band) stratum, proportions over the sites
/// are drawn from Dirichlet(α, …, α) and the stratum's patients are dealt out
/// accordingly. Sites end up differing in size, drug mix and age (and through
/// them in genotype-driven exposure and outcome rates). Redrawn (new seed)
/// until every site has `min_patients`; fails after 200 tries.
pub fn dirichlet_split(data: &StudyData, spec: &SplitSpec) -> Result<Vec<Vec<usize>>> {
    if spec.n_sites == 0 {
        bail!("split: at least one site");
    }
    if spec.n_sites == 1 {
        return Ok(vec![data.pool.clone()]);
    }
    if spec.alpha <= 0.0 || !spec.alpha.is_finite() {
        bail!("split: alpha must be positive and finite");
    }
    let n_strata = data.cohort.drugs.len() * AGE_BANDS.len();
    let mut by_stratum = vec![Vec::new(); n_strata];
    for &i in &data.pool {
        by_stratum[stratum(&data.cohort.rows[i], &data.cohort.drugs)].push(i);
    }
    let gamma = Gamma::new(spec.alpha, 1.0)?;
    for attempt in 0..200u64 {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(spec.seed ^ (attempt << 32) ^ 0xD121);
        let mut sites = vec![Vec::new(); spec.n_sites];
        for rows in &by_stratum {
            let mut rows = rows.clone();
            rows.shuffle(&mut rng);
            let g: Vec<f64> = (0..spec.n_sites).map(|_| gamma.sample(&mut rng)).collect();
            let tot: f64 = g.iter().sum::<f64>().max(f64::MIN_POSITIVE);
            let mut cum = 0.0;
            let mut start = 0;
            for (k, gk) in g.iter().enumerate() {
                cum += gk / tot;
                let end = if k + 1 == spec.n_sites {
                    rows.len()
                } else {
                    ((cum * rows.len() as f64).round() as usize).min(rows.len())
                };
                sites[k].extend_from_slice(&rows[start..end.max(start)]);
                start = end.max(start);
            }
        }
        if sites.iter().all(|s| s.len() >= spec.min_patients) {
            for s in &mut sites {
                s.sort_unstable();
            }
            return Ok(sites);
        }
    }
    bail!(
        "split: no Dirichlet(α = {}) draw gave all {} sites at least {} patients; raise alpha or the cohort size",
        spec.alpha,
        spec.n_sites,
        spec.min_patients
    )
}

/// How a site differs from the others (for the report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteProfile {
    pub site: usize,
    pub patients: usize,
    /// Patients per drug.
    pub drugs: BTreeMap<String, usize>,
    pub mean_age: f64,
    pub response_rate: f64,
    pub adr_rate: f64,
}

/// Profiles of the sites of a split.
pub fn profiles(data: &StudyData, sites: &[Vec<usize>]) -> Vec<SiteProfile> {
    sites
        .iter()
        .enumerate()
        .map(|(k, rows)| {
            let n = rows.len().max(1) as f64;
            let mut drugs = BTreeMap::new();
            for &i in rows {
                *drugs.entry(data.cohort.rows[i].drug.clone()).or_insert(0) += 1;
            }
            SiteProfile {
                site: k,
                patients: rows.len(),
                drugs,
                mean_age: rows
                    .iter()
                    .map(|&i| data.cohort.rows[i].record.age_years)
                    .sum::<f64>()
                    / n,
                response_rate: rows
                    .iter()
                    .map(|&i| data.cohort.rows[i].y[0] as f64)
                    .sum::<f64>()
                    / n,
                adr_rate: rows
                    .iter()
                    .map(|&i| data.cohort.rows[i].y[1] as f64)
                    .sum::<f64>()
                    / n,
            }
        })
        .collect()
}
