//! The seed paper's oral one-compartment model (eq. 5):
//! dC/dt = F·D·ka·e^(−ka·t)/Vd − (CL/Vd)·C, C(0) = 0, whose solution is
//! C(t) = F·D·ka / (Vd·(ka − k)) · (e^(−k·t) − e^(−ka·t)), k = CL/Vd.

/// Closed-form concentration (mg/L) at `t_h` hours after a single oral dose.
///
/// `dose_mg` in mg, `ka` in 1/h, `vd_l` in L, `cl_l_h` in L/h. Returns 0 for
/// `t_h <= 0`. When ka ≈ k the removable singularity is replaced by its limit
/// F·D·k·t·e^(−k·t)/Vd.
#[inline]
pub fn oral_concentration(t_h: f64, f: f64, dose_mg: f64, ka: f64, vd_l: f64, cl_l_h: f64) -> f64 {
    if t_h <= 0.0 {
        return 0.0;
    }
    let k = cl_l_h / vd_l;
    let d = ka - k;
    if d.abs() < 1e-9 * ka {
        f * dose_mg * k * t_h * (-k * t_h).exp() / vd_l
    } else {
        f * dose_mg * ka / (vd_l * d) * ((-k * t_h).exp() - (-ka * t_h).exp())
    }
}

/// Fills `out[j] = C(j·dt)` for a single oral dose at t = 0 with no lag.
///
/// This is the population hot loop: two `exp` calls per patient, then the
/// grid is walked by multiplying by the per-step decay factors, so the cost per
/// time point is a handful of flops and no transcendental calls.
#[inline]
pub fn oral_grid(out: &mut [f64], dt: f64, f: f64, dose_mg: f64, ka: f64, vd_l: f64, cl_l_h: f64) {
    let k = cl_l_h / vd_l;
    let d = ka - k;
    if d.abs() < 1e-9 * ka {
        for (j, o) in out.iter_mut().enumerate() {
            *o = oral_concentration(j as f64 * dt, f, dose_mg, ka, vd_l, cl_l_h);
        }
        return;
    }
    let a = f * dose_mg * ka / (vd_l * d);
    let sk = (-k * dt).exp();
    let ska = (-ka * dt).exp();
    let (mut ek, mut eka) = (1.0, 1.0);
    for o in out.iter_mut() {
        *o = a * (ek - eka);
        ek *= sk;
        eka *= ska;
    }
}

/// Same as [`oral_grid`] in single precision output, for memory-bound
/// population runs (computation stays in f64).
#[inline]
pub fn oral_grid_f32(
    out: &mut [f32],
    dt: f64,
    f: f64,
    dose_mg: f64,
    ka: f64,
    vd_l: f64,
    cl_l_h: f64,
) {
    let k = cl_l_h / vd_l;
    let d = ka - k;
    if d.abs() < 1e-9 * ka {
        for (j, o) in out.iter_mut().enumerate() {
            *o = oral_concentration(j as f64 * dt, f, dose_mg, ka, vd_l, cl_l_h) as f32;
        }
        return;
    }
    let a = f * dose_mg * ka / (vd_l * d);
    let sk = (-k * dt).exp();
    let ska = (-ka * dt).exp();
    let (mut ek, mut eka) = (1.0, 1.0);
    for o in out.iter_mut() {
        *o = (a * (ek - eka)) as f32;
        ek *= sk;
        eka *= ska;
    }
}

/// Steady-state accumulation factor R = 1 / (1 − e^(−k·τ)).
pub fn accumulation_factor(k: f64, tau_h: f64) -> f64 {
    1.0 / (1.0 - (-k * tau_h).exp())
}
