//! Pluggable workloads: the PK/PD twin (`simulation`), the drug response predictor
//! (`inference`) and the living twin fitted to the patient's measured levels (`twin`).
//!
//! A workload declares its purpose and the categories it needs; the worker asks the chain for
//! exactly those and refuses to run it under a record whose purpose or categories do not cover
//! them. `run` sees only the [`PatientData`] of one granted read.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use consentry_datastore::PatientData;
use consentry_primitives::{CategorySet, DataCategory, Purpose};
use consentry_simulation::{
    metrics::profile_metrics,
    personalize,
    pk::closed_form,
    population::{simulate_population, PopulationSettings},
    regimen::time_grid,
    DrugLibrary, PatientRecord,
};
use serde_json::{json, Value};

mod twin;
pub use twin::Twin;

/// Bad workload parameters: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {detail}")]
pub struct ParamError {
    /// Dotted path of the field, e.g. `params.dose_mg`.
    pub field: String,
    /// What is wrong and how to fix it.
    pub detail: String,
}

fn bad(field: &str, detail: impl Into<String>) -> ParamError {
    ParamError {
        field: field.to_string(),
        detail: detail.into(),
    }
}

/// A computation the worker runs on one patient's granted data.
pub trait Workload: Send + Sync {
    /// Its name in job requests.
    fn name(&self) -> &str;
    /// The purpose the worker requests access for.
    fn purpose(&self) -> Purpose;
    /// The categories it reads (and requests).
    fn categories(&self) -> CategorySet;
    /// Checks parameters before the job is accepted (no data needed).
    fn validate(&self, params: &Value) -> Result<(), ParamError>;
    /// Runs on the granted data.
    fn run(&self, data: &PatientData, params: &Value) -> anyhow::Result<Value>;
    /// A streaming workload keeps its access open and takes samples while it runs
    /// ([`crate::stream::serve`] instead of `run`).
    fn stream(&self) -> Option<&crate::stream::Stream> {
        None
    }
}

/// The workloads a worker offers, by name, plus the names it knows but cannot run here (with
/// the reason, e.g. `inference` without `--model`).
#[derive(Default, Clone)]
pub struct Registry {
    workloads: BTreeMap<String, Arc<dyn Workload>>,
    unavailable: BTreeMap<String, String>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("workloads", &self.workloads.keys().collect::<Vec<_>>())
            .field("unavailable", &self.unavailable)
            .finish()
    }
}

impl Registry {
    /// The standard workloads: `simulation`, and `inference` if `model` is given (a bundle
    /// directory from `consentry train`).
    pub fn standard(model: Option<&Path>) -> anyhow::Result<Self> {
        let mut r = Registry::default();
        r.add(Arc::new(Simulation::new()));
        r.add(Arc::new(Twin::default()));
        match model {
            Some(dir) => {
                let inference = Arc::new(Inference::load(dir)?);
                let drugs = inference.drugs.clone();
                let predictor: Arc<dyn crate::stream::twin::Predictor> = inference.clone();
                r.add(Arc::new(crate::stream::Stream::new(Some((
                    predictor, drugs,
                )))));
                r.add(inference);
            }
            None => {
                r.add(Arc::new(crate::stream::Stream::new(None)));
                r.unavailable.insert(
                    "inference".into(),
                    "the inference workload needs a model: start the worker with --model PATH \
                     (a bundle directory written by `consentry train --out PATH`)"
                        .into(),
                );
            }
        }
        Ok(r)
    }

    /// Adds (or replaces) a workload.
    pub fn add(&mut self, w: Arc<dyn Workload>) {
        self.unavailable.remove(w.name());
        self.workloads.insert(w.name().to_string(), w);
    }

    /// The workload called `name`, or why there is none.
    pub fn get(&self, name: &str) -> Result<Arc<dyn Workload>, ParamError> {
        if let Some(w) = self.workloads.get(name) {
            return Ok(w.clone());
        }
        if let Some(why) = self.unavailable.get(name) {
            return Err(bad("workload", why.clone()));
        }
        Err(bad(
            "workload",
            format!(
                "unknown workload `{name}`; this worker runs: {}",
                self.names().join(", ")
            ),
        ))
    }

    /// Names of the runnable workloads.
    pub fn names(&self) -> Vec<String> {
        self.workloads.keys().cloned().collect()
    }
}

fn opt_positive(params: &Value, key: &str) -> Result<Option<f64>, ParamError> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_f64() {
            Some(x) if x.is_finite() && x > 0.0 => Ok(Some(x)),
            _ => Err(bad(
                &format!("params.{key}"),
                format!("must be a positive number (got {v})"),
            )),
        },
    }
}

fn only_keys(params: &Value, allowed: &[&str]) -> Result<(), ParamError> {
    let obj = params
        .as_object()
        .ok_or_else(|| bad("params", "must be a JSON object"))?;
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(bad(
                &format!("params.{k}"),
                format!("unknown parameter; allowed: {}", allowed.join(", ")),
            ));
        }
    }
    Ok(())
}

fn drug_name(params: &Value, known: &[String]) -> Result<String, ParamError> {
    let d = params
        .get("drug")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            bad(
                "params.drug",
                format!("required: a drug name, one of {}", known.join(", ")),
            )
        })?
        .trim()
        .to_ascii_lowercase();
    if !known.contains(&d) {
        return Err(bad(
            "params.drug",
            format!("unknown drug `{d}`; use one of {}", known.join(", ")),
        ));
    }
    Ok(d)
}

/// The patient's twin input, from exactly the data read.
pub(crate) fn patient_record(data: &PatientData) -> anyhow::Result<PatientRecord> {
    let v = data
        .to_patient_record_json()
        .map_err(|e| anyhow::anyhow!("patient data: {e}"))?;
    Ok(PatientRecord::from_json_str(&v.to_string())?)
}

/// The PK/PD twin: a concentration–time profile for a drug and regimen.
///
/// Params: `drug` (required), `dose_mg`, `interval_h`, `n_doses` or `duration_h` (defaults: the
/// drug's usual regimen), `step_h` (default 0.5), and `population` (default 0: none) with `seed`
/// (default 1) for the population band.
///
/// The band is the 5th/50th/95th percentile profile of `population` virtual patients drawn with
/// the drug's between-patient variability around this patient's covariate-predicted parameters
/// (as `consentry simulate --population` draws it): where patients like this one fall, so the
/// clinician sees how far a single predicted curve can be trusted. It is seeded, so the same job
/// gives the same result and result digest.
pub struct Simulation {
    lib: DrugLibrary,
}

impl Default for Simulation {
    fn default() -> Self {
        Self::new()
    }
}

impl Simulation {
    /// With the built-in drug library.
    pub fn new() -> Self {
        Self {
            lib: DrugLibrary::builtin(),
        }
    }

    fn regimen(&self, params: &Value) -> Result<consentry_simulation::Regimen, ParamError> {
        only_keys(
            params,
            &[
                "drug",
                "dose_mg",
                "interval_h",
                "n_doses",
                "duration_h",
                "step_h",
                "population",
                "seed",
            ],
        )?;
        let drug = drug_name(params, &self.lib.names())?;
        let spec = self
            .lib
            .get(&drug)
            .map_err(|e| bad("params.drug", e.to_string()))?;
        let mut r = spec.default_regimen.clone();
        if let Some(d) = opt_positive(params, "dose_mg")? {
            r.dose_mg = d;
        }
        if let Some(i) = opt_positive(params, "interval_h")? {
            r.interval_h = i;
        }
        match (params.get("n_doses"), opt_positive(params, "duration_h")?) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "params.duration_h",
                    "give either n_doses or duration_h, not both",
                ))
            }
            (Some(n), None) => {
                r.n_doses = n
                    .as_u64()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| {
                        bad(
                            "params.n_doses",
                            format!("must be an integer in 1..=1000 (got {n})"),
                        )
                    })? as usize;
            }
            (None, Some(h)) => {
                let n = (h / r.interval_h).ceil();
                if !(1.0..=1000.0).contains(&n) {
                    return Err(bad(
                        "params.duration_h",
                        format!(
                            "{h} h at one dose every {} h is {n} doses; keep it within 1..=1000",
                            r.interval_h
                        ),
                    ));
                }
                r.n_doses = n as usize;
            }
            (None, None) => {}
        }
        r.validate().map_err(|e| bad("params", e.to_string()))?;
        let step = opt_positive(params, "step_h")?.unwrap_or(0.5);
        if r.end_h() / step > 100_000.0 {
            return Err(bad(
                "params.step_h",
                format!(
                    "{} h at a {step} h step is more than 100000 points; increase step_h",
                    r.end_h()
                ),
            ));
        }
        Ok(r)
    }
}

/// Most virtual patients a job's band may draw, and most stored concentrations (patients × time
/// points, 4 bytes each): a job shares the worker with others.
const MAX_BAND_PATIENTS: u64 = 5_000;
const MAX_BAND_CELLS: usize = 10_000_000;

impl Simulation {
    /// The band's settings, if `params.population` asks for one; `points` is the profile's length.
    fn band(params: &Value, points: usize) -> Result<Option<PopulationSettings>, ParamError> {
        let n = match params.get("population") {
            None | Some(Value::Null) => 0,
            Some(v) => v
                .as_u64()
                .filter(|n| *n <= MAX_BAND_PATIENTS)
                .ok_or_else(|| {
                    bad(
                        "params.population",
                        format!("must be an integer in 0..={MAX_BAND_PATIENTS} (got {v})"),
                    )
                })?,
        } as usize;
        let seed = match params.get("seed") {
            None | Some(Value::Null) => 1,
            Some(v) => v.as_u64().ok_or_else(|| {
                bad(
                    "params.seed",
                    format!("must be a non-negative integer (got {v})"),
                )
            })?,
        };
        if n == 0 {
            return Ok(None);
        }
        if n.saturating_mul(points) > MAX_BAND_CELLS {
            return Err(bad(
                "params.population",
                format!(
                    "{n} patients × {points} time points is more than {MAX_BAND_CELLS} values; \
                     draw fewer patients or increase step_h"
                ),
            ));
        }
        Ok(Some(PopulationSettings {
            n,
            seed,
            residual_error: false,
        }))
    }
}

impl Workload for Simulation {
    fn name(&self) -> &str {
        "simulation"
    }
    fn purpose(&self) -> Purpose {
        Purpose::Simulation
    }
    fn categories(&self) -> CategorySet {
        CategorySet::of(&[
            DataCategory::Demographics,
            DataCategory::Labs,
            DataCategory::Genomic,
        ])
    }
    fn validate(&self, params: &Value) -> Result<(), ParamError> {
        let regimen = self.regimen(params)?;
        let step = opt_positive(params, "step_h")?.unwrap_or(0.5);
        // The grid `time_grid` makes: both ends included.
        let points = ((regimen.end_h() - regimen.start_h) / step).round() as usize + 1;
        Self::band(params, points).map(|_| ())
    }
    fn run(&self, data: &PatientData, params: &Value) -> anyhow::Result<Value> {
        let regimen = self.regimen(params)?;
        let drug = self.lib.get(&drug_name(params, &self.lib.names())?)?;
        let step = opt_positive(params, "step_h")?.unwrap_or(0.5);
        let patient = patient_record(data)?;
        let ind = personalize(drug, &patient)?;
        let times = time_grid(regimen.start_h, regimen.end_h(), step)?;
        let doses = regimen.doses()?;
        let conc = closed_form::profile(&ind.params, &doses, &times)?;
        let last_dose =
            regimen.start_h + (regimen.n_doses.saturating_sub(1)) as f64 * regimen.interval_h;
        let metrics = profile_metrics(
            &times,
            &conc,
            last_dose,
            regimen.interval_h,
            ind.params.terminal_rate(),
            drug.window.as_ref(),
        );
        let mut result = json!({
            "workload": "simulation",
            "drug": drug.name,
            "regimen": regimen,
            "personalization": ind,
            "times_h": times,
            "concentration_mg_l": conc,
            "metrics": metrics,
        });
        if let Some(settings) = Self::band(params, times.len())? {
            let band = simulate_population(drug, &ind.params, &regimen, &times, settings, None)?;
            result["population"] = json!({
                "n": band.n,
                "seed": settings.seed,
                "p05_mg_l": band.p05,
                "p50_mg_l": band.p50,
                "p95_mg_l": band.p95,
                "prob_target_attainment": band.prob_target_attainment,
                "prob_toxicity": band.prob_toxicity,
            });
        }
        Ok(result)
    }
}

/// The drug-response predictor from a `consentry train` bundle.
///
/// Params: `drug` (required, one the model was trained on), `dose_multiplier` (default 1).
pub struct Inference {
    bundle: Mutex<consentry_inference::checkpoint::Bundle>,
    drugs: Vec<String>,
    version: String,
}

impl Inference {
    /// Loads the bundle directory (checks its digests).
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let bundle = consentry_inference::checkpoint::load_bundle(
            dir,
            &consentry_inference::default_device(),
        )
        .with_context(|| format!("--model {}: cannot load the model bundle", dir.display()))?;
        let drugs = bundle.manifest.spec.drugs.clone();
        let version = bundle.manifest.model_version.clone();
        Ok(Self {
            bundle: Mutex::new(bundle),
            drugs,
            version,
        })
    }

    /// The model version (SHA-256) results cite.
    pub fn version(&self) -> &str {
        &self.version
    }
}

impl crate::stream::twin::Predictor for Inference {
    fn probabilities(&self, record: &PatientRecord, drug: &str) -> anyhow::Result<[f64; 2]> {
        let bundle = self
            .bundle
            .lock()
            .map_err(|_| anyhow::anyhow!("model lock poisoned"))?;
        bundle.probabilities(record, drug, 1.0)
    }
    fn version(&self) -> String {
        self.version.clone()
    }
}

impl Workload for Inference {
    fn name(&self) -> &str {
        "inference"
    }
    fn purpose(&self) -> Purpose {
        Purpose::Inference
    }
    fn categories(&self) -> CategorySet {
        CategorySet::of(&[
            DataCategory::Demographics,
            DataCategory::Labs,
            DataCategory::Genomic,
            DataCategory::Wearable,
        ])
    }
    fn validate(&self, params: &Value) -> Result<(), ParamError> {
        only_keys(params, &["drug", "dose_multiplier"])?;
        drug_name(params, &self.drugs)?;
        opt_positive(params, "dose_multiplier")?;
        Ok(())
    }
    fn run(&self, data: &PatientData, params: &Value) -> anyhow::Result<Value> {
        self.validate(params)?;
        let drug = drug_name(params, &self.drugs)?;
        let dm = opt_positive(params, "dose_multiplier")?.unwrap_or(1.0);
        let record = patient_record(data)?;
        let bundle = self
            .bundle
            .lock()
            .map_err(|_| anyhow::anyhow!("model lock poisoned"))?;
        let p = bundle.predict(&record, &drug, dm, 16)?;
        Ok(json!({ "workload": "inference", "prediction": p }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use consentry_datastore::{Demographics, Observation};

    /// A 64-year-old with a creatinine, as the simulation reads a patient.
    fn patient() -> PatientData {
        PatientData {
            pseudonym: [7; 32],
            categories: Simulation::new().categories(),
            demographics: Some(Demographics {
                age_years: 64,
                sex: "female".into(),
                weight_kg: Some(70.0),
                height_cm: None,
            }),
            labs: vec![Observation {
                loinc: "2160-0".into(),
                display: None,
                value: 1.1,
                unit: "mg/dL".into(),
                effective_ms: 1_772_352_000_000,
            }],
            vitals: vec![],
            medications: vec![],
            conditions: vec![],
            genotypes: vec![],
        }
    }

    fn floats(v: &Value) -> Vec<f64> {
        v.as_array()
            .expect("an array")
            .iter()
            .map(|x| x.as_f64().expect("a number"))
            .collect()
    }

    #[test]
    fn a_population_band_is_drawn_around_the_patient_and_is_reproducible() {
        let sim = Simulation::new();
        let params = json!({"drug": "warfarin", "n_doses": 5, "population": 400, "seed": 3});
        sim.validate(&params).unwrap();
        let r = sim.run(&patient(), &params).unwrap();
        let conc = floats(&r["concentration_mg_l"]);
        let band = &r["population"];
        assert_eq!(band["n"], 400);
        let (p05, p50, p95) = (
            floats(&band["p05_mg_l"]),
            floats(&band["p50_mg_l"]),
            floats(&band["p95_mg_l"]),
        );
        assert_eq!(p05.len(), conc.len());
        assert!(p05
            .iter()
            .zip(&p50)
            .zip(&p95)
            .all(|((a, b), c)| a <= b && b <= c));
        // Wide where the drug is in the plasma: between-patient variability, not a line.
        let (i, peak) = conc
            .iter()
            .enumerate()
            .fold((0, 0.0), |m, (i, &c)| if c > m.1 { (i, c) } else { m });
        assert!(p95[i] > 1.2 * p05[i], "{} vs {}", p95[i], p05[i]);
        // The patient's own curve is the band's centre: inside the 90 % band after the first dose.
        let inside = conc
            .iter()
            .enumerate()
            .skip(1)
            .filter(|&(j, &c)| p05[j] <= c && c <= p95[j])
            .count();
        assert!(
            inside as f64 >= 0.95 * (conc.len() - 1) as f64,
            "{inside} of {}",
            conc.len()
        );
        assert!(
            (p50[i] - peak).abs() < 0.25 * peak,
            "median {} vs patient {peak}",
            p50[i]
        );
        // Seeded: the same job gives the same result (and digest); another seed another band.
        assert_eq!(sim.run(&patient(), &params).unwrap(), r);
        let other = sim
            .run(
                &patient(),
                &json!({"drug": "warfarin", "n_doses": 5, "population": 400, "seed": 4}),
            )
            .unwrap();
        assert_ne!(other["population"]["p95_mg_l"], band["p95_mg_l"]);
        // No band unless asked for.
        let plain = sim
            .run(&patient(), &json!({"drug": "warfarin", "n_doses": 5}))
            .unwrap();
        assert!(plain.get("population").is_none());
        assert_eq!(plain["concentration_mg_l"], r["concentration_mg_l"]);
    }

    #[test]
    fn a_bad_population_names_its_field() {
        let sim = Simulation::new();
        for (params, field) in [
            (
                json!({"drug": "warfarin", "population": -1}),
                "params.population",
            ),
            (
                json!({"drug": "warfarin", "population": 2.5}),
                "params.population",
            ),
            (
                json!({"drug": "warfarin", "population": 5001}),
                "params.population",
            ),
            (
                json!({"drug": "warfarin", "population": 5000, "duration_h": 2000, "step_h": 0.1}),
                "params.population",
            ),
            (
                json!({"drug": "warfarin", "population": 10, "seed": "x"}),
                "params.seed",
            ),
        ] {
            let e = sim.validate(&params).unwrap_err();
            assert_eq!(e.field, field, "{params}: {e:?}");
        }
    }
}
