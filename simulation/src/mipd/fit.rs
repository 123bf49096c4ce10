//! MAP Bayesian estimation of one patient's PK parameters and their posterior uncertainty.

use argmin::core::{CostFunction, Executor, State};
use argmin::solver::neldermead::NelderMead;
use finitediff::FiniteDiff;
use nalgebra::DMatrix;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::drugs::DrugSpec;
use crate::error::{invalid, Result, SimError};
use crate::metrics::quantile_in_place;
use crate::pk::{closed_form, PkParams, Route};
use crate::tdm::TdmRecord;

/// Names of the parameters η applies to, in `omega` order.
pub const PARAMS: [&str; 3] = ["cl_l_h", "v_l", "ka_per_h"];

/// Smallest residual variance: keeps the likelihood finite for a model without additive error
/// at a predicted concentration of zero.
const MIN_VARIANCE: f64 = 1e-18;

/// How to fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FitSettings {
    /// Nelder–Mead iteration limit per start.
    pub max_iters: u64,
    /// Posterior draws kept for predictions and recommendations.
    pub draws: usize,
    /// Seed of the posterior draws.
    pub seed: u64,
}

impl Default for FitSettings {
    fn default() -> Self {
        FitSettings {
            max_iters: 2000,
            draws: 1000,
            seed: 1,
        }
    }
}

/// One parameter's prior and posterior.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamEstimate {
    /// Parameter (`cl_l_h`, `v_l` or `ka_per_h`).
    pub name: String,
    /// Value for this patient's covariates before any level (the prior's median).
    pub prior: f64,
    /// MAP estimate.
    pub map: f64,
    /// 90 % credible interval (Laplace approximation, log-normal).
    pub ci90: (f64, f64),
    /// Posterior standard deviation of η (≈ the CV of the estimate).
    pub sd_eta: f64,
    /// Prior standard deviation of η (√ω): how much the levels narrowed it.
    pub prior_sd_eta: f64,
}

/// One level against the fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Residual {
    /// Sampling time (h).
    pub time_h: f64,
    /// Measured (mg/L).
    pub observed: f64,
    /// Individual prediction at the MAP (mg/L).
    pub predicted: f64,
    /// Prediction at the prior (mg/L).
    pub prior_predicted: f64,
    /// (observed − predicted)/σ.
    pub weighted: f64,
}

/// The result of [`fit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapFit {
    /// Drug name.
    pub drug: String,
    /// Parameters estimated (the others stay at the prior).
    pub estimated: Vec<String>,
    /// Parameters for this patient's covariates (the prior's median).
    pub prior_params: PkParams,
    /// MAP parameters.
    pub params: PkParams,
    /// MAP η, one per estimated parameter.
    pub eta: Vec<f64>,
    /// Posterior covariance of η (Laplace approximation: inverse of the posterior precision).
    pub covariance: Vec<Vec<f64>>,
    /// Per-parameter summaries.
    pub estimates: Vec<ParamEstimate>,
    /// Objective at the MAP.
    pub ofv: f64,
    /// Nelder–Mead iterations used.
    pub iterations: u64,
    /// Fit to each level.
    pub residuals: Vec<Residual>,
    /// Draws of individual parameters from the posterior.
    #[serde(skip)]
    pub draws: Vec<PkParams>,
}

/// A profile's posterior median and 90 % band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionBand {
    /// Times (h).
    pub times: Vec<f64>,
    /// Profile at the MAP (mg/L).
    pub map: Vec<f64>,
    /// 5th percentile over the posterior draws.
    pub p05: Vec<f64>,
    /// Median over the posterior draws.
    pub p50: Vec<f64>,
    /// 95th percentile over the posterior draws.
    pub p95: Vec<f64>,
}

/// The MAP objective for one patient.
pub(crate) struct Objective<'a> {
    prior: PkParams,
    idx: Vec<usize>,
    omega_inv: DMatrix<f64>,
    prop: f64,
    add: f64,
    tdm: &'a TdmRecord,
    times: Vec<f64>,
}

impl<'a> Objective<'a> {
    pub(crate) fn new(drug: &DrugSpec, prior: PkParams, tdm: &'a TdmRecord) -> Result<Self> {
        let any_oral = tdm.doses.iter().any(|d| d.route == Route::Oral);
        let o = &drug.variability.omega;
        let idx: Vec<usize> = (0..3)
            .filter(|&k| o[k][k] > 0.0 && (k != 2 || any_oral))
            .collect();
        if idx.is_empty() {
            return Err(invalid(
                "variability.omega",
                "no parameter has between-patient variance: nothing to individualise",
            ));
        }
        let n = idx.len();
        let omega = DMatrix::from_fn(n, n, |i, j| o[idx[i]][idx[j]]);
        let omega_inv = omega.cholesky().map(|c| c.inverse()).ok_or_else(|| {
            invalid(
                "variability.omega",
                "the estimated parameters' covariance must be positive definite",
            )
        })?;
        Ok(Objective {
            prior,
            idx,
            omega_inv,
            prop: drug.variability.proportional_error,
            add: drug.variability.additive_error_mg_l,
            tdm,
            times: tdm.levels.iter().map(|l| l.time_h).collect(),
        })
    }

    pub(crate) fn params(&self, eta: &[f64]) -> PkParams {
        let mut p = self.prior;
        for (e, &k) in eta.iter().zip(&self.idx) {
            match k {
                0 => p.cl_l_h *= e.exp(),
                1 => p.v_l *= e.exp(),
                _ => p.ka_per_h *= e.exp(),
            }
        }
        p
    }

    fn variance(&self, c: f64) -> f64 {
        ((self.prop * c).powi(2) + self.add * self.add).max(MIN_VARIANCE)
    }

    fn predict(&self, eta: &[f64]) -> Option<Vec<f64>> {
        closed_form::concentrations(&self.params(eta), &self.tdm.doses, &self.times).ok()
    }

    /// Posterior precision of η at `eta`: the prior's Ω⁻¹ plus the expected Fisher information
    /// of the levels, JᵀV⁻¹J + ½·Σⱼ ∇σⱼ²∇σⱼ²ᵀ/σⱼ⁴ for y ~ N(C(η), σ²(η)). This is the
    /// objective's curvature without the residual terms that vanish in expectation; unlike a
    /// finite-difference Hessian of the objective it needs only first derivatives of C and is
    /// positive definite by construction.
    fn posterior_precision(&self, eta: &[f64]) -> DMatrix<f64> {
        let n = eta.len();
        let at = eta.to_vec();
        let pred = |x: &Vec<f64>| {
            self.predict(x)
                .unwrap_or_else(|| vec![f64::NAN; self.times.len()])
        };
        // jac[i][j] = ∂Cⱼ/∂ηᵢ
        let jac = at.central_jacobian(&pred);
        let c = pred(&at);
        let mut info = self.omega_inv.clone();
        for (j, &cj) in c.iter().enumerate() {
            let var = self.variance(cj);
            // ∂σ²/∂C: zero where the variance floor applies.
            let dvar_dc = if var > MIN_VARIANCE {
                2.0 * self.prop * self.prop * cj
            } else {
                0.0
            };
            for a in 0..n {
                for b in 0..n {
                    let (ga, gb) = (jac[a][j], jac[b][j]);
                    info[(a, b)] +=
                        ga * gb / var + 0.5 * (dvar_dc * ga) * (dvar_dc * gb) / (var * var);
                }
            }
        }
        info
    }

    /// −2 log posterior up to a constant; +∞ where the parameters are not physical.
    pub(crate) fn ofv(&self, eta: &[f64]) -> f64 {
        let Some(pred) = self.predict(eta) else {
            return f64::INFINITY;
        };
        let mut s = 0.0;
        for (l, c) in self.tdm.levels.iter().zip(&pred) {
            let var = self.variance(*c);
            s += (l.conc_mg_l - c).powi(2) / var + var.ln();
        }
        let e = nalgebra::DVector::from_column_slice(eta);
        s + (e.transpose() * &self.omega_inv * &e)[(0, 0)]
    }
}

fn minimise(obj: &Objective<'_>, start: Vec<f64>, max_iters: u64) -> Result<(Vec<f64>, u64)> {
    let n = start.len();
    // The initial simplex spans half a prior SD along each axis.
    let mut simplex = vec![start.clone()];
    for k in 0..n {
        let mut p = start.clone();
        p[k] += 0.5 / obj.omega_inv[(k, k)].sqrt();
        simplex.push(p);
    }
    let solver = NelderMead::new(simplex)
        .with_sd_tolerance(1e-12)
        .map_err(|e| SimError::Fit(e.to_string()))?;
    let res = Executor::new(obj, solver)
        .configure(|s| s.max_iters(max_iters))
        .run()
        .map_err(|e| SimError::Fit(e.to_string()))?;
    let state = res.state();
    let best = state
        .get_best_param()
        .cloned()
        .ok_or_else(|| SimError::Fit("the optimiser returned no estimate".into()))?;
    Ok((best, state.get_iter()))
}

// argmin's executor takes the problem by value; a reference keeps the objective reusable.
impl CostFunction for &Objective<'_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, eta: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        Ok(self.ofv(eta))
    }
}

/// Fits `drug`'s model to the patient's levels. `prior` is the patient's personalised typical
/// parameters (`crate::personalize`), the centre of the prior.
pub fn fit(
    drug: &DrugSpec,
    prior: PkParams,
    tdm: &TdmRecord,
    settings: FitSettings,
) -> Result<MapFit> {
    tdm.validate()?;
    prior.validate()?;
    let obj = Objective::new(drug, prior, tdm)?;
    let n = obj.idx.len();
    // A restart from the first optimum guards against Nelder–Mead's premature collapse.
    let (first, it1) = minimise(&obj, vec![0.0; n], settings.max_iters)?;
    let (eta, it2) = minimise(&obj, first, settings.max_iters)?;
    let ofv = obj.ofv(&eta);
    if !ofv.is_finite() {
        return Err(SimError::Fit(
            "no finite objective: check the doses and levels are for this drug".into(),
        ));
    }
    let cov = obj.posterior_precision(&eta).try_inverse().ok_or_else(|| {
        SimError::Fit("the posterior precision at the estimate is singular".into())
    })?;
    let chol = cov
        .clone()
        .cholesky()
        .ok_or_else(|| SimError::Fit("posterior covariance is not positive definite".into()))?;
    let l = chol.l();

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(settings.seed);
    let draws: Vec<PkParams> = (0..settings.draws)
        .map(|_| {
            let z = nalgebra::DVector::from_fn(n, |_, _| StandardNormal.sample(&mut rng));
            let d = &l * z;
            let e: Vec<f64> = (0..n).map(|i| eta[i] + d[i]).collect();
            obj.params(&e)
        })
        .collect();

    let params = obj.params(&eta);
    let pred = obj.predict(&eta).unwrap_or_default();
    let prior_pred = obj.predict(&vec![0.0; n]).unwrap_or_default();
    let residuals = tdm
        .levels
        .iter()
        .zip(pred.iter().zip(&prior_pred))
        .map(|(l, (&c, &c0))| Residual {
            time_h: l.time_h,
            observed: l.conc_mg_l,
            predicted: c,
            prior_predicted: c0,
            weighted: (l.conc_mg_l - c) / obj.variance(c).sqrt(),
        })
        .collect();
    let value = |p: &PkParams, k: usize| [p.cl_l_h, p.v_l, p.ka_per_h][k];
    let estimates = obj
        .idx
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            let sd = cov[(i, i)].sqrt();
            let base = value(&prior, k);
            ParamEstimate {
                name: PARAMS[k].into(),
                prior: base,
                map: value(&params, k),
                ci90: (
                    base * (eta[i] - 1.644_853_6 * sd).exp(),
                    base * (eta[i] + 1.644_853_6 * sd).exp(),
                ),
                sd_eta: sd,
                prior_sd_eta: drug.variability.omega[k][k].sqrt(),
            }
        })
        .collect();
    Ok(MapFit {
        drug: drug.name.clone(),
        estimated: obj.idx.iter().map(|&k| PARAMS[k].to_string()).collect(),
        prior_params: prior,
        params,
        eta: eta.clone(),
        covariance: (0..n)
            .map(|i| (0..n).map(|j| cov[(i, j)]).collect())
            .collect(),
        estimates,
        ofv,
        iterations: it1 + it2,
        residuals,
        draws,
    })
}

impl MapFit {
    /// The profile under `doses` at `times`: at the MAP and as a posterior 90 % band.
    pub fn predict(&self, doses: &[crate::pk::Dose], times: &[f64]) -> Result<PredictionBand> {
        let map = closed_form::concentrations(&self.params, doses, times)?;
        let profiles: Vec<Vec<f64>> = self
            .draws
            .par_iter()
            .map(|p| closed_form::concentrations(p, doses, times))
            .collect::<Result<_>>()?;
        let mut col = vec![0.0; profiles.len()];
        let (mut p05, mut p50, mut p95) = (vec![], vec![], vec![]);
        for j in 0..times.len() {
            for (c, prof) in col.iter_mut().zip(&profiles) {
                *c = prof[j];
            }
            p05.push(quantile_in_place(&mut col, 0.05));
            p50.push(quantile_in_place(&mut col, 0.5));
            p95.push(quantile_in_place(&mut col, 0.95));
        }
        Ok(PredictionBand {
            times: times.to_vec(),
            map,
            p05,
            p50,
            p95,
        })
    }
}
