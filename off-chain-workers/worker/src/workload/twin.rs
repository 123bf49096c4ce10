//! The living twin (`twin`): the patient's measured drug levels and given doses, read from the
//! store under the chain's grant, fitted by MAP Bayesian estimation
//! (`consentry_simulation::mipd`), and a regimen recommended for the drug's target.
//!
//! Params: `drug` (required; a drug with a `[tdm]` section), `mode` (`recommend`, the default,
//! or `fit`), `infusion_h` (the duration of intravenous doses, which the store does not keep;
//! default the drug's usual infusion).

use consentry_datastore::{MedicationKind, PatientData};
use consentry_primitives::{CategorySet, DataCategory, Purpose};
use consentry_simulation::mipd::{fit, recommend, FitSettings, RecommendSettings};
use consentry_simulation::pk::{Dose, Route};
use consentry_simulation::tdm::{mg_of, mg_per_l, Level, TdmRecord};
use consentry_simulation::{personalize, DrugLibrary, DrugSpec};
use serde_json::{json, Value};

use super::{bad, drug_name, only_keys, opt_positive, patient_record, ParamError, Workload};

/// The `twin` workload.
pub struct Twin {
    lib: DrugLibrary,
}

impl Default for Twin {
    fn default() -> Self {
        Self {
            lib: DrugLibrary::builtin(),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Fit,
    Recommend,
}

impl Twin {
    fn monitored(&self) -> Vec<String> {
        self.lib
            .iter()
            .filter(|d| d.tdm.is_some())
            .map(|d| d.name.clone())
            .collect()
    }

    fn parse(&self, params: &Value) -> Result<(&DrugSpec, Mode, Option<f64>), ParamError> {
        only_keys(params, &["drug", "mode", "infusion_h"])?;
        let name = drug_name(params, &self.monitored())?;
        let drug = self
            .lib
            .get(&name)
            .map_err(|e| bad("params.drug", e.to_string()))?;
        let mode = match params.get("mode") {
            None | Some(Value::Null) => Mode::Recommend,
            Some(v) if v == "recommend" => Mode::Recommend,
            Some(v) if v == "fit" => Mode::Fit,
            Some(v) => {
                return Err(bad(
                    "params.mode",
                    format!("must be \"fit\" or \"recommend\" (got {v})"),
                ))
            }
        };
        Ok((drug, mode, opt_positive(params, "infusion_h")?))
    }
}

/// Doses and levels of `drug` in what was read: administrations naming the drug, labs coded
/// with its level LOINC codes. Times are hours after the first administration.
pub(crate) fn tdm_record(
    data: &PatientData,
    drug: &DrugSpec,
    infusion_h: Option<f64>,
) -> anyhow::Result<TdmRecord> {
    let codes = drug.tdm.as_ref().map_or(&[][..], |t| &t.level_loinc[..]);
    let iv = match (infusion_h, drug.default_regimen.route) {
        (Some(h), _) => Route::Infusion { duration_h: h },
        (None, r @ (Route::Infusion { .. } | Route::IvBolus)) => r,
        (None, Route::Oral) => Route::IvBolus,
    };
    let given: Vec<_> = data
        .medications
        .iter()
        .filter(|m| {
            m.kind == MedicationKind::Administration
                && m.drug.to_ascii_lowercase().contains(&drug.name)
        })
        .collect();
    let t0 = given.iter().map(|m| m.at_ms).min().ok_or_else(|| {
        anyhow::anyhow!(
            "doses: no administration of {} in the patient's record",
            drug.name
        )
    })?;
    let hours = |ms: i64| (ms - t0) as f64 / 3.6e6;
    let mut doses = Vec::new();
    for m in given {
        let f = mg_of(&m.unit).ok_or_else(|| {
            anyhow::anyhow!(
                "doses: administration of {} at {} ms has unsupported dose unit `{}`",
                m.drug,
                m.at_ms,
                m.unit
            )
        })?;
        let route = match m.route.as_deref().map(str::to_ascii_lowercase) {
            Some(r) if r.contains("oral") => Route::Oral,
            Some(r) if r.contains("intravenous") => iv,
            Some(r) => anyhow::bail!(
                "doses: administration of {} at {} ms has unsupported route `{r}`",
                m.drug,
                m.at_ms
            ),
            None => drug.default_regimen.route,
        };
        doses.push(Dose {
            time_h: hours(m.at_ms),
            amount_mg: m.dose * f,
            route,
        });
    }
    let mut levels = Vec::new();
    for o in data.labs.iter().filter(|o| codes.contains(&o.loinc)) {
        let f = mg_per_l(&o.unit).ok_or_else(|| {
            anyhow::anyhow!(
                "levels: {} at {} ms has unsupported unit `{}`",
                o.loinc,
                o.effective_ms,
                o.unit
            )
        })?;
        levels.push(Level {
            time_h: hours(o.effective_ms),
            conc_mg_l: o.value * f,
        });
    }
    let rec = TdmRecord { doses, levels };
    rec.validate()?;
    Ok(rec)
}

impl Workload for Twin {
    fn name(&self) -> &str {
        "twin"
    }
    /// Dosing one patient from their own levels is care, not research.
    fn purpose(&self) -> Purpose {
        Purpose::Treatment
    }
    /// Covariates (demographics; creatinine and the drug levels in labs; genotypes) and the
    /// doses given (medications, in the EHR category).
    fn categories(&self) -> CategorySet {
        CategorySet::of(&[
            DataCategory::Demographics,
            DataCategory::Labs,
            DataCategory::Ehr,
            DataCategory::Genomic,
        ])
    }
    fn validate(&self, params: &Value) -> Result<(), ParamError> {
        self.parse(params).map(|_| ())
    }
    fn run(&self, data: &PatientData, params: &Value) -> anyhow::Result<Value> {
        let (drug, mode, infusion_h) = self.parse(params)?;
        let patient = patient_record(data)?;
        let ind = personalize(drug, &patient)?;
        let tdm = tdm_record(data, drug, infusion_h)?;
        let f = fit(drug, ind.params, &tdm, FitSettings::default())?;
        let recommendation = match mode {
            Mode::Recommend => Some(recommend(
                drug,
                &f,
                &tdm.doses,
                &RecommendSettings::default(),
            )?),
            Mode::Fit => None,
        };
        Ok(json!({
            "workload": "twin",
            "drug": drug.name,
            "personalization": ind,
            "tdm": tdm,
            "fit": f,
            "recommendation": recommendation,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use consentry_datastore::{Demographics, Medication, Observation};

    fn data() -> PatientData {
        let h = 3_600_000i64;
        let t0 = 1_772_352_000_000i64; // 2026-03-01T08:00Z
        let lab = |loinc: &str, value: f64, unit: &str, at: i64| Observation {
            loinc: loinc.into(),
            display: None,
            value,
            unit: unit.into(),
            effective_ms: at,
        };
        PatientData {
            pseudonym: [7; 32],
            categories: Twin::default().categories(),
            demographics: Some(Demographics {
                age_years: 64,
                sex: "male".into(),
                weight_kg: Some(82.0),
                height_cm: None,
            }),
            labs: vec![
                lab("2160-0", 1.3, "mg/dL", t0 - h),
                lab("20578-1", 31.5, "ug/mL", t0 + 38 * h),
                lab("4092-3", 18.2, "ug/mL", t0 + 47 * h + h / 2),
            ],
            vitals: vec![],
            medications: (0..4)
                .map(|k| Medication {
                    kind: MedicationKind::Administration,
                    drug: "Vancomycin 1 g IV".into(),
                    drug_code: None,
                    dose: 1.0,
                    unit: "g".into(),
                    route: Some("Intravenous route".into()),
                    at_ms: t0 + 12 * k * h,
                })
                .collect(),
            conditions: vec![],
            genotypes: vec![],
        }
    }

    #[test]
    fn doses_and_levels_come_from_the_read_and_the_twin_recommends() {
        let twin = Twin::default();
        let d = DrugLibrary::builtin().get("vancomycin").unwrap().clone();
        let rec = tdm_record(&data(), &d, None).unwrap();
        assert_eq!(rec.doses.len(), 4);
        assert_eq!(rec.doses[3].time_h, 36.0);
        assert_eq!(rec.doses[3].amount_mg, 1000.0);
        assert_eq!(rec.doses[3].route, Route::Infusion { duration_h: 1.0 });
        assert_eq!(
            rec.levels[1],
            Level {
                time_h: 47.5,
                conc_mg_l: 18.2
            }
        );
        let out = twin.run(&data(), &json!({"drug": "vancomycin"})).unwrap();
        // Levels above the prior's prediction: clearance estimated below the prior.
        let cl = &out["fit"]["estimates"][0];
        assert_eq!(cl["name"], "cl_l_h");
        assert!(
            cl["map"].as_f64().unwrap() < cl["prior"].as_f64().unwrap(),
            "{cl}"
        );
        let r = &out["recommendation"]["recommended"];
        assert!(r["prob_target"].as_f64().unwrap() > 0.5, "{r}");
        let fitted = twin
            .run(&data(), &json!({"drug": "vancomycin", "mode": "fit"}))
            .unwrap();
        assert!(fitted["recommendation"].is_null());
    }

    #[test]
    fn bad_params_and_missing_data_are_named() {
        let twin = Twin::default();
        let e = twin.validate(&json!({"drug": "warfarin"})).unwrap_err();
        assert_eq!(e.field, "params.drug");
        assert!(
            e.detail.contains("use one of tacrolimus, vancomycin"),
            "{}",
            e.detail
        );
        let e = twin
            .validate(&json!({"drug": "vancomycin", "mode": "guess"}))
            .unwrap_err();
        assert_eq!(e.field, "params.mode");
        let mut no_levels = data();
        no_levels.labs.retain(|l| l.loinc == "2160-0");
        let e = twin
            .run(&no_levels, &json!({"drug": "vancomycin"}))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "levels: at least one measured level is needed"
        );
    }
}
