//! Therapeutic drug monitoring data: the doses a patient was given and the drug levels measured
//! in them, the input of Bayesian individualisation (`crate::mipd`).
//!
//! Two input forms: a JSON [`TdmRecord`] (times in hours from the first dose), or a FHIR R4
//! `Bundle` with `MedicationAdministration` resources (the doses) and `Observation`s coded with
//! one of the drug's level LOINC codes (`[tdm] level_loinc` in its TOML file). FHIR times are
//! converted to hours after the earliest administration of the drug.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::drugs::DrugSpec;
use crate::error::{invalid, require_non_negative, Result, SimError};
use crate::patient::{codes, concept_text};
use crate::pk::{validate_doses, Dose, Route};

const LOINC: &str = "http://loinc.org";
// SNOMED CT route codes (the FHIR R4 route-codes value set).
const SNOMED_ORAL: &str = "26643006";
const SNOMED_IV: &str = "47625008";

/// One measured drug level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Level {
    /// Sampling time (h after the first dose).
    pub time_h: f64,
    /// Measured concentration (mg/L).
    pub conc_mg_l: f64,
}

/// Doses given and levels measured, on one time axis.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TdmRecord {
    /// Administrations, any order.
    pub doses: Vec<Dose>,
    /// Measured levels, any order.
    pub levels: Vec<Level>,
}

impl TdmRecord {
    /// Parses a JSON [`TdmRecord`] or extracts one for `drug` from a FHIR R4 `Bundle`.
    pub fn from_json_str(text: &str, drug: &DrugSpec) -> Result<Self> {
        let v: Value = serde_json::from_str(text)?;
        let rec = if v.get("resourceType").and_then(Value::as_str) == Some("Bundle") {
            from_fhir_bundle(&v, drug)?
        } else {
            serde_json::from_value(v)?
        };
        rec.validate()?;
        Ok(rec)
    }

    /// Rejects what cannot be fitted, naming the field: no level, a level before any dose, or a
    /// negative or non-finite value.
    pub fn validate(&self) -> Result<()> {
        if self.doses.is_empty() {
            return Err(invalid("doses", "at least one administration is needed"));
        }
        validate_doses(&self.doses)?;
        if self.levels.is_empty() {
            return Err(invalid("levels", "at least one measured level is needed"));
        }
        let first = self.first_dose_h();
        for (i, l) in self.levels.iter().enumerate() {
            require_non_negative(&format!("levels[{i}].conc_mg_l"), l.conc_mg_l)?;
            if !l.time_h.is_finite() {
                return Err(invalid(format!("levels[{i}].time_h"), "must be finite"));
            }
            if l.time_h < first {
                return Err(invalid(
                    format!("levels[{i}].time_h"),
                    format!(
                        "measured at {} h, before the first recorded dose at {first} h; add the earlier doses",
                        l.time_h
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Time of the first administration (h).
    pub fn first_dose_h(&self) -> f64 {
        self.doses
            .iter()
            .map(|d| d.time_h)
            .fold(f64::INFINITY, f64::min)
    }

    /// Time of the last administration (h).
    pub fn last_dose_h(&self) -> f64 {
        self.doses
            .iter()
            .map(|d| d.time_h)
            .fold(f64::NEG_INFINITY, f64::max)
    }
}

fn fhir(msg: impl Into<String>) -> SimError {
    SimError::Fhir(msg.into())
}

fn instant(s: &str, field: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| {
        fhir(format!(
            "{field}: `{s}` is not a FHIR dateTime with time and zone ({e})"
        ))
    })
}

fn label(r: &Value) -> String {
    let ty = r.get("resourceType").and_then(Value::as_str).unwrap_or("?");
    match r.get("id").and_then(Value::as_str) {
        Some(id) => format!("{ty}/{id}"),
        None => ty.to_string(),
    }
}

/// mg/L per unit of a UCUM mass concentration (mg/L, ug/mL, ng/mL, ug/L, mg/dL).
pub fn mg_per_l(unit: &str) -> Option<f64> {
    Some(match unit {
        "mg/L" | "ug/mL" | "µg/mL" | "mcg/mL" => 1.0,
        "ng/mL" | "ug/L" | "µg/L" | "mcg/L" => 1e-3,
        "mg/dL" => 10.0,
        _ => return None,
    })
}

/// mg per unit of a UCUM mass (mg, g, ug).
pub fn mg_of(unit: &str) -> Option<f64> {
    Some(match unit {
        "mg" => 1.0,
        "g" => 1000.0,
        "ug" | "µg" | "mcg" => 1e-3,
        _ => return None,
    })
}

fn quantity(q: Option<&Value>, what: &str) -> Result<(f64, String)> {
    let q = q.ok_or_else(|| fhir(format!("{what}: missing")))?;
    let v = q
        .get("value")
        .and_then(Value::as_f64)
        .ok_or_else(|| fhir(format!("{what}.value: missing or not a number")))?;
    let unit = q
        .get("code")
        .or_else(|| q.get("unit"))
        .and_then(Value::as_str)
        .ok_or_else(|| fhir(format!("{what}.code: missing unit")))?;
    Ok((v, unit.to_string()))
}

fn names_drug(r: &Value, drug: &str) -> bool {
    let Some(c) = r.get("medicationCodeableConcept") else {
        return false;
    };
    let matches = |s: &str| s.to_ascii_lowercase().contains(drug);
    concept_text(c).is_some_and(matches)
        || c.get("coding")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|k| k.get("display").and_then(Value::as_str))
            .any(matches)
}

/// Extracts `drug`'s administrations and levels from a FHIR R4 `Bundle`.
///
/// - `MedicationAdministration` whose `medicationCodeableConcept` names the drug (text or coding
///   display), status `completed` or `in-progress` (`not-done` and `entered-in-error` are
///   skipped; `stopped` and others are refused, as the amount given is unknown):
///   `dosage.dose` (mg, g, ug) at `effectiveDateTime`, or as an infusion over `effectivePeriod`.
///   `dosage.route` SNOMED 26643006 is oral, 47625008 intravenous (bolus without a period);
///   without a route, the drug's usual route.
/// - `Observation` with a LOINC code from the drug's `[tdm] level_loinc`, status `final`,
///   `amended` or `corrected` (others skipped): `valueQuantity` in mg/L, ug/mL, ng/mL, ug/L or
///   mg/dL at `effectiveDateTime`.
pub fn from_fhir_bundle(bundle: &Value, drug: &DrugSpec) -> Result<TdmRecord> {
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .ok_or_else(|| fhir("Bundle.entry missing or not an array"))?;
    let level_codes: &[String] = drug.tdm.as_ref().map_or(&[], |t| &t.level_loinc);
    let mut doses: Vec<(OffsetDateTime, f64, Route)> = Vec::new();
    let mut levels: Vec<(OffsetDateTime, f64)> = Vec::new();
    for r in entries.iter().filter_map(|e| e.get("resource")) {
        match r.get("resourceType").and_then(Value::as_str) {
            Some("MedicationAdministration") if names_drug(r, &drug.name) => {
                let l = label(r);
                match r.get("status").and_then(Value::as_str) {
                    Some("completed" | "in-progress") => {}
                    Some("not-done" | "entered-in-error") => continue,
                    other => {
                        return Err(fhir(format!(
                            "{l}: status `{}`: only completed or in-progress administrations have a known amount",
                            other.unwrap_or("(missing)")
                        )))
                    }
                }
                let dosage = r.get("dosage");
                let (amount, unit) = quantity(
                    dosage.and_then(|d| d.get("dose")),
                    &format!("{l} dosage.dose"),
                )?;
                let mg = mg_of(&unit).ok_or_else(|| {
                    fhir(format!(
                        "{l} dosage.dose: unsupported unit `{unit}` (use mg, g or ug)"
                    ))
                })? * amount;
                let route = dosage.and_then(|d| d.get("route")).map(|c| {
                    let cs: Vec<&str> = codes(c).collect();
                    (cs.contains(&SNOMED_ORAL), cs.contains(&SNOMED_IV))
                });
                let (start, period_h) = match (
                    r.get("effectiveDateTime").and_then(Value::as_str),
                    r.get("effectivePeriod"),
                ) {
                    (Some(t), _) => (instant(t, &format!("{l} effectiveDateTime"))?, None),
                    (None, Some(p)) => {
                        let field = format!("{l} effectivePeriod");
                        let s = p
                            .get("start")
                            .and_then(Value::as_str)
                            .ok_or_else(|| fhir(format!("{field}.start: missing")))?;
                        let s = instant(s, &format!("{field}.start"))?;
                        let e = p.get("end").and_then(Value::as_str).ok_or_else(|| {
                            fhir(format!("{field}.end: missing (an infusion needs its end)"))
                        })?;
                        let e = instant(e, &format!("{field}.end"))?;
                        let h = (e - s).as_seconds_f64() / 3600.0;
                        if h.is_nan() || h <= 0.0 {
                            return Err(fhir(format!("{field}: end must be after start")));
                        }
                        (s, Some(h))
                    }
                    (None, None) => {
                        return Err(fhir(format!(
                            "{l}: effectiveDateTime or effectivePeriod is required"
                        )))
                    }
                };
                let route = match (route, period_h) {
                    (Some((true, _)), _) => Route::Oral,
                    (Some((_, true)), Some(h)) => Route::Infusion { duration_h: h },
                    (Some((_, true)), None) => Route::IvBolus,
                    (Some(_), _) => {
                        return Err(fhir(format!(
                            "{l} dosage.route: unsupported route; code SNOMED {SNOMED_ORAL} (oral) or {SNOMED_IV} (intravenous)"
                        )))
                    }
                    (None, Some(h)) => Route::Infusion { duration_h: h },
                    (None, None) => drug.default_regimen.route,
                };
                doses.push((start, mg, route));
            }
            Some("Observation") => {
                let Some(code) = r.get("code") else { continue };
                let is_level = code
                    .get("coding")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|c| {
                        c.get("system").and_then(Value::as_str) == Some(LOINC)
                            && c.get("code")
                                .and_then(Value::as_str)
                                .is_some_and(|k| level_codes.iter().any(|x| x == k))
                    });
                if !is_level {
                    continue;
                }
                if !matches!(
                    r.get("status").and_then(Value::as_str),
                    Some("final" | "amended" | "corrected")
                ) {
                    continue;
                }
                let l = label(r);
                let t = r
                    .get("effectiveDateTime")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        fhir(format!("{l} effectiveDateTime: required for a drug level"))
                    })?;
                let t = instant(t, &format!("{l} effectiveDateTime"))?;
                let (v, unit) = quantity(r.get("valueQuantity"), &format!("{l} valueQuantity"))?;
                let f = mg_per_l(&unit).ok_or_else(|| {
                    fhir(format!(
                        "{l} valueQuantity: unsupported unit `{unit}` (use mg/L, ug/mL, ng/mL, ug/L or mg/dL)"
                    ))
                })?;
                if !(v.is_finite() && v >= 0.0) {
                    return Err(fhir(format!(
                        "{l} valueQuantity.value: must be >= 0 (got {v})"
                    )));
                }
                levels.push((t, v * f));
            }
            _ => {}
        }
    }
    let t0 = doses.iter().map(|d| d.0).min().ok_or_else(|| {
        fhir(format!(
            "no MedicationAdministration of {} in the Bundle",
            drug.name
        ))
    })?;
    if levels.is_empty() {
        return Err(fhir(format!(
            "no {} level Observation (LOINC {}) in the Bundle",
            drug.name,
            level_codes.join(", ")
        )));
    }
    let hours = |t: OffsetDateTime| (t - t0).as_seconds_f64() / 3600.0;
    Ok(TdmRecord {
        doses: doses
            .into_iter()
            .map(|(t, amount_mg, route)| Dose {
                time_h: hours(t),
                amount_mg,
                route,
            })
            .collect(),
        levels: levels
            .into_iter()
            .map(|(t, conc_mg_l)| Level {
                time_h: hours(t),
                conc_mg_l,
            })
            .collect(),
    })
}
