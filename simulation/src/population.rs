//! Virtual populations: log-normal inter-individual variability with a full
//! covariance matrix, residual error, and regimen comparisons.
//!
//! Reproducibility: patient `i` draws from its own generator seeded from
//! `(seed, i)`, so results do not depend on thread count or scheduling.

use indicatif::ProgressBar;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::drugs::{DrugSpec, WindowSpec};
use crate::error::{invalid, Result};
use crate::metrics::{profile_metrics, quantile_in_place, ProfileMetrics};
use crate::pd::adr_risk;
use crate::pk::{closed_form, one_compartment, Dose, PkParams};
use crate::regimen::Regimen;

/// Lower-triangular Cholesky factor of a 3×3 covariance matrix.
pub fn cholesky3(a: &[[f64; 3]; 3]) -> Result<[[f64; 3]; 3]> {
    let mut l = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = a[i][i] - s;
                if d.is_nan() || d < 0.0 {
                    return Err(invalid(
                        "variability.omega",
                        "must be positive semi-definite (Cholesky failed)",
                    ));
                }
                l[i][j] = d.sqrt();
            } else {
                l[i][j] = if l[j][j] > 0.0 {
                    (a[i][j] - s) / l[j][j]
                } else {
                    0.0
                };
            }
        }
    }
    Ok(l)
}

/// Per-patient generator; independent of thread scheduling.
#[inline]
pub fn patient_rng(seed: u64, i: usize) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(
        seed ^ (i as u64)
            .wrapping_add(1)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15),
    )
}

/// Structure-of-arrays individual parameters (1-compartment oral fast path).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PopParams {
    /// Clearance (L/h) per patient.
    pub cl: Vec<f64>,
    /// Volume (L) per patient.
    pub v: Vec<f64>,
    /// Absorption rate (1/h) per patient.
    pub ka: Vec<f64>,
}

impl PopParams {
    /// Number of patients.
    pub fn len(&self) -> usize {
        self.cl.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.cl.is_empty()
    }

    /// Draws `n` patients: θᵢ = θ_typ·exp(L·z), z ~ N(0, I₃), order (CL, V, ka).
    pub fn sample(typical: &PkParams, omega: &[[f64; 3]; 3], n: usize, seed: u64) -> Result<Self> {
        let l = cholesky3(omega)?;
        let mut out = PopParams {
            cl: vec![0.0; n],
            v: vec![0.0; n],
            ka: vec![0.0; n],
        };
        const CHUNK: usize = 4096;
        out.cl
            .par_chunks_mut(CHUNK)
            .zip(out.v.par_chunks_mut(CHUNK))
            .zip(out.ka.par_chunks_mut(CHUNK))
            .enumerate()
            .for_each(|(c, ((cl, v), ka))| {
                for j in 0..cl.len() {
                    let eta = draw_eta(&l, &mut patient_rng(seed, c * CHUNK + j));
                    cl[j] = typical.cl_l_h * eta[0].exp();
                    v[j] = typical.v_l * eta[1].exp();
                    ka[j] = typical.ka_per_h * eta[2].exp();
                }
            });
        Ok(out)
    }

    /// Individual parameters of patient `i` on top of `typical`.
    pub fn patient(&self, typical: &PkParams, i: usize) -> PkParams {
        PkParams {
            cl_l_h: self.cl[i],
            v_l: self.v[i],
            ka_per_h: self.ka[i],
            ..*typical
        }
    }
}

#[inline]
fn draw_eta(l: &[[f64; 3]; 3], rng: &mut impl Rng) -> [f64; 3] {
    let z: [f64; 3] = [
        rng.sample(StandardNormal),
        rng.sample(StandardNormal),
        rng.sample(StandardNormal),
    ];
    [
        l[0][0] * z[0],
        l[1][0] * z[0] + l[1][1] * z[1],
        l[2][0] * z[0] + l[2][1] * z[1] + l[2][2] * z[2],
    ]
}

/// Closed-form one-compartment oral population on a uniform grid:
/// `out[i·n_t + j] = Cᵢ(j·dt)` for a single dose at t = 0.
/// The hot loop has no allocation and two `exp` per patient.
pub fn oral_grid_closed_form(
    pop: &PopParams,
    f: f64,
    dose_mg: f64,
    dt: f64,
    n_t: usize,
    out: &mut [f64],
) -> Result<()> {
    check_grid(pop, f, dose_mg, dt, n_t, out.len())?;
    out.par_chunks_mut(n_t * 1024)
        .enumerate()
        .for_each(|(c, block)| {
            for (k, row) in block.chunks_exact_mut(n_t).enumerate() {
                let i = c * 1024 + k;
                one_compartment::oral_grid(row, dt, f, dose_mg, pop.ka[i], pop.v[i], pop.cl[i]);
            }
        });
    Ok(())
}

/// Shape and range checks shared by the grid fast paths (typed errors, not panics).
fn check_grid(
    pop: &PopParams,
    f: f64,
    dose_mg: f64,
    dt: f64,
    n_t: usize,
    out_len: usize,
) -> Result<()> {
    if n_t == 0 {
        return Err(invalid("n_times", "must be >= 1"));
    }
    if pop.cl.len() != pop.v.len() || pop.cl.len() != pop.ka.len() {
        return Err(invalid(
            "population",
            "cl, v and ka must have one value per patient",
        ));
    }
    if out_len != pop.len() * n_t {
        return Err(invalid(
            "out",
            format!(
                "buffer holds {out_len} values; it must hold n_patients × n_times = {}",
                pop.len() * n_t
            ),
        ));
    }
    crate::error::require_positive("step_h", dt)?;
    crate::error::require_non_negative("dose_mg", dose_mg)?;
    if !(f > 0.0 && f <= 1.0) {
        return Err(invalid(
            "pk.f",
            format!("bioavailability must be in (0, 1] (got {f})"),
        ));
    }
    Ok(())
}

/// ODE (Dopri5) version of [`oral_grid_closed_form`].
pub fn oral_grid_ode(
    pop: &PopParams,
    f: f64,
    dose_mg: f64,
    dt: f64,
    n_t: usize,
    opts: crate::pk::ode::OdeOptions,
    out: &mut [f64],
) -> Result<()> {
    check_grid(pop, f, dose_mg, dt, n_t, out.len())?;
    let times: Vec<f64> = (0..n_t).map(|j| j as f64 * dt).collect();
    let dose = [Dose {
        time_h: 0.0,
        amount_mg: dose_mg,
        route: crate::pk::Route::Oral,
    }];
    out.par_chunks_mut(n_t)
        .enumerate()
        .try_for_each(|(i, row)| {
            let p = PkParams::one_compartment(pop.cl[i], pop.v[i], pop.ka[i], f);
            let sol = crate::pk::ode::simulate(&p, &dose, &times, opts)?;
            row.copy_from_slice(&sol.conc);
            Ok(())
        })
}

/// Settings of a population run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PopulationSettings {
    /// Number of virtual patients.
    pub n: usize,
    /// Seed.
    pub seed: u64,
    /// Add residual (measurement) error to concentrations.
    pub residual_error: bool,
}

/// Outcome of a regimen across a population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationSummary {
    /// Patients simulated.
    pub n: usize,
    /// 5th/50th/95th percentile concentration per time point.
    pub p05: Vec<f64>,
    /// Median.
    pub p50: Vec<f64>,
    /// 95th percentile.
    pub p95: Vec<f64>,
    /// Probability that the window metric is inside the therapeutic window.
    pub prob_target_attainment: Option<f64>,
    /// Probability that the toxic metric exceeds the toxic threshold.
    pub prob_toxicity: Option<f64>,
    /// Mean modelled ADR risk.
    pub mean_adr_risk: Option<f64>,
    /// Median of per-patient metrics.
    pub median_metrics: ProfileMetrics,
}

/// Simulates `regimen` for a population centred on `typical` (the
/// personalised parameters for "one patient's uncertainty", the drug's
/// typical values for "across a population").
pub fn simulate_population(
    drug: &DrugSpec,
    typical: &PkParams,
    regimen: &Regimen,
    times: &[f64],
    settings: PopulationSettings,
    progress: Option<&ProgressBar>,
) -> Result<PopulationSummary> {
    if settings.n == 0 {
        return Err(invalid("population.n", "must be >= 1"));
    }
    let doses = regimen.doses()?;
    typical.validate()?;
    let pop = PopParams::sample(typical, &drug.variability.omega, settings.n, settings.seed)?;
    let n_t = times.len();
    if settings.n.saturating_mul(n_t) > MAX_POPULATION_CELLS {
        return Err(invalid(
            "population",
            format!("{} patients × {n_t} time points exceeds {MAX_POPULATION_CELLS} stored values; reduce the population or increase step_h", settings.n),
        ));
    }
    // Bands are kept in f32: 7 significant digits are ample for percentiles
    // and halve the memory of large populations.
    let mut conc = vec![0.0_f32; settings.n * n_t];
    let last_dose = last_nominal_dose(regimen);
    let var = &drug.variability;
    let window = drug.window.as_ref();
    let grid = closed_form::uniform_step(times);
    const CHUNK: usize = 256;
    let per_patient: Vec<(ProfileMetrics, f64)> = conc
        .par_chunks_mut(n_t * CHUNK)
        .enumerate()
        .flat_map_iter(|(c, block)| {
            let mut row = vec![0.0; n_t];
            let out: Vec<_> = block
                .chunks_exact_mut(n_t)
                .enumerate()
                .map(|(k, stored)| {
                    let i = c * CHUNK + k;
                    let p = pop.patient(typical, i);
                    let disp = p.disposition();
                    match grid {
                        Some(h) => closed_form::concentrations_grid(
                            &p, &disp, &doses, times[0], h, &mut row,
                        ),
                        None => {
                            for (o, &t) in row.iter_mut().zip(times) {
                                *o = doses
                                    .iter()
                                    .map(|d| {
                                        closed_form::single_dose_concentration(&p, &disp, d, t)
                                    })
                                    .sum();
                            }
                        }
                    }
                    if settings.residual_error {
                        // Offset the stream so residuals do not reuse the η draws.
                        let mut rng = patient_rng(settings.seed.wrapping_add(0xA5A5_5A5A), i);
                        for o in row.iter_mut() {
                            let e1: f64 = rng.sample(StandardNormal);
                            let e2: f64 = rng.sample(StandardNormal);
                            *o = (*o * (1.0 + var.proportional_error * e1)
                                + var.additive_error_mg_l * e2)
                                .max(0.0);
                        }
                    }
                    for (s, &r) in stored.iter_mut().zip(&row) {
                        *s = r as f32;
                    }
                    let m = profile_metrics(
                        times,
                        &row,
                        last_dose,
                        regimen.interval_h,
                        p.terminal_rate(),
                        window,
                    );
                    let risk =
                        window.map_or(0.0, |w| adr_risk(times, &row, w.toxic_mg_l, w.adr_slope));
                    (m, risk)
                })
                .collect();
            if let Some(pb) = progress {
                pb.inc(out.len() as u64);
            }
            out
        })
        .collect();
    Ok(summarise(&conc, n_t, &per_patient, window))
}

/// Upper bound on stored population concentrations (patients × time points).
pub const MAX_POPULATION_CELLS: usize = 200_000_000;

/// 5th, 50th and 95th percentiles by selection (O(n) each, no full sort).
fn bands(col: &mut [f32]) -> [f64; 3] {
    let n = col.len();
    let mut q = [0.0; 3];
    for (k, p) in [0.05, 0.5, 0.95].into_iter().enumerate() {
        let pos = p * (n - 1) as f64;
        let i = pos.floor() as usize;
        let (_, lo, rest) = col.select_nth_unstable_by(i, |a, b| a.total_cmp(b));
        let lo = f64::from(*lo);
        let hi = rest
            .iter()
            .copied()
            .min_by(|a, b| a.total_cmp(b))
            .map_or(lo, f64::from);
        q[k] = lo + (hi - lo) * (pos - i as f64);
    }
    q
}

/// Nominal time of the last scheduled dose.
pub fn last_nominal_dose(regimen: &Regimen) -> f64 {
    regimen.start_h + (regimen.n_doses.saturating_sub(1)) as f64 * regimen.interval_h
}

fn summarise(
    conc: &[f32],
    n_t: usize,
    per: &[(ProfileMetrics, f64)],
    window: Option<&WindowSpec>,
) -> PopulationSummary {
    let n = per.len();
    let (mut p05, mut p50, mut p95) = (vec![0.0; n_t], vec![0.0; n_t], vec![0.0; n_t]);
    let cols: Vec<[f64; 3]> = (0..n_t)
        .into_par_iter()
        .map_init(Vec::new, |col, j| {
            col.clear();
            col.extend((0..n).map(|i| conc[i * n_t + j]));
            bands(col)
        })
        .collect();
    for (j, q) in cols.into_iter().enumerate() {
        (p05[j], p50[j], p95[j]) = (q[0], q[1], q[2]);
    }
    let frac = |pred: &dyn Fn(&ProfileMetrics) -> bool| {
        per.iter().filter(|(m, _)| pred(m)).count() as f64 / n as f64
    };
    let med = |get: &dyn Fn(&ProfileMetrics) -> f64| {
        let mut v: Vec<f64> = per.iter().map(|(m, _)| get(m)).collect();
        quantile_in_place(&mut v, 0.5)
    };
    let median_metrics = ProfileMetrics {
        cmax: med(&|m| m.cmax),
        tmax: med(&|m| m.tmax),
        auc_tau: med(&|m| m.auc_tau),
        auc_inf: med(&|m| m.auc_inf),
        trough: med(&|m| m.trough),
        cavg: med(&|m| m.cavg),
        time_in_window: window.map(|_| med(&|m| m.time_in_window.unwrap_or(0.0))),
    };
    PopulationSummary {
        n,
        p05,
        p50,
        p95,
        prob_target_attainment: window
            .map(|w| frac(&|m| (w.lower_mg_l..=w.upper_mg_l).contains(&m.get(w.metric)))),
        prob_toxicity: window.map(|w| frac(&|m| m.get(w.toxic_metric) > w.toxic_mg_l)),
        mean_adr_risk: window.map(|_| per.iter().map(|(_, r)| r).sum::<f64>() / n as f64),
        median_metrics,
    }
}

/// One arm of a virtual trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialArm {
    /// The regimen.
    pub regimen: Regimen,
    /// Its population outcome.
    pub summary: PopulationSummary,
}

/// Compares regimens on the *same* virtual patients (common random numbers),
/// so differences between arms are not sampling noise.
pub fn compare_regimens(
    drug: &DrugSpec,
    typical: &PkParams,
    regimens: &[Regimen],
    step_h: f64,
    settings: PopulationSettings,
) -> Result<Vec<TrialArm>> {
    regimens
        .iter()
        .map(|r| {
            let times = crate::regimen::time_grid(r.start_h, r.end_h(), step_h)?;
            Ok(TrialArm {
                regimen: r.clone(),
                summary: simulate_population(drug, typical, r, &times, settings, None)?,
            })
        })
        .collect()
}
