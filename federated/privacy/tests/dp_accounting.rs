//! The accountant against Google's `dp-accounting` (PyPI, pinned 0.6.0) on a grid of
//! (q, σ, steps, δ): ε within 1 %, δ(ε) within 1 %, and the calibrated σ giving dp-accounting's ε
//! within 1 % of the target.
//!
//! dp-accounting runs in a virtual environment made by `scripts/dp-accounting-venv.sh`, which
//! prints its python; `scripts/dp_epsilon.py` reads the grid as JSON on stdin:
//!
//! ```text
//! export CONSENTRY_DP_ACCOUNTING_PYTHON=$(federated/privacy/scripts/dp-accounting-venv.sh)
//! CONSENTRY_REQUIRE_DP_ACCOUNTING=1 cargo test -p consentry-privacy --test dp_accounting
//! ```
//! Without CONSENTRY_DP_ACCOUNTING_PYTHON the tests print SKIPPED and pass, unless
//! CONSENTRY_REQUIRE_DP_ACCOUNTING is set (as `scripts/test.sh` does): then they fail.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use consentry_privacy::{calibrate_noise_multiplier, DpSgdEvent, RdpAccountant};
use serde_json::{json, Value};

/// The agreement required with dp-accounting, relative.
const TOLERANCE: f64 = 0.01;

fn dp_accounting_python() -> Option<PathBuf> {
    // An empty value (the venv script failed inside `export X="$(...)"`) counts as unset.
    let python = std::env::var_os("CONSENTRY_DP_ACCOUNTING_PYTHON")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from);
    assert!(
        python.is_some() || std::env::var_os("CONSENTRY_REQUIRE_DP_ACCOUNTING").is_none(),
        "dp-accounting is required (CONSENTRY_REQUIRE_DP_ACCOUNTING is set) but \
         CONSENTRY_DP_ACCOUNTING_PYTHON is not: \
         export CONSENTRY_DP_ACCOUNTING_PYTHON=$(federated/privacy/scripts/dp-accounting-venv.sh)"
    );
    if python.is_none() {
        eprintln!(
            "\n************************************************************************\n\
             SKIPPED: the cross-check against Google's dp-accounting did not run.\n\
             CONSENTRY_DP_ACCOUNTING_PYTHON is unset; to run it:\n  \
             export CONSENTRY_DP_ACCOUNTING_PYTHON=$(federated/privacy/scripts/dp-accounting-venv.sh)\n\
             ************************************************************************\n"
        );
    }
    python
}

/// Runs `scripts/dp_epsilon.py` on `points` and returns its results, one per point.
fn dp_accounting(python: &PathBuf, points: &[Value]) -> Vec<Value> {
    // The manifest directory as cargo gives it when the test runs, not when it was compiled: a
    // shared target directory may hold a binary built from another checkout of the same sources.
    let script = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(
            || env!("CARGO_MANIFEST_DIR").into(),
            std::path::PathBuf::from,
        )
        .join("scripts/dp_epsilon.py");
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let input = json!({ "points": points }).to_string();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "dp_epsilon.py failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("dp_epsilon.py printed JSON");
    assert_eq!(v["dp_accounting"], "0.6.0", "the pinned dp-accounting");
    let results = v["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), points.len());
    results
}

fn number(v: &Value) -> f64 {
    match v {
        Value::String(s) if s == "inf" => f64::INFINITY,
        other => other
            .as_f64()
            .unwrap_or_else(|| panic!("not a number: {other}")),
    }
}

/// |ours − theirs| / theirs, with agreement on 0 and on ∞ counted as exact.
fn relative_error(ours: f64, theirs: f64) -> f64 {
    if ours == theirs {
        0.0
    } else if theirs == 0.0 || theirs.is_infinite() || ours.is_infinite() {
        f64::INFINITY
    } else {
        ((ours - theirs) / theirs).abs()
    }
}

/// The grid: every (q, σ) pair of q ∈ {0.001, 0.01, 0.05, 0.1, 0.3, 0.7, 1} and
/// σ ∈ {0.5, 0.8, 1.1, 2, 4, 10, 30, 100}, each with one (steps, δ) of steps ∈ {1, 10, 100,
/// 1000, 10 000, 100 000} and δ ∈ {1e-3, 1e-5, 1e-7} in rotation (56 points), plus full
/// steps × δ sweeps at two DP-SGD settings of the study (q = 0.08, σ = 21.75 and q = 0.01,
/// σ = 1.1: 36 points).
fn grid() -> Vec<(f64, f64, u64, f64)> {
    let qs = [0.001, 0.01, 0.05, 0.1, 0.3, 0.7, 1.0];
    let sigmas = [0.5, 0.8, 1.1, 2.0, 4.0, 10.0, 30.0, 100.0];
    let steps = [1u64, 10, 100, 1000, 10_000, 100_000];
    let deltas = [1e-3, 1e-5, 1e-7];
    let mut points = Vec::new();
    let mut k = 0;
    for &q in &qs {
        for &sigma in &sigmas {
            points.push((
                q,
                sigma,
                steps[k % steps.len()],
                deltas[(k / 2) % deltas.len()],
            ));
            k += 1;
        }
    }
    for (q, sigma) in [(0.08, 21.75), (0.01, 1.1)] {
        for &t in &steps {
            for &delta in &deltas {
                points.push((q, sigma, t, delta));
            }
        }
    }
    points
}

fn ours(q: f64, sigma: f64, steps: u64) -> RdpAccountant {
    let mut a = RdpAccountant::new();
    a.compose(&DpSgdEvent::new(q, sigma, steps).unwrap())
        .unwrap();
    a
}

#[test]
fn epsilon_matches_dp_accounting_on_a_grid() {
    let Some(python) = dp_accounting_python() else {
        return;
    };
    let grid = grid();
    assert!(grid.len() >= 40);
    let points: Vec<Value> = grid
        .iter()
        .map(|&(q, sigma, steps, delta)| json!({"q": q, "sigma": sigma, "steps": steps, "delta": delta}))
        .collect();
    let theirs = dp_accounting(&python, &points);
    let mut worst = (0.0f64, String::new());
    let mut failures = Vec::new();
    let mut order_differs = 0;
    for (&(q, sigma, steps, delta), r) in grid.iter().zip(&theirs) {
        let (eps_theirs, order_theirs) = (number(&r["epsilon"]), number(&r["order"]));
        let at = ours(q, sigma, steps).epsilon(delta).unwrap();
        let err = relative_error(at.epsilon, eps_theirs);
        let line = format!(
            "q={q} σ={sigma} T={steps} δ={delta}: ours ε={} (α={}) dp-accounting ε={eps_theirs} (α={order_theirs}), rel err {err:.2e}",
            at.epsilon, at.order
        );
        if at.order != order_theirs {
            order_differs += 1;
        }
        if err > TOLERANCE {
            failures.push(line.clone());
        }
        if err >= worst.0 {
            worst = (err, line);
        }
    }
    eprintln!(
        "dp-accounting grid: {} points, max relative error of ε {:.3e} at {}; optimal order differs at {order_differs} points",
        grid.len(),
        worst.0,
        worst.1
    );
    assert!(
        failures.is_empty(),
        "ε off by more than 1 %:\n{}",
        failures.join("\n")
    );
    // Same method, so the same minimising order too (a near-tie may flip on rounding: allow 5 %).
    assert!(
        order_differs * 20 <= grid.len(),
        "the optimal RDP order differs from dp-accounting's at {order_differs} of {} points",
        grid.len()
    );
}

#[test]
fn delta_matches_dp_accounting() {
    let Some(python) = dp_accounting_python() else {
        return;
    };
    // (q, σ, steps, ε): δ(ε) over a range of regimes.
    let cases = [
        (0.01, 1.1, 10_000u64, 5.0),
        (0.01, 1.1, 10_000, 8.0),
        (0.08, 21.75, 1_250, 0.4),
        (1.0, 76.67, 100, 0.6),
        (0.3, 2.0, 100, 3.0),
        (0.001, 0.8, 100_000, 2.0),
        (0.05, 4.0, 1_000, 0.5),
        (1.0, 1.0, 1, 2.0),
    ];
    let points: Vec<Value> = cases
        .iter()
        .map(|&(q, sigma, steps, eps)| json!({"q": q, "sigma": sigma, "steps": steps, "epsilon": eps}))
        .collect();
    let theirs = dp_accounting(&python, &points);
    let mut worst = 0.0f64;
    for (&(q, sigma, steps, eps), r) in cases.iter().zip(&theirs) {
        let delta_theirs = number(&r["delta"]);
        let at = ours(q, sigma, steps).delta(eps).unwrap();
        let err = relative_error(at.delta, delta_theirs);
        worst = worst.max(err);
        assert!(
            err <= TOLERANCE,
            "q={q} σ={sigma} T={steps} ε={eps}: ours δ={} dp-accounting δ={delta_theirs}",
            at.delta
        );
    }
    eprintln!(
        "dp-accounting δ(ε): {} points, max relative error {worst:.3e}",
        cases.len()
    );
}

#[test]
fn calibrated_noise_meets_the_target_by_dp_accounting() {
    let Some(python) = dp_accounting_python() else {
        return;
    };
    // (q, steps, target ε, δ): the study's regimes and some others.
    let cases = [
        (0.08, 1_250u64, 0.5, 1e-5),
        (0.05, 2_000, 0.5, 1e-5),
        (1.0, 100, 0.5, 1e-5),
        (0.01, 10_000, 1.0, 1e-5),
        (0.01, 10_000, 8.0, 1e-5),
        (0.3, 100, 2.0, 1e-3),
        (0.001, 100_000, 3.0, 1e-7),
        (0.1, 10, 0.2, 1e-6),
    ];
    let sigmas: Vec<f64> = cases
        .iter()
        .map(|&(q, steps, target, delta)| {
            calibrate_noise_multiplier(q, steps, target, delta).unwrap()
        })
        .collect();
    let points: Vec<Value> = cases
        .iter()
        .zip(&sigmas)
        .map(|(&(q, steps, _, delta), &sigma)| json!({"q": q, "sigma": sigma, "steps": steps, "delta": delta}))
        .collect();
    let theirs = dp_accounting(&python, &points);
    let mut worst = 0.0f64;
    for ((&(q, steps, target, delta), sigma), r) in cases.iter().zip(&sigmas).zip(&theirs) {
        let eps_theirs = number(&r["epsilon"]);
        let err = relative_error(eps_theirs, target);
        worst = worst.max(err);
        assert!(
            err <= TOLERANCE,
            "q={q} T={steps} δ={delta}: our σ={sigma} for ε={target}, dp-accounting says ε={eps_theirs}"
        );
    }
    eprintln!(
        "dp-accounting calibration: {} targets, max relative error of dp-accounting's ε vs target {worst:.3e}",
        cases.len()
    );
}
