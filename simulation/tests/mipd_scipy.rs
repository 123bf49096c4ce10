//! The MAP fit agrees with an independent optimiser: scipy minimises the same objective over
//! its own PK equations (`scripts/map_scipy.py`), and both land on the same estimate.
//! Needs python3 with numpy and scipy; `scripts/test.sh` installs them and sets
//! CONSENTRY_REQUIRE_SCIPY so a missing scipy fails rather than skips there.

use std::io::Write;
use std::process::{Command, Stdio};

use consentry_simulation::mipd::{fit, FitSettings};
use consentry_simulation::pk::{Dose, Route};
use consentry_simulation::tdm::{Level, TdmRecord};
use consentry_simulation::{personalize, DrugLibrary, PatientRecord};
use serde_json::{json, Value};

fn scipy_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import scipy, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok || std::env::var_os("CONSENTRY_REQUIRE_SCIPY").is_none(),
        "scipy is required (CONSENTRY_REQUIRE_SCIPY is set) but `import scipy, numpy` failed: pip install scipy"
    );
    if !ok {
        eprintln!("SKIPPED: `python3 -c \"import scipy\"` failed; pip install scipy to run this cross-check");
    }
    ok
}

fn doses(route: Route, amount: f64, tau: f64, n: usize) -> Vec<Dose> {
    (0..n)
        .map(|k| Dose {
            time_h: tau * k as f64,
            amount_mg: amount,
            route,
        })
        .collect()
}

fn level(t: f64, c: f64) -> Level {
    Level {
        time_h: t,
        conc_mg_l: c,
    }
}

#[test]
fn map_estimates_agree_with_scipy() {
    if !scipy_available() {
        return;
    }
    let lib = DrugLibrary::builtin();
    let mut older = PatientRecord::reference();
    older.age_years = 72.0;
    older.serum_creatinine_mg_dl = 1.4;
    older.weight_kg = 88.0;
    // Two-compartment infusion, bolus, and one-compartment oral with lag; levels above and below
    // the prior's prediction so the estimates move both ways.
    let cases: Vec<(&str, PatientRecord, TdmRecord)> = vec![
        (
            "vancomycin",
            PatientRecord::reference(),
            TdmRecord {
                doses: doses(Route::Infusion { duration_h: 1.0 }, 1000.0, 12.0, 4),
                levels: vec![level(38.0, 31.5), level(47.5, 18.2)],
            },
        ),
        (
            "vancomycin",
            older.clone(),
            TdmRecord {
                doses: doses(Route::IvBolus, 750.0, 24.0, 3),
                levels: vec![level(50.0, 9.0), level(70.0, 2.1)],
            },
        ),
        (
            "tacrolimus",
            older,
            TdmRecord {
                doses: doses(Route::Oral, 3.0, 12.0, 8),
                levels: vec![level(85.5, 0.021), level(95.5, 0.0088)],
            },
        ),
        (
            "metoprolol",
            PatientRecord::reference(),
            TdmRecord {
                doses: doses(Route::Oral, 100.0, 12.0, 6),
                levels: vec![level(61.5, 0.05), level(71.5, 0.012)],
            },
        ),
    ];
    let mut inputs = Vec::new();
    let mut fits = Vec::new();
    for (name, patient, tdm) in &cases {
        let d = lib.get(name).unwrap();
        let prior = personalize(d, patient).unwrap().params;
        let f = fit(d, prior, tdm, FitSettings::default()).unwrap();
        let idx: Vec<usize> = f
            .estimated
            .iter()
            .map(|n| {
                ["cl_l_h", "v_l", "ka_per_h"]
                    .iter()
                    .position(|x| x == n)
                    .unwrap()
            })
            .collect();
        let o = &d.variability.omega;
        inputs.push(json!({
            "prior": prior,
            "idx": idx,
            "omega": idx.iter().map(|&i| idx.iter().map(|&j| o[i][j]).collect::<Vec<_>>()).collect::<Vec<_>>(),
            "prop": d.variability.proportional_error,
            "add": d.variability.additive_error_mg_l,
            "doses": tdm.doses,
            "levels": tdm.levels,
        }));
        fits.push(f);
    }
    // The manifest directory as cargo gives it when the test runs, not when it was compiled: a
    // shared target directory may hold a binary built from another checkout of the same sources.
    let script = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(
            || env!("CARGO_MANIFEST_DIR").into(),
            std::path::PathBuf::from,
        )
        .join("scripts/map_scipy.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&inputs).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "map_scipy.py failed");
    let theirs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    for ((f, t), (name, ..)) in fits.iter().zip(&theirs).zip(&cases) {
        let eta: Vec<f64> = serde_json::from_value(t["eta"].clone()).unwrap();
        let ofv = t["ofv"].as_f64().unwrap();
        eprintln!(
            "{name}: ours η {:?} OFV {:.6}; scipy η {eta:?} OFV {ofv:.6}",
            f.eta, f.ofv
        );
        // The same objective: the two minima agree to optimiser tolerance.
        assert!(
            (f.ofv - ofv).abs() < 1e-5 * ofv.abs().max(1.0),
            "{name}: OFV {} vs {ofv}",
            f.ofv
        );
        for (a, b) in f.eta.iter().zip(&eta) {
            assert!((a - b).abs() < 1e-4, "{name}: η {:?} vs {eta:?}", f.eta);
        }
        // And the estimate moved away from the prior (the levels carried information).
        assert!(
            f.eta.iter().any(|e| e.abs() > 0.05),
            "{name}: η {:?}",
            f.eta
        );
    }
}
