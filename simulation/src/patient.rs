//! Patient record shared with the inference crate and the off-chain worker,
//! plus a parser for a minimal HL7 FHIR R4 `Bundle`.
//!
//! Accepted FHIR content (everything else is ignored):
//! - `Patient.gender` (`male`/`female`) and `Patient.birthDate` (`YYYY-MM-DD`,
//!   `YYYY-MM` or `YYYY`). Age is computed at the bundle `timestamp`, else at the
//!   latest observation date.
//! - `Observation.valueQuantity` by LOINC code: 29463-7 body weight (kg, g,
//!   `[lb_av]`), 8302-2 body height (cm, m, `[in_i]`), 2160-0 or 38483-4
//!   creatinine (mg/dL or µmol/L), 1751-7 albumin (g/dL or g/L), 1742-6 ALT
//!   (U/L), 8867-4 heart rate, 8480-6 / 8462-4 systolic / diastolic blood
//!   pressure (also as components of the 85354-9 panel). Scalars keep the
//!   most recent value; vitals become time series.
//! - Genotypes, in either of two forms:
//!   1. a component coded LOINC 48018-6 (gene studied) whose
//!      `valueCodeableConcept` names the gene (`text` or `coding[0].display`),
//!      with the diplotype in `valueString`, `valueCodeableConcept`, or a
//!      component coded 84413-4 (genotype display name);
//!   2. a `valueCodeableConcept.text` or `valueString` of the form
//!      `"CYP2D6 *1/*4"` (gene symbol, space, diplotype).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{invalid, require_positive, Result, SimError};

/// Administrative sex as used by the CKD-EPI equation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    /// Female.
    #[serde(alias = "F", alias = "f", alias = "Female")]
    Female,
    /// Male.
    #[serde(alias = "M", alias = "m", alias = "Male")]
    Male,
}

/// One sample of a vital-sign series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VitalSample {
    /// Hours since the first sample of the series.
    pub time_h: f64,
    /// Value in the series' unit.
    pub value: f64,
}

/// The covariates the twin needs. Units are fixed by field name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientRecord {
    /// Optional pseudonymous identifier.
    #[serde(default)]
    pub id: Option<String>,
    /// Age in years.
    pub age_years: f64,
    /// Sex.
    pub sex: Sex,
    /// Body weight in kg.
    pub weight_kg: f64,
    /// Height in cm.
    #[serde(default)]
    pub height_cm: Option<f64>,
    /// Serum creatinine in mg/dL (IDMS-traceable).
    pub serum_creatinine_mg_dl: f64,
    /// Albumin in g/dL.
    #[serde(default)]
    pub albumin_g_dl: Option<f64>,
    /// ALT in U/L.
    #[serde(default)]
    pub alt_u_l: Option<f64>,
    /// Gene symbol → diplotype, e.g. `"CYP2D6": "*1/*4"`, `"VKORC1": "G/A"`.
    #[serde(default)]
    pub genotypes: BTreeMap<String, String>,
    /// Named vital-sign series (`heart_rate_bpm`, `systolic_bp_mmhg`, ...).
    #[serde(default)]
    pub vitals: BTreeMap<String, Vec<VitalSample>>,
}

impl PatientRecord {
    /// A 40-year-old 70 kg male with normal renal function and no genotypes.
    pub fn reference() -> Self {
        PatientRecord {
            id: Some("reference".into()),
            age_years: 40.0,
            sex: Sex::Male,
            weight_kg: 70.0,
            height_cm: Some(175.0),
            serum_creatinine_mg_dl: 0.9,
            albumin_g_dl: None,
            alt_u_l: None,
            genotypes: BTreeMap::new(),
            vitals: BTreeMap::new(),
        }
    }

    /// Checks physiological plausibility; errors name the field.
    pub fn validate(&self) -> Result<()> {
        if !(self.age_years.is_finite() && (18.0..=120.0).contains(&self.age_years)) {
            return Err(invalid(
                "patient.age_years",
                format!(
                    "must be an adult age in 18..=120 years (got {})",
                    self.age_years
                ),
            ));
        }
        require_positive("patient.weight_kg", self.weight_kg)?;
        if self.weight_kg > 400.0 {
            return Err(invalid(
                "patient.weight_kg",
                format!("{} kg is implausible; give kilograms", self.weight_kg),
            ));
        }
        require_positive(
            "patient.serum_creatinine_mg_dl",
            self.serum_creatinine_mg_dl,
        )?;
        if self.serum_creatinine_mg_dl > 25.0 {
            return Err(invalid(
                "patient.serum_creatinine_mg_dl",
                format!(
                    "{} mg/dL is implausible; if you have µmol/L divide by 88.42",
                    self.serum_creatinine_mg_dl
                ),
            ));
        }
        if let Some(h) = self.height_cm {
            if !(h.is_finite() && (50.0..=260.0).contains(&h)) {
                return Err(invalid(
                    "patient.height_cm",
                    format!("must be in 50..=260 cm (got {h})"),
                ));
            }
        }
        Ok(())
    }

    /// Parses either a `PatientRecord` JSON object or a FHIR R4 `Bundle`.
    pub fn from_json_str(s: &str) -> Result<Self> {
        let v: Value = serde_json::from_str(s)?;
        let p = if v.get("resourceType").and_then(Value::as_str) == Some("Bundle") {
            from_fhir_bundle(&v)?
        } else {
            serde_json::from_value(v)?
        };
        p.validate()?;
        Ok(p)
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses the date part of a FHIR date/dateTime into fractional days.
fn parse_fhir_date(s: &str) -> Option<f64> {
    let date = s.get(..10.min(s.len()))?;
    let mut it = date.split('-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next().map_or(Some(7), |x| x.parse().ok())?;
    let d: i64 = it.next().map_or(Some(1), |x| x.parse().ok())?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut days = days_from_civil(y, m, d) as f64;
    if let Some(t) = s.get(11..16) {
        let hh: f64 = t.get(..2)?.parse().ok()?;
        let mm: f64 = t.get(3..5)?.parse().ok()?;
        days += (hh + mm / 60.0) / 24.0;
    }
    Some(days)
}

pub(crate) fn codes(concept: &Value) -> impl Iterator<Item = &str> {
    concept
        .get("coding")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("code").and_then(Value::as_str))
}

pub(crate) fn concept_text(concept: &Value) -> Option<&str> {
    concept.get("text").and_then(Value::as_str).or_else(|| {
        concept
            .get("coding")?
            .as_array()?
            .iter()
            .find_map(|c| c.get("display").and_then(Value::as_str))
    })
}

fn value_text(obj: &Value) -> Option<&str> {
    obj.get("valueString")
        .and_then(Value::as_str)
        .or_else(|| concept_text(obj.get("valueCodeableConcept")?))
}

/// Converts a valueQuantity to the record's unit for `loinc`.
fn quantity(loinc: &str, q: &Value) -> Result<f64> {
    let v = q.get("value").and_then(Value::as_f64).ok_or_else(|| {
        SimError::Fhir(format!("Observation {loinc}: valueQuantity.value missing"))
    })?;
    let unit = q
        .get("code")
        .or_else(|| q.get("unit"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let factor = match (loinc, unit.as_str()) {
        ("29463-7", "kg" | "") => 1.0,
        ("29463-7", "g") => 1e-3,
        ("29463-7", "[lb_av]" | "lb" | "lbs") => 0.453_592_37,
        ("8302-2", "cm" | "") => 1.0,
        ("8302-2", "m") => 100.0,
        ("8302-2", "[in_i]" | "in") => 2.54,
        ("2160-0" | "38483-4", "mg/dL" | "") => 1.0,
        ("2160-0" | "38483-4", "umol/L" | "µmol/L") => 1.0 / 88.42,
        ("1751-7", "g/dL" | "") => 1.0,
        ("1751-7", "g/L") => 0.1,
        ("1742-6", _) | ("8867-4", _) | ("8480-6", _) | ("8462-4", _) => 1.0,
        _ => {
            return Err(SimError::Fhir(format!(
                "Observation {loinc}: unsupported unit `{unit}`"
            )))
        }
    };
    Ok(v * factor)
}

fn vital_name(loinc: &str) -> Option<&'static str> {
    match loinc {
        "8867-4" => Some("heart_rate_bpm"),
        "8480-6" => Some("systolic_bp_mmhg"),
        "8462-4" => Some("diastolic_bp_mmhg"),
        _ => None,
    }
}

fn genotype_of(obs: &Value) -> Option<(String, String)> {
    let comps = obs.get("component").and_then(Value::as_array);
    if let Some(comps) = comps {
        let gene = comps.iter().find(|c| {
            c.get("code")
                .is_some_and(|k| codes(k).any(|x| x == "48018-6"))
        });
        if let Some(gene) = gene.and_then(|c| concept_text(c.get("valueCodeableConcept")?)) {
            let dip = comps
                .iter()
                .find(|c| {
                    c.get("code")
                        .is_some_and(|k| codes(k).any(|x| x == "84413-4"))
                })
                .and_then(value_text)
                .or_else(|| value_text(obs))?;
            return Some((gene.trim().to_ascii_uppercase(), dip.trim().to_string()));
        }
    }
    let text = value_text(obs)?;
    let (gene, dip) = text.trim().split_once(' ')?;
    let gene = gene.to_ascii_uppercase();
    let known = crate::pgx::SUPPORTED_GENES.contains(&gene.as_str()) || gene == "VKORC1";
    known.then(|| (gene, dip.trim().to_string()))
}

/// Maps a FHIR R4 `Bundle` (as JSON) to a [`PatientRecord`].
pub fn from_fhir_bundle(bundle: &Value) -> Result<PatientRecord> {
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .ok_or_else(|| SimError::Fhir("Bundle.entry missing or not an array".into()))?;
    let resources: Vec<&Value> = entries.iter().filter_map(|e| e.get("resource")).collect();
    let patient = resources
        .iter()
        .find(|r| r.get("resourceType").and_then(Value::as_str) == Some("Patient"))
        .ok_or_else(|| {
            SimError::Fhir(
                "no Patient resource in Bundle.entry; add one with gender and birthDate".into(),
            )
        })?;
    let sex = match patient.get("gender").and_then(Value::as_str) {
        Some("female") => Sex::Female,
        Some("male") => Sex::Male,
        other => {
            return Err(SimError::Fhir(format!(
                "Patient.gender must be \"male\" or \"female\" for CKD-EPI (got {other:?})"
            )))
        }
    };
    let birth = patient
        .get("birthDate")
        .and_then(Value::as_str)
        .and_then(parse_fhir_date)
        .ok_or_else(|| SimError::Fhir("Patient.birthDate missing or not YYYY-MM-DD".into()))?;

    // (date, value) latest-wins for scalars.
    let mut scalars: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    let mut vitals: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    let mut genotypes = BTreeMap::new();
    let mut latest = f64::NEG_INFINITY;
    for obs in resources
        .iter()
        .filter(|r| r.get("resourceType").and_then(Value::as_str) == Some("Observation"))
    {
        let when = obs
            .get("effectiveDateTime")
            .and_then(Value::as_str)
            .and_then(parse_fhir_date)
            .unwrap_or(f64::NAN);
        if when.is_finite() {
            latest = latest.max(when);
        }
        if let Some((gene, dip)) = genotype_of(obs) {
            genotypes.insert(gene, dip);
            continue;
        }
        let Some(code) = obs.get("code") else {
            continue;
        };
        let mut items: Vec<(&str, &Value)> = Vec::new();
        for c in codes(code) {
            if let Some(q) = obs.get("valueQuantity") {
                items.push((c, q));
            }
        }
        for comp in obs
            .get("component")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(k), Some(q)) = (comp.get("code"), comp.get("valueQuantity")) {
                items.extend(codes(k).map(|c| (c, q)));
            }
        }
        for (loinc, q) in items {
            let key = match loinc {
                "29463-7" | "8302-2" | "1751-7" | "1742-6" => loinc,
                "2160-0" | "38483-4" => "2160-0",
                _ if vital_name(loinc).is_some() => {
                    vitals
                        .entry(vital_name(loinc).unwrap_or_default().to_string())
                        .or_default()
                        .push((when, quantity(loinc, q)?));
                    continue;
                }
                _ => continue,
            };
            let value = quantity(loinc, q)?;
            let t = if when.is_finite() {
                when
            } else {
                f64::NEG_INFINITY
            };
            if scalars.get(key).is_none_or(|(d, _)| t >= *d) {
                scalars.insert(key, (t, value));
            }
        }
    }
    let as_of = bundle
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(parse_fhir_date)
        .unwrap_or(latest);
    if !as_of.is_finite() {
        return Err(SimError::Fhir(
            "cannot compute age: give Bundle.timestamp or Observation.effectiveDateTime".into(),
        ));
    }
    let need = |k: &str, what: &str| {
        scalars.get(k).map(|(_, v)| *v).ok_or_else(|| {
            SimError::Fhir(format!("no Observation with LOINC {k} ({what}); add one"))
        })
    };
    let vitals = vitals
        .into_iter()
        .map(|(k, mut s)| {
            s.sort_by(|a, b| a.0.total_cmp(&b.0));
            let t0 = s.first().map_or(0.0, |x| x.0);
            let series = s
                .into_iter()
                .map(|(t, v)| VitalSample {
                    time_h: if t.is_finite() { (t - t0) * 24.0 } else { 0.0 },
                    value: v,
                })
                .collect();
            (k, series)
        })
        .collect();
    Ok(PatientRecord {
        id: patient
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string),
        age_years: (as_of - birth) / 365.2425,
        sex,
        weight_kg: need("29463-7", "body weight")?,
        height_cm: scalars.get("8302-2").map(|x| x.1),
        serum_creatinine_mg_dl: need("2160-0", "serum creatinine")?,
        albumin_g_dl: scalars.get("1751-7").map(|x| x.1),
        alt_u_l: scalars.get("1742-6").map(|x| x.1),
        genotypes,
        vitals,
    })
}
