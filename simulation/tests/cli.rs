//! End-to-end CLI runs.

use clap::Parser;
use consentry_simulation::cli::{execute, SimulateArgs};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: SimulateArgs,
}

fn args(extra: &[&str]) -> SimulateArgs {
    let mut v = vec!["consentry-simulate"];
    v.extend_from_slice(extra);
    Cli::try_parse_from(v).unwrap().args
}

/// An example input, found through the manifest directory cargo sets when it runs the test (not
/// the one baked in at compile time: a shared target directory may hold a binary built in
/// another clone).
fn example(name: &str) -> String {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test");
    format!("{dir}/data/examples/{name}")
}

fn patient() -> String {
    example("patient.json")
}

fn bundle() -> String {
    example("patient-bundle.json")
}

#[test]
fn run_writes_json_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let report = execute(&args(&[
        "--patient",
        &patient(),
        "--drug",
        "tacrolimus",
        "--population",
        "500",
        "--quiet",
        "-o",
        out,
    ]))
    .unwrap();
    for f in [
        "tacrolimus-report.json",
        "tacrolimus-profile.png",
        "tacrolimus-profile.svg",
    ] {
        let meta = std::fs::metadata(dir.path().join(f)).unwrap_or_else(|_| panic!("{f} missing"));
        assert!(meta.len() > 1000, "{f} too small");
    }
    let png = std::fs::read(dir.path().join("tacrolimus-profile.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let svg = std::fs::read_to_string(dir.path().join("tacrolimus-profile.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("time (h)"));
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("tacrolimus-report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["drug"], "tacrolimus");
    assert_eq!(json["population"]["n"], 500);
    assert!(json["metrics"]["auc_tau"].as_f64().unwrap() > 0.0);
    assert_eq!(
        report.personalization.pgx[0].phenotype,
        consentry_simulation::Phenotype::Poor
    );
    // Steady state (14 doses, t1/2 ≈ 10–20 h): AUC0–τ ≈ F·D/CL within 2 %.
    let p = report.personalization.params;
    let expect = p.f * 3.0 / p.cl_l_h;
    assert!(
        (report.metrics.auc_tau / expect - 1.0).abs() < 0.02,
        "{} vs {expect}",
        report.metrics.auc_tau
    );
}

#[test]
fn fhir_bundle_ode_solver_and_pd_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let ode = execute(&args(&[
        "--patient",
        &bundle(),
        "--drug",
        "metoprolol",
        "--solver",
        "ode",
        "--plot",
        "svg",
        "--quiet",
        "-o",
        out,
    ]))
    .unwrap();
    let cf = execute(&args(&[
        "--patient",
        &bundle(),
        "--drug",
        "metoprolol",
        "--plot",
        "none",
        "--quiet",
        "-o",
        out,
    ]))
    .unwrap();
    let peak = cf.concentration_mg_l.iter().copied().fold(0.0, f64::max);
    for (a, b) in ode.concentration_mg_l.iter().zip(&cf.concentration_mg_l) {
        assert!((a - b).abs() <= 1e-6 * b.max(1e-3 * peak));
    }
    let pd = ode.pd.unwrap();
    assert_eq!(pd.values.len(), ode.times_h.len());
    assert!(pd.values.iter().any(|&e| e < -1.0));
    let w = execute(&args(&[
        "--patient",
        &patient(),
        "--drug",
        "warfarin",
        "--plot",
        "none",
        "--quiet",
        "-o",
        out,
    ]))
    .unwrap();
    let inr_like = w.pd.unwrap().values;
    assert!(inr_like.last().unwrap() < &inr_like[0]);
}

#[test]
fn missed_late_and_loading_doses_change_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let base = execute(&args(&[
        "--patient",
        &patient(),
        "--drug",
        "vancomycin",
        "--plot",
        "none",
        "--quiet",
        "-o",
        out,
    ]))
    .unwrap();
    let missed = execute(&args(&[
        "--patient",
        &patient(),
        "--drug",
        "vancomycin",
        "--missed",
        "9",
        "--plot",
        "none",
        "--quiet",
        "-o",
        out,
    ]))
    .unwrap();
    // Linearity: removing the last dose removes exactly that dose's own contribution
    // over the last interval, which for a 1 h infusion is most of the interval's AUC
    // (at least 10 %) but less than all of it, since earlier doses persist.
    let lost = base.metrics.auc_tau - missed.metrics.auc_tau;
    assert!(
        lost > 0.1 * base.metrics.auc_tau && lost < base.metrics.auc_tau,
        "{lost}"
    );
    assert!(missed.metrics.trough < base.metrics.trough);
    let late = execute(&args(&[
        "--patient",
        &patient(),
        "--drug",
        "vancomycin",
        "--late",
        "9:3",
        "--plot",
        "none",
        "--quiet",
        "-o",
        out,
    ]))
    .unwrap();
    assert!(late.metrics.trough > base.metrics.trough);
    let loading = execute(&args(&[
        "--patient",
        &patient(),
        "--drug",
        "vancomycin",
        "--loading-dose-mg",
        "2000",
        "--plot",
        "none",
        "--quiet",
        "-o",
        out,
    ]))
    .unwrap();
    assert!(loading.concentration_mg_l[8] > base.concentration_mg_l[8]);
}

#[test]
fn virtual_trial_arms_use_the_same_patients() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let r = execute(&args(&[
        "--patient",
        &patient(),
        "--drug",
        "tacrolimus",
        "--population",
        "400",
        "--compare-dose-mg",
        "1.5,3",
        "--plot",
        "none",
        "--quiet",
        "-o",
        out,
    ]))
    .unwrap();
    assert_eq!(r.trial.len(), 2);
    // The 3 mg arm is the same regimen and seed as the main population run.
    assert_eq!(&r.trial[1].summary, r.population.as_ref().unwrap());
    // Linear PK and common random numbers: half the dose halves every percentile.
    for (a, b) in r.trial[0].summary.p95.iter().zip(&r.trial[1].summary.p95) {
        assert!((2.0 * a - b).abs() <= 1e-6 * b.abs().max(1e-12));
    }
    let e = execute(&args(&[
        "--patient",
        &patient(),
        "--drug",
        "tacrolimus",
        "--compare-dose-mg",
        "1",
        "--quiet",
        "-o",
        out,
    ]))
    .unwrap_err();
    assert!(
        format!("{e:#}").starts_with("compare_dose_mg: a virtual trial needs a population"),
        "{e:#}"
    );
}

#[test]
fn bad_input_names_the_field_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let e = execute(&args(&[
        "--patient",
        &patient(),
        "--drug",
        "metoprolol",
        "--interval-h",
        "0",
        "--quiet",
        "-o",
        out,
    ]))
    .unwrap_err();
    assert!(
        format!("{e:#}").contains("regimen.interval_h: must be a finite number > 0"),
        "{e:#}"
    );
    let e = execute(&args(&[
        "--patient",
        &patient(),
        "--drug",
        "metoprolol",
        "--route",
        "infusion",
        "--quiet",
        "-o",
        out,
    ]))
    .unwrap_err();
    assert!(
        format!("{e:#}").contains("regimen.route.duration_h"),
        "{e:#}"
    );
    let e = execute(&args(&[
        "--patient",
        &patient(),
        "--drug",
        "paracetamolx",
        "--quiet",
        "-o",
        out,
    ]))
    .unwrap_err();
    assert!(format!("{e:#}").contains("drug: unknown drug"), "{e:#}");
    let e = execute(&args(&[
        "--patient",
        "/nonexistent.json",
        "--drug",
        "metoprolol",
        "--quiet",
        "-o",
        out,
    ]))
    .unwrap_err();
    assert!(
        format!("{e:#}").starts_with("patient: cannot read"),
        "{e:#}"
    );
    assert!(
        Cli::try_parse_from(["x", "--patient", &patient(), "--drug", "m", "--late", "3"]).is_err()
    );
}
