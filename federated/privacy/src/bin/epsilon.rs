//! `consentry-epsilon`: recompute ε from DP-SGD accountant inputs, e.g. those a study's
//! consortium contract ledgers or its JSON report lists.
//!
//! ```text
//! consentry-epsilon --q 0.01 --sigma 1.1 --steps 10000 --delta 1e-5 [--json]
//! consentry-epsilon --q 0.08 --steps 1250 --delta 1e-5 --target-epsilon 0.5   # calibrate σ
//! consentry-epsilon --events report.json --delta 1e-5 [--json]   # '-' reads stdin
//! ```
//! `--events` takes a JSON array of events `{"sampling_rate", "noise_multiplier", "steps"}` or an
//! object with an `events` array (a privacy report) or a study report of `consentry fl simulate
//! --json` (its `privacy.events`); the events are composed in order.

use std::io::Read;
use std::process::ExitCode;

use consentry_privacy::{calibrate_noise_multiplier, DpSgdEvent, RdpAccountant};
use serde_json::{json, Value};

const USAGE: &str = "usage:
  consentry-epsilon --q Q --sigma SIGMA --steps T --delta D [--json]
  consentry-epsilon --q Q --steps T --delta D --target-epsilon E [--json]
  consentry-epsilon --events FILE|- --delta D [--json]
RDP accountant of DP-SGD (Poisson-subsampled Gaussian, add/remove-one neighbours), as
Google's dp-accounting RdpAccountant.";

#[derive(Default)]
struct Args {
    q: Option<f64>,
    sigma: Option<f64>,
    steps: Option<u64>,
    delta: Option<f64>,
    target: Option<f64>,
    events: Option<String>,
    json: bool,
}

fn parse() -> Result<Args, String> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--json" {
            args.json = true;
            continue;
        }
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| v.parse::<f64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--q" | "--sampling-rate" => args.q = Some(num(&value)?),
            "--sigma" | "--noise-multiplier" => args.sigma = Some(num(&value)?),
            "--steps" => {
                args.steps = Some(value.parse().map_err(|e| format!("--steps {value}: {e}"))?)
            }
            "--delta" => args.delta = Some(num(&value)?),
            "--target-epsilon" => args.target = Some(num(&value)?),
            "--events" => args.events = Some(value),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

fn run(args: Args) -> Result<Value, String> {
    let delta = args.delta.ok_or("--delta is required")?;
    if let Some(path) = &args.events {
        let text = if path == "-" {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| e.to_string())?;
            s
        } else {
            std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?
        };
        let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
        // An events array, a privacy report (`events`), or a whole study report from
        // `consentry fl simulate --json` (`privacy.events`).
        let list = doc
            .pointer("/privacy/events")
            .or_else(|| doc.get("events"))
            .cloned()
            .unwrap_or(doc);
        let events: Vec<DpSgdEvent> =
            serde_json::from_value(list).map_err(|e| format!("{path}: events: {e}"))?;
        let report = RdpAccountant::from_events(&events)
            .and_then(|a| a.report(delta))
            .map_err(|e| e.to_string())?;
        return serde_json::to_value(report).map_err(|e| e.to_string());
    }
    let q = args.q.ok_or("--q is required")?;
    let steps = args.steps.ok_or("--steps is required")?;
    if let Some(target) = args.target {
        let sigma =
            calibrate_noise_multiplier(q, steps, target, delta).map_err(|e| e.to_string())?;
        let event = DpSgdEvent::new(q, sigma, steps).map_err(|e| e.to_string())?;
        let report = RdpAccountant::from_events([&event])
            .and_then(|a| a.report(delta))
            .map_err(|e| e.to_string())?;
        let mut v = serde_json::to_value(report).map_err(|e| e.to_string())?;
        v["noise_multiplier"] = json!(sigma);
        v["target_epsilon"] = json!(target);
        return Ok(v);
    }
    let sigma = args
        .sigma
        .ok_or("--sigma (or --target-epsilon) is required")?;
    let event = DpSgdEvent::new(q, sigma, steps).map_err(|e| e.to_string())?;
    let report = RdpAccountant::from_events([&event])
        .and_then(|a| a.report(delta))
        .map_err(|e| e.to_string())?;
    serde_json::to_value(report).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("consentry-epsilon: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let json = args.json;
    match run(args) {
        Ok(v) => {
            if json {
                println!("{v}");
            } else {
                if let Some(sigma) = v.get("noise_multiplier") {
                    println!("noise_multiplier = {sigma}");
                }
                println!(
                    "epsilon = {} at RDP order {} (delta = {}, add/remove-one neighbours)",
                    v["epsilon"], v["order"], v["delta"]
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("consentry-epsilon: {e}");
            ExitCode::FAILURE
        }
    }
}
